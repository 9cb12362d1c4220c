"""Several instruments traded by one strategy (pairs, baskets), aligned on the exchange clock.

A `multi_instrument` strategy gets every instrument of the run: `self.datas[symbol]` holds each
one's bars on the merged timeline (one step per moment any of them has a bar; prices carried
forward from the instrument's last bar, NaN before its first; volume 0 and `has_bar` False
where it has no bar of its own), so one handler sees them side by side and can size them
together. Its clock counts steps of that timeline; the venue still works each instrument in its
own bars, through an `InstrumentClock` that translates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.strategy.base import BarData
from engine.strategy.series import Clock, Series

Int64Array = npt.NDArray[np.int64]


def merged_timeline(stamps: list[Int64Array]) -> Int64Array:
    """Every moment any instrument has a bar, once each, rising: the steps of a
    multi-instrument run. Each array is already rising, so a merge (a stable sort of the
    concatenation, then dropping repeats) does it; numpy's `unique` hashes every stamp and
    took ~0.5 s on two series of a million bars, against ~0.02 s for this."""
    first = stamps[0]
    if all(s is first or np.array_equal(s, first) for s in stamps[1:]):
        return first
    merged = np.concatenate(stamps)
    merged.sort(kind="stable")
    keep = np.empty(merged.shape[0], dtype=bool)
    keep[:1] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    return merged[keep]


class InstrumentClock:
    """An instrument's bar index for a strategy whose clock runs on the merged timeline.

    Reading gives the instrument's latest bar at or before the strategy's step (-1 before its
    first). Setting bar b says the strategy has seen everything before the instrument's next
    bar (b + 1): its clock moves to the timeline step just before that bar.
    """

    __slots__ = ("gidx", "local_at", "shared")

    def __init__(self, shared: Clock, ts: Int64Array, gidx: Int64Array, timeline: Int64Array):
        self.shared = shared
        self.gidx = gidx
        # an instrument with a bar at every step: its bar at step g is g (gidx is 0..n-1)
        self.local_at: Int64Array = (
            gidx
            if len(gidx) == len(timeline)
            else np.searchsorted(ts, timeline, side="right").astype(np.int64) - 1
        )

    @property
    def index(self) -> int:
        step = self.shared.index
        return int(self.local_at[step]) if step >= 0 else -1

    @index.setter
    def index(self, bar: int) -> None:
        after = bar + 1
        self.shared.index = (
            int(self.gidx[after]) - 1 if after < len(self.gidx) else len(self.local_at) - 1
        )


def aligned_arrays(
    ts: Int64Array,
    prices: tuple[Int64Array, Int64Array, Int64Array, Int64Array],
    volume: Int64Array,
    timeline: Int64Array,
) -> dict[str, npt.NDArray[Any]]:
    """One instrument's bars (paise) on the merged timeline: ts (the timeline), open, high,
    low, close in rupees carried forward from its last bar at or before each step (NaN before
    its first), volume (0 where it has no bar of its own) and has_bar."""
    at = np.searchsorted(ts, timeline, side="right") - 1
    seen = at >= 0
    index = np.maximum(at, 0)
    has_bar = seen & (ts[index] == timeline)

    def carried(values: Int64Array) -> npt.NDArray[np.float64]:
        return np.where(seen, values[index] / 100.0, np.nan)

    open_, high, low, close = prices
    return {
        "ts": timeline,
        "open": carried(open_),
        "high": carried(high),
        "low": carried(low),
        "close": carried(close),
        "volume": np.where(has_bar, volume[index], 0).astype(np.int64),
        "has_bar": has_bar,
    }


def step_row(
    prices: tuple[Int64Array, Int64Array, Int64Array, Int64Array],
    volume: Int64Array,
    last: int,
    has_bar: bool,
) -> tuple[float, float, float, float, int, bool]:
    """`aligned_arrays` at one step, from what is known then: the instrument's last bar so far
    (`last`, -1 before its first) and whether it is at this step. Bar-by-bar replay builds a
    multi-instrument strategy's steps with it; the values are the whole-array ones, bit for bit."""
    if last < 0:
        return math.nan, math.nan, math.nan, math.nan, 0, False
    open_, high, low, close = prices
    return (
        int(open_[last]) / 100.0,
        int(high[last]) / 100.0,
        int(low[last]) / 100.0,
        int(close[last]) / 100.0,
        int(volume[last]) if has_bar else 0,
        has_bar,
    )


def aligned_data(
    symbol: str,
    clock: Clock,
    ts: Int64Array,
    prices: tuple[Int64Array, Int64Array, Int64Array, Int64Array],
    volume: Int64Array,
    timeline: Int64Array,
) -> BarData:
    """One instrument's bars (paise) on the merged timeline, in rupees, with `has_bar`."""
    arrays = aligned_arrays(ts, prices, volume, timeline)
    data = BarData(
        symbol,
        clock,
        timeline,
        arrays["open"],
        arrays["high"],
        arrays["low"],
        arrays["close"],
        arrays["volume"],
    )
    data.has_bar = Series(arrays["has_bar"], clock, "has_bar")
    return data
