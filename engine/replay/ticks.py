"""Tick replay: a recorded stream of trades fed to a strategy one tick at a time, as live.

Each tick (UTC ns time, price, traded quantity) does three things, in this order:

1. If it opens a later minute than the ticks before it, the minute they were in has closed:
   that 1-minute bar (on the exchange clock: bins from the calendar's session open) is pushed
   through the incremental path a live session uses (engine/strategy/incremental.py) and the
   strategy's bar handlers due at it run (`on_bar`, `self.on(...)` conditions), exactly as in
   a bar replay. A minute with no tick has no bar (nothing is invented).
2. The venue sees the tick: it is a one-trade bar (open = high = low = close = its price,
   volume = its quantity) for the streaming venue (engine/backtest/streaming_venue.py), so
   waiting orders are tried against it by the same fill model (engine/execution/fill_model.py)
   as every bar: a market order fills at the next tick's price; a limit when a tick trades at
   it or better, at that tick's price (the limit itself, or better when the tick gapped
   through); a stop when a tick trades at or through its trigger. The MIS square-off comes
   from the calendar the same way (the session's close minus `squareoff_lead`): at the price
   of the first tick at or after the cut-off, or the session's last tick when none is.
3. The strategy hears `on_tick(tick)` (a domain `Tick`: its price, IST time and the day's
   cumulative volume), with `self.data` holding the minutes closed so far. Orders it places
   go through the same host, checks and order manager as every order, and work from the
   next tick.

The result is a BacktestResult whose "bars" are the ticks: an order's `placed_bar`, a trade's
entry and exit bars and the equity curve count ticks (`minute_start` maps a tick to its
minute; `minute_bars` holds the bars the strategy saw).

Against a replay of the same strategy on `minute_bars`, a strategy that trades from bar
handlers with market orders places the same orders and gets the same prices and charges: an
order placed at a minute's close fills at the next tick, which is the next bar's open. What
differs, by design: a fill's time is its tick's (inside the minute), not the bar's open time;
a limit or stop reached inside a minute fills at the tick that reached it (the bar model, not
knowing the path inside a bar, fills it at its level and decides which of several orders went
first by `stop_first`); and a position opened after the day's cut-off is squared off at the
tick that opened it (the bar model: at the close of its bar).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from engine.backtest.config import BacktestConfig, BacktestInputError
from engine.backtest.event_queue import Phase
from engine.backtest.result import BacktestResult
from engine.backtest.runner import BacktestRun, strategy_error
from engine.backtest.streaming_venue import StreamingVenue
from engine.data.bar_series import (
    BarDataError,
    BarSeries,
    RowProblem,
    as_column,
    as_utc_ns,
    format_paise,
)
from engine.data.resample import locate, session_table
from engine.domain.instrument import Instrument
from engine.domain.market_data import Tick
from engine.domain.money import paise_to_rupees
from engine.ist import ist_datetime, ist_iso
from engine.strategy.base import Strategy
from engine.strategy.derived import IncrementalError, LookbackError
from engine.strategy.incremental import IncrementalEvaluator
from engine.strategy.series import Clock
from engine.timeframes import Timeframe

Int64Array = npt.NDArray[np.int64]
MINUTE_NS = Timeframe.M1.length_ns


class TickDataError(BacktestInputError):
    """Recorded ticks that cannot be replayed; the message names the tick."""


@dataclass(frozen=True, eq=False, repr=False)
class TickSeries:
    """One instrument's recorded trades: times (int64 UTC ns, rising), prices (int64 paise,
    above zero) and traded quantities (int64, not negative)."""

    symbol: str
    ts: Int64Array
    price: Int64Array
    quantity: Int64Array

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise TickDataError(f"symbol must be a non-empty string, got {self.symbol!r}")
        n = len(self.ts) if isinstance(self.ts, np.ndarray) else -1
        for name in ("ts", "price", "quantity"):
            array = getattr(self, name)
            if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype != np.int64:
                got = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else array
                raise TickDataError(f"{self.symbol}: {name} must be a 1-D int64 array, got {got}")
            if len(array) != n:
                raise TickDataError(f"{self.symbol}: {name} has {len(array)} ticks, ts has {n}")
            view = array.view()
            view.flags.writeable = False
            object.__setattr__(self, name, view)
        if n == 0:
            raise TickDataError(f"{self.symbol}: no ticks to replay")
        ts, price, quantity = self.ts, self.price, self.quantity
        backwards = np.flatnonzero(ts[1:] <= ts[:-1])
        if backwards.size:
            k = int(backwards[0]) + 1
            raise TickDataError(
                f"{self.tick_name(k)}: its time is not after tick {k - 1} at "
                f"{ist_iso(ts[k - 1])}; ticks must rise in time (one time per tick)"
            )
        bad = np.flatnonzero(price <= 0)
        if bad.size:
            k = int(bad[0])
            raise TickDataError(
                f"{self.tick_name(k)}: price {format_paise(price[k])} is not above zero"
            )
        bad = np.flatnonzero(quantity < 0)
        if bad.size:
            k = int(bad[0])
            raise TickDataError(f"{self.tick_name(k)}: quantity {int(quantity[k])} is negative")

    @classmethod
    def from_arrays(
        cls,
        symbol: str,
        ts: npt.ArrayLike,
        price: npt.ArrayLike,
        quantity: npt.ArrayLike,
        *,
        prices_in_paise: bool = False,
    ) -> TickSeries:
        """From int ns UTC (or tz-aware datetimes), prices in rupees (exact to the paisa) or
        int paise, and whole quantities."""
        try:
            ts_ns = as_utc_ns(ts)
        except BarDataError as exc:
            raise TickDataError(f"{symbol}: {exc.problem}") from None
        for name, column in (("price", price), ("quantity", quantity)):
            if np.shape(column) != ts_ns.shape:
                raise TickDataError(
                    f"{symbol}: {name} has shape {np.shape(column)}, ts has {ts_ns.shape}"
                )
        try:
            paise = as_column(price, "price", prices_in_paise)
        except RowProblem as bad:
            where = f"{symbol} tick {bad.index} at {ist_iso(ts_ns[bad.index])}"
            raise TickDataError(f"{where}: {bad.problem}") from None
        except BarDataError as exc:
            raise TickDataError(f"{symbol}: {exc.problem}") from None
        amounts = np.asarray(quantity)
        if amounts.dtype.kind not in "iu":
            raise TickDataError(f"{symbol}: quantity must be whole numbers, got {amounts.dtype}")
        return cls(symbol, ts_ns, paise, amounts.astype(np.int64))

    def __len__(self) -> int:
        return len(self.ts)

    def tick_name(self, k: int) -> str:
        return f"{self.symbol} tick {k} at {ist_iso(self.ts[k])}"

    def __repr__(self) -> str:
        return f"TickSeries({self.symbol}, {len(self)} ticks)"


def minute_starts(ticks: TickSeries, exchange: str) -> Int64Array:
    """Each tick's 1-minute bin (its open time, UTC ns) on its session's grid: minutes counted
    from the calendar's session open. A tick outside every session is refused by name."""
    table = session_table(ticks.ts, exchange)
    index, inside = locate(ticks.ts, table)
    if not inside.all():
        k = int(np.flatnonzero(~inside)[0])
        raise TickDataError(
            f"{ticks.tick_name(k)} is outside every {exchange} session (the calendar's "
            "open to close of its day); tick replay takes ticks of the trading session only"
        )
    opens = table.opens[index]
    starts: Int64Array = opens + (ticks.ts - opens) // MINUTE_NS * MINUTE_NS
    return starts


class MinuteBar(NamedTuple):
    """A closed 1-minute bar: its open time (UTC ns), prices in paise, summed quantity."""

    ts: int
    open: int
    high: int
    low: int
    close: int
    volume: int


class MinuteBars:
    """Ticks into 1-minute bars, one tick at a time: `add` returns the bar a tick closes (the
    previous minute's, when the tick is in a later minute), `close` the last one."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._bars: list[MinuteBar] = []
        self._start = -1
        self._open = self._high = self._low = self._close = self._volume = 0

    def add(self, start: int, price: int, quantity: int) -> MinuteBar | None:
        """Take one tick (its minute's start, price, quantity); returns the bar it closed,
        or None when it belongs to the minute in progress."""
        if start == self._start:
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
            self._close = price
            self._volume += quantity
            return None
        closed = self.close()
        self._start = start
        self._open = self._high = self._low = self._close = price
        self._volume = quantity
        return closed

    def close(self) -> MinuteBar | None:
        """The minute in progress as a closed bar, or None when there is none."""
        if self._start < 0:
            return None
        bar = MinuteBar(self._start, self._open, self._high, self._low, self._close, self._volume)
        self._bars.append(bar)
        self._start = -1
        return bar

    def series(self) -> BarSeries:
        """The bars closed so far."""
        columns = np.array(self._bars, dtype=np.int64).reshape(-1, 6).T
        ts, open_, high, low, close, volume = (np.ascontiguousarray(c) for c in columns)
        return BarSeries(self.symbol, Timeframe.M1.value, ts, open_, high, low, close, volume)


def replay_ticks(
    strategy: type[Strategy],
    params: Mapping[str, object] | None,
    ticks: TickSeries,
    config: BacktestConfig | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    *,
    history: BarSeries | None = None,
    audit: bool = True,
) -> BacktestResult:
    """Run `strategy` over recorded ticks, as live (see the module docstring)."""
    run = TickReplay(strategy, params, ticks, config, instruments, history=history, audit=audit)
    return run.run()


class TickReplay:
    """One tick replay. `history`: 1-minute bars before the first tick that `init()` sees as
    warm-up (handlers never run on them). After `run()`, `minute_bars` holds the bars the
    ticks made and `evaluator` the strategy's incremental evaluator."""

    def __init__(
        self,
        strategy: type[Strategy],
        params: Mapping[str, object] | None,
        ticks: TickSeries,
        config: BacktestConfig | None = None,
        instruments: Mapping[str, Instrument] | None = None,
        *,
        history: BarSeries | None = None,
        audit: bool = True,
    ) -> None:
        if strategy.multi_instrument:
            raise BacktestInputError(
                f"{strategy.display_name()} trades several instruments together: tick replay "
                "feeds one instrument's ticks (replay its minute bars instead)"
            )
        config = config or BacktestConfig()
        instrument = (instruments or {}).get(ticks.symbol)
        exchange = instrument.exchange if instrument is not None else config.exchange
        self.ticks = ticks
        self.minute_start = minute_starts(ticks, str(exchange))
        if history is not None:
            if history.symbol != ticks.symbol or history.timeframe != Timeframe.M1.value:
                raise BacktestInputError(
                    f"the warm-up history is {history.symbol} {history.timeframe} bars; tick "
                    f"replay of {ticks.symbol} needs its 1m bars"
                )
            if len(history) and int(history.ts[-1]) >= int(self.minute_start[0]):
                raise BacktestInputError(
                    f"the warm-up history ends at {ist_iso(history.ts[-1])}, not before the "
                    f"first tick's minute ({ist_iso(self.minute_start[0])})"
                )
        price = ticks.price
        # every tick a one-trade bar for the venue: the fill rules stay the bar fill model's
        as_bars = BarSeries(
            ticks.symbol, Timeframe.M1.value, ticks.ts, price, price, price, price, ticks.quantity
        )
        self.parts = BacktestRun(
            strategy, params, [as_bars], config, instruments or {}, StreamingVenue
        )
        self.slot = self.parts.slots[0]
        # the venue counts ticks (an order's placed_bar, where it fills); the strategy's own
        # clock counts the minute bars it has seen
        self.tick_clock = Clock()
        self.slot.clock = self.tick_clock
        self.strategy = self.slot.strategy
        self.history = history
        self.audit = audit
        self.bars = MinuteBars(ticks.symbol)
        self.hears_ticks = type(self.strategy).on_tick is not Strategy.on_tick
        self._day = -1
        self._day_volume = 0
        bins = int(np.count_nonzero(np.diff(self.minute_start))) + 1
        self.evaluator = IncrementalEvaluator(
            self.strategy,
            self.parts.host,
            ticks.symbol,
            history,
            capacity=bins + (len(history) if history is not None else 0),
        )

    @property
    def minute_bars(self) -> BarSeries:
        """The 1-minute bars the ticks made so far (every closed minute)."""
        return self.bars.series()

    def run(self) -> BacktestResult:
        started = time.perf_counter()
        self._start()
        for k in range(len(self.ticks)):
            self._tick(k)
        self._finish()
        return self.parts.result(time.perf_counter() - started)

    async def run_async(self, feed: AsyncIterator[int]) -> BacktestResult:
        """Run on the asyncio loop: `feed` yields the ticks' indices as they arrive, in
        order; the loop stays free between ticks."""
        started = time.perf_counter()
        self._start()
        expected = 0
        async for k in feed:
            if k != expected:
                raise ValueError(f"tick {k} arrived where tick {expected} was due")
            self._tick(k)
            expected += 1
        self._finish()
        return self.parts.result(time.perf_counter() - started)

    # -- one tick ---------------------------------------------------------------------------
    def _tick(self, k: int) -> None:
        ticks = self.ticks
        price, quantity = int(ticks.price[k]), int(ticks.quantity[k])
        closed = self.bars.add(int(self.minute_start[k]), price, quantity)
        if closed is not None:  # the minute before this one has closed: its handlers first
            self._close_minute(closed)
        parts = self.parts
        venue = parts.venue
        assert isinstance(venue, StreamingVenue)
        heap = venue.queue.heap
        deliver = parts.deliver
        venue.open_bar(0, k)
        while heap and (heap[0].bar < k or (heap[0].bar == k and heap[0].phase < Phase.HANDLERS)):
            deliver(heapq.heappop(heap))
        self.tick_clock.index = k
        day = int(self.slot.sessions.day[k])
        if day != self._day:
            self._day, self._day_volume = day, 0
        self._day_volume += quantity
        if self.hears_ticks:
            ts = int(ticks.ts[k])
            tick = Tick(
                ticks.symbol,
                ist_datetime(ts),
                Decimal(price).scaleb(-2),
                volume=self._day_volume,
            )
            try:
                self.strategy.on_tick(tick)
            except Exception as exc:
                raise self._error(exc, f"in on_tick() at tick {k} ({ist_iso(ts)})") from exc
        while heap and heap[0].bar == k:  # expiries and close-priced square-offs
            deliver(heapq.heappop(heap))

    def _close_minute(self, bar: MinuteBar) -> None:
        ts, open_, high, low, close, volume = bar
        evaluator = self.evaluator
        try:
            due = evaluator.push(
                ts,
                paise_to_rupees(open_),
                paise_to_rupees(high),
                paise_to_rupees(low),
                paise_to_rupees(close),
                volume,
            )
            evaluator.fire(due)
        except IncrementalError:
            raise
        except Exception as exc:
            where = f"on {self.ticks.symbol} minute bar {evaluator.size - 1} ({ist_iso(ts)})"
            raise self._error(exc, where) from exc

    def _error(self, exc: Exception, when: str) -> Exception:
        return strategy_error(self.strategy, self.slot, None, exc, when=when)

    # -- start and end ----------------------------------------------------------------------
    def _start(self) -> None:
        try:
            self.evaluator.start()
        except IncrementalError:
            raise
        except Exception as exc:
            raise strategy_error(self.strategy, self.slot, None, exc) from exc
        if self.audit and self.history is not None:
            found = self.evaluator.check_history()
            if found:
                raise LookbackError(found)
        self.parts.start()

    def _finish(self) -> None:
        closed = self.bars.close()
        if closed is not None:  # the feed has ended: so has its last minute
            self._close_minute(closed)
        parts = self.parts
        venue = parts.venue
        assert isinstance(venue, StreamingVenue)
        venue.finish()
        heap = venue.queue.heap
        while heap:
            parts.deliver(heapq.heappop(heap))
        parts.stop()
        if self.audit:
            found = self.evaluator.audit()
            if found:
                raise LookbackError(found)


__all__ = [
    "MinuteBar",
    "MinuteBars",
    "TickDataError",
    "TickReplay",
    "TickSeries",
    "minute_starts",
    "replay_ticks",
]
