"""Upstox REST over plain HTTP (`requests`), blocking: callers on the asyncio loop use a thread.

Why not the official SDK: its Swagger models turn every price into a float (we keep Decimal,
parsed from the JSON text), its `Configuration` caches the first instance it ever made, it
raises one `ApiException` for every failure (we need the kind), and it would pull in
websocket-client and the obsolete PyPI `uuid`. The routes are few and documented, so a
small client is less code to trust than the SDK's layers. Order calls (place, modify,
cancel) go to a separate order host (Upstox's api-hft) and, when configured, through an
HTTPS proxy - the static IP registered with Upstox - while everything else goes direct.
Order pacing (8/s), retries and reconciliation are not done here: they live once, in
`engine.broker.gateway.OrderGateway`; this client sends each call exactly once.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

import requests

from brokers.upstox.errors import (
    UpstoxAuthError,
    UpstoxBrokerDown,
    UpstoxError,
    UpstoxInputError,
    UpstoxIpNotAllowed,
    UpstoxMalformedResponse,
    UpstoxNetworkError,
    UpstoxOrderRejected,
    UpstoxPermissionDenied,
    UpstoxRateLimited,
    UpstoxTokenExpired,
)
from brokers.upstox.models import (
    MARKET_PROTECTION_AUTO,
    ORDER_TYPES,
    PRODUCTS,
    SIDES,
    VALIDITIES,
    Candle,
    Funds,
    Holding,
    LastPrice,
    OrderChange,
    OrderInfo,
    OrderRequest,
    PlaceResult,
    Position,
    Profile,
    Trade,
    UpstoxSession,
)
from engine.ist import IST

log = logging.getLogger(__name__)

API_HOST: Final = "https://api.upstox.com"
ORDER_HOST: Final = "https://api-hft.upstox.com"
INSTRUMENTS_HOST: Final = "https://assets.upstox.com"
INSTRUMENTS_PATH: Final = "/market-quote/instruments/exchange/{exchange}.json.gz"
#: The code Upstox uses for a token it no longer accepts (expired, logged out, IP changed).
TOKEN_CODES: Final = frozenset({"UDAPI100050"})  # with any HTTP 401
RATE_LIMIT_CODE: Final = "UDAPI10005"
#: Historical candles: the widest from..to span (days, inclusive) one request may ask for.
#: Assumed from Upstox's v3 docs: minutes 1-15 -> one month, minutes 16-300 and hours ->
#: one quarter, days -> one decade, weeks and months -> no limit. Longer ranges are split.
CANDLE_UNITS: Final = {"minutes": (1, 300), "hours": (1, 5), "days": (1, 1), "weeks": (1, 1),
                       "months": (1, 1)}  # fmt: skip


def candle_span_days(unit: str, interval: int) -> int | None:
    """How many days one historical request may span for this unit/interval (None: any)."""
    if unit == "minutes":
        return 30 if interval <= 15 else 90
    if unit == "hours":
        return 90
    if unit == "days":
        return 3650
    return None


@dataclass(frozen=True, slots=True)
class UpstoxConfig:
    """Where and how to talk to Upstox. `order_proxies` (requests' proxies mapping, e.g.
    {"https": "http://10.0.0.2:3128"}) is used for place/modify/cancel only."""

    api_host: str = API_HOST
    order_host: str = ORDER_HOST
    #: Upstox's daily instrument files (BOD), public, gzipped JSON per exchange.
    instruments_host: str = INSTRUMENTS_HOST
    algo_name: str | None = None
    order_proxies: Mapping[str, str] | None = field(default=None, repr=False)
    timeout: float = 10.0


class UpstoxRest:
    """Blocking client for the REST routes Artha uses; every failure is an UpstoxError kind."""

    def __init__(
        self,
        config: UpstoxConfig | None = None,
        *,
        access_token: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config or UpstoxConfig()
        self._token = access_token
        self._http = session or requests.Session()

    def __repr__(self) -> str:
        return f"UpstoxRest(api_host={self.config.api_host!r}, logged_in={self._token is not None})"

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    def set_access_token(self, token: str | None) -> None:
        self._token = token

    def close(self) -> None:
        self._http.close()

    # ---- login -------------------------------------------------------------------------

    def exchange_code(
        self, *, code: str, client_id: str, client_secret: str, redirect_uri: str
    ) -> UpstoxSession:
        """Trade the one-time code from the redirect for the day's token (and keep it)."""
        form = {
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "grant_type": "authorization_code",
        }
        what = "login (token exchange)"
        try:
            body = self._call(
                "POST", "/v2/login/authorization/token", what=what, form=form, auth=False,
                enveloped=False,
            )  # fmt: skip
        except (
            UpstoxInputError,
            UpstoxOrderRejected,
            UpstoxPermissionDenied,
            UpstoxTokenExpired,
        ) as exc:  # here a 4xx (401 too) means the login was refused
            raise UpstoxAuthError(
                f"Upstox refused the login: {exc.broker_said or exc.message}"
                + (f" [HTTP {exc.status}]" if exc.status else ""),
                code=exc.code, status=exc.status,
            ) from None  # fmt: skip
        session = UpstoxSession(
            access_token=_str(body, "access_token", what),
            user_id=_str(body, "user_id", what),
            user_name=_opt_str(body, "user_name") or "",
            email=_opt_str(body, "email") or "",
            broker=_opt_str(body, "broker") or "UPSTOX",
            exchanges=_str_tuple(body, "exchanges"),
            products=_str_tuple(body, "products"),
            extended_token=_opt_str(body, "extended_token"),
        )
        self._token = session.access_token
        return session

    # ---- account -----------------------------------------------------------------------

    def profile(self) -> Profile:
        what = "profile"
        d = _obj(self._call("GET", "/v2/user/profile", what=what), what)
        return Profile(
            user_id=_str(d, "user_id", what),
            user_name=_opt_str(d, "user_name") or "",
            email=_opt_str(d, "email") or "",
            broker=_opt_str(d, "broker") or "UPSTOX",
            exchanges=_str_tuple(d, "exchanges"),
            products=_str_tuple(d, "products"),
            order_types=_str_tuple(d, "order_types"),
            is_active=bool(d.get("is_active", True)),
        )

    def funds(self) -> dict[str, Funds]:
        """Margins by segment ("equity", "commodity")."""
        what = "funds and margin"
        d = _obj(self._call("GET", "/v2/user/get-funds-and-margin", what=what), what)
        out: dict[str, Funds] = {}
        for segment, raw in d.items():
            if raw is None:
                continue
            seg = _obj(raw, f"{what} ({segment})")
            w = f"{what} ({segment})"
            out[segment] = Funds(
                segment=segment,
                available_margin=_dec(seg, "available_margin", w),
                used_margin=_dec(seg, "used_margin", w),
                payin_amount=_dec(seg, "payin_amount", w, default=Decimal(0)),
                span_margin=_dec(seg, "span_margin", w, default=Decimal(0)),
                exposure_margin=_dec(seg, "exposure_margin", w, default=Decimal(0)),
                adhoc_margin=_dec(seg, "adhoc_margin", w, default=Decimal(0)),
                notional_cash=_dec(seg, "notional_cash", w, default=Decimal(0)),
            )
        return out

    def positions(self) -> list[Position]:
        what = "positions"
        rows = _list(self._call("GET", "/v2/portfolio/short-term-positions", what=what), what)
        return [_position(_obj(r, what), f"{what}[{i}]") for i, r in enumerate(rows)]

    def holdings(self) -> list[Holding]:
        what = "holdings"
        rows = _list(self._call("GET", "/v2/portfolio/long-term-holdings", what=what), what)
        return [_holding(_obj(r, what), f"{what}[{i}]") for i, r in enumerate(rows)]

    # ---- orders ------------------------------------------------------------------------

    def place_order(self, order: OrderRequest) -> PlaceResult:
        """Place a v3 order; refuses locally what Upstox would refuse (market protection)."""
        body = _place_body(order)
        what = f"place order ({order.side} {order.quantity} {order.instrument_key})"
        resp = self._call("POST", "/v3/order/place", what=what, json_body=body, order=True)
        data = _obj(_field(resp, "data", what), what)
        ids = data.get("order_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise UpstoxMalformedResponse(f"Upstox's answer to {what} has no order_ids")
        log.info("upstox order placed: %s -> %s", what, ", ".join(ids))
        return PlaceResult(order_ids=tuple(ids), latency_ms=_latency(resp))

    def modify_order(self, change: OrderChange) -> str:
        body = _modify_body(change)
        what = f"modify order {change.order_id}"
        resp = self._call("PUT", "/v3/order/modify", what=what, json_body=body, order=True)
        data = _obj(_field(resp, "data", what), what)
        return _str(data, "order_id", what)

    def cancel_order(self, order_id: str) -> str:
        _require_text(order_id, "order_id")
        what = f"cancel order {order_id}"
        resp = self._call(
            "DELETE", "/v3/order/cancel", what=what, params={"order_id": order_id}, order=True
        )
        data = _obj(_field(resp, "data", what), what)
        return _str(data, "order_id", what)

    def orders(self) -> list[OrderInfo]:
        what = "order book"
        rows = _list(self._call("GET", "/v2/order/retrieve-all", what=what), what)
        return [_order(_obj(r, what), f"{what}[{i}]") for i, r in enumerate(rows)]

    def order_details(self, order_id: str) -> OrderInfo:
        _require_text(order_id, "order_id")
        what = f"order {order_id}"
        data = self._call("GET", "/v2/order/details", what=what, params={"order_id": order_id})
        return _order(_obj(data, what), what)

    def trades(self) -> list[Trade]:
        what = "today's trades"
        rows = _list(self._call("GET", "/v2/order/trades/get-trades-for-day", what=what), what)
        return [_trade(_obj(r, what), f"{what}[{i}]") for i, r in enumerate(rows)]

    # ---- market data -------------------------------------------------------------------

    def historical_candles(
        self, instrument_key: str, unit: str, interval: int, start: date, end: date
    ) -> list[Candle]:
        """Bars from `start` to `end` (inclusive dates), oldest first; ranges longer than one
        request may span are fetched in pieces."""
        _require_text(instrument_key, "instrument_key")
        if unit not in CANDLE_UNITS:
            raise UpstoxInputError(
                f"historical candles: unit must be one of {', '.join(CANDLE_UNITS)}, not {unit!r}"
            )
        low, high = CANDLE_UNITS[unit]
        if not low <= interval <= high:
            raise UpstoxInputError(
                f"historical candles: interval for {unit} must be {low}..{high}, not {interval}"
            )
        if end < start:
            raise UpstoxInputError(f"historical candles: end {end} is before start {start}")
        span = candle_span_days(unit, interval)
        by_time: dict[datetime, Candle] = {}
        piece_end = end
        while piece_end >= start:
            piece_start = start if span is None else max(start, piece_end - timedelta(span - 1))
            path = (
                f"/v3/historical-candle/{quote(instrument_key, safe='')}/{unit}/{interval}/"
                f"{piece_end.isoformat()}/{piece_start.isoformat()}"
            )
            what = f"historical candles {instrument_key} {piece_start}..{piece_end}"
            data = _obj(self._call("GET", path, what=what), what)
            for i, row in enumerate(_list(_field(data, "candles", what), what)):
                candle = _candle(row, f"{what} candle {i}")
                by_time[candle.time] = candle
            piece_end = piece_start - timedelta(days=1)
        return [by_time[t] for t in sorted(by_time)]

    def ltp(self, instrument_keys: list[str]) -> dict[str, LastPrice]:
        """Last traded prices by instrument key (v3 LTP quotes, up to 500 keys a call)."""
        what = "last prices"
        out: dict[str, LastPrice] = {}
        for i in range(0, len(instrument_keys), 500):
            chunk = instrument_keys[i : i + 500]
            data = _obj(
                self._call(
                    "GET", "/v3/market-quote/ltp", what=what,
                    params={"instrument_key": ",".join(chunk)},
                ),
                what,
            )  # fmt: skip
            for name, raw in data.items():
                row = _obj(raw, f"{what} ({name})")
                key = _str(row, "instrument_token", f"{what} ({name})")
                out[key] = LastPrice(
                    instrument_key=key,
                    last_price=_dec(row, "last_price", f"{what} ({name})"),
                    close_price=_dec(row, "cp", f"{what} ({name})", Decimal(0)),
                    volume=_int(row, "volume", f"{what} ({name})", 0),
                )
        return out

    def instrument_master(self, exchange: str) -> list[dict[str, Any]]:
        """Upstox's instrument file for one exchange ("NSE", "BSE", "MCX"): a list of rows
        (instrument_key, segment, instrument_type, trading_symbol, isin, exchange_token,
        tick_size, lot_size, freeze_quantity, expiry, strike_price, name...)."""
        what = f"the {exchange} instrument list"
        url = self.config.instruments_host.rstrip("/") + INSTRUMENTS_PATH.format(exchange=exchange)
        try:
            resp = self._http.get(url, timeout=max(self.config.timeout, 60.0))
        except requests.RequestException as exc:
            raise UpstoxNetworkError(f"Could not download {what} ({type(exc).__name__})") from None
        if resp.status_code >= 400:
            raise _error(resp.status_code, None, what, order=False)
        raw = resp.content
        try:
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            rows = json.loads(raw, parse_float=Decimal)
        except (OSError, EOFError, ValueError):
            raise UpstoxMalformedResponse(f"{what} is not gzipped JSON") from None
        if not isinstance(rows, list):
            raise UpstoxMalformedResponse(f"{what} is not a list of instruments")
        return [r for r in rows if isinstance(r, dict)]

    def logout(self) -> None:
        """End the session at Upstox; the token is forgotten here whatever the answer."""
        try:
            self._call("DELETE", "/v2/logout", what="logout")
        finally:
            self._token = None

    def feed_authorize(self) -> str:
        """A one-time websocket URL for the v3 market-data feed."""
        what = "market feed authorization"
        data = _obj(self._call("GET", "/v3/feed/market-data-feed/authorize", what=what), what)
        return _str(data, "authorizedRedirectUri", what)

    def portfolio_authorize(self, update_types: tuple[str, ...] = ("order",)) -> str:
        """A one-time websocket URL for the v2 portfolio stream (order updates by default).
        Upstox's SDK reads the answer's `authorizedRedirectUri`; its docs' example spells it
        `authorized_redirect_uri`, so both are accepted."""
        what = "portfolio stream authorization"
        data = _obj(
            self._call(
                "GET", "/v2/feed/portfolio-stream-feed/authorize", what=what,
                params={"update_types": ",".join(update_types)},
            ),
            what,
        )  # fmt: skip
        key = "authorized_redirect_uri" if "authorizedRedirectUri" not in data else ""
        return _str(data, key or "authorizedRedirectUri", what)

    # ---- the one place that talks HTTP -------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        order: bool = False,
        auth: bool = True,
        enveloped: bool = True,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if auth:
            if self._token is None:
                raise UpstoxTokenExpired(f"Not logged in to Upstox: log in before {what}.")
            headers["Authorization"] = f"Bearer {self._token}"
        if order and self.config.algo_name:
            headers["X-Algo-Name"] = self.config.algo_name
        host = self.config.order_host if order else self.config.api_host
        proxies = dict(self.config.order_proxies) if order and self.config.order_proxies else None
        try:
            resp = self._http.request(
                method,
                host.rstrip("/") + path,
                params=params,
                json=json_body,
                data=form,
                headers=headers,
                timeout=self.config.timeout,
                proxies=proxies,
                allow_redirects=False,
            )
        except requests.exceptions.ProxyError as exc:
            raise UpstoxNetworkError(
                f"The order proxy did not pass on {what}: {type(exc).__name__}"
            ) from None
        except requests.ConnectTimeout:
            raise UpstoxNetworkError(
                f"Could not reach Upstox for {what} within {self.config.timeout:g} s"
            ) from None
        except requests.Timeout:
            raise UpstoxNetworkError(
                f"Upstox did not answer {what} within {self.config.timeout:g} s"
                + (" (the order may still have reached Upstox: check the order book)" if order
                   else ""),
                sent=True,
            ) from None  # fmt: skip
        except requests.RequestException as exc:
            raise UpstoxNetworkError(
                f"Could not reach Upstox for {what} ({type(exc).__name__})"
            ) from None
        return _read(resp, what, order=order, enveloped=enveloped)


def _read(resp: requests.Response, what: str, *, order: bool, enveloped: bool) -> Any:
    """The body of a good answer, or the right UpstoxError for a bad one."""
    status = resp.status_code
    try:
        body = json.loads(resp.content, parse_float=Decimal) if resp.content else None
    except ValueError:
        body = None
        if status < 400:
            raise UpstoxMalformedResponse(
                f"Upstox answered {what} with something that is not JSON (HTTP {status})",
                status=status,
            ) from None
    if status >= 400:
        raise _error(status, body, what, order=order)
    if not isinstance(body, dict):
        raise UpstoxMalformedResponse(
            f"Upstox answered {what} with an unexpected shape (HTTP {status})", status=status
        )
    if not enveloped:
        return body
    if body.get("status") == "error":
        raise _error(status, body, what, order=order)
    if body.get("status") != "success" or "data" not in body:
        raise UpstoxMalformedResponse(
            f"Upstox answered {what} without status 'success' and data", status=status
        )
    return body if order else body["data"]


def _error(status: int, body: Any, what: str, *, order: bool) -> UpstoxError:
    code: str | None = None
    message = ""
    has_property = False
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            code = first.get("errorCode") or first.get("error_code")
            message = str(first.get("message") or "")
            has_property = bool(first.get("propertyPath") or first.get("property_path"))
    said = f"{message} ({code})" if message and code else message or code or "no details"
    exc = _kind_of_error(status, code, message, has_property, said, what, order=order)
    exc.broker_said = said
    return exc


def _kind_of_error(
    status: int, code: str | None, message: str, has_property: bool, said: str, what: str,
    *, order: bool,
) -> UpstoxError:  # fmt: skip
    text = f"Upstox refused {what}: {said} [HTTP {status}]"
    if status == 429 or code == RATE_LIMIT_CODE:
        return UpstoxRateLimited(
            f"Upstox's rate limit was hit on {what} ({code or 'HTTP 429'}); slow down and retry",
            code=code, status=status, retry_after=None,
        )  # fmt: skip
    if status == 401 or code in TOKEN_CODES:
        return UpstoxTokenExpired(
            f"The Upstox session has expired or was revoked ({said}) during {what}: "
            "log in again",
            code=code, status=status,
        )  # fmt: skip
    if status == 403:
        if "ip" in re.findall(r"[a-z]+", message.lower()):
            return UpstoxIpNotAllowed(text, code=code, status=status)
        return UpstoxPermissionDenied(text, code=code, status=status)
    if status >= 500:
        return UpstoxBrokerDown(
            f"Upstox is failing ({said}) [HTTP {status}] on {what}; try again shortly",
            code=code, status=status, sent=True,
        )  # fmt: skip
    # Any other 4xx (or an error envelope on a 2xx): the request was refused as sent. On an
    # order call without a named field it is the broker/exchange refusing the order.
    if order and not has_property and status not in (404, 405):
        return UpstoxOrderRejected(text, code=code, status=status)
    return UpstoxInputError(text, code=code, status=status)


# ---- request bodies ------------------------------------------------------------------------


def _require_text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UpstoxInputError(f"{name} must be a non-empty string, not {value!r}")


def _check_order_fields(
    order_type: str,
    quantity: int,
    price: Decimal,
    trigger: Decimal,
    protection: Decimal | None,
    validity: str,
    where: str,
) -> None:
    if order_type not in ORDER_TYPES:
        raise UpstoxInputError(
            f"{where}: order_type must be one of {', '.join(ORDER_TYPES)}, not {order_type!r}"
        )
    if validity not in VALIDITIES:
        raise UpstoxInputError(f"{where}: validity must be DAY or IOC, not {validity!r}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise UpstoxInputError(
            f"{where}: quantity must be a positive whole number, not {quantity!r}"
        )
    if order_type in ("LIMIT", "SL") and price <= 0:
        raise UpstoxInputError(f"{where}: a {order_type} order needs a price above zero")
    if order_type in ("SL", "SL-M") and trigger <= 0:
        raise UpstoxInputError(f"{where}: a {order_type} order needs a trigger price above zero")
    if order_type in ("MARKET", "SL-M") and (protection is None or protection == 0):
        raise UpstoxInputError(
            f"{where}: a {order_type} order needs a non-zero market_protection since 1 April "
            "2026 (-1 lets Upstox choose, or give a percentage)"
        )
    if (
        protection is not None
        and protection != MARKET_PROTECTION_AUTO
        and not (0 < protection <= 100)
    ):
        raise UpstoxInputError(
            f"{where}: market_protection must be -1 (automatic) or a percentage in (0, 100], "
            f"not {protection}"
        )


def _num(value: Decimal) -> int | float:
    """JSON number for a Decimal price: int when whole, else the float of its exact text."""
    return int(value) if value == value.to_integral_value() else float(value)


def _place_body(o: OrderRequest) -> dict[str, Any]:
    where = "order"
    _require_text(o.instrument_key, "instrument_key")
    if o.side not in SIDES:
        raise UpstoxInputError(f"{where}: side must be BUY or SELL, not {o.side!r}")
    if o.product not in PRODUCTS:
        raise UpstoxInputError(f"{where}: product must be one of {PRODUCTS}, not {o.product!r}")
    _check_order_fields(
        o.order_type, o.quantity, o.price, o.trigger_price, o.market_protection, o.validity, where
    )
    if o.tag is not None and not (0 < len(o.tag) <= 40):
        raise UpstoxInputError(f"{where}: tag must be 1..40 characters, not {o.tag!r}")
    body: dict[str, Any] = {
        "instrument_token": o.instrument_key,
        "transaction_type": o.side,
        "quantity": o.quantity,
        "order_type": o.order_type,
        "product": o.product,
        "validity": o.validity,
        "price": _num(o.price),
        "trigger_price": _num(o.trigger_price),
        "disclosed_quantity": o.disclosed_quantity,
        "is_amo": o.is_amo,
        "slice": o.slice,
    }
    if o.tag is not None:
        body["tag"] = o.tag
    if o.market_protection is not None:
        body["market_protection"] = _num(o.market_protection)
    return body


def _modify_body(c: OrderChange) -> dict[str, Any]:
    _require_text(c.order_id, "order_id")
    where = f"modify {c.order_id}"
    _check_order_fields(
        c.order_type, c.quantity, c.price, c.trigger_price, c.market_protection, c.validity, where
    )
    body: dict[str, Any] = {
        "order_id": c.order_id,
        "quantity": c.quantity,
        "order_type": c.order_type,
        "validity": c.validity,
        "price": _num(c.price),
        "trigger_price": _num(c.trigger_price),
        "disclosed_quantity": c.disclosed_quantity,
    }
    if c.market_protection is not None:
        body["market_protection"] = _num(c.market_protection)
    return body


# ---- reading answers -------------------------------------------------------------------------


def _field(d: Any, key: str, what: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise UpstoxMalformedResponse(f"Upstox's answer to {what} has no '{key}'")
    return d[key]


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UpstoxMalformedResponse(
            f"Upstox's answer to {what} is not an object ({type(value).__name__})"
        )
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UpstoxMalformedResponse(
            f"Upstox's answer to {what} is not a list ({type(value).__name__})"
        )
    return value


def _str(d: Mapping[str, Any], key: str, what: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value:
        raise UpstoxMalformedResponse(f"Upstox's answer to {what}: '{key}' is missing or empty")
    return value


def _opt_str(d: Mapping[str, Any], key: str) -> str | None:
    value = d.get(key)
    return value if isinstance(value, str) and value else None


def _str_tuple(d: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = d.get(key)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


_MISSING: Final = object()


def _dec(d: Mapping[str, Any], key: str, what: str, default: Any = _MISSING) -> Decimal:
    value = d.get(key)
    if value is None and default is not _MISSING:
        return Decimal(default)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise UpstoxMalformedResponse(
            f"Upstox's answer to {what}: '{key}' should be a number, not {value!r}"
        )
    return Decimal(value)


def _int(d: Mapping[str, Any], key: str, what: str, default: int | None = None) -> int:
    value = d.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UpstoxMalformedResponse(
            f"Upstox's answer to {what}: '{key}' should be a whole number, not {value!r}"
        )
    return value


_TIME_FORMATS: Final = ("%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%d-%b-%Y %H:%M:%S")


def _time(value: Any) -> datetime | None:
    """Upstox's order/trade times: IST wall clock in one of a few spellings; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        log.warning("upstox: unreadable time %r left blank", value)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=IST)


def _latency(resp: Mapping[str, Any]) -> int | None:
    meta = resp.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("latency"), int):
        return int(meta["latency"])
    return None


def _position(d: dict[str, Any], what: str) -> Position:
    zero = Decimal(0)
    return Position(
        instrument_key=_str(d, "instrument_token", what),
        trading_symbol=_opt_str(d, "trading_symbol") or _opt_str(d, "tradingsymbol") or "",
        exchange=_opt_str(d, "exchange") or "",
        product=_opt_str(d, "product") or "",
        quantity=_int(d, "quantity", what),
        average_price=_dec(d, "average_price", what, zero),
        last_price=_dec(d, "last_price", what, zero),
        close_price=_dec(d, "close_price", what, zero),
        pnl=_dec(d, "pnl", what, zero),
        realised=_dec(d, "realised", what, zero),
        unrealised=_dec(d, "unrealised", what, zero),
        day_buy_quantity=_int(d, "day_buy_quantity", what, 0),
        day_sell_quantity=_int(d, "day_sell_quantity", what, 0),
        overnight_quantity=_int(d, "overnight_quantity", what, 0),
        multiplier=_dec(d, "multiplier", what, Decimal(1)),
    )


def _holding(d: dict[str, Any], what: str) -> Holding:
    zero = Decimal(0)
    return Holding(
        instrument_key=_str(d, "instrument_token", what),
        isin=_opt_str(d, "isin") or "",
        trading_symbol=_opt_str(d, "trading_symbol") or _opt_str(d, "tradingsymbol") or "",
        exchange=_opt_str(d, "exchange") or "",
        product=_opt_str(d, "product") or "D",
        quantity=_int(d, "quantity", what),
        t1_quantity=_int(d, "t1_quantity", what, 0),
        average_price=_dec(d, "average_price", what, zero),
        last_price=_dec(d, "last_price", what, zero),
        close_price=_dec(d, "close_price", what, zero),
        pnl=_dec(d, "pnl", what, zero),
    )


def _order(d: dict[str, Any], what: str) -> OrderInfo:
    zero = Decimal(0)
    return OrderInfo(
        order_id=_str(d, "order_id", what),
        instrument_key=_str(d, "instrument_token", what),
        trading_symbol=_opt_str(d, "trading_symbol") or _opt_str(d, "tradingsymbol") or "",
        exchange=_opt_str(d, "exchange") or "",
        side=_str(d, "transaction_type", what),
        order_type=_str(d, "order_type", what),
        product=_opt_str(d, "product") or "",
        validity=_opt_str(d, "validity") or "DAY",
        quantity=_int(d, "quantity", what),
        price=_dec(d, "price", what, zero),
        trigger_price=_dec(d, "trigger_price", what, zero),
        average_price=_dec(d, "average_price", what, zero),
        filled_quantity=_int(d, "filled_quantity", what, 0),
        pending_quantity=_int(d, "pending_quantity", what, 0),
        status=_str(d, "status", what),
        status_message=_opt_str(d, "status_message") or "",
        tag=_opt_str(d, "tag"),
        exchange_order_id=_opt_str(d, "exchange_order_id"),
        parent_order_id=_opt_str(d, "parent_order_id"),
        placed_at=_time(d.get("order_timestamp")),
        exchange_at=_time(d.get("exchange_timestamp")),
    )


def order_info(d: Any, what: str) -> OrderInfo:
    """One order in the order book's shape (a book row, or a portfolio-stream update)."""
    return _order(_obj(d, what), what)


def _trade(d: dict[str, Any], what: str) -> Trade:
    return Trade(
        trade_id=_str(d, "trade_id", what),
        order_id=_str(d, "order_id", what),
        exchange_order_id=_opt_str(d, "exchange_order_id"),
        instrument_key=_str(d, "instrument_token", what),
        trading_symbol=_opt_str(d, "trading_symbol") or _opt_str(d, "tradingsymbol") or "",
        exchange=_opt_str(d, "exchange") or "",
        side=_str(d, "transaction_type", what),
        product=_opt_str(d, "product") or "",
        order_type=_opt_str(d, "order_type") or "",
        quantity=_int(d, "quantity", what),
        average_price=_dec(d, "average_price", what),
        traded_at=_time(d.get("exchange_timestamp")) or _time(d.get("order_timestamp")),
    )


def _candle(row: Any, what: str) -> Candle:
    if not isinstance(row, list) or len(row) < 6:
        raise UpstoxMalformedResponse(f"Upstox's answer to {what} is not a candle row: {row!r}")
    stamp = row[0]
    try:
        when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise UpstoxMalformedResponse(f"Upstox's answer to {what}: bad timestamp {stamp!r}")
    cells = dict(enumerate(row))
    names = ("time", "open", "high", "low", "close", "volume", "oi")
    named = {names[i]: v for i, v in cells.items() if i < len(names)}
    return Candle(
        time=when,
        open=_dec(named, "open", what),
        high=_dec(named, "high", what),
        low=_dec(named, "low", what),
        close=_dec(named, "close", what),
        volume=_int(named, "volume", what, 0),
        oi=_int(named, "oi", what, 0),
    )


__all__ = [
    "API_HOST",
    "ORDER_HOST",
    "UpstoxConfig",
    "UpstoxRest",
    "candle_span_days",
    "order_info",
]
