"""Zerodha Kite behind the engine's `Broker` protocol: REST through the real kiteconnect.

Every kiteconnect call blocks, so each runs in a worker thread (`asyncio.to_thread`) and its
failure comes back as an `engine.broker.errors` type (`errors.translate`). Orders reach this
class only through `engine.broker.gateway.OrderGateway`, which keeps the 2026 rules (rate,
market protection, reconcile by tag, audit); what is Kite's own is here: the variety (regular,
amo, iceberg), auto-slicing above the freeze quantity, the tag, and a second client for order
calls when an HTTPS proxy with the registered static IP is set (quotes, history and the order
book go direct, as the rule allows).

A session ends daily (about 06:00 IST). When Kite refuses the token on any call the state
becomes LOGIN_REQUIRED, the call raises TokenExpired, and nothing held here is dropped: the
subscriptions, the order varieties, the listener and the stream stay, and the next
`login_flow().complete(...)` puts the new token into the same clients.

An order above the freeze quantity goes out with Kite's `autoslice=true` (at most 10 slices,
checked by `OrderRequest`); `place` returns Kite's parent id, which is only an id: each slice
is an order in the book with the same tag, and a modify or cancel goes to the slices one by
one (`slices_of`), each through the gateway like any order call.

Beyond the protocol: GTT single and OCO (`place_gtt`, `place_gtt_oco`, `modify_gtt`, `gtts`,
`delete_gtt`); place, modify and delete are order calls like the others (through the order
proxy, as the static-IP rule wants), the list is a read.

Streaming is not here: a stream (KiteTicker on its own thread, `brokers/zerodha/stream.py`)
is attached with `attach_stream`; `subscribe`/`unsubscribe` record what the trader wants in
`subscriptions` (kept across reconnects and logins) and tell the stream, if one is attached
(`TickStream`). The stream gets the session from `session_credentials()` and reports its
own reconnects through `set_state`.

kiteconnect's `set_session_expiry_hook` is not used: it fires only inside the SDK's thread
and only for 403s, while every refused token already passes through `_call` on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar

from kiteconnect import KiteConnect

from brokers.accounts import BrokerAccount
from brokers.credentials import (
    CredentialError,
    CredentialStore,
    Secret,
    daily_expiry,
    make_account_id,
)
from brokers.zerodha import convert
from brokers.zerodha.convert import (
    GTT_LEGS,
    GTT_OCO,
    GTT_SINGLE,
    INTERVALS,
    MAX_HISTORY_DAYS,
    Gtt,
    GttLeg,
    Skipped,
)
from brokers.zerodha.errors import BROKER, translate
from brokers.zerodha.login import KITE_LOGIN_URL, KiteLogin
from brokers.zerodha.stream import KiteStream
from engine.broker.errors import (
    AuthError,
    BrokerError,
    InvalidRequest,
    MalformedResponse,
    OrderRejected,
    TokenExpired,
)
from engine.broker.models import (
    CONNECTION_TRANSITIONS,
    NEEDS_MARKET_PROTECTION,
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
    market_protection_for,
)
from engine.broker.protocol import BrokerListener, LoginFlow
from engine.domain.enums import Exchange, OrderType
from engine.domain.fills import Fill
from engine.domain.instrument import Instrument
from engine.domain.market_data import Bar
from engine.domain.orders import MAX_TAG_LENGTH
from engine.timeframes import Timeframe

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT: Final = 7.0  # seconds; kiteconnect's own default
QUOTE_BATCH: Final = 500  # Kite answers /quote for at most 500 instruments a request
QUOTE_PAUSE: Final = 1.0  # /quote allows one request a second
_VARIETY_REGULAR: Final = "regular"
_VARIETY_AMO: Final = "amo"
_VARIETY_ICEBERG: Final = "iceberg"


class TickStream(Protocol):
    """What the broker asks of its tick stream (`brokers.zerodha.stream.KiteStream`:
    KiteTicker on its own thread). Both calls are made on the loop and return at once; the
    stream keeps its own copy and resubscribes after a reconnect. Instruments, not bare
    tokens, so the stream can name each tick's symbol."""

    def subscribe(self, instruments: Sequence[Instrument], mode: TickMode) -> None: ...

    def unsubscribe(self, instruments: Sequence[Instrument]) -> None: ...


class Subscriptions:
    """The instruments the trader wants streamed, by Kite instrument token, with their mode.
    Survives reconnects and fresh logins; the stream maps a tick's token back to its
    instrument through `instrument(token)`."""

    def __init__(self) -> None:
        self._wanted: dict[int, tuple[Instrument, TickMode]] = {}

    def add(self, instruments: Iterable[Instrument], mode: TickMode) -> list[int]:
        """Record the instruments (all or none: each needs its token) in `mode`."""
        wanted = [(token_of(i, "subscribe"), i) for i in instruments]
        for token, instrument in wanted:
            self._wanted[token] = (instrument, TickMode(mode))
        return [token for token, _ in wanted]

    def remove(self, instruments: Iterable[Instrument]) -> list[int]:
        tokens = []
        for instrument in instruments:
            token = token_of(instrument, "unsubscribe")
            if self._wanted.pop(token, None) is not None:
                tokens.append(token)
        return tokens

    def mode_of(self, token: int) -> TickMode | None:
        wanted = self._wanted.get(token)
        return wanted[1] if wanted else None

    def instrument(self, token: int) -> Instrument | None:
        wanted = self._wanted.get(token)
        return wanted[0] if wanted else None

    def tokens(self) -> list[int]:
        return list(self._wanted)

    def by_mode(self) -> dict[TickMode, list[Instrument]]:
        """The instruments grouped by mode, as the ticker's "mode" messages want them."""
        grouped: dict[TickMode, list[Instrument]] = {}
        for instrument, mode in self._wanted.values():
            grouped.setdefault(mode, []).append(instrument)
        return grouped

    def __len__(self) -> int:
        return len(self._wanted)

    def __contains__(self, token: object) -> bool:
        return token in self._wanted


def token_of(instrument: Instrument, call: str) -> int:
    """Kite addresses history and the ticker by instrument token."""
    if instrument.token is None:
        raise InvalidRequest(
            f"{call}: {instrument.key} has no Kite instrument token; refresh the instruments "
            "(Data ▸ Instruments) so Artha knows it",
            broker=BROKER,
        )
    return instrument.token


def _variety(request: OrderRequest) -> str:
    if request.after_market and request.iceberg_legs is not None:
        raise InvalidRequest(
            f"order {request.tag!r}: Kite takes an iceberg order or an after-market order, not "
            "both at once",
            broker=BROKER,
        )
    if request.after_market:
        return _VARIETY_AMO
    if request.iceberg_legs is not None:
        return _VARIETY_ICEBERG
    return _VARIETY_REGULAR


class KiteBroker:
    """One Zerodha account through Kite Connect (see the module doc).

    `account` holds the non-secret settings (api_root for a test server, order_proxy,
    market_protection, registered_ips); `credentials` holds its API key, secret and token
    under `make_account_id("zerodha", account.account_id)`. `root`, `order_proxy` and
    `market_protection` override the account's; `login_url` is Kite's login page (by default
    kite.zerodha.com's, or the /connect/login of a stand-in `root`); `timeout` is per request,
    in seconds."""

    def __init__(
        self,
        account: BrokerAccount,
        credentials: CredentialStore,
        *,
        root: str | None = None,
        login_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        order_proxy: str | None = None,
        market_protection: Decimal | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        live_stream: bool = False,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"KiteBroker: timeout must be positive, got {timeout!r}")
        self.account = account
        self.credentials = credentials
        self.credential_id = make_account_id("zerodha", account.account_id)
        self.root = root or account.api_root or None
        # Kite's login page; a stand-in server (account.api_root: the tests' fake Kite)
        # serves its own at /connect/login.
        self.login_url_base = login_url or (
            f"{self.root.rstrip('/')}/connect/login" if self.root else KITE_LOGIN_URL
        )
        self.timeout = timeout
        self.order_proxy = order_proxy or account.order_proxy
        if market_protection is None:
            market_protection = account.market_protection
        # Refused here, at setup, rather than on the first MARKET order of the day.
        market_protection_for(OrderType.MARKET, market_protection)
        self.market_protection = market_protection
        self.clock = clock
        self.subscriptions = Subscriptions()
        self.stream: TickStream | None = None
        # The app streams ticks and order updates over KiteTicker once connected (the
        # registry asks for it); tests of the REST side leave it off.
        self.live_stream = live_stream
        self._ticker: KiteStream | None = None
        self._dump: dict[str, Instrument] = {}  # key -> Kite's instrument (its token)
        self.listener: BrokerListener | None = None
        self.session: SessionInfo | None = None
        self._state = ConnectionState.DISCONNECTED
        self._api_key: Secret | None = None
        self._token: Secret | None = None
        self._refused: Secret | None = None  # the last token Kite refused
        self._kite: Any = None
        self._order_kite: Any = None
        self._varieties: dict[str, str] = {}  # broker order id -> Kite variety (for modify)
        self._slices: dict[str, list[str]] = {}  # auto-slice parent id -> its slices' ids

    # -- identity and state ----------------------------------------------------------------
    @property
    def name(self) -> str:
        return BROKER

    @property
    def account_id(self) -> str:
        return self.account.account_id

    @property
    def state(self) -> ConnectionState:
        return self._state

    def set_listener(self, listener: BrokerListener | None) -> None:
        self.listener = listener

    def set_state(self, state: ConnectionState, detail: str) -> None:
        """Move along the connection lifecycle (through CONNECTING where the table needs it)
        and tell the listener of each step. Public for the attached stream, which reports
        RECONNECTING and CONNECTED from its own reconnects (on the loop's thread)."""
        if state is self._state:
            return
        allowed = CONNECTION_TRANSITIONS[self._state]
        if state not in allowed and ConnectionState.CONNECTING in allowed:
            self.set_state(ConnectionState.CONNECTING, "logging in")
            allowed = CONNECTION_TRANSITIONS[self._state]
        if state not in allowed:
            log.warning(
                "Kite %s: unexpected state change %s -> %s", self.account_id, self._state, state
            )
        self._state = state
        if self.listener is not None:
            self.listener.on_state(state, detail)

    # -- clients and the session -----------------------------------------------------------
    def _make_client(self, api_key: str, proxy: str | None = None) -> Any:
        proxies = {"https": proxy, "http": proxy} if proxy else None
        return KiteConnect(api_key, root=self.root, timeout=self.timeout, proxies=proxies)

    def _load_api_key(self) -> Secret:
        if self._api_key is None:
            try:
                key = self.credentials.load(self.credential_id, "api_key")
            except CredentialError as error:
                raise AuthError(
                    f"the API key of {self.account_id} could not be read from the keychain: "
                    f"{error}",
                    broker=BROKER,
                ) from None
            if key is None:
                raise AuthError(
                    f"no API key is stored for {self.account_id}; add it in Settings ▸ Brokers "
                    "or with `artha broker add zerodha`",
                    broker=BROKER,
                )
            self._api_key = key
        return self._api_key

    def _clients(self) -> tuple[Any, Any]:
        """The data client and the order client (the same one unless an order proxy is set)."""
        if self._kite is None:
            api_key = self._load_api_key().reveal()
            self._kite = self._make_client(api_key)
            self._order_kite = (
                self._make_client(api_key, self.order_proxy) if self.order_proxy else self._kite
            )
            if self._token is not None:
                self._apply_token(self._token)
        return self._kite, self._order_kite

    def _apply_token(self, token: Secret) -> None:
        self._token = token
        if self._kite is not None:
            self._kite.set_access_token(token.reveal())
            self._order_kite.set_access_token(token.reveal())

    def session_started(self, token: Secret, info: SessionInfo) -> None:
        """A login finished (called by this account's KiteLogin): the same clients go on with
        the new token, and everything held (subscriptions, listener, stream) stays."""
        self._apply_token(token)
        self.session = info
        self.set_state(ConnectionState.CONNECTED, f"logged in as {info.user_id}")
        self._start_stream()

    def session_credentials(self) -> tuple[Secret, Secret] | None:
        """(API key, access token) for the ticker, or None before a session exists."""
        if self._token is None:
            return None
        return self._load_api_key(), self._token

    def login_flow(self) -> LoginFlow:
        return KiteLogin(
            account_id=self.account_id,
            credential_id=self.credential_id,
            credentials=self.credentials,
            make_client=lambda api_key: self._make_client(api_key),
            sink=self,
            login_url=self.login_url_base,
            expected_user=self.account.user_id,
            clock=self.clock,
        )

    def _session_ended(self, detail: str) -> None:
        if self._token is not None:
            self._refused = self._token
        self._token = None
        self.set_state(
            ConnectionState.LOGIN_REQUIRED,
            f"{detail}; log in again (Kite ends sessions daily, about 06:00 IST). "
            "Subscriptions, orders and positions are kept.",
        )

    async def _ensure_session(self, call: str) -> None:
        if self._token is not None:
            return
        token = await self._stored_token()
        if token is None:
            self._session_ended(f"no Kite session for {self.account_id}")
            raise TokenExpired(
                f"{call}: there is no Kite session for {self.account_id} (or it ended)",
                broker=BROKER,
            )
        self._apply_token(token)

    async def _stored_token(self) -> Secret | None:
        """The keychain's token, unless it is the one Kite already refused (it stays in the
        keychain until its 06:00 expiry; asking Kite again would only be refused again)."""
        try:
            token = await asyncio.to_thread(
                self.credentials.load_token, self.credential_id, self.clock()
            )
        except CredentialError as error:
            raise AuthError(
                f"the Kite session of {self.account_id} could not be read from the keychain: "
                f"{error}",
                broker=BROKER,
            ) from None
        return None if token is not None and token == self._refused else token

    async def _call(
        self,
        call: str,
        method: str,
        *args: Any,
        order_call: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Run one kiteconnect method in a worker thread; failures as BrokerErrors. A refused
        token ends the session here (LOGIN_REQUIRED) whatever the call was."""
        await self._ensure_session(call)
        if self._api_key is None:  # the keychain may block (a D-Bus call): not on the loop
            await asyncio.to_thread(self._load_api_key)
        data_client, order_client = self._clients()
        client = order_client if order_call else data_client
        failure: BrokerError | None = None
        try:
            return await asyncio.to_thread(getattr(client, method), *args, **kwargs)
        except Exception as exc:
            failure = translate(
                exc,
                call=call,
                order_call=order_call,
                registered_ip=", ".join(self.account.registered_ips) or None,
            )
            if failure is None:
                raise
        # Raised outside the except block: the SDK's exception (whose text may quote a URL
        # or a body) is neither chained nor kept as context.
        if isinstance(failure, TokenExpired):
            self._session_ended("Kite refused the session token")
        raise failure

    # -- session -------------------------------------------------------------------------
    async def connect(self) -> SessionInfo:
        """Open the session with the token in the keychain and check it with Kite's profile.
        TokenExpired (state LOGIN_REQUIRED) when there is none or Kite refuses it."""
        if ConnectionState.CONNECTING in CONNECTION_TRANSITIONS[self._state]:
            self.set_state(ConnectionState.CONNECTING, "checking the Kite session")
        try:
            token = await self._stored_token()
            if token is None:
                self._session_ended(f"no Kite session for {self.account_id}")
                raise TokenExpired(
                    f"connect: there is no Kite session for {self.account_id} (or it ended)",
                    broker=BROKER,
                )
            self._apply_token(token)
            profile = await self.profile()
            expires_at = await asyncio.to_thread(self.credentials.token_expiry, self.credential_id)
            if self.account.user_id and profile.user_id != self.account.user_id:
                raise AuthError(
                    f"the stored Kite session is for {profile.user_id}, but {self.account_id} "
                    f"is {self.account.user_id}; log in again as {self.account.user_id}",
                    broker=BROKER,
                )
        except TokenExpired:
            raise
        except BrokerError as error:
            self.set_state(ConnectionState.DISCONNECTED, f"not connected: {error.message}")
            raise
        if expires_at is None:  # removed meanwhile: Kite's next daily reset is the bound
            expires_at = daily_expiry(self.clock())
        self.session = SessionInfo(
            account_id=self.account_id,
            user_id=profile.user_id,
            user_name=profile.user_name,
            expires_at=expires_at,
        )
        self.set_state(ConnectionState.CONNECTED, f"logged in as {profile.user_id}")
        self._start_stream()
        return self.session

    async def close(self) -> None:
        """Release the HTTP connections; the token stays valid and in the keychain."""
        self._stop_stream()
        for client in {id(c): c for c in (self._kite, self._order_kite) if c}.values():
            client.reqsession.close()
        self.set_state(ConnectionState.DISCONNECTED, "closed")

    async def logout(self) -> None:
        """End the session at Kite and forget the token (also when Kite no longer knows it)."""
        if self._token is not None or await self._stored_token() is not None:
            # Already ended at Kite (TokenExpired): forgetting it is all that is left.
            with contextlib.suppress(TokenExpired):
                await self._call("log out", "invalidate_access_token")
        try:
            await asyncio.to_thread(self.credentials.delete, self.credential_id, "access_token")
        except CredentialError as error:
            raise AuthError(
                f"logged out of Kite, but the token of {self.account_id} could not be removed "
                f"from the keychain: {error}",
                broker=BROKER,
            ) from None
        self._stop_stream()
        self._token = None
        self.session = None
        self.set_state(ConnectionState.DISCONNECTED, "logged out")

    # -- orders (reached only through the OrderGateway) -------------------------------------
    def _protection(self, request: OrderRequest) -> Decimal | None:
        """The request's own protection, else this account's default, else automatic."""
        if request.market_protection is None and self.market_protection is not None:
            return market_protection_for(request.order.order_type, self.market_protection)
        return request.protection

    async def place(self, request: OrderRequest) -> str:
        """Send one order (auto-sliced when above the freeze quantity: the parent's id)."""
        variety = _variety(request)
        if len(request.tag) > MAX_TAG_LENGTH:
            # Kite keeps at most 20 characters; a cut tag could never be found again.
            raise InvalidRequest(
                f"order {request.tag!r}: its client id is the Kite tag, which holds at most "
                f"{MAX_TAG_LENGTH} characters",
                broker=BROKER,
            )
        params = convert.order_params(request)
        protection = self._protection(request)
        if protection is not None:
            params["market_protection"] = convert.sdk_number(protection)
        call = f"place order {request.tag} ({request.order.symbol})"
        if request.slices > 1:
            if variety == _VARIETY_ICEBERG:
                raise InvalidRequest(
                    f"{call}: an iceberg order cannot also be auto-sliced; lower the quantity "
                    "to the freeze quantity or drop the iceberg legs",
                    broker=BROKER,
                )
            answer = await self._call(
                call, "place_autoslice_order", variety=variety, order_call=True, **params
            )
            order_id = self._autoslice_parent(call, answer, variety)
        else:
            answer = await self._call(
                call, "place_order", variety=variety, order_call=True, **params
            )
            order_id = self._order_id(call, answer)
        self._varieties[order_id] = variety
        return order_id

    @staticmethod
    def _order_id(call: str, value: object) -> str:
        if isinstance(value, str | int) and str(value).strip():
            return str(value)
        raise MalformedResponse(
            f"Kite's answer to {call} has no order id", broker=BROKER, sent=True
        )

    def _autoslice_parent(self, call: str, answer: object, variety: str) -> str:
        """The parent id of an auto-sliced order (its slices remembered for `cancel`); slices
        Kite refused are logged, and all of them refused is a rejection."""
        if not isinstance(answer, Mapping):
            raise MalformedResponse(
                f"Kite's answer to {call} is not an order", broker=BROKER, sent=True
            )
        parent = self._order_id(call, answer.get("order_id"))
        children = answer.get("children") or []
        placed, refused = [], []
        for child in children if isinstance(children, list) else []:
            if isinstance(child, Mapping) and child.get("order_id"):
                placed.append(str(child["order_id"]))
            elif isinstance(child, Mapping) and isinstance(child.get("error"), Mapping):
                refused.append(str(child["error"].get("message") or "refused"))
        if refused and not placed:
            raise OrderRejected(
                f"{call}: Kite refused every slice: {'; '.join(dict.fromkeys(refused))}",
                broker=BROKER,
            )
        if refused:
            log.warning(
                "%s: %d slice(s) placed, %d refused by Kite: %s",
                call,
                len(placed),
                len(refused),
                "; ".join(dict.fromkeys(refused)),
            )
        for child_id in placed:
            self._varieties[child_id] = variety
        self._slices[parent] = placed
        return parent

    async def _variety_of(self, order_id: str, call: str) -> str:
        known = self._varieties.get(order_id)
        if known is not None:
            return known
        history = await self._call(call, "order_history", order_id)
        if not isinstance(history, list) or not history or not isinstance(history[-1], Mapping):
            raise MalformedResponse(f"Kite's history of order {order_id} is empty", broker=BROKER)
        variety = str(history[-1].get("variety") or _VARIETY_REGULAR)
        self._varieties[order_id] = variety
        return variety

    async def modify(self, broker_order_id: str, change: OrderChange) -> None:
        self._refuse_sliced(broker_order_id, "modify")
        call = f"modify order {broker_order_id}"
        variety = await self._variety_of(broker_order_id, call)
        params: dict[str, Any] = {}
        if change.quantity is not None:
            params["quantity"] = change.quantity
        if change.price is not None:
            params["price"] = convert.sdk_number(change.price)
        if change.trigger_price is not None:
            params["trigger_price"] = convert.sdk_number(change.trigger_price)
        if change.order_type is not None:
            params["order_type"] = change.order_type.value
            if change.order_type in NEEDS_MARKET_PROTECTION:
                protection = market_protection_for(change.order_type, self.market_protection)
                assert protection is not None
                params["market_protection"] = convert.sdk_number(protection)
        await self._call(
            call,
            "modify_order",
            variety=variety,
            order_id=broker_order_id,
            order_call=True,
            **params,
        )

    async def cancel(self, broker_order_id: str) -> None:
        self._refuse_sliced(broker_order_id, "cancel")
        call = f"cancel order {broker_order_id}"
        variety = await self._variety_of(broker_order_id, call)
        await self._call(
            call, "cancel_order", variety=variety, order_id=broker_order_id, order_call=True
        )

    def slices_of(self, broker_order_id: str) -> list[str]:
        """The slices' order ids of an auto-sliced order placed here (empty for any other)."""
        return list(self._slices.get(broker_order_id, ()))

    def _refuse_sliced(self, broker_order_id: str, action: str) -> None:
        """Raise for an auto-sliced order's parent id: Kite knows only its slices, and each
        change to one is an order call that must pass the gateway's rate limit on its own."""
        if broker_order_id in self._slices:
            raise InvalidRequest(
                f"{action} order {broker_order_id}: it was auto-sliced into "
                f"{len(self._slices[broker_order_id])} orders; {action} them one by one "
                f"({', '.join(self._slices[broker_order_id])})",
                broker=BROKER,
            )

    # -- GTT (Kite's own; not part of the Broker protocol) ----------------------------------
    async def place_gtt(
        self,
        instrument: Instrument,
        trigger: Decimal,
        last_price: Decimal,
        leg: GttLeg,
    ) -> int:
        """A single-trigger GTT: `leg` is placed when the price crosses `trigger`."""
        return await self._place_gtt(GTT_SINGLE, instrument, (trigger,), last_price, (leg,))

    async def place_gtt_oco(
        self,
        instrument: Instrument,
        stop: tuple[Decimal, GttLeg],
        target: tuple[Decimal, GttLeg],
        last_price: Decimal,
    ) -> int:
        """A two-leg (OCO) GTT: the stop below and the target above the last price; the first
        hit places its leg and cancels the other."""
        return await self._place_gtt(
            GTT_OCO, instrument, (stop[0], target[0]), last_price, (stop[1], target[1])
        )

    async def _place_gtt(
        self,
        kind: str,
        instrument: Instrument,
        triggers: Sequence[Decimal],
        last_price: Decimal,
        legs: Sequence[GttLeg],
    ) -> int:
        call = f"place GTT on {instrument.key}"
        params = self._gtt_params(call, kind, instrument, triggers, last_price, legs)
        answer = await self._call(call, "place_gtt", trigger_type=kind, order_call=True, **params)
        return self._trigger_id(call, answer)

    async def modify_gtt(
        self,
        trigger_id: int,
        instrument: Instrument,
        triggers: Sequence[Decimal],
        last_price: Decimal,
        legs: Sequence[GttLeg],
    ) -> int:
        """Replace an active GTT's triggers and legs (Kite modifies the whole trigger, so every
        value is sent again). One trigger and leg make it single; two make it OCO, given as
        (stop, target) with the stop below and the target above `last_price`. Checked as
        `place_gtt` checks, before anything is sent."""
        call = f"modify GTT {trigger_id} on {instrument.key}"
        if isinstance(trigger_id, bool) or not isinstance(trigger_id, int) or trigger_id < 1:
            raise InvalidRequest(
                f"modify GTT: the trigger id must be a positive int, got {trigger_id!r}",
                broker=BROKER,
            )
        kind = {1: GTT_SINGLE, 2: GTT_OCO}.get(len(triggers))
        if kind is None:
            raise InvalidRequest(
                f"{call}: a GTT has one trigger value (single) or two (OCO: stop and target), "
                f"not {len(triggers)}",
                broker=BROKER,
            )
        params = self._gtt_params(call, kind, instrument, triggers, last_price, legs)
        answer = await self._call(
            call, "modify_gtt", trigger_id, trigger_type=kind, order_call=True, **params
        )
        return self._trigger_id(call, answer)

    @staticmethod
    def _gtt_params(
        call: str,
        kind: str,
        instrument: Instrument,
        triggers: Sequence[Decimal],
        last_price: Decimal,
        legs: Sequence[GttLeg],
    ) -> dict[str, Any]:
        """Check a GTT as Kite would (and refuse it here, before it counts as an order call):
        one leg per trigger, prices on the tick, whole lots, LIMIT legs, each trigger far
        enough from the last price, and an OCO's stop below and target above it."""
        want = GTT_LEGS[kind]
        if len(triggers) != want or len(legs) != want:
            what = "single GTT" if kind == GTT_SINGLE else "GTT OCO"
            raise InvalidRequest(
                f"{call}: a {what} takes {want} trigger value(s) and {want} leg(s), got "
                f"{len(triggers)} and {len(legs)}",
                broker=BROKER,
            )
        for value in (*triggers, last_price, *(leg.price for leg in legs)):
            if not isinstance(value, Decimal):
                raise InvalidRequest(
                    f"{call}: prices must be Decimals (exact money), got {value!r}",
                    broker=BROKER,
                )
            if not instrument.is_valid_price(value):
                raise InvalidRequest(
                    f"{call}: price {value} is not a positive multiple of the tick size "
                    f"{instrument.tick_size}",
                    broker=BROKER,
                )
        for i, leg in enumerate(legs, 1):
            if leg.order_type is not OrderType.LIMIT:
                raise InvalidRequest(
                    f"{call}: leg {i} is {leg.order_type.value}; Kite's GTT legs are LIMIT orders",
                    broker=BROKER,
                )
            try:
                instrument.check_quantity(leg.quantity)
            except ValueError as error:
                raise InvalidRequest(f"{call}: leg {i}: {error}", broker=BROKER) from None
        if kind == GTT_OCO and not triggers[0] < last_price < triggers[1]:
            raise InvalidRequest(
                f"{call}: the stop trigger {triggers[0]} must be below and the target trigger "
                f"{triggers[1]} above the last price {last_price}",
                broker=BROKER,
            )
        gap = convert.gtt_min_gap(last_price)
        for value in triggers:
            if abs(value - last_price) < gap:
                raise InvalidRequest(
                    f"{call}: the trigger {value} is too close to the last price {last_price}; "
                    f"Kite wants at least {gap.normalize():f} between them",
                    broker=BROKER,
                )
        return convert.gtt_params(instrument, triggers, last_price, legs)

    @staticmethod
    def _trigger_id(call: str, answer: object) -> int:
        trigger_id = answer.get("trigger_id") if isinstance(answer, Mapping) else None
        if isinstance(trigger_id, bool) or not isinstance(trigger_id, int | str):
            raise MalformedResponse(
                f"Kite's answer to {call} has no trigger id", broker=BROKER, sent=True
            )
        try:
            return int(trigger_id)
        except ValueError:
            raise MalformedResponse(
                f"Kite's answer to {call} has trigger id {trigger_id!r}", broker=BROKER, sent=True
            ) from None

    async def gtts(self) -> list[Gtt]:
        """Every GTT of the account (active and past) on exchanges Artha trades."""
        return convert.to_gtts(await self._call("GTT list", "get_gtts"))

    async def delete_gtt(self, trigger_id: int) -> None:
        await self._call(f"delete GTT {trigger_id}", "delete_gtt", trigger_id, order_call=True)

    # -- account -----------------------------------------------------------------------------
    def _note_skipped(self, call: str, skipped: Skipped) -> None:
        if skipped:
            log.debug("Kite %s: left out %s (not traded by Artha)", call, skipped.describe())

    async def profile(self) -> Profile:
        return convert.to_profile(await self._call("profile", "profile"))

    async def orders(self) -> list[BrokerOrder]:
        rows = await self._call("orders", "orders")
        orders, skipped = convert.to_broker_orders(rows)
        self._note_skipped("orders", skipped)
        for row in rows:  # a list of objects: to_broker_orders checked it
            if row.get("order_id") and row.get("variety"):
                self._varieties[str(row["order_id"])] = str(row["variety"])
        return orders

    async def trades(self) -> list[Fill]:
        """Today's trades; each carries its order's tag (our client id), looked up in the
        order book because Kite's trades have none."""
        rows = await self._call("orders", "orders")
        client_ids = {
            str(row["order_id"]): tag
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, Mapping) and row.get("order_id") and (tag := convert.tag_of(row))
        }
        fills, skipped = convert.to_fills(await self._call("trades", "trades"), client_ids)
        self._note_skipped("trades", skipped)
        return fills

    async def positions(self) -> list[PositionSnapshot]:
        positions, skipped = convert.to_positions(await self._call("positions", "positions"))
        self._note_skipped("positions", skipped)
        return positions

    async def holdings(self) -> list[Holding]:
        holdings, skipped = convert.to_holdings(await self._call("holdings", "holdings"))
        self._note_skipped("holdings", skipped)
        return holdings

    async def funds(self) -> Funds:
        return convert.to_funds(await self._call("margins", "margins", "equity"))

    # -- market data -------------------------------------------------------------------------
    async def instruments(self, exchange: Exchange | None = None) -> list[Instrument]:
        """Kite's instruments dump (one exchange or all) as Instruments; exchanges and types
        Artha does not trade are left out. Kite regenerates it daily and may reuse tokens of
        expired contracts, so refresh it each day rather than keep tokens."""
        call = f"instruments{f' {exchange.value}' if exchange else ''}"
        rows = await self._call(call, "instruments", exchange.value if exchange else None)
        # Tens of thousands of rows: converted off the loop too.
        instruments, skipped = await asyncio.to_thread(convert.to_instruments, rows, call)
        self._note_skipped(call, skipped)
        return instruments

    def max_history_span(self, timeframe: Timeframe) -> timedelta:
        return timedelta(days=MAX_HISTORY_DAYS[Timeframe(timeframe)])

    async def history(
        self, instrument: Instrument, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        """Candles with open time in [start, end] (one request: at most max_history_span)."""
        timeframe = Timeframe(timeframe)
        call = f"history {instrument.key} {timeframe.value}"
        token = token_of(instrument, call)
        for name, moment in (("start", start), ("end", end)):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidRequest(f"{call}: {name} must be timezone-aware", broker=BROKER)
        if end < start:
            raise InvalidRequest(f"{call}: end {end} is before start {start}", broker=BROKER)
        span = self.max_history_span(timeframe)
        if end - start > span:
            raise InvalidRequest(
                f"{call}: {end - start} is longer than the {span.days} days Kite serves in one "
                "request at this timeframe; ask in chunks",
                broker=BROKER,
            )
        rows = await self._call(
            call,
            "historical_data",
            token,
            convert.kite_wall_time(start),
            convert.kite_wall_time(end),
            INTERVALS[timeframe],
            continuous=False,
            oi=False,
        )
        # A 60-day chunk of minutes is ~22,000 candles: converted off the loop.
        return await asyncio.to_thread(convert.to_bars, rows, instrument, timeframe, call)

    async def quotes(self, instruments: Sequence[Instrument]) -> dict[str, Quote]:
        """Full quotes (with five levels of depth) by instrument key; instruments Kite does
        not know, or that have not traded, are absent."""
        keys = list(dict.fromkeys(i.key for i in instruments))
        result: dict[str, Quote] = {}
        for start in range(0, len(keys), QUOTE_BATCH):
            if start:
                await asyncio.sleep(QUOTE_PAUSE)
            batch = keys[start : start + QUOTE_BATCH]
            answer = await self._call("quotes", "quote", batch)
            if not isinstance(answer, Mapping):
                raise convert.bad("quotes", "the answer is not a map of instruments")
            for key in batch:
                row = answer.get(key)
                if isinstance(row, Mapping):
                    quote = convert.to_quote(key, row)
                    if quote is not None:
                        result[key] = quote
        return result

    # -- streaming: recorded here, carried out by the attached stream ------------------------
    # -- the live stream (KiteTicker) --------------------------------------------------------
    def _start_stream(self) -> None:
        """Stream ticks and order updates with the session's token (a fresh login restarts
        it with the new one; subscriptions are kept). Only where `live_stream` is on and a
        loop runs; a stand-in REST root without a stream root has no stream."""
        credentials = self.session_credentials()
        if not self.live_stream or credentials is None:
            return
        if self.account.api_root and not self.account.stream_root:
            log.info("Kite %s: no stream address for the stand-in server", self.account_id)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        api_key, token = credentials
        if self._ticker is None:
            self._ticker = KiteStream(
                api_key.reveal(),
                loop=loop,
                root=self.account.stream_root or None,
                on_quote=self._streamed_quote,
                on_order=self._streamed_order,
                on_state=self._stream_state,
            )
            self.attach_stream(self._ticker)
        self._ticker.start(token.reveal())

    def _stop_stream(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
            self.stream = None

    def _streamed_quote(self, quote: Quote) -> None:
        if self.listener is not None:
            self.listener.on_quote(quote)

    def _streamed_order(self, update: Mapping[str, Any]) -> None:
        try:
            order = convert.to_broker_order(dict(update), "order update")
        except BrokerError as error:
            log.warning("Kite %s: an order update could not be read: %s", self.account_id, error)
            return
        if order is not None and self.listener is not None:
            self.listener.on_order_update(order)

    def _stream_state(self, state: ConnectionState, detail: str) -> None:
        """The feed's own reconnects show as the account's state; its first CONNECTING
        (the REST session is already up) does not."""
        if state is ConnectionState.CONNECTING or self._state is ConnectionState.LOGIN_REQUIRED:
            return
        self.set_state(state, detail)

    def attach_stream(self, stream: TickStream | None) -> None:
        """Attach (or detach, with None) the tick stream; it is told every subscription
        already wanted, mode by mode."""
        self.stream = stream
        if stream is not None:
            for mode, instruments in self.subscriptions.by_mode().items():
                stream.subscribe(instruments, mode)

    async def kite_instrument(self, instrument: Instrument) -> Instrument:
        """Kite's own record of `instrument` (its Kite instrument token): an instrument from
        the store carries the exchange's token, which is not Kite's. The day's dump is read
        once per exchange."""
        if instrument.key not in self._dump:
            for item in await self.instruments(instrument.exchange):
                self._dump.setdefault(item.key, item)
        found = self._dump.get(instrument.key)
        if found is None:
            raise InvalidRequest(
                f"subscribe: Kite does not list {instrument.key} today", broker=BROKER
            )
        return found

    async def subscribe(self, instruments: Sequence[Instrument], mode: TickMode) -> None:
        wanted = [await self.kite_instrument(i) for i in instruments]
        self.subscriptions.add(wanted, mode)
        if self.stream is not None and wanted:
            self.stream.subscribe(wanted, TickMode(mode))

    async def unsubscribe(self, instruments: Sequence[Instrument]) -> None:
        wanted = [self._dump.get(i.key, i) for i in instruments]
        removed = set(self.subscriptions.remove(wanted))
        gone = [i for i in wanted if i.token in removed]
        if self.stream is not None and gone:
            self.stream.unsubscribe(gone)
