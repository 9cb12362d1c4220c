"""Arrays a strategy can read only up to the current bar.

Indicators are computed once over the whole history (fast), but inside a callback the strategy
must not see the future. Every Series shares its strategy's Clock; indexing is relative to the
clock's bar, and reaching past it raises LookAheadError instead of quietly returning the future.
Every way a strategy reads a Series ends at the clock (`s[k]`, slices, `s.values`, `np.asarray`,
iteration, `BarView` prices), except `full()`: the whole array, which `init()` needs to build
conditions, and which raises LookAheadError once the run has started (`Clock.running`). The
engine itself, which must see the bars ahead to fill orders, reads `whole(series)`.
"""

from __future__ import annotations

from typing import Any, SupportsIndex, overload

import numpy as np
import numpy.typing as npt


class LookAheadError(IndexError):
    """A strategy asked for a value after the current bar."""


class Clock:
    """The bar a strategy is at; the engine moves it, Series read it. `running` is True from
    the run's start to its end (the strategy's state RUNNING): `Series.full()` is refused then."""

    __slots__ = ("index", "running")

    def __init__(self, index: int = -1) -> None:
        self.index = index
        self.running = False


class Series:
    """`s[-1]` is the current bar's value, `s[-2]` the one before; `s.values` is history."""

    __slots__ = ("_clock", "_values", "name")

    def __init__(self, values: npt.ArrayLike, clock: Clock, name: str = "") -> None:
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"series {name or '?'} must be one-dimensional, got {array.shape}")
        self._values = array
        self._clock = clock
        self.name = name

    @property
    def values(self) -> npt.NDArray[Any]:
        """History up to and including the current bar (a view, no copy)."""
        return self._values[: self._clock.index + 1]

    @property
    def last(self) -> Any:
        return self[-1]

    def __len__(self) -> int:
        return self._clock.index + 1

    @overload
    def __getitem__(self, key: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, key: slice) -> npt.NDArray[Any]: ...
    def __getitem__(self, key: SupportsIndex | slice) -> Any:
        now = self._clock.index
        if isinstance(key, slice):
            return self._values[: now + 1][key]
        k = key.__index__()
        position = now + 1 + k if k < 0 else k
        if k >= 0 and position > now:
            raise LookAheadError(
                f"series {self.name or '?'}[{k}] is after the current bar {now}: "
                "use negative indices (s[-1] is now) or s.values"
            )
        if position < 0:
            raise IndexError(f"series {self.name or '?'}[{k}] is before the first bar")
        return self._values[position]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        history = self.values
        if dtype is not None:
            return history.astype(dtype)
        if copy:
            return history.copy()
        view = history.view()
        view.flags.writeable = False  # a strategy must not rewrite its indicators' history
        return view

    def full(self) -> npt.NDArray[Any]:
        """The whole array, bars after the current one included: for `init()`, which builds
        conditions over the whole history. Once the run has started it raises LookAheadError
        (raising, not clipping, so a handler that meant the whole series learns it cannot
        have it, at its own line); handlers read `values` or `s[-k]`."""
        if self._clock.running:
            raise LookAheadError(
                f"series {self.name or '?'}.full() holds bars after the current bar "
                f"{self._clock.index}: it is for init(); in a handler use "
                f"{self.name or 's'}.values (the history up to now) or {self.name or 's'}[-1]"
            )
        return self._values

    def __repr__(self) -> str:
        return f"Series({self.name!r}, bars={len(self)}/{len(self._values)})"


def whole(series: Series) -> npt.NDArray[Any]:
    """The whole array whatever the clock, for the engine (its venue and error reports need
    the bars ahead); never handed to a strategy, which has `full()` in `init()` only."""
    return series._values
