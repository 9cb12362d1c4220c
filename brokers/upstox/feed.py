"""Upstox's v3 market-data feed on `websockets` (asyncio), written here rather than taken from
the SDK, whose streamer hard-codes the production URL, turns off certificate checks and runs
its own thread.

authorize (REST, in a thread) -> connect to the one-time URL -> subscribe everything wanted
-> decode protobuf `FeedResponse` frames -> hand each instrument's update to a callback.
When the connection drops, or stays open but sends nothing for `silence_timeout` seconds
(a watchdog: pings alone do not prove the feed is alive), it reconnects with backoff and
subscribes again to everything subscribed at that moment. Subscriptions belong to this
object, not to a connection, so they can change at any time, connected or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import ssl
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from google.protobuf.message import DecodeError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from brokers.upstox.errors import UpstoxAuthError, UpstoxError, UpstoxInputError
from brokers.upstox.models import DepthLevel, FeedMode, FeedOhlc, FeedTick
from brokers.upstox.proto import MarketDataFeedV3_pb2 as pb
from brokers.upstox.socket_task import SocketTask
from engine.ist import IST

log = logging.getLogger(__name__)

#: Upstox's caps per connection (keys per mode).
MODE_LIMITS: Final[dict[str, int]] = {
    "ltpc": 5000,
    "full": 2000,
    "option_greeks": 3000,
    "full_d30": 50,
}
#: Market states in which a silent feed is normal (no trades to report).
QUIET_STATUSES: Final = frozenset({"NORMAL_CLOSE", "CLOSING_END", "PRE_OPEN_END"})
_MODE_NAMES: Final = {"ltpc": "ltpc", "full_d5": "full", "option_greeks": "option_greeks",
                      "full_d30": "full_d30"}  # fmt: skip

TickHandler = Callable[[FeedTick], None]
StatusHandler = Callable[[str, str], None]


class UpstoxFeed(SocketTask):
    """One v3 feed connection, kept alive. `authorize` returns a fresh one-time URL (it
    blocks: it is run in a thread); `on_tick` runs on the loop for every instrument update."""

    task_name = "upstox-feed"

    def __init__(
        self,
        authorize: Callable[[], str],
        on_tick: TickHandler,
        *,
        silence_timeout: float | None = 15.0,
        backoff_start: float = 0.25,
        backoff_max: float = 10.0,
        open_timeout: float = 10.0,
        ping_interval: float | None = 10.0,
        on_status: StatusHandler | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        if silence_timeout is not None and silence_timeout <= 0:
            raise ValueError(f"silence_timeout must be positive or None, not {silence_timeout}")
        self._authorize = authorize
        self._on_tick = on_tick
        self._on_status = on_status
        self._silence = silence_timeout
        self._backoff_start = backoff_start
        self._backoff_max = backoff_max
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._ssl = ssl_context
        self._subs: dict[str, str] = {}
        self.state = "idle"
        self.connects = 0
        self.silences = 0
        self.bad_frames = 0
        self.last_error: Exception | None = None
        self.market_status: dict[str, str] = {}

    # ---- public ------------------------------------------------------------------------

    @property
    def subscriptions(self) -> dict[str, str]:
        """Instrument key -> mode, as wanted (sent again on every reconnect)."""
        return dict(self._subs)

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._connected.is_set()

    async def subscribe(self, keys: Iterable[str], mode: FeedMode = "ltpc") -> None:
        wanted = _keys(keys)
        self._check_mode(mode, wanted)
        for k in wanted:
            self._subs[k] = mode
        await self._send("sub", wanted, mode)

    async def unsubscribe(self, keys: Iterable[str]) -> None:
        gone = [k for k in _keys(keys) if k in self._subs]
        for k in gone:
            del self._subs[k]
        await self._send("unsub", gone, None)

    async def change_mode(self, keys: Iterable[str], mode: FeedMode) -> None:
        wanted = [k for k in _keys(keys) if k in self._subs]
        self._check_mode(mode, wanted)
        for k in wanted:
            self._subs[k] = mode
        await self._send("change_mode", wanted, mode)

    # ---- the connection loop -----------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff_start
        while not self._closing:
            self._set_state("connecting", "authorizing")
            try:
                url = await asyncio.to_thread(self._authorize)
            except UpstoxAuthError as exc:
                self.last_error = exc
                self._set_state("failed", str(exc))
                return
            except UpstoxError as exc:
                self.last_error = exc
                log.warning("upstox feed: authorize failed (%s); retrying in %.2f s", exc, delay)
            except Exception as exc:  # a bug must not end the feed silently
                self.last_error = exc
                log.exception("upstox feed: authorize raised; retrying in %.2f s", delay)
            else:
                healthy = await self._session(url)
                if healthy:
                    delay = self._backoff_start
            if self._closing:
                break
            self._set_state("reconnecting", f"in {delay:.2f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def _session(self, url: str) -> bool:
        """One connection's life; True if it delivered at least one frame."""
        healthy = False
        try:
            async with connect(
                url,
                open_timeout=self._open_timeout,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_interval,
                close_timeout=2,
                max_size=None,
                ssl=self._ssl if url.startswith("wss:") else None,
            ) as ws:
                self._ws = ws
                self.connects += 1
                self._connected.set()
                self._set_state("connected", f"{len(self._subs)} instruments")
                await self._send_all(ws)
                while True:
                    try:
                        limit = self._watchdog_limit()
                        if limit is None:
                            frame = await ws.recv()
                        else:
                            frame = await asyncio.wait_for(ws.recv(), limit)
                    except TimeoutError:
                        self.silences += 1
                        log.warning(
                            "upstox feed: nothing for %.1f s on an open connection; reconnecting",
                            self._silence,
                        )
                        ws.transport.abort()
                        return healthy
                    healthy = True
                    self._handle(frame)
        except (OSError, TimeoutError, InvalidURI, InvalidHandshake, WebSocketException) as exc:
            self.last_error = exc
            log.info("upstox feed: connection ended (%s)", type(exc).__name__)
        finally:
            self._ws = None
            self._connected.clear()
        return healthy

    def _watchdog_limit(self) -> float | None:
        """How long silence may last now: not at all bounded with nothing subscribed, or when
        every subscribed segment's market is shut (Upstox streams nothing then; pings still
        catch a dead socket)."""
        if self._silence is None or not self._subs:
            return None
        segments = {k.split("|", 1)[0] for k in self._subs}
        statuses = [self.market_status.get(seg) for seg in segments]
        if statuses and all(st in QUIET_STATUSES for st in statuses):
            return None
        return self._silence

    async def _send_all(self, ws: ClientConnection) -> None:
        by_mode: dict[str, list[str]] = {}
        for k, mode in self._subs.items():
            by_mode.setdefault(mode, []).append(k)
        for mode, keys in by_mode.items():
            await ws.send(_request("sub", keys, mode))

    async def _send(self, method: str, keys: Sequence[str], mode: str | None) -> None:
        ws = self._ws
        if ws is None or not keys:
            return  # sent on (re)connect from self._subs
        # If this fails the loop reconnects and resubscribes from self._subs.
        with contextlib.suppress(WebSocketException):
            await ws.send(_request(method, keys, mode))

    def _check_mode(self, mode: str, keys: Sequence[str]) -> None:
        if mode not in MODE_LIMITS:
            raise UpstoxInputError(
                f"feed mode must be one of {', '.join(MODE_LIMITS)}, not {mode!r}"
            )
        count = len({k for k, m in self._subs.items() if m == mode} | set(keys))
        if count > MODE_LIMITS[mode]:
            raise UpstoxInputError(
                f"Upstox allows {MODE_LIMITS[mode]} instruments in {mode} mode on one "
                f"connection; this would make {count}"
            )

    def _handle(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            log.debug("upstox feed: ignored a text frame")
            return
        try:
            response = pb.FeedResponse.FromString(frame)
        except DecodeError:
            self.bad_frames += 1
            log.warning("upstox feed: dropped an unreadable frame (%d bytes)", len(frame))
            return
        if response.type == pb.market_info:
            self.market_status = {
                seg: pb.MarketStatus.Name(status)
                for seg, status in response.marketInfo.segmentStatus.items()
            }
            return
        for tick in ticks_from_response(response):
            if tick.instrument_key not in self._subs:
                continue
            try:
                self._on_tick(tick)
            except Exception:
                log.exception("upstox feed: tick handler failed for %s", tick.instrument_key)

    def _set_state(self, state: str, detail: str) -> None:
        self.state = state
        if self._on_status is not None:
            try:
                self._on_status(state, detail)
            except Exception:
                log.exception("upstox feed: status handler failed")


def _keys(keys: Iterable[str]) -> list[str]:
    if isinstance(keys, str):
        keys = [keys]
    out = []
    for k in keys:
        if not isinstance(k, str) or "|" not in k:
            raise UpstoxInputError(
                f"feed: instrument key must look like 'NSE_EQ|INE002A01018', not {k!r}"
            )
        out.append(k)
    return out


def _request(method: str, keys: Sequence[str], mode: str | None) -> bytes:
    """A feed request: JSON, sent as a binary frame (Upstox ignores text frames)."""
    data: dict[str, Any] = {"instrumentKeys": list(keys)}
    if mode is not None:
        data["mode"] = mode
    return json.dumps({"guid": uuid.uuid4().hex, "method": method, "data": data}).encode()


# ---- decoding ------------------------------------------------------------------------------


def ticks_from_frame(frame: bytes) -> list[FeedTick]:
    """Every instrument update in one binary frame (none for a market_info frame)."""
    try:
        response = pb.FeedResponse.FromString(frame)
    except DecodeError as exc:
        raise UpstoxInputError(f"not an Upstox FeedResponse frame ({len(frame)} bytes)") from exc
    return ticks_from_response(response)


def ticks_from_response(response: Any) -> list[FeedTick]:
    if response.type == pb.market_info:
        return []
    initial = response.type == pb.initial_feed
    received = _time(response.currentTs)
    out = []
    for key, feed in response.feeds.items():
        tick = _tick(key, feed, initial, received)
        if tick is not None:
            out.append(tick)
    return out


def _price(value: float) -> Decimal:
    """A protobuf double as the decimal it was written from (its shortest repr)."""
    if not math.isfinite(value):
        raise ValueError(f"not a price: {value}")
    return Decimal(repr(value))


def _time(ms: int) -> datetime | None:
    if ms <= 0:
        return None
    return datetime.fromtimestamp(ms // 1000, IST) + timedelta(milliseconds=ms % 1000)


def _tick(key: str, feed: Any, initial: bool, received: datetime | None) -> FeedTick | None:
    mode = _MODE_NAMES.get(pb.RequestMode.Name(feed.requestMode), "ltpc")
    kind = feed.WhichOneof("FeedUnion")
    try:
        if kind == "ltpc":
            return _from_ltpc(key, feed.ltpc, mode, initial, received)
        if kind == "firstLevelWithGreeks":
            first = feed.firstLevelWithGreeks
            tick = _from_ltpc(key, first.ltpc, mode, initial, received)
            q = first.firstDepth
            depth: tuple[DepthLevel, ...] = (
                DepthLevel(_price(q.bidP), q.bidQ, _price(q.askP), q.askQ),
            )
            return _replace(tick, volume=first.vtt, oi=_price(first.oi), depth=depth)
        if kind == "fullFeed":
            which = feed.fullFeed.WhichOneof("FullFeedUnion")
            if which == "indexFF":
                index = feed.fullFeed.indexFF
                tick = _from_ltpc(key, index.ltpc, mode, initial, received)
                return _replace(tick, ohlc=_ohlc(index.marketOHLC))
            if which == "marketFF":
                m = feed.fullFeed.marketFF
                tick = _from_ltpc(key, m.ltpc, mode, initial, received)
                depth = tuple(
                    DepthLevel(_price(q.bidP), q.bidQ, _price(q.askP), q.askQ)
                    for q in m.marketLevel.bidAskQuote
                )
                return _replace(
                    tick,
                    average_price=_price(m.atp),
                    volume=m.vtt,
                    oi=_price(m.oi),
                    total_buy_quantity=_price(m.tbq),
                    total_sell_quantity=_price(m.tsq),
                    depth=depth,
                    ohlc=_ohlc(m.marketOHLC),
                )
    except ValueError as exc:
        log.warning("upstox feed: skipped an update for %s (%s)", key, exc)
        return None
    return None


def _from_ltpc(
    key: str, ltpc: Any, mode: str, initial: bool, received: datetime | None
) -> FeedTick:
    return FeedTick(
        instrument_key=key,
        ltp=_price(ltpc.ltp),
        last_trade_time=_time(ltpc.ltt),
        last_trade_quantity=ltpc.ltq,
        close_price=_price(ltpc.cp),
        mode=mode,
        initial=initial,
        received_at=received,
    )


def _ohlc(market_ohlc: Any) -> tuple[FeedOhlc, ...]:
    return tuple(
        FeedOhlc(
            o.interval,
            _price(o.open),
            _price(o.high),
            _price(o.low),
            _price(o.close),
            o.vol,
            _time(o.ts),
        )
        for o in market_ohlc.ohlc
    )


def _replace(tick: FeedTick, **changes: Any) -> FeedTick:
    return replace(tick, **changes)


__all__ = ["MODE_LIMITS", "UpstoxFeed", "ticks_from_frame", "ticks_from_response"]
