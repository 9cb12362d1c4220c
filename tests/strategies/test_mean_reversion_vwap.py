"""mean_reversion_vwap on the demo market: it trades, its orders follow its documented rules
(recomputed here with numpy, not with the SDK), it is flat by 15:15 every day, the bar-by-bar
replay places the same orders, and no order depends on bars after the one it was placed on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest import BacktestConfig, run_backtest
from engine.data.demo import generate_demo
from strategies.reference import load_reference
from strategies.reference.mean_reversion_vwap import MeanReversionVwap
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
    stopped_at,
    volume_ratio,
    vwap,
    whole_lots,
    wilder_atr,
    with_bars,
)

DEFAULTS = {p.name: p.default for p in MeanReversionVwap.parameters()}
CASES = {
    "defaults": {},
    "zscore": {"stretch_mode": "zscore"},
    # wide stop, late entries, one a day: trades that only the cut-off closes
    "cut-off": {"stop_atr": 40.0, "entry_until": "15:05", "entry_stretch": 1.5},
    "long only": {"allow_short": False, "max_entries_per_day": 1, "entry_from": "10:30"},
}


def stretch(b: Bars, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deviation from VWAP, stretch by the chosen measure, ATR), recomputed."""
    deviation = b.close - vwap(b)
    atr = wilder_atr(b, params["atr_period"])
    if params["stretch_mode"] == "atr":
        return deviation, deviation / atr, atr
    n = params["zscore_period"]
    z = np.full(b.n, np.nan)
    for t in range(n - 1, b.n):
        window = deviation[t - n + 1 : t + 1]
        if window.std() > 0:
            z[t] = (deviation[t] - window.mean()) / window.std()
    return deviation, z, atr


def test_it_is_listed_as_a_reference_strategy():
    assert load_reference("mean_reversion_vwap") is MeanReversionVwap
    specs = {p.name: p for p in MeanReversionVwap.parameters()}
    assert all(p.help for p in specs.values())
    assert specs["stretch_mode"].choices == ("atr", "zscore")
    assert DEFAULTS["cutoff"] == "15:15"


def test_it_trades_the_demo_market_both_ways_and_every_exit_kind_happens():
    result = run_backtest(MeanReversionVwap, None, list(demo()), BacktestConfig())
    sides = {t.side for t in result.trades}
    tags = {o.tag for o in result.order_log if o.status == "FILLED"}
    assert len(result.trades) >= 30, len(result.trades)
    assert sides == {"long", "short"}
    assert {"mr entry", "mr at vwap"} <= tags
    stops = [o for o in result.order_log if o.order_type == "SL-M" and o.status == "FILLED"]
    assert stops  # the bracket stop is a real order, and some are hit
    assert all(o.product == "MIS" for o in result.order_log)
    assert not result.rejections


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("symbol", [0, 1, 2])
def test_orders_follow_the_rules(case, symbol):
    params = {**DEFAULTS, **CASES[case]}
    series = demo()[symbol]
    result = run_backtest(MeanReversionVwap, CASES[case], [series], NO_COSTS)
    b = Bars(series)
    deviation, stretched, atr = stretch(b, params)
    ratio = volume_ratio(b, params["volume_period"])
    window = (b.closes_at >= minutes(params["entry_from"])) & (
        b.closes_at <= minutes(params["entry_until"])
    )
    can = window & (ratio >= params["volume_threshold"])
    long_rule = can & (deviation < 0) & (stretched <= -params["entry_stretch"])
    short_rule = (
        can & (deviation > 0) & (stretched >= params["entry_stretch"]) & params["allow_short"]
    )
    # no bar sits within rounding of a threshold, so the comparisons above are exact
    for values, level in (
        (stretched, params["entry_stretch"]),
        (ratio, params["volume_threshold"]),
    ):
        assert not np.any(np.isclose(np.abs(values), level, rtol=0, atol=1e-9))

    # every entry is on a bar where the rule fires; every such bar while flat gets one
    want = expected_entries(
        long_rule, short_rule, holding(result.trades, b.n), b.day, params["max_entries_per_day"]
    )
    assert want, "the rule never fired"
    assert entries(result, "mr entry") == want
    for order in (o for o in result.order_log if o.tag == "mr entry" and o.order_type == "MARKET"):
        assert order.quantity == whole_lots(params["order_value"], b.close[order.placed_bar])
        assert order.product == "MIS"

    # every trade ends at the first of: back at VWAP, the ATR stop, the cut-off
    cut = np.flatnonzero(first_at_or_after(b, minutes(params["cutoff"])))
    assert len(result.trades) == len(want)
    for trade, (signal, _) in zip(result.trades, want, strict=True):
        e, x, sign = trade.entry_bar, trade.exit_bar, 1 if trade.side == "long" else -1
        assert e == signal + 1  # a market order fills at the next bar's open
        reverted = np.flatnonzero(sign * deviation[e:] >= 0)
        back = e + int(reverted[0]) if reverted.size else b.n
        closing = int(cut[cut >= e][0])
        distance = round(params["stop_atr"] * atr[signal], 2)
        stop = float(trade.entry_price) - sign * distance
        # the stop price is rounded to the tick: allow it either way
        earliest = min(back + 1, stopped_at(b, e, sign, stop + sign * TICK), closing + 1)
        latest = min(back + 1, stopped_at(b, e, sign, stop - sign * TICK), closing + 1)
        assert earliest <= x <= latest, trade
    flat_by(result, b, params["cutoff"])
    if case == "cut-off":
        assert any(o.tag == "mr cut-off" and o.status == "FILLED" for o in result.order_log)


@pytest.mark.parametrize("case", ["defaults", "zscore"])
def test_replay_places_the_same_orders_and_trades_as_the_backtest(case):
    check_replay_equals_backtest(MeanReversionVwap, CASES[case], at_least=10)


@pytest.mark.parametrize("lot", [25, 100])
def test_entries_are_whole_lots_of_the_instruments_lot(lot):
    """Entries are whole lots of the instrument's lot (check_whole_lot_entries)."""
    check_whole_lot_entries(MeanReversionVwap, "mr entry", DEFAULTS["order_value"], lot)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    cut=st.floats(0.05, 0.95),
    mode=st.sampled_from(["atr", "zscore"]),
)
def test_orders_up_to_t_never_depend_on_bars_after_t(seed, cut, mode):
    base = demo(count=1, days=3)[0]
    other = generate_demo(count=1, days=3, seed=seed)[0]  # valid bars, another market
    t = int(len(base) * cut)
    changed = with_bars(base, other, t)
    params = {"stretch_mode": mode, "entry_stretch": 1.5}
    before = run_backtest(MeanReversionVwap, params, [base], NO_COSTS)
    after = run_backtest(MeanReversionVwap, params, [changed], NO_COSTS)
    assert [p for p in placed(before) if p[0] <= t] == [p for p in placed(after) if p[0] <= t]
