"""An axis that draws itself straight onto the painter on every paint, its lines as pixel rows.

pyqtgraph's `AxisItem` records its lines and labels into a QPicture once and replays the
picture on every paint. Replaying text re-resolves its fonts: 3-10 ms an axis a frame here,
so a results page of six axes spent ~18 ms of every paint replaying them. And it strokes each
tick and grid line with its own cosmetic pen: Qt's stroker blends a line a pixel at a time
(~290 lines on the results page, another ~19 ms a paint). `DirectAxis` keeps pyqtgraph's draw
specs instead (made when pyqtgraph says the axis must be redrawn) and draws them with the
real painter: the same lines and labels, axis-aligned one-pixel lines filled as rectangles
(one run of stores a row, blended the same way). Every axis of ours derives from it: the
chart's (`LightAxis`), the results' and the run comparison's."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPicture, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

LineSpec = tuple[QPen, QPointF, QPointF]
TextSpec = tuple[QRectF, int, str]
DrawSpecs = tuple[LineSpec, list[LineSpec], list[TextSpec]]
"""What an axis draws: its own line, the tick/grid lines, the labels (pyqtgraph's layout)."""


class DirectAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """An AxisItem painting its cached draw specs directly instead of replaying a QPicture."""

    _specs: Any = None  # generateDrawSpecs' tuple, or None when there is nothing to draw
    picture: QPicture | None  # pyqtgraph's: None when the axis must be redrawn
    opaque_lines = False  # True: each line's colour without its alpha (meant as it is)
    clip_labels = True  # pyqtgraph clips the labels to the axis' bounding rectangle

    def paint(
        self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.picture is None:
            p.save()
            if self.style["tickFont"]:
                p.setFont(self.style["tickFont"])
            self._specs = self.generateDrawSpecs(p)
            p.restore()
            self.picture = QPicture()  # marks the specs current (pyqtgraph clears it)
        if self._specs is not None:
            p.save()
            self.drawPicture(p, *self._specs)
            p.restore()

    def drawPicture(
        self,
        p: QPainter,
        axis_spec: LineSpec,
        tick_specs: list[LineSpec],
        text_specs: list[TextSpec],
    ) -> None:
        """pyqtgraph's drawing (no antialiasing, labels clipped to the axis unless
        `clip_labels` is off) with the lines filled as pixel rows where they can be
        (`draw_lines`)."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        draw_lines(p, [axis_spec, *tick_specs], opaque=self.opaque_lines)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        if self.clip_labels:
            p.setClipRect(self.boundingRect().toAlignedRect())
        for rect, flags, text in text_specs:
            p.drawText(rect, int(flags), text)


class DateAxis(DirectAxis, pg.DateAxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """pyqtgraph's date axis (its ticks and labels), painted directly."""


def draw_lines(p: QPainter, lines: list[LineSpec], opaque: bool = False) -> None:
    """Draw `lines` (pen, start, stop in item coordinates), batched by colour.

    One-pixel cosmetic solid lines that are horizontal or vertical under a translation are
    filled as rectangles (`pixel_rect`): the same pixels and the same blend, one run of
    stores a row instead of the stroker's pixel at a time. Other lines are stroked as given.
    `opaque`: draw every colour without its alpha (a grid colour meant as it is)."""
    batches: dict[int, list[tuple[QPointF, QPointF]]] = {}
    stroked: list[LineSpec] = []
    for pen, start, stop in lines:
        if pen.style() == Qt.PenStyle.SolidLine and pen.isCosmetic() and pen.widthF() <= 1.0:
            colour = pen.color()
            key = colour.rgb() if opaque else colour.rgba()
            batches.setdefault(key, []).append((start, stop))
        else:
            stroked.append((pen, start, stop))
    transform = p.transform()
    translate_only = transform.type() in _TRANSLATIONS
    dx, dy = transform.dx(), transform.dy()
    for rgba, points in batches.items():
        colour = QColor.fromRgba(rgba)
        rects: list[QRect] = []
        segments: list[QLineF] = []
        for start, stop in points:
            pixels = pixel_rect(start, stop, dx, dy) if translate_only else None
            if pixels is None:
                segments.append(QLineF(start, stop))
            else:
                rects.append(pixels)
        if rects:
            p.setTransform(_IDENTITY)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawRects(rects)
            p.setTransform(transform)
        if segments:
            line_pen = QPen(colour)
            line_pen.setCosmetic(True)
            p.setPen(line_pen)
            p.drawLines(segments)
    for pen, start, stop in stroked:
        p.setPen(pen)
        p.drawLine(start, stop)


_IDENTITY = QTransform()
_TRANSLATIONS = (QTransform.TransformationType.TxNone, QTransform.TransformationType.TxTranslate)


def pixel_rect(start: QPointF, stop: QPointF, dx: float, dy: float) -> QRect | None:
    """The device pixels a one-pixel cosmetic, non-antialiased line from `start` to `stop`
    (item coordinates, translated by dx, dy) covers, as a rectangle; None unless the line is
    horizontal or vertical and at least a pixel long (the stroker's rule is then simple:
    every pixel whose cell holds a point of the line, i.e. floor of both ends; shorter
    lines may draw nothing, so they are left to the stroker).

    Checked against QPainter.drawLines pixel for pixel on random lines, translations and
    clips (tests/app/test_direct_axis.py)."""
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
