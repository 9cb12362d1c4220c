"""What a strategy reads of its account and its contract (Strategy.funds, .instrument): the
host's figures, the same arithmetic its margin check uses, and the SDK's Account on top."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.backtest import run_backtest
from engine.domain.enums import Exchange, Segment
from engine.domain.instrument import Instrument
from engine.strategy.base import Strategy, StrategyError
from engine.strategy.requests import Funds
from strategies.sdk import account_of, lot_size, tick_size
from tests.engine.backtest_helpers import CAPITAL, bars, config, scripted

FUTURE = Instrument(
    symbol="NIFTYFUT",
    exchange=Exchange.NFO,
    segment=Segment.FUTURES,
    lot_size=25,
    tick_size=Decimal("0.05"),
    expiry=date(2026, 1, 27),
)
ROWS = [
    (100, 101, 99, 100),  # 0: buy 50 at the close, fills at bar 1's open
    (102, 103, 101, 102),  # 1: filled at 102
    (104, 105, 103, 104),  # 2: marked at 104
    (104, 105, 103, 104),  # 3
]


def test_funds_and_instrument_follow_the_fill_and_the_marks() -> None:
    seen: dict[int, tuple[Funds, Instrument]] = {}

    def look(s: Strategy, i: int) -> None:
        seen[i] = (s.funds(), s.instrument)

    strategy = scripted(
        {
            0: lambda s: (look(s, 0), s.buy(50))[1],
            2: lambda s: look(s, 2),
            3: lambda s: look(s, 3),
        }
    )
    run_backtest(
        strategy,
        None,
        [bars(ROWS, symbol="NIFTYFUT")],
        config(check_margin=True),
        {"NIFTYFUT": FUTURE},
    )
    before, contract = seen[0]
    assert contract is FUTURE or contract == FUTURE
    assert before == Funds(cash=CAPITAL, equity=CAPITAL, blocked=Decimal(0))
    after, _ = seen[2]
    # cash-flow accounting: 50 x 102 paid, the position marked at bar 2's close of 104
    assert after.cash == CAPITAL - 50 * 102
    assert after.equity == CAPITAL + 50 * 2
    rates = config().margin
    assert after.blocked == (Decimal(50 * 104) * rates.futures).quantize(Decimal("0.01"))
    assert after.free == after.equity - after.blocked
    # leaving the future's own position out of what is blocked (a sizer re-sizing it)
    strategy2_seen: list[Funds] = []
    strategy2 = scripted(
        {
            0: lambda s: s.buy(50),
            2: lambda s: strategy2_seen.append(s.funds(excluding="NIFTYFUT")),
        }
    )
    run_backtest(strategy2, None, [bars(ROWS, symbol="NIFTYFUT")], config(), {"NIFTYFUT": FUTURE})
    assert strategy2_seen[0].blocked == 0 and strategy2_seen[0].equity == after.equity


def test_the_sdk_account_is_the_hosts_funds_with_the_contracts_units() -> None:
    captured: list[object] = []

    def look(s: Strategy) -> None:
        captured.append(
            (account_of(s, reserve=Decimal("0.01")), lot_size(s), tick_size(s), s.funds())
        )

    strategy = scripted({0: lambda s: s.buy(25), 2: look})
    run_backtest(strategy, None, [bars(ROWS, symbol="NIFTYFUT")], config(), {"NIFTYFUT": FUTURE})
    account, lot, tick, funds = captured[0]  # type: ignore[misc]
    assert (lot, tick) == (25, Decimal("0.05"))
    assert account.lot_size == 25 and account.tick_size == Decimal("0.05")
    assert account.cash == funds.cash and account.equity == funds.equity
    assert account.buying_power == funds.equity * Decimal("0.99")  # own position released


def test_funds_outside_a_run_and_unknown_symbols_are_clear_errors() -> None:
    idle = scripted({})(None)
    with pytest.raises(StrategyError, match="only while the strategy runs"):
        idle.funds()
    with pytest.raises(StrategyError, match="only while the strategy runs"):
        lot_size(idle)
    errors: list[str] = []

    def ask(s: Strategy) -> None:
        try:
            s.instrument_of("NOPE")
        except StrategyError as exc:
            errors.append(str(exc))

    run_backtest(scripted({1: ask}), None, [bars(ROWS)], config())
    assert errors and "'NOPE' is not one of this strategy's instruments" in errors[0]
