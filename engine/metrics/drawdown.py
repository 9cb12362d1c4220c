"""Drawdown depth and duration of an equity curve, in one vectorised pass.

The initial capital is the first peak: a strategy that loses from its very first bar is in
drawdown from the money the user put in, not from its first (already lower) mark. That peak
counts as a sample one bar before the first one, at the first sample's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.ist import NS_PER_DAY
from engine.metrics.inputs import FloatArray, IntArray


@dataclass(frozen=True)
class DrawdownEpisode:
    """One stretch under water: from the peak to the first sample back at or above it.

    If equity never regains the peak, the episode runs to the last sample and `recovered`
    is False, so its duration is a lower bound.
    """

    depth: float  # deepest fall in the episode, as a fraction of the peak (0.25 = 25%)
    bars: int  # samples from the peak to the recovery (or to the end)
    days: float  # calendar days from the peak to the recovery (or to the end)
    recovered: bool

    @classmethod
    def none(cls) -> DrawdownEpisode:
        """A curve that never fell below its peak."""
        return cls(depth=0.0, bars=0, days=0.0, recovered=True)


@dataclass(frozen=True)
class Drawdowns:
    """The deepest episode, and the longest (by calendar time; ties go to the earlier)."""

    deepest: DrawdownEpisode
    longest: DrawdownEpisode

    @property
    def max_drawdown(self) -> float:
        return self.deepest.depth


def drawdown_fractions(equity: FloatArray, initial_capital: float) -> FloatArray:
    """1 - equity / running peak at every sample; the peak starts at the initial capital."""
    peak = np.maximum.accumulate(equity)
    np.maximum(peak, initial_capital, out=peak)
    return 1.0 - equity / peak


def max_drawdown(equity: FloatArray, initial_capital: float) -> float:
    """Largest fall from a running peak as a fraction of that peak; 0 for a rising curve."""
    return float(drawdown_fractions(equity, initial_capital).max())


def drawdowns(timestamps: IntArray, equity: FloatArray, initial_capital: float) -> Drawdowns:
    """Depth and duration of the deepest and the longest drawdown episodes."""
    if initial_capital <= 0:
        raise ValueError(f"initial_capital must be > 0, got {initial_capital}")
    fractions = drawdown_fractions(equity, initial_capital)
    under = fractions > 0
    if not under.any():
        return Drawdowns(DrawdownEpisode.none(), DrawdownEpisode.none())
    n = equity.size
    edges = np.diff(under.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)  # first sample under water
    stops = np.flatnonzero(edges == -1)  # first sample back at the peak, or n
    # The sample before a run is at the running peak; -1 is the initial capital.
    peaks = starts - 1
    ends = np.minimum(stops, n - 1)
    bars = ends - peaks
    spans = timestamps[ends] - timestamps[np.maximum(peaks, 0)]
    trough = int(np.argmax(fractions))
    deepest = int(np.searchsorted(starts, trough, side="right")) - 1
    longest = int(np.argmax(spans))

    def episode(k: int) -> DrawdownEpisode:
        depth = float(fractions[starts[k] : stops[k]].max())
        return DrawdownEpisode(
            depth=depth,
            bars=int(bars[k]),
            days=float(spans[k]) / NS_PER_DAY,
            recovered=bool(stops[k] < n),
        )

    return Drawdowns(deepest=episode(deepest), longest=episode(longest))
