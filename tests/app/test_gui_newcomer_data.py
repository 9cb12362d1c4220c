"""The Data panel's quality report is built by a job, off the GUI thread (newcomer report,
December 2026): "Checking quality…" meanwhile, and the newest selection wins."""

from __future__ import annotations

from pathlib import Path

from app.gui.panels.data_panel import DataPanel
from engine.events import JobFinished

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"


def _panel_with_data(make_ctx, qtbot):
    ctx = make_ctx()
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(FIXTURES / "cm03JUN2024bhav.csv")])
    qtbot.waitUntil(lambda: not ctx.jobs.running(), timeout=10_000)
    return ctx, panel


def test_selecting_a_row_checks_quality_as_a_job_and_says_so_meanwhile(make_ctx, qtbot):
    ctx, panel = _panel_with_data(make_ctx, qtbot)
    panel.table.selectRow(2)
    # the GUI thread only asked: the report is being built by a job of the runner
    assert panel.quality.toPlainText().startswith("Checking quality of NSE:RELIANCE 1d…")
    assert [j.name for j in ctx.jobs.running()] == ["Quality check of NSE:RELIANCE 1d"]
    qtbot.waitUntil(lambda: "Data quality: RELIANCE 1d on NSE" in panel.quality.toPlainText())
    assert not ctx.jobs.running()
    panel.grab().save("/tmp/gui_shots/newcomer-data-quality.png")


def test_a_newer_selection_wins_over_an_older_result_arriving_late(make_ctx, qtbot):
    ctx, panel = _panel_with_data(make_ctx, qtbot)
    panel.table.selectRow(0)  # HDFCBANK
    older = ctx.jobs.running()[-1]
    panel.table.selectRow(2)  # RELIANCE, before HDFCBANK's report is shown
    qtbot.waitUntil(lambda: "Data quality: RELIANCE 1d on NSE" in panel.quality.toPlainText())
    qtbot.waitUntil(lambda: not ctx.jobs.running(), timeout=10_000)
    qtbot.wait(50)  # the older job's own end has been delivered too
    assert "Data quality: RELIANCE 1d on NSE" in panel.quality.toPlainText()
    # the older check's result arriving after the newer one is dropped
    ctx.bus.publish(JobFinished(older.job_id, older.name, "Data quality: HDFCBANK (stale)"))
    assert "Data quality: RELIANCE 1d on NSE" in panel.quality.toPlainText()
    assert "stale" not in panel.quality.toPlainText()


def test_clearing_the_selection_drops_a_check_still_running(make_ctx, qtbot):
    ctx, panel = _panel_with_data(make_ctx, qtbot)
    panel.table.selectRow(1)
    running = ctx.jobs.running()[-1]
    panel.table.clearSelection()
    panel.table.setCurrentIndex(panel.model.index(-1, -1))
    panel.refresh()
    qtbot.waitUntil(lambda: not ctx.jobs.running(), timeout=10_000)
    ctx.bus.publish(JobFinished(running.job_id, running.name, "Data quality: INFY (stale)"))
    assert panel.quality.toPlainText() == ""
