"""The engine's vocabulary: instruments, market data, orders, fills and positions.

Numbers: prices, P&L and money are `decimal.Decimal` at the domain boundary, so a price is
exactly what the exchange printed (0.05 is 0.05, not 0.05000000000000000277) and sums of cash
never drift. Floats are refused with a TypeError; pass Decimal or str (int is accepted too).
A vectorised backtest may later use integer paise internally (`to_paise`/`from_paise`), but
converts back to Decimal before results leave it. Floats belong to analytics only (returns,
ratios), never to what is summed into a cash balance.

Time: every timestamp is timezone-aware; naive datetimes are refused.

All types are frozen dataclasses validated on construction; a bad value raises a ValueError
(TypeError for a wrong type) naming the field and the value.
"""

from engine.domain.enums import Exchange, OptionType, OrderType, Product, Segment, Side, Validity
from engine.domain.fills import Fill, Position
from engine.domain.instrument import Instrument
from engine.domain.market_data import Bar, Tick
from engine.domain.money import (
    AVERAGE_PRICE_QUANTUM,
    RoundingMode,
    from_paise,
    round_to_tick,
    to_decimal,
    to_paise,
)
from engine.domain.orders import (
    ACTIVE_STATUSES,
    ORDER_TRANSITIONS,
    TERMINAL_STATUSES,
    InvalidOrderTransition,
    Order,
    OrderStatus,
    can_transition,
)

__all__ = [
    "ACTIVE_STATUSES",
    "AVERAGE_PRICE_QUANTUM",
    "ORDER_TRANSITIONS",
    "TERMINAL_STATUSES",
    "Bar",
    "Exchange",
    "Fill",
    "Instrument",
    "InvalidOrderTransition",
    "OptionType",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "Product",
    "RoundingMode",
    "Segment",
    "Side",
    "Tick",
    "Validity",
    "can_transition",
    "from_paise",
    "round_to_tick",
    "to_decimal",
    "to_paise",
]
