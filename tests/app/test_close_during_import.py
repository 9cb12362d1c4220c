"""Closing the main window while an import job runs (D1): it asks; Cancel stops the import at
a file boundary and closes only after; Wait keeps it open; Quit after it closes at the end."""

from __future__ import annotations

from pathlib import Path

from app.gui.main_window import CloseChoice
from engine.events import JobProgress
from tests.app.test_data_panel import minute_files


def _importing_window(make_window, qtbot, tmp_path, count=40):
    window = make_window()
    window.show()
    panel = window.docks["data"].widget()
    paths = minute_files(tmp_path, count)
    asked: list[bool] = []

    def close_once_it_runs(event: JobProgress) -> None:
        if not asked:
            asked.append(True)
            window.close()

    window.ctx.bus.subscribe(JobProgress, close_once_it_runs)
    panel.import_files(paths)
    qtbot.waitUntil(lambda: window.close_question is not None, timeout=30_000)
    return window, panel, paths


def test_cancel_stops_the_import_between_files_and_closes_only_after(
    make_window, qtbot, tmp_path, caplog
):
    caplog.set_level("INFO")
    window, _panel, paths = _importing_window(make_window, qtbot, tmp_path)
    box = window.close_question
    assert window.isVisible() and box.isVisible()
    assert box.text().startswith("An import is running: Importing 40 file(s).")
    assert set(window.close_buttons) == set(CloseChoice)
    still_running_at_close: list[int] = []
    window.close_buttons[CloseChoice.CANCEL].click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    still_running_at_close.append(len(window.ctx.jobs.running()))
    assert still_running_at_close == [0]  # the window (and so the store) waited for the job
    # nothing half-written: every file is whole in the store or absent, as the log says
    stored = {s.symbol: s.bars for s in window.ctx.store.list_series()}
    assert stored and all(bars == 375 for bars in stored.values()) and len(stored) < 40
    messages = [r.getMessage() for r in caplog.records]
    not_stored = [p for p in paths if Path(p).stem not in stored]
    (untried,) = [m for m in messages if "not tried, nothing of them stored" in m]
    assert untried.startswith(f"{len(not_stored)} file(s) not tried")  # one line, not one per file
    assert all(str(p) in untried for p in not_stored)
    assert f"import: 40 files: {len(stored)} stored, {len(not_stored)} not tried" in messages
    assert any(m.startswith("closing: cancelling Importing 40 file(s)") for m in messages)
    assert "closing: no job running any more" in messages


def test_wait_keeps_the_window_open_and_the_import_runs_to_its_end(make_window, qtbot, tmp_path):
    window, panel, _paths = _importing_window(make_window, qtbot, tmp_path, count=20)
    window.answer_close(CloseChoice.WAIT)
    assert window.close_question is None and window.closing is None
    qtbot.waitUntil(lambda: not panel.busy, timeout=60_000)
    assert window.isVisible()
    assert len(window.ctx.store.list_series()) == 20


def test_quit_after_it_closes_the_window_when_the_import_has_finished(
    make_window, qtbot, tmp_path, caplog
):
    caplog.set_level("INFO")
    window, _panel, _paths = _importing_window(make_window, qtbot, tmp_path, count=20)
    window.answer_close(CloseChoice.AFTER)
    assert window.isVisible() or not window.ctx.jobs.running()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert len(window.ctx.store.list_series()) == 20  # all of it, nothing cancelled
    assert any(r.getMessage().startswith("closing once Importing 20") for r in caplog.records)


def test_closing_with_no_job_running_asks_nothing(make_window, qtbot):
    window = make_window()
    window.show()
    window.close()
    assert not window.isVisible() and window.close_question is None


def test_a_damaged_store_keeps_the_window_up_with_the_data_panel_saying_so(make_window, qtbot):
    window = make_window()
    store = window.ctx.store
    store.close()  # every later store call raises StoreError, as a damaged store's do
    assert not window.should_offer_demo()
    panel = window.docks["data"].widget()
    panel.refresh()
    assert panel.status.text().startswith("Market store unreadable: ")
    assert not panel.import_button.isEnabled() and not panel.demo_button.isEnabled()


def test_a_running_quality_check_is_waited_for_without_a_question(make_window, qtbot, tmp_path):
    window = make_window()
    window.show()
    panel = window.docks["data"].widget()
    panel.import_files(minute_files(tmp_path, 2))
    qtbot.waitUntil(lambda: not panel.busy and panel.model.rowCount() == 2, timeout=30_000)
    panel.result_dialog.close()
    panel.table.selectRow(0)  # starts a quality check job
    names = [job.name for job in window.ctx.jobs.running()]  # the chart may be reading too
    quality = f"Quality check of NSE:{panel.model.rows[0].symbol} 1m"
    assert quality in names or not any(name.startswith("Quality check") for name in names)
    window.close()
    assert not window.isVisible() and window.close_question is None
    assert window.ctx.jobs.running() == []
