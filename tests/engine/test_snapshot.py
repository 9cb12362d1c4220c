"""Worker hand-off: Parquet snapshots read by REAL spawned processes while the app holds the store.

DuckDB lets the read-write holder lock out every other process, so the worker must never touch
the .duckdb file: it gets a snapshot, and a second process that tries the file gets a clear
StoreError.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest

from engine.data.batch import ImportBatch
from engine.data.snapshot import load_snapshot
from engine.data.store import MarketStore, StoreError
from tests.engine.test_store import bar_frame, instrument_row, make_batch

FIELDS = ("ts", "open", "high", "low", "close", "volume")


def _worker_load(path: str) -> dict[str, object]:
    """Runs in a spawned process: load the snapshot, send the arrays back."""
    series = load_snapshot(Path(path))
    return {
        "symbols": [s.symbol for s in series],
        "timeframes": [s.timeframe for s in series],
        "arrays": [{f: np.array(getattr(s, f)) for f in FIELDS} for s in series],
    }


def _worker_open(path: str) -> str:
    """Runs in a spawned process: try to open the store the parent holds read-write."""
    for read_only in (False, True):
        try:
            MarketStore.open(path, read_only=read_only).close()
        except StoreError as exc:
            if not read_only:
                first = str(exc)
            continue
        return f"opened with read_only={read_only}"
    return first


def _spawn(fn, *args):
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result(timeout=120)


@pytest.fixture
def filled(tmp_path):
    rows = [instrument_row("AAA"), instrument_row("BBB"), instrument_row("BBB", "BSE")]
    batch = make_batch("mem:a", "AAA", "BBB", n=3 * 375, instruments=rows)
    bse = bar_frame("BBB", 20, exchange="BSE", seed=9)
    with MarketStore.open(tmp_path / "ws" / "artha.duckdb") as store:
        store.import_batch(batch)
        store.import_batch(ImportBatch("mem:bse", "generic", batch.instruments, bse))
        yield store


def test_snapshot_round_trip_in_process(filled, tmp_path):
    path = filled.snapshot(["NSE:BBB", "AAA", "BSE:BBB"], "1m", tmp_path / "snaps")
    assert path.parent == tmp_path / "snaps" and path.suffix == ".parquet"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left
    loaded = load_snapshot(path)
    assert [s.symbol for s in loaded] == ["NSE:BBB", "AAA", "BSE:BBB"]  # BBB is on both
    for got, (symbol, exchange) in zip(
        loaded, [("BBB", "NSE"), ("AAA", "NSE"), ("BBB", "BSE")], strict=True
    ):
        want = filled.read_bars(symbol, exchange=exchange)
        for f in FIELDS:
            np.testing.assert_array_equal(getattr(got, f), getattr(want, f))


def test_snapshot_of_a_range_keeps_empty_series(filled, tmp_path):
    day = date(2024, 1, 3)
    path = filled.snapshot(["AAA", "BSE:BBB"], "1m", tmp_path, start=day, end=day)
    aaa, bse = load_snapshot(path)
    assert (aaa.symbol, len(aaa)) == ("AAA", 375) and (bse.symbol, len(bse)) == ("BBB", 0)
    np.testing.assert_array_equal(aaa.close, filled.read_bars("AAA", start=day, end=day).close)


def test_snapshot_refusals(filled, tmp_path):
    with pytest.raises(StoreError, match="ambiguous"):
        filled.snapshot(["BBB"], "1m", tmp_path)
    with pytest.raises(StoreError, match="requested twice"):
        filled.snapshot(["AAA", "aaa"], "1m", tmp_path)
    with pytest.raises(StoreError, match="timeframe '2m'"):
        filled.snapshot(["AAA"], "2m", tmp_path)
    with pytest.raises(StoreError, match="no such snapshot"):
        load_snapshot(tmp_path / "missing.parquet")
    plain = tmp_path / "plain.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1 AS a) TO '{plain}' (FORMAT parquet)")
    with pytest.raises(StoreError, match="not an Artha bar snapshot"):
        load_snapshot(plain)


def test_a_spawned_worker_loads_a_snapshot_while_the_store_is_held(filled, tmp_path):
    path = filled.snapshot(["AAA", "NSE:BBB"], "1m", tmp_path / "snaps")
    result = _spawn(_worker_load, str(path))  # the parent still holds the .duckdb read-write
    assert result["symbols"] == ["AAA", "BBB"] and result["timeframes"] == ["1m", "1m"]
    for arrays, symbol in zip(result["arrays"], ["AAA", "BBB"], strict=True):
        want = filled.read_bars(symbol, exchange="NSE")
        for f in FIELDS:
            assert arrays[f].dtype == np.int64
            np.testing.assert_array_equal(arrays[f], getattr(want, f))


def test_a_second_process_cannot_open_the_held_store(filled):
    message = _spawn(_worker_open, str(filled.path))
    assert "is held by another Artha (process " in message
    assert str(filled.path) in message
    filled.close()  # once the app lets go, another process may open it
    assert _spawn(_worker_open, str(filled.path)) == "opened with read_only=False"
