from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.workspace import ENV_HOME, Workspace, WorkspaceBusyError


def test_artha_home_overrides_the_platform_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "mine"))
    assert Workspace.resolve().root == (tmp_path / "mine").resolve()
    assert Workspace.resolve(tmp_path / "explicit").root == (tmp_path / "explicit").resolve()


def test_default_is_a_per_user_data_folder(monkeypatch):
    monkeypatch.delenv(ENV_HOME, raising=False)
    root = Workspace.resolve().root
    assert root.is_absolute() and "artha" in str(root).lower()


def test_ensure_creates_the_layout(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    for folder in (ws.strategies_dir, ws.settings_dir, ws.logs_dir):
        assert folder.is_dir()
    assert ws.database_path == ws.root / "artha.duckdb"


def test_ensure_names_the_folder_it_cannot_create(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match=str(blocker / "ws")):
        Workspace(blocker / "ws").ensure()


def test_only_one_owner_at_a_time_and_the_lock_is_released(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    with ws.lock():
        with pytest.raises(WorkspaceBusyError) as busy:
            ws.lock()
        assert busy.value.owner_pid == os.getpid()
        assert "already running" in str(busy.value) and str(ws.root) in str(busy.value)
    ws.lock().release()  # free again


def test_lock_held_by_another_process_and_dropped_when_it_dies(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from engine.workspace import Workspace; "
            f"held = Workspace(__import__('pathlib').Path({str(ws.root)!r})).lock(); "
            "print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WorkspaceBusyError) as busy:
            ws.lock()
        assert busy.value.owner_pid == holder.pid
    finally:
        holder.kill()
        holder.wait()
    ws.lock().release()  # the OS dropped the dead process's lock: no stale lock file problem
