"""The engine's event bus: publish typed events, subscribe by type and topic, deliver.

Kept deliberately small (after vn.py's event engine); everything else lives in components.

- Dispatch follows the MRO: a subscription to `Event` receives every event.
- Sync handlers run inside `publish`, in subscription order. Async handlers (`async def`, or
  anything returning an awaitable) become tasks on the loop; `await bus.drain()` waits for them.
- A failing handler is logged on "artha.bus" and the others still run.
- The bus belongs to the loop thread. Other threads (KiteTicker) use `publish_threadsafe`.
"""

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from engine.events import Event

E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None] | None]

log = logging.getLogger("artha.bus")


class Subscription:
    """Handle returned by `EventBus.subscribe`; `cancel()` stops delivery (idempotent)."""

    __slots__ = ("_bus", "active", "event_type", "handler", "topic")

    def __init__(
        self,
        bus: "EventBus",
        event_type: type[Event],
        handler: Callable[[Any], Awaitable[None] | None],
        topic: str | None,
    ) -> None:
        self._bus = bus
        self.event_type = event_type
        self.handler = handler
        self.topic = topic
        self.active = True

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self._bus._remove(self)

    def __repr__(self) -> str:
        state = "active" if self.active else "cancelled"
        return f"<Subscription {self.event_type.__name__} topic={self.topic!r} {state}>"


def _name(handler: object) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


class EventBus:
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._subscriptions: list[Subscription] = []
        # (event type, topic) -> matching subscriptions in order; rebuilt after (un)subscribe.
        self._routes: dict[tuple[type[Event], str | None], list[Subscription]] = {}
        self._queue: deque[Event] = deque()
        self._dispatching = False
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(
        self, event_type: type[E], handler: Handler[E], topic: str | None = None
    ) -> Subscription:
        """Deliver events that are instances of `event_type` (and, if given, match `topic`)."""
        self._current_loop()
        subscription = Subscription(self, event_type, handler, topic)
        self._subscriptions.append(subscription)
        self._routes.clear()
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        self._subscriptions.remove(subscription)
        self._routes.clear()

    def publish(self, event: Event) -> None:
        """Deliver `event` now, unless called from a handler: then it is queued and delivered
        once the current event has reached every handler, so every handler sees events in the
        order they were published (a nested publish must not overtake the event being sent)."""
        self._queue.append(event)
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue:
                self._dispatch(self._queue.popleft())
        finally:
            self._dispatching = False

    def publish_threadsafe(self, event: Event) -> None:
        """Hand `event` from another thread (e.g. a broker's websocket) to the loop thread."""
        loop = self._loop
        if loop is None:
            raise RuntimeError(
                "EventBus.publish_threadsafe needs an event loop: pass loop= to EventBus() or "
                "subscribe/publish once from the loop thread before starting other threads"
            )
        loop.call_soon_threadsafe(self.publish, event)

    async def drain(self) -> None:
        """Wait until every async handler task (including ones they spawn) has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _routes_for(self, event: Event) -> list[Subscription]:
        key = (type(event), event.topic)
        route = self._routes.get(key)
        if route is None:
            route = [
                s
                for s in self._subscriptions
                if issubclass(key[0], s.event_type) and s.topic in (None, key[1])
            ]
            self._routes[key] = route
        return route

    def _dispatch(self, event: Event) -> None:
        for subscription in self._routes_for(event):
            if not subscription.active:  # cancelled by an earlier handler of this event
                continue
            handler = subscription.handler
            try:
                result = handler(event)
            except Exception:
                log.exception("handler %s failed on %s", _name(handler), type(event).__name__)
                continue
            if inspect.isawaitable(result):
                self._schedule(handler, event, result)

    def _schedule(self, handler: object, event: Event, awaitable: Awaitable[None]) -> None:
        loop = self._current_loop()
        if loop is None or loop.is_closed():
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # it will never run: close it rather than leak a warning
            log.error(
                "async handler %s skipped for %s: no running event loop and none given to "
                "EventBus (or it is closed)",
                _name(handler),
                type(event).__name__,
            )
            return
        task = loop.create_task(self._guard(handler, event, awaitable))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(handler: object, event: Event, awaitable: Awaitable[None]) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("async handler %s failed on %s", _name(handler), type(event).__name__)

    def _current_loop(self) -> asyncio.AbstractEventLoop | None:
        """The running loop if any (remembered for publish_threadsafe), else the given one."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return self._loop
        if self._loop is None:
            self._loop = running
        return running
