"""The DuckDB fast path for the documented bar CSV: same bars as the generic importer, and on
any bad row it steps aside so the generic importer names the file:line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.bar_series import BarDataError
from engine.data.import_files import import_files
from engine.data.importers import read_file
from engine.data.store import MarketStore
from engine.data.store_csv import applies

HEADER = "timestamp,open,high,low,close,volume"
GOOD = [
    "2026-01-05T09:15:00+05:30,100.00,100.50,99.95,100.20,1200",
    "2026-01-05T09:16:00+05:30,100.20,100.60,100.10,100.55,900",
    "2026-01-05T09:17:00+05:30,100.55,100.55,100.05,100.10,0",
    "2026-01-05T09:18:00+0530,100.10,100.30,100.00,100.25,700",
]
ZULU = [  # the same bars written in UTC
    "2026-01-05T03:45:00Z,100.00,100.50,99.95,100.20,1200",
    "2026-01-05T03:46:00Z,100.20,100.60,100.10,100.55,900",
    "2026-01-05T03:47:00Z,100.55,100.55,100.05,100.10,0",
    "2026-01-05T03:48:00Z,100.10,100.30,100.00,100.25,700",
]


def write(tmp_path, rows, name="INFY.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_the_fast_path_stores_exactly_what_the_generic_importer_reads(tmp_path):
    path = write(tmp_path, GOOD)
    assert applies(path)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        report = store.import_csv_fast(path)
        assert report is not None and report.bars_written == 4 and report.format == "ohlcv_csv"
        stored = store.read_bars("INFY", "1m")
        again = store.import_csv_fast(path)
        assert again is not None and again.already_imported
        forced = store.import_csv_fast(path, force=True)  # compared bar by bar, all equal
        assert forced is not None and (forced.bars_written, forced.bars_unchanged) == (0, 4)
    expected = read_file(path).bars
    assert np.array_equal(stored.ts, expected["ts"].to_numpy())
    for column in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(stored, column), expected[column].to_numpy())
    assert stored.close[3] == 10025  # exact paise


@pytest.mark.parametrize("separator", ["T", " "])
def test_times_in_utc_or_with_a_space_give_the_same_bars(tmp_path, separator):
    reference = write(tmp_path, GOOD, "REF.csv")
    utc = write(tmp_path, [r.replace("T", separator) for r in ZULU], "UTC.csv")
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(reference) is not None
        assert store.import_csv_fast(utc) is not None
        a, b = store.read_bars("REF", "1m"), store.read_bars("UTC", "1m")
    assert np.array_equal(a.ts, b.ts) and np.array_equal(a.close, b.close)


def test_a_file_mixing_time_forms_is_left_to_the_generic_importer(tmp_path):
    mixed = write(tmp_path, [*GOOD[:3], ZULU[3]])
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(mixed) is None
        assert not import_files(store, [mixed]).errors
        stored = store.read_bars("INFY", "1m")
    assert stored.close[3] == 10025 and stored.ts[3] - stored.ts[2] == 60_000_000_000


@pytest.mark.parametrize(
    ("line", "row", "words"),
    [
        (3, "2026-01-05T09:16:00+05:30,100.20,100.00,100.10,100.05,900", "below low"),
        (3, "2026-01-05T09:16:00,100.20,100.60,100.10,100.55,900", "no UTC offset"),
        (3, "2026-01-05T09:16:00+05:30,100.205,100.60,100.10,100.55,900", "more than 2"),
        (3, "2026-01-05T09:16:00+05:30,abc,100.60,100.10,100.55,900", "abc"),
        (3, "2026-01-05T09:15:00+05:30,100.20,100.60,100.10,100.55,900", "2026-01-05"),
        (3, "2026-01-05T09:16:00+05:30,100.20,100.60,100.10,100.55,-5", "volume"),
    ],
)
def test_a_bad_row_falls_back_to_the_importer_that_names_the_line(tmp_path, line, row, words):
    rows = list(GOOD)
    rows[line - 2] = row
    path = write(tmp_path, rows)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(path) is None
        assert store.list_series() == [] and len(store.import_log()) == 0
        assert len(store.instruments()) == 0  # the declined attempt was rolled back
        outcome = import_files(store, [path])
        assert store.list_series() == []
    (error,) = outcome.errors
    assert f"{path}:{line}:" in error and words in error
    with pytest.raises(BarDataError):
        read_file(path)


def test_other_layouts_are_left_to_the_generic_importer(tmp_path):
    other = tmp_path / "x.csv"
    other.write_text("Date,Close\n2026-01-05,100\n")
    assert not applies(other)
    assert not applies(tmp_path / "missing.csv")


def minute_rows(start_minute: int, count: int, step: int = 1, price: float = 100.0) -> list[str]:
    """One-minute (or `step`-minute) bars from 09:15 IST on 5 Jan 2026 + start_minute."""
    rows = []
    for k in range(count):
        minute = start_minute + k * step
        stamp = f"2026-01-05T{9 + (15 + minute) // 60:02d}:{(15 + minute) % 60:02d}:00+05:30"
        rows.append(f"{stamp},{price:.2f},{price + 0.5:.2f},{price - 0.5:.2f},{price:.2f},100")
    return rows


def test_a_claimed_timeframe_longer_than_the_bars_is_refused_like_the_generic_importer(tmp_path):
    path = write(tmp_path, GOOD[:3])
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(path, timeframe="5m") is None
        assert len(store.instruments()) == 0
        report = store.import_csv_fast(path, timeframe="1m")
        assert report is not None and report.bars_written == 3


def test_bars_added_to_a_stored_series_are_merged_bar_by_bar(tmp_path):
    first = write(tmp_path, minute_rows(0, 5), "A.csv")
    changed = minute_rows(3, 5)
    changed[0] = changed[0].replace(
        ",100.00,100.50,99.50,100.00,100", ",100.00,100.50,99.50,100.25,100"
    )
    second = write(tmp_path, changed, "B.csv")
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(first, symbol="INFY") is not None
        report = store.import_csv_fast(second, symbol="INFY")
        assert report is not None
        # minute 3 changed (written), minute 4 identical, minutes 5-7 new
        assert (report.bars_written, report.bars_unchanged) == (4, 1)
        bars = store.read_bars("INFY", "1m")
    assert len(bars) == 8 and bars.close[3] == 10025 and bars.close[4] == 10000


def test_the_timeframe_is_confirmed_on_the_whole_file_not_just_its_head(tmp_path):
    from engine.data.store_csv import HEAD_ROWS

    # the head is one-minute bars, but most of the file is five-minute bars: the median says 5m
    path = tmp_path / "MIXED.csv"
    stamps = pd.date_range("2026-01-05 03:45", periods=HEAD_ROWS + 1, freq="1min", tz="UTC")
    later = pd.date_range(stamps[-1] + pd.Timedelta("5min"), periods=2 * HEAD_ROWS, freq="5min")
    lines = [f"{t.isoformat()},100.00,100.50,99.50,100.00,100" for t in stamps.append(later)]
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(path) is None  # declined after writing: rolled back
        assert store.list_series() == [] and len(store.instruments()) == 0
        outcome = import_files(store, [path])
        assert not outcome.errors
        (series,) = store.list_series()
    assert series.timeframe == "5m" and series.bars == 3 * HEAD_ROWS + 1


def test_unsorted_rows_are_left_to_the_generic_importer_which_sorts_them(tmp_path):
    rows = minute_rows(0, 50)
    rows[40], rows[41] = rows[41], rows[40]
    path = write(tmp_path, rows)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(path) is None  # the fast path only takes rising times
        assert not import_files(store, [path]).errors
        bars = store.read_bars("INFY", "1m")
    assert len(bars) == 50 and bool(np.all(np.diff(bars.ts) == 60_000_000_000))


def test_the_same_bytes_as_another_symbol_are_another_import(tmp_path):
    infy = write(tmp_path, GOOD, "INFY.csv")
    tcs = write(tmp_path, GOOD, "TCS.csv")
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert not store.import_csv_fast(infy).already_imported
        again = store.import_csv_fast(tcs)
        assert again is not None and not again.already_imported and again.bars_written == 4
        repeat = store.import_csv_fast(infy, symbol="INFY", timeframe="1m")
        assert repeat is not None and repeat.already_imported  # same symbol and timeframe
        assert sorted(s.symbol for s in store.list_series()) == ["INFY", "TCS"]


def test_windows_line_ends_and_a_trailing_blank_line_take_the_fast_path(tmp_path):
    path = tmp_path / "WIN.csv"
    path.write_bytes(("\r\n".join([HEADER, *GOOD]) + "\r\n\r\n").encode())
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        report = store.import_csv_fast(path)
        assert report is not None and report.bars_written == 4
        assert store.read_bars("WIN", "1m").close.tolist() == [10020, 10055, 10010, 10025]


def test_a_bad_time_past_the_head_is_caught_by_duckdb_and_named_by_the_generic_importer(tmp_path):
    from engine.data.store_csv import HEAD_ROWS

    stamps = pd.date_range("2026-01-05 03:45", periods=HEAD_ROWS + 100, freq="1min", tz="UTC")
    rows = [f"{t.isoformat()},100.00,100.50,99.50,100.00,100" for t in stamps]
    line = HEAD_ROWS + 52  # the header is line 1
    rows[line - 2] = rows[line - 2].replace("+00:00", "")  # no offset, far past the head
    path = tmp_path / "LATE.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert store.import_csv_fast(path) is None
        assert len(store.instruments()) == 0 and store.list_series() == []
        (error,) = import_files(store, [path]).errors
        assert store.list_series() == []
    assert f"{path}:{line}:" in error and "offset" in error
