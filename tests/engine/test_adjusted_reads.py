"""read_adjusted on a real store: a week of one-minute bars with a split and a dividend stored
as corporate actions, checked bar by bar against factors worked out here with Fractions."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from engine.calendar import IST
from engine.data.adjust import CorporateAction
from engine.data.adjusted import actions_for, read_adjusted
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore

MINUTE_NS = 60_000_000_000
SESSIONS = [dt.date(2026, 2, d) for d in (2, 3, 4, 5, 6, 9, 10)]  # Mon..Fri, Mon, Tue
SPLIT_DAY = dt.date(2026, 2, 5)  # 1:5, prices from this day on are already a fifth
DIVIDEND_DAY = dt.date(2026, 2, 9)  # Rs 12.50 a share
DIVIDEND_PAISE = 1250


def minute_bars(symbol: str = "SPLITCO") -> BarSeries:
    """375 bars a session; the raw prices drop to a fifth on the split day, like real data."""
    rng = np.random.default_rng(7)
    ts, opens, highs, lows, closes, volumes = [], [], [], [], [], []
    for day in SESSIONS:
        start = pd.Timestamp(dt.datetime.combine(day, dt.time(9, 15), IST)).value
        level = 150_000 if day < SPLIT_DAY else 30_000  # Rs 1,500.00, then Rs 300.00
        steps = rng.integers(-4, 5, 375).cumsum() * 5
        close = level + steps
        open_ = np.concatenate([[level], close[:-1]])
        ts.extend(start + np.arange(375) * MINUTE_NS)
        opens.extend(open_)
        closes.extend(close)
        highs.extend(np.maximum(open_, close) + rng.integers(0, 3, 375) * 5)
        lows.extend(np.minimum(open_, close) - rng.integers(0, 3, 375) * 5)
        volumes.extend(rng.integers(1, 5_000, 375) * (5 if day >= SPLIT_DAY else 1))
    columns = (np.array(v, dtype=np.int64) for v in (ts, opens, highs, lows, closes, volumes))
    return BarSeries(symbol, "1m", *columns)


def action_rows(symbol: str = "SPLITCO", exchange: str = "NSE") -> pd.DataFrame:
    common = {"exchange": exchange, "symbol": symbol}
    split = {"ratio_from": 1, "ratio_to": 5, "amount_paise": None}
    dividend = {"ratio_from": None, "ratio_to": None, "amount_paise": DIVIDEND_PAISE}
    return pd.DataFrame(
        [
            {
                **common,
                **split,
                "ex_date": SPLIT_DAY,
                "kind": "split",
                "note": "face value 10 -> 2",
            },
            {**common, **dividend, "ex_date": DIVIDEND_DAY, "kind": "dividend", "note": ""},
        ]
    )


def ist_day(ts_ns: int) -> dt.date:
    return pd.Timestamp(ts_ns, tz="UTC").tz_convert(IST).date()


def half_up(value: int, factor: Fraction) -> int:
    exact = value * factor
    return int((exact + Fraction(1, 2)).__floor__())


def expected(raw: BarSeries) -> dict[str, list[int]]:
    """The adjuster's documented rules, applied one bar at a time with exact fractions."""
    days = [ist_day(int(t)) for t in raw.ts]
    last_before_dividend = max(i for i, d in enumerate(days) if d < DIVIDEND_DAY)
    close_before = int(raw.close[last_before_dividend])
    dividend = Fraction(close_before - DIVIDEND_PAISE, close_before)
    out: dict[str, list[int]] = {k: [] for k in ("open", "high", "low", "close", "volume")}
    for i, day in enumerate(days):
        price = Fraction(1)
        volume = Fraction(1)
        if day < DIVIDEND_DAY:
            price *= dividend
        if day < SPLIT_DAY:
            price *= Fraction(1, 5)
            volume *= 5
        for name in ("open", "high", "low", "close"):
            out[name].append(half_up(int(getattr(raw, name)[i]), price))
        out["volume"].append(half_up(int(raw.volume[i]), volume))
    return out


@pytest.fixture
def split_store(tmp_path):
    with MarketStore.open(tmp_path / "ws" / "artha.duckdb") as store:
        store.write_bars(minute_bars())
        store.add_corporate_actions(action_rows())
        yield store


def test_stored_actions_come_back_as_plain_dates(split_store):
    actions = actions_for(split_store, "SPLITCO")
    assert actions == [
        CorporateAction(SPLIT_DAY, "split", 1, 5, None, "face value 10 -> 2"),
        CorporateAction(DIVIDEND_DAY, "dividend", None, None, DIVIDEND_PAISE),
    ]
    assert all(type(a.ex_date) is dt.date for a in actions)


def test_read_adjusted_applies_the_split_and_the_dividend_bar_by_bar(split_store):
    raw = split_store.read_bars("SPLITCO", "1m")
    assert len(raw) == 7 * 375
    adjusted = read_adjusted(split_store, "SPLITCO", "1m")
    want = expected(raw)
    for name in ("open", "high", "low", "close", "volume"):
        assert getattr(adjusted, name).tolist() == want[name], name
    # the first bar: Rs 1,500.00 x 1/5 x (C - 12.50) / C, C = the raw close of 6 Feb 15:29
    c = int(raw.close[5 * 375 - 1])
    assert adjusted.open[0] == half_up(150_000, Fraction(1, 5) * Fraction(c - 1250, c))
    # bars from the dividend's ex-date on are untouched; volumes before the split x5
    tail = 5 * 375
    assert adjusted.close[tail:].tolist() == raw.close[tail:].tolist()
    assert adjusted.volume[:375].tolist() == (raw.volume[:375] * 5).tolist()
    # across the split day the adjusted series no longer jumps to a fifth
    jump = adjusted.open[3 * 375] / adjusted.close[3 * 375 - 1]
    assert 0.95 < jump < 1.05


def test_the_store_keeps_raw_bars(split_store):
    before = split_store.read_bars("SPLITCO", "1m")
    read_adjusted(split_store, "SPLITCO", "1m")
    after = split_store.read_bars("SPLITCO", "1m")
    assert after.close.tolist() == before.close.tolist()
    assert after.close[0] == before.open[1]  # still Rs 1,500-ish: raw


def test_a_window_uses_the_factors_of_the_whole_history(split_store):
    full = read_adjusted(split_store, "SPLITCO", "1m")
    window = read_adjusted(split_store, "SPLITCO", "1m", dt.date(2026, 2, 3), dt.date(2026, 2, 5))
    assert len(window) == 3 * 375
    assert window.ts.tolist() == full.ts[375 : 4 * 375].tolist()
    assert window.close.tolist() == full.close[375 : 4 * 375].tolist()
    assert window.volume.tolist() == full.volume[375 : 4 * 375].tolist()


def test_actions_of_the_same_symbol_on_another_exchange_are_not_applied(tmp_path):
    with MarketStore.open(tmp_path / "artha.duckdb") as store:
        bars = minute_bars()
        store.write_bars(bars, exchange="BSE")
        store.add_corporate_actions(action_rows(exchange="NSE"))
        adjusted = read_adjusted(store, "SPLITCO", "1m", exchange="BSE")
    assert adjusted.close.tolist() == bars.close.tolist()
