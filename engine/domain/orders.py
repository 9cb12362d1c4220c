"""Orders and their lifecycle, as one explicit state machine.

Order is immutable: every change (`transition`, `with_fill`, `with_broker_id`) returns a new
Order, so an order logged, stored or shown in the GUI can never change under the reader.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.market_data import require_aware, require_text
from engine.domain.money import (
    AVERAGE_PRICE_QUANTUM,
    optional_positive_decimal,
    to_int,
    to_positive_decimal,
)

MAX_TAG_LENGTH: Final = 20  # Kite refuses longer tags


class OrderStatus(StrEnum):
    """Artha's own statuses; adapters map the broker's (Kite "COMPLETE" -> FILLED,
    "TRIGGER PENDING" -> OPEN, OPEN with a filled quantity -> PARTIALLY_FILLED, ...).
    Values equal the names, upper-case like the other enums."""

    NEW = "NEW"  # created here, not yet acknowledged by the broker/venue
    OPEN = "OPEN"  # working at the venue
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


_S = OrderStatus
# The whole lifecycle in one table: status -> statuses it may move to. Empty = terminal.
ORDER_TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = MappingProxyType(
    {
        # NEW -> FILLED/PARTIALLY_FILLED: a market order can fill before its OPEN ack arrives.
        _S.NEW: frozenset({_S.OPEN, _S.REJECTED, _S.CANCELLED, _S.FILLED, _S.PARTIALLY_FILLED}),
        _S.OPEN: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.REJECTED}),
        _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED}),
        _S.FILLED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.REJECTED: frozenset(),
    }
)
TERMINAL_STATUSES: Final = frozenset(s for s, nxt in ORDER_TRANSITIONS.items() if not nxt)
# Still working: it can fill, be cancelled or change. Every mode asks this table, not a list.
ACTIVE_STATUSES: Final = frozenset(s for s, nxt in ORDER_TRANSITIONS.items() if nxt)


def can_transition(source: OrderStatus, target: OrderStatus) -> bool:
    return target in ORDER_TRANSITIONS[source]


class InvalidOrderTransition(ValueError):
    """A status change the lifecycle forbids, e.g. a fill reported on a cancelled order."""

    def __init__(self, client_id: str, source: OrderStatus, target: OrderStatus) -> None:
        allowed = ", ".join(sorted(ORDER_TRANSITIONS[source])) or "nothing (terminal)"
        super().__init__(
            f"order {client_id!r} cannot go from {source} to {target}; {source} allows {allowed}"
        )
        self.client_id = client_id
        self.source = source
        self.target = target


_NEEDS_PRICE: Final = frozenset({OrderType.LIMIT, OrderType.SL})
_NEEDS_TRIGGER: Final = frozenset({OrderType.SL, OrderType.SL_M})


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """An instruction to trade one instrument. Keyword-only: 16 fields are too many to pass
    by position safely."""

    client_id: str  # ours, unique per session; the id used before the broker knows the order
    symbol: str  # instrument key, e.g. "NSE:RELIANCE"
    side: Side
    order_type: OrderType
    product: Product
    validity: Validity
    quantity: int
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tag: str = ""
    broker_id: str | None = None
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: int = 0
    average_price: Decimal | None = None  # of the fills, quantized to AVERAGE_PRICE_QUANTUM
    status_message: str = ""
    created_at: datetime

    def __post_init__(self) -> None:
        require_text(self.client_id, "client_id")
        require_text(self.symbol, "symbol")
        for name, enum in (
            ("side", Side),
            ("order_type", OrderType),
            ("product", Product),
            ("validity", Validity),
            ("status", OrderStatus),
        ):
            object.__setattr__(self, name, enum(getattr(self, name)))
        to_int(self.quantity, "quantity", minimum=1)
        object.__setattr__(self, "price", optional_positive_decimal(self.price, "price"))
        trigger = optional_positive_decimal(self.trigger_price, "trigger_price")
        object.__setattr__(self, "trigger_price", trigger)
        self._check_prices_for_type()
        if not isinstance(self.tag, str) or len(self.tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tag must be a str of at most {MAX_TAG_LENGTH} chars: {self.tag!r}")
        if self.broker_id is not None:
            require_text(self.broker_id, "broker_id")
        to_int(self.filled_quantity, "filled_quantity", minimum=0)
        if self.filled_quantity > self.quantity:
            raise ValueError(
                f"order {self.client_id!r}: filled_quantity {self.filled_quantity} exceeds "
                f"quantity {self.quantity}"
            )
        avg = optional_positive_decimal(self.average_price, "average_price")
        object.__setattr__(self, "average_price", avg)
        if (avg is None) != (self.filled_quantity == 0):
            raise ValueError(
                f"order {self.client_id!r}: average_price {avg} must be set exactly when "
                f"filled_quantity ({self.filled_quantity}) > 0"
            )
        require_aware(self.created_at, "created_at")

    def _check_prices_for_type(self) -> None:
        kind = self.order_type
        if kind in _NEEDS_PRICE and self.price is None:
            raise ValueError(f"order {self.client_id!r}: price is required for {kind}")
        if kind not in _NEEDS_PRICE and self.price is not None:
            raise ValueError(
                f"order {self.client_id!r}: price must be None for {kind}, got {self.price}"
            )
        if kind in _NEEDS_TRIGGER and self.trigger_price is None:
            raise ValueError(f"order {self.client_id!r}: trigger_price is required for {kind}")
        if kind not in _NEEDS_TRIGGER and self.trigger_price is not None:
            raise ValueError(
                f"order {self.client_id!r}: trigger_price must be None for {kind}, "
                f"got {self.trigger_price}"
            )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_buy(self) -> bool:
        return self.side is Side.BUY

    def transition(self, status: OrderStatus, message: str = "") -> "Order":
        """Move to `status` if the lifecycle table allows it, else InvalidOrderTransition."""
        target = OrderStatus(status)
        if not can_transition(self.status, target):
            raise InvalidOrderTransition(self.client_id, self.status, target)
        return replace(self, status=target, status_message=message)

    def with_fill(self, quantity: int, price: Decimal | int | str) -> "Order":
        """Record an execution; average_price is the fills' VWAP, rounded once per fill to
        AVERAGE_PRICE_QUANTUM (a report figure: P&L is computed from Fills, not from it)."""
        to_int(quantity, "fill quantity", minimum=1)
        fill_price = to_positive_decimal(price, "fill price")
        if quantity > self.remaining_quantity:
            raise ValueError(
                f"order {self.client_id!r}: fill of {quantity} exceeds the remaining "
                f"{self.remaining_quantity} of {self.quantity} (overfill)"
            )
        filled = self.filled_quantity + quantity
        target = OrderStatus.FILLED if filled == self.quantity else OrderStatus.PARTIALLY_FILLED
        if not can_transition(self.status, target):
            raise InvalidOrderTransition(self.client_id, self.status, target)
        prior_value = (self.average_price or Decimal(0)) * self.filled_quantity
        average = ((prior_value + fill_price * quantity) / filled).quantize(
            AVERAGE_PRICE_QUANTUM, rounding=ROUND_HALF_UP
        )
        return replace(self, status=target, filled_quantity=filled, average_price=average)

    def with_broker_id(self, broker_id: str) -> "Order":
        """Attach the broker's order id once it is known; it never changes afterwards."""
        require_text(broker_id, "broker_id")
        if self.broker_id is not None and self.broker_id != broker_id:
            raise ValueError(
                f"order {self.client_id!r} already has broker_id {self.broker_id!r}, "
                f"refusing {broker_id!r}"
            )
        return replace(self, broker_id=broker_id)
