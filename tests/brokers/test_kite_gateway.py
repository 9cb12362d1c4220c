"""Orders to Kite through the one OrderGateway: the 2026 rules against the fake Kite server.

The REAL kiteconnect client talks to the fake on 127.0.0.1; the fake's book is the judge of
what reached "Kite" (tags, market protection, how many orders, how fast).
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from brokers.zerodha import GttLeg, KiteBroker
from brokers.zerodha.errors import refused_ip
from engine.broker.audit import OrderAudit
from engine.broker.errors import (
    InvalidRequest,
    IpNotAllowed,
    NetworkError,
    OrderRejected,
    TokenExpired,
)
from engine.broker.gateway import OrderGateway, RetryPolicy
from engine.broker.models import ConnectionState, OrderChange, OrderRequest, TickMode
from engine.domain import Exchange, Instrument, OrderType, Product, Segment, Side
from engine.domain.orders import OrderStatus
from tests.brokers.test_kite_broker import (
    INFY,
    Recorder,
    make_broker,
    make_order,
    run,
)
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_server import FakeKite
from tests.fakes.memory_keyring import MemoryKeyring

fake_kite = kite_server.fake_kite  # fixtures, assigned (not imported) for ruff's F811
memory_keyring = fake_keyring.memory_keyring

QUICK = RetryPolicy(rate_limited_pause=0.3, reconcile_pause=0.2)


@pytest.fixture
def broker(fake_kite: FakeKite, memory_keyring: MemoryKeyring) -> Iterator[KiteBroker]:
    made = make_broker(fake_kite, timeout=1.0)
    yield made
    run(made.close())


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[OrderAudit]:
    log = OrderAudit(tmp_path / "logs" / "orders-audit.jsonl")
    yield log
    log.close()


def gateway_for(broker: KiteBroker, audit: OrderAudit | None = None) -> OrderGateway:
    return OrderGateway(broker, audit=audit, policy=QUICK)


def test_order_lifecycle_place_modify_fill_cancel(
    fake_kite: FakeKite, broker: KiteBroker, audit: OrderAudit
) -> None:
    gateway = gateway_for(broker, audit)

    async def scenario() -> None:
        order_id = await gateway.place(make_order("s1-0001", quantity=10, price="1500.05"))
        (placed,) = fake_kite.orders_with_tag("s1-0001")
        assert placed["order_id"] == order_id and placed["variety"] == "regular"
        assert placed["price"] == 1500.05 and placed["product"] == "MIS"
        assert "market_protection" not in fake_kite.order_placements()[-1].form  # LIMIT

        await gateway.modify("NSE", order_id, OrderChange(price=Decimal("1499.95")))
        assert fake_kite.order(order_id)["price"] == 1499.95
        fake_kite.fill(order_id, 4, Decimal("1499.95"))

        (mine,) = [o for o in await broker.orders() if o.ours]
        assert mine.order.client_id == "s1-0001" and mine.broker_id == order_id
        assert mine.order.status is OrderStatus.PARTIALLY_FILLED
        assert mine.order.filled_quantity == 4
        assert mine.order.average_price == Decimal("1499.95")
        assert mine.order.price == Decimal("1499.95")

        await gateway.cancel("NSE", order_id)
        (done,) = await broker.orders()
        assert done.order.status is OrderStatus.CANCELLED
        assert done.order.filled_quantity == 4  # the cancelled order keeps its fill
        assert done.broker_status == "CANCELLED"

        (fill,) = await broker.trades()
        assert fill.order_client_id == "s1-0001" and fill.broker_order_id == order_id
        assert (fill.side, fill.quantity, fill.price) == (Side.BUY, 4, Decimal("1499.95"))
        assert fill.ts.tzinfo is not None

        (position,) = await broker.positions()
        assert position.position.quantity == 4
        assert position.position.average_price == Decimal("1499.95")

    run(scenario())
    actions = [(e["action"], e["outcome"]) for e in audit.entries()]
    assert actions == [
        ("place", "sent"),
        ("place", "ok"),
        ("modify", "sent"),
        ("modify", "ok"),
        ("cancel", "sent"),
        ("cancel", "ok"),
    ]


def test_market_and_sl_m_orders_always_carry_market_protection(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    fake_kite.auto_fill = True
    gateway = gateway_for(broker)
    run(gateway.place(make_order("m-1", order_type=OrderType.MARKET)))
    run(gateway.place(make_order("m-2", order_type=OrderType.SL_M, trigger="1600.00")))
    market, stop = fake_kite.order_placements()[-2:]
    assert market.param("market_protection") == "-1"
    assert stop.param("market_protection") == "-1"
    assert market.param("price") is None and market.param("tag") == "m-1"
    (filled,) = [o for o in run(broker.orders()) if o.order.client_id == "m-1"]
    assert filled.order.status is OrderStatus.FILLED


def test_the_accounts_own_market_protection_is_sent(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    broker = make_broker(fake_kite, account={"market_protection": Decimal("2.5")})
    run(gateway_for(broker).place(make_order("m-3", order_type=OrderType.MARKET)))
    assert fake_kite.order_placements()[-1].param("market_protection") == "2.5"


def test_a_burst_of_100_orders_never_exceeds_8_in_any_second(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    gateway = gateway_for(broker)

    async def burst() -> list[str]:
        return await asyncio.gather(
            *(gateway.place(make_order(f"burst-{i:03d}")) for i in range(100))
        )

    ids = run(burst())
    assert len(set(ids)) == 100
    assert len(fake_kite.order_placements()) == 100  # no 429, no retry, none dropped
    assert fake_kite.max_orders_in_any_second() <= 8
    assert {o["tag"] for o in fake_kite.orders()} == {f"burst-{i:03d}" for i in range(100)}


def test_a_429_waits_and_the_order_goes_through_once(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    fake_kite.fail_next("POST /orders/regular", 429)
    order_id = run(gateway_for(broker).place(make_order("rl-1")))
    assert len(fake_kite.order_placements()) == 2
    first, second = fake_kite.order_placements()
    assert first.status == 429 and second.status == 200
    assert second.time - first.time >= QUICK.rate_limited_pause * 0.9
    assert [o["order_id"] for o in fake_kite.orders_with_tag("rl-1")] == [order_id]


@pytest.mark.parametrize(
    "fault",
    ["500 after placing", "502 after placing", "timeout after placing", "garbage after placing"],
)
def test_a_doubtful_answer_after_the_order_was_placed_is_reconciled_by_tag(
    fake_kite: FakeKite, broker: KiteBroker, audit: OrderAudit, fault: str
) -> None:
    if fault.startswith("timeout"):
        fake_kite.delay_next("POST /orders/regular", 2.0)  # the broker gives up after 1 s
    elif fault.startswith("garbage"):
        fake_kite.malformed_next("POST /orders/regular", "invalid_json", apply=True)
    else:
        fake_kite.fail_next("POST /orders/regular", int(fault[:3]), apply=True)
    order_id = run(gateway_for(broker, audit).place(make_order("doubt-1")))
    (only,) = fake_kite.orders_with_tag("doubt-1")  # exactly one: never placed twice
    assert only["order_id"] == order_id
    assert len(fake_kite.order_placements()) == 1
    outcomes = [(e["action"], e["outcome"]) for e in audit.entries()]
    assert ("reconcile", "found") in outcomes
    error = next(e for e in audit.entries() if e["outcome"] == "error")
    assert error["maybe_sent"] is True


def test_a_5xx_before_placing_is_proven_absent_and_sent_once_more(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    fake_kite.fail_next("POST /orders/regular", 500)  # refused before booking anything
    order_id = run(gateway_for(broker).place(make_order("absent-1")))
    assert len(fake_kite.order_placements()) == 2
    assert [o["order_id"] for o in fake_kite.orders_with_tag("absent-1")] == [order_id]


def test_ip_not_allowed_names_the_ipv6_address_and_what_to_do(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    broker = make_broker(fake_kite, account={"registered_ips": ("203.0.113.10",)})
    fake_kite.deny_orders_from_ip("2402:3a80::1")
    with pytest.raises(IpNotAllowed) as caught:
        run(gateway_for(broker).place(make_order("ip-1")))
    error = caught.value
    assert error.ip == "2402:3a80::1" and error.registered == "203.0.113.10"
    assert "IPv6" in error.advice and "2402:3a80::1" in error.advice
    assert error.status == 403
    assert fake_kite.orders() == []
    assert len(run(broker.orders())) == 0  # reads still work from any IP


def test_a_rejected_order_and_bad_input_are_not_retried(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    fake_kite.fail_next("POST /orders/regular", 500, "OrderException", "RMS: margin exceeds")
    with pytest.raises(OrderRejected, match="RMS: margin exceeds"):
        run(gateway_for(broker).place(make_order("rej-1")))
    fake_kite.fail_next("POST /orders/regular", 400, "MarginException", "Insufficient funds")
    with pytest.raises(OrderRejected, match="Insufficient funds"):  # a type kiteconnect lacks
        run(gateway_for(broker).place(make_order("rej-3")))
    unknown = Instrument(Exchange.NSE, Segment.EQUITY, "NOSUCH", token=1)
    with pytest.raises(InvalidRequest, match="NSE:NOSUCH"):
        run(gateway_for(broker).place(make_order("rej-2", instrument=unknown)))
    assert len(fake_kite.order_placements()) == 3


@pytest.mark.parametrize(
    ("message", "ip"),
    [
        (
            "IP (2402:e280:3d9f::1) is not allowed to place orders for this app.",
            "2402:e280:3d9f::1",
        ),
        ("Your IP address 203.0.113.7 is not allowed. Whitelist it.", "203.0.113.7"),
        ("IP: 198.51.100.4 not registered for this app", "198.51.100.4"),
        ("Insufficient permission for that call.", None),
    ],
)
def test_the_refused_ip_is_read_from_kites_message(message: str, ip: str | None) -> None:
    assert refused_ip(message) == ip


def test_amo_iceberg_and_autoslice_varieties(fake_kite: FakeKite, broker: KiteBroker) -> None:
    gateway = gateway_for(broker)
    amo = make_order("amo-1")
    run(gateway.place(OrderRequest(order=amo.order, instrument=INFY, after_market=True)))
    iceberg = make_order("ice-1", quantity=10)
    run(gateway.place(OrderRequest(order=iceberg.order, instrument=INFY, iceberg_legs=3)))
    paths = [r.path for r in fake_kite.order_placements()]
    assert paths == ["/orders/amo", "/orders/iceberg"]
    ice = fake_kite.order_placements()[-1]
    assert (ice.param("iceberg_legs"), ice.param("iceberg_quantity")) == ("3", "4")
    (amo_row,) = fake_kite.orders_with_tag("amo-1")
    assert amo_row["status"] == "AMO REQ RECEIVED"
    (amo_order,) = [o for o in run(broker.orders()) if o.order.client_id == "amo-1"]
    assert amo_order.order.status is OrderStatus.OPEN

    fake_kite.set_freeze_quantity("NSE", "SBIN", 100)
    sbin = Instrument(Exchange.NSE, Segment.EQUITY, "SBIN", token=779521, freeze_quantity=100)
    big = make_order("big-1", quantity=250, price="820.10", instrument=sbin)
    assert big.slices == 3
    parent = run(gateway.place(big))
    placement = fake_kite.order_placements()[-1]
    assert placement.param("autoslice") == "true"
    slices = fake_kite.orders_with_tag("big-1")
    assert sorted(o["quantity"] for o in slices) == [50, 100, 100]
    assert parent not in {o["order_id"] for o in slices}  # Kite's parent id of the slices
    assert sorted(broker.slices_of(parent)) == sorted(o["order_id"] for o in slices)

    fake_kite.fill(broker.slices_of(parent)[0])
    with pytest.raises(InvalidRequest, match="modify them one by one"):
        run(gateway.modify("NSE", parent, OrderChange(quantity=200)))
    with pytest.raises(InvalidRequest, match="cancel them one by one"):
        run(gateway.cancel("NSE", parent))
    for slice_id in broker.slices_of(parent)[1:]:
        run(gateway.cancel("NSE", slice_id))
    statuses = sorted(fake_kite.order(o["order_id"])["status"] for o in slices)
    assert statuses == ["CANCELLED", "CANCELLED", "COMPLETE"]


def test_a_modify_of_an_order_placed_elsewhere_finds_its_variety(
    fake_kite: FakeKite, broker: KiteBroker, memory_keyring: MemoryKeyring
) -> None:
    placed_by_other = make_broker(fake_kite)  # e.g. a previous session of Artha
    amo = make_order("amo-2")
    order_id = run(
        placed_by_other.place(OrderRequest(order=amo.order, instrument=INFY, after_market=True))
    )
    run(broker.orders())  # learns the varieties of the book's orders
    run(gateway_for(broker).modify("NSE", order_id, OrderChange(quantity=2)))
    assert fake_kite.order(order_id)["quantity"] == 2
    assert fake_kite.requests_to("PUT /orders/amo/")  # Kite's modify URL names the variety
    run(gateway_for(broker).cancel("NSE", order_id))
    assert fake_kite.order(order_id)["status"] == "CANCELLED"


def current_state(broker: KiteBroker) -> ConnectionState:
    """The state read afresh (a plain attribute read would be narrowed by an earlier assert)."""
    return broker.state


def test_token_expiry_mid_session_keeps_state_and_a_fresh_login_resumes(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    recorder = Recorder()
    broker.set_listener(recorder)
    gateway = gateway_for(broker)
    run(broker.connect())
    run(broker.subscribe([INFY], TickMode.FULL))
    first = run(gateway.place(make_order("tok-1")))

    fake_kite.expire_tokens()
    with pytest.raises(TokenExpired, match="Kite refused the session") as caught:
        run(gateway.place(make_order("tok-2")))
    assert caught.value.needs_login and "log in again" in caught.value.advice
    assert broker.state is ConnectionState.LOGIN_REQUIRED
    assert recorder.state_names[-1] is ConnectionState.LOGIN_REQUIRED
    assert "kept" in recorder.states[-1][1]
    sent = len(fake_kite.requests)
    with pytest.raises(TokenExpired):
        run(broker.orders())
    assert len(fake_kite.requests) == sent  # the refused token is not tried again

    request_token = fake_kite.issue_request_token()
    flow = broker.login_flow()
    run(flow.complete({"request_token": request_token, "status": "success"}))
    assert current_state(broker) is ConnectionState.CONNECTED
    assert recorder.state_names[-2:] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
    assert broker.subscriptions.tokens() == [408065]  # nothing held was lost
    second = run(gateway.place(make_order("tok-2")))
    assert {o.broker_id for o in run(broker.orders())} == {first, second}
    assert len(fake_kite.orders_with_tag("tok-2")) == 1


def test_product_and_side_reach_kite_unchanged(fake_kite: FakeKite, broker: KiteBroker) -> None:
    request = make_order(
        "cnc-1", side=Side.SELL, product=Product.CNC, order_type=OrderType.SL,
        price="1490.00", trigger="1495.00",
    )  # fmt: skip
    run(gateway_for(broker).place(request))
    sent = fake_kite.order_placements()[-1]
    assert (sent.param("transaction_type"), sent.param("product")) == ("SELL", "CNC")
    assert (sent.param("price"), sent.param("trigger_price")) == ("1490", "1495")
    assert (sent.param("order_type"), sent.param("validity")) == ("SL", "DAY")


def test_a_client_id_longer_than_kites_tag_is_refused_before_sending(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    with pytest.raises(InvalidRequest, match="at most 20 characters"):
        run(gateway_for(broker).place(make_order("s" * 21)))
    assert fake_kite.order_placements() == []


def test_a_modify_to_market_carries_market_protection(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    gateway = gateway_for(broker)
    order_id = run(gateway.place(make_order("mod-1")))
    run(gateway.modify("NSE", order_id, OrderChange(order_type=OrderType.MARKET)))
    (change,) = fake_kite.requests_to("PUT /orders/regular/")
    assert change.param("order_type") == "MARKET" and change.param("market_protection") == "-1"


class RecordingProxy(ThreadingHTTPServer):
    """A plain forward proxy on 127.0.0.1 (the trader's static-IP proxy, for http:// roots):
    it records each request's method and path and relays it."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: RecordingProxy

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _relay(self) -> None:
        target = urlsplit(self.path)
        self.server.seen.append(f"{self.command} {target.path}")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(target.netloc, timeout=5)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = _relay


def test_order_calls_and_only_order_calls_go_through_the_order_proxy(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    proxy = RecordingProxy()
    try:
        broker = make_broker(fake_kite, account={"order_proxy": proxy.url})
        gateway = gateway_for(broker)
        order_id = run(gateway.place(make_order("px-1")))
        run(gateway.modify("NSE", order_id, OrderChange(quantity=2)))
        run(gateway.cancel("NSE", order_id))
        run(broker.orders())
        run(broker.quotes([INFY]))
        leg = GttLeg(side=Side.BUY, quantity=1, price=Decimal("1400.05"))
        run(broker.place_gtt(INFY, Decimal("1400.00"), Decimal("1573.70"), leg))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.seen == [
        "POST /orders/regular",
        f"PUT /orders/regular/{order_id}",
        f"DELETE /orders/regular/{order_id}",
        "POST /gtt/triggers",
    ]
    assert fake_kite.requests_to("GET /orders") and fake_kite.requests_to("GET /quote")


class DroppingServer:
    """Reads each request whole, then hangs up without answering: a connection lost after
    the order went out (the fake Kite always answers, so this one-trick server is apart)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests.append(head.split(b"\r\n")[0])

    def close(self) -> None:
        self.listener.close()


def test_an_answer_lost_after_sending_is_a_doubt_for_orders_only(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    server = DroppingServer()
    try:
        broker = make_broker(fake_kite, root=server.url)
        with pytest.raises(NetworkError, match="lost the connection to Kite") as placed:
            run(broker.place(make_order("drop-1")))
        assert placed.value.sent and not placed.value.retryable  # reconcile before resending
        with pytest.raises(NetworkError) as read:
            run(broker.orders())
        assert not read.value.sent and read.value.retryable  # a read is safe to repeat
    finally:
        server.close()
    assert server.requests == [b"POST /orders/regular HTTP/1.1", b"GET /orders HTTP/1.1"]
