"""The order record the execution layer works with, in every mode.

A domain `Order` is immutable and validated on construction (Decimal prices, aware times):
right for what the GUI shows and the store keeps, too heavy for a backtest that handles tens of
thousands of orders per second. `ManagedOrder` is its lean, mutable twin: integer paise, the
same `OrderStatus` and the same transition table (only `OrderManager.transition` changes
`status`, and it refuses what `ORDER_TRANSITIONS` forbids), converted to a domain `Order` at the
seam (`to_domain`). The few fields a simulated venue needs to keep working an order (bar
indices, trigger state) live here too, named as the venue's: a broker venue leaves them alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.orders import ACTIVE_STATUSES, MAX_TAG_LENGTH, Order, OrderStatus
from engine.execution.prices import Bracket

GTC = 1 << 62  # a simulated venue's "never expires" bar: bracket exits and trailing stops


@dataclass(slots=True, eq=False)
class ManagedOrder:
    order_id: str  # our client order id: the broker tag live, so it is never placed twice
    instrument: int  # index of the instrument in the host's universe
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    validity: Validity
    limit: int | None  # paise
    trigger: int | None  # paise
    owner: Any  # the strategy instance that placed it (told of every change)
    placed_ts: int = 0  # UTC ns of the bar or tick it was placed on
    tag: str = ""
    filled: int = 0
    status: OrderStatus = OrderStatus.NEW
    message: str = ""
    version: int = 0  # bumped when it ends or changes: work queued for it is then stale
    bracket: Bracket | None = None  # exits to attach when it fills
    trail: int | None = None  # this order IS a trailing stop (distance in paise)
    trail_anchor: int = 0
    parent_id: str | None = None  # the entry a bracket leg protects
    sibling: ManagedOrder | None = None  # the other leg of a one-cancels-other pair
    exit_leg: bool = False  # a bracket/trailing exit: lives until filled or the position is flat
    broker_id: str | None = None
    fills: list[tuple[int, int]] = field(default_factory=list)  # (quantity, price paise)
    # -- the simulated venue's working state (bar indices of this instrument) ------------------
    placed_bar: int = 0
    active_from: int = 0
    expires_at: int = GTC
    triggered: bool = False  # an SL that has triggered and now rests as a limit
    stop_hit: bool = False  # a stop/trailing stop partly filled: the rest goes at market

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def average_price(self) -> Decimal | None:
        if not self.filled:
            return None
        total = sum(q * p for q, p in self.fills)
        return (Decimal(total) / Decimal(self.filled * 100)).quantize(Decimal("0.0001"))

    def to_domain(self) -> Order:
        """The domain `Order` this record stands for (for the GUI, the store, brokers); a
        trailing stop shows the trigger it started from."""
        trigger = self.trigger
        if trigger is None and self.trail is not None:
            away = self.trail if self.side is Side.BUY else -self.trail
            trigger = max(self.trail_anchor + away, 1)
        return Order(
            client_id=self.order_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            product=self.product,
            validity=self.validity,
            quantity=self.quantity,
            price=None if self.limit is None else Decimal(self.limit).scaleb(-2),
            trigger_price=None if trigger is None else Decimal(trigger).scaleb(-2),
            tag=self.tag[:MAX_TAG_LENGTH],
            broker_id=self.broker_id,
            status=self.status,
            filled_quantity=self.filled,
            average_price=self.average_price,
            status_message=self.message,
            created_at=datetime.fromtimestamp(self.placed_ts // 1_000_000_000, tz=UTC),
        )
