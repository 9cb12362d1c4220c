"""Seeded synthetic minute bars (bench/synthetic_bars.py) as BarSeries, for engine tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from engine.backtest import BacktestConfig
from engine.data.bar_series import BarSeries

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthetic_bars import make_bars

NO_COSTS = BacktestConfig(costs="none")


def series(bars: dict[str, np.ndarray], symbol: str = "SYNTH") -> BarSeries:
    return BarSeries.from_arrays(
        symbol=symbol,
        ts=bars["ts"],
        open=bars["open"],
        high=bars["high"],
        low=bars["low"],
        close=bars["close"],
        volume=bars["volume"],
        prices_in_paise=True,
    )


__all__ = ["NO_COSTS", "make_bars", "series"]


def walk_paise(n: int, seed: int, start: int = 100_000) -> np.ndarray:
    """A seeded random walk in whole ticks (5 paise), as int64 paise."""
    steps = np.random.default_rng(seed).integers(-3, 4, n) * 5
    return np.maximum(start + np.cumsum(steps), 5).astype(np.int64)
