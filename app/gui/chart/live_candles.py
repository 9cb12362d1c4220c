"""Live minutes into the chart's last candle, at the chart's timeframe, by the resampler's rules.

The broker hub builds live 1-minute bars on the exchange clock (engine/data/live_bars.py) and
publishes the minute in progress (`FormingBarEvent`) and each closed one (`BarEvent`). A chart
at 1m shows them as they are; at 3m..60m or 1D the minutes of one bin are folded into one
candle exactly as `engine.data.resample.resample` folds stored minutes (bins anchored at the
calendar's session open, a short last bin kept, daily bars at the session open): the bin comes
from the resampler's own `session_table`/`locate`, the candle from `resample` itself over the
bin's minutes. No Qt here: `LiveCandles.add` says what the chart must do ("append" a new
candle or "update" the last), and the panel does it.

A stored candle may already hold the start of the bin the live minutes fall in (history up to
10:07, live from 10:08 on a 15m chart): the live minutes are merged into it (its open, the
highest high, the lowest low, the live close, volumes added). At 1m a live minute of the same
time replaces the stored one (the feed's minute is the newer reading).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.data.bar_series import BarSeries
from engine.data.resample import locate, resample, session_table
from engine.timeframes import Timeframe

Action = Literal["append", "update"]


@dataclass(frozen=True, slots=True)
class Candle:
    """One bar as the chart draws it: open time (UTC ns), float rupees, volume."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Minute:
    """One live minute in exact paise (as the hub's minute bars carry them)."""

    ts: int
    open: int
    high: int
    low: int
    close: int
    volume: int


class LiveCandles:
    """The chart's last candle as live minutes arrive (see the module doc)."""

    def __init__(
        self, symbol: str, timeframe: str, exchange: str, last: Candle | None = None
    ) -> None:
        self.symbol = symbol
        self.timeframe = Timeframe(timeframe)
        self.exchange = exchange
        self.last = last  # the candle the chart shows last (stored, or built here)
        self._stored: Candle | None = last  # the stored part of the last candle's bin
        self._minutes: dict[int, Minute] = {}  # live minutes of the last candle's bin

    def bin_of(self, ts: int) -> int | None:
        """The open time of the bin holding minute `ts` at this timeframe (None: outside
        every session), by the resampler's session lookup."""
        stamps = np.array([ts], dtype=np.int64)
        table = session_table(stamps, self.exchange)
        index, inside = locate(stamps, table)
        if not bool(inside[0]):
            return None
        opens = int(table.opens[int(index[0])])
        if not self.timeframe.intraday:
            return opens
        length = self.timeframe.length_ns
        return opens + (ts - opens) // length * length

    def add(self, minute: Minute) -> tuple[Action, Candle] | None:
        """Take one live minute (forming or closed; a later reading of the same minute
        replaces the earlier). What the chart must do, or None (outside the session, or
        older than the last candle)."""
        start = self.bin_of(minute.ts)
        if start is None:
            return None
        last = self.last
        if last is not None and start < last.ts:
            return None  # a late minute of a candle already past
        action: Action
        if last is None or start > last.ts:
            action = "append"
            self._stored = None
            self._minutes = {}
        else:
            action = "update"  # the stored part of the bin (if any) stays and is merged
            if self.timeframe is Timeframe.M1:
                self._stored = None  # except at 1m: the live minute is the whole candle
        self._minutes[minute.ts] = minute
        candle = self._merged(start, self._folded())
        self.last = candle
        return action, candle

    def _folded(self) -> Candle:
        """The bin's live minutes folded by `resample` (one bar; at 1m, the minute)."""
        minutes = [self._minutes[ts] for ts in sorted(self._minutes)]

        def column(name: str) -> np.ndarray:
            return np.array([getattr(m, name) for m in minutes], dtype=np.int64)

        if self.timeframe is Timeframe.M1:
            m = minutes[-1]
            return _candle(m.ts, m.open, m.high, m.low, m.close, m.volume)
        series = BarSeries(
            self.symbol,
            Timeframe.M1.value,
            column("ts"),
            column("open"),
            column("high"),
            column("low"),
            column("close"),
            column("volume"),
        )
        bars = resample(series, self.timeframe.value, self.exchange).series
        at = len(bars.ts) - 1
        return _candle(
            int(bars.ts[at]),
            int(bars.open[at]),
            int(bars.high[at]),
            int(bars.low[at]),
            int(bars.close[at]),
            int(bars.volume[at]),
        )

    def _merged(self, start: int, live: Candle) -> Candle:
        stored = self._stored
        if stored is None or stored.ts != start:
            return Candle(start, live.open, live.high, live.low, live.close, live.volume)
        return Candle(
            start,
            stored.open,
            max(stored.high, live.high),
            min(stored.low, live.low),
            live.close,
            stored.volume + live.volume,
        )


def _candle(ts: int, o: int, h: int, lo: int, c: int, v: int) -> Candle:
    """Paise to the chart's float rupees (exact: whole paise)."""
    return Candle(ts, o / 100.0, h / 100.0, lo / 100.0, c / 100.0, float(v))
