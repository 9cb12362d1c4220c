"""What a strategy hands its executor (backtest or live) and what it hears back.

Plain slotted records rather than validated domain objects: a backtest creates tens of
thousands of them, and the executor validates against the instrument (tick, lot) anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import numpy as np

from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.instrument import Instrument
from engine.domain.orders import ACTIVE_STATUSES, MAX_TAG_LENGTH, OrderStatus

# numpy numbers are welcome: `self.data.close[-1]` is a numpy float64
PriceInput = float | int | Decimal | str | np.floating[Any] | np.integer[Any]
QuantityInput = int | np.integer[Any]


@dataclass(slots=True)
class OrderRequest:
    symbol: str
    side: Side
    quantity: int  # the SDK turns numpy integers into int
    order_type: OrderType = OrderType.MARKET
    product: Product | None = None  # None: the run's default product
    validity: Validity = Validity.DAY
    price: PriceInput | None = None  # LIMIT and SL
    trigger: PriceInput | None = None  # SL and SL-M
    stop_loss: PriceInput | None = None  # bracket exit below/above the entry (absolute price)
    target: PriceInput | None = None  # bracket profit exit (absolute price)
    trail: PriceInput | None = None  # trailing-stop distance in rupees
    tag: str = ""
    stop_loss_points: PriceInput | None = None  # stop distance from the fill (rupees)
    target_points: PriceInput | None = None  # target distance from the fill (rupees)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order changed state; `message` says why for rejections and cancellations."""

    order_id: str
    symbol: str
    side: Side
    quantity: int
    filled_quantity: int
    status: OrderStatus
    message: str = ""
    tag: str = ""


@dataclass(frozen=True, slots=True)
class FillReport:
    order_id: str
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    bar_index: int
    tag: str = ""


# The host makes an OrderUpdate per state change and a FillReport per fill. These build them
# with the slots set directly: a frozen dataclass's __init__ goes through object.__setattr__
# per field (~1.3 us for an OrderUpdate; this takes about half); the records are the same.
_new_record = object.__new__
_U_ID, _U_SYMBOL, _U_SIDE, _U_QUANTITY, _U_FILLED, _U_STATUS, _U_MESSAGE, _U_TAG = (
    OrderUpdate.__dict__[name].__set__
    for name in (
        "order_id",
        "symbol",
        "side",
        "quantity",
        "filled_quantity",
        "status",
        "message",
        "tag",
    )
)
_F_ID, _F_SYMBOL, _F_SIDE, _F_QUANTITY, _F_PRICE, _F_BAR, _F_TAG = (
    FillReport.__dict__[name].__set__
    for name in ("order_id", "symbol", "side", "quantity", "price", "bar_index", "tag")
)


def order_update(
    order_id: str,
    symbol: str,
    side: Side,
    quantity: int,
    filled_quantity: int,
    status: OrderStatus,
    message: str,
    tag: str,
) -> OrderUpdate:
    """`OrderUpdate(order_id, symbol, ...)`, built faster (see above)."""
    update: OrderUpdate = _new_record(OrderUpdate)
    _U_ID(update, order_id)
    _U_SYMBOL(update, symbol)
    _U_SIDE(update, side)
    _U_QUANTITY(update, quantity)
    _U_FILLED(update, filled_quantity)
    _U_STATUS(update, status)
    _U_MESSAGE(update, message)
    _U_TAG(update, tag)
    return update


def fill_report(
    order_id: str, symbol: str, side: Side, quantity: int, price: Decimal, bar: int, tag: str
) -> FillReport:
    """`FillReport(order_id, symbol, ...)`, built faster (see above)."""
    report: FillReport = _new_record(FillReport)
    _F_ID(report, order_id)
    _F_SYMBOL(report, symbol)
    _F_SIDE(report, side)
    _F_QUANTITY(report, quantity)
    _F_PRICE(report, price)
    _F_BAR(report, bar)
    _F_TAG(report, tag)
    return report


_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.SL})
_NEEDS_TRIGGER = frozenset({OrderType.SL, OrderType.SL_M})


def shape_problem(
    order_type: OrderType,
    price: object,
    trigger: object,
    stop_loss: object = None,
    stop_loss_points: object = None,
    target: object = None,
    target_points: object = None,
    tag: str = "",
) -> str | None:
    """Why these arguments cannot make one order (a LIMIT without a price, a MARKET with one,
    a stop given both as a price and as a distance...), or None. Such a call is the author's
    mistake whatever the market does, so the SDK raises it at the author's line; a value the
    market decides about (a price on the wrong side of the fill) is a rejection instead."""
    if order_type in _NEEDS_PRICE and price is None:
        return f"a {order_type} order needs a price"
    if order_type not in _NEEDS_PRICE and price is not None:
        return f"a {order_type} order takes no price"
    if order_type in _NEEDS_TRIGGER and trigger is None:
        return f"a {order_type} order needs a trigger"
    if order_type not in _NEEDS_TRIGGER and trigger is not None:
        return f"a {order_type} order takes no trigger"
    if stop_loss is not None and stop_loss_points is not None:
        return _price_or_distance("stop_loss", "stop_loss_points")
    if target is not None and target_points is not None:
        return _price_or_distance("target", "target_points")
    if not isinstance(tag, str) or len(tag) > MAX_TAG_LENGTH:
        return f"tag must be text of at most {MAX_TAG_LENGTH} characters, got {tag!r}"
    return None


def _price_or_distance(price_name: str, points_name: str) -> str:
    return (
        f"give {price_name} (a price) or {points_name} (a distance from the fill price), not both"
    )


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order as it stands now, for an `OrderHandle`."""

    order_id: str
    symbol: str
    side: Side
    quantity: int
    filled_quantity: int
    status: OrderStatus
    average_price: Decimal | None
    message: str
    fills: tuple[tuple[int, Decimal], ...]  # (quantity, price in rupees), in order


_NO_FUNDS = Decimal(0)


@dataclass(frozen=True, slots=True)
class Funds:
    """The account as its host sees it now, in rupees: cash, equity (cash plus every open
    position at its last price) and the margin the open positions block (`blocked`; the
    positions a strategy asked to leave out hold none). `free` is what a new position may
    pledge: equity not already pledged, never below zero."""

    cash: Decimal
    equity: Decimal
    blocked: Decimal

    @property
    def free(self) -> Decimal:
        return max(self.equity - self.blocked, _NO_FUNDS)


class StrategyHost(Protocol):
    """The executor a strategy is attached to: the backtester now, the live runner later."""

    def submit(self, request: OrderRequest) -> str: ...
    def cancel(self, order_id: str) -> None: ...
    def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: PriceInput | None = None,
        trigger: PriceInput | None = None,
    ) -> None: ...
    def order_state(self, order_id: str) -> OrderState: ...
    def order_status(self, order_id: str) -> OrderStatus:
        """`order_state(order_id).status`, without building the rest."""
        ...

    def position_quantity(self, symbol: str) -> int: ...
    def position_average_price(self, symbol: str) -> Decimal: ...
    def open_order_ids(self, symbol: str) -> list[str]: ...
    def instrument(self, symbol: str) -> Instrument:
        """The contract the strategy trades as `symbol`: lot size, tick size, segment..."""
        ...

    def funds(self, excluding: str | None = None) -> Funds:
        """The account now; `excluding` a symbol leaves its positions' margin out of
        `blocked` (a sizer re-sizing that instrument's position)."""
        ...


class OrderHandle:
    """What `buy`/`sell` return: the order's id, its state as it stands, and its controls.

    `str(handle)` is the order id (what `on_order` / `on_fill` updates carry)."""

    __slots__ = ("_host", "order_id")

    def __init__(self, host: StrategyHost, order_id: str) -> None:
        self._host = host
        self.order_id = order_id

    @property
    def state(self) -> OrderState:
        return self._host.order_state(self.order_id)

    @property
    def status(self) -> OrderStatus:
        return self._host.order_status(self.order_id)  # no full state built for a status

    @property
    def is_open(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def filled_quantity(self) -> int:
        return self.state.filled_quantity

    @property
    def average_price(self) -> Decimal | None:
        return self.state.average_price

    @property
    def fills(self) -> tuple[tuple[int, Decimal], ...]:
        return self.state.fills

    def cancel(self) -> None:
        """Cancel what is not filled yet (nothing happens to an order that has ended)."""
        self._host.cancel(self.order_id)

    def modify(
        self,
        *,
        quantity: QuantityInput | None = None,
        price: PriceInput | None = None,
        trigger: PriceInput | None = None,
    ) -> None:
        """Change the open order's quantity (total, filled part included), limit price or
        trigger; it works from the next bar (the next tick live) with its place in the
        queue lost, as at an exchange."""
        self._host.modify(
            self.order_id,
            quantity=int(quantity) if isinstance(quantity, np.integer) else quantity,
            price=price,
            trigger=trigger,
        )

    def __str__(self) -> str:
        return self.order_id

    def __repr__(self) -> str:
        return f"OrderHandle({self.order_id})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OrderHandle):
            return other.order_id == self.order_id
        return isinstance(other, str) and other == self.order_id

    def __hash__(self) -> int:
        return hash(self.order_id)
