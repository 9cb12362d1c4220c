"""Signals: market data in, the position wanted out, as a strength in [-1, 1] per bar.

+1 is "long, full size", -1 "short, full size", 0 "flat"; what a strength of 0.5 buys is the
sizer's business (`sizing.py`). A signal computes its strength in `init()` through
`strategy.I`, from the SDK's indicators, so the same Series is extended bar by bar in a
replay and live, with the same values as the backtest's whole-array computation. NaN (an
indicator still warming up) counts as flat.

Write your own by subclassing `Signal` and returning a Series from `strength()`:

    class AboveAverage(Signal):
        length = Param(50, min=2)

        def strength(self, strategy: Strategy) -> Series:
            average = strategy.I(sma, strategy.data.close, self.length)
            return strategy.I(direction, strategy.data.close, average, True, lookback=1)

(`lookback=1` tells the live path that `direction` works element by element.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from engine.strategy.base import Strategy
from engine.strategy.derived import indicator
from engine.strategy.params import Param
from engine.strategy.series import Series
from strategies.sdk.components import Component
from strategies.sdk.indicators import ema, rsi, sma, zscore

FloatArray = npt.NDArray[np.float64]


class Signal(Component):
    """Market data -> the position wanted, as a strength in [-1, 1] at every bar."""

    role = "signal"

    def strength(self, strategy: Strategy) -> Series:
        """Called in the strategy's `init()`: one strength per bar, made with `strategy.I`."""
        raise NotImplementedError(f"{type(self).__name__} must define strength(strategy)")


# -- building blocks (causal, element by element or carried bar to bar) ----------------------


def direction(fast: npt.ArrayLike, slow: npt.ArrayLike, long_only: bool = False) -> FloatArray:
    """+1 where `fast` is above `slow`, -1 where below (0 with `long_only`), 0 where equal
    or either is NaN. Element by element: give `strategy.I` `lookback=1`."""
    a = np.asarray(fast, dtype=np.float64)
    b = np.asarray(slow, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.where(a > b, 1.0, np.where(a < b, -1.0, 0.0))
    if long_only:
        out = np.maximum(out, 0.0)
    return np.asarray(out, dtype=np.float64)


def _band_step(
    previous: FloatArray,
    values: npt.NDArray[Any],
    lower: float,
    upper: float,
    exit_long: float,
    exit_short: float,
) -> float:
    """band_position at the newest bar from its value at the bar before: O(1) a bar."""
    t = len(values) - 1
    x = float(values[t])
    if x != x:
        return 0.0
    if x < lower:
        return 1.0
    if x > upper:
        return -1.0
    before = float(values[t - 1]) if t >= 1 else np.nan
    if (before < exit_long <= x) or (before > exit_short >= x):
        return 0.0
    return float(previous[t - 1]) if t >= 1 else 0.0


@indicator(update=_band_step)
def band_position(
    values: npt.ArrayLike, lower: float, upper: float, exit_long: float, exit_short: float
) -> FloatArray:
    """A reversion position held between events: +1 from a bar below `lower` until the
    value rises through `exit_long`, -1 from a bar above `upper` until it falls through
    `exit_short`, 0 otherwise (and on a NaN). Needs lower < exit_long <= exit_short < upper.
    A bar beyond a band enters even on the bar another position exits."""
    x = np.asarray(values, dtype=np.float64)
    n = x.shape[0]
    before = np.concatenate(([np.nan], x[:-1])) if n else x
    events = np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        events[(before < exit_long) & (x >= exit_long)] = 0.0
        events[(before > exit_short) & (x <= exit_short)] = 0.0
        events[np.isnan(x)] = 0.0
        events[x < lower] = 1.0
        events[x > upper] = -1.0
    last = np.where(~np.isnan(events), np.arange(n), -1)
    np.maximum.accumulate(last, out=last)
    return np.asarray(np.where(last >= 0, events[np.maximum(last, 0)], 0.0), dtype=np.float64)


def _long_only(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(np.maximum(np.asarray(values, dtype=np.float64), 0.0), dtype=np.float64)


# -- concrete signals ---------------------------------------------------------------------------


class MovingAverageCross(Signal):
    """Trend: long while the fast average is above the slow one, short while below
    (flat instead with `long_only`). Strength +1 / -1 / 0."""

    fast = Param(10, min=1, max=500, help="bars in the fast moving average")
    slow = Param(30, min=2, max=2000, help="bars in the slow moving average")
    average = Param("sma", choices=("sma", "ema"), help="simple or exponential averages")
    long_only = Param(False, help="flat instead of short when the fast average is below")

    def check(self) -> None:
        if self.fast >= self.slow:
            raise self.refuse("{fast} must be below {slow}")

    def strength(self, strategy: Strategy) -> Series:
        average = sma if self.average == "sma" else ema
        close = strategy.data.close
        fast = strategy.I(average, close, self.fast, name=f"{self.average}{self.fast}")
        slow = strategy.I(average, close, self.slow, name=f"{self.average}{self.slow}")
        return strategy.I(direction, fast, slow, self.long_only, name="cross", lookback=1)


class ZScoreReversion(Signal):
    """Mean reversion on the close's rolling z-score: long from a bar below -`entry` until
    the z-score is back above -`exit`, short from above +`entry` until back below +`exit`."""

    length = Param(20, min=2, max=2000, help="bars in the rolling mean and deviation")
    entry = Param(2.0, min=0.1, max=10.0, help="|z| that opens a position")
    exit = Param(0.0, min=0.0, max=10.0, help="|z| at which the position is closed")
    long_only = Param(False, help="take only the long side")

    def check(self) -> None:
        if self.exit >= self.entry:
            raise self.refuse("{exit} must be below {entry}")

    def strength(self, strategy: Strategy) -> Series:
        z = strategy.I(zscore, strategy.data.close, self.length, name=f"zscore{self.length}")
        held = strategy.I(
            band_position, z, -self.entry, self.entry, -self.exit, self.exit, name="z band"
        )
        return (
            strategy.I(_long_only, held, name="long side", lookback=1) if self.long_only else held
        )


class RsiReversion(Signal):
    """Mean reversion on Wilder's RSI: long from an oversold bar until the RSI rises through
    `exit_level`, short from an overbought bar until it falls through it."""

    length = Param(14, min=2, max=500, help="bars in Wilder's RSI")
    oversold = Param(30.0, min=1.0, max=99.0, help="RSI below which to buy")
    overbought = Param(70.0, min=1.0, max=99.0, help="RSI above which to sell short")
    exit_level = Param(50.0, min=1.0, max=99.0, help="RSI through which a position is closed")
    long_only = Param(False, help="take only the long side")

    def check(self) -> None:
        if not self.oversold < self.exit_level < self.overbought:
            raise self.refuse("need {oversold} < {exit_level} < {overbought}")

    def strength(self, strategy: Strategy) -> Series:
        value = strategy.I(rsi, strategy.data.close, self.length, name=f"rsi{self.length}")
        held = strategy.I(
            band_position,
            value,
            self.oversold,
            self.overbought,
            self.exit_level,
            self.exit_level,
            name="rsi band",
        )
        return (
            strategy.I(_long_only, held, name="long side", lookback=1) if self.long_only else held
        )
