"""The CSV/Parquet bar loader: exact paise, UTC ns, and errors naming file:line.
BarSeries from arrays and timeframe inference: test_bar_series.py."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from engine.data import BarDataError, load_bars
from engine.data.bar_series import ist_iso

HEADER = "timestamp,open,high,low,close,volume"
MIN = 60 * 10**9
DAY = 86_400 * 10**9
# 2024-01-01 09:15 IST == 03:45 UTC
T0 = int(pd.Timestamp("2024-01-01T03:45:00Z").value)


def rows(n: int = 10) -> list[str]:
    """n valid 1-minute bars from 2024-01-01 09:15 IST."""
    out = []
    for i in range(n):
        minute = 15 + i
        base = 100 + i
        prices = f"{base}.00,{base}.50,{base - 1}.50,{base}.25"
        out.append(f"2024-01-01T09:{minute:02d}:00+05:30,{prices},{1000 + i}")
    return out


def write(tmp_path: Path, lines: list[str], name: str = "prices.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def load_error(path: Path, **kwargs: str) -> BarDataError:
    with pytest.raises(BarDataError) as caught:
        load_bars(path, **kwargs)
    return caught.value


def with_row(index: int, row: str, n: int = 10) -> list[str]:
    lines = rows(n)
    lines[index] = row
    return lines


# --- valid files --------------------------------------------------------------------------------


def test_csv_round_trip_exact_paise_utc_ns_and_inferred_1m(tmp_path):
    series = load_bars(write(tmp_path, rows()))
    assert series.symbol == "PRICES"
    assert series.timeframe == "1m"
    assert len(series) == 10
    assert series.ts.dtype == np.int64
    assert series.ts.tolist() == [T0 + i * MIN for i in range(10)]
    assert series.open.tolist() == [(100 + i) * 100 for i in range(10)]
    assert series.high.tolist() == [(100 + i) * 100 + 50 for i in range(10)]
    assert series.low.tolist() == [(99 + i) * 100 + 50 for i in range(10)]
    assert series.close.tolist() == [(100 + i) * 100 + 25 for i in range(10)]
    assert series.volume.tolist() == [1000 + i for i in range(10)]
    assert series.price(int(series.close[0])) == Decimal("100.25")
    index = series.timestamps()
    assert str(index.tz) == "Asia/Kolkata"
    assert index[0] == pd.Timestamp("2024-01-01T09:15:00+05:30")


def test_symbol_and_timeframe_arguments(tmp_path):
    series = load_bars(write(tmp_path, rows()), symbol="NSE:RELIANCE", timeframe="1m")
    assert (series.symbol, series.timeframe) == ("NSE:RELIANCE", "1m")


def test_z_and_ist_offsets_give_the_same_instants(tmp_path):
    ist = load_bars(write(tmp_path, rows(), "ist.csv"))
    utc_rows = [
        f"{(pd.Timestamp(r.split(',')[0]).tz_convert('UTC')).strftime('%Y-%m-%dT%H:%M:%S')}Z,"
        + r.split(",", 1)[1]
        for r in rows()
    ]
    utc = load_bars(write(tmp_path, utc_rows, "utc.csv"))
    assert utc.ts.tolist() == ist.ts.tolist()
    # a file mixing both notations is fine too (it takes the row-by-row path)
    mixed = load_bars(write(tmp_path, utc_rows[:5] + rows()[5:], "mixed.csv"))
    assert mixed.ts.tolist() == ist.ts.tolist()


def test_two_decimal_prices_are_exact_in_paise(tmp_path):
    lines = [
        "2024-01-01T09:15:00+05:30,100.05,100.05,100.05,100.05,1",
        "2024-01-01T09:16:00+05:30,1234.10,1234.10,1234.1,1234.10,2",
        "2024-01-01T09:17:00+05:30,0.05,0.10,0.01,0.07,3",
        "2024-01-01T09:18:00+05:30,101.22999999999999,101.23,101.23,101.23,4",
    ]
    series = load_bars(write(tmp_path, lines))
    assert series.open.tolist() == [10005, 123410, 5, 10123]
    assert series.low.tolist() == [10005, 123410, 1, 10123]
    assert series.price(int(series.open[1])) == Decimal("1234.10")


def test_header_case_extra_columns_oi_bom_and_blank_lines(tmp_path):
    path = tmp_path / "nifty.csv"
    body = "\n".join(r + ",7,x" for r in rows(3))
    path.write_text("\ufeffTimeStamp,OPEN,High,low,Close,Volume,oi,note\n" + body + "\n\n", "utf-8")
    series = load_bars(path)
    assert series.symbol == "NIFTY"
    assert series.close.tolist() == [10025, 10125, 10225]


def test_volume_written_as_float_is_accepted(tmp_path):
    lines = [r.rsplit(",", 1)[0] + ",1500.0" for r in rows(3)]
    assert load_bars(write(tmp_path, lines)).volume.tolist() == [1500] * 3


def test_parquet_equals_csv(tmp_path):
    csv = load_bars(write(tmp_path, rows()))
    frame = pd.read_csv(tmp_path / "prices.csv")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601")
    frame["oi"] = 5
    target = tmp_path / "prices.parquet"
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute(f"COPY frame TO '{target}' (FORMAT parquet)")
    parquet = load_bars(target)
    assert (parquet.symbol, parquet.timeframe, len(parquet)) == ("PRICES", "1m", 10)
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert getattr(parquet, name).tolist() == getattr(csv, name).tolist(), name


def test_parquet_int64_ns_timestamps_and_decimal_prices(tmp_path):
    target = tmp_path / "bars.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT {T0} + i * {MIN} AS timestamp,
                        CAST(100.05 AS DECIMAL(10,2)) AS open, 100.10 AS high,
                        CAST(100 AS INTEGER) AS low, 100.05::DOUBLE AS close, i AS volume
                      FROM range(5) t(i)) TO '{target}' (FORMAT parquet)"""
        )
    series = load_bars(target)
    assert series.ts.tolist() == [T0 + i * MIN for i in range(5)]
    assert series.open.tolist() == [10005] * 5
    assert series.low.tolist() == [10000] * 5
    assert series.volume.tolist() == list(range(5))


# --- bad files: each names file:line and the field/value -------------------------------------


def test_missing_file(tmp_path):
    err = load_error(tmp_path / "nope.csv")
    assert "nope.csv: file not found" in str(err)


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "prices.csv"
    empty.write_text("")
    assert "prices.csv: file is empty" in str(load_error(empty))
    err = load_error(write(tmp_path, [], "head.csv"))
    assert "head.csv:2: no rows after the header" in str(err)
    assert err.line == 2 and err.path is not None and err.path.endswith("head.csv")


def test_missing_column_is_named_and_found_columns_listed(tmp_path):
    err = load_error(write(tmp_path, ["x,1,2,3,4"], header="timestamp,open,high,low,close"))
    assert "prices.csv:1: unrecognised file (header: timestamp,open,high,low,close)" in str(err)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2024-01-01T09:21:00+05:30,abc,106.50,105.50,106.25,10", "open 'abc' is not a number"),
        ("2024-01-01T09:21:00+05:30,106,106.50,105.50,NaN,10", "close 'NaN' is not a number"),
        ("2024-01-01T09:21:00+05:30,106,,105.50,106.25,10", "high is empty"),
        ("2024-01-01T09:21:00+05:30,106,106.50,105.50,101.234,10", "close 101.234 has more"),
        (
            "2024-01-01T09:21:00+05:30,0,106.50,105.50,106.25,10",
            "PRICES: open 0.00 is not above zero",
        ),
        ("2024-01-01T09:21:00+05:30,106,106.5,-1,106.25,10", "PRICES: low -1.00 is not above zero"),
        (
            "2024-01-01T09:21:00+05:30,106,101,102,101.5,10",
            "PRICES: high 101.00 is below low 102.00",
        ),
        (
            "2024-01-01T09:21:00+05:30,106,106.50,105.50,107,10",
            "PRICES: high 106.50 is below open/close 106.00/107.00",
        ),
        (
            "2024-01-01T09:21:00+05:30,105,106.50,105.50,106,10",
            "PRICES: low 105.50 is above open/close 105.00/106.00",
        ),
        ("2024-01-01T09:21:00+05:30,106,106.50,105.50,106.25,-5", "PRICES: volume -5 is negative"),
        ("2024-01-01T09:21:00+05:30,106,106.50,105.50,106.25,1.5", "volume 1.5 is not a whole"),
        ("2024-01-01T09:21:00+05:30,106,106.50,105.50,106.25,", "volume is empty"),
        ("2024-13-45T09:21:00+05:30,106,106.50,105.50,106.25,10", "timestamp '2024-13-45T09:21"),
        ("yesterday,106,106.50,105.50,106.25,10", "timestamp 'yesterday' is not an ISO-8601"),
        (",106,106.50,105.50,106.25,10", "timestamp is empty"),
    ],
)
def test_bad_value_names_file_line_and_field(tmp_path, row, expected):
    err = load_error(write(tmp_path, with_row(6, row)))  # data row 6 is file line 8
    assert f"prices.csv:8: {expected}" in str(err)
    assert err.line == 8


def test_more_than_two_decimals_message_is_exact(tmp_path):
    row = "2024-01-01T09:22:00+05:30,107,107.50,106.50,101.234,10"
    err = load_error(write(tmp_path, with_row(7, row)))
    assert str(err).endswith("prices.csv:9: close 101.234 has more than 2 decimals (paise)")


def test_missing_offset_says_how_to_write_it(tmp_path):
    err = load_error(write(tmp_path, with_row(3, "2024-01-01 09:15:00,103,103.5,102.5,103,1")))
    assert "prices.csv:5: timestamp 2024-01-01 09:15:00 has no UTC offset: say which time " in str(
        err
    )
    assert "--timezone Asia/Kolkata" in str(err)
    all_naive = [r.replace("+05:30", "") for r in rows()]
    assert "prices.csv:2: timestamp 2024-01-01 09:15:00 has no UTC offset" in str(
        load_error(write(tmp_path, all_naive))
    )


def test_a_bare_date_is_a_daily_bar_at_the_session_open(tmp_path):
    days = [f"2024-01-{d:02d},100,101,99,100.5,10" for d in (1, 2, 3, 4, 5, 8, 9, 10)]
    series = load_bars(write(tmp_path, days), timeframe="1d")
    assert series.timeframe == "1d" and len(series) == 8
    assert ist_iso(series.ts[0]) == "2024-01-01T09:15:00+05:30"


def test_unsorted_rows_are_sorted(tmp_path):
    lines = rows()
    lines[2], lines[5] = lines[5], lines[2]
    assert (
        load_bars(write(tmp_path, lines)).ts.tolist()
        == load_bars(write(tmp_path, rows(), "sorted.csv")).ts.tolist()
    )


def test_duplicate_names_both_lines(tmp_path):
    row = "2024-01-01T09:19:00+05:30,105,105.50,104.50,105.25,10"
    err = load_error(write(tmp_path, with_row(5, row)))
    assert "prices.csv:7: PRICES appears twice for 2024-01-01 09:19: line 6 has it already" in str(
        err
    )


def test_blank_lines_keep_line_numbers_exact(tmp_path):
    lines = rows()
    lines[4] = "2024-01-01T09:19:00+05:30,104,103,104.5,104,1"  # high < low on data row 4
    lines.insert(2, "")  # a blank line moves it down one file line
    err = load_error(write(tmp_path, lines))
    assert "prices.csv:7: PRICES: high 103.00 is below low 104.50" in str(err)


def test_row_with_too_many_fields(tmp_path):
    err = load_error(write(tmp_path, with_row(2, rows()[2] + ",1,2")))
    assert "prices.csv:4: malformed CSV: C error: Expected 6 fields in line 4, saw 8" in str(err)


def test_earliest_bad_line_is_reported_across_columns(tmp_path):
    lines = with_row(7, "2024-01-01T09:22:00+05:30,107,107.50,106.50,abc,10")
    lines[3] = "2024-01-01T09:18:00+05:30,103,103.50,102.50,103.333,10"
    assert "prices.csv:5: close 103.333 has more than 2 decimals" in str(
        load_error(write(tmp_path, lines))
    )


def test_unsupported_file_type_and_not_parquet(tmp_path):
    other = tmp_path / "prices.json"
    other.write_text("{}")
    assert "prices.json:1: unrecognised file (header: {})" in str(load_error(other))
    fake = tmp_path / "prices.parquet"
    fake.write_text("not parquet")
    assert "prices.parquet:1: unrecognised file (header: not parquet)" in str(load_error(fake))


def test_parquet_naive_timestamps_and_bad_rows(tmp_path):
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01 09:15", periods=4, freq="min"),
            "open": [100.0, 100.0, 100.0, 100.0],
            "high": [101.0, 101.0, 99.0, 101.0],
            "low": [99.0, 99.0, 99.5, 99.0],
            "close": [100.5, 100.5, 99.5, 100.123],
            "volume": [1, 2, 3, 4],
        }
    )
    naive = tmp_path / "naive.parquet"
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute(f"COPY frame TO '{naive}' (FORMAT parquet)")
        frame["timestamp"] = frame["timestamp"].dt.tz_localize("Asia/Kolkata")
        con.register("aware", frame)
        con.execute(f"COPY aware TO '{tmp_path / 'bad.parquet'}' (FORMAT parquet)")
    assert "naive.parquet row 1: timestamp 2024-01-01 09:15:00 has no UTC offset" in str(
        load_error(naive)
    )
    err = load_error(tmp_path / "bad.parquet")
    assert "bad.parquet row 4: close 100.123 has more than 2 decimals (paise)" in str(err)
    assert err.line == 4


def test_given_timeframe_must_not_claim_wider_bars_than_the_data(tmp_path):
    err = load_error(write(tmp_path, rows()), timeframe="5m")
    assert "prices.csv: timeframe '5m' was given but the bars are only" in str(err)
    assert "is not one of" in str(load_error(write(tmp_path, rows()), timeframe="2h"))


def test_error_survives_pickling_for_worker_processes(tmp_path):
    err = load_error(write(tmp_path, with_row(0, "x,1,1,1,1,1")))
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.path, copy.line, copy.problem) == (
        str(err),
        err.path,
        err.line,
        err.problem,
    )
    assert isinstance(copy, ValueError)
