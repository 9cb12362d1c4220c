"""Time labels on the NSE session clock: real bars only, boundaries only, sensible units at
every zoom, computed from the visible slice; and the session breaks."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from app.gui.chart.time_axis import MIN_LABEL_PX, TimeTicks, session_starts
from engine.ist import IST_OFFSET_NS, NS_PER_DAY, ist_datetime

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from synthetic_bars import session_clock

Clock = tuple[np.ndarray, np.ndarray]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pytest.fixture(scope="module")
def clock() -> Clock:
    ts, starts = session_clock(1_000_000)
    return ts, starts


def ticks_for(ts: np.ndarray, x0: float, x1: float, width: float = 1500.0) -> TimeTicks:
    ticks = TimeTicks()
    ticks.set_times(ts)
    ticks.ticks(x0, x1, width)
    return ticks


def days(ts: np.ndarray) -> np.ndarray:
    return (ts + IST_OFFSET_NS) // NS_PER_DAY


def assert_spaced(indices: list[int], x0: float, x1: float, width: float, kind: str) -> None:
    px = np.diff(indices) * width / (x1 - x0)
    assert (px >= MIN_LABEL_PX[kind] - 1e-9).all()


def test_session_starts_match_the_day_changes(clock: Clock) -> None:
    ts, starts = clock
    d = days(ts)
    brute = np.flatnonzero(np.diff(d) != 0) + 1
    got = session_starts(ts, 1, len(ts) - 1)
    np.testing.assert_array_equal(got, brute)
    np.testing.assert_array_equal(got, starts[starts >= 1])  # the clock's own session list


def test_a_day_is_labelled_by_the_minute_on_a_round_grid(clock: Clock) -> None:
    ts, _ = clock
    d = days(ts)
    first = int(np.flatnonzero(d == d[-1])[0])  # the last session's 09:15 bar
    x0, x1 = first - 0.5, first + 374.5
    tt = TimeTicks()
    tt.set_times(ts)
    ticks = tt.ticks(x0, x1, 1500.0)
    assert 6 <= len(ticks) <= 1500 / MIN_LABEL_PX["minute"]
    minutes = [t for t in ticks if not t.major]
    for tick in ticks:
        moment = ist_datetime(int(ts[tick.index]))
        if tick.major:
            assert tick.index == first and tick.text == f"{moment.day} {MONTHS[moment.month - 1]}"
        else:
            assert tick.text == f"{moment.hour:02d}:{moment.minute:02d}"
    step = int(tt.unit.removesuffix("min"))
    assert step in (15, 30)  # 375 bars over 1500 px: a label every 15 or 30 minutes
    assert all(ist_datetime(int(ts[t.index])).minute % step == 0 for t in minutes)
    assert_spaced([t.index for t in ticks], x0, x1, 1500.0, "minute")


def test_a_morning_is_labelled_finer_than_a_day(clock: Clock) -> None:
    ts, _ = clock
    d = days(ts)
    first = int(np.flatnonzero(d == d[-1])[0])
    tt = TimeTicks()
    tt.set_times(ts)
    tt.ticks(first - 0.5, first + 180, 1500.0)
    morning = int(tt.unit.removesuffix("min"))
    tt.ticks(first - 0.5, first + 374.5, 1500.0)
    assert morning < int(tt.unit.removesuffix("min"))


def test_a_month_is_labelled_at_session_starts_only(clock: Clock) -> None:
    ts, starts = clock
    x0, x1 = len(ts) - 21 * 375 - 0.5, len(ts) - 0.5
    tt = TimeTicks()
    tt.set_times(ts)
    ticks = tt.ticks(x0, x1, 1500.0)
    assert 8 <= len(ticks) <= 21
    session_set = set(starts.tolist())
    for tick in ticks:
        assert tick.index in session_set  # the first bar of a session: never a closed day
        moment = ist_datetime(int(ts[tick.index]))
        expected = (
            f"{MONTHS[moment.month - 1]} {moment.year}"
            if tick.major
            else f"{moment.day} {MONTHS[moment.month - 1]}"
        )
        assert tick.text == expected
    assert_spaced([t.index for t in ticks], x0, x1, 1500.0, "session")


@pytest.mark.parametrize(
    ("width", "kind"), [(1500.0, "year"), (6000.0, "month"), (16000.0, "month")]
)
def test_the_whole_series_is_labelled_by_months_or_years(
    clock: Clock, width: float, kind: str
) -> None:
    ts, _ = clock
    x0, x1 = -0.5, len(ts) - 0.5
    tt = TimeTicks()
    tt.set_times(ts)
    ticks = tt.ticks(x0, x1, width)
    assert tt.unit.endswith(kind)
    assert len(ticks) >= 5
    for tick in ticks:
        here = ist_datetime(int(ts[tick.index]))
        before = ist_datetime(int(ts[tick.index - 1]))
        if kind == "year" or tick.text.isdigit():
            assert here.year != before.year and tick.text == str(here.year)
        else:
            assert (here.year, here.month) != (before.year, before.month)
            assert tick.text == f"{MONTHS[here.month - 1]} {here.year}"
    assert_spaced([t.index for t in ticks], x0, x1, width, kind)


def test_labels_are_cached_per_view_and_empty_outside_the_bars(clock: Clock) -> None:
    ts, _ = clock
    tt = TimeTicks()
    tt.set_times(ts)
    first = tt.ticks(5000.0, 5400.0, 1500.0)
    assert tt.ticks(5000.0, 5400.0, 1500.0) is first
    assert tt.ticks(len(ts) + 10.0, len(ts) + 500.0, 1500.0) == []
    assert tt.ticks(-600.0, -10.0, 1500.0) == []
    tt.set_times(np.empty(0, dtype=np.int64))
    assert tt.ticks(0.0, 100.0, 1500.0) == []


def test_daily_bars_are_labelled_by_date_not_by_minute() -> None:
    from engine.calendar import get_calendar

    sessions = get_calendar("NSE").sessions(
        datetime(2025, 1, 1).date(), datetime(2025, 12, 31).date()
    )
    ts = np.array([int(s.open.timestamp()) * 1_000_000_000 for s in sessions], dtype=np.int64)
    tt = TimeTicks()
    tt.set_times(ts)
    ticks = tt.ticks(-0.5, 60.5, 1500.0)  # ~three months of daily bars
    assert ticks and not any(":" in t.text for t in ticks)


def test_repeats_are_dropped_like_np_unique() -> None:
    """session_starts and the calendar labels drop repeated indices without np.unique (whose
    first call imports numpy.ma inside the chart's first frame)."""
    from app.gui.chart.time_axis import _unique_sorted

    rng = np.random.default_rng(4)
    for size in (0, 1, 2, 50):
        found = np.sort(rng.integers(0, 10, size)).astype(np.intp)
        np.testing.assert_array_equal(_unique_sorted(found), np.unique(found))
