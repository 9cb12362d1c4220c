"""UpstoxBroker (the engine's Broker protocol) against the fake Upstox: login, orders through
the OrderGateway, typed errors, account, history and the feed's quotes and states."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from brokers.accounts import BrokerAccount, BrokerKind
from brokers.credentials import CredentialStore, make_account_id
from brokers.login_listener import catch_redirect, new_state
from brokers.upstox.broker import UpstoxBroker, order_status, upstox_key
from engine.broker.errors import (
    AuthError,
    BrokerDown,
    InvalidRequest,
    IpNotAllowed,
    MalformedResponse,
    NetworkError,
    OrderRejected,
    RateLimited,
    TokenExpired,
)
from engine.broker.gateway import OrderGateway, RetryPolicy
from engine.broker.models import (
    ConnectionState,
    OrderChange,
    OrderRequest,
    Quote,
    TickMode,
)
from engine.broker.protocol import Broker, LoginFlow
from engine.domain.enums import Exchange, OrderType, Product, Segment, Side, Validity
from engine.domain.instrument import Instrument
from engine.domain.orders import Order, OrderStatus
from engine.ist import IST
from engine.timeframes import Timeframe
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.memory_keyring import MemoryKeyring
from tests.fakes.upstox_server import FakeUpstox

memory_keyring = fake_keyring.memory_keyring

RELIANCE_KEY = "NSE_EQ|INE002A01018"
RELIANCE = Instrument(
    exchange=Exchange.NSE, segment=Segment.EQUITY, symbol="RELIANCE", isin="INE002A01018",
    tick_size=Decimal("0.05"),
)  # fmt: skip
NIFTY_FUT = Instrument(
    exchange=Exchange.NFO, segment=Segment.FUTURES, symbol="NIFTY26DECFUT", token=52910,
    lot_size=75, expiry=date(2026, 12, 29), freeze_quantity=1800,
)  # fmt: skip


class Listener:
    def __init__(self) -> None:
        self.quotes: asyncio.Queue[Quote] = asyncio.Queue()
        self.states: list[ConnectionState] = []

    def on_quote(self, quote: Quote) -> None:
        self.quotes.put_nowait(quote)

    def on_order_update(self, update: object) -> None:
        pass

    def on_state(self, state: ConnectionState, detail: str) -> None:
        self.states.append(state)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ACCOUNT_ID = "upstox-main"
CREDENTIAL_ID = make_account_id("upstox", ACCOUNT_ID)
REDIRECT_PORT, REDIRECT_PATH = 53682, "/upstox/callback"  # the fake's registered redirect


@pytest.fixture
def fake(memory_keyring: MemoryKeyring) -> Iterator[FakeUpstox]:
    """The fake Upstox, with the OS keychain played by an in-memory keyring backend."""
    with FakeUpstox(redirect_uri=f"http://127.0.0.1:{REDIRECT_PORT}{REDIRECT_PATH}") as f:
        f.trading_symbols[RELIANCE_KEY] = "RELIANCE"
        f.trading_symbols["NSE_FO|52910"] = "NIFTY26DECFUT"
        yield f


def make_broker(
    fake: FakeUpstox, *, logged_in: bool = False, timeout: float = 10.0, port: int = REDIRECT_PORT,
    **account: Any,
) -> UpstoxBroker:  # fmt: skip
    """The app's way: settings in a BrokerAccount, key/secret/token in the keychain."""
    store = CredentialStore()
    store.save(CREDENTIAL_ID, "api_key", fake.client_id)
    store.save(CREDENTIAL_ID, "api_secret", fake.client_secret)
    if logged_in:
        expires = datetime.now(IST) + timedelta(hours=8)
        store.save_token(CREDENTIAL_ID, fake.issue_token(), expires)
    settings = BrokerAccount(
        account_id=ACCOUNT_ID, kind=BrokerKind.UPSTOX, redirect_port=port,
        redirect_path=REDIRECT_PATH, api_root=fake.api_url, order_root=fake.order_url,
        **account,
    )  # fmt: skip
    return UpstoxBroker.from_account(
        settings, store, timeout=timeout, instruments_host=fake.api_url, silence_timeout=1.0,
        feed_backoff=0.05,
    )  # fmt: skip


def logged_in(fake: FakeUpstox, **kwargs: Any) -> UpstoxBroker:
    return make_broker(fake, logged_in=True, **kwargs)


def order(client_id: str, order_type: OrderType = OrderType.LIMIT, qty: int = 5,
          price: str | None = "2450.05", instrument: Instrument = RELIANCE,
          product: Product = Product.MIS) -> OrderRequest:  # fmt: skip
    o = Order(
        client_id=client_id, symbol=instrument.key, side=Side.BUY, order_type=order_type,
        product=product, validity=Validity.DAY, quantity=qty,
        price=Decimal(price) if price and order_type in (OrderType.LIMIT, OrderType.SL) else None,
        created_at=datetime.now(IST),
    )  # fmt: skip
    return OrderRequest(order=o, instrument=instrument)


def test_the_adapter_is_a_broker_and_its_login_flow_a_login_flow(fake):
    broker = make_broker(fake)
    assert isinstance(broker, Broker)
    flow: LoginFlow = broker.login_flow()
    assert flow.echoes_state and flow.required_params == ("code",)
    assert broker.name == "Upstox" and broker.account_id == ACCOUNT_ID


def test_login_through_the_listener_then_connect_with_the_stored_token(memory_keyring):
    port = free_port()
    with FakeUpstox(redirect_uri=f"http://127.0.0.1:{port}{REDIRECT_PATH}") as fake:
        broker = make_broker(fake, port=port)
        listener = Listener()
        broker.set_listener(listener)

        async def main() -> None:
            flow = broker.login_flow()
            state = new_state()

            def browser(url: str) -> bool:
                urllib.request.urlopen(url, timeout=5).close()
                return True

            params = await catch_redirect(
                port=port, path=REDIRECT_PATH, expected_state=state if flow.echoes_state
                else None, timeout=10, open_url=flow.url(state), open_browser=browser,
                require=flow.required_params,
            )  # fmt: skip
            session = await flow.complete(params)
            assert session.user_id == "AB1234" and session.expires_at > datetime.now(IST)
            assert session.expires_at.astimezone(IST).hour == 3
            token = CredentialStore().load_token(CREDENTIAL_ID, datetime.now(IST))
            assert token is not None and token.reveal().startswith("tok-")
            assert broker.state is ConnectionState.CONNECTED

            again = make_broker(fake, port=port)
            assert (await again.connect()).user_name == "Test Trader"
            await again.logout()
            assert CredentialStore().load_token(CREDENTIAL_ID, datetime.now(IST)) is None
            with pytest.raises(TokenExpired):
                await again.connect()

        asyncio.run(main())


def test_connect_without_a_session_asks_for_login(fake):
    broker = make_broker(fake)
    listener = Listener()
    broker.set_listener(listener)
    with pytest.raises(TokenExpired, match="no Upstox session"):
        asyncio.run(broker.connect())
    assert broker.state is ConnectionState.LOGIN_REQUIRED
    assert listener.states == [ConnectionState.LOGIN_REQUIRED]


def test_order_lifecycle_through_the_gateway(fake):
    broker = logged_in(fake, algo_name="Artha")

    async def main() -> None:
        await broker.connect()
        gateway = OrderGateway(broker)
        broker_id = await gateway.place(order("c-0001"))
        sent = fake.requests_to("/v3/order/place")[0]
        assert sent.server == "order" and sent.headers["x-algo-name"] == "Artha"
        assert sent.json()["tag"] == "c-0001" and sent.json()["product"] == "I"
        (listed,) = await broker.orders()
        assert listed.broker_id == broker_id and listed.order.client_id == "c-0001"
        assert listed.order.symbol == "NSE:RELIANCE" and listed.ours
        assert listed.order.status is OrderStatus.OPEN and listed.broker_status == "open"
        assert listed.order.price == Decimal("2450.05")

        await gateway.modify("NSE", broker_id, OrderChange(price=Decimal("2449.95")))
        assert fake.orders[broker_id]["price"] == 2449.95
        assert fake.orders[broker_id]["quantity"] == 5  # unchanged fields resent as they were

        await gateway.cancel("NSE", broker_id)
        (cancelled,) = await broker.orders()
        assert cancelled.order.status is OrderStatus.CANCELLED
        with pytest.raises(OrderRejected, match="already cancelled"):
            await broker.cancel(broker_id)

        fake.last_price[RELIANCE_KEY] = 2451.4
        market_id = await gateway.place(order("c-0002", OrderType.MARKET, qty=2))
        assert fake.requests_to("/v3/order/place")[-1].json()["market_protection"] == -1
        filled = {o.broker_id: o for o in await broker.orders()}[market_id]
        assert filled.order.status is OrderStatus.FILLED
        assert filled.order.average_price == Decimal("2451.40")
        (fill,) = await broker.trades()
        assert (fill.order_client_id, fill.symbol, fill.quantity) == ("c-0002", "NSE:RELIANCE", 2)
        assert fill.price == Decimal("2451.4")
        (position,) = await broker.positions()
        assert position.position.symbol == "NSE:RELIANCE" and position.position.quantity == 2
        assert position.position.product is Product.MIS

    asyncio.run(main())


def test_a_timed_out_place_is_found_by_tag_not_sent_twice(fake):
    broker = logged_in(fake, timeout=0.3)
    fake.delay_next("/v3/order/place", 0.5)  # Upstox takes the order but answers too late

    async def main() -> str:
        # the first look (at ~0.3 s) finds nothing yet; the second (after 1.5 s) finds it
        gateway = OrderGateway(broker, policy=RetryPolicy(reconcile_pause=1.5))
        return await gateway.place(order("c-slow"))

    broker_id = asyncio.run(main())
    assert len(fake.requests_to("/v3/order/place")) == 1
    assert fake.orders[broker_id]["tag"] == "c-slow"


def test_429_is_waited_out_by_the_gateway(fake):
    broker = logged_in(fake)
    fake.rate_limit_next("/v3/order/place")

    async def main() -> None:
        with pytest.raises(RateLimited) as caught:
            await broker.place(order("c-rl"))
        assert caught.value.retryable and caught.value.broker == "Upstox"
        fake.rate_limit_next("/v3/order/place")
        gateway = OrderGateway(broker, policy=RetryPolicy(rate_limited_pause=0.05))
        await gateway.place(order("c-rl2"))

    asyncio.run(main())
    assert len(fake.requests_to("/v3/order/place")) == 3


def test_upstox_failures_become_the_engines_typed_errors(fake):
    broker = logged_in(fake)
    listener = Listener()
    broker.set_listener(listener)

    async def main() -> None:
        await broker.connect()
        fake.fail_next("/v2/portfolio/short-term-positions", 503, "UDAPI100500", "Down")
        with pytest.raises(BrokerDown) as down:
            await broker.positions()
        assert down.value.sent and down.value.broker == "Upstox"
        fake.fail_next("/v3/order/place", 403, "UDAPI1154", "Request not allowed from this IP")
        with pytest.raises(IpNotAllowed):
            await broker.place(order("c-ip"))
        fake.malformed_next("/v2/order/retrieve-all")
        with pytest.raises(MalformedResponse):
            await broker.orders()
        with pytest.raises(InvalidRequest, match="names equities by ISIN"):
            await broker.place(order("c-x", instrument=Instrument(
                exchange=Exchange.NSE, segment=Segment.EQUITY, symbol="NOISIN")))  # fmt: skip
        fake.expire_tokens()
        with pytest.raises(TokenExpired, match="log in again") as expired:
            await broker.funds()
        assert expired.value.needs_login
        assert broker.state is ConnectionState.LOGIN_REQUIRED

    asyncio.run(main())
    assert listener.states[-1] is ConnectionState.LOGIN_REQUIRED


def test_missing_api_key_is_an_auth_error_naming_the_fix(fake):
    store = CredentialStore()
    settings = BrokerAccount(account_id=ACCOUNT_ID, kind=BrokerKind.UPSTOX)
    with pytest.raises(AuthError, match="no Upstox API key and secret stored"):
        UpstoxBroker.from_account(settings, store)


def test_account_settings_reach_the_wire(fake):
    broker = logged_in(fake, algo_name="Artha ORB", order_proxy=fake.proxy_url,
                       market_protection=Decimal("2.5"))  # fmt: skip
    fake.last_price[RELIANCE_KEY] = 2450.0
    asyncio.run(broker.place(order("c-mp", OrderType.MARKET, qty=1)))
    sent = fake.requests_to("/v3/order/place")
    assert [r.server for r in sent] == ["proxy", "order"]
    assert sent[1].headers["x-algo-name"] == "Artha ORB"
    assert sent[1].json()["market_protection"] == 2.5


def test_network_errors_say_whether_the_order_may_have_been_sent(fake):
    broker = logged_in(fake, timeout=0.2)
    fake.delay_next("/v3/order/place", 0.5)
    with pytest.raises(NetworkError) as late:
        asyncio.run(broker.place(order("c-late")))
    assert late.value.sent and not late.value.retryable


def test_account_funds_holdings_and_history(fake):
    broker = logged_in(fake)
    fake.holdings.append(
        {"isin": "INE002A01018", "product": "D", "quantity": 10, "trading_symbol": "RELIANCE",
         "tradingsymbol": "RELIANCE", "last_price": 2501.1, "close_price": 2490.35, "pnl": 1.0,
         "instrument_token": RELIANCE_KEY, "average_price": 2490.55, "t1_quantity": 2,
         "exchange": "NSE"}
    )  # fmt: skip
    days = [date(2026, 11, 30) + timedelta(days=i) for i in range(5)]
    fake.set_candles(RELIANCE_KEY, "days", 1, [
        [datetime(d.year, d.month, d.day, tzinfo=IST).isoformat(), 2400.5 + i, 2410.25 + i,
         2390.0 + i, 2405.05 + i, 1000 * (i + 1), 0]
        for i, d in enumerate(days)
    ])  # fmt: skip

    async def main() -> None:
        funds = await broker.funds()
        assert funds.available == Decimal("98749.5") and funds.used_margin == Decimal("1250.5")
        (holding,) = await broker.holdings()
        assert holding.symbol == "NSE:RELIANCE" and holding.average_price == Decimal("2490.55")
        assert holding.t1_quantity == 2
        profile = await broker.profile()
        assert Exchange.NFO in profile.exchanges
        bars = await broker.history(
            RELIANCE, Timeframe.D1, datetime(2026, 12, 1, tzinfo=IST),
            datetime(2026, 12, 3, 23, 59, tzinfo=IST),
        )  # fmt: skip
        assert [b.ts.day for b in bars] == [1, 2, 3]
        assert bars[0].open == Decimal("2401.5") and bars[0].close == Decimal("2406.05")
        assert bars[0].symbol == "NSE:RELIANCE" and bars[0].timeframe == "1d"
        assert broker.max_history_span(Timeframe.M1) == timedelta(days=30)

    asyncio.run(main())


def test_quotes_stream_to_the_listener_and_survive_a_drop(fake):
    broker = logged_in(fake)
    listener = Listener()
    broker.set_listener(listener)

    async def main() -> None:
        await broker.connect()
        await broker.subscribe([RELIANCE], TickMode.LTP)
        await broker.subscribe([NIFTY_FUT], TickMode.FULL)
        await asyncio.to_thread(fake.wait_subscribed, [RELIANCE_KEY], "ltpc")
        await asyncio.to_thread(fake.wait_subscribed, ["NSE_FO|52910"], "full")
        await asyncio.to_thread(fake.push_ltpc, RELIANCE_KEY, 2450.05, cp=2437.9)
        quote = await asyncio.wait_for(listener.quotes.get(), 3)
        assert quote.symbol == "NSE:RELIANCE" and quote.tick.ltp == Decimal("2450.05")
        assert quote.close == Decimal("2437.9") and quote.mode is TickMode.LTP
        await asyncio.to_thread(
            fake.push_full, "NSE_FO|52910", 24210.5, depth=[(24210.0, 75, 24210.5, 150)],
            vtt=900, oi=12345.0,
        )  # fmt: skip
        full = await asyncio.wait_for(listener.quotes.get(), 3)
        assert full.symbol == "NFO:NIFTY26DECFUT" and full.tick.bid == Decimal("24210.0")
        assert full.asks[0].quantity == 150 and full.tick.oi == 12345

        await asyncio.to_thread(fake.drop_connections)
        await asyncio.to_thread(fake.wait_for, lambda: len(fake.ws_connects) == 2)
        await asyncio.to_thread(fake.wait_subscribed, [RELIANCE_KEY, "NSE_FO|52910"])
        assert ConnectionState.RECONNECTING in listener.states
        for _ in range(100):
            if broker.state is ConnectionState.CONNECTED:
                break
            await asyncio.sleep(0.01)
        assert broker.state is ConnectionState.CONNECTED

        quotes = await broker.quotes([RELIANCE])
        assert quotes["NSE:RELIANCE"].tick.ltp == Decimal("2450.05")

        await broker.unsubscribe([NIFTY_FUT])
        await asyncio.to_thread(fake.wait_for, lambda: "NSE_FO|52910" not in fake.subscriptions())
        await broker.close()
        assert broker.state is ConnectionState.DISCONNECTED

    asyncio.run(main())


def test_vocabulary_mappings():
    assert upstox_key(RELIANCE) == "NSE_EQ|INE002A01018"
    assert upstox_key(NIFTY_FUT) == "NSE_FO|52910"
    nifty = Instrument(exchange=Exchange.NSE, segment=Segment.INDEX, symbol="NIFTY 50",
                       name="Nifty 50")  # fmt: skip
    assert upstox_key(nifty) == "NSE_INDEX|Nifty 50"
    assert order_status("complete", 5, 5) is OrderStatus.FILLED
    assert order_status("trigger pending", 0, 5) is OrderStatus.OPEN
    assert order_status("open", 2, 5) is OrderStatus.PARTIALLY_FILLED
    assert order_status("validation pending", 0, 5) is OrderStatus.NEW
    assert order_status("some new word", 0, 5) is OrderStatus.OPEN
    assert order_status("cancelled", 2, 5) is OrderStatus.CANCELLED


def test_feed_stopped_by_an_expired_token_resumes_after_logging_in_again(fake):
    broker = logged_in(fake)
    listener = Listener()
    broker.set_listener(listener)

    async def main() -> None:
        await broker.subscribe([RELIANCE], TickMode.LTP)
        await asyncio.to_thread(fake.wait_subscribed, [RELIANCE_KEY])
        fake.expire_tokens()
        await asyncio.to_thread(fake.drop_connections)
        for _ in range(300):
            if broker.state is ConnectionState.LOGIN_REQUIRED:
                break
            await asyncio.sleep(0.01)
        assert broker.state is ConnectionState.LOGIN_REQUIRED
        assert fake.connection_count == 0

        await broker.complete_login(fake.issue_code())
        await asyncio.to_thread(fake.wait_subscribed, [RELIANCE_KEY])
        await asyncio.to_thread(fake.push_ltpc, RELIANCE_KEY, 2452.5)
        quote = await asyncio.wait_for(listener.quotes.get(), 3)
        assert quote.tick.ltp == Decimal("2452.5")
        await broker.close()

    asyncio.run(main())


def test_instruments_come_from_upstoxs_daily_files_and_carry_their_keys(fake):
    fake.instrument_files["NSE"] = [
        {"segment": "NSE_EQ", "name": "RELIANCE INDUSTRIES LTD", "exchange": "NSE",
         "isin": "INE002A01018", "instrument_type": "EQ", "instrument_key": RELIANCE_KEY,
         "lot_size": 1, "freeze_quantity": 100000.0, "exchange_token": "2885",
         "tick_size": 10.0, "trading_symbol": "RELIANCE", "short_name": "Reliance"},
        {"segment": "NSE_INDEX", "name": "Nifty 50", "exchange": "NSE",
         "instrument_type": "INDEX", "instrument_key": "NSE_INDEX|Nifty 50",
         "exchange_token": "Nifty 50", "trading_symbol": "NIFTY", "tick_size": 5.0},
        {"segment": "NSE_FO", "name": "NIFTY", "exchange": "NSE", "expiry": 1798540200000,
         "instrument_type": "FUT", "instrument_key": "NSE_FO|52910", "lot_size": 75,
         "freeze_quantity": 1800.0, "exchange_token": "52910", "tick_size": 10.0,
         "trading_symbol": "NIFTY FUT 29 DEC 26"},
        {"segment": "NSE_FO", "name": "NIFTY", "exchange": "NSE", "expiry": 1798540200000,
         "instrument_type": "CE", "instrument_key": "NSE_FO|61234", "lot_size": 75,
         "freeze_quantity": 1800.0, "exchange_token": "61234", "tick_size": 5.0,
         "trading_symbol": "NIFTY 24500 CE 29 DEC 26", "strike_price": 24500.0},
        {"segment": "NCD_FO", "instrument_type": "FUT", "instrument_key": "NCD_FO|1",
         "trading_symbol": "USDINR"},
    ]  # fmt: skip
    broker = logged_in(fake)

    async def main() -> None:
        everything = {i.key: i for i in await broker.instruments(Exchange.NSE)}
        assert set(everything) == {"NSE:RELIANCE", "NSE:NIFTY"}
        reliance = everything["NSE:RELIANCE"]
        assert reliance.tick_size == Decimal("0.1") and reliance.isin == "INE002A01018"
        assert reliance.freeze_quantity == 100000 and reliance.token == 2885
        derivatives = {i.key: i for i in await broker.instruments(Exchange.NFO)}
        fut = derivatives["NFO:NIFTY FUT 29 DEC 26"]
        assert fut.segment is Segment.FUTURES and fut.expiry == date(2026, 12, 29)
        assert fut.lot_size == 75 and fut.freeze_quantity == 1800
        option = derivatives["NFO:NIFTY 24500 CE 29 DEC 26"]
        assert option.strike == Decimal("24500") and option.tick_size == Decimal("0.05")
        # the index streams under Upstox's own key, learnt from the file
        await broker.subscribe([everything["NSE:NIFTY"]], TickMode.LTP)
        await asyncio.to_thread(fake.wait_subscribed, ["NSE_INDEX|Nifty 50"])
        await broker.close()

    asyncio.run(main())


def test_modifying_into_sl_m_carries_market_protection_and_no_price(fake):
    broker = logged_in(fake)

    async def main() -> None:
        stop = Order(
            client_id="c-sl", symbol=RELIANCE.key, side=Side.SELL, order_type=OrderType.SL,
            product=Product.MIS, validity=Validity.DAY, quantity=3, price=Decimal("2399.5"),
            trigger_price=Decimal("2400"), created_at=datetime.now(IST),
        )  # fmt: skip
        broker_id = await broker.place(OrderRequest(order=stop, instrument=RELIANCE))
        assert fake.requests_to("/v3/order/place")[0].json()["trigger_price"] == 2400
        change = OrderChange(order_type=OrderType.SL_M, trigger_price=Decimal("2395.05"))
        await broker.modify(broker_id, change)
        body = fake.requests_to("/v3/order/modify")[0].json()
        assert body["order_type"] == "SL-M" and body["market_protection"] == -1
        assert body["price"] == 0 and body["trigger_price"] == 2395.05
        assert body["quantity"] == 3 and body["validity"] == "DAY"

    asyncio.run(main())
