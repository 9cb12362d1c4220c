"""Every file of a multi-file import gets its own result, and nothing one file does stops the
others; the import log names exactly the content that was read."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.calendar import get_calendar
from engine.data.bar_series import BarDataError
from engine.data.import_files import FileStatus, ImportOptions, import_files
from engine.data.importers import read_file
from engine.data.importers.file_identity import FileIdentity
from engine.data.store import MarketStore

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
NSE_CM = FIXTURES / "cm03JUN2024bhav.csv"
NSE_FO = FIXTURES / "BhavCopy_NSE_FO_0_0_0_20250603_F_0000.csv"
BSE_CM = FIXTURES / "BhavCopy_BSE_CM_0_0_0_20250603_F_0000.CSV"


def minute_csv(path: Path, days: int, start: dt.date = dt.date(2025, 6, 2)) -> Path:
    sessions = get_calendar("NSE").sessions(start, start + dt.timedelta(days=days * 2))[:days]
    lines = ["timestamp,open,high,low,close,volume"]
    for session in sessions:
        for m in range(375):
            when = (session.open + dt.timedelta(minutes=m)).isoformat()
            price = 500 + (m % 7) * 0.05
            lines.append(f"{when},{price:.2f},{price + 0.5:.2f},{price - 0.5:.2f},{price:.2f},{m}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_file_the_store_refuses_does_not_stop_the_others(tmp_path):
    # a negative strike passes the parser and is refused by the store's own CHECK (D9)
    negative = tmp_path / "fo_neg.csv"
    lines = NSE_FO.read_text().splitlines()
    lines[2] = lines[2].replace("25000.00,CE", "-25000.00,CE")
    negative.write_text("\n".join(lines) + "\n")
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        outcome = import_files(store, [NSE_CM, negative, BSE_CM])
        statuses = [f.status for f in outcome.files]
        assert statuses == [FileStatus.STORED, FileStatus.REFUSED, FileStatus.STORED]
        refused = outcome.files[1]
        assert refused.problem.startswith(f"{negative}")
        assert "strike" in refused.problem
        assert {s.exchange for s in store.list_series()} == {"NSE", "BSE"}
    assert outcome.errors == [refused.problem]


def test_every_file_is_answered_in_the_order_given(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(minute_csv(tmp_path / "tmp.csv", 1).read_text().replace(",500.30,", ",abc,", 1))
    good = minute_csv(tmp_path / "GOOD.csv", 2)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    seen = []
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        import_files(store, [NSE_CM])
        outcome = import_files(
            store, [bad, good, folder, NSE_CM, tmp_path / "gone.csv"], on_result=seen.append
        )
    assert [f.path for f in outcome.files] == [
        str(p) for p in (bad, good, folder, NSE_CM, tmp_path / "gone.csv")
    ]
    assert [f.status for f in outcome.files] == [
        FileStatus.REFUSED, FileStatus.STORED, FileStatus.REFUSED, FileStatus.ALREADY,
        FileStatus.REFUSED,
    ]  # fmt: skip
    assert outcome.files[0].problem.startswith(f"{bad}:")
    assert "is not a number" in outcome.files[0].problem
    assert outcome.files[2].problem == f"{folder}: is not a file"
    assert outcome.files[4].problem == f"{tmp_path / 'gone.csv'}: file not found"
    assert sorted(f.path for f in seen) == sorted(f.path for f in outcome.files)
    good_report = outcome.files[1].report
    assert good_report is not None and good_report.bars_written == 750


def test_a_file_that_cannot_be_read_is_named():
    with pytest.raises(BarDataError) as err:
        read_file("/proc/self/mem")
    assert str(err.value).startswith("/proc/self/mem: cannot be read")


def test_a_file_changed_after_it_was_hashed_is_refused(tmp_path):
    path = minute_csv(tmp_path / "GROW.csv", 2)
    identity = FileIdentity.take(path)
    with path.open("a") as handle:
        handle.write("2025-06-04T09:15:00+05:30,500.00,500.50,499.50,500.00,7\n")
    with pytest.raises(BarDataError, match="changed while it was being read"):
        identity.confirm_unchanged()


def test_a_file_growing_during_an_import_is_not_logged_as_imported(tmp_path):
    """D2: half a growing file was stored and logged under the whole file's hash, so the
    complete file was later skipped as "already imported"."""
    path = minute_csv(tmp_path / "GROW.csv", 120)  # 45,000 bars
    extra = minute_csv(tmp_path / "later.csv", 5, dt.date(2025, 12, 1)).read_text()
    rows = extra.splitlines()[1:]
    stop = threading.Event()

    def append() -> None:  # a downloader still writing: a few rows every millisecond
        with path.open("a") as handle:
            for i in range(0, len(rows), 5):
                if stop.is_set():
                    return
                handle.write("\n".join(rows[i : i + 5]) + "\n")
                handle.flush()
                time.sleep(0.001)

    writer = threading.Thread(target=append)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        writer.start()
        try:
            (first,) = import_files(store, [path]).files
        finally:
            stop.set()
            writer.join()
        assert first.status is FileStatus.REFUSED, first
        assert "changed while it was being read" in first.problem
        assert store.list_series() == []
        (second,) = import_files(store, [path]).files
        assert second.status is FileStatus.STORED
        stored = store.list_series()[0].bars
    assert stored == len(path.read_text().splitlines()) - 1


def test_groups_of_files_go_one_by_one_when_two_hold_the_same_bar(tmp_path):
    first = minute_csv(tmp_path / "X.csv", 2)
    (tmp_path / "again").mkdir()
    second = minute_csv(tmp_path / "again" / "X.csv", 3)  # the same 2 days, and a third
    third = minute_csv(tmp_path / "Y.csv", 1)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        outcome = import_files(store, [first, second, third], ImportOptions())
        reports = [f.report for f in outcome.files]
    assert all(f.status is FileStatus.STORED for f in outcome.files)
    assert [(r.bars_written, r.bars_unchanged) for r in reports if r is not None] == [
        (750, 0),
        (375, 750),
        (375, 0),
    ]


@pytest.mark.parametrize("field", ["X" * 5_000_000, "9" * 5_000_000])
def test_a_huge_bad_field_is_quoted_short(tmp_path, field):
    """D13a: a 50 MB field was echoed whole into the error (and the GUI's message box)."""
    path = minute_csv(tmp_path / "HUGE.csv", 1)
    lines = path.read_text().splitlines()
    lines[100] = lines[100].replace(",500.", f",{field}.", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BarDataError) as err:
        read_file(path)
    assert len(str(err.value)) < 300 + len(str(path))
    assert str(err.value).startswith(f"{path}:101: open ")
    if field.startswith("X"):  # a word: quoted, cut; digits: read as a float (inf)
        assert "(5,000,00" in str(err.value)


@pytest.mark.parametrize("count", [3, 25], ids=["in-process", "worker processes"])
def test_a_cancel_stops_at_a_file_boundary_and_says_what_was_not_stored(tmp_path, count):
    paths = [minute_csv(tmp_path / f"S{k:02d}.csv", 1) for k in range(count)]
    asked: list[int] = []

    def cancelled() -> bool:  # the trader presses Cancel while the third file is read
        asked.append(1)
        return len(asked) >= 3

    with MarketStore.open(tmp_path / "s.duckdb") as store:
        outcome = import_files(store, paths, cancelled=cancelled)
        stored = {s.symbol for s in store.list_series()}
    assert outcome.cancelled
    kept = [f for f in outcome.files if f.status is FileStatus.STORED]
    rest = [f for f in outcome.files if f.status is FileStatus.NOT_TRIED]
    assert len(kept) == 2 and len(rest) == count - 2
    assert stored == {Path(f.path).stem for f in kept}  # each file whole or absent
    assert all(f.problem.endswith("import cancelled before this file was stored") for f in rest)


def _children(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return {int(line) for line in found.stdout.split()}


@pytest.mark.skipif(shutil.which("pgrep") is None, reason="needs pgrep (procps)")
def test_parse_workers_die_with_a_killed_import(tmp_path):
    """D18: after kill -9 of an import, its two ~196 MB parse workers lived on."""
    paths = [minute_csv(tmp_path / f"W{k:02d}.csv", 20) for k in range(30)]
    artha = Path(sys.executable).with_name("artha")
    env = {**os.environ, "ARTHA_HOME": str(tmp_path / "ws")}
    importer = subprocess.Popen(
        [str(artha), "data", "import", *map(str, paths)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and importer.poll() is None:
            workers = {w for c in _children(importer.pid) for w in {c, *_children(c)}}
            if len(workers) >= 2:  # the resource tracker and at least one parse worker
                break
            time.sleep(0.05)
        assert importer.poll() is None and workers, "the import ended before it could be killed"
        importer.send_signal(signal.SIGKILL)
        importer.wait()
        deadline = time.monotonic() + 10
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = {w for w in alive if Path(f"/proc/{w}").exists() and not _zombie(w)}
        assert not alive, f"processes {sorted(alive)} outlived the killed import"
    finally:
        if importer.poll() is None:
            importer.kill()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return False
