"""A level-of-detail pyramid of OHLCV bars, so drawing costs pixels, not bars.

Level 0 holds the bars; level k merges 2^k consecutive bars (first open, max high, min low,
last close, summed volume). A paint picks the level whose bucket is about a pixel wide and
slices only the visible buckets; the y range of any bar span is exact in O(log n) by reading
at most two buckets per level (a segment-tree walk over the same arrays). The pyramid holds
about as much again as the bars (n/2 + n/4 + ... buckets). Numpy only: no Qt here.

Levels above the bars are built on first need, not in the constructor: on a million bars they
are 40 MB of fresh memory and ~30 ms (page faults, not arithmetic), while a chart opens on its
last few hundred bars, which need none of them. A query over a short span (at most
`LOCAL_BARS` bars) merges just those bars the same way instead, so the numbers are the same
bit for bit; zooming out past that builds the levels once (they are kept). A live append or
update builds them all first, so ticks stay O(log n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

_FIELDS = ("open", "high", "low", "close", "volume")
LOCAL_BARS = 1 << 14  # a query over at most this many bars never builds a level


class _Level:
    """One level's five arrays with spare capacity, so appends are amortised O(1)."""

    __slots__ = ("close", "high", "low", "n", "open", "volume")

    def __init__(self, o: F64, h: F64, lo: F64, c: F64, v: F64) -> None:
        self.open, self.high, self.low, self.close, self.volume = o, h, lo, c, v
        self.n = len(o)

    def view(self, name: str) -> F64:
        arr: F64 = getattr(self, name)
        return arr[: self.n]

    def grow(self) -> None:
        """Make room for one more bucket (capacity x1.5 when full)."""
        if self.n < len(self.open):
            return
        size = max(16, self.n + self.n // 2)
        for name in _FIELDS:
            old: F64 = getattr(self, name)
            new = np.empty(size, dtype=np.float64)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)


@dataclass(frozen=True, slots=True)
class Buckets:
    """The visible buckets of one level: arrays aligned with x (bar-index centres).

    `width` is the bucket span in bars (2^level); the last bucket of a series may hold fewer
    bars, and its x is the centre of the bars it really holds."""

    level: int
    width: float
    x: F64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    first: int  # index of the first bucket in its level

    def __len__(self) -> int:
        return len(self.x)


def _merge(prev: _Level) -> _Level:
    """The next level up: pairs merged, an odd last bucket carried alone."""
    n = prev.n
    pairs = n // 2
    m = pairs + (n & 1)
    o, h, lo, c, v = (prev.view(name) for name in _FIELDS)
    out = [np.empty(m, dtype=np.float64) for _ in _FIELDS]
    out[0][:pairs] = o[0 : 2 * pairs : 2]
    np.maximum(h[0 : 2 * pairs : 2], h[1 : 2 * pairs : 2], out=out[1][:pairs])
    np.minimum(lo[0 : 2 * pairs : 2], lo[1 : 2 * pairs : 2], out=out[2][:pairs])
    out[3][:pairs] = c[1 : 2 * pairs : 2]
    np.add(v[0 : 2 * pairs : 2], v[1 : 2 * pairs : 2], out=out[4][:pairs])
    if n & 1:
        for arr, src in zip(out, (o, h, lo, c, v), strict=True):
            arr[pairs] = src[n - 1]
    return _Level(*out)


def _merge_up(base: _Level, levels: int) -> _Level:
    """`levels` merges of `base` (a run of bars starting on a multiple of 2^levels, ending on
    one or at the series' end): the same pairs and the same arithmetic as the full levels."""
    out = base
    for _ in range(levels):
        out = _merge(out)
    return out


def level_count(n: int) -> int:
    """How many levels a pyramid of n bars has: 1 + ceil(log2 n), 1 for zero or one bar."""
    return 1 + (n - 1).bit_length() if n > 1 else 1


class OhlcvPyramid:
    """Bars and their merged levels (built on first need), then grown or updated a bar at a
    time."""

    def __init__(self, open_: F64, high: F64, low: F64, close: F64, volume: F64) -> None:
        """Keep the bars; levels come on first need. Float64 arrays are kept by reference,
        not copied (a million bars is 40 MB): the pyramid never writes to them (it copies
        before its first in-place update), and the caller must not change them afterwards."""
        given = (open_, high, low, close, volume)
        arrays = [np.asarray(a, dtype=np.float64) for a in given]
        self._owns_base = not any(a is b for a, b in zip(arrays, given, strict=True))
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"OHLCV arrays differ in length: {[len(a) for a in arrays]}")
        self._levels: list[_Level] = [_Level(*arrays)]  # built levels: 0.._built-1
        self._whole: tuple[float, float, float] | None = None  # (low, high, volume) unbuilt

    def _level(self, level: int) -> _Level:
        """Level `level`, building it (and those below) if not built yet."""
        while len(self._levels) <= level:
            self._levels.append(_merge(self._levels[-1]))
        return self._levels[level]

    def _build_all(self) -> None:
        self._level(self.levels - 1)

    @property
    def built_levels(self) -> int:
        """How many levels exist in memory so far (the bars count as one)."""
        return len(self._levels)

    @classmethod
    def empty(cls) -> OhlcvPyramid:
        return cls(*(np.empty(0, dtype=np.float64) for _ in _FIELDS))

    def __len__(self) -> int:
        return self._levels[0].n

    @property
    def levels(self) -> int:
        """How many levels there are (1 for zero or one bar), built or not."""
        return level_count(self._levels[0].n)

    def level_arrays(self, level: int) -> tuple[F64, F64, F64, F64, F64]:
        """Open, high, low, close, volume of every bucket of a level (views, do not write)."""
        if not 0 <= level < self.levels:
            raise IndexError(f"level {level} outside 0..{self.levels - 1}")
        lv = self._level(level)
        return (
            lv.view("open"),
            lv.view("high"),
            lv.view("low"),
            lv.view("close"),
            lv.view("volume"),
        )

    def level_for(self, bars_per_pixel: float) -> int:
        """The coarsest level whose bucket is at most a pixel wide (half to one pixel)."""
        if not bars_per_pixel > 1.0 or not math.isfinite(bars_per_pixel):
            return 0
        return min(math.floor(math.log2(bars_per_pixel)), self.levels - 1)

    def visible(self, level: int, x0: float, x1: float) -> Buckets:
        """Buckets of `level` overlapping bar-index range [x0, x1] (bar i spans i-0.5..i+0.5).

        An unbuilt level stays unbuilt when the buckets cover at most `LOCAL_BARS` bars: they
        are merged from just those bars (the same values)."""
        level = max(0, min(level, self.levels - 1))
        n = len(self)
        span = 1 << level
        count = (n + span - 1) >> level  # buckets in the level
        if n == 0 or x1 < -0.5 or x0 > n - 0.5 or x1 < x0:
            first, last = 0, -1
        else:
            first = max(0, math.floor((x0 + 0.5) / span))
            last = min(count - 1, math.floor((x1 + 0.5) / span))
        x = np.arange(first, last + 1, dtype=np.float64) * span + (span - 1) / 2.0
        if last == count - 1 and last >= first:
            start = last * span
            x[-1] = start + (n - 1 - start) / 2.0
        if level < len(self._levels) or (last - first + 1) * span > LOCAL_BARS:
            lv, sl = self._level(level), slice(first, last + 1)
        else:
            base = self._levels[0]
            bars = slice(first * span, min(n, (last + 1) * span))
            lv = _merge_up(_Level(*(base.view(name)[bars] for name in _FIELDS)), level)
            sl = slice(0, lv.n)
        return Buckets(
            level,
            float(span),
            x,
            lv.open[sl],
            lv.high[sl],
            lv.low[sl],
            lv.close[sl],
            lv.volume[sl],
            first,
        )

    def bar_range(self, x0: float, x1: float) -> tuple[int, int]:
        """Bars [i0, i1] (inclusive) that any part of x range [x0, x1] touches; i1 < i0 if none."""
        n = len(self)
        i0 = max(0, math.floor(x0 - 0.5) + 1)  # i + 0.5 > x0
        i1 = min(n - 1, math.ceil(x1 + 0.5) - 1)  # i - 0.5 < x1
        return i0, i1

    def y_range(self, x0: float, x1: float) -> tuple[float, float] | None:
        """Exact (min low, max high) of the bars x range [x0, x1] touches, None if none.

        Bottom-up segment-tree walk: at each level at most one bucket from each edge, so the
        partial buckets at both ends are exact and the cost is O(log n) whatever the span.
        A span of at most `LOCAL_BARS` bars is read from the bars themselves (the same
        extremes), so it never builds a level."""
        i0, i1 = self.bar_range(x0, x1)
        if i1 < i0:
            return None
        if i1 - i0 < LOCAL_BARS and len(self._levels) < self.levels:
            base = self._levels[0]
            return float(base.low[i0 : i1 + 1].min()), float(base.high[i0 : i1 + 1].max())
        lo_v, hi_v = math.inf, -math.inf
        left, right = i0, i1 + 1  # half-open
        for k in range(self.levels):
            if left >= right:
                break
            lv = self._level(k)
            if left & 1:
                lo_v = min(lo_v, float(lv.low[left]))
                hi_v = max(hi_v, float(lv.high[left]))
                left += 1
            if right & 1:
                right -= 1
                lo_v = min(lo_v, float(lv.low[right]))
                hi_v = max(hi_v, float(lv.high[right]))
            left >>= 1
            right >>= 1
        return lo_v, hi_v

    def bounds(self) -> tuple[float, float] | None:
        """(min low, max high) of the whole series: the top bucket once the levels are built
        (O(1)), until then one pass over the bars (~1 ms a million, then kept)."""
        if not len(self):
            return None
        lo, hi, _ = self._whole_series()
        return lo, hi

    def total_volume(self) -> float:
        """The whole series' volume (the top bucket's, or one pass while it is unbuilt)."""
        return self._whole_series()[2] if len(self) else 0.0

    def _whole_series(self) -> tuple[float, float, float]:
        if len(self._levels) == self.levels:
            top = self._levels[-1]
            return float(top.low[0]), float(top.high[0]), float(top.volume[0])
        if self._whole is None:
            base = self._levels[0]
            self._whole = (
                float(base.view("low").min()),
                float(base.view("high").max()),
                float(base.view("volume").sum()),
            )
        return self._whole

    def bar(self, i: int) -> tuple[float, float, float, float, float]:
        """Open, high, low, close, volume of bar i."""
        lv = self._levels[0]
        if not 0 <= i < lv.n:
            raise IndexError(f"bar {i} outside 0..{lv.n - 1}")
        return (
            float(lv.open[i]),
            float(lv.high[i]),
            float(lv.low[i]),
            float(lv.close[i]),
            float(lv.volume[i]),
        )

    def append(self, o: float, h: float, lo: float, c: float, v: float) -> None:
        """Add one bar: one bucket per level is created or re-merged (the levels are built
        first, once, so every later tick costs O(log n))."""
        self._build_all()
        base = self._levels[0]
        base.grow()  # the caller's arrays are full (capacity n): this reallocates them as ours
        self._owns_base = True
        i = base.n
        base.open[i], base.high[i], base.low[i], base.close[i], base.volume[i] = o, h, lo, c, v
        base.n += 1
        self._remerge_last()

    def update_last(self, o: float, h: float, lo: float, c: float, v: float) -> None:
        """Replace the last bar (a live tick): one bucket per level is re-merged (the levels
        are built first, once)."""
        self._build_all()
        base = self._levels[0]
        if not base.n:
            raise IndexError("no bar to update")
        if not self._owns_base:  # the caller's arrays: copy before the first write
            for name in _FIELDS:
                setattr(base, name, np.array(getattr(base, name), copy=True))
            self._owns_base = True
        i = base.n - 1
        base.open[i], base.high[i], base.low[i], base.close[i], base.volume[i] = o, h, lo, c, v
        self._remerge_last()

    def _remerge_last(self) -> None:
        """Rebuild the last bucket of every level from its (one or two) children."""
        k = 1
        while True:
            child = self._levels[k - 1]
            if child.n <= 1 and k >= len(self._levels):
                break
            if k == len(self._levels):
                self._levels.append(_Level(*(np.empty(0, dtype=np.float64) for _ in _FIELDS)))
            lv = self._levels[k]
            b = (child.n - 1) >> 1
            if b >= lv.n:
                lv.grow()
                lv.n = b + 1
            a, z = 2 * b, min(2 * b + 1, child.n - 1)
            lv.open[b] = child.open[a]
            lv.high[b] = max(child.high[a], child.high[z])
            lv.low[b] = min(child.low[a], child.low[z])
            lv.close[b] = child.close[z]
            lv.volume[b] = child.volume[a] + (child.volume[z] if z != a else 0.0)
            if lv.n == 1:
                break
            k += 1
