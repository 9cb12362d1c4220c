"""Upstox's v2 portfolio stream, order updates only, on `websockets` (asyncio).

Why our own client: the SDK's `PortfolioDataStreamer` runs websocket-client in its own thread,
hard-codes the production URL and turns off certificate checks (as its market streamer does).

authorize (REST, in a thread: `GET /v2/feed/portfolio-stream-feed/authorize?update_types=
order`) -> connect to the one-time URL it returns -> read JSON messages -> hand each order
update, parsed like an order-book row, to a callback on the loop. A dropped connection is
reconnected with backoff, each time with a fresh authorize (the URL's code is single-use).
A refused token ends the stream at once, with no retries: the trader must log in, and
`start()` after the login runs it again.

Assumed message shape (Upstox's docs and SDK examples; not checked against the live feed):
one JSON object per text (or binary) frame, `{"update_type": "order", ...}` plus the fields
of an order-book row (`order_id`, `status`, `filled_quantity`, `average_price`, `tag`,
`instrument_token`, ...). Other update types (position, holding, gtt_order) are ignored; a
message without `update_type` but with an `order_id` counts as an order update; a JSON list
is read as several messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from brokers.upstox.errors import UpstoxAuthError, UpstoxError, UpstoxPermissionDenied
from brokers.upstox.models import OrderInfo
from brokers.upstox.rest import order_info
from brokers.upstox.socket_task import SocketTask

log = logging.getLogger(__name__)

OrderHandler = Callable[[OrderInfo], None]
StatusHandler = Callable[[str, str], None]


class UpstoxPortfolioStream(SocketTask):
    """One portfolio-stream connection, kept alive. `authorize` returns a fresh one-time URL
    (it blocks: run in a thread); `on_order` runs on the loop for every order update."""

    task_name = "upstox-portfolio-stream"

    def __init__(
        self,
        authorize: Callable[[], str],
        on_order: OrderHandler,
        *,
        backoff_start: float = 0.25,
        backoff_max: float = 10.0,
        open_timeout: float = 10.0,
        ping_interval: float | None = 10.0,
        on_status: StatusHandler | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        if backoff_start <= 0 or backoff_max < backoff_start:
            raise ValueError(
                f"portfolio stream backoff: need 0 < start <= max, got {backoff_start}, "
                f"{backoff_max}"
            )
        self._authorize = authorize
        self._on_order = on_order
        self._on_status = on_status
        self._backoff_start = backoff_start
        self._backoff_max = backoff_max
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._ssl = ssl_context
        self.state = "idle"
        self.connects = 0
        self.updates = 0
        self.bad_messages = 0
        self.last_error: Exception | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._connected.is_set()

    # ---- the connection loop -----------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff_start
        while not self._closing:
            self._set_state("connecting", "authorizing")
            try:
                url = await asyncio.to_thread(self._authorize)
            except (UpstoxAuthError, UpstoxPermissionDenied) as exc:
                # Retrying cannot help until the trader logs in (or fixes the app's rights).
                self.last_error = exc
                self._set_state("failed", exc.message)
                return
            except UpstoxError as exc:
                self.last_error = exc
                log.warning(
                    "upstox order updates: authorize failed (%s); retrying in %.2f s",
                    exc.message, delay,
                )  # fmt: skip
            except Exception as exc:  # a bug must not end the stream silently
                self.last_error = exc
                log.exception("upstox order updates: authorize raised; retrying in %.2f s", delay)
            else:
                if await self._session(url):
                    delay = self._backoff_start
            if self._closing:
                break
            self._set_state("reconnecting", f"in {delay:.2f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def _session(self, url: str) -> bool:
        """One connection's life; True if it opened (the backoff then starts again). The URL
        carries a one-time code, so it is never logged."""
        opened = False
        try:
            async with connect(
                url,
                open_timeout=self._open_timeout,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_interval,
                close_timeout=2,
                max_size=2**22,
                ssl=self._ssl if url.startswith("wss:") else None,
            ) as ws:
                self._ws = ws
                opened = True
                self.connects += 1
                self._connected.set()
                self._set_state("connected", "order updates")
                async for message in ws:
                    self._handle(message)
        except (OSError, TimeoutError, InvalidURI, InvalidHandshake, WebSocketException) as exc:
            self.last_error = exc
            log.info("upstox order updates: connection ended (%s)", type(exc).__name__)
        finally:
            self._ws = None
            self._connected.clear()
        return opened

    def _handle(self, message: str | bytes) -> None:
        try:
            text = message.decode() if isinstance(message, bytes) else message
            value = json.loads(text, parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            self.bad_messages += 1
            log.warning("upstox order updates: dropped an unreadable message (%d bytes)",
                        len(message))  # fmt: skip
            return
        for item in value if isinstance(value, list) else [value]:
            self._one(item)

    def _one(self, item: Any) -> None:
        if not isinstance(item, dict):
            self.bad_messages += 1
            log.warning("upstox order updates: dropped a message that is not an object")
            return
        kind = item.get("update_type")
        if kind != "order" and not (kind is None and "order_id" in item):
            return  # position / holding / gtt updates: not asked for, not used
        try:
            info = order_info(item, "an order update")
        except UpstoxError as exc:
            self.bad_messages += 1
            log.warning("upstox order updates: %s", exc.message)
            return
        self.updates += 1
        try:
            self._on_order(info)
        except Exception:
            log.exception("upstox order updates: handler failed for order %s", info.order_id)

    def _set_state(self, state: str, detail: str) -> None:
        self.state = state
        if self._on_status is not None:
            try:
                self._on_status(state, detail)
            except Exception:
                log.exception("upstox order updates: status handler failed")


__all__ = ["UpstoxPortfolioStream"]
