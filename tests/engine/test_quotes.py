"""Watchlist figures (engine/data/quotes.py) on a real store, checked against a plain
pandas re-derivation from the stored bars, and the rules a trader relies on: the official
daily close wins, unknown instruments are empty rather than errors, read-only stores work."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from engine.calendar import get_calendar
from engine.data.bar_series import BarSeries
from engine.data.demo import demo_batch, generate_demo
from engine.data.quotes import LOOKBACK_DAYS, SPARK_SESSIONS, Quote, read_quotes
from engine.data.store import MarketStore, StoreError
from engine.ist import ns_of
from tests.engine.store_helpers import session_open_ns

MINUTE = 60_000_000_000


def sessions(days: int, end: date = date(2024, 3, 28)) -> list[date]:
    """The last `days` regular NSE session dates up to `end` (from the calendar)."""
    found = get_calendar("NSE").sessions(date(end.year - 1, 1, 1), end)
    return [s.open.date() for s in found if s.kind == "regular"][-days:]


def daily_series(symbol: str, days: list[date], closes: list[int], volume: int = 1000):
    ts = np.array([session_open_ns(d) for d in days], dtype=np.int64)
    c = np.array(closes, dtype=np.int64)
    return BarSeries.from_arrays(
        symbol, ts, c, c + 10, c - 10, c, np.full(len(c), volume), "1d", prices_in_paise=True
    )


def minute_series(symbol: str, day: date, closes: list[int], volumes: list[int]):
    ts = session_open_ns(day) + np.arange(len(closes), dtype=np.int64) * MINUTE
    c = np.array(closes, dtype=np.int64)
    return BarSeries.from_arrays(
        symbol, ts, c, c + 5, c - 5, c, np.array(volumes), "1m", prices_in_paise=True
    )


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory):
    """Six SYNTHETIC instruments x 45 sessions of minute bars (realistic 375-bar days)."""
    path = tmp_path_factory.mktemp("quotes") / "artha.duckdb"
    series = generate_demo(count=6, days=45)
    with MarketStore.open(path) as store:
        store.import_batch(demo_batch(series))
        yield store, series


def oracle(series: BarSeries) -> Quote:
    """The same figures from the raw bars with pandas: sessions as IST dates."""
    frame = pd.DataFrame({"ts": series.ts, "close": series.close, "volume": series.volume})
    frame["day"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert("Asia/Kolkata").dt.date
    days = (
        frame.sort_values("ts").groupby("day").agg(close=("close", "last"), vol=("volume", "sum"))
    )
    return Quote(
        f"NSE:{series.symbol}",
        int(days["close"].iloc[-1]),
        int(days["close"].iloc[-2]),
        int(days["vol"].iloc[-1]),
        days.index[-1],
        int(series.ts[-1]),
        tuple(int(c) for c in days["close"].iloc[-SPARK_SESSIONS:]),
    )


def test_figures_of_minute_bars_equal_a_pandas_rederivation(demo_store):
    store, series = demo_store
    keys = [f"NSE:{s.symbol}" for s in series]
    quotes = read_quotes(store, keys)
    assert list(quotes) == keys  # in the order asked
    for s in series:
        expected = oracle(s)
        assert quotes[expected.key] == expected
        assert len(expected.closes) == SPARK_SESSIONS
    first = quotes[keys[0]]
    assert first.change == first.last - first.prev_close  # type: ignore[operator]
    assert first.change_pct == pytest.approx(first.change * 100 / first.prev_close)


def test_unknown_and_barless_instruments_come_back_empty_not_as_errors(demo_store):
    store, series = demo_store
    key = f"NSE:{series[0].symbol}"
    quotes = read_quotes(store, ["NSE:NOSUCH", key, "  ", "", key, "BSE:" + series[0].symbol])
    assert list(quotes) == ["NSE:NOSUCH", key, "BSE:" + series[0].symbol]
    assert quotes["NSE:NOSUCH"] == Quote("NSE:NOSUCH")
    assert quotes["NSE:NOSUCH"].change is None and quotes["NSE:NOSUCH"].change_pct is None
    assert quotes[key].last is not None
    assert read_quotes(store, []) == {}


def test_a_sparkline_needs_two_sessions(demo_store):
    with pytest.raises(ValueError, match="at least 2"):
        read_quotes(demo_store[0], ["NSE:X"], spark_sessions=1)


def test_the_official_daily_close_wins_over_the_last_minute(store):
    days = sessions(3)
    store.write_bars(daily_series("ACME", days, [10_000, 10_100, 10_250], volume=9_999))
    # the last day also has minutes whose last close (10_300) is not the official close
    store.write_bars(minute_series("ACME", days[-1], [10_200, 10_300], [40, 60]))
    # a day with minutes only, after the daily bars: its last minute is the close
    store.write_bars(minute_series("LATE", days[-1], [5_000, 5_005, 5_010], [1, 2, 3]))
    store.write_bars(daily_series("LATE", days[:2], [4_900, 4_950]))
    quotes = read_quotes(store, ["NSE:ACME", "NSE:LATE"])
    acme, late = quotes["NSE:ACME"], quotes["NSE:LATE"]
    assert (acme.last, acme.prev_close, acme.volume) == (10_250, 10_100, 9_999)
    assert acme.session == days[-1]
    assert acme.closes == (10_000, 10_100, 10_250)
    assert (late.last, late.prev_close, late.volume) == (5_010, 4_950, 6)
    assert late.change == 60 and late.change_pct == pytest.approx(60 * 100 / 4_950)
    assert late.last_ts == session_open_ns(days[-1]) + 2 * MINUTE


def test_daily_only_history_gives_the_last_30_sessions_and_one_session_no_change(store):
    days = sessions(40)
    closes = [20_000 + 50 * i for i in range(40)]
    store.write_bars(daily_series("BHAV", days, closes))
    store.write_bars(daily_series("NEW", days[-1:], [7_000]))
    quotes = read_quotes(store, ["NSE:BHAV", "NSE:NEW"])
    assert quotes["NSE:BHAV"].closes == tuple(closes[-30:])
    assert quotes["NSE:BHAV"].change == 50
    new = quotes["NSE:NEW"]
    assert (new.last, new.prev_close, new.change, new.closes) == (7_000, None, None, (7_000,))
    assert read_quotes(store, ["NSE:BHAV"], spark_sessions=5)["NSE:BHAV"].closes == tuple(
        closes[-5:]
    )


def test_a_daily_bar_stamped_at_ist_midnight_is_that_days_session(store):
    # one import path stamps daily bars 00:00 IST (18:30 UTC the day before): still that day
    days = sessions(2)
    midnight = [ns_of(pd.Timestamp(d, tz="Asia/Kolkata").to_pydatetime()) for d in days]
    c = np.array([300, 310], dtype=np.int64)
    store.write_bars(
        BarSeries.from_arrays(
            "ONE", np.array(midnight), c, c, c, c, np.array([7, 8]), "1d", prices_in_paise=True
        )
    )
    store.write_bars(minute_series("ONE", days[-1], [305, 309], [1, 2]))
    quote = read_quotes(store, ["NSE:ONE"])["NSE:ONE"]
    assert (quote.session, quote.last, quote.prev_close, quote.volume) == (days[-1], 310, 300, 8)
    assert quote.closes == (300, 310)


def test_an_old_previous_session_beyond_the_lookback_is_not_used(store):
    days = sessions(80)
    store.write_bars(daily_series("GAP", [days[0], days[-1]], [1_000, 1_200]))
    quote = read_quotes(store, ["NSE:GAP"])["NSE:GAP"]
    assert (days[-1] - days[0]).days > LOOKBACK_DAYS
    assert (quote.last, quote.prev_close, quote.change) == (1_200, None, None)


def test_a_read_only_store_answers_and_a_closed_one_says_so(demo_store, tmp_path):
    store, series = demo_store
    key = f"NSE:{series[1].symbol}"
    path = tmp_path / "copy.duckdb"
    with MarketStore.open(path) as writable:
        writable.write_bars(series[1])
    with MarketStore.open(path, read_only=True) as read_only:
        assert read_quotes(read_only, [key])[key] == read_quotes(store, [key])[key]
    closed = MarketStore.open(path)
    closed.close()
    with pytest.raises(StoreError, match="closed"):
        read_quotes(closed, [key])
