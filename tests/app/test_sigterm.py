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
