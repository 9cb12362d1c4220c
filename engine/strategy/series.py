"""Arrays a strategy can read only up to the current bar.

Indicators are computed once over the whole history (fast), but inside a callback the strategy
must not see the future. Every Series shares its strategy's Clock; indexing is relative to the
clock's bar, and reaching past it raises LookAheadError instead of quietly returning the future.
"""

from __future__ import annotations

from typing import Any, SupportsIndex, overload

import numpy as np
import numpy.typing as npt


class LookAheadError(IndexError):
    """A strategy asked for a value after the current bar."""


class Clock:
    """The bar a strategy is at; the engine moves it, Series read it."""

    __slots__ = ("index",)

    def __init__(self, index: int = -1) -> None:
        self.index = index


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
        """The whole array, for the engine only (it needs future bars to schedule fills)."""
        return self._values

    def __repr__(self) -> str:
        return f"Series({self.name!r}, bars={len(self)}/{len(self._values)})"
