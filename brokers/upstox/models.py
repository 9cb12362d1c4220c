"""Plain typed results of the Upstox client: what the rest of Artha sees instead of Upstox JSON.

Money is Decimal, parsed straight from the JSON text (no float on the way), so a price of
2450.05 stays 2450.05. Times are tz-aware (IST, as Upstox reports them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT", "SL", "SL-M"]
Product = Literal["I", "D", "MTF"]
Validity = Literal["DAY", "IOC"]
FeedMode = Literal["ltpc", "full", "option_greeks", "full_d30"]

ORDER_TYPES: Final = ("MARKET", "LIMIT", "SL", "SL-M")
PRODUCTS: Final = ("I", "D", "MTF")
VALIDITIES: Final = ("DAY", "IOC")
SIDES: Final = ("BUY", "SELL")
#: Upstox: "market_protection -1 means automatic; otherwise a percentage".
MARKET_PROTECTION_AUTO: Final = Decimal(-1)


@dataclass(frozen=True, slots=True)
class UpstoxSession:
    """What the token exchange gives back; the tokens are kept out of repr (and so logs)."""

    access_token: str = field(repr=False)
    user_id: str
    user_name: str
    email: str
    broker: str
    exchanges: tuple[str, ...]
    products: tuple[str, ...]
    extended_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: str
    user_name: str
    email: str
    broker: str
    exchanges: tuple[str, ...]
    products: tuple[str, ...]
    order_types: tuple[str, ...]
    is_active: bool


@dataclass(frozen=True, slots=True)
class Funds:
    """One segment's margin summary ("equity" or "commodity")."""

    segment: str
    available_margin: Decimal
    used_margin: Decimal
    payin_amount: Decimal
    span_margin: Decimal
    exposure_margin: Decimal
    adhoc_margin: Decimal
    notional_cash: Decimal


@dataclass(frozen=True, slots=True)
class Position:
    instrument_key: str
    trading_symbol: str
    exchange: str
    product: str
    quantity: int
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal
    pnl: Decimal
    realised: Decimal
    unrealised: Decimal
    day_buy_quantity: int
    day_sell_quantity: int
    overnight_quantity: int
    multiplier: Decimal


@dataclass(frozen=True, slots=True)
class Holding:
    instrument_key: str
    isin: str
    trading_symbol: str
    exchange: str
    product: str
    quantity: int
    t1_quantity: int
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal
    pnl: Decimal


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A v3 order. `market_protection` is required (non-zero) for MARKET and SL-M since
    1 April 2026; -1 asks Upstox to choose it, a positive number is a percentage."""

    instrument_key: str
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    validity: Validity = "DAY"
    price: Decimal = Decimal(0)
    trigger_price: Decimal = Decimal(0)
    disclosed_quantity: int = 0
    tag: str | None = None
    is_amo: bool = False
    slice: bool = False
    market_protection: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderChange:
    """A v3 modify: the fields the order keeps or gets (Upstox wants them all resent)."""

    order_id: str
    quantity: int
    order_type: OrderType
    validity: Validity = "DAY"
    price: Decimal = Decimal(0)
    trigger_price: Decimal = Decimal(0)
    disclosed_quantity: int = 0
    market_protection: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """Upstox order ids of one placement (several when the order was auto-sliced)."""

    order_ids: tuple[str, ...]
    latency_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """One order as the order book reports it; `status` is Upstox's word (open, complete,
    cancelled, rejected, trigger pending, ...)."""

    order_id: str
    instrument_key: str
    trading_symbol: str
    exchange: str
    side: str
    order_type: str
    product: str
    validity: str
    quantity: int
    price: Decimal
    trigger_price: Decimal
    average_price: Decimal
    filled_quantity: int
    pending_quantity: int
    status: str
    status_message: str
    tag: str | None
    exchange_order_id: str | None
    parent_order_id: str | None
    placed_at: datetime | None
    exchange_at: datetime | None


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: str
    order_id: str
    exchange_order_id: str | None
    instrument_key: str
    trading_symbol: str
    exchange: str
    side: str
    product: str
    order_type: str
    quantity: int
    average_price: Decimal
    traded_at: datetime | None


@dataclass(frozen=True, slots=True)
class LastPrice:
    instrument_key: str
    last_price: Decimal
    close_price: Decimal
    volume: int


@dataclass(frozen=True, slots=True)
class Candle:
    """One historical bar; `time` is its start, tz-aware (Upstox sends +05:30)."""

    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int


@dataclass(frozen=True, slots=True)
class DepthLevel:
    bid_price: Decimal
    bid_quantity: int
    ask_price: Decimal
    ask_quantity: int


@dataclass(frozen=True, slots=True)
class FeedOhlc:
    interval: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    time: datetime | None


@dataclass(frozen=True, slots=True)
class FeedTick:
    """One instrument's update from the v3 feed. Prices come as protobuf doubles; they are
    turned into Decimal through their shortest repr, which is the price Upstox meant."""

    instrument_key: str
    ltp: Decimal
    last_trade_time: datetime | None
    last_trade_quantity: int
    close_price: Decimal
    mode: str
    initial: bool
    received_at: datetime | None = None
    average_price: Decimal | None = None
    volume: int | None = None
    oi: Decimal | None = None
    total_buy_quantity: Decimal | None = None
    total_sell_quantity: Decimal | None = None
    depth: tuple[DepthLevel, ...] = ()
    ohlc: tuple[FeedOhlc, ...] = ()
