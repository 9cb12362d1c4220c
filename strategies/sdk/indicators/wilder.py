"""Wilder's smoothed indicators: RSI and ATR (J. Welles Wilder, 1978).

Wilder's smoothing is an average seeded with the simple mean of the first `length` values and
then carried as avg = x / length + avg * (length - 1) / length, computed as the first-order
filter y = (1 / length) * x + ((length - 1) / length) * y (averages.first_order). Both
indicators follow the common charting convention (StockCharts, TradingView):
- rsi: changes of the close; the first value is at bar `length` (the first bar with `length`
  changes), RSI = 100 * avg_gain / (avg_gain + avg_loss); 50 when both averages are zero.
- atr: true range max(high - low, |high - previous close|, |low - previous close|), the first
  bar's being its high - low; the first value is at bar `length - 1`.
A leading run of NaN (another indicator warming up) is skipped; a NaN after the first finite
input makes every later value NaN, as in ema, because a recurrence cannot skip a bar.

Bar by bar, each is a recursive step whose state carries the averages, so a bar costs O(1);
the whole-array form runs the same float arithmetic (the same compiled filter, on the whole
array instead of one bar), so both give the same bits.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt

from engine.strategy.derived import DerivedSeries, indicator
from engine.strategy.series import Series
from strategies.sdk.indicators.averages import first_order

FloatArray = npt.NDArray[np.float64]


def _check_length(name: str, length: int) -> None:
    if length < 1:
        raise ValueError(f"{name} length must be >= 1, got {length}")


def _first_finite(finite: npt.NDArray[np.bool_]) -> int | None:
    return int(np.argmax(finite)) if finite.any() else None


def _wilder_gains(length: int) -> tuple[float, float]:
    return 1.0 / length, (length - 1) / length


def _smooth(x: FloatArray, x_before: Any, average: Any, length: int) -> FloatArray:
    """Wilder's averages of `x` (last axis) carried on from `average`, the value at the bar
    before, whose input was `x_before`: the same call for a whole array and for one bar."""
    return first_order(x, *_wilder_gains(length), x_before, average)


# -- RSI --------------------------------------------------------------------------------------


def _rsi_of(gain: float, loss: float) -> float:
    total = gain + loss
    if total == 0:
        return 50.0  # no movement at all in the averages: neither side is stronger
    return 100.0 * gain / total


def _moves(closes: FloatArray) -> FloatArray:
    """Gains (row 0) and losses (row 1) of the changes between the closes given: a rise or
    zero, a fall or zero; a NaN change stays NaN in both."""
    changes = np.diff(closes)
    gaps = np.isnan(changes)
    gains = np.where((changes > 0) | gaps, changes, 0.0)
    losses = np.where((changes < 0) | gaps, -changes, 0.0)
    return np.stack((gains, losses))


def _rsi_seed(closes: FloatArray) -> tuple[float, float]:
    """Average gain and loss of the first `length` changes (the `length + 1` closes given)."""
    gains, losses = _moves(closes)
    return float(gains.mean()), float(losses.mean())


def _rsi_run(close: FloatArray, length: int) -> tuple[FloatArray, int | None, float, float]:
    """(rsi, first finite bar, average gain and loss at the last bar) over `close`."""
    out = np.full(close.shape[0], np.nan)
    first = _first_finite(np.isfinite(close))
    if first is None or close.shape[0] - first <= length:
        return out, first, np.nan, np.nan
    seed = first + length
    gain, loss = _rsi_seed(close[first : seed + 1])
    out[seed] = _rsi_of(gain, loss)
    if close.shape[0] == seed + 1:
        return out, first, gain, loss
    # gains and losses from the bar before the seed's on; both averages in one filter call
    moves = _moves(close[seed - 1 :])
    gains, losses = _smooth(moves[:, 1:], moves[:, 0], np.array([gain, loss]), length)
    total = gains + losses
    # _rsi_of over the arrays: the same float operations, so the same bits as the step
    with np.errstate(divide="ignore", invalid="ignore"):
        out[seed + 1 :] = np.where(total == 0, 50.0, 100.0 * gains / total)
    return out, first, float(gains[-1]), float(losses[-1])


def _rsi_step(
    previous: FloatArray, values: npt.NDArray[Any], length: int = 14, *, state: dict[str, Any]
) -> float:
    """rsi at the newest bar from the averages carried in `state`: O(1) per bar."""
    t = len(values) - 1
    if not state:  # first call, or bars out of order: rebuild from the history, once
        _, first, gain, loss = _rsi_run(np.asarray(values[:t], dtype=np.float64), length)
        state.update(first=first, gain=gain, loss=loss)
    x = float(values[t])
    if state["first"] is None:
        if x == x:
            state["first"] = t
        return np.nan
    seed = state["first"] + length
    if t < seed:
        return np.nan
    if t == seed:
        gain, loss = _rsi_seed(np.asarray(values[t - length : t + 1], dtype=np.float64))
    else:  # the change into bar t - 1 (whose input seeds the filter) and into bar t
        moves = _moves(np.asarray(values[t - 2 : t + 1], dtype=np.float64))
        averages = np.array([state["gain"], state["loss"]])
        smoothed = _smooth(moves[:, 1:], moves[:, 0], averages, length)
        gain, loss = float(smoothed[0, 0]), float(smoothed[1, 0])
    state["gain"], state["loss"] = gain, loss
    return _rsi_of(gain, loss)


@overload
def rsi(values: Series, length: int = 14) -> DerivedSeries: ...
@overload
def rsi(values: npt.ArrayLike, length: int = 14) -> FloatArray: ...
@indicator(update=_rsi_step, state=True)
def rsi(values: Any, length: int = 14) -> Any:
    """Wilder's relative strength index, 0..100; NaN for the first `length` bars."""
    _check_length("rsi", length)
    return _rsi_run(np.asarray(values, dtype=np.float64), length)[0]


# -- ATR --------------------------------------------------------------------------------------


def _true_range(high: FloatArray, low: FloatArray, previous_close: FloatArray) -> FloatArray:
    """max(high - low, |high - prev close|, |low - prev close|); a NaN previous close (none
    yet) leaves the bar's own range (fmax ignores NaN, maximum keeps a NaN high or low)."""
    gaps = np.fmax(np.abs(high - previous_close), np.abs(low - previous_close))
    return np.asarray(np.fmax(high - low, gaps), dtype=np.float64)


def _atr_inputs(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if not h.shape == lo.shape == c.shape:
        raise ValueError(
            f"atr: high, low and close differ in length ({h.shape}, {lo.shape}, {c.shape})"
        )
    return h, lo, c


def _atr_ranges(h: FloatArray, lo: FloatArray, c: FloatArray, first: int) -> FloatArray:
    """True ranges from bar `first` on (its own has no previous close)."""
    previous = np.concatenate(([np.nan], c[first:-1])) if c.shape[0] > first else c[first:]
    return _true_range(h[first:], lo[first:], previous)


def _atr_first(h: FloatArray, lo: FloatArray, c: FloatArray) -> int | None:
    return _first_finite(np.isfinite(h) & np.isfinite(lo) & np.isfinite(c))


def _atr_step(
    previous: FloatArray,
    high: npt.NDArray[Any],
    low: npt.NDArray[Any],
    close: npt.NDArray[Any],
    length: int = 14,
    *,
    state: dict[str, Any],
) -> float:
    """atr at the newest bar from the previous atr; the state remembers where the inputs
    started, so a bar costs O(1)."""
    t = len(close) - 1
    if not state:  # first call, or bars out of order: find the first complete bar once
        state["first"] = _atr_first(*_atr_inputs(high[:t], low[:t], close[:t]))
    if state["first"] is None:
        if np.isfinite(high[t]) and np.isfinite(low[t]) and np.isfinite(close[t]):
            state["first"] = t
        else:
            return np.nan
    first = state["first"]
    seed = first + length - 1
    if t < seed:
        return np.nan
    if t == seed:
        h, lo, c = _atr_inputs(high[first : t + 1], low[first : t + 1], close[first : t + 1])
        return float(_atr_ranges(h, lo, c, 0).mean())
    start = max(first, t - 2)  # true ranges of bars t - 1 (seeding the filter) and t
    h, lo, c = _atr_inputs(high[start : t + 1], low[start : t + 1], close[start : t + 1])
    ranges = _atr_ranges(h, lo, c, 0)
    return float(_smooth(ranges[-1:], ranges[-2], previous[t - 1], length)[0])


@overload
def atr(high: Series, low: Series, close: Series, length: int = 14) -> DerivedSeries: ...
@overload
def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, length: int = 14
) -> FloatArray: ...
@indicator(update=_atr_step, state=True)
def atr(high: Any, low: Any, close: Any, length: int = 14) -> Any:
    """Wilder's average true range, in price units; NaN for the first `length - 1` bars."""
    _check_length("atr", length)
    h, lo, c = _atr_inputs(high, low, close)
    out = np.full(c.shape[0], np.nan)
    first = _atr_first(h, lo, c)
    if first is None or c.shape[0] - first < length:
        return out
    ranges = _atr_ranges(h, lo, c, first)
    seed = first + length - 1
    out[seed] = ranges[:length].mean()
    out[seed + 1 :] = _smooth(ranges[length:], ranges[length - 1], out[seed], length)
    return out
