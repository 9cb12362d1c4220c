"""One order path for every mode (issue 11's contract): the same bars fed bar by bar through
the execution host on a running asyncio loop, with the streaming venue (one bar at a time, no
look-ahead, as the paper broker sees them), give the same orders, trades and charges as the
backtest, which finds fills by searching the bars ahead.

The strategies below are chosen to pass through every rule of the order path: market, limit,
stop and stop-limit entries, IOC and DAY expiry, bracket exits given as distances (OCO legs),
trailing stops, the MIS square-off from the calendar, order handles that modify and cancel,
Zerodha's contract-note charges and slippage, on two instruments sharing one account.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.backtest import BacktestConfig, BacktestResult, run_backtest
from engine.replay import Replay
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import BarView, OrderHandle, Param, Strategy, crossed_above, crossed_below, sma
from tests.engine.replay_helpers import order_tuples, placed, same_report, trades
from tests.engine.synthetic import make_bars, series

SESSIONS = 8
BARS = 375 * SESSIONS  # one-minute NSE sessions
CONFIG = BacktestConfig(costs="zerodha", slippage_bps="5", capital="5000000")


class IntradayBrackets(Strategy):
    """MIS both ways: a cross up buys with a stop and a target given as distances (an OCO
    pair), a cross down sells short with a trailing stop; whatever is open at the cut-off is
    squared off by the engine."""

    fast = Param(8, min=1)
    slow = Param(21, min=2)

    def init(self) -> None:
        fast = self.I(sma, self.data.close, self.fast, name="fast")
        slow = self.I(sma, self.data.close, self.slow, name="slow")
        self.on(crossed_above(fast, slow), self.up)
        self.on(crossed_below(fast, slow), self.down)

    def up(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.buy(50, product="MIS", stop_loss_points=2, target_points=3)

    def down(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.sell(50, product="MIS", trail="1.5")


class RestingOrders(Strategy):
    """Orders that rest: a DAY limit below the close on a cross up (moved up by its handle on
    the next cross, cancelled on the one after), a stop-limit exit on a cross down, and an IOC
    limit at the close every 97th bar."""

    fast = Param(10, min=1)
    slow = Param(30, min=2)

    def init(self) -> None:
        fast = self.I(sma, self.data.close, self.fast, name="fast")
        slow = self.I(sma, self.data.close, self.slow, name="slow")
        self.on(crossed_above(fast, slow), self.up)
        self.on(crossed_below(fast, slow), self.down)
        self.on(
            self.I(
                lambda c: (c * 0 + 1).cumsum() % 97 == 0,
                self.data.close,
                name="every97",
                lookback="full",
            ),
            self.probe,
        )
        self.resting: OrderHandle | None = None
        self.moves = 0

    def up(self, bar: BarView) -> None:
        close = bar.close
        if self.resting is not None and self.resting.is_open:
            if self.moves == 0:
                self.resting.modify(price=round(close - 0.2, 2), quantity=40)
                self.moves = 1
            else:
                self.resting.cancel()
                self.resting, self.moves = None, 0
            return
        if self.position.quantity < 200:
            self.resting = self.buy(20, price=round(close - 0.5, 2))

    def down(self, bar: BarView) -> None:
        held = self.position.quantity
        if held > 0:
            trigger = round(bar.close - 0.3, 2)
            self.sell(held, trigger=trigger, price=round(trigger - 0.4, 2))

    def probe(self, bar: BarView) -> None:
        if self.position.quantity < 200:
            self.buy(10, price=bar.close, validity="IOC")


def data(symbols: tuple[str, ...] = ("AAA",)) -> list:
    return [series(make_bars(BARS, seed=31 + n), symbol) for n, symbol in enumerate(symbols)]


async def arriving(count: int) -> AsyncIterator[int]:
    """A feed: the bars of the merged timeline one at a time, the loop free between them."""
    for g in range(count):
        await asyncio.sleep(0)
        yield g


def streamed(strategy: type[Strategy], bars: list, config: BacktestConfig) -> BacktestResult:
    run = Replay(strategy, None, bars, config, streaming=True)
    return asyncio.run(run.run_async(arriving(len(run.parts.timeline))))


@pytest.mark.parametrize(
    ("strategy", "symbols"),
    [
        (IntradayBrackets, ("AAA",)),
        (RestingOrders, ("AAA",)),
        (SmaCrossover, ("AAA", "BBB")),
        (IntradayBrackets, ("AAA", "BBB")),
    ],
)
def test_streamed_bars_on_the_loop_trade_exactly_as_the_backtest(strategy, symbols):
    bars = data(symbols)
    backtest = run_backtest(strategy, None, bars, CONFIG)
    live = streamed(strategy, bars, CONFIG)
    assert len(backtest.order_log) > 40 and len(backtest.trades) > 10  # the rules were exercised
    assert order_tuples(live) == order_tuples(backtest)
    assert trades(live) == trades(backtest)
    assert live.total_charges == backtest.total_charges > 0
    assert live.final_equity == backtest.final_equity
    assert same_report(live, backtest)


def test_the_scenarios_reach_every_rule_they_are_meant_to():
    """Guard against a contract that passes because nothing happened."""
    log = order_tuples(run_backtest(IntradayBrackets, None, data(), CONFIG)) + order_tuples(
        run_backtest(RestingOrders, None, data(), CONFIG)
    )
    kinds = {(kind, status) for *_, kind, _, status, _, _, _ in log}
    messages = {message for *_, message, _ in log}
    tags = {tag for *_, tag in log}
    assert {("SL-M", "FILLED"), ("LIMIT", "FILLED"), ("SL", "FILLED")} <= kinds
    assert {"expired unfilled", "other leg filled", "cancelled by strategy"} <= messages
    assert "squareoff" in tags


def test_the_streaming_venue_never_reads_a_bar_before_it_arrives():
    """Bars after t changed: everything the stream did up to t is unchanged."""
    bars = data()
    base = streamed(IntradayBrackets, bars, CONFIG)
    cut = BARS // 2
    other = make_bars(BARS, seed=99)
    changed = {
        "ts": bars[0].ts,
        **{
            key: (lambda a, b: __import__("numpy").concatenate((a[: cut + 1], b[cut + 1 :])))(
                getattr(bars[0], key), other[key]
            )
            for key in ("open", "high", "low", "close", "volume")
        },
    }
    moved = streamed(IntradayBrackets, [series(changed, "AAA")], CONFIG)
    early = [p for p in placed(base) if p[0] < cut]
    assert early and early == [p for p in placed(moved) if p[0] < cut]
