"""Market calendar per exchange: package schedule, shipped table and workspace entries, in IST.

Three layers, each winning over the one before:
1. the package (exchange-calendars' XBOM schedule, which NSE and BSE share);
2. Artha's shipped table (`overrides.py`: muhurat and budget sessions, ad-hoc closures);
3. the workspace's own calendar (`CalendarLayer`): holiday lists the trader imported and the
   days they added by hand.
A loaded holiday list for a year replaces the package's holidays of that year (the list is the
exchange's word); later entries still win over it.

A day no list covers (past the package's last year, before its first, and no imported list)
is *provisional*: a weekday is assumed to be a regular 09:15-15:30 session and the answer says
so (`Session.provisional`, `MarketStatus.provisional`, `provisional_warning`), so that nothing
refuses to work on 1 January because a package has not caught up.

F&O exchanges (NFO, BFO) trade on their cash exchange's days: their calendar is the cash one
plus any F&O-segment entries. The reported times are the cash-market timetable; most F&O
contracts have no pre-open, so treat PRE_OPEN there as "not yet open".
"""

from __future__ import annotations

import bisect
import datetime
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.calendar.model import (
    IST,
    PRE_OPEN_LEAD,
    REGULAR_CLOSE,
    REGULAR_OPEN,
    CalendarEntry,
    CalendarLayer,
    CalendarSegment,
    EntrySource,
    MarketPhase,
    MarketStatus,
    Session,
    SessionKind,
)
from engine.calendar.overrides import OVERRIDES
from engine.calendar.source import package_schedule
from engine.domain.enums import Exchange

_CASH_EXCHANGE: dict[Exchange, Exchange] = {
    Exchange.NSE: Exchange.NSE,
    Exchange.NFO: Exchange.NSE,
    Exchange.BSE: Exchange.BSE,
    Exchange.BFO: Exchange.BSE,
}
_FO_EXCHANGES = frozenset({Exchange.NFO, Exchange.BFO})
_SATURDAY = 5
_ONE_DAY = datetime.timedelta(days=1)
NEXT_OPEN_HORIZON_DAYS = 800  # how far next_open looks before giving up (two years and more)
IMPORT_HINT = "Import the exchange's list: artha calendar import FILE, or Tools > Market calendar"


def cash_exchange(exchange: Exchange) -> Exchange:
    try:
        return _CASH_EXCHANGE[exchange]
    except KeyError:
        raise ValueError(f"no market calendar for exchange {exchange!r}") from None


def segments_of(exchange: Exchange) -> frozenset[CalendarSegment]:
    """The entry segments that apply to an exchange's calendar."""
    if exchange in _FO_EXCHANGES:
        return frozenset({CalendarSegment.EQUITY, CalendarSegment.FO})
    return frozenset({CalendarSegment.EQUITY})


def _check_date(day: datetime.date, name: str) -> None:
    # datetime is a date subclass; silently taking its UTC/local date is a classic bug.
    if isinstance(day, datetime.datetime):
        raise TypeError(
            f"{name} must be a datetime.date, not a datetime ({day!r}); "
            "pass at.astimezone(IST).date() to get the exchange date"
        )


def _to_ist(at: datetime.datetime, name: str) -> datetime.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime, got naive {at!r}; "
            "attach a zone, e.g. at.replace(tzinfo=IST) or datetime.now(IST)"
        )
    return at.astimezone(IST)


def _days(start: datetime.date, end: datetime.date) -> Iterable[datetime.date]:
    day = start
    while day <= end:
        yield day
        day += _ONE_DAY


def year_ranges(years: Iterable[int]) -> str:
    """'1990-2005, 2027' for the years 1990..2005 and 2027."""
    ordered = sorted(set(years))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


def _applicable(
    exchange: Exchange, segments: frozenset[CalendarSegment], entries: Sequence[CalendarEntry]
) -> dict[datetime.date, CalendarEntry]:
    """One entry per date: an exchange-specific entry beats a both-exchanges one, and an
    F&O entry beats an equity one on an F&O calendar. Two entries of equal rank clash."""
    chosen: dict[datetime.date, tuple[int, CalendarEntry]] = {}
    for entry in entries:
        if entry.segment not in segments:
            continue
        if entry.exchange is not None and cash_exchange(entry.exchange) != exchange:
            continue
        rank = 2 * (entry.exchange is not None) + (entry.segment is not CalendarSegment.EQUITY)
        held = chosen.get(entry.date)
        if held is not None and held[0] == rank:
            raise ValueError(
                f"two calendar entries for {exchange.value} on {entry.date.isoformat()}: "
                f"{held[1].note!r} and {entry.note!r}"
            )
        if held is None or rank > held[0]:
            chosen[entry.date] = (rank, entry)
    return {day: entry for day, (_, entry) in chosen.items()}


@dataclass(frozen=True)
class CalendarDay:
    """A day worth listing: a weekday holiday or a session that is not the regular one."""

    date: datetime.date
    session: Session | None  # None: closed all day
    note: str
    source: EntrySource

    @property
    def what(self) -> str:
        return "holiday" if self.session is None else str(self.session.kind)


class MarketCalendar:
    """Sessions of one exchange; answers for every date, flagging unlisted ones provisional."""

    def __init__(
        self,
        exchange: Exchange,
        overrides: Sequence[CalendarEntry] = OVERRIDES,
        layer: CalendarLayer | None = None,
    ) -> None:
        self.exchange: Exchange = cash_exchange(exchange)
        self.venue: Exchange = exchange
        segments = segments_of(exchange)
        layer = layer if layer is not None else CalendarLayer()
        schedule = package_schedule()
        self._source = schedule.source
        self._package_span = (schedule.first, schedule.last)
        listed = {
            item.year
            for item in layer.lists
            if item.segment in segments
            and (item.exchange is None or cash_exchange(item.exchange) == self.exchange)
        }
        self._listed_years = frozenset(listed)
        # The package's days stay in its table and become Session values when asked for
        # (_package_session): building all ~7,400 took ~35 ms per exchange at start-up.
        # `sessions` holds only the days a loaded list or an entry decides.
        sessions: dict[datetime.date, Session] = {}
        origin: dict[datetime.date, tuple[EntrySource, str]] = {}
        for year in listed:
            for day in _days(datetime.date(year, 1, 1), datetime.date(year, 12, 31)):
                if day.weekday() < _SATURDAY:
                    sessions[day] = self._regular(day, provisional=False)
        closed: set[datetime.date] = set()
        layers = (
            _applicable(self.exchange, segments, overrides),
            _applicable(self.exchange, segments, layer.entries),
        )
        for rows in layers:
            for day, entry in rows.items():
                origin[day] = (entry.source, entry.note)
                if entry.is_closure:
                    sessions.pop(day, None)
                    closed.add(day)
                else:
                    sessions[day] = self._entry_session(entry)
                    closed.discard(day)
        self._sessions = sessions
        package_days = {
            day
            for day in schedule.hours
            if day.year not in listed and day not in closed  # a loaded list decides its year
        }
        self._dates: list[datetime.date] = sorted(package_days.union(sessions))
        self._closed = frozenset(closed)  # closures by entry (matter on unlisted days)
        self._origin = origin

    def __repr__(self) -> str:
        first, last = self._package_span
        listed = f", lists {year_ranges(self._listed_years)}" if self._listed_years else ""
        return f"MarketCalendar({self.venue.value}, {first}..{last} {self._source}{listed})"

    # -- what is known -----------------------------------------------------------------------

    @property
    def package_span(self) -> tuple[datetime.date, datetime.date]:
        """First and last date of the calendar package's own data."""
        return self._package_span

    @property
    def listed_years(self) -> frozenset[int]:
        """Years made known by a holiday list loaded in the workspace."""
        return self._listed_years

    @property
    def source(self) -> str:
        return self._source

    def is_known(self, day: datetime.date) -> bool:
        """True when a holiday list (the package's or a loaded one) covers ``day``."""
        _check_date(day, "day")
        first, last = self._package_span
        return first <= day <= last or day.year in self._listed_years

    def known_until(self, day: datetime.date) -> datetime.date | None:
        """The last day of the unbroken known stretch that holds ``day``; None if unknown."""
        if not self.is_known(day):
            return None
        first, package_last = self._package_span
        last = package_last if first <= day <= package_last else day
        if last.year in self._listed_years:
            last = datetime.date(last.year, 12, 31)
        while last.year + 1 in self._listed_years:
            last = datetime.date(last.year + 1, 12, 31)
        return last

    def unknown_years(self, start: datetime.date, end: datetime.date) -> list[int]:
        """Years with at least one day between start and end (inclusive) no list covers."""
        _check_date(start, "start")
        _check_date(end, "end")
        first, last = self._package_span
        years: list[int] = []
        for year in range(start.year, end.year + 1):
            lo = max(start, datetime.date(year, 1, 1))
            hi = min(end, datetime.date(year, 12, 31))
            if year in self._listed_years:
                continue
            if lo < first or hi > last:
                years.append(year)
        return years

    def provisional_warning(self, start: datetime.date, end: datetime.date) -> str:
        """One sentence when some of start..end is provisional, else ''."""
        years = self.unknown_years(start, end)
        if not years:
            return ""
        lists = "list" if len(years) == 1 else "lists"
        return (
            f"{self.venue.value} holiday {lists} for {year_ranges(years)} not loaded: sessions on "
            "those dates are provisional (every weekday assumed open 09:15-15:30). "
            f"{IMPORT_HINT}."
        )

    # -- sessions ----------------------------------------------------------------------------

    def _regular(self, day: datetime.date, *, provisional: bool) -> Session:
        open_ = datetime.datetime.combine(day, REGULAR_OPEN, IST)
        return Session(
            exchange=self.exchange,
            date=day,
            pre_open=open_ - PRE_OPEN_LEAD,
            open=open_,
            close=datetime.datetime.combine(day, REGULAR_CLOSE, IST),
            kind=SessionKind.REGULAR,
            provisional=provisional,
        )

    def _entry_session(self, entry: CalendarEntry) -> Session:
        assert entry.open is not None and entry.close is not None  # closures never get here
        open_ = datetime.datetime.combine(entry.date, entry.open, IST)
        pre_open = (
            datetime.datetime.combine(entry.date, entry.pre_open, IST)
            if entry.pre_open is not None
            else open_ - PRE_OPEN_LEAD
        )
        return Session(
            exchange=self.exchange,
            date=entry.date,
            pre_open=pre_open,
            open=open_,
            close=datetime.datetime.combine(entry.date, entry.close, IST),
            kind=entry.kind.session_kind,
            note=entry.note,
        )

    def _decided(self, day: datetime.date) -> Session | None:
        """The day's session from an entry, a loaded list or the package; None otherwise."""
        found = self._sessions.get(day)
        if found is not None or day in self._closed or day.year in self._listed_years:
            return found
        return _package_session(self.exchange, day)

    def is_session(self, day: datetime.date) -> bool:
        return self.session(day) is not None

    def session(self, day: datetime.date) -> Session | None:
        """The day's session, None when closed; provisional on unlisted weekdays."""
        _check_date(day, "day")
        found = self._decided(day)
        if found is not None or self.is_known(day) or day in self._closed:
            return found
        return self._regular(day, provisional=True) if day.weekday() < _SATURDAY else None

    def open_at(self, day: datetime.date) -> datetime.datetime:
        """When the day's bars start: its session's open, or the regular 09:15 IST on a day
        with no session (how a bar on a closed day is stamped and timed everywhere: the
        importers, the opening range)."""
        session = self.session(day)
        return (
            session.open
            if session is not None
            else datetime.datetime.combine(day, REGULAR_OPEN, IST)
        )

    def sessions(self, start: datetime.date, end: datetime.date) -> list[Session]:
        """Sessions from start to end inclusive, in date order (empty if start > end)."""
        _check_date(start, "start")
        _check_date(end, "end")
        if start > end:
            return []
        if self.is_known(start) and self.is_known(end) and not self.unknown_years(start, end):
            lo = bisect.bisect_left(self._dates, start)
            hi = bisect.bisect_right(self._dates, end)
            return [s for s in map(self._decided, self._dates[lo:hi]) if s is not None]
        return [s for s in map(self.session, _days(start, end)) if s is not None]

    def holidays(self, start: datetime.date, end: datetime.date) -> list[datetime.date]:
        """Weekdays from start to end inclusive with no session (empty if start > end)."""
        _check_date(start, "start")
        _check_date(end, "end")
        return [d for d in _days(start, end) if d.weekday() < _SATURDAY and not self.session(d)]

    def listing(self, start: datetime.date, end: datetime.date) -> list[CalendarDay]:
        """Holidays on weekdays and every non-regular session, with who said so."""
        out: list[CalendarDay] = []
        for day in _days(start, end):
            session = self.session(day)
            weekday = day.weekday() < _SATURDAY
            if session is None and not weekday:
                continue
            regular = session is not None and session.kind is SessionKind.REGULAR and weekday
            if regular and day not in self._origin:
                continue
            source, note = self._origin.get(day, (EntrySource.PACKAGE, ""))
            out.append(CalendarDay(day, session, note or (session.note if session else ""), source))
        return out

    def next_open(self, after: datetime.datetime) -> Session | None:
        """First session whose open is strictly after ``after`` (None if none within two years)."""
        after_ist = _to_ist(after, "after")
        start = after_ist.date()
        horizon = start + datetime.timedelta(days=NEXT_OPEN_HORIZON_DAYS)
        for day in _days(start, horizon):
            candidate = self.session(day)
            if candidate is not None and candidate.open > after_ist:
                return candidate
        return None

    def status(self, at: datetime.datetime) -> MarketStatus:
        at_ist = _to_ist(at, "at")
        today = at_ist.date()
        session = self.session(today)
        if session is None:
            phase = MarketPhase.HOLIDAY if today.weekday() < _SATURDAY else MarketPhase.CLOSED
        elif session.pre_open <= at_ist < session.open:
            phase = MarketPhase.PRE_OPEN
        elif session.open <= at_ist < session.close:
            phase = MarketPhase.OPEN
        else:
            phase = MarketPhase.CLOSED
        return MarketStatus(
            exchange=self.exchange,
            at=at_ist,
            phase=phase,
            session=session,
            next_open=self.next_open(at_ist),
            provisional=not self.is_known(today),
        )


_package_cache: dict[Exchange, dict[datetime.date, Session]] = {}


def _package_session(exchange: Exchange, day: datetime.date) -> Session | None:
    """The package's session of a cash exchange on `day` (None: not a session day in its
    table), made on first ask and shared: every calendar (and every preview of an edit)
    reads the same ones."""
    cached = _package_cache.setdefault(exchange, {})
    session = cached.get(day)
    if session is not None:
        return session
    schedule = package_schedule()
    hours = schedule.hours.get(day)
    if hours is None:
        return None
    open_, close = hours
    regular = open_.time() == REGULAR_OPEN and close.time() == REGULAR_CLOSE
    session = cached[day] = Session(
        exchange=exchange,
        date=day,
        pre_open=open_ - PRE_OPEN_LEAD,
        open=open_,
        close=close,
        kind=SessionKind.REGULAR if regular else SessionKind.SPECIAL,
        note="" if regular else f"non-standard hours per {schedule.source}",
    )
    return session


_calendars: dict[Exchange, MarketCalendar] = {}
_layer = CalendarLayer()
_calendars_lock = threading.Lock()


def parse_exchange(exchange: Exchange | str) -> Exchange:
    if isinstance(exchange, Exchange):
        return exchange
    try:
        return Exchange(str(exchange).strip().upper())
    except ValueError:
        valid = ", ".join(e.value for e in Exchange)
        raise ValueError(f"unknown exchange {exchange!r}; valid exchanges: {valid}") from None


def use_workspace_calendar(layer: CalendarLayer) -> None:
    """Make ``layer`` (the open workspace's calendar) part of every calendar in this process.

    Called by the store when it opens a workspace and after each calendar edit, and by worker
    processes with the layer their parent handed them.
    """
    global _layer
    with _calendars_lock:
        if layer == _layer:
            return
        _layer = layer
        _calendars.clear()


def workspace_calendar() -> CalendarLayer:
    """The layer in use (to hand to a worker process)."""
    with _calendars_lock:
        return _layer


def get_calendar(exchange: Exchange | str) -> MarketCalendar:
    """Shared calendar with the shipped table and the workspace's entries, built once per
    process per exchange (and again after the workspace's calendar changes)."""
    venue = parse_exchange(exchange)
    cash_exchange(venue)  # refuse exchanges with no calendar before taking the lock
    with _calendars_lock:
        calendar = _calendars.get(venue)
        if calendar is None:
            calendar = _calendars[venue] = MarketCalendar(venue, layer=_layer)
        return calendar
