"""Indicators that remember how they were made (the evaluator is in incremental.py).

A backtest computes every indicator once over the whole history (fast). Live, the SAME strategy
class must keep its indicators and conditions current one bar at a time, without recomputing
history and without seeing anything after the bar. The author writes nothing twice:

- `Strategy.I(fn, *args)` returns a `DerivedSeries`: the full-history values, as before, plus a
  `Recipe` (fn, args with Series kept as references, kwargs, lookback).
- SDK indicators (`sma`, `ema`, `crossed_above`, ...) are wrapped with `@indicator`. Given a
  Series they return a DerivedSeries; given arrays they return arrays exactly as before and,
  while an evaluator records `init()`, remember how each array was made, so that
  `self.on(crossed_above(fast.full(), slow.full()), handler)` can still be followed back to the
  indicators it came from. Comparisons and `& | ~` of DerivedSeries are DerivedSeries too.
- `IncrementalEvaluator` runs `init()` once on the history it is given, then for every new bar
  appends it to the bar arrays (preallocated, doubling: amortised O(1)), computes each recorded
  indicator's value at the new bar from the trailing window it needs, evaluates each condition
  at that bar only, and returns the handlers to call with the clock at that bar.

How an indicator is extended, first rule that applies:
 1. `self.I(..., lookback=N)`: from the last N values of each per-bar input;
    `lookback="full"`: from the whole history (always right for a causal function, O(n)).
 2. the function declares it: `@indicator(update=step)` (a recursive step such as the EMA's
    new = prev + alpha * (x - prev): exact and O(1)), with `state=True` when the step carries
    running values its outputs do not show (Wilder's average gain and loss, a session's sums),
    or `@indicator(lookback=...)`.
 3. inferred: one more than the largest int argument (`f(close, 30)` -> 31 bars), which covers
    windows and n-bar differences; with no int argument, the full history.
The contract is that the value at bar t depends only on the inputs' last `lookback` values up
to t. A lookback that is too short (or an indicator that reads bars after t, i.e. look-ahead)
breaks it silently in the arithmetic, so it is checked: `check_history()` recomputes sample
bars of the warm-up history before trading, and `audit()` compares every value produced bar by
bar with the whole-array computation after a replay; both name the indicator and the first bar
that differs (floats within 1e-9 relative, everything else exactly).

Limits (documented, detected where possible): an array computed in `init()` by plain numpy
(`np.arange(...) == k`, `fast.full() > slow.full()`) has no recipe and cannot be extended; the
evaluator refuses it when it starts, naming the handler. Arrays kept from `init()` (rather than
the Series) do not grow; read Series in handlers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt

from engine.strategy.base import Strategy, StrategyError
from engine.strategy.series import Clock, Series, whole

if TYPE_CHECKING:
    pass

Lookback = int | Literal["full"] | None
"""None: declared by the function or inferred; an int: that many bars; "full": all bars."""
LookbackSpec = int | Literal["full"] | Callable[..., int | Literal["full"] | None] | None
UpdateFn = Callable[..., Any]
"""update(previous_outputs, *inputs, **kwargs) -> value at the newest bar; inputs are whole."""

F = TypeVar("F", bound=Callable[..., Any])
AnyArray = npt.NDArray[Any]

_LOOKBACK_ATTR = "__artha_lookback__"
_UPDATE_ATTR = "__artha_update__"
_RAW_ATTR = "__artha_raw__"
_STATE_ATTR = "__artha_state__"
_RTOL = 1e-9
_ATOL = 1e-12
_SOURCES = ("ts", "open", "high", "low", "close", "volume")


class IncrementalError(StrategyError):
    """The strategy cannot be run bar by bar as written; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An indicator whose bar-by-bar value differs from its whole-array value."""

    name: str
    bar: int
    incremental: Any
    full: Any
    how: str  # how its lookback was chosen

    def __str__(self) -> str:
        return (
            f"indicator {self.name} ({self.how}) is {self.incremental!r} at bar {self.bar} "
            f"computed bar by bar but {self.full!r} over the whole array"
        )


class LookbackError(IncrementalError):
    """An indicator needs more history than its lookback, or reads bars after the current one."""

    def __init__(self, mismatches: Sequence[Mismatch]) -> None:
        self.mismatches = list(mismatches)
        lines = "; ".join(str(m) for m in self.mismatches[:5])
        more = f" (and {len(self.mismatches) - 5} more)" if len(self.mismatches) > 5 else ""
        super().__init__(
            f"{lines}{more}. Its value at a bar needs more past bars than its lookback, or "
            "depends on later bars (look-ahead). Declare a longer window with "
            "self.I(..., lookback=N), lookback='full', or a recursive @indicator(update=...)"
        )


@dataclass(frozen=True, slots=True, eq=False)
class Recipe:
    """How a DerivedSeries was made: `fn(*args, **kwargs)`, Series arguments by reference."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    lookback: Lookback = None
    name: str = ""

    def __post_init__(self) -> None:
        check_lookback(self.lookback, self.name)


def check_lookback(lookback: object, name: str = "") -> None:
    if lookback is None or lookback == "full":
        return
    if isinstance(lookback, bool) or not isinstance(lookback, int | np.integer) or lookback < 1:
        raise StrategyError(
            f"lookback of {name or 'indicator'} must be a whole number of bars >= 1 or "
            f"'full', got {lookback!r}"
        )


class DerivedSeries(Series):
    """A Series that remembers its Recipe, so an evaluator can extend it bar by bar."""

    __slots__ = ("recipe",)

    def __init__(self, values: npt.ArrayLike, clock: Clock, name: str, recipe: Recipe) -> None:
        super().__init__(values, clock, name)
        self.recipe = recipe

    def __repr__(self) -> str:
        return f"DerivedSeries({self.name!r}, bars={len(self)}/{len(whole(self))})"

    # comparisons and logic build conditions that keep their recipe: self.on(fast > slow, ...)
    def __gt__(self, other: object) -> DerivedSeries:
        return _binary(_greater, self, other, ">")

    def __ge__(self, other: object) -> DerivedSeries:
        return _binary(_greater_equal, self, other, ">=")

    def __lt__(self, other: object) -> DerivedSeries:
        return _binary(_less, self, other, "<")

    def __le__(self, other: object) -> DerivedSeries:
        return _binary(_less_equal, self, other, "<=")

    def __and__(self, other: object) -> DerivedSeries:
        return _binary(_logical_and, self, other, "&")

    def __rand__(self, other: object) -> DerivedSeries:
        return _binary(_logical_and, other, self, "&")

    def __or__(self, other: object) -> DerivedSeries:
        return _binary(_logical_or, self, other, "|")

    def __ror__(self, other: object) -> DerivedSeries:
        return _binary(_logical_or, other, self, "|")

    def __invert__(self) -> DerivedSeries:
        return _derive(_logical_not, (self,), {}, f"~{self.name}", 1)


def _greater(a: AnyArray, b: AnyArray) -> AnyArray:
    return np.asarray(np.greater(a, b))


def _greater_equal(a: AnyArray, b: AnyArray) -> AnyArray:
    return np.asarray(np.greater_equal(a, b))


def _less(a: AnyArray, b: AnyArray) -> AnyArray:
    return np.asarray(np.less(a, b))


def _less_equal(a: AnyArray, b: AnyArray) -> AnyArray:
    return np.asarray(np.less_equal(a, b))


def _logical_and(a: AnyArray, b: AnyArray) -> AnyArray:
    return np.asarray(np.logical_and(a, b))


def _logical_or(a: AnyArray, b: AnyArray) -> AnyArray:
    return np.asarray(np.logical_or(a, b))


def _logical_not(a: AnyArray) -> AnyArray:
    return np.asarray(np.logical_not(a))


def _binary(fn: Callable[..., AnyArray], a: object, b: object, op: str) -> DerivedSeries:
    return _derive(fn, (a, b), {}, f"({_label(a)} {op} {_label(b)})", 1)


# -- making derived series ------------------------------------------------------------------


class _Recorder:
    """What `init()` made while an evaluator watched: every DerivedSeries, and how each
    array returned by an @indicator function was computed."""

    def __init__(self) -> None:
        self.derived: list[DerivedSeries] = []
        self.arrays: dict[tuple[Any, ...], tuple[AnyArray, Recipe]] = {}
        self.conditions: list[tuple[Strategy, object]] = []  # what on() was given, in order


_RECORDER: ContextVar[_Recorder | None] = ContextVar("artha_indicator_recorder", default=None)


@contextmanager
def _recording() -> Iterator[_Recorder]:
    recorder = _Recorder()
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)


def make_derived(values: npt.ArrayLike, clock: Clock, name: str, recipe: Recipe) -> DerivedSeries:
    """The DerivedSeries `Strategy.I` returns; noted if an evaluator is recording init()."""
    series = DerivedSeries(values, clock, name, recipe)
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.derived.append(series)
    return series


def note_condition(strategy: Strategy, condition: object) -> None:
    """Called by Strategy.on(): keeps what it was given while an evaluator records init()."""
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.conditions.append((strategy, condition))


def derived(
    fn: Callable[..., Any], *args: Any, name: str = "", lookback: Lookback = None, **kwargs: Any
) -> DerivedSeries:
    """`fn` over the history of its Series arguments (up to the current bar), as a
    DerivedSeries on their clock: the building block of SDK helpers that accept Series."""
    return _derive(fn, args, kwargs, name, lookback)


def _derive(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    name: str,
    lookback: Lookback,
) -> DerivedSeries:
    clock = next((a._clock for a in (*args, *kwargs.values()) if isinstance(a, Series)), None)
    if clock is None:
        raise TypeError(f"{_name_of(fn)}: a derived series needs at least one Series argument")
    raw = _raw(fn)
    values = np.asarray(
        raw(*[_history(a) for a in args], **{k: _history(v) for k, v in kwargs.items()})
    )
    label = name or f"{_name_of(fn)}({', '.join(_label(a) for a in args)})"
    if values.shape != (clock.index + 1,):
        raise StrategyError(
            f"indicator {label} returned shape {values.shape}; expected one value per bar "
            f"({clock.index + 1})"
        )
    return make_derived(
        values, clock, label, Recipe(fn, tuple(args), dict(kwargs), lookback, label)
    )


def indicator(
    *, lookback: LookbackSpec = None, update: UpdateFn | None = None, state: bool = False
) -> Callable[[F], F]:
    """Declare how a whole-array indicator is extended bar by bar, and let it accept Series.

    `lookback`: bars of each per-bar input the value at a bar depends on, as an int, "full",
    or a function of the indicator's own arguments (`lambda values, length: length`).
    `update(previous, *inputs, **kwargs)`: the value at the newest bar from the outputs so far
    and the whole inputs, for recursive indicators (EMA, Wilder smoothing); it must give the
    same value as the whole-array function.
    `state=True`: the update is also given `state=`, a dict the evaluator keeps for this
    indicator between bars, so a step can carry what its outputs do not show (running sums,
    where its seed is) instead of rescanning the history. It is empty on the first call and
    whenever the bar asked for does not follow the last one (check_history samples bars out
    of order); the step then rebuilds it from the whole inputs, once.
    Called with arrays, the function behaves exactly as before; called with any Series
    argument it returns a DerivedSeries (values up to the current bar, recipe attached).
    """

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if any(isinstance(a, Series) for a in (*args, *kwargs.values())):
                return _derive(wrapper, args, kwargs, "", None)
            out = fn(*args, **kwargs)
            recorder = _RECORDER.get()
            if recorder is not None and isinstance(out, np.ndarray) and out.ndim == 1:
                recipe = Recipe(wrapper, args, dict(kwargs), None, _name_of(fn))
                recorder.arrays[_key(out)] = (out, recipe)
            return out

        setattr(wrapper, _LOOKBACK_ATTR, lookback)
        setattr(wrapper, _UPDATE_ATTR, update)
        setattr(wrapper, _RAW_ATTR, fn)
        setattr(wrapper, _STATE_ATTR, state)
        return cast(F, wrapper)

    if state and update is None:
        raise TypeError("@indicator(state=True) needs an update step to give the state to")
    return wrap


def keeps_state(fn: Callable[..., Any]) -> bool:
    """Whether an @indicator's update step takes the evaluator's per-indicator `state=`."""
    return bool(getattr(fn, _STATE_ATTR, False))


def _raw(fn: Callable[..., Any]) -> Callable[..., Any]:
    raw: Callable[..., Any] = getattr(fn, _RAW_ATTR, fn)
    return raw


def _history(value: Any) -> Any:
    return value.values if isinstance(value, Series) else value


def _name_of(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__name__", "indicator"))


def _label(value: object) -> str:
    if isinstance(value, Series):
        return value.name or "series"
    if isinstance(value, np.ndarray):
        return f"array[{value.shape[0] if value.ndim else ''}]"
    return repr(value)


def _key(array: AnyArray) -> tuple[Any, ...]:
    """Identity of an array's contents: the same memory seen the same way."""
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)
