"""Market data for backtests: the validated in-memory BarSeries and the bar-file loader.

Prices are int64 paise and times int64 UTC nanoseconds (bar OPEN time), so vectorised code is
exact and fast; `BarSeries.price` turns paise back into Decimal rupees at the boundary.

The names below load on first use (PEP 562): importing any `engine.data.*` module runs this
file first, and the loader pulls in pandas (~0.3 s), which the desktop app's first paint
does not need (it reads the store with DuckDB alone).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.data.bar_files import load_bars
    from engine.data.bar_series import BarDataError, BarSeries, infer_timeframe
    from engine.timeframes import TIMEFRAMES

__all__ = ["TIMEFRAMES", "BarDataError", "BarSeries", "infer_timeframe", "load_bars"]

_HOMES = {
    "TIMEFRAMES": "engine.timeframes",
    "BarDataError": "engine.data.bar_series",
    "BarSeries": "engine.data.bar_series",
    "infer_timeframe": "engine.data.bar_series",
    "load_bars": "engine.data.bar_files",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value
