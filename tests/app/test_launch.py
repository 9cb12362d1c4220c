"""run_gui() in this process on the real qasync loop: lock held while open, layout saved on exit."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

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
