"""Running a strategy over bars: set-up, the event loop, and the host strategies talk to."""

from __future__ import annotations

import gc
import heapq
import linecache
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.backtest.book import GTC
from engine.backtest.config import BacktestConfig, FillTiming
from engine.backtest.config import BacktestInputError as BacktestInputError
from engine.backtest.curve import build_result
from engine.backtest.ledger import Ledger
from engine.backtest.orders import (
    OrderRejected,
    check_account,
    check_quantity,
    new_order,
    prices,
)
from engine.backtest.result import BacktestResult
from engine.backtest.sessions import SessionIndex
from engine.backtest.simulator import SQUARE, Simulator
from engine.backtest.slots import Slot, default_instrument
from engine.costs import CostModel, make_cost_model
from engine.data.bar_series import BarSeries, ist_iso
from engine.domain.enums import OrderType
from engine.domain.instrument import Instrument
from engine.domain.orders import OrderStatus
from engine.strategy.base import Handler, Strategy
from engine.strategy.requests import OrderRequest

log = logging.getLogger(__name__)
MAX_REJECTIONS_KEPT = 20
# a queued simulator event, as Simulator.heap holds it: (global bar, phase, priority,
# sequence, kind, order or slot, version, bar of its instrument, extra)
Event = tuple[int, int, int, int, int, Any, int, int, int]


class StrategyRuntimeError(RuntimeError):
    """The strategy raised; the message names the strategy, the bar and the author's line."""


def run_backtest(
    strategy: type[Strategy],
    params: Mapping[str, object] | None,
    data: Sequence[BarSeries],
    config: BacktestConfig | None = None,
    instruments: Mapping[str, Instrument] | None = None,
) -> BacktestResult:
    """One strategy instance per instrument, all sharing one account; results are exact."""
    started = time.perf_counter()
    run = BacktestRun(strategy, params, data, config or BacktestConfig(), instruments or {})
    # The run allocates many small acyclic records; the cyclic collector scanning them over
    # and over cost ~15% of the run. Collection resumes (and catches up) right after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        run.loop()
    finally:
        if collecting:
            gc.enable()
    return build_result(
        run.slots,
        run.sim,
        run.ledger,
        run.config,
        run.timeline,
        strategy,
        run.params,
        time.perf_counter() - started,
    )


class BacktestRun:
    """Also the StrategyHost: strategies call submit/cancel/position_* on it. Replay
    (engine/replay/runner.py) extends it with its own bar-by-bar loop.

    Every strategy callback fails the same way, as StrategyRuntimeError (`strategy_error`):
    `init` and the handlers where each loop calls them, `on_fill`/`on_order` here, in
    `deliver` (queued events) and `cancel_unfilled` (the end of the data), which both loops
    use.
    """

    def __init__(
        self,
        strategy_cls: type[Strategy],
        params: Mapping[str, object] | None,
        data: Sequence[BarSeries],
        config: BacktestConfig,
        instruments: Mapping[str, Instrument],
    ) -> None:
        if not data or any(len(s) == 0 for s in data):
            raise BacktestInputError("no bars to run on")
        symbols = [s.symbol for s in data]
        if len(set(symbols)) != len(symbols):
            raise BacktestInputError(f"a symbol appears twice in the data: {symbols}")
        self.config = config
        self.strategy_cls = strategy_cls
        self.timeline: npt.NDArray[np.int64] = (
            data[0].ts if len(data) == 1 else np.unique(np.concatenate([s.ts for s in data]))
        )
        self.slots: list[Slot] = []
        for index, series in enumerate(data):
            strategy = strategy_cls(params)
            instrument = instruments.get(series.symbol) or default_instrument(
                series.symbol, config.exchange
            )
            sessions = SessionIndex(series.ts, instrument.exchange, config.squareoff_lead)
            slot = Slot(index, series, instrument, strategy, sessions)
            slot.gidx = (
                np.arange(len(series), dtype=np.int64)
                if len(data) == 1
                else np.searchsorted(self.timeline, series.ts).astype(np.int64)
            )
            self.slots.append(slot)
        self.params = self.slots[0].strategy.params
        self.by_symbol = {slot.symbol: slot for slot in self.slots}
        self.ledger = Ledger(int(config.capital * 100), _cost_model(config))
        self.sim = Simulator(self.slots, config, self.ledger)
        self.sim.on_rejection = self._keep_rejection

    # -- StrategyHost -----------------------------------------------------------------------
    def submit(self, request: OrderRequest) -> str:
        slot = self.by_symbol[request.symbol]
        bar = slot.strategy._clock.index
        event = self.sim.event_bar
        if event is not None and event[0] == slot.index:
            bar = max(bar, event[1])  # placed while bar j trades: it can act from j + 1
        order_id = self.sim.next_id()
        try:
            quantity = check_quantity(slot, request.quantity)
            product = request.product or self.config.product
            limit, trigger, bracket = prices(slot, request, int(slot.close[bar]))
            estimate = limit or trigger or int(slot.close[bar])
            check_account(
                slot,
                self.ledger,
                self.config,
                request.side,
                product,
                quantity,
                estimate,
                self.by_symbol,
                self._marks,
            )
        except (OrderRejected, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, OrderRejected) else str(exc)
            self._reject(slot, request, order_id, message, bar)
            return order_id
        chunk = (slot.freeze // slot.lot) * slot.lot if slot.freeze else quantity
        if chunk <= 0:
            self._reject(
                slot,
                request,
                order_id,
                f"freeze quantity {slot.freeze} is smaller than a lot ({slot.lot})",
                bar,
            )
            return order_id
        first = True
        for offset in range(0, quantity, chunk):  # exchange freeze limit: slice the order
            part = min(chunk, quantity - offset)
            oid = order_id if first else self.sim.next_id()
            first = False
            close_fill = (
                self.config.fill is FillTiming.CLOSE and request.order_type is OrderType.MARKET
            )
            order = new_order(
                oid,
                slot,
                request,
                part,
                product,
                limit,
                trigger,
                bracket,
                bar,
                bar if close_fill else bar + 1,
            )
            self.sim.orders[oid] = order
            self.sim.set_status(order, OrderStatus.OPEN)
            if close_fill:
                self.sim.fill(order, bar, int(slot.close[bar]), at_open=False)
            else:
                self.sim.schedule(order, bar + 1)
        return order_id

    def _keep_rejection(self, text: str) -> None:
        """A rejection the simulator found (a bracket exit past its entry's fill)."""
        if len(self.sim.rejections) < MAX_REJECTIONS_KEPT:
            self.sim.rejections.append(text)
        log.debug("%s", text)

    def _marks(self) -> dict[str, int]:
        """Each symbol's close at its current bar, in paise."""
        return {s.symbol: int(s.close[max(s.strategy._clock.index, 0)]) for s in self.slots}

    def cancel(self, order_id: str) -> None:
        order = self.sim.orders.get(order_id)
        if order is not None and order.is_open:
            self.sim.finish(order, OrderStatus.CANCELLED, "cancelled by strategy")

    def position_quantity(self, symbol: str) -> int:
        return self.ledger.quantity(symbol)

    def position_average_price(self, symbol: str) -> Decimal:
        books = [b for (s, _), b in self.ledger.positions.items() if s == symbol and b.quantity]
        return books[0].average_price() if len(books) == 1 else Decimal(0)

    def open_order_ids(self, symbol: str) -> list[str]:
        return list(self.sim.open_orders[self.by_symbol[symbol].index])

    def _reject(
        self, slot: Slot, request: OrderRequest, order_id: str, message: str, bar: int
    ) -> None:
        text = f"{slot.symbol} bar {bar}: {request.side} {request.quantity} rejected: {message}"
        if len(self.sim.rejections) < MAX_REJECTIONS_KEPT:
            self.sim.rejections.append(text)
        log.debug("%s", text)
        order = new_order(
            order_id,
            slot,
            request,
            max(int(request.quantity), 1) if isinstance(request.quantity, int) else 1,
            request.product or self.config.product,
            None,
            None,
            None,
            bar,
            GTC,
        )
        self.sim.orders[order_id] = order
        self.sim.set_status(order, OrderStatus.REJECTED, message)

    # -- the loop ---------------------------------------------------------------------------
    def loop(self) -> None:
        g_idx, slot_idx, local_idx, handlers = self._conditions()
        heap = self.sim.heap
        pop = heapq.heappop
        deliver = self.deliver
        slots = self.slots
        total = len(g_idx)
        k = 0
        end = np.iinfo(np.int64).max
        while k < total or heap:
            g = int(g_idx[k]) if k < total else end
            if heap and (heap[0][0] < g or (heap[0][0] == g and heap[0][1] < 3)):
                deliver(pop(heap))  # fills, square-offs and expiries up to this close
                continue
            # strategy handlers at the close of bar g, in registration order
            while k < total and g_idx[k] == g:
                slot = slots[slot_idx[k]]
                i = int(local_idx[k])
                strategy = slot.strategy
                strategy._clock.index = i
                handler = handlers[k]
                try:
                    handler(strategy.data.bar(i))
                except Exception as exc:
                    raise strategy_error(strategy, slot, i, exc) from exc
                k += 1
            while heap and heap[0][0] == g:  # expiries and close-priced square-offs
                deliver(pop(heap))
        self.cancel_unfilled()

    # -- where on_fill and on_order run ------------------------------------------------------
    def deliver(self, event: Event) -> None:
        """Process one queued event (a fill, an expiry, a square-off) on its bar. The
        strategy hears of it in on_fill / on_order: an exception raised there becomes
        StrategyRuntimeError naming that bar, as from a handler."""
        kind, obj, j = event[4], event[5], event[7]
        try:
            self.sim.handle(kind, obj, event[6], j, event[8])
        except Exception as exc:
            if not _raised_in_strategy_code(exc):
                raise  # the engine's own fault: not the strategy's to answer for
            slot = self.slots[obj.index if kind == SQUARE else obj.slot]
            raise strategy_error(slot.strategy, slot, j, exc) from exc

    def cancel_unfilled(self) -> None:
        """The data has ended: orders still open are cancelled (on_order hears it, on each
        instrument's last bar)."""
        for slot, still_open in zip(self.slots, self.sim.open_orders, strict=True):
            for order in list(still_open.values()):
                try:
                    self.sim.finish(order, OrderStatus.CANCELLED, "data ended before it filled")
                except Exception as exc:
                    if not _raised_in_strategy_code(exc):
                        raise
                    raise strategy_error(slot.strategy, slot, slot.last, exc) from exc

    def _conditions(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], list[Handler]]:
        """Every (bar, handler) pair the strategies asked for, merged in time order."""
        parts_g, parts_slot, parts_local, parts_rank, handlers = [], [], [], [], []
        rank = 0
        for slot in self.slots:
            strategy = slot.strategy
            strategy._attach(self, slot.bar_data())
            try:
                strategy.init()
            except Exception as exc:
                raise strategy_error(strategy, slot, None, exc) from exc
            conditions = list(strategy._conditions)
            if strategy._wants_every_bar:
                conditions.append((np.ones(len(slot.ts), dtype=bool), strategy.on_bar))
            for mask, handler in conditions:
                local = np.flatnonzero(mask)
                parts_g.append(slot.gidx[local])
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


def _cost_model(config: BacktestConfig) -> CostModel | None:
    if config.costs == "none":
        return None
    if config.costs == "bps":
        return make_cost_model("bps", bps=config.cost_bps)
    return make_cost_model("zerodha")


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
    strategy: Strategy, slot: Slot, bar: int | None, exc: Exception
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
    when = "in init()" if bar is None else f"on {slot.symbol} bar {bar} ({ist_iso(slot.ts[bar])})"
    return StrategyRuntimeError(
        f"strategy {strategy.display_name()} raised {type(exc).__name__}: {exc} {when}{location}"
    )
