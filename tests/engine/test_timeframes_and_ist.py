"""One Timeframe type and one IST conversion module (issue 11): checked against what the
copies they replaced computed, and against pandas."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from engine.ist import (
    IST,
    day_from_number,
    day_number,
    ist_date_of,
    ist_datetime,
    ist_day_number,
    ist_day_numbers,
    ist_iso,
    ist_midnight_ns,
    ns_of,
)
from engine.timeframes import TIMEFRAME_NAMES, TIMEFRAMES, Timeframe

# The table the CLI had before (app/commands/data.py: minutes, and "a stored timeframe makes
# the asked one when it is the same or divides it"; daily bars make only daily bars).
_OLD_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "1d": 37_500}


def _old_divides(stored: str, wanted: str) -> bool:
    if stored == wanted:
        return True
    if stored == "1d":
        return False
    return wanted == "1d" or _OLD_MINUTES[wanted] % _OLD_MINUTES[stored] == 0


@pytest.mark.parametrize("stored", TIMEFRAME_NAMES)
@pytest.mark.parametrize("wanted", TIMEFRAME_NAMES)
def test_makes_answers_as_the_cli_table_did(stored, wanted):
    assert Timeframe(stored).makes(Timeframe(wanted)) == _old_divides(stored, wanted)


def test_labels_are_the_stored_strings_finest_first_and_a_day_is_1440_minutes():
    assert TIMEFRAME_NAMES == ("1m", "3m", "5m", "15m", "30m", "60m", "1d")
    assert Timeframe("15m") == "15m" and Timeframe.D1.minutes == 1_440
    assert list(TIMEFRAMES.values()) == sorted(TIMEFRAMES.values())
    assert TIMEFRAMES["1d"] == 86_400 * 10**9 and not Timeframe.D1.intraday


def test_ist_conversions_agree_with_pandas_on_random_times():
    rng = np.random.default_rng(5)
    # 1970 to 2100, with nanosecond parts, plus session edges
    stamps = rng.integers(0, 4_102_444_800 * 10**9, 20_000, dtype=np.int64)
    stamps[:4] = [0, 1_717_386_300 * 10**9, 1_717_408_799_999_999_999, 4_102_444_799 * 10**9]
    local = pd.to_datetime(stamps, utc=True).tz_convert("Asia/Kolkata")
    assert [ist_iso(int(t)) for t in stamps] == [t.isoformat() for t in local]
    days = ist_day_numbers(stamps)
    assert [day_from_number(int(d)) for d in days] == [t.date() for t in local]
    for t, moment in zip(stamps[:500], local[:500], strict=True):
        assert ist_date_of(int(t)) == moment.date() == day_from_number(ist_day_number(int(t)))
        assert ist_datetime(int(t)) == moment.to_pydatetime(warn=False)
        assert ist_datetime(int(t)).tzinfo is IST


def test_round_trips_are_exact():
    moment = datetime(2024, 6, 3, 9, 15, 0, 123456, tzinfo=IST)
    assert ist_datetime(ns_of(moment)) == moment
    assert day_from_number(day_number(date(2024, 6, 3))) == date(2024, 6, 3)
    assert ist_iso(ist_midnight_ns(date(2024, 6, 3))) == "2024-06-03T00:00:00+05:30"
    with pytest.raises(ValueError, match="no time zone"):
        ns_of(datetime(2024, 6, 3))
