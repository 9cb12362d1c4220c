"""Generic OHLCV files (CSV with a column mapping, and Parquet): options, dates, offsets,
symbols and open interest, and errors that name the line or row."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.importers import detect_format, read_file
from tests.engine.importer_helpers import NSE_CM_LEGACY, instrument, ist_ns

# --- generic CSV ----------------------------------------------------------------------------


def test_generic_csv_with_mapping_and_dates(tmp_path):
    path = tmp_path / "reliance_daily.csv"
    path.write_text(
        "Date,Open Price,High Price,Low Price,Close Price,Total Traded Quantity\n"
        "2024-06-03,2899.00,2948.00,2890.10,2941.45,9876543\n"
        "2024-06-04,2941.00,2950.00,2800.00,2810.05,12345678\n"
        "2024-06-08,2811.00,2820.00,2805.00,2815.00,100\n"
    )
    mapping = {
        "Date": "timestamp",
        "Open Price": "open",
        "High Price": "high",
        "Low Price": "low",
        "Close Price": "close",
        "Total Traded Quantity": "volume",
    }
    assert detect_format(path, mapping=mapping) == "ohlcv_csv"
    # NSE's own column names are recognised without a mapping, as the import dialog does
    assert detect_format(path) == "ohlcv_csv"
    batch = read_file(path, mapping=mapping, symbol="reliance")
    unmapped = read_file(path, symbol="reliance")
    pd.testing.assert_frame_equal(unmapped.bars, batch.bars)
    assert batch.format == "ohlcv_csv"
    assert list(batch.bars["ts"]) == [ist_ns(2024, 6, 3), ist_ns(2024, 6, 4), ist_ns(2024, 6, 8)]
    assert list(batch.bars["close"]) == [294145, 281005, 281500]
    assert set(batch.bars["timeframe"]) == {"1d"} and set(batch.bars["symbol"]) == {"RELIANCE"}
    assert batch.closed_days is not None  # 2024-06-08 is a Saturday
    assert batch.closed_days.describe() == "1 bar on 1 day NSE was closed (2024-06-08 Sat)"
    assert instrument(batch, "RELIANCE")["segment"] == "EQ"


def test_generic_csv_naive_times_need_the_timezone_option(tmp_path):
    path = tmp_path / "sbin.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-06-03 09:15:00,812.50,813.00,812.00,812.80,1000\n"
        "2025-06-03 09:16:00,812.80,813.50,812.70,813.40,1500\n"
        "2025-06-03 09:17:00,813.40,813.40,812.90,813.00,900\n"
    )
    with pytest.raises(BarDataError) as err:
        read_file(path)
    assert str(err.value).startswith(f"{path}:2: timestamp 2025-06-03 09:15:00 has no UTC offset")
    assert "timezone" in str(err.value)
    batch = read_file(path, mapping={"timezone": "Asia/Kolkata"})
    assert list(batch.bars["ts"]) == [ist_ns(2025, 6, 3, 9, m) for m in (15, 16, 17)]
    assert set(batch.bars["timeframe"]) == {"1m"} and set(batch.bars["symbol"]) == {"SBIN"}
    with pytest.raises(ValueError, match="IANA"):
        read_file(path, mapping={"timezone": "India"})


def test_generic_csv_offsets_symbols_oi_and_unsorted_rows(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text(
        "symbol,timestamp,open,high,low,close,volume,oi\n"
        "NIFTY25JUNFUT,2025-06-03T09:20:00+05:30,24800,24810,24790,24805.5,750,100\n"
        "NIFTY25JUNFUT,2025-06-03T09:15:00+05:30,24790,24800,24780,24800,1500,75\n"
        "BANKNIFTY25JUNFUT,2025-06-03T03:45:00Z,55000,55010,54990,55005,300,30\n"
        "BANKNIFTY25JUNFUT,2025-06-03T03:50:00Z,55005,55020,55000,55010,330,60\n"
    )
    batch = read_file(path, exchange="NFO")
    assert set(batch.bars["timeframe"]) == {"5m"}
    assert row_at(batch, "BANKNIFTY25JUNFUT", ist_ns(2025, 6, 3, 9, 15))["oi"] == 30
    assert row_at(batch, "NIFTY25JUNFUT", ist_ns(2025, 6, 3, 9, 20))["close"] == 2480550
    assert set(batch.instruments["segment"]) == {"FUT"}
    assert any("lot size" in note for note in batch.notes)


def row_at(batch: ImportBatch, symbol: str, ts: int) -> dict[str, object]:
    bars = batch.bars[(batch.bars["symbol"] == symbol) & (batch.bars["ts"] == ts)]
    assert len(bars) == 1
    return bars.iloc[0].to_dict()


def test_generic_csv_date_format_time_column_and_midnight_daily(tmp_path):
    split = tmp_path / "tcs.csv"
    split.write_text(
        "Date,Time,Open,High,Low,Close,Volume\n"
        "03/06/2025,09:15,3447,3450,3440,3445,10\n"
        "03/06/2025,09:30,3445,3460,3444,3459.6,20\n"
    )
    batch = read_file(
        split,
        mapping={"Date": "timestamp", "Time": "time", "date_format": "%d/%m/%Y %H:%M",
                 "timezone": "Asia/Kolkata"},
    )  # fmt: skip
    assert list(batch.bars["ts"]) == [ist_ns(2025, 6, 3, 9, 15), ist_ns(2025, 6, 3, 9, 30)]
    assert set(batch.bars["timeframe"]) == {"15m"}
    midnight = tmp_path / "infy.csv"
    midnight.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-06-02T00:00:00+05:30,1560,1570,1550,1562.8,5\n"
        "2025-06-03T00:00:00+05:30,1565,1579.9,1561.1,1574.3,5\n"
    )
    batch = read_file(midnight)
    assert list(batch.bars["ts"]) == [ist_ns(2025, 6, 2), ist_ns(2025, 6, 3)]
    assert set(batch.bars["timeframe"]) == {"1d"}
    assert any("midnight" in note for note in batch.notes)


def test_generic_csv_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-06-03T09:15:00+05:30,100,101,99,100.5,10\n"
        "\n"
        "2025-06-03T09:16:00+05:30,100,99,101,100,10\n"
    )
    with pytest.raises(BarDataError, match=r"bad\.csv:4: BAD: high 99\.00 is below low 101\.00"):
        read_file(path)
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-06-03T09:15:00+05:30,100,101,99,100.5,10\n"
        "yesterday,100,101,99,100.5,10\n"
    )
    with pytest.raises(BarDataError, match=r"bad\.csv:3: timestamp 'yesterday' is not"):
        read_file(path)
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-06-03T09:15:00+05:30,100,101,99,100.5,10\n"
        "2025-06-03T09:15:00+05:30,100,101,99,100.5,10\n"
    )
    with pytest.raises(BarDataError, match=r"bad\.csv:3: BAD appears twice .* line 2 has it"):
        read_file(path, timeframe="1m")
    with pytest.raises(BarDataError, match=r"cm03JUN2024bhav\.csv:1: missing column volume"):
        read_file(NSE_CM_LEGACY, format="ohlcv_csv")


# --- Parquet --------------------------------------------------------------------------------


def test_parquet_through_duckdb(tmp_path):
    path = tmp_path / "bars.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT * FROM (VALUES
                  (TIMESTAMPTZ '2025-06-03 09:15:00+05:30', 1422.0, 1431.8, 1412.4, 1416.9, 100),
                  (TIMESTAMPTZ '2025-06-03 09:16:00+05:30', 1416.9, 1417.0, 1410.0, 1415.55, 50)
                ) t(ts, o, h, l, c, v)) TO '{path}' (FORMAT parquet)"""
        )
    mapping = {"ts": "timestamp", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}
    misleading = tmp_path / "bars.csv"
    shutil.copy(path, misleading)
    assert detect_format(misleading) == "parquet"
    batch = read_file(misleading, mapping=mapping, symbol="RELIANCE")
    assert batch.format == "parquet"
    assert list(batch.bars["ts"]) == [ist_ns(2025, 6, 3, 9, 15), ist_ns(2025, 6, 3, 9, 16)]
    assert list(batch.bars["close"]) == [141690, 141555]
    assert set(batch.bars["timeframe"]) == {"1m"}


def test_parquet_dates_naive_times_and_bad_rows(tmp_path):
    daily = tmp_path / "daily.parquet"
    naive = tmp_path / "naive.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT DATE '2025-06-03' AS timestamp, 100.0 AS open, 101.0 AS high,
                     99.0 AS low, 100.5 AS close, 10 AS volume) TO '{daily}' (FORMAT parquet)"""
        )
        con.execute(
            f"""COPY (SELECT * FROM (VALUES
                  (TIMESTAMP '2025-06-03 09:15:00', 100.0, 101.0, 99.0, 100.5, 10),
                  (TIMESTAMP '2025-06-03 09:16:00', 100.0, 99.0, 101.0, 100.0, 10)
                ) t(timestamp, open, high, low, close, volume)) TO '{naive}' (FORMAT parquet)"""
        )
    batch = read_file(daily, symbol="X")
    assert list(batch.bars["ts"]) == [ist_ns(2025, 6, 3)] and batch.bars["timeframe"][0] == "1d"
    with pytest.raises(BarDataError, match="no UTC offset"):
        read_file(naive)
    with pytest.raises(BarDataError) as err:
        read_file(naive, mapping={"timezone": "Asia/Kolkata"})
    assert str(err.value) == f"{naive} row 2: NAIVE: high 99.00 is below low 101.00"


def test_a_symbol_column_of_one_symbol_can_be_renamed(tmp_path):
    """An export carries its symbol; importing it under another name is a rename."""
    rows = [
        f"2025-06-03T09:{15 + i}:00+05:30,100.00,101.00,99.00,100.50,{10 + i},SYNIT02"
        for i in range(30)
    ]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(["timestamp,open,high,low,close,volume,symbol", *rows]) + "\n")
    assert set(read_file(path).bars["symbol"]) == {"SYNIT02"}
    assert set(read_file(path, symbol="copy").bars["symbol"]) == {"COPY"}
    two = tmp_path / "two.csv"
    two.write_text(path.read_text().replace("SYNIT02", "OTHER", 1))
    with pytest.raises(ValueError, match=r"--symbol X cannot rename .*two.csv: its symbol column "
                       "names 2 symbols; drop --symbol"):  # fmt: skip
        read_file(two, symbol="X")


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("A\tB", "holds control characters or a path separator"),
        ("../../etc", "holds control characters or a path separator"),
        ("X" * 5000, "is longer than 40 characters"),
    ],
)
def test_symbols_that_cannot_be_trading_symbols_are_refused(tmp_path, symbol, expected):
    """Reliability row 46: a TAB, a path or 5,000 characters were stored as symbols."""
    rows = [
        f"2025-06-03T09:{15 + i}:00+05:30,100.00,101.00,99.00,100.50,{10 + i}" for i in range(30)
    ]
    path = tmp_path / "good.csv"
    path.write_text("\n".join(["timestamp,open,high,low,close,volume", *rows]) + "\n")
    with pytest.raises(ValueError, match=expected):
        read_file(path, symbol=symbol)
    column = tmp_path / "column.csv"
    column.write_text(
        "\n".join(["timestamp,open,high,low,close,volume,symbol", *(f"{r},{symbol}" for r in rows)])
        + "\n"
    )
    with pytest.raises(BarDataError, match=f"column.csv:2: symbol .*{expected}"):
        read_file(column)
    assert set(read_file(path, symbol="M&M").bars["symbol"]) == {"M&M"}
