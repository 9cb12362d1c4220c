"""The Data panel on a real store: listing, importing on a thread, errors, quality, demo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QMessageBox

from app.gui.panels.data_panel import DataPanel

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"


def select(qtbot, panel: DataPanel, row: int) -> str:
    """Select `row` and wait for its quality report (a job off the GUI thread)."""
    with qtbot.waitSignal(panel._done.quality_shown, timeout=10_000):
        panel.table.selectRow(row)
    return panel.quality.toPlainText()


def reported(panel: DataPanel, *texts: str):
    return lambda: all(t in panel.quality.toPlainText() for t in texts)


def test_import_lists_the_series_and_shows_quality(make_ctx, qtbot):
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    assert panel.model.rowCount() == 0
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(FIXTURES / "cm03JUN2024bhav.csv")])
    qtbot.waitUntil(lambda: not panel.busy, timeout=5_000)
    symbols = [panel.model.data(panel.model.index(r, 1)) for r in range(panel.model.rowCount())]
    assert symbols == ["HDFCBANK", "INFY", "RELIANCE", "SBIN", "TCS"]
    assert panel.status.text() == "5 series, 5 bars"
    assert "Data quality: RELIANCE 1d on NSE" in select(qtbot, panel, 2)


def test_a_bad_file_does_not_hide_the_file_that_was_stored(make_ctx, qtbot, tmp_path, caplog):
    """D9: the old "Import failed ... Nothing from that file was stored" box is gone; the
    result says which file went in and which did not."""
    bad = tmp_path / "bad.csv"
    text = (FIXTURES / "cm03JUN2024bhav.csv").read_text().splitlines()
    text[2] = text[2].replace(text[2].split(",")[2], "abc", 1)
    bad.write_text("\n".join(text) + "\n")
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    good = FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv"
    caplog.set_level("INFO")
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(bad), str(good)])
    qtbot.waitUntil(lambda: panel.result_dialog is not None, timeout=5_000)
    result = panel.result_dialog.text()
    assert result.startswith("2 files: 1 stored, 1 refused\n")
    assert f"REFUSED    {bad}:3: " in result and f"STORED     {good}: " in result
    assert panel.result_dialog.what.text() == f"Stored: {good.name}. Nothing stored from bad.csv."
    assert panel.findChild(QMessageBox) is None
    assert panel.model.rowCount() == 5  # the good file went in, and the log says so
    assert any(
        r.getMessage().startswith(f"{good}: nse_cm_udiff, 5 bars written") for r in caplog.records
    )
    assert any(
        r.levelname == "ERROR" and r.getMessage().startswith(f"{bad}:3: ") for r in caplog.records
    )
    assert panel.import_button.isEnabled()


def test_the_quality_report_is_in_a_fixed_pitch_font(make_ctx, qtbot):
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    assert QFontInfo(panel.quality.font()).fixedPitch()
    assert not QFontInfo(panel.table.font()).fixedPitch()  # the rest stays proportional
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(FIXTURES / "cm03JUN2024bhav.csv")])
    lines = select(qtbot, panel, 0).splitlines()
    # the report's values start in one column, so in a fixed font they line up on screen
    metrics = panel.quality.fontMetrics()
    starts = {metrics.horizontalAdvance(line[: line.index(line.split()[1])]) for line in lines[1:3]}
    assert len(starts) == 1


def test_after_an_import_the_quality_pane_shows_the_selected_series_as_it_now_is(make_ctx, qtbot):
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(FIXTURES / "cm03JUN2024bhav.csv")])
    assert "Data quality: RELIANCE 1d on NSE" in select(qtbot, panel, 2)
    assert "bars               1 from 2024-06-03" in panel.quality.toPlainText()
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):  # a year on: NIFTYBEES too
        panel.import_files([str(FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv")])
    symbols = [panel.model.data(panel.model.index(r, 1)) for r in range(panel.model.rowCount())]
    assert symbols.index("RELIANCE") == 3  # it moved down a row
    assert panel.table.selectionModel().isRowSelected(3)  # and is still the one selected
    assert panel.table.currentIndex().row() == 3
    qtbot.waitUntil(  # made afresh
        reported(panel, "Data quality: RELIANCE 1d on NSE", "bars               2 from 2024-06-03")
    )
    panel.table.clearSelection()
    panel.table.setCurrentIndex(panel.model.index(-1, -1))
    panel.refresh()
    assert panel.quality.toPlainText() == ""  # nothing selected: no stale report


def test_without_a_store_the_panel_says_why_and_writes_nothing(make_ctx, qtbot):
    import dataclasses

    problem = "/x/artha.duckdb has schema version 9, but this Artha knows only up to 3: " * 2
    panel = DataPanel(dataclasses.replace(make_ctx(), store=None, store_problem=problem))
    qtbot.addWidget(panel)
    assert panel.status.text().startswith("Market store unavailable: /x/artha.duckdb has")
    assert len(panel.status.text()) <= 90 and panel.status.toolTip().endswith(problem)
    assert not panel.import_button.isEnabled() and not panel.demo_button.isEnabled()


def test_demo_button_creates_synthetic_data(make_ctx, qtbot):
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel._done.finished, timeout=120_000):
        panel.create_demo()
    assert panel.model.rowCount() == 50
    assert "includes SYNTHETIC demo data" in panel.status.text()


def test_the_home_panel_hears_about_new_data_at_once(make_ctx, qtbot):
    from app.gui.panels.home import HomePanel

    ctx = make_ctx()
    home, panel = HomePanel(ctx), DataPanel(ctx)
    qtbot.addWidget(home)
    qtbot.addWidget(panel)
    assert "empty" in home.workspace_label.text()
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(FIXTURES / "cm03JUN2024bhav.csv")])
    qtbot.waitUntil(lambda: "5 series, 5 bars" in home.workspace_label.text(), timeout=5_000)


def test_a_2027_import_without_its_holiday_list_warns_in_the_panel(
    make_ctx, qtbot, tmp_path, caplog
):
    from datetime import date

    from tests.app.test_calendar_cli import minute_csv

    bars = tmp_path / "Y2027.csv"
    minute_csv(bars, date(2027, 1, 4), date(2027, 1, 8))  # a week of 375-minute days
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    panel.import_files([str(bars)])
    qtbot.waitUntil(lambda: not panel.busy, timeout=20_000)
    assert panel.model.rowCount() == 1
    assert panel.status.text().startswith("⚠ NSE holiday list for 2027 not loaded")
    assert "artha calendar import" in panel.status.toolTip()
    assert caplog.text.count("holiday list for 2027 not loaded") == 1
    quality = select(qtbot, panel, 0)
    assert "warning: NSE holiday list for 2027 not loaded" in quality
    assert "sessions           5 of 5 expected" in quality


def test_a_long_warning_does_not_widen_the_panel(make_ctx, qtbot):
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    narrow = panel.minimumSizeHint().width()
    warning = "NSE holiday list for 2027 not loaded: sessions on those dates are provisional " * 3
    panel.show_warning(warning)
    assert panel.minimumSizeHint().width() == narrow  # cut with "…" on screen instead
    assert panel.status.toolTip() == warning and panel.status.text().startswith("⚠ NSE holiday")


def minute_files(folder: Path, count: int) -> list[str]:
    """`count` CSVs of one session's 375 one-minute bars, one symbol each (the file's name)."""
    from datetime import date

    from tests.app.test_calendar_cli import minute_csv

    paths = []
    for n in range(count):
        path = folder / f"SYM{n:02d}.csv"
        minute_csv(path, date(2024, 6, 3), date(2024, 6, 3))
        paths.append(str(path))
    return paths


def test_a_cancelled_import_keeps_the_files_read_before_it_and_says_which_not(
    make_ctx, qtbot, tmp_path, caplog
):
    from engine.data.import_files import CANCELLED, FileStatus
    from engine.events import JobProgress

    paths = minute_files(tmp_path, 40)
    ctx = make_ctx()
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    shown: list[str] = []

    def cancel_once_some_are_read(event: JobProgress) -> None:
        shown.append(panel.status.text())
        if event.done >= 1 and panel.cancel_button.isEnabled():
            assert panel.cancel_job()

    ctx.bus.subscribe(JobProgress, cancel_once_some_are_read)
    caplog.set_level("INFO")
    panel.import_files(paths)
    assert panel.busy and not panel.cancel_button.isHidden()
    assert not panel.import_button.isEnabled()
    qtbot.waitUntil(lambda: panel.result_dialog is not None, timeout=60_000)
    assert shown[0].startswith("Importing ") and shown[0].endswith(" of 40 files…")
    dialog = panel.result_dialog
    outcome = dialog.outcome
    assert outcome.cancelled
    stored = [f for f in outcome.files if f.status is FileStatus.STORED]
    not_tried = [f for f in outcome.files if f.status is FileStatus.NOT_TRIED]
    assert stored and not_tried and len(stored) + len(not_tried) == 40
    assert all(f.problem.endswith(CANCELLED) for f in not_tried)
    # the store agrees with the dialog: whole files in, the others absent
    series = {s.symbol: s.bars for s in ctx.store.list_series()}
    assert series == {Path(f.path).stem: 375 for f in stored}
    text = dialog.text()
    assert text.startswith(f"40 files: {len(stored)} stored, {len(not_tried)} not tried\n")
    assert f"{not_tried[0].path}: {CANCELLED}" in text
    assert "Nothing stored from" in dialog.what.text()
    assert panel.cancel_button.isHidden() and panel.import_button.isEnabled()
    (untried,) = [r.getMessage() for r in caplog.records if "not tried, nothing" in r.getMessage()]
    assert all(str(f.path) in untried for f in not_tried)  # one log line names them all


def test_the_quality_verdict_is_above_the_report_and_can_be_copied(make_ctx, qtbot, tmp_path):
    from datetime import date

    from PySide6.QtGui import QGuiApplication

    from tests.app.test_calendar_cli import minute_csv

    week = tmp_path / "WEEK.csv"
    minute_csv(week, date(2024, 6, 3), date(2024, 6, 7))
    gap = tmp_path / "GAP.csv"  # Wednesday left out
    lines = week.read_text().splitlines()
    gap.write_text("\n".join(line for line in lines if "2024-06-05" not in line) + "\n")
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    assert panel.quality_title.text() == "Data quality" and not panel.copy_quality.isEnabled()
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(gap), str(week)])
    report = select(qtbot, panel, 0)  # GAP
    assert panel.quality_title.text() == "Data quality of NSE:GAP 1m: problems found"
    assert "#d99a1e" in panel.quality_title.styleSheet()
    assert "missing sessions   2024-06-05" in report
    select(qtbot, panel, 1)  # WEEK
    assert panel.quality_title.text() == "Data quality of NSE:WEEK 1m: OK"
    assert panel.copy_quality.isEnabled()
    panel.copy_quality.click()
    assert QGuiApplication.clipboard().text() == panel.quality.toPlainText()
    assert QGuiApplication.clipboard().text().startswith("Data quality: WEEK 1m on NSE - OK")
