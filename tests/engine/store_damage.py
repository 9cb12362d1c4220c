"""Shared by the store-integrity tests (engine and CLI): a store big enough to damage, real
garbage written into its file, and the offset where that garbage breaks bars but not the
catalogue, so both suites damage a store the same way."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from engine.data.store import MarketStore
from tests.engine.store_helpers import make_batch

SYMBOLS = [f"SYM{i:02d}" for i in range(12)]
BARS_EACH = 30_000
GARBAGE = 4096  # bytes written by one `corrupt`


def build_store(path: Path) -> int:
    """12 instruments of 30,000 realistic minute bars each, in three imports; the bar count."""
    with MarketStore.open(path) as store:
        for k in range(3):
            store.import_batch(make_batch(f"part{k}.csv", *SYMBOLS[k * 4 : k * 4 + 4], n=BARS_EACH))
    return len(SYMBOLS) * BARS_EACH


def corrupt(path: Path, offset: int, size: int = GARBAGE) -> None:
    """Overwrite `size` bytes at `offset` with garbage, as a failing disk would."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\x5a" * size)


def opens_but_bars_fail(path: Path) -> bool:
    """The file opens and its catalogue reads, but reading the bars hits a bad checksum."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        con.execute("SELECT count(*) FROM instruments").fetchall()
        con.execute("SELECT * FROM schema_version").fetchall()
        con.execute("SELECT sum(hash(ts, open, high, low, close, volume)) FROM bars").fetchall()
    except duckdb.Error as exc:
        return "checksum" in str(exc)
    finally:
        con.close()
    return False


def find_bar_block_offset(source: Path, trial: Path) -> int:
    """An offset where garbage damages bars, not the catalogue: found by corrupting copies of
    `source` at `trial` (DuckDB's layout is not ours to predict)."""
    for offset in range(1_000_000, source.stat().st_size - GARBAGE, 262_144):
        shutil.copyfile(source, trial)
        corrupt(trial, offset)
        if opens_but_bars_fail(trial):
            return offset
    pytest.fail("no offset damaged the bars")


@contextmanager
def small_disk_at(folder: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` (e.g. "3m") mounted at `folder`, so a write meets a full disk
    as it would on a user's laptop; skips the test where mounting is not allowed."""
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
