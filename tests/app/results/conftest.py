"""A real backtest for the results tests: sma_crossover over seeded synthetic minute bars,
with Zerodha's charges (the bars end in 2026, inside the modelled schedules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.backtest import BacktestConfig, BacktestResult, run_backtest
from engine.data.bar_series import BarSeries
from strategies.reference import load_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from synthetic_bars import make_bars


def real_run(n: int = 20_000, seed: int = 7, costs: str = "zerodha") -> BacktestResult:
    bars = make_bars(n, seed=seed)
    series = BarSeries.from_arrays(
        symbol="SYNTH",
        ts=bars["ts"],
        open=bars["open"],
        high=bars["high"],
        low=bars["low"],
        close=bars["close"],
        volume=bars["volume"],
        prices_in_paise=True,
    )
    return run_backtest(
        load_reference("sma_crossover"),
        {"fast": 5, "slow": 12},
        [series],
        BacktestConfig(capital="1000000", costs=costs),
    )


@pytest.fixture(scope="session")
def result() -> BacktestResult:
    return real_run()
