"""Drawings made with real mouse events on a real PlotWidget: each tool, select, move, resize,
delete, Esc; saved through the store and restored into a fresh layer; anchored in (time, price)
so a timeframe switch re-places them on the new bars without changing what was drawn."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.gui.chart.drawing_store import DrawingKind, DrawingStore
from app.gui.chart.drawings import DRAWING_COLOURS, THEMES, DrawingLayer

NS_MIN = 60 * 1_000_000_000
SESSION_MINUTES = 375  # NSE 09:15-15:30 IST
DAY0_OPEN_UTC_NS = 1_764_561_300 * 1_000_000_000  # 2025-12-01 03:45 UTC = 09:15 IST


def minute_times(days: int = 2) -> np.ndarray:
    """NSE minute bar opens over `days` sessions (overnight gaps, as the chart's x has none)."""
    day = 24 * 60 * NS_MIN
    return np.concatenate(
        [DAY0_OPEN_UTC_NS + d * day + np.arange(SESSION_MINUTES) * NS_MIN for d in range(days)]
    ).astype(np.int64)


def mapping(ts: np.ndarray, bar_ns: int) -> tuple[Callable[[int], float], Callable[[float], int]]:
    """An independent x<->time map: fractional between bars, extrapolated by the bar length."""
    n = len(ts)

    def x_of_time(t: int) -> float:
        i = int(np.searchsorted(ts, t, side="right")) - 1
        if i < 0:
            return (t - int(ts[0])) / bar_ns
        if i >= n - 1:
            return (n - 1) + (t - int(ts[-1])) / bar_ns
        return i + (t - int(ts[i])) / (int(ts[i + 1]) - int(ts[i]))

    def time_of_x(x: float) -> int:
        if x < 0:
            return int(ts[0]) + round(x * bar_ns)
        if x >= n - 1:
            return int(ts[-1]) + round((x - (n - 1)) * bar_ns)
        i = math.floor(x)
        return int(ts[i]) + round((x - i) * (int(ts[i + 1]) - int(ts[i])))

    return x_of_time, time_of_x


class Chart:
    """A real PlotWidget with a close line on bar-index x, and helpers to aim the mouse."""

    def __init__(self, qtbot, ts: np.ndarray, bar_ns: int, theme: str = "dark") -> None:
        self.widget = pg.PlotWidget()
        qtbot.addWidget(self.widget)
        self.widget.resize(900, 520)
        self.widget.setBackground(THEMES[theme].background)
        closes = 24_000 + np.cumsum(np.sin(np.arange(len(ts)) / 17.0) * 3.0)
        self.closes = closes
        self.widget.plot(np.arange(len(ts)), closes, pen=pg.mkPen("#787b86"))
        self.plot: pg.PlotItem = self.widget.getPlotItem()
        self.plot.disableAutoRange()
        self.plot.setXRange(0, len(ts) - 1, padding=0.02)
        self.plot.setYRange(float(closes.min()) - 20, float(closes.max()) + 20, padding=0)
        with qtbot.waitExposed(self.widget):
            self.widget.show()
        qtbot.wait(10)  # layout settles before pixels are aimed
        self.x_of_time, self.time_of_x = mapping(ts, bar_ns)
        self.notes: list[str | None] = []

    def layer(self, theme: str = "dark") -> DrawingLayer:
        return DrawingLayer(
            self.plot, self.x_of_time, self.time_of_x, prompt=self.answer, theme=theme
        )

    def answer(self, current: str) -> str | None:
        return self.notes.pop(0) if self.notes else None

    @property
    def viewport(self):
        return self.widget.viewport()

    def pixel(self, x: float, y: float) -> QPoint:
        scene = self.plot.getViewBox().mapViewToScene(QPointF(x, y))
        return self.widget.mapFromScene(scene)

    def view_at(self, pixel: QPoint) -> tuple[float, float]:
        point = self.plot.getViewBox().mapSceneToView(self.widget.mapToScene(pixel))
        return point.x(), point.y()

    def send(self, kind: QEvent.Type, pixel: QPoint, button: Qt.MouseButton, held) -> None:
        event = QMouseEvent(
            kind,
            QPointF(pixel),
            QPointF(self.viewport.mapToGlobal(pixel)),
            button,
            held,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(self.viewport, event)

    def click(self, qtbot, pixel: QPoint) -> None:
        left = Qt.MouseButton.LeftButton
        self.send(QEvent.Type.MouseMove, pixel, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
        self.send(QEvent.Type.MouseButtonPress, pixel, left, left)
        self.send(QEvent.Type.MouseButtonRelease, pixel, left, Qt.MouseButton.NoButton)
        qtbot.wait(5)

    def drag(self, qtbot, start: QPoint, end: QPoint, steps: int = 8) -> None:
        """Press, move with the button held, release: what a hand on a mouse does."""
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        self.send(QEvent.Type.MouseMove, start, none, none)
        self.send(QEvent.Type.MouseButtonPress, start, left, left)
        for i in range(1, steps + 1):
            f = i / steps
            p = QPoint(
                round(start.x() + (end.x() - start.x()) * f),
                round(start.y() + (end.y() - start.y()) * f),
            )
            self.send(QEvent.Type.MouseMove, p, none, left)
            qtbot.wait(12)  # pyqtgraph drops moves closer than 10 ms (mouseRateLimit)
        self.send(QEvent.Type.MouseButtonRelease, end, left, none)
        qtbot.wait(5)

    def key(self, qtbot, key: Qt.Key) -> None:
        qtbot.keyClick(self.widget, key)


@pytest.fixture
def minutes() -> np.ndarray:
    return minute_times()


@pytest.fixture
def chart(qtbot, minutes) -> Chart:
    return Chart(qtbot, minutes, NS_MIN)


def only(layer: DrawingLayer, kind: DrawingKind) -> dict:
    found = [r for r in layer.to_records() if r["kind"] == kind.value]
    assert len(found) == 1, layer.to_records()
    return found[0]


def near(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def test_each_tool_draws_with_the_mouse_at_the_clicked_time_and_price(qtbot, chart):
    layer = chart.layer()
    changes: list[None] = []
    layer.changed.connect(lambda: changes.append(None))
    tools: list[str] = []
    layer.tool_changed.connect(tools.append)

    # horizontal line: one click
    layer.start_tool("horizontal_line")
    click_at = chart.pixel(100, 24_010)
    chart.click(qtbot, click_at)
    hline = only(layer, DrawingKind.HORIZONTAL_LINE)
    x, y = chart.view_at(click_at)
    assert near(hline["points"][0][1], y, 1e-6)
    assert hline["points"][0][0] == chart.time_of_x(x)
    assert layer.tool is None and tools == ["horizontal_line", ""]

    # trend line: press, drag, release
    layer.start_tool(DrawingKind.TREND_LINE)
    a, b = chart.pixel(50, 23_990), chart.pixel(400, 24_030)
    chart.drag(qtbot, a, b)
    trend = only(layer, DrawingKind.TREND_LINE)
    (ta, pa), (tb, pb) = trend["points"]
    assert (ta, tb) == (chart.time_of_x(chart.view_at(a)[0]), chart.time_of_x(chart.view_at(b)[0]))
    assert near(pa, chart.view_at(a)[1], 1e-6) and near(pb, chart.view_at(b)[1], 1e-6)

    # rectangle: two clicks (with the mouse moving in between, no button held)
    layer.start_tool(DrawingKind.RECTANGLE)
    c, d = chart.pixel(500, 24_040), chart.pixel(650, 23_980)
    chart.click(qtbot, c)
    assert not any(r["kind"] == "rectangle" for r in layer.to_records())  # waits for click 2
    chart.click(qtbot, d)
    rect = only(layer, DrawingKind.RECTANGLE)
    (t0, p0), (t1, p1) = rect["points"]
    assert t0 < t1 and p0 < p1  # stored as (left, low), (right, high)
    assert near(p0, chart.view_at(d)[1], 1e-6) and near(p1, chart.view_at(c)[1], 1e-6)

    # text note: a click, then the prompt
    chart.notes.append("Breakout retest?")
    layer.start_tool(DrawingKind.TEXT_NOTE)
    chart.click(qtbot, chart.pixel(300, 24_050))
    qtbot.waitUntil(lambda: any(r["kind"] == "text_note" for r in layer.to_records()))
    note = only(layer, DrawingKind.TEXT_NOTE)
    assert note["text"] == "Breakout retest?"

    assert len(layer) == 4 and len(changes) == 4
    assert all(r["colour"] == "#2962ff" for r in layer.to_records())
    assert len({r["id"] for r in layer.to_records()}) == 4


def test_esc_and_a_cancelled_prompt_leave_nothing_drawn(qtbot, chart):
    layer = chart.layer()
    layer.start_tool(DrawingKind.TREND_LINE)
    chart.click(qtbot, chart.pixel(100, 24_000))  # first point of click-click
    chart.key(qtbot, Qt.Key.Key_Escape)
    assert layer.tool is None
    chart.click(qtbot, chart.pixel(200, 24_010))  # no tool now: an ordinary click
    assert layer.to_records() == []

    line = layer.add(DrawingKind.HORIZONTAL_LINE, [(chart.time_of_x(5), 24_000.0)])
    layer.select(line)
    chart.key(qtbot, Qt.Key.Key_Escape)  # with no tool, Esc lets go of the selection
    assert layer.selected is None and layer.ids == [line]
    layer.clear()

    layer.start_tool(DrawingKind.TEXT_NOTE)  # prompt answers None (cancel)
    chart.click(qtbot, chart.pixel(300, 24_000))
    qtbot.waitUntil(lambda: layer.tool is None)
    assert layer.to_records() == []


def test_drawing_does_not_pan_but_without_a_tool_a_drag_pans(qtbot, chart):
    layer = chart.layer()
    hovered: list[object] = []
    chart.plot.scene().sigMouseMoved.connect(hovered.append)
    layer.start_tool(DrawingKind.TREND_LINE)
    qtbot.wait(12)
    none = Qt.MouseButton.NoButton
    chart.send(QEvent.Type.MouseMove, chart.pixel(100, 24_000), none, none)
    assert hovered  # hovering still reaches the chart (crosshair) while a tool is armed
    layer.cancel_tool()
    before = chart.plot.getViewBox().viewRange()[0]
    layer.start_tool(DrawingKind.TREND_LINE)
    chart.drag(qtbot, chart.pixel(100, 24_000), chart.pixel(300, 24_020))
    assert chart.plot.getViewBox().viewRange()[0] == before
    chart.drag(qtbot, chart.pixel(100, 23_990), chart.pixel(300, 23_990))
    assert chart.plot.getViewBox().viewRange()[0] != before
    assert len(layer) == 1


def test_move_resize_select_and_delete_with_the_mouse_and_keys(qtbot, chart):
    layer = chart.layer()
    t = chart.time_of_x
    line_id = layer.add(DrawingKind.TREND_LINE, [(t(100), 23_990.0), (t(300), 24_030.0)])
    hline_id = layer.add(DrawingKind.HORIZONTAL_LINE, [(t(10), 24_045.0)])
    rect_id = layer.add(DrawingKind.RECTANGLE, [(t(450), 23_980.0), (t(600), 24_020.0)])
    note_id = layer.add(DrawingKind.TEXT_NOTE, [(t(650), 24_000.0)], text="note")
    changes: list[None] = []
    layer.changed.connect(lambda: changes.append(None))

    # click a trend line in its middle: selected
    chart.click(qtbot, chart.pixel(200, 24_010))
    assert layer.selected == line_id
    # click empty chart: deselected
    chart.click(qtbot, chart.pixel(700, 23_960))
    assert layer.selected is None

    # drag the trend line by its body: both ends move by the same bars and rupees
    start = chart.pixel(200, 24_010)
    dx, dy = 60, -40  # pixels
    chart.drag(qtbot, start, start + QPoint(dx, dy))
    assert layer.selected == line_id
    moved = next(r for r in layer.to_records() if r["id"] == line_id)
    shift_x = chart.view_at(start + QPoint(dx, dy))[0] - chart.view_at(start)[0]
    shift_y = chart.view_at(start + QPoint(dx, dy))[1] - chart.view_at(start)[1]
    assert near(moved["points"][0][0], t(100 + shift_x), NS_MIN * 0.6)
    assert near(moved["points"][1][1], 24_030.0 + shift_y, 1.0)
    assert len(changes) == 1

    # drag an end handle of the selected trend line: only that end moves
    end = chart.pixel(*_x_of(chart, moved["points"][1]))
    chart.drag(qtbot, end, end + QPoint(40, 0))
    resized = next(r for r in layer.to_records() if r["id"] == line_id)
    assert resized["points"][0] == moved["points"][0]
    assert resized["points"][1][0] > moved["points"][1][0]
    assert len(changes) == 2

    # drag the horizontal line: the price changes, its label follows
    chart.drag(qtbot, chart.pixel(200, 24_045), chart.pixel(200, 24_000))
    hline = next(r for r in layer.to_records() if r["id"] == hline_id)
    assert near(hline["points"][0][1], 24_000.0, 1.0)
    assert layer.selected == hline_id

    # drag a rectangle's body, then a text note
    chart.drag(qtbot, chart.pixel(520, 24_000), chart.pixel(560, 24_000))
    rect = next(r for r in layer.to_records() if r["id"] == rect_id)
    assert rect["points"][0][0] > t(450) and near(rect["points"][0][1], 23_980.0, 1.0)
    note_pixel = chart.pixel(650, 24_000) + QPoint(8, -6)  # inside the text box
    chart.drag(qtbot, note_pixel, note_pixel + QPoint(0, 30))
    note = next(r for r in layer.to_records() if r["id"] == note_id)
    assert note["points"][0][1] < 24_000.0 and note["points"][0][0] == t(650)

    # Delete key removes the selected drawing (the note); delete_selected the next
    assert layer.selected == note_id
    chart.key(qtbot, Qt.Key.Key_Delete)
    assert note_id not in layer.ids and layer.selected is None
    layer.select(rect_id)
    assert layer.delete_selected()
    assert not layer.delete_selected()
    assert set(layer.ids) == {line_id, hline_id}
    layer.clear()
    assert layer.to_records() == [] and layer.ids == []


def _x_of(chart: Chart, point: list) -> tuple[float, float]:
    return chart.x_of_time(point[0]), point[1]


def test_double_click_on_a_note_edits_its_text(qtbot, chart):
    layer = chart.layer()
    note_id = layer.add(DrawingKind.TEXT_NOTE, [(chart.time_of_x(300), 24_000.0)], text="old")
    chart.notes.append("new text")
    layer.edit_text(note_id)
    assert layer.to_records()[0]["text"] == "new text"


def test_saved_drawings_come_back_in_a_fresh_layer(qtbot, chart, minutes, tmp_path: Path):
    layer = chart.layer()
    layer.set_colour(DRAWING_COLOURS[1])
    layer.start_tool(DrawingKind.TREND_LINE)
    chart.drag(qtbot, chart.pixel(50, 23_990), chart.pixel(400, 24_030))
    layer.start_tool(DrawingKind.HORIZONTAL_LINE)
    chart.click(qtbot, chart.pixel(10, 24_040))
    chart.notes.append("Gap fill ₹ target")
    layer.start_tool(DrawingKind.TEXT_NOTE)
    chart.click(qtbot, chart.pixel(500, 24_000))
    qtbot.waitUntil(lambda: len(layer) == 3)
    store = DrawingStore(tmp_path / "drawings")
    assert store.save("NSE:M&M", layer.to_records()) is None

    fresh_chart = Chart(qtbot, minutes, NS_MIN, theme="light")
    fresh = fresh_chart.layer(theme="light")
    assert fresh.load_records(DrawingStore(tmp_path / "drawings").load("NSE:M&M")) == []
    assert fresh.to_records() == layer.to_records()
    trend = only(fresh, DrawingKind.TREND_LINE)
    graphic_points = [
        fresh_chart.view_at(fresh_chart.pixel(fresh_chart.x_of_time(t), p))
        for t, p in trend["points"]
    ]
    original = [chart.view_at(chart.pixel(chart.x_of_time(t), p)) for t, p in trend["points"]]
    assert np.allclose(graphic_points, original, atol=0.5)


def test_a_trend_line_keeps_its_times_and_prices_across_a_timeframe_switch(qtbot, chart, minutes):
    layer = chart.layer()
    layer.start_tool(DrawingKind.TREND_LINE)
    chart.drag(qtbot, chart.pixel(100, 23_990), chart.pixel(500, 24_030))
    before = layer.to_records()
    (ta, pa), (tb, pb) = before[0]["points"]

    five = minutes[::5]
    x5, t5 = mapping(five, 5 * NS_MIN)
    layer.set_mapping(x5, t5)
    assert layer.to_records() == before  # remapping never rewrites what was drawn
    roi = next(i for i in chart.plot.items if isinstance(i, pg.LineSegmentROI))
    ends = [roi.mapToParent(h.pos()) for h in roi.getHandles()]
    assert near(ends[0].x(), x5(ta), 1e-9) and near(ends[1].x(), x5(tb), 1e-9)
    assert near(ends[0].y(), pa, 1e-9) and near(ends[1].y(), pb, 1e-9)
    assert ends[1].x() < 110  # 1m bar ~500 is 5m bar ~100

    # a move on the 5m chart reads back through the 5m mapping
    chart.plot.setXRange(0, len(five) - 1, padding=0.02)
    qtbot.wait(5)
    start = chart.pixel((ends[0].x() + ends[1].x()) / 2, (pa + pb) / 2)
    chart.drag(qtbot, start, start + QPoint(0, 30))
    after = layer.to_records()[0]["points"]
    assert after[0][0] == ta and after[1][0] == tb  # pure vertical move: same times
    assert after[0][1] < pa

    layer.set_mapping(chart.x_of_time, chart.time_of_x)  # back to 1m
    ends = [roi.mapToParent(h.pos()) for h in roi.getHandles()]
    assert near(ends[0].x(), chart.x_of_time(ta), 1e-9)


def test_drawings_beyond_the_series_extrapolate_by_the_bar_length(qtbot, chart, minutes):
    layer = chart.layer()
    future = int(minutes[-1]) + 10 * NS_MIN
    layer.load_records(
        [{"id": "f", "kind": "text_note", "points": [[future, 24_000.0]], "text": "later"}]
    )
    note = chart.plot.items[-1]
    assert near(note.pos().x(), len(minutes) - 1 + 10, 1e-9)


def test_bad_records_are_skipped_with_a_reason(qtbot, chart):
    layer = chart.layer()
    problems = layer.load_records(
        [
            {"id": "a", "kind": "horizontal_line", "points": [[0, 24_000.0]]},
            {"id": "a", "kind": "horizontal_line", "points": [[0, 24_001.0]]},
            {"id": "b", "kind": "circle", "points": [[0, 1.0]]},
            {"id": "c", "kind": "trend_line", "points": [[0, 1.0]]},
            {"id": "d", "kind": "text_note", "points": [[0, float("nan")]]},
            "garbage",
        ]
    )
    assert layer.ids == ["a"]
    assert len(problems) == 5
    assert any("unknown kind 'circle'" in p for p in problems)
    assert any("needs 2 point(s)" in p for p in problems)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_colours_are_readable_on_both_backgrounds():
    for theme in THEMES.values():
        assert _contrast(theme.foreground, theme.background) >= 7  # note text
        for colour in DRAWING_COLOURS:
            assert _contrast(colour, theme.background) >= 3, (colour, theme)  # WCAG graphics
            assert _contrast(theme.label_text, colour) >= 3, colour  # price tag text


def test_colour_for_new_drawings_and_recolouring_one(qtbot, chart):
    layer = chart.layer()
    first = layer.add(DrawingKind.HORIZONTAL_LINE, [(chart.time_of_x(10), 24_000.0)])
    layer.select(first)
    layer.set_colour(DRAWING_COLOURS[2])  # for the next drawings only
    second = layer.add(DrawingKind.HORIZONTAL_LINE, [(chart.time_of_x(10), 24_010.0)])
    colours = {r["id"]: r["colour"] for r in layer.to_records()}
    assert colours == {first: "#2962ff", second: DRAWING_COLOURS[2]}
    changes: list[None] = []
    layer.changed.connect(lambda: changes.append(None))
    layer.recolour(first, "#EF6C00")
    assert layer.to_records()[0]["colour"] == "#ef6c00" and len(changes) == 1
    with pytest.raises(ValueError, match="not a colour"):
        layer.set_colour("nope")


def test_theme_switch_restyles_without_a_change(qtbot, chart):
    layer = chart.layer()
    layer.add(DrawingKind.TEXT_NOTE, [(chart.time_of_x(10), 24_000.0)], text="x")
    changes: list[None] = []
    layer.changed.connect(lambda: changes.append(None))
    layer.set_theme("light")
    assert layer.theme == "light" and changes == []
    with pytest.raises(ValueError, match="unknown theme"):
        layer.set_theme("blue")
