"""The real `artha` console script, run as a user would (headless)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from app.version import __version__
from engine.workspace import Workspace

ARTHA = str(Path(sys.executable).with_name("artha"))


def run(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([ARTHA, *args], capture_output=True, text=True, env=env, timeout=timeout)


def distinct_colours(image: QImage, step: int = 7) -> int:
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


def test_version(tmp_path):
    out = run("--version", home=tmp_path)
    assert out.returncode == 0
    assert out.stdout.strip() == f"artha {__version__}"


def test_screenshot_renders_the_main_window(tmp_path):
    target = tmp_path / "shot.png"
    out = run("--screenshot", str(target), "--size", "1280x800", home=tmp_path / "ws")
    assert out.returncode == 0, out.stderr
    assert "saved 1280x800 screenshot" in out.stdout
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1280, 800)
    assert distinct_colours(image) > 20  # text, docks and status bar, not a blank canvas


def test_bad_size_is_refused_with_a_clear_message(tmp_path):
    out = run("--screenshot", str(tmp_path / "x.png"), "--size", "huge", home=tmp_path)
    assert out.returncode == 2
    assert "size must look like 1600x1000" in out.stderr


def test_screenshot_into_a_missing_folder_fails_cleanly(tmp_path):
    out = run("--screenshot", str(tmp_path / "nope" / "x.png"), home=tmp_path / "ws")
    assert out.returncode == 2
    assert "does not exist" in out.stderr


def test_second_start_on_the_same_workspace_says_so(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    with ws.lock():
        out = run(home=ws.root, timeout=60)
    assert out.returncode == 1
    assert "already running" in out.stderr
    assert f"process {os.getpid()}" in out.stderr
