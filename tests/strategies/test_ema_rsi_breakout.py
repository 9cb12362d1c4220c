"""ema_rsi_breakout (issue 12, item 3): it trades on demo data, its trades follow its written
rules (recomputed here independently with plain numpy), the backtest and the bar-by-bar replay
agree, orders up to bar t never depend on bars after t, and its defaults are the issue's.

Data: the demo workspace's own generator (`engine.data.demo.generate_demo`: synthetic NSE
1-minute sessions of 375 bars, U-shaped volume, overnight gaps), a few instruments x days.
The account and the contract come from the run, not from parameters: the recomputations here
start from the run's capital and use the lot and tick of the instrument the run was given
(NSE cash equity, lot 1 and tick 0.05, unless a test passes a futures contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest import BacktestConfig, run_backtest
from engine.backtest.result import BacktestResult, Trade
from engine.data.bar_series import BarSeries
from engine.data.demo import generate_demo
from engine.execution.checks import MarginRates
from engine.replay import replay_bars
from strategies.reference import REFERENCE_STRATEGIES, load_reference
from strategies.reference.ema_rsi_breakout import (
    EmaRsiBreakout,
    exit_levels,
    first_at_or_after_each_day,
    previous_highest,
    previous_lowest,
)
from tests.engine.replay_helpers import placed, same_report, trades
from tests.strategies.intraday_rules import futures

NO_COSTS = BacktestConfig(costs="none")
NS_MINUTE = 60_000_000_000
EQUITY_TICK = Decimal("0.05")  # what a symbol without instrument data trades as: NSE equity
DEFAULTS: dict[str, Any] = {
    "ema_fast_period": 5,
    "ema_slow_period": 13,
    "rsi_period": 14,
    "rsi_overbought": 75,
    "rsi_oversold": 25,
    "volume_threshold": 1.2,
    "breakout_period": 20,
    "stop_loss_percent": 0.3,
    "take_profit_percent": 0.6,
    "max_position_size_percent": 50,
    "trade_cooldown_minutes": 30,
    "max_daily_trades": 10,
}
FloatArray = npt.NDArray[np.float64]


@cache
def demo(count: int = 3, days: int = 8) -> tuple[BarSeries, ...]:
    return tuple(generate_demo(count=count, days=days))


# -- the rules, recomputed without the SDK ---------------------------------------------------


def ref_ema(x: FloatArray, n: int) -> FloatArray:
    """EMA seeded with the mean of the first n values, alpha = 2 / (n + 1)."""
    out = np.full(len(x), np.nan)
    out[n - 1] = x[:n].mean()
    alpha = 2.0 / (n + 1)
    for i in range(n, len(x)):
        out[i] = out[i - 1] + alpha * (x[i] - out[i - 1])
    return out


def ref_rsi(x: FloatArray, n: int) -> FloatArray:
    """Wilder's RSI: simple means of the first n gains/losses, then (prev x (n-1) + now) / n."""
    out = np.full(len(x), np.nan)
    change = np.diff(x)
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    g, lo = gain[:n].mean(), loss[:n].mean()
    for i in range(n, len(x)):
        if i > n:
            g = (g * (n - 1) + gain[i - 1]) / n
            lo = (lo * (n - 1) + loss[i - 1]) / n
        out[i] = 100.0 if lo == 0 else 100.0 - 100.0 / (1.0 + g / lo)
    return out


@dataclass
class Rules:
    """Everything the strategy's rules read, bar by bar, in rupees."""

    ts: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    range_high: FloatArray
    range_low: FloatArray
    volume_ratio: FloatArray
    minute: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    long: npt.NDArray[np.bool_]
    short: npt.NDArray[np.bool_]


def rules(data: BarSeries, n: int = 20, volume_period: int = 20) -> Rules:
    o, h, lo, c = (
        np.asarray(a, dtype=np.int64) / 100.0 for a in (data.open, data.high, data.low, data.close)
    )
    v = np.asarray(data.volume, dtype=np.float64)
    size = len(c)
    range_high, range_low, ratio = (np.full(size, np.nan) for _ in range(3))
    for t in range(n, size):
        range_high[t] = h[t - n : t].max()
        range_low[t] = lo[t - n : t].min()
    for t in range(volume_period, size):
        ratio[t] = v[t] / (v[t - volume_period : t].sum() / volume_period)
    local = np.asarray(data.ts, dtype=np.int64) // NS_MINUTE + 330  # IST = UTC + 5:30
    minute, day = local % 1440, local // 1440
    fast, slow, strength = ref_ema(c, 5), ref_ema(c, 13), ref_rsi(c, 14)
    with np.errstate(invalid="ignore"):
        common = (ratio > 1.2) & (minute < 15 * 60)
        long = (c > range_high) & (fast > slow) & (strength < 75) & common
        short = (c < range_low) & (fast < slow) & (strength > 25) & common
    return Rules(data.ts, o, h, lo, c, range_high, range_low, ratio, minute, day, long, short)


def on_grid(price: Decimal, step: Decimal) -> Decimal:
    return (price / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def levels(entry: Decimal, long: bool, step: Decimal = EQUITY_TICK) -> tuple[Decimal, Decimal]:
    """Stop and target: entry -/+ 0.3% / 0.6% on the contract's tick (mirrored for a short)."""
    sign = 1 if long else -1
    stop = on_grid(entry * (1 - sign * Decimal("0.003")), step)
    return stop, on_grid(entry * (1 + sign * Decimal("0.006")), step)


def expected_quantity(r: Rules, t: int, long: bool, balance: Decimal, lot: int = 1) -> int:
    """floor(balance x 50% x confidence / close) in whole lots of `lot`, confidence = mean
    of the volume and breakout scores (module docstring); balance = the free funds."""
    level, other = (r.range_high[t], r.range_low[t]) if long else (r.range_low[t], r.range_high[t])
    excess = r.close[t] - level if long else level - r.close[t]
    width = abs(level - other)
    breakout = 1.0 if width <= 0 else min(max(excess / (0.25 * width), 0.0), 1.0)
    volume = min(max(r.volume_ratio[t] / 2.4, 0.0), 1.0)
    budget = float(balance) * 50.0 / 100.0 * ((volume + breakout) / 2.0)
    return int(budget // (r.close[t] * lot)) * lot


def entries(result: BacktestResult) -> list[Any]:
    return [o for o in result.order_log if o.tag == "entry"]


# -- (a) it trades ---------------------------------------------------------------------------


def test_it_trades_on_demo_data_and_ends_flat():
    for data in demo():
        result = run_backtest(EmaRsiBreakout, None, [data], NO_COSTS)
        assert len(result.trades) >= 15, data.symbol  # a few a day over 8 sessions
        assert {t.side for t in result.trades} == {"long", "short"}
        assert result.open_positions == {}
        assert result.rejected_orders == 0
        assert all(t.product.value == "MIS" for t in result.trades)


# -- (b) its trades follow its rules ---------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "capital", "lot"),
    [
        (None, None, 1),
        ({"trade_cooldown_minutes": 0, "max_daily_trades": 2}, None, 1),
        ({"trade_cooldown_minutes": 5}, None, 1),
        # a future of 25 a lot on Rs 2 lakh: some signals are worth less than a lot
        (None, 200_000, 25),
    ],
    ids=["defaults", "cap 2 a day", "cooldown 5", "futures lot 25"],
)
def test_entries_are_exactly_the_bars_where_the_rule_fires_and_the_trade_may_start(
    params, capital, lot
):
    """Walk the bars: an entry is due where the rule fires while flat, outside the cooldown
    and under the daily cap, worth at least a lot; each trade then lasts until its exit fill
    (taken from the run, checked in the next test). The run's entries must be exactly those,
    sized as written: the balance is the run's capital plus the net P&L of the trades closed
    so far (flat at every entry, the free funds are the cash), in whole lots of the
    contract's lot."""
    config = NO_COSTS if capital is None else BacktestConfig(costs="none", capital=capital)
    cooldown = (params or {}).get("trade_cooldown_minutes", 30) * NS_MINUTE
    cap = (params or {}).get("max_daily_trades", 10)
    capped = under_a_lot = 0
    for data in demo():
        r = rules(data)
        contract = futures([data.symbol], lot) if lot > 1 else None
        result = run_backtest(EmaRsiBreakout, params, [data], config, contract)
        got = entries(result)
        done = sorted(result.trades, key=lambda t: t.entry_bar)
        assert len(done) == len(got)
        expected: list[tuple[int, str, int]] = []
        busy_until, last, balance = -1, None, config.capital
        count: dict[int, int] = {}
        for t in range(len(r.close)):
            if t < busy_until or not (r.long[t] or r.short[t]):
                continue
            day = int(r.day[t])
            fired_long = bool(r.long[t])
            if count.get(day, 0) >= cap:
                capped += 1
                continue
            if last is not None and int(r.ts[t]) - last < cooldown:
                continue
            quantity = expected_quantity(r, t, fired_long, balance, lot)
            if quantity < lot:  # not worth a lot: no entry, no cooldown
                under_a_lot += 1
                continue
            expected.append((t, "BUY" if fired_long else "SELL", quantity))
            trade = done[len(expected) - 1]
            busy_until, last = trade.exit_bar, int(r.ts[t])
            count[day] = count.get(day, 0) + 1
            balance += trade.net_pnl
        assert [(o.placed_bar, o.side, o.quantity) for o in got] == expected, data.symbol
        assert all(o.quantity % lot == 0 for o in got)
        assert all(o.order_type == "MARKET" and o.product == "MIS" for o in got)
        for day in set(count):
            assert count[day] <= cap
        stamps = [int(r.ts[o.placed_bar]) for o in got]
        assert all(b - a >= cooldown for a, b in pairwise(stamps))
    if cap == 2:
        assert capped > 0  # the cap did bind somewhere
    if lot > 1:
        assert under_a_lot > 0  # the lot did bind somewhere


def cut_off_bar(r: Rules, t: int) -> int:
    """The first bar of t's session opening at or after 15:15 IST."""
    same_day = np.flatnonzero((r.day == r.day[t]) & (r.minute >= 15 * 60 + 15))
    return int(same_day[0])


def expected_exit(r: Rules, trade: Trade, step: Decimal) -> tuple[int, Decimal, str]:
    """The exit an exchange would give the SL-M and the LIMIT placed at the entry's fill:
    they work from the bar after it; a bar that opens through one fills it at the open,
    else the stop first (the pessimistic reading); neither by the cut-off bar: closed at
    market at the next open."""
    long = trade.side == "long"
    stop, target = levels(trade.entry_price, long, step)
    s, g = float(stop), float(target)
    last = cut_off_bar(r, trade.entry_bar)
    for j in range(trade.entry_bar + 1, last + 1):
        o, h, lo = r.open[j], r.high[j], r.low[j]
        if long:
            if o <= s:
                return j, Decimal(str(o)), "stop-loss"
            if o >= g:
                return j, Decimal(str(o)), "take-profit"
            if lo <= s:
                return j, stop, "stop-loss"
            if h >= g:
                return j, target, "take-profit"
        else:
            if o >= s:
                return j, Decimal(str(o)), "stop-loss"
            if o <= g:
                return j, Decimal(str(o)), "take-profit"
            if h >= s:
                return j, stop, "stop-loss"
            if lo <= g:
                return j, target, "take-profit"
    return last + 1, Decimal(str(r.open[last + 1])), "flat"


@pytest.mark.parametrize("tick", [None, "0.10"], ids=["equity 0.05", "future 0.10"])
def test_exits_are_a_stop_market_and_a_limit_at_the_right_prices_one_cancelling_the_other(tick):
    """The exits' prices are on the contract's tick: NSE equity's 0.05, or a future's 0.10
    (given through `instruments`; a tick parameter no longer exists)."""
    step = EQUITY_TICK if tick is None else Decimal(tick)
    seen: set[str] = set()
    for data in demo():
        r = rules(data)
        contract = None if tick is None else futures([data.symbol], 1, tick)
        result = run_backtest(EmaRsiBreakout, None, [data], NO_COSTS, contract)
        log = result.order_log
        done = sorted(result.trades, key=lambda t: t.entry_bar)
        starts = [i for i, o in enumerate(log) if o.tag == "entry"]
        for k, (i, trade) in enumerate(zip(starts, done, strict=True)):
            entry = log[i]
            orders = log[i + 1 : starts[k + 1] if k + 1 < len(starts) else len(log)]
            assert trade.entry_bar == entry.placed_bar + 1  # market: the next bar's open
            assert trade.entry_price == Decimal(int(data.open[trade.entry_bar])) / 100
            assert trade.quantity == entry.quantity
            stop, target = orders[0], orders[1]
            close_side = "SELL" if entry.side == "BUY" else "BUY"
            assert (stop.tag, stop.order_type, stop.side) == ("stop-loss", "SL-M", close_side)
            assert (target.tag, target.order_type, target.side) == (
                "take-profit",
                "LIMIT",
                close_side,
            )
            for exit_order in (stop, target):  # right after the entry filled, its quantity
                assert exit_order.placed_bar == trade.entry_bar
                assert exit_order.quantity == trade.quantity
                assert exit_order.product == "MIS"
            bar, price, how = expected_exit(r, trade, step)
            assert (trade.exit_bar, trade.exit_price) == (bar, price), (data.symbol, trade)
            statuses = {o.tag: o.status for o in orders}
            if how == "flat":  # the cut-off cancelled both and closed at market
                assert statuses == {
                    "stop-loss": "CANCELLED",
                    "take-profit": "CANCELLED",
                    "flat": "FILLED",
                }
            else:  # one filled, the other cancelled by its handle
                other = "take-profit" if how == "stop-loss" else "stop-loss"
                assert statuses == {how: "FILLED", other: "CANCELLED"}
                assert len(orders) == 2
                assert [o.message for o in orders if o.tag == other] == ["cancelled by strategy"]
            seen.add(how)
    assert seen == {"stop-loss", "take-profit", "flat"}


@pytest.mark.parametrize(
    ("entry", "long", "stop", "target"),
    [
        ("428.35", True, "427.05", "430.90"),  # 427.06495 and 430.9201 to the nearest 0.05
        ("1072.40", False, "1075.60", "1065.95"),  # 1075.6172 and 1065.9656
        ("10.00", True, "9.95", "10.05"),  # 9.97 and 10.06 round to 9.95 and 10.05
        ("5.00", True, "4.95", "5.05"),  # 4.985 -> 5.00 would be the entry: one tick away
    ],
)
def test_exit_prices_are_entry_plus_minus_the_percent_on_the_tick(entry, long, stop, target):
    worked = (Decimal(stop), Decimal(target))
    assert exit_levels(Decimal(entry), long, 0.3, 0.6, Decimal("0.05")) == worked
    if entry != "5.00":
        assert levels(Decimal(entry), long) == worked  # the test's own arithmetic agrees


def test_flat_by_the_cut_off_and_no_entry_after_15_00():
    for data in demo():
        r = rules(data)
        result = run_backtest(EmaRsiBreakout, None, [data], NO_COSTS)
        for trade in result.trades:
            assert trade.exit_bar <= cut_off_bar(r, trade.entry_bar) + 1  # 15:16 at the latest
            assert r.day[trade.exit_bar] == r.day[trade.entry_bar]  # never held overnight
            assert (trade.exit_time.hour, trade.exit_time.minute) <= (15, 16)
        assert all(r.minute[o.placed_bar] < 15 * 60 for o in entries(result))
        assert all(  # the engine's 15:20 square-off never had anything to do
            (t.exit_time.hour, t.exit_time.minute) < (15, 20) for t in result.trades
        )


def test_an_entry_the_broker_rejects_does_not_block_the_next_signals():
    """The strategy sizes from its free funds, but this broker asks 1000% margin for MIS
    (a stock under a surveillance margin, say): every entry, worth at least 12.5% of the free
    funds, needs more margin than the account has and is refused at placement; the strategy
    keeps trading the later signals (each a rejected entry, still under the cooldown and the
    daily cap)."""
    data = demo()[0]
    steep = MarginRates(equity_intraday=Decimal(10))
    result = run_backtest(EmaRsiBreakout, None, [data], BacktestConfig(costs="none", margin=steep))
    got = entries(result)
    assert len(got) > 10 and all(o.status == "REJECTED" for o in got)
    assert "insufficient funds" in got[0].message
    assert result.trades == []
    stamps = [int(data.ts[o.placed_bar]) for o in got]
    assert all(b - a >= 30 * NS_MINUTE for a, b in pairwise(stamps))
    assert len(got) == result.rejected_orders


# -- (c) backtest == replay ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "config", "contract"),
    [
        (None, NO_COSTS, None),
        (None, BacktestConfig(), None),  # exact Zerodha charges
        ({"trail_percent": 0.2}, NO_COSTS, None),  # the trailing stop modifies the SL-M
        (
            {"trade_cooldown_minutes": 0, "max_daily_trades": 3, "breakout_period": 10},
            NO_COSTS,
            None,
        ),
        # a future (lot 25, tick 0.10) on Rs 2 lakh with charges: the balance, lot and tick
        # the strategy reads are the same bar by bar
        ({"trail_percent": 0.2}, BacktestConfig(capital=200_000), (25, "0.10")),
    ],
    ids=["defaults", "charges", "trailing", "busy", "futures"],
)
def test_replay_gives_the_backtests_orders_and_trades(params, config, contract):
    for data in demo():
        instruments = None if contract is None else futures([data.symbol], *contract)
        backtest = run_backtest(EmaRsiBreakout, params, [data], config, instruments)
        replay = replay_bars(EmaRsiBreakout, params, data, config, instruments)
        assert backtest.trades
        assert placed(replay) == placed(backtest)
        assert [(o.status, o.filled, o.tag) for o in replay.order_log] == [
            (o.status, o.filled, o.tag) for o in backtest.order_log
        ]
        assert trades(replay) == trades(backtest)
        assert same_report(replay, backtest)


def test_the_trailing_stop_only_tightens_exits():
    """With trail_percent the stop follows the price: same entries up to the first trade
    that differs, and some trades leave by a stop above the fixed 0.3% level."""
    tightened = 0
    for data in demo():
        result = run_backtest(EmaRsiBreakout, {"trail_percent": 0.2}, [data], NO_COSTS)
        for trade in result.trades:
            long = trade.side == "long"
            stop, _ = levels(trade.entry_price, long)
            if (trade.exit_price > stop) if long else (trade.exit_price < stop):
                tightened += 1
        assert result.open_positions == {}
    assert tightened > 0


# -- (d) no look-ahead -----------------------------------------------------------------------


def arrays(data: BarSeries) -> dict[str, np.ndarray]:
    return {
        k: np.asarray(getattr(data, k)).copy()
        for k in ("ts", "open", "high", "low", "close", "volume")
    }


def rebuilt(data: BarSeries, bars: dict[str, np.ndarray]) -> BarSeries:
    return BarSeries.from_arrays(
        data.symbol,
        bars["ts"],
        bars["open"],
        bars["high"],
        bars["low"],
        bars["close"],
        bars["volume"],
        timeframe="1m",
        prices_in_paise=True,
    )


def replace_after(
    bars: dict[str, np.ndarray], t: int, seed: int, level: int, spread: int
) -> dict[str, np.ndarray]:
    """Every bar after t replaced by arbitrary valid ones (same times): any level in whole
    ticks, any range, any volume."""
    rng = np.random.default_rng(seed)
    n = len(bars["ts"]) - t - 1
    changed = {k: v.copy() for k, v in bars.items()}
    if n <= 0:
        return changed
    close = np.maximum(level + rng.integers(-spread, spread + 1, n).cumsum(), 1) * 5
    open_ = np.maximum(close + rng.integers(-spread, spread + 1, n) * 5, 5)
    changed["open"][t + 1 :] = open_
    changed["high"][t + 1 :] = np.maximum(open_, close) + rng.integers(0, spread + 1, n) * 5
    changed["low"][t + 1 :] = np.maximum(
        np.minimum(open_, close) - rng.integers(0, spread + 1, n) * 5, 5
    )
    changed["close"][t + 1 :] = close
    changed["volume"][t + 1 :] = rng.integers(1, 10**7, n)
    return changed


def asked(result: BacktestResult, t: int) -> list[tuple[Any, ...]]:
    return [
        (o.placed_bar, o.side, o.quantity, o.order_type, o.product, o.tag)
        for o in result.order_log
        if o.placed_bar <= t
    ]


@settings(max_examples=12, deadline=None)
@given(
    which=st.integers(0, 2),
    cut=st.floats(0.05, 0.95),
    tail=st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 400_000), st.integers(0, 400)),
)
def test_orders_up_to_t_never_depend_on_bars_after_t(which, cut, tail):
    data = demo(3, 2)[which]  # two sessions, 750 bars
    t = int(len(data) * cut)
    changed = rebuilt(data, replace_after(arrays(data), t, *tail))
    before = run_backtest(EmaRsiBreakout, None, [data], NO_COSTS)
    after = run_backtest(EmaRsiBreakout, None, [changed], NO_COSTS)
    assert asked(before, t) == asked(after, t)


def test_the_look_ahead_property_has_orders_to_compare():
    for data in demo(3, 2):
        assert len(asked(run_backtest(EmaRsiBreakout, None, [data], NO_COSTS), len(data))) >= 6


# -- (e) parameters --------------------------------------------------------------------------


def test_the_parameter_defaults_are_the_issues():
    specs = {p.name: p for p in EmaRsiBreakout.parameters()}
    assert {name: specs[name].default for name in DEFAULTS} == DEFAULTS
    assert specs["trail_percent"].default == 0.0  # the trailing stop is off by default
    # the issue's list, the trailing stop and the documented helpers; the account and the
    # contract's lot and tick come from the run, not from parameters
    helpers = {"trail_percent", "volume_period", "last_entry", "flat_by"}
    assert set(specs) == set(DEFAULTS) | helpers
    for spec in specs.values():  # every parameter documented and bounded where numeric
        assert spec.help
        if spec.kind in (int, float):
            assert spec.minimum is not None


def test_it_is_a_reference_strategy_found_by_name():
    assert load_reference("ema_rsi_breakout") is EmaRsiBreakout
    assert "ema_rsi_breakout" in REFERENCE_STRATEGIES
    assert EmaRsiBreakout.display_name() == "ema_rsi_breakout"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ema_fast_period": 13, "ema_slow_period": 5}, "must be shorter"),
        ({"flat_by": "12-00"}, "HH:MM"),
        ({"last_entry": "15:20"}, "after flat_by"),
    ],
)
def test_bad_parameter_combinations_stop_the_run_in_init(params, message):
    from engine.backtest import StrategyRuntimeError

    with pytest.raises(StrategyRuntimeError, match=message):
        run_backtest(EmaRsiBreakout, params, [demo(3, 2)[0]], NO_COSTS)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False) | st.just(float("nan")), max_size=90),
    st.integers(1, 40),
)
def test_the_previous_range_is_each_windows_max_and_min(values, length):
    """previous_highest/lowest (doubled spans) equal a plain max/min over each window of the
    `length` bars before a bar, bit for bit, NaN included."""
    x = np.array(values, dtype=np.float64)
    high, low = np.full(len(x), np.nan), np.full(len(x), np.nan)
    for t in range(length, len(x)):
        high[t], low[t] = x[t - length : t].max(), x[t - length : t].min()
    assert previous_highest(x, length).tobytes() == high.tobytes()
    assert previous_lowest(x, length).tobytes() == low.tobytes()


def test_the_cut_off_fires_on_each_days_first_bar_from_flat_by():
    """One call a day: the first bar opening at or after flat_by, whatever bars are missing
    (a day starting after the cut-off, a gap across it)."""
    day0 = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC = 05:30 IST
    ist = day0 - 330 * NS_MINUTE  # 00:00 IST that day
    days = [  # each day's bars, as IST minutes
        [914, 915, 916],  # fires at 15:15
        [900, 930, 931],  # a gap across 15:15: fires at 15:30
        [1000, 1001],  # the day's first bar is past the cut-off: fires at once
        [914],  # never reaches it: nothing
    ]
    stamps = [ist + (d * 1440 + m) * NS_MINUTE for d, day in enumerate(days) for m in day]
    ts = np.array(stamps, dtype=np.int64)
    fired = first_at_or_after_each_day(ts, 915)
    assert fired.tolist() == [False, True, False, False, True, False, True, False, False]
