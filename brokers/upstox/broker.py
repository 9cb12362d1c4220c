"""Upstox as an engine `Broker`: the REST client and the v3 feed behind the engine's protocol.

Blocking REST calls run in a thread (`asyncio.to_thread`); the feed is a coroutine on the
loop, so quotes reach the listener on the loop in arrival order. Upstox's failures become the
engine's typed errors here (`engine_error`), and Upstox's vocabulary (instrument keys such as
`NSE_EQ|INE002A01018`, products I/D, lower-case statuses) becomes the engine's. The 2026
order rules (pace, market protection, no blind retries) are the OrderGateway's; this adapter
sends what it is given, once, with the market protection the request carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Protocol, TypeVar

from brokers import redaction
from brokers.accounts import BrokerAccount
from brokers.credentials import CredentialStore, Secret, daily_expiry, make_account_id
from brokers.upstox import models as up
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
from brokers.upstox.feed import UpstoxFeed
from brokers.upstox.oauth import authorization_url
from brokers.upstox.portfolio import UpstoxPortfolioStream
from brokers.upstox.rest import API_HOST, INSTRUMENTS_HOST, ORDER_HOST, UpstoxConfig, UpstoxRest
from engine.broker.errors import (
    AuthError,
    BrokerDown,
    BrokerError,
    InvalidRequest,
    IpNotAllowed,
    MalformedResponse,
    NetworkError,
    OrderRejected,
    PermissionDenied,
    RateLimited,
    TokenExpired,
)
from engine.broker.models import (
    BrokerOrder,
    ConnectionState,
    DepthLevel,
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
    market_protection_for,
)
from engine.broker.protocol import BrokerListener
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

log = logging.getLogger(__name__)

BROKER: Final = "Upstox"
T = TypeVar("T")

# Timeframe -> Upstox v3 (unit, interval) and the span one request may cover (rest.py).
CANDLES: Final[dict[Timeframe, tuple[str, int]]] = {
    Timeframe.M1: ("minutes", 1),
    Timeframe.M3: ("minutes", 3),
    Timeframe.M5: ("minutes", 5),
    Timeframe.M15: ("minutes", 15),
    Timeframe.M30: ("minutes", 30),
    Timeframe.M60: ("hours", 1),
    Timeframe.D1: ("days", 1),
}
MAX_HISTORY_DAYS: Final[dict[Timeframe, int]] = {
    Timeframe.M1: 30,
    Timeframe.M3: 30,
    Timeframe.M5: 30,
    Timeframe.M15: 30,
    Timeframe.M30: 90,
    Timeframe.M60: 90,
    Timeframe.D1: 3650,
}
# Upstox's order-book exchange names that Artha trades.
EXCHANGES: Final = {e.value: e for e in (Exchange.NSE, Exchange.BSE, Exchange.NFO, Exchange.BFO)}
PRODUCTS_OUT: Final = {Product.MIS: "I", Product.CNC: "D", Product.NRML: "D"}
FILLED: Final = frozenset({"complete"})
CANCELLED: Final = frozenset({"cancelled", "cancelled after market order"})
REJECTED: Final = frozenset({"rejected"})
NEW: Final = frozenset({"put order req received", "validation pending", "open pending"})
FEED_MODES: Final[dict[TickMode, up.FeedMode]] = {
    TickMode.LTP: "ltpc",
    TickMode.QUOTE: "full",
    TickMode.FULL: "full",
}
#: Upstox tokens end at 03:30 IST the next morning (Upstox's docs; india-domain.md §5).
TOKEN_END_HOUR, TOKEN_END_MINUTE = 3, 30


class TokenStore(Protocol):
    """Where the day's token lives (brokers.credentials.CredentialStore in the app)."""

    def load_token(self, account_id: str, now: datetime) -> Secret | None: ...

    def save_token(self, account_id: str, token: str | Secret, expires_at: datetime) -> None: ...

    def forget_token(self, account_id: str) -> bool: ...


def engine_error(exc: UpstoxError) -> BrokerError:
    """Upstox's failure as the engine's typed error (the message is already trader-readable)."""
    kw: dict[str, Any] = {"broker": BROKER, "status": exc.status}
    if isinstance(exc, UpstoxTokenExpired):
        return TokenExpired(exc.message, **kw)
    if isinstance(exc, UpstoxAuthError):
        return AuthError(exc.message, **kw)
    if isinstance(exc, UpstoxIpNotAllowed):
        return IpNotAllowed(exc.message, **kw)
    if isinstance(exc, UpstoxPermissionDenied):
        return PermissionDenied(exc.message, **kw)
    if isinstance(exc, UpstoxRateLimited):
        return RateLimited(exc.message, **kw)
    if isinstance(exc, UpstoxOrderRejected):
        return OrderRejected(exc.message, **kw)
    if isinstance(exc, UpstoxInputError):
        return InvalidRequest(exc.message, **kw)
    if isinstance(exc, UpstoxNetworkError):
        return NetworkError(exc.message, sent=exc.sent, **kw)
    if isinstance(exc, UpstoxBrokerDown):
        return BrokerDown(exc.message, sent=True, **kw)
    if isinstance(exc, UpstoxMalformedResponse):
        return MalformedResponse(exc.message, sent=True, **kw)
    return BrokerDown(exc.message, sent=exc.sent, **kw)


def upstox_key(instrument: Instrument) -> str:
    """Upstox's instrument key: equities by ISIN, derivatives by exchange token, indices by
    name (e.g. NSE_EQ|INE002A01018, NSE_FO|52910, NSE_INDEX|Nifty 50)."""
    ex = instrument.exchange
    if instrument.segment is Segment.INDEX:
        prefix = "BSE_INDEX" if ex is Exchange.BSE else "NSE_INDEX"
        return f"{prefix}|{instrument.name or instrument.symbol}"
    if instrument.segment is Segment.EQUITY:
        if not instrument.isin:
            raise InvalidRequest(
                f"{instrument.key}: Upstox names equities by ISIN and this instrument has "
                "none; refresh the instrument list",
                broker=BROKER,
            )
        prefix = "BSE_EQ" if ex is Exchange.BSE else "NSE_EQ"
        return f"{prefix}|{instrument.isin}"
    if instrument.token is None:
        raise InvalidRequest(
            f"{instrument.key}: Upstox names derivatives by exchange token and this "
            "instrument has none; refresh the instrument list",
            broker=BROKER,
        )
    prefix = "BSE_FO" if ex is Exchange.BFO else "NSE_FO"
    return f"{prefix}|{instrument.token}"


def order_status(status: str, filled: int, quantity: int) -> OrderStatus:
    """Upstox's status word and fill count -> Artha's status; anything unknown that is not
    terminal counts as working, so a new Upstox word never makes a live order look done."""
    word = status.strip().lower()
    if word in FILLED:
        return OrderStatus.FILLED
    if word in CANCELLED:
        return OrderStatus.CANCELLED
    if word in REJECTED:
        return OrderStatus.REJECTED
    if filled >= quantity > 0:
        return OrderStatus.FILLED
    if filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    if word in NEW:
        return OrderStatus.NEW
    return OrderStatus.OPEN


def _product(code: str, exchange: Exchange) -> Product | None:
    if code == "I":
        return Product.MIS
    if code == "D":
        return Product.NRML if exchange in (Exchange.NFO, Exchange.BFO) else Product.CNC
    return None  # MTF, CO, OCO...: the trader's own business at Upstox


def _bad(call: str, message: str) -> MalformedResponse:
    return MalformedResponse(
        f"Upstox's answer to {call} could not be read: {message}", broker=BROKER
    )


def to_broker_order(info: up.OrderInfo) -> BrokerOrder | None:
    """One order-book row -> BrokerOrder; None for an exchange/product Artha does not trade."""
    exchange = EXCHANGES.get(info.exchange)
    product = _product(info.product, exchange) if exchange else None
    if exchange is None or product is None:
        return None
    try:
        order_type = OrderType(info.order_type)
        status = order_status(info.status, info.filled_quantity, info.quantity)
        filled = min(info.filled_quantity, info.quantity)
        average = info.average_price if filled and info.average_price > 0 else None
        now = datetime.now(IST)
        order = Order(
            client_id=info.tag or foreign_client_id(info.order_id),
            symbol=f"{exchange.value}:{info.trading_symbol}",
            side=Side(info.side),
            order_type=order_type,
            product=product,
            validity=Validity(info.validity),
            quantity=info.quantity,
            price=info.price if order_type in (OrderType.LIMIT, OrderType.SL) else None,
            trigger_price=info.trigger_price
            if order_type in (OrderType.SL, OrderType.SL_M)
            else None,
            tag=info.tag or "",
            broker_id=info.order_id,
            status=status,
            filled_quantity=filled,
            average_price=average.quantize(AVERAGE_PRICE_QUANTUM, rounding=ROUND_HALF_UP)
            if average is not None
            else None,
            status_message=info.status_message,
            created_at=info.placed_at or info.exchange_at or now,
        )
        return BrokerOrder(
            order=order,
            broker_status=info.status,
            updated_at=info.exchange_at or info.placed_at or now,
            exchange_order_id=info.exchange_order_id,
            parent_id=info.parent_order_id,
        )
    except ValueError as exc:
        raise _bad("orders", f"order {info.order_id}: {exc}") from None


# Upstox instrument-file segment -> the engine's exchange; instrument_type -> segment.
FILE_SEGMENTS: Final = {
    "NSE_EQ": Exchange.NSE, "BSE_EQ": Exchange.BSE, "NSE_FO": Exchange.NFO,
    "BSE_FO": Exchange.BFO, "NSE_INDEX": Exchange.NSE, "BSE_INDEX": Exchange.BSE,
}  # fmt: skip
EQUITY_TYPES: Final = frozenset({"EQ", "BE", "SM", "ST", "BZ"})


def to_instrument(row: Mapping[str, Any]) -> tuple[Instrument, str] | None:
    """One instrument-file row -> (Instrument, Upstox key); None for what Artha does not
    trade or cannot use. Upstox writes tick_size in paise (5.0 = Rs 0.05) and expiry as
    epoch milliseconds (ISO dates accepted too) - an assumption from its published files."""
    exchange = FILE_SEGMENTS.get(str(row.get("segment") or ""))
    key = row.get("instrument_key")
    symbol = row.get("trading_symbol")
    if exchange is None or not isinstance(key, str) or not isinstance(symbol, str) or not symbol:
        return None
    kind = str(row.get("instrument_type") or "").upper()
    try:
        if str(row.get("segment")).endswith("_INDEX") or kind == "INDEX":
            segment = Segment.INDEX
        elif kind in ("FUT", "FUTIDX", "FUTSTK"):
            segment = Segment.FUTURES
        elif kind in ("CE", "PE"):
            segment = Segment.OPTIONS
        elif kind in EQUITY_TYPES and exchange in (Exchange.NSE, Exchange.BSE):
            segment = Segment.EQUITY
        else:
            return None
        tick_paise = Decimal(str(row.get("tick_size") or 5))
        token = row.get("exchange_token")
        freeze = row.get("freeze_quantity")
        strike = row.get("strike_price")
        inst = Instrument(
            exchange=exchange,
            segment=segment,
            symbol=symbol,
            token=int(str(token)) if str(token or "").isdigit() else None,  # indices: names
            isin=str(row["isin"]) if row.get("isin") else None,
            tick_size=(tick_paise / 100).normalize() if tick_paise > 0 else Decimal("0.05"),
            lot_size=int(row.get("lot_size") or 1),
            freeze_quantity=int(freeze) if freeze and int(freeze) > 0 else None,
            expiry=_expiry(row.get("expiry"))
            if segment in (Segment.FUTURES, Segment.OPTIONS)
            else None,
            strike=Decimal(str(strike)) if segment is Segment.OPTIONS and strike else None,
            option_type=OptionType(kind) if segment is Segment.OPTIONS else None,
            name=str(row.get("name") or ""),
        )
    except (ValueError, TypeError, ArithmeticError) as exc:
        log.debug("upstox instruments: skipped %s (%s)", key, exc)
        return None
    return inst, key


def _expiry(value: object) -> date | None:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value) / 1000, IST).date()
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


class UpstoxLoginFlow:
    """OAuth2 code flow: Upstox echoes our state, and the redirect carries `code`."""

    echoes_state = True
    required_params = ("code",)

    def __init__(self, broker: UpstoxBroker) -> None:
        self._broker = broker

    def url(self, state: str) -> str:
        b = self._broker
        return authorization_url(
            b.client_id, b.redirect_uri, state, api_host=b.rest.config.api_host
        )

    async def complete(self, params: Mapping[str, str]) -> SessionInfo:
        return await self._broker.complete_login(params.get("code", ""))


class UpstoxBroker:
    """One Upstox account. `tokens` keeps the day's access token (the keychain in the app)."""

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: Secret | str,
        redirect_uri: str,
        tokens: TokenStore,
        config: UpstoxConfig | None = None,
        instruments: Sequence[Instrument] = (),
        silence_timeout: float | None = 15.0,
        feed_backoff: float = 0.25,
        token_id: str | None = None,
        market_protection: Decimal | None = None,
        order_stream: bool = True,
    ) -> None:
        # Refused here, at setup, rather than on the first MARKET order of the day.
        market_protection_for(OrderType.MARKET, market_protection)
        self._market_protection = market_protection
        self._account_id = account_id
        self._token_id = token_id or account_id  # the token store's key for this account
        self.client_id = client_id
        self._secret = client_secret if isinstance(client_secret, Secret) else Secret(client_secret)
        self.redirect_uri = redirect_uri
        self._tokens = tokens
        self.rest = UpstoxRest(config or UpstoxConfig())
        self._state = ConnectionState.DISCONNECTED
        self._listener: BrokerListener | None = None
        self._instruments: dict[str, Instrument] = {}
        self._by_upstox_key: dict[str, Instrument] = {}
        self._keys: dict[str, str] = {}  # engine key -> Upstox key, from the instrument files
        self._silence = silence_timeout
        self._feed_backoff = feed_backoff
        self._feed: UpstoxFeed | None = None
        #: Order updates from the portfolio stream, started on connect/login when a loop
        #: runs; off, orders are only read by polling `orders()`.
        self.order_stream_enabled = order_stream
        self._orders_stream: UpstoxPortfolioStream | None = None
        self._expires_at: datetime | None = None
        for inst in instruments:
            self._instruments[inst.key] = inst

    @classmethod
    def from_account(
        cls,
        account: BrokerAccount,
        credentials: CredentialStore,
        *,
        timeout: float = 10.0,
        instruments_host: str = INSTRUMENTS_HOST,
        silence_timeout: float | None = 15.0,
        feed_backoff: float = 0.25,
        order_stream: bool = True,
    ) -> UpstoxBroker:
        """The app's way in: settings from the account (redirect URL, hosts for a sandbox or
        test server, order proxy, algo name, market protection) and the API key, secret and
        token from the keychain under `make_account_id("upstox", account.account_id)`."""
        cid = make_account_id("upstox", account.account_id)
        key, secret = credentials.load(cid, "api_key"), credentials.load(cid, "api_secret")
        if key is None or secret is None:
            raise AuthError(
                f"{account.account_id}: no Upstox API key and secret stored; add them in "
                "Settings ▸ Brokers",
                broker=BROKER,
            )
        proxies = (
            {"http": account.order_proxy, "https": account.order_proxy}
            if account.order_proxy
            else None
        )
        config = UpstoxConfig(
            api_host=account.api_root or API_HOST,
            order_host=account.order_root or account.api_root or ORDER_HOST,
            algo_name=account.algo_name or None,
            order_proxies=proxies,
            instruments_host=instruments_host,
            timeout=timeout,
        )
        return cls(
            account_id=account.account_id, client_id=key.reveal(), client_secret=secret,
            redirect_uri=account.redirect_url, tokens=credentials, config=config,
            token_id=cid, market_protection=account.market_protection,
            silence_timeout=silence_timeout, feed_backoff=feed_backoff,
            order_stream=order_stream,
        )  # fmt: skip

    # ---- identity and state --------------------------------------------------------------

    @property
    def name(self) -> str:
        return BROKER

    @property
    def account_id(self) -> str:
        return self._account_id

    @property
    def state(self) -> ConnectionState:
        return self._state

    def set_listener(self, listener: BrokerListener | None) -> None:
        self._listener = listener

    def login_flow(self) -> UpstoxLoginFlow:
        return UpstoxLoginFlow(self)

    def _set_state(self, state: ConnectionState, detail: str) -> None:
        if state is self._state:
            return
        self._state = state
        if self._listener is not None:
            self._listener.on_state(state, detail)

    def _ensure_token(self) -> None:
        """A call before connect() uses today's stored token, if there is one."""
        if not self.rest.logged_in:
            token = self._tokens.load_token(self._token_id, datetime.now(IST))
            if token is not None:
                self.rest.set_access_token(token.reveal())

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        self._ensure_token()
        try:
            return await asyncio.to_thread(fn, *args)
        except UpstoxTokenExpired as exc:
            self._set_state(ConnectionState.LOGIN_REQUIRED, exc.message)
            raise engine_error(exc) from None
        except UpstoxError as exc:
            raise engine_error(exc) from None

    # ---- session -------------------------------------------------------------------------

    async def complete_login(self, code: str) -> SessionInfo:
        """Trade the redirect's code for the day's token and keep it in the token store."""
        if not code:
            raise AuthError("the Upstox redirect carried no code", broker=BROKER)
        try:
            session = await asyncio.to_thread(
                lambda: self.rest.exchange_code(
                    code=code,
                    client_id=self.client_id,
                    client_secret=self._secret.reveal(),
                    redirect_uri=self.redirect_uri,
                )
            )
        except UpstoxError as exc:
            raise engine_error(exc) from None
        redaction.remember(session.access_token)
        now = datetime.now(IST)
        self._expires_at = daily_expiry(now, hour=TOKEN_END_HOUR, minute=TOKEN_END_MINUTE)
        self._tokens.save_token(self._token_id, session.access_token, self._expires_at)
        self._set_state(ConnectionState.CONNECTED, f"logged in as {session.user_id}")
        if self._feed is not None and self._feed.subscriptions:
            await self._feed.start()  # a feed stopped by the expired token resumes
        await self._start_order_stream()  # a stream stopped by the expired token resumes
        return SessionInfo(
            account_id=self._account_id,
            user_id=session.user_id,
            user_name=session.user_name,
            expires_at=self._expires_at,
        )

    async def connect(self) -> SessionInfo:
        now = datetime.now(IST)
        token = self._tokens.load_token(self._token_id, now)
        if token is None:
            self._set_state(ConnectionState.LOGIN_REQUIRED, "no Upstox session stored")
            raise TokenExpired("no Upstox session for today", broker=BROKER)
        self._set_state(ConnectionState.CONNECTING, "checking the stored session")
        self.rest.set_access_token(token.reveal())
        try:
            profile = await self._call(self.rest.profile)
        except BrokerError:
            if self._state is ConnectionState.CONNECTING:
                self._set_state(ConnectionState.DISCONNECTED, "could not reach Upstox")
            raise
        self._expires_at = self._expires_at or daily_expiry(
            now, hour=TOKEN_END_HOUR, minute=TOKEN_END_MINUTE
        )
        self._set_state(ConnectionState.CONNECTED, f"connected as {profile.user_id}")
        await self._start_order_stream()
        return SessionInfo(
            account_id=self._account_id,
            user_id=profile.user_id,
            user_name=profile.user_name,
            expires_at=self._expires_at,
        )

    async def close(self) -> None:
        if self._feed is not None:
            await self._feed.close()
            self._feed = None
        if self._orders_stream is not None:
            await self._orders_stream.close()
            self._orders_stream = None
        self._set_state(ConnectionState.DISCONNECTED, "closed")

    async def logout(self) -> None:
        await self.close()
        try:
            await self._call(self.rest.logout)
        except BrokerError as exc:
            log.info("upstox logout: %s", exc.message)
        self._tokens.forget_token(self._token_id)

    # ---- orders --------------------------------------------------------------------------

    async def place(self, request: OrderRequest) -> str:
        o = request.order
        instrument = request.instrument
        self._remember(instrument)
        body = up.OrderRequest(
            instrument_key=self._key(instrument),
            side=o.side.value,
            quantity=o.quantity,
            order_type=o.order_type.value,
            product=PRODUCTS_OUT[o.product],  # type: ignore[arg-type]
            validity=o.validity.value,
            price=o.price or Decimal(0),
            trigger_price=o.trigger_price or Decimal(0),
            tag=request.tag,
            is_amo=request.after_market,
            slice=request.slices > 1,
            market_protection=market_protection_for(
                o.order_type, request.market_protection or self._market_protection
            ),
        )
        placed = await self._call(self.rest.place_order, body)
        return placed.order_ids[0]

    async def modify(self, broker_order_id: str, change: OrderChange) -> None:
        current = await self._call(self.rest.order_details, broker_order_id)
        order_type = change.order_type.value if change.order_type else current.order_type
        price = change.price if change.price is not None else current.price
        trigger = (
            change.trigger_price if change.trigger_price is not None else current.trigger_price
        )
        protection = market_protection_for(OrderType(order_type), self._market_protection)
        if protection is not None:  # MARKET / SL-M carry no price
            price = Decimal(0)
        body = up.OrderChange(
            order_id=broker_order_id,
            quantity=change.quantity if change.quantity is not None else current.quantity,
            order_type=order_type,  # type: ignore[arg-type]
            validity=current.validity,  # type: ignore[arg-type]
            price=price,
            trigger_price=trigger if order_type in ("SL", "SL-M") else Decimal(0),
            market_protection=protection,
        )
        await self._call(self.rest.modify_order, body)

    async def cancel(self, broker_order_id: str) -> None:
        await self._call(self.rest.cancel_order, broker_order_id)

    # ---- account -------------------------------------------------------------------------

    async def profile(self) -> Profile:
        p = await self._call(self.rest.profile)
        exchanges = tuple(EXCHANGES[e] for e in p.exchanges if e in EXCHANGES)
        return Profile(
            user_id=p.user_id,
            user_name=p.user_name,
            broker=BROKER,
            exchanges=exchanges,
            email=p.email,
        )

    async def orders(self) -> list[BrokerOrder]:
        rows = await self._call(self.rest.orders)
        return [o for o in (to_broker_order(r) for r in rows) if o is not None]

    async def trades(self) -> list[Fill]:
        rows = await self._call(self.rest.trades)
        tags = {o.order_id: o.tag for o in await self._call(self.rest.orders) if o.tag}
        fills = []
        for t in rows:
            exchange = EXCHANGES.get(t.exchange)
            if exchange is None:
                continue
            try:
                fills.append(
                    Fill(
                        order_client_id=tags.get(t.order_id) or foreign_client_id(t.order_id),
                        trade_id=t.trade_id,
                        symbol=f"{exchange.value}:{t.trading_symbol}",
                        side=Side(t.side),
                        quantity=t.quantity,
                        price=t.average_price,
                        ts=t.traded_at or datetime.now(IST),
                        broker_order_id=t.order_id,
                    )
                )
            except ValueError as exc:
                raise _bad("trades", f"trade {t.trade_id}: {exc}") from None
        return fills

    async def positions(self) -> list[PositionSnapshot]:
        out = []
        for p in await self._call(self.rest.positions):
            exchange = EXCHANGES.get(p.exchange)
            product = _product(p.product, exchange) if exchange else None
            if exchange is None or product is None:
                continue
            try:
                position = Position(
                    symbol=f"{exchange.value}:{p.trading_symbol}",
                    product=product,
                    quantity=p.quantity,
                    average_price=p.average_price if p.quantity else Decimal(0),
                    realized_pnl=p.realised,
                )
            except ValueError as exc:
                raise _bad("positions", f"{p.instrument_key}: {exc}") from None
            out.append(
                PositionSnapshot(
                    position=position,
                    last_price=p.last_price or None,
                    overnight_quantity=p.overnight_quantity,
                )
            )
        return out

    async def holdings(self) -> list[Holding]:
        out = []
        for h in await self._call(self.rest.holdings):
            exchange = EXCHANGES.get(h.exchange, Exchange.NSE)
            try:
                out.append(
                    Holding(
                        symbol=f"{exchange.value}:{h.trading_symbol}",
                        quantity=h.quantity,
                        average_price=h.average_price,
                        last_price=h.last_price or None,
                        t1_quantity=h.t1_quantity,
                        isin=h.isin or None,
                    )
                )
            except ValueError as exc:
                raise _bad("holdings", f"{h.instrument_key}: {exc}") from None
        return out

    async def funds(self) -> Funds:
        by_segment = await self._call(self.rest.funds)
        equity = by_segment.get("equity")
        if equity is None:
            raise _bad("funds and margin", "no equity segment")
        # Upstox's v2 funds report no opening balance: cash is what is free plus what is used.
        return Funds(
            available=equity.available_margin,
            used_margin=equity.used_margin,
            cash=equity.available_margin + equity.used_margin,
        )

    # ---- market data ---------------------------------------------------------------------

    async def instruments(self, exchange: Exchange | None = None) -> list[Instrument]:
        """Today's contracts from Upstox's daily instrument files (NSE's holds NSE and NFO,
        BSE's holds BSE and BFO); rows Artha does not trade (MCX, currency, MTF lists) are
        skipped. Each contract's Upstox key is remembered for orders and the feed."""
        files = {"NSE", "BSE"}
        if exchange is not None:
            files = {"BSE"} if exchange in (Exchange.BSE, Exchange.BFO) else {"NSE"}
        out: list[Instrument] = []
        skipped = 0
        for name in sorted(files):
            rows = await self._call(self.rest.instrument_master, name)
            for row in rows:
                found = to_instrument(row)
                if found is None:
                    skipped += 1
                    continue
                inst, key = found
                if exchange is not None and inst.exchange is not exchange:
                    continue
                self._instruments[inst.key] = inst
                self._keys[inst.key] = key
                self._by_upstox_key[key] = inst
                out.append(inst)
        if skipped:
            log.info("upstox instruments: skipped %d rows Artha does not trade", skipped)
        return out

    def max_history_span(self, timeframe: Timeframe) -> timedelta:
        return timedelta(days=MAX_HISTORY_DAYS[timeframe])

    async def history(
        self, instrument: Instrument, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidRequest("history: start and end must be timezone-aware", broker=BROKER)
        unit, interval = CANDLES[timeframe]
        key = self._key(instrument)
        candles = await self._call(
            self.rest.historical_candles,
            key,
            unit,
            interval,
            start.astimezone(IST).date(),
            end.astimezone(IST).date(),
        )
        bars = []
        for c in candles:
            if not start <= c.time <= end:
                continue
            try:
                bars.append(
                    Bar(
                        symbol=instrument.key,
                        timeframe=timeframe.value,
                        ts=c.time,
                        open=c.open,
                        high=c.high,
                        low=c.low,
                        close=c.close,
                        volume=c.volume,
                        oi=c.oi or None,
                    )
                )
            except ValueError as exc:
                raise _bad("historical candles", f"{key} at {c.time}: {exc}") from None
        return bars

    async def quotes(self, instruments: Sequence[Instrument]) -> dict[str, Quote]:
        keys = {self._key(i): i for i in instruments}
        prices = await self._call(self.rest.ltp, list(keys))
        now = datetime.now(IST)
        out = {}
        for key, price in prices.items():
            inst = keys.get(key)
            if inst is None or price.last_price <= 0:
                continue
            tick = Tick(symbol=inst.key, ts=now, ltp=price.last_price, volume=price.volume)
            out[inst.key] = Quote(tick=tick, close=price.close_price or None)
        return out

    async def subscribe(self, instruments: Sequence[Instrument], mode: TickMode) -> None:
        keys = []
        for inst in instruments:
            self._remember(inst)
            keys.append(self._key(inst))
        self._ensure_token()
        feed = self._ensure_feed()
        try:
            await feed.subscribe(keys, FEED_MODES[mode])
        except UpstoxError as exc:
            raise engine_error(exc) from None
        await feed.start()

    async def unsubscribe(self, instruments: Sequence[Instrument]) -> None:
        if self._feed is not None:
            await self._feed.unsubscribe([self._key(i) for i in instruments])

    def _key(self, instrument: Instrument) -> str:
        """The Upstox key: from the instrument files when loaded, else built from the
        instrument's ISIN / token / name."""
        return self._keys.get(instrument.key) or upstox_key(instrument)

    def _remember(self, instrument: Instrument) -> None:
        self._instruments[instrument.key] = instrument
        with contextlib.suppress(InvalidRequest):  # no key yet: it cannot stream either
            self._by_upstox_key[self._key(instrument)] = instrument

    def _ensure_feed(self) -> UpstoxFeed:
        if self._feed is None:
            self._feed = UpstoxFeed(
                self.rest.feed_authorize,
                self._on_tick,
                silence_timeout=self._silence,
                backoff_start=self._feed_backoff,
                on_status=self._on_feed_status,
            )
        return self._feed

    # ---- order updates (the portfolio stream) --------------------------------------------

    @property
    def order_stream(self) -> UpstoxPortfolioStream | None:
        """The running order-update stream, if any (for status displays and tests)."""
        return self._orders_stream

    async def _start_order_stream(self) -> None:
        """Start (or resume) order updates with today's token; only when switched on and a
        loop runs (always true here: called from coroutines)."""
        if not self.order_stream_enabled:
            return
        if self._orders_stream is None:
            self._orders_stream = UpstoxPortfolioStream(
                self.rest.portfolio_authorize,
                self._on_order_info,
                backoff_start=self._feed_backoff,
                on_status=self._on_orders_status,
            )
        await self._orders_stream.start()

    def _on_order_info(self, info: up.OrderInfo) -> None:
        try:
            update = to_broker_order(info)
        except BrokerError as exc:
            log.warning("upstox order updates: skipped one (%s)", exc.message)
            return
        if update is not None and self._listener is not None:
            self._listener.on_order_update(update)

    def _on_orders_status(self, state: str, detail: str) -> None:
        stream = self._orders_stream
        if state == "connected":
            if self._feed is None or not self._feed.subscriptions or self._feed.connected:
                self._set_state(ConnectionState.CONNECTED, "order updates connected")
        elif state == "reconnecting" and self._state is ConnectionState.CONNECTED:
            self._set_state(ConnectionState.RECONNECTING, f"order updates reconnecting {detail}")
        elif state == "failed":
            if stream is not None and isinstance(stream.last_error, UpstoxAuthError):
                self._set_state(ConnectionState.LOGIN_REQUIRED, f"order updates: {detail}")
            else:
                log.warning("upstox order updates stopped: %s", detail)

    def _on_feed_status(self, state: str, detail: str) -> None:
        stream = self._orders_stream
        if state == "connected" and stream is not None and stream.running and not stream.connected:
            return  # order updates are still down: not yet connected as a whole
        if state == "connected":
            self._set_state(ConnectionState.CONNECTED, f"market feed: {detail}")
        elif state == "reconnecting" and self._state is ConnectionState.CONNECTED:
            self._set_state(ConnectionState.RECONNECTING, f"market feed reconnecting {detail}")
        elif state == "failed":
            feed = self._feed
            if feed is not None and isinstance(feed.last_error, UpstoxAuthError):
                self._set_state(ConnectionState.LOGIN_REQUIRED, detail)
            else:
                self._set_state(ConnectionState.DISCONNECTED, detail)

    def _on_tick(self, t: up.FeedTick) -> None:
        inst = self._by_upstox_key.get(t.instrument_key)
        if inst is None or self._listener is None or t.ltp <= 0:
            return
        best = t.depth[0] if t.depth else None
        try:
            tick = Tick(
                symbol=inst.key,
                ts=t.last_trade_time or t.received_at or datetime.now(IST),
                ltp=t.ltp,
                volume=t.volume or 0,
                bid=best.bid_price if best and best.bid_price > 0 else None,
                ask=best.ask_price if best and best.ask_price > 0 else None,
                bid_qty=best.bid_quantity if best else None,
                ask_qty=best.ask_quantity if best else None,
                oi=int(t.oi) if t.oi else None,
            )
            day = next((o for o in t.ohlc if o.interval == "1d"), None)
            quote = Quote(
                tick=tick,
                mode=TickMode.LTP if t.mode == "ltpc" else TickMode.FULL,
                open=day.open if day else None,
                high=day.high if day else None,
                low=day.low if day else None,
                close=t.close_price or None,
                average_price=t.average_price or None,
                bids=tuple(DepthLevel(d.bid_price, d.bid_quantity) for d in t.depth),
                asks=tuple(DepthLevel(d.ask_price, d.ask_quantity) for d in t.depth),
            )
        except ValueError as exc:
            log.warning("upstox feed: skipped a tick for %s (%s)", inst.key, exc)
            return
        self._listener.on_quote(quote)


__all__ = [
    "BROKER",
    "TokenStore",
    "UpstoxBroker",
    "UpstoxLoginFlow",
    "engine_error",
    "order_status",
    "to_broker_order",
    "to_instrument",
    "upstox_key",
]
