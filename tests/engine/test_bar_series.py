"""BarSeries built from arrays (int paise or rupees, validation naming the bar and time) and
the timeframe inferred from the median bar spacing."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from engine.data import BarDataError, BarSeries, infer_timeframe

MIN = 60 * 10**9
DAY = 86_400 * 10**9
# 2024-01-01 09:15 IST == 03:45 UTC
T0 = int(pd.Timestamp("2024-01-01T03:45:00Z").value)


# --- timeframe inference ------------------------------------------------------------------------


def test_infer_timeframe_uses_median_spacing():
    # 1-minute bars over three sessions with overnight gaps
    sessions = [T0 + d * DAY + np.arange(375) * MIN for d in (0, 1, 4)]
    assert infer_timeframe(np.concatenate(sessions).astype(np.int64)) == "1m"
    five = np.concatenate([T0 + d * DAY + np.arange(75) * 5 * MIN for d in range(3)])
    assert infer_timeframe(five.astype(np.int64)) == "5m"
    days = pd.bdate_range("2024-01-01", "2024-03-31").drop(pd.Timestamp("2024-01-26"))
    daily = (days.tz_localize("Asia/Kolkata").as_unit("ns").asi8).astype(np.int64)
    assert infer_timeframe(daily) == "1d"  # weekends and Republic Day do not matter


def test_infer_timeframe_refuses_what_it_cannot_name():
    with pytest.raises(BarDataError, match="from 1 bar"):
        infer_timeframe(np.array([T0], dtype=np.int64))
    with pytest.raises(BarDataError, match="not a supported timeframe"):
        infer_timeframe(T0 + np.arange(10, dtype=np.int64) * 2 * MIN)


# --- BarSeries built from arrays ----------------------------------------------------------------


def arrays(n: int = 5) -> dict[str, np.ndarray]:
    ts = T0 + np.arange(n, dtype=np.int64) * MIN
    o = np.full(n, 10000, dtype=np.int64)
    return {
        "ts": ts,
        "open": o,
        "high": o + 50,
        "low": o - 50,
        "close": o + 25,
        "volume": np.arange(n, dtype=np.int64),
    }


def test_bar_series_from_int_paise_arrays():
    a = arrays()
    series = BarSeries("SBIN", "1m", **a)
    assert len(series) == 5 and series.close[0] == 10025
    with pytest.raises(ValueError):
        series.close[0] = 1  # frozen: the arrays are read-only views
    a["close"][0] = 10010  # ... of the caller's arrays, which stay writable
    part = series.slice(1, 3)
    assert isinstance(part, BarSeries)
    assert part.ts.tolist() == a["ts"][1:3].tolist() and part.timeframe == "1m"
    assert series.price(np.int64(10025)) == Decimal("100.25")
    assert "SBIN 1m, 5 bars" in repr(series)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda a: a.update(high=a["low"] - 1), "SBIN bar 0 at 2024-01-01T09:15:00+05:30: high"),
        (lambda a: a["ts"].__setitem__(3, a["ts"][2]), "SBIN bar 3 at 2024-01-01T09:17:00+05:30:"),
        (lambda a: a["volume"].__setitem__(4, -1), "bar 4 at 2024-01-01T09:19:00+05:30: volume"),
        (lambda a: a.update(open=a["open"].astype(np.float64)), "open must be a 1-D int64"),
        (lambda a: a.update(close=a["close"][:3]), "close has 3 values, ts has 5"),
    ],
)
def test_bar_series_validation_names_bar_and_time(change, expected):
    a = arrays()
    change(a)
    with pytest.raises(BarDataError, match=re.escape(expected)) as caught:
        BarSeries("SBIN", "1m", **a)
    assert caught.value.path is None


def test_duplicate_in_series_names_previous_bar():
    a = arrays()
    a["ts"][3] = a["ts"][2]
    with pytest.raises(BarDataError, match=r"duplicate timestamp .*: bar 2 has the same time"):
        BarSeries("SBIN", "1m", **a)


def test_bad_timeframe_or_symbol():
    with pytest.raises(BarDataError, match="timeframe '2m' is not one of"):
        BarSeries("SBIN", "2m", **arrays())
    with pytest.raises(BarDataError, match="symbol"):
        BarSeries("", "1m", **arrays())


def test_from_arrays_float_rupees_datetimes_and_inference():
    when = pd.date_range("2024-01-01 09:15", periods=3, freq="5min", tz="Asia/Kolkata")
    series = BarSeries.from_arrays(
        "INFY",
        when,
        [100.05, 1234.10, 0.05],
        [100.10, 1234.10, 0.10],
        [100.00, 1234.00, 0.05],
        [100.05, 1234.05, 0.05],
        np.array([1.0, 2.0, 3.0]),
    )
    assert series.timeframe == "5m"
    assert series.ts.tolist() == [T0, T0 + 5 * MIN, T0 + 10 * MIN]
    assert series.open.tolist() == [10005, 123410, 5]
    assert series.volume.tolist() == [1, 2, 3]
    decimals = BarSeries.from_arrays(
        "INFY", when, *([[Decimal("100.05"), "100.10", 100]] * 4), [1, 2, 3]
    )
    assert decimals.close.tolist() == [10005, 10010, 10000]
    paise = BarSeries.from_arrays(
        "INFY",
        when.as_unit("ns").asi8,
        *([np.array([10005, 10005, 10005])] * 4),
        [1, 2, 3],
        prices_in_paise=True,
    )
    assert paise.high.tolist() == [10005] * 3


def test_from_arrays_refuses_sub_paise_naive_times_and_mismatches():
    when = pd.date_range("2024-01-01 09:15", periods=3, freq="min", tz="Asia/Kolkata")
    prices = [100.0, 100.0, 100.0]
    with pytest.raises(BarDataError, match=r"INFY bar 1 at .*: close 100.001 has more than 2"):
        BarSeries.from_arrays("INFY", when, prices, prices, prices, [100, 100.001, 100], [1, 1, 1])
    with pytest.raises(BarDataError, match="no time zone"):
        BarSeries.from_arrays(
            "INFY", when.tz_localize(None), prices, prices, prices, prices, [1] * 3
        )
    with pytest.raises(BarDataError, match="volume has shape"):
        BarSeries.from_arrays("INFY", when, prices, prices, prices, prices, [1, 1])
    with pytest.raises(BarDataError, match="must be int paise"):
        BarSeries.from_arrays("INFY", when, *[prices] * 4, [1] * 3, prices_in_paise=True)
    with pytest.raises(BarDataError, match=r"volume 1\.5 is not a whole number"):
        BarSeries.from_arrays("INFY", when, *[prices] * 4, [1, 1.5, 2])
    with pytest.raises(BarDataError, match="timeframe '5m' was given"):
        BarSeries.from_arrays("INFY", when, *[prices] * 4, [1] * 3, timeframe="5m")
    with pytest.raises(BarDataError, match=r"bar 2 .* earlier than"):  # order beats spacing
        BarSeries.from_arrays("INFY", when[[0, 2, 1]], *[prices] * 4, [1] * 3)
