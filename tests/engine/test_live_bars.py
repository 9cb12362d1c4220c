"""Live ticks into minute bars: the same bars as tick replay and the resampler build."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from engine.calendar import get_calendar
from engine.data.live_bars import LiveBars
from engine.domain.market_data import Tick
from engine.ist import IST, ist_datetime, ns_of
from engine.replay.ticks import MinuteBars, TickSeries, minute_starts

DAY = date(2026, 12, 7)  # a Monday


def a_day_of_ticks(seed: int = 7, n: int = 20_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times (UTC ns) across the session and a little outside it, prices (paise), cumulative
    day volume."""
    rng = np.random.default_rng(seed)
    session = get_calendar("NSE").session(DAY)
    assert session is not None
    lo = ns_of(session.open) - 5 * 60 * 10**9  # five minutes of pre-open
    hi = ns_of(session.close) + 3 * 60 * 10**9
    ts = np.sort(rng.integers(lo, hi, n)).astype(np.int64)
    steps = rng.choice([-5, 0, 5], size=n)
    prices = (150_000 + np.cumsum(steps)).astype(np.int64)
    volume = np.cumsum(rng.integers(1, 50, n)).astype(np.int64) + 10_000
    return ts, prices, volume


def test_live_bars_equal_tick_replays_minutes_for_a_whole_day():
    ts, prices, volume = a_day_of_ticks()
    live = LiveBars("INFY", "NSE")
    closed = []
    last = None
    for t, p, v in zip(ts, prices, volume, strict=True):
        tick = Tick("NSE:INFY", ist_datetime(int(t)), Decimal(int(p)) / 100, volume=int(v))
        touched = live.add(tick)
        if touched is None:
            continue
        if touched.closed is not None:
            closed.append(touched.closed)
        last = touched.current
    closed.append(last)
    # Tick replay's rule on the ticks inside the session (quantities: volume differences).
    session = get_calendar("NSE").session(DAY)
    inside = (ts >= ns_of(session.open)) & (ts < ns_of(session.close))
    quantity = np.diff(volume, prepend=volume[0])  # the first tick seen: no known trade
    series = TickSeries.from_arrays(
        "INFY", ts[inside], prices[inside], quantity[inside], prices_in_paise=True
    )
    starts = minute_starts(series, "NSE")
    reference = MinuteBars("INFY")
    expected = [
        bar
        for bar in (
            reference.add(int(s), int(p), int(q))
            for s, p, q in zip(starts, series.price, series.quantity, strict=True)
        )
        if bar is not None
    ]
    expected.append(reference.close())
    assert closed == expected
    assert len(closed) == 375  # every minute of 09:15-15:30 had ticks
    assert ist_datetime(closed[0].ts).time().isoformat() == "09:15:00"
    assert ist_datetime(closed[-1].ts).time().isoformat() == "15:29:00"


def test_ticks_outside_the_session_and_late_packets_make_no_bar():
    live = LiveBars("INFY", "NSE")
    at = datetime(2026, 12, 7, 9, 10, tzinfo=IST)
    assert live.add(Tick("NSE:INFY", at, Decimal("1500"), volume=100)) is None  # pre-open
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=IST)
    assert LiveBars("INFY", "NSE").add(Tick("NSE:INFY", saturday, Decimal("1"), 100)) is None
    first = live.add(Tick("NSE:INFY", at + timedelta(minutes=6), Decimal("1500"), volume=150))
    assert first is not None and first.current.volume == 50
    live.add(Tick("NSE:INFY", at + timedelta(minutes=7), Decimal("1501"), volume=160))
    late = live.add(Tick("NSE:INFY", at + timedelta(minutes=6, seconds=30), Decimal("9"), 170))
    assert late is None
    muhurat_day = datetime(2026, 12, 7, tzinfo=UTC)  # a regular day: the calendar decides
    assert live.minute_of(ns_of(muhurat_day)) is None
