"""The paper broker's matching: depth walked level by level, limits resting and filling
partially, stops triggering on the last price, IOC and market protection, and the engine's
slippage model when a quote shows no depth."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from brokers.paper import PaperBroker
from brokers.paper.matching import protection_price
from engine.backtest.config import BacktestConfig
from engine.broker.errors import InvalidRequest, OrderRejected
from engine.broker.models import OrderChange
from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.orders import OrderStatus
from engine.execution.prices import slipped
from tests.brokers.paper_market import (
    EQUITY,
    TRADING_DAY,
    Recorder,
    at,
    quote,
    request,
    session_quotes,
)

BOOK = [("1000.05", 100), ("1000.10", 200), ("1000.15", 300), ("1000.20", 400), ("1000.25", 500)]
BIDS = [("999.95", 150), ("999.90", 250), ("999.85", 350), ("999.80", 450), ("999.75", 550)]


def make(workspace, **config) -> tuple[PaperBroker, Recorder]:
    broker = PaperBroker(workspace, config=BacktestConfig(costs="none", **config))
    recorder = Recorder()
    broker.set_listener(recorder)
    return broker, recorder


def test_a_market_buy_walks_the_asks_level_by_level(workspace) -> None:
    broker, heard = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK, bids=BIDS))
    broker_id = asyncio.run(broker.place(request(EQUITY, "m1", Side.BUY, 350)))
    assert asyncio.run(broker.trades()) == []  # it works from the next quote, as on the tape
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0, 1), "1000.00", asks=BOOK, bids=BIDS))
    fills = asyncio.run(broker.trades())
    assert [(f.quantity, f.price) for f in fills] == [
        (100, Decimal("1000.05")),
        (200, Decimal("1000.10")),
        (50, Decimal("1000.15")),
    ]
    assert all(f.broker_order_id == broker_id and f.order_client_id == "m1" for f in fills)
    statuses = [u.order.status for u in heard.of("m1")]
    assert statuses == [
        OrderStatus.OPEN,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    final = heard.of("m1")[-1]
    assert final.broker_status == "COMPLETE"
    assert final.order.average_price == Decimal("1000.0929")  # 350,032.50 / 350, to 0.0001
    assert final.updated_at == at(TRADING_DAY, 10, 0, 1)  # the quote's time, not the wall's


def test_market_protection_cancels_what_the_band_cannot_fill(workspace) -> None:
    broker, heard = make(workspace)
    wide = [("1000.05", 100), ("1020.00", 100), ("1040.00", 100)]
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=wide))
    asyncio.run(broker.place(request(EQUITY, "m2", Side.BUY, 300)))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0, 1), "1000.00", asks=wide))
    # automatic protection: 3% over the last price, 1030.00 on the tick: two levels only
    assert protection_price(100_000, True, None, 5) == 103_000
    assert [(f.quantity, f.price) for f in asyncio.run(broker.trades())] == [
        (100, Decimal("1000.05")),
        (100, Decimal("1020.00")),
    ]
    last = heard.of("m2")[-1]
    assert last.order.status is OrderStatus.CANCELLED
    assert last.order.filled_quantity == 200
    assert "market protection" in last.order.status_message


def test_a_limit_rests_then_fills_partially_against_small_displayed_quantity(workspace) -> None:
    broker, heard = make(workspace)
    day = session_quotes(EQUITY, TRADING_DAY, seed=7)
    broker.feed(day[0])
    limit = day[0].tick.ltp - Decimal("2.00")
    asyncio.run(
        broker.place(request(EQUITY, "l1", Side.BUY, 1500, OrderType.LIMIT, price=str(limit)))
    )
    crossing = None
    for q in day[1:]:
        broker.feed(q)
        if crossing is None and asyncio.run(broker.trades()):
            crossing = q
        if heard.of("l1")[-1].order.status is OrderStatus.FILLED:
            break
    assert crossing is not None, "the walk never came down to the limit"
    fills = asyncio.run(broker.trades())
    first = [f for f in fills if f.ts == crossing.tick.ts]
    # the first quote that reached it: only what it showed at or under the limit traded,
    # each at its own level's price, or at the limit where the last trade went through it
    shown = {level.price: level.quantity for level in crossing.asks if level.price <= limit}
    for fill in first:
        assert fill.price <= limit
        if fill.price in shown:
            assert fill.quantity <= shown[fill.price]
    assert sum(f.quantity for f in first) < 1500  # partial: the displayed depth was small
    statuses = [u.order.status for u in heard.of("l1")]
    assert OrderStatus.PARTIALLY_FILLED in statuses
    assert sum(f.quantity for f in fills) <= 1500
    assert all(f.price <= limit for f in fills)


def test_sl_m_triggers_on_the_last_price_and_sells_into_the_bids(workspace) -> None:
    broker, heard = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK, bids=BIDS))
    asyncio.run(broker.place(request(EQUITY, "b1", Side.BUY, 200)))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0, 1), "1000.00", asks=BOOK, bids=BIDS))
    asyncio.run(
        broker.place(request(EQUITY, "s1", Side.SELL, 200, OrderType.SL_M, trigger="995.00"))
    )
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 1), "995.05", bids=[("995.00", 500)]))
    assert heard.of("s1")[-1].broker_status == "TRIGGER PENDING"
    falling = [("994.90", 120), ("994.85", 500)]
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 2), "994.95", bids=falling))
    sold = [f for f in asyncio.run(broker.trades()) if f.order_client_id == "s1"]
    assert [(f.quantity, f.price) for f in sold] == [
        (120, Decimal("994.90")),
        (80, Decimal("994.85")),
    ]
    assert heard.of("s1")[-1].order.status is OrderStatus.FILLED


def test_a_stop_limit_rests_as_a_limit_once_triggered(workspace) -> None:
    broker, heard = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK))
    order = request(EQUITY, "sl1", Side.BUY, 100, OrderType.SL, price="1005.00", trigger="1004.00")
    asyncio.run(broker.place(order))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 1), "1004.00", asks=[("1006.00", 500)]))
    assert heard.of("sl1")[-1].broker_status == "OPEN"  # triggered, its limit not reached
    assert asyncio.run(broker.trades()) == []
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 2), "1004.50", asks=[("1004.95", 60)]))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 3), "1004.50", asks=[("1005.00", 60)]))
    fills = [(f.quantity, f.price) for f in asyncio.run(broker.trades())]
    assert fills == [(60, Decimal("1004.95")), (40, Decimal("1005.00"))]


def test_ioc_cancels_the_unfilled_rest(workspace) -> None:
    broker, heard = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK))
    ioc = request(
        EQUITY, "i1", Side.BUY, 500, OrderType.LIMIT, price="1000.10", validity=Validity.IOC
    )
    asyncio.run(broker.place(ioc))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0, 1), "1000.00", asks=BOOK))
    assert [(f.quantity, f.price) for f in asyncio.run(broker.trades())] == [
        (100, Decimal("1000.05")),
        (200, Decimal("1000.10")),
    ]
    last = heard.of("i1")[-1].order
    assert (last.status, last.filled_quantity) == (OrderStatus.CANCELLED, 300)
    assert "IOC" in last.status_message


def test_without_depth_the_engine_slippage_model_prices_the_fill(workspace) -> None:
    broker, _ = make(workspace, slippage_bps=Decimal(5))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00"))
    asyncio.run(broker.place(request(EQUITY, "x1", Side.BUY, 10)))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0, 1), "1001.00"))
    (fill,) = asyncio.run(broker.trades())
    assert fill.quantity == 10
    assert fill.price == Decimal(slipped(100_100, Side.BUY, Decimal(5), 5)).scaleb(-2)
    assert fill.price == Decimal("1001.55")  # 1001.00 + 5 bps, up to the tick


def test_a_limit_traded_through_fills_up_to_the_traded_quantity(workspace) -> None:
    broker, _ = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK, volume=1000))
    limit = request(EQUITY, "t1", Side.BUY, 500, OrderType.LIMIT, price="999.00")
    asyncio.run(broker.place(limit))
    # the asks stay above the limit, but a trade printed below it: the resting bid at
    # 999.00 was ahead of that trade, for the 120 shares traded since the last quote
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 1), "998.95", asks=BOOK, volume=1120))
    assert [(f.quantity, f.price) for f in asyncio.run(broker.trades())] == [
        (120, Decimal("999.00"))
    ]
    # a trade AT the limit fills nothing: our place in its queue is unknown
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 2), "999.00", asks=BOOK, volume=1500))
    assert len(asyncio.run(broker.trades())) == 1


def test_orders_share_the_displayed_depth_in_time_priority(workspace) -> None:
    broker, _ = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK))
    asyncio.run(broker.place(request(EQUITY, "p1", Side.BUY, 250)))
    asyncio.run(broker.place(request(EQUITY, "p2", Side.BUY, 100)))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0, 1), "1000.00", asks=BOOK))
    by_order = [(f.order_client_id, f.quantity, f.price) for f in asyncio.run(broker.trades())]
    assert by_order == [
        ("p1", 100, Decimal("1000.05")),
        ("p1", 150, Decimal("1000.10")),
        ("p2", 50, Decimal("1000.10")),
        ("p2", 50, Decimal("1000.15")),
    ]


def test_modify_and_cancel_like_a_broker(workspace) -> None:
    broker, heard = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK))
    order = request(EQUITY, "c1", Side.BUY, 100, OrderType.LIMIT, price="990.00")
    broker_id = asyncio.run(broker.place(order))
    asyncio.run(broker.modify(broker_id, OrderChange(price=Decimal("1000.05"), quantity=150)))
    changed = heard.of("c1")[-1].order
    assert (changed.price, changed.quantity) == (Decimal("1000.05"), 150)
    with pytest.raises(InvalidRequest, match="tick"):
        asyncio.run(broker.modify(broker_id, OrderChange(price=Decimal("1000.07"))))
    with pytest.raises(InvalidRequest, match="no trigger"):
        asyncio.run(broker.modify(broker_id, OrderChange(trigger_price=Decimal("999.00"))))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 1), "1000.00", asks=BOOK))
    assert heard.of("c1")[-1].order.filled_quantity == 100  # the 1000.05 level's 100
    asyncio.run(broker.cancel(broker_id))
    assert heard.of("c1")[-1].order.status is OrderStatus.CANCELLED
    with pytest.raises(InvalidRequest, match="CANCELLED"):
        asyncio.run(broker.cancel(broker_id))
    with pytest.raises(InvalidRequest, match="no paper order"):
        asyncio.run(broker.cancel("PAPER9999999"))


def test_refusals_a_trader_would_get_from_a_broker(workspace) -> None:
    broker, heard = make(workspace)
    broker.feed(quote(EQUITY, at(TRADING_DAY, 10, 0), "1000.00", asks=BOOK, bids=BIDS))
    with pytest.raises(OrderRejected, match="intraday only"):  # CNC sell without holdings
        asyncio.run(broker.place(request(EQUITY, "r1", Side.SELL, 10, product=Product.CNC)))
    assert heard.of("r1")[-1].order.status is OrderStatus.REJECTED
    orders = {o.order.client_id: o for o in asyncio.run(broker.orders())}
    assert orders["r1"].order.status is OrderStatus.REJECTED
    capital = 10_000_000 // 1000  # rupees of capital: 10,000 shares at 1000
    with pytest.raises(OrderRejected, match="insufficient funds"):
        asyncio.run(broker.place(request(EQUITY, "r2", Side.BUY, capital + 1, product=Product.CNC)))
    with pytest.raises(InvalidRequest, match="NRML"):
        asyncio.run(broker.place(request(EQUITY, "r3", Side.BUY, 1, product=Product.NRML)))
    asyncio.run(broker.place(request(EQUITY, "r4", Side.BUY, 1)))
    with pytest.raises(InvalidRequest, match="exists already"):
        asyncio.run(broker.place(request(EQUITY, "r4", Side.BUY, 1)))


def test_a_market_order_before_any_quote_is_refused(workspace) -> None:
    broker, _ = make(workspace)
    with pytest.raises(OrderRejected, match="no quote"):
        asyncio.run(broker.place(request(EQUITY, "n1", Side.BUY, 1)))


def test_day_orders_expire_at_the_session_close(workspace) -> None:
    broker, heard = make(workspace, squareoff_lead=timedelta(minutes=10))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 15, 0), "1000.00", asks=BOOK))
    order = request(
        EQUITY, "d1", Side.BUY, 10, OrderType.LIMIT, price="900.00", product=Product.CNC
    )
    asyncio.run(broker.place(order))
    broker.feed(quote(EQUITY, at(TRADING_DAY, 15, 29, 58), "1000.00", asks=BOOK))
    assert heard.of("d1")[-1].order.status is OrderStatus.OPEN
    broker.feed(quote(EQUITY, at(TRADING_DAY + timedelta(days=3), 9, 15), "1000.00", asks=BOOK))
    last = heard.of("d1")[-1].order
    assert last.status is OrderStatus.CANCELLED and "session closed" in last.status_message
