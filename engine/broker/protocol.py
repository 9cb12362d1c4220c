"""The one Broker protocol every adapter implements: paper, Zerodha Kite, Upstox.

Strategies, the order gateway, the coming risk manager and the GUI see only this, so none of
them knows which broker is behind. Every call is a coroutine on the app's asyncio loop: an
adapter runs its blocking SDK in a thread (`asyncio.to_thread`) and hands stream callbacks
from the SDK's own thread to the loop (`loop.call_soon_threadsafe`), so listener methods are
always called on the loop. Failures are `engine.broker.errors.BrokerError`s.

Order calls here are raw: one request, one answer. The 2026 exchange rules (at most 8 orders
a second, market protection, no blind retry, the audit log) live once, in
`engine.broker.gateway.OrderGateway`, which wraps any Broker; nothing places orders around it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

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
)
from engine.domain.enums import Exchange
from engine.domain.fills import Fill
from engine.domain.instrument import Instrument
from engine.domain.market_data import Bar
from engine.timeframes import Timeframe


class BrokerListener(Protocol):
    """Receives what a broker streams; always called on the loop, in arrival order."""

    def on_quote(self, quote: Quote) -> None: ...

    def on_order_update(self, update: BrokerOrder) -> None: ...

    def on_state(self, state: ConnectionState, detail: str) -> None:
        """The connection moved to `state` (detail for people: why, what next)."""
        ...


class LoginFlow(Protocol):
    """A browser login: open `url(state)` in the system browser, catch the redirect on
    127.0.0.1 (`brokers.login_listener`), hand its query parameters to `complete`."""

    @property
    def echoes_state(self) -> bool:
        """The broker sends our `state` back on the redirect (OAuth2: Upstox), so the
        listener checks it; Kite does not."""
        ...

    @property
    def required_params(self) -> tuple[str, ...]:
        """What a redirect must carry to be the login's ("request_token", or "code")."""
        ...

    def url(self, state: str) -> str: ...

    async def complete(self, params: Mapping[str, str]) -> SessionInfo:
        """Exchange the redirect's request token or code for a session; the token goes to
        the keychain. Raises AuthError on a refused or stale login."""
        ...


@runtime_checkable
class Broker(Protocol):
    """One trading account at one broker."""

    @property
    def name(self) -> str:
        """The broker's name for people: "Zerodha", "Upstox", "Paper"."""
        ...

    @property
    def account_id(self) -> str:
        """Artha's id of this account (unique in the workspace, e.g. "zerodha-AB1234")."""
        ...

    @property
    def state(self) -> ConnectionState: ...

    def set_listener(self, listener: BrokerListener | None) -> None: ...

    def login_flow(self) -> LoginFlow | None:
        """How to log in through a browser; None for a broker that needs no login (paper)."""
        ...

    async def connect(self) -> SessionInfo:
        """Open the session with the stored token. TokenExpired when there is none or it
        ended: the caller then runs the login flow; nothing held here is lost."""
        ...

    async def close(self) -> None:
        """Stop streams and release connections (the session token stays valid)."""
        ...

    async def logout(self) -> None:
        """End the session at the broker and forget the token."""
        ...

    # -- orders: the Venue side (wrapped by the OrderGateway) ---------------------------------
    async def place(self, request: OrderRequest) -> str:
        """Send one order; the broker's order id. The request's tag is our client id."""
        ...

    async def modify(self, broker_order_id: str, change: OrderChange) -> None: ...

    async def cancel(self, broker_order_id: str) -> None: ...

    # -- account ------------------------------------------------------------------------------
    async def profile(self) -> Profile: ...

    async def orders(self) -> list[BrokerOrder]:
        """Today's orders, ours and those placed elsewhere."""
        ...

    async def trades(self) -> list[Fill]: ...

    async def positions(self) -> list[PositionSnapshot]: ...

    async def holdings(self) -> list[Holding]: ...

    async def funds(self) -> Funds: ...

    # -- market data --------------------------------------------------------------------------
    async def instruments(self, exchange: Exchange | None = None) -> list[Instrument]: ...

    def max_history_span(self, timeframe: Timeframe) -> timedelta:
        """The longest span one `history` call may ask for at this timeframe."""
        ...

    async def history(
        self, instrument: Instrument, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        """Candles with open time in [start, end], at most `max_history_span` apart (the
        history downloader chunks longer spans)."""
        ...

    async def quotes(self, instruments: Sequence[Instrument]) -> dict[str, Quote]: ...

    async def subscribe(self, instruments: Sequence[Instrument], mode: TickMode) -> None:
        """Stream these (kept across reconnects; may change while running)."""
        ...

    async def unsubscribe(self, instruments: Sequence[Instrument]) -> None: ...
