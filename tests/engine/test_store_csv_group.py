"""Many bar CSVs in one statement (MarketStore.import_csv_files): the same result as one file
at a time, and a bad file in the group costs only itself."""

from __future__ import annotations

import numpy as np

from engine.data import store_csv_group
from engine.data.import_files import ImportOptions, import_files
from engine.data.store import MarketStore

HEADER = "timestamp,open,high,low,close,volume"


def bars_csv(folder, name, count, start=0, price=100.0, bad_line=None):
    """`count` one-minute bars from 09:15 IST + start minutes; `bad_line` gets high < low."""
    rows = []
    for k in range(start, start + count):
        stamp = f"2026-01-05T{9 + (15 + k) // 60:02d}:{(15 + k) % 60:02d}:00+05:30"
        p = price + k * 0.05
        rows.append(f"{stamp},{p:.2f},{p + 0.5:.2f},{p - 0.5:.2f},{p:.2f},{100 + k}")
    if bad_line is not None:
        fields = rows[bad_line - 2].split(",")
        fields[2] = f"{float(fields[3]) - 1:.2f}"  # high below low
        rows[bad_line - 2] = ",".join(fields)
    path = folder / f"{name}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_a_group_stores_what_files_one_at_a_time_store(tmp_path):
    files = [bars_csv(tmp_path, f"S{k}", 50 + k, price=100 + k) for k in range(5)]
    with MarketStore.open(tmp_path / "group.duckdb") as group:
        reports = group.import_csv_files(files)
        together = {s: group.read_bars(s, "1m") for s in ("S0", "S3", "S4")}
        log = group.import_log()
    with MarketStore.open(tmp_path / "single.duckdb") as single:
        for f in files:
            assert single.import_csv_fast(f) is not None
        alone = {s: single.read_bars(s, "1m") for s in ("S0", "S3", "S4")}
    assert [r.bars_written for r in reports] == [50, 51, 52, 53, 54]
    assert all(r.instruments_added == 1 for r in reports)
    assert len(log) == 5 and sorted(log.rows) == [50, 51, 52, 53, 54]
    for symbol, series in together.items():
        for column in ("ts", "open", "high", "low", "close", "volume"):
            assert np.array_equal(getattr(series, column), getattr(alone[symbol], column))


def test_a_bad_file_rolls_its_group_back_and_only_it_is_refused(tmp_path):
    files = [bars_csv(tmp_path, f"S{k}", 40) for k in range(4)]
    files[2] = bars_csv(tmp_path, "S2", 40, bad_line=21)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        outcome = import_files(store, files)
        stored = sorted(s.symbol for s in store.list_series())
        logged = sorted(store.import_log().source)
    assert stored == ["S0", "S1", "S3"]
    assert logged == sorted(str(f) for i, f in enumerate(files) if i != 2)
    (error,) = outcome.errors
    assert error.startswith(f"{files[2]}:21:") and "below low" in error


def test_two_files_of_one_series_and_a_stored_series_are_merged_in_turn(tmp_path):
    first = bars_csv(tmp_path, "A", 30)
    second = bars_csv(tmp_path, "B", 30, start=20)  # 10 bars overlap, identical
    other = bars_csv(tmp_path, "C", 30)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        store.import_csv_fast(other, symbol="OTHER")
        again = bars_csv(tmp_path, "C2", 10, start=30)
        options = ImportOptions(symbol="INFY")
        outcome = import_files(store, [first, second], options)
        more = store.import_csv_files([again], symbol="OTHER")
        infy, other_series = store.read_bars("INFY", "1m"), store.read_bars("OTHER", "1m")
    reports = [r for _, r in outcome.reports]
    assert [(r.bars_written, r.bars_unchanged) for r in reports] == [(30, 0), (20, 10)]
    assert len(infy) == 50 and bool(np.all(np.diff(infy.ts) == 60_000_000_000))
    assert more[0] is not None and more[0].bars_written == 10 and len(other_series) == 40


def test_groups_are_bounded_and_repeats_are_reported_as_such(tmp_path):
    count = store_csv_group.GROUP + 3
    files = [bars_csv(tmp_path, f"S{k:02d}", 5) for k in range(count)]
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        first = store.import_csv_files(files)
        again = store.import_csv_files(files)
        assert len(store.list_series()) == count
    assert all(r is not None and r.bars_written == 5 for r in first)
    assert all(r is not None and r.already_imported for r in again)
