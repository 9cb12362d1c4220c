"""What a calendar edit would change, worked out before anything is written.

A change is a new `CalendarLayer`; its effect is measured by building the calendars before and
after and comparing them day by day, so the preview shows exactly what every other part of
Artha will see (clock, imports, resampling, backtests), not a guess from the rows alone.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.calendar.holiday_lists import ParsedHolidayList
from engine.calendar.market_calendar import MarketCalendar, year_ranges
from engine.calendar.model import (
    IST,
    CalendarEntry,
    CalendarLayer,
    CalendarSegment,
    EntryKind,
    EntrySource,
    HolidayList,
    Session,
)
from engine.domain.enums import Exchange

# The calendars whose answers a trader sees; F&O follows its cash exchange plus F&O entries.
VENUES: tuple[Exchange, ...] = (Exchange.NSE, Exchange.BSE, Exchange.NFO, Exchange.BFO)


@functools.lru_cache(maxsize=16)
def calendar_for(venue: Exchange, layer: CalendarLayer) -> MarketCalendar:
    """A calendar with ``layer`` in place of the workspace's (previews compare two of them)."""
    return MarketCalendar(venue, layer=layer)


def describe(session: Session | None, *, weekday: bool) -> str:
    """'holiday', 'closed', or '09:15-15:30 (muhurat: note), provisional'."""
    if session is None:
        return "holiday" if weekday else "closed"
    text = f"{session.open.astimezone(IST):%H:%M}-{session.close.astimezone(IST):%H:%M}"
    if session.kind != "regular":
        text += f" ({session.kind}{': ' + session.note if session.note else ''})"
    return text + (", provisional" if session.provisional else "")


@dataclass(frozen=True)
class DayChange:
    """One day whose answer changes on some exchange calendars."""

    date: datetime.date
    venues: tuple[Exchange, ...]
    before: str
    after: str
    note: str = ""

    def __str__(self) -> str:
        where = "/".join(v.value for v in self.venues)
        note = f" - {self.note}" if self.note else ""
        return f"{self.date:%a %d %b %Y} {where}: {self.before} -> {self.after}{note}"


@dataclass(frozen=True)
class CalendarPlan:
    """A proposed calendar and what it changes; apply it with MarketStore.apply_calendar."""

    base: CalendarLayer  # the calendar it was worked out against: applying it elsewhere is refused
    layer: CalendarLayer
    changes: tuple[DayChange, ...]
    now_known: tuple[int, ...] = ()  # years whose sessions stop being provisional
    notes: tuple[str, ...] = ()
    summary: str = ""

    @property
    def empty(self) -> bool:
        return self.layer == self.base


def diff(
    before: CalendarLayer,
    after: CalendarLayer,
    start: datetime.date,
    end: datetime.date,
    venues: Sequence[Exchange] = VENUES,
) -> list[DayChange]:
    """Every day in start..end whose answer differs, merged across exchanges that agree."""
    old = [calendar_for(v, before) for v in venues]
    new = [calendar_for(v, after) for v in venues]
    changes: list[DayChange] = []
    day = start
    while day <= end:
        weekday = day.weekday() < 5
        merged: dict[tuple[str, str], list[Exchange]] = {}
        notes: dict[tuple[str, str], str] = {}
        for venue, a, b in zip(venues, old, new, strict=True):
            was, will = a.session(day), b.session(day)
            if _confirmed(was) == _confirmed(will):
                continue  # same hours; a year turning from provisional to known is in now_known
            key = (describe(was, weekday=weekday), describe(will, weekday=weekday))
            if key[0] == key[1]:
                continue
            merged.setdefault(key, []).append(venue)
            notes.setdefault(key, _note_of(after, day))
        for (was_text, will_text), where in merged.items():
            changes.append(
                DayChange(day, tuple(where), was_text, will_text, notes[(was_text, will_text)])
            )
        day += datetime.timedelta(days=1)
    return changes


def _confirmed(session: Session | None) -> Session | None:
    return None if session is None else dataclasses.replace(session, provisional=False)


def _note_of(layer: CalendarLayer, day: datetime.date) -> str:
    return next((e.note for e in layer.entries if e.date == day and e.note), "")


def _years_known(layer: CalendarLayer, years: Iterable[int]) -> list[int]:
    venues = [calendar_for(v, layer) for v in (Exchange.NSE, Exchange.BSE)]
    return [
        y
        for y in years
        if any(c.unknown_years(datetime.date(y, 1, 1), datetime.date(y, 12, 31)) for c in venues)
    ]


def plan_list_import(
    current: CalendarLayer,
    holidays: Sequence[tuple[datetime.date, str]],
    years: Sequence[int],
    exchange: Exchange | None,
    segment: CalendarSegment,
    origin: str,
) -> CalendarPlan:
    """Load an exchange holiday list for ``years``: it replaces any list imported before for
    the same years, exchange and segment; the trader's own entries on those days are kept."""
    years = sorted(set(years))
    stale = {
        (e.date, e.exchange, e.segment)
        for e in current.entries
        if e.source is EntrySource.IMPORTED
        and e.date.year in years
        and e.exchange == exchange
        and e.segment is segment
    }
    entries = [e for e in current.entries if (e.date, e.exchange, e.segment) not in stale]
    taken = {(e.date, e.exchange, e.segment) for e in entries}
    kept: list[str] = []
    for day, description in holidays:
        if day.year not in years:
            continue
        if (day, exchange, segment) in taken:
            kept.append(day.isoformat())
            continue
        entries.append(
            CalendarEntry(
                exchange,
                day,
                None,
                None,
                None,
                EntryKind.HOLIDAY,
                description,
                segment,
                EntrySource.IMPORTED,
                origin,
            )
        )
    lists = [
        item
        for item in current.lists
        if not (item.exchange == exchange and item.segment is segment and item.year in years)
    ]
    lists += [HolidayList(exchange, segment, y, EntrySource.IMPORTED, origin) for y in years]
    proposed = CalendarLayer(tuple(entries), tuple(lists))
    notes: list[str] = []
    if kept:
        notes.append(
            f"your own entries are kept on {', '.join(kept)} (remove them to take the list's)"
        )
    first, last = datetime.date(years[0], 1, 1), datetime.date(years[-1], 12, 31)
    was_unknown = _years_known(current, years)
    now_known = [y for y in was_unknown if y not in _years_known(proposed, years)]
    count = sum(1 for day, _ in holidays if day.year in years)
    scope = exchange.value if exchange is not None else "NSE and BSE"
    summary = (
        f"{count} holiday{'s' * (count != 1)} for {year_ranges(years)} ({segment} segment, "
        f"{scope}) from {origin}"
    )
    return CalendarPlan(
        current,
        proposed,
        tuple(diff(current, proposed, first, last)),
        tuple(now_known),
        tuple(notes),
        summary,
    )


def plan_entry(current: CalendarLayer, entry: CalendarEntry) -> CalendarPlan:
    """Add (or replace) one entry keyed on its date, exchange and segment."""
    key = (entry.date, entry.exchange, entry.segment)
    entries = [e for e in current.entries if (e.date, e.exchange, e.segment) != key]
    proposed = CalendarLayer((*entries, entry), current.lists)
    changes = diff(current, proposed, entry.date, entry.date)
    return CalendarPlan(
        current,
        proposed,
        tuple(changes),
        summary=f"{entry.kind} on {entry.date:%a %d %b %Y} ({entry.scope})",
    )


def plan_removal(
    current: CalendarLayer,
    day: datetime.date,
    scope: str | None = None,
    segment: CalendarSegment | None = None,
) -> CalendarPlan:
    """Remove the workspace's entries on ``day``: all of them, or those of one scope ('NSE',
    'BSE' or 'both') and/or segment. Nothing matching is an error naming the day."""
    gone = [
        e
        for e in current.entries
        if e.date == day
        and (scope is None or e.scope == scope)
        and (segment is None or e.segment is segment)
    ]
    if not gone:
        raise ValueError(
            f"the workspace has no calendar entry on {day.isoformat()}"
            + (f" for {scope}" if scope else "")
            + (f" in the {segment} segment" if segment else "")
            + " (days from the package or Artha's own table cannot be removed: add a session "
            "or holiday on that day to override them)"
        )
    proposed = CalendarLayer(tuple(e for e in current.entries if e not in gone), current.lists)
    changes = diff(current, proposed, day, day)
    entries = "entry" if len(gone) == 1 else "entries"
    return CalendarPlan(
        current,
        proposed,
        tuple(changes),
        summary=f"remove {len(gone)} {entries} on {day:%a %d %b %Y}",
    )


def plan_holiday_list(
    current: CalendarLayer,
    parsed: ParsedHolidayList,
    origin: str,
    exchange: Exchange | None = None,
    year: int | None = None,
) -> CalendarPlan:
    """plan_list_import for a parsed file; ``year`` picks one year of a multi-year file."""
    if year is not None and year not in parsed.years:
        have = year_ranges(parsed.years) or "none"
        raise ValueError(f"{origin} has no holidays in {year} (its years: {have})")
    years = [year] if year is not None else list(parsed.years)
    rows = [(r.date, r.description) for r in parsed.rows]
    plan = plan_list_import(current, rows, years, exchange, parsed.segment, origin)
    return dataclasses.replace(plan, notes=(*parsed.notes, *plan.notes))
