"""Market calendar per exchange: package schedule + override table, queried in IST.

F&O segments trade on their cash exchange's days (NFO on NSE's, BFO on BSE's), so they map
to that exchange's calendar. The reported times are the cash-market timetable; most F&O
contracts have no pre-open, so treat PRE_OPEN there as "not yet open".
"""

from __future__ import annotations

import bisect
import datetime
import threading
from collections.abc import Sequence

from engine.calendar.model import (
    IST,
    CalendarCoverageError,
    MarketPhase,
    MarketStatus,
    Session,
    SessionKind,
    SessionOverride,
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
_REGULAR_OPEN = datetime.time(9, 15)
_REGULAR_CLOSE = datetime.time(15, 30)
_PRE_OPEN_LEAD = datetime.timedelta(minutes=15)
_SATURDAY = 5


def _cash_exchange(exchange: Exchange) -> Exchange:
    try:
        return _CASH_EXCHANGE[exchange]
    except KeyError:
        raise ValueError(f"no market calendar for exchange {exchange!r}") from None


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


def _applicable(
    exchange: Exchange, overrides: Sequence[SessionOverride]
) -> dict[datetime.date, SessionOverride]:
    """Pick one row per date: an exchange-specific row beats a both-exchanges row."""
    specific: dict[datetime.date, SessionOverride] = {}
    generic: dict[datetime.date, SessionOverride] = {}
    for row in overrides:
        if row.exchange is None:
            table = generic
        elif _cash_exchange(row.exchange) == exchange:
            table = specific
        else:
            continue
        if row.date in table:
            raise ValueError(f"two overrides for {exchange.value} on {row.date.isoformat()}")
        table[row.date] = row
    return generic | specific


def _override_session(exchange: Exchange, row: SessionOverride) -> Session:
    assert row.open is not None and row.close is not None  # closures never get here
    open_ = datetime.datetime.combine(row.date, row.open, IST)
    pre_open = (
        datetime.datetime.combine(row.date, row.pre_open, IST)
        if row.pre_open is not None
        else open_ - _PRE_OPEN_LEAD
    )
    return Session(
        exchange=exchange,
        date=row.date,
        pre_open=pre_open,
        open=open_,
        close=datetime.datetime.combine(row.date, row.close, IST),
        kind=row.kind,
        note=row.note,
    )


class MarketCalendar:
    """Sessions of one exchange; every answer within the package's coverage or an error."""

    def __init__(
        self, exchange: Exchange, overrides: Sequence[SessionOverride] = OVERRIDES
    ) -> None:
        self.exchange: Exchange = _cash_exchange(exchange)
        schedule = package_schedule()
        self._source = schedule.source
        self._coverage = (schedule.first, schedule.last)
        sessions: dict[datetime.date, Session] = {}
        for day, (open_, close) in schedule.hours.items():
            regular = open_.time() == _REGULAR_OPEN and close.time() == _REGULAR_CLOSE
            sessions[day] = Session(
                exchange=self.exchange,
                date=day,
                pre_open=open_ - _PRE_OPEN_LEAD,
                open=open_,
                close=close,
                kind=SessionKind.REGULAR if regular else SessionKind.SPECIAL,
                note="" if regular else f"non-standard hours per {schedule.source}",
            )
        for day, row in _applicable(self.exchange, overrides).items():
            if not schedule.first <= day <= schedule.last:
                continue  # overrides never extend coverage
            if row.is_closure:
                sessions.pop(day, None)
            else:
                sessions[day] = _override_session(self.exchange, row)
        self._dates: list[datetime.date] = sorted(sessions)
        self._sessions = sessions

    def __repr__(self) -> str:
        first, last = self._coverage
        return f"MarketCalendar({self.exchange.value}, {first}..{last}, {self._source})"

    @property
    def coverage(self) -> tuple[datetime.date, datetime.date]:
        return self._coverage

    def _check_covered(self, day: datetime.date) -> None:
        first, last = self._coverage
        if not first <= day <= last:
            raise CalendarCoverageError(self.exchange, day, self._coverage, self._source)

    def is_session(self, day: datetime.date) -> bool:
        return self.session(day) is not None

    def session(self, day: datetime.date) -> Session | None:
        _check_date(day, "day")
        self._check_covered(day)
        return self._sessions.get(day)

    def sessions(self, start: datetime.date, end: datetime.date) -> list[Session]:
        """Sessions from start to end inclusive, in date order (empty if start > end)."""
        self._check_range(start, end)
        lo = bisect.bisect_left(self._dates, start)
        hi = bisect.bisect_right(self._dates, end)
        return [self._sessions[d] for d in self._dates[lo:hi]]

    def holidays(self, start: datetime.date, end: datetime.date) -> list[datetime.date]:
        """Weekdays from start to end inclusive with no session (empty if start > end)."""
        self._check_range(start, end)
        out: list[datetime.date] = []
        day = start
        while day <= end:
            if day.weekday() < _SATURDAY and day not in self._sessions:
                out.append(day)
            day += datetime.timedelta(days=1)
        return out

    def _check_range(self, start: datetime.date, end: datetime.date) -> None:
        _check_date(start, "start")
        _check_date(end, "end")
        self._check_covered(start)
        self._check_covered(end)

    def next_open(self, after: datetime.datetime) -> Session:
        """First session whose open is strictly after ``after``."""
        after_ist = _to_ist(after, "after")
        today = after_ist.date()
        self._check_covered(today)
        i = bisect.bisect_left(self._dates, today)
        while i < len(self._dates):
            candidate = self._sessions[self._dates[i]]
            if candidate.open > after_ist:
                return candidate
            i += 1
        # No session left in coverage: the next open falls in an unknown year.
        raise CalendarCoverageError(
            self.exchange,
            self._coverage[1] + datetime.timedelta(days=1),
            self._coverage,
            self._source,
        )

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
        try:
            next_open: Session | None = self.next_open(at_ist)
        except CalendarCoverageError:
            next_open = None  # `at` is covered (checked above); only the next open is not
        return MarketStatus(
            exchange=self.exchange,
            at=at_ist,
            phase=phase,
            session=session,
            next_open=next_open,
        )


_calendars: dict[Exchange, MarketCalendar] = {}
_calendars_lock = threading.Lock()


def _parse_exchange(exchange: Exchange | str) -> Exchange:
    if isinstance(exchange, Exchange):
        return exchange
    try:
        return Exchange(str(exchange).strip().upper())
    except ValueError:
        valid = ", ".join(e.value for e in Exchange)
        raise ValueError(f"unknown exchange {exchange!r}; valid exchanges: {valid}") from None


def get_calendar(exchange: Exchange | str) -> MarketCalendar:
    """Shared calendar with the default overrides, built once per process per exchange."""
    cash = _cash_exchange(_parse_exchange(exchange))
    with _calendars_lock:
        calendar = _calendars.get(cash)
        if calendar is None:
            calendar = _calendars[cash] = MarketCalendar(cash)
        return calendar
