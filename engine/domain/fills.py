"""Executions and the positions they build, with exact realized/unrealized P&L."""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from engine.domain.enums import Product, Side
from engine.domain.market_data import require_aware, require_text
from engine.domain.money import to_decimal, to_int, to_positive_decimal


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade against an order; an order may fill in several of these."""

    order_client_id: str
    trade_id: str  # exchange/broker trade id, unique per fill: used to drop duplicates
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    ts: datetime
    broker_order_id: str | None = None

    def __post_init__(self) -> None:
        require_text(self.order_client_id, "order_client_id")
        require_text(self.trade_id, "trade_id")
        require_text(self.symbol, "symbol")
        object.__setattr__(self, "side", Side(self.side))
        to_int(self.quantity, "quantity", minimum=1)
        object.__setattr__(self, "price", to_positive_decimal(self.price, "price"))
        require_aware(self.ts, "ts")
        if self.broker_order_id is not None:
            require_text(self.broker_order_id, "broker_order_id")

    @property
    def signed_quantity(self) -> int:
        """+quantity for a buy, -quantity for a sell: the change it makes to a position."""
        return self.quantity if self.side is Side.BUY else -self.quantity


@dataclass(frozen=True, slots=True)
class Position:
    """Net holding in one symbol and product; quantity > 0 is long, < 0 short, 0 flat.

    average_price is the Decimal quotient at full context precision (28 significant digits),
    not rounded to paise, so realized + unrealized P&L equals the cash-flow P&L of the fills
    to far below a paisa (a rounded average would drift by quantity x rounding error).
    """

    symbol: str
    product: Product
    quantity: int = 0
    average_price: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        require_text(self.symbol, "symbol")
        object.__setattr__(self, "product", Product(self.product))
        to_int(self.quantity, "quantity")
        avg = to_decimal(self.average_price, "average_price")
        object.__setattr__(self, "average_price", avg)
        object.__setattr__(self, "realized_pnl", to_decimal(self.realized_pnl, "realized_pnl"))
        if self.quantity == 0 and avg != 0:
            raise ValueError(f"position {self.symbol}: flat but average_price is {avg}")
        if self.quantity != 0 and avg <= 0:
            raise ValueError(
                f"position {self.symbol}: quantity {self.quantity} needs average_price > 0, "
                f"got {avg}"
            )

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    def apply(self, fill: Fill) -> "Position":
        """The position after `fill`: open, add, reduce, close, or flip through zero."""
        if fill.symbol != self.symbol:
            raise ValueError(f"fill for {fill.symbol} applied to position in {self.symbol}")
        held, change = self.quantity, fill.signed_quantity
        after = held + change
        if held == 0 or (held > 0) == (change > 0):  # open or add: weighted average
            cost = self.average_price * abs(held) + fill.price * abs(change)
            return replace(self, quantity=after, average_price=cost / abs(after))
        closed = min(abs(change), abs(held))
        direction = 1 if held > 0 else -1
        realized = self.realized_pnl + (fill.price - self.average_price) * closed * direction
        if after == 0:
            average = Decimal(0)
        elif (after > 0) == (held > 0):  # partial close keeps the entry price
            average = self.average_price
        else:  # flipped: the rest opens a new position at the fill price
            average = fill.price
        return replace(self, quantity=after, average_price=average, realized_pnl=realized)

    def unrealized_pnl(self, mark: Decimal | int | str) -> Decimal:
        """Mark-to-market P&L of the open quantity; zero when flat."""
        price = to_decimal(mark, "mark")
        if self.quantity == 0:
            return Decimal(0)
        return (price - self.average_price) * self.quantity
