"""The event bus: delivery order, topics, MRO dispatch, errors, async handlers and threads."""

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from engine.bus import EventBus
from engine.domain import Bar, Tick
from engine.events import BarEvent, Event, Notice, TickEvent

T0 = datetime(2024, 6, 3, 9, 15, tzinfo=ZoneInfo("Asia/Kolkata"))


def tick(symbol: str = "NSE:RELIANCE", ltp: str = "100") -> TickEvent:
    return TickEvent(Tick(symbol, T0, Decimal(ltp), 10))


def bar(symbol: str = "NSE:RELIANCE") -> BarEvent:
    one = Decimal("100")
    return BarEvent(Bar(symbol, "1m", T0, one, one, one, one, 5))


def notice(message: str) -> Notice:
    return Notice("info", message, "test")


def test_sync_handlers_run_immediately_in_subscription_order() -> None:
    bus = EventBus()
    calls: list[str] = []
    bus.subscribe(TickEvent, lambda e: calls.append("first"))
    bus.subscribe(Event, lambda e: calls.append("base"))
    bus.subscribe(TickEvent, lambda e: calls.append("third"))
    bus.publish(tick())
    assert calls == ["first", "base", "third"]


def test_topic_filtering() -> None:
    bus = EventBus()
    reliance: list[Event] = []
    everything: list[Event] = []
    bus.subscribe(TickEvent, reliance.append, topic="NSE:RELIANCE")
    bus.subscribe(TickEvent, everything.append)
    a, b = tick("NSE:RELIANCE"), tick("NSE:TCS")
    bus.publish(a)
    bus.publish(b)
    bus.publish(notice("no topic"))
    assert reliance == [a]
    assert everything == [a, b]
    assert a.topic == "NSE:RELIANCE" and notice("x").topic is None


def test_subscribing_to_a_base_class_receives_subclasses() -> None:
    @dataclass(frozen=True, slots=True)
    class MarketEvent(Event):
        pass

    @dataclass(frozen=True, slots=True)
    class OpeningBell(MarketEvent):
        pass

    bus = EventBus()
    market: list[Event] = []
    bells: list[Event] = []
    everything: list[Event] = []
    bus.subscribe(MarketEvent, market.append)
    bus.subscribe(OpeningBell, bells.append)
    bus.subscribe(Event, everything.append)
    bell, generic, other = OpeningBell(), MarketEvent(), bar()
    for event in (bell, generic, other):
        bus.publish(event)
    assert market == [bell, generic]
    assert bells == [bell]
    assert everything == [bell, generic, other]


def test_cancel_stops_delivery() -> None:
    bus = EventBus()
    seen: list[Event] = []
    subscription = bus.subscribe(TickEvent, seen.append)
    bus.publish(tick())
    subscription.cancel()
    subscription.cancel()  # idempotent
    bus.publish(tick())
    assert len(seen) == 1 and not subscription.active


def test_handler_cancelled_by_an_earlier_handler_misses_the_current_event() -> None:
    bus = EventBus()
    seen: list[str] = []
    later = None

    def first(event: TickEvent) -> None:
        seen.append("first")
        assert later is not None
        later.cancel()

    bus.subscribe(TickEvent, first)
    later = bus.subscribe(TickEvent, lambda e: seen.append("later"))
    bus.publish(tick())
    assert seen == ["first"]


def test_a_failing_sync_handler_is_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(event: TickEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe(TickEvent, broken)
    bus.subscribe(TickEvent, seen.append)
    with caplog.at_level(logging.ERROR, logger="artha.bus"):
        bus.publish(tick())
    assert len(seen) == 1
    [record] = caplog.records
    assert record.name == "artha.bus" and record.exc_info is not None
    assert "broken" in record.getMessage() and "TickEvent" in record.getMessage()


def test_a_failing_async_handler_is_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    async def broken(event: TickEvent) -> None:
        await asyncio.sleep(0)
        raise ValueError("async boom")

    async def fine(event: TickEvent) -> None:
        await asyncio.sleep(0)
        seen.append("async")

    async def main() -> None:
        bus = EventBus()
        bus.subscribe(TickEvent, broken)
        bus.subscribe(TickEvent, fine)
        bus.subscribe(TickEvent, lambda e: seen.append("sync"))
        bus.publish(tick())
        await bus.drain()

    with caplog.at_level(logging.ERROR, logger="artha.bus"):
        asyncio.run(main())
    assert sorted(seen) == ["async", "sync"]
    [record] = caplog.records
    assert "broken" in record.getMessage() and "TickEvent" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


def test_async_handlers_run_as_tasks_on_the_loop_and_drain_waits() -> None:
    seen: list[str] = []

    async def slow(event: Event) -> None:
        await asyncio.sleep(0.01)
        seen.append("slow done")

    async def main() -> None:
        bus = EventBus()
        bus.subscribe(Event, slow)
        bus.subscribe(Event, lambda e: seen.append("sync"))
        bus.publish(notice("hi"))
        assert seen == ["sync"]  # the async handler has only been scheduled
        await bus.drain()
        assert seen == ["sync", "slow done"]

    asyncio.run(main())


def test_drain_waits_for_tasks_spawned_by_async_handlers() -> None:
    seen: list[str] = []

    async def main() -> None:
        bus = EventBus()

        async def on_tick(event: TickEvent) -> None:
            await asyncio.sleep(0)
            bus.publish(notice("from tick"))

        async def on_notice(event: Notice) -> None:
            await asyncio.sleep(0.01)
            seen.append(event.message)

        bus.subscribe(TickEvent, on_tick)
        bus.subscribe(Notice, on_notice)
        bus.publish(tick())
        await bus.drain()

    asyncio.run(main())
    assert seen == ["from tick"]


def test_reentrant_publish_is_delivered_after_the_current_event() -> None:
    bus = EventBus()
    log: list[str] = []

    def first(event: Event) -> None:
        log.append(f"first:{describe(event)}")
        if isinstance(event, TickEvent):
            bus.publish(notice("A"))
            bus.publish(notice("B"))

    def second(event: Event) -> None:
        log.append(f"second:{describe(event)}")

    bus.subscribe(Event, first)
    bus.subscribe(Event, second)
    bus.publish(tick())
    assert log == [
        "first:tick",
        "second:tick",  # the tick reaches every handler before the nested notices
        "first:A",
        "second:A",
        "first:B",
        "second:B",
    ]


def describe(event: Event) -> str:
    return event.message if isinstance(event, Notice) else "tick"


def test_publish_threadsafe_delivers_on_the_loop_thread() -> None:
    handler_threads: list[int] = []

    async def main() -> int:
        bus = EventBus()
        delivered = asyncio.Event()

        def on_tick(event: TickEvent) -> None:
            handler_threads.append(threading.get_ident())
            delivered.set()

        bus.subscribe(TickEvent, on_tick)  # from the loop: the bus remembers it
        feed = threading.Thread(target=bus.publish_threadsafe, args=(tick(),))
        feed.start()
        await asyncio.wait_for(delivered.wait(), timeout=5)
        feed.join()
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert handler_threads == [loop_thread]


def test_publish_threadsafe_uses_the_loop_given_to_the_bus() -> None:
    loop = asyncio.new_event_loop()
    try:
        bus = EventBus(loop)
        seen: list[Event] = []
        bus.subscribe(TickEvent, seen.append)
        feed = threading.Thread(target=bus.publish_threadsafe, args=(tick(),))
        feed.start()
        feed.join()
        assert seen == []  # nothing runs until the loop does
        loop.run_until_complete(asyncio.sleep(0))
        assert len(seen) == 1
    finally:
        loop.close()


def test_publish_threadsafe_without_a_loop_raises() -> None:
    with pytest.raises(RuntimeError, match="publish_threadsafe needs an event loop"):
        EventBus().publish_threadsafe(tick())


def test_async_handler_without_a_loop_is_logged_not_crashing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[Event] = []

    async def on_tick(event: TickEvent) -> None:
        seen.append(event)

    bus.subscribe(TickEvent, on_tick)
    bus.subscribe(TickEvent, seen.append)
    with caplog.at_level(logging.ERROR, logger="artha.bus"):
        bus.publish(tick())  # must not raise, nor leave a "never awaited" coroutine
    assert len(seen) == 1  # only the sync handler ran
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "on_tick" in record.getMessage() and "no running event loop" in record.getMessage()


def test_notice_level_is_checked() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        Notice("loud", "x", "test")  # type: ignore[arg-type]
