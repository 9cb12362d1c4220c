"""Backtest metrics and the weekly-target badge, computed from the runner's arrays.

Entry points: `compute_metrics(curve, trades, initial_capital)` for the metrics table and
`evaluate_weekly(curve, initial_capital, target)` for the GREEN/AMBER/RED weekly badge.
Both take an `EquityCurve` (and `TradeArrays`) and return frozen dataclasses whose
`as_json()` holds only JSON-safe values (NaN and infinities as null, money as strings).
"""

from engine.metrics.drawdown import DrawdownEpisode, Drawdowns
from engine.metrics.inputs import EquityCurve, TradeArrays
from engine.metrics.performance import CurveMetrics, Metrics, compute_metrics
from engine.metrics.trades import TradeMetrics
from engine.metrics.weekly import (
    Badge,
    Criterion,
    WeeklyReport,
    WeeklyTarget,
    WeekReturn,
    evaluate_weekly,
)

__all__ = [
    "Badge",
    "Criterion",
    "CurveMetrics",
    "DrawdownEpisode",
    "Drawdowns",
    "EquityCurve",
    "Metrics",
    "TradeArrays",
    "TradeMetrics",
    "WeekReturn",
    "WeeklyReport",
    "WeeklyTarget",
    "compute_metrics",
    "evaluate_weekly",
]
