"""Choosing stored bars for a run (engine/data/stored_bars.py) on a real store: the asked
timeframe as stored, or resampled from finer bars (and said so), and one clear message when
the store cannot answer."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from engine.data.resample import resample
from engine.data.stored_bars import NoBarsError, choose_bars, finest_stored, series_for
from tests.engine.store_helpers import DAY1, make_batch, session_open_ns

SESSIONS = 3  # 2024-01-02 .. 04, all NSE sessions
BARS = 375 * SESSIONS


@pytest.fixture
def stocked(store):
    store.import_batch(make_batch("minutes.csv", "INFY", "TCS", n=BARS))
    daily = make_batch("daily.csv", "WIPRO", n=SESSIONS)
    opens = [session_open_ns(date(2024, 1, 2 + k)) for k in range(SESSIONS)]
    daily.bars["ts"] = np.array(opens, dtype=np.int64)
    daily.bars["timeframe"] = "1d"
    store.import_batch(daily)
    return store


def test_the_finest_stored_bars_come_as_they_are(stocked):
    chosen = choose_bars(stocked, ["INFY", "nse:tcs"])
    assert [s.symbol for s in chosen.series] == ["INFY", "TCS"]
    assert [len(s) for s in chosen.series] == [BARS, BARS]
    assert chosen.resampled_from == {}
    assert finest_stored(stocked, "WIPRO") == "1d"


def test_a_coarser_timeframe_is_resampled_from_the_stored_minutes_and_says_so(stocked):
    chosen = choose_bars(stocked, ["INFY"], "15m", start=DAY1, end=date(2024, 1, 3))
    bars = chosen.series[0]
    minutes = stocked.read_bars("INFY", "1m", DAY1, date(2024, 1, 3))
    expected = resample(minutes, "15m", "NSE").series
    assert bars.timeframe == "15m" and len(bars) == 2 * 25
    for column in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(bars, column), getattr(expected, column))
    assert chosen.resampled_from == {"INFY": "1m"}
    assert pd.Timestamp(bars.ts[-1]).date() == date(2024, 1, 3)


@pytest.mark.parametrize(
    ("ask", "message"),
    [
        (lambda s: choose_bars(s, ["NOPE"]), "NOPE is not in the store; `artha data list`"),
        (lambda s: choose_bars(s, ["BSE:INFY"]), "INFY is not in the store on BSE"),
        (
            lambda s: choose_bars(s, ["INFY"], start=date(2025, 1, 1)),
            "no 1m bars of INFY between 2025-01-01 and the end",
        ),
        (
            lambda s: series_for(s, "WIPRO", "15m"),
            r"WIPRO has no bars that make 15m bars \(stored: 1d\)",
        ),
    ],
)
def test_what_the_store_cannot_answer_is_named(stocked, ask, message):
    with pytest.raises(NoBarsError, match=message):
        ask(stocked)
