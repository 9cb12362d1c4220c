"""Statistics over the last N bars: Bollinger bands, z-score, rolling OLS hedge ratio,
highest / lowest, volume ratio.

Each value depends on a fixed window of bars, so bar by bar each is `@indicator(lookback=N)`:
the evaluator recomputes it from the last N bars, a cost that does not grow with history.
Spreads are computed window by window (`sliding_window_view`), never from running sums of
squares, whose cancellation loses the small variance of a quiet window at price scale; and
the window computed live is the same arithmetic as the window computed over the whole array.
Standard deviations are POPULATION ones (divide by N, ddof=0), as Bollinger defined his bands
and as charting tools draw them. A window holding a NaN gives NaN.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from engine.strategy.derived import DerivedSeries, indicator
from engine.strategy.series import Series
from strategies.sdk.indicators.averages import sma

FloatArray = npt.NDArray[np.float64]


def _floats(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _check_length(name: str, length: int) -> None:
    if length < 1:
        raise ValueError(f"{name} length must be >= 1, got {length}")


_CHUNK = 32_768  # windows per block: bounds the temporaries of a long series (bytes x length)


def _per_window(length: int, stat: Any, *arrays: FloatArray) -> FloatArray:
    """`stat(*windows)` (one value per full window, each window a row) placed at each
    window's last bar; computed in blocks so memory stays small on a million bars."""
    n = arrays[0].shape[0]
    out = np.full(n, np.nan)
    if n < length:
        return out
    views = [sliding_window_view(a, length) for a in arrays]
    for lo in range(0, n - length + 1, _CHUNK):
        out[length - 1 + lo : length - 1 + lo + _CHUNK] = stat(
            *(v[lo : lo + _CHUNK] for v in views)
        )
    return out


def _population_std(windows: FloatArray) -> FloatArray:
    return np.asarray(windows.std(axis=1), dtype=np.float64)


# lookbacks: the indicator's own arguments -> bars per input the value at a bar reads
def _window(*args: Any, **kwargs: Any) -> int:
    length = kwargs.get("length", args[1] if len(args) > 1 else None)
    return int(length) if length is not None else 20


def _pair_window(*args: Any, **kwargs: Any) -> int:
    length = kwargs.get("length", args[2] if len(args) > 2 else None)
    return int(length) if length is not None else 60


def _window_and_one(*args: Any, **kwargs: Any) -> int:
    return _window(*args, **kwargs) + 1


# -- Bollinger bands -------------------------------------------------------------------------


@overload
def bollinger_middle(values: Series, length: int = 20) -> DerivedSeries: ...
@overload
def bollinger_middle(values: npt.ArrayLike, length: int = 20) -> FloatArray: ...
@indicator(lookback=_window)
def bollinger_middle(values: Any, length: int = 20) -> Any:
    """The middle band: the simple moving average (exact on the paisa grid, as sma)."""
    _check_length("bollinger", length)
    return sma(values, length)


@overload
def bollinger_upper(values: Series, length: int = 20, width: float = 2.0) -> DerivedSeries: ...
@overload
def bollinger_upper(values: npt.ArrayLike, length: int = 20, width: float = 2.0) -> FloatArray: ...
@indicator(lookback=_window)
def bollinger_upper(values: Any, length: int = 20, width: float = 2.0) -> Any:
    """Middle band + `width` population standard deviations of the last `length` bars."""
    _check_length("bollinger", length)
    spread = _per_window(length, _population_std, _floats(values))
    return sma(values, length) + width * spread


@overload
def bollinger_lower(values: Series, length: int = 20, width: float = 2.0) -> DerivedSeries: ...
@overload
def bollinger_lower(values: npt.ArrayLike, length: int = 20, width: float = 2.0) -> FloatArray: ...
@indicator(lookback=_window)
def bollinger_lower(values: Any, length: int = 20, width: float = 2.0) -> Any:
    """Middle band - `width` population standard deviations of the last `length` bars."""
    _check_length("bollinger", length)
    spread = _per_window(length, _population_std, _floats(values))
    return sma(values, length) - width * spread


# -- z-score and hedge ratio -----------------------------------------------------------------


def _zscores(windows: FloatArray) -> FloatArray:
    mean = windows.mean(axis=1)
    std = windows.std(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (windows[:, -1] - mean) / std
    return np.asarray(np.where(std > 0, z, np.nan), dtype=np.float64)


@overload
def zscore(values: Series, length: int = 20) -> DerivedSeries: ...
@overload
def zscore(values: npt.ArrayLike, length: int = 20) -> FloatArray: ...
@indicator(lookback=_window)
def zscore(values: Any, length: int = 20) -> Any:
    """How many population standard deviations the bar is from the mean of the last
    `length` bars (itself included); NaN while the window is flat (no spread to measure)."""
    if length < 2:
        raise ValueError(f"zscore length must be >= 2, got {length}")
    return _per_window(length, _zscores, _floats(values))


def _betas(ys: FloatArray, xs: FloatArray) -> FloatArray:
    dx = xs - xs.mean(axis=1, keepdims=True)
    dy = ys - ys.mean(axis=1, keepdims=True)
    var = (dx * dx).sum(axis=1)
    cov = (dx * dy).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = cov / var
    return np.asarray(np.where(var > 0, beta, np.nan), dtype=np.float64)


@overload
def hedge_ratio(y: Series, x: Series | npt.ArrayLike, length: int = 60) -> DerivedSeries: ...
@overload
def hedge_ratio(y: npt.ArrayLike, x: Series, length: int = 60) -> DerivedSeries: ...
@overload
def hedge_ratio(y: npt.ArrayLike, x: npt.ArrayLike, length: int = 60) -> FloatArray: ...
@indicator(lookback=_pair_window)
def hedge_ratio(y: Any, x: Any, length: int = 60) -> Any:
    """Slope of the least-squares line y = a + b x (with intercept) over the last `length`
    bars: the units of x that hedge one unit of y. NaN while x is flat in the window."""
    if length < 2:
        raise ValueError(f"hedge_ratio length must be >= 2, got {length}")
    ys, xs = _floats(y), _floats(x)
    if ys.shape != xs.shape:
        raise ValueError(f"hedge_ratio: y and x differ in length ({ys.shape}, {xs.shape})")
    return _per_window(length, _betas, ys, xs)


# -- highest / lowest ------------------------------------------------------------------------


def _max(windows: FloatArray) -> FloatArray:
    return np.asarray(windows.max(axis=1), dtype=np.float64)


def _min(windows: FloatArray) -> FloatArray:
    return np.asarray(windows.min(axis=1), dtype=np.float64)


@overload
def highest(values: Series, length: int = 20) -> DerivedSeries: ...
@overload
def highest(values: npt.ArrayLike, length: int = 20) -> FloatArray: ...
@indicator(lookback=_window)
def highest(values: Any, length: int = 20) -> Any:
    """The highest value of the last `length` bars, this one included (highest(high, n));
    a breakout above the previous bars compares with highest(...)[-2]."""
    _check_length("highest", length)
    return _per_window(length, _max, _floats(values))


@overload
def lowest(values: Series, length: int = 20) -> DerivedSeries: ...
@overload
def lowest(values: npt.ArrayLike, length: int = 20) -> FloatArray: ...
@indicator(lookback=_window)
def lowest(values: Any, length: int = 20) -> Any:
    """The lowest value of the last `length` bars, this one included (lowest(low, n))."""
    _check_length("lowest", length)
    return _per_window(length, _min, _floats(values))


# -- volume ratio ----------------------------------------------------------------------------


@overload
def volume_ratio(volume: Series, length: int = 20) -> DerivedSeries: ...
@overload
def volume_ratio(volume: npt.ArrayLike, length: int = 20) -> FloatArray: ...
@indicator(lookback=_window_and_one)
def volume_ratio(volume: Any, length: int = 20) -> Any:
    """The bar's volume over the average volume of the `length` bars BEFORE it, so a spike
    is measured against a baseline it does not inflate; NaN for the first `length` bars and
    when that average is zero."""
    _check_length("volume_ratio", length)
    array = np.asarray(volume)
    out = np.full(array.shape[0], np.nan)
    if array.shape[0] <= length:
        return out
    average = sma(array[:-1], length)[length - 1 :]  # exact integer sums for whole volumes
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = array[length:].astype(np.float64) / average
    out[length:] = np.where(average > 0, ratio, np.nan)
    return out
