"""The light axes' line drawing: grid lines filled as pixel rectangles look exactly like the
cosmetic lines Qt would stroke."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QApplication

from app.gui.direct_axis import pixel_rect


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
