"""The paper broker: a Broker that fills against the quotes it is given, with the engine's
rules, and keeps its account in the workspace.

- **Prices** come from quotes: pushed (`feed`, e.g. a live broker's stream forwarded by the
  app) or replayed (`replay`, recorded ticks or bars: brokers/paper/replay.py). Its clock is
  the quotes' exchange time, never the wall clock, so a replay at 23:00 trades as at 11:00.
- **Orders** work from the next quote after they are placed or changed (the engine's tick
  rule) and trade by brokers/paper/matching.py. Pre-trade checks are the engine's
  (`engine.execution.checks`: whole lots, the tick, equity shorts only MIS, margin); input a
  real broker would refuse raises `InvalidRequest`; a refusal by the checks is recorded as a
  REJECTED order (reported as every update is) and raised as `OrderRejected`.
- **Money** is the engine's `Portfolio` (integer paise, positions per symbol and product,
  FIFO round trips); charges are per contract note through the engine's cost model
  (brokers/paper/account.py); the fill and cost settings are a `BacktestConfig`'s (capital,
  costs, slippage_bps, squareoff_lead, margin), so a paper session is priced as a backtest.
- **MIS square-off** at the calendar's cut-off of each session (its close minus
  `squareoff_lead`), at the first quote of the instrument at or after it: open MIS orders
  are cancelled and the MIS position closed at market. MIS orders are refused from the cut-off
  to the close. A position whose instrument sent no quote after the cut-off is closed at its
  last quote once the clock passes the session's close. DAY orders expire at the close.
- **Persistence**: every event is journalled before it is acted on or reported
  (brokers/paper/journal.py); a new PaperBroker on the same workspace rebuilds the account
  exactly from the journal (the capital is the journal's: the config's applies when the
  account is opened or reset); `close` also keeps each instrument's last quote, so the paper
  clock and marks resume where they stopped; `reset` archives the journal and starts again.

Calls are coroutines as the protocol asks, but the work is short and runs on the loop (an
fsync per event); `feed` is a plain method for the caller's stream callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from brokers.paper.account import ContractNotes
from brokers.paper.journal import Event, Journal, journal_path
from brokers.paper.matching import Book, Trigger, match
from brokers.paper.replay import bar_quotes, merged
from engine.backtest.config import BacktestConfig
from engine.backtest.venue_rules import cost_model_for, squareoff_cutoff
from engine.broker.errors import InvalidRequest, OrderRejected
from engine.broker.models import (
    BrokerOrder,
    ConnectionState,
    Funds,
    Holding,
    OrderChange,
    OrderRequest,
    PositionSnapshot,
    Profile,
    Quote,
    SessionInfo,
    TickMode,
    foreign_client_id,
)
from engine.broker.protocol import BrokerListener, LoginFlow
from engine.calendar import get_calendar
from engine.data.store import MarketStore
from engine.domain.enums import Exchange, OrderType, Product, Segment, Side, Validity
from engine.domain.fills import Fill, Position
from engine.domain.instrument import Instrument
from engine.domain.market_data import Bar, Tick
from engine.domain.money import from_paise, to_paise
from engine.domain.orders import OrderStatus
from engine.execution.checks import (
    InstrumentRules,
    check_account,
    check_quantity,
    marked_account,
)
from engine.execution.checks import (
    OrderRejected as CheckRejected,
)
from engine.execution.emulator import SQUAREOFF_TAG
from engine.execution.oms import OrderManager
from engine.execution.orders import ManagedOrder
from engine.execution.portfolio import Portfolio
from engine.ist import ist_date_of, ist_datetime, ist_day_number, ns_of, ns_of_timedelta
from engine.timeframes import Timeframe
from engine.workspace import Workspace

log = logging.getLogger(__name__)

NAME: Final = "Paper"
_ID_PREFIX: Final = "PAPER"
_TRADE_PREFIX: Final = "PT"
_NEEDS_PRICE: Final = frozenset({OrderType.LIMIT, OrderType.SL})
_NEEDS_TRIGGER: Final = frozenset({OrderType.SL, OrderType.SL_M})
_EQUITY_PRODUCTS: Final = frozenset({Product.CNC, Product.MIS})
_FO_PRODUCTS: Final = frozenset({Product.MIS, Product.NRML})


@dataclass(slots=True)
class _Meta:
    """What the paper broker keeps about an order beyond the engine's record."""

    protection: Decimal | None
    expires: int | None  # UTC ns: a DAY order's session close (None: not known yet / IOC)
    placed_seq: int  # the quote count when placed or changed: it works from the next one
    updated: int  # UTC ns of its last event
    squareoff: bool = False  # the broker's own MIS square-off order


def _paise(value: Decimal | None) -> int | None:
    return None if value is None else to_paise(value)


def _rupees(paise: int | None) -> Decimal | None:
    return None if paise is None else from_paise(paise)


def instrument_json(instrument: Instrument) -> dict[str, Any]:
    """An instrument as the journal keeps it (text for every exact number)."""
    return {
        "exchange": str(instrument.exchange),
        "segment": str(instrument.segment),
        "symbol": instrument.symbol,
        "token": instrument.token,
        "isin": instrument.isin,
        "tick_size": str(instrument.tick_size),
        "lot_size": instrument.lot_size,
        "freeze_quantity": instrument.freeze_quantity,
        "expiry": instrument.expiry.isoformat() if instrument.expiry else None,
        "strike": None if instrument.strike is None else str(instrument.strike),
        "option_type": None if instrument.option_type is None else str(instrument.option_type),
        "name": instrument.name,
    }


def instrument_from_json(data: Mapping[str, Any]) -> Instrument:
    fields = dict(data)
    fields["tick_size"] = Decimal(fields["tick_size"])
    if fields.get("strike") is not None:
        fields["strike"] = Decimal(fields["strike"])
    if fields.get("expiry") is not None:
        fields["expiry"] = date.fromisoformat(fields["expiry"])
    return Instrument(**fields)


class PaperBroker:
    """One paper account (`account`) in `workspace`, priced by `config`."""

    def __init__(
        self,
        workspace: Workspace | Path,
        *,
        account: str = "paper",
        config: BacktestConfig | None = None,
        instruments: Sequence[Instrument] = (),
        store: MarketStore | None = None,
    ) -> None:
        root = workspace.root if isinstance(workspace, Workspace) else Path(workspace)
        self._account = account
        self.config = config or BacktestConfig()
        self.store = store
        self.journal = Journal(journal_path(root, account))
        self._given = {i.key: i for i in instruments}
        self._listener: BrokerListener | None = None
        self._state = ConnectionState.DISCONNECTED
        self._subscribed: dict[str, TickMode] = {}
        self._cutoffs: dict[tuple[str, int], int] = {}
        self._fresh_state()
        self._load()

    # -- state, events and the journal -------------------------------------------------------
    def _fresh_state(self) -> None:
        self.capital = to_paise(self.config.capital)
        self.portfolio = Portfolio(self.capital, None)
        self.notes = ContractNotes(cost_model_for(self.config))
        self.oms = OrderManager(0, prefix=_ID_PREFIX)
        self.oms.listeners.append(self._report)
        self._instruments: dict[str, Instrument] = {}
        self._rules: dict[str, InstrumentRules] = {}  # by key; rules.symbol is the key
        self._index: dict[str, int] = {}
        self._by_broker_id: dict[str, ManagedOrder] = {}
        self._meta: dict[str, _Meta] = {}
        self._fills: list[Fill] = []
        self._last_fill_day: dict[tuple[str, Product], int] = {}
        self._squared: set[tuple[str, int]] = set()
        self._trades = 0
        self._ids = 0
        self._quotes: dict[str, Quote] = {}
        self._quote_ns: dict[str, int] = {}
        self._marks: dict[str, int] = {}
        self._volume: dict[str, int] = {}
        self.clock: int | None = None  # UTC ns of the latest quote: the paper market's time
        self._seq = 0  # quotes seen
        self._replaying = False

    def _load(self) -> None:
        self._replaying = True
        try:
            events = list(self.journal.read())
            for event in events:
                self._apply(event)
        finally:
            self._replaying = False
        if not events:
            self._open_account()
            return
        for order in list(self._by_broker_id.values()):  # an IOC never outlives its quote
            if order.is_open and order.validity is Validity.IOC:
                self._commit({"e": "cancel", "id": order.broker_id, "reason": "IOC: restarted"})

    def _open_account(self) -> None:
        self._commit(
            {
                "e": "open",
                "v": 1,
                "account": self._account,
                "capital": self.capital,
                "at": datetime.now(UTC).isoformat(),
            }
        )

    def _commit(self, event: Event) -> None:
        """Journal the event (durably), then act on it: the order of every change."""
        event.setdefault("ts", self._now_ns())
        self.journal.append(event)
        self._apply(event)

    def _apply(self, event: Event) -> None:
        kind = event["e"]
        if kind == "open":
            self.capital = int(event["capital"])
            self.portfolio = Portfolio(self.capital, None)
        elif kind == "instrument":
            self._register(instrument_from_json(event["instrument"]))
        elif kind == "place":
            self._apply_place(event)
        elif kind == "trigger":
            order = self._by_broker_id[event["id"]]
            if event["how"] == Trigger.MARKET:
                order.stop_hit = True
            else:
                order.triggered = True
            self._touch(order, event)
            self._report(order)
        elif kind == "fill":
            self._apply_fill(event)
        elif kind == "cancel":
            order = self._by_broker_id[event["id"]]
            self._touch(order, event)
            self.oms.finish(order, OrderStatus.CANCELLED, event["reason"])
        elif kind == "modify":
            self._apply_modify(event)
        elif kind == "squareoff":
            self._apply_squareoff(event)
        elif kind == "marks":
            self._apply_marks(event)
        else:
            raise ValueError(f"{self.journal.path}: unknown event {kind!r}")

    def _register(self, instrument: Instrument) -> None:
        key = instrument.key
        self._instruments[key] = instrument
        # the engine's checks and portfolio key by `rules.symbol`: make it the exchange key,
        # so NSE:X and BSE:X are two positions, as at a broker
        self._rules[key] = InstrumentRules.of(replace(instrument, symbol=key))
        if key not in self._index:
            self._index[key] = len(self.oms.open_orders)
            self.oms.open_orders.append({})

    def _touch(self, order: ManagedOrder, event: Event) -> None:
        self._meta[order.order_id].updated = int(event["ts"])

    def _new_order(self, event: Event, key: str) -> ManagedOrder:
        order = ManagedOrder(
            order_id=event["client_id"],
            instrument=self._index[key],
            symbol=key,
            side=Side(event["side"]),
            quantity=int(event["qty"]),
            order_type=OrderType(event["type"]),
            product=Product(event["product"]),
            validity=Validity(event["validity"]),
            limit=event.get("limit"),
            trigger=event.get("trigger"),
            owner=None,
            placed_ts=int(event["ts"]),
            tag=event.get("tag", ""),
            broker_id=event["id"],
        )
        self._by_broker_id[event["id"]] = order
        self.oms.add(order)
        self._ids = max(self._ids, int(event["id"].removeprefix(_ID_PREFIX)))
        return order

    def _apply_place(self, event: Event) -> None:
        order = self._new_order(event, event["symbol"])
        protection = event.get("protection")
        self._meta[order.order_id] = _Meta(
            protection=None if protection is None else Decimal(protection),
            expires=event.get("expires"),
            placed_seq=self._seq,
            updated=int(event["ts"]),
        )
        if event["status"] == OrderStatus.REJECTED:
            self.oms.transition(order, OrderStatus.REJECTED, event["reason"])
        else:
            self.oms.transition(order, OrderStatus.OPEN)

    def _apply_fill(self, event: Event) -> None:
        order = self._by_broker_id[event["id"]]
        quantity, price, ts, charges = (int(event[k]) for k in ("qty", "price", "ts", "charges"))
        rules = self._rules[order.symbol]
        day = ist_date_of(ts)
        self.portfolio.fill(order.symbol, order.product, order.side, quantity, price, ts, charges)
        self.notes.add(
            rules, order.order_id, order.side, order.product, quantity, price, day, charges
        )
        self._fills.append(
            Fill(
                order.order_id,
                event["trade"],
                order.symbol,
                order.side,
                quantity,
                from_paise(price),
                ist_datetime(ts),
                order.broker_id,
            )
        )
        self._trades = max(self._trades, int(event["trade"].removeprefix(_TRADE_PREFIX)))
        self._last_fill_day[(order.symbol, order.product)] = ist_day_number(ts)
        if self._replaying:  # until quotes come, the last fill marks the position
            self._marks[order.symbol] = price
        self._touch(order, event)
        self.oms.record_fill(order, quantity, price)

    def _apply_modify(self, event: Event) -> None:
        order = self._by_broker_id[event["id"]]
        new_type = OrderType(event["type"])
        if new_type is not order.order_type:
            order.triggered = order.stop_hit = False
        order.order_type = new_type
        order.quantity = int(event["qty"])
        order.limit = event.get("limit")
        order.trigger = event.get("trigger")
        meta = self._meta[order.order_id]
        meta.placed_seq = self._seq
        self._touch(order, event)
        self._report(order)

    def _apply_squareoff(self, event: Event) -> None:
        key = event["symbol"]
        self._squared.add((key, int(event["day"])))
        for order in self.oms.open_for(self._index[key]):
            if order.product is Product.MIS:
                self._touch(order, event)
                self.oms.finish(order, OrderStatus.CANCELLED, "MIS square-off")
        if event.get("id") is None:
            return
        order = self._new_order(event, key)
        self._meta[order.order_id] = _Meta(
            protection=None,
            expires=None,
            placed_seq=self._seq - 1,  # the quote at the cut-off itself fills it
            updated=int(event["ts"]),
            squareoff=True,
        )
        self.oms.transition(order, OrderStatus.OPEN, "MIS square-off")

    def _apply_marks(self, event: Event) -> None:
        for key, (ts, price, volume) in event["marks"].items():
            tick = Tick(key, ist_datetime(ts), from_paise(price), volume=volume)
            self._quotes[key] = Quote(tick=tick)
            self._quote_ns[key] = ts
            self._marks[key] = price
            self._volume[key] = volume
            self.clock = ts if self.clock is None else max(self.clock, ts)

    def _report(self, order: ManagedOrder) -> None:
        if self._replaying or self._listener is None:
            return
        self._listener.on_order_update(self._broker_order(order))

    def _broker_order(self, order: ManagedOrder) -> BrokerOrder:
        status = order.status
        if status is OrderStatus.FILLED:
            word = "COMPLETE"
        elif (
            order.is_open
            and order.order_type in _NEEDS_TRIGGER
            and not (order.triggered or order.stop_hit)
        ):
            word = "TRIGGER PENDING"
        elif order.is_open:
            word = "OPEN"
        else:
            word = str(status)
        meta = self._meta[order.order_id]
        return BrokerOrder(
            order=order.to_domain(),
            broker_status=word,
            updated_at=ist_datetime(meta.updated),
        )

    def _now_ns(self) -> int:
        return self.clock if self.clock is not None else ns_of(datetime.now(UTC))

    def _next_id(self) -> str:
        """The next broker order id; ids are never reused, across restarts too."""
        return f"{_ID_PREFIX}{self._ids + 1:07d}"

    # -- identity and session ----------------------------------------------------------------
    @property
    def name(self) -> str:
        return NAME

    @property
    def account_id(self) -> str:
        """The account name given: the workspace's id of the account and its journal's name."""
        return self._account

    @property
    def state(self) -> ConnectionState:
        return self._state

    def set_listener(self, listener: BrokerListener | None) -> None:
        self._listener = listener

    def login_flow(self) -> LoginFlow | None:
        return None

    def _set_state(self, state: ConnectionState, detail: str) -> None:
        self._state = state
        if self._listener is not None:
            self._listener.on_state(state, detail)

    async def connect(self) -> SessionInfo:
        self._set_state(ConnectionState.CONNECTING, "opening the paper account")
        self._set_state(ConnectionState.CONNECTED, f"paper account {self._account}")
        return SessionInfo(
            account_id=self.account_id,
            user_id=self._account,
            user_name="Paper trading",
            expires_at=datetime.now(UTC) + timedelta(days=3650),
        )

    async def close(self) -> None:
        """Keep the last quote of each instrument (time, price, day volume) in the journal,
        so a restart resumes the paper market where it stopped, then close the file."""
        if self._quote_ns:
            self._commit(
                {
                    "e": "marks",
                    "marks": {
                        key: [self._quote_ns[key], self._marks[key], self._volume.get(key, 0)]
                        for key in self._quote_ns
                    },
                }
            )
        self.journal.close()
        if self._state is not ConnectionState.DISCONNECTED:
            self._set_state(ConnectionState.DISCONNECTED, "closed")

    async def logout(self) -> None:
        await self.close()

    def reset(self, capital: Decimal | None = None) -> Path | None:
        """Archive the journal and start the account again with `capital` (default: the
        config's). Returns where the old journal went."""
        archived = self.journal.archive()
        if capital is not None:
            self.config = replace(self.config, capital=capital)
        self._fresh_state()
        self._open_account()
        return archived

    # -- orders ------------------------------------------------------------------------------
    async def place(self, request: OrderRequest) -> str:
        order = request.order
        instrument = request.instrument
        key = instrument.key
        self._check_request(request)
        if key not in self._instruments or self._instruments[key] != instrument:
            self._commit({"e": "instrument", "instrument": instrument_json(instrument)})
        rules = self._rules[key]
        limit, trigger = _paise(order.price), _paise(order.trigger_price)
        reason = self._verdict(rules, order.side, order.product, order.quantity, limit, trigger)
        broker_id = self._next_id()
        self._commit(
            {
                "e": "place",
                "id": broker_id,
                "client_id": order.client_id,
                "tag": order.tag,
                "symbol": key,
                "side": str(order.side),
                "type": str(order.order_type),
                "product": str(order.product),
                "validity": str(order.validity),
                "qty": order.quantity,
                "limit": limit,
                "trigger": trigger,
                "protection": None if request.protection is None else str(request.protection),
                "expires": self._expiry(key, order.validity),
                "status": str(OrderStatus.REJECTED if reason else OrderStatus.OPEN),
                "reason": reason or "",
            }
        )
        if reason:
            raise OrderRejected(reason, broker=NAME)
        return broker_id

    def _check_request(self, request: OrderRequest) -> None:
        order, instrument = request.order, request.instrument
        where = f"order {order.client_id!r}"
        if order.status is not OrderStatus.NEW or order.broker_id is not None:
            raise InvalidRequest(f"{where} was already placed ({order.status})", broker=NAME)
        if order.client_id in self.oms.orders:
            raise InvalidRequest(f"{where}: an order with this tag exists already", broker=NAME)
        if instrument.segment is Segment.INDEX:
            raise InvalidRequest(f"{instrument.key} is an index: it cannot be traded", broker=NAME)
        allowed = _EQUITY_PRODUCTS if instrument.segment is Segment.EQUITY else _FO_PRODUCTS
        if order.product not in allowed:
            names = " or ".join(sorted(str(p) for p in allowed))
            raise InvalidRequest(
                f"{where}: {order.product} is not a product for {instrument.key} (use {names})",
                broker=NAME,
            )
        if request.iceberg_legs is not None:
            raise InvalidRequest("the paper broker does not simulate iceberg orders", broker=NAME)
        try:
            rules = InstrumentRules.of(instrument)
            check_quantity(rules, order.quantity)
        except (CheckRejected, ValueError) as exc:
            message = exc.message if isinstance(exc, CheckRejected) else str(exc)
            raise InvalidRequest(f"{where}: {message}", broker=NAME) from None
        for name, price in (("price", order.price), ("trigger", order.trigger_price)):
            if price is not None and not instrument.is_valid_price(price):
                raise InvalidRequest(
                    f"{where}: {name} {price} is not on the tick size {instrument.tick_size}",
                    broker=NAME,
                )

    def _verdict(
        self,
        rules: InstrumentRules,
        side: Side,
        product: Product,
        quantity: int,
        limit: int | None,
        trigger: int | None,
    ) -> str | None:
        """Why the engine's pre-trade checks refuse the order, or None."""
        key = rules.symbol
        price = limit or trigger or self._marks.get(key)
        if price is None:
            return f"no price for {key} yet: the paper broker has seen no quote of it"
        if product is Product.MIS and self.clock is not None:
            cutoff = self._cutoff(key, self.clock)
            close = cutoff + ns_of_timedelta(self.config.squareoff_lead)
            if cutoff <= self.clock < close:
                return (
                    f"MIS orders are not taken after the square-off time "
                    f"{ist_datetime(cutoff):%H:%M} IST; use CNC/NRML or wait for the next session"
                )
        rates = self.config.margin if self.config.check_margin else None
        try:
            check_account(
                rules, self.portfolio, rates, side, product, quantity, price, self._rules,
                self._marks_of,
            )  # fmt: skip
        except CheckRejected as exc:
            return exc.message
        return None

    def _marks_of(self) -> dict[str, int]:
        return dict(self._marks)

    def _expiry(self, key: str, validity: Validity) -> int | None:
        """A DAY order's end: the close of the session it is placed in (or the next one)."""
        if validity is Validity.IOC or self.clock is None:
            return None
        return self._session_close_after(key, self.clock)

    def _session_close_after(self, key: str, ts: int) -> int | None:
        calendar = get_calendar(self._instruments[key].exchange)
        at = ist_datetime(ts)
        session = calendar.session(at.date())
        if session is None or at >= session.close:
            session = calendar.next_open(at)
        return None if session is None else ns_of(session.close)

    def _cutoff(self, key: str, ts: int) -> int:
        exchange = self._instruments[key].exchange
        cache_key = (str(exchange), ist_day_number(ts))
        found = self._cutoffs.get(cache_key)
        if found is None:
            found = self._cutoffs[cache_key] = squareoff_cutoff(
                ts, exchange, self.config.squareoff_lead
            )
        return found

    def _order(self, broker_order_id: str) -> ManagedOrder:
        order = self._by_broker_id.get(broker_order_id)
        if order is None:
            raise InvalidRequest(f"there is no paper order {broker_order_id!r}", broker=NAME)
        if not order.is_open:
            raise InvalidRequest(
                f"order {broker_order_id} is {order.status}: it can no longer be changed",
                broker=NAME,
            )
        return order

    async def modify(self, broker_order_id: str, change: OrderChange) -> None:
        order = self._order(broker_order_id)
        instrument = self._instruments[order.symbol]
        new_type = change.order_type or order.order_type
        where = f"order {broker_order_id}"
        price = change.price if change.price is not None else _rupees(order.limit)
        trigger = (
            change.trigger_price if change.trigger_price is not None else _rupees(order.trigger)
        )
        if new_type not in _NEEDS_PRICE:
            if change.price is not None:
                raise InvalidRequest(f"{where}: a {new_type} order has no price", broker=NAME)
            price = None
        if new_type not in _NEEDS_TRIGGER:
            if change.trigger_price is not None:
                raise InvalidRequest(f"{where}: a {new_type} order has no trigger", broker=NAME)
            trigger = None
        if new_type in _NEEDS_PRICE and price is None:
            raise InvalidRequest(f"{where}: a {new_type} order needs a price", broker=NAME)
        if new_type in _NEEDS_TRIGGER and trigger is None:
            raise InvalidRequest(f"{where}: a {new_type} order needs a trigger", broker=NAME)
        for name, value in (("price", price), ("trigger", trigger)):
            if value is not None and not instrument.is_valid_price(value):
                raise InvalidRequest(
                    f"{where}: {name} {value} is not on the tick size {instrument.tick_size}",
                    broker=NAME,
                )
        quantity = change.quantity if change.quantity is not None else order.quantity
        try:
            check_quantity(self._rules[order.symbol], quantity)
        except CheckRejected as exc:
            raise InvalidRequest(f"{where}: {exc.message}", broker=NAME) from None
        if quantity <= order.filled:
            raise InvalidRequest(
                f"{where}: quantity {quantity} is not above the {order.filled} already filled",
                broker=NAME,
            )
        self._commit(
            {
                "e": "modify",
                "id": broker_order_id,
                "type": str(new_type),
                "qty": quantity,
                "limit": _paise(price),
                "trigger": _paise(trigger),
            }
        )

    async def cancel(self, broker_order_id: str) -> None:
        self._order(broker_order_id)
        self._commit({"e": "cancel", "id": broker_order_id, "reason": "cancelled by the trader"})

    # -- the quote clock ---------------------------------------------------------------------
    def feed(self, quote: Quote) -> None:
        """One quote of the market: it moves the paper clock, squares off and expires what
        is due, trades the waiting orders of its instrument, and is streamed if subscribed."""
        key = quote.symbol
        ts = ns_of(quote.tick.ts)
        self._seq += 1
        self.clock = ts if self.clock is None else max(self.clock, ts)
        self._expire_and_settle(self.clock)  # before this quote becomes its symbol's last
        before = self._volume.get(key)
        volume = quote.tick.volume
        traded = volume - before if before is not None and volume > before else 0
        self._volume[key] = volume
        self._quotes[key] = quote
        self._quote_ns[key] = ts
        self._marks[key] = to_paise(quote.tick.ltp)
        if key in self._instruments:
            self._square_off_if_due(key, ts)
            self._match(key, quote, traded)
        if key in self._subscribed and self._listener is not None:
            self._listener.on_quote(quote)

    async def replay(
        self, quotes: Iterable[Quote] | AsyncIterable[Quote], *, every: int = 256
    ) -> int:
        """Feed recorded quotes (brokers/paper/replay.py makes them from ticks or bars),
        yielding to the loop every `every` quotes; how many were fed."""
        count = 0
        if isinstance(quotes, AsyncIterable):
            async for quote in quotes:
                self.feed(quote)
                count += 1
        else:
            for quote in quotes:
                self.feed(quote)
                count += 1
                if count % every == 0:
                    await asyncio.sleep(0)
        return count

    async def replay_history(
        self, start: datetime, end: datetime, timeframe: Timeframe = Timeframe.M1
    ) -> int:
        """Replay the store's bars of every subscribed instrument from `start` to `end`, in
        time order (four quotes a bar: brokers/paper/replay.py): paper trading on imported
        history at any hour. How many quotes were fed."""
        if self.store is None:
            raise InvalidRequest("paper broker has no history; import data first", broker=NAME)
        if not self._subscribed:
            raise InvalidRequest("subscribe to the instruments to replay first", broker=NAME)
        streams = []
        for key in self._subscribed:
            instrument = self._given.get(key) or self._instruments[key]
            bars = self.store.read_bars(
                instrument.symbol, str(timeframe), start, end, exchange=str(instrument.exchange)
            )
            streams.append(bar_quotes(instrument, bars))
        return await self.replay(merged(*streams))

    def _expire_and_settle(self, now: int) -> None:
        for bucket in self.oms.open_orders:
            self._expire(bucket, now)
        self._settle_stale_mis(now)

    def _expire(self, bucket: dict[str, ManagedOrder], now: int) -> None:
        for order in list(bucket.values()):
            if not order.is_open or order.validity is not Validity.DAY:
                continue
            meta = self._meta[order.order_id]
            if meta.squareoff:
                continue
            if meta.expires is None:  # placed before the first quote: its session is now's
                meta.expires = self._session_close_after(order.symbol, now)
            if meta.expires is not None and now >= meta.expires:
                self._commit(
                    {"e": "cancel", "id": order.broker_id, "reason": "expired: the session closed"}
                )

    def _settle_stale_mis(self, now: int) -> None:
        """Close MIS positions whose instrument sent no quote after its session's cut-off,
        once the clock has passed that session's close: at its last quote."""
        lead = ns_of_timedelta(self.config.squareoff_lead)
        for (key, product), book in list(self.portfolio.positions.items()):
            if product is not Product.MIS or not book.quantity or key not in self._quote_ns:
                continue
            last = self._quote_ns[key]
            day = ist_day_number(last)
            if (key, day) in self._squared:
                continue
            close = self._cutoff(key, last) + lead
            if now >= close:  # its session ended with no quote after the cut-off
                self._square_off(key, day, last)
                self._match(key, self._quotes[key], 0, only_squareoff=True)

    def _square_off_if_due(self, key: str, ts: int) -> None:
        day = ist_day_number(ts)
        held = self.portfolio.position(key, Product.MIS).quantity
        last_day = self._last_fill_day.get((key, Product.MIS))
        if (
            held
            and last_day is not None
            and last_day < day
            and (key, last_day) not in self._squared
        ):
            self._square_off(key, last_day, ts)  # left from a session with no quote after it
            return
        if (key, day) in self._squared or ts < self._cutoff(key, ts):
            return
        has_orders = any(o.product is Product.MIS for o in self.oms.open_for(self._index[key]))
        if has_orders or held:
            self._square_off(key, day, ts)

    def _square_off(self, key: str, day: int, ts: int) -> None:
        held = self.portfolio.position(key, Product.MIS).quantity
        event: Event = {"e": "squareoff", "symbol": key, "day": day, "ts": ts, "id": None}
        if held:
            broker_id = self._next_id()
            event.update(
                {
                    "id": broker_id,
                    "client_id": foreign_client_id(broker_id),
                    "tag": SQUAREOFF_TAG,
                    "side": str(Side.SELL if held > 0 else Side.BUY),
                    "type": str(OrderType.MARKET),
                    "product": str(Product.MIS),
                    "validity": str(Validity.DAY),
                    "qty": abs(held),
                }
            )
        self._commit(event)

    def _match(self, key: str, quote: Quote, traded: int, *, only_squareoff: bool = False) -> None:
        index = self._index[key]
        waiting = self.oms.open_for(index)
        if not waiting:
            return
        rules = self._rules[key]
        last = to_paise(quote.tick.ltp)
        books: dict[bool, Book] = {}
        for order in waiting:
            meta = self._meta[order.order_id]
            if not order.is_open or meta.placed_seq >= self._seq:
                continue
            if only_squareoff and not meta.squareoff:
                continue
            buy = order.side is Side.BUY
            book = books.get(buy)
            if book is None:
                book = books[buy] = Book.opposite(quote, buy)
            result = match(
                order,
                last,
                traded,
                book,
                tick=rules.tick,
                lot=rules.lot,
                slippage_bps=self.config.slippage_bps,
                protection=meta.protection,
                keep_market_rest=meta.squareoff,
            )
            ts = ns_of(quote.tick.ts)
            if result.trigger is not None:
                self._commit({"e": "trigger", "id": order.broker_id, "how": result.trigger})
            for quantity, price in result.fills:
                self._fill(order, rules, quantity, price, ts)
            if order.is_open:
                if result.cancel_rest is not None:
                    self._commit(
                        {"e": "cancel", "id": order.broker_id, "reason": result.cancel_rest}
                    )
                elif order.validity is Validity.IOC:
                    reason = "IOC: the unfilled rest is cancelled"
                    self._commit({"e": "cancel", "id": order.broker_id, "reason": reason})

    def _fill(
        self, order: ManagedOrder, rules: InstrumentRules, quantity: int, price: int, ts: int
    ) -> None:
        charges = self.notes.charge_of(
            rules, order.order_id, order.side, order.product, quantity, price, ist_date_of(ts)
        )
        self._trades += 1
        self._commit(
            {
                "e": "fill",
                "id": order.broker_id,
                "trade": f"{_TRADE_PREFIX}{self._trades:08d}",
                "qty": quantity,
                "price": price,
                "ts": ts,
                "charges": charges,
            }
        )

    # -- account -----------------------------------------------------------------------------
    async def profile(self) -> Profile:
        return Profile(
            user_id=self._account,
            user_name="Paper trading",
            broker=NAME,
            exchanges=tuple(Exchange),
        )

    async def orders(self) -> list[BrokerOrder]:
        """The session's orders (those placed on the paper clock's day, and any still
        open); every order since the last reset before the first quote."""
        today = None if self.clock is None else ist_day_number(self.clock)
        return [
            self._broker_order(order)
            for order in self._by_broker_id.values()
            if today is None or order.is_open or ist_day_number(order.placed_ts) == today
        ]

    async def trades(self) -> list[Fill]:
        return list(self._fills)

    def _today(self) -> int | None:
        return None if self.clock is None else ist_day_number(self.clock)

    async def positions(self) -> list[PositionSnapshot]:
        """Open positions, and those closed on the paper clock's day."""
        today = self._today()
        out: list[PositionSnapshot] = []
        for (key, product), book in self.portfolio.positions.items():
            traded_today = today is None or self._last_fill_day.get((key, product)) == today
            if not book.quantity and not (traded_today and (key, product) in self._last_fill_day):
                continue
            average = (
                Decimal(book.cost()) / Decimal(abs(book.quantity) * 100)
                if book.quantity
                else Decimal(0)
            )
            mark = self._marks.get(key)
            out.append(
                PositionSnapshot(
                    position=Position(
                        key, product, book.quantity, average, from_paise(book.realized)
                    ),
                    last_price=_rupees(mark),
                    overnight_quantity=sum(
                        lot.quantity if book.quantity > 0 else -lot.quantity
                        for lot in book.lots
                        if today is not None and ist_day_number(lot.ts) < today
                    ),
                )
            )
        return out

    async def holdings(self) -> list[Holding]:
        """CNC longs: shares bought before the paper clock's day are settled, today's T1."""
        today = self._today()
        out: list[Holding] = []
        for (key, product), book in self.portfolio.positions.items():
            if product is not Product.CNC or book.quantity <= 0:
                continue
            settled = sum(
                lot.quantity for lot in book.lots if today is None or ist_day_number(lot.ts) < today
            )
            out.append(
                Holding(
                    symbol=key,
                    quantity=settled,
                    t1_quantity=book.quantity - settled,
                    average_price=book.average_price(),
                    last_price=_rupees(self._marks.get(key)),
                    isin=self._instruments[key].isin,
                )
            )
        return out

    async def funds(self) -> Funds:
        """Cash, the margin open positions block (the engine's rule), and what is free."""
        equity, blocked = marked_account(
            self.portfolio, self.config.margin, self._rules, self._marks_of
        )
        return Funds(
            available=from_paise(equity - blocked),
            used_margin=from_paise(blocked),
            cash=from_paise(self.portfolio.cash),
        )

    def charges(self, instrument: Instrument, product: Product, day: date) -> Decimal:
        """The contract note's total charges for one instrument, product group and day."""
        rules = self._rules.get(instrument.key)
        if rules is None:
            return Decimal("0.00")
        return self.notes.breakdown(rules, product, day).total

    # -- market data -------------------------------------------------------------------------
    async def instruments(self, exchange: Exchange | None = None) -> list[Instrument]:
        found = {**self._given, **self._instruments}
        if self.store is not None:
            frame = self.store.instruments(None if exchange is None else str(exchange))
            for row in frame.itertuples(index=False):
                key = f"{row.exchange}:{row.symbol}"
                if key not in found:
                    found[key] = self.store.instrument(str(row.symbol), str(row.exchange))
        return [i for i in found.values() if exchange is None or i.exchange is exchange]

    def max_history_span(self, timeframe: Timeframe) -> timedelta:
        return timedelta(days=36_500)  # the local store has no per-call limit

    async def history(
        self, instrument: Instrument, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        if self.store is None:
            raise InvalidRequest("paper broker has no history; import data first", broker=NAME)
        series = self.store.read_bars(
            instrument.symbol, str(timeframe), start, end, exchange=str(instrument.exchange)
        )
        return [
            Bar(
                instrument.key,
                series.timeframe,
                ist_datetime(int(series.ts[i])),
                from_paise(int(series.open[i])),
                from_paise(int(series.high[i])),
                from_paise(int(series.low[i])),
                from_paise(int(series.close[i])),
                int(series.volume[i]),
            )
            for i in range(len(series.ts))
        ]

    async def quotes(self, instruments: Sequence[Instrument]) -> dict[str, Quote]:
        return {i.key: self._quotes[i.key] for i in instruments if i.key in self._quotes}

    async def subscribe(self, instruments: Sequence[Instrument], mode: TickMode) -> None:
        for instrument in instruments:
            self._subscribed[instrument.key] = mode
            self._given.setdefault(instrument.key, instrument)

    async def unsubscribe(self, instruments: Sequence[Instrument]) -> None:
        for instrument in instruments:
            self._subscribed.pop(instrument.key, None)

    @property
    def subscribed(self) -> dict[str, TickMode]:
        return dict(self._subscribed)
