"""The fake Kite ticker: a `websockets` server on its own thread and asyncio loop.

Speaks Kite's ticker protocol (india-domain.md §4.6): token in the query string, JSON text
commands in, 1-byte heartbeats every second, binary tick frames and JSON order updates out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakes.kite_ticks import HEARTBEAT, MODES, encode_frame, encode_packet, normalise_tick


@dataclass
class TickerClient:
    """One open ticker connection and what it has subscribed (token -> mode)."""

    connection: ServerConnection
    access_token: str
    opened: float
    modes: dict[int, str] = field(default_factory=dict)
    received: list[Any] = field(default_factory=list)  # parsed text commands, in order


@dataclass
class Handshake:
    """A connection attempt as the fake saw it (time is time.monotonic())."""

    time: float
    query: dict[str, list[str]]
    headers: dict[str, str]
    accepted: bool


class FakeTickerServer:
    """Owns the loop thread; every public method is safe to call from any thread."""

    def __init__(
        self, api_key: str, token_valid: Callable[[str], bool], heartbeat_s: float = 1.0
    ) -> None:
        self.api_key = api_key
        self.token_valid = token_valid
        self.heartbeat_s = heartbeat_s
        self.silent = False
        self.refuse_connections = False
        self.clients: list[TickerClient] = []
        self.handshakes: list[Handshake] = []
        self.changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.server: Server | None = None
        self.outbox: asyncio.Queue[tuple[str | bytes, Future[int] | None]] | None = None
        self.port = 0
        started = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(started,), name="fake-kite-ws", daemon=True
        )
        self.thread.start()
        if not started.wait(10):
            raise RuntimeError("fake ticker did not start")

    # ---- loop thread -----------------------------------------------------------------
    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.server = await serve(
                self._serve_client,
                "127.0.0.1",
                0,
                process_request=self._check_handshake,
                ping_interval=None,  # Kite's liveness signal is the 1 s heartbeat byte
                compression=None,
            )
            self.port = next(iter(self.server.sockets)).getsockname()[1]
            self.outbox = asyncio.Queue()
            self.loop.create_task(self._heartbeats())
            self.loop.create_task(self._drain_outbox())
            started.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        token = (query.get("access_token") or [""])[0]
        ok = (
            not self.refuse_connections
            and (query.get("api_key") or [""])[0] == self.api_key
            and self.token_valid(token)
        )
        with self.changed:
            self.handshakes.append(
                Handshake(time.monotonic(), query, dict(request.headers.raw_items()), ok)
            )
            self.changed.notify_all()
        if not ok:
            return connection.respond(HTTPStatus.FORBIDDEN, "Invalid api_key or access_token\n")
        return None

    async def _serve_client(self, connection: ServerConnection) -> None:
        query = parse_qs(urlsplit(connection.request.path if connection.request else "").query)
        client = TickerClient(connection, (query.get("access_token") or [""])[0], time.monotonic())
        with self.changed:
            self.clients.append(client)
            self.changed.notify_all()
        try:
            async for message in connection:
                self._command(client, message)
        except ConnectionClosed:
            pass
        finally:
            with self.changed:
                if client in self.clients:
                    self.clients.remove(client)
                self.changed.notify_all()

    def _command(self, client: TickerClient, message: str | bytes) -> None:
        try:
            command = json.loads(message)
            action, value = command["a"], command["v"]
        except (ValueError, KeyError, TypeError):
            return  # Kite ignores what it cannot read
        with self.changed:
            client.received.append(command)
            if action == "subscribe":
                for token in value:
                    client.modes.setdefault(int(token), "quote")
            elif action == "unsubscribe":
                for token in value:
                    client.modes.pop(int(token), None)
            elif action == "mode" and value[0] in MODES:
                for token in value[1]:
                    if int(token) in client.modes:
                        client.modes[int(token)] = value[0]
            self.changed.notify_all()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if not self.silent:
                for client in list(self.clients):
                    with contextlib.suppress(ConnectionClosed):
                        await client.connection.send(HEARTBEAT)

    async def _drain_outbox(self) -> None:
        """Text pushes go out one at a time, in the order they were made."""
        assert self.outbox is not None
        while True:
            payload, done = await self.outbox.get()
            sent = 0
            if not self.silent:
                for client in list(self.clients):
                    with contextlib.suppress(ConnectionClosed):
                        await client.connection.send(payload)
                        sent += 1
            if done is not None and not done.done():
                done.set_result(sent)

    def _call(self, coro: Any, timeout: float = 5.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    # ---- control (any thread) ----------------------------------------------------------
    def push_ticks(self, ticks: Iterable[Mapping[str, Any]]) -> int:
        """Send each client the ticks it subscribed, in its mode; returns frames sent."""
        normalised = [normalise_tick(t) for t in ticks]

        async def send() -> int:
            sent = 0
            if self.silent:
                return 0
            for client in list(self.clients):
                packets = [
                    encode_packet(t, client.modes[int(t["instrument_token"])])
                    for t in normalised
                    if int(t["instrument_token"]) in client.modes
                ]
                if packets:
                    with contextlib.suppress(ConnectionClosed):
                        await client.connection.send(encode_frame(packets))
                        sent += 1
            return sent

        result: int = self._call(send())
        return result

    def push_raw(self, payload: bytes | str, timeout: float = 5.0) -> int:
        """Any frame as-is to every client (binary for bytes, text for str); waits until
        sent and returns how many clients got it."""
        done: Future[int] = Future()
        self.loop.call_soon_threadsafe(self._enqueue, payload, done)
        return done.result(timeout)

    def push_text(self, message: Mapping[str, Any]) -> int:
        return self.push_raw(json.dumps(message, default=str))

    def push_text_nowait(self, message: Mapping[str, Any]) -> None:
        """Queue a text frame without waiting (safe while holding other locks)."""
        self.loop.call_soon_threadsafe(self._enqueue, json.dumps(message, default=str), None)

    def _enqueue(self, payload: str | bytes, done: Future[int] | None) -> None:
        assert self.outbox is not None
        self.outbox.put_nowait((payload, done))

    def drop_connections(self) -> int:
        """Abort every connection's TCP stream (no close frame): the client sees a dead link."""

        async def drop() -> int:
            with self.changed:  # forget them now: waiters must only see the reconnections
                clients = list(self.clients)
                self.clients.clear()
                self.changed.notify_all()
            for client in clients:
                transport = client.connection.transport
                if transport is not None:
                    transport.abort()
            return len(clients)

        result: int = self._call(drop())
        return result

    def subscriptions(self) -> list[dict[int, str]]:
        with self.changed:
            return [dict(c.modes) for c in self.clients]

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def close(self) -> None:
        async def stop() -> None:
            if self.server is not None:
                self.server.close()
                for client in list(self.clients):
                    if client.connection.transport is not None:
                        client.connection.transport.abort()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.server.wait_closed(), 2)
            for task in asyncio.all_tasks(self.loop):
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            self._call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()
