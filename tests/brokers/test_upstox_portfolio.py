"""Order updates from Upstox's portfolio stream: our UpstoxBroker and UpstoxPortfolioStream
against the fake Upstox (REST + a real websocket on 127.0.0.1), every update handed to the
listener's `on_order_update` on the loop as the engine's BrokerOrder."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from brokers.accounts import BrokerAccount, BrokerKind
from brokers.credentials import CredentialStore, make_account_id
from brokers.upstox.broker import UpstoxBroker
from brokers.upstox.models import OrderInfo
from brokers.upstox.portfolio import UpstoxPortfolioStream
from brokers.upstox.rest import UpstoxConfig, UpstoxRest
from engine.broker.gateway import OrderGateway
from engine.broker.models import BrokerOrder, ConnectionState, OrderRequest, Quote
from engine.domain.enums import Exchange, OrderType, Product, Segment, Side, Validity
from engine.domain.instrument import Instrument
from engine.domain.orders import Order, OrderStatus
from engine.ist import IST
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.memory_keyring import MemoryKeyring
from tests.fakes.upstox_server import FakeUpstox

memory_keyring = fake_keyring.memory_keyring

RELIANCE_KEY = "NSE_EQ|INE002A01018"
RELIANCE = Instrument(
    exchange=Exchange.NSE, segment=Segment.EQUITY, symbol="RELIANCE", isin="INE002A01018",
    tick_size=Decimal("0.05"),
)  # fmt: skip
ACCOUNT_ID = "upstox-main"
CREDENTIAL_ID = make_account_id("upstox", ACCOUNT_ID)
REDIRECT_PORT, REDIRECT_PATH = 53682, "/upstox/callback"
AUTHORIZE = "/v2/feed/portfolio-stream-feed/authorize"
BACKOFF = 0.05


class Listener:
    """Collects order updates and states; records the thread each update arrived on."""

    def __init__(self) -> None:
        self.updates: asyncio.Queue[BrokerOrder] = asyncio.Queue()
        self.states: list[tuple[ConnectionState, str]] = []
        self.threads: set[int] = set()

    def on_quote(self, quote: Quote) -> None:
        pass

    def on_order_update(self, update: BrokerOrder) -> None:
        self.threads.add(threading.get_ident())
        self.updates.put_nowait(update)

    def on_state(self, state: ConnectionState, detail: str) -> None:
        self.states.append((state, detail))

    async def next(
        self, match: Callable[[BrokerOrder], bool] = lambda _: True, timeout: float = 5.0
    ) -> BrokerOrder:
        """The next update that matches (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching order update within the timeout")
            update = await asyncio.wait_for(self.updates.get(), left)
            if match(update):
                return update


@pytest.fixture
def fake(memory_keyring: MemoryKeyring) -> Iterator[FakeUpstox]:
    with FakeUpstox(redirect_uri=f"http://127.0.0.1:{REDIRECT_PORT}{REDIRECT_PATH}") as f:
        f.trading_symbols[RELIANCE_KEY] = "RELIANCE"
        yield f


def make_broker(fake: FakeUpstox, *, order_stream: bool = True) -> UpstoxBroker:
    store = CredentialStore()
    store.save(CREDENTIAL_ID, "api_key", fake.client_id)
    store.save(CREDENTIAL_ID, "api_secret", fake.client_secret)
    store.save_token(CREDENTIAL_ID, fake.issue_token(), datetime.now(IST) + timedelta(hours=8))
    settings = BrokerAccount(
        account_id=ACCOUNT_ID, kind=BrokerKind.UPSTOX, redirect_port=REDIRECT_PORT,
        redirect_path=REDIRECT_PATH, api_root=fake.api_url, order_root=fake.order_url,
    )  # fmt: skip
    return UpstoxBroker.from_account(
        settings, store, timeout=5, instruments_host=fake.api_url, feed_backoff=BACKOFF,
        order_stream=order_stream,
    )  # fmt: skip


def request(client_id: str, price: str = "2450.05", qty: int = 5) -> OrderRequest:
    o = Order(
        client_id=client_id, symbol=RELIANCE.key, side=Side.BUY, order_type=OrderType.LIMIT,
        product=Product.MIS, validity=Validity.DAY, quantity=qty, price=Decimal(price),
        created_at=datetime.now(IST),
    )  # fmt: skip
    return OrderRequest(order=o, instrument=RELIANCE)


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Blocking fake controls run off the loop, so our client keeps running meanwhile."""
    return await asyncio.to_thread(fn, *args)


async def connected(broker: UpstoxBroker, listener: Listener) -> UpstoxBroker:
    broker.set_listener(listener)
    await broker.connect()
    stream = broker.order_stream
    assert stream is not None
    await stream.wait_connected(5)
    return broker


def test_place_fill_cancel_and_reject_arrive_as_order_updates_on_the_loop(fake):
    async def main() -> None:
        listener = Listener()
        broker = await connected(make_broker(fake), listener)
        loop_thread = threading.get_ident()
        try:
            gateway = OrderGateway(broker)
            first = await gateway.place(request("c-0001"))
            opened = await listener.next(lambda u: u.broker_id == first)
            assert opened.order.status is OrderStatus.OPEN and opened.broker_status == "open"
            assert opened.order.client_id == "c-0001" and opened.ours
            assert opened.order.symbol == "NSE:RELIANCE" and opened.order.quantity == 5
            assert opened.order.price == Decimal("2450.05")
            assert opened.exchange_order_id == fake.orders[first]["exchange_order_id"]

            await in_thread(fake.fill_order, first, 2450.05)
            filled = await listener.next(lambda u: u.broker_id == first)
            assert filled.order.status is OrderStatus.FILLED
            assert filled.order.filled_quantity == 5
            assert filled.order.average_price == Decimal("2450.05")  # exact, not a float

            second = await gateway.place(request("c-0002", "2440.10"))
            await listener.next(lambda u: u.broker_id == second)
            await gateway.cancel("NSE", second)
            cancelled = await listener.next(lambda u: u.broker_id == second)
            assert cancelled.order.status is OrderStatus.CANCELLED
            assert cancelled.order.client_id == "c-0002"

            third = await gateway.place(request("c-0003", "2430.00"))
            await listener.next(lambda u: u.broker_id == third)
            await in_thread(fake.reject_order, third, "RMS: margin exceeds")
            rejected = await listener.next(lambda u: u.broker_id == third)
            assert rejected.order.status is OrderStatus.REJECTED
            assert "margin exceeds" in rejected.order.status_message
            assert listener.threads == {loop_thread}
        finally:
            await broker.close()
        assert broker.order_stream is None

    asyncio.run(main())


def test_the_intermediate_statuses_of_a_new_order_are_new_then_open(fake):
    fake.portfolio_pre_statuses = ("put order req received", "validation pending", "open pending")

    async def main() -> None:
        listener = Listener()
        broker = await connected(make_broker(fake), listener)
        try:
            placed = await broker.place(request("c-0010"))
            seen = [await listener.next(lambda u: u.broker_id == placed) for _ in range(4)]
            assert [u.broker_status for u in seen] == [
                "put order req received", "validation pending", "open pending", "open",
            ]  # fmt: skip
            assert [u.order.status for u in seen] == [OrderStatus.NEW] * 3 + [OrderStatus.OPEN]
        finally:
            await broker.close()

    asyncio.run(main())


def test_an_order_placed_elsewhere_is_reported_as_not_ours(fake):
    async def main() -> None:
        listener = Listener()
        broker = await connected(make_broker(fake), listener)
        try:
            elsewhere = await in_thread(fake.place_elsewhere, RELIANCE_KEY, 3, 2401.5)
            update = await listener.next()
            assert update.broker_id == elsewhere and not update.ours
            assert update.order.tag == "" and update.order.quantity == 3
            assert update.order.product is Product.CNC and update.order.price == Decimal("2401.5")
            listed = {o.broker_id: o for o in await broker.orders()}[elsewhere]
            assert listed.order.client_id == update.order.client_id  # same id either way
        finally:
            await broker.close()

    asyncio.run(main())


def test_a_dropped_stream_reconnects_with_a_fresh_authorization(fake):
    async def main() -> None:
        listener = Listener()
        broker = await connected(make_broker(fake), listener)
        stream = broker.order_stream
        assert stream is not None
        try:
            assert len(fake.requests_to(AUTHORIZE)) == 1
            # the fake registers a connection a moment after our side sees it open
            await in_thread(fake.wait_for, lambda: fake.portfolio_connection_count == 1)
            gaps = []
            for round_ in range(3):
                before = len(fake.portfolio_connects)
                dropped_at = time.monotonic()
                assert await in_thread(fake.drop_portfolio_connections) == 1
                back_at = await in_thread(
                    fake.wait_for, lambda n=before: len(fake.portfolio_connects) > n
                )
                gaps.append(back_at - dropped_at)
                await stream.wait_connected(5)
                placed = await broker.place(request(f"c-01{round_}"))
                update = await listener.next(lambda u, p=placed: u.broker_id == p)
                assert update.order.status is OrderStatus.OPEN
            # a healthy connection resets the backoff: every reconnect takes about one step
            assert min(gaps) >= BACKOFF * 0.8 and max(gaps) < 1.0, gaps
            print(f"portfolio stream reconnect after a drop: {[round(g, 3) for g in gaps]} s")
            assert len(fake.requests_to(AUTHORIZE)) == 4  # one fresh one-time URL per connect
            assert stream.connects == 4
            assert (ConnectionState.RECONNECTING, f"order updates reconnecting in {BACKOFF:.2f} s"
                    ) in listener.states  # fmt: skip
            assert broker.state is ConnectionState.CONNECTED
        finally:
            await broker.close()

    asyncio.run(main())


def test_token_expiry_stops_the_stream_and_a_fresh_login_restarts_it(fake):
    async def main() -> None:
        listener = Listener()
        broker = await connected(make_broker(fake), listener)
        stream = broker.order_stream
        assert stream is not None
        try:
            await in_thread(fake.expire_tokens)
            await in_thread(fake.drop_portfolio_connections)
            await in_thread(fake.wait_for, lambda: stream.state == "failed")
            assert broker.state is ConnectionState.LOGIN_REQUIRED
            tries = len(fake.requests_to(AUTHORIZE))
            await asyncio.sleep(20 * BACKOFF)  # long enough for several retries, were there any
            assert len(fake.requests_to(AUTHORIZE)) == tries == 2
            assert fake.portfolio_connection_count == 0 and not stream.running

            session = await broker.complete_login(fake.issue_code())
            assert session.user_id == "AB1234"
            await stream.wait_connected(5)
            assert broker.order_stream is stream and stream.connects == 2
            placed = await broker.place(request("c-0200"))
            update = await listener.next(lambda u: u.broker_id == placed)
            assert update.order.client_id == "c-0200"
            assert broker.state is ConnectionState.CONNECTED
        finally:
            await broker.close()

    asyncio.run(main())


def test_unreadable_and_foreign_messages_are_skipped_and_the_stream_carries_on(fake, caplog):
    async def main() -> None:
        listener = Listener()
        broker = await connected(make_broker(fake), listener)
        stream = broker.order_stream
        assert stream is not None
        try:
            # the client's handshake can end before the server has the connection listed:
            # pushed then, the messages would go to nobody (seen once in CI)
            await in_thread(fake.wait_for, lambda: fake.portfolio_connection_count == 1)
            await in_thread(fake.push_portfolio_raw, "not json {")
            await in_thread(fake.push_portfolio_raw, json.dumps({"update_type": "position"}))
            await in_thread(fake.push_portfolio_raw, json.dumps({"update_type": "order"}))
            await in_thread(fake.push_portfolio_raw, b"\xff\xfe")
            placed = await broker.place(request("c-0300"))
            update = await listener.next()  # nothing before it reached the listener
            assert update.broker_id == placed
            assert stream.bad_messages == 3 and stream.connects == 1
        finally:
            await broker.close()

    asyncio.run(main())
    assert "order_id" in caplog.text  # the skipped update is named


def test_switched_off_there_is_no_stream_and_orders_are_polled(fake):
    async def main() -> None:
        listener = Listener()
        broker = make_broker(fake, order_stream=False)
        broker.set_listener(listener)
        await broker.connect()
        try:
            placed = await broker.place(request("c-0400"))
            assert broker.order_stream is None and not fake.requests_to(AUTHORIZE)
            assert [o.broker_id for o in await broker.orders()] == [placed]
            assert listener.updates.empty()
        finally:
            await broker.close()

    asyncio.run(main())


def test_the_stream_on_its_own_reads_a_list_of_updates_with_exact_prices(fake):
    """UpstoxPortfolioStream without the broker: the authorize call asks for order updates
    only, and a JSON list is read as several messages."""

    async def main() -> None:
        rest = UpstoxRest(UpstoxConfig(api_host=fake.api_url), access_token=fake.issue_token())
        got: asyncio.Queue[OrderInfo] = asyncio.Queue()
        stream = UpstoxPortfolioStream(rest.portfolio_authorize, got.put_nowait)
        await stream.start()
        try:
            await stream.wait_connected(5)
            # the client is connected once its handshake returns; the fake may register the
            # connection a moment later, and a push before that reaches nobody
            await in_thread(fake.wait_for, lambda: fake.portfolio_connection_count == 1)
            (asked,) = fake.requests_to(AUTHORIZE)
            assert asked.query["update_types"] == ["order"]
            row = {
                "update_type": "order",
                "order_id": "X1",
                "instrument_token": RELIANCE_KEY,
                "transaction_type": "SELL",
                "order_type": "LIMIT",
                "quantity": 2,
                "status": "complete",
                "filled_quantity": 2,
                "average_price": 2450.05,
                "price": 2450.05,
                "exchange": "NSE",
                "product": "I",
                "tag": "c-9",
            }
            second = {**row, "order_id": "X2", "average_price": 0.1 + 0.2}  # fmt: skip
            await in_thread(fake.push_portfolio_raw, "[" + json.dumps(row) + ","
                            + json.dumps(second) + "]")  # fmt: skip
            first, then = await asyncio.wait_for(got.get(), 5), await asyncio.wait_for(got.get(), 5)
            assert (first.order_id, first.average_price) == ("X1", Decimal("2450.05"))
            assert then.average_price == Decimal("0.30000000000000004")  # the text, as sent
        finally:
            await stream.close()
        assert stream.state == "stopped"

    asyncio.run(main())
