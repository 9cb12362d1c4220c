"""Market data for backtests: the validated in-memory BarSeries and the bar-file loader.

Prices are int64 paise and times int64 UTC nanoseconds (bar OPEN time), so vectorised code is
exact and fast; `BarSeries.price` turns paise back into Decimal rupees at the boundary.
"""

from engine.data.bar_files import load_bars
from engine.data.bar_series import BarDataError, BarSeries, infer_timeframe
from engine.timeframes import TIMEFRAMES

__all__ = ["TIMEFRAMES", "BarDataError", "BarSeries", "infer_timeframe", "load_bars"]
