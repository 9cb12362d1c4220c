"""sma_crossover through the whole engine against an independent plain-numpy reading of its
semantics; determinism; multi-instrument; and no look-ahead (hypothesis)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest import BacktestConfig, run_backtest
from strategies.reference.sma_crossover import SmaCrossover
from tests.engine.synthetic import NO_COSTS, make_bars, series


def reference_trades(close: np.ndarray, open_: np.ndarray, fast: int, slow: int):
    """The documented semantics, written independently: exact integer window sums,
    fast_sum * slow vs slow_sum * fast; act at t, fill at open[t + 1]."""
    sums = np.concatenate(([0], np.cumsum(close)))
    trades, holding, entry = [], False, 0
    n = len(close)
    for t in range(slow, n - 1):  # t = n - 1 cannot be filled
        f_now = (sums[t + 1] - sums[t + 1 - fast]) * slow
        s_now = (sums[t + 1] - sums[t + 1 - slow]) * fast
        f_prev = (sums[t] - sums[t - fast]) * slow
        s_prev = (sums[t] - sums[t - slow]) * fast
        up = f_now > s_now and f_prev <= s_prev
        down = f_now < s_now and f_prev >= s_prev
        if up and not holding:
            holding, entry = True, t + 1
        elif down and holding:
            trades.append((entry, t + 1, int(open_[entry]), int(open_[t + 1])))
            holding = False
    return trades


def artha_trades(result) -> list[tuple[int, int, int, int]]:
    return [
        (t.entry_bar, t.exit_bar, int(t.entry_price * 100), int(t.exit_price * 100))
        for t in result.trades
    ]


@pytest.mark.parametrize(("seed", "fast", "slow"), [(7, 10, 30), (11, 3, 8), (5, 20, 50)])
def test_trades_match_the_independent_reading(seed, fast, slow):
    bars = make_bars(20_000, seed=seed)
    result = run_backtest(
        SmaCrossover, {"fast": fast, "slow": slow, "quantity": 100}, [series(bars)], NO_COSTS
    )
    expected = reference_trades(bars["close"], bars["open"], fast, slow)
    assert len(expected) > 50
    assert artha_trades(result) == expected
    assert all(t.quantity == 100 and t.side == "long" for t in result.trades)


def test_equity_is_cash_plus_trades_plus_open_position_exactly():
    bars = make_bars(5_000, seed=3)
    result = run_backtest(SmaCrossover, None, [series(bars)], NO_COSTS)
    gross = sum((t.gross_pnl for t in result.trades), Decimal(0))
    open_mark = Decimal(0)
    if result.open_positions:
        (quantity,) = result.open_positions.values()
        last_entry = [o for o in result.order_log if o.status == "FILLED"][-1]
        entry_price = Decimal(int(bars["open"][last_entry.placed_bar + 1])) / 100
        open_mark = quantity * (Decimal(int(bars["close"][-1])) / 100 - entry_price)
    assert result.final_equity == Decimal("10000000.00") + gross + open_mark
    assert result.curve.equity[-1] == pytest.approx(float(result.final_equity))


def test_with_costs_every_trade_pays_and_totals_agree_to_the_paisa():
    bars = make_bars(3_000, seed=9)
    result = run_backtest(SmaCrossover, None, [series(bars)], BacktestConfig(costs="zerodha"))
    assert result.trades and all(t.charges > 0 for t in result.trades)
    for t in result.trades:
        assert t.net_pnl == t.gross_pnl - t.charges
    free = run_backtest(SmaCrossover, None, [series(bars)], NO_COSTS)
    assert artha_trades(free) == artha_trades(result)  # costs never change decisions here
    # every rupee of charges is in some trade or in the open position's entry
    assert sum(t.charges for t in result.trades) <= result.total_charges
    assert free.final_equity - result.final_equity == result.total_charges


def test_a_signal_on_the_last_bar_is_not_filled_and_an_open_position_is_not_a_trade():
    bars = make_bars(2_000, seed=7)
    full = reference_trades(bars["close"], bars["open"], 10, 30)
    entry_bar = full[3][0]  # cut the data so the entry signal is on the last bar
    cut = {k: v[:entry_bar] for k, v in bars.items()}
    result = run_backtest(SmaCrossover, None, [series(cut)], NO_COSTS)
    assert artha_trades(result) == full[:3]
    last = result.order_log[-1]
    assert (last.placed_bar, last.status) == (entry_bar - 1, "CANCELLED")
    assert "data ended" in last.message
    held = {k: v[: full[3][1] - 1] for k, v in bars.items()}  # position still open at end
    result = run_backtest(SmaCrossover, None, [series(held)], NO_COSTS)
    assert artha_trades(result) == full[:3]
    assert result.open_positions == {"SYNTH/CNC": 100}


def test_same_input_gives_the_same_json_but_the_timing():
    bars = make_bars(3_000, seed=2)
    config = BacktestConfig(costs="zerodha")
    first = run_backtest(SmaCrossover, None, [series(bars)], config).as_json()
    second = run_backtest(SmaCrossover, None, [series(bars)], config).as_json()
    first.pop("run_seconds")
    second.pop("run_seconds")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["trades"][0]["entry_time"].endswith("+05:30")


def test_several_instruments_trade_independently_on_one_account():
    a, b = make_bars(4_000, seed=1), make_bars(3_000, seed=2)
    b = {**b, "ts": b["ts"][::-1][:3000][::-1]}  # overlapping, not identical, timelines
    both = run_backtest(SmaCrossover, None, [series(a, "AAA"), series(b, "BBB")], NO_COSTS)
    only_a = run_backtest(SmaCrossover, None, [series(a, "AAA")], NO_COSTS)
    only_b = run_backtest(SmaCrossover, None, [series(b, "BBB")], NO_COSTS)
    by_symbol = {s: [t for t in both.trades if t.symbol == s] for s in ("AAA", "BBB")}
    assert artha_trades_of(by_symbol["AAA"]) == artha_trades(only_a)
    assert artha_trades_of(by_symbol["BBB"]) == artha_trades(only_b)
    assert both.bars == 7_000
    exits = [t.exit_time for t in both.trades]
    assert exits == sorted(exits)  # booked in time order across instruments


def artha_trades_of(trades) -> list[tuple[int, int, int, int]]:
    return [
        (t.entry_bar, t.exit_bar, int(t.entry_price * 100), int(t.exit_price * 100)) for t in trades
    ]


def _placed_up_to(result, t: int) -> list[tuple[int, str, int, str]]:
    return [
        (o.placed_bar, o.side, o.quantity, o.order_type)
        for o in result.order_log
        if o.placed_bar <= t
    ]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(40, 160),
    fast=st.integers(1, 4),
    extra=st.integers(1, 8),
    cut=st.floats(0.1, 0.9),
    new_seed=st.integers(0, 10_000),
)
def test_changing_bars_after_t_never_changes_orders_placed_up_to_t(
    seed, n, fast, extra, cut, new_seed
):
    slow = fast + extra
    bars = make_bars(n, seed=seed)
    t = int(n * cut)
    other = make_bars(n, seed=new_seed)
    changed = {k: v.copy() for k, v in bars.items()}
    for key in ("open", "high", "low", "close", "volume"):
        changed[key][t + 1 :] = other[key][t + 1 :]
    params = {"fast": fast, "slow": slow, "quantity": 10}
    before = run_backtest(SmaCrossover, params, [series(bars)], NO_COSTS)
    after = run_backtest(SmaCrossover, params, [series(changed)], NO_COSTS)
    assert _placed_up_to(before, t) == _placed_up_to(after, t)


def test_pnl_per_symbol_adds_up_to_the_account():
    a, b = make_bars(3_000, seed=4), make_bars(3_000, seed=8)
    result = run_backtest(
        SmaCrossover, None, [series(a, "AAA"), series(b, "BBB")], BacktestConfig(costs="zerodha")
    )
    per = result.by_symbol
    assert set(per) == {"AAA", "BBB"}
    assert sum(p["trades"] for p in per.values()) == len(result.trades)
    closed = sum(Decimal(p["net_pnl"]) for p in per.values())
    unrealized = sum(Decimal(p["unrealized_pnl"]) for p in per.values())
    open_entry_charges = result.total_charges - sum(t.charges for t in result.trades)
    # capital + closed net P&L + open positions marked - their entry charges = final equity
    assert Decimal("10000000") + closed + unrealized - open_entry_charges == result.final_equity
