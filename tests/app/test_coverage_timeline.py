"""The Data panel's coverage column on a real store: what each row's timeline paints (read
back from the grabbed pixels, in both themes), its tooltip and the axis in the header."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication

from app.gui.coverage_timeline import COVERAGE_ROLE, MISSING_COLOUR, TimelineMarks
from app.gui.panels.data_panel import DataPanel
from app.gui.themes import apply_theme
from engine.data.bar_series import BarSeries
from engine.data.demo import demo_batch, generate_demo


def ist_dates(series: BarSeries) -> np.ndarray:
    return np.array(pd.to_datetime(series.ts, utc=True).tz_convert("Asia/Kolkata").date)


def keep(series: BarSeries, mask: np.ndarray) -> BarSeries:
    return BarSeries.from_arrays(
        series.symbol,
        series.ts[mask],
        series.open[mask],
        series.high[mask],
        series.low[mask],
        series.close[mask],
        series.volume[mask],
        series.timeframe,
        prices_in_paise=True,
    )


@pytest.fixture
def gapped_panel(make_ctx, qtbot) -> Iterator[tuple[DataPanel, list[BarSeries], list[date]]]:
    """Three SYNTHETIC series of 40 sessions: [0] lacks sessions 10 and 11, [1] starts at
    session 20, [2] is whole; the panel once their coverage is painted."""
    series = generate_demo(count=3, days=40)
    days = ist_dates(series[0])
    sessions = sorted(set(days))
    series[0] = keep(series[0], ~np.isin(days, sessions[10:12]))
    series[1] = keep(series[1], ist_dates(series[1]) >= sessions[20])
    ctx = make_ctx()
    ctx.store.import_batch(demo_batch(series))
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1100, 500)
    panel.show()
    qtbot.waitUntil(lambda: not panel.coverage_pending, timeout=10_000)
    yield panel, series, sessions


@pytest.fixture
def restore_theme(qapp) -> Iterator[None]:
    """apply_theme changes the whole application: put back what the other tests see."""
    palette, sheet, style = qapp.palette(), qapp.styleSheet(), qapp.style().name()
    theme = qapp.property("arthaTheme")
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("arthaTheme", theme)


def row_of(panel: DataPanel, symbol: str) -> int:
    return [s.symbol for s in panel.model.rows].index(symbol)


def cell_line(panel: DataPanel, image: QImage, row: int) -> list[QColor]:
    """The colours along the middle of the row's coverage cell."""
    rect = panel.table.visualRect(panel.model.index(row, panel.model.coverage_column))
    scale = image.devicePixelRatio()
    y = int(rect.center().y() * scale)
    return [image.pixelColor(int(x * scale), y) for x in range(rect.left(), rect.right())]


def distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def test_the_model_places_each_series_on_the_shared_axis(gapped_panel):
    panel, series, sessions = gapped_panel
    model = panel.model
    column = model.coverage_column
    header = model.headerData(column, Qt.Orientation.Horizontal)
    assert header == f"Coverage {sessions[0].isoformat()} → {sessions[-1].isoformat()}"
    holes = model.index(row_of(panel, series[0].symbol), column)
    marks = holes.data(COVERAGE_ROLE)
    assert isinstance(marks, TimelineMarks) and marks.length == 40
    assert marks.missing.tolist() == [10, 11]
    assert marks.runs() == [(0, 9), (12, 39)]
    late = model.index(row_of(panel, series[1].symbol), column).data(COVERAGE_ROLE)
    assert late.runs() == [(20, 39)] and late.missing.tolist() == []
    tip = holes.data(Qt.ItemDataRole.ToolTipRole)
    assert f"{sessions[0].isoformat()} to {sessions[-1].isoformat()}: bars on 38 sessions" in tip
    assert (
        f"2 of 40 sessions in that span missing (red): {sessions[10].isoformat()}, "
        f"{sessions[11].isoformat()}" in tip
    )
    assert holes.data() == "38 sessions, 2 missing"


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_timelines_read_in_both_themes(gapped_panel, qapp, restore_theme, theme):
    panel, series, _ = gapped_panel
    apply_theme(qapp, theme)
    QApplication.processEvents()
    palette = panel.table.palette()
    base = palette.color(QPalette.ColorRole.Base)
    filled = palette.color(QPalette.ColorRole.Highlight)
    red = QColor(MISSING_COLOUR)
    assert distance(filled, base) > 150 and distance(red, base) > 150  # no vanishing colours
    image = panel.table.viewport().grab().toImage()

    def counts(symbol: str) -> tuple[int, int, list[QColor]]:
        line = cell_line(panel, image, row_of(panel, symbol))
        return sum(c == filled for c in line), sum(c == red for c in line), line

    whole_filled, whole_red, line = counts(series[2].symbol)
    assert whole_red == 0 and whole_filled > 0.9 * len(line)
    holes_filled, holes_red, _ = counts(series[0].symbol)
    assert holes_red > 0 and holes_filled < whole_filled
    late_filled, late_red, line = counts(series[1].symbol)
    assert late_red == 0 and 0.4 * len(line) < late_filled < 0.6 * len(line)
    first_quarter = line[10 : len(line) // 4]
    assert not any(c == filled for c in first_quarter)  # empty track before the first bar


def test_a_selected_row_keeps_its_timeline_visible(gapped_panel, qtbot):
    panel, series, _ = gapped_panel
    row = row_of(panel, series[2].symbol)
    with qtbot.waitSignal(panel._done.quality_shown, timeout=10_000):
        panel.table.selectRow(row)
    image = panel.table.viewport().grab().toImage()
    palette = panel.table.palette()
    line = cell_line(panel, image, row)
    marks = palette.color(QPalette.ColorRole.HighlightedText)
    assert sum(c == marks for c in line) > 0.9 * len(line)  # not highlight on highlight
    assert distance(marks, palette.color(QPalette.ColorRole.Highlight)) > 150


def test_the_coverage_follows_an_import(make_ctx, qtbot):
    from tests.app.test_data_panel_dragdrop import NSE_2024, NSE_2025

    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: not panel.coverage_pending, timeout=10_000)
    assert panel.model.coverage is not None and panel.model.coverage.series == {}
    with qtbot.waitSignal(panel.coverage_shown, timeout=20_000):
        panel.import_files([str(NSE_2024), str(NSE_2025)])
    coverage = panel.model.coverage
    assert coverage is not None and coverage.first == date(2024, 6, 3)
    reliance = panel.model.index(row_of(panel, "RELIANCE"), panel.model.coverage_column)
    assert reliance.data().startswith("2 sessions, ")  # 3 June 2024 and 3 June 2025
    marks = reliance.data(COVERAGE_ROLE)
    assert marks.present.tolist() == [0, marks.length - 1]


@pytest.mark.parametrize("width", [480, 1100])
def test_the_timeline_stays_in_sight_in_a_narrow_dock(gapped_panel, qtbot, width):
    from app.gui.panels.data_panel import TIMELINE_MIN

    panel, _, _ = gapped_panel
    panel.resize(width, 500)
    qtbot.waitUntil(lambda: panel.table.viewport().width() < width)
    column = panel.model.coverage_column
    rect = panel.table.visualRect(panel.model.index(0, column))
    viewport = panel.table.viewport().rect()
    assert rect.width() >= TIMELINE_MIN
    assert viewport.contains(rect.topLeft()) and rect.right() <= viewport.right() + 1
    header = panel.table.horizontalHeader()
    title = panel.model.headerData(column, Qt.Orientation.Horizontal)
    assert header.fontMetrics().horizontalAdvance(title) < rect.width()  # not clipped


def test_settled_says_when_a_screenshot_may_grab(gapped_panel, qtbot):
    panel, _, _ = gapped_panel
    assert panel.settled and not panel.coverage_pending
    panel.refresh()  # a new coverage read
    assert not panel.settled and panel.coverage_pending
    qtbot.waitUntil(lambda: panel.settled, timeout=10_000)
    panel.table.selectRow(0)  # a quality check
    assert not panel.settled
    qtbot.waitUntil(lambda: panel.settled, timeout=10_000)
    assert panel.quality.toPlainText().startswith("Data quality: ")
