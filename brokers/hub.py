"""The app's broker connections on the asyncio loop, relayed to the engine's bus.

One `BrokerHub` per process (the GUI's, or a command's): it opens a broker for an account
(through `brokers.registry`), connects it with the stored token, runs the browser login when
the token is missing or expired, keeps what the trader watches subscribed, and publishes what
the brokers stream as typed events: `QuoteEvent`, `BrokerOrderEvent`, `BrokerStateEvent`,
and the live minute bars built from the quotes on the exchange clock (`FormingBarEvent` for
the bar in progress, `BarEvent` when a minute closes). The GUI subscribes to those and never
talks to a broker object itself.
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from brokers.accounts import BrokerAccount
from brokers.login_listener import catch_redirect, new_state
from engine.broker.errors import AuthError, BrokerError
from engine.broker.models import BrokerOrder, ConnectionState, Quote, SessionInfo, TickMode
from engine.broker.protocol import Broker
from engine.bus import EventBus
from engine.data.live_bars import LiveBars
from engine.domain.instrument import Instrument
from engine.domain.market_data import Bar
from engine.domain.money import from_paise
from engine.events import (
    BarEvent,
    BrokerOrderEvent,
    BrokerStateEvent,
    FormingBarEvent,
    QuoteEvent,
)
from engine.ist import ist_datetime
from engine.replay.ticks import MinuteBar

log = logging.getLogger(__name__)

LOGIN_TIMEOUT = 300.0  # seconds the listener waits for the trader to log in


def minute_bar(symbol: str, bar: MinuteBar) -> Bar:
    """A live minute as the domain's Bar (Decimal rupees, IST open time)."""
    return Bar(
        symbol=symbol,
        timeframe="1m",
        ts=ist_datetime(bar.ts),
        open=from_paise(bar.open),
        high=from_paise(bar.high),
        low=from_paise(bar.low),
        close=from_paise(bar.close),
        volume=bar.volume,
    )


class _Relay:
    """One broker's stream onto the bus (a `BrokerListener`; called on the loop)."""

    def __init__(self, hub: BrokerHub, account: BrokerAccount) -> None:
        self.hub = hub
        self.account = account
        self.state = ConnectionState.DISCONNECTED
        self.detail = ""

    def on_quote(self, quote: Quote) -> None:
        self.hub.bus.publish(QuoteEvent(self.account.account_id, quote))
        bars = self.hub.live_bars.get(quote.symbol)
        if bars is None:
            return
        touched = bars.add(quote.tick)
        if touched is None:
            return
        if touched.closed is not None:
            self.hub.bus.publish(BarEvent(minute_bar(quote.symbol, touched.closed)))
        self.hub.bus.publish(FormingBarEvent(minute_bar(quote.symbol, touched.current)))

    def on_order_update(self, update: BrokerOrder) -> None:
        self.hub.bus.publish(BrokerOrderEvent(self.account.account_id, update))

    def on_state(self, state: ConnectionState, detail: str) -> None:
        self.state, self.detail = state, detail
        log.info("%s: %s%s", self.account.title, state.value, f" ({detail})" if detail else "")
        self.hub.bus.publish(
            BrokerStateEvent(self.account.account_id, self.account.title, state, detail)
        )


Opener = Callable[[BrokerAccount], Broker]


class BrokerHub:
    """Connected brokers by account id, and the instruments watched live."""

    def __init__(self, bus: EventBus, opener: Opener) -> None:
        self.bus = bus
        self._open = opener
        self.brokers: dict[str, Broker] = {}
        self._relays: dict[str, _Relay] = {}
        self.live_bars: dict[str, LiveBars] = {}
        self.sessions: dict[str, SessionInfo] = {}

    def broker(self, account: BrokerAccount) -> Broker:
        """The account's broker object (made once; kept across logins so nothing is lost)."""
        found = self.brokers.get(account.account_id)
        if found is None:
            found = self._open(account)
            relay = _Relay(self, account)
            found.set_listener(relay)
            self.brokers[account.account_id] = found
            self._relays[account.account_id] = relay
        return found

    def state(self, account_id: str) -> tuple[ConnectionState, str]:
        relay = self._relays.get(account_id)
        if relay is None:
            return ConnectionState.DISCONNECTED, ""
        return relay.state, relay.detail

    def _announce(self, account: BrokerAccount, state: ConnectionState, detail: str) -> None:
        self._relays[account.account_id].on_state(state, detail)

    async def connect(self, account: BrokerAccount) -> SessionInfo:
        """Open the session with the stored token. AuthError (TokenExpired) when a login is
        needed: call `login`."""
        broker = self.broker(account)
        try:
            session = await broker.connect()
        except AuthError as error:
            self._announce(account, ConnectionState.LOGIN_REQUIRED, error.message)
            raise
        self.sessions[account.account_id] = session
        return session

    async def login(
        self,
        account: BrokerAccount,
        *,
        open_browser: Callable[[str], object] | None = None,
        cancelled: Callable[[], bool] | None = None,
        timeout: float = LOGIN_TIMEOUT,
        pasted_params: dict[str, str] | None = None,
    ) -> SessionInfo:
        """The browser login: open the broker's page, catch the redirect on 127.0.0.1 (or take
        the parameters of a pasted redirect URL), finish the session, connect."""
        broker = self.broker(account)
        flow = broker.login_flow()
        if flow is None:
            return await self.connect(account)
        state = new_state()
        if pasted_params is None:
            params = await catch_redirect(
                port=account.redirect_port,
                path=account.redirect_path,
                expected_state=state if flow.echoes_state else None,
                timeout=timeout,
                open_url=flow.url(state),
                cancelled=cancelled,
                require=flow.required_params,
                open_browser=open_browser or webbrowser.open,
            )
        else:
            params = pasted_params
        await flow.complete(params)
        return await self.connect(account)

    async def disconnect(self, account_id: str) -> None:
        broker = self.brokers.pop(account_id, None)
        self.sessions.pop(account_id, None)
        relay = self._relays.pop(account_id, None)
        if broker is not None:
            try:
                await broker.close()
            except BrokerError as error:
                log.warning("closing %s: %s", account_id, error)
        if relay is not None:
            relay.on_state(ConnectionState.DISCONNECTED, "disconnected")

    async def close(self) -> None:
        for account_id in list(self.brokers):
            await self.disconnect(account_id)

    async def watch(
        self, account: BrokerAccount, instruments: Sequence[Instrument], mode: TickMode
    ) -> None:
        """Stream these instruments' quotes (and build their live minute bars)."""
        for instrument in instruments:
            if instrument.key not in self.live_bars:
                exchange = instrument.exchange.cash_exchange.value
                self.live_bars[instrument.key] = LiveBars(instrument.key, exchange)
        await self.broker(account).subscribe(instruments, mode)

    async def unwatch(self, account: BrokerAccount, instruments: Sequence[Instrument]) -> None:
        for instrument in instruments:
            self.live_bars.pop(instrument.key, None)
        await self.broker(account).unsubscribe(instruments)


def token_left(session: SessionInfo, now: datetime | None = None) -> str:
    """How long the session's token has left, for people ("5 h 12 min")."""
    moment = now or datetime.now(UTC)
    seconds = int((session.expires_at - moment).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
