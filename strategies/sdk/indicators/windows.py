"""Statistics over the last N bars: Bollinger bands, z-score, rolling OLS hedge ratio,
highest / lowest, volume ratio.

Each value depends on a fixed window of bars, so bar by bar each is `@indicator(lookback=N)`:
the evaluator recomputes it from the last N bars, and the value at a bar must be the same,
bit for bit, whether computed over the whole array or over that bar's window alone.

Spreads (Bollinger bands, z-score, hedge ratio) are computed in O(1) per bar and EXACTLY for
windows whose values are all on the paisa grid (prices in rupees with at most two decimals,
or integers): in integer paise, from the window's exact sums Sx, Sxx, Sy, Sxy (exact_sums.py),

    population variance * n^2 = n*Sxx - Sx^2        (an exact integer >= 0)
    std      = sqrt(n*Sxx - Sx^2) / (100 n)           rupees
    z        = (n*x_last - Sx) / sqrt(n*Sxx - Sx^2)   NaN when the window is flat
    beta     = (n*Sxy - Sx*Sy) / (n*Sxx - Sx^2)       NaN when x is flat in the window
    band     = Sx / (100 n) +- width * std

Float running sums of squares were rejected because their cancellation loses the small
variance of a quiet window at price scale (Rs 1,00,000.05 and .10: the variance is below the
rounding of the sums); integer sums cancel exactly. The window sums come from int64 running
sums, each block of the series shifted by its own centre (the integers above do not change
under a shift) and sized so nothing overflows; a rare window that cannot fit is summed in
Python ints. Whatever the block, the shift or the path, a window gets the same integers, each
rounded once to a float; the float steps after that are written once (`_mean`, `_std`,
`_band`, `_z`, `_beta`) and are the same on the whole array as on one window: same bits.

The method is chosen PER WINDOW: a window holding any value off the grid (or NaN, or beyond
2**53 paise) is computed as before, window by window over its values in floats
(`sliding_window_view`, the same arithmetic as for the window alone); a window holding a NaN
gives NaN. Standard deviations are POPULATION ones (divide by N, ddof=0), as Bollinger
defined his bands and as charting tools draw them. The bands' middle in bollinger_upper /
lower is that window's own mean, exact on the grid (equal to `sma`'s there).
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from engine.strategy.derived import DerivedSeries, indicator
from engine.strategy.series import Series
from strategies.sdk.indicators.averages import sma
from strategies.sdk.indicators.exact_sums import (
    Moments,
    fill_off_grid,
    on_grid_windows,
    paise_grid,
    window_moments,
)

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


def _exact_or_float(
    length: int,
    exact: Any,
    stat: Any,
    x: npt.ArrayLike,
    y: npt.ArrayLike | None = None,
) -> FloatArray:
    """Per full window, placed at its last bar: `exact(moments)` where every value of the
    window (of x, and of y if given) is on the paisa grid; elsewhere `stat(*windows)` over
    the values in floats, as `_per_window` (x's windows first). The choice is per window, so
    a window alone takes the path it takes inside a longer series."""
    xs = np.asarray(x)
    ys = None if y is None else np.asarray(y)
    n = xs.shape[0]
    out = np.full(n, np.nan)
    if n < length:
        return out
    x_paise, on = paise_grid(xs)
    y_paise = None
    if ys is not None:
        y_paise, y_on = paise_grid(ys)
        on = on & y_on
    grid = on_grid_windows(on, length)
    if grid.any():
        moments = window_moments(
            length,
            fill_off_grid(x_paise, on),
            None if y_paise is None else fill_off_grid(y_paise, on),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            out[length - 1 :] = np.where(grid, exact(moments), np.nan)
    if grid.all():
        return out
    off = ~grid
    floats = [_floats(xs)] if ys is None else [_floats(xs), _floats(ys)]
    views = [sliding_window_view(a, length) for a in floats]
    for a, b in _runs(off):
        for lo in range(a, b, _CHUNK):
            hi = min(b, lo + _CHUNK)
            values = stat(*(v[lo:hi] for v in views))
            target = out[length - 1 + lo : length - 1 + hi]
            target[off[lo:hi]] = values[off[lo:hi]]
    return out


_GAP = 256  # runs of float windows closer than this are computed as one span


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Spans [a, b) covering the True entries: runs of them, joined across short gaps (the
    few grid windows between are computed in floats too, then left as they were)."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.shape[0] == 0:
        return []
    keep = np.concatenate(([True], starts[1:] - ends[:-1] >= _GAP))
    last = np.concatenate((np.flatnonzero(keep)[1:] - 1, [starts.shape[0] - 1]))
    return list(zip(starts[keep].tolist(), ends[last].tolist(), strict=True))


# the float steps after the exact integers (see the module doc): the same on a whole array
# and on one window, so the same bits


def _mean(total: FloatArray, length: int) -> FloatArray:
    """The mean in rupees from the window's sum in paise."""
    return np.asarray(total / (100.0 * length), dtype=np.float64)


def _std(spread: FloatArray, length: int) -> FloatArray:
    """The population standard deviation in rupees from n*Sxx - Sx^2 in paise^2."""
    return np.asarray(np.sqrt(spread) / (100.0 * length), dtype=np.float64)


def _band(mean: FloatArray, std: FloatArray, width: float) -> FloatArray:
    return np.asarray(mean + width * std, dtype=np.float64)


def _z(deviation: FloatArray, spread: FloatArray) -> FloatArray:
    """(n*x_last - Sx) / sqrt(n*Sxx - Sx^2); NaN for a flat window."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = deviation / np.sqrt(spread)
    return np.asarray(np.where(spread > 0, z, np.nan), dtype=np.float64)


def _beta(covariance: FloatArray, spread: FloatArray) -> FloatArray:
    """(n*Sxy - Sx*Sy) / (n*Sxx - Sx^2); NaN when x is flat."""
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = covariance / spread
    return np.asarray(np.where(spread > 0, beta, np.nan), dtype=np.float64)


def _bands(length: int, width: float) -> tuple[Any, Any]:
    """(exact, float) statistics of the band `width` standard deviations from the mean."""

    def exact(m: Moments) -> FloatArray:
        return _band(_mean(m.total, length), _std(m.spread, length), width)

    def floats(windows: FloatArray) -> FloatArray:
        return _band(windows.mean(axis=1), windows.std(axis=1), width)

    return exact, floats


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
    return _exact_or_float(length, *_bands(length, width), values)


@overload
def bollinger_lower(values: Series, length: int = 20, width: float = 2.0) -> DerivedSeries: ...
@overload
def bollinger_lower(values: npt.ArrayLike, length: int = 20, width: float = 2.0) -> FloatArray: ...
@indicator(lookback=_window)
def bollinger_lower(values: Any, length: int = 20, width: float = 2.0) -> Any:
    """Middle band - `width` population standard deviations of the last `length` bars."""
    _check_length("bollinger", length)
    return _exact_or_float(length, *_bands(length, -width), values)


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
    return _exact_or_float(length, _exact_z, _zscores, values)


def _exact_z(m: Moments) -> FloatArray:
    return _z(m.deviation, m.spread)


def _exact_beta(m: Moments) -> FloatArray:
    assert m.covariance is not None
    return _beta(m.covariance, m.spread)


def _betas(xs: FloatArray, ys: FloatArray) -> FloatArray:
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
    ys, xs = np.asarray(y), np.asarray(x)
    if ys.shape != xs.shape:
        raise ValueError(f"hedge_ratio: y and x differ in length ({ys.shape}, {xs.shape})")
    return _exact_or_float(length, _exact_beta, _betas, xs, ys)


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
