"""Recorded market data as quotes for the paper broker, so it trades at night.

Ticks (`engine.replay.ticks.TickSeries`: each trade's time, price and quantity) become
last-price quotes with the day's running volume, exactly what they recorded; several
instruments' quotes merge by time (`merged`). Bars from the store become four quotes each,
open, high, low, close (low before high when the bar closed up, high before low when it
closed down), a quarter of the bar apart. A bar does not say what happened inside it: this
path is an assumption, the usual one, and a stop and a target inside one bar trade in its
order (a backtest decides that by `stop_first` instead). Neither invents depth: without it
the paper broker fills at the last price with the slippage model.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from decimal import Decimal

from engine.broker.models import Quote, TickMode
from engine.data.bar_series import BarSeries
from engine.domain.instrument import Instrument
from engine.domain.market_data import Tick
from engine.ist import ist_datetime, ist_day_number
from engine.replay.ticks import TickSeries
from engine.timeframes import Timeframe


def tick_quotes(instrument: Instrument, ticks: TickSeries) -> Iterator[Quote]:
    """One LTP quote per recorded trade, with the IST day's cumulative volume."""
    key = instrument.key
    day, volume = -1, 0
    for ts, price, quantity in zip(
        ticks.ts.tolist(), ticks.price.tolist(), ticks.quantity.tolist(), strict=True
    ):
        today = ist_day_number(ts)
        if today != day:
            day, volume = today, 0
        volume += quantity
        tick = Tick(key, ist_datetime(ts), Decimal(price).scaleb(-2), volume=volume)
        yield Quote(tick=tick, mode=TickMode.LTP)


def bar_quotes(instrument: Instrument, bars: BarSeries) -> Iterator[Quote]:
    """Four quotes per bar (open, the two extremes, close) inside the bar's span."""
    key = instrument.key
    step = Timeframe(bars.timeframe).length_ns // 4
    day, volume = -1, 0
    for i in range(len(bars.ts)):
        ts = int(bars.ts[i])
        open_, high, low, close = (int(a[i]) for a in (bars.open, bars.high, bars.low, bars.close))
        today = ist_day_number(ts)
        if today != day:
            day, volume = today, 0
        path = (open_, low, high, close) if close >= open_ else (open_, high, low, close)
        share = int(bars.volume[i]) // 4
        for n, price in enumerate(path):
            volume += share if n < 3 else int(bars.volume[i]) - 3 * share
            tick = Tick(key, ist_datetime(ts + n * step), Decimal(price).scaleb(-2), volume=volume)
            yield Quote(tick=tick, mode=TickMode.LTP)


def merged(*streams: Iterable[Quote]) -> Iterator[Quote]:
    """Several instruments' quotes in time order (ties: the order the streams were given)."""
    return heapq.merge(*streams, key=lambda quote: quote.tick.ts)
