"""Kite's dicts <-> the engine's types, and nothing else.

kiteconnect hands back JSON floats and naive datetimes. Money crosses here once, as
`Decimal(str(x))` (the float's shortest repr, which is the number Kite printed; never
`Decimal(float)`, which would carry the binary error), and Kite's times, IST wall clock,
get Asia/Kolkata attached. A row that cannot be read raises `MalformedResponse` naming the
call, the row and the field, so a trader (or a bug report) can point at it.

Rows for exchanges or products Artha does not trade (CDS, MCX, BCD; CO, MTF, BO) are skipped
by the list converters and counted, not refused: they are the trader's own business at the
broker and must not stop Artha from reading the rest of the account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from brokers.zerodha.errors import BROKER
from engine.broker.errors import MalformedResponse
from engine.broker.models import (
    BrokerOrder,
    DepthLevel,
    Funds,
    Holding,
    OrderRequest,
    PositionSnapshot,
    Profile,
    Quote,
    TickMode,
    foreign_client_id,
)
from engine.domain.enums import (
    Exchange,
    OptionType,
    OrderType,
    Product,
    Segment,
    Side,
    Validity,
)
from engine.domain.fills import Fill, Position
from engine.domain.instrument import Instrument
from engine.domain.market_data import Bar, Tick
from engine.domain.money import AVERAGE_PRICE_QUANTUM
from engine.domain.orders import Order, OrderStatus
from engine.ist import IST
from engine.timeframes import Timeframe

Row = Mapping[str, Any]

# -- Kite's vocabularies -----------------------------------------------------------------------

# Timeframe -> Kite's interval name, and the longest span Kite serves in one request
# (india-domain.md §4.5: minute 60 days, 3/5/10-minute 100, 15/30-minute 200, 60-minute 400,
# day 2,000).
INTERVALS: Final[dict[Timeframe, str]] = {
    Timeframe.M1: "minute",
    Timeframe.M3: "3minute",
    Timeframe.M5: "5minute",
    Timeframe.M15: "15minute",
    Timeframe.M30: "30minute",
    Timeframe.M60: "60minute",
    Timeframe.D1: "day",
}
MAX_HISTORY_DAYS: Final[dict[Timeframe, int]] = {
    Timeframe.M1: 60,
    Timeframe.M3: 100,
    Timeframe.M5: 100,
    Timeframe.M15: 200,
    Timeframe.M30: 200,
    Timeframe.M60: 400,
    Timeframe.D1: 2000,
}

# Kite's order statuses. Anything not listed that is not terminal counts as working (OPEN,
# or PARTIALLY_FILLED once something filled): a new intermediate status from Kite must not
# make a live order look finished.
FILLED_STATUSES: Final = frozenset({"COMPLETE"})
CANCELLED_STATUSES: Final = frozenset({"CANCELLED", "LAPSED", "EXPIRED"})
REJECTED_STATUSES: Final = frozenset({"REJECTED"})
# Received by Kite, not yet at the exchange.
NEW_STATUSES: Final = frozenset({"PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"})
# At the exchange (or queued for it): "TRIGGER PENDING", "AMO REQ RECEIVED", "OPEN", "MODIFY
# VALIDATION PENDING", "MODIFY PENDING", "MODIFIED", "CANCEL PENDING", "UPDATE" (a
# websocket/postback partial fill).

_SEGMENTS: Final[dict[str, Segment]] = {
    "EQ": Segment.EQUITY,
    "FUT": Segment.FUTURES,
    "CE": Segment.OPTIONS,
    "PE": Segment.OPTIONS,
}
INDEX_SEGMENT: Final = "INDICES"
INDEX_TICK: Final = Decimal("0.01")  # Kite lists indices with tick 0; NSE prints them to paise
PAISA: Final = Decimal("0.01")
_KITE_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


def bad(call: str, message: str) -> MalformedResponse:
    """The error for an answer we cannot use, naming the call and what was wrong."""
    return MalformedResponse(f"Kite's answer to {call} could not be read: {message}", broker=BROKER)


# -- scalars -----------------------------------------------------------------------------------


def dec(value: object, what: str) -> Decimal:
    """Kite's number as an exact Decimal (floats through their repr). ValueError on junk."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} is {value!r}, not a number")
    if isinstance(value, float | int | str | Decimal):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{what} is {value!r}, not a number") from None
        if result.is_finite():
            return result
    raise ValueError(f"{what} is {value!r}, not a number")


def positive_or_none(value: object, what: str) -> Decimal | None:
    """Kite writes 0 for "no price" (a MARKET order's price, an unfilled average)."""
    if value is None or value == "":
        return None
    number = dec(value, what)
    return number if number > 0 else None


def whole(value: object, what: str) -> int:
    """A quantity: an int, or a float/str holding a whole number."""
    if isinstance(value, bool):
        raise ValueError(f"{what} is {value!r}, not a whole number")
    if isinstance(value, int):
        return value
    number = dec(value, what)
    if number != number.to_integral_value():
        raise ValueError(f"{what} is {value!r}, not a whole number")
    return int(number)


def kite_time(value: object, what: str) -> datetime:
    """A Kite time as an aware datetime: naive values are IST wall clock."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            try:
                value = datetime.strptime(text, _KITE_TIME_FORMAT)
            except ValueError:
                raise ValueError(f"{what} is {text!r}, not a time") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=IST)
        return value.astimezone(IST)
    raise ValueError(f"{what} is {value!r}, not a time")


def first_time(row: Row, names: Iterable[str], what: str) -> datetime | None:
    """The first of `names` that holds a full time (Kite leaves some empty, and writes a
    trade's order_timestamp as a bare HH:MM:SS)."""
    for name in names:
        value = row.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, str) and len(value.strip()) <= 8:  # "09:16:39": no date
            continue
        return kite_time(value, f"{what} {name}")
    return None


def kite_wall_time(moment: datetime) -> str:
    """An aware time as the IST wall clock text Kite's `from`/`to` parameters take."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment.isoformat()} must be timezone-aware")
    return moment.astimezone(IST).strftime(_KITE_TIME_FORMAT)


def sdk_number(value: Decimal) -> float | int:
    """A Decimal for kiteconnect's form fields: ints stay ints; otherwise the float whose repr
    is the Decimal's text (the SDK and requests print it back unchanged)."""
    if value == value.to_integral_value():
        return int(value)
    return float(str(value))


def _enum(kind: type[Any], value: object, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{what} is {value!r}, not one of {[m.value for m in kind]}") from None


def supported_exchange(value: object) -> Exchange | None:
    try:
        return Exchange(str(value))
    except ValueError:
        return None


def supported_product(value: object) -> Product | None:
    try:
        return Product(str(value))
    except ValueError:
        return None


def instrument_key(exchange: Exchange, tradingsymbol: object) -> str:
    if not isinstance(tradingsymbol, str) or not tradingsymbol.strip():
        raise ValueError(f"tradingsymbol is {tradingsymbol!r}")
    return f"{exchange.value}:{tradingsymbol}"


@dataclass
class Skipped:
    """Rows left out because Artha does not trade their exchange or product (by reason)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def __bool__(self) -> bool:
        return bool(self.counts)

    def describe(self) -> str:
        return ", ".join(f"{n} {reason}" for reason, n in sorted(self.counts.items()))


# -- orders ------------------------------------------------------------------------------------


def order_status(kite_status: str, filled: int, quantity: int) -> OrderStatus:
    """Kite's status word and fill count -> Artha's status (see the table above)."""
    status = kite_status.strip().upper()
    if status in FILLED_STATUSES:
        return OrderStatus.FILLED
    if status in CANCELLED_STATUSES:
        return OrderStatus.CANCELLED  # keeps its fills: the filled part is a trade
    if status in REJECTED_STATUSES:
        return OrderStatus.REJECTED
    if filled >= quantity > 0:
        return OrderStatus.FILLED
    if filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    if status in NEW_STATUSES:
        return OrderStatus.NEW
    return OrderStatus.OPEN


def tag_of(row: Row) -> str | None:
    """The order's tag (our client id), from `tag` or Kite's newer `tags` list."""
    tag = row.get("tag")
    if isinstance(tag, str) and tag.strip():
        return tag
    tags = row.get("tags")
    if isinstance(tags, list):
        for item in tags:
            if isinstance(item, str) and item.strip():
                return item
    return None


def to_broker_order(row: Row, call: str = "orders") -> BrokerOrder | None:
    """One Kite order dict -> BrokerOrder; None for an exchange/product Artha does not trade."""
    order_id = str(row.get("order_id") or "")
    where = f"order {order_id or '(no order_id)'}"
    try:
        if not order_id:
            raise ValueError("order_id is missing")
        exchange = supported_exchange(row.get("exchange"))
        product = supported_product(row.get("product"))
        if exchange is None or product is None:
            return None
        order_type: OrderType = _enum(OrderType, row.get("order_type"), "order_type")
        quantity = whole(row.get("quantity"), "quantity")
        filled = whole(row.get("filled_quantity") or 0, "filled_quantity")
        kite_status = str(row.get("status") or "")
        if not kite_status:
            raise ValueError("status is missing")
        status = order_status(kite_status, filled, quantity)
        average = positive_or_none(row.get("average_price"), "average_price") if filled else None
        if filled and average is None:
            raise ValueError(f"filled_quantity is {filled} but average_price is missing")
        validity_text = str(row.get("validity") or "DAY")
        validity = (
            Validity.DAY if validity_text == "TTL" else _enum(Validity, validity_text, "validity")
        )
        price = None
        if order_type in (OrderType.LIMIT, OrderType.SL):
            price = positive_or_none(row.get("price"), "price")
        trigger = None
        if order_type in (OrderType.SL, OrderType.SL_M):
            trigger = positive_or_none(row.get("trigger_price"), "trigger_price")
        placed = first_time(row, ("order_timestamp", "exchange_timestamp"), "order")
        updated = first_time(
            row,
            ("exchange_update_timestamp", "exchange_timestamp", "order_timestamp"),
            "order",
        )
        now = datetime.now(IST)
        tag = tag_of(row)
        order = Order(
            client_id=tag or foreign_client_id(order_id),
            symbol=instrument_key(exchange, row.get("tradingsymbol")),
            side=_enum(Side, row.get("transaction_type"), "transaction_type"),
            order_type=order_type,
            product=product,
            validity=validity,
            quantity=quantity,
            price=price,
            trigger_price=trigger,
            tag=tag or "",
            broker_id=order_id,
            status=status,
            filled_quantity=min(filled, quantity),
            average_price=average.quantize(AVERAGE_PRICE_QUANTUM, rounding=ROUND_HALF_UP)
            if average
            else None,
            status_message=str(row.get("status_message") or ""),
            created_at=placed or updated or now,
        )
        parent = row.get("parent_order_id")
        exchange_order_id = row.get("exchange_order_id")
        return BrokerOrder(
            order=order,
            broker_status=kite_status,
            updated_at=updated or placed or now,
            exchange_order_id=str(exchange_order_id) if exchange_order_id else None,
            parent_id=str(parent) if parent else None,
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"{where}: {error}") from None


def to_broker_orders(rows: object, call: str = "orders") -> tuple[list[BrokerOrder], Skipped]:
    """The order book. A parent id that is not itself in the book (an auto-slice parent is
    only an id) is dropped, so each slice stands as an order of its own and reconciliation
    by tag, which looks at orders without a parent, still finds the order."""
    skipped = Skipped()
    orders: list[BrokerOrder] = []
    for row in _rows(rows, call):
        converted = to_broker_order(row, call)
        if converted is None:
            skipped.add(f"order(s) on {row.get('exchange')}/{row.get('product')}")
        else:
            orders.append(converted)
    known = {order.broker_id for order in orders}
    return [
        replace(order, parent_id=None)
        if order.parent_id is not None and order.parent_id not in known
        else order
        for order in orders
    ], skipped


def order_params(request: OrderRequest) -> dict[str, Any]:
    """The keyword arguments of kiteconnect's place_order for `request` (variety aside)."""
    order = request.order
    instrument = request.instrument
    params: dict[str, Any] = {
        "exchange": instrument.exchange.value,
        "tradingsymbol": instrument.symbol,
        "transaction_type": order.side.value,
        "quantity": order.quantity,
        "product": order.product.value,
        "order_type": order.order_type.value,
        "validity": order.validity.value,
        "tag": request.tag,
    }
    if order.price is not None:
        params["price"] = sdk_number(order.price)
    if order.trigger_price is not None:
        params["trigger_price"] = sdk_number(order.trigger_price)
    protection = request.protection
    if protection is not None:
        params["market_protection"] = sdk_number(protection)
    if request.iceberg_legs is not None:
        params["iceberg_legs"] = request.iceberg_legs
        # Kite wants the size of each leg; the legs split the quantity in whole lots.
        lots = order.quantity // instrument.lot_size
        per_leg_lots = -(-lots // request.iceberg_legs)
        params["iceberg_quantity"] = per_leg_lots * instrument.lot_size
    return params


# -- trades, positions, holdings, funds --------------------------------------------------------


def to_fill(row: Row, client_ids: Mapping[str, str], call: str = "trades") -> Fill | None:
    """One Kite trade -> Fill, its order's client id looked up by Kite order id (trades carry
    no tag). None for an exchange Artha does not trade."""
    trade_id = str(row.get("trade_id") or "")
    where = f"trade {trade_id or '(no trade_id)'}"
    try:
        if not trade_id:
            raise ValueError("trade_id is missing")
        exchange = supported_exchange(row.get("exchange"))
        if exchange is None:
            return None
        order_id = str(row.get("order_id") or "")
        if not order_id:
            raise ValueError("order_id is missing")
        ts = first_time(row, ("fill_timestamp", "exchange_timestamp", "order_timestamp"), "trade")
        if ts is None:
            raise ValueError("fill_timestamp is missing")
        return Fill(
            order_client_id=client_ids.get(order_id) or foreign_client_id(order_id),
            trade_id=trade_id,
            symbol=instrument_key(exchange, row.get("tradingsymbol")),
            side=_enum(Side, row.get("transaction_type"), "transaction_type"),
            quantity=whole(row.get("quantity"), "quantity"),
            price=dec(row.get("average_price"), "average_price"),
            ts=ts,
            broker_order_id=order_id,
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"{where}: {error}") from None


def to_fills(
    rows: object, client_ids: Mapping[str, str], call: str = "trades"
) -> tuple[list[Fill], Skipped]:
    skipped = Skipped()
    fills: list[Fill] = []
    for row in _rows(rows, call):
        fill = to_fill(row, client_ids, call)
        if fill is None:
            skipped.add(f"trade(s) on {row.get('exchange')}")
        else:
            fills.append(fill)
    return fills, skipped


def to_position(row: Row, call: str = "positions") -> PositionSnapshot | None:
    """One row of Kite's `net` positions -> PositionSnapshot (None when not ours to trade)."""
    where = f"position {row.get('exchange')}:{row.get('tradingsymbol')}/{row.get('product')}"
    try:
        exchange = supported_exchange(row.get("exchange"))
        product = supported_product(row.get("product"))
        if exchange is None or product is None:
            return None
        quantity = whole(row.get("quantity"), "quantity")
        average = dec(row.get("average_price") or 0, "average_price") if quantity else Decimal(0)
        return PositionSnapshot(
            position=Position(
                symbol=instrument_key(exchange, row.get("tradingsymbol")),
                product=product,
                quantity=quantity,
                average_price=average,
                realized_pnl=dec(row.get("realised") or 0, "realised"),
            ),
            last_price=positive_or_none(row.get("last_price"), "last_price"),
            overnight_quantity=whole(row.get("overnight_quantity") or 0, "overnight_quantity"),
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"{where}: {error}") from None


def to_positions(
    payload: object, call: str = "positions"
) -> tuple[list[PositionSnapshot], Skipped]:
    """Kite's positions answer ({"net": [...], "day": [...]}): the net rows."""
    if not isinstance(payload, Mapping) or "net" not in payload:
        raise bad(call, "the answer has no 'net' list")
    skipped = Skipped()
    result: list[PositionSnapshot] = []
    for row in _rows(payload["net"], call):
        snapshot = to_position(row, call)
        if snapshot is None:
            skipped.add(f"position(s) on {row.get('exchange')}/{row.get('product')}")
        else:
            result.append(snapshot)
    return result, skipped


def to_holding(row: Row, call: str = "holdings") -> Holding | None:
    where = f"holding {row.get('exchange')}:{row.get('tradingsymbol')}"
    try:
        exchange = supported_exchange(row.get("exchange"))
        if exchange is None:
            return None
        isin = row.get("isin")
        return Holding(
            symbol=instrument_key(exchange, row.get("tradingsymbol")),
            quantity=whole(row.get("quantity") or 0, "quantity"),
            average_price=dec(row.get("average_price") or 0, "average_price"),
            last_price=positive_or_none(row.get("last_price"), "last_price"),
            t1_quantity=whole(row.get("t1_quantity") or 0, "t1_quantity"),
            isin=str(isin) if isin else None,
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"{where}: {error}") from None


def to_holdings(rows: object, call: str = "holdings") -> tuple[list[Holding], Skipped]:
    skipped = Skipped()
    result: list[Holding] = []
    for row in _rows(rows, call):
        holding = to_holding(row, call)
        if holding is None:
            skipped.add(f"holding(s) on {row.get('exchange')}")
        else:
            result.append(holding)
    return result, skipped


def _rupees(value: object, what: str) -> Decimal:
    """A margin figure to the paisa: Kite computes these in floats (99725.05000000002)."""
    return dec(value or 0, what).quantize(PAISA, rounding=ROUND_HALF_UP)


def to_funds(payload: object, call: str = "margins") -> Funds:
    """Kite's margins (all segments, or the equity one alone) -> the equity segment's Funds.

    available = Kite's `net` (what a new order can block); used = `utilised.debits`;
    cash = opening balance + today's pay-in; collateral = pledged holdings' value."""
    if isinstance(payload, Mapping) and "equity" in payload:
        payload = payload["equity"]
    if not isinstance(payload, Mapping):
        raise bad(call, "the answer has no equity segment")
    try:
        available = payload.get("available")
        utilised = payload.get("utilised")
        if not isinstance(available, Mapping) or not isinstance(utilised, Mapping):
            raise ValueError("'available' or 'utilised' is missing")
        return Funds(
            available=_rupees(payload.get("net"), "net"),
            used_margin=_rupees(utilised.get("debits"), "utilised.debits"),
            cash=_rupees(available.get("opening_balance"), "available.opening_balance")
            + _rupees(available.get("intraday_payin"), "available.intraday_payin"),
            collateral=_rupees(available.get("collateral"), "available.collateral"),
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"equity margins: {error}") from None


def to_profile(row: object, call: str = "profile") -> Profile:
    if not isinstance(row, Mapping):
        raise bad(call, "the answer is not a profile")
    try:
        user_id = row.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user_id is missing")
        exchanges = tuple(
            e for e in (supported_exchange(x) for x in row.get("exchanges") or ()) if e
        )
        return Profile(
            user_id=user_id,
            user_name=str(row.get("user_name") or user_id),
            broker=BROKER,
            exchanges=exchanges,
            email=str(row.get("email") or ""),
        )
    except (ValueError, TypeError) as error:
        raise bad(call, str(error)) from None


# -- instruments -------------------------------------------------------------------------------


def to_instrument(row: Row, call: str = "instruments") -> Instrument | None:
    """One row of Kite's instruments dump (as kiteconnect parses it, or raw CSV strings) ->
    Instrument; None for exchanges and instrument types Artha does not trade."""
    where = f"instrument {row.get('exchange')}:{row.get('tradingsymbol')}"
    try:
        exchange = supported_exchange(row.get("exchange"))
        if exchange is None:
            return None
        kind = str(row.get("instrument_type") or "")
        is_index = str(row.get("segment") or "") == INDEX_SEGMENT
        segment = Segment.INDEX if is_index else _SEGMENTS.get(kind)
        if segment is None:
            return None
        tick = dec(row.get("tick_size") or 0, "tick_size")
        if tick <= 0:
            if not is_index:
                raise ValueError(f"tick_size is {row.get('tick_size')!r}")
            tick = INDEX_TICK
        lot = whole(row.get("lot_size") or 0, "lot_size")
        expiry = _expiry(row.get("expiry"))
        option = None
        strike = None
        if segment is Segment.OPTIONS:
            option = OptionType(kind)
            strike = dec(row.get("strike"), "strike")
        token = row.get("instrument_token")
        return Instrument(
            exchange=exchange,
            segment=segment,
            symbol=str(row.get("tradingsymbol") or ""),
            token=whole(token, "instrument_token") if token not in (None, "") else None,
            tick_size=tick,
            lot_size=max(lot, 1),
            expiry=expiry if segment in (Segment.FUTURES, Segment.OPTIONS) else None,
            strike=strike,
            option_type=option,
            name=str(row.get("name") or ""),
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"{where}: {error}") from None


def _expiry(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"expiry is {value!r}, not a YYYY-MM-DD date") from None
    raise ValueError(f"expiry is {value!r}, not a date")


def to_instruments(rows: object, call: str = "instruments") -> tuple[list[Instrument], Skipped]:
    skipped = Skipped()
    result: list[Instrument] = []
    for row in _rows(rows, call):
        instrument = to_instrument(row, call)
        if instrument is None:
            skipped.add(f"instrument(s) of {row.get('exchange')} {row.get('instrument_type')}")
        else:
            result.append(instrument)
    return result, skipped


# -- history and quotes ------------------------------------------------------------------------


def to_bars(
    rows: object, instrument: Instrument, timeframe: Timeframe, call: str = "history"
) -> list[Bar]:
    """kiteconnect's historical_data records -> Bars (open time, IST)."""
    bars: list[Bar] = []
    for index, row in enumerate(_rows(rows, call)):
        try:
            oi = row.get("oi")
            bars.append(
                Bar(
                    symbol=instrument.key,
                    timeframe=timeframe.value,
                    ts=kite_time(row.get("date"), "date"),
                    open=dec(row.get("open"), "open"),
                    high=dec(row.get("high"), "high"),
                    low=dec(row.get("low"), "low"),
                    close=dec(row.get("close"), "close"),
                    volume=whole(row.get("volume") or 0, "volume"),
                    oi=whole(oi, "oi") if oi is not None else None,
                )
            )
        except (ValueError, TypeError) as error:
            raise bad(call, f"{instrument.key} candle {index}: {error}") from None
    return bars


def _depth(levels: object, what: str) -> tuple[DepthLevel, ...]:
    """Kite's five depth levels, best first; empty levels (price 0) left out."""
    if not isinstance(levels, list):
        return ()
    result: list[DepthLevel] = []
    for i, level in enumerate(levels):
        if not isinstance(level, Mapping):
            raise ValueError(f"{what}[{i}] is not a depth level")
        price = positive_or_none(level.get("price"), f"{what}[{i}].price")
        if price is None:
            continue
        result.append(
            DepthLevel(
                price=price,
                quantity=whole(level.get("quantity") or 0, f"{what}[{i}].quantity"),
                orders=whole(level.get("orders") or 0, f"{what}[{i}].orders"),
            )
        )
    return tuple(result)


def to_quote(key: str, row: Row, call: str = "quotes") -> Quote | None:
    """One entry of Kite's /quote answer -> a FULL Quote; None when nothing has traded
    (last price 0: there is no last trade to report)."""
    try:
        ltp = positive_or_none(row.get("last_price"), "last_price")
        if ltp is None:
            return None
        ts = first_time(row, ("timestamp", "last_trade_time"), "quote")
        depth = row.get("depth")
        bids = _depth(depth.get("buy"), "depth.buy") if isinstance(depth, Mapping) else ()
        asks = _depth(depth.get("sell"), "depth.sell") if isinstance(depth, Mapping) else ()
        ohlc = row.get("ohlc")
        ohlc = ohlc if isinstance(ohlc, Mapping) else {}
        oi = row.get("oi")
        tick = Tick(
            symbol=key,
            ts=ts or datetime.now(UTC).astimezone(IST),
            ltp=ltp,
            volume=whole(row.get("volume") or 0, "volume"),
            bid=bids[0].price if bids else None,
            ask=asks[0].price if asks else None,
            bid_qty=bids[0].quantity if bids else None,
            ask_qty=asks[0].quantity if asks else None,
            oi=whole(oi, "oi") if oi else None,
        )
        return Quote(
            tick=tick,
            mode=TickMode.FULL,
            open=positive_or_none(ohlc.get("open"), "ohlc.open"),
            high=positive_or_none(ohlc.get("high"), "ohlc.high"),
            low=positive_or_none(ohlc.get("low"), "ohlc.low"),
            close=positive_or_none(ohlc.get("close"), "ohlc.close"),
            average_price=positive_or_none(row.get("average_price"), "average_price"),
            bids=bids,
            asks=asks,
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"{key}: {error}") from None


# -- GTT (good till triggered) ------------------------------------------------------------------

GTT_SINGLE: Final = "single"
GTT_OCO: Final = "two-leg"
GTT_LEGS: Final = {GTT_SINGLE: 1, GTT_OCO: 2}  # trigger values (and legs) each kind takes
# Kite refuses a trigger too close to the last price (Zerodha support, "Why was my buy GTT
# order rejected"): 0.25% of it, or 9 paise for a stock below Rs 50.
GTT_MIN_GAP_FRACTION: Final = Decimal("0.0025")
GTT_MIN_GAP_BELOW_50: Final = Decimal("0.09")
_GTT_LOW_PRICE: Final = Decimal(50)


def gtt_min_gap(last_price: Decimal) -> Decimal:
    """The least distance Kite accepts between a GTT trigger and the last price."""
    if last_price < _GTT_LOW_PRICE:
        return GTT_MIN_GAP_BELOW_50
    return last_price * GTT_MIN_GAP_FRACTION


@dataclass(frozen=True, slots=True, kw_only=True)
class GttLeg:
    """The order a GTT places when its trigger is hit (Kite's GTT orders are LIMIT orders)."""

    side: Side
    quantity: int
    price: Decimal
    product: Product = Product.CNC
    order_type: OrderType = OrderType.LIMIT

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise TypeError(f"GTT leg quantity must be an int, got {self.quantity!r}")
        if self.quantity < 1:
            raise ValueError(f"GTT leg quantity must be >= 1, got {self.quantity}")
        if not isinstance(self.price, Decimal) or self.price <= 0:
            raise ValueError(f"GTT leg price must be a Decimal above 0, got {self.price!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Gtt:
    """A GTT trigger as Kite reports it: one trigger value (single) or two (OCO: the stop
    below and the target above the last price), each with its leg."""

    trigger_id: int
    kind: str  # GTT_SINGLE or GTT_OCO
    status: str  # Kite's word: active, triggered, disabled, expired, cancelled, rejected, deleted
    symbol: str
    trigger_values: tuple[Decimal, ...]
    last_price: Decimal | None
    legs: tuple[GttLeg, ...]
    created_at: datetime | None = None
    expires_at: datetime | None = None


def gtt_params(
    instrument: Instrument,
    trigger_values: Iterable[Decimal],
    last_price: Decimal,
    legs: Iterable[GttLeg],
) -> dict[str, Any]:
    """kiteconnect's place_gtt/modify_gtt keyword arguments (trigger type aside)."""
    return {
        "tradingsymbol": instrument.symbol,
        "exchange": instrument.exchange.value,
        "trigger_values": [sdk_number(v) for v in trigger_values],
        "last_price": sdk_number(last_price),
        "orders": [
            {
                "transaction_type": leg.side.value,
                "quantity": leg.quantity,
                "order_type": leg.order_type.value,
                "product": leg.product.value,
                "price": sdk_number(leg.price),
            }
            for leg in legs
        ],
    }


def to_gtt(row: Row, call: str = "GTT list") -> Gtt | None:
    """One Kite GTT -> Gtt; None for an exchange or product Artha does not trade."""
    where = f"GTT {row.get('id')}"
    try:
        condition = row.get("condition")
        if not isinstance(condition, Mapping):
            raise ValueError("condition is missing")
        exchange = supported_exchange(condition.get("exchange"))
        if exchange is None:
            return None
        legs: list[GttLeg] = []
        for i, leg in enumerate(row.get("orders") or ()):
            if not isinstance(leg, Mapping):
                raise ValueError(f"orders[{i}] is not an object")
            product = supported_product(leg.get("product"))
            if product is None:
                return None
            legs.append(
                GttLeg(
                    side=_enum(Side, leg.get("transaction_type"), f"orders[{i}].transaction_type"),
                    quantity=whole(leg.get("quantity"), f"orders[{i}].quantity"),
                    price=dec(leg.get("price"), f"orders[{i}].price"),
                    product=product,
                    order_type=_enum(OrderType, leg.get("order_type"), f"orders[{i}].order_type"),
                )
            )
        values = condition.get("trigger_values")
        if not isinstance(values, list) or not values:
            raise ValueError("condition.trigger_values is missing")
        return Gtt(
            trigger_id=whole(row.get("id"), "id"),
            kind=str(row.get("type") or ""),
            status=str(row.get("status") or ""),
            symbol=instrument_key(exchange, condition.get("tradingsymbol")),
            trigger_values=tuple(dec(v, "trigger_values") for v in values),
            last_price=positive_or_none(condition.get("last_price"), "condition.last_price"),
            legs=tuple(legs),
            created_at=first_time(row, ("created_at",), "GTT"),
            expires_at=first_time(row, ("expires_at",), "GTT"),
        )
    except (ValueError, TypeError) as error:
        raise bad(call, f"{where}: {error}") from None


def to_gtts(rows: object, call: str = "GTT list") -> list[Gtt]:
    return [g for g in (to_gtt(row, call) for row in _rows(rows, call)) if g is not None]


# -- helpers -----------------------------------------------------------------------------------


def _rows(rows: object, call: str) -> list[Row]:
    if not isinstance(rows, list):
        raise bad(call, f"expected a list, got {type(rows).__name__}")
    result: list[Row] = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise bad(call, f"item {i} is {type(row).__name__}, not an object")
        result.append(row)
    return result
