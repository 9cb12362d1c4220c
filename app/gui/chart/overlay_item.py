"""Indicator lines over the price (or a sub-pane), drawn at the candles' level of detail.

A line over a million bars must not cost a million points a frame. Each line keeps a min/max
pyramid (level k holds the NaN-aware min and max of every 2^k consecutive values), each level
built on first need (a chart opens zoomed in, where the raw values are drawn: building the
levels of two 1M-bar lines up front cost ~35 ms of the first frame) and then kept;
a paint takes only the visible slice of the level whose bucket is one to two pixels wide and
draws, per bucket, a vertical min..max segment joined to the next bucket's, so a spike is
never thinned away. Zoomed in (under two values a pixel) it is the plain polyline. NaN leaves
a gap (an indicator's warm-up); a bucket is a gap only when all its values are NaN.

x is the bar index (0..n-1), as for the candles; y is whatever the indicator measures.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

FloatArray = npt.NDArray[np.float64]

_HEADROOM = 1024  # spare slots so live appends rarely rebuild the pyramid
_FILL_COLUMNS = 400  # a band's fill is drawn from at most about this many buckets
# A band's fill is drawn only zoomed in to the raw level (under 2 bars a pixel): alpha-filling
# the band's area costs by area, measured +1.2-1.7 ms at 500-2,000 bars, +3 ms at 6,000 and
# 6-16 ms on 1M bars (its two lines ~3 ms); zoomed out the band is its two lines.
_FILL_MAX_LEVEL = 0


class MinMaxPyramid:
    """Values and their per-2^k-bucket minimum and maximum, NaN-aware (np.fmin/np.fmax).

    A level is built the first time a query needs it (and those below it); the results are
    the same as with every level built. Appending or updating the last value builds them all
    once, then recomputes one bucket per level, so a live tick costs O(log n), never a
    rebuild (except when the spare capacity runs out: amortised O(1)).
    """

    def __init__(self, values: npt.ArrayLike) -> None:
        self._n = 0
        self._raw: FloatArray = np.empty(0)
        self._lo: list[FloatArray] = []  # built levels, level k-1 at index k-1: levels 1..
        self._hi: list[FloatArray] = []
        self._levels = 0
        self._whole: tuple[float, float] | None = None  # fmin/fmax of the raw values
        self.set_values(values)

    def __len__(self) -> int:
        return self._n

    @property
    def values(self) -> FloatArray:
        """The values as given (a view: read only)."""
        view = self._raw[: self._n]
        view.flags.writeable = False
        return view

    def set_values(self, values: npt.ArrayLike) -> None:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"a chart line needs a 1-d array, got shape {array.shape}")
        self._build(array, array.shape[0] + _HEADROOM)

    def _build(self, array: FloatArray, capacity: int) -> None:
        """Copy the values into `capacity` slots (NaN after them); no level is built yet."""
        n = array.shape[0]
        raw = np.empty(capacity)
        raw[:n] = array
        raw[n:] = np.nan
        self._raw, self._n = raw, n
        self._lo, self._hi = [], []
        self._levels = (capacity - 1).bit_length() if capacity > 1 else 0
        self._whole = None

    def _level(self, level: int) -> tuple[FloatArray, FloatArray]:
        """(min, max) arrays of `level` (1..levels), built now if they are not yet."""
        while len(self._lo) < level:
            below_lo = self._lo[-1] if self._lo else self._raw
            below_hi = self._hi[-1] if self._hi else self._raw
            m = below_lo.shape[0]
            pairs = m // 2
            lo = np.empty(pairs + (m & 1))
            hi = np.empty(pairs + (m & 1))
            np.fmin(below_lo[0 : 2 * pairs : 2], below_lo[1 : 2 * pairs : 2], out=lo[:pairs])
            np.fmax(below_hi[0 : 2 * pairs : 2], below_hi[1 : 2 * pairs : 2], out=hi[:pairs])
            if m & 1:  # a lone last bucket: fmin/fmax with nothing (NaN) is the value itself
                lo[pairs], hi[pairs] = below_lo[m - 1], below_hi[m - 1]
            self._lo.append(lo)
            self._hi.append(hi)
        return self._lo[level - 1], self._hi[level - 1]

    @property
    def levels(self) -> int:
        """How many levels above the raw values (level k merges 2^k values), built or not."""
        return self._levels

    @property
    def built_levels(self) -> int:
        """How many of them exist in memory so far."""
        return len(self._lo)

    def append(self, value: float) -> None:
        if self._n == self._raw.shape[0]:
            self._build(self._raw[: self._n].copy(), self._n + self._n // 2 + _HEADROOM)
        self._level(self.levels)
        self._raw[self._n] = value
        self._n += 1
        self._refresh(self._n - 1)

    def update_last(self, value: float) -> None:
        if self._n == 0:
            raise IndexError("update_last on an empty line: append a value first")
        self._level(self.levels)
        self._raw[self._n - 1] = value
        self._refresh(self._n - 1)

    def _refresh(self, index: int) -> None:
        """Recompute the one bucket per built level that holds `index`."""
        self._whole = None
        below_lo, below_hi = self._raw, self._raw
        for k in range(len(self._lo)):
            j = index >> (k + 1)
            a, b = 2 * j, 2 * j + 1
            last = below_lo.shape[0] - 1
            lo_b = below_lo[b] if b <= last else math.nan
            hi_b = below_hi[b] if b <= last else math.nan
            self._lo[k][j] = np.fmin(below_lo[a], lo_b)
            self._hi[k][j] = np.fmax(below_hi[a], hi_b)
            below_lo, below_hi = self._lo[k], self._hi[k]

    def value_at(self, index: int) -> float | None:
        """The value at bar `index`, None outside the series or in a gap (NaN)."""
        if not 0 <= index < self._n:
            return None
        value = float(self._raw[index])
        return value if math.isfinite(value) else None

    def level_for(self, bars_per_pixel: float) -> int:
        """The level whose bucket is one to two pixels wide (two points a pixel column at
        most); 0 (the raw values) under two bars a pixel."""
        if not bars_per_pixel >= 2.0:
            return 0
        return min(math.ceil(math.log2(bars_per_pixel)), self.levels)

    def columns(
        self, x0: float, x1: float, level: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(x, low, high) of the level's buckets touching [x0, x1], plus one either side so
        the line runs off the edges; x is the bucket's centre in bar units."""
        size = 1 << level
        count = (self._n + size - 1) >> level
        first = max(0, (math.floor(x0) >> level) - 1) if x0 > 0 else 0
        stop = min(count, (max(math.ceil(x1), 0) >> level) + 2)
        if stop <= first:
            empty = np.empty(0)
            return empty, empty, empty
        x = np.arange(first, stop, dtype=np.float64) * size + (size - 1) / 2.0
        if level == 0:
            y = self._raw[first:stop]
            return x, y, y
        lo, hi = self._level(level)
        return x, lo[first:stop], hi[first:stop]

    def y_range(self, x0: float, x1: float) -> tuple[float, float] | None:
        """Exact (min, max) of the finite values with index in [x0, x1], None if there are
        none: whole buckets from a level of about a thousand buckets, raw values at the
        edges, so the cost is independent of the span."""
        i0 = max(0, math.ceil(x0))
        i1 = min(self._n - 1, math.floor(x1))
        if i1 < i0:
            return None
        span = i1 - i0 + 1
        level = min(self.levels, max(0, int(math.log2(max(span, 1))) - 10))
        size = 1 << level
        b0 = (i0 + size - 1) >> level  # first whole bucket
        b1 = (i1 + 1) >> level  # one past the last whole bucket
        parts_lo: list[FloatArray] = []
        parts_hi: list[FloatArray] = []
        if level == 0 or b1 <= b0:
            parts_lo.append(self._raw[i0 : i1 + 1])
            parts_hi.append(self._raw[i0 : i1 + 1])
        else:
            edges = np.concatenate((self._raw[i0 : b0 * size], self._raw[b1 * size : i1 + 1]))
            lo_level, hi_level = self._level(level)
            parts_lo += [edges, lo_level[b0:b1]]
            parts_hi += [edges, hi_level[b0:b1]]
        lo = min(
            (float(np.nanmin(p)) for p in parts_lo if p.size and np.isfinite(p).any()),
            default=math.nan,
        )
        hi = max(
            (float(np.nanmax(p)) for p in parts_hi if p.size and np.isfinite(p).any()),
            default=math.nan,
        )
        if math.isnan(lo):
            return None
        return lo, hi

    def full_range(self) -> tuple[float, float] | None:
        """(min, max) of every finite value: the top of the pyramid once built, until then
        one NaN-aware pass over the values (~0.6 ms a million, kept until they change)."""
        if self._n == 0:
            return None
        if not self.levels:
            value = self.value_at(0)
            return None if value is None else (value, value)
        if len(self._lo) == self.levels:
            lo, hi = float(self._lo[-1][0]), float(self._hi[-1][0])
        else:
            if self._whole is None:
                values = self._raw[: self._n]
                self._whole = (float(np.fmin.reduce(values)), float(np.fmax.reduce(values)))
            lo, hi = self._whole
        return None if math.isnan(lo) else (lo, hi)


def zigzag(x: FloatArray, lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two points per column, low then high on even columns and high then low on odd ones,
    so one polyline draws every column's min..max segment and joins neighbours in order."""
    m = x.shape[0]
    xs = np.repeat(x, 2)
    ys = np.empty(2 * m)
    ys[0::2] = lo
    ys[1::2] = hi
    odd = ys[2::4].copy() if m > 1 else np.empty(0)
    if m > 1:
        ys[2::4] = ys[3::4]
        ys[3::4] = odd
    return xs, ys


def _pen(colour: str) -> QtGui.QPen:
    """A one-pixel cosmetic pen: Qt's fast line rasteriser. A wider pen goes through the
    path stroker, measured 15x slower (29 ms vs 2 ms for a thinned 1M-bar line)."""
    pen = QtGui.QPen(QtGui.QColor(colour))
    pen.setWidthF(1.0)
    pen.setCosmetic(True)
    return pen


def stroke(painter: QtGui.QPainter, path: QtGui.QPainterPath, width: float) -> None:
    """Draw `path` with the current one-pixel pen, `width` pixels thick: extra passes shifted
    one device pixel down (and right for 3+), as fast as the thin line each."""
    painter.drawPath(path)
    passes = round(width) - 1
    if passes <= 0:
        return
    base = painter.worldTransform()
    for dx, dy in ((0.0, 1.0), (1.0, 0.0), (1.0, 1.0))[:passes]:
        painter.setWorldTransform(base * QtGui.QTransform.fromTranslate(dx, dy))
        painter.drawPath(path)
    painter.setWorldTransform(base)


def _bars_per_pixel(painter: QtGui.QPainter) -> float:
    scale = abs(painter.deviceTransform().m11())
    return 1.0 / scale if scale > 0 else math.inf


class _LodItem(pg.GraphicsObject):  # type: ignore[misc]  # pyqtgraph is untyped
    """What a line and a band share: the visible range, the bounding box, autoscale bounds."""

    def __init__(self) -> None:
        super().__init__()
        self.paint_count = 0
        self.last_level = 0
        self.last_points = 0
        self._bounds = QtCore.QRectF()

    def _pyramids(self) -> list[MinMaxPyramid]:
        raise NotImplementedError

    def _length(self) -> int:
        return max((len(p) for p in self._pyramids()), default=0)

    def y_range(self, x0: float, x1: float) -> tuple[float, float] | None:
        """(min, max) over bars x0..x1 (for the chart's autoscale), None if all NaN."""
        found = [r for p in self._pyramids() if (r := p.y_range(x0, x1)) is not None]
        if not found:
            return None
        return min(r[0] for r in found), max(r[1] for r in found)

    def _update_bounds(self) -> None:
        found = [r for p in self._pyramids() if (r := p.full_range()) is not None]
        n = self._length()
        if found:
            lo, hi = min(r[0] for r in found), max(r[1] for r in found)
            rect = QtCore.QRectF(-0.5, lo, n, hi - lo)
        else:
            rect = QtCore.QRectF()
        if rect != self._bounds:
            self.prepareGeometryChange()
            self._bounds = rect

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._bounds)

    def dataBounds(
        self, ax: int, frac: float = 1.0, orthoRange: tuple[float, float] | None = None
    ) -> tuple[float | None, float | None]:
        """What pyqtgraph's ViewBox autoscale asks for: x is 0..n-1; y over the x range
        shown when autoscale is limited to the visible data."""
        n = self._length()
        if n == 0:
            return None, None
        if ax == 0:
            return 0.0, float(n - 1)
        if orthoRange is not None:
            found = self.y_range(orthoRange[0], orthoRange[1])
        else:
            found = self.y_range(0, n - 1)
        return (None, None) if found is None else found

    def _visible(self) -> tuple[float, float]:
        view = self.viewRect()
        if view is None:
            return -1.0, float(self._length())
        return view.left(), view.right()

    def _changed(self) -> None:
        self._update_bounds()
        self.update()


class LodLineItem(_LodItem):
    """One indicator line; `value_at` feeds the crosshair read-out."""

    def __init__(
        self, values: npt.ArrayLike, colour: str, width: float = 1.5, name: str = ""
    ) -> None:
        super().__init__()
        self.name = name
        self.colour = colour
        self.width = width
        self._pen = _pen(colour)
        self._data = MinMaxPyramid(values)
        self._update_bounds()

    def _pyramids(self) -> list[MinMaxPyramid]:
        return [self._data]

    @property
    def values(self) -> FloatArray:
        return self._data.values

    def set_values(self, values: npt.ArrayLike) -> None:
        self._data.set_values(values)
        self._changed()

    def append(self, value: float) -> None:
        self._data.append(value)
        self._changed()

    def update_last(self, value: float) -> None:
        self._data.update_last(value)
        self._changed()

    def value_at(self, index: int) -> float | None:
        return self._data.value_at(index)

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        self.paint_count += 1
        x0, x1 = self._visible()
        level = self._data.level_for(_bars_per_pixel(painter))
        x, lo, hi = self._data.columns(x0, x1, level)
        if level:
            x, y = zigzag(x, lo, hi)
        else:
            y = lo
        self.last_level, self.last_points = level, int(x.shape[0])
        if x.shape[0] < 2:
            return
        painter.setPen(self._pen)
        stroke(painter, pg.arrayToQPath(x, y, connect="finite"), self.width)


class LodBandItem(_LodItem):
    """Two lines (Bollinger upper and lower) and a light fill between them, thinned like a
    line. The fill (one polygon per run where both are defined) is drawn only zoomed in,
    where it is cheap; zoomed out the band is its two lines."""

    def __init__(
        self,
        upper: npt.ArrayLike,
        lower: npt.ArrayLike,
        colour: str,
        width: float = 1.0,
        fill_alpha: float = 0.10,
        name: str = "",
    ) -> None:
        super().__init__()
        self.name = name
        self.colour = colour
        self.width = width
        self._pen = _pen(colour)
        fill = QtGui.QColor(colour)
        fill.setAlphaF(max(0.0, min(1.0, fill_alpha)))
        self._brush = QtGui.QBrush(fill) if fill_alpha > 0 else None
        self._upper = MinMaxPyramid(upper)
        self._lower = MinMaxPyramid(lower)
        self._check_lengths()
        self._update_bounds()

    def _check_lengths(self) -> None:
        if len(self._upper) != len(self._lower):
            raise ValueError(
                f"band: upper and lower differ in length ({len(self._upper)}, {len(self._lower)})"
            )

    def _pyramids(self) -> list[MinMaxPyramid]:
        return [self._upper, self._lower]

    def set_values(self, upper: npt.ArrayLike, lower: npt.ArrayLike) -> None:
        self._upper.set_values(upper)
        self._lower.set_values(lower)
        self._check_lengths()
        self._changed()

    def append(self, upper: float, lower: float) -> None:
        self._upper.append(upper)
        self._lower.append(lower)
        self._changed()

    def update_last(self, upper: float, lower: float) -> None:
        self._upper.update_last(upper)
        self._lower.update_last(lower)
        self._changed()

    def upper_at(self, index: int) -> float | None:
        return self._upper.value_at(index)

    def lower_at(self, index: int) -> float | None:
        return self._lower.value_at(index)

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        self.paint_count += 1
        x0, x1 = self._visible()
        level = self._upper.level_for(_bars_per_pixel(painter))
        x, up_lo, up_hi = self._upper.columns(x0, x1, level)
        _, low_lo, low_hi = self._lower.columns(x0, x1, level)
        self.last_level, self.last_points = level, int(x.shape[0])
        if x.shape[0] < 2:
            return
        if self._brush is not None and level <= _FILL_MAX_LEVEL:
            self._fill(painter, self._brush, x0, x1)
        painter.setPen(self._pen)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for lo, hi in ((up_lo, up_hi), (low_lo, low_hi)):
            xs, ys = zigzag(x, lo, hi) if level else (x, lo)
            stroke(painter, pg.arrayToQPath(xs, ys, connect="finite"), self.width)

    def _fill(self, painter: QtGui.QPainter, brush: QtGui.QBrush, x0: float, x1: float) -> None:
        """The fill from at most ~400 buckets across the view (a filled polygon costs ~3 us
        a vertex), spanning the upper's min and the lower's max per bucket so it never
        spills past the lines; one polygon per run where both are defined."""
        span = max(min(x1, len(self._upper)) - max(x0, 0.0), 1.0)
        level = min(self._upper.levels, max(0, math.ceil(math.log2(span / _FILL_COLUMNS))))
        x, top, _ = self._upper.columns(x0, x1, level)
        _, _, bottom = self._lower.columns(x0, x1, level)
        both = np.isfinite(top) & np.isfinite(bottom)
        if not both.any():
            return
        edges = np.flatnonzero(np.diff(np.concatenate(([0], both.view(np.int8), [0]))))
        path = QtGui.QPainterPath()
        for a, b in zip(edges[0::2], edges[1::2], strict=True):
            if b - a < 2:
                continue
            xs = np.concatenate((x[a:b], x[a:b][::-1]))
            ys = np.concatenate((top[a:b], bottom[a:b][::-1]))
            run = pg.arrayToQPath(xs, ys, connect="all", finiteCheck=False)
            run.closeSubpath()
            path.addPath(run)
        painter.fillPath(path, brush)
