"""Candles and volume as pixels: the right colour at the right bar, bodies only when wide,
one level of about a pixel per bucket whatever the series length."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.gui.chart.palette import ChartPalette, opaque_over, palette_for, qcolor
from app.gui.chart.view import ChartView

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from synthetic_bars import make_bars


def rupee_bars(n: int) -> tuple[np.ndarray, ...]:
    raw = make_bars(n)
    return (
        raw["ts"],
        raw["open"] / 100.0,
        raw["high"] / 100.0,
        raw["low"] / 100.0,
        raw["close"] / 100.0,
        raw["volume"].astype(np.float64),
    )


def shown(qtbot: QtBot, palette: ChartPalette | None = None) -> ChartView:
    view = ChartView(palette=palette)
    qtbot.addWidget(view)
    view.resize(1600, 900)
    view.show()
    qtbot.waitExposed(view)
    return view


def render(qapp: QApplication, view: ChartView) -> QImage:
    qapp.processEvents()
    return view.grab().toImage()


def pixel_of(view: ChartView, plot: pg.PlotItem, x: float, y: float) -> tuple[int, int]:
    scene = plot.getViewBox().mapViewToScene(QPointF(x, y))
    gv = view.graphics
    point = gv.mapTo(view, gv.mapFromScene(scene))
    return point.x(), point.y()


def colour_at(image: QImage, xy: tuple[int, int]) -> str:
    return QColor(image.pixel(*xy)).name()


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("colour_blind", [False, True])
def test_a_day_of_candles_paints_each_bar_in_its_colour(
    qtbot: QtBot, qapp: QApplication, theme: str, colour_blind: bool
) -> None:
    palette = palette_for(theme, colour_blind)
    view = shown(qtbot, palette)
    ts, o, h, lo, c, v = rupee_bars(375)
    view.set_bars(ts, o, h, lo, c, v)
    view.set_x_range(-0.5, 374.5)
    image = render(qapp, view)
    assert view.candles.paint_count >= 1
    assert view.candles.last_level == 0
    checked = 0
    for i in range(375):
        if abs(c[i] - o[i]) < 0.2:
            continue  # too flat to aim at the body's middle pixel
        want = palette.up if c[i] >= o[i] else palette.down
        x, y = pixel_of(view, view.price_plot, i, (o[i] + c[i]) / 2)
        assert colour_at(image, (x, y)) == qcolor(want).name(), i
        # 375 bars over ~1500 px: bodies are wider than the wick
        assert colour_at(image, (x - 1, y)) == qcolor(want).name(), i
        vx, vy = pixel_of(view, view.volume_plot, i, v[i] / 2)
        volume = palette.volume_up if c[i] >= o[i] else palette.volume_down
        assert colour_at(image, (vx, vy)) == opaque_over(volume, palette.background), i
        checked += 1
    assert checked > 200


def test_thin_buckets_are_wicks_only(qtbot: QtBot, qapp: QApplication) -> None:
    palette = ChartPalette.dark()
    view = shown(qtbot, palette)
    ts, o, h, lo, c, v = rupee_bars(20_000)
    view.set_bars(ts, o, h, lo, c, v)
    view.set_x_range(-0.5, 4_999.5)  # ~3 bars per pixel: level 1, half-to-one-pixel buckets
    image = render(qapp, view)
    assert view.candles.last_level == 1
    background = qcolor(palette.background).name()
    wide = 0
    for bucket in range(100, 2400, 40):
        i = bucket * 2
        top, bottom = h[i : i + 2].max(), lo[i : i + 2].min()
        x, y = pixel_of(view, view.price_plot, i + 0.5, (top + bottom) / 2)
        row = [colour_at(image, (x + dx, y)) for dx in (-3, 3)]
        wide += all(colour != background for colour in row)
    assert wide < 10  # a body would fill both neighbours; high-low lines seldom do


def test_the_whole_million_paints_one_level_about_a_pixel_wide(
    qtbot: QtBot, qapp: QApplication
) -> None:
    view = shown(qtbot)
    ts, o, h, lo, c, v = rupee_bars(1_000_000)
    view.set_bars(ts, o, h, lo, c, v)
    before = view.candles.paint_count
    view.show_all()
    render(qapp, view)
    assert view.candles.paint_count > before
    width = view.price_plot.getViewBox().width()
    assert width * 0.95 <= view.candles.last_bucket_count <= width * 2.05  # 0.5-1 px each
    assert view.volume_item.last_level == view.candles.last_level
    rect = view.candles.boundingRect()
    assert (rect.left(), rect.right()) == (-0.5, 1_000_000 - 0.5)
    assert rect.top() == pytest.approx(lo.min()) and rect.bottom() == pytest.approx(h.max())


def test_integer_rect_batch_paints_the_pixels_of_the_float_rects(qapp: QApplication) -> None:
    """The batch hands Qt whole-pixel QRects; they must cover what the QRectFs covered."""
    from pyqtgraph.Qt.internals import PrimitiveArray
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QPainter

    from app.gui.chart.candles import _RectBatch

    rng = np.random.default_rng(3)
    n = 400
    x = rng.integers(-50, 350, n).astype(np.float64)
    y = rng.integers(-50, 250, n).astype(np.float64)
    w = rng.integers(1, 9, n).astype(np.float64)
    h = rng.integers(1, 60, n).astype(np.float64)
    x[0], h[1] = -1e12, 1e12  # far off screen: clamped, not wrapped

    def paint(use_batch: bool) -> QImage:
        image = QImage(300, 200, QImage.Format.Format_RGB32)
        image.fill(0)
        painter = QPainter(image)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#26a69a"))
        if use_batch:
            _RectBatch().draw(painter, x, y, w, h)
        else:
            floats = PrimitiveArray(QRectF, 4)
            floats.resize(n)
            memory = floats.ndarray()
            memory[:, 0], memory[:, 1], memory[:, 2], memory[:, 3] = x, y, w, h
            painter.drawRects(*floats.drawargs())
        painter.end()
        return image

    assert paint(True) == paint(False)
