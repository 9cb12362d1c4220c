"""A long curve drawn at the detail the screen shows: min/max per pixel, from a pyramid.

A million-bar run's equity curve handed whole to pyqtgraph costs its first paint ~175 ms of
downsampling on the GUI thread (and again on each zoom), where the issue allows 50 ms for the
whole of a run's arrival. `CurvePyramid` keeps, per level k, the min and max of each bucket of
2^k points (built once, O(n)); a view asks for the level whose buckets are about a pixel wide
and gets two points per visible bucket (its min and its max at the bucket's start), so every
spike stays visible and the work per view is proportional to the pixels, not the points.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


class CurvePyramid:
    """x ascending (e.g. seconds), y the curve; `view(x0, x1, pixels)` -> (xs, ys) to draw.

    A level is built on first use, straight from the points (one pass, 1-7 ms for a
    million), so showing a run costs only the level its first view needs."""

    def __init__(self, x: F64, y: F64) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.levels: dict[int, tuple[F64, F64, F64]] = {}  # k -> (bucket start x, min, max)

    def __len__(self) -> int:
        return len(self.x)

    def level(self, k: int) -> tuple[F64, F64, F64]:
        """Buckets of 2^k points: their first x, min and max (NaN ignored; NaN only where
        a bucket holds nothing else)."""
        built = self.levels.get(k)
        if built is None:
            size = 1 << k
            n = len(self.y)
            whole = n - n % size
            mins, maxs = bucket_extremes(self.y[:whole], size)
            starts = self.x[0:whole:size]
            if whole < n:  # the short last bucket
                tail = self.y[whole:]
                mins = np.append(mins, np.fmin.reduce(tail))
                maxs = np.append(maxs, np.fmax.reduce(tail))
                starts = np.append(starts, self.x[whole])
            built = self.levels[k] = (starts, mins, maxs)
        return built

    def view(self, x0: float, x1: float, pixels: int) -> tuple[F64, F64]:
        """The points to draw for x in [x0, x1] on `pixels` pixels: the raw points when there
        are few enough, else min and max of each bucket about a pixel wide (one bucket of
        margin each side, so the line runs off the edges instead of stopping short)."""
        start = max(int(np.searchsorted(self.x, x0, side="left")) - 1, 0)
        end = min(int(np.searchsorted(self.x, x1, side="right")) + 1, len(self.x))
        points = end - start
        pixels = max(pixels, 1)
        if points <= 2 * pixels:
            return self.x[start:end], self.y[start:end]
        k = int(np.log2(points / pixels))  # 2^k <= points a pixel, k >= 1
        xs, lo, hi = self.level(k)
        first = max((start >> k) - 1, 0)
        last = min((end >> k) + 2, len(xs))
        out_x = np.repeat(xs[first:last], 2)
        out_y = np.empty(len(out_x))
        out_y[0::2] = lo[first:last]
        out_y[1::2] = hi[first:last]
        return out_x, out_y


SHORT_BUCKET = 8
"""Buckets up to this many points are folded column by column (see bucket_extremes)."""


def bucket_extremes(y: F64, size: int) -> tuple[F64, F64]:
    """The min and max of each bucket of `size` consecutive points (len(y) a multiple of
    `size`), NaN ignored as np.nanmin does (fmin/fmax: NaN only for an all-NaN bucket).

    numpy's reduce along short rows pays its per-row overhead: a million points in buckets
    of 2 took ~45 ms, on the GUI thread, when a zoomed view first needed that level. Short
    buckets are folded a column at a time instead (a few elementwise passes, ~3-7 ms)."""
    rows = y.reshape(-1, size)
    if size > SHORT_BUCKET:
        return np.fmin.reduce(rows, axis=1), np.fmax.reduce(rows, axis=1)
    mins = rows[:, 0].copy()
    maxs = mins.copy()
    for column in range(1, size):
        np.fmin(mins, rows[:, column], out=mins)
        np.fmax(maxs, rows[:, column], out=maxs)
    return mins, maxs
