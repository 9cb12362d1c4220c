"""Exact integer window sums for prices on the paisa grid (used by windows.py).

For a window of n values x (and y) in integer paise, with Sx, Sxx, Sy, Sxy its sums, the
statistics of windows.py need only these integers:

    spread      n*Sxx - Sx^2        (n^2 times the population variance, in paise^2; >= 0)
    deviation   n*x_last - Sx       (n times the last value's distance from the mean)
    covariance  n*Sxy - Sx*Sy       (n^2 times the population covariance)
    total       Sx                  (n times the mean)

The first three do not change when the same integer is subtracted from every x (or every y),
so each block of the series is first shifted by its own centre, keeping the running sums
small. Blocks are sized so that no int64 overflows: a block of m values that lie within D of
its centre has |running sums of squares and cross products| <= m * D^2 (m * Dx * Dy; and
|running sum of y| <= m * Dy, which the bound also covers for a flat x), and a
window's n*Sxx, Sx^2, n*Sxy, Sx*Sy are at most n^2 * D^2 (n^2 * Dx * Dy); products that could
pass the bound are taken in Python ints, and a window whose sums alone could pass it is
summed in Python ints. Either way the integers are the exact ones, whatever the block or the
shift, so a window gets the same integers inside a long series as on its own; each is then
rounded once to a float64 (correctly rounded, by numpy and by Python alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LIMIT = 1 << 61  # bound on every int64 intermediate (a factor 4 below overflow)
MAX_PAISE = 1 << 53  # beyond it a float no longer holds every paisa: off the grid
_BLOCK = 1 << 16  # windows per block: bounds the temporaries on a long series


def paise_grid(values: npt.ArrayLike) -> tuple[IntArray, BoolArray]:
    """Each value in integer paise and whether it is on the paisa grid: finite, within 1e-6
    of a whole paisa (integer dtypes always are) and at most 2**53 paise in size. A value off
    the grid gets paise 0; the decision is per value, so per window."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        bound = MAX_PAISE // 100
        on = (array >= -bound) & (array <= bound)
        paise = np.where(on, array, 0).astype(np.int64) * 100
        return paise, np.asarray(on, dtype=np.bool_)
    scaled = np.asarray(array, dtype=np.float64) * 100.0
    rounded = np.rint(scaled)
    with np.errstate(invalid="ignore"):
        on = np.isfinite(scaled) & (np.abs(scaled - rounded) < 1e-6)
        on &= np.abs(rounded) <= MAX_PAISE
    paise = np.where(on, rounded, 0.0).astype(np.int64)
    return paise, on


def on_grid_windows(on: BoolArray, length: int) -> BoolArray:
    """Per full window (the one ending at bar length-1, then each later bar): whether every
    value in it is on the grid."""
    off = np.concatenate(([0], np.cumsum(~on, dtype=np.int64)))
    return np.asarray(off[length:] - off[:-length] == 0, dtype=np.bool_)


def fill_off_grid(paise: IntArray, on: BoolArray) -> IntArray:
    """The paise with each off-grid value replaced by the nearest on-grid one before it (after
    it, for a leading run): windows holding it are not computed from these sums, and a
    stand-in near its neighbours keeps the blocks' range, so their size, as it was."""
    if on.all() or not on.any():
        return paise
    index = np.where(on, np.arange(on.shape[0]), -1)
    index = np.maximum.accumulate(index)
    index[index < 0] = int(np.argmax(on))
    return paise[index]


@dataclass
class Moments:
    """Per full window, each exact integer rounded once to float64 (see the module doc)."""

    total: FloatArray  # Sx
    spread: FloatArray  # n*Sxx - Sx^2
    deviation: FloatArray  # n*x_last - Sx
    covariance: FloatArray | None  # n*Sxy - Sx*Sy, when y is given


def _centre(values: IntArray) -> tuple[int, int]:
    """A centre of the values and the largest distance of a value from it (Python ints)."""
    lo, hi = int(values.min()), int(values.max())
    centre = (lo + hi) // 2
    return centre, max(hi - centre, centre - lo)


def _window_sums(values: IntArray, length: int) -> IntArray:
    """Sums over each window of `length` consecutive values (int64, exact when the running
    sum stays in range)."""
    running = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(values, dtype=np.int64)))
    return np.asarray(running[length:] - running[:-length], dtype=np.int64)


def _to_floats(values: Any) -> FloatArray:
    return np.asarray(np.asarray(values).astype(np.float64), dtype=np.float64)


def window_moments(length: int, x: IntArray, y: IntArray | None = None) -> Moments:
    """Moments of every full window of `x` (and `y`, the same length), in integer paise."""
    windows = x.shape[0] - length + 1
    if windows < 1:
        empty = np.zeros(0, dtype=np.float64)
        return Moments(empty, empty, empty, None if y is None else empty)
    total = np.empty(windows, dtype=np.float64)
    spread = np.empty(windows, dtype=np.float64)
    deviation = np.empty(windows, dtype=np.float64)
    covariance = None if y is None else np.empty(windows, dtype=np.float64)
    start, block = 0, _BLOCK
    while start < windows:
        count = min(block, windows - start)
        while True:
            size = count + length - 1
            cx, dx = _centre(x[start : start + size])
            if y is not None:  # dy alone bounds y's running sum when x is flat (dx = 0)
                cy, dy = _centre(y[start : start + size])
                bound = max(dx * dx, dx * dy, dy)
            else:
                cy, bound = 0, dx * dx
            if size * bound < LIMIT or count == 1:
                break
            count = max(1, min(count // 2, LIMIT // bound - length + 1))
        if size * bound < LIMIT:
            centres = (cx, dx, cy, bound)
            _block(length, x, y, start, size, centres, total, spread, deviation, covariance)
        else:  # one window whose sums could overflow int64: Python ints
            _single(length, x, y, start, total, spread, deviation, covariance)
        start += count
        block = min(_BLOCK, 2 * count)
    return Moments(total, spread, deviation, covariance)


def _block(
    length: int,
    x: IntArray,
    y: IntArray | None,
    start: int,
    size: int,
    centres: tuple[int, int, int, int],
    total: FloatArray,
    spread: FloatArray,
    deviation: FloatArray,
    covariance: FloatArray | None,
) -> None:
    """Windows start .. start+size-length: running sums in int64. `centres`: x's centre and
    largest distance from it, y's centre, and the bound on a square or cross product of
    distances (size * bound < LIMIT)."""
    cx, dx_max, cy, bound = centres
    count = size - length + 1
    out = slice(start, start + count)
    dx = x[start : start + size] - np.int64(cx)
    sx = _window_sums(dx, length)
    sxx = _window_sums(dx * dx, length)
    last = dx[length - 1 :]
    sy = sxy = None
    if y is not None:
        dy = y[start : start + size] - np.int64(cy)
        sy = _window_sums(dy, length)
        sxy = _window_sums(dx * dy, length)
    products_fit = length * length * bound < LIMIT
    n: Any = length
    if not products_fit:  # n*Sxx, Sx^2, n*Sxy, Sx*Sy could pass int64: Python ints
        sx, sxx, last = sx.astype(object), sxx.astype(object), last.astype(object)
        if sy is not None and sxy is not None:
            sy, sxy = sy.astype(object), sxy.astype(object)
    spread[out] = _to_floats(n * sxx - sx * sx)
    deviation[out] = _to_floats(n * last - sx)
    if covariance is not None and sy is not None and sxy is not None:
        covariance[out] = _to_floats(n * sxy - sx * sy)
    if length * (abs(cx) + dx_max) < LIMIT:  # |Sx + n*cx| <= n * (|cx| + D)
        total[out] = _to_floats(sx + n * cx)
    else:
        total[out] = _to_floats(sx.astype(object) + length * cx)


def _single(
    length: int,
    x: IntArray,
    y: IntArray | None,
    start: int,
    total: FloatArray,
    spread: FloatArray,
    deviation: FloatArray,
    covariance: FloatArray | None,
) -> None:
    """The window starting at `start`, summed in Python ints."""
    xs = [int(v) for v in x[start : start + length]]
    sx, sxx = sum(xs), sum(v * v for v in xs)
    total[start] = float(sx)
    spread[start] = float(length * sxx - sx * sx)
    deviation[start] = float(length * xs[-1] - sx)
    if covariance is not None and y is not None:
        ys = [int(v) for v in y[start : start + length]]
        sy, sxy = sum(ys), sum(a * b for a, b in zip(xs, ys, strict=True))
        covariance[start] = float(length * sxy - sx * sy)
