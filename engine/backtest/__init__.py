"""Backtesting: one strategy over historical bars with the live order model and exact costs.

result = run_backtest(SmaCrossover, {"fast": 10}, [bars], BacktestConfig(costs="zerodha"))
result.trades, result.metrics, result.weekly, result.as_json()
"""

from engine.backtest.config import BacktestConfig, FillTiming, MarginRates
from engine.backtest.result import BacktestResult, Trade
from engine.backtest.runner import BacktestInputError, StrategyRuntimeError, run_backtest

__all__ = [
    "BacktestConfig",
    "BacktestInputError",
    "BacktestResult",
    "FillTiming",
    "MarginRates",
    "StrategyRuntimeError",
    "Trade",
    "run_backtest",
]
