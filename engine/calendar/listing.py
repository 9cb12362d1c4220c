"""The calendar as a trader reads it: the holidays and special sessions of a period, with the
exchanges each applies to and who said so (package, Artha's table, an imported list, you)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from engine.calendar.changes import VENUES
from engine.calendar.market_calendar import CalendarDay, get_calendar
from engine.calendar.model import IST, CalendarEntry, CalendarLayer, CalendarSegment, EntrySource
from engine.domain.enums import Exchange

_FO_OF = {Exchange.NSE: Exchange.NFO, Exchange.BSE: Exchange.BFO}
SOURCE_LABELS = {
    EntrySource.PACKAGE: "package",
    EntrySource.SHIPPED: "Artha",
    EntrySource.IMPORTED: "imported",
    EntrySource.USER: "you",
}


def venue_label(venues: tuple[Exchange, ...]) -> str:
    """'NSE/BSE' when cash and F&O agree on both exchanges; F&O names only where they differ."""
    shown = [
        v for v in venues if not (v in _FO_OF.values() and any(_FO_OF.get(c) == v for c in venues))
    ]
    return "/".join(v.value for v in shown)


def entry_venues(entry: CalendarEntry) -> set[Exchange]:
    """The exchange calendars a workspace entry shows up in (as calendar_days lists them)."""
    cash = [entry.exchange] if entry.exchange is not None else [Exchange.NSE, Exchange.BSE]
    if entry.segment is CalendarSegment.EQUITY:
        return {*cash, *(_FO_OF[c] for c in cash)}
    if entry.segment is CalendarSegment.FO:
        return {_FO_OF[c] for c in cash}
    return set()  # currency lists: no calendar uses them yet


@dataclass(frozen=True)
class ListedDay:
    date: datetime.date
    venues: tuple[Exchange, ...]
    what: str  # "holiday", or "muhurat 18:00-19:00"
    note: str
    source: EntrySource
    provisional: bool

    def as_json(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat(),
            "weekday": f"{self.date:%A}",
            "exchanges": [v.value for v in self.venues],
            "what": self.what,
            "note": self.note,
            "source": str(self.source),
            "provisional": self.provisional,
        }

    def __str__(self) -> str:
        note = f"  {self.note}" if self.note else ""
        return (
            f"{self.date:%a %d %b %Y}  {venue_label(self.venues):<8} {self.what:<22}"
            f" [{SOURCE_LABELS[self.source]}]{note}"
        )


def _what(day: CalendarDay) -> str:
    session = day.session
    if session is None:
        return "holiday"
    hours = f"{session.open.astimezone(IST):%H:%M}-{session.close.astimezone(IST):%H:%M}"
    return f"{session.kind} {hours}"


def calendar_days(
    start: datetime.date, end: datetime.date, venues: tuple[Exchange, ...] = VENUES
) -> list[ListedDay]:
    """Weekday holidays and non-regular sessions in start..end, merged across exchanges."""
    merged: dict[tuple[datetime.date, str, str, EntrySource, bool], list[Exchange]] = {}
    for venue in venues:
        for day in get_calendar(venue).listing(start, end):
            provisional = day.session is not None and day.session.provisional
            key = (day.date, _what(day), day.note, day.source, provisional)
            merged.setdefault(key, []).append(venue)
    return [
        ListedDay(date, tuple(where), what, note, source, provisional)
        for (date, what, note, source, provisional), where in sorted(
            merged.items(), key=lambda item: (item[0][0], VENUES.index(item[1][0]))
        )
    ]


def known_lists(layer: CalendarLayer) -> list[dict[str, object]]:
    """The holiday lists loaded in the workspace, one line of text each."""
    out: list[dict[str, object]] = []
    for item in layer.lists:
        scope = item.exchange.value if item.exchange is not None else "NSE and BSE"
        out.append(
            {
                "year": item.year,
                "exchange": item.exchange.value if item.exchange is not None else "both",
                "segment": str(item.segment),
                "source": str(item.source),
                "origin": item.origin,
                "text": f"{item.year} {item.segment} {scope} ({item.source}: {item.origin})",
            }
        )
    return out
