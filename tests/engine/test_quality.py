"""Data-quality report against the NSE calendar, on small series with known defects."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from engine.data import BarSeries
from engine.data.quality import (
    SessionGap,
    ZeroVolumeRun,
    quality_of_arrays,
    quality_report,
    render_text,
)


def ist(text: str) -> int:
    return int(pd.Timestamp(text, tz="Asia/Kolkata").value)


def minutes(day: str, start: str = "09:15", count: int = 375) -> list[int]:
    first = pd.Timestamp(f"{day} {start}", tz="Asia/Kolkata")
    return [int((first + pd.Timedelta(minutes=k)).value) for k in range(count)]


def flat(ts: list[int], volume: list[int] | None = None, timeframe: str = "1m") -> BarSeries:
    price = np.full(len(ts), 10_000, dtype=np.int64)
    vol = np.full(len(ts), 100, dtype=np.int64) if volume is None else np.array(volume, np.int64)
    return BarSeries("INFY", timeframe, np.array(ts, np.int64), price, price, price, price, vol)


def defective_series() -> BarSeries:
    """13 Jan full + a 15:30 bar; 14 Jan missing; 16 Jan without 10:00; 19 Jan with
    zero volume 11:00-11:06 (7 bars) and 14:00-14:02 (3 bars). 15 Jan is a holiday."""
    ts = [*minutes("2026-01-13"), ist("2026-01-13 15:30")]
    ts += [t for t in minutes("2026-01-16") if t != ist("2026-01-16 10:00")]
    ts += minutes("2026-01-19")
    zero = set(minutes("2026-01-19", "11:00", 7)) | set(minutes("2026-01-19", "14:00", 3))
    return flat(ts, [0 if t in zero else 100 for t in ts])


def test_missing_session_missing_minute_outside_bar_and_zero_volume_run():
    report = quality_report(defective_series())
    assert report.bars == 375 + 1 + 374 + 375
    assert report.first_ns == ist("2026-01-13 09:15")
    assert report.last_ns == ist("2026-01-19 15:29")
    assert report.sessions_expected == 4  # 13, 14, 16, 19 (15 is a holiday)
    assert report.sessions_present == 3
    assert report.missing_sessions == (dt.date(2026, 1, 14),)
    assert report.expected_bars == 3 * 375
    assert report.missing_bars == 1
    assert report.sessions_with_missing_bars == 1
    assert report.worst_sessions == (SessionGap(dt.date(2026, 1, 16), 375, 374),)
    assert report.off_grid_bars == 0
    assert report.outside_session_bars == 1
    assert report.outside_session_examples == (ist("2026-01-13 15:30"),)
    assert report.zero_volume_bars == 10
    assert report.zero_volume_run_count == 1
    assert report.zero_volume_runs == (
        ZeroVolumeRun(ist("2026-01-19 11:00"), ist("2026-01-19 11:06"), 7),
    )
    assert not report.raw_checked and report.bad_ohlc_rows == report.duplicate_rows == 0
    assert not report.ok


def test_zero_volume_run_length_is_configurable_and_longest_comes_first():
    report = quality_report(defective_series(), min_zero_run=3)
    assert report.zero_volume_runs == (
        ZeroVolumeRun(ist("2026-01-19 11:00"), ist("2026-01-19 11:06"), 7),
        ZeroVolumeRun(ist("2026-01-19 14:00"), ist("2026-01-19 14:02"), 3),
    )
    with pytest.raises(ValueError, match="min_zero_run"):
        quality_report(defective_series(), min_zero_run=0)


def test_a_clean_series_is_ok():
    report = quality_report(flat(minutes("2026-01-14") + minutes("2026-01-16")))
    assert report.ok
    assert (report.sessions_expected, report.sessions_present, report.missing_bars) == (2, 2, 0)


def test_muhurat_session_expects_its_own_sixty_minutes():
    ts = minutes("2025-10-20") + minutes("2025-10-21", "13:45", 60)[2:] + minutes("2025-10-23")
    report = quality_report(flat(ts))
    assert report.sessions_expected == 3  # 22 Oct (Diwali Balipratipada) is a holiday
    assert report.missing_sessions == ()
    assert report.expected_bars == 375 + 60 + 375
    assert report.worst_sessions == (SessionGap(dt.date(2025, 10, 21), 60, 58),)


def test_5m_bars_count_missing_bars_and_off_grid_bars():
    ts = [t for t in minutes("2026-01-14") if (t - ist("2026-01-14 09:15")) % (5 * 60 * 10**9) == 0]
    ts = [*ts[:-1], ist("2026-01-14 15:27")]  # 15:25 missing, 15:27 off the 5m grid
    report = quality_report(flat(ts, timeframe="5m"))
    assert report.expected_bars == 75
    assert report.missing_bars == 1
    assert report.off_grid_bars == 1
    assert "missing 5m bars" in render_text(report)


def test_daily_bars_are_matched_to_sessions_by_ist_date():
    days = ["2026-01-13", "2026-01-15", "2026-01-16", "2026-01-19"]  # 14 missing, 15 holiday
    report = quality_report(flat([ist(f"{d} 00:00") for d in days], timeframe="1d"))
    assert report.sessions_expected == 4
    assert report.missing_sessions == (dt.date(2026, 1, 14),)
    assert report.outside_session_bars == 1
    assert report.missing_bars is None and report.expected_bars is None


def test_raw_arrays_count_bad_rows_duplicates_and_disorder():
    ts = minutes("2026-01-16")
    ts[20] = ts[19]  # duplicate; 09:35 is then missing
    ts[30], ts[31] = ts[31], ts[30]  # one row out of order
    n = len(ts)
    o = np.full(n, 10_000)
    h, lo, c, v = o + 10, o - 10, o.copy(), np.full(n, 100)
    h[10] = lo[10] - 1  # high below low
    c[12] = h[12] + 5  # close above high
    v[40] = -5
    report = quality_of_arrays("INFY", ts, o, h, lo, c, v)
    assert report.raw_checked and report.timeframe == "1m"
    assert report.bad_ohlc_rows == 2 and report.bad_ohlc_examples == (10, 12)
    assert report.negative_volume_rows == 1
    assert report.duplicate_rows == 1
    assert report.unsorted_rows == 1
    assert report.missing_bars == 1
    assert report.worst_sessions == (SessionGap(dt.date(2026, 1, 16), 375, 374),)
    text = render_text(report)
    assert "bad OHLC rows      2 (rows 10, 12)" in text
    assert "duplicate rows     1" in text
    assert "out-of-order rows  1" in text


def test_json_and_text_rendering():
    report = quality_report(defective_series())
    data = json.loads(json.dumps(report.as_json()))
    assert data["first_bar"] == "2026-01-13T09:15:00+05:30"
    assert data["missing_sessions"] == ["2026-01-14"]
    assert data["worst_sessions"] == [{"date": "2026-01-16", "expected": 375, "present": 374}]
    assert data["zero_volume_runs"] == [
        {"start": "2026-01-19T11:00:00+05:30", "end": "2026-01-19T11:06:00+05:30", "bars": 7}
    ]
    assert data["ok"] is False
    text = render_text(report)
    assert text.splitlines()[0] == "Data quality: INFY 1m on NSE - PROBLEMS FOUND"
    assert "sessions           3 of 4 expected" in text
    assert "missing sessions   2026-01-14" in text
    assert "missing minutes    1 of 1,125 in 1 session(s)" in text
    assert "2026-01-16     1 missing (374 of 375)" in text
    assert "outside sessions   1" in text
    assert "2026-01-19T11:00:00+05:30 .. 2026-01-19T11:06:00+05:30  7 bars" in text
    assert "0 (validated series)" in text
    empty = BarSeries("X", "1m", *(np.zeros(0, dtype=np.int64) for _ in range(6)))
    assert render_text(quality_report(empty)).endswith("no bars")
