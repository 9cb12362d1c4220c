"""The fake Kite's books: sessions, instruments, orders, trades, positions, GTTs, faults.

Everything a request or a test's control call touches lives here behind one lock, so the HTTP
threads, the websocket thread and the test thread see one consistent account.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "kite"
if not FIXTURES.is_dir():  # the repo may sit elsewhere; /work/shared is the team's layout
    FIXTURES = Path("/work/shared/fixtures/kite")

TOKEN_ERROR = "Incorrect `api_key` or `access_token`."
DEFAULT_MESSAGES = {
    400: ("InputException", "Missing or bad request parameters or values"),
    403: ("PermissionException", "Insufficient permission for that call."),
    429: ("NetworkException", "Too many requests"),
    500: ("GeneralException", "Something went wrong. Please try again."),
    502: ("NetworkException", "The backend OMS is down and the API is unable to communicate."),
    503: ("NetworkException", "Service unavailable. Please try again."),
    504: ("NetworkException", "Gateway timed out."),
}
HISTORICAL_MAX_DAYS = {
    "minute": 60,
    "3minute": 100,
    "5minute": 100,
    "10minute": 100,
    "15minute": 200,
    "30minute": 200,
    "60minute": 400,
    "day": 2000,
}
TERMINAL = ("COMPLETE", "CANCELLED", "REJECTED")


def fixture_json(name: str) -> Any:
    """A mock file's body (most are full envelopes; callers take ["data"])."""
    return json.loads((FIXTURES / name).read_text())


def kite_time(moment: datetime) -> str:
    """Kite's order/trade timestamp text: IST wall time, no zone."""
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def money(value: Decimal | int) -> float | int:
    """JSON numbers as Kite sends them (floats; whole numbers as ints like the mocks)."""
    d = Decimal(value)
    return int(d) if d == d.to_integral_value() else float(d)


class KiteError(Exception):
    """An error answer: HTTP status, Kite error_type and message (the client raises by type)."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def input_error(message: str) -> KiteError:
    return KiteError(400, "InputException", message)


@dataclass
class Instrument:
    """One row of the instruments dump plus what the fake needs to trade it."""

    instrument_token: int
    exchange_token: int
    tradingsymbol: str
    name: str
    last_price: Decimal
    expiry: str
    strike: Decimal
    tick_size: Decimal
    lot_size: int
    instrument_type: str
    segment: str
    exchange: str
    freeze_quantity: int | None = None

    def csv_row(self) -> list[str]:
        return [
            str(self.instrument_token),
            str(self.exchange_token),
            self.tradingsymbol,
            self.name,
            str(self.last_price),
            self.expiry,
            str(self.strike),
            str(self.tick_size),
            str(self.lot_size),
            self.instrument_type,
            self.segment,
            self.exchange,
        ]


CSV_HEADER = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
    "tick_size,lot_size,instrument_type,segment,exchange"
)
# Tradable names the fake adds to the fixture dump (the mock CSV has no INFY/SBIN/RELIANCE).
EXTRA_INSTRUMENTS = [
    Instrument(408065, 1594, "INFY", "INFOSYS", Decimal("1573.70"), "", Decimal(0),
               Decimal("0.05"), 1, "EQ", "NSE", "NSE", 100_000),
    Instrument(779521, 3045, "SBIN", "STATE BANK OF INDIA", Decimal("820.10"), "", Decimal(0),
               Decimal("0.05"), 1, "EQ", "NSE", "NSE", 100_000),
    Instrument(738561, 2885, "RELIANCE", "RELIANCE INDUSTRIES", Decimal("1290.40"), "",
               Decimal(0), Decimal("0.10"), 1, "EQ", "NSE", "NSE", 100_000),
    Instrument(256265, 1001, "NIFTY 50", "NIFTY 50", Decimal("24500.00"), "", Decimal(0),
               Decimal("0.00"), 0, "EQ", "INDICES", "NSE", None),
]  # fmt: skip


def load_instruments(csv_name: str = "instruments_all.csv") -> list[Instrument]:
    """The mock dump's rows as Instruments (no freeze quantity: set one per test)."""
    rows = csv.DictReader(io.StringIO((FIXTURES / csv_name).read_text()))
    return [
        Instrument(
            int(r["instrument_token"]),
            int(r["exchange_token"]),
            r["tradingsymbol"],
            r["name"],
            Decimal(r["last_price"]),
            r["expiry"],
            Decimal(r["strike"]),
            Decimal(r["tick_size"]),
            int(r["lot_size"]),
            r["instrument_type"],
            r["segment"],
            r["exchange"],
        )
        for r in rows
    ]


@dataclass
class RecordedRequest:
    """One HTTP request as the fake saw it (time is time.monotonic() on arrival)."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    json_body: Any
    headers: dict[str, str]
    time: float
    client_ip: str
    status: int = 0  # filled in when answered; 0 while a delayed answer is pending

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    def param(self, name: str) -> str | None:
        """A form field or query parameter (first value)."""
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    """A queued misbehaviour for requests matching `route` ("[METHOD ]/path-prefix")."""

    route: str
    kind: str  # "error" | "malformed" | "delay"
    times: int
    status: int = 0
    error_type: str = ""
    message: str = ""
    malformed: str = ""
    seconds: float = 0.0
    apply: bool = False  # perform the request's effect (e.g. place the order) before answering

    def matches(self, method: str, path: str) -> bool:
        want_method, _, prefix = self.route.rpartition(" ")
        return (not want_method or want_method.upper() == method) and path.startswith(prefix)


@dataclass
class _Position:
    exchange: str
    tradingsymbol: str
    instrument_token: int
    product: str
    buy_quantity: int = 0
    buy_value: Decimal = Decimal(0)
    sell_quantity: int = 0
    sell_value: Decimal = Decimal(0)


@dataclass
class KiteState:
    """The account behind the fake. Control methods are on FakeKite; this is its storage."""

    api_key: str
    api_secret: str
    user_id: str = "AB1234"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(IST))
    lock: threading.RLock = field(default_factory=threading.RLock)
    request_tokens: dict[str, bool] = field(default_factory=dict)  # token -> used
    access_tokens: set[str] = field(default_factory=set)
    tokens_expired_at: float | None = None
    instruments: dict[tuple[str, str], Instrument] = field(default_factory=dict)
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # id -> history
    trades: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[tuple[str, str, str], _Position] = field(default_factory=dict)
    holdings: list[dict[str, Any]] = field(default_factory=list)
    margins: dict[str, Any] = field(default_factory=dict)
    gtts: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    allowed_ips: set[str] = field(default_factory=set)  # empty = every IP may place orders
    pretend_client_ip: str | None = None
    order_rate_limit: int | None = 10
    auto_fill: bool = False
    redirect_url: str | None = None
    order_listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    autoslice_failures: dict[int, str] = field(default_factory=dict)  # next autoslice only
    _seq: int = 0
    _accepted_placements: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        for inst in [*load_instruments(), *EXTRA_INSTRUMENTS]:  # copies: fakes must not share
            self.instruments[(inst.exchange, inst.tradingsymbol)] = copy.copy(inst)
        self.holdings = fixture_json("holdings.json")["data"]
        self.margins = fixture_json("margins.json")["data"]

    # ---- ids and sessions -------------------------------------------------------------
    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def new_order_id(self) -> str:
        """Kite-like numeric id: yymmdd + a counter (unique per fake)."""
        return f"{self.clock().astimezone(IST):%y%m%d}{self.next_seq():09d}"

    def issue_request_token(self) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.request_tokens[token] = False
        return token

    def new_access_token(self) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.access_tokens.add(token)
        return token

    def exchange_request_token(self, api_key: str, request_token: str, checksum: str) -> str:
        """POST /session/token: the checksum and single use are what Kite enforces."""
        with self.lock:
            if api_key != self.api_key:
                raise input_error("Invalid `api_key`.")
            used = self.request_tokens.get(request_token)
            if used is None or used:
                raise KiteError(403, "TokenException", "Token is invalid or has expired.")
            want = hashlib.sha256(
                (self.api_key + request_token + self.api_secret).encode()
            ).hexdigest()
            if checksum != want:
                raise KiteError(403, "TokenException", "Invalid `checksum`.")
            self.request_tokens[request_token] = True
            return self.new_access_token()

    def token_valid(self, access_token: str) -> bool:
        with self.lock:
            return access_token in self.access_tokens

    def expire_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()
            self.tokens_expired_at = time.monotonic()

    # ---- instruments and prices -------------------------------------------------------
    def instrument(self, exchange: str, tradingsymbol: str) -> Instrument:
        try:
            return self.instruments[(exchange, tradingsymbol)]
        except KeyError:
            raise input_error(
                f"Invalid `tradingsymbol` or `exchange`: {exchange}:{tradingsymbol}."
            ) from None

    def instrument_by_token(self, token: int) -> Instrument | None:
        for inst in self.instruments.values():
            if inst.instrument_token == token:
                return inst
        return None

    def instruments_csv(self, exchange: str | None = None) -> str:
        out = io.StringIO()
        out.write(CSV_HEADER + "\n")
        writer = csv.writer(out, lineterminator="\n")
        for inst in self.instruments.values():
            if exchange is None or inst.exchange == exchange:
                writer.writerow(inst.csv_row())
        return out.getvalue()

    # ---- order placement rules ----------------------------------------------------------
    def check_order_ip(self, ip: str) -> None:
        """The 2026 static-IP rule, for order calls only."""
        with self.lock:
            seen = self.pretend_client_ip or ip
            if self.allowed_ips and seen not in self.allowed_ips:
                raise KiteError(
                    403,
                    "PermissionException",
                    f"IP ({seen}) is not allowed to place orders for this app. "
                    "Add it to the IP whitelist on the Kite Connect developer console.",
                )

    def check_order_rate(self) -> None:
        """Kite's 10 order placements per second: the 11th in any 1 s window gets a 429."""
        with self.lock:
            if self.order_rate_limit is None:
                return
            now = time.monotonic()
            recent = [t for t in self._accepted_placements if now - t < 1.0]
            self._accepted_placements = recent
            if len(recent) >= self.order_rate_limit:
                raise KiteError(429, "NetworkException", "Too many requests")
            recent.append(now)

    def _validate_order(self, p: dict[str, str], inst: Instrument, quantity: int) -> None:
        order_type = p["order_type"]
        if order_type not in ("MARKET", "LIMIT", "SL", "SL-M"):
            raise input_error("Invalid `order_type`.")
        if p["transaction_type"] not in ("BUY", "SELL"):
            raise input_error("Invalid `transaction_type`.")
        if p["product"] not in ("CNC", "MIS", "NRML", "CO", "MTF"):
            raise input_error("Invalid `product`.")
        if quantity <= 0:
            raise input_error("Invalid `quantity`.")
        if inst.lot_size > 1 and quantity % inst.lot_size:
            raise input_error(f"Quantity should be a multiple of lot size ({inst.lot_size}).")
        if order_type in ("MARKET", "SL-M"):
            mp = p.get("market_protection", "")
            try:
                value = Decimal(mp) if mp else Decimal(0)
            except ArithmeticError:
                value = Decimal(0)
            if value == 0:
                raise input_error(
                    "Market orders without market protection are not allowed via the API. "
                    "Set `market_protection` (-1 for automatic, or 1-100 percent)."
                )
            if value != -1 and not (0 < value <= 100):
                raise input_error("Invalid `market_protection`.")
        for name, needed in (
            ("price", order_type in ("LIMIT", "SL")),
            ("trigger_price", order_type in ("SL", "SL-M")),
        ):
            raw = p.get(name)
            if needed and not raw:
                raise input_error(f"Invalid `{name}`.")
            if raw:
                value = Decimal(raw)
                if needed and value <= 0:
                    raise input_error(f"Invalid `{name}`.")
                if inst.tick_size and value % inst.tick_size:
                    raise input_error(
                        f"Tick size for this script is {inst.tick_size}. Kindly enter {name} "
                        "in the multiple of tick size for this script."
                    )

    def _new_order(
        self, variety: str, p: dict[str, str], inst: Instrument, qty: int
    ) -> dict[str, Any]:
        now = self.clock()
        order_id = self.new_order_id()
        return {
            "placed_by": self.user_id,
            "order_id": order_id,
            "exchange_order_id": None,
            "parent_order_id": None,
            "status": "PUT ORDER REQ RECEIVED",
            "status_message": None,
            "status_message_raw": None,
            "order_timestamp": kite_time(now),
            "exchange_update_timestamp": None,
            "exchange_timestamp": None,
            "variety": variety,
            "modified": False,
            "exchange": inst.exchange,
            "tradingsymbol": inst.tradingsymbol,
            "instrument_token": inst.instrument_token,
            "order_type": p["order_type"],
            "transaction_type": p["transaction_type"],
            "validity": p.get("validity") or "DAY",
            "validity_ttl": int(p["validity_ttl"]) if p.get("validity_ttl") else 0,
            "product": p["product"],
            "quantity": qty,
            "disclosed_quantity": int(p.get("disclosed_quantity") or 0),
            "price": money(Decimal(p.get("price") or 0)),
            "trigger_price": money(Decimal(p.get("trigger_price") or 0)),
            "average_price": 0,
            "filled_quantity": 0,
            "pending_quantity": qty,
            "cancelled_quantity": 0,
            "market_protection": money(Decimal(p.get("market_protection") or 0)),
            "meta": {},
            "tag": p.get("tag") or None,
            "tags": [p["tag"]] if p.get("tag") else [],
            "guid": secrets.token_hex(8),
        }

    def _push_state(self, order: dict[str, Any], status: str, **changes: Any) -> dict[str, Any]:
        """Append a new history entry (Kite's history is one snapshot per state)."""
        entry = {**copy.deepcopy(order), **changes, "status": status}
        now = kite_time(self.clock())
        if status not in ("PUT ORDER REQ RECEIVED", "VALIDATION PENDING"):
            entry["exchange_update_timestamp"] = now
            if entry.get("exchange_order_id") is None and status not in ("REJECTED",):
                entry["exchange_order_id"] = f"{1_000_000_000_000_000 + self.next_seq()}"
                entry["exchange_timestamp"] = now
        self.orders[order["order_id"]].append(entry)
        return entry

    def place_order(self, variety: str, p: dict[str, str]) -> dict[str, Any]:
        """POST /orders/{variety}: validates, books and (maybe) auto-fills; returns `data`."""
        if variety not in ("regular", "amo", "iceberg", "co", "auction"):
            raise input_error("Invalid `variety`.")
        for name in ("exchange", "tradingsymbol", "transaction_type", "quantity", "product",
                     "order_type"):  # fmt: skip
            if not p.get(name):
                raise input_error(f"Missing `{name}`.")
        inst = self.instrument(p["exchange"], p["tradingsymbol"])
        try:
            quantity = int(p["quantity"])
        except ValueError:
            raise input_error("Invalid `quantity`.") from None
        self._validate_order(p, inst, quantity)
        if inst.exchange == "MCX" and p.get("validity") == "IOC":
            raise input_error("IOC orders are not allowed on MCX for API (algo) orders.")
        if variety == "iceberg" and not (p.get("iceberg_legs") and p.get("iceberg_quantity")):
            raise input_error("Missing `iceberg_legs` or `iceberg_quantity`.")
        autoslice = p.get("autoslice") == "true"
        with self.lock:
            if autoslice:
                return self._place_autoslice(variety, p, inst, quantity)
            return {"order_id": self._book(variety, p, inst, quantity)}

    def _place_autoslice(
        self, variety: str, p: dict[str, str], inst: Instrument, quantity: int
    ) -> dict[str, Any]:
        freeze = inst.freeze_quantity or quantity
        slices = [freeze] * (quantity // freeze)
        if quantity % freeze:
            slices.append(quantity % freeze)
        if len(slices) > 10:
            raise input_error(
                f"Order quantity {quantity} would need {len(slices)} slices at the freeze "
                f"quantity of {freeze}; autoslice allows at most 10 slices."
            )
        parent = self.new_order_id()
        failing, self.autoslice_failures = self.autoslice_failures, {}
        children: list[dict[str, Any]] = []
        for index, slice_qty in enumerate(slices):
            if index in failing:
                error = {"code": 400, "error_type": "MarginException", "data": None}
                children.append({"error": {**error, "message": failing[index]}})
            else:
                children.append({"order_id": self._book(variety, p, inst, slice_qty)})
        return {"order_id": parent, "children": children}

    def _book(self, variety: str, p: dict[str, str], inst: Instrument, quantity: int) -> str:
        order = self._new_order(variety, p, inst, quantity)
        order_id: str = order["order_id"]
        self.orders[order_id] = [order]
        self._push_state(order, "VALIDATION PENDING")
        if inst.freeze_quantity and quantity > inst.freeze_quantity:
            self._push_state(
                order,
                "REJECTED",
                pending_quantity=0,
                status_message=(
                    f"Quantity {quantity} exceeds the freeze quantity {inst.freeze_quantity}. "
                    "Use autoslice or iceberg."
                ),
            )
            self._notify(order_id)
            return order_id
        if variety == "amo":
            self._push_state(order, "AMO REQ RECEIVED")
            self._notify(order_id)
            return order_id
        self._push_state(order, "OPEN PENDING")
        self._push_state(order, "OPEN")
        self._notify(order_id)
        if self.auto_fill and order["order_type"] == "MARKET":
            self.fill(order_id)
        return order_id

    # ---- order changes ------------------------------------------------------------------
    def order(self, order_id: str) -> dict[str, Any]:
        """The latest state of an order (a copy)."""
        with self.lock:
            history = self.orders.get(order_id)
            if not history:
                raise input_error("Couldn't find that `order_id`.")
            return copy.deepcopy(history[-1])

    def modify_order(self, variety: str, order_id: str, p: dict[str, str]) -> str:
        with self.lock:
            current = self.order(order_id)
            if current["status"] in TERMINAL:
                raise KiteError(
                    400,
                    "InputException",
                    f"Order cannot be modified as it is being processed or is already "
                    f"{current['status'].lower()}.",
                )
            inst = self.instrument(current["exchange"], current["tradingsymbol"])
            merged = {
                "order_type": p.get("order_type") or current["order_type"],
                "transaction_type": current["transaction_type"],
                "product": current["product"],
                "price": p.get("price") or str(current["price"]),
                "trigger_price": p.get("trigger_price") or str(current["trigger_price"]),
                "market_protection": p.get("market_protection")
                or str(current["market_protection"]),
            }
            quantity = int(p.get("quantity") or current["quantity"])
            self._validate_order(merged, inst, quantity)
            if quantity < current["filled_quantity"]:
                raise input_error("Quantity cannot be less than the filled quantity.")
            changes = {
                "order_type": merged["order_type"],
                "price": money(Decimal(merged["price"] or 0)),
                "trigger_price": money(Decimal(merged["trigger_price"] or 0)),
                "quantity": quantity,
                "pending_quantity": quantity - current["filled_quantity"],
                "validity": p.get("validity") or current["validity"],
                "disclosed_quantity": int(p.get("disclosed_quantity") or 0),
                "modified": True,
            }
            base = {**current, **changes}
            for status in ("MODIFY VALIDATION PENDING", "MODIFY PENDING", "MODIFIED"):
                self._push_state(base, status)
            self._push_state(base, current["status"])  # back to OPEN (or AMO REQ RECEIVED)
            self._notify(order_id)
            return order_id

    def cancel_order(self, order_id: str, reason: str | None = None) -> str:
        with self.lock:
            current = self.order(order_id)
            if current["status"] in TERMINAL:
                raise input_error(
                    f"Order cannot be cancelled as it is being processed or is already "
                    f"{current['status'].lower()}."
                )
            pending = current["pending_quantity"]
            self._push_state(current, "CANCEL PENDING")
            self._push_state(
                current,
                "CANCELLED",
                pending_quantity=0,
                cancelled_quantity=pending,
                status_message=reason,
            )
            self._notify(order_id)
            return order_id

    def reject(self, order_id: str, reason: str) -> None:
        with self.lock:
            current = self.order(order_id)
            if current["status"] in TERMINAL:
                raise ValueError(f"order {order_id} is already {current['status']}")
            self._push_state(
                current,
                "REJECTED",
                pending_quantity=0,
                status_message=reason,
                status_message_raw=reason,
            )
            self._notify(order_id)

    def fill(
        self, order_id: str, quantity: int | None = None, price: Decimal | None = None
    ) -> dict[str, Any]:
        """Execute (part of) an order: a trade, a position change and an order update."""
        with self.lock:
            current = self.order(order_id)
            if current["status"] in TERMINAL:
                raise ValueError(f"order {order_id} is already {current['status']}")
            inst = self.instrument(current["exchange"], current["tradingsymbol"])
            qty = current["pending_quantity"] if quantity is None else quantity
            if not 0 < qty <= current["pending_quantity"]:
                raise ValueError(f"cannot fill {qty} of {current['pending_quantity']} pending")
            if price is None:
                price = Decimal(str(current["price"])) or inst.last_price
            price = Decimal(str(price))
            now = self.clock()
            filled = current["filled_quantity"] + qty
            avg = (Decimal(str(current["average_price"])) * current["filled_quantity"]
                   + price * qty) / filled  # fmt: skip
            trade = {
                "trade_id": str(10_000_000 + self.next_seq()),
                "order_id": order_id,
                "exchange": inst.exchange,
                "tradingsymbol": inst.tradingsymbol,
                "instrument_token": inst.instrument_token,
                "product": current["product"],
                "average_price": money(price),
                "quantity": qty,
                "exchange_order_id": current["exchange_order_id"],
                "transaction_type": current["transaction_type"],
                "fill_timestamp": kite_time(now),
                "order_timestamp": kite_time(now)[11:],
                "exchange_timestamp": kite_time(now),
            }
            self.trades.append(trade)
            key = (inst.exchange, inst.tradingsymbol, current["product"])
            pos = self.positions.setdefault(
                key,
                _Position(
                    inst.exchange, inst.tradingsymbol, inst.instrument_token, current["product"]
                ),
            )
            if current["transaction_type"] == "BUY":
                pos.buy_quantity += qty
                pos.buy_value += price * qty
            else:
                pos.sell_quantity += qty
                pos.sell_value += price * qty
            inst.last_price = price
            status = "COMPLETE" if filled == current["quantity"] else "OPEN"
            self._push_state(
                current,
                status,
                filled_quantity=filled,
                pending_quantity=current["quantity"] - filled,
                average_price=money(avg.quantize(Decimal("0.0001")).normalize()),
            )
            self._notify(order_id, partial=status == "OPEN")
            return copy.deepcopy(trade)

    def _notify(self, order_id: str, partial: bool = False) -> None:
        """Send the order's latest state to websocket listeners, shaped like a postback."""
        order = copy.deepcopy(self.orders[order_id][-1])
        update = {
            "user_id": self.user_id,
            "unfilled_quantity": order["pending_quantity"],
            "app_id": 1234,
            "checksum": "",
            **order,
        }
        if partial:
            update["status"] = "UPDATE"
        for listener in list(self.order_listeners):
            listener(update)

    # ---- portfolio ----------------------------------------------------------------------
    def positions_payload(self) -> dict[str, Any]:
        rows = []
        with self.lock:
            for pos in self.positions.values():
                inst = self.instrument(pos.exchange, pos.tradingsymbol)
                net = pos.buy_quantity - pos.sell_quantity
                buy_price = pos.buy_value / pos.buy_quantity if pos.buy_quantity else Decimal(0)
                sell_price = pos.sell_value / pos.sell_quantity if pos.sell_quantity else 0
                avg = buy_price if net > 0 else (sell_price if net < 0 else Decimal(0))
                pnl = pos.sell_value - pos.buy_value + net * inst.last_price
                q = Decimal("0.01")
                rows.append(
                    {
                        "tradingsymbol": pos.tradingsymbol,
                        "exchange": pos.exchange,
                        "instrument_token": pos.instrument_token,
                        "product": pos.product,
                        "quantity": net,
                        "overnight_quantity": 0,
                        "multiplier": 1,
                        "average_price": money(Decimal(avg).quantize(q)),
                        "close_price": 0,
                        "last_price": money(inst.last_price),
                        "value": money(pos.sell_value - pos.buy_value),
                        "pnl": money(pnl.quantize(q)),
                        "m2m": money(pnl.quantize(q)),
                        "unrealised": money(pnl.quantize(q)),
                        "realised": 0,
                        "buy_quantity": pos.buy_quantity,
                        "buy_price": money(Decimal(buy_price).quantize(q)),
                        "buy_value": money(pos.buy_value),
                        "buy_m2m": money(pos.buy_value),
                        "sell_quantity": pos.sell_quantity,
                        "sell_price": money(Decimal(sell_price).quantize(q)),
                        "sell_value": money(pos.sell_value),
                        "sell_m2m": money(pos.sell_value),
                        "day_buy_quantity": pos.buy_quantity,
                        "day_buy_price": money(Decimal(buy_price).quantize(q)),
                        "day_buy_value": money(pos.buy_value),
                        "day_sell_quantity": pos.sell_quantity,
                        "day_sell_price": money(Decimal(sell_price).quantize(q)),
                        "day_sell_value": money(pos.sell_value),
                    }
                )
        return {"net": rows, "day": copy.deepcopy(rows)}

    # ---- GTT ----------------------------------------------------------------------------
    def gtt_from_form(self, p: dict[str, str], trigger_id: int | None) -> int:
        try:
            kind = p["type"]
            condition = json.loads(p["condition"])
            orders = json.loads(p["orders"])
        except (KeyError, ValueError):
            raise input_error("Invalid `condition`, `orders` or `type`.") from None
        values = condition.get("trigger_values") or []
        if kind not in ("single", "two-leg"):
            raise input_error("Invalid `type`.")
        want = 1 if kind == "single" else 2
        if len(values) != want or len(orders) != want:
            raise input_error(f"A {kind} trigger needs {want} trigger value(s) and order(s).")
        inst = self.instrument(condition.get("exchange", ""), condition.get("tradingsymbol", ""))
        now = kite_time(self.clock())
        with self.lock:
            if trigger_id is None:
                trigger_id = 100 + self.next_seq()
                created = now
            else:
                created = self.gtt(trigger_id)["created_at"]
            self.gtts[trigger_id] = {
                "id": trigger_id,
                "user_id": self.user_id,
                "parent_trigger": None,
                "type": kind,
                "created_at": created,
                "updated_at": now,
                "expires_at": kite_time(self.clock() + timedelta(days=365)),
                "status": "active",
                "condition": {**condition, "instrument_token": inst.instrument_token},
                "orders": [{**o, "result": None} for o in orders],
                "meta": None,
            }
        return trigger_id

    def gtt(self, trigger_id: int) -> dict[str, Any]:
        with self.lock:
            if trigger_id not in self.gtts:
                raise input_error("Invalid trigger ID.")
            return copy.deepcopy(self.gtts[trigger_id])
