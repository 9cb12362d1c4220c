"""The session clock for strategy rules: IST time parameters, IST days, bar minutes.

Bars carry their open time in UTC nanoseconds; rules speak IST ("no entry after 14:30",
"flat by 15:15", "one count per session"). Every conversion here is built on engine/ist.py,
the engine's one place for ns <-> IST, so a strategy never writes its own offset.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from engine.ist import IST_OFFSET_NS, NS_PER_DAY, NS_PER_SECOND, ist_day_number, ist_day_numbers

NS_PER_MINUTE: Final = 60 * NS_PER_SECOND
MINUTES_PER_DAY: Final = NS_PER_DAY // NS_PER_MINUTE


def ist_time_param(text: str, name: str) -> int:
    """An 'HH:MM' (IST) parameter as minutes after midnight; a ValueError naming the
    parameter when it is not two-digit hours 00-23, a colon and two-digit minutes 00-59."""
    hours, _, minutes = text.partition(":")
    if not (len(hours) == len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"{name} must be a time HH:MM (IST), got {text!r}")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"{name} must be a time HH:MM (IST), got {text!r}")
    return int(hours) * 60 + int(minutes)


def ist_day(ts_ns: int | np.integer) -> int:
    """Days since 1970-01-01 of the IST date of a UTC ns time (one session a day)."""
    return ist_day_number(ts_ns)


def ist_days(ts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """`ist_day` of every time in an array of UTC ns times."""
    return ist_day_numbers(np.asarray(ts, dtype=np.int64))


def ist_open_minutes(ts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """IST minute of the day (0..1439) of each bar's open time `ts` (UTC ns)."""
    wall = np.asarray(ts, dtype=np.int64) + IST_OFFSET_NS
    return np.asarray(wall % NS_PER_DAY // NS_PER_MINUTE, dtype=np.int64)


def ist_close_minutes(ts: npt.ArrayLike, bar_minutes: int) -> npt.NDArray[np.float64]:
    """IST minute of the day at which each bar closes: its open minute + `bar_minutes` (a
    bar opening at 23:59 closes at minute 1440, not 0: the minute stays on its bar's day)."""
    return (ist_open_minutes(ts) + bar_minutes).astype(np.float64)


def first_bar_at_or_after(minutes: npt.ArrayLike, at: int) -> npt.NDArray[np.bool_]:
    """True on each day's first bar whose minute (e.g. `ist_close_minutes`) is >= `at`:
    the bar before it was earlier that day, or is on a day before (a larger minute than
    this bar's means a new day)."""
    m = np.asarray(minutes, dtype=np.float64)
    before = np.concatenate(([np.inf], m[:-1])) if m.shape[0] else m
    return np.asarray((m >= at) & ((before < at) | (before > m)))
