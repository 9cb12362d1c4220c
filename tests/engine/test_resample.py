"""Resampling on the exchange clock, checked against bars written out by hand."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from engine.calendar import IST
from engine.data import BarDataError, BarSeries
from engine.data.resample import resample

MIN = 60 * 10**9


def ist(text: str) -> int:
    """'2026-01-14 09:15' (IST wall clock) as int64 UTC ns."""
    return int(pd.Timestamp(text, tz="Asia/Kolkata").value)


def rs(text: str) -> int:
    """Rupees as written ('60.25') to paise."""
    return int(Decimal(text) * 100)


Bar = tuple[str, str, str, str, str, int]  # IST time, open, high, low, close (rupees), volume


def bars(symbol: str, rows: list[Bar], timeframe: str = "1m") -> BarSeries:
    cols = list(zip(*rows, strict=True))
    return BarSeries(
        symbol,
        timeframe,
        np.array([ist(t) for t in cols[0]], dtype=np.int64),
        *(np.array([rs(v) for v in col], dtype=np.int64) for col in cols[1:5]),
        np.array(cols[5], dtype=np.int64),
    )


Row = tuple[str, int, int, int, int, int]  # the same with prices in paise


def rows_of(series: BarSeries) -> list[Row]:
    times = series.timestamps().strftime("%Y-%m-%d %H:%M")
    cols = (series.open, series.high, series.low, series.close, series.volume)
    return [(t, *(int(c[i]) for c in cols)) for i, t in enumerate(times)]  # type: ignore[misc]


def norm(rows: list[Bar]) -> list[Row]:
    """Hand-written rows (rupees as text) in paise, to compare with rows_of."""
    return [(t, rs(o), rs(h), rs(lo), rs(c), v) for t, o, h, lo, c, v in rows]


def full_session(day: str, open_hhmm: str = "09:15", minutes: int = 375) -> list[Bar]:
    """Minute k (1-based) opens at k rupees: high k+1, low k-0.5, close k+0.25, volume k."""
    start = pd.Timestamp(f"{day} {open_hhmm}")
    return [
        (
            (start + pd.Timedelta(minutes=k - 1)).strftime("%Y-%m-%d %H:%M"),
            f"{k}",
            f"{k + 1}",
            f"{k - 0.5}",
            f"{k + 0.25}",
            k,
        )
        for k in range(1, minutes + 1)
    ]


FULL = bars("X", full_session("2026-01-14"))


def test_60m_bins_anchor_at_0915_and_keep_the_short_last_bar():
    # bin j holds minutes 60j+1 .. 60j+60; the 15:15 bin only minutes 361..375 (15 minutes).
    expected = [
        ("2026-01-14 09:15", "1", "61", "0.5", "60.25", 1830),
        ("2026-01-14 10:15", "61", "121", "60.5", "120.25", 5430),
        ("2026-01-14 11:15", "121", "181", "120.5", "180.25", 9030),
        ("2026-01-14 12:15", "181", "241", "180.5", "240.25", 12630),
        ("2026-01-14 13:15", "241", "301", "240.5", "300.25", 16230),
        ("2026-01-14 14:15", "301", "361", "300.5", "360.25", 19830),
        ("2026-01-14 15:15", "361", "376", "360.5", "375.25", 5520),
    ]
    result = resample(FULL, "60m")
    assert result.series.timeframe == "60m"
    assert result.dropped == 0 and result.note == ""
    assert rows_of(result.series) == norm(expected)


def test_30m_ends_with_the_quarter_hour_15_15_to_15_30():
    result = resample(FULL, "30m").series
    assert len(result) == 13
    assert rows_of(result)[:2] == norm(
        [
            ("2026-01-14 09:15", "1", "31", "0.5", "30.25", 465),
            ("2026-01-14 09:45", "31", "61", "30.5", "60.25", 1365),
        ]
    )
    assert rows_of(result)[-2:] == norm(
        [
            ("2026-01-14 14:45", "331", "361", "330.5", "360.25", 10365),
            ("2026-01-14 15:15", "361", "376", "360.5", "375.25", 5520),
        ]
    )


@pytest.mark.parametrize(
    ("timeframe", "count", "last"),
    [
        ("3m", 125, ("2026-01-14 15:27", "373", "376", "372.5", "375.25", 1122)),
        ("5m", 75, ("2026-01-14 15:25", "371", "376", "370.5", "375.25", 1865)),
        ("15m", 25, ("2026-01-14 15:15", "361", "376", "360.5", "375.25", 5520)),
    ],
)
def test_short_timeframes_divide_the_session_exactly(timeframe, count, last):
    result = resample(FULL, timeframe).series
    assert len(result) == count
    assert rows_of(result)[0][0] == "2026-01-14 09:15"
    assert rows_of(result)[-1] == norm([last])[0]


def test_daily_is_one_bar_per_session_stamped_at_the_open():
    # sum of volumes 1..375 = 375 * 376 / 2
    expected = [("2026-01-14 09:15", "1", "376", "0.5", "375.25", 70500)]
    assert rows_of(resample(FULL, "1d").series) == norm(expected)


def test_missing_minutes_still_bin_by_the_clock():
    rows = [
        ("2026-01-16 09:15", "100", "101", "99", "100.5", 10),
        ("2026-01-16 09:16", "100.5", "102", "100", "101", 20),
        # 09:17 missing
        ("2026-01-16 09:18", "101", "101.5", "98", "99", 30),
        # 09:19, 09:20 missing: the 09:20 bin starts with its second minute
        ("2026-01-16 09:21", "99", "99.5", "97.5", "98", 40),
        ("2026-01-16 09:29", "98", "103", "98", "102", 50),
        # 09:30 .. 09:34 all missing: that bin is absent, not an empty bar
        ("2026-01-16 09:35", "102", "102", "101", "101.5", 60),
    ]
    expected = [
        ("2026-01-16 09:15", "100", "102", "98", "99", 60),
        ("2026-01-16 09:20", "99", "99.5", "97.5", "98", 40),
        ("2026-01-16 09:25", "98", "103", "98", "102", 50),
        ("2026-01-16 09:35", "102", "102", "101", "101.5", 60),
    ]
    assert rows_of(resample(bars("X", rows), "5m").series) == norm(expected)


def test_muhurat_session_bins_anchor_at_its_own_open():
    muhurat = full_session("2025-10-21", "13:45", 60)  # 13:45 .. 14:44
    result = resample(bars("X", muhurat), "15m")
    assert rows_of(result.series) == norm(
        [
            ("2025-10-21 13:45", "1", "16", "0.5", "15.25", 120),
            ("2025-10-21 14:00", "16", "31", "15.5", "30.25", 345),
            ("2025-10-21 14:15", "31", "46", "30.5", "45.25", 570),
            ("2025-10-21 14:30", "46", "61", "45.5", "60.25", 795),
        ]
    )
    hour = resample(bars("X", muhurat), "60m").series
    assert rows_of(hour) == norm([("2025-10-21 13:45", "1", "61", "0.5", "60.25", 1830)])
    assert rows_of(resample(bars("X", muhurat), "1d").series)[0][0] == "2025-10-21 13:45"


def test_muhurat_day_has_no_morning_session():
    rows = [
        ("2025-10-21 09:15", "10", "10", "10", "10", 1),  # a normal-hours bar: outside
        ("2025-10-21 13:44", "10", "10", "10", "10", 1),  # muhurat pre-open: outside
        ("2025-10-21 13:45", "10", "11", "9", "10.5", 5),
        ("2025-10-21 14:44", "10.5", "12", "10", "11", 7),
        ("2025-10-21 14:45", "10", "10", "10", "10", 1),  # at the close: outside
    ]
    result = resample(bars("X", rows), "60m")
    assert result.dropped == 3
    assert "dropped 3 bars outside every NSE session" in result.note
    assert "2025-10-21T09:15:00+05:30 .. 2025-10-21T14:45:00+05:30" in result.note
    assert rows_of(result.series) == norm([("2025-10-21 13:45", "10", "12", "9", "11", 12)])


def test_holiday_between_two_sessions_has_no_bar_and_stray_bars_are_dropped():
    rows = [
        ("2026-01-14 09:00", "50", "50", "50", "50", 9),  # pre-open: outside
        ("2026-01-14 09:15", "100", "105", "95", "101", 10),
        ("2026-01-14 15:29", "101", "102", "100", "102", 20),
        ("2026-01-14 15:30", "102", "102", "102", "102", 30),  # the close: outside
        ("2026-01-15 10:00", "103", "103", "103", "103", 40),  # holiday: outside
        ("2026-01-16 09:15", "104", "110", "104", "109", 50),
        ("2026-01-16 15:29", "109", "109", "90", "91", 60),
    ]
    daily = resample(bars("X", rows), "1d")
    assert daily.dropped == 3
    assert rows_of(daily.series) == norm(
        [
            ("2026-01-14 09:15", "100", "105", "95", "102", 30),
            ("2026-01-16 09:15", "104", "110", "90", "91", 110),
        ]
    )
    hourly = resample(bars("X", rows), "60m").series
    assert [r[0] for r in rows_of(hourly)] == [
        "2026-01-14 09:15",
        "2026-01-14 15:15",
        "2026-01-16 09:15",
        "2026-01-16 15:15",
    ]


def test_resampled_bars_resample_again_with_the_same_anchor():
    two_days = bars("X", full_session("2026-01-14") + full_session("2026-01-16"))
    for fine, coarse in [("5m", "15m"), ("15m", "60m"), ("3m", "30m"), ("5m", "1d"), ("1m", "1m")]:
        direct = resample(two_days, coarse).series
        via = resample(resample(two_days, fine).series, coarse).series
        assert rows_of(via) == rows_of(direct), (fine, coarse)


def test_impossible_or_off_grid_resampling_is_refused():
    five = resample(FULL, "5m").series
    with pytest.raises(BarDataError, match="3m is not a whole multiple of 5m"):
        resample(five, "3m")
    with pytest.raises(BarDataError, match="not a whole multiple"):
        resample(resample(FULL, "15m").series, "5m")
    with pytest.raises(BarDataError, match="the input is daily"):
        resample(resample(FULL, "1d").series, "1d")
    with pytest.raises(BarDataError, match="not one of"):
        resample(FULL, "2h")
    skewed = bars("X", [("2026-01-14 09:17", "1", "1", "1", "1", 1)], "5m")
    with pytest.raises(BarDataError, match=r"bar 0 at 2026-01-14T09:17:00\+05:30 is not on the 5m"):
        resample(skewed, "15m")


def test_empty_series():
    empty = BarSeries("X", "1m", *(np.zeros(0, dtype=np.int64) for _ in range(6)))
    result = resample(empty, "5m")
    assert len(result.series) == 0 and result.dropped == 0 and result.warning == ""


@pytest.mark.parametrize(("day", "year"), [("2027-01-04", "2027"), ("1900-01-01", "1900")])
def test_unlisted_years_resample_on_provisional_sessions_with_a_warning(day, year):
    # A whole 375-minute day in a year no holiday list covers: sessions are the rule of
    # thumb (09:15-15:30), the bars resample as on any regular day and the result says so.
    start = pd.Timestamp(f"{day} 09:15", tz=IST)
    rows = [
        (
            (start + pd.Timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M"),
            "100",
            "101",
            "99",
            "100",
            10,
        )
        for i in range(375)
    ]
    result = resample(bars("X", rows), "15m")
    assert len(result.series) == 25 and result.dropped == 0
    assert int(result.series.volume.sum()) == 3750
    assert f"NSE holiday list for {year} not loaded" in result.warning
    daily = resample(bars("X", rows), "1d")
    assert len(daily.series) == 1 and daily.warning == result.warning


def naive_resample(series: BarSeries, minutes: int) -> list[Row]:
    """Reference: one bar at a time, sessions 09:15-15:30 (valid for January 2026)."""
    groups: dict[pd.Timestamp, list[int]] = {}
    for i, t in enumerate(series.timestamps()):
        start = t.normalize() + pd.Timedelta(hours=9, minutes=15)
        offset = (t - start) // pd.Timedelta(minutes=1)
        bin_start = start + pd.Timedelta(minutes=offset // minutes * minutes)
        groups.setdefault(bin_start, []).append(i)
    return [
        (
            start.strftime("%Y-%m-%d %H:%M"),
            int(series.open[idx[0]]),
            max(int(series.high[i]) for i in idx),
            min(int(series.low[i]) for i in idx),
            int(series.close[idx[-1]]),
            sum(int(series.volume[i]) for i in idx),
        )
        for start, idx in sorted(groups.items())
    ]


@pytest.mark.parametrize("timeframe", ["3m", "5m", "15m", "30m", "60m"])
def test_random_gaps_match_a_bar_by_bar_reference(timeframe):
    rng = np.random.default_rng(7)
    days = ["2026-01-12", "2026-01-13", "2026-01-14", "2026-01-16", "2026-01-19"]
    rows = [r for d in days for r in full_session(d)]
    keep = rng.random(len(rows)) < 0.6
    series = bars("X", [r for r, k in zip(rows, keep, strict=True) if k])
    expected = naive_resample(series, int(timeframe[:-1]))
    assert rows_of(resample(series, timeframe).series) == expected


def test_a_million_minutes_to_5m_well_under_a_second():
    from engine.calendar import get_calendar
    from engine.data.resample import ns_of

    sessions = get_calendar("NSE").sessions(dt.date(2012, 1, 1), dt.date(2026, 12, 31))
    ts = np.concatenate(
        [ns_of(s.open) + np.arange((ns_of(s.close) - ns_of(s.open)) // MIN) * MIN for s in sessions]
    )[:1_000_000]
    price = np.full(len(ts), 10_000, dtype=np.int64)
    series = BarSeries(
        "X", "1m", ts, price, price + 5, price - 5, price, np.ones(len(ts), np.int64)
    )
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = resample(series, "5m")
        best = min(best, time.perf_counter() - start)
    assert len(result.series) == 200_000
    assert best < 1.0, f"1,000,000 1m bars -> 5m took {best:.3f} s"


def test_volumes_too_large_to_add_up_are_refused_not_wrapped():
    """D21: int64-max volumes stored before the importer capped them summed to negatives."""
    from engine.calendar import get_calendar

    session = get_calendar("NSE").session(dt.date(2025, 6, 2))
    assert session is not None
    start = int(session.open.timestamp()) * 1_000_000_000
    ts = start + np.arange(375, dtype=np.int64) * 60_000_000_000
    prices = np.full(375, 10_000, dtype=np.int64)
    volume = np.full(375, 100, dtype=np.int64)
    volume[20] = volume[25] = 2**62  # each fits; the two in one 15m bar do not
    series = BarSeries("BIG", "1m", ts, prices, prices, prices, prices, volume)
    with pytest.raises(BarDataError, match=r"volumes of BIG are too large to add up \(the bar at "
                       r"2025-06-02T09:35:00\+05:30"):  # fmt: skip
        resample(series, "15m")
    assert resample(series, "5m").series.volume[4] == 2**62 + 400
