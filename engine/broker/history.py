"""Download a broker's candles into the store: chunked, resumable, with progress and cancel.

A broker serves a limited span per call (Kite: 60 days of minutes, 2,000 days of daily
candles), so a long range is asked for in chunks of `Broker.max_history_span`, oldest first.
Each chunk is written to the store in its own transaction before the next is asked for, so
what is stored is always one contiguous run from the start; running the same download again
starts from the last bar stored (resumable after a cancel, a dropped network or a closed
laptop). Daily candles are stamped like every other daily bar in the store, at the calendar's
session open of their trade date (the importers' rule, `engine.data.importers.normalise`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from engine.broker.protocol import Broker
from engine.calendar import get_calendar
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore
from engine.domain.instrument import Instrument
from engine.domain.market_data import Bar, require_aware
from engine.domain.money import to_paise
from engine.ist import IST, ist_datetime, ns_of
from engine.timeframes import Timeframe

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class Chunk:
    start: datetime
    end: datetime


def plan_chunks(start: datetime, end: datetime, span: timedelta) -> list[Chunk]:
    """[start, end] cut into consecutive chunks of at most `span`, oldest first."""
    require_aware(start, "start")
    require_aware(end, "end")
    if end < start:
        raise ValueError(f"the range ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})")
    if span <= timedelta(0):
        raise ValueError(f"a history chunk must span some time, got {span}")
    chunks: list[Chunk] = []
    lo = start
    while lo <= end:
        hi = min(lo + span - timedelta(seconds=1), end)
        chunks.append(Chunk(lo, hi))
        lo = hi + timedelta(seconds=1)
    return chunks


def bars_to_series(
    bars: Sequence[Bar], instrument: Instrument, timeframe: Timeframe
) -> BarSeries | None:
    """The broker's candles as a store series (None when there are none); daily candles are
    stamped at their session's open from the calendar."""
    if not bars:
        return None
    if timeframe is Timeframe.D1:
        calendar = get_calendar(instrument.exchange.cash_exchange.value)
        ts = [ns_of(calendar.open_at(bar.ts.astimezone(IST).date())) for bar in bars]
    else:
        ts = [ns_of(bar.ts) for bar in bars]
    order = np.argsort(np.array(ts, dtype=np.int64), kind="stable")
    pick = [bars[i] for i in order]
    return BarSeries.from_arrays(
        symbol=instrument.symbol,
        timeframe=timeframe.value,
        ts=np.array([ts[i] for i in order], dtype=np.int64),
        open=np.array([to_paise(b.open) for b in pick], dtype=np.int64),
        high=np.array([to_paise(b.high) for b in pick], dtype=np.int64),
        low=np.array([to_paise(b.low) for b in pick], dtype=np.int64),
        close=np.array([to_paise(b.close) for b in pick], dtype=np.int64),
        volume=np.array([b.volume for b in pick], dtype=np.int64),
        prices_in_paise=True,
    )


@dataclass(frozen=True, slots=True)
class DownloadReport:
    symbol: str
    timeframe: Timeframe
    chunks: int  # asked for this time
    bars_written: int  # new or changed in the store
    resumed_from: datetime | None  # the last bar already stored, where this run began
    cancelled: bool = False

    def summary(self) -> str:
        what = f"{self.symbol} {self.timeframe.value}"
        resumed = (
            f", resumed after {self.resumed_from.astimezone(IST):%Y-%m-%d %H:%M}"
            if self.resumed_from
            else ""
        )
        stop = " (cancelled; run it again to continue)" if self.cancelled else ""
        return f"{what}: {self.bars_written} bars from {self.chunks} request(s){resumed}{stop}"


def _store(
    target: HistoryStore, bars: Sequence[Bar], instrument: Instrument, timeframe: Timeframe
) -> int:
    series = bars_to_series(bars, instrument, timeframe)
    return 0 if series is None else target.write(series, instrument)


class HistoryStore(Protocol):
    """What the downloader needs of the store: the last bar held and a transactional write."""

    def last_bar(self, instrument: Instrument, timeframe: Timeframe) -> datetime | None: ...

    def write(self, series: BarSeries, instrument: Instrument) -> int: ...


class MarketStoreTarget:
    """The workspace's DuckDB store as a download target (blocking calls: the downloader
    runs them in a thread)."""

    def __init__(self, store: MarketStore) -> None:
        self.store = store

    def last_bar(self, instrument: Instrument, timeframe: Timeframe) -> datetime | None:
        for info in self.store.list_series():
            if (info.exchange, info.symbol, info.timeframe) == (
                instrument.exchange.value,
                instrument.symbol,
                timeframe.value,
            ):
                return ist_datetime(info.last_ts)
        return None

    def write(self, series: BarSeries, instrument: Instrument) -> int:
        if instrument.segment.value not in ("EQ", "INDEX"):
            # A contract's details come from the broker's dump; the store needs them first.
            self.store.write_instruments([instrument], f"{instrument.key} details")
        return self.store.write_bars(
            series, exchange=instrument.exchange.value, segment=instrument.segment.value
        )


async def download_history(
    broker: Broker,
    target: HistoryStore,
    instrument: Instrument,
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> DownloadReport:
    """Fetch [start, end] of `instrument` at `timeframe` into the store, chunk by chunk;
    broker errors propagate (what was written before stays and a rerun resumes after it)."""
    last = await asyncio.to_thread(target.last_bar, instrument, timeframe)
    begin = start
    if last is not None and start <= last <= end:
        begin = last  # the chunk holding the last bar is asked again: merges are idempotent
    chunks = plan_chunks(begin, end, broker.max_history_span(timeframe))
    written = 0
    for n, chunk in enumerate(chunks):
        if cancelled is not None and cancelled():
            return DownloadReport(instrument.key, timeframe, n, written, last, cancelled=True)
        if progress is not None:
            progress(n, len(chunks), f"{instrument.key} {chunk.start.astimezone(IST):%Y-%m-%d}")
        bars = await broker.history(instrument, timeframe, chunk.start, chunk.end)
        # A 60-day chunk of minutes is ~22,000 bars: built and written off the loop, which
        # also runs the GUI.
        written += await asyncio.to_thread(_store, target, bars, instrument, timeframe)
    if progress is not None:
        progress(len(chunks), len(chunks), f"{instrument.key} done")
    return DownloadReport(instrument.key, timeframe, len(chunks), written, last)
