"""FakeKite: a Kite Connect stand-in on 127.0.0.1 for tests with the REAL kiteconnect client.

    from tests.fakes import kite_server
    fake_kite = kite_server.fake_kite          # the pytest fixture (assign: ruff F811 otherwise)

    with FakeKite() as fake:                   # or the fixtures fake_kite / fake_kite_factory
        kite = KiteConnect(fake.api_key, access_token=fake.access_token, root=fake.root)
        ticker = KiteTicker(fake.api_key, fake.access_token, root=fake.ws_root)

Reference (every method is thread-safe; details in the docstrings):
  addresses     root, ws_root, login_url (302 -> redirect_url + request_token), api_key,
                api_secret, user_id, access_token (valid from the start)
  login         issue_request_token(), complete_login(redirect_url), new_access_token(),
                expire_tokens(drop_websockets=False)
  market        instrument(ex, sym), add_instrument(Instrument), set_ltp(ex, sym, price),
                set_freeze_quantity(ex, sym, qty), fail_autoslice_slices({i: msg});
                the dump = mock CSV + INFY, SBIN, RELIANCE, NIFTY 50 (EXTRA_INSTRUMENTS)
  book          auto_fill, orders(), order(id), order_history(id), orders_with_tag(tag),
                trades(), positions(), fill(id, qty=None, price=None), reject(id, reason),
                cancel(id, reason=None); each change also goes out as a websocket order update
  faults        fail_next(route, status, error_type=, message=, times=1, apply=False),
                malformed_next(route, kind, times=1, apply=False), delay_next(route, seconds),
                clear_faults(), allow_ips(*ips), set_client_ip(ip), deny_orders_from_ip(ip),
                order_rate_limit (10 a second by default; None = off)
                route = "[METHOD ]/path-prefix", e.g. "POST /orders" or "/quote"
  records       requests, requests_to(route), order_placements(), max_orders_in_any_second()
  ticker        push_ticks(ticks), push_order_update(order), push_error(msg), push_raw(frame),
                drop_connections(), go_silent(), resume(), refuse_ws(flag), connection_count,
                subscriptions(), wait_for_connections(n, t), wait_for_subscription(tokens, t,
                mode=None), ws_handshakes

REST: kite_http.py over the books in kite_state.py. Ticker: kite_ws.py, frames in kite_ticks.py.
tests/brokers/test_fake_kite.py shows each control in use with the real client.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.kite_http import MALFORMED_KINDS, KiteHTTPServer, start_http
from tests.fakes.kite_state import (
    DEFAULT_MESSAGES,
    EXTRA_INSTRUMENTS,
    TOKEN_ERROR,
    Fault,
    Instrument,
    KiteState,
    RecordedRequest,
)
from tests.fakes.kite_ws import FakeTickerServer, Handshake

__all__ = [
    "EXTRA_INSTRUMENTS",
    "MALFORMED_KINDS",
    "TOKEN_ERROR",
    "FakeKite",
    "Instrument",
    "RecordedRequest",
    "fake_kite",
    "fake_kite_factory",
]

DEFAULT_FOREIGN_IP = "2402:3a80::1"


class FakeKite:
    """One fake Kite account: REST server + ticker server + the controls tests need."""

    def __init__(
        self,
        api_key: str = "fake_api_key",
        api_secret: str = "fake_api_secret",
        *,
        user_id: str = "AB1234",
        clock: Callable[[], datetime] | None = None,
        order_rate_limit: int | None = 10,
        redirect_url: str | None = None,
        heartbeat_s: float = 1.0,
    ) -> None:
        self.state = KiteState(api_key=api_key, api_secret=api_secret, user_id=user_id)
        if clock is not None:
            self.state.clock = clock
        self.state.order_rate_limit = order_rate_limit
        self.state.redirect_url = redirect_url
        self._heartbeat_s = heartbeat_s
        self._http: KiteHTTPServer | None = None
        self._ticker: FakeTickerServer | None = None
        self.access_token = self.state.new_access_token()
        self.state.order_listeners.append(self._forward_order_update)

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeKite:
        self._http, _ = start_http(self.state)
        self._ticker = FakeTickerServer(self.api_key, self.state.token_valid, self._heartbeat_s)
        return self

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.close()
            self._ticker = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> FakeKite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _ws(self) -> FakeTickerServer:
        if self._ticker is None:
            raise RuntimeError("FakeKite is not started")
        return self._ticker

    # ---- addresses and credentials -----------------------------------------------------
    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def api_secret(self) -> str:
        return self.state.api_secret

    @property
    def user_id(self) -> str:
        return self.state.user_id

    @property
    def root(self) -> str:
        """For KiteConnect(root=...)."""
        if self._http is None:
            raise RuntimeError("FakeKite is not started")
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def ws_root(self) -> str:
        """For KiteTicker(root=...)."""
        return f"ws://127.0.0.1:{self._ws.port}"

    @property
    def login_url(self) -> str:
        """Kite's login page stand-in: answers 302 to `redirect_url` with a request token."""
        return f"{self.root}/connect/login?api_key={self.api_key}&v=3"

    @property
    def redirect_url(self) -> str | None:
        return self.state.redirect_url

    @redirect_url.setter
    def redirect_url(self, url: str | None) -> None:
        self.state.redirect_url = url

    # ---- login and sessions --------------------------------------------------------------
    def issue_request_token(self) -> str:
        """A fresh single-use request token, as Kite puts on the redirect after login."""
        return self.state.issue_request_token()

    def new_access_token(self) -> str:
        """A valid access token without the login dance (`access_token` is one already)."""
        return self.state.new_access_token()

    def complete_login(self, redirect_url: str | None = None, timeout: float = 5.0) -> str:
        """Play the browser after a successful login: GET the app's redirect URL with
        `request_token`, `action=login`, `type=login`, `status=success`; returns the token."""
        url = redirect_url or self.state.redirect_url
        if not url:
            raise ValueError("no redirect URL given or configured")
        token = self.issue_request_token()
        sep = "&" if "?" in url else "?"
        full = f"{url}{sep}request_token={token}&action=login&type=login&status=success"
        with urllib.request.urlopen(full, timeout=timeout) as answer:
            answer.read()
        return token

    def expire_tokens(self, drop_websockets: bool = False) -> None:
        """Every access token dies (later calls: 403 TokenException); new logins work.
        Open ticker connections stay unless drop_websockets (reconnects are then refused)."""
        self.state.expire_tokens()
        if drop_websockets:
            self._ws.drop_connections()

    # ---- instruments and prices ------------------------------------------------------------
    def instrument(self, exchange: str, tradingsymbol: str) -> Instrument:
        return self.state.instrument(exchange, tradingsymbol)

    def add_instrument(self, instrument: Instrument) -> None:
        with self.state.lock:
            self.state.instruments[(instrument.exchange, instrument.tradingsymbol)] = instrument

    def set_freeze_quantity(self, exchange: str, tradingsymbol: str, quantity: int | None) -> None:
        """Above it a plain order is REJECTED and an autoslice order is split."""
        with self.state.lock:
            self.state.instrument(exchange, tradingsymbol).freeze_quantity = quantity

    def fail_autoslice_slices(self, failures: Mapping[int, str]) -> None:
        """In the next autoslice order, slice i (0-based) is not placed; its child is
        {"error": {"code": 400, "error_type": "MarginException", "message": ...}}."""
        with self.state.lock:
            self.state.autoslice_failures = dict(failures)

    def set_ltp(self, exchange: str, tradingsymbol: str, price: Decimal | str) -> None:
        """Last price for quotes, MARKET auto-fills and position P&L."""
        with self.state.lock:
            self.state.instrument(exchange, tradingsymbol).last_price = Decimal(str(price))

    # ---- the order book ----------------------------------------------------------------------
    @property
    def auto_fill(self) -> bool:
        """When True, MARKET orders fill at once at the last price (status COMPLETE)."""
        return self.state.auto_fill

    @auto_fill.setter
    def auto_fill(self, value: bool) -> None:
        self.state.auto_fill = value

    def orders(self) -> list[dict[str, Any]]:
        """Latest state of every order, oldest first (what GET /orders answers)."""
        with self.state.lock:
            return [self.state.order(order_id) for order_id in self.state.orders]

    def order(self, order_id: str) -> dict[str, Any]:
        return self.state.order(order_id)

    def order_history(self, order_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            self.state.order(order_id)
            return [dict(entry) for entry in self.state.orders[order_id]]

    def orders_with_tag(self, tag: str) -> list[dict[str, Any]]:
        return [o for o in self.orders() if o["tag"] == tag]

    def trades(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(t) for t in self.state.trades]

    def positions(self) -> dict[str, Any]:
        return self.state.positions_payload()

    def fill(
        self, order_id: str, quantity: int | None = None, price: Decimal | str | None = None
    ) -> dict[str, Any]:
        """Execute `quantity` (default: all pending) at `price` (default: the limit price or
        last price). Makes a trade, moves the position and pushes an order update (status
        UPDATE on the socket for a partial fill, COMPLETE for the last one). Returns the trade."""
        return self.state.fill(order_id, quantity, None if price is None else Decimal(str(price)))

    def reject(self, order_id: str, reason: str = "RMS:Margin Exceeds") -> None:
        """The exchange/RMS rejects an open order (status REJECTED, status_message=reason)."""
        self.state.reject(order_id, reason)

    def cancel(self, order_id: str, reason: str | None = None) -> None:
        """The exchange cancels an open order (e.g. IOC leftovers, end of day)."""
        self.state.cancel_order(order_id, reason)

    # ---- fault injection ---------------------------------------------------------------------
    def fail_next(
        self,
        route: str,
        status: int,
        error_type: str | None = None,
        message: str | None = None,
        times: int = 1,
        apply: bool = False,
    ) -> None:
        """The next `times` requests matching `route` ("/orders" or "POST /orders/regular":
        an optional method, then a path prefix) answer Kite's error envelope with `status`.
        Defaults by status: 429 NetworkException "Too many requests", 500 GeneralException,
        502/503/504 NetworkException. apply=True performs the request first (the order IS
        placed) and only then answers the error."""
        default_type, default_message = DEFAULT_MESSAGES.get(
            status, ("GeneralException", "Something went wrong.")
        )
        with self.state.lock:
            self.state.faults.append(
                Fault(
                    route,
                    "error",
                    times,
                    status,
                    error_type or default_type,
                    message or default_message,
                    apply=apply,
                )
            )

    def malformed_next(self, route: str, kind: str, times: int = 1, apply: bool = False) -> None:
        """Answer garbage: "invalid_json" (json content type, truncated body), "html_502"
        (a proxy's HTML page), "missing_data" ({"status": "success"} only), "empty_body",
        "no_content_type"."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {MALFORMED_KINDS}")
        with self.state.lock:
            self.state.faults.append(Fault(route, "malformed", times, malformed=kind, apply=apply))

    def delay_next(self, route: str, seconds: float, times: int = 1) -> None:
        """Do the work at once (the order IS placed) but hold the answer `seconds`."""
        with self.state.lock:
            self.state.faults.append(Fault(route, "delay", times, seconds=seconds))

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def allow_ips(self, *ips: str) -> None:
        """The static-IP whitelist for order calls; no arguments = every IP allowed."""
        with self.state.lock:
            self.state.allowed_ips = set(ips)

    def set_client_ip(self, ip: str | None) -> None:
        """Pretend requests come from `ip` (None: the real peer, 127.0.0.1)."""
        with self.state.lock:
            self.state.pretend_client_ip = ip

    def deny_orders_from_ip(self, ip: str = DEFAULT_FOREIGN_IP) -> None:
        """Order calls now look as if sent from `ip`, which is not whitelisted: they answer
        403 PermissionException "IP (<ip>) is not allowed to place orders for this app. ..."."""
        with self.state.lock:
            self.state.pretend_client_ip = ip
            self.state.allowed_ips.discard(ip)
            if not self.state.allowed_ips:
                self.state.allowed_ips = {"203.0.113.10"}

    @property
    def order_rate_limit(self) -> int | None:
        """Order placements allowed in any 1 s window before a 429 (None: unlimited)."""
        return self.state.order_rate_limit

    @order_rate_limit.setter
    def order_rate_limit(self, value: int | None) -> None:
        self.state.order_rate_limit = value

    # ---- what the fake saw -------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """Recorded requests matching "[METHOD ]/path-prefix"."""
        probe = Fault(route, "", 0)
        return [r for r in self.requests if probe.matches(r.method, r.path)]

    def order_placements(self) -> list[RecordedRequest]:
        """Every POST /orders/... that arrived (answered or refused)."""
        return self.requests_to("POST /orders/")

    def max_orders_in_any_second(self, route: str = "POST /orders/") -> int:
        """The most matching requests that arrived within any 1-second window."""
        times = sorted(r.time for r in self.requests_to(route))
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    # ---- the ticker ----------------------------------------------------------------------------
    def push_ticks(self, ticks: Iterable[Mapping[str, Any]]) -> int:
        """One binary frame per connection with the ticks it subscribed, each in the mode it
        set. Tick dicts use pykiteconnect's names (or the fixture's aliases); prices are in
        rupees (floats, str or Decimal), timestamps aware datetimes. Returns frames sent."""
        return self._ws.push_ticks(ticks)

    def push_order_update(self, order: Mapping[str, Any]) -> int:
        """Text frame {"type": "order", "data": order} to every connection."""
        return self._ws.push_text({"type": "order", "data": dict(order)})

    def push_error(self, message: str) -> int:
        """Text frame {"type": "error", "data": message} (KiteTicker calls on_error)."""
        return self._ws.push_text({"type": "error", "data": message})

    def push_raw(self, payload: bytes | str) -> int:
        """Any frame verbatim (bytes: binary, str: text) for malformed-frame tests."""
        return self._ws.push_raw(payload)

    def drop_connections(self) -> int:
        """Abort every ticker connection (no close frame); returns how many."""
        return self._ws.drop_connections()

    def go_silent(self) -> None:
        """Connections stay open but nothing more is sent: no heartbeats, ticks or updates."""
        self._ws.silent = True

    def resume(self) -> None:
        self._ws.silent = False

    def refuse_ws(self, refuse: bool = True) -> None:
        """Answer every new ticker handshake 403 (the reconnect-gives-up path)."""
        self._ws.refuse_connections = refuse

    @property
    def connection_count(self) -> int:
        return len(self._ws.clients)

    @property
    def ws_handshakes(self) -> list[Handshake]:
        with self._ws.changed:
            return list(self._ws.handshakes)

    def subscriptions(self) -> list[dict[int, str]]:
        """Per open connection: {instrument_token: mode}."""
        return self._ws.subscriptions()

    def wait_for_connections(self, count: int = 1, timeout: float = 5.0) -> bool:
        return self._ws.wait_for(lambda: len(self._ws.clients) >= count, timeout)

    def wait_for_subscription(
        self, tokens: Iterable[int], timeout: float = 5.0, mode: str | None = None
    ) -> bool:
        """True once one open connection has all `tokens` (in `mode`, if given)."""
        wanted = [int(t) for t in tokens]

        def done() -> bool:
            return any(
                all(t in c.modes and (mode is None or c.modes[t] == mode) for t in wanted)
                for c in self._ws.clients
            )

        return self._ws.wait_for(done, timeout)

    def _forward_order_update(self, update: dict[str, Any]) -> None:
        """Book changes reach the socket without waiting (callers may hold the book's lock)."""
        if self._ticker is not None:
            self._ticker.push_text_nowait({"type": "order", "data": update})


@pytest.fixture
def fake_kite() -> Iterator[FakeKite]:
    """A started FakeKite with default credentials, closed after the test."""
    with FakeKite() as fake:
        yield fake


@pytest.fixture
def fake_kite_factory() -> Iterator[Callable[..., FakeKite]]:
    """make(**FakeKite kwargs) -> a started FakeKite; all are closed after the test."""
    made: list[FakeKite] = []

    def make(**kwargs: Any) -> FakeKite:
        fake = FakeKite(**kwargs).start()
        made.append(fake)
        return fake

    yield make
    for fake in made:
        fake.close()
