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

Within one bar, in the backtester's order: fills and square-offs at the open and inside the
bar, then the bar closes and is pushed, handlers run in registration order (instrument by
instrument, `on_bar` last), then expiries and close-priced square-offs.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping, Sequence

from engine.backtest.config import BacktestConfig
from engine.backtest.event_queue import Phase
from engine.backtest.result import BacktestResult
from engine.backtest.runner import BacktestInputError, BacktestRun, strategy_error
from engine.data.bar_series import BarSeries
from engine.domain.instrument import Instrument
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
    first live bar (handlers never run on them); 0 starts from an empty history.
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
    ) -> None:
        data = [series] if isinstance(series, BarSeries) else list(series)
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise BacktestInputError(f"warmup must be a whole number of bars >= 0, got {warmup!r}")
        self.parts = BacktestRun(
            strategy, params, data, config or BacktestConfig(), instruments or {}
        )
        self.warmup = warmup
        self.audit = audit
        self.capacity = capacity
        self.evaluators: list[IncrementalEvaluator] = []

    def run(self) -> BacktestResult:
        started = time.perf_counter()
        self.loop()
        return self.parts.result(time.perf_counter() - started)

    def loop(self) -> None:
        parts = self.parts
        self._start_strategies()
        heap = parts.venue.queue.heap
        pop = heapq.heappop
        deliver = parts.deliver  # fills and order updates reach on_fill / on_order through it
        slots = parts.slots
        evaluators = self.evaluators
        handlers_phase = Phase.HANDLERS
        next_local = [0] * len(slots)  # each instrument's next bar
        for g in range(len(parts.timeline)):
            # fills, square-offs and expiries before this bar's close
            while heap and (
                heap[0].bar < g or (heap[0].bar == g and heap[0].phase < handlers_phase)
            ):
                deliver(pop(heap))
            for s, slot in enumerate(slots):
                i = next_local[s]
                if i > slot.last or int(slot.gidx[i]) != g:
                    continue  # this instrument has no bar at g
                next_local[s] = i + 1
                if i < self.warmup:
                    continue  # history, already seen by init()
                evaluator = evaluators[s]
                try:
                    due = evaluator.push(
                        int(slot.ts[i]),
                        int(slot.open[i]) / 100.0,
                        int(slot.high[i]) / 100.0,
                        int(slot.low[i]) / 100.0,
                        int(slot.close[i]) / 100.0,
                        int(slot.volume[i]),
                    )
                    evaluator.fire(due)
                except IncrementalError:
                    raise
                except Exception as exc:
                    raise strategy_error(slot.strategy, slot, i, exc) from exc
            while heap and heap[0].bar == g:  # expiries and close-priced square-offs
                deliver(pop(heap))
        while heap:
            deliver(pop(heap))
        parts.cancel_unfilled()
        if self.audit:
            found = [m for evaluator in evaluators for m in evaluator.audit()]
            if found:
                raise LookbackError(found)

    def _start_strategies(self) -> None:
        for slot in self.parts.slots:
            history = slot.series.slice(0, min(self.warmup, len(slot.series)))
            evaluator = IncrementalEvaluator(
                slot.strategy,
                self.parts.host,
                slot.symbol,
                history,
                capacity=self.capacity or len(slot.series),
            )
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
