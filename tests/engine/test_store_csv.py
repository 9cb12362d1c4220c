"""The DuckDB fast path for the documented bar CSV: same bars as the generic importer, and on
any bad row it steps aside so the generic importer names the file:line."""

from __future__ import annotations

import numpy as np
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
    assert stored.close[3] == 10025  # 03:48Z is 09:18 IST, exact paise


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
