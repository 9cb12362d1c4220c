"""Backtesting: one strategy over historical bars with the live order model and exact costs.

result = run_backtest(SmaCrossover, {"fast": 10}, [bars], BacktestConfig(costs="zerodha"))
result.trades, result.metrics, result.weekly, result.as_json()

As a job (plain data, runnable in a worker process; the report pickles):
report = run_job(BacktestJob(StrategyRef.of_module(module, "SmaCrossover"), ("INFY",)), [bars])
"""

from engine.backtest.config import BacktestConfig, FillTiming, MarginRates, TradingCosts
from engine.backtest.job import BacktestJob, BacktestReport, run_job
from engine.backtest.result import BacktestResult, Trade
from engine.backtest.runner import BacktestInputError, StrategyRuntimeError, run_backtest

__all__ = [
    "BacktestConfig",
    "BacktestInputError",
    "BacktestJob",
    "BacktestReport",
    "BacktestResult",
    "FillTiming",
    "MarginRates",
    "StrategyRuntimeError",
    "Trade",
    "TradingCosts",
    "run_backtest",
    "run_job",
]
