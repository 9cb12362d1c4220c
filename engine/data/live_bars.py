"""Live ticks into 1-minute bars on the exchange clock, as the watchlist and chart show them.

The rules are the resampler's and tick replay's (engine/data/resample.py,
engine/replay/ticks.py): a minute is counted from the calendar's session open of its day, a
tick outside the session (pre-open, after the close, a holiday) makes no bar, and a minute
with no tick has no bar. The bar in progress is shown as it grows and closes when a tick of a
later minute arrives. Volume is the day's cumulative volume the feed reports, differenced, so
a dropped packet never loses volume (Kite and Upstox both send the day's total).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine.calendar import get_calendar
from engine.domain.market_data import Tick
from engine.domain.money import to_paise
from engine.ist import ist_date_of, ns_of
from engine.replay.ticks import MinuteBar, MinuteBars
from engine.timeframes import Timeframe

MINUTE_NS = Timeframe.M1.length_ns


@dataclass(frozen=True, slots=True)
class LiveBar:
    """The bar a tick touched: `closed` is the previous minute's when this tick began a new
    one; `current` the minute in progress, including this tick."""

    symbol: str
    closed: MinuteBar | None
    current: MinuteBar


class LiveBars:
    """One instrument's minutes, built from its ticks as they arrive."""

    def __init__(self, symbol: str, exchange: str) -> None:
        self.symbol = symbol
        self.exchange = exchange
        self._calendar = get_calendar(exchange)
        self._sessions: dict[date, tuple[int, int] | None] = {}
        self._minutes = MinuteBars(symbol)
        self._day_volume: int | None = None
        self._day: date | None = None
        self._current: MinuteBar | None = None

    def _session(self, ts: int) -> tuple[int, int] | None:
        day = ist_date_of(ts)
        if day not in self._sessions:
            session = self._calendar.session(day)
            self._sessions[day] = (
                None if session is None else (ns_of(session.open), ns_of(session.close))
            )
        return self._sessions[day]

    def minute_of(self, ts: int) -> int | None:
        """The open time (UTC ns) of the session minute holding `ts`, None outside sessions."""
        hours = self._session(ts)
        if hours is None or not hours[0] <= ts < hours[1]:
            return None
        return hours[0] + (ts - hours[0]) // MINUTE_NS * MINUTE_NS

    def add(self, tick: Tick) -> LiveBar | None:
        """Take one tick; the bars it touched, or None when it is outside the session."""
        ts = ns_of(tick.ts)
        day = ist_date_of(ts)
        if day != self._day:
            self._day, self._day_volume = day, None
        quantity = 0
        if tick.volume:  # the day's total: what traded since the last tick, pre-open too
            if self._day_volume is not None and tick.volume >= self._day_volume:
                quantity = tick.volume - self._day_volume
            self._day_volume = tick.volume
        start = self.minute_of(ts)
        if start is None:
            return None
        price = to_paise(tick.ltp)
        if self._current is not None and start < self._current.ts:
            return None  # a late packet of a minute already closed: it cannot change it now
        closed = self._minutes.add(start, price, quantity)
        current = self._current
        if closed is not None or current is None or current.ts != start:
            current = MinuteBar(start, price, price, price, price, quantity)
        else:
            current = MinuteBar(
                start,
                current.open,
                max(current.high, price),
                min(current.low, price),
                price,
                current.volume + quantity,
            )
        self._current = current
        return LiveBar(self.symbol, closed, current)
