"""Adapter over exchange-calendars: load the XBOM schedule once and turn it into plain Python.

NSE and BSE publish the same trading-holiday list and the same cash-market timetable, and
exchange-calendars has no NSE calendar, so XBOM (BSE) serves both exchanges.

The package (and pandas behind it) is imported on first use, not at ``import
engine.calendar``, because it costs most of a second. After the one-time load every query
is a dict/bisect lookup, so pandas warnings can only come from the load, where they are
silenced.
"""

from __future__ import annotations

import datetime
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from engine.calendar.model import IST

PACKAGE = "exchange-calendars"
CALENDAR_NAME = "XBOM"


@dataclass(frozen=True)
class PackageSchedule:
    """Sessions as the package knows them, before our overrides."""

    first: datetime.date
    last: datetime.date
    hours: Mapping[datetime.date, tuple[datetime.datetime, datetime.datetime]]
    source: str  # e.g. "exchange-calendars 4.13.2 XBOM", for error messages


_lock = threading.Lock()
_cached: PackageSchedule | None = None


def package_schedule() -> PackageSchedule:
    """Return the process-wide schedule, building it on the first call."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = _load()
    return _cached


def _load() -> PackageSchedule:
    with warnings.catch_warnings():
        # pandas 3 deprecation chatter from inside the package; nothing we can act on.
        warnings.simplefilter("ignore")
        import exchange_calendars as xc
        from exchange_calendars.exchange_calendar_xbom import XBOMExchangeCalendar

        # Pin the start to the package's earliest precomputed year. Its default start is
        # "today minus 20 years", which would make coverage shrink by a day every day.
        start = XBOMExchangeCalendar.bound_min()
        cal = xc.get_calendar(CALENDAR_NAME, start=start)
        hours: dict[datetime.date, tuple[datetime.datetime, datetime.datetime]] = {}
        for day, open_, close in zip(cal.sessions, cal.opens, cal.closes, strict=True):
            hours[day.date()] = (
                open_.to_pydatetime().astimezone(IST),
                close.to_pydatetime().astimezone(IST),
            )
        first = cal.first_session.date()
        last = cal.last_session.date()
        version = getattr(xc, "__version__", "?")
    return PackageSchedule(
        first=first,
        last=last,
        hours=MappingProxyType(hours),
        source=f"{PACKAGE} {version} {CALENDAR_NAME}",
    )
