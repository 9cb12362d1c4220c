"""Strategies shipped with Artha, found by name (`artha backtest --strategy sma_crossover`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names are listed without loading the strategy base (numpy)
    from engine.strategy.base import Strategy

# name -> "module:Class" (imported on demand so listing names stays cheap)
REFERENCE_STRATEGIES: dict[str, str] = {
    "ema_rsi_breakout": "strategies.reference.ema_rsi_breakout:EmaRsiBreakout",
    "mean_reversion_vwap": "strategies.reference.mean_reversion_vwap:MeanReversionVwap",
    "momentum_breakout": "strategies.reference.momentum_breakout:MomentumBreakout",
    "pairs_trading": "strategies.reference.pairs_trading:PairsTrading",
    "sma_crossover": "strategies.reference.sma_crossover:SmaCrossover",
}


def load_reference(name: str) -> type[Strategy]:
    try:
        target = REFERENCE_STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(REFERENCE_STRATEGIES))
        raise KeyError(f"no reference strategy {name!r} (known: {known})") from None
    module_name, class_name = target.split(":")
    cls: type[Strategy] = getattr(importlib.import_module(module_name), class_name)
    return cls
