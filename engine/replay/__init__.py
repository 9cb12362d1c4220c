"""Replay: recorded bars (or ticks) through the live, bar-by-bar strategy path, with the
backtester's fills.

result = replay_bars(SmaCrossover, {"fast": 10}, bars, BacktestConfig(costs="none"))
For a correct strategy its orders and trades equal run_backtest's; see runner.py. A
multi-instrument strategy is replayed step by step of its merged timeline. Recorded ticks:
replay_ticks(strategy, params, TickSeries.from_arrays(...)); see ticks.py.
"""

from engine.replay.runner import Replay, replay_bars
from engine.replay.ticks import TickDataError, TickReplay, TickSeries, replay_ticks
from engine.strategy.derived import IncrementalError, LookbackError

__all__ = [
    "IncrementalError",
    "LookbackError",
    "Replay",
    "TickDataError",
    "TickReplay",
    "TickSeries",
    "replay_bars",
    "replay_ticks",
]
