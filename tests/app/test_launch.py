"""run_gui() in this process on the real qasync loop: lock held while open, layout saved on exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from app.gui.after_paint import after_first_paint
from app.gui.launch import run_gui
from app.gui.main_window import LAYOUT_VERSION, MainWindow
from app.gui.ui_settings import UiSettings
from engine.workspace import WorkspaceBusyError


def test_run_gui_owns_the_workspace_until_the_window_closes(qapp, workspace):
    seen: dict[str, object] = {}

    def while_running() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        seen["windows"] = len(windows)
        seen["visible"] = all(w.isVisible() for w in windows)
        try:
            workspace.lock()
            seen["busy"] = False
        except WorkspaceBusyError:
            seen["busy"] = True
        for window in windows:
            window.close()

    QTimer.singleShot(1500, while_running)
    assert run_gui(workspace.root) == 0
    assert seen == {"windows": 1, "visible": True, "busy": True}
    assert UiSettings(workspace.settings_dir / "ui.ini").window_layout(LAYOUT_VERSION) is not None
    assert (workspace.logs_dir / "artha.log").read_text().count("starting on workspace") == 1
    workspace.lock().release()  # released on exit
    # the window is gone with its timers: nothing may read the closed store later
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]


# `artha --workspace WS` in a fresh interpreter; at the main window's first paint, the
# modules loaded so far are noted and the window is closed.
_FIRST_PAINT_PROBE = r"""
import json, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

app = QApplication(sys.argv[:1])
seen = {}

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if (
            not seen
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window().objectName() == "arthaMainWindow"
        ):
            seen["modules"] = sorted(sys.modules)
            check = getattr(sys.modules.get("shibokensupport.feature"), "_mod_uses_pyside", None)
            seen["pyside_check"] = getattr(check, "__module__", None)
            window = watched.window()
            QTimer.singleShot(0, lambda: window.close_by_signal("test"))
        return False

probe = FirstPaint()
app.installEventFilter(probe)
from app.cli import main

code = main(["--workspace", sys.argv[1]])
print(json.dumps({"code": code, "modules": seen.get("modules", []),
                  "pyside_check": seen.get("pyside_check")}))
"""


def _store_two_sessions(workspace) -> None:
    """Two sessions of one-minute bars of two symbols: the chart, the watchlist (prices) and
    the Data panel (coverage) then all have something to read at the start."""
    import numpy as np

    from engine.data.bar_series import BarSeries
    from engine.data.store import MarketStore

    minute = 60 * 10**9
    opens = [np.datetime64("2026-11-19T03:45", "ns"), np.datetime64("2026-11-20T03:45", "ns")]
    ts = np.concatenate([o.astype(np.int64) + np.arange(375) * minute for o in opens])
    close = 10_000 + (np.arange(len(ts)) % 50)
    with MarketStore.open(workspace.database_path) as store:
        for symbol in ("SYNAAA", "SYNBBB"):
            store.write_bars(
                BarSeries.from_arrays(symbol, ts, close, close + 5, close - 5, close,
                                      np.full(len(ts), 100), "1m", prices_in_paise=True)
            )  # fmt: skip


def test_the_first_paint_waits_for_no_command_run_history_dialog_or_jedi(workspace):
    """What the first picture does not need loads after it: the commands (their parsers are
    not asked for), the run history (read once the window has painted: SQLAlchemy's models),
    the dialogs (when opened), jedi (a worker process of its own, started later); and, with
    bars in the store, pandas (frames are built by imports, reports and the adjuster, none
    of them on the first screen), SQLAlchemy (the watchlist's prices and the Data panel's
    coverage are read through DuckDB alone), the backtester (results, wizard, editor
    checks), the SDK (completion, the chart's indicators), pyqtgraph (the chart's view is
    built once the window has painted), the keychain (broker accounts connect then) and
    DuckDB and numpy (the market store opens right after the first paint, the chart's
    arrays with it; the results page is built later); importlib.metadata (the calendar
    reads its package's version from a folder name)."""
    _store_two_sessions(workspace)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_PAINT_PROBE, str(workspace.root)],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    modules = set(result["modules"])
    assert "app.gui.main_window" in modules  # the probe did see the first paint
    not_yet = {
        "app.commands.backtest",
        "app.commands.runs",
        "app.commands.demo",
        "engine.data.run_history",
        "engine.data.app_state",
        "app.gui.history_compare",
        "app.gui.settings_dialog",
        "app.gui.charges_dialog",
        "app.gui.calendar_dialog",
        "jedi",
        "parso",
        "pandas",
        "sqlalchemy",
        "duckdb_engine",
        "engine.backtest",
        "strategies.sdk",
        "app.reports",
        "pyqtgraph",
        "keyring",
        "brokers.hub",
        "duckdb",
        "engine.data.store",
        "importlib.metadata",
        "numpy",
        "engine.strategy.base",
    }
    assert not_yet.isdisjoint(modules), sorted(not_yet & modules)
    # PySide6's import hook answered without reading each module's source file
    assert result["pyside_check"] == "app.gui.feature_check"


def test_the_pyside_check_answers_as_the_source_search_does_for_our_modules():
    """app.gui.feature_check answers from a module's namespace what PySide6's hook asked of
    its source ("PySide6" in it): the same for every module of ours loaded by the station
    (app.gui and feature_check name PySide6 in their docstrings, import it in a function)."""
    import inspect

    import app.gui.launch  # noqa: F401 - loads the station's modules
    from app.gui.feature_check import uses_pyside

    ours = [
        module
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in {"app", "engine", "brokers", "resources"}
        and getattr(module, "__file__", None)
        and name not in {"app.gui", "app.gui.feature_check"}  # name it in words only
    ]
    assert len(ours) > 100

    def source_says(module: object) -> bool:
        try:
            return "PySide6" in inspect.getsource(module)  # type: ignore[arg-type]
        except OSError:  # an empty file (a package's bare __init__.py)
            return False

    differ = [m.__name__ for m in ours if uses_pyside(m) != source_says(m)]
    assert differ == []


def test_work_after_the_first_paint_waits_for_it_and_later_runs_at_once(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    child = QLabel("a panel", window)
    calls: list[str] = []
    after_first_paint(child, lambda: calls.append("first"))
    qtbot.wait(100)
    assert calls == []  # never shown, never painted
    window.show()
    qtbot.waitUntil(lambda: calls == ["first"])
    after_first_paint(child, lambda: calls.append("later"))
    assert calls == ["first"]  # through the loop, not inside the call
    qtbot.waitUntil(lambda: calls == ["first", "later"])


def test_the_store_opens_after_the_first_paint_and_the_panels_then_read_it(qapp, workspace):
    """The first picture does not wait for DuckDB: the window paints with the store still
    opening (the panels say so), then the store opens, the Data panel lists what it holds,
    the chart opens its first instrument, and the log says ready."""
    from PySide6.QtCore import QEvent, QObject

    from app.gui.context import STORE_OPENING

    _store_two_sessions(workspace)
    seen: dict[str, object] = {}

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                "problem" not in seen
                and event.type() == QEvent.Type.Paint
                and isinstance(watched, QWidget)
                and watched.window().objectName() == "arthaMainWindow"
            ):
                window = watched.window()
                seen["store"] = window.ctx.store
                seen["problem"] = window.ctx.store_problem
                seen["chart_says"] = window.docks["chart"].widget().info.text()
                QTimer.singleShot(50, lambda: wait_for_the_store(window))
            return False

    def wait_for_the_store(window: MainWindow) -> None:
        data = window.docks["data"].widget()
        chart = window.docks["chart"].widget()
        if window.ctx.store is None or len(data.model.rows) < 2 or chart.bars is None:
            QTimer.singleShot(50, lambda: wait_for_the_store(window))
            return
        seen["listed"] = sorted(row.symbol for row in data.model.rows)
        seen["charted"] = chart.bars.key
        window.close()

    probe = FirstPaint()
    qapp.installEventFilter(probe)
    try:
        assert run_gui(workspace.root) == 0
    finally:
        qapp.removeEventFilter(probe)
    assert seen["store"] is None and seen["problem"] == STORE_OPENING
    assert seen["chart_says"] in ("", "Loading…") or "opening the market store" in str(
        seen["chart_says"]
    )
    assert seen["listed"] == ["SYNAAA", "SYNBBB"]
    assert seen["charted"] == "NSE:SYNAAA"
    assert "ready — workspace" in (workspace.logs_dir / "artha.log").read_text()
