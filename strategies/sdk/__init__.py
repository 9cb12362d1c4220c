"""Everything a strategy author imports: `from strategies.sdk import Strategy, Param, sma`."""

from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.orders import OrderStatus
from engine.strategy.base import BarView, PositionView, Strategy, StrategyError, StrategyState
from engine.strategy.params import Param, ParamError
from engine.strategy.requests import FillReport, OrderHandle, OrderState, OrderUpdate
from engine.strategy.series import LookAheadError, Series
from strategies.sdk.indicators import (
    atr,
    bollinger_lower,
    bollinger_middle,
    bollinger_upper,
    crossed_above,
    crossed_below,
    ema,
    hedge_ratio,
    highest,
    lowest,
    opening_range_high,
    opening_range_low,
    rsi,
    session_vwap,
    sma,
    volume_ratio,
    zscore,
)

__all__ = [
    "BarView",
    "FillReport",
    "LookAheadError",
    "OrderHandle",
    "OrderState",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "Param",
    "ParamError",
    "PositionView",
    "Product",
    "Series",
    "Side",
    "Strategy",
    "StrategyError",
    "StrategyState",
    "Validity",
    "atr",
    "bollinger_lower",
    "bollinger_middle",
    "bollinger_upper",
    "crossed_above",
    "crossed_below",
    "ema",
    "hedge_ratio",
    "highest",
    "lowest",
    "opening_range_high",
    "opening_range_low",
    "rsi",
    "session_vwap",
    "sma",
    "volume_ratio",
    "zscore",
]
