"""The exchange clock in numbers: UTC nanoseconds <-> India Standard Time, in one place.

Bars and fills carry int64 UTC nanoseconds (exact, vectorisable); people, sessions and
contract notes speak IST dates and times. IST has had one fixed offset (+05:30, no daylight
saving) since 1945, so the conversion is integer arithmetic; every module converts here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the array helpers import numpy when called: the GUI's start needs none
    import numpy as np
    import numpy.typing as npt

NS_PER_SECOND: Final = 1_000_000_000
NS_PER_DAY: Final = 86_400 * NS_PER_SECOND
IST_OFFSET_NS: Final = 19_800 * NS_PER_SECOND
IST: Final = ZoneInfo("Asia/Kolkata")
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def ist_day_number(ts_ns: int | np.integer) -> int:
    """Days since 1970-01-01 of the IST date of a UTC ns time."""
    return (int(ts_ns) + IST_OFFSET_NS) // NS_PER_DAY


def ist_day_numbers(ts_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The IST day number of every time in an array (vectorised `ist_day_number`)."""
    import numpy as np

    return np.asarray((ts_ns + IST_OFFSET_NS) // NS_PER_DAY, dtype=np.int64)


def day_from_number(number: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + number)


def day_number(day: date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL


def ist_date_of(ts_ns: int | np.integer) -> date:
    """The IST calendar date of a UTC ns time (the trade date of a fill)."""
    return date.fromordinal(_EPOCH_ORDINAL + (int(ts_ns) + IST_OFFSET_NS) // NS_PER_DAY)


def ist_datetime(ts_ns: int | np.integer) -> datetime:
    """An aware IST datetime, exact to the microsecond (integer arithmetic, no float)."""
    seconds, nanos = divmod(int(ts_ns), NS_PER_SECOND)
    moment = datetime.fromtimestamp(seconds, tz=IST)
    return moment.replace(microsecond=nanos // 1000) if nanos >= 1000 else moment


# IST has been UTC+05:30 without a break since 1945-10-15 (war time was +06:30, and before
# 1942 the zone database has other offsets): from here on wall time is UTC + IST_OFFSET_NS.
_FIXED_OFFSET_SINCE_NS: Final = (date(1946, 1, 1).toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY


def ist_datetimes(ts_ns: npt.NDArray[np.int64]) -> list[datetime]:
    """`ist_datetime` of every time in an array, equal to it element by element.

    A backtest turns every trade's entry and exit into datetimes; one at a time that is the
    zone database's lookup per value (~1 us). Since 1946 IST is a fixed offset, so the wall
    times come from numpy in one pass (floored to the microsecond, as `ist_datetime` does)
    and only the zone is attached per value; earlier times take `ist_datetime` itself."""
    import numpy as np

    ts = np.asarray(ts_ns, dtype=np.int64)
    if not ts.size or int(ts.min()) < _FIXED_OFFSET_SINCE_NS:
        return [ist_datetime(t) for t in ts.tolist()]
    walls = (ts + IST_OFFSET_NS).view("datetime64[ns]").astype("datetime64[us]").tolist()
    # combine(date, time, zone): several times cheaper than datetime.replace(tzinfo=...)
    return [datetime.combine(wall, wall.time(), IST) for wall in walls]


def ist_iso(ts_ns: int | np.integer) -> str:
    """ISO 8601 in IST, to the nanosecond when the time has one (as pandas writes it)."""
    ts = int(ts_ns)
    moment = ist_datetime(ts)
    nanos = ts % 1_000
    if not nanos:
        return moment.isoformat()
    wall = moment.replace(tzinfo=None)
    offset = moment.isoformat()[len(wall.isoformat()) :]
    return f"{wall.isoformat(timespec='microseconds')}{nanos:03d}{offset}"


def ist_midnight_ns(day: date) -> int:
    """UTC ns of 00:00 IST on `day` (the start of a whole-day span)."""
    return ns_of(datetime(day.year, day.month, day.day, tzinfo=IST))


def ns_of(moment: datetime) -> int:
    """UTC ns of an aware datetime, exact for whole microseconds."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: say which (e.g. IST)")
    return ns_of_timedelta(moment - datetime(1970, 1, 1, tzinfo=UTC))


def ns_of_timedelta(delta: timedelta) -> int:
    """A timedelta as int nanoseconds (exact for whole microseconds)."""
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1_000
