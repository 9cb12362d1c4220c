"""pairs_trading (strategies/reference/pairs_trading.py): trades on a cointegrated pair and
(nearly) not on an independent one; its orders follow its documented rules, checked against
an independent recomputation (numpy + statsmodels, not the SDK's indicators); the bar-by-bar
replay places the backtest's orders; and no order depends on bars after it.

The demo market (engine/data/demo.py) has no cointegrated pair by construction: each stock
is a market factor plus sector and stock noise that integrates, so its pairs are random
walks apart (about 3% of its 1,225 pairs pass Engle-Granger at 5% over 20 sessions, as chance
alone would have it). The tests build one: x is seeded minute bars on the NSE session clock
(bench/synthetic_bars.py), y = 50 + 1.6 x + a mean-reverting AR(1) noise, on the tick grid.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.tsa.stattools import coint

from engine.backtest import BacktestConfig, StrategyRuntimeError, run_backtest
from engine.backtest.result import BacktestResult
from engine.data.bar_series import BarSeries
from engine.replay import Replay, replay_bars
from strategies.reference import REFERENCE_STRATEGIES, load_reference
from strategies.reference.pairs_trading import PairsTrading, coint_pvalue, retest_bars
from tests.engine.replay_helpers import order_tuples, same_report, trades
from tests.engine.synthetic import make_bars, series

IST = timezone(timedelta(hours=5, minutes=30))
NO_COSTS = BacktestConfig(costs="none")
SESSIONS = 10
F64 = npt.NDArray[np.float64]


# -- data ----------------------------------------------------------------------------------------


def _leg(ts: np.ndarray, close_rupees: F64, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Minute bars whose closes are `close_rupees` on the 0.05 tick, with a small range."""
    n = ts.shape[0]
    close = np.maximum(np.rint(close_rupees * 20), 1).astype(np.int64) * 5
    before = np.concatenate(([close[0]], close[:-1]))
    open_ = np.maximum(before + rng.integers(-1, 2, n) * 5, 5)
    return {
        "ts": ts,
        "open": open_,
        "high": np.maximum(open_, close) + rng.integers(0, 3, n) * 5,
        "low": np.maximum(np.minimum(open_, close) - rng.integers(0, 3, n) * 5, 5),
        "close": close,
        "volume": (np.rint(rng.lognormal(7.5, 0.8, n)) + 1).astype(np.int64),
    }


@cache
def pair(
    sessions: int = SESSIONS, seed: int = 7, cointegrated: bool = True, gaps: bool = False
) -> tuple[BarSeries, BarSeries]:
    """(y, x) over `sessions` regular NSE sessions of 1-minute bars. Cointegrated: y = 50 +
    1.6 x + AR(1) noise (phi 0.95, shocks of 0.6 rupee). Independent: y is another seeded
    walk. With gaps, each leg misses ~3% of minutes (never the same one) and y starts 20
    minutes late, so the merged timeline has steps with one leg only."""
    n = 375 * sessions
    rng = np.random.default_rng(seed)
    x = make_bars(n, seed=seed)
    x_close = x["close"] / 100
    if cointegrated:
        noise = np.zeros(n)
        shocks = rng.normal(0.0, 0.6, n)
        for i in range(1, n):
            noise[i] = 0.95 * noise[i - 1] + shocks[i]
        y_close = 50 + 1.6 * x_close + noise
    else:
        y_close = 1.6 * make_bars(n, seed=seed + 1000)["close"] / 100
    y = _leg(x["ts"], y_close, rng)
    if not gaps:
        return series(y, "YYY"), series(x, "XXX")
    missing = rng.random(n)
    keep_y = missing >= 0.03
    keep_x = (missing < 0.03) | (missing >= 0.06)
    keep_y[:20] = False
    return (
        series({k: v[keep_y] for k, v in y.items()}, "YYY"),
        series({k: v[keep_x] for k, v in x.items()}, "XXX"),
    )


@cache
def backtest(sessions: int = SESSIONS, seed: int = 7, cointegrated: bool = True) -> BacktestResult:
    return run_backtest(PairsTrading, None, list(pair(sessions, seed, cointegrated)), NO_COSTS)


# -- an independent recomputation of the rules (numpy + statsmodels) -----------------------------

DEFAULTS = {p.name: p.default for p in PairsTrading.parameters()}


class Recomputed:
    """The pair's closes, clock, hedge ratio, spread z-score and cointegration p-value, each
    computed here the plain way: np.polyfit per window, a z-score loop, statsmodels' coint
    on the 750 closes ending at each session's first bar (the default re-test bars)."""

    def __init__(self, y: BarSeries, x: BarSeries) -> None:
        assert np.array_equal(y.ts, x.ts), "the rule check wants legs without gaps"
        self.y = np.asarray(y.close, dtype=np.float64) / 100
        self.x = np.asarray(x.close, dtype=np.float64) / 100
        self.n = n = self.y.shape[0]
        opens = [datetime.fromtimestamp(int(t) // 10**9, UTC).astimezone(IST) for t in y.ts]
        self.day = np.array([t.date().toordinal() for t in opens])
        self.closes_at = np.array([t.hour * 60 + t.minute + 1 for t in opens])
        hedge, zlen, window = DEFAULTS["hedge_period"], DEFAULTS["zscore_period"], 750
        self.beta = np.full(n, np.nan)
        for t in range(hedge - 1, n):
            self.beta[t] = np.polyfit(
                self.x[t - hedge + 1 : t + 1], self.y[t - hedge + 1 : t + 1], 1
            )[0]
        spread = self.y - self.beta * self.x
        self.z = np.full(n, np.nan)
        for t in range(n):
            w = spread[max(t - zlen + 1, 0) : t + 1]
            if w.shape[0] == zlen and np.isfinite(w).all() and w.std() > 0:
                self.z[t] = (w[-1] - w.mean()) / w.std()
        firsts = [t for t in range(1, n) if self.day[t] != self.day[t - 1]]
        self.p = np.full(n, np.nan)
        for r in firsts:
            if r >= window - 1:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ys, xs = self.y[r - window + 1 : r + 1], self.x[r - window + 1 : r + 1]
                    self.p[r:] = coint(ys, xs, trend="c", maxlag=1, autolag=None)[1]

    def expected(self) -> list[tuple[int, str]]:
        """(step, what) for every pair of orders the rules place, by simulating the
        documented state machine on the recomputed values (market orders fill at the next
        step's open, so a pair closed at t is flat at t + 1)."""
        entry, exit_, stop = DEFAULTS["entry_z"], DEFAULTS["exit_z"], DEFAULTS["stop_z"]
        side, stopped_at = 0, None
        out: list[tuple[int, str]] = []
        for t in range(self.n):
            z, p, beta = self.z[t], self.p[t], self.beta[t]
            if side == 0 and self.closes_at[t] <= 15 * 60 and p < 0.05 and beta > 0:
                if (
                    stopped_at is not None
                    and (np.abs(self.z[stopped_at + 1 : t + 1]) < entry).any()
                ):
                    stopped_at = None
                if stopped_at is None and entry < abs(z) <= stop:
                    side = -1 if z > 0 else 1
                    out.append((t, "pair short" if side < 0 else "pair long"))
                    continue
            if side and side * z > -exit_:  # short spread: z < exit; long: z > -exit
                side = 0
                out.append((t, "pair exit"))
            elif side and -side * z > stop:
                side, stopped_at = 0, t
                out.append((t, "pair stop"))
            elif side and self.closes_at[t] == 15 * 60 + 15:
                side = 0
                out.append((t, "pair cut-off"))
        return out


@cache
def recomputed(sessions: int = SESSIONS, seed: int = 7) -> Recomputed:
    return Recomputed(*pair(sessions, seed))


def order_pairs(result: BacktestResult) -> list[tuple[int, str, dict[str, tuple[str, int]]]]:
    """The orders grouped by the step they were placed at: (step, tag, {symbol: (side,
    quantity)}); every step must hold one order per leg with one tag."""
    by_step: dict[int, list[Any]] = defaultdict(list)
    for o in result.order_log:
        by_step[o.placed_bar].append(o)
    out = []
    for step in sorted(by_step):
        orders = by_step[step]
        assert len(orders) == 2 and {o.symbol for o in orders} == {"YYY", "XXX"}, orders
        assert orders[0].tag == orders[1].tag, orders
        assert {o.status for o in orders} == {"FILLED"}, orders
        assert {o.product for o in orders} == {"MIS"}
        out.append((step, orders[0].tag, {o.symbol: (o.side, o.quantity) for o in orders}))
    return out


# -- (a) the p-value gate -------------------------------------------------------------------------


def test_it_trades_a_cointegrated_pair_and_far_less_an_independent_one():
    for seed in (7, 8):
        together = backtest(SESSIONS, seed, True)
        apart = backtest(SESSIONS, seed, False)
        assert len(together.trades) >= 40  # 20 pairs or more in ten sessions
        assert len(apart.trades) * 5 <= len(together.trades)
        assert together.open_positions == {} and apart.open_positions == {}


def test_the_gate_is_the_p_value_the_independent_pair_fails_most_sessions():
    y, x = pair(SESSIONS, 7, False)
    p = coint_pvalue(np.asarray(y.close) / 100, np.asarray(x.close) / 100, y.ts, 750, 375, 1, 1)
    tested = np.unique(p[np.isfinite(p)])
    assert len(tested) == SESSIONS - 2  # one test per session from the third one
    assert (tested >= 0.05).mean() >= 0.6
    y, x = pair(SESSIONS, 7, True)
    p = coint_pvalue(np.asarray(y.close) / 100, np.asarray(x.close) / 100, y.ts, 750, 375, 1, 1)
    assert (np.unique(p[np.isfinite(p)]) < 0.05).all()


# -- (b) its trades follow its rules ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [7, 8])
def test_every_order_is_one_the_rules_place_and_every_rule_firing_got_its_orders(seed):
    result = backtest(SESSIONS, seed, True)
    again = recomputed(SESSIONS, seed)
    placed = [(step, tag) for step, tag, _ in order_pairs(result)]
    assert placed == again.expected()
    assert {"pair short", "pair long", "pair exit"} <= {tag for _, tag in placed}


@pytest.mark.parametrize("seed", [7, 8])
def test_entries_and_exits_at_the_recomputed_z_beta_and_p_value(seed):
    result = backtest(SESSIONS, seed, True)
    r = recomputed(SESSIONS, seed)
    entry, exit_, stop = DEFAULTS["entry_z"], DEFAULTS["exit_z"], DEFAULTS["stop_z"]
    side = 0
    for step, tag, legs in order_pairs(result):
        z = r.z[step]
        if tag in ("pair short", "pair long"):
            assert side == 0
            side = -1 if tag == "pair short" else 1
            assert entry < -side * z <= stop and r.p[step] < 0.05 and r.beta[step] > 0
            assert r.closes_at[step] <= 15 * 60
            # y bought on a long spread, sold on a short one; x the other way
            assert legs["YYY"][0] == ("BUY" if side > 0 else "SELL")
            assert legs["XXX"][0] == ("SELL" if side > 0 else "BUY")
            y_qty, x_qty = legs["YYY"][1], legs["XXX"][1]
            gross = DEFAULTS["capital_per_trade"]
            assert y_qty == math.floor(gross / (r.y[step] + r.beta[step] * r.x[step]))
            assert x_qty == round(r.beta[step] * y_qty)
        else:
            assert side != 0
            if tag == "pair exit":
                assert side * z > -exit_  # back inside exit_z (or past it the other way)
            elif tag == "pair stop":
                assert -side * z > stop
            else:
                assert tag == "pair cut-off" and r.closes_at[step] == 15 * 60 + 15
            assert legs["YYY"][0] == ("SELL" if side > 0 else "BUY")
            assert legs["XXX"][0] == ("BUY" if side > 0 else "SELL")
            side = 0


def test_both_legs_open_and_close_together_and_are_flat_by_the_cut_off():
    result = backtest()
    held: dict[str, int] = {"YYY": 0, "XXX": 0}
    for _step, tag, legs in order_pairs(result):
        for symbol, (side, quantity) in legs.items():
            held[symbol] += quantity if side == "BUY" else -quantity
        if tag in ("pair short", "pair long"):
            assert held["YYY"] and held["XXX"] and (held["YYY"] > 0) != (held["XXX"] > 0)
        else:
            assert held == {"YYY": 0, "XXX": 0}  # each exit closes both legs, whole
    by_leg = defaultdict(list)
    for t in result.trades:
        by_leg[(t.entry_time, t.exit_time)].append(t.symbol)
        assert t.entry_time.date() == t.exit_time.date()
        assert t.exit_time.astimezone(IST).time() <= datetime(2000, 1, 1, 15, 15).time()
    assert all(sorted(symbols) == ["XXX", "YYY"] for symbols in by_leg.values())


def test_quantities_are_whole_lots_of_each_leg():
    from engine.domain.enums import Exchange, Segment
    from engine.domain.instrument import Instrument

    y, x = pair()
    lots = {"YYY": 25, "XXX": 40}
    instruments = {
        s: Instrument(Exchange.NFO, Segment.FUTURES, s, lot_size=lot, expiry=date(2027, 1, 28))
        for s, lot in lots.items()
    }
    result = run_backtest(
        PairsTrading, {"capital_per_trade": 4_000_000}, [y, x], NO_COSTS, instruments
    )
    assert len(result.order_log) > 20
    for o in result.order_log:
        assert o.quantity % lots[o.symbol] == 0 and o.quantity > 0


def test_a_stop_blocks_entries_until_the_spread_is_back_inside_entry_z():
    result = run_backtest(PairsTrading, {"stop_z": 2.6}, list(pair()), NO_COSTS)
    z = recomputed().z
    pairs = order_pairs(result)
    stops = [i for i, (_, tag, _) in enumerate(pairs) if tag == "pair stop"]
    assert stops
    for i in stops:
        if i + 1 < len(pairs):
            stopped, next_entry = pairs[i][0], pairs[i + 1][0]
            assert (np.abs(z[stopped + 1 : next_entry + 1]) < DEFAULTS["entry_z"]).any()


def test_capital_zero_sizes_from_the_accounts_buying_power():
    config = BacktestConfig(costs="none", capital="1000000")
    result = run_backtest(PairsTrading, {"capital_per_trade": 0}, list(pair()), config)
    r = recomputed()
    entries = [
        (s, legs) for s, tag, legs in order_pairs(result) if tag in ("pair short", "pair long")
    ]
    assert entries
    step, legs = entries[0]  # the first entry: the account is all cash
    gross = 1_000_000 * 0.99
    assert legs["YYY"][1] == math.floor(gross / (r.y[step] + r.beta[step] * r.x[step]))


# -- the p-value indicator ----------------------------------------------------------------------


def test_the_p_value_is_retested_once_a_session_and_is_causal():
    y, x = pair()
    yc, xc, ts = np.asarray(y.close) / 100, np.asarray(x.close) / 100, np.asarray(y.ts)
    marks = retest_bars(ts, 375)
    assert marks.sum() == SESSIONS - 1 and not marks[0]  # every session's first bar but bar 0
    assert (np.flatnonzero(marks) % 375 == 0).all()
    p = coint_pvalue(yc, xc, ts, 750, 375, 1, 1)
    assert np.allclose(p, recomputed().p, rtol=1e-9, equal_nan=True)
    for cut in (800, 1126, 1500, 2999):  # a prefix gives the same values: causal
        part = coint_pvalue(yc[:cut], xc[:cut], ts[:cut], 750, 375, 1, 1)
        assert np.array_equal(part, p[:cut], equal_nan=True)


def test_hourly_retests_follow_the_clock_not_the_bar_count():
    y, _ = pair(2)
    ts = np.asarray(y.ts)
    marks = np.flatnonzero(retest_bars(ts, 60))
    times = [datetime.fromtimestamp(int(ts[i]) // 10**9, UTC).astimezone(IST) for i in marks]
    assert [t.strftime("%H:%M") for t in times[:7]] == [
        "10:15",
        "11:15",
        "12:15",
        "13:15",
        "14:15",
        "15:15",
        "09:15",
    ]
    # a history starting elsewhere re-tests at the same bars
    assert np.array_equal(np.flatnonzero(retest_bars(ts[100:], 60)) + 100, marks[marks > 100])


# -- (c) backtest == replay ---------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["simulated", "streaming"])
def test_replay_bar_by_bar_places_the_backtests_orders_trades_and_charges(streaming):
    data = list(pair(8, 11, True, gaps=True))
    config = BacktestConfig(costs="zerodha", slippage_bps="5")
    expected = run_backtest(PairsTrading, None, data, config)
    assert len(expected.trades) >= 20
    run = Replay(PairsTrading, None, data, config, streaming=streaming)
    got = run.run()
    assert order_tuples(got) == order_tuples(expected)
    assert trades(got) == trades(expected)
    assert got.total_charges_paise == expected.total_charges_paise > 0
    assert same_report(got, expected)
    (evaluator,) = run.evaluators
    assert evaluator.audit() == []  # every indicator bar by bar = over the whole array


def test_replay_of_an_overnight_futures_pair_matches_too():
    """NRML on futures (equity cannot be held short overnight): no cut-off, held across
    sessions, still the backtest's orders bar by bar."""
    from engine.domain.enums import Exchange, Segment
    from engine.domain.instrument import Instrument

    data = list(pair(8, 12, True, gaps=True))
    futures = {
        s: Instrument(Exchange.NFO, Segment.FUTURES, s, lot_size=5, expiry=date(2027, 1, 28))
        for s in ("YYY", "XXX")
    }
    params = {"product": "NRML", "retest_every": 125, "coint_window": 500}
    expected = run_backtest(PairsTrading, params, data, NO_COSTS, futures)
    got = replay_bars(PairsTrading, params, data, NO_COSTS, instruments=futures)
    assert len(expected.trades) >= 10
    assert any(t.entry_time.date() != t.exit_time.date() for t in expected.trades)
    assert order_tuples(got) == order_tuples(expected) and trades(got) == trades(expected)


# -- (d) no look-ahead --------------------------------------------------------------------------

SHORT = {
    "coint_window": 300,
    "retest_every": 125,
    "hedge_period": 120,
    "zscore_period": 30,
    "max_pvalue": 0.5,  # three sessions are few for the test: open the gate wider
}


def replaced_after(data: BarSeries, t: int, seed: int, level: int, spread: int) -> BarSeries:
    """`data` with every bar after t replaced by arbitrary valid ones (same times)."""
    rng = np.random.default_rng(seed)
    bars = {
        k: np.asarray(getattr(data, k)).copy()
        for k in ("ts", "open", "high", "low", "close", "volume")
    }
    n = len(bars["ts"]) - t - 1
    if n > 0:
        close = np.maximum(level + rng.integers(-spread, spread + 1, n).cumsum(), 1) * 5
        open_ = np.maximum(close + rng.integers(-spread, spread + 1, n) * 5, 5)
        bars["open"][t + 1 :] = open_
        bars["high"][t + 1 :] = np.maximum(open_, close) + rng.integers(0, spread + 1, n) * 5
        bars["low"][t + 1 :] = np.maximum(
            np.minimum(open_, close) - rng.integers(0, spread + 1, n) * 5, 5
        )
        bars["close"][t + 1 :] = close
        bars["volume"][t + 1 :] = rng.integers(1, 10**7, n)
    return series(bars, data.symbol)


def asked(result: BacktestResult, t: int) -> list[tuple[Any, ...]]:
    return [
        (o.symbol, o.placed_bar, o.side, o.quantity, o.order_type, o.product, o.tag)
        for o in result.order_log
        if o.placed_bar <= t
    ]


@settings(max_examples=10, deadline=None)
@given(
    cut=st.floats(0.3, 0.95),
    y_tail=st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 100_000), st.integers(0, 300)),
    x_tail=st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 100_000), st.integers(0, 300)),
)
def test_orders_up_to_t_never_depend_on_bars_after_t(cut, y_tail, x_tail):
    y, x = pair(3)
    t = int(len(y) * cut)
    before = run_backtest(PairsTrading, SHORT, [y, x], NO_COSTS)
    after = run_backtest(
        PairsTrading,
        SHORT,
        [replaced_after(y, t, *y_tail), replaced_after(x, t, *x_tail)],
        NO_COSTS,
    )
    assert asked(before, t) == asked(after, t)


def test_the_look_ahead_property_has_orders_to_compare():
    y, x = pair(3)
    result = run_backtest(PairsTrading, SHORT, [y, x], NO_COSTS)
    assert len(asked(result, int(len(y) * 0.5))) >= 6


# -- parameters and registry --------------------------------------------------------------------


def test_it_is_a_reference_strategy_found_by_name_with_documented_parameters():
    assert REFERENCE_STRATEGIES["pairs_trading"].endswith(":PairsTrading")
    assert load_reference("pairs_trading") is PairsTrading
    for spec in PairsTrading.parameters():
        assert spec.help, spec.name
        assert spec.choices or (spec.minimum is not None and spec.maximum is not None), spec.name


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"exit_z": 2.5}, r"need exit_z \(2.5\) < entry_z \(2.0\) < stop_z \(4.0\)"),
        ({"entry_until": "15:20"}, r"need entry_until \(15:20\) < cutoff \(15:15\)"),
    ],
)
def test_bad_parameter_combinations_stop_the_run_in_init(params, message):
    with pytest.raises(StrategyRuntimeError, match=message):
        run_backtest(PairsTrading, params, list(pair(2)), NO_COSTS)


def test_it_needs_exactly_two_instruments():
    y, x = pair(2)
    third = series(
        {k: np.asarray(getattr(x, k)) for k in ("ts", "open", "high", "low", "close", "volume")},
        "ZZZ",
    )
    with pytest.raises(StrategyRuntimeError, match="exactly two instruments"):
        run_backtest(PairsTrading, None, [y, x, third], NO_COSTS)
