"""A real `artha` GUI process, offscreen: SIGTERM closes it as the window's close does
(exit code 0, layout saved, "closed by SIGTERM" in the log)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.gui.main_window import LAYOUT_VERSION
from app.gui.ui_settings import UiSettings
from engine.workspace import Workspace

ARTHA = Path(sys.executable).with_name("artha")


@pytest.mark.skipif(not ARTHA.exists(), reason="the artha entry point is not installed")
def test_sigterm_closes_the_gui_cleanly(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ARTHA_HOME": str(ws.root)}
    proc = subprocess.Popen(
        [str(ARTHA)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log_file = ws.logs_dir / "artha.log"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if log_file.exists() and " ready — workspace " in log_file.read_text():
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)  # the window has shown (the layout it saves exists)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    text = log_file.read_text()
    assert "SIGTERM received: closing" in text
    assert text.rstrip().endswith("Artha closed by SIGTERM")
    assert UiSettings(ws.settings_dir / "ui.ini").window_layout(LAYOUT_VERSION) is not None


# The real launch (run_gui, its SIGTERM handler, its store) in a child process; the only
# addition is a timer that starts a Data-panel import of `argv[1]` once the window shows.
_IMPORTING_GUI = """
import logging, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.gui.launch import run_gui
from app.gui.main_window import MainWindow

app = QApplication(sys.argv[:1])

def start():
    shown = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, MainWindow) and w.isVisible()]
    if not shown:
        QTimer.singleShot(100, start)
        return
    shown[0].docks["data"].widget().import_files([sys.argv[1]])
    logging.getLogger("test").info("test: import started")

QTimer.singleShot(100, start)
sys.exit(run_gui())
"""


def big_minute_csv(path: Path, bars: int) -> int:
    """`bars` one-minute bars in the documented layout, 375 on each regular NSE session from
    2003 on (none on a closed day, so nothing is held for a question); the bar count.
    Written by DuckDB: pandas takes over a minute to format two million aware times."""
    import datetime as dt

    import duckdb
    import numpy as np
    import pandas as pd

    from engine.calendar import get_calendar

    sessions = get_calendar("NSE").sessions(dt.date(2003, 1, 1), dt.date(2026, 11, 30))
    opens = [s.open for s in sessions if (s.close - s.open) == dt.timedelta(hours=6, minutes=15)]
    days = -(-bars // 375)
    assert len(opens) >= days, "not enough sessions for that many bars"
    ist = dt.timedelta(hours=5, minutes=30)  # IST wall clock, as naive microseconds
    first = np.array([int((o.astimezone(dt.UTC) + ist).timestamp() * 1e6) for o in opens[:days]])
    minutes = np.arange(375, dtype=np.int64) * 60_000_000
    wall = (first[:, None] + minutes[None, :]).ravel()[:bars]
    rng = np.random.default_rng(3)
    close = np.maximum(100_000 + np.cumsum(rng.integers(-40, 41, bars) * 5), 1_000)
    open_ = np.concatenate([[100_000], close[:-1]])
    frame = pd.DataFrame({"wall": wall, "o": open_, "h": np.maximum(open_, close) + 5,
                          "l": np.minimum(open_, close) - 5, "c": close,
                          "v": rng.integers(100, 5000, bars)})  # fmt: skip
    rupees = "(({0} // 100)::VARCHAR || '.' || lpad(({0} % 100)::VARCHAR, 2, '0'))"
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(
        "COPY (SELECT strftime(make_timestamp(wall), '%Y-%m-%d %H:%M:%S') || '+05:30' AS "
        f"timestamp, {rupees.format('o')} AS open, {rupees.format('h')} AS high, "
        f"{rupees.format('l')} AS low, {rupees.format('c')} AS close, v AS volume "
        f"FROM frame ORDER BY wall) TO '{path}' (HEADER, QUOTE '')"
    )
    con.close()
    return bars


@pytest.mark.skipif(not ARTHA.exists(), reason="the artha entry point is not installed")
def test_sigterm_during_a_data_panel_import_closes_cleanly_with_the_file_whole_or_absent(
    tmp_path,
):
    import duckdb

    bars = big_minute_csv(tmp_path / "BIGSYM.csv", 2_000_000)
    ws = Workspace(tmp_path / "ws").ensure()
    settings = UiSettings(ws.settings_dir / "ui.ini")
    settings.demo_offered = True  # no welcome question in the way
    settings.sync()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ARTHA_HOME": str(ws.root)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _IMPORTING_GUI, str(tmp_path / "BIGSYM.csv")],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log_file = ws.logs_dir / "artha.log"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if log_file.exists() and "test: import started" in log_file.read_text():
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        time.sleep(1.0)  # into the import: parsing, hashing or inside DuckDB
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Fatal" not in err, err
    text = log_file.read_text()
    # the import was still running when the signal came, and the close waited for it
    assert "SIGTERM received: closing" in text
    assert "closing: cancelling Importing 1 file(s)" in text, text
    assert text.rstrip().endswith("Artha closed by SIGTERM")
    con = duckdb.connect(str(ws.database_path), read_only=True)
    try:
        stored = con.execute("SELECT count(*) FROM bars").fetchall()[0][0]
        logged = con.execute("SELECT count(*), coalesce(sum(rows), 0) FROM import_log").fetchall()
    finally:
        con.close()
    assert (stored, *logged[0]) in ((0, 0, 0), (bars, 1, bars)), (stored, logged)
