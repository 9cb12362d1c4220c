"""NSE/BSE market calendar: sessions, holidays and market phase, in IST.

Importing this package is cheap; exchange-calendars is loaded on the first calendar built.
"""

from engine.calendar.market_calendar import (
    IMPORT_HINT,
    CalendarDay,
    MarketCalendar,
    get_calendar,
    use_workspace_calendar,
    workspace_calendar,
    year_ranges,
)
from engine.calendar.model import (
    IST,
    REGULAR_CLOSE,
    REGULAR_OPEN,
    CalendarEntry,
    CalendarLayer,
    CalendarSegment,
    EntryKind,
    EntrySource,
    HolidayList,
    MarketPhase,
    MarketStatus,
    Session,
    SessionKind,
)
from engine.calendar.overrides import OVERRIDES

__all__ = [
    "IMPORT_HINT",
    "IST",
    "OVERRIDES",
    "REGULAR_CLOSE",
    "REGULAR_OPEN",
    "CalendarDay",
    "CalendarEntry",
    "CalendarLayer",
    "CalendarSegment",
    "EntryKind",
    "EntrySource",
    "HolidayList",
    "MarketCalendar",
    "MarketPhase",
    "MarketStatus",
    "Session",
    "SessionKind",
    "get_calendar",
    "use_workspace_calendar",
    "workspace_calendar",
    "year_ranges",
]
