"""The composable SDK parts (issue 12, item 1): sizers' arithmetic worked by hand (whole lots,
rounded down, capped by what the account pays for), execution models' orders (prices on the
tick and on the right side, slices summing to the target), composed strategies trading on
minute bars with the same orders and trades in a backtest and a bar-by-bar replay, their
parameters exposed with prefixes and refused when bad, and the strategy's own cost and
slippage model taken by a run unless its config says otherwise."""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from typing import ClassVar

import numpy as np
import pytest

from engine.backtest import BacktestConfig, BacktestInputError, run_backtest
from engine.domain.enums import Side
from engine.replay import replay_bars
from strategies.sdk import (
    Account,
    BarView,
    ComposedStrategy,
    FillReport,
    FixedQuantity,
    FixedValue,
    KellyFraction,
    LimitAtOffset,
    MarketNow,
    MovingAverageCross,
    Param,
    ParamError,
    PercentOfEquity,
    RsiReversion,
    SlicedOverBars,
    Strategy,
    TradingCosts,
    VolatilityTarget,
    ZScoreReversion,
    band_position,
    plan_slices,
)
from tests.engine.backtest_helpers import futures
from tests.engine.replay_helpers import placed, same_report, trades
from tests.engine.synthetic import make_bars, series

D = Decimal
SESSIONS = 5
BARS = [series(make_bars(375 * SESSIONS, seed=seed)) for seed in (3, 11)]  # ends 2026-12-31


def account(
    equity: object = "1000000", power: object | None = None, lot: int = 1, tick: str = "0.05"
) -> Account:
    value = D(str(equity))
    return Account(
        cash=value,
        equity=value,
        buying_power=value if power is None else D(str(power)),
        lot_size=lot,
        tick_size=D(tick),
    )


# -- sizers: the arithmetic, by hand ----------------------------------------------------------
def test_fixed_quantity_rounds_down_to_whole_lots_and_scales_by_strength():
    sizer = FixedQuantity(size=130)
    assert sizer.quantity(1, 1000, account(lot=50)) == 100  # 130 -> 2 lots of 50
    assert sizer.quantity(-0.5, 1000, account(lot=50)) == -50  # 65 -> 1 lot, short
    assert sizer.quantity(0.3, 1000, account(lot=50)) == 0  # 39: less than a lot
    assert sizer.quantity(1, 1000, account(lot=1)) == 130
    # Rs 1,20,000 pays for 120 shares at 1000: 2 lots of 50 would need 1,00,000 -> fine; 1 lot
    # of 75 (75,000) fits in 1,20,000 but two (1,50,000) do not
    assert sizer.quantity(1, 1000, account(power=120_000, lot=50)) == 100
    assert FixedQuantity(size=150).quantity(1, 1000, account(power=120_000, lot=75)) == 75


def test_fixed_value_divides_rupees_by_the_price():
    sizer = FixedValue(value=100_000.0)
    assert sizer.quantity(1, "333.35", account()) == 299  # 299.98... rounded down
    assert sizer.quantity(1, "333.35", account(lot=25)) == 275  # 11 lots
    # 8,333.75 a lot; Rs 50,000 pays for 5 lots (41,668.75), not 6 (50,002.50)
    assert sizer.quantity(1, "333.35", account(power=50_000, lot=25)) == 125
    assert sizer.quantity(-1, "333.35", account(power=50_000, lot=25)) == -125


def test_percent_of_equity():
    sizer = PercentOfEquity(percent=10.0)
    # 10% of 10,00,000 = 1,00,000 at half strength = 50,000 -> 200 shares at 250
    assert sizer.quantity(0.5, 250, account()) == 200
    assert sizer.quantity(-0.5, 250, account(power=30_000)) == -120  # cash for 120 only
    assert sizer.quantity(1, 250, account(equity="999", lot=1)) == 0  # 99.9 rupees: no share


def test_volatility_target_risks_a_share_of_equity_per_atr():
    sizer = VolatilityTarget(risk_percent=1.0, atr_multiple=2.0)
    # 1% of 5,00,000 = 5,000 at risk; a stop 2 x 12.5 = 25 away: 200 shares; lots of 75: 150
    assert sizer.quantity(1, 100, account(equity=500_000), atr=12.5) == 200
    assert sizer.quantity(1, 100, account(equity=500_000, lot=75), atr=12.5) == 150
    assert sizer.quantity(-0.5, 100, account(equity=500_000), atr=12.5) == -100
    assert sizer.quantity(1, 100, account(equity=500_000, power=9_000), atr=12.5) == 90
    assert sizer.quantity(1, 100, account(equity=500_000), atr=float("nan")) == 0  # warming up
    assert sizer.quantity(1, 100, account(equity=500_000), atr=0) == 0


def test_kelly_fraction_with_its_cap():
    # f* = 0.6 - 0.4 / 2 = 0.4; half of it: 20% of 10,00,000 = 2,00,000 -> 400 at 500
    sizer = KellyFraction(win_rate=0.6, payoff=2.0, fraction=0.5, cap_percent=25.0)
    assert sizer.bet() == D("0.2")
    assert sizer.quantity(1, 500, account()) == 400
    capped = KellyFraction(win_rate=0.6, payoff=2.0, fraction=0.5, cap_percent=10.0)
    assert capped.bet() == D("0.1") and capped.quantity(1, 500, account()) == 200
    no_edge = KellyFraction(win_rate=0.3, payoff=1.0)  # f* = 0.3 - 0.7 = -0.4
    assert no_edge.bet() == 0 and no_edge.quantity(1, 500, account()) == 0
    assert sizer.quantity(1, 500, account(power=60_000)) == 120


def test_strength_is_clipped_and_nan_is_flat():
    sizer = FixedQuantity(size=10)
    assert sizer.quantity(3.0, 100, account()) == 10
    assert sizer.quantity(-7, 100, account()) == -10
    assert sizer.quantity(float("nan"), 100, account()) == 0
    assert sizer.quantity(np.float64(0.5), np.float64(100.0), account()) == 5
    assert sizer.quantity(1, 100, account(power=0)) == 0
    assert sizer.quantity(1, 100, account(power=-5_000)) == 0


# -- execution models -------------------------------------------------------------------------
def test_limit_prices_are_on_the_tick_and_on_the_better_side():
    ticks = LimitAtOffset(offset=2.0)
    assert ticks.limit_price(Side.BUY, 100.03, D("0.05")) == D("99.90")  # 99.93 down
    assert ticks.limit_price(Side.SELL, 100.03, D("0.05")) == D("100.15")  # 100.13 up
    assert ticks.limit_price(Side.BUY, 100.0, D("0.05")) == D("99.90")
    percent = LimitAtOffset(offset=0.5, unit="percent")
    assert percent.limit_price(Side.BUY, 1234.5, D("0.05")) == D("1228.30")  # 1228.3275
    assert percent.limit_price(Side.SELL, 1234.5, D("0.05")) == D("1240.70")  # 1240.6725
    assert percent.limit_price(Side.BUY, 1234.5, D("0.1")) == D("1228.3")
    assert LimitAtOffset(offset=50.0).limit_price(Side.BUY, 1.0, D("0.05")) == D("0.05")


@pytest.mark.parametrize(
    ("total", "lot", "slices", "expected"),
    [
        (1000, 1, 4, [250, 250, 250, 250]),
        (1030, 10, 4, [250, 250, 250, 280]),  # 103 lots: 25 a slice, 28 in the last
        (-525, 75, 4, [-75, -75, -75, -300]),  # 7 lots: 1 a slice, the remainder last
        (150, 50, 5, [50, 50, 50]),  # fewer lots than slices: one lot a bar
        (7, 1, 1, [7]),
        (0, 1, 3, []),
    ],
)
def test_slices_are_whole_lots_and_sum_to_the_change(total, lot, slices, expected):
    plan = plan_slices(total, lot, slices)
    assert plan == expected and sum(plan) == total
    assert all(size % lot == 0 for size in plan)


class Moves(Strategy):
    """An execution model used alone: at each close, move toward the target set for it."""

    model: ClassVar[object]
    targets: ClassVar[dict[int, int]]
    seen: ClassVar[list[tuple[int, Decimal, float]]]  # (bar, limit, close) of each limit
    fills: ClassVar[list[FillReport]]

    def init(self) -> None:
        assert isinstance(self.model, MarketNow | LimitAtOffset | SlicedOverBars)
        self.exe = self.model.with_params({})
        self.goal = 0

    def on_bar(self, bar: BarView) -> None:
        self.goal = self.targets.get(bar.index, self.goal)
        self.exe.move(self, self.goal, bar, {"product": "NRML"})
        working = getattr(self.exe, "working", None)
        if working is not None and working[0].is_open:
            self.seen.append((bar.index, working[2], bar.close))

    def on_fill(self, fill: FillReport) -> None:
        self.fills.append(fill)


def moves(model: object, targets: dict[int, int]) -> type[Moves]:
    attrs = {"model": model, "targets": targets, "seen": [], "fills": []}
    return type("Moves", (Moves,), attrs)


FUT = futures(lot=25, freeze=1800)
FUT_BARS = series(make_bars(375 * 2, seed=21), "SYM")
FUT_CONFIG = BacktestConfig(capital=D(50_000_000), costs="none")


def test_market_now_sends_the_whole_difference_at_once():
    strategy = moves(MarketNow(), {10: 100, 40: -50, 80: 0})
    result = run_backtest(strategy, None, [FUT_BARS], FUT_CONFIG, FUT)
    assert placed(result) == [
        (10, "BUY", 100, "MARKET"),
        (40, "SELL", 150, "MARKET"),
        (80, "BUY", 50, "MARKET"),
    ]
    assert result.rejected_orders == 0


def test_limit_at_offset_prices_each_order_on_the_tick_below_a_buy_and_above_a_sell():
    strategy = moves(LimitAtOffset(offset=3.0), {10: 50, 200: -50, 400: 0})
    result = run_backtest(strategy, None, [FUT_BARS], FUT_CONFIG, FUT)
    assert result.rejected_orders == 0
    orders = placed(result)
    assert {o[3] for o in orders} == {"LIMIT"}
    assert len(strategy.seen) >= 3
    for _bar, limit, close in strategy.seen:
        assert limit % D("0.05") == 0
        offset = D(repr(close)) - limit
        assert abs(offset) >= D("0.15")  # 3 ticks at least, on the better side
    for fill in strategy.fills:  # a limit never trades worse than its price
        limits = [lim for bar, lim, _ in strategy.seen if bar < fill.bar_index]
        assert limits
        last = limits[-1]
        assert fill.price <= last if fill.side is Side.BUY else fill.price >= last
    # the position reached every target: 50, then -50, then flat
    assert sum(f.quantity if f.side is Side.BUY else -f.quantity for f in strategy.fills) == 0
    assert [f.quantity for f in strategy.fills] == [50, 100, 50]


def test_sliced_over_bars_sends_one_slice_a_bar_summing_to_the_target():
    strategy = moves(SlicedOverBars(slices=4), {10: 25 * 7, 100: -25 * 3})
    result = run_backtest(strategy, None, [FUT_BARS], FUT_CONFIG, FUT)
    assert placed(result) == [
        (10, "BUY", 25, "MARKET"),
        (11, "BUY", 25, "MARKET"),
        (12, "BUY", 25, "MARKET"),
        (13, "BUY", 100, "MARKET"),  # 7 lots over 4 bars: the remainder in the last
        (100, "SELL", 50, "MARKET"),  # -3 - 7 = -10 lots: 2, 2, 2, then 4
        (101, "SELL", 50, "MARKET"),
        (102, "SELL", 50, "MARKET"),
        (103, "SELL", 100, "MARKET"),
    ]
    net = sum(f.quantity if f.side is Side.BUY else -f.quantity for f in strategy.fills)
    assert net == -75


# -- composed strategies ----------------------------------------------------------------------
class Trend(ComposedStrategy):
    """Moving-average trend, 20% of equity, limits one tick inside the close; intraday."""

    signal = MovingAverageCross(fast=10, slow=40)
    sizer = PercentOfEquity(percent=20.0)
    execution = LimitAtOffset(offset=1.0)
    product = "MIS"


class Reversion(ComposedStrategy):
    """Z-score reversion, volatility-targeted, sliced over three bars; intraday."""

    signal = ZScoreReversion(length=30, entry=2.0, exit=0.5)
    sizer = VolatilityTarget(risk_percent=0.5, atr_multiple=2.0)
    execution = SlicedOverBars(slices=3)
    product = "MIS"


class RsiKelly(ComposedStrategy):
    """RSI reversion, long only (delivery), half Kelly, market orders."""

    signal = RsiReversion(length=14, oversold=30.0, overbought=70.0, long_only=True)
    sizer = KellyFraction(win_rate=0.55, payoff=1.5)


class EmaFixed(ComposedStrategy):
    signal = MovingAverageCross(fast=5, slow=20, average="ema")
    sizer = FixedValue(value=50_000.0)
    product = "MIS"


COMPOSED = [Trend, Reversion, RsiKelly, EmaFixed]
CONFIG = BacktestConfig(capital=D(1_000_000))


@pytest.mark.parametrize("strategy", COMPOSED, ids=lambda s: s.__name__)
def test_a_composed_strategy_trades_and_replay_gives_the_same_orders_and_trades(strategy):
    for data in BARS:
        backtest = run_backtest(strategy, None, [data], CONFIG)
        replay = replay_bars(strategy, None, data, CONFIG)
        assert len(backtest.trades) >= 5, strategy.__name__
        assert backtest.rejected_orders == 0
        assert placed(backtest) == placed(replay)
        assert trades(backtest) == trades(replay)
        assert same_report(backtest, replay)
        for order in backtest.order_log:  # every order a whole number of lots
            assert order.quantity > 0


def test_both_styles_run_unchanged_in_backtest_and_replay():
    """One rule written as handlers and as parts: each gives replay's orders in a backtest."""

    class Handlers(Strategy):
        def init(self) -> None:
            from strategies.sdk import crossed_above, crossed_below, sma

            fast = self.I(sma, self.data.close, 10)
            slow = self.I(sma, self.data.close, 40)
            self.on(crossed_above(fast, slow), self.up)
            self.on(crossed_below(fast, slow), self.down)

        def up(self, bar: BarView) -> None:
            self.target_position(100, product="MIS")

        def down(self, bar: BarView) -> None:
            self.target_position(-100, product="MIS")

    class Parts(ComposedStrategy):
        signal = MovingAverageCross(fast=10, slow=40)
        sizer = FixedQuantity(size=100)
        product = "MIS"

    data = BARS[0]
    for strategy in (Parts, Handlers):
        backtest = run_backtest(strategy, None, [data], CONFIG)
        replay = replay_bars(strategy, None, data, CONFIG)
        assert len(backtest.trades) > 10
        assert placed(backtest) == placed(replay) and trades(backtest) == trades(replay)


def test_reversion_state_is_held_between_its_events():
    x = np.array([np.nan, 0.0, -2.5, -1.0, -0.2, 0.3, 2.4, 1.0, -0.1, -3.0, 3.0, np.nan, -1.0])
    held = band_position(x, -2.0, 2.0, 0.0, 0.0)
    assert held.tolist() == [0, 0, 1, 1, 1, 0, -1, -1, 0, 1, -1, 0, 0]


# -- parameters -------------------------------------------------------------------------------
def test_parts_parameters_are_the_strategys_own_with_prefixes():
    names = [(p.name, p.default, p.minimum, p.maximum) for p in Trend.parameters()]
    assert names == [
        ("signal_fast", 10, 1, 500),
        ("signal_slow", 40, 2, 2000),
        ("signal_average", "sma", None, None),
        ("signal_long_only", False, None, None),
        ("sizer_percent", 20.0, 0.01, 100.0),
        ("execution_offset", 1.0, 0.0, 100_000.0),
        ("execution_unit", "ticks", None, None),
    ]
    assert Trend.parameters()[2].choices == ("sma", "ema")
    tuned = Trend({"signal_fast": "12", "sizer_percent": 5})
    assert tuned.params["signal_fast"] == 12 and tuned.signal_fast == 12  # type: ignore[attr-defined]
    assert tuned.parts.signal.fast == 12 and tuned.parts.sizer.percent == 5.0
    assert Trend().parts.signal.fast == 10  # each instance its own parts
    assert Trend.signal is not None and Trend.signal.fast == 10  # the class's part unchanged


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"signal_fast": 0}, "parameter signal_fast=0: must be >= 1"),
        ({"sizer_percent": 150}, "parameter sizer_percent=150.0: must be <= 100.0"),
        ({"execution_unit": "points"}, "parameter execution_unit='points': must be one of"),
        ({"signal_fast": "ten"}, "parameter signal_fast: 'ten' is not a valid int"),
        ({"signal_fast": 50}, "MovingAverageCross: signal_fast=50 must be below signal_slow=40"),
        ({"fast": 5}, "Trend has no parameter 'fast' (parameters: signal_fast, signal_slow"),
    ],
)
def test_bad_parameters_are_refused_with_their_prefixed_names(params, message):
    with pytest.raises(ParamError) as caught:
        run_backtest(Trend, params, [BARS[0]], CONFIG)
    assert message in str(caught.value)


def test_parts_alone_refuse_bad_values_too():
    with pytest.raises(ParamError, match="parameter fast=0: must be >= 1"):
        MovingAverageCross(fast=0)
    with pytest.raises(ParamError, match=r"ZScoreReversion: exit=2.0 must be below entry=2.0"):
        ZScoreReversion(entry=2.0, exit=2.0)
    with pytest.raises(ParamError, match=r"need oversold=60\.0 < exit_level=50\.0"):
        RsiReversion(oversold=60.0)
    with pytest.raises(ParamError, match=r"parameter percent=0\.0: must be >= 0\.01"):
        PercentOfEquity(percent=0.0)
    with pytest.raises(ParamError, match="MovingAverageCross has no parameter 'period'"):
        MovingAverageCross(period=3)


def test_a_part_of_the_wrong_kind_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match=r"Wrong.signal must be a Signal, e\.g\. signal = "):

        class Wrong(ComposedStrategy):
            signal = PercentOfEquity()  # type: ignore[assignment]


def test_a_missing_part_is_named():
    class NoSizer(ComposedStrategy):
        signal = MovingAverageCross()

    with pytest.raises(Exception, match="NoSizer needs a sizer: set `sizer = PercentOfEquity"):
        NoSizer()


def test_a_subclass_that_replaces_a_part_shows_only_the_new_parts_parameters():
    class Faster(Trend):
        signal = RsiReversion()

    names = [p.name for p in Faster.parameters()]
    assert "signal_fast" not in names and "signal_oversold" in names
    assert "sizer_percent" in names
    assert Faster({"signal_length": 7}).parts.signal.length == 7


def test_parts_built_from_the_strategys_own_params():
    class Shared(ComposedStrategy):
        period = Param(20, min=5, max=200, help="bars in the slow average; fast is a quarter")
        sizer = FixedQuantity(size=10)

        def build_signal(self) -> MovingAverageCross:
            return MovingAverageCross(fast=max(self.period // 4, 1), slow=self.period)

    assert [p.name for p in Shared.parameters()] == ["period", "sizer_size"]
    result = run_backtest(Shared, {"period": 40}, [BARS[0]], CONFIG)
    assert result.order_log and result.order_log[0].placed_bar == 39


def test_composed_parameters_show_in_strategies_list(tmp_path):
    home = tmp_path / "ws"
    folder = home / "strategies"
    folder.mkdir(parents=True)
    (folder / "trend.py").write_text(
        "from strategies.sdk import ComposedStrategy, LimitAtOffset, MovingAverageCross,"
        " PercentOfEquity\n\n\n"
        "class Trend(ComposedStrategy):\n"
        '    """Trend as parts."""\n\n'
        "    signal = MovingAverageCross(fast=12, slow=48)\n"
        "    sizer = PercentOfEquity(percent=15.0)\n"
        "    execution = LimitAtOffset()\n",
        encoding="utf-8",
    )
    from tests.app.backtest_cli_helpers import ARTHA

    done = subprocess.run(
        [ARTHA, "strategies", "list", "--json", "-"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARTHA_HOME": str(home)},
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    (mine,) = json.loads(done.stdout)["workspace"]
    params = {p["name"]: p for p in mine["params"]}
    assert list(params) == [
        "signal_fast",
        "signal_slow",
        "signal_average",
        "signal_long_only",
        "sizer_percent",
        "execution_offset",
        "execution_unit",
    ]
    assert params["signal_fast"]["default"] == 12 and params["signal_fast"]["min"] == 1
    assert params["sizer_percent"]["help"].startswith("sizer (PercentOfEquity): ")


# -- slippage and costs a strategy asks for ---------------------------------------------------
class Costly(Trend):
    trading_costs = TradingCosts(costs="bps", cost_bps=D(5), slippage_bps=D(3))


def test_a_strategys_costs_and_slippage_apply_unless_the_config_sets_them():
    data = BARS[0]
    own = run_backtest(Costly, None, [data], CONFIG)
    assert (own.config.costs, own.config.cost_bps, own.config.slippage_bps) == ("bps", 5, 3)
    assert own.total_charges_paise > 0
    assert same_report(own, replay_bars(Costly, None, data, CONFIG))
    plain = run_backtest(Trend, None, [data], CONFIG)
    assert (plain.config.costs, plain.config.slippage_bps) == ("zerodha", 0)
    given = BacktestConfig(capital=D(1_000_000), costs="none", slippage_bps=D(1))
    overridden = run_backtest(Costly, None, [data], given)
    assert (overridden.config.costs, overridden.config.slippage_bps) == ("none", 1)
    exact = BacktestConfig(capital=D(1_000_000), strategy_costs=False)
    ignored = run_backtest(Costly, None, [data], exact)
    assert (ignored.config.costs, ignored.config.slippage_bps) == ("zerodha", 0)


def test_a_handler_strategy_can_declare_costs_too_and_bad_ones_are_refused():
    class Plain(Strategy):
        trading_costs = TradingCosts(costs="none", slippage_bps=D(10))

    result = run_backtest(Plain, None, [BARS[0]], CONFIG)
    assert (result.config.costs, result.config.slippage_bps) == ("none", 10)
    with pytest.raises(BacktestInputError, match="slippage_bps must be between 0 and 10000"):
        TradingCosts(slippage_bps=D(-1))
    with pytest.raises(BacktestInputError, match="costs='bps' needs cost_bps"):
        TradingCosts(costs="bps")
    with pytest.raises(BacktestInputError, match="cost_bps goes with costs='bps'"):
        TradingCosts(cost_bps=D(2))

    class Odd(Strategy):
        trading_costs = "cheap"

    with pytest.raises(BacktestInputError, match="trading_costs must be a TradingCosts"):
        run_backtest(Odd, None, [BARS[0]], CONFIG)


def test_account_reports_the_runs_lot_and_money():
    seen: list[Account] = []

    class Looks(Strategy):
        def on_bar(self, bar: BarView) -> None:
            if bar.index in (5, 300):
                from strategies.sdk import account_of

                seen.append(account_of(self))
                if bar.index == 5:
                    self.buy(50, product="NRML")

    run_backtest(Looks, None, [FUT_BARS], FUT_CONFIG, FUT)
    first, later = seen
    assert (first.lot_size, first.tick_size) == (25, D("0.05"))
    assert first.cash == first.equity == first.buying_power == D(50_000_000)
    close = D(int(FUT_BARS.close[300])) / 100
    assert later.equity == later.cash + 50 * close
    assert later.buying_power == later.equity  # its own position is not blocked
