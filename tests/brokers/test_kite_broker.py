"""KiteBroker's REST side: the REAL kiteconnect client against the fake Kite on 127.0.0.1.

Sessions, account reads, instruments, history, quotes, GTTs and subscriptions, plus the
conversions of Kite's own sample answers (shared/fixtures/kite). Orders through the gateway
are in test_kite_gateway.py, the browser login in test_kite_login.py; both import the
helpers below.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
from collections.abc import Coroutine, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from brokers.accounts import BrokerAccount, BrokerKind
from brokers.credentials import CredentialStore, make_account_id
from brokers.zerodha import GttLeg, KiteBroker, convert
from engine.broker.errors import (
    BrokerDown,
    InvalidRequest,
    MalformedResponse,
    NetworkError,
    PermissionDenied,
    TokenExpired,
)
from engine.broker.history import plan_chunks
from engine.broker.models import (
    BrokerOrder,
    ConnectionState,
    OrderRequest,
    Quote,
    TickMode,
)
from engine.broker.protocol import Broker
from engine.domain import Exchange, Instrument, Order, OrderType, Product, Segment, Side, Validity
from engine.domain.enums import OptionType
from engine.domain.orders import OrderStatus
from engine.ist import IST
from engine.timeframes import Timeframe
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_http import historical_candles
from tests.fakes.kite_server import FakeKite
from tests.fakes.kite_state import FIXTURES
from tests.fakes.memory_keyring import MemoryKeyring

fake_kite = kite_server.fake_kite  # fixtures, assigned (not imported) for ruff's F811
memory_keyring = fake_keyring.memory_keyring

T = TypeVar("T")
ACCOUNT_ID = "zerodha-main"
CREDENTIAL_ID = make_account_id("zerodha", ACCOUNT_ID)
INFY = Instrument(
    Exchange.NSE, Segment.EQUITY, "INFY", token=408065, tick_size=Decimal("0.05"), name="INFOSYS"
)
SBIN = Instrument(Exchange.NSE, Segment.EQUITY, "SBIN", token=779521, tick_size=Decimal("0.05"))


# -- helpers shared with test_kite_gateway.py and test_kite_login.py ----------------------------


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Recorder:
    """A BrokerListener that keeps what it is told."""

    def __init__(self) -> None:
        self.states: list[tuple[ConnectionState, str]] = []
        self.quotes: list[Quote] = []
        self.updates: list[BrokerOrder] = []

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def on_order_update(self, update: BrokerOrder) -> None:
        self.updates.append(update)

    def on_state(self, state: ConnectionState, detail: str) -> None:
        self.states.append((state, detail))

    @property
    def state_names(self) -> list[ConnectionState]:
        return [state for state, _ in self.states]


def make_broker(
    fake: FakeKite,
    *,
    logged_in: bool = True,
    timeout: float = 3.0,
    account: dict[str, Any] | None = None,
    **kwargs: Any,
) -> KiteBroker:
    """A KiteBroker on the fake: API key and secret in the (memory) keychain, and a valid
    session token unless `logged_in` is False."""
    store = CredentialStore()
    store.save(CREDENTIAL_ID, "api_key", fake.api_key)
    store.save(CREDENTIAL_ID, "api_secret", fake.api_secret)
    if logged_in:
        store.save_token(
            CREDENTIAL_ID, fake.new_access_token(), datetime.now(UTC) + timedelta(hours=8)
        )
    settings = BrokerAccount(
        account_id=ACCOUNT_ID, kind=BrokerKind.ZERODHA, api_root=fake.root, **(account or {})
    )
    return KiteBroker(settings, store, timeout=timeout, **kwargs)


def make_order(
    client_id: str,
    *,
    order_type: OrderType = OrderType.LIMIT,
    side: Side = Side.BUY,
    quantity: int = 1,
    price: str | None = "1500.05",
    trigger: str | None = None,
    product: Product = Product.MIS,
    instrument: Instrument = INFY,
) -> OrderRequest:
    needs_price = order_type in (OrderType.LIMIT, OrderType.SL)
    return OrderRequest(
        order=Order(
            client_id=client_id,
            symbol=instrument.key,
            side=side,
            order_type=order_type,
            product=product,
            validity=Validity.DAY,
            quantity=quantity,
            price=Decimal(price) if needs_price and price else None,
            trigger_price=Decimal(trigger) if trigger else None,
            tag=client_id if len(client_id) <= 20 else "",
            created_at=datetime.now(UTC),
        ),
        instrument=instrument,
    )


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())["data"]


@pytest.fixture
def broker(fake_kite: FakeKite, memory_keyring: MemoryKeyring) -> Iterator[KiteBroker]:
    made = make_broker(fake_kite)
    yield made
    run(made.close())


def test_kite_broker_is_an_engine_broker(broker: KiteBroker) -> None:
    as_broker: Broker = broker  # mypy checks the whole protocol here
    assert isinstance(as_broker, Broker)
    assert (broker.name, broker.account_id) == ("Zerodha", ACCOUNT_ID)
    assert broker.state is ConnectionState.DISCONNECTED


# -- sessions ----------------------------------------------------------------------------------


def test_connect_checks_the_stored_token_and_reports_the_session(
    broker: KiteBroker, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    broker.set_listener(recorder)
    info = run(broker.connect())
    assert (info.account_id, info.user_id) == (ACCOUNT_ID, "AB1234")
    assert info.expires_at > datetime.now(UTC)
    assert broker.state is ConnectionState.CONNECTED
    assert recorder.state_names == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
    with caplog.at_level(logging.WARNING):
        run(broker.connect())  # again (a re-check): stays connected, no odd transition
    assert broker.state is ConnectionState.CONNECTED and not caplog.records


def test_connect_without_a_token_asks_for_a_login(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    broker = make_broker(fake_kite, logged_in=False)
    recorder = Recorder()
    broker.set_listener(recorder)
    with pytest.raises(TokenExpired, match="no Kite session for zerodha-main") as caught:
        run(broker.connect())
    assert caught.value.needs_login
    assert broker.state is ConnectionState.LOGIN_REQUIRED
    assert recorder.state_names[-1] is ConnectionState.LOGIN_REQUIRED
    assert fake_kite.requests == []  # nothing was sent without a token


def test_a_refused_token_at_connect_is_token_expired(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    fake_kite.expire_tokens()
    with pytest.raises(TokenExpired, match="Kite refused the session"):
        run(broker.connect())
    assert broker.state is ConnectionState.LOGIN_REQUIRED


def test_missing_api_key_is_an_auth_error_naming_the_account(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    broker = make_broker(fake_kite)
    memory_keyring.entries = {
        k: v for k, v in memory_keyring.entries.items() if not k[1].endswith("api_key")
    }
    with pytest.raises(Exception, match="no API key is stored for zerodha-main"):
        run(broker.profile())


def test_logout_ends_the_session_at_kite_and_in_the_keychain(
    fake_kite: FakeKite, broker: KiteBroker, memory_keyring: MemoryKeyring
) -> None:
    run(broker.connect())
    run(broker.logout())
    assert fake_kite.requests_to("DELETE /session/token")
    assert not any(k[1].endswith("access_token") for k in memory_keyring.entries)
    assert broker.state is ConnectionState.DISCONNECTED
    with pytest.raises(TokenExpired):
        run(broker.orders())


# -- account reads -----------------------------------------------------------------------------


def test_profile_funds_and_holdings_are_exact(broker: KiteBroker) -> None:
    profile = run(broker.profile())
    assert profile.user_id == "AB1234" and profile.broker == "Zerodha"
    assert set(profile.exchanges) == {Exchange.NSE, Exchange.BSE, Exchange.NFO, Exchange.BFO}

    funds = run(broker.funds())
    # margins.json: net 99725.05000000002 (Kite's float arithmetic) -> paise.
    assert funds.available == Decimal("99725.05")
    assert funds.used_margin == Decimal("145706.55")
    assert funds.cash == Decimal("245431.60")
    assert funds.collateral == Decimal("0")

    holdings = {h.symbol: h for h in run(broker.holdings())}
    assert holdings["NSE:AARON"].quantity == 1
    assert holdings["NSE:AARON"].last_price == Decimal("352.95")
    assert holdings["BSE:SBIN"].average_price == Decimal("801.78125")
    assert holdings["BSE:SBIN"].isin == "INE062A01020"


def test_kite_sample_orders_trades_and_positions_convert() -> None:
    """Kite's own sample answers: CDS/MCX rows are left out, the rest are exact and aware."""
    rows = fixture("orders.json")
    for row in rows:  # what kiteconnect's _format_response does to order times
        for name in ("order_timestamp", "exchange_timestamp", "exchange_update_timestamp"):
            if row.get(name):
                row[name] = datetime.fromisoformat(row[name])
    orders, skipped = convert.to_broker_orders(rows)
    assert skipped  # the CDS future
    by_id = {o.broker_id: o for o in orders}
    ioc = by_id["300000000000000"]
    assert ioc.order.status is OrderStatus.FILLED
    assert ioc.order.average_price == Decimal("109.4")
    assert ioc.order.symbol == "NSE:IOC" and ioc.order.client_id == "broker:300000000000000"
    assert ioc.updated_at == datetime(2021, 5, 31, 15, 20, 28, tzinfo=IST)
    market = by_id["500000000000000"]
    assert market.order.order_type is OrderType.MARKET and market.order.price is None

    fills, skipped = convert.to_fills(fixture("trades.json"), {"200000000000000": "abc123"})
    assert [f.trade_id for f in fills] == ["10000000"]  # CDS and MCX left out
    assert fills[0].order_client_id == "abc123"
    assert fills[0].price == Decimal("420.65")
    assert fills[0].ts == datetime(2021, 5, 31, 9, 16, 39, tzinfo=IST)

    positions, _ = convert.to_positions(fixture("positions.json"))
    # The NSE SBIN row is a CO (cover order) position: Artha has no CO product.
    assert positions == []


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("COMPLETE", 10, OrderStatus.FILLED),
        ("OPEN", 0, OrderStatus.OPEN),
        ("OPEN", 4, OrderStatus.PARTIALLY_FILLED),
        ("TRIGGER PENDING", 0, OrderStatus.OPEN),
        ("AMO REQ RECEIVED", 0, OrderStatus.OPEN),
        ("MODIFY VALIDATION PENDING", 0, OrderStatus.OPEN),
        ("MODIFIED", 3, OrderStatus.PARTIALLY_FILLED),
        ("UPDATE", 3, OrderStatus.PARTIALLY_FILLED),
        ("PUT ORDER REQ RECEIVED", 0, OrderStatus.NEW),
        ("VALIDATION PENDING", 0, OrderStatus.NEW),
        ("CANCELLED", 0, OrderStatus.CANCELLED),
        ("CANCELLED", 4, OrderStatus.CANCELLED),
        ("REJECTED", 0, OrderStatus.REJECTED),
        ("SOMETHING NEW", 0, OrderStatus.OPEN),
    ],
)
def test_kite_statuses_map_to_artha_statuses(
    status: str, filled: int, expected: OrderStatus
) -> None:
    row = dict(fixture("orders.json")[1])
    row.update(
        status=status,
        quantity=10,
        filled_quantity=filled,
        average_price=109.4 if filled else 0,
        tag="s1-0001",
    )
    converted = convert.to_broker_order(row)
    assert converted is not None
    assert converted.order.status is expected
    assert converted.order.filled_quantity == filled  # a cancelled order keeps its fills
    assert converted.broker_status == status
    assert converted.order.client_id == "s1-0001" and converted.ours


def test_a_slice_whose_parent_is_not_in_the_book_stands_alone() -> None:
    parent, leg, slice_ = (dict(fixture("orders.json")[1]) for _ in range(3))
    leg.update(order_id="L1", parent_order_id=parent["order_id"], tag="bo-1")
    slice_.update(order_id="S1", parent_order_id="AUTOSLICE-PARENT", tag="big-1")
    orders, _ = convert.to_broker_orders([parent, leg, slice_])
    parents = {o.broker_id: o.parent_id for o in orders}
    assert parents == {parent["order_id"]: None, "L1": parent["order_id"], "S1": None}


def test_an_unreadable_order_row_names_the_order_and_field() -> None:
    row = dict(fixture("orders.json")[1], price="abc", order_type="LIMIT")
    with pytest.raises(MalformedResponse, match=r"order 300000000000000: price is 'abc'"):
        convert.to_broker_order(row)


# -- instruments, history, quotes --------------------------------------------------------------


def test_instruments_dump_converts_exactly_against_the_fixture(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    instruments = {i.key: i for i in run(broker.instruments())}
    rows = list(csv.DictReader((FIXTURES / "instruments_all.csv").open()))
    for row in rows:
        got = instruments[f"{row['exchange']}:{row['tradingsymbol']}"]
        assert got.token == int(row["instrument_token"])
        assert got.tick_size == Decimal(row["tick_size"])
        assert got.lot_size == int(row["lot_size"])
        assert got.name == row["name"]
    option = instruments["NFO:BANKNIFTY18JAN23500CE"]
    assert option.segment is Segment.OPTIONS
    assert option.option_type is OptionType.CALL
    assert option.strike == Decimal("23500")
    assert option.expiry == date(2018, 1, 25)
    assert option.lot_size == 40
    equity = instruments["NSE:INFY"]
    assert equity.segment is Segment.EQUITY and equity.expiry is None and equity.strike is None
    index = instruments["NSE:NIFTY 50"]  # Kite lists indices with tick 0 and lot 0
    assert index.segment is Segment.INDEX
    assert index.tick_size == Decimal("0.01") and index.lot_size == 1

    nse_only = run(broker.instruments(Exchange.NSE))
    assert nse_only and {i.exchange for i in nse_only} == {Exchange.NSE}
    assert fake_kite.requests[-1].path == "/instruments/NSE"


def test_history_is_one_chunk_in_kite_interval_names_with_exact_prices(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    start = datetime(2026, 11, 30, 9, 15, tzinfo=IST)
    end = datetime(2026, 12, 1, 15, 29, tzinfo=IST)
    bars = run(broker.history(INFY, Timeframe.M5, start.astimezone(UTC), end))
    request = fake_kite.requests_to("GET /instruments/historical/408065/5minute")[-1]
    # Kite's from/to are IST wall clock, whatever zone the caller used.
    assert request.param("from") == "2026-11-30 09:15:00"
    assert request.param("to") == "2026-12-01 15:29:00"
    assert request.param("continuous") == "0" and request.param("oi") == "0"
    candles = historical_candles(408065, "5minute", start, end, oi=False)
    assert len(bars) == len(candles) == 2 * 75
    for bar, candle in zip(bars, candles, strict=True):
        assert bar.ts == datetime.fromisoformat(candle[0])
        assert bar.ts.tzinfo is not None and bar.ts.utcoffset() == timedelta(hours=5, minutes=30)
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(
            Decimal(str(v)) for v in candle[1:5]
        )
        assert bar.open % Decimal("0.05") == 0  # exact: no binary residue from the floats
        assert bar.volume == candle[5] and bar.oi is None
        assert bar.symbol == "NSE:INFY" and bar.timeframe == "5m"


def test_history_spans_follow_kites_limits_and_longer_spans_are_refused(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    assert broker.max_history_span(Timeframe.M1) == timedelta(days=60)
    assert broker.max_history_span(Timeframe.M5) == timedelta(days=100)
    assert broker.max_history_span(Timeframe.M30) == timedelta(days=200)
    assert broker.max_history_span(Timeframe.M60) == timedelta(days=400)
    assert broker.max_history_span(Timeframe.D1) == timedelta(days=2000)
    start = datetime(2026, 1, 1, tzinfo=IST)
    with pytest.raises(InvalidRequest, match="longer than the 60 days"):
        run(broker.history(INFY, Timeframe.M1, start, start + timedelta(days=61)))
    no_token = Instrument(Exchange.NSE, Segment.EQUITY, "INFY")
    with pytest.raises(InvalidRequest, match="NSE:INFY has no Kite instrument token"):
        run(broker.history(no_token, Timeframe.D1, start, start + timedelta(days=5)))
    assert not fake_kite.requests_to("GET /instruments/historical")


def test_the_engines_history_chunks_fit_kites_limits(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    start = datetime(2014, 1, 1, tzinfo=IST)
    end = datetime(2026, 6, 30, 23, 59, tzinfo=IST)
    chunks = plan_chunks(start, end, broker.max_history_span(Timeframe.D1))
    assert len(chunks) == 3
    bars = [b for c in chunks for b in run(broker.history(INFY, Timeframe.D1, c.start, c.end))]
    assert all(r.status == 200 for r in fake_kite.requests_to("GET /instruments/historical"))
    days = [b.ts.date() for b in bars]
    assert days == sorted(set(days)) and days[0] == date(2014, 1, 1)  # in order, none twice
    assert days[-1] == date(2026, 6, 30)


def test_history_against_kites_sample_candles() -> None:
    for name in ("historical_minute.json", "historical_oi.json"):
        records = [
            dict(zip(("open", "high", "low", "close", "volume"), c[1:6], strict=True))
            | {"date": datetime.fromisoformat(c[0])}
            for c in fixture(name)["candles"]
        ]
        bars = convert.to_bars(records, INFY, Timeframe.M1)
        first = fixture(name)["candles"][0]
        assert bars[0].ts == datetime.fromisoformat(first[0]).astimezone(IST)
        assert bars[0].open == Decimal(str(first[1]))
    assert bars[0].open == Decimal("12009.9") and bars[0].high == Decimal("12019.35")


def test_quotes_are_full_with_depth(fake_kite: FakeKite, broker: KiteBroker) -> None:
    fake_kite.set_ltp("NSE", "INFY", "1573.70")
    quotes = run(broker.quotes([INFY, SBIN]))
    assert set(quotes) == {"NSE:INFY", "NSE:SBIN"}
    infy = quotes["NSE:INFY"]
    assert infy.mode is TickMode.FULL
    assert infy.tick.ltp == Decimal("1573.70") and infy.close == Decimal("1573.7")
    assert infy.tick.ts.tzinfo is not None
    assert infy.bids == () and infy.asks == ()  # the fake's depth is empty (price 0)
    request = fake_kite.requests_to("GET /quote")[-1]
    assert request.query["i"] == ["NSE:INFY", "NSE:SBIN"]


def test_quotes_go_500_a_request_at_most_one_request_a_second(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    others = [
        Instrument(Exchange.NSE, Segment.EQUITY, f"NOSUCH{i}", token=10_000 + i) for i in range(500)
    ]
    quotes = run(broker.quotes([INFY, *others]))
    assert set(quotes) == {"NSE:INFY"}  # Kite leaves out what it does not know
    first, second = fake_kite.requests_to("GET /quote")
    assert len(first.query["i"]) == 500 and len(second.query["i"]) == 1
    assert second.time - first.time >= 0.95


def test_a_quote_with_depth_from_kites_sample() -> None:
    quote = convert.to_quote("NSE:INFY", fixture("quote.json")["NSE:INFY"])
    assert quote is not None
    assert quote.tick.ltp == Decimal("1412.95")
    assert quote.tick.ts == datetime(2021, 6, 8, 15, 45, 56, tzinfo=IST)
    assert quote.asks[0].price == Decimal("1412.95") and quote.asks[0].quantity == 5191
    assert quote.asks[0].orders == 13 and len(quote.asks) == 1 and quote.bids == ()
    assert quote.tick.ask == Decimal("1412.95") and quote.tick.bid is None
    assert (quote.open, quote.high, quote.low, quote.close) == (
        Decimal("1396"),
        Decimal("1421.75"),
        Decimal("1395.55"),
        Decimal("1389.65"),
    )


# -- GTT ---------------------------------------------------------------------------------------


def test_gtt_single_and_oco_place_list_delete(fake_kite: FakeKite, broker: KiteBroker) -> None:
    leg = GttLeg(side=Side.BUY, quantity=2, price=Decimal("1400.05"))
    single = run(broker.place_gtt(INFY, Decimal("1400.00"), Decimal("1573.70"), leg))
    stop = (Decimal("1500.00"), GttLeg(side=Side.SELL, quantity=2, price=Decimal("1499.95")))
    target = (Decimal("1700.00"), GttLeg(side=Side.SELL, quantity=2, price=Decimal("1700.05")))
    oco = run(broker.place_gtt_oco(INFY, stop, target, Decimal("1573.70")))
    gtts = {g.trigger_id: g for g in run(broker.gtts())}
    assert gtts[single].kind == "single" and gtts[single].trigger_values == (Decimal("1400"),)
    assert gtts[single].legs == (leg,)
    assert gtts[oco].kind == "two-leg"
    assert gtts[oco].trigger_values == (Decimal("1500"), Decimal("1700"))
    assert [g.price for g in gtts[oco].legs] == [Decimal("1499.95"), Decimal("1700.05")]
    assert gtts[oco].symbol == "NSE:INFY" and gtts[oco].status == "active"
    run(broker.delete_gtt(single))
    assert {g.trigger_id for g in run(broker.gtts())} == {oco}
    with pytest.raises(InvalidRequest, match=r"stop trigger 1700\.00 must be below"):
        run(broker.place_gtt_oco(INFY, target, stop, Decimal("1573.70")))


# -- subscriptions -----------------------------------------------------------------------------


class RecordingStream:
    """A stand-in for the KiteTicker stream: records what the broker asks."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int | None], TickMode | None]] = []

    def subscribe(self, instruments: Sequence[Instrument], mode: TickMode) -> None:
        self.calls.append(("subscribe", [i.token for i in instruments], mode))

    def unsubscribe(self, instruments: Sequence[Instrument]) -> None:
        self.calls.append(("unsubscribe", [i.token for i in instruments], None))


def test_subscriptions_are_kept_and_handed_to_the_stream(broker: KiteBroker) -> None:
    run(broker.subscribe([INFY], TickMode.FULL))  # before any stream: only recorded
    stream = RecordingStream()
    broker.attach_stream(stream)
    assert stream.calls == [("subscribe", [408065], TickMode.FULL)]
    run(broker.subscribe([SBIN], TickMode.LTP))
    run(broker.unsubscribe([INFY]))
    run(broker.unsubscribe([INFY]))  # not wanted any more: nothing to tell the stream
    assert stream.calls[1:] == [
        ("subscribe", [779521], TickMode.LTP),
        ("unsubscribe", [408065], None),
    ]
    assert broker.subscriptions.tokens() == [779521]
    kept = broker.subscriptions.instrument(779521)
    assert kept is not None and (kept.key, kept.token) == (SBIN.key, SBIN.token)
    assert broker.subscriptions.mode_of(779521) is TickMode.LTP
    unlisted = Instrument(Exchange.NSE, Segment.EQUITY, "NOSUCHCO")
    with pytest.raises(InvalidRequest, match="Kite does not list NSE:NOSUCHCO today"):
        run(broker.subscribe([INFY, unlisted], TickMode.LTP))
    assert broker.subscriptions.tokens() == [779521]  # all or nothing
    assert len(stream.calls) == 3
    # An instrument from the store carries the exchange's token (INFY: 1594), not Kite's:
    # the subscription uses Kite's own (1594 << 8 | 1 = 408065).
    from_store = Instrument(Exchange.NSE, Segment.EQUITY, "INFY", token=1594)
    run(broker.subscribe([from_store], TickMode.QUOTE))
    assert stream.calls[-1] == ("subscribe", [408065], TickMode.QUOTE)


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["invalid_json", "missing_data", "empty_body", "no_content_type"])
def test_malformed_answers_are_malformed_response(
    fake_kite: FakeKite, broker: KiteBroker, kind: str
) -> None:
    fake_kite.malformed_next("GET /orders", kind)
    with pytest.raises(MalformedResponse, match="Kite's answer to orders") as caught:
        run(broker.orders())
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert run(broker.orders()) == []  # the next answer is fine


def test_a_proxys_html_page_and_server_errors(fake_kite: FakeKite, broker: KiteBroker) -> None:
    fake_kite.malformed_next("GET /portfolio/positions", "html_502")
    with pytest.raises(MalformedResponse):
        run(broker.positions())
    fake_kite.fail_next("GET /portfolio/positions", 500)
    with pytest.raises(BrokerDown, match="positions: Something went wrong") as down:
        run(broker.positions())
    assert down.value.status == 500 and not down.value.sent  # a read: nothing to reconcile
    fake_kite.fail_next("GET /portfolio/positions", 503)
    with pytest.raises(NetworkError):
        run(broker.positions())
    fake_kite.fail_next("GET /user/profile", 403, "PermissionException", "No market data plan")
    with pytest.raises(PermissionDenied, match="profile: No market data plan"):
        run(broker.profile())


def test_a_closed_port_is_a_network_error_not_sent(memory_keyring: MemoryKeyring) -> None:
    with FakeKite() as fake:
        broker = make_broker(fake)
    with pytest.raises(NetworkError, match="could not connect to Kite") as caught:
        run(broker.place(make_order("closed-1")))
    assert not caught.value.sent and caught.value.retryable
    assert "127.0.0.1" not in str(caught.value)  # requests' text (the URL) is never quoted


def test_sample_answers_round_trip_convert(fake_kite: FakeKite, broker: KiteBroker) -> None:
    """Positions built by fills at the fake convert with exact averages."""
    fake_kite.order_rate_limit = None
    request = make_order("pos-1", quantity=3, price="1500.05")
    order_id = run(broker.place(request))
    fake_kite.fill(order_id, 1, Decimal("1500.05"))
    fake_kite.fill(order_id, 2, Decimal("1499.95"))
    (snapshot,) = run(broker.positions())
    assert snapshot.position.symbol == "NSE:INFY" and snapshot.position.quantity == 3
    assert snapshot.position.average_price == Decimal("1499.98")  # Kite's, to the paisa
    assert snapshot.position.product is Product.MIS
