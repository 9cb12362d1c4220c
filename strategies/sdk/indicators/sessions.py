"""Indicators that start afresh at each session: session VWAP and the opening range.

A session is an IST trading day (the market calendar has at most one per day; a bar's day is
`engine.ist`'s day of its UTC ns open time `ts`), so both reset at the first bar of each day.
The opening range also needs the session's open time, which the calendar gives (09:15 IST on
a regular day, the evening on a muhurat session; a bar on a day with no session, as a held
holiday bar, is timed from the regular open, as the importers stamp such days).

Bar by bar, each is a recursive step whose state carries the session's running values, so a
bar costs O(1); the whole-array form does the same float arithmetic in the same order.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from engine.calendar import get_calendar
from engine.ist import day_from_number, ist_day_number, ist_day_numbers, ist_midnight_ns, ns_of
from engine.strategy.derived import DerivedSeries, indicator
from engine.strategy.series import Series

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_NS_PER_MINUTE = 60 * 1_000_000_000


def _times(ts: npt.ArrayLike) -> IntArray:
    return np.asarray(ts, dtype=np.int64)


def _session_starts(days: IntArray) -> IntArray:
    """Index of the first bar of each day."""
    if days.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], days[1:] != days[:-1]))).astype(np.int64)


def session_open_ns(day: int, exchange: str) -> int:
    """UTC ns of the open of the session on IST day number `day` (days since 1970-01-01)."""
    return ns_of(get_calendar(exchange).open_at(day_from_number(day)))


# -- session VWAP ----------------------------------------------------------------------------


def _weighted(high: Any, low: Any, close: Any, volume: Any) -> tuple[FloatArray, FloatArray]:
    """(typical price x volume, volume) per bar, as floats."""
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    v = np.asarray(volume, dtype=np.float64)
    return (h + lo + c) / 3.0 * v, v


def _vwap_of(price_volume: float, volume: float) -> float:
    return price_volume / volume if volume > 0 else np.nan


def _vwap_step(
    previous: FloatArray,
    ts: npt.NDArray[Any],
    high: npt.NDArray[Any],
    low: npt.NDArray[Any],
    close: npt.NDArray[Any],
    volume: npt.NDArray[Any],
    *,
    state: dict[str, Any],
) -> float:
    """session_vwap at the newest bar from the session's running sums: O(1) per bar."""
    t = len(ts) - 1
    day = ist_day_number(ts[t])
    if state.get("day") != day:
        state.update(day=day, pv=0.0, v=0.0)
        if not state.get("fresh", False) and t > 0:  # rebuilding mid-run: sum the session so far
            start = int(np.searchsorted(_times(ts[:t]), ist_midnight_ns(day_from_number(day))))
            pv, v = _weighted(high[start:t], low[start:t], close[start:t], volume[start:t])
            for x, w in zip(pv.tolist(), v.tolist(), strict=True):
                state["pv"] += x
                state["v"] += w
        state["fresh"] = True  # from now on a new day is a new session
    pv, v = _weighted(high[t : t + 1], low[t : t + 1], close[t : t + 1], volume[t : t + 1])
    state["pv"] += float(pv[0])
    state["v"] += float(v[0])
    return _vwap_of(state["pv"], state["v"])


@overload
def session_vwap(
    ts: Series, high: Series, low: Series, close: Series, volume: Series
) -> DerivedSeries: ...
@overload
def session_vwap(
    ts: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
) -> FloatArray: ...
@indicator(update=_vwap_step, state=True)
def session_vwap(ts: Any, high: Any, low: Any, close: Any, volume: Any) -> Any:
    """Volume-weighted average of the typical price (high + low + close) / 3 since the
    session's first bar, this bar included; NaN while the session has traded no volume.
    Call it with the bar Series: session_vwap(d.ts, d.high, d.low, d.close, d.volume)."""
    times = _times(ts)
    pv, v = _weighted(high, low, close, volume)
    if not times.shape == pv.shape == v.shape:
        raise ValueError("session_vwap: ts, high, low, close and volume differ in length")
    out = np.full(times.shape[0], np.nan)
    bounds = [*_session_starts(ist_day_numbers(times)).tolist(), times.shape[0]]
    for lo, hi in pairwise(bounds):
        # sequential running sums (cumsum adds in order), as the bar-by-bar step does
        sums, volumes = np.cumsum(pv[lo:hi]), np.cumsum(v[lo:hi])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lo:hi] = np.where(volumes > 0, sums / volumes, np.nan)
    return out


# -- opening range ---------------------------------------------------------------------------


def _range_step(
    previous: FloatArray,
    ts: npt.NDArray[Any],
    prices: npt.NDArray[Any],
    minutes: int,
    bar_minutes: int,
    exchange: str,
    pick: Any,
    state: dict[str, Any],
) -> float:
    """The opening range's high (pick=np.maximum) or low (np.minimum) at the newest bar."""
    t = len(ts) - 1
    now = int(ts[t])
    day = ist_day_number(now)
    if state.get("day") != day:
        end = session_open_ns(day, exchange) + minutes * _NS_PER_MINUTE
        state.update(day=day, end=end, extreme=None, done=False)
        if not state.get("fresh", False) and t > 0:  # rebuilding mid-run: replay the session
            start = int(np.searchsorted(_times(ts[:t]), ist_midnight_ns(day_from_number(day))))
            for i in range(start, t):
                _range_bar(state, int(ts[i]), float(prices[i]), bar_minutes, pick)
        state["fresh"] = True
    return _range_bar(state, now, float(prices[t]), bar_minutes, pick)


def _range_bar(state: dict[str, Any], now: int, price: float, bar_minutes: int, pick: Any) -> float:
    """Take one bar of the session into the range state; the range's value after it."""
    end = state["end"]
    if now < end:
        if state["done"]:
            raise ValueError(
                f"a bar opens inside the opening range after the range was complete: "
                f"bars are shorter than bar_minutes={bar_minutes}"
            )
        extreme = state["extreme"]
        state["extreme"] = price if extreme is None else float(pick(extreme, price))
    if not state["done"] and state["extreme"] is not None:
        state["done"] = now + bar_minutes * _NS_PER_MINUTE >= end
    return float(state["extreme"]) if state["done"] else np.nan


def _opening_range(
    ts: Any, prices: Any, minutes: int, bar_minutes: int, exchange: str, pick: Any
) -> FloatArray:
    if minutes < 1 or bar_minutes < 1:
        raise ValueError(
            f"opening range minutes and bar_minutes must be >= 1, got {minutes}, {bar_minutes}"
        )
    times = _times(ts)
    values = np.asarray(prices, dtype=np.float64)
    if times.shape != values.shape:
        raise ValueError(
            f"opening range: ts and prices differ in length ({times.shape}, {values.shape})"
        )
    out = np.full(times.shape[0], np.nan)
    days = ist_day_numbers(times)
    bounds = [*_session_starts(days).tolist(), times.shape[0]]
    for lo, hi in pairwise(bounds):
        end = session_open_ns(int(days[lo]), exchange) + minutes * _NS_PER_MINUTE
        inside = int(np.searchsorted(times[lo:hi], end))  # bars opening before the range ends
        if inside == 0:
            continue  # no bar in the range: no range this session
        complete = lo + int(np.searchsorted(times[lo:hi] + bar_minutes * _NS_PER_MINUTE, end))
        if complete < lo + inside - 1:
            raise ValueError(
                f"a bar opens inside the opening range after the range was complete: "
                f"bars are shorter than bar_minutes={bar_minutes}"
            )
        out[complete:hi] = pick.reduce(values[lo : lo + inside])
    return out


def _high_step(
    previous: FloatArray,
    ts: npt.NDArray[Any],
    high: npt.NDArray[Any],
    minutes: int = 15,
    bar_minutes: int = 1,
    exchange: str = "NSE",
    *,
    state: dict[str, Any],
) -> float:
    return _range_step(previous, ts, high, minutes, bar_minutes, exchange, np.maximum, state)


def _low_step(
    previous: FloatArray,
    ts: npt.NDArray[Any],
    low: npt.NDArray[Any],
    minutes: int = 15,
    bar_minutes: int = 1,
    exchange: str = "NSE",
    *,
    state: dict[str, Any],
) -> float:
    return _range_step(previous, ts, low, minutes, bar_minutes, exchange, np.minimum, state)


@overload
def opening_range_high(
    ts: Series, high: Series, minutes: int = 15, bar_minutes: int = 1, exchange: str = "NSE"
) -> DerivedSeries: ...
@overload
def opening_range_high(
    ts: npt.ArrayLike,
    high: npt.ArrayLike,
    minutes: int = 15,
    bar_minutes: int = 1,
    exchange: str = "NSE",
) -> FloatArray: ...
@indicator(update=_high_step, state=True)
def opening_range_high(
    ts: Any, high: Any, minutes: int = 15, bar_minutes: int = 1, exchange: str = "NSE"
) -> Any:
    """The highest high of the bars opening in the session's first `minutes`: NaN until the
    range is complete (the close of the bar that ends at the range's end, given bars of
    `bar_minutes`), then constant for the rest of the session. With bars longer than
    bar_minutes it appears one bar later, never early; shorter ones raise ValueError."""
    return _opening_range(ts, high, minutes, bar_minutes, exchange, np.maximum)


@overload
def opening_range_low(
    ts: Series, low: Series, minutes: int = 15, bar_minutes: int = 1, exchange: str = "NSE"
) -> DerivedSeries: ...
@overload
def opening_range_low(
    ts: npt.ArrayLike,
    low: npt.ArrayLike,
    minutes: int = 15,
    bar_minutes: int = 1,
    exchange: str = "NSE",
) -> FloatArray: ...
@indicator(update=_low_step, state=True)
def opening_range_low(
    ts: Any, low: Any, minutes: int = 15, bar_minutes: int = 1, exchange: str = "NSE"
) -> Any:
    """The lowest low of the bars opening in the session's first `minutes` (see
    opening_range_high for when it appears)."""
    return _opening_range(ts, low, minutes, bar_minutes, exchange, np.minimum)
