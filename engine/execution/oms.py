"""The order manager: every order of a session, its state changes, and who hears of them.

One table decides what an order may become (`engine.domain.orders.ORDER_TRANSITIONS`); this is
the only code that changes an order's status, so a backtest, a paper session and a live
session cannot disagree about the lifecycle (a fill on a cancelled order is an error
everywhere). Each change is told to the listeners in order: the strategy host (`on_order`),
and live, the bus and the orders table.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.domain.orders import (
    ACTIVE_STATUSES,
    ORDER_TRANSITIONS,
    InvalidOrderTransition,
    OrderStatus,
)
from engine.execution.orders import ManagedOrder

OrderListener = Callable[[ManagedOrder], None]
# module names for the members read on every fill (an Enum member read costs ~120 ns on 3.11)
_FILLED, _PARTIALLY_FILLED = OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED
_REJECTED = OrderStatus.REJECTED
# the lifecycle table as a plain dict: the same entries, read twice per order without the
# read-only proxy's extra step
_TRANSITIONS = dict(ORDER_TRANSITIONS)


class OrderManager:
    """Orders by client id, the open ones per instrument, and client ids `PREFIX0000001`."""

    def __init__(self, instruments: int, *, prefix: str = "BT") -> None:
        self.orders: dict[str, ManagedOrder] = {}
        self.open_orders: list[dict[str, ManagedOrder]] = [{} for _ in range(instruments)]
        self.listeners: list[OrderListener] = []
        self._prefix = prefix
        self._ids = 0
        self._rejected = 0  # orders that ended REJECTED (counted as they end)

    def next_id(self) -> str:
        self._ids += 1
        return self._prefix + str(self._ids).zfill(7)  # f"{n:07d}", at ~half the cost

    def add(self, order: ManagedOrder) -> None:
        """Track a NEW order (not yet told to anyone: its first transition is)."""
        self.orders[order.order_id] = order

    def transition(self, order: ManagedOrder, status: OrderStatus, message: str = "") -> None:
        """Move `order` to `status` as the lifecycle table allows, and tell the listeners."""
        if status not in _TRANSITIONS[order.status]:
            raise InvalidOrderTransition(order.order_id, order.status, status)
        order.status = status
        order.message = message
        if status is _REJECTED:
            self._rejected += 1
        if status in ACTIVE_STATUSES:
            self.open_orders[order.instrument][order.order_id] = order
        else:
            self.open_orders[order.instrument].pop(order.order_id, None)
        for listener in self.listeners:
            listener(order)

    def finish(self, order: ManagedOrder, status: OrderStatus, message: str) -> None:
        """End an order (cancelled, expired, rejected): work queued for it becomes stale."""
        order.version += 1
        self.transition(order, status, message)

    def record_fill(self, order: ManagedOrder, quantity: int, price: int) -> None:
        """`quantity` traded at `price` paise: FILLED when nothing remains, else partly."""
        if quantity > order.quantity - order.filled:  # order.remaining
            raise ValueError(
                f"order {order.order_id}: fill of {quantity} exceeds the remaining "
                f"{order.remaining} of {order.quantity} (overfill)"
            )
        order.filled += quantity
        order.fills.append((quantity, price))
        self.transition(order, _FILLED if order.filled == order.quantity else _PARTIALLY_FILLED)

    def open_for(self, instrument: int) -> list[ManagedOrder]:
        return list(self.open_orders[instrument].values())

    @property
    def rejected(self) -> int:
        """How many orders were rejected (REJECTED is terminal: counted once, when reached)."""
        return self._rejected
