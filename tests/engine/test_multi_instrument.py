"""One strategy trading several instruments together (issue 11): `multi_instrument = True`
gives one instance every instrument of the run, aligned on the merged timeline, with orders
placed by `symbol=`; single-instrument strategies are untouched."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest

from engine.backtest import StrategyRuntimeError, run_backtest
from engine.replay import replay_bars
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import (
    BarView,
    OrderStatus,
    Param,
    Strategy,
    crossed_above,
    crossed_below,
    sma,
)
from tests.engine.replay_helpers import trades
from tests.engine.synthetic import NO_COSTS, make_bars, series

BARS = 375 * 6


class CrossoverBasket(Strategy):
    """SmaCrossover's rule on every instrument, written once for the whole basket."""

    multi_instrument = True
    fast = Param(10, min=1)
    slow = Param(30, min=2)
    quantity = Param(100, min=1)

    def init(self) -> None:
        for symbol, data in self.datas.items():
            fast = self.I(sma, data.close, self.fast, name=f"{symbol} fast")
            slow = self.I(sma, data.close, self.slow, name=f"{symbol} slow")
            self.on(crossed_above(fast, slow), lambda bar, s=symbol: self.enter(s))
            self.on(crossed_below(fast, slow), lambda bar, s=symbol: self.leave(s))

    def enter(self, symbol: str) -> None:
        if self.position_of(symbol).is_flat:
            self.buy(self.quantity, symbol=symbol)

    def leave(self, symbol: str) -> None:
        if self.position_of(symbol).is_long:
            self.close_position(symbol=symbol)


def test_a_basket_strategy_trades_exactly_as_one_instance_per_instrument():
    """The same rule, as one multi-instrument strategy and as SmaCrossover per instrument:
    identical orders (ids included), trades and report."""
    data = [series(make_bars(BARS, seed=n), s) for n, s in ((3, "AAA"), (4, "BBB"), (5, "CCC"))]
    each = run_backtest(SmaCrossover, None, data, NO_COSTS)
    basket = run_backtest(CrossoverBasket, None, data, NO_COSTS)
    assert len(each.trades) > 30 and {t.symbol for t in each.trades} == {"AAA", "BBB", "CCC"}
    assert basket.order_log == each.order_log
    assert trades(basket) == trades(each)
    assert basket.final_equity == each.final_equity


class Pair(Strategy):
    """Long the cheap leg, short the dear one, sized together to equal rupee value, when
    their price ratio strays from its mean; flat when it comes back. Records what it sees."""

    multi_instrument = True
    seen: ClassVar[list[tuple[int, float, float, bool, bool]]] = []
    legs: ClassVar[list[tuple[float, float, float, float]]] = []  # (value, price) of each leg

    def init(self) -> None:
        a, b = self.datas["AAA"], self.datas["BBB"]
        ratio = a.close.full() / b.close.full()
        mean = self.I(lambda r: _rolling_mean(r, 60), ratio, name="mean ratio", lookback=60)
        self.on(np.isfinite(mean.full()), self.step)
        self.mean = mean

    def step(self, bar: BarView) -> None:
        a, b = self.datas["AAA"], self.datas["BBB"]
        self.seen.append(
            (bar.index, a.close[-1], b.close[-1], bool(a.has_bar[-1]), bool(b.has_bar[-1]))
        )
        ratio, mean = a.close[-1] / b.close[-1], self.mean[-1]
        value = 200_000
        if self.position_of("AAA").is_flat and abs(ratio / mean - 1) > 0.004:
            cheap, dear = ("AAA", "BBB") if ratio < mean else ("BBB", "AAA")
            long_price, short_price = self.datas[cheap].close[-1], self.datas[dear].close[-1]
            bought = self.buy(int(value // long_price), symbol=cheap, product="MIS")
            sold = self.sell(int(value // short_price), symbol=dear, product="MIS")
            if (
                bought.status is not OrderStatus.REJECTED
                and sold.status is not OrderStatus.REJECTED
            ):
                self.legs.append(
                    (
                        bought.state.quantity * long_price,
                        long_price,
                        sold.state.quantity * short_price,
                        short_price,
                    )
                )
        elif not self.position_of("AAA").is_flat and abs(ratio / mean - 1) < 0.001:
            self.close_position(symbol="AAA", product="MIS")
            self.close_position(symbol="BBB", product="MIS")


def _rolling_mean(values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    sums = np.cumsum(np.nan_to_num(values))
    out[n - 1 :] = (sums[n - 1 :] - np.concatenate(([0.0], sums[:-n]))) / n
    return out


def gapped_pair() -> list:
    a = make_bars(BARS, seed=8)
    b = make_bars(BARS, seed=9)
    keep = np.ones(BARS, dtype=bool)
    keep[:40] = False  # BBB starts later
    keep[500:520] = False  # and misses twenty minutes
    b = {k: v[keep] for k, v in b.items()}
    return [series(a, "AAA"), series(b, "BBB")]


def test_a_pair_sees_both_legs_aligned_and_sizes_them_together():
    Pair.seen, Pair.legs = [], []
    data = gapped_pair()
    result = run_backtest(Pair, None, data, NO_COSTS)
    a, b = data
    for step, a_close, b_close, a_has, b_has in Pair.seen:
        ts = int(a.ts[step])  # AAA has every bar: the timeline is its clock
        assert a_has and a_close == int(a.close[step]) / 100
        k = int(np.searchsorted(b.ts, ts, side="right")) - 1  # BBB's last bar so far
        assert b_has == (int(b.ts[k]) == ts)
        assert b_close == int(b.close[k]) / 100  # carried forward over its gap
    assert any(not has for *_, has in Pair.seen)  # the gap was seen
    symbols = {o.symbol for o in result.order_log}
    assert symbols == {"AAA", "BBB"} and len(result.trades) > 10
    # sized together: each leg worth Rs 2,00,000 less under one share, at the step's prices
    assert len(Pair.legs) > 5
    for long_value, long_price, short_value, short_price in Pair.legs:
        assert 200_000 - long_price < long_value <= 200_000
        assert 200_000 - short_price < short_value <= 200_000


def test_before_an_instruments_first_bar_its_prices_are_nan_and_an_order_is_rejected():
    class Early(Strategy):
        multi_instrument = True
        seen: ClassVar[list[float]] = []

        def init(self) -> None:
            self.on(np.isin(np.arange(self.data.size), (5, 45)), self.go)

        def go(self, bar: BarView) -> None:
            self.seen.append(self.datas["BBB"].close[-1])
            self.buy(10, symbol="BBB")

    Early.seen = []
    data = gapped_pair()
    result = run_backtest(Early, None, data, NO_COSTS)
    early, later = Early.seen
    assert math.isnan(early) and later == int(data[1].close[5]) / 100  # step 45 = its bar 5
    first, second = result.order_log
    assert (first.symbol, first.status, first.placed_bar) == ("BBB", "REJECTED", -1)
    assert first.message == "BBB has no price yet: its first bar is later"
    assert (second.status, second.placed_bar) == ("FILLED", 5)  # at BBB's bar 6 open
    assert result.open_positions == {"BBB/CNC": 10}


def test_an_order_for_an_instrument_outside_the_run_is_named_at_the_authors_line():
    class Stray(Strategy):
        multi_instrument = True

        def init(self) -> None:
            self.on(np.arange(self.data.size) == 5, self.go)

        def go(self, bar: BarView) -> None:
            self.buy(10, symbol="ZZZ")  # the stray order

    with pytest.raises(StrategyRuntimeError) as caught:
        run_backtest(Stray, None, gapped_pair(), NO_COSTS)
    text = str(caught.value)
    assert "'ZZZ' is not one of this strategy's instruments (AAA, BBB)" in text
    assert "at step 5 of the merged timeline" in text and "the stray order" in text


def test_a_basket_strategy_replays_bar_by_bar_as_its_backtest():
    """Bar-by-bar replay runs a multi-instrument strategy too (more in test_replay_multi.py)."""
    data = gapped_pair()
    backtest = run_backtest(CrossoverBasket, None, data, NO_COSTS)
    replay = replay_bars(CrossoverBasket, None, data, NO_COSTS)
    assert len(backtest.order_log) > 30
    assert replay.order_log == backtest.order_log
    assert trades(replay) == trades(backtest)
