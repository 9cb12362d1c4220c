"""Outputs never destroy inputs: `--json`/`--out` refuse the store, its WAL, the command's own
input and files that are not an earlier output of the same kind; a report keeps its mode; temp
files of failed, interrupted or killed writes do not stay behind. Through the real console
script on real workspaces."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ARTHA = str(Path(sys.executable).with_name("artha"))


def artha(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run([ARTHA, *args], capture_output=True, text=True, env=env, timeout=timeout)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def minutes_csv(path: Path, days: int = 2) -> Path:
    rows = ["timestamp,open,high,low,close,volume"]
    for day in range(days):
        for i in range(375):
            hour, minute = divmod(9 * 60 + 15 + i, 60)
            price = 700 + (i % 41) * 0.05 + day
            rows.append(
                f"2026-06-0{day + 1}T{hour:02d}:{minute:02d}:00+05:30,{price:.2f},"
                f"{price + 0.4:.2f},{price - 0.25:.2f},{price + 0.1:.2f},{500 + i}"
            )
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def home(tmp_path) -> Path:
    """A workspace holding two days of one-minute bars of INP."""
    ws = tmp_path / "ws"
    done = artha("data", "import", str(minutes_csv(tmp_path / "INP.csv")), home=ws)
    assert done.returncode == 0, done.stderr
    return ws


def listing(home: Path) -> list[dict[str, object]]:
    out = artha("data", "list", "--json", "-", home=home)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# --- the store, its WAL and the command's inputs -------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("data", "list"), ("data", "quality", "INP"), ("calendar", "list"), ("--screenshot",)],
)
def test_json_onto_the_store_is_refused_and_the_store_survives(home, command):
    store = home / "artha.duckdb"
    before, rows = md5(store), listing(home)
    flag = () if command == ("--screenshot",) else ("--json",)
    out = artha(*command, *flag, str(store), home=home)
    assert out.returncode == 2
    assert f"{store} is also an input of this command" in out.stderr
    assert md5(store) == before
    assert listing(home) == rows


def test_json_onto_the_wal_or_a_store_in_another_folder_is_refused(home, tmp_path):
    wal = home / "artha.duckdb.wal"
    out = artha("data", "list", "--json", str(wal), home=home)
    assert out.returncode == 2 and "is also an input of this command" in out.stderr
    assert not wal.exists()
    other = tmp_path / "other"  # another workspace's store, under a name that hides it
    assert artha("data", "list", home=other).returncode == 0
    hidden = tmp_path / "notes.txt"
    os.replace(other / "artha.duckdb", hidden)
    before = md5(hidden)
    out = artha("data", "list", "--json", str(hidden), home=home)
    assert out.returncode == 2
    assert "is a DuckDB database (a market store), not an earlier JSON output" in out.stderr
    assert md5(hidden) == before


def test_backtest_json_onto_its_own_bar_file_is_refused(home, tmp_path):
    data = minutes_csv(tmp_path / "inp.csv")
    before = md5(data)
    run = ("backtest", "--strategy", "sma_crossover", "--data", str(data))
    out = artha(*run, "--json", str(data), home=home)
    assert out.returncode == 2, out.stdout
    assert f"argument --json: {data} is also an input of this command" in out.stderr
    assert md5(data) == before


def test_export_refuses_a_database_under_an_export_name(home, tmp_path):
    target = tmp_path / "bars.parquet"
    target.write_bytes((home / "artha.duckdb").read_bytes())
    out = artha("data", "export", "INP", "--out", str(target), home=home)
    assert out.returncode == 2
    assert "is a DuckDB database (a market store), not an earlier PARQUET output" in out.stderr


def test_an_earlier_output_of_the_same_kind_is_replaced(home, tmp_path):
    report = tmp_path / "list.json"
    assert artha("data", "list", "--json", str(report), home=home).returncode == 0
    report.write_text(report.read_text().replace("INP", "OLD"))
    assert artha("data", "list", "--json", str(report), home=home).returncode == 0
    assert json.loads(report.read_text())[0]["symbol"] == "INP"
    for name in ("bars.csv", "bars.parquet"):
        target = tmp_path / name
        for _ in range(2):
            out = artha("data", "export", "INP", "--out", str(target), home=home)
            assert out.returncode == 0, out.stderr
    assert (tmp_path / "bars.csv").read_text().count("\n") == 751


def test_export_into_a_folder_with_a_quote_in_its_name(home, tmp_path):
    folder = tmp_path / "O'Brien"
    folder.mkdir()
    out = artha("data", "export", "INP", "--out", str(folder / "x.parquet"), home=home)
    assert out.returncode == 0, out.stderr
    assert (folder / "x.parquet").read_bytes()[:4] == b"PAR1"
    assert [p.name for p in folder.iterdir()] == ["x.parquet"]


# --- file modes and temp files -------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_overwriting_a_report_keeps_its_mode(home, tmp_path, mode):
    report = tmp_path / "r.json"
    report.write_text("{}\n")
    report.chmod(mode)
    assert artha("data", "list", "--json", str(report), home=home).returncode == 0
    assert stat.S_IMODE(report.stat().st_mode) == mode
    assert json.loads(report.read_text())[0]["symbol"] == "INP"
    target = tmp_path / "x.csv"
    target.write_text("old\n")
    target.chmod(mode)
    assert artha("data", "export", "INP", "--out", str(target), home=home).returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_new_report_gets_the_mode_open_would_give(home, tmp_path):
    report = tmp_path / "new.json"
    assert artha("data", "list", "--json", str(report), home=home).returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(report.stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["INP.csv", "new.json", "ws"]


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from app.commands.output import replacing
with replacing(Path(sys.argv[1])) as temp:
    temp.write_text('{"half": ' + "0" * 5_000_000)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 and flock are POSIX")
def test_the_temp_file_of_a_killed_write_is_removed_by_the_next_write(home, tmp_path):
    report = tmp_path / "r.json"
    report.write_text('{"old": true}\n')
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(report)], timeout=60)
    assert killed.returncode == -signal.SIGKILL
    (left,) = tmp_path.glob(".r.json.*.tmp")
    assert left.stat().st_size > 5_000_000
    assert json.loads(report.read_text()) == {"old": True}  # the old report is intact
    assert artha("data", "list", "--json", str(report), home=home).returncode == 0
    assert list(tmp_path.glob(".r.json.*")) == []
    assert json.loads(report.read_text())[0]["symbol"] == "INP"


def test_a_temp_file_a_live_writer_holds_is_left_alone(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    from app.commands.output import remove_stale_temps

    target = tmp_path / "r.json"
    live = tmp_path / ".r.json.abcd1234.tmp"
    dead = tmp_path / ".r.json.wxyz5678.tmp"
    unrelated = tmp_path / ".other.json.abcd1234.tmp"
    for path in (live, dead, unrelated):
        path.write_text("partial")
    with live.open("r+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert remove_stale_temps(target) == [dead]
    assert live.exists() and unrelated.exists() and not dead.exists()


def test_a_failed_write_leaves_neither_a_temp_file_nor_a_changed_target(tmp_path):
    from app.commands.output import replacing

    target = tmp_path / "r.json"
    target.write_text('{"old": true}\n')
    with pytest.raises(KeyboardInterrupt), replacing(target) as temp:
        temp.write_text('{"new": ')
        raise KeyboardInterrupt  # Ctrl-C half-way through
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert json.loads(target.read_text()) == {"old": True}
