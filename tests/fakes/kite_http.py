"""The fake Kite's REST side: Kite's routes, envelopes, content types and error answers.

One stdlib ThreadingHTTPServer; each request is recorded, checked against queued faults,
then answered from KiteState. Served at the host root, as kiteconnect discards root paths.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.fakes.kite_state import (
    HISTORICAL_MAX_DAYS,
    IST,
    TOKEN_ERROR,
    Fault,
    KiteError,
    KiteState,
    RecordedRequest,
    fixture_json,
    input_error,
    kite_time,
    money,
)

JSON = "application/json"
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
MALFORMED_KINDS = ("invalid_json", "html_502", "missing_data", "empty_body", "no_content_type")
INTERVAL_MINUTES = {
    "minute": 1,
    "3minute": 3,
    "5minute": 5,
    "10minute": 10,
    "15minute": 15,
    "30minute": 30,
    "60minute": 60,
}
ORDER_ROUTE = re.compile(r"^/orders/(?P<variety>[a-z]+)(?:/(?P<order_id>[^/]+))?$")


class Answer:
    """What goes back on the wire."""

    def __init__(
        self,
        status: int,
        content_type: str | None,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body
        self.headers = headers or {}

    @classmethod
    def success(cls, data: Any) -> Answer:
        return cls(200, JSON, json.dumps({"status": "success", "data": data}).encode())

    @classmethod
    def error(cls, err: KiteError) -> Answer:
        body = {"status": "error", "message": err.message, "data": None,
                "error_type": err.error_type}  # fmt: skip
        return cls(err.status, JSON, json.dumps(body).encode())

    @classmethod
    def malformed(cls, kind: str) -> Answer:
        if kind == "invalid_json":
            return cls(200, JSON, b'{"status": "success", "data": {"order_id": ')
        if kind == "html_502":
            return cls(502, "text/html", HTML_502.encode())
        if kind == "missing_data":
            return cls(200, JSON, b'{"status": "success"}')
        if kind == "empty_body":
            return cls(200, JSON, b"")
        if kind == "no_content_type":
            return cls(200, None, b'{"status": "success", "data": {}}')
        raise ValueError(f"malformed kind must be one of {MALFORMED_KINDS}")


def _parse_when(text: str) -> datetime:
    """Kite's from/to: 'yyyy-mm-dd hh:mm:ss' or 'yyyy-mm-dd', IST wall time."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=IST)
        except ValueError:
            continue
    raise input_error("Invalid `from` or `to` date.")


def _price_at(token: int, index: int) -> Decimal:
    """A deterministic wandering price per instrument, in whole paise (tick 0.05)."""
    h = int.from_bytes(hashlib.sha256(f"{token}:{index}".encode()).digest()[:4], "big")
    base = 500 + token % 1500
    wave = 0.08 * base * math.sin(index / 3000) + 0.01 * base * math.sin(index / 37)
    noise = (h % 200 - 100) / 100
    return (Decimal(str(round((base + wave + noise) * 20))) / 20).quantize(Decimal("0.05"))


def historical_candles(
    token: int, interval: str, start: datetime, end: datetime, oi: bool
) -> list[list[Any]]:
    """Candles for weekdays 09:15-15:30 IST; each bar depends only on (token, its time)."""
    if interval not in HISTORICAL_MAX_DAYS:
        raise input_error("invalid interval")
    if end < start:
        raise input_error("invalid date range: `from` is after `to`")
    max_days = HISTORICAL_MAX_DAYS[interval]
    if end - start > timedelta(days=max_days):
        raise input_error(f"interval exceeds max limit: {max_days} days")
    candles: list[list[Any]] = []
    day: date = start.date()
    while day <= end.date():
        if day.weekday() < 5:
            open_at = datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST)
            if interval == "day":
                stamps = [datetime(day.year, day.month, day.day, tzinfo=IST)]
                step = 375
            else:
                step = INTERVAL_MINUTES[interval]
                stamps = [open_at + timedelta(minutes=m) for m in range(0, 375, step)]
            for stamp in stamps:
                if not start <= stamp <= end:
                    continue
                first = (day.toordinal() * 375) + int((max(stamp, open_at) - open_at).seconds / 60)
                stride = max(1, step // 8)  # a few samples per bar keep long ranges fast
                path = [_price_at(token, first + k) for k in range(0, step + 1, stride)]
                path.append(_price_at(token, first + step))
                h = int.from_bytes(hashlib.sha256(f"v{token}:{first}".encode()).digest()[:3])
                row: list[Any] = [
                    stamp.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    money(path[0]),
                    money(max(path)),
                    money(min(path)),
                    money(path[-1]),
                    (h % 5000 + 100) * step,
                ]
                if oi:
                    row.append(0)
                candles.append(row)
        day += timedelta(days=1)
    return candles


class KiteHTTPServer(ThreadingHTTPServer):
    """Carries the state to the handlers."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: KiteState) -> None:
        self.state = state
        super().__init__(("127.0.0.1", 0), KiteHandler)


class KiteHandler(BaseHTTPRequestHandler):
    server: KiteHTTPServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded requests are the log."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # ---- plumbing --------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        form: dict[str, list[str]] = {}
        json_body: Any = None
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            json_body = json.loads(raw)
        elif raw:
            form = parse_qs(raw.decode(), keep_blank_values=True)
        record = RecordedRequest(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            form=form,
            json_body=json_body,
            headers={k: v for k, v in self.headers.items()},
            time=time.monotonic(),
            client_ip=self.client_address[0],
        )
        with state.lock:
            state.requests.append(record)
            fault = self._take_fault(method, parts.path)
        answer: Answer
        if fault is not None and fault.kind in ("error", "malformed") and not fault.apply:
            answer = self._fault_answer(fault)
        else:
            try:
                answer = self._route(method, parts.path, record)
            except KiteError as err:
                answer = Answer.error(err)
            if fault is not None and fault.kind in ("error", "malformed"):
                answer = self._fault_answer(fault)
            elif fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
        record.status = answer.status
        try:
            self.send_response(answer.status)
            if answer.content_type:
                self.send_header("Content-Type", answer.content_type)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts): the effect above still happened

    def _take_fault(self, method: str, path: str) -> Fault | None:
        faults = self.server.state.faults
        for fault in faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_answer(fault: Fault) -> Answer:
        if fault.kind == "malformed":
            return Answer.malformed(fault.malformed)
        return Answer.error(KiteError(fault.status, fault.error_type, fault.message))

    def _authenticate(self) -> None:
        state = self.server.state
        if self.headers.get("X-Kite-Version") != "3":
            raise KiteError(403, "TokenException", TOKEN_ERROR)
        auth = self.headers.get("Authorization") or ""
        match = re.fullmatch(r"token ([^:]+):(.+)", auth)
        if not match or match.group(1) != state.api_key or not state.token_valid(match.group(2)):
            raise KiteError(403, "TokenException", TOKEN_ERROR)

    @staticmethod
    def _params(record: RecordedRequest) -> dict[str, str]:
        source = record.form if record.method in ("POST", "PUT") else record.query
        return {k: v[0] for k, v in source.items()}

    # ---- routes ----------------------------------------------------------------------
    def _route(self, method: str, path: str, record: RecordedRequest) -> Answer:
        state = self.server.state
        if path == "/connect/login" and method == "GET":
            return self._login_redirect(record)
        if path == "/session/token":
            return self._session(method, record)
        self._authenticate()
        params = self._params(record)
        if method == "GET":
            return self._get(path, record, params)
        order = ORDER_ROUTE.match(path)
        if order or path.startswith("/gtt/triggers"):
            state.check_order_ip(record.client_ip)
        if order and method == "POST" and not order["order_id"]:
            state.check_order_rate()
            return Answer.success(state.place_order(order["variety"], params))
        if order and method == "PUT" and order["order_id"]:
            return Answer.success(
                {"order_id": state.modify_order(order["variety"], order["order_id"], params)}
            )
        if order and method == "DELETE" and order["order_id"]:
            return Answer.success({"order_id": state.cancel_order(order["order_id"])})
        if path == "/gtt/triggers" and method == "POST":
            return Answer.success({"trigger_id": state.gtt_from_form(params, None)})
        gtt = re.fullmatch(r"/gtt/triggers/(\d+)", path)
        if gtt and method == "PUT":
            return Answer.success({"trigger_id": state.gtt_from_form(params, int(gtt[1]))})
        if gtt and method == "DELETE":
            with state.lock:
                state.gtt(int(gtt[1]))
                del state.gtts[int(gtt[1])]
            return Answer.success({"trigger_id": int(gtt[1])})
        raise KiteError(404, "GeneralException", "Route not found")

    def _login_redirect(self, record: RecordedRequest) -> Answer:
        """Stands in for kite.zerodha.com/connect/login after the user has logged in."""
        state = self.server.state
        if record.param("api_key") != state.api_key or not state.redirect_url:
            return Answer(400, "text/html", b"<html><body>Invalid api_key or no redirect URL")
        token = state.issue_request_token()
        sep = "&" if "?" in state.redirect_url else "?"
        location = (
            f"{state.redirect_url}{sep}request_token={quote(token)}"
            "&action=login&type=login&status=success"
        )
        return Answer(302, "text/html", b"", headers={"Location": location})

    def _session(self, method: str, record: RecordedRequest) -> Answer:
        state = self.server.state
        params = self._params(record)
        if method == "POST":
            token = state.exchange_request_token(
                params.get("api_key", ""), params.get("request_token", ""),
                params.get("checksum", ""),
            )  # fmt: skip
            data = fixture_json("generate_session.json")["data"]
            data.update(
                user_id=state.user_id,
                api_key=state.api_key,
                access_token=token,
                public_token=token[:8],
                enctoken="",
                refresh_token="",
                login_time=kite_time(state.clock()),
                email="trader@example.com",
            )
            return Answer.success(data)
        if method == "DELETE":
            if params.get("api_key") != state.api_key:
                raise input_error("Invalid `api_key`.")
            with state.lock:
                state.access_tokens.discard(params.get("access_token", ""))
            return Answer.success(True)
        raise KiteError(405, "InputException", "Method not allowed")

    def _get(self, path: str, record: RecordedRequest, params: dict[str, str]) -> Answer:
        state = self.server.state
        if path == "/user/profile":
            data = fixture_json("profile.json")["data"]
            data["user_id"] = state.user_id
            return Answer.success(data)
        if path == "/user/margins":
            return Answer.success(state.margins)
        if m := re.fullmatch(r"/user/margins/(equity|commodity)", path):
            return Answer.success(state.margins[m[1]])
        if path == "/orders":
            with state.lock:
                return Answer.success([h[-1] for h in state.orders.values()])
        if m := re.fullmatch(r"/orders/([^/]+)", path):
            state.order(m[1])  # raises for an unknown id
            with state.lock:
                return Answer.success(state.orders[m[1]])
        if m := re.fullmatch(r"/orders/([^/]+)/trades", path):
            state.order(m[1])
            with state.lock:
                return Answer.success([t for t in state.trades if t["order_id"] == m[1]])
        if path == "/trades":
            with state.lock:
                return Answer.success(list(state.trades))
        if path == "/portfolio/positions":
            return Answer.success(state.positions_payload())
        if path == "/portfolio/holdings":
            return Answer.success(state.holdings)
        if path == "/instruments":
            return Answer(200, "text/csv", state.instruments_csv().encode())
        if m := re.fullmatch(r"/instruments/([A-Z]+)", path):
            return Answer(200, "text/csv", state.instruments_csv(m[1]).encode())
        if m := re.fullmatch(r"/instruments/historical/(\d+)/(\w+)", path):
            candles = historical_candles(
                int(m[1]),
                m[2],
                _parse_when(params.get("from", "")),
                _parse_when(params.get("to", "")),
                params.get("oi") == "1",
            )
            return Answer.success({"candles": candles})
        if path in ("/quote", "/quote/ltp", "/quote/ohlc"):
            return Answer.success(self._quotes(path, record.query.get("i", [])))
        if path == "/gtt/triggers":
            with state.lock:
                return Answer.success(list(state.gtts.values()))
        if m := re.fullmatch(r"/gtt/triggers/(\d+)", path):
            return Answer.success(state.gtt(int(m[1])))
        raise KiteError(404, "GeneralException", "Route not found")

    def _quotes(self, path: str, keys: list[str]) -> dict[str, Any]:
        state = self.server.state
        out: dict[str, Any] = {}
        for key in keys:
            exchange, _, symbol = key.partition(":")
            inst = state.instruments.get((exchange, symbol))
            if inst is None:
                continue  # Kite leaves unknown instruments out
            ltp = money(inst.last_price)
            item: dict[str, Any] = {"instrument_token": inst.instrument_token, "last_price": ltp}
            if path != "/quote/ltp":
                item["ohlc"] = {"open": ltp, "high": ltp, "low": ltp, "close": ltp}
            if path == "/quote":
                now = kite_time(state.clock())
                empty = [{"price": 0, "quantity": 0, "orders": 0}] * 5
                item.update(
                    timestamp=now, last_trade_time=now, last_quantity=0, buy_quantity=0,
                    sell_quantity=0, volume=0, average_price=ltp, oi=0, oi_day_high=0,
                    oi_day_low=0, net_change=0, lower_circuit_limit=0, upper_circuit_limit=0,
                    depth={"buy": empty, "sell": empty},
                )  # fmt: skip
            out[key] = item
        return out


def start_http(state: KiteState) -> tuple[KiteHTTPServer, threading.Thread]:
    server = KiteHTTPServer(state)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fake-kite-http", daemon=True
    )
    thread.start()
    return server, thread
