"""The strategy SDK: look-ahead-safe Series and the shape checks of I()/on() in real runs.
Parameters: test_sdk_params.py; indicators (exact SMA ties, EMA, crossovers):
test_sdk_indicators.py.

Expected values come from direct computations here: exact fractions of integer paise sums,
pandas rolling/ewm, hand-built price paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.backtest import BacktestConfig, StrategyRuntimeError, run_backtest
from engine.data import BarSeries
from engine.strategy.series import Clock
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import (
    BarView,
    LookAheadError,
    Series,
    Strategy,
    StrategyError,
    sma,
)
from tests.engine.synthetic import walk_paise

# 2026-12-21 (a Monday, an NSE session) 09:15 IST, in UTC ns
T0 = int(pd.Timestamp("2026-12-21T09:15:00+05:30").value)
MINUTE = 60 * 10**9


def bar_series(close_paise: np.ndarray) -> BarSeries:
    n = len(close_paise)
    ts = T0 + np.arange(n, dtype=np.int64) * MINUTE
    close = close_paise.astype(np.int64)
    return BarSeries.from_arrays(
        "TEST", ts, close, close + 10, close - 10, close, np.full(n, 1000), prices_in_paise=True
    )


def run(strategy: type[Strategy], n: int = 50, params: dict[str, object] | None = None) -> Any:
    return run_backtest(
        strategy, params, [bar_series(walk_paise(n, seed=3))], BacktestConfig(costs="none")
    )


# -- Series ---------------------------------------------------------------------------------
@pytest.fixture
def clocked() -> tuple[Series, Clock, np.ndarray]:
    data = np.arange(10, dtype=np.float64) * 1.5 + 100
    clock = Clock(4)
    return Series(data, clock, "close"), clock, data


def test_series_minus_one_is_the_current_bar(clocked):
    s, clock, data = clocked
    assert s[-1] == data[4]
    assert s[-2] == data[3]
    assert s[-5] == data[0]
    assert s.last == data[4]
    assert len(s) == 5
    clock.index = 7  # the engine moves the shared clock
    assert s[-1] == data[7] and len(s) == 8


def test_series_non_negative_indices_count_from_the_first_bar(clocked):
    s, _, data = clocked
    assert s[0] == data[0]
    assert s[4] == data[4]  # the current bar by absolute index
    assert s[np.int64(2)] == data[2]


@pytest.mark.parametrize("k", [5, 6, 9, 10, 100])
def test_series_past_the_clock_raises_look_ahead(clocked, k):
    s, _, _ = clocked
    with pytest.raises(LookAheadError, match=rf"close\[{k}\] is after the current bar 4"):
        s[k]


def test_series_before_the_first_bar_is_an_index_error_not_look_ahead(clocked):
    s, _, _ = clocked
    with pytest.raises(IndexError, match="before the first bar") as caught:
        s[-6]
    assert not isinstance(caught.value, LookAheadError)


def test_series_values_slices_and_arrays_are_history_only(clocked):
    s, _, data = clocked
    np.testing.assert_array_equal(s.values, data[:5])
    np.testing.assert_array_equal(np.asarray(s), data[:5])
    np.testing.assert_array_equal(s[:], data[:5])
    np.testing.assert_array_equal(s[2:100], data[2:5])
    np.testing.assert_array_equal(s[-3:], data[2:5])
    assert np.asarray(s, dtype=np.float32).dtype == np.float32
    assert len(np.asarray(s, dtype=np.float32)) == 5
    assert np.mean(s) == data[:5].mean()
    assert float(np.max(s)) == data[4]  # not data[9]
    np.testing.assert_array_equal(s.full(), data)  # the engine's whole view


def test_series_must_be_one_dimensional():
    with pytest.raises(ValueError, match="one-dimensional"):
        Series(np.zeros((3, 2)), Clock(0), "grid")


def test_np_array_of_a_series_is_a_copy(clocked):
    s, _, data = clocked
    copied = np.array(s)
    copied[0] = -1.0
    assert data[0] == 100.0
    assert s[0] == 100.0


def test_last_before_the_first_bar_does_not_see_the_future():
    s = Series(np.array([1.0, 2.0, 3.0]), Clock(), "x")
    with pytest.raises(IndexError):
        s[-1]
    with pytest.raises(IndexError):
        _ = s.last


# -- I() and on() inside a real run ---------------------------------------------------------
def test_handlers_see_history_only_through_series():
    seen: list[dict[str, Any]] = []

    class Observer(Strategy):
        def init(self) -> None:
            self.avg = self.I(sma, self.data.close, 3, name="avg3")
            assert len(self.avg) == self.data.size  # init sees the whole history
            self.on(np.arange(self.data.size) % 7 == 6, self.look)

        def look(self, bar: BarView) -> None:
            i = bar.index
            try:
                self.data.close[i + 1]
                ahead = None
            except LookAheadError as exc:
                ahead = str(exc)
            seen.append(
                {
                    "i": i,
                    "bar_index": self.bar_index,
                    "close": self.data.close[-1],
                    "bar_close": bar.close,
                    "avg": self.avg[-1],
                    "history": len(np.asarray(self.avg)),
                    "values": len(self.data.close.values),
                    "first": self.data.close[0],
                    "ahead": ahead,
                }
            )

    closes = walk_paise(50, seed=3)
    run(Observer)
    expected_avg = sma(closes / 100.0, 3)
    assert [row["i"] for row in seen] == list(range(6, 50, 7))
    for row in seen:
        i = row["i"]
        assert row["bar_index"] == i
        assert row["close"] == row["bar_close"] == closes[i] / 100
        assert row["avg"] == expected_avg[i]
        assert row["history"] == row["values"] == i + 1
        assert row["first"] == closes[0] / 100
        if i + 1 < 50:
            assert row["ahead"] is not None and "after the current bar" in row["ahead"]


@pytest.mark.parametrize(
    ("result", "shape"), [(lambda c: c[:-1], "(49,)"), (lambda c: np.c_[c, c], "(50, 2)")]
)
def test_indicator_of_the_wrong_shape_is_refused(result, shape):
    class BadIndicator(Strategy):
        def init(self) -> None:
            self.I(result, self.data.close, name="broken")

    with pytest.raises(StrategyRuntimeError) as caught:
        run(BadIndicator)
    cause = caught.value.__cause__
    assert isinstance(cause, StrategyError)
    assert str(cause) == (
        f"indicator broken returned shape {shape}; expected one value per bar (50)"
    )
    assert "in init()" in str(caught.value) and "BadIndicator" in str(caught.value)


def test_condition_of_the_wrong_shape_is_refused():
    class BadCondition(Strategy):
        def init(self) -> None:
            self.on(np.ones(49, dtype=bool), self.go)

        def go(self, bar: BarView) -> None:
            pass

    with pytest.raises(StrategyRuntimeError) as caught:
        run(BadCondition)
    cause = caught.value.__cause__
    assert isinstance(cause, StrategyError)
    assert str(cause) == "condition for go has shape (49,); expected one value per bar (50)"


def test_conditions_may_be_series_or_arrays_and_pick_the_bars():
    calls: list[tuple[str, int]] = []

    class Picker(Strategy):
        def init(self) -> None:
            bars = np.arange(self.data.size)
            self.on(self.I(lambda n: n % 10 == 0, bars, name="tens"), self.tens)
            self.on((bars == 7).tolist(), self.seven)

        def tens(self, bar: BarView) -> None:
            calls.append(("tens", bar.index))

        def seven(self, bar: BarView) -> None:
            calls.append(("seven", bar.index))

    run(Picker)
    assert calls == [("tens", 0), ("seven", 7), ("tens", 10), ("tens", 20)] + [
        ("tens", i) for i in (30, 40)
    ]


def test_positions_outside_a_run_are_refused():
    with pytest.raises(StrategyError, match="only while the strategy runs"):
        SmaCrossover().position  # noqa: B018
    with pytest.raises(StrategyError, match="only while the strategy runs"):
        SmaCrossover().open_orders()


def test_orders_outside_a_run_are_refused():
    with pytest.raises(StrategyError, match="only while the strategy runs"):
        SmaCrossover().buy(1)
