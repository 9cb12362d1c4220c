"""Replay (the live, bar-by-bar path) against the backtester, and the incremental evaluator.

The promise checked here: the SAME strategy class, fed one bar at a time with indicators
extended incrementally, places exactly the orders the whole-array backtest places, and gets
the same fills; a lookback that is too short, or an indicator that looks ahead, is caught;
a handler reading past its bar still raises LookAheadError.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest import BacktestConfig, StrategyRuntimeError, run_backtest
from engine.replay import IncrementalError, LookbackError, Replay, replay_bars
from engine.strategy.derived import DerivedSeries, Recipe, indicator
from engine.strategy.incremental import IncrementalEvaluator
from engine.strategy.incremental_nodes import plan
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import (
    BarView,
    LookAheadError,
    Strategy,
    StrategyError,
    crossed_above,
    ema,
    sma,
)
from tests.engine.replay_helpers import (
    ArraySmaCrossover,
    Clairvoyant,
    DeclaredFull,
    EmaCrossover,
    EveryBar,
    HostStub,
    OpaqueCondition,
    PeeksAtIndicator,
    PeeksInHandler,
    ShortLookback,
    UndeclaredRecursive,
    placed,
    same_report,
    trades,
    wilder,
)
from tests.engine.synthetic import NO_COSTS, make_bars, series

# -- replay == backtest ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "fast", "slow"), [(7, 10, 30), (11, 3, 8), (5, 20, 50), (23, 1, 2)]
)
def test_replay_places_the_same_orders_and_trades_as_the_backtest(seed, fast, slow):
    data = series(make_bars(3_000, seed=seed))
    params = {"fast": fast, "slow": slow, "quantity": 100}
    backtest = run_backtest(SmaCrossover, params, [data], NO_COSTS)
    replay = replay_bars(SmaCrossover, params, data, NO_COSTS)
    assert len(backtest.order_log) > 20
    assert placed(replay) == placed(backtest)
    assert trades(replay) == trades(backtest)
    assert same_report(replay, backtest)  # equity curve, metrics, everything but the timing


def test_replay_with_costs_matches_to_the_paisa():
    data = series(make_bars(3_000, seed=9))
    config = BacktestConfig(costs="zerodha")
    backtest = run_backtest(SmaCrossover, None, [data], config)
    replay = replay_bars(SmaCrossover, None, data, config)
    assert placed(replay) == placed(backtest)
    assert replay.total_charges_paise == backtest.total_charges_paise > 0
    assert same_report(replay, backtest)


def test_the_strategy_as_first_written_with_full_arrays_also_replays_identically():
    """crossed_above(fast.full(), slow.full()) returns a plain array, but the SDK notes how
    it was made while init() is recorded, so the unmodified array style runs bar by bar."""
    data = series(make_bars(3_000, seed=4))
    backtest = run_backtest(ArraySmaCrossover, None, [data], NO_COSTS)
    assert placed(backtest) == placed(run_backtest(SmaCrossover, None, [data], NO_COSTS))
    assert placed(replay_bars(ArraySmaCrossover, None, data, NO_COSTS)) == placed(backtest)


def test_several_instruments_replay_like_the_backtest():
    a, b = make_bars(3_000, seed=1), make_bars(2_000, seed=2)
    b = {**b, "ts": b["ts"][::-1][:2000][::-1]}
    data = [series(a, "AAA"), series(b, "BBB")]
    backtest = run_backtest(SmaCrossover, None, data, NO_COSTS)
    replay = replay_bars(SmaCrossover, None, data, NO_COSTS)
    assert [(o.symbol, *p) for o, p in zip(replay.order_log, placed(replay), strict=True)] == [
        (o.symbol, *p) for o, p in zip(backtest.order_log, placed(backtest), strict=True)
    ]
    assert same_report(replay, backtest)


def test_on_bar_and_on_fill_run_as_in_the_backtest():
    data = series(make_bars(3_000, seed=6))
    backtest = run_backtest(EveryBar, None, [data], NO_COSTS)
    run = Replay(EveryBar, None, data, NO_COSTS)
    replay = run.run()
    assert placed(replay) == placed(backtest)
    assert same_report(replay, backtest)
    strategy = run.evaluators[0].strategy
    assert strategy.seen == list(range(3_000))
    assert len(strategy.fills) == sum(1 for o in replay.order_log if o.status == "FILLED")


def test_sma_crossover_extends_each_indicator_from_a_short_window_not_the_history():
    run = Replay(SmaCrossover, None, series(make_bars(500, seed=1)), NO_COSTS)
    run.run()
    assert run.evaluators[0].describe() == [
        ("sma10", "lookback 10 declared by sma"),
        ("sma30", "lookback 30 declared by sma"),
        ("crossed_above(sma10, sma30)", "lookback 2 declared by crossed_above"),
        ("crossed_below(sma10, sma30)", "lookback 2 declared by crossed_below"),
    ]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), new_seed=st.integers(0, 10_000), cut=st.floats(0.1, 0.9))
def test_replay_orders_up_to_t_never_depend_on_bars_after_t(seed, new_seed, cut):
    bars, other = make_bars(150, seed=seed), make_bars(150, seed=new_seed)
    t = int(150 * cut)
    changed = {k: v.copy() for k, v in bars.items()}
    for key in ("open", "high", "low", "close", "volume"):
        changed[key][t + 1 :] = other[key][t + 1 :]
    params = {"fast": 2, "slow": 5, "quantity": 10}
    before = replay_bars(SmaCrossover, params, series(bars), NO_COSTS)
    after = replay_bars(SmaCrossover, params, series(changed), NO_COSTS)
    assert [p for p in placed(before) if p[0] <= t] == [p for p in placed(after) if p[0] <= t]


# -- incremental indicators -----------------------------------------------------------------


def test_ema_is_extended_exactly_and_the_ema_strategy_replays_identically():
    bars = make_bars(3_000, seed=12)
    data = series(bars)
    backtest = run_backtest(EmaCrossover, None, [data], NO_COSTS)
    run = Replay(EmaCrossover, None, data, NO_COSTS)
    replay = run.run()
    assert len(backtest.order_log) > 20
    assert placed(replay) == placed(backtest)
    assert same_report(replay, backtest)
    strategy = run.evaluators[0].strategy
    close = bars["close"] / 100.0
    # bit for bit: the recursive step does the whole-array loop's arithmetic
    assert np.array_equal(strategy.fast_ema.full(), ema(close, 8), equal_nan=True)
    assert np.array_equal(strategy.slow_ema.full(), ema(close, 21), equal_nan=True)
    how = dict(run.evaluators[0].describe())
    assert how["ema_fast"] == "recursive update declared by ema"


def test_indicators_after_a_warm_up_history_continue_exactly():
    bars = make_bars(2_000, seed=3)
    data = series(bars)
    run = Replay(EmaCrossover, None, data, NO_COSTS, warmup=700, capacity=16)
    result = run.run()
    strategy = run.evaluators[0].strategy
    close = bars["close"] / 100.0
    assert np.array_equal(strategy.fast_ema.full(), ema(close, 8), equal_nan=True)
    assert all(o.placed_bar >= 700 for o in result.order_log)
    assert strategy.data.size == 2_000 and strategy.data.close.full().shape == (2_000,)


def test_bars_grow_in_place_with_doubling_capacity():
    bars = make_bars(300, seed=8)
    data = series(bars)
    strategy = SmaCrossover({"fast": 3, "slow": 7})
    evaluator = IncrementalEvaluator(strategy, HostStub(), "SYNTH", data.slice(0, 5), capacity=1)
    evaluator.start()
    capacities = set()
    for i in range(5, 300):
        evaluator.push(
            int(bars["ts"][i]),
            bars["open"][i] / 100,
            bars["high"][i] / 100,
            bars["low"][i] / 100,
            bars["close"][i] / 100,
            int(bars["volume"][i]),
        )
        capacities.add(evaluator._columns["close"].buf.shape[0])
    assert capacities == {10, 20, 40, 80, 160, 320}  # 5 bars of history, then doubling
    assert np.array_equal(strategy.data.close.full(), bars["close"] / 100.0)
    assert np.array_equal(strategy.data.ts.full(), bars["ts"])
    assert len(strategy.data.close) == 300 and strategy.data.size == 300


def test_handlers_due_are_returned_and_fire_with_the_clock_at_the_new_bar():
    bars = make_bars(400, seed=2)
    data = series(bars)
    expected = run_backtest(SmaCrossover, {"fast": 3, "slow": 7, "quantity": 1}, [data], NO_COSTS)
    host = HostStub()
    strategy = SmaCrossover({"fast": 3, "slow": 7, "quantity": 1})
    evaluator = IncrementalEvaluator(strategy, host, "SYNTH")
    evaluator.start()
    fired: list[tuple[int, str]] = []
    for i in range(400):
        due = evaluator.push(
            int(bars["ts"][i]),
            bars["open"][i] / 100,
            bars["high"][i] / 100,
            bars["low"][i] / 100,
            bars["close"][i] / 100,
            int(bars["volume"][i]),
        )
        assert strategy.bar_index == i
        fired.extend((i, h.__name__) for h in due)
    full = crossed_above(sma(bars["close"] / 100, 3), sma(bars["close"] / 100, 7))
    assert [i for i, name in fired if name == "enter"] == np.flatnonzero(full).tolist()
    assert expected.order_log  # the backtest did trade on these bars


def test_lookback_is_declared_inferred_or_full():
    close = DerivedSeries(np.arange(10.0), _clock(9), "close", Recipe(len, ()))
    assert plan(Recipe(sma, (close, 30)))[:2] == ("window", 30)
    assert plan(Recipe(crossed_above, (close, close)))[:2] == ("window", 2)
    assert plan(Recipe(ema, (close, 30)))[0] == "update"
    assert plan(Recipe(wilder, (close, 14)))[:2] == ("window", 15)  # inferred: 1 + 14
    assert plan(Recipe(wilder, (close, 14), lookback="full"))[0] == "full"
    assert plan(Recipe(ema, (close, 30), lookback=90))[:2] == ("window", 90)  # I() wins
    assert plan(Recipe(np.cumsum, (close,)))[0] == "full"  # nothing to infer from
    with pytest.raises(StrategyError, match="lookback"):
        Recipe(sma, (close, 3), lookback=0)

    @indicator(lookback="full")
    def running_max(values):
        return np.maximum.accumulate(np.asarray(values, dtype=float))

    assert plan(Recipe(running_max, (close,)))[0] == "full"
    assert isinstance(running_max(close), DerivedSeries)
    assert isinstance(running_max(np.arange(3.0)), np.ndarray)


def _clock(index: int):
    from engine.strategy.series import Clock

    return Clock(index)


# -- what replay catches --------------------------------------------------------------------


def test_a_lookback_declared_too_short_is_caught_after_a_replay():
    data = series(make_bars(3_000, seed=5))
    run_backtest(ShortLookback, None, [data], NO_COSTS)  # the whole-array run cannot tell
    with pytest.raises(LookbackError, match=r"ema20 \(lookback=20 given\)") as caught:
        replay_bars(ShortLookback, None, data, NO_COSTS)
    first = caught.value.mismatches[0]
    assert first.name == "ema20" and first.bar == 20  # the first bar past the declared window


def test_a_lookback_declared_too_short_is_caught_on_the_warm_up_before_any_bar():
    data = series(make_bars(3_000, seed=5))
    with pytest.raises(LookbackError, match="ema20") as caught:
        Replay(ShortLookback, None, data, NO_COSTS, warmup=500).run()
    assert caught.value.mismatches[0].bar < 500


def test_an_inferred_lookback_that_is_wrong_is_caught_and_full_fixes_it():
    data = series(make_bars(2_000, seed=5))
    with pytest.raises(LookbackError, match=r"wilder14 \(lookback 15 inferred"):
        replay_bars(UndeclaredRecursive, None, data, NO_COSTS)
    backtest = run_backtest(DeclaredFull, None, [data], NO_COSTS)
    assert placed(replay_bars(DeclaredFull, None, data, NO_COSTS)) == placed(backtest)


def test_an_indicator_that_looks_ahead_is_refused_by_backtest_and_replay_alike():
    """self.I recomputes every indicator on prefixes (tests/engine/test_look_ahead.py), so
    tomorrow's close never reaches a backtest; replay refuses it in init() the same way."""
    data = series(make_bars(1_000, seed=5))
    for run in (
        lambda: run_backtest(Clairvoyant, None, [data], NO_COSTS),
        lambda: replay_bars(Clairvoyant, None, data, NO_COSTS, warmup=200),
    ):
        with pytest.raises(StrategyRuntimeError, match="indicator next_close looks ahead"):
            run()


@pytest.mark.parametrize("strategy", [PeeksInHandler, PeeksAtIndicator])
def test_a_handler_reading_past_its_bar_raises_look_ahead_in_replay_as_in_backtest(strategy):
    data = series(make_bars(1_000, seed=7))
    for run in (
        lambda: run_backtest(strategy, None, [data], NO_COSTS),
        lambda: replay_bars(strategy, None, data, NO_COSTS),
    ):
        with pytest.raises(StrategyRuntimeError, match="LookAheadError") as caught:
            run()
        assert isinstance(caught.value.__cause__, LookAheadError)


def test_full_in_a_handler_is_refused_in_replay_as_in_backtest():
    class LooksAtFull(SmaCrossover):
        def enter(self, bar: BarView) -> None:
            self.data.close.full()

    data = series(make_bars(1_000, seed=7))
    for run in (
        lambda: run_backtest(LooksAtFull, None, [data], NO_COSTS),
        lambda: replay_bars(LooksAtFull, None, data, NO_COSTS),
    ):
        with pytest.raises(StrategyRuntimeError, match=r"close\.full\(\) holds bars after"):
            run()


def test_a_plain_numpy_condition_is_refused_with_a_clear_message():
    data = series(make_bars(500, seed=1))
    assert run_backtest(OpaqueCondition, None, [data], NO_COSTS).order_log  # fine whole-array
    with pytest.raises(IncrementalError, match=r"condition for enter .* plain array"):
        replay_bars(OpaqueCondition, None, data, NO_COSTS)


def test_init_errors_are_reported_like_the_backtest():
    data = series(make_bars(500, seed=1))
    with pytest.raises(StrategyRuntimeError, match="in init"):
        replay_bars(SmaCrossover, {"fast": 9, "slow": 5}, data, NO_COSTS)


class TakeProfitOnFill(Strategy):
    """A resting limit entry; on its fill, a take-profit limit 1 rupee above the entry."""

    def init(self) -> None:
        fast = self.I(sma, self.data.close, 20)
        self.on(crossed_above(fast, self.I(sma, self.data.close, 200)), self.go)

    def go(self, bar: BarView) -> None:
        if self.position.is_flat and not self.open_orders():
            self.buy(10, price=round(bar.close * 0.998, 1))

    def on_fill(self, fill) -> None:
        if fill.side == "BUY":
            self.sell(10, price=float(fill.price) + 1.0)


def _exits_before_entries(result) -> list[tuple[int, int]]:
    return [(t.entry_bar, t.exit_bar) for t in result.trades if t.exit_bar < t.entry_bar]


def test_in_replay_an_order_placed_on_a_fill_starts_after_that_fill():
    result = replay_bars(TakeProfitOnFill, None, series(make_bars(3_000, seed=3)), NO_COSTS)
    assert len(result.trades) > 3
    assert _exits_before_entries(result) == []
    # the take-profit is placed while the entry's bar trades, so it can act from the next bar
    fills = [t.entry_bar for t in result.trades]
    exits = [o.placed_bar for o in result.order_log if o.side == "SELL"]
    assert all(placed == entry for placed, entry in zip(exits, fills, strict=False))
    assert all(t.exit_bar > t.entry_bar for t in result.trades)


def test_backtest_an_order_placed_on_a_fill_starts_after_that_fill():
    data = series(make_bars(3_000, seed=3))
    result = run_backtest(TakeProfitOnFill, None, [data], NO_COSTS)
    assert _exits_before_entries(result) == []
    assert all(t.exit_bar > t.entry_bar for t in result.trades)
    replayed = replay_bars(TakeProfitOnFill, None, data, NO_COSTS)
    assert [t.as_json() for t in replayed.trades] == [t.as_json() for t in result.trades]
