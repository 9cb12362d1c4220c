"""The paper account: charges per contract note by the engine's cost model, cash to the paisa,
the journal that rebuilds it after a restart or a crash, and reset."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from brokers.paper import PaperBroker, PaperJournalError
from engine.backtest.config import BacktestConfig
from engine.broker.errors import InvalidRequest
from engine.broker.models import OrderChange, Quote
from engine.costs import ChargeSegment, EquityExecution, Execution, make_cost_model
from engine.domain.enums import Exchange, OrderType, Product, Segment, Side
from engine.domain.fills import Fill
from engine.domain.instrument import Instrument
from engine.domain.orders import OrderStatus
from tests.brokers.paper_market import (
    EQUITY,
    OTHER,
    TRADING_DAY,
    Recorder,
    at,
    quote,
    request,
    session_quotes,
)

CAPITAL = Decimal("2000000")


def trading_script(broker: PaperBroker, quotes: Sequence[Quote], stop: int | None = None) -> None:
    """A morning of trading on two instruments: market orders walking the depth, limits
    resting and filling in parts, a stop, CNC and MIS together; orders go in at fixed quotes."""
    plan = {
        50: request(EQUITY, "a1", Side.BUY, 900),
        51: request(OTHER, "b1", Side.BUY, 400, product=Product.CNC),
        400: request(EQUITY, "a2", Side.SELL, 500),
        401: request(EQUITY, "a3", Side.BUY, 1200, OrderType.LIMIT, price="995.00"),
        900: request(EQUITY, "a4", Side.SELL, 600, OrderType.SL_M, trigger="990.00"),
        1500: request(OTHER, "b2", Side.SELL, 150, product=Product.CNC),
        2500: request(EQUITY, "a5", Side.BUY, 300, OrderType.LIMIT, price="1001.00"),
        6000: request(OTHER, "b3", Side.BUY, 250, OrderType.LIMIT, price="998.00"),
    }
    for i, q in enumerate(quotes[:stop]):
        broker.feed(q)
        if i in plan:
            asyncio.run(broker.place(plan[i]))


def two_instruments() -> list[Quote]:
    first = session_quotes(EQUITY, TRADING_DAY, seed=11)
    second = session_quotes(OTHER, TRADING_DAY, seed=12, base="1000.00")
    merged = [q for pair in zip(first, second, strict=True) for q in pair]
    return merged


def exact(value_paise: int, quantity: int) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return Decimal(value_paise) / Decimal(quantity * 100)


def test_charges_are_the_cost_models_contract_notes_per_executed_order(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL, costs="zerodha"))
    quotes = two_instruments()
    trading_script(broker, quotes)
    fills = asyncio.run(broker.trades())
    assert len(fills) > 12
    orders = {o.order.client_id: o.order for o in asyncio.run(broker.orders())}
    # several orders traded in more than one fill: brokerage is still one per order
    per_order: dict[str, list[Fill]] = defaultdict(list)
    for fill in fills:
        per_order[fill.order_client_id].append(fill)
    assert any(len(parts) > 1 for parts in per_order.values())
    model = make_cost_model("zerodha")
    expected = Decimal(0)
    for instrument in (EQUITY, OTHER):
        executions = []
        for client_id, parts in per_order.items():
            if parts[0].symbol != instrument.key:
                continue
            quantity = sum(f.quantity for f in parts)
            value = sum(int(f.price * 100) * f.quantity for f in parts)
            product = orders[client_id].product
            executions.append(
                EquityExecution(parts[0].side, quantity, exact(value, quantity), product)
            )
        note = model.compute_equity_day(executions, Exchange.NSE, TRADING_DAY)
        assert broker.charges(instrument, Product.MIS, TRADING_DAY) == note.total
        expected += note.total
    assert Decimal(broker.portfolio.total_charges).scaleb(-2) == expected
    # charging each fill as an order of its own would have billed brokerage per trade
    per_fill = model.compute_equity_day(
        [
            EquityExecution(f.side, f.quantity, f.price, orders[f.order_client_id].product)
            for f in fills
            if f.symbol == EQUITY.key
        ],
        Exchange.NSE,
        TRADING_DAY,
    )
    assert per_fill.total > broker.charges(EQUITY, Product.MIS, TRADING_DAY)
    # cash moved by every fill's value and the charges, to the paisa
    spent = sum(
        (f.price * f.quantity if f.side is Side.BUY else -f.price * f.quantity) for f in fills
    )
    funds = asyncio.run(broker.funds())
    assert funds.cash == CAPITAL - spent - expected


def snapshot(broker: PaperBroker) -> tuple[object, ...]:
    positions = sorted(
        (p.position for p in asyncio.run(broker.positions())),
        key=lambda p: (p.symbol, p.product),
    )
    return (
        asyncio.run(broker.orders()),
        asyncio.run(broker.trades()),
        positions,
        asyncio.run(broker.funds()).cash,
        broker.portfolio.total_charges,
        broker.portfolio.trades,
        [
            (h.symbol, h.quantity, h.t1_quantity, h.average_price)
            for h in asyncio.run(broker.holdings())
        ],
    )


def test_a_restart_rebuilds_the_account_exactly(workspace) -> None:
    config = BacktestConfig(capital=CAPITAL)
    quotes = two_instruments()
    broker = PaperBroker(workspace, config=config)
    trading_script(broker, quotes, stop=8000)
    before = snapshot(broker)
    assert any(o.order.is_active for o in before[0])  # something still working
    asyncio.run(broker.close())

    again = PaperBroker(workspace, config=config)
    assert again.clock == broker.clock  # the paper market resumes where it stopped
    assert snapshot(again) == before
    assert asyncio.run(again.funds()) == asyncio.run(broker.funds())


def test_a_day_split_by_a_restart_ends_as_the_day_run_whole(tmp_path) -> None:
    config = BacktestConfig(capital=CAPITAL)
    quotes = two_instruments()
    whole = PaperBroker(tmp_path / "whole", config=config)
    trading_script(whole, quotes)

    split = PaperBroker(tmp_path / "split", config=config)
    trading_script(split, quotes, stop=8000)
    asyncio.run(split.close())
    resumed = PaperBroker(tmp_path / "split", config=config)
    for q in quotes[8000:]:
        resumed.feed(q)
    assert snapshot(resumed)[1:] == snapshot(whole)[1:]
    assert [o.order for o in asyncio.run(resumed.orders())] == [
        o.order for o in asyncio.run(whole.orders())
    ]


def journal_of(workspace) -> Path:
    return workspace.root / "paper" / "paper.jsonl"


def test_a_crash_mid_write_leaves_a_consistent_account(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL))
    quotes = two_instruments()
    trading_script(broker, quotes, stop=3000)
    broker.journal.close()  # the process dies: no orderly close, no last quotes kept
    path = journal_of(workspace)
    lines = path.read_bytes().splitlines(keepends=True)
    last = json.loads(lines[-1])
    assert last["e"] == "fill"  # the crash tears a fill: written in part, never reported
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])

    rebuilt = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL))
    assert path.read_bytes() == b"".join(lines[:-1])  # the torn line is cut from the file
    fills = asyncio.run(rebuilt.trades())
    assert last["trade"] not in {f.trade_id for f in fills}
    assert len(fills) == sum(1 for line in lines[:-1] if json.loads(line)["e"] == "fill")
    for order in asyncio.run(rebuilt.orders()):
        mine = [f for f in fills if f.broker_order_id == order.broker_id]
        assert order.order.filled_quantity == sum(f.quantity for f in mine)
    spent = sum(
        (f.price * f.quantity if f.side is Side.BUY else -f.price * f.quantity) for f in fills
    )
    charges = Decimal(rebuilt.portfolio.total_charges).scaleb(-2)
    assert asyncio.run(rebuilt.funds()).cash == CAPITAL - spent - charges
    # it goes on from there: the torn fill is taken again from the next quotes
    for q in quotes[3000:3200]:
        rebuilt.feed(q)
    asyncio.run(rebuilt.close())
    third = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL))
    assert asyncio.run(third.trades()) == asyncio.run(rebuilt.trades())


def test_a_damaged_line_inside_the_journal_is_refused_by_name(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL))
    trading_script(broker, two_instruments(), stop=600)
    asyncio.run(broker.close())
    path = journal_of(workspace)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"e": "fill", "qty": \n'
    path.write_bytes(b"".join(lines))
    with pytest.raises(PaperJournalError, match="line 4"):
        PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL))


def test_reset_archives_the_journal_and_starts_with_the_capital(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL))
    heard = Recorder()
    broker.set_listener(heard)
    trading_script(broker, two_instruments(), stop=1000)
    assert asyncio.run(broker.trades())
    archived = broker.reset()
    assert archived is not None and archived.parent.name == "archive"
    assert b'"e":"fill"' in archived.read_bytes()
    funds = asyncio.run(broker.funds())
    assert (funds.cash, funds.available, funds.used_margin) == (CAPITAL, CAPITAL, 0)
    assert asyncio.run(broker.orders()) == [] and asyncio.run(broker.positions()) == []
    broker.reset(capital=Decimal("500000.00"))
    asyncio.run(broker.close())
    again = PaperBroker(workspace)
    assert asyncio.run(again.funds()).cash == Decimal("500000.00")
    assert len(list((workspace.root / "paper" / "archive").iterdir())) == 2


def test_funds_block_margin_for_open_positions(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL, costs="none"))
    quotes = two_instruments()
    trading_script(broker, quotes, stop=60)  # a1: MIS 900 EQUITY; b1: CNC 400 OTHER
    funds = asyncio.run(broker.funds())
    positions = {
        (p.position.symbol, p.position.product): p for p in asyncio.run(broker.positions())
    }
    mis = positions[(EQUITY.key, Product.MIS)]
    cnc = positions[(OTHER.key, Product.CNC)]
    orders = {o.order.client_id: o.order for o in asyncio.run(broker.orders())}
    bought = orders["a1"].filled_quantity  # what the protection band let the depth fill
    assert (mis.position.quantity, cnc.position.quantity) == (bought, 400)
    marks = {q.symbol: q.tick.ltp for q in quotes[:60]}
    blocked = (marks[EQUITY.key] * bought * Decimal("0.20")).quantize(Decimal("0.01"), "ROUND_DOWN")
    blocked += marks[OTHER.key] * 400
    assert funds.used_margin == blocked
    value = marks[EQUITY.key] * bought + marks[OTHER.key] * 400
    assert funds.available == funds.cash + value - blocked
    (holding,) = asyncio.run(broker.holdings())
    assert (holding.symbol, holding.quantity, holding.t1_quantity) == (OTHER.key, 0, 400)
    assert all(o.order.status is not OrderStatus.REJECTED for o in asyncio.run(broker.orders()))


FUTURE = Instrument(
    Exchange.NFO,
    Segment.FUTURES,
    "SYNBANK26DECFUT",
    tick_size=Decimal("0.10"),
    lot_size=50,
    expiry=date(2026, 12, 29),
)


def test_futures_fill_whole_lots_and_pay_the_futures_note(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=CAPITAL))
    asks = (("2000.10", 120), ("2000.20", 500))  # 120 shown: two lots fill, 20 cannot
    bids = (("1999.90", 80), ("1999.80", 500))
    first = quote(FUTURE, at(TRADING_DAY, 10, 0), "2000.00", asks=asks, bids=bids)
    broker.feed(first)
    buy = asyncio.run(broker.place(request(FUTURE, "f1", Side.BUY, 150, product=Product.NRML)))
    with pytest.raises(InvalidRequest, match="lot size 50"):
        asyncio.run(broker.modify(buy, OrderChange(quantity=75)))
    broker.feed(quote(FUTURE, at(TRADING_DAY, 10, 0, 1), "2000.00", asks=asks, bids=bids))
    asyncio.run(broker.place(request(FUTURE, "f2", Side.SELL, 150, product=Product.NRML)))
    broker.feed(quote(FUTURE, at(TRADING_DAY, 11, 0), "2001.00", asks=asks, bids=bids))
    fills = asyncio.run(broker.trades())
    assert [(f.order_client_id, f.quantity, f.price) for f in fills] == [
        ("f1", 100, Decimal("2000.10")),
        ("f1", 50, Decimal("2000.20")),
        ("f2", 50, Decimal("1999.90")),  # 80 shown: one lot of it
        ("f2", 100, Decimal("1999.80")),
    ]
    model = make_cost_model("zerodha")
    note = model.compute(
        [
            Execution(Side.BUY, 150, exact(100 * 200010 + 50 * 200020, 150)),
            Execution(Side.SELL, 150, exact(50 * 199990 + 100 * 199980, 150)),
        ],
        ChargeSegment.FUTURES,
        Exchange.NSE,
        TRADING_DAY,
    )
    assert broker.charges(FUTURE, Product.NRML, TRADING_DAY) == note.total
    assert Decimal(broker.portfolio.total_charges).scaleb(-2) == note.total
    (position,) = asyncio.run(broker.positions())
    assert position.position.quantity == 0
    assert position.position.realized_pnl == Decimal("-45.00")  # sold 299,975.00, bought 300,020.00
