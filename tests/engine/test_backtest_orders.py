"""The fill model's order rules, one hand-made scenario per rule: validity (DAY, IOC),
volume participation, lot and freeze sizes, MIS square-off, equity shorts, margin, charges,
and strategy errors. Prices and fills at the bar: test_backtest_fills.py (same conventions:
1-minute bars on real NSE minutes, worked out by hand in the comments, capital Rs 1,00,000).
"""

from __future__ import annotations

import inspect
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from engine.backtest import StrategyRuntimeError, run_backtest
from engine.calendar import IST
from engine.costs import ChargeSegment, round_trip
from engine.domain.enums import Exchange
from engine.strategy.base import BarView, Strategy
from tests.engine.backtest_helpers import (
    CAPITAL,
    DAY1,
    DAY2,
    FLAT_START,
    RISING,
    bars,
    config,
    fills_of,
    futures,
    minutes,
    scripted,
    statuses,
)

D = Decimal


# -- validity ---------------------------------------------------------------------------------

TWO_DAYS = [*minutes(DAY1, 4), *minutes(DAY2, 3)]
TWO_DAY_ROWS = [
    FLAT_START,  # 0  Mon 09:15
    (100, "100.5", 99, "99.5"),  # 1
    ("99.5", 100, "98.5", 99),  # 2
    (99, "99.5", 98, "98.5"),  # 3  Mon 09:18, the session's last bar
    (96, "96.5", 94, 95),  # 4  Tue 09:15: trades through 95
    (95, 96, "94.5", "95.5"),  # 5
    ("95.5", 96, 95, "95.8"),  # 6
]


def test_day_order_expires_unfilled_at_the_end_of_its_session():
    noop = lambda s: None  # noqa: E731
    strategy = scripted({0: lambda s: s.buy(10, price=95), 3: noop, 4: noop})
    result = run_backtest(strategy, None, [bars(TWO_DAY_ROWS, times=TWO_DAYS)], config())
    order_id = strategy.placed[0]
    # Monday's lows (99, 98.50, 98) never reach 95: the DAY order is still working at
    # Monday's last close, gone by Tuesday, and does NOT fill on Tuesday's 94 low.
    assert strategy.seen_open[3] == [order_id]
    assert strategy.seen_open[4] == []
    assert statuses(strategy, order_id) == ["OPEN", "CANCELLED"]
    assert strategy.fills == []
    assert result.open_positions == {}
    assert result.final_equity == CAPITAL


def test_day_order_placed_on_the_sessions_last_bar_works_the_next_session():
    strategy = scripted({3: lambda s: s.buy(10, price=95)})
    result = run_backtest(strategy, None, [bars(TWO_DAY_ROWS, times=TWO_DAYS)], config())
    # Placed at Monday's last close it first becomes active Tuesday 09:15 (bar 4), which
    # opens at 96 and trades down to 94: the limit fills at 95.00.
    assert fills_of(strategy) == [(10, D("95.00"), 4)]
    # 1,00,000 - 950.00 + 10 x 95.80 = 1,00,008.00
    assert result.final_equity == D("100008.00")


def test_ioc_limit_gets_exactly_one_bar():
    rows = [
        FLAT_START,
        (100, "100.5", "99.5", "100.2"),  # 1: low 99.50 misses the 99 limit
        ("99.8", 100, "98.5", 99),  # 2: would reach it, one bar too late
    ]
    strategy = scripted({0: lambda s: s.buy(10, price=99, validity="IOC"), 2: lambda s: None})
    result = run_backtest(strategy, None, [bars(rows)], config())
    order_id = strategy.placed[0]
    assert strategy.fills == []
    assert strategy.seen_open[2] == []
    assert statuses(strategy, order_id) == ["OPEN", "CANCELLED"]
    assert result.final_equity == CAPITAL


def test_ioc_market_with_participation_cap_cancels_the_unfilled_rest():
    rows = [(*FLAT_START, 1000), (100, "100.5", "99.5", "100.2", 1000), (100, 101, 99, 100, 1000)]
    strategy = scripted({0: lambda s: s.buy(300, validity="IOC")})
    result = run_backtest(strategy, None, [bars(rows)], config(participation=0.1))
    # One bar, at most 10% of its 1000 volume: 100 at bar 1's open 100.00; 200 cancelled.
    assert fills_of(strategy) == [(100, D("100.00"), 1)]
    assert statuses(strategy, strategy.placed[0]) == ["OPEN", "PARTIALLY_FILLED", "CANCELLED"]
    (record,) = result.order_log
    assert (record.quantity, record.filled, record.status) == (300, 100, "CANCELLED")
    assert result.open_positions == {"SYM/CNC": 100}


def test_participation_cap_fills_partially_across_bars():
    rows = [
        (*FLAT_START, 1000),
        (100, "100.5", "99.5", "100.2", 1000),  # 1: 10% of 1000 = 100 at 100.00
        (101, "101.5", "100.5", "101.2", 500),  # 2: 10% of 500 = 50 at 101.00
        (102, "102.5", "101.5", "102.5", 2000),  # 3: 200 allowed, 100 left: 100 at 102.00
    ]
    strategy = scripted({0: lambda s: s.buy(250)})
    result = run_backtest(strategy, None, [bars(rows)], config(participation=0.1))
    assert fills_of(strategy) == [
        (100, D("100.00"), 1),
        (50, D("101.00"), 2),
        (100, D("102.00"), 3),
    ]
    assert statuses(strategy, strategy.placed[0]) == [
        "OPEN",
        "PARTIALLY_FILLED",
        "PARTIALLY_FILLED",
        "FILLED",
    ]
    assert result.open_positions == {"SYM/CNC": 250}
    # cost 10,000 + 5,050 + 10,200 = 25,250; value 250 x 102.50 = 25,625 -> +375.00
    assert result.final_equity == D("100375.00")


def test_participation_remainder_of_a_triggered_stop_fills_on_the_next_bar():
    rows = [
        (*FLAT_START, 1000),
        (101, "102.5", "100.5", "102.2", 1000),  # 1: triggers 102; 10% of 1000 = 100 at 102.00
        ("101.5", "101.8", "101.2", "101.6", 1000),  # 2: never back to 102
        ("101.6", "101.9", "101.3", "101.7", 1000),  # 3
    ]
    strategy = scripted({0: lambda s: s.buy(200, trigger=102)})  # SL-M
    result = run_backtest(strategy, None, [bars(rows)], config(participation=0.1))
    # Triggered on bar 1, an SL-M is a market order; the other 100 fill on the next bar,
    # at its open 101.50.
    assert fills_of(strategy) == [(100, D("102.00"), 1), (100, D("101.50"), 2)]
    assert result.open_positions == {"SYM/CNC": 200}


def test_participation_remainder_of_a_hit_trailing_stop_fills_on_the_next_bar():
    rows = [
        (*FLAT_START, 2000),
        (100, 101, 99, "100.5", 2000),  # 1: 10% of 2000 = 200: entry 200 at 100.00
        ("100.5", 103, 100, "102.5", 1000),  # 2: level 99
        ("102.5", 105, 102, "104.5", 1000),  # 3: level 101
        ("104.5", "105.5", "102.5", 103, 1000),  # 4: level 103 hit: 100 at 103.00
        (103, "103.5", "102.5", "103.2", 1000),  # 5: the other 100 at the open, 103.00
        (103, "103.5", "102.5", "103.2", 1000),  # 6
    ]
    strategy = scripted({0: lambda s: s.buy(200, trail=2)})
    result = run_backtest(strategy, None, [bars(rows)], config(participation=0.1))
    assert fills_of(strategy) == [
        (200, D("100.00"), 1),
        (100, D("103.00"), 4),
        (100, D("103.00"), 5),
    ]
    assert result.open_positions == {}


# -- instrument rules -----------------------------------------------------------------------------


def test_lot_size_rejects_a_quantity_that_is_not_whole_lots():
    strategy = scripted({0: lambda s: (s.buy(100, product="NRML"), s.buy(130, product="NRML"))})
    result = run_backtest(strategy, None, [bars(RISING)], config(), instruments=futures(65, 1800))
    rejected, accepted = strategy.placed[0]
    assert statuses(strategy, rejected) == ["REJECTED"]
    assert statuses(strategy, accepted) == ["OPEN", "FILLED"]
    (rejection,) = result.rejections
    assert "quantity 100 is not a multiple of the lot size 65" in rejection
    # 130 = 2 lots: fills at bar 1's open 102.00
    assert fills_of(strategy) == [(130, D("102.00"), 1)]
    assert result.open_positions == {"SYM/NRML": 130}
    # 1,00,000 - 130 x 102 + 130 x 104.50 = 1,00,000 + 130 x 2.50 = 1,00,325.00
    assert result.final_equity == D("100325.00")


def test_freeze_quantity_slices_an_order_into_several():
    # lot 75, freeze 1800 = 24 lots; 3750 = 50 lots -> 1800 + 1800 + 150 (2 lots)
    strategy = scripted({0: lambda s: s.buy(3750, product="NRML")})
    result = run_backtest(strategy, None, [bars(RISING)], config(), instruments=futures(75, 1800))
    assert result.orders == 3
    assert [(o.quantity, o.filled, o.status) for o in result.order_log] == [
        (1800, 1800, "FILLED"),
        (1800, 1800, "FILLED"),
        (150, 150, "FILLED"),
    ]
    assert fills_of(strategy) == [
        (1800, D("102.00"), 1),
        (1800, D("102.00"), 1),
        (150, D("102.00"), 1),
    ]
    assert result.open_positions == {"SYM/NRML": 3750}
    # 3750 x (104.50 - 102.00) = 9,375.00
    assert result.final_equity == D("109375.00")


def test_freeze_slices_are_whole_lots_when_the_freeze_is_not_a_lot_multiple():
    # lot 65, freeze 1800: the largest whole-lot slice is 27 lots = 1755.
    # 3575 = 55 lots -> 1755 + 1755 + 65
    strategy = scripted({0: lambda s: s.buy(3575, product="NRML")})
    result = run_backtest(strategy, None, [bars(RISING)], config(), instruments=futures(65, 1800))
    assert [o.quantity for o in result.order_log] == [1755, 1755, 65]
    assert result.orders == 3
    assert result.open_positions == {"SYM/NRML": 3575}


# -- products and the account ---------------------------------------------------------------------


def test_mis_position_is_squared_off_at_the_open_of_the_1520_bar():
    rows = [
        FLAT_START,  # 0  15:17
        ("100.5", 101, 100, "100.8"),  # 1  15:18: entries fill at 100.50
        ("100.8", "101.5", "100.5", "101.2"),  # 2  15:19
        ("101.4", "101.8", 101, "101.6"),  # 3  15:20: MIS square-off at the open 101.40
        ("101.6", 102, "101.2", "101.8"),  # 4  15:21
        ("101.8", "102.2", "101.5", 102),  # 5  15:22
    ]
    start = datetime(2026, 1, 5, 15, 17, tzinfo=IST)
    strategy = scripted({0: lambda s: (s.buy(10, product="MIS"), s.buy(5, product="CNC"))})
    result = run_backtest(strategy, None, [bars(rows, start=start)], config())
    (trade,) = result.trades
    assert (str(trade.product), trade.side, trade.quantity) == ("MIS", "long", 10)
    assert (trade.entry_bar, trade.entry_price) == (1, D("100.50"))
    assert (trade.exit_bar, trade.exit_price) == (3, D("101.40"))
    assert trade.exit_time == datetime(2026, 1, 5, 15, 20, tzinfo=IST)
    # (101.40 - 100.50) x 10 = 9.00
    assert trade.gross_pnl == D("9.00")
    # the CNC position is not squared off
    assert result.open_positions == {"SYM/CNC": 5}
    # 1,00,000 + 9.00 + 5 x (102.00 - 100.50) = 1,00,016.50
    assert result.final_equity == D("100016.50")


def test_cnc_short_is_rejected_and_mis_short_is_allowed():
    strategy = scripted({0: lambda s: (s.sell(10), s.sell(10, product="MIS"))})
    result = run_backtest(strategy, None, [bars(RISING)], config())  # default product CNC
    cnc, mis = strategy.placed[0]
    assert statuses(strategy, cnc) == ["REJECTED"]
    (rejection,) = result.rejections
    assert "equity shorts are intraday only" in rejection
    assert statuses(strategy, mis) == ["OPEN", "FILLED"]
    # MIS short at bar 1's open 102.00; no 15:20 bar, so it is bought back at the session's
    # last close 104.50: (102.00 - 104.50) x 10 = -25.00
    (trade,) = result.trades
    assert (trade.side, str(trade.product)) == ("short", "MIS")
    assert (trade.entry_price, trade.exit_bar, trade.exit_price) == (D("102.00"), 3, D("104.50"))
    assert trade.gross_pnl == D("-25.00")
    assert result.final_equity == D("99975.00")


def test_insufficient_funds_rejects_the_order():
    strategy = scripted({0: lambda s: (s.buy(20), s.buy(9))})
    result = run_backtest(strategy, None, [bars(RISING)], config(capital=D("1000")))
    too_big, fits = strategy.placed[0]
    # 20 x ~100 = ~2,000 CNC (100% margin) > Rs 1,000; 9 x ~100 = ~900 fits.
    assert statuses(strategy, too_big) == ["REJECTED"]
    assert statuses(strategy, fits) == ["OPEN", "FILLED"]
    (rejection,) = result.rejections
    assert "insufficient funds" in rejection
    assert fills_of(strategy) == [(9, D("102.00"), 1)]
    # 1,000 - 9 x 102 + 9 x 104.50 = 1,022.50
    assert result.final_equity == D("1022.50")


# -- costs ----------------------------------------------------------------------------------------


def test_zerodha_intraday_round_trip_charges_and_exact_equity():
    rows = [
        (500, 501, 499, "500.5"),
        (502, 503, 501, "502.5"),  # 1: buy fills at 502.00
        (505, 506, 504, "505.5"),
        (510, 511, 509, "510.5"),  # 3: sell fills at 510.00
    ]
    strategy = scripted(
        {0: lambda s: s.buy(100, product="MIS"), 2: lambda s: s.sell(100, product="MIS")}
    )
    result = run_backtest(strategy, None, [bars(rows)], config(costs="zerodha"))
    (trade,) = result.trades
    assert (trade.entry_price, trade.exit_price) == (D("502.00"), D("510.00"))
    # One contract note (same day, symbol, intraday): buy 100 @ 502, sell 100 @ 510.
    expected = round_trip(
        ChargeSegment.INTRADAY, Exchange.NSE, 100, D("502.00"), D("510.00"), date(2026, 1, 5)
    ).total
    assert expected > 0
    assert trade.charges == expected
    assert result.total_charges == expected
    # (510 - 502) x 100 = 800.00 gross
    assert trade.gross_pnl == D("800.00")
    assert trade.net_pnl == D("800.00") - expected
    assert result.final_equity == CAPITAL + D("800.00") - expected


def test_cnc_bought_and_sold_the_same_day_is_charged_as_intraday():
    rows = [
        (500, 501, 499, "500.5"),
        (502, 503, 501, "502.5"),  # 1: buy fills at 502.00
        (505, 506, 504, "505.5"),
        (510, 511, 509, "510.5"),  # 3: sell fills at 510.00, same session
    ]
    strategy = scripted({0: lambda s: s.buy(100), 2: lambda s: s.sell(100)})  # CNC default
    result = run_backtest(strategy, None, [bars(rows)], config(costs="zerodha"))
    (trade,) = result.trades
    # Zerodha bills a same-day CNC round trip as intraday: same note as the MIS test above
    expected = round_trip(
        ChargeSegment.INTRADAY, Exchange.NSE, 100, D("502.00"), D("510.00"), date(2026, 1, 5)
    ).total
    assert trade.charges == expected == result.total_charges


def test_cnc_held_overnight_is_delivery_on_both_days():
    rows = [
        (500, 501, 499, "500.5"),  # day 1, 09:15
        (502, 503, 501, "502.5"),  # day 1, 09:16: buy fills at 502.00
        (505, 506, 504, "505.5"),  # day 2, 09:15
        (510, 511, 509, "510.5"),  # day 2, 09:16: sell fills at 510.00
    ]
    times = [*minutes(DAY1, 2), *minutes(DAY2, 2)]
    strategy = scripted({0: lambda s: s.buy(100), 2: lambda s: s.sell(100)})
    result = run_backtest(strategy, None, [bars(rows, times=times)], config(costs="zerodha"))
    (trade,) = result.trades
    # day 1 note: buy 50,200 -> STT 50.20 -> 50, stamp 7.53 -> 8, exchange 1.54114 -> 1.54,
    #   SEBI 0.0502 -> 0.05, GST 18% x 1.59 = 0.2862 -> 0.29: 59.88
    # day 2 note: sell 51,000 -> STT 51, exchange 1.5657 -> 1.57, SEBI 0.051 -> 0.05,
    #   GST 18% x 1.62 = 0.2916 -> 0.29, DP 15.34: 68.25
    assert trade.charges == D("59.88") + D("68.25") == result.total_charges


# -- strategy errors ------------------------------------------------------------------------------


class Explodes(Strategy):
    def init(self) -> None:
        mask = np.zeros(self.data.size, dtype=bool)
        mask[1] = True
        self.on(mask, self.explode)

    def explode(self, bar: BarView) -> None:
        raise ValueError("boom on purpose")  # marker: explode-line


class PeeksAhead(Strategy):
    def init(self) -> None:
        mask = np.zeros(self.data.size, dtype=bool)
        mask[1] = True
        self.on(mask, self.peek)

    def peek(self, bar: BarView) -> None:
        self.data.close[3]  # marker: peek-line


def _line_of(marker: str) -> int:
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, text in enumerate(lines, 1) if text.endswith(f"# marker: {marker}")]
    return number


def test_strategy_error_names_the_authors_file_and_line():
    with pytest.raises(StrategyRuntimeError) as caught:
        run_backtest(Explodes, None, [bars(RISING)], config())
    message = str(caught.value)
    assert "ValueError: boom on purpose" in message
    assert "bar 1" in message
    assert f"{inspect.getfile(Explodes)}:{_line_of('explode-line')}" in message


def test_strategy_error_raised_inside_the_sdk_still_names_the_authors_line():
    with pytest.raises(StrategyRuntimeError) as caught:
        run_backtest(PeeksAhead, None, [bars(RISING)], config())
    message = str(caught.value)
    assert "LookAheadError" in message
    assert f"{inspect.getfile(PeeksAhead)}:{_line_of('peek-line')}" in message
