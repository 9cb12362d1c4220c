"""momentum_breakout on the demo market: it trades, its orders follow its documented rules
(recomputed here with numpy, not with the SDK), its stop is a real order, it is flat by 15:15
every day, the bar-by-bar replay places the same orders, and no order depends on bars after
the one it was placed on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest import BacktestConfig, run_backtest
from engine.data.demo import generate_demo
from strategies.reference import load_reference
from strategies.reference.momentum_breakout import MomentumBreakout
from tests.engine.replay_helpers import placed
from tests.strategies.intraday_rules import (
    NO_COSTS,
    TICK,
    Bars,
    check_replay_equals_backtest,
    check_whole_lot_entries,
    demo,
    entries,
    expected_entries,
    first_at_or_after,
    flat_by,
    holding,
    minutes,
    opening_range,
    reached_at,
    stopped_at,
    whole_lots,
    wilder_atr,
    with_bars,
)

DEFAULTS = {p.name: p.default for p in MomentumBreakout.parameters()}
CASES = {
    "defaults": {},
    "30 minutes": {"range_minutes": 30},
    # tight filter, no target, a wide stop, two entries a day: the cut-off closes trades
    "cut-off": {
        "max_range_atr": 8.0,
        "breakout_atr": 0.0,
        "target_atr": 0.0,
        "stop_atr": 30.0,
        "max_entries_per_day": 2,
    },
    "long only": {"allow_short": False, "entry_until": "11:00"},
}


def rules(b: Bars, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(long rule, short rule, ATR) at every bar, recomputed."""
    high, low = opening_range(b, params["range_minutes"])
    atr = wilder_atr(b, params["atr_period"])
    up = high + params["breakout_atr"] * atr
    down = low - params["breakout_atr"] * atr
    before = np.concatenate(([np.nan], b.close[:-1]))
    up_before = np.concatenate(([np.nan], up[:-1]))
    down_before = np.concatenate(([np.nan], down[:-1]))
    width = (high - low) / atr
    can = (
        (width >= params["min_range_atr"])
        & (width <= params["max_range_atr"])
        & (b.closes_at <= minutes(params["entry_until"]))
    )
    near = [(width, params["min_range_atr"]), (width, params["max_range_atr"])]
    if params["breakout_atr"]:  # at 0 a close equal to the range's edge is an exact tie
        near += [(b.close - up, 0.0), (b.close - down, 0.0)]
    for values, level in near:
        # no bar within rounding of a threshold: the comparisons here are exact
        assert not np.any(np.isclose(values, level, rtol=0, atol=1e-9))
    long_rule = can & (b.close > up) & (before <= up_before)
    short_rule = can & (b.close < down) & (before >= down_before) & params["allow_short"]
    return long_rule, short_rule, atr


def test_it_is_listed_as_a_reference_strategy():
    assert load_reference("momentum_breakout") is MomentumBreakout
    specs = {p.name: p for p in MomentumBreakout.parameters()}
    assert all(p.help for p in specs.values())
    assert specs["range_minutes"].choices == (15, 30)
    assert DEFAULTS["cutoff"] == "15:15"


def test_it_trades_the_demo_market_with_stop_orders_and_targets():
    result = run_backtest(MomentumBreakout, None, list(demo()), BacktestConfig())
    filled = [o for o in result.order_log if o.status == "FILLED"]
    assert len(result.trades) >= 15, len(result.trades)
    assert {t.side for t in result.trades} == {"long", "short"}
    assert any(o.order_type == "SL-M" for o in filled)  # the ATR stop: a real stop order
    assert any(o.order_type == "LIMIT" for o in filled)  # the target
    assert all(o.product == "MIS" for o in result.order_log)
    assert not result.rejections
    days = {(t.symbol, t.entry_time.date()) for t in result.trades}
    assert len(days) == len(result.trades)  # at most one entry a day by default


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("symbol", [0, 1, 2])
def test_orders_follow_the_rules(case, symbol):
    params = {**DEFAULTS, **CASES[case]}
    series = demo()[symbol]
    result = run_backtest(MomentumBreakout, CASES[case], [series], NO_COSTS)
    b = Bars(series)
    long_rule, short_rule, atr = rules(b, params)

    # every entry is on a bar where the rule fires; every such bar while flat gets one
    want = expected_entries(
        long_rule, short_rule, holding(result.trades, b.n), b.day, params["max_entries_per_day"]
    )
    assert want, "the rule never fired"
    assert entries(result, "orb entry") == want
    for order in (o for o in result.order_log if o.tag == "orb entry" and o.order_type == "MARKET"):
        assert order.quantity == whole_lots(params["order_value"], b.close[order.placed_bar])

    # every trade ends at the first of: its stop, its target, the cut-off
    cut = np.flatnonzero(first_at_or_after(b, minutes(params["cutoff"])))
    assert len(result.trades) == len(want)
    for trade, (signal, _) in zip(result.trades, want, strict=True):
        e, x, sign = trade.entry_bar, trade.exit_bar, 1 if trade.side == "long" else -1
        assert e == signal + 1  # a market order fills at the next bar's open
        closing = int(cut[cut >= e][0])
        fill = float(trade.entry_price)
        stop = fill - sign * round(params["stop_atr"] * atr[signal], 2)
        target = fill + sign * round(params["target_atr"] * atr[signal], 2)
        aims = params["target_atr"] > 0
        # exit prices are rounded to the tick: allow either way
        earliest, latest = (
            min(
                stopped_at(b, e, sign, stop + k * sign * TICK),
                reached_at(b, e, sign, target - k * sign * TICK) if aims else b.n,
                closing + 1,
            )
            for k in (1, -1)
        )
        assert earliest <= x <= latest, trade
    flat_by(result, b, params["cutoff"])
    if case == "cut-off":
        assert any(o.tag == "orb cut-off" and o.status == "FILLED" for o in result.order_log)


@pytest.mark.parametrize("case", ["defaults", "30 minutes"])
def test_replay_places_the_same_orders_and_trades_as_the_backtest(case):
    check_replay_equals_backtest(MomentumBreakout, CASES[case], at_least=5)


@pytest.mark.parametrize("lot", [25, 100])
def test_entries_are_whole_lots_of_the_instruments_lot(lot):
    """Entries are whole lots of the instrument's lot (check_whole_lot_entries)."""
    check_whole_lot_entries(MomentumBreakout, "orb entry", DEFAULTS["order_value"], lot)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000), cut=st.floats(0.05, 0.95), range_minutes=st.sampled_from([15, 30])
)
def test_orders_up_to_t_never_depend_on_bars_after_t(seed, cut, range_minutes):
    base = demo(count=1, days=3)[0]
    other = generate_demo(count=1, days=3, seed=seed)[0]  # valid bars, another market
    t = int(len(base) * cut)
    changed = with_bars(base, other, t)
    params = {"range_minutes": range_minutes, "max_entries_per_day": 3, "breakout_atr": 0.0}
    before = run_backtest(MomentumBreakout, params, [base], NO_COSTS)
    after = run_backtest(MomentumBreakout, params, [changed], NO_COSTS)
    assert [p for p in placed(before) if p[0] <= t] == [p for p in placed(after) if p[0] <= t]
