"""Our v3 feed client against the fake Upstox feed: real websockets and protobuf on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from brokers import redaction
from brokers.upstox.errors import UpstoxInputError, UpstoxTokenExpired
from brokers.upstox.feed import UpstoxFeed, ticks_from_frame
from brokers.upstox.models import FeedTick
from brokers.upstox.proto import MarketDataFeedV3_pb2 as pb
from brokers.upstox.rest import UpstoxConfig, UpstoxRest
from engine.ist import IST
from tests.fakes.upstox_server import FakeUpstox

RELIANCE = "NSE_EQ|INE002A01018"
INFY = "NSE_EQ|INE009A01021"
NIFTY_FUT = "NSE_FO|52910"


@pytest.fixture
def fake() -> Iterator[FakeUpstox]:
    with FakeUpstox() as f:
        yield f


class Ticks:
    """Collects ticks on the loop; `next()` waits for one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[FeedTick] = asyncio.Queue()

    def __call__(self, tick: FeedTick) -> None:
        self.queue.put_nowait(tick)

    async def next(self, timeout: float = 3.0) -> FeedTick:
        return await asyncio.wait_for(self.queue.get(), timeout)


def run(
    fake: FakeUpstox, body: Callable[..., Awaitable[None]], token: str | None = None,
    **feed_args: Any,
) -> None:  # fmt: skip
    """Run `body(feed, ticks)` on a fresh loop with a feed wired to the fake."""

    async def main() -> None:
        rest = UpstoxRest(
            UpstoxConfig(api_host=fake.api_url), access_token=token or fake.issue_token()
        )
        ticks = Ticks()
        feed = UpstoxFeed(rest.feed_authorize, ticks, backoff_start=0.1, **feed_args)
        try:
            await body(feed, ticks)
        finally:
            await feed.close()

    asyncio.run(main())


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Blocking fake controls run off the loop, so our client keeps running meanwhile."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def test_subscribe_and_decode_ticks_with_exact_prices(fake):
    async def body(feed: UpstoxFeed, ticks: Ticks) -> None:
        await feed.subscribe([RELIANCE], "ltpc")  # before start: kept, sent on connect
        await feed.start()
        await feed.wait_connected(5)
        await in_thread(fake.wait_subscribed, [RELIANCE], "ltpc")
        # market_info is the first frame, but our reader may not have taken it in yet
        for _ in range(200):
            if feed.market_status:
                break
            await asyncio.sleep(0.01)
        assert feed.market_status["NSE_EQ"] == "NORMAL_OPEN"
        ltt = 1_796_533_500_123  # 2026-12-06 ... in ms
        await in_thread(fake.push_ltpc, RELIANCE, 2450.05, ltt_ms=ltt, ltq=25, cp=2437.9)
        tick = await ticks.next()
        assert tick.instrument_key == RELIANCE
        assert tick.ltp == Decimal("2450.05") and tick.close_price == Decimal("2437.9")
        assert tick.last_trade_quantity == 25 and tick.mode == "ltpc" and not tick.initial
        assert tick.last_trade_time == datetime.fromtimestamp(1_796_533_500, IST).replace(
            microsecond=123_000
        )
        # the request on the wire: JSON in a binary frame, with a guid
        _, request = fake.ws_requests[0]
        assert request["method"] == "sub" and request["data"] == {
            "instrumentKeys": [RELIANCE], "mode": "ltpc",
        }  # fmt: skip
        assert isinstance(request["guid"], str) and request["guid"]

        # full mode while running: depth, volume, OHLC, all exact
        await feed.change_mode([RELIANCE], "full")
        await in_thread(fake.wait_subscribed, [RELIANCE], "full")
        initial = await ticks.next()  # the fake's snapshot on change_mode
        assert initial.initial and initial.ltp == Decimal("2450.05")
        await in_thread(
            fake.push_full, RELIANCE, 2450.1, cp=2437.9, atp=2446.37, vtt=1_234_567, tbq=5000.0,
            tsq=4200.0, depth=[(2450.05, 120, 2450.1, 80), (2450.0, 300, 2450.15, 95)],
            ohlc=[("1d", 2440.0, 2455.55, 2431.2, 2450.1, 1_234_567, 1_796_500_000_000)],
        )  # fmt: skip
        full = await ticks.next()
        assert full.mode == "full" and full.ltp == Decimal("2450.1")
        assert full.average_price == Decimal("2446.37") and full.volume == 1_234_567
        assert [(d.bid_price, d.bid_quantity, d.ask_price, d.ask_quantity) for d in full.depth] == [
            (Decimal("2450.05"), 120, Decimal("2450.1"), 80),
            (Decimal("2450.0"), 300, Decimal("2450.15"), 95),
        ]
        assert full.ohlc[0].high == Decimal("2455.55") and full.ohlc[0].interval == "1d"

    run(fake, body)


def test_dropped_connection_is_resubscribed_within_5_seconds(fake, record_property, caplog):
    caplog.set_level(logging.DEBUG)
    redaction.install(caplog.handler)  # what the app does for every handler at startup
    token = fake.issue_token()

    async def body(feed: UpstoxFeed, ticks: Ticks) -> None:
        await feed.start()
        await feed.subscribe([RELIANCE, INFY], "ltpc")
        await feed.subscribe([NIFTY_FUT], "full")
        await in_thread(fake.wait_subscribed, [RELIANCE, INFY, NIFTY_FUT])
        assert fake.connection_count == 1
        connects = len(fake.ws_connects)

        t0 = time.monotonic()
        assert await in_thread(fake.drop_connections) == 1
        await in_thread(fake.wait_for, lambda: len(fake.ws_connects) > connects)
        t1 = await in_thread(fake.wait_subscribed, [RELIANCE, INFY], "ltpc")
        t2 = await in_thread(fake.wait_subscribed, [NIFTY_FUT], "full")
        took = max(t1, t2) - t0
        record_property("upstox_resubscribe_seconds", round(took, 3))
        print(f"\nupstox feed: dropped -> resubscribed in {took * 1000:.0f} ms")
        assert took < 5.0
        assert fake.subscriptions() == {RELIANCE: "ltpc", INFY: "ltpc", NIFTY_FUT: "full"}
        assert feed.connects == 2

        await in_thread(fake.push_ltpc, INFY, 1523.45)
        tick = await ticks.next()
        assert (tick.instrument_key, tick.ltp) == (INFY, Decimal("1523.45"))

    run(fake, body, token=token)
    # neither the token nor a feed URL's one-time code reaches the log (websockets logs the
    # URL at DEBUG; the app's redaction masks its code)
    assert token not in caplog.text
    assert re.search(r"code=[0-9a-f]{8}", caplog.text) is None
    assert "code=***" in caplog.text


def test_silent_feed_is_noticed_by_the_watchdog_and_reconnected(fake, record_property):
    async def body(feed: UpstoxFeed, ticks: Ticks) -> None:
        await feed.start()
        await feed.subscribe([RELIANCE])
        await in_thread(fake.wait_subscribed, [RELIANCE])
        await in_thread(fake.push_ltpc, RELIANCE, 100.05)
        assert (await ticks.next()).ltp == Decimal("100.05")
        connects = len(fake.ws_connects)

        t0 = time.monotonic()
        await in_thread(fake.go_silent)  # socket open, pings answered, no frames
        assert await in_thread(fake.push_ltpc, RELIANCE, 100.1) == 0
        await in_thread(fake.wait_for, lambda: len(fake.ws_connects) > connects, 5)
        t1 = await in_thread(fake.wait_for, lambda: fake.connection_count == 1 and (
            fake.subscriptions() == {RELIANCE: "ltpc"}
        ))  # fmt: skip
        took = t1 - t0
        record_property("upstox_silence_reconnect_seconds", round(took, 3))
        print(f"\nupstox feed: silent 0.5 s watchdog -> resubscribed in {took * 1000:.0f} ms")
        assert feed.silences == 1
        assert took < 5.0  # the 0.5 s of silence ran from the last frame, just before t0
        snapshot = await ticks.next()  # the new connection's initial feed: the last price
        assert snapshot.initial and snapshot.ltp == Decimal("100.1")
        await in_thread(fake.push_ltpc, RELIANCE, 100.15)
        live = await ticks.next()
        assert live.ltp == Decimal("100.15") and not live.initial

    run(fake, body, silence_timeout=0.5)


def test_the_watchdog_rests_while_the_market_is_shut(fake):
    async def body(feed: UpstoxFeed, ticks: Ticks) -> None:
        await feed.start()
        await feed.subscribe([RELIANCE])
        await in_thread(fake.wait_subscribed, [RELIANCE])
        await in_thread(fake.set_market_status, "NSE_EQ", "NORMAL_CLOSE")
        for _ in range(100):
            if feed.market_status.get("NSE_EQ") == "NORMAL_CLOSE":
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)  # twice the silence limit, and no frame
        assert feed.silences == 0 and feed.connects == 1
        await in_thread(fake.set_market_status, "NSE_EQ", "NORMAL_OPEN")
        await in_thread(fake.go_silent)
        await in_thread(fake.wait_for, lambda: len(fake.ws_connects) == 2)
        assert feed.silences == 1

    run(fake, body, silence_timeout=0.5)


def test_subscriptions_change_while_running(fake):
    async def body(feed: UpstoxFeed, ticks: Ticks) -> None:
        await feed.start()
        await feed.wait_connected(5)
        await feed.subscribe([RELIANCE, INFY])
        await in_thread(fake.wait_subscribed, [RELIANCE, INFY])
        await feed.unsubscribe([INFY])
        await in_thread(fake.wait_for, lambda: INFY not in fake.subscriptions())
        assert feed.subscriptions == {RELIANCE: "ltpc"}
        assert await in_thread(fake.push_ltpc, INFY, 1500.0) == 0
        await feed.subscribe([NIFTY_FUT], "full")
        await in_thread(fake.wait_subscribed, [NIFTY_FUT], "full")
        await in_thread(fake.push_ltpc, RELIANCE, 2450.05)
        assert (await ticks.next()).instrument_key == RELIANCE
        methods = [r.get("method") for _, r in fake.ws_requests]
        assert methods == ["sub", "unsub", "sub"]

        # a drop now brings back exactly the current set
        await in_thread(fake.drop_connections)
        await in_thread(fake.wait_for, lambda: fake.subscriptions() == {
            RELIANCE: "ltpc", NIFTY_FUT: "full",
        })  # fmt: skip

    run(fake, body)


def test_a_malformed_frame_is_dropped_and_the_feed_goes_on(fake):
    async def body(feed: UpstoxFeed, ticks: Ticks) -> None:
        await feed.start()
        await feed.subscribe([RELIANCE])
        await in_thread(fake.wait_subscribed, [RELIANCE])
        await in_thread(fake.push_raw, b"\xff\xff\xff not protobuf")
        await in_thread(fake.push_ltpc, RELIANCE, 2450.05)
        assert (await ticks.next()).ltp == Decimal("2450.05")
        assert feed.bad_frames == 1 and feed.connects == 1

    run(fake, body)


def test_an_expired_token_stops_the_feed_with_a_typed_error(fake):
    states: list[tuple[str, str]] = []

    async def body(feed: UpstoxFeed, ticks: Ticks) -> None:
        fake.expire_tokens()
        await feed.start()
        for _ in range(200):
            if feed.state == "failed":
                break
            await asyncio.sleep(0.01)
        assert feed.state == "failed"
        assert isinstance(feed.last_error, UpstoxTokenExpired)
        assert len(fake.requests_to("/v3/feed/market-data-feed/authorize")) == 1  # no hammering
        assert states[-1][0] == "failed" and "log in again" in states[-1][1]

    run(fake, body, on_status=lambda s, d: states.append((s, d)))


def test_a_used_feed_url_is_refused_and_a_fresh_one_is_fetched(fake):
    rest = UpstoxRest(UpstoxConfig(api_host=fake.api_url), access_token=fake.issue_token())
    url = rest.feed_authorize()
    urls = iter([url, url])  # the second connect reuses the one-time URL: refused with 403

    def authorize() -> str:
        return next(urls, None) or rest.feed_authorize()

    async def main() -> None:
        ticks = Ticks()
        feed = UpstoxFeed(authorize, ticks, backoff_start=0.05)
        await feed.start()
        await feed.subscribe([RELIANCE])
        await in_thread(fake.wait_subscribed, [RELIANCE])
        await in_thread(fake.drop_connections)
        await in_thread(fake.wait_for, lambda: len(fake.ws_connects) == 2 and (
            fake.subscriptions() == {RELIANCE: "ltpc"}
        ))  # fmt: skip
        assert feed.connects == 2
        await feed.close()
        assert not feed.connected and feed.state == "stopped"
        await in_thread(fake.wait_for, lambda: fake.connection_count == 0)

    asyncio.run(main())


def test_bad_subscriptions_are_refused_with_the_reason():
    async def main() -> None:
        feed = UpstoxFeed(lambda: "ws://127.0.0.1:9", lambda t: None)
        with pytest.raises(UpstoxInputError, match="NSE_EQ\\|INE002A01018"):
            await feed.subscribe(["RELIANCE"])
        with pytest.raises(UpstoxInputError, match="feed mode must be one of"):
            await feed.subscribe([RELIANCE], "depth")  # type: ignore[arg-type]
        with pytest.raises(UpstoxInputError, match="allows 2000 instruments in full mode"):
            await feed.subscribe([f"NSE_FO|{i}" for i in range(2001)], "full")
        assert feed.subscriptions == {}

    asyncio.run(main())


def test_frames_decode_without_a_connection():
    frame = pb.FeedResponse(type=pb.live_feed, currentTs=1_796_533_500_000)
    frame.feeds[RELIANCE].ltpc.ltp = 0.1 + 0.2  # a double that is not a short decimal
    frame.feeds[RELIANCE].requestMode = pb.ltpc
    index = frame.feeds["NSE_INDEX|Nifty 50"]
    index.fullFeed.indexFF.ltpc.ltp = 24150.35
    index.fullFeed.indexFF.marketOHLC.ohlc.add(interval="1d", open=24000.0, high=24200.5)
    index.requestMode = pb.full_d5
    ticks = {t.instrument_key: t for t in ticks_from_frame(frame.SerializeToString())}
    assert ticks[RELIANCE].ltp == Decimal("0.30000000000000004")  # what was sent, exactly
    assert ticks["NSE_INDEX|Nifty 50"].ltp == Decimal("24150.35")
    assert ticks["NSE_INDEX|Nifty 50"].ohlc[0].high == Decimal("24200.5")
    assert ticks[RELIANCE].received_at is not None
    with pytest.raises(UpstoxInputError, match="not an Upstox FeedResponse"):
        ticks_from_frame(b"\xff\xff\xff")


def test_the_feed_runs_on_the_apps_qt_event_loop(fake, aloop):
    """The app's loop is qasync on Qt's: the same client, ticks and reconnect work there."""

    async def main() -> None:
        rest = UpstoxRest(UpstoxConfig(api_host=fake.api_url), access_token=fake.issue_token())
        ticks = Ticks()
        feed = UpstoxFeed(rest.feed_authorize, ticks, backoff_start=0.05, silence_timeout=2.0)
        await feed.subscribe([RELIANCE])
        await feed.start()
        await in_thread(fake.wait_subscribed, [RELIANCE])
        await in_thread(fake.drop_connections)
        await in_thread(fake.wait_for, lambda: len(fake.ws_connects) == 2 and (
            fake.subscriptions() == {RELIANCE: "ltpc"}
        ))  # fmt: skip
        await in_thread(fake.push_ltpc, RELIANCE, 2450.05)
        assert (await ticks.next()).ltp == Decimal("2450.05")
        await feed.close()

    aloop.run_until_complete(asyncio.wait_for(main(), 20))
