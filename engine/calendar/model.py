"""Value types of the market calendar.

Kept free of pandas and exchange_calendars so that importing them is instant and other
modules can annotate against them without paying for the calendar package.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from engine.domain.enums import Exchange

IST: ZoneInfo = ZoneInfo("Asia/Kolkata")

# The exchanges' regular cash-market timetable: what a provisional (unlisted) weekday gets,
# and the hours a special-session entry falls back to when it names none.
REGULAR_OPEN = datetime.time(9, 15)
REGULAR_CLOSE = datetime.time(15, 30)
PRE_OPEN_LEAD = datetime.timedelta(minutes=15)


class SessionKind(StrEnum):
    REGULAR = "regular"
    MUHURAT = "muhurat"
    BUDGET = "budget"
    SPECIAL = "special"


class EntryKind(StrEnum):
    """What a calendar entry says about its day."""

    HOLIDAY = "holiday"  # closed all day
    MUHURAT = "muhurat"
    BUDGET = "budget"
    SPECIAL = "special"

    @property
    def session_kind(self) -> SessionKind:
        if self is EntryKind.HOLIDAY:
            raise ValueError("a holiday has no session")
        return SessionKind(self.value)


class CalendarSegment(StrEnum):
    """Exchange segments with their own holiday lists. F&O trades on its cash exchange's
    days, so equity entries apply to F&O too; F&O entries add to them. Currency lists are
    stored for when Artha trades currency; no calendar uses them yet."""

    EQUITY = "equity"
    FO = "fo"
    CURRENCY = "currency"


class EntrySource(StrEnum):
    """Who said so. Workspace entries (user, imported) win over shipped ones, which win over
    the package."""

    PACKAGE = "package"
    SHIPPED = "shipped"
    USER = "user"
    IMPORTED = "imported"


class MarketPhase(StrEnum):
    PRE_OPEN = "pre-open"
    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"


@dataclass(frozen=True)
class Session:
    """One trading session; all instants are tz-aware IST.

    ``provisional`` marks a session that no holiday list confirms: a weekday in a year whose
    list is not loaded, assumed open at the regular hours.
    """

    exchange: Exchange
    date: datetime.date
    pre_open: datetime.datetime
    open: datetime.datetime
    close: datetime.datetime
    kind: SessionKind
    note: str = ""
    provisional: bool = False


@dataclass(frozen=True)
class MarketStatus:
    """Answer to "what is the market doing at this instant", so the UI and risk agree.

    ``provisional`` is True when no holiday list covers the day: the phase is the rule of
    thumb (weekdays 09:15-15:30), not the exchange's word.
    """

    exchange: Exchange
    at: datetime.datetime
    phase: MarketPhase
    session: Session | None
    next_open: Session | None
    provisional: bool = False


@dataclass(frozen=True)
class CalendarEntry:
    """One day the calendar must know about: a holiday or a special session.

    Times are IST wall-clock times. ``open=None`` means closed all day (kind HOLIDAY);
    ``pre_open=None`` on a session means 15 minutes before ``open``.
    ``exchange=None`` applies the entry to both NSE and BSE.
    """

    exchange: Exchange | None
    date: datetime.date
    open: datetime.time | None
    close: datetime.time | None
    pre_open: datetime.time | None
    kind: EntryKind
    note: str
    segment: CalendarSegment = CalendarSegment.EQUITY
    source: EntrySource = EntrySource.SHIPPED
    origin: str = ""  # the file or circular it came from, for the trader's own reference

    def __post_init__(self) -> None:
        if isinstance(self.date, datetime.datetime):
            raise TypeError(f"calendar entry date must be a date, not a datetime: {self.date!r}")
        day = self.date.isoformat()
        if self.open is None:
            if self.close is not None or self.pre_open is not None:
                raise ValueError(f"entry for {day}: a holiday must not set close or pre-open")
            if self.kind is not EntryKind.HOLIDAY:
                raise ValueError(f"entry for {day}: a {self.kind} session needs open and close")
            return
        if self.kind is EntryKind.HOLIDAY:
            raise ValueError(f"entry for {day}: a holiday cannot have opening hours")
        if self.close is None:
            raise ValueError(f"entry for {day}: open is set but close is not")
        if not self.open < self.close:
            raise ValueError(f"entry for {day}: open {self.open:%H:%M} is not before close")
        if self.pre_open is not None and self.pre_open > self.open:
            raise ValueError(
                f"entry for {day}: pre-open {self.pre_open:%H:%M} is after open {self.open:%H:%M}"
            )

    @property
    def is_closure(self) -> bool:
        return self.open is None

    @property
    def scope(self) -> str:
        """'NSE', 'BSE' or 'both', as the trader reads it."""
        return self.exchange.value if self.exchange is not None else "both"


@dataclass(frozen=True)
class HolidayList:
    """A loaded exchange holiday list: makes its year *known* (no longer provisional) for its
    exchange (None = both) and segment. Its holidays are CalendarEntry rows of its source."""

    exchange: Exchange | None
    segment: CalendarSegment
    year: int
    source: EntrySource
    origin: str = ""

    @property
    def scope(self) -> str:
        return self.exchange.value if self.exchange is not None else "both"


@dataclass(frozen=True)
class CalendarLayer:
    """Calendar data that is not the package's: the workspace's entries and loaded lists.

    Plain picklable data, so a worker process can be handed the same calendar as the app.
    """

    entries: tuple[CalendarEntry, ...] = ()
    lists: tuple[HolidayList, ...] = field(default=())

    def __post_init__(self) -> None:
        # One order whatever built it (the store reads it in this order), so equal calendars
        # compare equal.
        entries = sorted(self.entries, key=lambda e: (e.date, e.scope, e.segment.value))
        lists = sorted(self.lists, key=lambda item: (item.year, item.scope, item.segment.value))
        object.__setattr__(self, "entries", tuple(entries))
        object.__setattr__(self, "lists", tuple(lists))
