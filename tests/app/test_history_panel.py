"""The run history panel and the compare dialog, real widgets offscreen on a real store
holding real backtests (the reference sma_crossover on demo bars, saved by record_run as
the CLI and the wizard save them)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

from app.commands.output import inr
from app.gui.chart.palette import palette_for
from app.gui.history_compare import CompareDialog, delta_text
from app.gui.panels.history_panel import COLUMN, HistoryPanel
from app.gui.panels.registry import panel_specs
from app.gui.themes import apply_theme
from engine.backtest import BacktestConfig, BacktestJob, BacktestReport, run_job
from engine.data import run_history as rh
from engine.data.demo import generate_demo
from engine.data.store import MarketStore
from engine.strategy.loader import StrategyRef

SMA = StrategyRef.of_module("strategies.reference.sma_crossover", "SmaCrossover")


@pytest.fixture(scope="module")
def reports() -> list[tuple[BacktestJob, BacktestReport]]:
    bank, it = generate_demo(count=2, days=5)
    jobs = [
        (BacktestJob(SMA, (bank.symbol,), {"fast": 10}, BacktestConfig(), "1m"), bank),
        (BacktestJob(SMA, (bank.symbol,), {"fast": 5}, BacktestConfig(), "1m"), bank),
        (
            BacktestJob(
                SMA, (bank.symbol,), {"fast": 5}, BacktestConfig(slippage_bps=Decimal(3)), "1m"
            ),
            bank,
        ),
        (BacktestJob(SMA, (it.symbol,), {"fast": 20}, BacktestConfig(costs="none"), "1m"), it),
    ]
    return [(job, run_job(job, [bars])) for job, bars in jobs]


@pytest.fixture
def saved(make_ctx, reports):
    """A context whose store holds the first three runs (ids 1, 2, 3)."""
    ctx = make_ctx()
    for n, (job, report) in enumerate(reports[:3]):
        rh.record_run(ctx.store, job, report, tags=["baseline"] if n == 0 else ["fast5"])
    return ctx


def make_panel(qtbot, ctx) -> HistoryPanel:
    panel = HistoryPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1200, 400)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def shown_column(panel: HistoryPanel, key: str) -> list[str]:
    column = COLUMN[key]
    return [panel.proxy.index(r, column).data() for r in range(panel.proxy.rowCount())]


def test_the_panel_is_registered_as_asked():
    spec = next(s for s in panel_specs() if s.panel_id == "history")
    assert (spec.title, spec.tab_with, spec.order, spec.shortcut) == (
        "Run history",
        "data",
        40,
        "Ctrl+Shift+Y",
    )
    assert spec.area == Qt.DockWidgetArea.RightDockWidgetArea and spec.factory is HistoryPanel


def test_lists_sorts_and_filters_the_saved_runs(qtbot, saved, reports):
    panel = make_panel(qtbot, saved)
    assert panel.proxy.rowCount() == 3
    assert shown_column(panel, "created") == sorted(shown_column(panel, "created"), reverse=True)
    ids_newest_first = [r.id for r in rh.list_runs(saved.store)]
    rows = [panel.proxy.mapToSource(panel.proxy.index(r, 0)).row() for r in range(3)]
    assert [panel.model.run_at(row).id for row in rows] == ids_newest_first
    nets = {str(r.metrics.total_net_pnl) for _, r in reports[:3]}
    assert set(shown_column(panel, "net_pnl")) == {inr(Decimal(n)) for n in nets}
    assert set(shown_column(panel, "badge")) <= {"GREEN", "AMBER", "RED"}
    assert panel.status.text() == "3 runs · select two to compare"

    panel.table.sortByColumn(COLUMN["net_pnl"], Qt.SortOrder.AscendingOrder)
    shown = [Decimal(t.replace(",", "")) for t in shown_column(panel, "net_pnl")]
    assert shown == sorted(shown)  # by the exact value, not the text
    panel.filter.setText("FAST5")
    assert panel.proxy.rowCount() == 2 and panel.status.text() == "2 of 3 runs match the filter"
    panel.filter.setText("fast5 #3")
    assert panel.proxy.rowCount() == 1
    panel.filter.clear()
    assert panel.proxy.rowCount() == 3


def test_refresh_adds_a_new_run_and_keeps_the_selection(qtbot, saved, reports):
    panel = make_panel(qtbot, saved)
    panel.select_ids([2])
    removed: list[int] = []
    inserted: list[int] = []
    panel.model.rowsRemoved.connect(lambda *_: removed.append(1))
    panel.model.rowsInserted.connect(lambda _p, first, last: inserted.append(last - first + 1))
    job, report = reports[3]
    new = rh.record_run(saved.store, job, report)
    with qtbot.waitSignal(panel.runs_changed):
        panel.refresh()
    assert panel.proxy.rowCount() == 4 and inserted == [1] and not removed  # no reset
    assert panel.selected_ids() == [2]
    panel.hide()
    rh.delete_run(saved.store, new)
    panel.show()  # shown again: read again
    assert panel.proxy.rowCount() == 3 and removed == [1]


def test_f2_renames_inline_and_the_store_has_it(qtbot, saved):
    panel = make_panel(qtbot, saved)
    row = panel.model.row_of(1)
    index = panel.proxy.mapFromSource(panel.model.index(row, COLUMN["name"]))
    panel.table.setCurrentIndex(index)
    panel.table.setFocus()
    qtbot.keyClick(panel.table.viewport(), Qt.Key.Key_F2)
    editor = panel.table.findChild(QLineEdit)
    assert editor is not None and editor.text() == rh.run_info(saved.store, 1).name
    editor.selectAll()
    qtbot.keyClicks(editor, "Baseline   SMA")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on a queued call
    qtbot.waitUntil(lambda: rh.run_info(saved.store, 1).name == "Baseline SMA")
    assert panel.model.run_at(panel.model.row_of(1)).name == "Baseline SMA"


def test_tags_are_edited_in_a_dialog(qtbot, saved):
    panel = make_panel(qtbot, saved)
    panel.select_ids([1])
    dialog = panel.edit_tags()
    assert dialog is not None and dialog.textValue() == "baseline"
    dialog.setTextValue("baseline, nifty bank ,  keep")
    dialog.accept()
    assert rh.run_info(saved.store, 1).tags == ["baseline", "nifty bank", "keep"]
    dialog = panel.edit_tags()
    dialog.setTextValue("keep")
    dialog.accept()
    assert rh.run_info(saved.store, 1).tags == ["keep"]
    assert "keep" in shown_column(panel, "tags")


def test_delete_asks_first(qtbot, saved):
    panel = make_panel(qtbot, saved)
    panel.select_ids([1, 3])
    box = panel.delete_selected()
    assert box is not None and "these 2 runs" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert len(rh.list_runs(saved.store)) == 3
    panel.select_ids([3])
    box = panel.delete_selected()
    assert "run 3" in box.text() and "cannot be undone" in box.informativeText()
    box.button(QMessageBox.StandardButton.Yes).click()
    assert [r.id for r in rh.list_runs(saved.store)] == [2, 1]
    assert panel.proxy.rowCount() == 2


def test_reopen_emits_the_run_id(qtbot, saved):
    panel = make_panel(qtbot, saved)
    panel.select_ids([2])
    with qtbot.waitSignal(panel.open_run_requested) as opened:
        qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    assert opened.args == [2]
    index = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(1), 0))
    where = panel.table.visualRect(index).center()
    with qtbot.waitSignal(panel.open_run_requested) as opened:
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
        qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert opened.args == [1]
    opened_ids: list[int] = []
    panel.open_run_requested.connect(opened_ids.append)
    panel.select_ids([3])
    qtbot.keyClick(panel.table, Qt.Key.Key_Enter)
    assert opened_ids == [3]  # once, however Qt reports it


def test_a_run_saved_before_run_history_cannot_reopen_and_says_why(qtbot, saved):
    with saved.store._cursor() as cur:
        cur.execute("UPDATE backtest_runs SET report = NULL, curve = NULL WHERE id = 2")
    panel = make_panel(qtbot, saved)
    panel.select_ids([2])
    with qtbot.assertNotEmitted(panel.open_run_requested):
        panel.open_selected()
    assert panel.error_box is not None and "saved without its report" in panel.error_box.text()


def test_compare_highlights_what_differs_and_overlays_the_curves(qtbot, saved, reports):
    panel = make_panel(qtbot, saved)
    panel.select_ids([2, 3])
    assert panel.compare_button.isEnabled() and not panel.open_button.isEnabled()
    dialog = panel.compare_selected()
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Compare runs 2 and 3"
    assert dialog.differing_setup_rows() == ["Config:slippage_bps"]
    assert "Net P&L (Rs)" in dialog.differing_metric_rows()
    assert "Bars" not in dialog.differing_metric_rows()
    a, b = (reports[n][1] for n in (1, 2))
    labels = [dialog.metrics.item(r, 0).text() for r in range(dialog.metrics.rowCount())]
    net = labels.index("Net P&L (Rs)")
    expected = delta_text("net_pnl", str(a.metrics.total_net_pnl), str(b.metrics.total_net_pnl))
    assert dialog.metrics.item(net, 3).text() == expected
    _, y = dialog.lines["B"].getData()
    assert len(y) == len(b.curve) and y[-1] == pytest.approx(float(b.curve.equity[-1]))
    assert dialog.only_differences.isChecked() and dialog.setup.rowCount() == 1  # first
    dialog.only_differences.setChecked(False)  # everything, the difference still tinted
    assert dialog.setup.rowCount() > 20
    assert dialog.differing_setup_rows() == ["Config:slippage_bps"]
    dialog.apply_theme("light")
    assert dialog.plot.backgroundBrush().color() == QColor(palette_for("light").background)

    dialog.close()  # deleted on close: the panel lets go of it
    qtbot.waitUntil(lambda: panel.compare_dialog is None)


def test_compare_shows_a_damaged_curve_as_a_note(qtbot, saved):
    with saved.store._cursor() as cur:
        cur.execute("DELETE FROM run_curves WHERE run_id = 3")  # an old npz that did not read
        cur.execute("UPDATE backtest_runs SET curve = 'junk'::BLOB WHERE id = 3")
    dialog = CompareDialog(saved.store, 1, 3)
    qtbot.addWidget(dialog)
    assert set(dialog.lines) == {"A"}
    assert not dialog.curve_note.isHidden()
    assert "run 3" in dialog.curve_note.text() and "cannot be read" in dialog.curve_note.text()
    assert dialog.differing_setup_rows() == ["Parameter:fast", "Config:slippage_bps"]


def test_a_read_only_store_refuses_with_a_dialog(qtbot, saved, make_ctx, workspace):
    saved.store.close()
    reader = MarketStore.open(workspace.database_path, read_only=True)
    try:
        ctx = make_ctx()
        ctx.store = reader
        panel = make_panel(qtbot, ctx)
        assert panel.proxy.rowCount() == 3
        assert not panel.rename(1, "new name")
        box = panel.error_box
        assert box is not None and box.windowTitle() == "Cannot rename the run"
        assert "read-only" in box.text() and "read-write" in box.informativeText()
        assert rh.run_info(reader, 1).name != "new name"
        panel.select_ids([1])
        assert not panel.set_tags(1, "x")
        assert "read-only" in panel.error_box.text()
    finally:
        reader.close()


def test_no_store_says_so_and_offers_nothing(qtbot, make_ctx):
    ctx = make_ctx()
    ctx.store = None
    ctx.store_problem = "another Artha holds this workspace"
    panel = make_panel(qtbot, ctx)
    assert "Market store unavailable: another Artha holds" in panel.status.text()
    assert not any(button.isEnabled() for button in panel.buttons)


def test_colours_follow_the_theme(qtbot, saved):
    app = QApplication.instance()
    panel = make_panel(qtbot, saved)
    for theme in ("light", "dark"):
        apply_theme(app, theme)
        panel.apply_theme(theme)
        palette = palette_for(theme)
        for row in range(panel.model.rowCount()):
            run = panel.model.run_at(row)
            brush = panel.model.index(row, COLUMN["net_pnl"]).data(Qt.ItemDataRole.ForegroundRole)
            if run.net_pnl:
                want = palette.up if run.net_pnl > 0 else palette.down
                assert brush.color() == QColor(want)
