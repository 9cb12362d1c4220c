"""The documented fill model (engine/backtest/config.py), one hand-made scenario per rule:
prices and bars of market, limit and stop fills, brackets and trailing stops. Validity,
participation, lots, square-off, margin and charges: test_backtest_orders.py.

Every scenario is a handful of 1-minute bars on real NSE session minutes (Mon 5 Jan 2026
from 09:15 IST unless said) and a scripted strategy that places one or two orders on named
bars. Each expected price, bar, quantity and equity is worked out by hand in the comments
from the model's text; nothing here was copied from what the engine printed.

Bars are written (open, high, low, close[, volume]) in rupees; capital is Rs 1,00,000.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from engine.backtest import run_backtest
from engine.calendar import IST
from tests.engine.backtest_helpers import (
    CAPITAL,
    FLAT_START,
    RISING,
    bars,
    config,
    fills_of,
    scripted,
)

D = Decimal


# -- market orders ----------------------------------------------------------------------------


def test_market_orders_fill_at_the_next_bars_open():
    strategy = scripted({0: lambda s: s.buy(10), 2: lambda s: s.sell(10)})
    result = run_backtest(strategy, None, [bars(RISING)], config())
    # Buy placed at bar 0's close -> bar 1 opens at 102.00; sell at bar 2 -> bar 3 open 104.00.
    assert fills_of(strategy) == [(10, D("102.00"), 1), (10, D("104.00"), 3)]
    (trade,) = result.trades
    assert (trade.side, trade.quantity) == ("long", 10)
    assert (trade.entry_bar, trade.entry_price) == (1, D("102.00"))
    assert (trade.exit_bar, trade.exit_price) == (3, D("104.00"))
    assert trade.entry_time == datetime(2026, 1, 5, 9, 16, tzinfo=IST)
    assert trade.exit_time == datetime(2026, 1, 5, 9, 18, tzinfo=IST)
    # (104 - 102) x 10 = 20.00, no costs
    assert trade.gross_pnl == D("20.00")
    assert trade.charges == D("0")
    assert trade.net_pnl == D("20.00")
    assert result.final_equity == D("100020.00")
    assert result.open_positions == {}


def test_fill_close_mode_fills_market_orders_at_the_placing_bars_close():
    strategy = scripted({0: lambda s: s.buy(10), 2: lambda s: s.sell(10)})
    result = run_backtest(strategy, None, [bars(RISING)], config(fill="close"))
    # Buy at bar 0's close 100.50, sell at bar 2's close 103.50: (103.5 - 100.5) x 10 = 30.00.
    assert fills_of(strategy) == [(10, D("100.50"), 0), (10, D("103.50"), 2)]
    (trade,) = result.trades
    assert (trade.entry_bar, trade.entry_price, trade.exit_bar, trade.exit_price) == (
        0,
        D("100.50"),
        2,
        D("103.50"),
    )
    assert trade.gross_pnl == D("30.00")
    assert result.final_equity == D("100030.00")


def test_slippage_moves_market_fills_against_the_trader_onto_the_tick():
    strategy = scripted({0: lambda s: s.buy(10), 2: lambda s: s.sell(10)})
    result = run_backtest(strategy, None, [bars(RISING)], config(slippage_bps=D("7")))
    # Buy at bar 1's open 102 x 1.0007 = 102.0714 -> up to the 0.05 tick: 102.10.
    # Sell at bar 3's open 104 x 0.9993 = 103.9272 -> down to the tick: 103.90.
    assert fills_of(strategy) == [(10, D("102.10"), 1), (10, D("103.90"), 3)]
    (trade,) = result.trades
    # (103.90 - 102.10) x 10 = 18.00
    assert trade.gross_pnl == D("18.00")
    assert result.final_equity == D("100018.00")


# -- limit orders -----------------------------------------------------------------------------


def test_buy_limit_fills_at_its_price_when_the_bar_trades_through_it():
    rows = [
        FLAT_START,
        (102, "102.5", "100.5", "101.5"),  # 1: opens above 101, low 100.50 reaches it
        ("101.5", 102, 101, "101.8"),  # 2
    ]
    strategy = scripted({0: lambda s: s.buy(10, price=101)})
    result = run_backtest(strategy, None, [bars(rows)], config())
    # Bar 1 opens at 102 (above the limit) and trades down to 100.50: fills at the limit 101.00.
    assert fills_of(strategy) == [(10, D("101.00"), 1)]
    assert result.open_positions == {"SYM/CNC": 10}
    # 1,00,000 - 10 x 101.00 + 10 x 101.80 (last close) = 1,00,008.00
    assert result.final_equity == D("100008.00")
    assert result.trades == []


def test_buy_limit_fills_at_the_open_when_the_bar_gaps_below_it():
    rows = [
        FLAT_START,
        (98, "99.5", "97.5", 99),  # 1: opens at 98, below the 99 limit
        (99, "99.5", "98.5", "99.2"),  # 2
    ]
    strategy = scripted({0: lambda s: s.buy(10, price=99)})
    result = run_backtest(strategy, None, [bars(rows)], config())
    # A gap below a buy limit fills at the open, better than the limit: 98.00 on bar 1.
    assert fills_of(strategy) == [(10, D("98.00"), 1)]
    # 1,00,000 - 980.00 + 10 x 99.20 = 1,00,012.00
    assert result.final_equity == D("100012.00")


# -- stop orders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bar1", "price", "last_close", "equity"),
    [
        # Bar 1 opens at 101 under the 102 trigger and trades up to 102.50: fills at 102.00.
        # 1,00,000 - 1,020.00 + 10 x 102.40 = 1,00,004.00
        ((101, "102.5", "100.5", "102.2"), D("102.00"), "102.4", D("100004.00")),
        # Bar 1 gaps up to 103, past the trigger: a stop fills at the (worse) open, 103.00.
        # 1,00,000 - 1,030.00 + 10 x 102.40 = 99,994.00
        ((103, 104, "102.5", "103.5"), D("103.00"), "102.4", D("99994.00")),
    ],
    ids=["through", "gap-up"],
)
def test_buy_stop_market_fills_at_the_trigger_or_at_a_gapped_open(bar1, price, last_close, equity):
    rows = [FLAT_START, bar1, ("102.2", "102.6", "101.9", last_close)]
    strategy = scripted({0: lambda s: s.buy(10, trigger=102)})  # SL-M
    result = run_backtest(strategy, None, [bars(rows)], config())
    assert fills_of(strategy) == [(10, price, 1)]
    assert result.final_equity == equity


def test_sell_stop_market_gapping_down_fills_at_the_open_and_mis_squares_off_at_last_close():
    rows = [
        FLAT_START,
        (98, "98.5", 97, "97.5"),  # 1: opens at 98, below the 99 trigger
        ("97.5", 98, 97, "97.8"),  # 2: the session's last bar (no 15:20 bar today)
    ]
    strategy = scripted({0: lambda s: s.sell(10, trigger=99, product="MIS")})
    result = run_backtest(strategy, None, [bars(rows)], config())
    # Sell stop gapped through: fills at the open 98.00 (worse than 99 for a seller).
    # No bar at/after 15:20 today: the MIS short is bought back at the last close, 97.80.
    assert fills_of(strategy) == [(10, D("98.00"), 1), (10, D("97.80"), 2)]
    (trade,) = result.trades
    assert (trade.side, str(trade.product)) == ("short", "MIS")
    assert (trade.entry_bar, trade.exit_bar) == (1, 2)
    # short: (98.00 - 97.80) x 10 = 2.00
    assert trade.gross_pnl == D("2.00")
    assert result.open_positions == {}
    assert result.final_equity == D("100002.00")


def test_stop_limit_gapping_past_its_limit_rests_as_a_limit_from_the_next_bar():
    rows = [
        FLAT_START,
        (103, "103.5", "102.4", "103.2"),  # 1: triggers (>= 102) but opens at 103 > 102.50
        ("103.1", "103.4", "102.2", "102.4"),  # 2: trades down through the 102.50 limit
        ("102.4", "102.8", "102.3", "102.6"),  # 3
    ]
    strategy = scripted({0: lambda s: s.buy(10, trigger=102, price="102.5")})  # SL
    result = run_backtest(strategy, None, [bars(rows)], config())
    # Bar 1: triggered; max(trigger 102, open 103) = 103 is beyond the 102.50 limit, so the
    # order rests as a limit FROM THE NEXT BAR (bar 1's own dip to 102.40 does not count).
    # Bar 2 opens at 103.10 and reaches 102.20: the limit fills at min(103.10, 102.50).
    assert fills_of(strategy) == [(10, D("102.50"), 2)]
    # 1,00,000 - 1,025.00 + 10 x 102.60 = 1,00,001.00
    assert result.final_equity == D("100001.00")


def test_stop_limit_opening_between_trigger_and_limit_fills_at_the_open():
    rows = [FLAT_START, ("102.3", "102.8", "102.1", "102.6"), ("102.6", 103, "102.5", "102.7")]
    strategy = scripted({0: lambda s: s.buy(10, trigger=102, price="102.5")})
    result = run_backtest(strategy, None, [bars(rows)], config())
    # max(102, open 102.30) = 102.30 is within the 102.50 limit: fills at 102.30 on bar 1.
    assert fills_of(strategy) == [(10, D("102.30"), 1)]
    # 1,00,000 - 1,023.00 + 1,027.00 = 1,00,004.00
    assert result.final_equity == D("100004.00")


# -- brackets and trailing stops ------------------------------------------------------------------

BRACKET_START = [FLAT_START, (100, 101, 99, "100.5")]  # 1: entry at the open 100.00, no exit


def test_bracket_target_only_hit():
    rows = [
        *BRACKET_START,
        ("100.5", "104.5", 100, "104.2"),  # 2: reaches the 104 target, low 100 > stop 98
        (104, "104.5", 97, "97.5"),  # 3: would hit the stop, but the bracket is done
    ]
    strategy = scripted({0: lambda s: s.buy(10, stop_loss=98, target=104)})
    result = run_backtest(strategy, None, [bars(rows)], config())
    # Entry at bar 1's open 100.00; target limit sell fills at max(open 100.50, 104) = 104.00.
    assert fills_of(strategy) == [(10, D("100.00"), 1), (10, D("104.00"), 2)]
    (trade,) = result.trades
    assert (trade.exit_bar, trade.exit_price, trade.gross_pnl) == (2, D("104.00"), D("40.00"))
    assert result.open_positions == {}
    assert result.final_equity == D("100040.00")
    by_type = {o.order_type: o.status for o in result.order_log}
    assert by_type == {"MARKET": "FILLED", "LIMIT": "FILLED", "SL-M": "CANCELLED"}


@pytest.mark.parametrize(
    ("stop_first", "exit_price", "gross", "equity"),
    [
        (True, D("98.00"), D("-20.00"), D("99980.00")),  # stop: min(open 100.50, 98)
        (False, D("104.00"), D("40.00"), D("100040.00")),  # target: max(open 100.50, 104)
    ],
    ids=["stop-first", "target-first"],
)
def test_bracket_stop_and_target_inside_one_bar(stop_first, exit_price, gross, equity):
    rows = [*BRACKET_START, ("100.5", "104.5", "97.5", 101)]  # 2: spans 97.50 .. 104.50
    strategy = scripted({0: lambda s: s.buy(10, stop_loss=98, target=104)})
    result = run_backtest(strategy, None, [bars(rows)], config(stop_first=stop_first))
    (trade,) = result.trades
    assert (trade.exit_bar, trade.exit_price, trade.gross_pnl) == (2, exit_price, gross)
    assert result.final_equity == equity
    assert result.open_positions == {}


def test_bracket_target_gapped_at_the_open_trades_before_a_stop_later_in_the_bar():
    rows = [*BRACKET_START, ("104.5", 105, "97.5", 99)]  # 2: opens above the 104 target
    strategy = scripted({0: lambda s: s.buy(10, stop_loss=98, target=104)})
    result = run_backtest(strategy, None, [bars(rows)], config(stop_first=True))
    # The open is the bar's first trade: the target fills there (gap rule: at the open,
    # 104.50); the stop is not "inside the bar together with it" - it can only come later.
    (trade,) = result.trades
    assert (trade.exit_bar, trade.exit_price, trade.gross_pnl) == (2, D("104.50"), D("45.00"))


def test_bracket_stop_gapped_at_the_open_trades_before_a_target_later_in_the_bar():
    rows = [*BRACKET_START, ("97.5", "104.5", 97, 103)]  # 2: opens below the 98 stop
    strategy = scripted({0: lambda s: s.buy(10, stop_loss=98, target=104)})
    result = run_backtest(strategy, None, [bars(rows)], config(stop_first=False))
    # The open 97.50 is the first trade and already beyond the stop: the stop fills there
    # (gap rule); the target can only have traded later. (97.50 - 100) x 10 = -25.00
    (trade,) = result.trades
    assert (trade.exit_bar, trade.exit_price, trade.gross_pnl) == (2, D("97.50"), D("-25.00"))


TRAIL_ROWS = [
    *BRACKET_START,  # 1: level 100 - 2 = 98; low 99 stays above
    ("100.5", 103, 100, "102.5"),  # 2: best before = max(100, 101) = 101 -> 99; low 100 above
    ("102.5", 105, 102, "104.5"),  # 3: best 103 -> 101; low 102 above
]


@pytest.mark.parametrize(
    ("bar4", "exit_price", "gross"),
    [
        # best before bar 4 = 105 -> level 103; bar 4 opens 104.50, low 102.50: fills at 103.00
        (("104.5", "105.5", "102.5", 103), D("103.00"), D("30.00")),
        # the same level, but bar 4 opens at 102.80 below it: a stop gapped through fills at
        # the open, 102.80 -> (102.80 - 100) x 10 = 28.00
        (("102.8", "103.2", 102, "102.5"), D("102.80"), D("28.00")),
    ],
    ids=["through", "gap-down"],
)
def test_trailing_stop_exit_price(bar4, exit_price, gross):
    rows = [*TRAIL_ROWS, bar4, (103, "103.5", "102.5", "103.2")]
    strategy = scripted({0: lambda s: s.buy(10, trail=2)})
    result = run_backtest(strategy, None, [bars(rows)], config())
    (trade,) = result.trades
    assert (trade.entry_bar, trade.entry_price) == (1, D("100.00"))
    assert (trade.exit_bar, trade.exit_price, trade.gross_pnl) == (4, exit_price, gross)
    assert result.open_positions == {}
    assert result.final_equity == CAPITAL + gross


@pytest.mark.parametrize(
    ("stop_first", "exit_price", "gross"),
    [
        # trailing level for bar 3 = max(100, 101, 103) - 2 = 101: min(open 102.50, 101)
        (True, D("101.00"), D("10.00")),
        # the target 105: max(open 102.50, 105)
        pytest.param(
            False,
            D("105.00"),
            D("50.00"),
        ),
    ],
    ids=["stop-first", "target-first"],
)
def test_trailing_stop_and_target_inside_one_bar(stop_first, exit_price, gross):
    rows = [
        *BRACKET_START,
        ("100.5", 103, 100, "102.5"),  # 2: level 99, low 100; high 103 < target 105
        ("102.5", "105.5", "100.5", 104),  # 3: low 100.50 <= level 101 and high >= 105
    ]
    strategy = scripted({0: lambda s: s.buy(10, trail=2, target=105)})
    result = run_backtest(strategy, None, [bars(rows)], config(stop_first=stop_first))
    (trade,) = result.trades
    assert (trade.exit_bar, trade.exit_price, trade.gross_pnl) == (3, exit_price, gross)
