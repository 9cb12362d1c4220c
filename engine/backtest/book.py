"""Simulated orders and the arithmetic of their prices (integer paise on the tick grid)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.orders import OrderStatus

if TYPE_CHECKING:
    from engine.strategy.base import Strategy

GTC = 1 << 62  # "never expires" for bracket exits and trailing stops

_MODES = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}


def price_to_paise(value: object, tick: int, mode: str, field_name: str) -> int:
    """Exact paise on the tick grid; floats are read as the decimal the author wrote."""
    if isinstance(value, bool):
        raise TypeError(f"{field_name} must be a number, got {value!r}")
    if isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, int | Decimal | str):
        number = Decimal(value)
    else:
        raise TypeError(f"{field_name} must be a number, got {type(value).__name__}")
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{field_name} must be a positive price, got {value!r}")
    ticks = (number * 100 / tick).to_integral_value(_MODES[mode])
    return max(int(ticks), 1) * tick


def slipped(price: int, side: Side, bps: Decimal, tick: int) -> int:
    """Move a fill price against the trader by `bps`, back onto the tick grid."""
    if not bps:
        return price
    factor = 1 + bps / 10_000 if side is Side.BUY else 1 - bps / 10_000
    mode = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
    ticks = (Decimal(price) * factor / tick).to_integral_value(mode)
    return max(int(ticks), 1) * tick


@dataclass(slots=True)
class Bracket:
    stop_loss: int | None  # paise
    target: int | None
    trail: int | None  # paise distance


@dataclass(slots=True, eq=False)
class SimOrder:
    order_id: str
    slot: int  # index of the instrument in the run
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    validity: Validity
    limit: int | None
    trigger: int | None
    placed_bar: int
    active_from: int
    expires_at: int
    strategy: Strategy
    tag: str = ""
    filled: int = 0
    status: OrderStatus = OrderStatus.NEW
    message: str = ""
    version: int = 0
    triggered: bool = False  # an SL that has triggered and now rests as a limit
    stop_hit: bool = False  # a stop/trailing stop partly filled: the rest goes at market
    bracket: Bracket | None = None
    trail: int | None = None  # this order IS a trailing stop (distance in paise)
    trail_anchor: int = 0
    sibling: SimOrder | None = None  # the other leg of a one-cancels-other pair
    exit_leg: bool = False  # a bracket/trailing exit: lives until filled or position flat
    fills: list[tuple[int, int]] = field(default_factory=list)  # (quantity, price)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.NEW, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)

    @property
    def average_price(self) -> Decimal | None:
        if not self.filled:
            return None
        total = sum(q * p for q, p in self.fills)
        return (Decimal(total) / Decimal(self.filled * 100)).quantize(Decimal("0.0001"))
