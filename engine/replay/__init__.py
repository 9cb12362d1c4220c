"""Replay: recorded bars through the live, bar-by-bar strategy path, with the backtester's fills.

result = replay_bars(SmaCrossover, {"fast": 10}, bars, BacktestConfig(costs="none"))
For a correct strategy its orders and trades equal run_backtest's; see runner.py.
"""

from engine.replay.runner import Replay, replay_bars
from engine.strategy.derived import IncrementalError, LookbackError

__all__ = ["IncrementalError", "LookbackError", "Replay", "replay_bars"]
