"""A fake Upstox on 127.0.0.1: REST (api host, order host, an HTTP proxy) and the v3 feed.

It speaks Upstox's shapes as upstox-python-sdk 2.30.0 and Upstox's docs describe them, so
our real client is tested against the protocol, not against itself. Assumptions where the
docs are thin (written down so a later reader can correct them):

* error codes: UDAPI100050 invalid/expired token (401); UDAPI10005 rate limit (429, no
  Retry-After); UDAPI100057 bad auth code, UDAPI100068 redirect_uri mismatch (400);
  UDAPI100069 wrong client_id/secret (401); UDAPI100010 order not found; UDAPI1163 missing
  market protection; UDAPI1170 more than 10 slices; UDAPI1171 over the freeze quantity;
  UDAPI1026 a field missing/invalid (with propertyPath); UDAPI1148 candle range too long.
* historical candles v3: GET /v3/historical-candle/{key}/{unit}/{interval}/{to}/{from},
  units minutes 1-300, hours 1-5, days/weeks/months 1; one request may span at most
  30 days (minutes <= 15), 90 days (minutes > 15, hours), 3650 days (days), any (weeks,
  months). Rows are [ISO time +05:30, open, high, low, close, volume, oi], newest first.
* the feed's authorize answer is {"authorizedRedirectUri": "ws(s)://.../feeds?requestId=..&
  code=.."}; the code is single-use. Client requests are JSON in binary frames; the server
  sends market_info first, then initial_feed on subscribe (for keys it has a price for), then
  live_feed frames.
* the portfolio stream (v2): GET /v2/feed/portfolio-stream-feed/authorize?update_types=order
  answers {"authorizedRedirectUri": "ws(s)://.../feeds?requestId=..&code=..&update_types=.."}
  (single-use code, as the market feed's). The server then sends one JSON text frame per
  change of an order: {"update_type": "order", "user_id": ..., "instrument_key": ..., plus
  every field of the order-book row}. Real Upstox also sends the intermediate statuses of a
  new order (put order req received, validation pending, open pending); set
  `portfolio_pre_statuses` to have them. The client sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import http.client
import itertools
import json
import math
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from brokers.upstox.proto import MarketDataFeedV3_pb2 as pb
from engine.ist import IST

OhlcRow = tuple[str, float, float, float, float, int, int]  # interval, o, h, l, c, vol, ts
# Upstox's instrument-key segment -> the exchange its order book names.
EXCHANGES = {"NSE_EQ": "NSE", "BSE_EQ": "BSE", "NSE_FO": "NFO", "BSE_FO": "BFO",
             "NSE_INDEX": "NSE", "BSE_INDEX": "BSE", "MCX_FO": "MCX"}  # fmt: skip
CLIENT_ID = "fake-upstox-client-id"
CLIENT_SECRET = "fake-upstox-client-secret"
REDIRECT_URI = "http://127.0.0.1:53682/upstox/callback"
MODES = {"ltpc": pb.ltpc, "full": pb.full_d5, "option_greeks": pb.option_greeks,
         "full_d30": pb.full_d30}  # fmt: skip
CANDLE_LIMITS = {"minutes": (1, 300), "hours": (1, 5), "days": (1, 1), "weeks": (1, 1),
                 "months": (1, 1)}  # fmt: skip


def candle_span_limit(unit: str, interval: int) -> int | None:
    if unit == "minutes":
        return 30 if interval <= 15 else 90
    if unit == "hours":
        return 90
    if unit == "days":
        return 3650
    return None


@dataclass
class Recorded:
    """One request as the fake saw it (headers with lower-case names)."""

    server: str  # "api", "order" or "proxy"
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class _Fault:
    status: int = 0
    code: str = ""
    message: str = ""
    malformed: bytes | None = None
    delay: float = 0.0
    prop: str | None = None


@dataclass
class _PortfolioConn:
    ws: ServerConnection
    types: frozenset[str]
    queue: asyncio.Queue[str | bytes]


PORTFOLIO_WS_PATH = "/portfolio-stream-feeder/v2/upstox-developer-api/feeds"
MARKET_WS_PATH = "/market-data-feeder/v3/upstox-developer-api/feeds"


@dataclass
class _Conn:
    ws: ServerConnection
    subs: dict[str, str] = field(default_factory=dict)
    silent: bool = False


class FakeUpstox:
    """Start with `with FakeUpstox() as fake:`; point the client at fake.api_url/order_url."""

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        redirect_uri: str = REDIRECT_URI,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.ws_requests: list[tuple[float, dict[str, Any]]] = []
        self.ws_connects: list[float] = []
        self._codes: set[str] = set()
        self._tokens: dict[str, bool] = {}
        self._ws_codes: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self.orders: dict[str, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.holdings: list[dict[str, Any]] = []
        self.extra_positions: list[dict[str, Any]] = []
        self.funds: dict[str, Any] = {
            "equity": {"used_margin": 1250.5, "payin_amount": 0, "span_margin": 0,
                       "adhoc_margin": 0, "notional_cash": 0, "available_margin": 98749.5,
                       "exposure_margin": 0},
            "commodity": {"used_margin": 0, "payin_amount": 0, "span_margin": 0,
                          "adhoc_margin": 0, "notional_cash": 0, "available_margin": 0,
                          "exposure_margin": 0},
        }  # fmt: skip
        self.freeze_quantity: dict[str, int] = {}
        #: exchange ("NSE", "BSE") -> rows of its daily instrument file (public, gzipped)
        self.instrument_files: dict[str, list[dict[str, Any]]] = {}
        #: instrument key -> trading symbol in the order book (default: the key's id part)
        self.trading_symbols: dict[str, str] = {}
        self.last_price: dict[str, float] = {}
        #: segment -> MarketStatus name, sent as market_info first on every connection
        self.market_status: dict[str, str] = dict.fromkeys(
            ("NSE_EQ", "NSE_FO", "BSE_EQ", "BSE_FO", "MCX_FO", "NSE_INDEX"), "NORMAL_OPEN"
        )
        self.candles: dict[tuple[str, str, int], list[list[Any]]] = {}
        self._ids = itertools.count(1)
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._loop = asyncio.new_event_loop()
        self._ws_server: Server | None = None
        self._conns: list[_Conn] = []
        self.ws_port = 0
        #: the portfolio stream: connections, their open times, statuses sent before "open"
        self._portfolio_conns: list[_PortfolioConn] = []
        self.portfolio_connects: list[float] = []
        self.portfolio_pre_statuses: tuple[str, ...] = ()
        self.portfolio_sent: list[dict[str, Any]] = []

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeUpstox:
        for name in ("api", "order"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self, name))
            server.daemon_threads = True
            self._servers[name] = server
        proxy = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler_for(self))
        proxy.daemon_threads = True
        self._servers["proxy"] = proxy
        for server in self._servers.values():
            t = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
            t.start()
            self._threads.append(t)
        loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        loop_thread.start()
        self._threads.append(loop_thread)
        self._ws_server = self._run(self._start_ws())
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        if self._ws_server is not None:
            self._run(self._stop_ws(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        for t in self._threads:
            t.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> FakeUpstox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _url(self, name: str) -> str:
        host, port = self._servers[name].server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self._url("api")

    @property
    def order_url(self) -> str:
        return self._url("order")

    @property
    def proxy_url(self) -> str:
        return self._url("proxy")

    # ---- control: auth -----------------------------------------------------------------

    def issue_code(self) -> str:
        """A one-time authorization code, as Upstox gives after the trader logs in."""
        code = uuid.uuid4().hex[:6]
        with self.lock:
            self._codes.add(code)
        return code

    def issue_token(self) -> str:
        """A valid access token without the login dance (for tests about other things)."""
        token = "tok-" + uuid.uuid4().hex
        with self.lock:
            self._tokens[token] = True
        return token

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self._tokens:
                self._tokens[token] = False

    # ---- control: faults ---------------------------------------------------------------

    def fail_next(
        self, route: str, status: int, code: str = "", message: str = "", prop: str | None = None
    ) -> None:
        """The next request whose path starts with `route` gets this error answer (`prop`:
        the propertyPath Upstox names for a field error)."""
        with self.lock:
            self._faults[route].append(_Fault(status=status, code=code, message=message, prop=prop))

    def rate_limit_next(self, route: str) -> None:
        self.fail_next(route, 429, "UDAPI10005", "Too Many Request Sent")

    def malformed_next(self, route: str, body: bytes = b"<html>upstream hiccup</html>") -> None:
        with self.lock:
            self._faults[route].append(_Fault(malformed=body))

    def delay_next(self, route: str, seconds: float) -> None:
        with self.lock:
            self._faults[route].append(_Fault(delay=seconds))

    def _take_fault(self, path: str) -> _Fault | None:
        with self.lock:
            for route, queue in self._faults.items():
                if queue and path.startswith(route):
                    return queue.popleft()
        return None

    def requests_to(self, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    # ---- control: orders ---------------------------------------------------------------

    def fill_order(self, order_id: str, price: float | None = None) -> None:
        with self.lock:
            order = self.orders[order_id]
            self._fill(order, price if price is not None else order["price"])

    def reject_order(self, order_id: str, message: str) -> None:
        with self.lock:
            order = self.orders[order_id]
            order.update(status="rejected", status_message=message, pending_quantity=0)
            self._emit_order(order)

    def _fill(self, order: dict[str, Any], price: float) -> None:
        qty = order["quantity"] - order["filled_quantity"]
        order.update(
            status="complete", average_price=price, filled_quantity=order["quantity"],
            pending_quantity=0, exchange_timestamp=_now_text(),
        )  # fmt: skip
        self.trades.append(
            {
                "exchange": order["exchange"], "product": order["product"],
                "tradingsymbol": order["trading_symbol"],
                "trading_symbol": order["trading_symbol"],
                "instrument_token": order["instrument_token"],
                "order_type": order["order_type"],
                "transaction_type": order["transaction_type"], "quantity": qty,
                "exchange_order_id": order["exchange_order_id"], "order_id": order["order_id"],
                "exchange_timestamp": _now_text(), "average_price": price,
                "trade_id": f"T{next(self._ids):08d}", "order_ref_id": None,
                "order_timestamp": order["order_timestamp"],
            }
        )  # fmt: skip
        self._emit_order(order)

    def positions(self) -> list[dict[str, Any]]:
        """Net day positions from the fills, plus any set by the test."""
        book: dict[tuple[str, str], dict[str, Any]] = {}
        for t in self.trades:
            p = book.setdefault(
                (t["instrument_token"], t["product"]),
                {"exchange": t["exchange"], "multiplier": 1.0, "value": 0.0, "pnl": 0.0,
                 "product": t["product"], "instrument_token": t["instrument_token"],
                 "average_price": 0.0, "buy_value": 0.0, "overnight_quantity": 0,
                 "day_buy_value": 0.0, "day_buy_price": 0.0, "overnight_buy_amount": 0.0,
                 "overnight_buy_quantity": 0, "day_buy_quantity": 0, "day_sell_value": 0.0,
                 "day_sell_price": 0.0, "overnight_sell_amount": 0.0,
                 "overnight_sell_quantity": 0, "day_sell_quantity": 0, "quantity": 0,
                 "last_price": self.last_price.get(t["instrument_token"], 0.0),
                 "unrealised": 0.0, "realised": 0.0, "sell_value": 0.0,
                 "tradingsymbol": t["trading_symbol"], "trading_symbol": t["trading_symbol"],
                 "close_price": 0.0, "buy_price": 0.0, "sell_price": 0.0},
            )  # fmt: skip
            value = t["quantity"] * t["average_price"]
            if t["transaction_type"] == "BUY":
                p["day_buy_quantity"] += t["quantity"]
                p["day_buy_value"] += value
                p["quantity"] += t["quantity"]
            else:
                p["day_sell_quantity"] += t["quantity"]
                p["day_sell_value"] += value
                p["quantity"] -= t["quantity"]
            if p["day_buy_quantity"]:
                p["average_price"] = p["buy_price"] = p["day_buy_price"] = round(
                    p["day_buy_value"] / p["day_buy_quantity"], 2
                )
        return [*book.values(), *self.extra_positions]

    # ---- control: market data ----------------------------------------------------------

    def set_candles(self, key: str, unit: str, interval: int, rows: list[list[Any]]) -> None:
        with self.lock:
            self.candles[(key, unit, interval)] = rows

    def subscriptions(self) -> dict[str, str]:
        """Instrument key -> mode, over every open feed connection."""
        with self.lock:
            out: dict[str, str] = {}
            for conn in self._conns:
                out.update(conn.subs)
            return out

    @property
    def connection_count(self) -> int:
        with self.lock:
            return len(self._conns)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> float:
        """Poll until predicate() holds; return the monotonic time it first did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return time.monotonic()
            time.sleep(0.005)
        raise AssertionError(f"fake upstox: condition not met within {timeout} s")

    def wait_subscribed(self, keys: Sequence[str], mode: str | None = None,
                        timeout: float = 5.0) -> float:  # fmt: skip
        def ok() -> bool:
            subs = self.subscriptions()
            return all(k in subs and (mode is None or subs[k] == mode) for k in keys)

        return self.wait_for(ok, timeout)

    def push_ltpc(self, key: str, ltp: float, *, ltt_ms: int | None = None, ltq: int = 1,
                  cp: float = 0.0) -> int:  # fmt: skip
        """Send a live tick to every connection subscribed to `key`; returns how many."""
        self.last_price[key] = ltp
        ltpc = pb.LTPC(ltp=ltp, ltt=ltt_ms if ltt_ms is not None else _now_ms(), ltq=ltq, cp=cp)
        return self._run(self._broadcast(key, ltpc, None))

    def push_full(self, key: str, ltp: float, *, ltt_ms: int | None = None, ltq: int = 1,
                  cp: float = 0.0, depth: Sequence[tuple[float, int, float, int]] = (),
                  atp: float = 0.0, vtt: int = 0, oi: float = 0.0, tbq: float = 0.0,
                  tsq: float = 0.0, ohlc: Sequence[OhlcRow] = ()) -> int:  # fmt: skip
        """A full (5-level) update; ltpc-mode subscribers get its ltpc part."""
        self.last_price[key] = ltp
        ltpc = pb.LTPC(ltp=ltp, ltt=ltt_ms if ltt_ms is not None else _now_ms(), ltq=ltq, cp=cp)
        full = pb.MarketFullFeed(ltpc=ltpc, atp=atp, vtt=vtt, oi=oi, tbq=tbq, tsq=tsq)
        for bp, bq, ap, aq in depth:
            full.marketLevel.bidAskQuote.add(bidP=bp, bidQ=bq, askP=ap, askQ=aq)
        for interval, o, h, lo, c, vol, ts in ohlc:
            full.marketOHLC.ohlc.add(interval=interval, open=o, high=h, low=lo, close=c,
                                     vol=vol, ts=ts)  # fmt: skip
        return self._run(self._broadcast(key, ltpc, full))

    def push_raw(self, data: bytes) -> None:
        """Send arbitrary bytes to every connection (a malformed frame, say)."""

        async def send() -> None:
            for conn in list(self._conns):
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(data)

        self._run(send())

    def drop_connections(self) -> int:
        """Cut every feed connection without a close frame, as a network drop does."""

        async def drop() -> int:
            conns = list(self._conns)
            for conn in conns:
                conn.ws.transport.abort()
            return len(conns)

        return self._run(drop())

    def go_silent(self) -> None:
        """Open connections stay open (pings answered) but get no frames; new ones talk."""
        with self.lock:
            for conn in self._conns:
                conn.silent = True

    def resume(self) -> None:
        with self.lock:
            for conn in self._conns:
                conn.silent = False

    # ---- the websocket side ------------------------------------------------------------

    def _run(self, coro: Any, timeout: float = 5.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start_ws(self) -> Server:
        server = await serve(self._ws_session, "127.0.0.1", 0, process_request=self._ws_gate)
        self.ws_port = next(iter(server.sockets)).getsockname()[1]
        return server

    async def _stop_ws(self) -> None:
        assert self._ws_server is not None
        self._ws_server.close()
        await self._ws_server.wait_closed()

    def _ws_gate(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        code = parse_qs(parts.query).get("code", [""])[0]
        with self.lock:
            ok = parts.path in (MARKET_WS_PATH, PORTFOLIO_WS_PATH) and code in self._ws_codes
            self._ws_codes.discard(code)
        if not ok:
            return connection.respond(403, "Forbidden: unknown or used feed code\n")
        return None

    async def _ws_session(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        parts = urlsplit(ws.request.path)
        if parts.path == PORTFOLIO_WS_PATH:
            types = parse_qs(parts.query).get("update_types", ["order"])[0].split(",")
            await self._portfolio_session(ws, frozenset(types))
            return
        conn = _Conn(ws)
        with self.lock:
            self._conns.append(conn)
            self.ws_connects.append(time.monotonic())
        try:
            await ws.send(self._market_info())
            async for message in ws:
                await self._ws_request(conn, message)
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                self._conns.remove(conn)

    # ---- the portfolio stream ---------------------------------------------------------

    async def _portfolio_session(self, ws: ServerConnection, types: frozenset[str]) -> None:
        """Send what is queued for this connection until it closes (the client sends
        nothing; reading notices the close)."""
        conn = _PortfolioConn(ws, types, asyncio.Queue())
        with self.lock:
            self._portfolio_conns.append(conn)
            self.portfolio_connects.append(time.monotonic())

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pass

        reader = asyncio.ensure_future(read())
        try:
            while True:
                item = asyncio.ensure_future(conn.queue.get())
                done, _ = await asyncio.wait({item, reader}, return_when=asyncio.FIRST_COMPLETED)
                if item not in done:
                    item.cancel()
                    break
                await ws.send(item.result())
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()
            with self.lock:
                self._portfolio_conns.remove(conn)

    def _emit_order(self, order: dict[str, Any]) -> None:
        """Queue an order update for every portfolio connection that asked for orders, in
        book order (called under the lock, from any thread)."""
        message = {"update_type": "order", "user_id": "AB1234", "userId": "AB1234",
                   "instrument_key": order["instrument_token"], **order}  # fmt: skip
        self.portfolio_sent.append(message)
        text = json.dumps(message)
        with contextlib.suppress(RuntimeError):  # the fake is stopping
            self._loop.call_soon_threadsafe(self._fan_out, "order", text)

    def _fan_out(self, kind: str, data: str | bytes) -> None:
        with self.lock:
            conns = [c for c in self._portfolio_conns if kind in c.types]
        for conn in conns:
            conn.queue.put_nowait(data)

    def push_portfolio_raw(self, data: str | bytes) -> None:
        """Send anything to every portfolio connection (a malformed or foreign message)."""
        with self.lock:
            conns = list(self._portfolio_conns)
        for conn in conns:
            self._loop.call_soon_threadsafe(conn.queue.put_nowait, data)

    def drop_portfolio_connections(self) -> int:
        """Cut every portfolio connection without a close frame, as a network drop does."""

        async def drop() -> int:
            with self.lock:
                conns = list(self._portfolio_conns)
            for conn in conns:
                conn.ws.transport.abort()
            return len(conns)

        count: int = self._run(drop())
        return count

    @property
    def portfolio_connection_count(self) -> int:
        with self.lock:
            return len(self._portfolio_conns)

    def place_elsewhere(self, key: str, quantity: int, price: float, *, side: str = "BUY",
                        product: str = "D") -> str:  # fmt: skip
        """An order placed outside Artha (Upstox's app, say): in the book, no tag."""
        req = {"quantity": quantity, "product": product, "validity": "DAY", "price": price,
               "trigger_price": 0, "instrument_token": key, "order_type": "LIMIT",
               "transaction_type": side, "disclosed_quantity": 0, "is_amo": False}  # fmt: skip
        with self.lock:
            _, _, body = self._place(req)
        order_id: str = json.loads(body)["data"]["order_ids"][0]
        return order_id

    def _market_info(self) -> bytes:
        info = pb.FeedResponse(type=pb.market_info, currentTs=_now_ms())
        with self.lock:
            for segment, status in self.market_status.items():
                info.marketInfo.segmentStatus[segment] = pb.MarketStatus.Value(status)
        return info.SerializeToString()

    def set_market_status(self, segment: str, status: str) -> None:
        """Change a segment's status (e.g. NORMAL_CLOSE) and tell every connection."""
        with self.lock:
            self.market_status[segment] = status
        frame = self._market_info()

        async def send() -> None:
            for conn in list(self._conns):
                if not conn.silent:
                    with contextlib.suppress(ConnectionClosed):
                        await conn.ws.send(frame)

        self._run(send())

    async def _ws_request(self, conn: _Conn, message: str | bytes) -> None:
        if isinstance(message, str):  # Upstox wants binary frames; a text one is ignored
            with self.lock:
                self.ws_requests.append((time.monotonic(), {"ignored_text": message}))
            return
        request = json.loads(message)
        with self.lock:
            self.ws_requests.append((time.monotonic(), request))
        method = request.get("method")
        data = request.get("data", {})
        keys = list(data.get("instrumentKeys", []))
        mode = data.get("mode", "ltpc")
        with self.lock:
            if method == "sub":
                for k in keys:
                    conn.subs[k] = mode
            elif method == "unsub":
                for k in keys:
                    conn.subs.pop(k, None)
            elif method == "change_mode":
                for k in keys:
                    if k in conn.subs:
                        conn.subs[k] = mode
            known = {k: self.last_price[k] for k in keys if k in self.last_price}
            silent = conn.silent
        if method in ("sub", "change_mode") and known and not silent:
            frame = pb.FeedResponse(type=pb.initial_feed, currentTs=_now_ms())
            for k, price in known.items():
                self._fill_feed(frame.feeds[k], mode, pb.LTPC(ltp=price, ltt=_now_ms()), None)
            await conn.ws.send(frame.SerializeToString())

    @staticmethod
    def _fill_feed(feed: Any, mode: str, ltpc: Any, full: Any) -> None:
        if mode in ("full", "full_d30"):
            market = full if full is not None else pb.MarketFullFeed(ltpc=ltpc)
            feed.fullFeed.marketFF.CopyFrom(market)
        else:
            feed.ltpc.CopyFrom(ltpc)
        feed.requestMode = MODES.get(mode, pb.ltpc)

    async def _broadcast(self, key: str, ltpc: Any, full: Any) -> int:
        sent = 0
        with self.lock:
            targets = [(c, c.subs[key]) for c in self._conns if key in c.subs and not c.silent]
        for conn, mode in targets:
            frame = pb.FeedResponse(type=pb.live_feed, currentTs=_now_ms())
            self._fill_feed(frame.feeds[key], mode, ltpc, full)
            try:
                await conn.ws.send(frame.SerializeToString())
                sent += 1
            except ConnectionClosed:
                pass
        return sent

    # ---- the REST side (called from HTTP handler threads) --------------------------------

    def handle(self, server: str, method: str, raw_path: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        parts = urlsplit(raw_path)
        path = parts.path
        query = parse_qs(parts.query)
        with self.lock:
            self.requests.append(
                Recorded(server, method, path, query, headers, body, time.monotonic())
            )
        fault = self._take_fault(path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            elif fault.malformed is not None:
                return 200, {"Content-Type": "application/json"}, fault.malformed
            else:
                return _error(fault.status, fault.code, fault.message, fault.prop)
        if path == "/v2/login/authorization/dialog" and method == "GET":
            return self._dialog(query)
        if path == "/v2/login/authorization/token" and method == "POST":
            return self._token(headers, body)
        if path.startswith("/market-quote/instruments/exchange/") and method == "GET":
            exchange = path.rsplit("/", 1)[1].removesuffix(".json.gz")
            with self.lock:
                rows = self.instrument_files.get(exchange)
            if rows is None:
                return 404, {"Content-Type": "text/plain"}, b"Not Found"
            payload = gzip.compress(json.dumps(rows).encode())
            return 200, {"Content-Type": "application/octet-stream"}, payload
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        with self.lock:
            valid = self._tokens.get(token, False)
        if not valid:
            return _error(401, "UDAPI100050", "Invalid token used to access API")
        try:
            return self._route(method, path, query, body, token)
        except _Refusal as r:
            return _error(r.status, r.code, r.message, r.prop)

    def _dialog(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        q = {k: v[0] for k, v in query.items()}
        if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
            return 400, {"Content-Type": "text/html"}, b"<html>Invalid client or redirect</html>"
        if q.get("response_type") != "code":
            return 400, {"Content-Type": "text/html"}, b"<html>response_type must be code</html>"
        back = {"code": self.issue_code()}
        if "state" in q:
            back["state"] = q["state"]
        return 302, {"Location": f"{self.redirect_uri}?{urlencode(back)}"}, b""

    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _error(400, "UDAPI1026", "form-encoded body expected")
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "authorization_code":
            return _error(400, "UDAPI1026", "grant_type must be authorization_code",
                          "grant_type")  # fmt: skip
        if form.get("client_id") != self.client_id or (
            form.get("client_secret") != self.client_secret
        ):
            return _error(
                401, "UDAPI100069",
                "Check your 'client_id' and 'client_secret'; one or both are incorrect.",
            )  # fmt: skip
        if form.get("redirect_uri") != self.redirect_uri:
            return _error(400, "UDAPI100068", "Check your 'redirect_uri' param")
        with self.lock:
            if form.get("code") not in self._codes:
                return _error(400, "UDAPI100057", "Invalid Auth code")
            self._codes.discard(form["code"])
        token = self.issue_token()
        payload = {
            "email": "trader@example.com", "exchanges": ["NSE", "NFO", "BSE", "CDS", "BFO",
            "BCD", "MCX"], "products": ["D", "CO", "I"], "broker": "UPSTOX", "user_id": "AB1234",
            "user_name": "Test Trader", "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
            "user_type": "individual", "poa": False, "is_active": True, "access_token": token,
            "extended_token": None,
        }  # fmt: skip
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes,
               token: str) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        q = {k: v[0] for k, v in query.items()}
        with self.lock:
            if (method, path) == ("GET", "/v2/user/profile"):
                return _ok({"email": "trader@example.com", "exchanges": ["NSE", "BSE", "NFO"],
                            "products": ["D", "I"], "broker": "UPSTOX", "user_id": "AB1234",
                            "user_name": "Test Trader",
                            "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
                            "user_type": "individual", "poa": False,
                            "is_active": True})  # fmt: skip
            if (method, path) == ("GET", "/v2/user/get-funds-and-margin"):
                return _ok(self.funds)
            if (method, path) == ("GET", "/v2/portfolio/short-term-positions"):
                return _ok(self.positions())
            if (method, path) == ("GET", "/v2/portfolio/long-term-holdings"):
                return _ok(self.holdings)
            if (method, path) == ("GET", "/v2/order/retrieve-all"):
                return _ok(list(self.orders.values()))
            if (method, path) == ("GET", "/v2/order/details"):
                return _ok(self._order(q.get("order_id", "")))
            if (method, path) == ("GET", "/v2/order/trades/get-trades-for-day"):
                return _ok(self.trades)
            if (method, path) == ("POST", "/v3/order/place"):
                return self._place(_json(body))
            if (method, path) == ("PUT", "/v3/order/modify"):
                return self._modify(_json(body))
            if (method, path) == ("DELETE", "/v3/order/cancel"):
                order = self._order(q.get("order_id", ""))
                _open(order)
                order.update(status="cancelled", pending_quantity=0)
                self._emit_order(order)
                return _ok({"order_id": order["order_id"]}, latency=True)
            if (method, path) == ("GET", "/v3/feed/market-data-feed/authorize"):
                code = uuid.uuid4().hex
                self._ws_codes.add(code)
                url = (
                    f"ws://127.0.0.1:{self.ws_port}/market-data-feeder/v3/"
                    f"upstox-developer-api/feeds?requestId={uuid.uuid4()}&code={code}"
                )
                return _ok({"authorizedRedirectUri": url})
            if (method, path) == ("GET", "/v2/feed/portfolio-stream-feed/authorize"):
                types = [t for t in q.get("update_types", "").split(",") if t]
                if not types or any(
                    t not in ("order", "position", "holding", "gtt_order") for t in types
                ):
                    raise _Refusal(400, "UDAPI1026", "Invalid update_types", "update_types")
                code = uuid.uuid4().hex
                self._ws_codes.add(code)
                url = (
                    f"ws://127.0.0.1:{self.ws_port}{PORTFOLIO_WS_PATH}?requestId={uuid.uuid4()}"
                    f"&code={code}&update_types={','.join(types)}"
                )
                return _ok({"authorizedRedirectUri": url})
            if (method, path) == ("GET", "/v3/market-quote/ltp"):
                keys = [k for k in q.get("instrument_key", "").split(",") if k]
                return _ok({
                    f"{k.split('|')[0]}:{k.split('|')[1]}": {
                        "last_price": self.last_price[k], "instrument_token": k, "ltq": 1,
                        "volume": 1000, "cp": self.last_price[k],
                    }
                    for k in keys if k in self.last_price
                })  # fmt: skip
            if (method, path) == ("DELETE", "/v2/logout"):
                self._tokens[token] = False
                return _ok(True)
            if method == "GET" and path.startswith("/v3/historical-candle/"):
                return self._candles(path)
        return _error(404, "UDAPI100060", f"Resource not Found: {method} {path}")

    def _order(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.orders:
            raise _Refusal(400, "UDAPI100010", "Order not found")
        return self.orders[order_id]

    def _place(self, req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        for name, kind in (("quantity", int), ("product", str), ("validity", str),
                           ("instrument_token", str), ("order_type", str),
                           ("transaction_type", str), ("disclosed_quantity", int),
                           ("is_amo", bool)):  # fmt: skip
            value = req.get(name)
            if (
                value is None
                or not isinstance(value, kind)
                or (kind is int and isinstance(value, bool))
            ):
                raise _Refusal(400, "UDAPI1026", f"{name} is required", name)
        for name in ("price", "trigger_price"):
            if not isinstance(req.get(name), int | float) or isinstance(req.get(name), bool):
                raise _Refusal(400, "UDAPI1026", f"{name} is required", name)
        key = req["instrument_token"]
        if "|" not in key:
            raise _Refusal(400, "UDAPI1026", "Invalid instrument_token", "instrument_token")
        if req["quantity"] <= 0:
            raise _Refusal(400, "UDAPI1026", "quantity must be positive", "quantity")
        if req["product"] not in ("I", "D", "MTF"):
            raise _Refusal(400, "UDAPI1026", "Invalid product", "product")
        if req["validity"] not in ("DAY", "IOC"):
            raise _Refusal(400, "UDAPI1026", "Invalid validity", "validity")
        if req["transaction_type"] not in ("BUY", "SELL"):
            raise _Refusal(400, "UDAPI1026", "Invalid transaction_type", "transaction_type")
        otype = req["order_type"]
        if otype not in ("MARKET", "LIMIT", "SL", "SL-M"):
            raise _Refusal(400, "UDAPI1026", "Invalid order_type", "order_type")
        if otype in ("MARKET", "SL-M") and not req.get("market_protection"):
            raise _Refusal(
                400, "UDAPI1163", "Market protection is mandatory for Market and SL-M orders"
            )
        tag = req.get("tag")
        if tag is not None and (not isinstance(tag, str) or len(tag) > 40):
            raise _Refusal(400, "UDAPI1026", "tag must be at most 40 characters", "tag")
        total = req["quantity"]
        freeze = self.freeze_quantity.get(key)
        sizes = [total]
        if freeze is not None and total > freeze:
            if not req.get("slice"):
                raise _Refusal(400, "UDAPI1171", f"Quantity exceeds freeze limit of {freeze}")
            count = math.ceil(total / freeze)
            if count > 10:
                raise _Refusal(400, "UDAPI1170", "Order would need more than 10 slices")
            sizes = [freeze] * (total // freeze) + ([total % freeze] if total % freeze else [])
        ids = []
        for qty in sizes:
            order_id = f"{date.today():%y%m%d}{next(self._ids):09d}"
            exchange = EXCHANGES.get(key.split("|")[0], key.split("|")[0])
            symbol = self.trading_symbols.get(key, key.split("|")[1])
            status = "trigger pending" if otype in ("SL", "SL-M") else "open"
            order = {
                "exchange": exchange, "product": req["product"], "price": req["price"],
                "quantity": qty, "status": status, "guid": None, "tag": tag,
                "instrument_token": key, "placed_by": "AB1234",
                "tradingsymbol": symbol, "trading_symbol": symbol,
                "order_type": otype, "validity": req["validity"],
                "trigger_price": req["trigger_price"],
                "disclosed_quantity": req["disclosed_quantity"],
                "transaction_type": req["transaction_type"], "average_price": 0.0,
                "filled_quantity": 0, "pending_quantity": qty, "status_message": None,
                "status_message_raw": None, "exchange_order_id": f"1{next(self._ids):015d}",
                "parent_order_id": None, "order_id": order_id, "variety": "SIMPLE",
                "order_timestamp": _now_text(), "exchange_timestamp": None,
                "is_amo": req["is_amo"], "order_request_id": "1", "order_ref_id": None,
            }  # fmt: skip
            self.orders[order_id] = order
            ids.append(order_id)
            for early in self.portfolio_pre_statuses:
                self._emit_order({**order, "status": early})
            self._emit_order(order)
            if otype == "MARKET" and key in self.last_price:
                self._fill(order, self.last_price[key])
        return _ok({"order_ids": ids}, latency=True)

    def _modify(self, req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        order = self._order(str(req.get("order_id", "")))
        _open(order)
        otype = req.get("order_type", order["order_type"])
        if otype in ("MARKET", "SL-M") and not req.get("market_protection"):
            raise _Refusal(
                400, "UDAPI1163", "Market protection is mandatory for Market and SL-M orders"
            )
        for name in ("quantity", "price", "trigger_price", "validity", "disclosed_quantity"):
            if name in req:
                order[name] = req[name]
        order["order_type"] = otype
        order["pending_quantity"] = order["quantity"] - order["filled_quantity"]
        self._emit_order(order)
        return _ok({"order_id": order["order_id"]}, latency=True)

    def _candles(self, path: str) -> tuple[int, dict[str, str], bytes]:
        parts = path.removeprefix("/v3/historical-candle/").split("/")
        if len(parts) != 5:
            raise _Refusal(400, "UDAPI1026", "Invalid path")
        key, unit, interval_text, to_text, from_text = parts
        key = unquote(key)
        if unit not in CANDLE_LIMITS or not interval_text.isdigit():
            raise _Refusal(400, "UDAPI1026", "Invalid unit", "unit")
        interval = int(interval_text)
        low, high = CANDLE_LIMITS[unit]
        if not low <= interval <= high:
            raise _Refusal(400, "UDAPI1026", "Invalid interval", "interval")
        try:
            to_day, from_day = date.fromisoformat(to_text), date.fromisoformat(from_text)
        except ValueError:
            raise _Refusal(400, "UDAPI1026", "Invalid date", "to_date") from None
        span = candle_span_limit(unit, interval)
        if to_day < from_day or (span is not None and (to_day - from_day).days + 1 > span):
            raise _Refusal(400, "UDAPI1148", "Invalid date range")
        rows = [
            r for r in self.candles.get((key, unit, interval), [])
            if from_day <= datetime.fromisoformat(r[0]).date() <= to_day
        ]  # fmt: skip
        rows.sort(key=lambda r: datetime.fromisoformat(r[0]), reverse=True)
        return _ok({"candles": rows})


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, prop: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.prop = status, code, message, prop


def _open(order: dict[str, Any]) -> None:
    if order["status"] not in ("open", "trigger pending"):
        raise _Refusal(400, "UDAPI100040", f"Order is already {order['status']}")


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        raise _Refusal(400, "UDAPI1026", "Request body is not JSON") from None
    if not isinstance(value, dict):
        raise _Refusal(400, "UDAPI1026", "Request body is not an object")
    return value


def _ok(data: Any, *, latency: bool = False) -> tuple[int, dict[str, str], bytes]:
    payload: dict[str, Any] = {"status": "success", "data": data}
    if latency:
        payload["metadata"] = {"latency": 11}
    return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _error(status: int, code: str, message: str,
           prop: str | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    err: dict[str, Any] = {"errorCode": code, "message": message, "propertyPath": prop,
                           "invalidValue": None, "error_code": code,
                           "property_path": prop}  # fmt: skip
    payload = {"status": "error", "errors": [err]}
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _now_text() -> str:
    return datetime.now(IST).strftime("%Y-%m-%d %H:%M:%S")


def _handler_for(fake: FakeUpstox, server: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, payload = fake.handle(
                server, self.command, self.path, headers, body
            )
            # a client that timed out has gone: what it would have read no longer matters
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


def _proxy_handler_for(fake: FakeUpstox) -> type[BaseHTTPRequestHandler]:
    """A plain forward proxy for http:// targets (absolute-form request lines)."""

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            target = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake.lock:
                fake.requests.append(
                    Recorded("proxy", self.command, target.path, parse_qs(target.query),
                             headers, body, time.monotonic())
                )  # fmt: skip
            conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
            path = target.path + (f"?{target.query}" if target.query else "")
            forward = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
            conn.request(self.command, path, body=body or None, headers=forward)
            resp = conn.getresponse()
            payload = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Proxy


@pytest.fixture
def fake_upstox() -> Iterator[FakeUpstox]:
    """A running FakeUpstox for one test."""
    with FakeUpstox() as fake:
        yield fake
