"""Running a strategy over bars: set-up, the event loop, and the host strategies talk to."""

from __future__ import annotations

import heapq
import linecache
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.backtest.config import BacktestConfig
from engine.backtest.config import BacktestInputError as BacktestInputError
from engine.backtest.curve import build_result
from engine.backtest.event_queue import EventKind, Phase, SimEvent
from engine.backtest.result import BacktestResult
from engine.backtest.sessions import SessionIndex
from engine.backtest.slots import Slot, default_instrument
from engine.backtest.universe import InstrumentClock, aligned_data, merged_timeline
from engine.backtest.venue import SimulatedVenue
from engine.backtest.venue_rules import cost_model_for
from engine.data.bar_series import BarSeries, ist_iso
from engine.domain.instrument import Instrument
from engine.execution.host import ExecutionHost, HostSettings
from engine.execution.portfolio import Portfolio
from engine.heap import collector_paused
from engine.jobs import JobCancelledError
from engine.strategy.base import BarData, Handler, Strategy, StrategyState
from engine.strategy.series import whole

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""`progress(bars_done, bars_total)`: how far a run is along its timeline."""
Cancelled = Callable[[], bool]
"""`cancelled()`: True once whoever started the run wants it stopped."""

CHECK_EVERY = 1024
"""The most loop steps (handler calls) between two progress reports and cancel checks: rarely
enough to cost nothing per bar (one integer compare a step). A slow strategy is checked sooner
(see `next_check_interval`)."""
CHECK_SECONDS = 0.05
"""The longest a run goes between two checks when its handler calls are slow: a strategy
spending a millisecond a bar would otherwise hear a cancel a second late."""
FIRST_CHECK = 16
"""Loop steps to the first check after the start, before the pace of the calls is known."""


def next_check_interval(steps: int, seconds: float) -> int:
    """Loop steps until the next check, given that the last `steps` took `seconds`: as many
    as fit in CHECK_SECONDS at that pace, at least 1 and at most CHECK_EVERY."""
    if seconds <= 0:
        return CHECK_EVERY
    return max(1, min(CHECK_EVERY, int(steps * CHECK_SECONDS / seconds)))


class StrategyRuntimeError(RuntimeError):
    """The strategy raised; the message names the strategy, the bar and the author's line."""


def run_backtest(
    strategy: type[Strategy],
    params: Mapping[str, object] | None,
    data: Sequence[BarSeries],
    config: BacktestConfig | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> BacktestResult:
    """One strategy instance per instrument, all sharing one account; results are exact.

    `progress(done, total)` hears the bars of the timeline done every few thousand loop
    steps (and total of total once the loop is over); when `cancelled()` turns True the run
    stops at the next such check with JobCancelledError (nothing half-built is returned)."""
    started = time.perf_counter()
    run = BacktestRun(strategy, params, data, config or BacktestConfig(), instruments or {})
    # The run allocates many small acyclic records; the cyclic collector scanning them over
    # and over cost ~15% of the run. Collection resumes (and catches up) right after.
    with collector_paused():
        run.loop(progress, cancelled)
    if cancelled is not None and cancelled():
        raise JobCancelledError("the backtest was cancelled")
    return run.result(time.perf_counter() - started)


class BacktestRun:
    """One run: the instruments' slots, the execution host strategies talk to (orders,
    portfolio, checks, bracket emulation) and the simulated venue, and the loop that drives
    them over the bars. Replay (engine/replay/runner.py) drives the same parts bar by bar.

    Every strategy callback fails the same way, as StrategyRuntimeError (`strategy_error`):
    `init` and the handlers where each loop calls them, `on_fill`/`on_order` in `deliver`
    (queued events) and `cancel_unfilled` (the end of the data), which both loops use.
    """

    def __init__(
        self,
        strategy_cls: type[Strategy],
        params: Mapping[str, object] | None,
        data: Sequence[BarSeries],
        config: BacktestConfig,
        instruments: Mapping[str, Instrument],
        venue_class: type[SimulatedVenue] = SimulatedVenue,
    ) -> None:
        if not data or any(len(s) == 0 for s in data):
            raise BacktestInputError("no bars to run on")
        symbols = [s.symbol for s in data]
        if len(set(symbols)) != len(symbols):
            raise BacktestInputError(f"a symbol appears twice in the data: {symbols}")
        # the strategy's declared costs and slippage, where the config leaves the default
        config = config.for_strategy(getattr(strategy_cls, "trading_costs", None))
        self.config = config
        self.strategy_cls = strategy_cls
        self.timeline: npt.NDArray[np.int64] = (
            data[0].ts if len(data) == 1 else merged_timeline([s.ts for s in data])
        )
        self.slots: list[Slot] = []
        # a multi-instrument strategy is one instance over every instrument (universe.py)
        shared = strategy_cls(params) if strategy_cls.multi_instrument else None
        # instruments with a bar at every step (the usual pair) share one position array and
        # one session table per exchange: on a million steps each copy is 8-16 MB
        every_step = np.arange(len(self.timeline), dtype=np.int64)
        shared_sessions: dict[str, SessionIndex] = {}
        for index, series in enumerate(data):
            strategy = shared or strategy_cls(params)
            instrument = instruments.get(series.symbol) or default_instrument(
                series.symbol, config.exchange
            )
            on_every_step = len(series) == len(self.timeline)  # the union: same stamps
            exchange = str(instrument.exchange)
            if on_every_step and exchange in shared_sessions:
                sessions = shared_sessions[exchange]
            else:
                sessions = SessionIndex(series.ts, instrument.exchange, config.squareoff_lead)
                if on_every_step:
                    shared_sessions[exchange] = sessions
            slot = Slot(index, series, instrument, strategy, sessions)
            slot.gidx = (
                every_step
                if on_every_step
                else np.searchsorted(self.timeline, series.ts).astype(np.int64)
            )
            if shared is not None:
                slot.clock = InstrumentClock(shared._clock, slot.ts, slot.gidx, self.timeline)
            self.slots.append(slot)
        self.params = self.slots[0].strategy.params
        self.portfolio = Portfolio(int(config.capital * 100), cost_model_for(config))
        self.host = ExecutionHost(
            [slot.rules for slot in self.slots],
            [slot.strategy for slot in self.slots],
            self.portfolio,
            HostSettings(config.product, config.margin if config.check_margin else None),
        )
        self.venue = venue_class(self.slots, config, self.host)
        self.host.connect(self.venue)

    def result(self, seconds: float) -> BacktestResult:
        return build_result(
            self.slots,
            self.host,
            self.config,
            self.timeline,
            self.strategy_cls,
            self.params,
            seconds,
        )

    # -- the lifecycle ----------------------------------------------------------------------
    def strategies(self) -> list[tuple[Strategy, Slot]]:
        """Each strategy instance once, with the (first) instrument it trades."""
        seen: dict[int, tuple[Strategy, Slot]] = {}
        for slot in self.slots:
            seen.setdefault(id(slot.strategy), (slot.strategy, slot))
        return list(seen.values())

    def start(self) -> None:
        """on_start for each strategy, before the first bar (its clock before the first bar)."""
        for strategy, slot in self.strategies():
            strategy._clock.index = -1
            strategy._enter_state(StrategyState.RUNNING)
            try:
                strategy.on_start()
            except Exception as exc:
                raise strategy_error(strategy, slot, None, exc, when="in on_start()") from exc

    def stop(self) -> None:
        """The data has ended: open orders are cancelled, then each strategy hears on_stop
        (anything it places there is cancelled too: no bar is left to fill it)."""
        self.cancel_unfilled()
        for strategy, slot in self.strategies():
            strategy._clock.index = strategy.data.size - 1  # every bar has been seen
            try:
                strategy.on_stop()
            except Exception as exc:
                raise strategy_error(strategy, slot, None, exc, when="in on_stop()") from exc
            finally:
                strategy._enter_state(StrategyState.STOPPED)
        self.cancel_unfilled()

    # -- the loop ---------------------------------------------------------------------------
    def loop(self, progress: Progress | None = None, cancelled: Cancelled | None = None) -> None:
        """Drive the strategies over the bars. With `progress`/`cancelled` given, checks
        report the bar reached and honour a cancel (raising JobCancelledError) every
        CHECK_EVERY handler calls, or every CHECK_SECONDS when the calls are slow; without
        them the check is one integer compare that never passes."""
        bars_total = len(self.timeline)
        watched = progress is not None or cancelled is not None

        def checkpoint(bar: int) -> None:
            if cancelled is not None and cancelled():
                raise JobCancelledError("the backtest was cancelled")
            if progress is not None:
                progress(bar, bars_total)

        if watched:
            checkpoint(0)  # a cancel before the run (a queued job) costs no init()
        g_arr, slot_arr, local_arr, handlers = self._conditions()
        # Python lists: one entry per handler call (not per bar), read a few times per call;
        # a numpy scalar read costs ~100 ns, a list item ~10 ns
        g_idx, slot_idx, local_idx = g_arr.tolist(), slot_arr.tolist(), local_arr.tolist()
        if watched:
            checkpoint(0)  # init() computed the indicators: a long step on big data
        self.start()
        heap = self.venue.queue.heap
        handlers_phase = Phase.HANDLERS
        pop = heapq.heappop
        deliver = self.deliver
        slots = self.slots
        total = len(g_idx)
        k = 0
        end = int(np.iinfo(np.int64).max)
        # past `total`, never reached, when nobody watches; else paced by the calls' speed
        every = FIRST_CHECK
        next_check = every if watched else total + 1
        checked_at, checked_k = time.perf_counter(), 0
        while k < total or heap:
            g = g_idx[k] if k < total else end
            if k >= next_check:
                now = time.perf_counter()
                every = next_check_interval(k - checked_k, now - checked_at)
                checked_at, checked_k = now, k
                next_check = k + every
                checkpoint(min(g, bars_total))
            if heap and (heap[0].bar < g or (heap[0].bar == g and heap[0].phase < handlers_phase)):
                deliver(pop(heap))  # fills, square-offs and expiries up to this close
                continue
            # strategy handlers at the close of bar g, in registration order
            while k < total and g_idx[k] == g:
                slot = slots[slot_idx[k]]
                i = local_idx[k]
                strategy = slot.strategy
                strategy._clock.index = i
                handler = handlers[k]
                try:
                    handler(strategy.data.bar(i))
                except Exception as exc:
                    raise strategy_error(strategy, slot, i, exc, on_timeline=True) from exc
                k += 1
            while heap and heap[0].bar == g:  # expiries and close-priced square-offs
                deliver(pop(heap))
        self.stop()
        if watched:
            checkpoint(bars_total)

    # -- where on_fill and on_order run ------------------------------------------------------
    def deliver(self, event: SimEvent) -> None:
        """Process one queued event (a fill, an expiry, a square-off) on its bar. The
        strategy hears of it in on_fill / on_order: an exception raised there becomes
        StrategyRuntimeError naming that bar, as from a handler."""
        try:
            self.venue.handle(event)
        except Exception as exc:
            if not _raised_in_strategy_code(exc):
                raise  # the engine's own fault: not the strategy's to answer for
            instrument = (
                event.target if event.kind is EventKind.SQUARE_OFF else event.target.instrument
            )
            slot = self.slots[instrument]
            raise strategy_error(slot.strategy, slot, event.local_bar, exc) from exc

    def cancel_unfilled(self) -> None:
        """The data has ended: orders still open are cancelled (on_order hears it, on each
        instrument's last bar)."""
        for slot in self.slots:
            try:
                self.host.cancel_open(slot.index, "data ended before it filled")
            except Exception as exc:
                if not _raised_in_strategy_code(exc):
                    raise
                raise strategy_error(slot.strategy, slot, slot.last, exc) from exc

    def _aligned(self, strategy: Strategy) -> dict[str, BarData]:
        return {
            slot.symbol: aligned_data(
                slot.symbol,
                strategy._clock,
                slot.ts,
                (slot.open, slot.high, slot.low, slot.close),
                slot.volume,
                self.timeline,
            )
            for slot in self.slots
        }

    def _conditions(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], list[Handler]]:
        """Every (bar, handler) pair the strategies asked for, merged in time order."""
        parts_g, parts_slot, parts_local, parts_rank, handlers = [], [], [], [], []
        rank = 0
        multi = self.strategy_cls.multi_instrument
        for slot in self.slots[:1] if multi else self.slots:
            strategy = slot.strategy
            if multi:  # one instance: its bars, conditions and clock on the merged timeline
                strategy._attach_universe(self.host, self._aligned(strategy))
            else:
                strategy._attach(self.host, slot.bar_data())
            try:
                strategy.init()
            except Exception as exc:
                raise strategy_error(strategy, slot, None, exc) from exc
            conditions = list(strategy._conditions)
            if strategy._wants_every_bar:
                conditions.append((np.ones(strategy.data.size, dtype=bool), strategy.on_bar))
            for mask, handler in conditions:
                local = np.flatnonzero(mask)
                parts_g.append(local if multi else slot.gidx[local])
                parts_slot.append(np.full(local.size, slot.index, np.int64))
                parts_local.append(local.astype(np.int64))
                parts_rank.append(np.full(local.size, rank, np.int64))
                handlers.append((handler, local.size))
                rank += 1
        if not parts_g:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, []
        g = np.concatenate(parts_g)
        ranks = np.concatenate(parts_rank)
        order = np.lexsort((ranks, g))
        by_rank = [h for h, _ in handlers]
        ordered_handlers: list[Handler] = [by_rank[r] for r in ranks[order].tolist()]
        return (
            g[order],
            np.concatenate(parts_slot)[order],
            np.concatenate(parts_local)[order],
            ordered_handlers,
        )


_ENGINE_DIR = Path(__file__).resolve().parents[1]


def _is_engine_file(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(_ENGINE_DIR)
    except OSError:
        return False


def _raised_in_strategy_code(exc: BaseException) -> bool:
    """Whether the exception passed through code outside the engine (the strategy's)."""
    tb = exc.__traceback__
    while tb is not None:
        if not _is_engine_file(tb.tb_frame.f_code.co_filename):
            return True
        tb = tb.tb_next
    return False


def strategy_error(
    strategy: Strategy,
    slot: Slot,
    bar: int | None,
    exc: Exception,
    *,
    on_timeline: bool = False,
    when: str = "in init()",
) -> StrategyRuntimeError:
    """Name the strategy, the bar and the deepest line of the author's code that raised.

    Every runner reports a strategy's exception through this: raise the result `from exc`.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not _is_engine_file(f.filename)]
    where = own[-1] if own else (frames[-1] if frames else None)
    location = ""
    if where is not None:
        code = (where.line or linecache.getline(where.filename, where.lineno or 0)).strip()
        location = f" at {where.filename}:{where.lineno} ({code})"
    if bar is None:
        pass  # `when` says which call: init(), on_start(), on_stop()
    elif on_timeline and strategy.multi_instrument:  # a handler of a multi-instrument strategy
        when = f"at step {bar} of the merged timeline ({ist_iso(whole(strategy.data.ts)[bar])})"
    else:
        when = f"on {slot.symbol} bar {bar} ({ist_iso(slot.ts[bar])})"
    return StrategyRuntimeError(
        f"strategy {strategy.display_name()} raised {type(exc).__name__}: {exc} {when}{location}"
    )
