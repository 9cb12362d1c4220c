"""Indicators over whole arrays (vectorised, causal: value t uses bars <= t only).

Prices on the paisa grid are averaged from EXACT integer-paise window sums, so two averages
that are mathematically equal compare equal (float rolling means drift and break ties, which
flips crossovers). Division of exact integers is correctly rounded, so equal sums give equal
floats and unequal ones keep their order at price scales up to crores.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _as_paise(values: npt.ArrayLike) -> npt.NDArray[np.int64] | None:
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return (array.astype(np.int64)) * 100
    scaled = np.asarray(array, dtype=np.float64) * 100.0
    paise = np.rint(scaled)
    if np.all(np.isfinite(scaled)) and np.all(np.abs(scaled - paise) < 1e-6):
        return paise.astype(np.int64)
    return None


def sma(values: npt.ArrayLike, length: int) -> FloatArray:
    """Simple moving average; NaN for the first length-1 bars."""
    if length < 1:
        raise ValueError(f"sma length must be >= 1, got {length}")
    array = np.asarray(values)
    out = np.full(array.shape[0], np.nan)
    if array.shape[0] < length:
        return out
    paise = _as_paise(array)
    if paise is not None:
        sums = np.cumsum(paise, dtype=np.int64)
        window = sums[length - 1 :].copy()
        window[1:] -= sums[:-length]
        out[length - 1 :] = window / (length * 100)
        return out
    sums_f = np.cumsum(np.asarray(array, dtype=np.float64))
    window_f = sums_f[length - 1 :].copy()
    window_f[1:] -= sums_f[:-length]
    out[length - 1 :] = window_f / length
    return out


def ema(values: npt.ArrayLike, length: int) -> FloatArray:
    """Exponential moving average seeded with the SMA of the first `length` bars."""
    if length < 1:
        raise ValueError(f"ema length must be >= 1, got {length}")
    array = np.asarray(values, dtype=np.float64)
    out = np.full(array.shape[0], np.nan)
    if array.shape[0] < length:
        return out
    alpha = 2.0 / (length + 1)
    out[length - 1] = array[:length].mean()
    previous = out[length - 1]
    for i in range(length, array.shape[0]):  # a recurrence: numpy has no vector form
        previous = previous + alpha * (array[i] - previous)
        out[i] = previous
    return out


def crossed_above(a: npt.ArrayLike, b: npt.ArrayLike) -> BoolArray:
    """True at t when a[t] > b[t] and a[t-1] <= b[t-1] (NaN compares false)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.zeros(x.shape[0], dtype=bool)
    out[1:] = (x[1:] > y[1:]) & (x[:-1] <= y[:-1])
    return out


def crossed_below(a: npt.ArrayLike, b: npt.ArrayLike) -> BoolArray:
    """True at t when a[t] < b[t] and a[t-1] >= b[t-1] (NaN compares false)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.zeros(x.shape[0], dtype=bool)
    out[1:] = (x[1:] < y[1:]) & (x[:-1] >= y[:-1])
    return out
