"""The backtest kernel: an event-skipping simulation over bars.

Python runs only where something happens: on bars where a strategy's condition holds, and on
bars where an order fills or expires (found by vectorised search, matching.py). Everything in
between (equity marking, exposure) is computed with numpy at the end (curve.py).

Within one bar on the merged timeline, events run in this order:
  0 market orders fill at the open, 1 MIS square-off at the open, 2 limit/stop/bracket fills
  inside the bar (stops before targets when config.stop_first), 3 strategy handlers at the
  close, 5 expiries and close-priced square-offs.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable
from typing import Any

from engine.backtest.book import GTC, SimOrder, misplaced, rupees, slipped
from engine.backtest.config import BacktestConfig, FillTiming
from engine.backtest.ledger import Ledger
from engine.backtest.matching import first_at_or_above, first_at_or_below, first_trailing_hit
from engine.backtest.slots import Slot
from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.orders import OrderStatus
from engine.strategy.base import Strategy
from engine.strategy.requests import FillReport, OrderUpdate

log = logging.getLogger(__name__)

OPEN, SQUAREOFF, INTRABAR, CLOSE_EVENTS = 0, 1, 2, 5
_OPEN_STATES = frozenset({OrderStatus.NEW, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})
FILL, EXPIRE, SQUARE = 0, 1, 2


class Simulator:
    """Order book, fills and bookkeeping; the runner owns the loop and the strategies."""

    def __init__(self, slots: list[Slot], config: BacktestConfig, ledger: Ledger) -> None:
        self.slots = slots
        self.config = config
        self.ledger = ledger
        self.orders: dict[str, SimOrder] = {}
        self.open_orders: list[dict[str, SimOrder]] = [{} for _ in slots]  # per slot
        self.heap: list[tuple[int, int, int, int, int, Any, int, int, int]] = []
        self._seq = 0
        self._ids = 0
        # curve inputs: (global bar, slot, signed quantity, cash change, charges)
        self.deltas: list[tuple[int, int, int, int, int]] = []
        self.traded_value = 0
        self.rejections: list[str] = []
        # how a rejection found here (a bracket exit on the wrong side of its entry's fill)
        # joins the run's rejections; the runner keeps them the way it keeps its own
        self.on_rejection: Callable[[str], None] = self.rejections.append
        self.event_bar: tuple[int, int] | None = None  # (slot, bar) of the event being handled
        self._notify_fill = {id(s.strategy): _overrides(s.strategy, "on_fill") for s in slots}
        self._notify_order = {id(s.strategy): _overrides(s.strategy, "on_order") for s in slots}

    # -- ids and events -------------------------------------------------------------------
    def next_id(self) -> str:
        self._ids += 1
        return f"BT{self._ids:07d}"

    def push(
        self,
        slot: Slot,
        j: int,
        phase: int,
        prio: int,
        kind: int,
        obj: Any,
        version: int = 0,
        extra: int = 0,
    ) -> None:
        self._seq += 1
        heapq.heappush(
            self.heap, (int(slot.gidx[j]), phase, prio, self._seq, kind, obj, version, j, extra)
        )

    # -- scheduling -----------------------------------------------------------------------
    def schedule(self, order: SimOrder, start: int) -> None:
        """Find the first bar >= start where the order trades, or where it expires."""
        slot = self.slots[order.slot]
        end = min(order.expires_at, slot.last)
        if start > end:
            if order.expires_at < GTC and start > order.expires_at:
                self.finish(order, OrderStatus.CANCELLED, "expired unfilled")
            return  # past the data: stays open until the run ends
        buy = order.side is Side.BUY
        extra = 0
        stop_prio = 0 if self.config.stop_first else 1
        level: int | None = None  # the price the bar must reach; None for market-like
        if (order.order_type is OrderType.MARKET and order.trail is None) or order.stop_hit:
            j, phase, prio = start, OPEN, 0
        elif order.trail is not None:
            j, extra = first_trailing_hit(
                slot.high, slot.low, start, end, not buy, order.trail_anchor, order.trail
            )
            phase, prio, level = INTRABAR, stop_prio, extra
        elif order.order_type is OrderType.LIMIT or order.triggered:
            assert order.limit is not None
            j = (
                first_at_or_below(slot.low, start, end, order.limit)
                if buy
                else first_at_or_above(slot.high, start, end, order.limit)
            )
            phase, prio, level = INTRABAR, 1 - stop_prio, order.limit
        else:
            assert order.trigger is not None
            j = (
                first_at_or_above(slot.high, start, end, order.trigger)
                if buy
                else first_at_or_below(slot.low, start, end, order.trigger)
            )
            phase, prio, level = INTRABAR, stop_prio, order.trigger
        if j >= 0 and level is not None:
            opening = int(slot.open[j])
            limit_like = order.order_type is OrderType.LIMIT or order.triggered
            through = (opening <= level) if buy == limit_like else (opening >= level)
            if through:
                prio = -1  # the open is the bar's first trade: it beats stop_first
        if j >= 0:
            self.push(slot, j, phase, prio, FILL, order, order.version, extra)
        elif order.expires_at < GTC:
            self.push(slot, end, CLOSE_EVENTS, 0, EXPIRE, order, order.version)

    # -- processing -----------------------------------------------------------------------
    def on_fill_event(self, order: SimOrder, j: int, extra: int) -> None:
        slot = self.slots[order.slot]
        buy = order.side is Side.BUY
        bps = self.config.slippage_bps
        opening = int(slot.open[j])
        if order.stop_hit:
            price = slipped(opening, order.side, bps, slot.tick)
        elif order.trail is not None:
            price = slipped(
                min(opening, extra) if not buy else max(opening, extra), order.side, bps, slot.tick
            )
        elif order.order_type is OrderType.MARKET:
            price = slipped(opening, order.side, bps, slot.tick)
        elif order.order_type is OrderType.LIMIT or order.triggered:
            assert order.limit is not None
            price = min(opening, order.limit) if buy else max(opening, order.limit)
        else:
            assert order.trigger is not None
            touched = max(opening, order.trigger) if buy else min(opening, order.trigger)
            price = slipped(touched, order.side, bps, slot.tick)
            if order.order_type is OrderType.SL:
                assert order.limit is not None
                if (price > order.limit) if buy else (price < order.limit):
                    order.triggered = True  # gapped past the limit: rest as a limit
                    self.schedule(order, j + 1)
                    return
        self.fill(order, j, price, at_open=price == opening)

    def fill(self, order: SimOrder, j: int, price: int, at_open: bool) -> None:
        """Trade as much of the order as the bar allows at `price` on bar j."""
        slot = self.slots[order.slot]
        quantity = order.remaining
        if order.exit_leg:
            held = self.ledger.position(slot.symbol, order.product).quantity
            closable = held if order.side is Side.SELL else -held
            if closable <= 0:
                self.finish(order, OrderStatus.CANCELLED, "position already closed")
                return
            quantity = min(quantity, closable)
        cap = self.config.participation
        if cap is not None:
            allowed = math.floor(int(slot.volume[j]) * cap + 1e-9) // slot.lot * slot.lot
            quantity = min(quantity, allowed)
        if quantity > 0:
            self.execute(order, slot, j, quantity, price, at_open)
        if order.is_open and order.remaining > 0:
            if order.trail is not None or order.order_type is OrderType.SL_M:
                order.stop_hit = True  # triggered: the rest trades at the next open
            elif order.order_type is OrderType.SL:
                order.triggered = True  # triggered: the rest rests as a limit
            self.schedule(order, j + 1)

    def execute(
        self, order: SimOrder, slot: Slot, j: int, quantity: int, price: int, at_open: bool
    ) -> None:
        charges = 0
        if self.ledger.charges_on:
            charges = self.ledger.charge(
                slot.symbol,
                slot.charge_segment(order.product),
                slot.cost_exchange,
                slot.sessions.trade_date(j),
                order.side,
                quantity,
                price,
                order.product,
            )
        signed = quantity if order.side is Side.BUY else -quantity
        held = self.ledger.fill(
            slot.symbol, order.product, order.side, quantity, price, j, int(slot.ts[j]), charges
        )
        self.deltas.append(
            (int(slot.gidx[j]), slot.index, signed, -signed * price - charges, charges)
        )
        self.traded_value += quantity * price
        order.filled += quantity
        order.fills.append((quantity, price))
        status = OrderStatus.FILLED if order.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        self.set_status(order, status)
        strategy = order.strategy
        if self._notify_fill[id(strategy)]:
            strategy.on_fill(
                FillReport(
                    order.order_id,
                    slot.symbol,
                    order.side,
                    quantity,
                    slot.series.price(price),
                    j,
                    order.tag,
                )
            )
        if order.sibling is not None and order.sibling.is_open:
            sibling = order.sibling
            sibling.quantity -= quantity
            if sibling.remaining <= 0:
                self.finish(sibling, OrderStatus.CANCELLED, "other leg filled")
        if order.bracket is not None:
            self.attach_exits(order, slot, j, quantity, price, at_open)
        if held == 0:
            self.cancel_exit_legs(slot, order.product)
        elif order.product is Product.MIS:
            self.schedule_squareoff(slot, j)

    def attach_exits(
        self, entry: SimOrder, slot: Slot, j: int, quantity: int, price: int, at_open: bool
    ) -> None:
        """Bracket legs for the quantity just filled: stop and target cancel each other.

        Distances (`stop_loss_points`, `target_points`) become prices here, from this fill.
        An exit that is not beyond the fill on its protecting side (a long entry filled at or
        below its stop, e.g. after a gap, or at or above its target) would only close the
        trade at its entry: that leg is REJECTED with the reason instead, and the run's
        rejections say so; the other leg still works. With `trail`, a stop_loss the fill
        went past only stops narrowing the trail: the trailing stop starts from the fill.
        """
        assert entry.bracket is not None
        exit_side = Side.SELL if entry.side is Side.BUY else Side.BUY
        start = j if at_open and self.config.fill is FillTiming.NEXT_OPEN else j + 1
        legs: list[SimOrder] = []
        b = entry.bracket
        stop, target = b.levels(entry.side, price)
        stop_name = "stop_loss" if b.stop_points is None else "stop_loss_points"
        target_name = "target" if b.target_points is None else "target_points"
        stop_problem = self._misplaced(stop_name, stop, entry.side, price)
        target_problem = self._misplaced(target_name, target, entry.side, price)
        if b.trail is not None:
            leg = self._leg(entry, slot, exit_side, quantity, OrderType.SL_M, None, None, j)
            leg.trail, leg.trail_anchor = b.trail, price
            if stop is not None and stop_problem is None:  # trail starts no lower than the stop
                leg.trail = min(b.trail, abs(price - stop))
            legs.append(leg)
        elif stop is not None:
            leg = self._leg(entry, slot, exit_side, quantity, OrderType.SL_M, None, stop, j)
            if stop_problem is None:
                legs.append(leg)
            else:
                self._reject_leg(leg, slot, entry, j, stop_problem)
        if target is not None:
            leg = self._leg(entry, slot, exit_side, quantity, OrderType.LIMIT, target, None, j)
            if target_problem is None:
                legs.append(leg)
            else:
                self._reject_leg(leg, slot, entry, j, target_problem)
        if len(legs) == 2:
            legs[0].sibling, legs[1].sibling = legs[1], legs[0]
        for leg in legs:
            self.orders[leg.order_id] = leg
            self.set_status(leg, OrderStatus.OPEN)
            self.schedule(leg, start)

    @staticmethod
    def _misplaced(name: str, level: int | None, side: Side, fill: int) -> str | None:
        if level is None:
            return None
        if level <= 0:
            return f"{name} puts the exit at {rupees(level)} from the fill price {rupees(fill)}"
        return misplaced(name, level, side, fill, "the fill price")

    def _reject_leg(self, leg: SimOrder, slot: Slot, entry: SimOrder, j: int, problem: str) -> None:
        kind = "stop-loss" if leg.order_type is OrderType.SL_M else "target"
        message = f"{problem}: the {kind} exit of {entry.order_id} is not placed"
        self.orders[leg.order_id] = leg
        self.set_status(leg, OrderStatus.REJECTED, message)
        self.on_rejection(f"{slot.symbol} bar {j}: {leg.side} {leg.quantity} rejected: {message}")

    def _leg(
        self,
        entry: SimOrder,
        slot: Slot,
        side: Side,
        quantity: int,
        kind: OrderType,
        limit: int | None,
        trigger: int | None,
        j: int,
    ) -> SimOrder:
        return SimOrder(
            order_id=self.next_id(),
            slot=slot.index,
            side=side,
            quantity=quantity,
            order_type=kind,
            product=entry.product,
            validity=Validity.DAY,
            limit=limit,
            trigger=trigger,
            placed_bar=j,
            active_from=j,
            expires_at=GTC,
            strategy=entry.strategy,
            tag=entry.tag,
            exit_leg=True,
        )

    def cancel_exit_legs(self, slot: Slot, product: Product) -> None:
        for order in list(self.open_orders[slot.index].values()):
            if order.exit_leg and order.product is product:
                self.finish(order, OrderStatus.CANCELLED, "position closed")

    def schedule_squareoff(self, slot: Slot, j: int) -> None:
        day = int(slot.sessions.day[j])
        if day in slot.squareoff_days:
            return
        slot.squareoff_days.add(day)
        k, at_open = slot.sessions.squareoff_index(j)
        if at_open and k <= j:  # opened at/after the cut-off: square off at this bar's close
            k, at_open = j, False
        self.push(
            slot, k, SQUAREOFF if at_open else CLOSE_EVENTS, 0, SQUARE, slot, 0, 1 if at_open else 0
        )

    def on_squareoff(self, slot: Slot, j: int, at_open: bool) -> None:
        slot.squareoff_days.discard(int(slot.sessions.day[j]))
        for order in list(self.open_orders[slot.index].values()):
            if order.product is Product.MIS:
                self.finish(order, OrderStatus.CANCELLED, "MIS square-off")
        held = self.ledger.position(slot.symbol, Product.MIS).quantity
        if held == 0:
            return
        side = Side.SELL if held > 0 else Side.BUY
        order = SimOrder(
            order_id=self.next_id(),
            slot=slot.index,
            side=side,
            quantity=abs(held),
            order_type=OrderType.MARKET,
            product=Product.MIS,
            validity=Validity.DAY,
            limit=None,
            trigger=None,
            placed_bar=j,
            active_from=j,
            expires_at=j,
            strategy=slot.strategy,
            tag="squareoff",
        )
        self.orders[order.order_id] = order
        price = int(slot.open[j]) if at_open else int(slot.close[j])
        self.execute(
            order,
            slot,
            j,
            abs(held),
            slipped(price, side, self.config.slippage_bps, slot.tick),
            at_open,
        )

    # -- state changes --------------------------------------------------------------------
    def set_status(self, order: SimOrder, status: OrderStatus, message: str = "") -> None:
        order.status = status
        order.message = message
        if status in _OPEN_STATES:
            self.open_orders[order.slot][order.order_id] = order
        else:
            self.open_orders[order.slot].pop(order.order_id, None)
        if self._notify_order[id(order.strategy)]:
            slot = self.slots[order.slot]
            order.strategy.on_order(
                OrderUpdate(
                    order.order_id,
                    slot.symbol,
                    order.side,
                    order.quantity,
                    order.filled,
                    status,
                    message,
                    order.tag,
                )
            )

    def finish(self, order: SimOrder, status: OrderStatus, message: str) -> None:
        order.version += 1  # events already queued for it are now stale
        self.set_status(order, status, message)

    def handle(self, kind: int, obj: Any, version: int, j: int, extra: int) -> None:
        slot_index = obj.index if kind == SQUARE else obj.slot
        clock = self.slots[slot_index].strategy._clock
        if clock.index < j - 1:
            clock.index = j - 1  # callbacks see the bars completed before this one, no more
        self.event_bar = (slot_index, j)  # orders placed from callbacks start after bar j
        try:
            self._handle(kind, obj, version, j, extra)
        finally:
            self.event_bar = None

    def _handle(self, kind: int, obj: Any, version: int, j: int, extra: int) -> None:
        if kind == SQUARE:
            self.on_squareoff(obj, j, extra == 1)
            return
        order: SimOrder = obj
        if order.version != version or not order.is_open:
            return
        if kind == FILL:
            self.on_fill_event(order, j, extra)
        else:
            self.finish(order, OrderStatus.CANCELLED, "expired unfilled")


def _overrides(strategy: Strategy, name: str) -> bool:
    method: Callable[..., Any] = getattr(type(strategy), name)
    return method is not getattr(Strategy, name)
