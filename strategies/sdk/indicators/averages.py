"""Moving averages and crossings: sma (exact ties), ema, crossed_above / crossed_below.

Prices on the paisa grid are averaged from EXACT integer-paise window sums, so two averages
that are mathematically equal compare equal (float rolling means drift and break ties, which
flips crossovers). Division of exact integers is correctly rounded, so equal sums give equal
floats and unequal ones keep their order at price scales up to crores.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt

from engine.strategy.derived import DerivedSeries, indicator
from engine.strategy.series import Series

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


def _length(values: object, length: int) -> int:
    return length


@overload
def sma(values: Series, length: int) -> DerivedSeries: ...
@overload
def sma(values: npt.ArrayLike, length: int) -> FloatArray: ...
@indicator(lookback=_length)
def sma(values: Any, length: int) -> Any:
    """Simple moving average; NaN for the first length-1 bars and for any window holding a
    NaN (so an average of another indicator starts once that indicator has warmed up)."""
    if length < 1:
        raise ValueError(f"sma length must be >= 1, got {length}")
    array = np.asarray(values)
    out = np.full(array.shape[0], np.nan)
    if array.shape[0] < length:
        return out
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            first = int(np.argmax(finite)) if finite.any() else array.shape[0]
            if finite[first:].all():  # a warm-up run of NaN: average the rest exactly
                out[first:] = sma(array[first:], length)
                return out
            gaps = np.cumsum(~finite)
            in_window = gaps[length - 1 :] - np.concatenate(([0], gaps[:-length]))
            out = sma(np.where(finite, array, 0.0), length)
            out[length - 1 :][in_window > 0] = np.nan
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


def first_order(
    x: FloatArray, gain: float, decay: float, x_before: Any, y_before: Any
) -> FloatArray:
    """y[i] = gain * x[i] + decay * y[i - 1] along the last axis, from y[-1] = `y_before`.

    The one place the recurrences (ema here, Wilder's smoothing) are computed: scipy's compiled
    first-order IIR filter, for a whole array and for the single new bar of a per-bar step
    alike, so both run the same float operations and give the same bits. Between samples the
    filter carries z = x * 0 - y * a1 (a1 = -decay); the initial z is built from the bar before
    (`x_before`, its input, and `y_before`, its value) with that same arithmetic, so starting
    anywhere continues exactly as the filter would have. NaN propagates: once an input or the
    value is NaN, every later value is NaN. `x_before` and `y_before` are scalars for a 1-D
    `x`, arrays of x.shape[:-1] to run several recurrences in one call.
    """
    # Imported here: scipy.signal takes ~0.8 s to import (it rewrites docstrings on import),
    # which every `artha` command loading a strategy paid even when no recurrence ran.
    from scipy.signal import lfilter

    a1 = -decay
    with np.errstate(invalid="ignore"):  # an infinite input: inf * 0 is NaN, as in the filter
        before = np.asarray(x_before, dtype=np.float64) * 0.0 - np.asarray(y_before) * a1
    y, _ = lfilter([gain, 0.0], [1.0, a1], x, axis=-1, zi=before[..., np.newaxis])
    return np.asarray(y, dtype=np.float64)


def _ema_gains(length: int) -> tuple[float, float]:
    alpha = 2.0 / (length + 1)
    return alpha, 1.0 - alpha


def _ema_step(
    previous: FloatArray, values: npt.NDArray[Any], length: int, *, state: dict[str, Any]
) -> float:
    """ema's value at the newest bar with ema()'s arithmetic. The state holds where the first
    finite input was (found once), so a bar costs O(1) however long the history."""
    t = len(values) - 1
    if "first" not in state:  # first call, or bars out of order: look once
        finite = np.isfinite(np.asarray(values[:t], dtype=np.float64))
        state["first"] = int(np.argmax(finite)) if finite.any() else None
    x = float(values[t])
    if state["first"] is None:
        if not np.isfinite(x):
            return np.nan
        state["first"] = t
    seen = t + 1 - state["first"]
    if seen < length:
        return np.nan
    if seen == length:
        return float(np.asarray(values[t + 1 - length : t + 1], dtype=np.float64).mean())
    step = first_order(np.array([x]), *_ema_gains(length), values[t - 1], previous[t - 1])
    return float(step[0])


@overload
def ema(values: Series, length: int) -> DerivedSeries: ...
@overload
def ema(values: npt.ArrayLike, length: int) -> FloatArray: ...
@indicator(update=_ema_step, state=True)
def ema(values: Any, length: int) -> Any:
    """Exponential moving average seeded with the SMA of the first `length` finite bars.

    A leading NaN run (another indicator warming up) is skipped; a NaN after the seed makes
    every later value NaN, because the recurrence cannot skip a bar without changing meaning.
    """
    if length < 1:
        raise ValueError(f"ema length must be >= 1, got {length}")
    array = np.asarray(values, dtype=np.float64)
    out = np.full(array.shape[0], np.nan)
    finite = np.isfinite(array)
    first = int(np.argmax(finite)) if finite.any() else array.shape[0]
    if array.shape[0] - first < length:
        return out
    seed = first + length - 1
    out[seed] = array[first : seed + 1].mean()
    # alpha * x + (1 - alpha) * previous, through the same filter call as the per-bar step
    out[seed + 1 :] = first_order(array[seed + 1 :], *_ema_gains(length), array[seed], out[seed])
    return out


@overload
def crossed_above(a: Series, b: Series | npt.ArrayLike) -> DerivedSeries: ...
@overload
def crossed_above(a: npt.ArrayLike, b: Series) -> DerivedSeries: ...
@overload
def crossed_above(a: npt.ArrayLike, b: npt.ArrayLike) -> BoolArray: ...
@indicator(lookback=2)
def crossed_above(a: Any, b: Any) -> Any:
    """True at t when a[t] > b[t] and a[t-1] <= b[t-1] (NaN compares false)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.zeros(x.shape[0], dtype=bool)
    out[1:] = (x[1:] > y[1:]) & (x[:-1] <= y[:-1])
    return out


@overload
def crossed_below(a: Series, b: Series | npt.ArrayLike) -> DerivedSeries: ...
@overload
def crossed_below(a: npt.ArrayLike, b: Series) -> DerivedSeries: ...
@overload
def crossed_below(a: npt.ArrayLike, b: npt.ArrayLike) -> BoolArray: ...
@indicator(lookback=2)
def crossed_below(a: Any, b: Any) -> Any:
    """True at t when a[t] < b[t] and a[t-1] >= b[t-1] (NaN compares false)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.zeros(x.shape[0], dtype=bool)
    out[1:] = (x[1:] < y[1:]) & (x[:-1] >= y[:-1])
    return out
