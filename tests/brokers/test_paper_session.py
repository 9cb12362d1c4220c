"""The paper broker through a session: MIS square-off at the calendar's cut-off (a regular
day and a muhurat evening), recorded ticks replayed on the loop at any hour, the order
gateway in front of it, quotes to subscribers, and history from the workspace's store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from brokers.paper import PaperBroker, merged, tick_quotes
from engine.backtest.config import BacktestConfig
from engine.backtest.venue_rules import squareoff_cutoff
from engine.broker.errors import InvalidRequest, OrderRejected
from engine.broker.gateway import OrderGateway
from engine.broker.models import ConnectionState, Quote, TickMode
from engine.broker.protocol import Broker
from engine.calendar import IST, get_calendar
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore
from engine.domain.enums import OrderType, Product, Side
from engine.domain.orders import OrderStatus
from engine.execution.prices import slipped
from engine.ist import ist_datetime, ns_of
from engine.replay.ticks import TickSeries
from engine.timeframes import Timeframe
from tests.brokers.paper_market import (
    EQUITY,
    MUHURAT_DAY,
    OTHER,
    TRADING_DAY,
    Recorder,
    at,
    request,
    session_quotes,
)


def run_with_orders(
    broker: PaperBroker, quotes: Sequence[Quote], plan: dict[datetime, list[object]]
) -> dict[str, Exception]:
    """Feed the day; at each planned time place the planned requests. Refusals by name."""
    refused: dict[str, Exception] = {}
    pending = sorted(plan.items(), key=lambda item: item[0])
    for quote in quotes:
        broker.feed(quote)
        while pending and quote.tick.ts >= pending[0][0]:
            for req in pending.pop(0)[1]:
                try:
                    asyncio.run(broker.place(req))  # type: ignore[arg-type]
                except (OrderRejected, InvalidRequest) as exc:
                    refused[req.order.client_id] = exc  # type: ignore[attr-defined]
    return refused


def check_square_off(broker: PaperBroker, heard: Recorder, quotes: Sequence[Quote], cut: datetime):
    first_after = next(q for q in quotes if q.tick.ts >= cut)
    squareoffs = [u for u in heard.updates if not u.ours]
    assert squareoffs, "no square-off order"
    assert {u.order.tag for u in squareoffs} == {"squareoff"}
    assert squareoffs[-1].order.status is OrderStatus.FILLED
    fills = [
        f for f in asyncio.run(broker.trades()) if f.broker_order_id == squareoffs[0].broker_id
    ]
    assert fills and all(f.ts == first_after.tick.ts for f in fills)
    positions = {
        (p.position.symbol, p.position.product): p for p in asyncio.run(broker.positions())
    }
    assert positions[(EQUITY.key, Product.MIS)].position.quantity == 0
    return first_after


def test_mis_square_off_at_the_calendars_cut_off(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=Decimal(5_000_000)))
    heard = Recorder()
    broker.set_listener(heard)
    quotes = session_quotes(EQUITY, TRADING_DAY, seed=21)
    session = get_calendar("NSE").session(TRADING_DAY)
    assert session is not None
    cut = session.close - timedelta(minutes=10)
    assert ns_of(cut) == squareoff_cutoff(ns_of(session.open), "NSE", timedelta(minutes=10))
    refused = run_with_orders(
        broker,
        quotes,
        {
            at(TRADING_DAY, 10, 0): [request(EQUITY, "m1", Side.BUY, 300)],
            at(TRADING_DAY, 10, 1): [
                request(EQUITY, "m2", Side.SELL, 300, OrderType.LIMIT, price="1500.00"),
                request(EQUITY, "c1", Side.BUY, 50, product=Product.CNC),
            ],
            at(TRADING_DAY, 15, 25): [request(EQUITY, "late", Side.BUY, 10)],
        },
    )
    first_after = check_square_off(broker, heard, quotes, cut)
    m2 = heard.of("m2")[-1]
    assert m2.order.status is OrderStatus.CANCELLED
    assert m2.order.status_message == "MIS square-off"
    assert m2.updated_at == first_after.tick.ts
    assert "15:20" in str(refused["late"])  # no new MIS once the cut-off has passed
    positions = {
        (p.position.symbol, p.position.product): p for p in asyncio.run(broker.positions())
    }
    assert positions[(EQUITY.key, Product.CNC)].position.quantity > 0  # CNC is kept


def test_mis_square_off_in_a_muhurat_session(workspace) -> None:
    session = get_calendar("NSE").session(MUHURAT_DAY)
    assert session is not None and session.kind == "muhurat"
    assert (session.open.hour, session.close.hour) == (18, 19)
    broker = PaperBroker(workspace, config=BacktestConfig(capital=Decimal(5_000_000)))
    heard = Recorder()
    broker.set_listener(heard)
    quotes = session_quotes(EQUITY, MUHURAT_DAY, seed=22, step_seconds=1)
    run_with_orders(
        broker, quotes, {at(MUHURAT_DAY, 18, 5): [request(EQUITY, "mu1", Side.SELL, 200)]}
    )
    first_after = check_square_off(broker, heard, quotes, at(MUHURAT_DAY, 18, 50))
    assert (first_after.tick.ts.hour, first_after.tick.ts.minute) == (18, 50)
    assert broker.portfolio.total_charges > 0  # 2024 charges, by the schedule of that day


def test_an_mis_position_with_no_quote_after_the_cut_off_closes_at_the_sessions_end(
    workspace,
) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=Decimal(5_000_000)))
    first = session_quotes(EQUITY, TRADING_DAY, seed=23)
    early = [q for q in first if q.tick.ts < at(TRADING_DAY, 15, 0)]  # it stops trading at 15:00
    others = session_quotes(OTHER, TRADING_DAY, seed=24)
    plan = {at(TRADING_DAY, 11, 0): [request(EQUITY, "s1", Side.BUY, 100)]}
    run_with_orders(broker, list(merged(early, others)), plan)
    positions = {
        (p.position.symbol, p.position.product): p for p in asyncio.run(broker.positions())
    }
    assert positions[(EQUITY.key, Product.MIS)].position.quantity == 100  # the day is not over
    broker.feed(session_quotes(OTHER, TRADING_DAY + timedelta(days=3), seed=25)[0])
    closing = [f for f in asyncio.run(broker.trades()) if f.order_client_id.startswith("broker:")]
    assert sum(f.quantity for f in closing) == 100  # at the session's last quote of it
    assert all(f.side is Side.SELL and f.ts == early[-1].tick.ts for f in closing)
    assert {f.price for f in closing} <= {level.price for level in early[-1].bids}


def recorded_ticks(seed: int, base: int) -> TickSeries:
    """A day of recorded trades: irregular times, a random walk, random sizes."""
    session = get_calendar("NSE").session(TRADING_DAY)
    assert session is not None
    rng = np.random.default_rng(seed)
    start, end = ns_of(session.open), ns_of(session.close)
    gaps = rng.integers(200_000_000, 3_000_000_000, size=20_000)
    ts = start + np.cumsum(gaps)
    ts = ts[ts < end]
    price = base + np.cumsum(rng.choice([-5, 0, 5], size=len(ts)))
    quantity = rng.integers(1, 500, size=len(ts))
    return TickSeries.from_arrays(
        f"NSE:{seed}", ts.astype(np.int64), price.astype(np.int64), quantity, prices_in_paise=True
    )


def test_replayed_ticks_trade_at_any_hour_on_the_quotes_clock(workspace) -> None:
    """The wall clock plays no part: whether this runs at 23:00 or at noon, orders are
    stamped, filled, expired and squared off on the recorded ticks' exchange time."""
    config = BacktestConfig(capital=Decimal(5_000_000), slippage_bps=Decimal(2))
    broker = PaperBroker(workspace, config=config)
    heard = Recorder()
    broker.set_listener(heard)
    stream = merged(
        tick_quotes(EQUITY, recorded_ticks(31, 100_000)),
        tick_quotes(OTHER, recorded_ticks(32, 50_000)),
    )
    placed_at: dict[str, datetime] = {}

    async def strategy() -> AsyncIterator[Quote]:
        for quote in stream:
            yield quote
            ts = quote.tick.ts
            if "e1" not in placed_at and ts >= at(TRADING_DAY, 9, 30):
                placed_at["e1"] = ts
                await broker.place(request(EQUITY, "e1", Side.BUY, 40))
            if "o1" not in placed_at and ts >= at(TRADING_DAY, 12, 0) and quote.symbol == OTHER.key:
                placed_at["o1"] = ts
                await broker.place(request(OTHER, "o1", Side.SELL, 25))

    async def session() -> int:
        await broker.connect()
        await broker.subscribe([EQUITY], TickMode.LTP)
        count = await broker.replay(strategy())
        await broker.close()
        return count

    count = asyncio.run(session())
    assert count > 15_000
    assert heard.states == [
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
        ConnectionState.DISCONNECTED,
    ]
    assert heard.quotes and {q.symbol for q in heard.quotes} == {EQUITY.key}
    e1 = heard.of("e1")
    assert e1[0].updated_at == placed_at["e1"]  # the quote's time, not the wall's
    assert e1[0].order.created_at == placed_at["e1"].replace(microsecond=0)
    fills = asyncio.run(broker.trades())
    entry = next(f for f in fills if f.order_client_id == "e1")
    tape = list(tick_quotes(EQUITY, recorded_ticks(31, 100_000)))
    following = next(q for q in tape if q.tick.ts > placed_at["e1"])
    assert entry.ts == following.tick.ts  # the next tick after the order
    expected = slipped(int(following.tick.ltp * 100), Side.BUY, Decimal(2), 5)
    assert entry.price == Decimal(expected).scaleb(-2)  # the engine's slippage model
    exits = [f for f in fills if f.symbol == EQUITY.key and f.side is Side.SELL]
    assert exits and exits[0].ts >= at(TRADING_DAY, 15, 20)  # squared off at the cut-off
    assert exits[0].ts.tzinfo is not None and exits[0].ts.utcoffset() == timedelta(
        hours=5, minutes=30
    )


def test_the_order_gateway_places_and_reconciles_by_tag(workspace) -> None:
    broker = PaperBroker(workspace, config=BacktestConfig(capital=Decimal(5_000_000)))
    assert isinstance(broker, Broker) and broker.login_flow() is None
    assert (broker.name, broker.account_id) == ("Paper", "paper")
    assert broker.journal.path == workspace.root / "paper" / "paper.jsonl"
    quotes = session_quotes(EQUITY, TRADING_DAY, seed=41)
    broker.feed(quotes[0])

    async def session() -> None:
        gateway = OrderGateway(broker)
        broker_id = await gateway.place(
            request(EQUITY, "g1", Side.BUY, 10, OrderType.LIMIT, price="900.00")
        )
        found = await gateway.find_by_tag("g1")
        assert found is not None and found.broker_id == broker_id and found.ours
        assert found.order.status is OrderStatus.OPEN
        await gateway.cancel("NSE", broker_id)
        found = await gateway.find_by_tag("g1")
        assert found is not None and found.order.status is OrderStatus.CANCELLED
        with pytest.raises(OrderRejected):
            await gateway.place(request(EQUITY, "g2", Side.SELL, 10, product=Product.CNC))
        assert await gateway.find_by_tag("absent") is None

    asyncio.run(session())


def test_history_and_instruments_from_the_workspace_store(workspace) -> None:
    day = TRADING_DAY
    session = get_calendar("NSE").session(day)
    assert session is not None
    minutes = int((session.close - session.open).total_seconds() // 60)
    ts = ns_of(session.open) + np.arange(minutes, dtype=np.int64) * 60_000_000_000
    rng = np.random.default_rng(51)
    close = 100_000 + np.cumsum(rng.choice([-5, 0, 5], size=minutes)).astype(np.int64)
    open_ = np.concatenate(([100_000], close[:-1])).astype(np.int64)
    high = np.maximum(open_, close) + 10
    low = np.minimum(open_, close) - 10
    volume = rng.integers(100, 5000, size=minutes).astype(np.int64)
    series = BarSeries(EQUITY.symbol, "1m", ts, open_, high, low, close, volume)
    with MarketStore.open(workspace.database_path) as store:
        store.write_bars(series)
        broker = PaperBroker(workspace, store=store)
        listed = asyncio.run(broker.instruments())
        assert EQUITY.key in {i.key for i in listed}
        start = datetime(2026, 12, 4, 10, 0, tzinfo=IST)
        bars = asyncio.run(
            broker.history(EQUITY, Timeframe.M1, start, start + timedelta(minutes=29))
        )
        assert len(bars) == 30 and bars[0].ts == start and bars[0].symbol == EQUITY.key
        # the stored bars replayed as quotes: a paper session over imported history
        limit = Decimal(int(low.min()) + 5).scaleb(-2)  # a tick above the day's low
        asyncio.run(
            broker.place(
                request(
                    EQUITY,
                    "h1",
                    Side.BUY,
                    5,
                    OrderType.LIMIT,
                    price=str(limit),
                    product=Product.CNC,
                )
            )
        )
        asyncio.run(broker.subscribe([EQUITY], TickMode.LTP))
        day_start = datetime(2026, 12, 4, 9, 15, tzinfo=IST)
        fed = asyncio.run(broker.replay_history(day_start, day_start + timedelta(hours=7)))
        assert fed == 4 * minutes
        (fill,) = asyncio.run(broker.trades())
        assert (fill.order_client_id, fill.quantity) == ("h1", 5)
        assert fill.price <= limit  # the limit, or the bar's quote that went through it
        reached = int(np.flatnonzero(low <= int(limit * 100))[0])
        assert fill.ts.minute == ist_datetime(int(ts[reached])).minute
    nothing = PaperBroker(workspace.root / "elsewhere")
    with pytest.raises(InvalidRequest, match="import data first"):
        asyncio.run(nothing.history(EQUITY, Timeframe.M1, start, start))
