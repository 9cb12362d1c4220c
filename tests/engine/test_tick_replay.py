"""Tick replay (engine/replay/ticks.py): recorded trades fed one at a time, as live.

Each tick is tried by the venue against the waiting orders as a one-trade bar (the bar fill
model's rules, not a copy of them), then heard by `on_tick`; ticks are aggregated into
1-minute bars on the exchange clock that drive the bar handlers when each minute closes.
Checked here on four NSE sessions of ~4,500 ticks each: fills from on_tick at tick prices,
the MIS square-off at the calendar's cut-off, the minute bars against plain numpy, a bar
strategy on ticks against the same strategy replayed on the aggregated bars, and bad input.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import time as clock_time
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from engine.backtest import BacktestConfig, StrategyRuntimeError, run_backtest
from engine.calendar import get_calendar
from engine.domain.market_data import Tick
from engine.ist import NS_PER_SECOND, ist_date_of, ist_datetime, ns_of
from engine.replay import Replay, TickDataError, TickReplay, TickSeries, replay_ticks
from strategies.sdk import (
    BarView,
    OrderHandle,
    Param,
    Strategy,
    crossed_above,
    crossed_below,
    sma,
)
from tests.engine.replay_helpers import order_tuples as order_rows
from tests.engine.synthetic import NO_COSTS, make_bars

SESSIONS = 4
MINUTE = 60 * NS_PER_SECOND
CONFIG = BacktestConfig(costs="zerodha", slippage_bps="5", capital="5000000")


def make_ticks(seed: int = 17, per_minute: float = 12.0) -> TickSeries:
    """Trades on the last SESSIONS NSE sessions: a Poisson number per minute (about 2% of
    minutes have none), at random microseconds inside it, prices a walk on the 5-paise grid
    around Rs 1,000, quantities 1-500."""
    minutes = make_bars(375 * SESSIONS)["ts"]  # the sessions' minutes, from the calendar
    rng = np.random.default_rng(seed)
    counts = rng.poisson(per_minute, len(minutes))
    counts[rng.random(len(minutes)) < 0.02] = 0
    offsets = rng.integers(0, 60_000_000, int(counts.sum())) * 1_000  # microseconds, in ns
    ts = np.unique(np.repeat(minutes, counts) + offsets)
    steps = rng.choice(np.array([-5, 0, 5]), size=len(ts), p=[0.32, 0.36, 0.32])
    price = 100_000 + np.cumsum(steps)
    quantity = rng.integers(1, 501, len(ts))
    return TickSeries.from_arrays("AAA", ts, price, quantity, prices_in_paise=True)


@pytest.fixture(scope="module")
def ticks() -> TickSeries:
    return make_ticks()


def cutoffs(ticks: TickSeries) -> dict[object, int]:
    """Each session's MIS cut-off (UTC ns): the calendar's close minus 10 minutes."""
    first, last = ist_date_of(ticks.ts[0]), ist_date_of(ticks.ts[-1])
    return {s.date: ns_of(s.close) - 10 * MINUTE for s in get_calendar("NSE").sessions(first, last)}


def numpy_minutes(ticks: TickSeries) -> dict[str, np.ndarray]:
    """The plain aggregation: NSE sessions open on whole minutes (IST is UTC+05:30), so a
    tick's minute is its time floored to the minute."""
    minute = ticks.ts // MINUTE * MINUTE
    starts, first = np.unique(minute, return_index=True)
    last = np.append(first[1:], len(minute)) - 1
    return {
        "ts": starts,
        "open": ticks.price[first],
        "high": np.maximum.reduceat(ticks.price, first),
        "low": np.minimum.reduceat(ticks.price, first),
        "close": ticks.price[last],
        "volume": np.add.reduceat(ticks.quantity, first),
    }


# -- the minute bars ------------------------------------------------------------------------


class Watcher(Strategy):
    """Trades nothing; records what each tick shows: the tick, and how many minute bars the
    strategy's own data holds then (and the newest one's time)."""

    def init(self) -> None:
        self.seen: list[tuple[Tick, int, int]] = []

    def on_tick(self, tick: Tick) -> None:
        closed = len(self.data.close)
        self.seen.append((tick, closed, int(self.data.ts[-1]) if closed else -1))


def test_ticks_make_the_minute_bars_plain_numpy_makes(ticks):
    assert len(ticks) > 4_000 * SESSIONS
    run = TickReplay(Watcher, None, ticks, NO_COSTS)
    run.run()
    bars, expected = run.minute_bars, numpy_minutes(ticks)
    assert len(bars) < 375 * SESSIONS  # minutes without a trade have no bar
    for name, values in expected.items():
        assert np.array_equal(getattr(bars, name), values), name
    data = run.strategy.data  # what the strategy's Series hold: the same bars, in rupees
    assert np.array_equal(data.ts.full(), bars.ts)
    assert np.array_equal(data.close.full(), bars.close / 100.0)


def test_on_tick_hears_each_tick_with_only_the_minutes_closed_before_it(ticks):
    run = TickReplay(Watcher, None, ticks, NO_COSTS)
    run.run()
    seen = run.strategy.seen
    assert len(seen) == len(ticks)
    minutes = np.unique(run.minute_start)
    closed_before = np.searchsorted(minutes, run.minute_start)  # minutes before the tick's
    day = (ticks.ts + 19_800 * NS_PER_SECOND) // (86_400 * NS_PER_SECOND)
    day_volume = np.cumsum(ticks.quantity)
    day_volume -= np.concatenate(([0], day_volume[:-1]))[np.unique(day, return_index=True)[1]][
        np.unique(day, return_inverse=True)[1]
    ]
    for k in (0, 1, 7, 500, 4_321, len(ticks) // 2, len(ticks) - 1):
        tick, closed, newest = seen[k]
        assert tick.symbol == "AAA" and tick.ltp == Decimal(int(ticks.price[k])) / 100
        assert tick.ts == ist_datetime(ticks.ts[k]) and tick.ts.utcoffset() == timedelta(
            hours=5, minutes=30
        )
        assert tick.volume == day_volume[k]  # the day's cumulative volume, as a feed gives
        assert closed == closed_before[k]
        assert newest == (minutes[closed - 1] if closed else -1) < run.minute_start[k]


# -- orders from on_tick --------------------------------------------------------------------


class TickScalper(Strategy):
    """From on_tick: every 100th tick of a day before 15:10, when flat, buy 10 MIS at market;
    on the fill, a take-profit limit 30 paise above; 200 ticks later, if it has not traded,
    cancel it and sell at market. Whatever is open at 15:20 the engine squares off."""

    def init(self) -> None:
        self.k = -1  # the tick's index in the run
        self.count = 0
        self.day = None
        self.fills: list = []
        self.take: OrderHandle | None = None
        self.take_tick = -1
        self.gave_up: dict[str, int] = {}  # take-profit -> the tick it was cancelled on

    def on_tick(self, tick: Tick) -> None:
        self.k += 1
        if tick.ts.date() != self.day:
            self.day, self.count = tick.ts.date(), 0
        self.count += 1
        take = self.take
        if take is not None and take.is_open and self.k - self.take_tick >= 200:
            take.cancel()
            self.gave_up[take.state.order_id] = self.k
            self.close_position(product="MIS", tag="time-stop")
            self.take = None
        if (
            self.count % 100 == 0
            and tick.ts.time() < clock_time(15, 10)
            and self.position.is_flat
            and not self.open_orders()
        ):
            self.buy(10, product="MIS", tag="entry")

    def on_fill(self, fill) -> None:
        self.fills.append(fill)
        if fill.tag == "entry":
            self.take = self.sell(10, price=fill.price + Decimal("0.30"), product="MIS", tag="take")
            self.take_tick = fill.bar_index


def test_orders_from_on_tick_fill_at_tick_prices_by_the_fill_model(ticks):
    run = TickReplay(TickScalper, None, ticks, NO_COSTS)
    result = run.run()
    price, ts = ticks.price, ticks.ts
    fills = {f.order_id: f for f in run.strategy.fills}
    cut = cutoffs(ticks)
    log = result.order_log
    entries = [o for o in log if o.tag == "entry"]
    takes = [o for o in log if o.tag == "take"]
    squareoffs = [o for o in log if o.tag == "squareoff"]
    assert len(entries) > 30 and len(squareoffs) >= 2
    stopped = {o.order_id for o in log if o.tag == "time-stop"}
    assert len(stopped) > 5
    for order in entries + [o for o in log if o.tag == "time-stop"]:  # market: the next tick
        fill = fills[order.order_id]
        next_tick = order.placed_bar + 1
        assert (fill.bar_index, fill.price) == (next_tick, price_of(price, next_tick))
    filled = 0
    for order in takes:  # limit: the first later tick at or above it, at that tick's price
        placed = order.placed_bar
        limit = int(fills_of_entry(fills, log, placed).price * 100) + 30
        later = np.flatnonzero(price[placed + 1 :] >= limit)
        reach = placed + 1 + int(later[0]) if later.size else len(price)
        day_cut = cut[ist_date_of(ts[placed])]
        if order.status == "FILLED":
            filled += 1
            fill = fills[order.order_id]
            assert fill.bar_index == reach and ts[reach] < day_cut
            assert fill.price == price_of(price, reach) >= Decimal(limit) / 100
        elif order.order_id in run.strategy.gave_up:  # cancelled before a tick reached it
            assert order.message == "cancelled by strategy"
            assert reach >= run.strategy.gave_up[order.order_id]
        else:  # the cut-off came first: the square-off cancelled it
            assert reach == len(price) or ts[reach] >= day_cut
    assert filled > 10 and filled < len(takes)
    for order in squareoffs:  # at the first tick at/after the cut-off, at its price
        fill = fills[order.order_id]
        day_cut = cut[ist_date_of(ts[fill.bar_index])]
        first = int(np.searchsorted(ts, day_cut))
        assert (fill.bar_index, fill.price) == (first, price_of(price, first))
    assert result.open_positions == {}


def price_of(price: np.ndarray, k: int) -> Decimal:
    return Decimal(int(price[k])) / 100


def fills_of_entry(fills: dict, log: list, tick: int):
    """The entry fill that placed a take-profit at this tick."""
    (fill,) = [
        fills[o.order_id]
        for o in log
        if o.tag == "entry" and o.order_id in fills and fills[o.order_id].bar_index == tick
    ]
    return fill


# -- a bar strategy on ticks ----------------------------------------------------------------


class MisCrossover(Strategy):
    """SMA crossover, long and short, MIS, market orders, no new position after 15:15."""

    fast = Param(5, min=1)
    slow = Param(20, min=2)

    def init(self) -> None:
        fast = self.I(sma, self.data.close, self.fast, name="fast")
        slow = self.I(sma, self.data.close, self.slow, name="slow")
        self.on(crossed_above(fast, slow), self.up)
        self.on(crossed_below(fast, slow), self.down)

    def up(self, bar: BarView) -> None:
        self._go(bar, 25)

    def down(self, bar: BarView) -> None:
        self._go(bar, -25)

    def _go(self, bar: BarView, target: int) -> None:
        if bar.time.time() < clock_time(15, 15):
            self.target_position(target, product="MIS")
        elif not self.position.is_flat:
            self.close_position(product="MIS")


def test_a_bar_strategy_on_ticks_trades_as_its_replay_on_the_aggregated_bars(ticks):
    """Same orders (placed at the same minute's close), same prices, charges and equity: an
    order placed when a minute closes fills at the next tick, which is the next bar's open,
    and the square-off's first tick at the cut-off is the open of the cut-off's bar. The one
    expected difference is the time of a fill: the tick's own time inside the minute, where
    the bar replay stamps the bar's open time."""
    run = TickReplay(MisCrossover, None, ticks, CONFIG)
    on_ticks = run.run()
    bars = run.minute_bars
    minute_of = np.searchsorted(bars.ts, run.minute_start)  # tick -> its minute bar

    def in_minutes(rows: list[tuple]) -> list[tuple]:
        return [(r[0], r[1], int(minute_of[r[2]]), *r[3:]) for r in rows]

    assert len(on_ticks.order_log) > 60
    assert "squareoff" in {o.tag for o in on_ticks.order_log}
    for replayed in (
        run_backtest(MisCrossover, None, [bars], CONFIG),
        Replay(MisCrossover, None, bars, CONFIG).run(),
        Replay(MisCrossover, None, bars, CONFIG, streaming=True).run(),
    ):
        assert in_minutes(order_rows(on_ticks)) == order_rows(replayed)
        assert len(on_ticks.trades) == len(replayed.trades)
        for t, b in zip(on_ticks.trades, replayed.trades, strict=True):
            assert (t.side, t.quantity, t.entry_price, t.exit_price, t.charges, t.net_pnl) == (
                b.side,
                b.quantity,
                b.entry_price,
                b.exit_price,
                b.charges,
                b.net_pnl,
            )
            assert (minute_of[t.entry_bar], minute_of[t.exit_bar]) == (b.entry_bar, b.exit_bar)
            # the fill's time: the first tick of the bar it filled in, not the bar's open
            assert t.entry_time == ist_datetime(ticks.ts[t.entry_bar]) >= b.entry_time
            assert t.entry_bar == 0 or minute_of[t.entry_bar - 1] < minute_of[t.entry_bar]
        assert on_ticks.total_charges_paise == replayed.total_charges_paise > 0
        assert on_ticks.final_equity == replayed.final_equity


async def arriving(count: int) -> AsyncIterator[int]:
    for k in range(count):
        if k % 64 == 0:
            await asyncio.sleep(0)
        yield k


def test_ticks_streamed_on_a_running_loop_trade_as_the_synchronous_run(ticks):
    expected = replay_ticks(TickScalper, None, ticks, NO_COSTS)
    run = TickReplay(TickScalper, None, ticks, NO_COSTS)
    streamed = asyncio.run(run.run_async(arriving(len(ticks))))
    assert order_rows(streamed) == order_rows(expected)
    assert streamed.final_equity == expected.final_equity


# -- bad input ------------------------------------------------------------------------------


def _arrays(ticks: TickSeries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ticks.ts.copy(), ticks.price.copy(), ticks.quantity.copy()


def test_ticks_that_do_not_rise_in_time_are_refused_naming_the_tick(ticks):
    ts, price, quantity = _arrays(ticks)
    ts[101], ts[102] = ts[102], ts[101]
    with pytest.raises(TickDataError, match=r"AAA tick 102 at .*: its time is not after tick 101"):
        TickSeries.from_arrays("AAA", ts, price, quantity, prices_in_paise=True)
    ts[102] = ts[101]  # the same time twice
    with pytest.raises(TickDataError, match="tick 102 at"):
        TickSeries.from_arrays("AAA", ts, price, quantity, prices_in_paise=True)


@pytest.mark.parametrize("bad", [0, -500])
def test_a_price_that_is_not_above_zero_is_refused_naming_the_tick(ticks, bad):
    ts, price, quantity = _arrays(ticks)
    price[4_000] = bad
    with pytest.raises(TickDataError, match=r"AAA tick 4000 at .*\+05:30: price .* above zero"):
        TickSeries.from_arrays("AAA", ts, price, quantity, prices_in_paise=True)


def test_other_bad_ticks_are_named_too(ticks):
    ts, price, quantity = _arrays(ticks)
    rupees = price / 100.0
    rupees[9] = 1000.123  # not a whole paisa
    with pytest.raises(TickDataError, match="AAA tick 9 at"):
        TickSeries.from_arrays("AAA", ts, rupees, quantity)
    quantity[3] = -1
    with pytest.raises(TickDataError, match=r"AAA tick 3 at .*: quantity -1 is negative"):
        TickSeries.from_arrays("AAA", ts, price, quantity, prices_in_paise=True)
    early = np.concatenate(([ts[0] - 10 * MINUTE], ts))  # 09:05, before the open
    more = np.concatenate(([price[0]], price)), np.concatenate(([1], ticks.quantity))
    outside = TickSeries.from_arrays("AAA", early, *more, prices_in_paise=True)
    with pytest.raises(TickDataError, match=r"AAA tick 0 at .*T09:0.* outside every NSE session"):
        TickReplay(Watcher, None, outside, NO_COSTS)
    with pytest.raises(TickDataError, match="no ticks"):
        TickSeries.from_arrays("AAA", ts[:0], price[:0], quantity[:0], prices_in_paise=True)


def test_an_exception_in_on_tick_names_the_tick_and_the_authors_line(ticks):
    class Fails(Strategy):
        def on_tick(self, tick: Tick) -> None:
            if tick.volume > 100_000:
                raise ValueError("too busy")  # the author's bug

    with pytest.raises(StrategyRuntimeError) as caught:
        replay_ticks(Fails, None, ticks, NO_COSTS)
    text = str(caught.value)
    assert "raised ValueError: too busy in on_tick() at tick" in text
    assert "the author's bug" in text
