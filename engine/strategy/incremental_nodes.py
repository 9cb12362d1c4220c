"""What the incremental evaluator keeps per indicator: growing columns, and nodes that know
how to extend an indicator by one bar (over a window, over the full history, or through a
declared recursive update), with the plan that picks one of those for a recipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.strategy.derived import (
    _LOOKBACK_ATTR,
    _UPDATE_ATTR,
    AnyArray,
    IncrementalError,
    LookbackSpec,
    Recipe,
    UpdateFn,
    _name_of,
    check_lookback,
)


class Column:
    """A growing 1-D array: preallocated, doubled when full (amortised O(1) appends)."""

    __slots__ = ("buf", "n")

    def __init__(self, initial: AnyArray, capacity: int) -> None:
        self.n = int(initial.shape[0])
        self.buf: AnyArray = np.empty(max(capacity, self.n, 1), dtype=initial.dtype)
        self.buf[: self.n] = initial

    def append(self, value: Any) -> None:
        if self.n == self.buf.shape[0]:
            bigger = np.empty(2 * self.n, dtype=self.buf.dtype)
            bigger[: self.n] = self.buf
            self.buf = bigger
        self.buf[self.n] = value
        self.n += 1

    def view(self) -> AnyArray:
        return self.buf[: self.n]


Input = tuple[Column | None, Any]  # a per-bar input column, or a constant argument

WINDOW, FULL, UPDATE = "window", "full", "update"


@dataclass(eq=False)
class Node:
    name: str
    fn: Callable[..., Any]  # the whole-array function
    args: list[Input]
    kwargs: dict[str, Input]
    mode: str
    window: int
    update: UpdateFn | None
    how: str
    column: Column
    stateful: bool = False  # the update step takes `state=` (see derived.indicator)
    state: dict[str, Any] = field(default_factory=dict)
    last: int = -2  # the bar the state is up to

    def call(self, lo: int, hi: int) -> AnyArray:
        """The whole-array function over inputs [lo, hi)."""
        args = [v if c is None else c.buf[lo:hi] for c, v in self.args]
        kwargs = {k: v if c is None else c.buf[lo:hi] for k, (c, v) in self.kwargs.items()}
        out = np.asarray(self.fn(*args, **kwargs))
        if out.shape != (hi - lo,):
            raise IncrementalError(
                f"indicator {self.name} returned shape {out.shape} for {hi - lo} bars; "
                "expected one value per bar"
            )
        return out

    def value_at(self, t: int) -> Any:
        """The value at bar t from inputs up to t (and, for recursive ones, outputs before t)."""
        if self.mode == UPDATE:
            assert self.update is not None
            hi = t + 1
            args = [v if c is None else c.buf[:hi] for c, v in self.args]
            kwargs = {k: v if c is None else c.buf[:hi] for k, (c, v) in self.kwargs.items()}
            if self.stateful:
                if t != self.last + 1:  # not the next bar: the step rebuilds its state
                    self.state.clear()
                self.last = t
                kwargs["state"] = self.state
            return self.update(self.column.buf[:t], *args, **kwargs)
        lo = 0 if self.mode == FULL else max(0, t + 1 - self.window)
        return self.call(lo, t + 1)[-1]


def plan(recipe: Recipe) -> tuple[str, int, UpdateFn | None, str]:
    """(mode, window, update, how) for extending an indicator: a given lookback, a declared
    update or lookback, a window inferred from int arguments, else the full history."""
    name = _name_of(recipe.fn)
    if recipe.lookback == "full":
        return FULL, 0, None, "lookback='full' given"
    if recipe.lookback is not None:
        return WINDOW, int(recipe.lookback), None, f"lookback={recipe.lookback} given"
    update: UpdateFn | None = getattr(recipe.fn, _UPDATE_ATTR, None)
    if update is not None:
        return UPDATE, 0, update, f"recursive update declared by {name}"
    declared: LookbackSpec = getattr(recipe.fn, _LOOKBACK_ATTR, None)
    if callable(declared):
        declared = declared(*recipe.args, **recipe.kwargs)
    if declared == "full":
        return FULL, 0, None, f"full history declared by {name}"
    if declared is not None:
        check_lookback(declared, name)
        return WINDOW, int(declared), None, f"lookback {declared} declared by {name}"
    ints = [
        int(a)
        for a in (*recipe.args, *recipe.kwargs.values())
        if isinstance(a, int | np.integer) and not isinstance(a, bool) and a > 0
    ]
    if ints:
        window = max(ints) + 1
        return WINDOW, window, None, f"lookback {window} inferred from its int arguments"
    return FULL, 0, None, "full history: no lookback declared or inferable"
