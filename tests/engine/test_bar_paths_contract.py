"""One set of rules: every path that reads bar files gives the same bars, notes and errors.

The paths: the documented CSV read by DuckDB (a plain file), the same CSV read by pandas (the
file zipped: DuckDB reads only plain paths), Parquet, and `artha backtest --data`'s loader
(engine.data.bar_files). Each tricky file is fed to all of them at realistic sizes (whole
sessions of 375 minutes, a bad row deep in a 100,000-row file), and what reaches the store is
compared bar for bar.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from engine.calendar import IST, get_calendar
from engine.data.bar_files import read_bar_file
from engine.data.bar_series import BarDataError
from engine.data.import_files import FileStatus, ImportOptions, import_files
from engine.data.importers import read_file
from engine.data.store import MarketStore

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
HEADER = "timestamp,open,high,low,close,volume"


@dataclass
class Bars:
    """Rows as a file would write them: text times and rupee/volume numbers."""

    times: list[str]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]

    def rows(self) -> list[str]:
        return [
            f"{t},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{whole(v)}"
            for t, o, h, lo, c, v in zip(
                self.times, self.open, self.high, self.low, self.close, self.volume, strict=True
            )
        ]


def whole(value: float) -> str:
    """A volume as files write it: 1200, not 1200.0; fractions as they are."""
    if isinstance(value, int) or not float(value).is_integer():
        return str(value)
    return str(int(value))


def sessions(start: dt.date, count: int) -> list[dt.date]:
    calendar = get_calendar("NSE")
    return [s.open.date() for s in calendar.sessions(start, start + dt.timedelta(days=count * 2))][
        :count
    ]


def minute_bars(days: list[dt.date], fmt: str = "%Y-%m-%dT%H:%M:%S+05:30", step: int = 1) -> Bars:
    rng = np.random.default_rng(7)
    times = [
        (dt.datetime.combine(day, dt.time(9, 15)) + dt.timedelta(minutes=m)).strftime(fmt)
        for day in days
        for m in range(0, 375, step)
    ]
    n = len(times)
    close = np.round(1000 + np.cumsum(rng.normal(0, 0.5, n)), 1)
    open_ = np.round(close + rng.normal(0, 0.3, n), 1)
    high = np.maximum(open_, close) + 0.5
    low = np.minimum(open_, close) - 0.5
    volume = rng.integers(100, 10_000, n).astype(float)
    return Bars(times, list(open_), list(high), list(low), list(close), list(volume))


def daily_bars(days: list[dt.date], stamp: str) -> Bars:
    bars = minute_bars(days, step=375)
    bars.times = [f"{day.isoformat()}{stamp}" for day in days]
    return bars


# --- the paths -------------------------------------------------------------------------------


def as_csv(folder: Path, name: str, bars: Bars) -> Path:
    path = folder / f"{name}.csv"
    path.write_text("\n".join([HEADER, *bars.rows()]) + "\n")
    return path


def as_zip(folder: Path, name: str, bars: Bars) -> Path:
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.csv", "\n".join([HEADER, *bars.rows()]) + "\n")
    return path


def as_parquet(folder: Path, name: str, bars: Bars) -> Path:
    path = folder / f"{name}.parquet"
    stamps = pd.to_datetime(pd.Series(bars.times), format="ISO8601")
    frame = pd.DataFrame(
        {
            "timestamp": stamps,
            "open": bars.open,
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": [v if isinstance(v, int) else int(v) for v in bars.volume]
            if all(float(v).is_integer() for v in bars.volume)
            else bars.volume,
        }
    )
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute(f"COPY frame TO '{path}' (FORMAT parquet)")
    return path


WRITERS: dict[str, Callable[[Path, str, Bars], Path]] = {
    "csv (DuckDB)": as_csv,
    "csv (pandas)": as_zip,
    "parquet": as_parquet,
}


def stored(tmp_path: Path, path: Path, options: ImportOptions) -> tuple[dict, tuple[str, ...]]:
    """Import into a fresh store: the bars it holds per series, and the file's notes."""
    with MarketStore.open(tmp_path / f"{path.name}.duckdb") as store:
        outcome = import_files(store, [path], options)
        (result,) = outcome.files
        assert result.status is FileStatus.STORED, result.problem
        series = {}
        for info in store.list_series():
            s = store.read_bars(info.symbol, info.timeframe, exchange=info.exchange)
            series[(info.symbol, info.timeframe)] = {
                name: getattr(s, name).tolist()
                for name in ("ts", "open", "high", "low", "close", "volume")
            }
    return series, result.notes


def every_path(tmp_path: Path, name: str, bars: Bars, options: ImportOptions | None = None):
    """(path name, stored series, notes) for each writer, and the loader's series."""
    options = options or ImportOptions()
    out = []
    for kind, write in WRITERS.items():
        folder = tmp_path / kind.replace(" ", "_").replace("(", "").replace(")", "")
        folder.mkdir(parents=True, exist_ok=True)
        out.append((kind, *stored(folder, write(folder, name, bars), options)))
    return out


def same_everywhere(results) -> None:
    _, first_series, first_notes = results[0]
    for kind, series, notes in results[1:]:
        assert series == first_series, f"{kind} stored other bars than {results[0][0]}"
        assert notes == first_notes, f"{kind} noted {notes}, {results[0][0]} {first_notes}"


def problem_everywhere(tmp_path: Path, name: str, bars: Bars, **read: object) -> list[str]:
    """The problem each path reports (the text after the location), all of them."""
    problems = []
    for kind, write in WRITERS.items():
        folder = tmp_path / kind.replace(" ", "_").replace("(", "").replace(")", "")
        folder.mkdir(parents=True, exist_ok=True)
        path = write(folder, name, bars)
        with pytest.raises(BarDataError) as err:
            read_file(path, **read)  # type: ignore[arg-type]
        problems.append(re.sub(r"(line|row) \d+", "#", err.value.problem))
        with pytest.raises(BarDataError) as loaded:  # the loader reads the same files
            read_bar_file(path, timeframe=read.get("timeframe"))  # type: ignore[arg-type]
        assert loaded.value.problem == err.value.problem
    return problems


# --- the contract ----------------------------------------------------------------------------


def test_clean_minute_files_give_the_same_bars_on_every_path(tmp_path):
    bars = minute_bars(sessions(dt.date(2025, 6, 2), 5))
    results = every_path(tmp_path, "CLEAN", bars)
    same_everywhere(results)
    ((key, series),) = results[0][1].items()
    assert key == ("CLEAN", "1m") and len(series["ts"]) == 5 * 375
    loaded = read_bar_file(as_csv(tmp_path, "CLEAN", bars)).series
    assert loaded.ts.tolist() == series["ts"] and loaded.close.tolist() == series["close"]


def test_midnight_dailies_open_at_the_session_on_every_path(tmp_path):
    days = sessions(dt.date(2024, 1, 1), 240)
    results = every_path(tmp_path, "INFY", daily_bars(days, "T00:00:00+05:30"))
    same_everywhere(results)
    series = results[0][1][("INFY", "1d")]
    first = pd.Timestamp(series["ts"][0], unit="ns", tz="UTC").tz_convert(IST)
    assert first.strftime("%H:%M") == "09:15" and len(series["ts"]) == 240
    assert any("stamped at midnight IST were moved" in n for n in results[0][2])


def test_a_midnight_daily_and_the_bhavcopy_of_that_day_are_one_bar(tmp_path):
    days = [d for d in sessions(dt.date(2024, 5, 2), 30) if d <= dt.date(2024, 6, 3)]
    daily = as_csv(tmp_path, "INFY", daily_bars(days, "T00:00:00+05:30"))
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        outcome = import_files(store, [FIXTURES / "cm03JUN2024bhav.csv", daily])
        assert not outcome.errors
        infy = store.read_bars("INFY", "1d", exchange="NSE")
    stamps = pd.to_datetime(infy.ts, unit="ns", utc=True).tz_convert(IST)
    assert len(set(stamps.date)) == len(stamps) == len(days)  # one bar per day


def test_offset_less_times_with_a_zone_are_the_same_bars(tmp_path):
    days = sessions(dt.date(2025, 6, 2), 2)
    naive = minute_bars(days, fmt="%Y-%m-%d %H:%M:%S")
    aware = minute_bars(days)
    zoned = every_path(
        tmp_path / "naive", "X", naive, ImportOptions(mapping={"timezone": "Asia/Kolkata"})
    )
    same_everywhere(zoned)
    assert zoned[0][1] == every_path(tmp_path / "aware", "X", aware)[0][1]
    for fmt in ("%Y-%m-%dT%H:%M", "%d-%m-%Y %H:%M"):
        other = minute_bars(days, fmt=fmt)
        mapping = {"timezone": "Asia/Kolkata"}
        if fmt.startswith("%d"):
            mapping["date_format"] = fmt
        batch = read_file(as_csv(tmp_path, f"F{len(fmt)}", other), mapping=mapping)
        assert batch.bars["ts"].tolist() == zoned[0][1][("X", "1m")]["ts"]


def test_offset_less_times_without_a_zone_are_refused_alike(tmp_path):
    naive = minute_bars(sessions(dt.date(2025, 6, 2), 1), fmt="%Y-%m-%d %H:%M:%S")
    problems = problem_everywhere(tmp_path, "X", naive)
    assert all("has no UTC offset" in p and "--timezone" in p for p in problems), problems


def test_holiday_dates_are_held_on_every_path(tmp_path):
    days = [*sessions(dt.date(2025, 2, 20), 10), dt.date(2025, 2, 26)]  # Mahashivratri
    bars = minute_bars(sorted(days))
    for kind, write in WRITERS.items():
        path = write(tmp_path, f"H{len(kind)}", bars)
        with MarketStore.open(tmp_path / f"{path.name}.duckdb") as store:
            (held,) = import_files(store, [path]).files
            assert held.status is FileStatus.HELD, kind
            assert "375 bars on 1 day NSE was closed (2025-02-26 Wed)" in held.problem
            assert store.list_series() == []
            (kept,) = import_files(store, [path], ImportOptions(closed_days="drop")).files
            assert kept.status is FileStatus.STORED
            assert kept.report is not None and kept.report.bars_written == 10 * 375
            (whole,) = import_files(store, [path], ImportOptions(closed_days="keep")).files
            assert whole.report is not None and whole.report.bars_written == 375


def test_fractional_volume_is_refused_on_every_path(tmp_path):
    bars = minute_bars(sessions(dt.date(2025, 6, 2), 1))
    bars.volume[200] = 10.5
    problems = problem_everywhere(tmp_path, "FV", bars)
    assert set(problems) == {"volume 10.5 is not a whole number"}


def test_duplicates_are_refused_alike(tmp_path):
    bars = minute_bars(sessions(dt.date(2025, 6, 2), 1))
    bars.times[300] = bars.times[299]
    problems = problem_everywhere(tmp_path, "DUP", bars)
    assert set(problems) == {"DUP appears twice for 2025-06-02 14:14: # has it already"}


def test_unsorted_rows_store_the_same_bars(tmp_path):
    bars = minute_bars(sessions(dt.date(2025, 6, 2), 2))
    shuffled = Bars(*(list(np.asarray(column, dtype=object)[::-1]) for column in (
        bars.times, bars.open, bars.high, bars.low, bars.close, bars.volume)))  # fmt: skip
    results = every_path(tmp_path / "shuffled", "U", shuffled)
    same_everywhere(results)
    assert results[0][1] == every_path(tmp_path / "sorted", "U", bars)[0][1]


def test_a_wrong_timeframe_claim_is_refused_both_ways(tmp_path):
    fifteen = minute_bars(sessions(dt.date(2025, 6, 2), 3), step=15)
    wide = problem_everywhere(tmp_path / "wide", "Q", fifteen, timeframe="1m")
    assert len(set(wide)) == 1 and "no two of the 75 bars are closer than 15m" in wide[0]
    one = minute_bars(sessions(dt.date(2025, 6, 2), 1))
    narrow = problem_everywhere(tmp_path / "narrow", "Q", one, timeframe="5m")
    assert len(set(narrow)) == 1 and "bars are only 1m apart" in narrow[0]


def test_a_bad_row_deep_in_a_large_file_is_named_alike(tmp_path):
    bars = minute_bars(sessions(dt.date(2024, 1, 1), 267))  # 100,125 bars
    bars.high[87_654] = bars.low[87_654] - 1
    problems = problem_everywhere(tmp_path, "DEEP", bars)
    assert len(set(problems)) == 1 and problems[0].startswith("DEEP: high ")
    with pytest.raises(BarDataError) as csv:
        read_file(as_csv(tmp_path, "DEEP", bars))
    with pytest.raises(BarDataError) as zipped:
        read_file(as_zip(tmp_path, "DEEP", bars))
    assert csv.value.line == zipped.value.line == 87_656  # header + 1-based


def test_absurd_volumes_are_refused_before_a_resample_overflows(tmp_path):
    bars = minute_bars(sessions(dt.date(2025, 6, 2), 1))
    bars.volume[10] = 9223372036854775807  # int64's largest: sums of it overflow
    problems = problem_everywhere(tmp_path, "BIG", bars)
    assert len(set(problems)) == 1 and "is implausibly large" in problems[0]


def test_a_group_of_files_reports_each_files_real_counts(tmp_path):
    days = sessions(dt.date(2025, 6, 2), 2)
    both = minute_bars(days)
    first = as_csv(tmp_path, "A", Bars(*(c[:375] for c in (
        both.times, both.open, both.high, both.low, both.close, both.volume))))  # fmt: skip
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        import_files(store, [first])
        second = as_zip(tmp_path, "A", both)  # day 1 again (same values) and day 2
        other = as_zip(tmp_path, "B", both)
        reports = dict(store_reports(store, [second, other]))
    assert (reports[str(second)].bars_written, reports[str(second)].bars_unchanged) == (375, 375)
    assert (reports[str(other)].bars_written, reports[str(other)].bars_unchanged) == (750, 0)


def store_reports(store: MarketStore, paths: list[Path]):
    batches = [read_file(p) for p in paths]
    return zip(map(str, paths), store.import_batches(batches), strict=True)


def test_bars_before_1970_are_refused_and_future_bars_noted(tmp_path):
    old = minute_bars([dt.date(1900, 6, 4)])
    problems = problem_everywhere(tmp_path / "old", "OLD", old)
    assert len(set(problems)) == 1 and "timestamp 1900-06-04 09:" in problems[0]
    assert "is before 1970: check the date column" in problems[0]
    later = minute_bars([dt.date(2030, 6, 3)])
    batch = read_file(as_csv(tmp_path, "LATER", later))
    assert "375 bars dated after today" in " ".join(batch.notes)
