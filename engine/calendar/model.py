"""Value types of the market calendar.

Kept free of pandas and exchange_calendars so that importing them is instant and other
modules can annotate against them without paying for the calendar package.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from engine.domain.enums import Exchange

IST: ZoneInfo = ZoneInfo("Asia/Kolkata")


class SessionKind(StrEnum):
    REGULAR = "regular"
    MUHURAT = "muhurat"
    SPECIAL = "special"


class MarketPhase(StrEnum):
    PRE_OPEN = "pre-open"
    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"


@dataclass(frozen=True)
class Session:
    """One trading session; all instants are tz-aware IST."""

    exchange: Exchange
    date: datetime.date
    pre_open: datetime.datetime
    open: datetime.datetime
    close: datetime.datetime
    kind: SessionKind
    note: str = ""


@dataclass(frozen=True)
class MarketStatus:
    """Answer to "what is the market doing at this instant", so the UI and risk agree."""

    exchange: Exchange
    at: datetime.datetime
    phase: MarketPhase
    session: Session | None
    next_open: Session | None


class CalendarCoverageError(ValueError):
    """Raised instead of guessing when a date lies outside the calendar package's data.

    Past its last year the package knows no holidays; answering "open" would be wrong on
    every holiday, so we fail loudly and point at the fix (an upgrade).
    """

    def __init__(
        self,
        exchange: Exchange,
        day: datetime.date,
        coverage: tuple[datetime.date, datetime.date],
        source: str,
    ) -> None:
        self.exchange = exchange
        self.day = day
        self.coverage = coverage
        first, last = coverage
        super().__init__(
            f"{exchange.value} market calendar has no data for {day.isoformat()}: "
            f"it covers {first.isoformat()} to {last.isoformat()} ({source}). "
            "Upgrade Artha (or the exchange-calendars package) to get the exchange's "
            "published holiday list for that year."
        )


@dataclass(frozen=True)
class SessionOverride:
    """A row of the override table: exchange circulars the calendar package may lack.

    Times are IST wall-clock times. ``open=None`` means closed all day (ad-hoc closure);
    ``pre_open=None`` on a session means 15 minutes before ``open``.
    ``exchange=None`` applies the row to both NSE and BSE.
    """

    exchange: Exchange | None
    date: datetime.date
    open: datetime.time | None
    close: datetime.time | None
    pre_open: datetime.time | None
    kind: SessionKind
    note: str

    def __post_init__(self) -> None:
        if isinstance(self.date, datetime.datetime):
            raise TypeError(f"SessionOverride.date must be a date, not a datetime: {self.date!r}")
        if self.open is None:
            if self.close is not None or self.pre_open is not None:
                raise ValueError(
                    f"override for {self.date}: a closure (open=None) must not set "
                    "close or pre_open"
                )
            return
        if self.close is None:
            raise ValueError(f"override for {self.date}: open is set but close is not")
        if not self.open < self.close:
            raise ValueError(f"override for {self.date}: open {self.open} is not before close")
        if self.pre_open is not None and self.pre_open > self.open:
            raise ValueError(f"override for {self.date}: pre_open {self.pre_open} is after open")

    @property
    def is_closure(self) -> bool:
        return self.open is None
