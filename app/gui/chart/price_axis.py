"""Light axes: drawn straight onto the painter, and the right-hand price and volume axes.

pyqtgraph records an axis into a QPicture and replays it on every paint; replaying text
re-resolves the fonts and cost ~10 ms per axis per frame here. `LightAxis` keeps the draw
specs instead and draws them directly (the same pixels). Tick placement on y is cheap (a
handful of ticks, independent of the bars), so the value axes only change label text."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPicture, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from app.gui.chart.crosshair import format_volume

TICK_SPACING_PX = 44.0

LineSpec = tuple[QPen, QPointF, QPointF]
TextSpec = tuple[QRectF, int, str]
DrawSpecs = tuple[LineSpec, list[LineSpec], list[TextSpec]]
"""What an axis draws: its own line, the tick/grid lines, the labels (pyqtgraph's layout)."""


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at least `raw`."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw * (1 - 1e-12):
            return factor * power
    return 10.0 * power


class LightAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """An AxisItem painting its cached specs directly instead of replaying a QPicture."""

    _specs: DrawSpecs | None = None
    picture: QPicture | None  # pyqtgraph's: None when the axis must be redrawn

    def _updateLabel(self) -> None:
        """pyqtgraph re-renders the axis title's HTML on every pen, text pen and SI-prefix
        change (~70 times, ~7 ms, building a chart), though the chart's axes never show a
        title: render it only while it is shown (`showLabel` renders it when shown)."""
        if self.label.isVisible():
            super()._updateLabel()
            return
        self._adjustSize()
        self.picture = None
        self.update()

    def showLabel(self, show: bool = True) -> None:
        super().showLabel(show)
        if show:
            super()._updateLabel()

    def paint(
        self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        # pyqtgraph sets self.picture to None when the axis must be redrawn
        if self.picture is None:
            p.save()
            if self.style["tickFont"]:
                p.setFont(self.style["tickFont"])
            self._specs = self.generateDrawSpecs(p)
            p.restore()
            self.picture = QPicture()  # marks the specs current
        if self._specs is not None:
            p.save()
            self.drawPicture(p, *self._specs)
            p.restore()

    def generateDrawSpecs(self, p: QPainter) -> DrawSpecs:
        """A vertical value axis: one level of round ticks ~TICK_SPACING_PX apart, grid
        lines across the linked view, labels left-aligned; no text measuring."""
        bounds = self.mapRectFromParent(self.geometry())
        edge = bounds.left() if self.orientation == "right" else bounds.right()
        axis_spec = (self.pen(), QPointF(edge, bounds.top()), QPointF(edge, bounds.bottom()))
        y0, y1 = (float(v) for v in self.range)
        height = bounds.height()
        if not y1 > y0 or height <= 0 or not math.isfinite(y1 - y0):
            return axis_spec, [], []
        step = nice_step((y1 - y0) / height * TICK_SPACING_PX)
        first, last = math.ceil(y0 / step), math.floor(y1 / step)
        values = [k * step for k in range(first, last + 1)]
        strings = self.tickStrings(values, 1.0, step)
        view = self.linkedView()
        far = edge
        if view is not None and self.grid is not False:
            rect = view.mapRectToItem(self, view.boundingRect())
            far = rect.left() if self.orientation == "right" else rect.right()
        tick_specs: list[LineSpec] = []
        text_specs: list[TextSpec] = []
        flags = int(
            (
                Qt.AlignmentFlag.AlignLeft
                if self.orientation == "right"
                else Qt.AlignmentFlag.AlignRight
            )
            | Qt.AlignmentFlag.AlignVCenter
        )
        pen = self.pen()
        for value, text in zip(values, strings, strict=True):
            y = math.floor(bounds.bottom() - (value - y0) / (y1 - y0) * height) + 0.5
            tick_specs.append((pen, QPointF(far, y), QPointF(edge, y)))
            if self.style["showValues"] and bounds.top() + 7 <= y <= bounds.bottom() - 7:
                text_specs.append(
                    (QRectF(bounds.left() + 6, y - 8, bounds.width() - 10, 16), flags, text)
                )
        return axis_spec, tick_specs, text_specs

    def drawPicture(
        self,
        p: QPainter,
        axis_spec: LineSpec,
        tick_specs: list[LineSpec],
        text_specs: list[TextSpec],
    ) -> None:
        """Lines opaque and batched by colour, no clip: a translucent 1-px line across the
        pane costs ~0.4 ms to blend on a laptop CPU, an opaque one ~0.03 ms.

        Axis-aligned lines under a translation are filled as one-pixel-wide rectangles:
        Qt's cosmetic stroker blends a line a pixel at a time (the price grid's 1,500-pixel
        rows took ~0.5 ms a frame), a filled row is one run of stores. Vertical lines gain
        less (a span per row either way). The pixels are the stroker's (`_pixel_rect`)."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        batches: dict[int, list[tuple[QPointF, QPointF]]] = {}
        for pen, start, stop in [axis_spec, *tick_specs]:
            rgb = pen.color().rgb()  # alpha dropped: the grid colour is meant as it is
            batches.setdefault(rgb, []).append((start, stop))
        transform = p.transform()
        translate_only = transform.type() in _TRANSLATIONS
        dx, dy = transform.dx(), transform.dy()
        for rgb, points in batches.items():
            colour = QColor.fromRgb(rgb)
            rects: list[QRect] = []
            lines: list[QLineF] = []
            for start, stop in points:
                pixels = _pixel_rect(start, stop, dx, dy) if translate_only else None
                if pixels is None:
                    lines.append(QLineF(start, stop))
                else:
                    rects.append(pixels)
            if rects:
                p.setTransform(_IDENTITY)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(colour)
                p.drawRects(rects)
                p.setTransform(transform)
            if lines:
                line_pen = QPen(colour)
                line_pen.setCosmetic(True)
                p.setPen(line_pen)
                p.drawLines(lines)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        for rect, flags, text in text_specs:
            p.drawText(rect, int(flags), text)


_IDENTITY = QTransform()
_TRANSLATIONS = (QTransform.TransformationType.TxNone, QTransform.TransformationType.TxTranslate)


def _pixel_rect(start: QPointF, stop: QPointF, dx: float, dy: float) -> QRect | None:
    """The device pixels a one-pixel cosmetic, non-antialiased line from `start` to `stop`
    (item coordinates, translated by dx, dy) covers, as a rectangle; None unless the line is
    horizontal or vertical and at least a pixel long (the stroker's rule is then simple:
    every pixel whose cell holds a point of the line, i.e. floor of both ends; shorter
    lines may draw nothing, so they are left to the stroker).

    Checked against QPainter.drawLines pixel for pixel on random lines, translations and
    clips."""
    x1, y1 = start.x() + dx, start.y() + dy
    x2, y2 = stop.x() + dx, stop.y() + dy
    if not math.isfinite(x1 + y1 + x2 + y2):
        return None
    if y1 == y2:
        if abs(x2 - x1) < 1.0:
            return None
    elif x1 == x2:
        if abs(y2 - y1) < 1.0:
            return None
    else:
        return None
    left, right = math.floor(min(x1, x2)), math.floor(max(x1, x2))
    top, bottom = math.floor(min(y1, y2)), math.floor(max(y1, y2))
    if not -_PIXEL_LIMIT < left <= right < _PIXEL_LIMIT:
        return None
    if not -_PIXEL_LIMIT < top <= bottom < _PIXEL_LIMIT:
        return None
    return QRect(left, top, right - left + 1, bottom - top + 1)


_PIXEL_LIMIT = 1 << 24  # past this the QRect would overflow; the stroker clips such lines


class PriceAxis(LightAxis):
    """Prices in rupees: as many decimals as the tick spacing needs (at most two)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        decimals = 0 if spacing >= 1 else min(2, max(0, -math.floor(math.log10(spacing))))
        return [f"{v * scale:,.{decimals}f}" for v in values]


class VolumeAxis(LightAxis):
    """Volumes as 12.3K, 4.56L, 1.20Cr."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [format_volume(v * scale, trim=True) for v in values]
