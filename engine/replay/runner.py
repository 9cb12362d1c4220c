"""Replay: historical bars fed to a strategy one at a time through the live (incremental) path.

The backtester computes a strategy's indicators and conditions once over the whole history.
Live, the same class receives one bar at a time. Replay runs the live path on recorded bars:
each bar is appended to the strategy's arrays, every indicator is extended by one value from
the trailing window it needs, every condition is evaluated at that bar only
(engine/strategy/incremental.py), and the handlers that are due are called. Order entry, fills,
costs, margin and the result are the backtester's own (a replay drives the same run: its
execution host, portfolio and simulated venue), so for a correct strategy replay and backtest
agree on every order and every trade; a difference means the strategy's indicators are not
what live trading would compute (too short a lookback, or look-ahead), which `audit` names.

No look-ahead by construction: the strategy's arrays hold only the bars pushed so far, so even
`Series.full()` cannot show a later bar, and reading past the clock raises LookAheadError. The
exchange side (the simulated venue) knows the whole series, as the market knows its own future: it
releases a fill at bar j only when the replay reaches bar j, before that bar is shown to the
strategy (a fill at the open of j is heard with the clock at j-1, as it would be live). An
order placed from on_fill is therefore active from bar j; for a fill INSIDE bar j the bar's
range cannot say what traded first, so a response order filling in that same bar is the
optimistic reading (the backtester, by contrast, searches such orders from the last handler
bar + 1, which can fill them before the fill that caused them: see tests/engine/test_replay.py).

A multi-instrument strategy (engine/backtest/universe.py) is one evaluator over all its
instruments, pushed one step of the merged timeline at a time: each instrument's row is its
bar at that step, or its last bar carried forward (`step_row`, the alignment's own rule).

Within one bar, in the backtester's order: fills and square-offs at the open and inside the
bar, then the bar closes and is pushed, handlers run in registration order (instrument by
instrument, `on_bar` last), then expiries and close-priced square-offs.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator, Mapping, Sequence

from engine.backtest.config import BacktestConfig
from engine.backtest.event_queue import Phase
from engine.backtest.result import BacktestResult
from engine.backtest.runner import BacktestInputError, BacktestRun, strategy_error
from engine.backtest.slots import Slot
from engine.backtest.streaming_venue import StreamingVenue
from engine.backtest.universe import aligned_arrays, step_row
from engine.backtest.venue import SimulatedVenue
from engine.data.bar_series import BarSeries
from engine.domain.instrument import Instrument
from engine.domain.money import paise_to_rupees
from engine.strategy.base import Strategy
from engine.strategy.derived import IncrementalError, LookbackError
from engine.strategy.incremental import IncrementalEvaluator


def replay_bars(
    strategy: type[Strategy],
    params: Mapping[str, object] | None,
    series: BarSeries | Sequence[BarSeries],
    config: BacktestConfig | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    *,
    warmup: int = 0,
    audit: bool = True,
) -> BacktestResult:
    """Run `strategy` over `series` bar by bar, as live; the result is a BacktestResult.

    warmup: the first `warmup` bars of each series are history `init()` sees before the
    first live bar (handlers never run on them); 0 starts from an empty history. For a
    multi-instrument strategy, the first `warmup` steps of the merged timeline.
    audit: check every indicator against its whole-array value, on the warm-up history
    before the first bar and over everything after the last; raises LookbackError naming the
    first indicator and bar that differ.
    """
    return Replay(strategy, params, series, config, instruments, warmup=warmup, audit=audit).run()


class Replay:
    """One replay run: a backtest run's parts driven bar by bar. After `run()`, `evaluators`
    holds each instrument's evaluator (and through it the strategy instance and its
    indicators) for inspection."""

    def __init__(
        self,
        strategy: type[Strategy],
        params: Mapping[str, object] | None,
        series: BarSeries | Sequence[BarSeries],
        config: BacktestConfig | None = None,
        instruments: Mapping[str, Instrument] | None = None,
        *,
        warmup: int = 0,
        audit: bool = True,
        capacity: int | None = None,
        streaming: bool = False,
    ) -> None:
        data = [series] if isinstance(series, BarSeries) else list(series)
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise BacktestInputError(f"warmup must be a whole number of bars >= 0, got {warmup!r}")
        self.parts = BacktestRun(
            strategy,
            params,
            data,
            config or BacktestConfig(),
            instruments or {},
            StreamingVenue if streaming else SimulatedVenue,
        )
        self.warmup = warmup
        self.audit = audit
        self.capacity = capacity
        self.evaluators: list[IncrementalEvaluator] = []
        self.multi = strategy.multi_instrument

    def run(self) -> BacktestResult:
        started = time.perf_counter()
        self.loop()
        return self.parts.result(time.perf_counter() - started)

    def loop(self) -> None:
        self._start_strategies()
        self.parts.start()
        next_local = [0] * len(self.parts.slots)  # each instrument's next bar
        for g in range(len(self.parts.timeline)):
            self._bar(g, next_local)
        self._finish()

    async def run_async(self, feed: AsyncIterator[int]) -> BacktestResult:
        """Run on the asyncio loop as a live session does: `feed` yields the bars of the
        merged timeline as they arrive (their global index, in order); the loop stays free
        between bars."""
        started = time.perf_counter()
        self._start_strategies()
        self.parts.start()
        next_local = [0] * len(self.parts.slots)
        expected = 0
        async for g in feed:
            if g != expected:
                raise ValueError(f"bar {g} arrived where bar {expected} was due")
            self._bar(g, next_local)
            expected += 1
        self._finish()
        return self.parts.result(time.perf_counter() - started)

    def _bar(self, g: int, next_local: list[int]) -> None:
        """Everything that happens on bar g of the merged timeline, in the backtest's order."""
        parts = self.parts
        venue = parts.venue
        heap = venue.queue.heap
        deliver = parts.deliver  # fills and order updates reach on_fill / on_order through it
        arriving: list[tuple[int, Slot, int]] = []
        for s, slot in enumerate(parts.slots):
            i = next_local[s]
            if i <= slot.last and int(slot.gidx[i]) == g:
                next_local[s] = i + 1
                arriving.append((s, slot, i))
                if isinstance(venue, StreamingVenue):
                    venue.open_bar(s, i)
        # fills, square-offs and expiries before this bar's close
        while heap and (heap[0].bar < g or (heap[0].bar == g and heap[0].phase < Phase.HANDLERS)):
            deliver(heapq.heappop(heap))
        if self.multi:
            self._step(g, next_local, arriving)
        else:
            self._bars(arriving)
        while heap and heap[0].bar == g:  # expiries and close-priced square-offs
            deliver(heapq.heappop(heap))

    def _bars(self, arriving: list[tuple[int, Slot, int]]) -> None:
        """One instance per instrument: each arriving bar goes to its instrument's strategy."""
        for s, slot, i in arriving:
            if i < self.warmup:
                continue  # history, already seen by init()
            evaluator = self.evaluators[s]
            try:
                due = evaluator.push(
                    int(slot.ts[i]),
                    paise_to_rupees(int(slot.open[i])),
                    paise_to_rupees(int(slot.high[i])),
                    paise_to_rupees(int(slot.low[i])),
                    paise_to_rupees(int(slot.close[i])),
                    int(slot.volume[i]),
                )
                evaluator.fire(due)
            except IncrementalError:
                raise
            except Exception as exc:
                raise strategy_error(slot.strategy, slot, i, exc) from exc

    def _step(self, g: int, next_local: list[int], arriving: list[tuple[int, Slot, int]]) -> None:
        """A multi-instrument strategy: step g of the merged timeline, every instrument's row
        (its bar if it has one now, else its last bar carried forward) in one push."""
        if g < self.warmup:
            return  # history, already seen by init()
        parts = self.parts
        here = {s for s, _, _ in arriving}
        rows = [
            step_row(
                (slot.open, slot.high, slot.low, slot.close),
                slot.volume,
                next_local[s] - 1,
                s in here,
            )
            for s, slot in enumerate(parts.slots)
        ]
        evaluator = self.evaluators[0]
        try:
            evaluator.fire(evaluator.push_step(int(parts.timeline[g]), rows))
        except IncrementalError:
            raise
        except Exception as exc:
            slot = parts.slots[0]
            raise strategy_error(slot.strategy, slot, g, exc, on_timeline=True) from exc

    def _finish(self) -> None:
        parts = self.parts
        if isinstance(parts.venue, StreamingVenue):
            parts.venue.finish()
        heap = parts.venue.queue.heap
        while heap:
            parts.deliver(heapq.heappop(heap))
        parts.stop()
        if self.audit:
            found = [m for evaluator in self.evaluators for m in evaluator.audit()]
            if found:
                raise LookbackError(found)

    def _start_strategies(self) -> None:
        if self.multi:
            self._start_universe()
            return
        for slot in self.parts.slots:
            history = slot.series.slice(0, min(self.warmup, len(slot.series)))
            evaluator = IncrementalEvaluator(
                slot.strategy,
                self.parts.host,
                slot.symbol,
                history,
                capacity=self.capacity or len(slot.series),
            )
            self._start(evaluator, slot)

    def _start_universe(self) -> None:
        """One evaluator for the strategy over every instrument, on the merged timeline; the
        warm-up is the timeline's first `warmup` steps."""
        parts = self.parts
        head = parts.timeline[: min(self.warmup, len(parts.timeline))]
        histories = {
            slot.symbol: aligned_arrays(
                slot.ts, (slot.open, slot.high, slot.low, slot.close), slot.volume, head
            )
            for slot in parts.slots
        }
        first = parts.slots[0]
        evaluator = IncrementalEvaluator.universe(
            first.strategy,
            parts.host,
            histories,
            capacity=self.capacity or len(parts.timeline),
        )
        self._start(evaluator, first)

    def _start(self, evaluator: IncrementalEvaluator, slot: Slot) -> None:
        try:
            evaluator.start()
        except IncrementalError:
            raise
        except Exception as exc:
            raise strategy_error(slot.strategy, slot, None, exc) from exc
        if self.audit:
            found = evaluator.check_history()
            if found:
                raise LookbackError(found)
        self.evaluators.append(evaluator)
