"""A Zerodha account as the station opens it (brokers.registry -> KiteBroker with its live
stream, through the BrokerHub): ticks from Kite's websocket become quotes and live minute
bars on the bus, order updates become BrokerOrderEvents, and a token that expires mid-session
is replaced by a fresh login without losing the subscriptions. The REAL kiteconnect client and
KiteTicker talk to the fake Kite on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from brokers.accounts import BrokerAccount, BrokerKind
from brokers.credentials import CredentialStore
from brokers.hub import BrokerHub
from brokers.registry import open_broker
from engine.broker.errors import TokenExpired
from engine.broker.models import ConnectionState, TickMode
from engine.bus import EventBus
from engine.domain import Exchange, Instrument, Segment
from engine.events import BarEvent, BrokerOrderEvent, BrokerStateEvent, FormingBarEvent, QuoteEvent
from engine.ist import IST
from engine.workspace import Workspace
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_server import FakeKite

fake_kite = kite_server.fake_kite
memory_keyring = fake_keyring.memory_keyring

# INFY as the store knows it from a bhavcopy: the exchange's token, not Kite's.
INFY = Instrument(Exchange.NSE, Segment.EQUITY, "INFY", token=1594)


async def until(predicate: Callable[[], bool], timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


def test_the_station_streams_quotes_bars_and_order_updates_and_survives_expiry(
    fake_kite: FakeKite, memory_keyring: object, tmp_path: Path
) -> None:
    account = BrokerAccount(
        account_id="zerodha",
        kind=BrokerKind.ZERODHA,
        api_root=fake_kite.root,
        stream_root=fake_kite.ws_root,
    )
    credentials = CredentialStore()
    credentials.save(account.credential_id, "api_key", fake_kite.api_key)
    credentials.save(account.credential_id, "api_secret", fake_kite.api_secret)
    credentials.save_token(
        account.credential_id, fake_kite.new_access_token(), datetime.now(UTC) + timedelta(hours=8)
    )
    workspace = Workspace(tmp_path / "ws").ensure()
    seen: list[object] = []

    async def scenario() -> None:
        bus = EventBus()
        for kind in (QuoteEvent, BarEvent, FormingBarEvent, BrokerOrderEvent, BrokerStateEvent):
            bus.subscribe(kind, seen.append)
        hub = BrokerHub(bus, lambda a: open_broker(a, credentials=credentials, workspace=workspace))
        await hub.connect(account)
        await hub.watch(account, [INFY], TickMode.FULL)
        assert await until(lambda: any(c.get(408065) == "full" for c in fake_kite.subscriptions()))
        minute = datetime(2026, 12, 7, 10, 1, tzinfo=IST)
        fake_kite.push_ticks(
            [
                {"instrument_token": 408065, "last_price": "1573.15", "volume_traded": 1000,
                 "exchange_timestamp": minute},
                {"instrument_token": 408065, "last_price": "1574.05", "volume_traded": 1200,
                 "exchange_timestamp": minute + timedelta(seconds=20)},
                {"instrument_token": 408065, "last_price": "1572.00", "volume_traded": 1300,
                 "exchange_timestamp": minute + timedelta(minutes=1, seconds=2)},
            ]
        )  # fmt: skip
        assert await until(lambda: len(of(seen, QuoteEvent)) == 3)
        assert await until(lambda: len(of(seen, BarEvent)) == 1)
        # An order placed on Kite's web terminal shows up too.
        fake_kite.push_order_update(
            {"order_id": "261207000001", "status": "OPEN", "tradingsymbol": "INFY",
             "exchange": "NSE", "transaction_type": "BUY", "order_type": "LIMIT",
             "product": "CNC", "validity": "DAY", "quantity": 5, "filled_quantity": 0,
             "price": 1500.0, "trigger_price": 0, "average_price": 0, "tag": None,
             "order_timestamp": "2026-12-07 10:02:03", "status_message": None}
        )  # fmt: skip
        assert await until(lambda: bool(of(seen, BrokerOrderEvent)))

        # The day's session ends at Kite: the next call says so, nothing is lost.
        fake_kite.expire_tokens(drop_websockets=True)
        broker = hub.broker(account)
        with pytest.raises(TokenExpired):
            await broker.funds()
        assert hub.state(account.account_id)[0] is ConnectionState.LOGIN_REQUIRED
        # A fresh login (the browser part is covered in test_kite_login): the stream restarts
        # with the new token and the subscription is still there.
        flow = broker.login_flow()
        assert flow is not None
        flow.url("s")
        token = fake_kite.issue_request_token()
        await flow.complete({"request_token": token, "status": "success"})
        assert await until(
            lambda: any(c.get(408065) == "full" for c in fake_kite.subscriptions()), 10
        )
        fake_kite.push_ticks(
            [{"instrument_token": 408065, "last_price": "1580.00", "volume_traded": 1400,
              "exchange_timestamp": minute + timedelta(minutes=2)}]
        )  # fmt: skip
        assert await until(lambda: len(of(seen, QuoteEvent)) == 4, 10)
        await hub.close()

    asyncio.run(scenario())
    quotes = [e.quote for e in of(seen, QuoteEvent)]
    assert [q.tick.ltp for q in quotes] == [
        Decimal("1573.15"),
        Decimal("1574.05"),
        Decimal("1572.00"),
        Decimal("1580.00"),
    ]
    assert quotes[0].symbol == "NSE:INFY"
    (closed,) = [e.bar for e in of(seen, BarEvent)][:1]
    assert closed.ts == datetime(2026, 12, 7, 10, 1, tzinfo=IST)
    assert (closed.open, closed.high, closed.low, closed.close) == (
        Decimal("1573.15"),
        Decimal("1574.05"),
        Decimal("1573.15"),
        Decimal("1574.05"),
    )
    assert closed.volume == 200  # the day's cumulative volume, differenced
    update = of(seen, BrokerOrderEvent)[0].update
    assert update.broker_id == "261207000001" and not update.ours
    states = [e.state for e in of(seen, BrokerStateEvent)]
    assert ConnectionState.LOGIN_REQUIRED in states
    assert states[-1] is ConnectionState.DISCONNECTED  # closed at the end
    assert states.count(ConnectionState.CONNECTED) >= 2


def of(events: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]
