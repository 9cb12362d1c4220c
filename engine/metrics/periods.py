"""Group UTC bar timestamps into IST days and weeks, and chain period-end returns.

A session's bars belong to the trader's day in Mumbai, not in UTC: a bar at 00:30 IST on
Monday is 19:00 UTC on Sunday. engine.ist does the conversion (bars are from 1970 on, when
IST was already a fixed +05:30).
"""

from __future__ import annotations

import numpy as np

from engine.ist import ist_day_numbers
from engine.metrics.inputs import FloatArray, IntArray

_THURSDAY_OFFSET = 3  # 1970-01-01 was a Thursday, three days after Monday 1969-12-29


def ist_weeks(timestamps: IntArray) -> IntArray:
    """IST Monday-to-Sunday week of each timestamp, as days since 1970-01-01 of its Monday."""
    days = ist_day_numbers(timestamps)
    return np.floor_divide(days + _THURSDAY_OFFSET, 7) * 7 - _THURSDAY_OFFSET


def last_per_key(keys: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """The distinct keys (sorted input) and the last value seen for each: period closes."""
    last = np.flatnonzero(np.diff(keys) != 0)
    last = np.append(last, keys.size - 1)
    return keys[last], values[last]


def chained_returns(closes: FloatArray, start: float) -> FloatArray:
    """close / previous close - 1, the first period against `start`.

    A period whose previous close is <= 0 (a blown-up account) has no defined return: NaN.
    Periods without samples are absent from `closes`, so they are skipped, never zero.
    """
    previous = np.empty_like(closes)
    previous[:1] = start
    previous[1:] = closes[:-1]
    ratio = np.full_like(closes, np.nan)
    np.divide(closes, previous, out=ratio, where=previous > 0)
    return ratio - 1.0
