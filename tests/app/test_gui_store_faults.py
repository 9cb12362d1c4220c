"""The GUI at start-up with a damaged store (one clear line in the Log panel and the file log,
the Data panel's short status with the whole message behind Details) and a start-up that
fails outright (the reason and its traceback in the file log, one line on stderr)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from app.logging_setup import configure_logging
from tests.engine.store_damage import build_store, corrupt, find_bar_block_offset

ARTHA = Path(sys.executable).with_name("artha")


@pytest.fixture(scope="module")
def damaged_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose bars hit a checksum error when read; it opens fine."""
    built = tmp_path_factory.mktemp("built") / "artha.duckdb"
    build_store(built)
    offset = find_bar_block_offset(built, tmp_path_factory.mktemp("trial") / "artha.duckdb")
    corrupt(built, offset)
    return built


def test_a_damaged_store_at_start_is_one_line_in_the_log_panel_and_the_file(
    workspace, damaged_copy, make_window, qtbot
):
    from app.gui.panels.log_panel import LogPanel

    shutil.copyfile(damaged_copy, workspace.database_path)
    configure_logging(workspace)  # as run_gui does, before the window is built
    window = make_window()  # the Data panel finds the damage before the Log panel exists
    window.show()
    assert not window.should_offer_demo()
    panel = window.docks["data"].widget()
    view = window.findChild(LogPanel).view
    qtbot.waitUntil(lambda: "is damaged" in view.toPlainText())
    shown = [line for line in view.toPlainText().splitlines() if "is damaged" in line]
    assert len(shown) == 1, view.toPlainText()
    assert "ERROR" in shown[0] and "artha data restore BACKUP" in shown[0]
    logged = (workspace.logs_dir / "artha.log").read_text()
    assert logged.count("is damaged") == 1, logged

    assert panel.status.text().startswith("Market store unreadable: the market store ")
    assert len(panel.status.text()) <= 90  # the rest is behind Details and in the tooltip
    assert panel.status.toolTip().endswith("or move artha.duckdb aside and re-import")
    assert panel.details_button.isVisibleTo(panel)
    assert not panel.import_button.isEnabled() and not panel.demo_button.isEnabled()
    box = panel.show_problem()
    assert box is not None and box.isVisible()
    assert box.text() == "Market store unreadable"
    assert box.informativeText() == panel.status.toolTip().removeprefix("Market store unreadable: ")
    # the panel never widens the window: its status asks for no width of its own
    assert panel.status.minimumSizeHint().width() == 0
    box.close()


def test_a_healthy_store_shows_no_details_button(make_window):
    window = make_window()
    panel = window.docks["data"].widget()
    assert not panel.details_button.isVisibleTo(panel) and panel.show_problem() is None


def _calendar_this_artha_cannot_read(database: Path) -> None:
    """A workspace whose calendar table holds a segment this Artha does not know (written by
    another tool: the table's own CHECK would refuse it): opening the store fails with an
    error that is not a StoreError, the one fatal way left to start."""
    con = duckdb.connect(str(database))
    try:
        con.execute("DROP TABLE calendar_lists")
        con.execute(
            "CREATE TABLE calendar_lists (exchange VARCHAR, segment VARCHAR, year INTEGER, "
            "source VARCHAR, origin VARCHAR, loaded_at TIMESTAMP)"
        )
        con.execute(
            "INSERT INTO calendar_lists VALUES ('NSE', 'commodity', 2027, 'imported', 'x', "
            "TIMESTAMP '2026-12-01 00:00:00')"
        )
    finally:
        con.close()


@pytest.mark.skipif(not ARTHA.exists(), reason="the artha entry point is not installed")
def test_a_fatal_start_up_error_is_logged_with_its_traceback_before_exit(tmp_path):
    home = tmp_path / "ws"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ARTHA_HOME": str(home)}
    made = subprocess.run(
        [str(ARTHA), "data", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    _calendar_this_artha_cannot_read(home / "artha.duckdb")
    out = subprocess.run([str(ARTHA)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    log_file = home / "logs" / "artha.log"
    assert out.stderr.strip().splitlines() == [
        f"artha: 'commodity' is not a valid CalendarSegment (details in {log_file})"
    ]
    logged = log_file.read_text()
    assert " CRITICAL app.gui.launch " in logged
    assert "Artha could not start or stopped on an error: 'commodity' is not a valid" in logged
    assert "Traceback (most recent call last)" in logged
    assert "ready — workspace" not in logged
