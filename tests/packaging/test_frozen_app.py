"""The PyInstaller bundle starts: --version and an offscreen --screenshot (CI runs this)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from app.version import __version__

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("ARTHA_TEST_FROZEN") != "1",
        reason="builds the frozen app (~1-2 min); set ARTHA_TEST_FROZEN=1 (CI does)",
    ),
]


@pytest.mark.timeout(900)
def test_frozen_app_runs_version_and_screenshot(tmp_path):
    pyinstaller = Path(sys.executable).with_name("pyinstaller")
    build = subprocess.run(
        [
            str(pyinstaller),
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(tmp_path / "dist"),
            "--workpath",
            str(tmp_path / "build"),
            str(ROOT / "packaging" / "artha.spec"),
        ],
        capture_output=True,
        text=True,
        timeout=840,
        cwd=ROOT,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    binary = tmp_path / "dist" / "artha" / ("artha.exe" if os.name == "nt" else "artha")
    env = {**os.environ, "ARTHA_HOME": str(tmp_path / "ws"), "QT_QPA_PLATFORM": "offscreen"}

    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert version.stdout.strip() == f"artha {__version__}", version.stderr

    shot = tmp_path / "frozen.png"
    run = subprocess.run(
        [str(binary), "--screenshot", str(shot), "--size", "1200x800"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1200, 800)
