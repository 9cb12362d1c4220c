"""Kite's websocket through our KiteStream: ticks and order updates on the asyncio loop,
subscriptions that survive drops and silence, changed while running. The REAL KiteTicker
talks to the fake Kite's websocket (tests/fakes/kite_ws.py) on the process's one reactor."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from brokers.zerodha.stream import KiteStream, nse_open_now
from engine.broker.models import ConnectionState, Quote, TickMode
from engine.domain import Exchange, Instrument, Segment
from engine.ist import IST
from tests.fakes.kite_server import FakeKite, fake_kite  # noqa: F401 (fixture)

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "kite"
INFY = Instrument(Exchange.NSE, Segment.EQUITY, "INFY", token=408065)
SBIN = Instrument(Exchange.NSE, Segment.EQUITY, "SBIN", token=779521)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


class Seen:
    def __init__(self) -> None:
        self.quotes: list[Quote] = []
        self.orders: list[dict[str, Any]] = []
        self.states: list[tuple[ConnectionState, str]] = []
        self.threads: set[int] = set()

    def stream(self, fake: FakeKite, **kwargs: Any) -> KiteStream:
        import threading

        def on_quote(quote: Quote) -> None:
            self.threads.add(threading.get_ident())
            self.quotes.append(quote)

        return KiteStream(
            fake.api_key,
            loop=asyncio.get_running_loop(),
            root=fake.ws_root,
            on_quote=on_quote,
            on_order=lambda order: self.orders.append(dict(order)),
            on_state=lambda state, detail: self.states.append((state, detail)),
            **kwargs,
        )


def subscribed(fake: FakeKite, tokens: list[int], mode: str) -> Callable[[], bool]:
    return lambda: any(all(conn.get(t) == mode for t in tokens) for conn in fake.subscriptions())


def test_full_ticks_arrive_on_the_loop_as_exact_quotes(fake_kite: FakeKite) -> None:  # noqa: F811
    import threading

    seen = Seen()

    async def scenario() -> None:
        stream = seen.stream(fake_kite)
        stream.subscribe([INFY], TickMode.FULL)  # before the socket opens: remembered
        stream.start(fake_kite.access_token)
        assert await until(subscribed(fake_kite, [INFY.token], "full"), 10)  # type: ignore[list-item]
        want = json.loads((FIXTURES / "ticker_full.json").read_text())
        fake_kite.push_ticks([want])
        assert await until(lambda: bool(seen.quotes))
        stream.stop()

    asyncio.run(scenario())
    want = json.loads((FIXTURES / "ticker_full.json").read_text())
    quote = seen.quotes[0]
    assert seen.threads == {threading.get_ident()}  # delivered on the loop's thread
    assert quote.symbol == "NSE:INFY" and quote.mode is TickMode.FULL
    assert quote.tick.ltp == Decimal(str(want["last_price"]))
    assert quote.tick.volume == want["volume"]
    assert quote.tick.ts == datetime.fromisoformat(want["timestamp"]).astimezone(IST)
    assert quote.close == Decimal(str(want["ohlc"]["close"]))
    assert [level.price for level in quote.bids] == [
        Decimal(str(d["price"])) for d in want["depth"]["buy"] if d["price"]
    ]
    assert quote.asks[0].quantity == want["depth"]["sell"][0]["quantity"]
    assert seen.states[0][0] is ConnectionState.CONNECTING
    assert (ConnectionState.CONNECTED, "streaming") in seen.states


def test_drops_silence_and_changes_while_running_keep_every_subscription(
    fake_kite: FakeKite,  # noqa: F811
) -> None:
    seen = Seen()
    took: list[float] = []

    async def scenario() -> None:
        stream = seen.stream(fake_kite, silence_limit=2.0, market_open=lambda now: True)
        stream.start(fake_kite.access_token)
        assert await until(lambda: stream.connected, 10)
        stream.subscribe([INFY], TickMode.QUOTE)  # while running
        assert await until(subscribed(fake_kite, [408065], "quote"))
        for _ in range(2):  # a dropped socket: resubscribed within 5 s
            t0 = time.monotonic()
            fake_kite.drop_connections()
            await asyncio.sleep(0.05)
            assert await until(subscribed(fake_kite, [408065], "quote"), 5)
            took.append(time.monotonic() - t0)
        stream.subscribe([SBIN], TickMode.LTP)
        assert await until(subscribed(fake_kite, [779521], "ltp"))
        # A connected but silent feed (no heartbeats): the watchdog drops it, it comes back.
        handshakes = len(fake_kite.ws_handshakes)
        fake_kite.go_silent()
        assert await until(lambda: stream.reconnects == 1, 6)
        fake_kite.resume()
        assert await until(lambda: len(fake_kite.ws_handshakes) > handshakes, 5)
        assert await until(subscribed(fake_kite, [408065], "quote"), 5)
        assert await until(subscribed(fake_kite, [779521], "ltp"), 5)
        stream.unsubscribe([SBIN])
        assert await until(lambda: all(779521 not in c for c in fake_kite.subscriptions()))
        fake_kite.push_order_update({"order_id": "260101000001", "status": "OPEN", "tag": "A1"})
        assert await until(lambda: bool(seen.orders))
        stream.stop()

    asyncio.run(scenario())
    assert max(took) < 5.0, took
    assert seen.orders[0]["tag"] == "A1"
    states = [s for s, _ in seen.states]
    assert ConnectionState.RECONNECTING in states and states.count(ConnectionState.CONNECTED) >= 4
    assert any("no data for" in d for _, d in seen.states)


def test_the_watchdog_leaves_a_quiet_feed_alone_when_the_market_is_closed() -> None:
    saturday = datetime(2026, 12, 5, 11, 0, tzinfo=IST)
    monday_open = datetime(2026, 12, 7, 9, 15, tzinfo=IST)
    monday_evening = datetime(2026, 12, 7, 16, 0, tzinfo=IST)
    assert not nse_open_now(saturday)
    assert nse_open_now(monday_open)
    assert not nse_open_now(monday_evening)
