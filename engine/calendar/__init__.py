"""NSE/BSE market calendar: sessions, holidays and market phase, in IST.

Importing this package is cheap; exchange-calendars is loaded on the first calendar built.
"""

from engine.calendar.market_calendar import MarketCalendar, get_calendar
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

__all__ = [
    "IST",
    "OVERRIDES",
    "CalendarCoverageError",
    "MarketCalendar",
    "MarketPhase",
    "MarketStatus",
    "Session",
    "SessionKind",
    "SessionOverride",
    "get_calendar",
]
