"""ChartView driven like a user and like the code built on it: plain arrays in, the range and
y scale that follow, the crosshair's read-out equal to the bar, panes, live bars, themes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.gui.chart.palette import ChartPalette, palette_for, qcolor
from app.gui.chart.time_axis import TimeAxis
from app.gui.chart.view import DEFAULT_BARS, ChartView
from engine.ist import ist_datetime

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


@pytest.fixture
def view(qtbot: QtBot) -> ChartView:
    chart = ChartView()
    qtbot.addWidget(chart)
    chart.resize(1600, 900)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def viewport_point(view: ChartView, plot: pg.PlotItem, x: float, y: float) -> QPoint:
    scene = plot.getViewBox().mapViewToScene(QPointF(x, y))
    point: QPoint = view.graphics.mapFromScene(scene)
    return point


def send_mouse(view: ChartView, kind: QEvent.Type, pos: QPoint, buttons: Qt.MouseButton) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind,
        QPointF(pos),
        QPointF(view.graphics.viewport().mapToGlobal(pos)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.graphics.viewport(), event)


def test_set_bars_shows_the_last_bars_scaled_to_them(view: ChartView, qapp: QApplication) -> None:
    ts, o, h, lo, c, v = rupee_bars(10_000)
    view.set_bars(ts, o, h, lo, c, v)
    qapp.processEvents()
    assert view.bar_count == 10_000
    np.testing.assert_array_equal(view.ts_ns, ts)
    x0, x1 = view.x_range()
    assert x0 == pytest.approx(10_000 - DEFAULT_BARS - 0.5)
    assert x1 > 10_000 - 0.5
    y0, y1 = view.price_plot.getViewBox().viewRange()[1]
    shown = slice(10_000 - DEFAULT_BARS, 10_000)
    assert y0 < lo[shown].min() and y1 > h[shown].max()
    span = h[shown].max() - lo[shown].min()
    assert y1 - y0 < span * 1.3  # scaled to the visible bars, not to all 10,000


def test_every_x_change_rescales_y_to_the_visible_bars(
    view: ChartView, qapp: QApplication, qtbot: QtBot
) -> None:
    ts, o, h, lo, c, v = rupee_bars(50_000)
    view.set_bars(ts, o, h, lo, c, v)
    rng = np.random.default_rng(9)
    for _ in range(20):
        a = int(rng.integers(0, 49_000))
        b = a + int(rng.integers(20, 5_000))
        with qtbot.waitSignal(view.x_range_changed) as signal:
            view.set_x_range(a - 0.5, min(b, 49_999) + 0.5)
        assert signal.args == pytest.approx([a - 0.5, min(b, 49_999) + 0.5])
        assert view.x_range() == pytest.approx((a - 0.5, min(b, 49_999) + 0.5))
        lo_v, hi_v = lo[a : b + 1].min(), h[a : b + 1].max()
        y0, y1 = view.price_plot.getViewBox().viewRange()[1]
        assert y0 == pytest.approx(lo_v - (hi_v - lo_v) * 0.06)
        assert y1 == pytest.approx(hi_v + (hi_v - lo_v) * 0.10)
        v0, v1 = view.volume_plot.getViewBox().viewRange()[1]
        assert v0 == 0.0 and v1 >= v[a : b + 1].max()


def test_crosshair_snaps_to_the_bar_and_reads_it_out(
    view: ChartView, qapp: QApplication, qtbot: QtBot
) -> None:
    ts, o, h, lo, c, v = rupee_bars(375)
    view.set_bars(ts, o, h, lo, c, v)
    view.set_x_range(-0.5, 374.5)
    qapp.processEvents()
    sma = np.convolve(c, np.ones(20) / 20, mode="full")[: len(c)]
    view.add_readout("SMA 20", lambda i: float(sma[i]) if i >= 19 else None, "#f5a623")
    for i in (0, 1, 137, 374):
        pos = viewport_point(
            view, view.price_plot, i + 0.3, (h[i] + lo[i]) / 2
        )  # off-centre: snaps
        qtbot.wait(40)  # pyqtgraph drops mouse moves closer together than a frame
        with qtbot.waitSignal(view.crosshair_moved) as signal:
            send_mouse(view, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton)
        assert signal.args == [i]
        values = view.crosshair.readout_values(i)
        prev = c[i - 1] if i else o[i]
        assert (
            values["open"],
            values["high"],
            values["low"],
            values["close"],
            values["volume"],
        ) == (
            o[i],
            h[i],
            lo[i],
            c[i],
            v[i],
        )
        assert values["change_pct"] == pytest.approx((c[i] / prev - 1) * 100)
        assert values["SMA 20"] == (None if i < 19 else pytest.approx(sma[i]))
        text = view.crosshair.text_item.toPlainText()
        moment = ist_datetime(int(ts[i]))
        assert f"{moment.hour:02d}:{moment.minute:02d}" in text
        assert f"{c[i]:.2f}" in text and f"{o[i]:.2f}" in text
        assert ("SMA 20" in text) and ((f"{sma[i]:.2f}" in text) if i >= 19 else "—" in text)
    # over the volume pane the same bar is found
    pos = viewport_point(view, view.volume_plot, 200, v[200] / 2)
    qtbot.wait(40)
    with qtbot.waitSignal(view.crosshair_moved) as signal:
        send_mouse(view, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton)
    assert signal.args == [200]
    view.remove_readout("SMA 20")
    assert "SMA 20" not in view.crosshair.text_item.toPlainText()
    with qtbot.waitSignal(view.crosshair_moved) as signal:
        QApplication.sendEvent(view.graphics, QEvent(QEvent.Type.Leave))
    assert signal.args == [-1]
    assert f"{c[-1]:.2f}" in view.crosshair.text_item.toPlainText()  # off the chart: the last bar


def test_drag_pans_and_wheel_zooms_x_around_the_cursor(
    view: ChartView, qapp: QApplication, qtbot: QtBot
) -> None:
    ts, o, h, lo, c, v = rupee_bars(5_000)
    view.set_bars(ts, o, h, lo, c, v)
    view.set_x_range(2_000 - 0.5, 2_499.5)
    qapp.processEvents()
    mid = (lo[2_000:2_500].min() + h[2_000:2_500].max()) / 2
    start = viewport_point(view, view.price_plot, 2_300, mid)
    end = viewport_point(view, view.price_plot, 2_200, mid)
    send_mouse(view, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for k in range(1, 11):
        step = QPoint(start.x() + (end.x() - start.x()) * k // 10, start.y())
        qtbot.wait(20)
        send_mouse(view, QEvent.Type.MouseMove, step, Qt.MouseButton.LeftButton)
    send_mouse(view, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    x0, x1 = view.x_range()
    assert x0 == pytest.approx(2_100 - 0.5, abs=1) and x1 - x0 == pytest.approx(500, abs=0.01)

    cursor = viewport_point(view, view.price_plot, 2_200, mid)
    under = view.price_plot.getViewBox().mapSceneToView(view.graphics.mapToScene(cursor)).x()
    wheel = QWheelEvent(
        QPointF(cursor),
        QPointF(view.graphics.viewport().mapToGlobal(cursor)),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.graphics.viewport(), wheel)
    z0, z1 = view.x_range()
    assert z1 - z0 < 500 * 0.9  # zoomed in
    assert (under - z0) / (z1 - z0) == pytest.approx(
        (under - x0) / (x1 - x0), abs=0.01
    )  # around the cursor


def test_subpanes_sit_above_volume_and_the_time_labels_stay_at_the_bottom(
    view: ChartView, qapp: QApplication
) -> None:
    ts, o, h, lo, c, v = rupee_bars(2_000)
    view.set_bars(ts, o, h, lo, c, v)

    def labelled() -> list[bool]:
        layout = view.graphics.ci.layout
        plots = [layout.itemAt(row, 0) for row in range(layout.rowCount()) if layout.itemAt(row, 0)]
        axes = [p.getAxis("bottom") for p in plots]
        assert all(isinstance(a, TimeAxis) for a in axes)
        return [a.style["showValues"] for a in axes]

    assert labelled() == [False, True]
    rsi = view.add_subpane("rsi", "RSI 14")
    atr = view.add_subpane("atr", "ATR 14")
    layout = view.graphics.ci.layout
    assert [layout.itemAt(r, 0) for r in range(4)] == [view.price_plot, rsi, atr, view.volume_plot]
    assert labelled() == [False, False, False, True]
    view.set_x_range(100 - 0.5, 899.5)
    qapp.processEvents()
    assert rsi.getViewBox().viewRange()[0] == pytest.approx([99.5, 899.5])
    heights = {
        name: p.getViewBox().height()
        for name, p in (("price", view.price_plot), ("rsi", rsi), ("vol", view.volume_plot))
    }
    assert heights["price"] > 2.5 * heights["rsi"] and heights["rsi"] == pytest.approx(
        heights["vol"], rel=0.25
    )
    view.remove_subpane("rsi")
    assert labelled() == [False, False, True]
    view.remove_subpane("atr")
    assert labelled() == [False, True]
    with pytest.raises(ValueError, match="already exists"):
        view.add_subpane("x", "X")
        view.add_subpane("x", "X")


def test_live_bars_append_and_update_the_last(view: ChartView, qapp: QApplication) -> None:
    ts, o, h, lo, c, v = rupee_bars(376)
    view.set_bars(ts[:375], o[:375], h[:375], lo[:375], c[:375], v[:375])
    x0, x1 = view.x_range()
    view.append_bar(int(ts[375]), o[375], h[375], lo[375], c[375], v[375])
    assert view.bar_count == 376 and view.time_at_index(375) == ts[375]
    assert view.x_range() == pytest.approx((x0 + 1, x1 + 1))  # following the last bar
    spike = h[375] + 50.0
    view.update_last_bar(o[375], spike, lo[375], c[375], v[375] + 10)
    qapp.processEvents()
    assert view.price_plot.getViewBox().viewRange()[1][1] > spike
    assert view.crosshair.readout_values(375)["high"] == spike
    assert f"{c[375]:.2f}" in view.crosshair.text_item.toPlainText()
    with pytest.raises(ValueError, match="not after"):
        view.append_bar(int(ts[375]), 1.0, 1.0, 1.0, 1.0, 1.0)


def test_times_and_indices_round_trip(view: ChartView) -> None:
    ts, o, h, lo, c, v = rupee_bars(375 * 3)
    view.set_bars(ts, o, h, lo, c, v)
    for i in (0, 374, 375, 1_000, 1_124):
        assert view.index_at_time(view.time_at_index(i)) == i
        assert view.index_at_time(int(ts[i]) + 30 * 10**9) == i  # inside the bar's minute
    overnight = int(ts[374]) + 3 * 3600 * 10**9  # after the close, before the next open
    assert view.index_at_time(overnight) == 374
    minute = 60 * 10**9
    # past the ends (drawings in the right margin): a bar step per index, both ways
    assert view.time_at_index(375 * 3 + 9) == int(ts[-1]) + 10 * minute
    assert view.index_at_time(int(ts[-1]) + 10 * minute) == 375 * 3 + 9
    assert view.index_at_time(int(ts[-1]) + minute - 1) == 375 * 3 - 1
    assert view.time_at_index(-4) == int(ts[0]) - 4 * minute
    assert view.index_at_time(int(ts[0]) - 4 * minute) == -4


def test_clear_and_palettes(view: ChartView, qapp: QApplication) -> None:
    ts, o, h, lo, c, v = rupee_bars(375)
    view.set_bars(ts, o, h, lo, c, v)
    for palette in (
        palette_for("light"),
        palette_for("dark", colour_blind=True),
        ChartPalette.dark(),
    ):
        view.set_palette(palette)
        image = view.grab().toImage()
        corner = viewport_point(
            view, view.price_plot, 187, view.price_plot.getViewBox().viewRange()[1][1]
        )
        assert (
            QColor(image.pixel(corner.x() + 40, corner.y() + 60)).name()
            == qcolor(palette.background).name()
        )
    view.clear()
    qapp.processEvents()
    assert view.bar_count == 0 and len(view.ts_ns) == 0 and view.index_at_time(0) == -1
    view.grab()  # paints with no bars


def test_panes_are_built_light_but_a_title_still_shows(view: ChartView) -> None:
    """The panes have no context menus and hidden light axes (cheap to build, see
    `ChartView._make_plot`); an axis title still renders once it is set and shown."""
    for plot in (view.price_plot, view.volume_plot, view.add_subpane("rsi", "RSI 14")):
        assert plot.getViewBox().menu is None
        assert not plot.getAxis("left").isVisible() and not plot.getAxis("top").isVisible()
    right = view.price_plot.getAxis("right")
    assert right.label.toPlainText() == ""
    right.setLabel("Price", units="INR")
    assert right.label.isVisible()
    assert right.label.toPlainText() == "Price (INR)"


def test_the_viewport_is_painted_once_by_the_view_background(view: ChartView) -> None:
    """No palette fill under the view and no cached background blit: the opaque background
    brush alone covers the viewport (one full-window pass a frame instead of two)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QGraphicsView

    viewport = view.graphics.viewport()
    assert viewport.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
    assert not viewport.autoFillBackground()
    assert view.graphics.cacheMode() == QGraphicsView.CacheModeFlag.CacheNone
    assert view.graphics.backgroundBrush().isOpaque()
