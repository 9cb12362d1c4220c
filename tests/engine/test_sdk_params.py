"""The strategy SDK's typed parameters: coercion of text and numbers, ranges and choices,
NaN, bad defaults caught when the class is made, and parameters on Strategy classes
(declaration order, inheritance, per-instance values, errors that name the parameter).
"""

from __future__ import annotations

import inspect
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.backtest import StrategyRuntimeError, run_backtest
from engine.strategy.params import ParamSpec
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import BarView, Param, ParamError, Strategy, crossed_above, sma
from tests.engine.synthetic import NO_COSTS, make_bars, series


def declared(default: Any, name: str = "p", **options: Any) -> Param[Any]:
    """A Param as it is once a class body has named it."""
    param: Param[Any] = Param(default, **options)
    param.__set_name__(object, name)
    return param


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


# -- Param: read-only during a run ----------------------------------------------------------
class Retunes(SmaCrossover):
    """Changes its own parameter on the third cross up: the report would say fast=12 while
    the strategy traded something else."""

    def init(self) -> None:
        self.crosses = 0  # the author's own attributes stay writable
        super().init()

    def enter(self, bar: BarView) -> None:
        self.crosses += 1
        if self.crosses == 3:
            self.fast = 99  # marker: retune-line
        super().enter(bar)


class RetunesInInit(Strategy):
    lookback = Param(20, min=2)

    def init(self) -> None:
        self.lookback = self.lookback * 2  # marker: init-retune-line
        average = self.I(sma, self.data.close, self.lookback)
        self.on(crossed_above(self.data.close, average), lambda bar: None)


def _line_of(marker: str) -> int:
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, text in enumerate(lines, 1) if text.endswith(f"# marker: {marker}")]
    return number


BARS = series(make_bars(3_000, seed=5))


def test_assigning_a_parameter_in_a_handler_stops_the_run_at_the_authors_line():
    with pytest.raises(StrategyRuntimeError) as caught:
        run_backtest(Retunes, {"fast": 12}, [BARS], NO_COSTS)
    message = str(caught.value)
    assert (
        "raised AttributeError: fast is a declared parameter (fast=12); parameters are "
        "read-only during a run: keep your own value in another attribute" in message
    )
    assert f"{inspect.getfile(Retunes)}:{_line_of('retune-line')}" in message
    # the third cross up, found independently of the strategy
    close = BARS.close.astype(np.int64)
    fast = np.convolve(close, np.ones(12, np.int64), "valid")[30 - 12 :] * 30
    slow = np.convolve(close, np.ones(30, np.int64), "valid") * 12
    above = fast > slow
    third = 29 + 1 + int(np.flatnonzero(above[1:] & ~above[:-1])[2])
    assert f"on SYNTH bar {third} (" in message


def test_assigning_a_parameter_in_init_is_refused_with_the_value_in_force():
    with pytest.raises(StrategyRuntimeError) as caught:
        run_backtest(RetunesInInit, None, [BARS], NO_COSTS)
    message = str(caught.value)
    assert "lookback is a declared parameter (lookback=20); parameters are read-only" in message
    assert "in init()" in message
    assert f"{inspect.getfile(RetunesInInit)}:{_line_of('init-retune-line')}" in message


def test_a_parameter_cannot_be_assigned_outside_a_run_either():
    strategy = SmaCrossover({"fast": 5})
    with pytest.raises(AttributeError, match=r"^fast is a declared parameter \(fast=5\)"):
        strategy.fast = 7
    assert strategy.fast == 5
    assert strategy.params == {"fast": 5, "slow": 30, "quantity": 100}
    strategy.note = "own attributes are fine"
    assert strategy.note == "own attributes are fine"
