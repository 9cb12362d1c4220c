"""Candle and volume items that paint only the visible buckets of one pyramid level.

Each paint maps the view to device pixels, picks the level whose bucket is about a pixel
wide, slices the visible buckets and draws them as filled pixel-snapped rectangles (a wick is
a one-pixel-wide rectangle), one `drawRects` call per colour. Bodies appear once a bucket is
at least `BODY_MIN_PX` wide. Work is proportional to the screen width, not to the series.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.gui.chart.lod import F64, Buckets, OhlcvPyramid
from app.gui.chart.palette import ChartPalette, opaque_over, qcolor

Mask = npt.NDArray[np.bool_]
BODY_MIN_PX = 3.0  # below this a bucket is a high-low line only
BODY_FILL = 0.8  # share of the bucket width a body fills


def level_for_span(pyramid: OhlcvPyramid, x0: float, x1: float, width_px: float) -> int:
    """The pyramid level the items paint at when bars x0..x1 fill `width_px` device pixels.

    One rule for candles, volume and the y autoscale, so the volume pane scales to the very
    buckets it draws."""
    return pyramid.level_for((x1 - x0) / max(1.0, width_px))


class _RectBatch:
    """A reusable integer QRect array filled from numpy and drawn in one call.

    The rectangles are whole device pixels (the items snap them), so they go to Qt as QRect,
    not QRectF: the raster engine fills integer rects directly, while each QRectF is
    normalised and run through the scan-line rasteriser (~30% slower for a screenful of
    wicks). Same pixels: a pixel-aligned QRectF covers exactly the QRect's pixels."""

    LIMIT = 1 << 22  # device coordinates past this are clamped (far outside any screen)

    def __init__(self) -> None:
        self._memory: npt.NDArray[np.int32] = np.empty((0, 4), dtype=np.int32)

    def draw(self, painter: QPainter, x: F64, y: F64, w: F64, h: F64) -> None:
        size = len(x)
        if not size:
            return
        if len(self._memory) < size:
            self._memory = np.empty((max(size, len(self._memory) * 3 // 2), 4), dtype=np.int32)
        memory = self._memory[:size]
        limit = self.LIMIT
        # QRect holds (left, top, right, bottom), the right and bottom edges inclusive
        left = np.clip(x, -limit, limit)
        top = np.clip(y, -limit, limit)
        memory[:, 0] = left
        memory[:, 1] = top
        memory[:, 2] = np.clip(left + w - 1.0, -limit, limit)
        memory[:, 3] = np.clip(top + h - 1.0, -limit, limit)
        first = cast(QRect, shiboken6.wrapInstance(memory.ctypes.data, QRect))
        painter.drawRects(first, size)


def column_width(bucket_px: float) -> float:
    """Width in whole pixels of a candle body or volume column for a bucket `bucket_px`
    wide: 1 below `BODY_MIN_PX` (a wick or a line), else the filled share of it, odd so the
    wick sits in the middle column."""
    if bucket_px < BODY_MIN_PX:
        return 1.0
    width = max(1.0, math.floor(bucket_px * BODY_FILL))
    return width - 1.0 if width % 2 == 0 else width


class _PyramidItem(pg.GraphicsObject):  # type: ignore[misc]  # pyqtgraph is untyped
    """What candles and volume share: the pyramid, the cached bounds, the device mapping."""

    def __init__(self, pyramid: OhlcvPyramid, palette: ChartPalette) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, False)
        self._pyramid = pyramid
        self._palette = palette
        self._bounds: QRectF | None = None
        self._batches = (_RectBatch(), _RectBatch())
        self.paint_count = 0
        self.last_level = 0
        self.last_bucket_count = 0

    @property
    def pyramid(self) -> OhlcvPyramid:
        return self._pyramid

    def set_pyramid(self, pyramid: OhlcvPyramid) -> None:
        self._pyramid = pyramid
        self.data_changed()

    def set_palette(self, palette: ChartPalette) -> None:
        self._palette = palette
        self.update()

    def data_changed(self) -> None:
        """The bars changed (replaced, appended, last updated): new bounds, repaint."""
        self.prepareGeometryChange()
        self._bounds = None
        self.update()

    def _y_bounds(self) -> tuple[float, float]:
        raise NotImplementedError

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            n = len(self._pyramid)
            lo, hi = self._y_bounds() if n else (0.0, 1.0)
            self._bounds = QRectF(-0.5, lo, max(n, 1), max(hi - lo, 1e-9))
        return QRectF(self._bounds)

    def _visible(self, painter: QPainter) -> tuple[Buckets, float, float, float, float] | None:
        """The buckets to draw and the affine map (sx, dx, sy, dy) to device pixels."""
        vb = self.getViewBox()
        transform = painter.transform()
        sx, sy = transform.m11(), transform.m22()
        if vb is None or not len(self._pyramid) or sx <= 0 or not math.isfinite(sx):
            return None
        (x0, x1), _ = vb.viewRange()
        level = self._pyramid.level_for(1.0 / sx)
        buckets = self._pyramid.visible(level, x0, x1)
        self.last_level = level
        self.last_bucket_count = len(buckets)
        return buckets, sx, transform.dx(), sy, transform.dy()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        """The visible buckets of the level about a pixel wide, drawn in device pixels
        (`_draw`); every paint counts, so a benchmark can tell a blank frame."""
        self.paint_count += 1
        found = self._visible(painter)
        if found is None:
            return
        b, sx, dx, sy, dy = found
        if not len(b):
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._draw(painter, b, sx, dx, sy, dy)
        painter.restore()

    def _draw(
        self, painter: QPainter, b: Buckets, sx: float, dx: float, sy: float, dy: float
    ) -> None:
        raise NotImplementedError

    def _draw_by_colour(
        self,
        painter: QPainter,
        up: Mask,
        colours: tuple[str, str],
        x: F64,
        y: F64,
        w: F64,
        h: F64,
    ) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        for batch, mask, colour in zip(self._batches, (up, ~up), colours, strict=True):
            painter.setBrush(QBrush(qcolor(colour)))
            batch.draw(painter, x[mask], y[mask], w[mask], h[mask])


class CandleItem(_PyramidItem):
    """OHLC candles: wicks always, bodies once a bucket is `BODY_MIN_PX` wide."""

    def _y_bounds(self) -> tuple[float, float]:
        bounds = self._pyramid.bounds()
        return bounds if bounds is not None else (0.0, 1.0)

    def _draw(
        self, painter: QPainter, b: Buckets, sx: float, dx: float, sy: float, dy: float
    ) -> None:
        xc = b.x * sx + dx
        col = np.floor(xc)
        y_high, y_low = np.rint(b.high * sy + dy), np.rint(b.low * sy + dy)
        top = np.minimum(y_high, y_low)
        wick_h = np.maximum(np.abs(y_low - y_high), 1.0)
        up = b.close >= b.open
        bucket_px = b.width * sx
        if bucket_px >= BODY_MIN_PX:
            body_w = column_width(bucket_px)
            y_open, y_close = np.rint(b.open * sy + dy), np.rint(b.close * sy + dy)
            body_top = np.minimum(y_open, y_close)
            body_h = np.maximum(np.abs(y_open - y_close), 1.0)
            n = len(b)
            x = np.concatenate((col, col - (body_w - 1) / 2))
            y = np.concatenate((top, body_top))
            w = np.concatenate((np.ones(n), np.full(n, body_w)))
            h = np.concatenate((wick_h, body_h))
            mask = np.concatenate((up, up))
        else:
            x, y, w, h, mask = col, top, np.ones(len(b)), wick_h, up
        p = self._palette
        self._draw_by_colour(painter, mask, (p.up, p.down), x, y, w, h)


class VolumeItem(_PyramidItem):
    """Volume columns from zero, coloured by the bucket's direction, same level as candles."""

    def _y_bounds(self) -> tuple[float, float]:
        if not len(self._pyramid):
            return 0.0, 1.0
        # the whole series' volume: no column is taller (not the top level: it may be unbuilt)
        return 0.0, self._pyramid.total_volume()

    def visible_max(self, x0: float, x1: float, width_px: float) -> float:
        """The tallest column in x range [x0, x1] at the level painted `width_px` wide."""
        level = level_for_span(self._pyramid, x0, x1, width_px)
        b = self._pyramid.visible(level, x0, x1)
        return float(b.volume.max()) if len(b) else 0.0

    def _draw(
        self, painter: QPainter, b: Buckets, sx: float, dx: float, sy: float, dy: float
    ) -> None:
        xc = b.x * sx + dx
        width = column_width(b.width * sx)
        x = np.floor(xc) - (width - 1) / 2
        base = round(dy)  # volume 0
        y_top = np.rint(b.volume * sy + dy)
        h = np.maximum(base - y_top, 1.0)
        w = np.full(len(b), width)
        p = self._palette
        colours = (opaque_over(p.volume_up, p.background), opaque_over(p.volume_down, p.background))
        self._draw_by_colour(painter, b.close >= b.open, colours, x, base - h, w, h)
