"""The strategy SDK: typed parameters, look-ahead-safe Series, the shape checks of I()/on(),
and the indicators (exact SMA ties, EMA, crossover semantics).

Expected values come from direct computations here: exact fractions of integer paise sums,
pandas rolling/ewm, hand-built price paths.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.backtest import BacktestConfig, StrategyRuntimeError, run_backtest
from engine.data import BarSeries
from engine.strategy.params import ParamSpec
from engine.strategy.series import Clock
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import (
    BarView,
    LookAheadError,
    Param,
    ParamError,
    Series,
    Strategy,
    StrategyError,
    crossed_above,
    crossed_below,
    ema,
    sma,
)

# 2026-12-21 (a Monday, an NSE session) 09:15 IST, in UTC ns
T0 = int(pd.Timestamp("2026-12-21T09:15:00+05:30").value)
MINUTE = 60 * 10**9


def declared(default: Any, name: str = "p", **options: Any) -> Param[Any]:
    """A Param as it is once a class body has named it."""
    param: Param[Any] = Param(default, **options)
    param.__set_name__(object, name)
    return param


def walk_paise(n: int, seed: int, start: int = 100_000) -> np.ndarray:
    """A seeded random walk in whole ticks (5 paise), as int64 paise."""
    steps = np.random.default_rng(seed).integers(-3, 4, n) * 5
    return np.maximum(start + np.cumsum(steps), 5).astype(np.int64)


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


# -- Param: coercion ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("default", "given", "expected"),
    [
        (10, "12", 12),
        (10, " 7 ", 7),
        (10, "-3", -3),
        (1.5, "2.25", 2.25),
        (1.5, "3", 3.0),
        (1.5, 4, 4.0),
        (True, "false", False),
        (True, "0", False),
        (True, "off", False),
        (False, "YES", True),
        (False, " on ", True),
        (False, "1", True),
        (Decimal("0.5"), "0.05", Decimal("0.05")),
        (Decimal("0.5"), "1e-2", Decimal("0.01")),
        (Decimal("0.5"), 3, Decimal(3)),
        ("sma", "ema", "ema"),
    ],
)
def test_param_coerces_text_and_numbers_to_its_type(default, given, expected):
    value = declared(default).coerce(given)
    assert value == expected
    assert type(value) is type(default)


def test_decimal_param_keeps_the_text_exactly():
    value = declared(Decimal("0.5")).coerce("0.10")
    assert value == Decimal("0.1") and str(value) == "0.10"
    assert value != 0.1  # not routed through a float


@pytest.mark.parametrize(
    ("default", "given"),
    [
        (10, "abc"),
        (10, "1.5"),
        (10, ""),
        (1.5, "x"),
        (True, "maybe"),
        (True, "2"),
        (Decimal("1"), "1,5"),
        (Decimal("1"), "ten"),
    ],
)
def test_param_rejects_text_of_the_wrong_type_naming_it(default, given):
    with pytest.raises(ParamError) as caught:
        declared(default, "lookback").coerce(given)
    message = str(caught.value)
    assert "lookback" in message and repr(given) in message
    assert type(default).__name__ in message


@pytest.mark.parametrize(
    ("default", "given"),
    [(10, True), (10, 2.0), (1.5, b"1.5"), (True, 1), (Decimal(1), 1.5), ("a", 1)],
)
def test_param_rejects_python_values_of_the_wrong_type(default, given):
    with pytest.raises(ParamError, match="parameter q: expected"):
        declared(default, "q").coerce(given)


def test_param_range_is_inclusive_and_errors_name_the_parameter():
    fast = declared(10, "fast", min=2, max=200)
    assert fast.coerce("2") == 2
    assert fast.coerce("200") == 200
    with pytest.raises(ParamError, match=r"^parameter fast=1: must be >= 2$"):
        fast.coerce("1")
    with pytest.raises(ParamError, match=r"^parameter fast=201: must be <= 200$"):
        fast.coerce(201)
    risk = declared(Decimal("0.01"), "risk", min=Decimal(0), max=Decimal("0.05"))
    with pytest.raises(ParamError, match=r"risk=Decimal\('0.06'\): must be <= 0.05"):
        risk.coerce("0.06")


def test_param_choices_errors_list_the_choices():
    kind = declared("sma", "kind", choices=["sma", "ema"])
    assert kind.coerce("ema") == "ema"
    with pytest.raises(ParamError, match=r"^parameter kind='wma': must be one of sma, ema$"):
        kind.coerce("wma")
    period = declared(5, "period", choices=(5, 15, 60))
    assert period.coerce("15") == 15
    with pytest.raises(ParamError, match=r"period=10: must be one of 5, 15, 60"):
        period.coerce("10")


def test_float_param_refuses_nan():
    stop = declared(1.0, "stop", min=0.0, max=10.0)
    with pytest.raises(ParamError, match="stop"):
        stop.coerce("nan")


def test_decimal_param_refuses_nan_with_a_param_error():
    risk = declared(Decimal("0.01"), "risk", min=Decimal(0))
    with pytest.raises(ParamError, match="risk"):
        risk.coerce("NaN")


def _param_error_in(exc: BaseException) -> ParamError:
    """Python 3.11 wraps errors from __set_name__ in RuntimeError; 3.12+ does not."""
    found: BaseException | None = exc
    while found is not None and not isinstance(found, ParamError):
        found = found.__cause__
    assert isinstance(found, ParamError), repr(exc)
    return found


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Param(0, min=1), "lookback=0: must be >= 1"),
        (lambda: Param(300, max=200), "lookback=300: must be <= 200"),
        (lambda: Param("wma", choices=["sma", "ema"]), "lookback='wma': must be one of sma, ema"),
    ],
)
def test_a_bad_default_is_refused_when_the_class_is_created(make, message):
    with pytest.raises((ParamError, RuntimeError)) as caught:
        type("Bad", (Strategy,), {"lookback": make()})
    assert "lookback" in str(caught.value)
    assert message in str(_param_error_in(caught.value))


# -- Param: on a Strategy -------------------------------------------------------------------
class Base(Strategy):
    alpha = Param(1, min=0, help="first")
    beta = Param(0.5, help="second")


class Child(Base):
    gamma = Param(True, help="third")
    beta = Param(0.25, min=0.0, max=1.0, help="second, narrowed")


class Bare(Strategy):
    pass


def test_parameters_lists_specs_in_declaration_order():
    assert SmaCrossover.parameters() == [
        ParamSpec("fast", int, 10, 1, 500, None, None, "bars in the fast simple moving average"),
        ParamSpec("slow", int, 30, 2, 2000, None, None, "bars in the slow simple moving average"),
        ParamSpec(
            "quantity", int, 100, 1, None, None, None, "shares (or units) bought on a cross up"
        ),
    ]
    assert Bare.parameters() == []


def test_parameters_puts_base_class_ones_first_and_a_redeclaration_wins():
    specs = Child.parameters()
    assert [s.name for s in specs] == ["alpha", "beta", "gamma"]
    beta = specs[1]
    assert (beta.kind, beta.default, beta.minimum, beta.maximum) == (float, 0.25, 0.0, 1.0)
    assert beta.help == "second, narrowed"
    assert specs[2] == ParamSpec("gamma", bool, True, None, None, None, None, "third")


def test_instances_read_their_own_coerced_values():
    a = SmaCrossover({"fast": "5", "slow": 20})
    b = SmaCrossover()
    assert (a.fast, a.slow, a.quantity) == (5, 20, 100)
    assert a.params == {"fast": 5, "slow": 20, "quantity": 100}
    assert list(a.params) == ["fast", "slow", "quantity"]
    assert (b.fast, b.slow) == (10, 30)
    assert isinstance(SmaCrossover.fast, Param)  # on the class: the declaration itself
    child = Child({"beta": "0.75", "gamma": "no"})
    assert (child.alpha, child.beta, child.gamma) == (1, 0.75, False)


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ParamError) as caught:
        SmaCrossover({"fats": 5})
    assert str(caught.value) == (
        "SmaCrossover has no parameter 'fats' (parameters: fast, slow, quantity)"
    )
    with pytest.raises(ParamError, match=r"\(parameters: none\)"):
        Bare({"x": 1})


def test_bad_value_on_construction_names_the_parameter():
    with pytest.raises(ParamError, match=r"parameter slow=1: must be >= 2"):
        SmaCrossover({"slow": "1"})
    with pytest.raises(ParamError, match=r"parameter fast: 'abc' is not a valid int"):
        SmaCrossover({"fast": "abc"})


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


# -- sma: exact ties ------------------------------------------------------------------------
def test_equal_averages_of_different_windows_compare_equal():
    # (100.05 + 100.15) / 2 == (100.10 + 100.05 + 100.15) / 3 == 100.10 exactly,
    # but naive float arithmetic says otherwise:
    assert (100.05 + 100.15) / 2 != (100.10 + 100.05 + 100.15) / 3
    x = [100.10, 100.05, 100.15]
    assert sma(x, 2)[2] == sma(x, 3)[2] == 100.10


def test_sma_ties_and_order_match_exact_fractions_along_a_long_walk():
    paise = walk_paise(20_000, seed=42)
    # plant ties: x[t-1] + x[t] == 2 x[t-2], so SMA2[t] == SMA3[t] exactly
    for t in range(2, len(paise), 9):
        d = 5 * (t % 7 + 1)
        paise[t - 1], paise[t] = paise[t - 2] - d, paise[t - 2] + d
    rupees = paise / 100.0
    s2, s3 = sma(rupees, 2), sma(rupees, 3)
    sums2 = paise[1:].astype(object) + paise[:-1]
    sums3 = sums2[1:] + paise[:-2]
    ties = 0
    for t in range(2, len(paise)):
        exact2 = Fraction(int(sums2[t - 1]), 200)
        exact3 = Fraction(int(sums3[t - 2]), 300)
        assert s2[t] == float(exact2) and s3[t] == float(exact3)  # correctly rounded
        assert (s2[t] > s3[t]) == (exact2 > exact3)
        assert (s2[t] == s3[t]) == (exact2 == exact3)
        ties += exact2 == exact3
    assert ties >= len(paise) // 9


# -- sma / ema against direct computations --------------------------------------------------
@pytest.mark.parametrize("length", [1, 2, 5, 30, 200])
def test_sma_matches_a_pandas_rolling_mean(length):
    x = walk_paise(5_000, seed=length) / 100.0
    got = sma(x, length)
    expected = pd.Series(x).rolling(length).mean().to_numpy()
    assert np.isnan(got[: length - 1]).all()
    np.testing.assert_allclose(got[length - 1 :], expected[length - 1 :], rtol=1e-12, atol=0)


def test_sma_of_arbitrary_floats_and_of_integers():
    noisy = np.random.default_rng(5).normal(50, 10, 3_000)  # not on the paisa grid
    np.testing.assert_allclose(
        sma(noisy, 20)[19:], pd.Series(noisy).rolling(20).mean().to_numpy()[19:], rtol=1e-9
    )
    volume = np.random.default_rng(6).integers(1, 10_000, 500)
    exact = [float(Fraction(int(volume[t - 4 : t + 1].sum()), 5)) for t in range(4, 500)]
    assert sma(volume, 5)[4:].tolist() == exact


def test_sma_edges():
    assert np.isnan(sma([1.0, 2.0], 3)).all() and len(sma([1.0, 2.0], 3)) == 2
    np.testing.assert_array_equal(sma([1.05, 2.10, 3.15], 1), [1.05, 2.10, 3.15])
    with pytest.raises(ValueError, match="length must be >= 1"):
        sma([1.0], 0)


@pytest.mark.parametrize("length", [1, 3, 12, 26])
def test_ema_matches_a_pandas_ewm_seeded_with_the_sma(length):
    x = walk_paise(2_000, seed=100 + length) / 100.0
    got = ema(x, length)
    seeded = np.r_[x[:length].mean(), x[length:]]
    expected = pd.Series(seeded).ewm(alpha=2 / (length + 1), adjust=False).mean().to_numpy()
    assert np.isnan(got[: length - 1]).all()
    np.testing.assert_allclose(got[length - 1 :], expected, rtol=1e-12, atol=0)


def test_ema_by_hand():
    got = ema([10.0, 11.0, 12.0, 14.0], 3)  # alpha 0.5, seed (10+11+12)/3 = 11
    assert np.isnan(got[:2]).all()
    assert got[2:].tolist() == [11.0, 12.5]
    with pytest.raises(ValueError, match="length must be >= 1"):
        ema([1.0], 0)


def test_sma_of_an_indicator_with_a_warm_up():
    x = walk_paise(100, seed=9) / 100.0
    inner = sma(x, 3)
    got = sma(inner, 2)
    expected = pd.Series(inner).rolling(2).mean().to_numpy()
    assert np.isnan(got[:3]).all()
    np.testing.assert_allclose(got[3:], expected[3:], rtol=1e-12)


def test_ema_of_an_indicator_with_a_warm_up():
    x = walk_paise(200, seed=10) / 100.0
    macd = ema(x, 12) - ema(x, 26)  # NaN for the first 25 bars
    signal = ema(macd, 9)
    first = 25 + 9 - 1
    assert np.isnan(signal[:first]).all()
    seeded = np.r_[macd[25 : 25 + 9].mean(), macd[25 + 9 :]]
    expected = pd.Series(seeded).ewm(alpha=0.2, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(signal[first:], expected, rtol=1e-12)


# -- crossovers -----------------------------------------------------------------------------
def test_crossed_above_and_below_basic_semantics():
    a = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 2.0, 3.0]
    b = [2.0] * 8
    # above at t: a[t] > b[t] and a[t-1] <= b[t-1]; touching (a == b) is not crossing
    assert np.flatnonzero(crossed_above(a, b)).tolist() == [2, 7]
    assert np.flatnonzero(crossed_below(a, b)).tolist() == [4]
    assert crossed_above(a, b).dtype == bool
    assert not crossed_above([5.0], [1.0])[0]  # bar 0 has no previous bar


def test_crossings_involving_nan_are_false():
    nan = np.nan
    a = [nan, 3.0, 1.0, 3.0, nan, 3.0, 1.0]
    b = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    # t=1: previous is NaN; t=4: current is NaN; t=5: previous is NaN
    assert np.flatnonzero(crossed_above(a, b)).tolist() == [3]
    assert np.flatnonzero(crossed_below(a, b)).tolist() == [2, 6]
    assert not crossed_above([1.0, 3.0], [nan, 2.0]).any()
    assert not crossed_below([3.0, 1.0], [2.0, nan]).any()


def test_first_sma_cross_is_possible_at_t_equal_slow():
    # an exact tie on the first bar where SMA3 exists (t = 2), fast above at t = 3 = slow
    x = [100.10, 100.05, 100.15, 100.20]
    fast, slow = sma(x, 2), sma(x, 3)
    assert fast[2] == slow[2]
    assert np.flatnonzero(crossed_above(fast, slow)).tolist() == [3]
    # already above on the first valid bar: that is not a cross, at slow - 1 or later
    rising = np.arange(1, 41) * 0.05 + 100
    assert not crossed_above(sma(rising, 10), sma(rising, 30)).any()
    falling = rising[::-1].copy()
    assert not crossed_below(sma(falling, 10), sma(falling, 30)).any()


@pytest.mark.parametrize("seed", range(8))
def test_no_sma_cross_before_t_equal_slow(seed):
    x = walk_paise(400, seed=seed) / 100.0
    for fast, slow in ((2, 3), (5, 20), (10, 30)):
        up = crossed_above(sma(x, fast), sma(x, slow))
        down = crossed_below(sma(x, fast), sma(x, slow))
        assert not up[:slow].any() and not down[:slow].any()
        assert up.any() and down.any()
