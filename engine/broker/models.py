"""What a broker tells us and what we ask of it, in the engine's vocabulary.

Orders, fills and positions are the domain's `Order`, `Fill` and `Position` (the same types a
backtest's report converts to), wrapped only where a broker adds facts of its own (its raw
status text, the last price it marks a position at). Prices are Decimal rupees at this seam;
times are aware. Adapters convert their SDK's dicts into these and nothing else crosses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from engine.domain.enums import Exchange, OrderType
from engine.domain.fills import Position
from engine.domain.instrument import Instrument
from engine.domain.market_data import Tick, require_aware, require_text
from engine.domain.money import optional_positive_decimal, to_int
from engine.domain.orders import Order

MAX_SLICES: Final = 10  # the exchanges' cap on auto-sliced orders (2026 rules)
AUTOMATIC: Final = Decimal(-1)  # market protection chosen by the broker (Kite/Upstox send -1)
NEEDS_MARKET_PROTECTION: Final = frozenset({OrderType.MARKET, OrderType.SL_M})


class TickMode(StrEnum):
    """How much of the market a subscription carries (Kite's names; Upstox maps ltpc/full)."""

    LTP = "ltp"
    QUOTE = "quote"
    FULL = "full"  # quote + five levels of depth


class ConnectionState(StrEnum):
    """A broker connection's lifecycle; the status bar shows it."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # the feed dropped or went silent; subscriptions are kept
    LOGIN_REQUIRED = "login_required"  # the token expired: nothing is lost, log in again


CONNECTION_TRANSITIONS: Final[dict[ConnectionState, frozenset[ConnectionState]]] = {
    ConnectionState.DISCONNECTED: frozenset(
        {ConnectionState.CONNECTING, ConnectionState.LOGIN_REQUIRED}
    ),
    ConnectionState.CONNECTING: frozenset(
        {
            ConnectionState.CONNECTED,
            ConnectionState.DISCONNECTED,
            ConnectionState.LOGIN_REQUIRED,
            ConnectionState.RECONNECTING,
        }
    ),
    ConnectionState.CONNECTED: frozenset(
        {
            ConnectionState.RECONNECTING,
            ConnectionState.DISCONNECTED,
            ConnectionState.LOGIN_REQUIRED,
        }
    ),
    ConnectionState.RECONNECTING: frozenset(
        {
            ConnectionState.CONNECTED,
            ConnectionState.DISCONNECTED,
            ConnectionState.LOGIN_REQUIRED,
        }
    ),
    ConnectionState.LOGIN_REQUIRED: frozenset(
        {ConnectionState.CONNECTING, ConnectionState.DISCONNECTED}
    ),
}


def market_protection_for(order_type: OrderType, chosen: Decimal | None) -> Decimal | None:
    """The market protection an order must carry: MARKET and SL-M orders always have one
    (the broker's automatic choice unless the trader set a percentage), others none."""
    if order_type not in NEEDS_MARKET_PROTECTION:
        return None
    if chosen is None or chosen == AUTOMATIC:
        return AUTOMATIC
    if not Decimal(0) < chosen <= Decimal(100):
        raise ValueError(
            f"market protection must be automatic or a percentage above 0 and at most 100, "
            f"got {chosen}"
        )
    return chosen


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """One order to place: the domain `Order` (its `client_id` goes to the broker as the tag,
    so the order can always be found again and is never placed twice), the contract it trades,
    and how to send it."""

    order: Order
    instrument: Instrument
    market_protection: Decimal | None = None  # None: automatic for MARKET/SL-M
    after_market: bool = False  # AMO: queued by the broker for the next session
    iceberg_legs: int | None = None  # 2-10 legs shown to the market one at a time

    def __post_init__(self) -> None:
        if self.instrument.key != self.order.symbol:
            raise ValueError(
                f"order {self.order.client_id!r} is for {self.order.symbol} but the instrument "
                f"given is {self.instrument.key}"
            )
        self.instrument.check_quantity(self.order.quantity)
        for name, price in (("price", self.order.price), ("trigger", self.order.trigger_price)):
            if price is not None and not self.instrument.is_valid_price(price):
                raise ValueError(
                    f"order {self.order.client_id!r}: {name} {price} is not on the tick size "
                    f"{self.instrument.tick_size} of {self.instrument.key}"
                )
        market_protection_for(self.order.order_type, self.market_protection)
        if self.iceberg_legs is not None and not 2 <= self.iceberg_legs <= 10:
            raise ValueError(f"iceberg_legs must be 2 to 10, got {self.iceberg_legs}")
        freeze = self.instrument.freeze_quantity
        if freeze is not None and self.order.quantity > freeze * MAX_SLICES:
            raise ValueError(
                f"order {self.order.client_id!r}: {self.order.quantity} of "
                f"{self.instrument.key} needs more than {MAX_SLICES} slices of the freeze "
                f"quantity {freeze}; the exchange allows at most {MAX_SLICES}"
            )

    @property
    def tag(self) -> str:
        return self.order.client_id

    @property
    def protection(self) -> Decimal | None:
        """What to send as market protection (AUTOMATIC is -1)."""
        return market_protection_for(self.order.order_type, self.market_protection)

    @property
    def slices(self) -> int:
        """How many exchange orders the broker will split this into (1 when unsliced)."""
        freeze = self.instrument.freeze_quantity
        if freeze is None or self.order.quantity <= freeze:
            return 1
        return -(-self.order.quantity // freeze)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderChange:
    """A modification of an open order: only the fields given change."""

    quantity: int | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: OrderType | None = None

    def __post_init__(self) -> None:
        if self.quantity is not None:
            to_int(self.quantity, "quantity", minimum=1)
        optional_positive_decimal(self.price, "price")
        optional_positive_decimal(self.trigger_price, "trigger_price")
        if all(v is None for v in (self.quantity, self.price, self.trigger_price, self.order_type)):
            raise ValueError("an order change must change something")


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOrder:
    """An order as the broker reports it: the domain `Order` (client id = our tag, or
    `broker:<id>` for an order placed elsewhere, e.g. on the broker's web terminal) plus what
    only the broker knows."""

    order: Order
    broker_status: str  # the broker's own word, e.g. "TRIGGER PENDING", for people
    updated_at: datetime
    exchange_order_id: str | None = None
    parent_id: str | None = None  # the broker's id of the order this slice/leg belongs to

    def __post_init__(self) -> None:
        require_aware(self.updated_at, "updated_at")
        if self.order.broker_id is None:
            raise ValueError(f"broker order {self.order.client_id!r} has no broker id")

    @property
    def broker_id(self) -> str:
        assert self.order.broker_id is not None
        return self.order.broker_id

    @property
    def ours(self) -> bool:
        """Placed by Artha (it carries our client id as its tag)."""
        return not self.order.client_id.startswith(FOREIGN_PREFIX)


FOREIGN_PREFIX: Final = "broker:"


def foreign_client_id(broker_order_id: str) -> str:
    """The client id given to an order Artha did not place (so it still has one)."""
    return f"{FOREIGN_PREFIX}{broker_order_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionSnapshot:
    """A broker position: the domain `Position` (net quantity, average, realized P&L) and the
    last price the broker marks it at."""

    position: Position
    last_price: Decimal | None = None
    overnight_quantity: int = 0

    @property
    def unrealized_pnl(self) -> Decimal:
        if self.last_price is None:
            return Decimal(0)
        return self.position.unrealized_pnl(self.last_price)


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """Delivery shares in the demat account (CNC buys settle into these)."""

    symbol: str
    quantity: int  # settled
    average_price: Decimal
    last_price: Decimal | None = None
    t1_quantity: int = 0  # bought, not yet settled
    isin: str | None = None

    def __post_init__(self) -> None:
        require_text(self.symbol, "symbol")
        to_int(self.quantity, "quantity", minimum=0)
        to_int(self.t1_quantity, "t1_quantity", minimum=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Funds:
    """The equity segment's money, in rupees: what can be used now and what is blocked."""

    available: Decimal  # cash + collateral - used: what a new order can block
    used_margin: Decimal
    cash: Decimal  # opening balance + pay-in
    collateral: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    user_id: str
    user_name: str
    broker: str
    exchanges: tuple[Exchange, ...] = ()
    email: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionInfo:
    """A logged-in session: who, and until when its token is good."""

    account_id: str
    user_id: str
    user_name: str
    expires_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.expires_at, "expires_at")


@dataclass(frozen=True, slots=True)
class DepthLevel:
    price: Decimal
    quantity: int
    orders: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """A market snapshot: the last trade (`tick`) and, in quote/full mode, the day's range and
    the displayed depth (best first). Streams and REST quotes both give these."""

    tick: Tick
    mode: TickMode = TickMode.LTP
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None  # the previous session's close
    average_price: Decimal | None = None
    bids: tuple[DepthLevel, ...] = field(default=())
    asks: tuple[DepthLevel, ...] = field(default=())

    @property
    def symbol(self) -> str:
        return self.tick.symbol

    @property
    def change_percent(self) -> float | None:
        if not self.close:
            return None
        return float((self.tick.ltp - self.close) * 100 / self.close)
