"""MIS square-off from the market calendar: each day's cut-off is its session close minus
`BacktestConfig.squareoff_lead` (10 minutes by default), on whole days of 1-minute bars
(375 bars for a regular 09:15-15:30 session, 60 for a muhurat hour).

Every session here uses one price ladder: bar k of the day opens at 100.00 + k x 0.10, with
high open + 0.50, low open - 0.50 and close open + 0.05. A market buy placed at the close of
bar 5 (09:20 on a regular day) fills at bar 6's open, 100.60; bar 50 opens at 105.00, bar 365
(15:20 on a regular day) at 136.50, and bar 374 (15:29) closes at 137.45. Capital is
Rs 1,00,000 and there are no costs, as in the other backtest tests.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from engine.backtest import BacktestConfig, BacktestResult, run_backtest
from engine.calendar import IST
from tests.engine.backtest_helpers import CAPITAL, Action, bars, config, minutes, scripted

D = Decimal
REGULAR_BARS = 375  # 09:15 .. 15:29
MUHURAT_BARS = 60


def ladder(count: int) -> list[tuple[str, str, str, str]]:
    """One session's rows: bar k opens at 100.00 + k x 0.10 (exact, in rupees)."""
    rows = []
    for k in range(count):
        opening = D(100) + D(k) / 10
        rows.append(
            (
                str(opening),
                str(opening + D("0.5")),
                str(opening - D("0.5")),
                str(opening + D("0.05")),
            )
        )
    return rows


def session(day: str, start: time, count: int) -> list[datetime]:
    opening = datetime.combine(datetime.fromisoformat(day).date(), start, IST)
    return minutes(opening, count)


def buy_mis(bar: int) -> dict[int, Action]:
    return {bar: lambda s: s.buy(10, product="MIS")}


def exits(result: BacktestResult) -> list[tuple[int, datetime, Decimal, Decimal]]:
    """(entry bar, exit time, exit price, gross P&L) of every trade."""
    return [(t.entry_bar, t.exit_time, t.exit_price, t.gross_pnl) for t in result.trades]


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=IST)


def test_regular_day_mis_buy_is_squared_off_at_the_open_of_the_1520_bar():
    times = session("2026-01-05", time(9, 15), REGULAR_BARS)  # Monday, a regular session
    strategy = scripted(buy_mis(5))
    result = run_backtest(strategy, None, [bars(ladder(REGULAR_BARS), times=times)], config())
    (trade,) = result.trades
    assert (str(trade.product), trade.side, trade.quantity) == ("MIS", "long", 10)
    assert (trade.entry_bar, trade.entry_time, trade.entry_price) == (
        6,
        at("2026-01-05", "09:21"),
        D("100.60"),
    )
    # close 15:30 - 10 minutes = 15:20, bar 365: out at its open 136.50
    assert (trade.exit_bar, trade.exit_time, trade.exit_price) == (
        365,
        at("2026-01-05", "15:20"),
        D("136.50"),
    )
    # (136.50 - 100.60) x 10 = 359.00
    assert trade.gross_pnl == D("359.00")
    assert result.open_positions == {}
    assert result.final_equity == CAPITAL + D("359.00")


@pytest.mark.parametrize(
    ("eve", "muhurat", "opening", "cutoff"),
    [
        ("2024-10-31", "2024-11-01", time(18, 0), "18:50"),  # evening muhurat 18:00-19:00
        ("2025-10-20", "2025-10-21", time(13, 45), "14:35"),  # afternoon muhurat 13:45-14:45
    ],
)
def test_muhurat_session_squares_off_ten_minutes_before_its_own_close(
    eve: str, muhurat: str, opening: time, cutoff: str
):
    # The regular session before Diwali, then the muhurat hour: one series, two cut-offs.
    times = session(eve, time(9, 15), REGULAR_BARS) + session(muhurat, opening, MUHURAT_BARS)
    rows = ladder(REGULAR_BARS) + ladder(MUHURAT_BARS)
    strategy = scripted({**buy_mis(5), **buy_mis(REGULAR_BARS + 5)})
    result = run_backtest(strategy, None, [bars(rows, times=times)], config())
    muhurat_fill = session(muhurat, opening, 7)[6]  # 18:06 in 2024, 13:51 in 2025
    first, second = result.trades
    assert (first.entry_bar, first.exit_bar) == (6, 365)
    assert (first.exit_time, first.exit_price) == (at(eve, "15:20"), D("136.50"))
    # The muhurat buy fills at bar 6 of the session (18:06 in 2024) at 100.60 and is NOT
    # squared off on that bar: it is held to bar 50, the cut-off, out at its open 105.00.
    assert (second.entry_bar, second.entry_time, second.entry_price) == (
        REGULAR_BARS + 6,
        muhurat_fill,
        D("100.60"),
    )
    assert (second.exit_bar, second.exit_time, second.exit_price) == (
        REGULAR_BARS + 50,
        at(muhurat, cutoff),
        D("105.00"),
    )
    # (105.00 - 100.60) x 10 = 44.00
    assert second.gross_pnl == D("44.00")
    assert result.open_positions == {}
    assert result.final_equity == CAPITAL + D("359.00") + D("44.00")


def test_muhurat_position_opened_after_the_cutoff_is_squared_off_at_its_own_bars_close():
    times = session("2024-11-01", time(18, 0), MUHURAT_BARS)
    strategy = scripted(buy_mis(52))  # 18:52, past the 18:50 cut-off
    result = run_backtest(strategy, None, [bars(ladder(MUHURAT_BARS), times=times)], config())
    # fills at bar 53's open 105.30, squared off at that bar's close 105.35: 0.05 x 10
    assert exits(result) == [(53, at("2024-11-01", "18:53"), D("105.35"), D("0.50"))]


@pytest.mark.parametrize(
    ("count", "exit_bar", "exit_clock", "exit_price"),
    [
        # 09:15 .. 15:29: no bar at/after the 15:30 close, out at the last bar's close
        (REGULAR_BARS, 374, "15:29", "137.45"),
        # a file that also stamps a 15:30 bar: out at that bar's open
        (REGULAR_BARS + 1, 375, "15:30", "137.50"),
    ],
)
def test_zero_lead_squares_off_at_the_session_close(
    count: int, exit_bar: int, exit_clock: str, exit_price: str
):
    times = session("2026-01-05", time(9, 15), count)
    strategy = scripted(buy_mis(5))
    result = run_backtest(
        strategy, None, [bars(ladder(count), times=times)], config(squareoff_lead=timedelta(0))
    )
    (trade,) = result.trades
    assert (trade.entry_bar, trade.entry_price) == (6, D("100.60"))
    assert (trade.exit_bar, trade.exit_time, trade.exit_price) == (
        exit_bar,
        at("2026-01-05", exit_clock),
        D(exit_price),
    )
    assert trade.gross_pnl == (D(exit_price) - D("100.60")) * 10


def test_zero_lead_in_the_muhurat_session_holds_to_its_last_bar():
    times = session("2024-11-01", time(18, 0), MUHURAT_BARS)
    strategy = scripted(buy_mis(5))
    result = run_backtest(
        strategy,
        None,
        [bars(ladder(MUHURAT_BARS), times=times)],
        config(squareoff_lead=timedelta(0)),
    )
    # bar 59 (18:59) closes at 100.00 + 5.90 + 0.05 = 105.95; (105.95 - 100.60) x 10 = 53.50
    assert exits(result) == [(6, at("2024-11-01", "18:59"), D("105.95"), D("53.50"))]


@pytest.mark.parametrize(
    "day",
    [
        "2026-01-10",  # a Saturday
        "2026-01-26",  # Republic Day, a Monday holiday
    ],
)
def test_bars_on_a_day_without_a_session_square_off_at_1520_as_before(day: str):
    times = session(day, time(9, 15), REGULAR_BARS)
    strategy = scripted(buy_mis(5))
    result = run_backtest(strategy, None, [bars(ladder(REGULAR_BARS), times=times)], config())
    # the regular timetable: 15:30 - 10 minutes, bar 365 at its open 136.50
    assert exits(result) == [(6, at(day, "15:20"), D("136.50"), D("359.00"))]


def test_daily_bars_square_off_at_the_sessions_close():
    # One bar per session, stamped at the session's open (the muhurat one at 18:00).
    times = [
        at("2024-10-29", "09:15"),
        at("2024-10-30", "09:15"),
        at("2024-10-31", "09:15"),
        at("2024-11-01", "18:00"),
        at("2024-11-04", "09:15"),
    ]
    rows = [(100 + k, 102 + k, 98 + k, 101 + k) for k in range(len(times))]
    strategy = scripted({**buy_mis(0), **buy_mis(2)})
    result = run_backtest(strategy, None, [bars(rows, times=times, timeframe="1d")], config())
    # Bought at the next bar's open and sold at that same bar's close: +1.00 x 10 each.
    assert exits(result) == [
        (1, at("2024-10-30", "09:15"), D("102.00"), D("10.00")),
        (3, at("2024-11-01", "18:00"), D("104.00"), D("10.00")),
    ]
    assert result.open_positions == {}


@pytest.mark.parametrize(
    ("lead", "problem"),
    [
        (timedelta(minutes=-1), "squareoff_lead must be >= 0"),
        (timedelta(hours=3), "squareoff_lead must be >= 0 and < 3:00:00"),
        (10, "squareoff_lead must be a datetime.timedelta"),
    ],
)
def test_squareoff_lead_is_validated(lead: object, problem: str):
    with pytest.raises(ValueError, match=problem):
        BacktestConfig(squareoff_lead=lead)  # type: ignore[arg-type]


def test_squareoff_lead_bounds_are_accepted():
    assert BacktestConfig(squareoff_lead=timedelta(0)).squareoff_lead == timedelta(0)
    assert BacktestConfig().squareoff_lead == timedelta(minutes=10)
    assert BacktestConfig(squareoff_lead=timedelta(hours=2, minutes=59)).squareoff_lead == (
        timedelta(hours=2, minutes=59)
    )
