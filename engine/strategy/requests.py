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
from engine.domain.orders import OrderStatus

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


class StrategyHost(Protocol):
    """The executor a strategy is attached to: the backtester now, the live runner later."""

    def submit(self, request: OrderRequest) -> str: ...
    def cancel(self, order_id: str) -> None: ...
    def position_quantity(self, symbol: str) -> int: ...
    def position_average_price(self, symbol: str) -> Decimal: ...
    def open_order_ids(self, symbol: str) -> list[str]: ...
