"""Axes painted directly (no QPicture replay, lines filled as pixel rows) look exactly like
pyqtgraph's own: the same plot drawn with each, translucent grids, dates, thick pens and a
changed range, compared pixel for pixel; and the pixel rows themselves are what Qt's
cosmetic stroker draws."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QLineF, QPointF, QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QApplication

from app.gui.direct_axis import DateAxis, DirectAxis, pixel_rect
from app.gui.results.charts import IST_UTC_OFFSET
from app.gui.value_axes import PercentAxis, RupeeAxis


class _PyqtgraphRupeeAxis(pg.AxisItem):  # type: ignore[misc]
    """pyqtgraph's painting with RupeeAxis' labels."""

    tickStrings = RupeeAxis.tickStrings


class _PyqtgraphPercentAxis(pg.AxisItem):  # type: ignore[misc]
    tickStrings = PercentAxis.tickStrings


def _plot(qapp: QApplication, direct: bool, left: str, pen_width: float, shift: bool) -> QImage:
    if left == "rupees":
        value_axis: pg.AxisItem = RupeeAxis() if direct else _PyqtgraphRupeeAxis("left")
        value_axis.enableAutoSIPrefix(False)
    elif left == "percent":
        value_axis = PercentAxis() if direct else _PyqtgraphPercentAxis("left")
        value_axis.enableAutoSIPrefix(False)
    else:
        value_axis = DirectAxis("left") if direct else pg.AxisItem("left")
    date_axis = (DateAxis if direct else pg.DateAxisItem)(utcOffset=IST_UTC_OFFSET)
    plot = pg.PlotWidget(axisItems={"left": value_axis, "bottom": date_axis})
    plot.resize(900, 420)
    plot.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom"):
        plot.getPlotItem().getAxis(name).setPen(pg.mkPen("#8a8f98", width=pen_width))
    plot.getPlotItem().setLabel("left", "Equity ₹")
    rng = np.random.default_rng(11)
    times = 1.7e9 + np.arange(6_000) * 60.0
    values = 1e6 + np.cumsum(rng.normal(0, 900, 6_000))
    if left == "percent":
        values = np.minimum(0.0, np.cumsum(rng.normal(0, 0.05, 6_000)))
    plot.plot(times, values)
    plot.show()
    qapp.processEvents()
    if shift:  # a new range after the first paint: the axis draws its new ticks
        plot.grab()
        plot.setXRange(times[1_000], times[2_500], padding=0)
        qapp.processEvents()
    image = plot.grab().toImage()
    plot.close()
    plot.deleteLater()
    return image


@pytest.mark.parametrize(
    ("left", "pen_width", "shift"),
    [
        ("plain", 1.0, False),
        ("rupees", 1.0, True),
        ("percent", 1.0, False),
        ("plain", 2.0, True),  # a thick pen: stroked as pyqtgraph does, not filled
    ],
)
def test_direct_axes_paint_the_same_pixels_as_pyqtgraph(
    qapp: QApplication, left: str, pen_width: float, shift: bool
) -> None:
    theirs = _plot(qapp, False, left, pen_width, shift)
    ours = _plot(qapp, True, left, pen_width, shift)
    assert not theirs.isNull() and theirs.size() == ours.size()
    assert ours == theirs


def _stroked(lines: list[tuple[float, float, float, float]], dx: float, dy: float) -> QImage:
    image = QImage(200, 200, QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setClipRect(QRect(10, 10, 180, 180))
    painter.translate(dx, dy)
    pen = QPen(QColor("#ff0000"))
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.drawLines([QLineF(*line) for line in lines])
    painter.end()
    return image


def _filled(lines: list[tuple[float, float, float, float]], dx: float, dy: float) -> QImage:
    image = QImage(200, 200, QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setClipRect(QRect(10, 10, 180, 180))
    for x1, y1, x2, y2 in lines:
        rect = pixel_rect(QPointF(x1, y1), QPointF(x2, y2), dx, dy)
        assert rect is not None
        painter.fillRect(rect, QColor("#ff0000"))
    painter.end()
    return image


def test_pixel_rects_cover_what_the_cosmetic_stroker_draws(qapp: QApplication) -> None:
    rng = np.random.default_rng(7)
    for _ in range(400):
        dx, dy = (float(v) for v in rng.uniform(-40, 40, 2))
        if rng.random() < 0.3:
            dx, dy = float(round(dx)), float(round(dy))
        lines = []
        for _ in range(3):
            a, b, c = (float(v) for v in rng.uniform(-60, 260, 3))
            if rng.random() < 0.5:
                c = math.floor(c) + 0.5  # the axes' pixel-centred grid lines
            if abs(a - b) < 1:
                b = a + 5
            lines.append((a, c, b, c) if rng.random() < 0.5 else (c, a, c, b))
        assert _filled(lines, dx, dy) == _stroked(lines, dx, dy)


def test_only_long_axis_aligned_finite_lines_become_rects() -> None:
    assert pixel_rect(QPointF(0, 0), QPointF(10, 5), 0, 0) is None  # slanted
    assert pixel_rect(QPointF(0, 0.5), QPointF(0.4, 0.5), 0, 0) is None  # under a pixel
    assert pixel_rect(QPointF(0, math.nan), QPointF(5, math.nan), 0, 0) is None
    assert pixel_rect(QPointF(2.5, 3.5), QPointF(9.9, 3.5), 1, 0) == QRect(3, 3, 8, 1)
