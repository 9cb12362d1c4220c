"""The lifecycle both of Upstox's websocket clients share (the market feed and the order
stream): one background task running the subclass's connect-and-read loop, started again
after a close or a refused token, and closed for good with its socket."""

from __future__ import annotations

import asyncio
import contextlib

from websockets.asyncio.client import ClientConnection


class SocketTask:
    """Subclasses implement `_run` (connect, read, reconnect until `_closing`) and
    `_set_state`; they set `_ws` while a socket is open and `_connected` once it is usable."""

    task_name = "upstox-socket"

    def __init__(self) -> None:
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._connected = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Run (or run again, after close() or a refused token) in the background."""
        if self.running:
            return
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.task_name)

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        """Stop for good: close the socket, end the task (what it was asked to carry is
        kept for the next start)."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._ws = None
        self._connected.clear()
        self._set_state("stopped", "closed")

    async def _run(self) -> None:
        raise NotImplementedError

    def _set_state(self, state: str, detail: str) -> None:
        raise NotImplementedError
