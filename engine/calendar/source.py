"""Adapter over exchange-calendars: load the XBOM schedule once and turn it into plain Python.

NSE and BSE publish the same trading-holiday list and the same cash-market timetable, and
exchange-calendars has no NSE calendar, so XBOM (BSE) serves both exchanges.

The package (and pandas behind it) is imported on first use, not at ``import
engine.calendar``, because it costs most of a second. After the one-time load every query
is a dict/bisect lookup, so pandas warnings can only come from the load, where they are
silenced.

Most starts do not import the package at all: ``package_table`` holds the same schedule
(written from the package by ``write_table()``), read in ~10 ms where importing the package
and building its calendar took ~0.2 s of the app's start (the status bar's market clock
asks at once). It is used only when the installed package is the version it was written
from, and ends where the package's calendar would: a year from today, at most the package's
last precomputed day. A test checks the table against the package.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from engine.calendar.model import IST, REGULAR_CLOSE, REGULAR_OPEN

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
                _cached = from_table() or _load()
    return _cached


def installed_version() -> str | None:
    """The installed exchange-calendars' version (from its metadata: no import), or None.

    Read from the name of its ``.dist-info`` folder, found as `importlib.metadata` finds it
    (the first `sys.path` folder holding one): importing `importlib.metadata` (and the email
    package under it) takes ~50 ms, which the station's first paint would wait for. Any
    other layout (an egg, a zip) is left to `importlib.metadata`."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip file, a folder that is gone
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            project, dash, version = stem.partition("-")
            if dot and dash and kind == "dist-info" and _normal(project) == _normal(PACKAGE):
                return version
    import importlib.metadata

    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def _normal(project: str) -> str:
    """A project name as packaging normalises it (PEP 503): case and -_. runs folded."""
    return re.sub(r"[-_.]+", "-", project).lower()


def default_end(today: datetime.date, bound_max: datetime.date) -> datetime.date:
    """The package's default last day: a year after today (Feb 29 -> Feb 28, as pandas'
    DateOffset), at most the last day it has precomputed."""
    try:
        year_on = today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        year_on = today.replace(year=today.year + 1, day=28)
    return min(year_on, bound_max)


def from_table(today: datetime.date | None = None) -> PackageSchedule | None:
    """The package's schedule as of `today` (default: today) from ``package_table``; None
    when the installed package is not the version the table was written from."""
    from engine.calendar import package_table as table

    if installed_version() != table.VERSION:
        return None
    end = default_end(today or datetime.date.today(), datetime.date.fromisoformat(table.BOUND_MAX))
    regular = (REGULAR_OPEN, REGULAR_CLOSE)
    special = {
        datetime.date.fromisoformat(day): (
            datetime.time.fromisoformat(open_),
            datetime.time.fromisoformat(close),
        )
        for day, (open_, close) in table.SPECIAL.items()
    }
    times: dict[datetime.date, tuple[datetime.time, datetime.time]] = {}
    day = datetime.date.fromisoformat(table.FIRST)
    ordinal = day.toordinal()
    for gap in "0" + table.GAPS:
        ordinal += int(gap, 36)
        day = datetime.date.fromordinal(ordinal)
        if day > end:
            break
        times[day] = special.get(day, regular)
    days = list(times)
    return PackageSchedule(
        first=days[0],
        last=days[-1],
        hours=TableHours(times),
        source=f"{PACKAGE} {table.VERSION} {CALENDAR_NAME}",
    )


class TableHours(Mapping[datetime.date, tuple[datetime.datetime, datetime.datetime]]):
    """The table's sessions as (open, close) IST datetimes, each pair made when asked for
    (read-only): making all ~7,400 at once took ~15 ms of the station's start, and the
    calendar asks for the few days it shows or a backtest trades."""

    def __init__(self, times: Mapping[datetime.date, tuple[datetime.time, datetime.time]]):
        self._times = times

    def __getitem__(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        open_, close = self._times[day]
        combine = datetime.datetime.combine
        return combine(day, open_, IST), combine(day, close, IST)

    def __contains__(self, day: object) -> bool:
        return day in self._times

    def __iter__(self) -> Iterator[datetime.date]:
        return iter(self._times)

    def __len__(self) -> int:
        return len(self._times)


def table_text(schedule: PackageSchedule, version: str, bound_max: datetime.date) -> str:
    """``package_table``'s source for `schedule` (the package's, built to `bound_max`)."""
    days = list(schedule.hours)
    gaps = ""
    special: dict[str, tuple[str, str]] = {}
    for before, day in zip([days[0], *days[:-1]], days, strict=True):
        gaps += "" if day == days[0] else _digit((day - before).days)
        open_, close = schedule.hours[day]
        if open_.tzinfo is not IST or close.tzinfo is not IST:
            raise ValueError(f"{day}: session times not in IST")
        if open_.date() != day or close.date() != day or open_.second or close.second:
            raise ValueError(f"{day}: session hours the table cannot hold: {open_}, {close}")
        if (open_.time(), close.time()) != (REGULAR_OPEN, REGULAR_CLOSE):
            special[day.isoformat()] = (f"{open_:%H:%M}", f"{close:%H:%M}")
    lines = [gaps[i : i + 88] for i in range(0, len(gaps), 88)]
    specials = "".join(f'    "{day}": ("{o}", "{c}"),\n' for day, (o, c) in special.items())
    return (
        '"""exchange-calendars\' XBOM sessions, read by `engine.calendar.source` without\n'
        "importing the package. Written by `engine.calendar.source.write_table()`: do not edit.\n"
        '"""\n\n'
        f'VERSION = "{version}"  # the exchange-calendars it was written from\n'
        f'FIRST = "{days[0].isoformat()}"  # the first session\n'
        f'BOUND_MAX = "{bound_max.isoformat()}"  # the package\'s last precomputed day\n'
        "# days from each session to the next, one base-36 digit each\n"
        "GAPS = (\n" + "".join(f'    "{line}"\n' for line in lines) + ")\n"
        "# sessions not 09:15-15:30 IST: date -> (open, close) IST\n"
        "SPECIAL: dict[str, tuple[str, str]] = {" + ("\n" + specials if specials else "") + "}\n"
    )


def _digit(gap: int) -> str:
    if not 0 < gap < 36:
        raise ValueError(f"a gap of {gap} days between sessions: the table cannot hold it")
    return "0123456789abcdefghijklmnopqrstuvwxyz"[gap]


def _load(end: datetime.date | None = None) -> PackageSchedule:
    """The schedule from the package itself (to its default last day, or `end`)."""
    with warnings.catch_warnings():
        # pandas 3 deprecation chatter from inside the package; nothing we can act on.
        warnings.simplefilter("ignore")
        import exchange_calendars as xc
        from exchange_calendars.exchange_calendar_xbom import XBOMExchangeCalendar

        # Pin the start to the package's earliest precomputed year. Its default start is
        # "today minus 20 years", which would make coverage shrink by a day every day.
        start = XBOMExchangeCalendar.bound_min()
        if end is None:
            cal = xc.get_calendar(CALENDAR_NAME, start=start)
        else:
            cal = xc.get_calendar(CALENDAR_NAME, start=start, end=end.isoformat())
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


def bound_max() -> datetime.date:
    """The last day the installed package can build its XBOM calendar to."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from exchange_calendars.exchange_calendar_xbom import XBOMExchangeCalendar

        return XBOMExchangeCalendar.bound_max().date()  # type: ignore[no-any-return]


TABLE_PATH = Path(__file__).with_name("package_table.py")


def write_table(path: Path = TABLE_PATH) -> Path:
    """(Re)write ``package_table`` from the installed package."""
    version = installed_version()
    if version is None:
        raise RuntimeError(f"{PACKAGE} is not installed")
    last = bound_max()
    path.write_text(table_text(_load(end=last), version, last), encoding="utf-8")
    return path
