"""Performance metrics on hand-computed curves and trade lists, degenerate inputs, a property."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar import IST
from engine.metrics import EquityCurve, Metrics, TradeArrays, compute_metrics
from engine.metrics.drawdown import drawdowns, max_drawdown
from engine.metrics.returns import var_cvar

# Any numpy RuntimeWarning (0/0, mean of empty) is a bug here, not noise.
pytestmark = pytest.mark.filterwarnings("error")

D = Decimal
MONDAY = dt.datetime(2024, 6, 3, 15, 30, tzinfo=IST)  # a Monday close on NSE
DAY = dt.timedelta(days=1)
SQRT252 = math.sqrt(252)


def ns(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


def curve(
    equity: list[float],
    times: list[dt.datetime] | None = None,
    gross: list[float] | None = None,
    exposure: list[float] | None = None,
) -> EquityCurve:
    """One sample per calendar day at 15:30 IST unless times are given."""
    times = times or [MONDAY + i * DAY for i in range(len(equity))]
    return EquityCurve(
        timestamps=np.array([ns(t) for t in times], dtype=np.int64),
        equity=np.array(equity, dtype=np.float64),
        gross_equity=np.array(gross or equity, dtype=np.float64),
        exposure=np.array(exposure or [0.0] * len(equity), dtype=np.float64),
    )


def dumps(metrics: Metrics) -> dict[str, Any]:
    """as_json must survive strict JSON (no NaN/Infinity) and round-trip."""
    result: dict[str, Any] = json.loads(json.dumps(metrics.as_json(), allow_nan=False))
    return result


NO_TRADES = TradeArrays.empty()


# --- a five-point curve, everything by hand -------------------------------------------------


def test_five_point_curve_by_hand():
    # capital 100; closes Mon..Fri 110, 99, 88, 121, 115.5
    # running peak  110, 110, 110, 121, 121
    # drawdown        0, 0.10, 0.20, 0, 0.04545...
    # deepest: peak Mon (bar 0), recovered Thu (bar 3): 3 bars, 3 days, depth 0.20
    # second: peak Thu (bar 3), still 4.5% under on Fri: 1 bar, 1 day, not recovered
    # daily returns: 110/100-1 = .10, 99/110-1 = -.10, 88/99-1 = -.1111, 121/88-1 = .375,
    #                115.5/121-1 = -.04545
    m = compute_metrics(curve([110, 99, 88, 121, 115.5]), NO_TRADES, 100)
    net = m.net
    assert net.total_return == pytest.approx(0.155)
    assert net.max_drawdown == pytest.approx(0.20)
    deepest, longest = net.drawdowns.deepest, net.drawdowns.longest
    assert (deepest.bars, deepest.days, deepest.recovered) == (3, 3.0, True)
    assert longest == deepest  # 3 days beats the 1-day second episode
    r = np.array([0.10, -0.10, 88 / 99 - 1, 0.375, 115.5 / 121 - 1])
    assert net.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * SQRT252)
    downside = np.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert net.sortino == pytest.approx(r.mean() / downside * SQRT252)
    assert net.volatility == pytest.approx(r.std(ddof=1) * SQRT252)
    # CAGR over 4 calendar days (Mon 15:30 -> Fri 15:30)
    cagr = 1.155 ** (365.25 / 4) - 1
    assert net.cagr == pytest.approx(cagr)
    assert net.calmar == pytest.approx(cagr / 0.20)
    assert m.bars == 5
    assert m.trading_days == 5


def test_drawdown_from_initial_capital_counts_before_the_first_bar():
    # capital 100, first close already 90: 10% down from the money put in.
    # The peak is the capital, one bar before bar 0 at bar 0's time; recovery at bar 2.
    m = compute_metrics(curve([90, 95, 101]), NO_TRADES, 100)
    deepest = m.net.drawdowns.deepest
    assert deepest.depth == pytest.approx(0.10)
    assert (deepest.bars, deepest.days, deepest.recovered) == (3, 2.0, True)


def test_unrecovered_drawdown_runs_to_the_end_and_says_so():
    # 100, 120, 90, 100: peak 120 at bar 1, 25% down at bar 2, still under at bar 3 (the end)
    deepest = compute_metrics(curve([100, 120, 90, 100]), NO_TRADES, 100).net.drawdowns.deepest
    assert deepest.depth == pytest.approx(0.25)
    assert (deepest.bars, deepest.days, deepest.recovered) == (2, 2.0, False)


def test_longest_drawdown_is_by_calendar_time_not_by_bars():
    # Episode A: peak Fri, 2 bars under over a weekend, back on Tue: 2 bars, 4 days, 20% deep.
    # Episode B: peak Tue 10:00, four hourly bars under, back at 15:00: 5 bars, 5/24 day, 5%.
    fri = dt.datetime(2024, 6, 7, 15, 30, tzinfo=IST)
    tue = dt.datetime(2024, 6, 11, 10, 0, tzinfo=IST)
    hour = dt.timedelta(hours=1)
    times = [fri, fri + 3 * DAY, tue] + [tue + k * hour for k in range(1, 6)]
    # Tue 10:00 recovers A (100) and is B's peak; B's four hourly bars are 95..98
    m = compute_metrics(curve([100, 80, 100, 95, 96, 97, 98, 100], times), NO_TRADES, 100)
    deepest, longest = m.net.drawdowns.deepest, m.net.drawdowns.longest
    assert (deepest.depth, deepest.bars) == (pytest.approx(0.2), 2)
    assert deepest.days == pytest.approx((tue - fri) / DAY)
    assert longest == deepest
    # with B stretched over a week it becomes the longest, though fewer days than bars
    times[-1] = tue + 8 * DAY
    stretched = compute_metrics(curve([100, 80, 100, 95, 96, 97, 98, 100], times), NO_TRADES, 100)
    assert stretched.net.drawdowns.longest.bars == 5
    assert stretched.net.drawdowns.longest.depth == pytest.approx(0.05)


# --- daily resampling on IST dates ----------------------------------------------------------


def test_daily_returns_group_utc_samples_by_ist_date():
    # 10:00 UTC = 15:30 IST on Jun 3; 20:00 UTC = 01:30 IST on Jun 4 (a UTC grouping would
    # put it on Jun 3); 10:00 UTC Jun 4 = 15:30 IST Jun 4; then Jun 5.
    utc = dt.UTC
    times = [
        dt.datetime(2024, 6, 3, 10, tzinfo=utc),
        dt.datetime(2024, 6, 3, 20, tzinfo=utc),
        dt.datetime(2024, 6, 4, 10, tzinfo=utc),
        dt.datetime(2024, 6, 5, 10, tzinfo=utc),
    ]
    m = compute_metrics(curve([102, 150, 99, 104], times), NO_TRADES, 100)
    assert m.trading_days == 3
    # IST daily closes 102, 99, 104 -> returns .02, 99/102-1, 104/99-1
    r = np.array([0.02, 99 / 102 - 1, 104 / 99 - 1])
    assert m.net.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * SQRT252)
    # UTC grouping would give closes 150, 99, 104: a different Sharpe
    wrong = np.array([0.5, 99 / 150 - 1, 104 / 99 - 1])
    assert m.net.sharpe != pytest.approx(wrong.mean() / wrong.std(ddof=1) * SQRT252)


def test_risk_free_rate_and_periods_per_year():
    equity = [101, 100, 103, 102.5, 104]
    r = np.diff(np.array([100, *equity], dtype=float)) / np.array([100, *equity[:-1]])
    rf = 1.065 ** (1 / 252) - 1
    m = compute_metrics(curve(equity), NO_TRADES, 100, risk_free_rate=0.065)
    excess = r - rf
    assert m.net.sharpe == pytest.approx(excess.mean() / excess.std(ddof=1) * SQRT252)
    crypto = compute_metrics(curve(equity), NO_TRADES, 100, periods_per_year=365)
    assert crypto.net.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(365))
    assert crypto.periods_per_year == 365


# --- VaR and CVaR ---------------------------------------------------------------------------


def test_var_cvar_on_known_returns():
    # 20 daily returns; sorted the two lowest are -0.05 and -0.03.
    # 5th percentile, linear: position 0.05 * 19 = 0.95 -> -0.05 + 0.95 * 0.02 = -0.031
    # VaR = 0.031 (a loss, positive); tail = returns <= -0.031 = [-0.05] -> CVaR = 0.05
    returns = [-0.03, 0.01, -0.05, 0.02] + [0.005] * 16
    var, cvar = var_cvar(np.array(returns))
    assert var == pytest.approx(0.031)
    assert cvar == pytest.approx(0.05)
    # the same returns through an equity curve, one close per day
    equity = list(100 * np.cumprod(1 + np.array(returns)))
    m = compute_metrics(curve(equity), NO_TRADES, 100)
    assert m.net.var_95 == pytest.approx(0.031)
    assert m.net.cvar_95 == pytest.approx(0.05)


def test_var_is_negative_when_even_the_tail_gains():
    var, cvar = var_cvar(np.array([0.01, 0.02, 0.03]))
    assert var == pytest.approx(-0.011)  # 5th pct = 0.01 + 0.1 * 0.01
    assert cvar == pytest.approx(-0.01)


# --- trades ---------------------------------------------------------------------------------


def trades(gross: list[str], charges: list[str]) -> TradeArrays:
    entry = [ns(MONDAY + i * DAY) for i in range(len(gross))]
    exit_ = [t + 2 * 3600 * 10**9 for t in entry]  # each held two hours
    return TradeArrays.from_decimals([D(g) for g in gross], [D(c) for c in charges], entry, exit_)


def test_trade_statistics_by_hand():
    # gross 100, -50, 30, 0, -20; charges 10 each -> net 90, -60, 20, -10, -30
    book = trades(["100", "-50", "30", "0", "-20"], ["10"] * 5)
    m = compute_metrics(curve([100, 101]), book, 100)
    net, gross = m.net_trades, m.gross_trades
    assert net.trades == m.trades == 5
    assert net.win_rate == pytest.approx(2 / 5)  # 90, 20
    assert net.profit_factor == pytest.approx(110 / 100)  # (90+20) / (60+10+30)
    assert net.expectancy == pytest.approx(10 / 5)  # 90-60+20-10-30 = 10
    assert net.average_win == pytest.approx(55)
    assert net.average_loss == pytest.approx(-100 / 3)
    assert gross.win_rate == pytest.approx(2 / 5)  # the 0 trade is no win and no loss
    assert gross.profit_factor == pytest.approx(130 / 70)
    assert gross.expectancy == pytest.approx(60 / 5)
    assert (gross.average_win, gross.average_loss) == (pytest.approx(65), pytest.approx(-35))
    assert (m.total_gross_pnl, m.total_charges, m.total_net_pnl) == (D(60), D(50), D(10))
    assert m.costs_to_gross_pnl == pytest.approx(50 / 60)
    assert m.average_holding_days == pytest.approx(2 / 24)
    out = dumps(m)
    assert out["total_net_pnl"] == "10"
    assert out["net"]["profit_factor"] == pytest.approx(1.1)


def test_money_totals_are_exact():
    # 1000 trades of 0.10 gross and 0.03 charges: floats would drift, Decimals do not
    book = trades(["0.10"] * 1000, ["0.03"] * 1000)
    assert sum([0.1] * 1000) != 0.1 * 1000  # the drift we avoid
    m = compute_metrics(curve([100, 101]), book, 100)
    assert m.total_gross_pnl == D("100.00")
    assert m.total_charges == D("30.00")
    assert m.total_net_pnl == D("70.00")
    assert dumps(m)["total_net_pnl"] == "70.00"


def test_profit_factor_infinite_without_losses():
    m = compute_metrics(curve([100, 101]), trades(["10", "5"], ["1", "1"]), 100)
    assert m.net_trades.profit_factor == math.inf
    assert m.net_trades.average_loss is None
    net = dumps(m)["net"]
    assert net["profit_factor"] is None
    assert net["profit_factor_infinite"] is True


def test_break_even_trades_have_no_profit_factor():
    m = compute_metrics(curve([100, 100]), trades(["0", "0"], ["0", "0"]), 100)
    assert m.net_trades.profit_factor is None
    assert m.net_trades.win_rate == 0.0
    assert m.costs_to_gross_pnl is None  # gross P&L is 0


def test_exposure_and_turnover():
    # exposure 0, .5, 1.5, 0: in the market 2 of 4 bars, average (0+.5+1.5+0)/4 = .5
    c = curve([100, 110, 90, 100], exposure=[0, 0.5, 1.5, 0])
    m = compute_metrics(c, NO_TRADES, 100, traded_value=D("800"))
    assert m.time_in_market == 0.5
    assert m.average_exposure == pytest.approx(0.5)
    assert m.turnover == pytest.approx(800 / 100)  # mean equity (100+110+90+100)/4 = 100
    assert compute_metrics(c, NO_TRADES, 100).turnover is None


def test_gross_and_net_curves_are_measured_separately():
    m = compute_metrics(curve([100, 104], gross=[100, 106]), NO_TRADES, 100)
    assert m.net.total_return == pytest.approx(0.04)
    assert m.gross.total_return == pytest.approx(0.06)
    assert dumps(m)["gross"]["total_return"] == pytest.approx(0.06)


# --- degenerate inputs ----------------------------------------------------------------------


def test_one_bar_no_trades():
    m = compute_metrics(curve([105]), NO_TRADES, 100)
    assert m.net.total_return == pytest.approx(0.05)
    assert m.net.cagr is None  # no calendar time
    assert (m.net.sharpe, m.net.sortino, m.net.volatility, m.net.calmar) == (None,) * 4
    assert m.net.var_95 == pytest.approx(-0.05)  # the single day was a 5% gain
    assert m.net.max_drawdown == 0.0
    assert m.net_trades.win_rate is None and m.net_trades.expectancy is None
    assert m.average_holding_days is None and m.costs_to_gross_pnl is None
    out = dumps(m)
    assert out["net"]["cagr"] is None
    assert out["trades"] == 0 and out["total_charges"] == "0"


def test_flat_equity():
    m = compute_metrics(curve([100.0] * 30), NO_TRADES, 100)
    assert m.net.total_return == 0.0 and m.net.cagr == 0.0
    assert (m.net.sharpe, m.net.sortino, m.net.calmar) == (None, None, None)
    assert m.net.max_drawdown == 0.0
    assert m.net.drawdowns.longest.bars == 0
    assert m.net.var_95 == 0.0
    dumps(m)


def test_zero_variance_growth_has_no_sharpe_and_no_sortino():
    # +1% every day: no variance (only float noise) and no down day
    equity = list(100 * 1.01 ** np.arange(1, 21))
    m = compute_metrics(curve(equity), NO_TRADES, 100)
    assert m.net.sharpe is None and m.net.sortino is None
    assert m.net.calmar is None  # no drawdown
    assert m.net.volatility == pytest.approx(0, abs=1e-12)


def test_wiped_out_account():
    m = compute_metrics(curve([50, -10, 5]), NO_TRADES, 100)
    assert m.net.cagr == -1.0
    assert m.net.max_drawdown == pytest.approx(1.1)  # equity went 10 below zero
    # the day after a close below zero has no return; the other two are -50% and -120%
    assert m.net.var_95 is not None
    dumps(m)


def test_tiny_span_cagr_overflows_to_inf_and_json_null():
    minute = dt.timedelta(minutes=1)
    m = compute_metrics(curve([100, 150], [MONDAY, MONDAY + minute]), NO_TRADES, 100)
    assert m.net.cagr == math.inf
    assert m.net.calmar is None
    assert dumps(m)["net"]["cagr"] is None


# --- input contract -------------------------------------------------------------------------


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="at least one sample"):
        curve([])
    with pytest.raises(ValueError, match="strictly increasing"):
        curve([100, 101], [MONDAY, MONDAY])
    with pytest.raises(ValueError, match="exposure"):
        curve([100, 101], exposure=[0, -1])
    with pytest.raises(ValueError, match="equity"):
        curve([100, math.nan])
    with pytest.raises(TypeError, match="float"):
        compute_metrics(curve([100]), NO_TRADES, 100.0)
    with pytest.raises(ValueError, match="> 0"):
        compute_metrics(curve([100]), NO_TRADES, 0)
    with pytest.raises(ValueError, match="risk_free_rate"):
        compute_metrics(curve([100]), NO_TRADES, 100, risk_free_rate=-1.0)
    with pytest.raises(ValueError, match="net_pnl"):
        TradeArrays(
            gross_pnl=np.array([10.0]),
            net_pnl=np.array([9.0]),
            charges=np.array([2.0]),
            entry_ns=np.array([0]),
            exit_ns=np.array([1]),
            total_gross_pnl=D(10),
            total_net_pnl=D(9),
            total_charges=D(2),
        )
    with pytest.raises(ValueError, match="total_charges"):
        TradeArrays(
            gross_pnl=np.array([10.0]),
            net_pnl=np.array([8.0]),
            charges=np.array([2.0]),
            entry_ns=np.array([0]),
            exit_ns=np.array([1]),
            total_gross_pnl=D(10),
            total_net_pnl=D(8),
            total_charges=D(3),
        )


# --- property: drawdown against brute force -----------------------------------------------


def brute_force(equity: list[float], capital: float) -> tuple[float, int, bool]:
    """O(n^2) max drawdown, and the deepest episode's bars and recovery, by plain loops."""
    points = [capital, *equity]  # index 0 is the capital, one bar before bar 0
    worst = max(1 - points[j] / points[i] for j in range(len(points)) for i in range(j + 1))
    if worst <= 0:
        return 0.0, 0, True
    # the peak of the episode is the last index at or above the running max before the trough
    trough = max(range(len(points)), key=lambda j: 1 - points[j] / max(points[: j + 1]))
    top = max(points[: trough + 1])
    peak_at = max(i for i in range(trough + 1) if points[i] == top)
    for k in range(trough + 1, len(points)):
        if points[k] >= top:
            return worst, k - peak_at, True
    return worst, len(points) - 1 - peak_at, False


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(1.0, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.floats(1.0, 1e6, allow_nan=False),
)
def test_max_drawdown_matches_brute_force(equity, capital):
    values = np.array(equity, dtype=np.float64)
    depth = max_drawdown(values, capital)
    assert 0.0 <= depth < 1.0
    expected, bars, recovered = brute_force(equity, capital)
    assert depth == pytest.approx(expected, abs=1e-12)
    ts = np.arange(len(equity), dtype=np.int64) * 60 * 10**9
    deepest = drawdowns(ts, values, capital).deepest
    assert deepest.depth == pytest.approx(expected, abs=1e-12)
    if expected > 1e-12:
        assert (deepest.bars, deepest.recovered) == (bars, recovered)


# --- the weekly target's wording ------------------------------------------------------------


def test_weekly_summary_never_says_negative_zero_and_counts_one_week():
    """A crore that loses Rs 30 in its only week: -0.0003% prints as 0.00%, not -0.00%."""
    from engine.metrics import evaluate_weekly

    report = evaluate_weekly(curve([10_000_000.0, 9_999_985.0, 9_999_970.0]), 10_000_000)
    mean = report.criterion("mean_weekly_return")
    assert -1e-5 < mean.actual < 0
    assert "-0.00%" not in report.summary
    assert report.summary == (
        "RED: mean weekly return 0.00% is below the 1.00% target by 1.00 pp (only 1 week of data)"
    )
    assert report.warnings == ("only 1 week of data (fewer than 4); the badge is indicative",)
