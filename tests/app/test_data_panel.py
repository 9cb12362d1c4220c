"""The Data panel on a real store: listing, importing on a thread, errors, quality, demo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from app.gui.panels.data_panel import DataPanel

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"


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
    panel.table.selectRow(2)
    assert "Data quality: RELIANCE 1d on NSE" in panel.quality.toPlainText()


def test_a_bad_file_is_reported_and_nothing_is_stored(make_ctx, qtbot, tmp_path, caplog):
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
    qtbot.waitUntil(lambda: panel.findChild(QMessageBox, "importFailed") is not None, timeout=5_000)
    box = panel.findChild(QMessageBox, "importFailed")
    assert f"{bad}:3:" in box.text() and "Nothing from that file was stored" in box.text()
    assert panel.model.rowCount() == 5  # the good file went in, and the log says so
    assert any(f"{good}: 5 bars written" in r.getMessage() for r in caplog.records)
    assert panel.import_button.isEnabled()


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
    panel.table.selectRow(0)
    quality = panel.quality.toPlainText()
    assert "warning: NSE holiday list for 2027 not loaded" in quality
    assert "sessions           5 of 5 expected" in quality
