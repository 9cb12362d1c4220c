"""The SDK's session clock (strategies/sdk/clock.py) and whole-lot sizing, on hand-worked values.

Expected IST days and minutes are worked out with datetime and a fixed +05:30 zone, not with
engine/ist.py, which the helpers are built on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest

from strategies.sdk import (
    MINUTES_PER_DAY,
    NS_PER_MINUTE,
    first_bar_at_or_after,
    ist_close_minutes,
    ist_day,
    ist_days,
    ist_open_minutes,
    ist_time_param,
    whole_lots,
)

PLUS_0530 = timezone(timedelta(hours=5, minutes=30))
EPOCH = date(1970, 1, 1)


def ns(year: int, month: int, day: int, hour: int, minute: int) -> int:
    """UTC ns of a UTC wall time."""
    moment = datetime(year, month, day, hour, minute, tzinfo=UTC)
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000_000


def expected(ts_ns: int) -> tuple[int, int]:
    """(IST day number, IST minute of the day) by datetime."""
    seconds, _ = divmod(ts_ns, 1_000_000_000)
    wall = datetime.fromtimestamp(seconds, tz=PLUS_0530)
    return (wall.date() - EPOCH).days, wall.hour * 60 + wall.minute


def test_constants():
    assert NS_PER_MINUTE == 60_000_000_000
    assert MINUTES_PER_DAY == 1440


@pytest.mark.parametrize(
    ("text", "minute"), [("00:00", 0), ("09:15", 555), ("15:30", 930), ("23:59", 1439)]
)
def test_a_time_parameter_is_minutes_after_midnight(text, minute):
    assert ist_time_param(text, "cutoff") == minute


@pytest.mark.parametrize("text", ["12-00", "9:15", "09:5", "24:00", "12:60", "", "ab:cd", "+9:15"])
def test_a_bad_time_parameter_is_refused_with_its_name(text):
    with pytest.raises(ValueError, match=r"^entry_until must be a time HH:MM \(IST\), got "):
        ist_time_param(text, "entry_until")


@pytest.mark.parametrize(
    ("ts_ns", "day", "minute"),
    [
        (0, 0, 330),  # 00:00 UTC on 1970-01-01 is 05:30 IST the same day
        (-330 * NS_PER_MINUTE, 0, 0),  # 18:30 UTC the day before is 00:00 IST
        (-330 * NS_PER_MINUTE - 1, -1, 1439),  # a nanosecond earlier: 23:59 IST, day -1
        (ns(2024, 3, 15, 0, 0), (date(2024, 3, 15) - EPOCH).days, 330),
        (ns(2024, 3, 14, 18, 29), (date(2024, 3, 14) - EPOCH).days, 1439),
        (ns(2024, 3, 14, 18, 30), (date(2024, 3, 15) - EPOCH).days, 0),
        (ns(2024, 12, 31, 18, 29), (date(2024, 12, 31) - EPOCH).days, 1439),
        (ns(2024, 12, 31, 18, 30), (date(2025, 1, 1) - EPOCH).days, 0),  # new year in IST
        (ns(2024, 12, 31, 23, 59), (date(2025, 1, 1) - EPOCH).days, 329),
        (ns(2025, 1, 1, 3, 45), (date(2025, 1, 1) - EPOCH).days, 555),  # 09:15 IST
    ],
)
def test_ist_day_and_minute_at_the_boundaries(ts_ns, day, minute):
    assert ist_day(ts_ns) == day
    assert ist_days(np.array([ts_ns]))[0] == day
    assert ist_open_minutes(np.array([ts_ns]))[0] == minute
    assert ist_close_minutes(np.array([ts_ns]), 5)[0] == minute + 5


def test_every_minute_across_a_year_matches_datetime():
    start = ns(2023, 12, 31, 0, 0)
    ts = start + np.arange(0, 367 * 1440, 7, dtype=np.int64) * NS_PER_MINUTE + 123
    days, minutes = ist_days(ts), ist_open_minutes(ts)
    assert days.dtype == np.int64 and minutes.dtype == np.int64
    for i in range(0, ts.shape[0], 97):
        assert (int(days[i]), int(minutes[i])) == expected(int(ts[i]))
        assert ist_day(int(ts[i])) == days[i]
    assert ist_days(ts[-1:])[0] == (date(2025, 1, 1) - EPOCH).days


def test_close_minutes_stay_on_the_bar_day():
    ts = np.array([ns(2024, 3, 15, 3, 44), ns(2024, 3, 15, 18, 29)])  # 09:14 and 23:59 IST
    closes = ist_close_minutes(ts, 1)
    assert closes.dtype == np.float64
    assert closes.tolist() == [555.0, 1440.0]


def test_first_bar_at_or_after_fires_once_a_day():
    minutes = np.array([554.0, 555.0, 556.0, 554.0, 556.0, 557.0])
    assert first_bar_at_or_after(minutes, 555).tolist() == [False, True, False, False, True, False]
    assert first_bar_at_or_after(np.array([]), 555).tolist() == []


@pytest.mark.parametrize(
    ("value", "price", "lot", "units"),
    [
        (200_000, 1234.5, 1, 162),  # 162 x 1234.5 = 199,989; 163 would be 201,223.5
        (200_000, 250.0, 75, 750),  # a lot is 18,750: 10 lots = 187,500, 11 = 206,250
        (100_000, 100.0, 10, 1_000),  # exactly 100 lots
        (10_000, 500.0, 50, 50),  # one lot costs 25,000: still one lot
        (10_000, 0.0, 50, 50),  # no price: one lot
        (0, 100.0, 25, 25),
    ],
)
def test_whole_lots_rounds_down_to_at_least_one_lot(value, price, lot, units):
    assert whole_lots(value, price, lot) == units


@pytest.mark.parametrize(
    ("value", "price", "lot", "units"),
    [
        (200_000, 250.0, 75, 750),
        (10_000, 500.0, 50, 0),  # one lot costs more than the value: no trade
        (10_000, 0.0, 50, 0),
        (-5_000, 100.0, 1, 0),
        (0, 100.0, 1, 0),
    ],
)
def test_whole_lots_may_be_none(value, price, lot, units):
    assert whole_lots(value, price, lot, at_least_one=False) == units
