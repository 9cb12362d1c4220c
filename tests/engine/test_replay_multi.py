"""Bar-by-bar replay of a strategy that trades several instruments together (issue 11).

A `multi_instrument` strategy sees its instruments aligned on the exchange clock in one
handler (engine/backtest/universe.py). Replayed, it is fed one step of that merged timeline at
a time through the incremental path (engine/strategy/incremental.py: each indicator extended
by one value, each condition evaluated at the new step only), every instrument's row built
from what has arrived so far. The promise is "backtest = replay": on the same bars, the same
orders, trades and charges, to the paisa, with the simulated venue, with the streaming one,
and streamed on a running asyncio loop.

The strategy is a realistic pairs rule: two correlated minute series over eight sessions,
each missing minutes the other has, a z-score of their log price ratio, legs sized together
to equal rupee value, MIS both ways with Zerodha's charges and slippage, the engine squaring
off at the cut-off whatever is still open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from engine.backtest import BacktestConfig, BacktestResult, StrategyRuntimeError, run_backtest
from engine.backtest.universe import aligned_arrays
from engine.data.bar_series import BarSeries
from engine.replay import IncrementalError, Replay, replay_bars
from engine.strategy.series import whole
from strategies.sdk import BarView, Param, Strategy
from tests.engine.replay_helpers import order_tuples, same_report, trades
from tests.engine.synthetic import make_bars, series
from tests.engine.test_multi_instrument import Pair

SESSIONS = 8
BARS = 375 * SESSIONS
CONFIG = BacktestConfig(costs="zerodha", slippage_bps="5", capital="5000000")


def spread_z(a: np.ndarray, b: np.ndarray, length: int) -> np.ndarray:
    """z-score of log(a / b) over the last `length` bars. Each window is summed in one fixed
    order (oldest first), so a window gives the same bits whether it is computed alone (bar by
    bar) or inside the whole array (the backtest): the rule's thresholds see identical z."""
    x = np.log(np.asarray(a, dtype=np.float64) / np.asarray(b, dtype=np.float64))
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n < length:
        return out
    m = n - length + 1
    total = np.zeros(m)
    for k in range(length):
        total += x[k : k + m]
    mean = total / length
    squares = np.zeros(m)
    for k in range(length):
        d = x[k : k + m] - mean
        squares += d * d
    with np.errstate(divide="ignore", invalid="ignore"):
        out[length - 1 :] = (x[length - 1 :] - mean) / np.sqrt(squares / length)
    return out


def both_traded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.logical_and(a, b)


class SpreadReversion(Strategy):
    """Sell the dear leg and buy the cheap one, each worth `value` rupees, when their log
    price ratio is `entry` standard deviations from its mean and both have a bar of their own;
    close both when it is back within `exit`. Entries only before 15:15: what is still open at
    the cut-off is the engine's to square off."""

    multi_instrument = True
    length = Param(60, min=5)
    entry = Param(2.0)
    exit = Param(0.5)
    value = Param(200_000, min=1)

    def init(self) -> None:
        a, b = self.datas["AAA"], self.datas["BBB"]
        self.z = self.I(spread_z, a.close, b.close, self.length, name="z")
        both = self.I(both_traded, a.has_bar, b.has_bar, name="both", lookback=1)
        self.on((self.z > self.entry) & both, self.aaa_dear)
        self.on((self.z < -self.entry) & both, self.aaa_cheap)
        self.on((self.z < self.exit) & (self.z > -self.exit), self.back)

    def _open(self, bar: BarView, dear: str, cheap: str) -> None:
        if (bar.time.hour, bar.time.minute) >= (15, 15) or not self.position_of(dear).is_flat:
            return
        if not self.position_of(cheap).is_flat:
            return
        sell_price = self.datas[dear].close[-1]
        buy_price = self.datas[cheap].close[-1]
        self.sell(int(self.value // sell_price), symbol=dear, product="MIS", tag="pair")
        self.buy(int(self.value // buy_price), symbol=cheap, product="MIS", tag="pair")

    def aaa_dear(self, bar: BarView) -> None:
        self._open(bar, "AAA", "BBB")

    def aaa_cheap(self, bar: BarView) -> None:
        self._open(bar, "BBB", "AAA")

    def back(self, bar: BarView) -> None:
        for symbol in ("AAA", "BBB"):
            if not self.position_of(symbol).is_flat:
                self.close_position(symbol=symbol, product="MIS", tag="unwind")


def correlated_pair(seed: int = 41) -> list[BarSeries]:
    """AAA: seeded minute bars; BBB: AAA's prices at about half, times a mean-reverting
    spread, on the tick grid. BBB starts 25 minutes late and each misses ~3% of minutes the
    other has (never the same minute), so the merged timeline has steps with one leg only."""
    a = make_bars(BARS, seed=seed)
    rng = np.random.default_rng(seed + 1)
    shocks = rng.normal(0.0, 0.0008, BARS)
    spread = np.zeros(BARS)
    for i in range(1, BARS):
        spread[i] = 0.97 * spread[i - 1] + shocks[i]
    factor = 0.5 * np.exp(spread)
    b = {key: (np.rint(a[key] * factor / 5) * 5).astype(np.int64) for key in ("open", "close")}
    b["high"] = np.maximum((np.rint(a["high"] * factor / 5) * 5).astype(np.int64), b["open"])
    b["high"] = np.maximum(b["high"], b["close"])
    b["low"] = np.minimum((np.rint(a["low"] * factor / 5) * 5).astype(np.int64), b["open"])
    b["low"] = np.minimum(b["low"], b["close"])
    b["ts"] = a["ts"]
    b["volume"] = (np.rint(rng.lognormal(7.5, 0.8, BARS)) + 1).astype(np.int64)
    missing = rng.random(BARS)
    keep_a = missing >= 0.03
    keep_b = (missing < 0.03) | (missing >= 0.06)
    keep_b[:25] = False
    return [
        series({k: v[keep_a] for k, v in a.items()}, "AAA"),
        series({k: v[keep_b] for k, v in b.items()}, "BBB"),
    ]


def assert_same_run(replayed: BacktestResult, backtest: BacktestResult) -> None:
    assert order_tuples(replayed) == order_tuples(backtest)
    assert trades(replayed) == trades(backtest)
    assert replayed.total_charges_paise == backtest.total_charges_paise > 0
    assert replayed.final_equity == backtest.final_equity
    assert same_report(replayed, backtest)


async def arriving(count: int) -> AsyncIterator[int]:
    """The steps of the merged timeline one at a time, the loop free between them."""
    for g in range(count):
        await asyncio.sleep(0)
        yield g


@pytest.fixture(scope="module")
def pair() -> list[BarSeries]:
    return correlated_pair()


@pytest.fixture(scope="module")
def backtest(pair: list[BarSeries]) -> BacktestResult:
    return run_backtest(SpreadReversion, None, pair, CONFIG)


def test_the_pair_data_and_the_rule_exercise_what_they_are_meant_to(pair, backtest):
    a, b = pair
    timeline = np.union1d(a.ts, b.ts)
    assert len(timeline) > len(a) and len(timeline) > len(b)  # each misses minutes
    common = np.intersect1d(a.ts, b.ts)
    a_close, b_close = (s.close[np.searchsorted(s.ts, common)] for s in (a, b))
    assert np.corrcoef(np.diff(a_close), np.diff(b_close))[0, 1] > 0.6  # correlated legs
    log = backtest.order_log
    assert len(log) > 60 and len(backtest.trades) > 30
    assert {o.symbol for o in log} == {"AAA", "BBB"}
    assert {"pair", "unwind", "squareoff"} <= {o.tag for o in log}
    assert {o.side for o in log if o.tag == "pair"} == {"BUY", "SELL"}


@pytest.mark.parametrize("streaming", [False, True], ids=["simulated", "streaming"])
def test_a_pairs_strategy_replays_bar_by_bar_exactly_as_its_backtest(pair, backtest, streaming):
    run = Replay(SpreadReversion, None, pair, CONFIG, streaming=streaming)
    assert_same_run(run.run(), backtest)
    (evaluator,) = run.evaluators  # one instance, one evaluator over both legs
    assert dict(evaluator.describe())["z"] == "lookback 61 inferred from its int arguments"


def test_the_pair_streamed_on_a_running_loop_trades_as_the_backtest(pair, backtest):
    """The contract's shape (tests/engine/test_execution_contract.py): the merged timeline
    arrives step by step on the asyncio loop, the streaming venue fills one bar at a time."""
    run = Replay(SpreadReversion, None, pair, CONFIG, streaming=True)
    assert_same_run(asyncio.run(run.run_async(arriving(len(run.parts.timeline)))), backtest)


def test_each_step_shows_the_backtests_aligned_bars_bit_for_bit(pair):
    """The rows replay builds from the bars arrived so far (a leg without a bar at a step
    carries its last one, NaN before its first) are the backtest's whole-array alignment."""
    run = Replay(SpreadReversion, None, pair, CONFIG)
    run.run()
    timeline = run.parts.timeline
    for slot in run.parts.slots:
        expected = aligned_arrays(
            slot.ts, (slot.open, slot.high, slot.low, slot.close), slot.volume, timeline
        )
        seen = run.evaluators[0].datas[slot.symbol]
        for name in ("ts", "open", "high", "low", "close", "volume"):
            assert np.array_equal(whole(getattr(seen, name)), expected[name], equal_nan=True)
        assert seen.has_bar is not None
        assert np.array_equal(whole(seen.has_bar), expected["has_bar"])
    bbb = run.evaluators[0].datas["BBB"]
    before = timeline < pair[1].ts[0]  # BBB starts 25 minutes late
    assert np.isnan(whole(bbb.close)[before]).all() and not whole(bbb.has_bar)[before].any()


def test_a_warm_up_is_the_first_steps_of_the_merged_timeline(pair):
    run = Replay(SpreadReversion, None, pair, CONFIG, warmup=750)
    result = run.run()
    first_live = int(run.parts.timeline[750])
    by_symbol = {slot.symbol: slot.ts for slot in run.parts.slots}
    placed_at = [int(by_symbol[o.symbol][o.placed_bar]) for o in result.order_log]
    assert placed_at and min(placed_at) >= first_live
    evaluator = run.evaluators[0]
    assert evaluator.size == len(run.parts.timeline)
    assert evaluator.audit() == []  # z continued exactly from the warm-up


def test_a_pair_computed_with_plain_arrays_is_refused_with_a_clear_message(pair):
    """tests/engine/test_multi_instrument.py's Pair divides `.full()` arrays in init(): fine
    for a backtest, but nothing says how to extend that ratio bar by bar."""
    Pair.seen, Pair.legs = [], []
    assert run_backtest(Pair, None, pair, CONFIG).order_log
    with pytest.raises(IncrementalError, match="computed by plain numpy"):
        replay_bars(Pair, None, pair, CONFIG)


def test_a_handler_that_raises_is_named_at_its_step_as_in_the_backtest(pair):
    class Stray(SpreadReversion):
        def aaa_dear(self, bar: BarView) -> None:
            self.buy(10, symbol="ZZZ")  # the stray order

    messages = []
    for run in (
        lambda: run_backtest(Stray, None, pair, CONFIG),
        lambda: replay_bars(Stray, None, pair, CONFIG),
    ):
        with pytest.raises(StrategyRuntimeError) as caught:
            run()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "'ZZZ' is not one of this strategy's instruments (AAA, BBB)" in messages[0]
    assert "of the merged timeline" in messages[0] and "the stray order" in messages[0]
