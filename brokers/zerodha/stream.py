"""Kite's market-data and order-update websocket (KiteTicker), handed to the asyncio loop.

KiteTicker runs on Twisted's reactor in its own daemon thread. Twisted is not thread-safe and
its reactor cannot be restarted in a process, so: the first stream starts the reactor, later
ones (a new token after a re-login) connect inside it; every call into the socket
(subscribe, set mode, close) is passed to the reactor with `callFromThread`; and every tick
and order update comes back to the loop with `call_soon_threadsafe`, so listeners only ever
run on the loop.

What survives a reconnect: the subscriptions and their modes (kept here, and sent again on
every open, not left to KiteTicker's own bookkeeping, which forgets tokens subscribed while
the socket was down). A watchdog on the loop notices a connected-but-silent feed during
market hours (Kite sends a heartbeat every second even when nothing trades) and drops the
connection so that it reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.broker.models import ConnectionState, DepthLevel, Quote, TickMode
from engine.calendar import get_calendar
from engine.domain.instrument import Instrument
from engine.domain.market_data import Tick
from engine.ist import IST

log = logging.getLogger(__name__)

SILENCE_LIMIT = 5.0  # seconds without any frame, market open: the feed is stuck
WATCH_EVERY = 1.0
_MODES = {TickMode.LTP: "ltp", TickMode.QUOTE: "quote", TickMode.FULL: "full"}


def _price(value: object) -> Decimal | None:
    """Kite's float rupees (paise / 100) back to exact Decimal paise."""
    if not isinstance(value, int | float) or value <= 0:
        return None
    return Decimal(round(float(value) * 100)) / 100


def _aware(moment: object) -> datetime | None:
    """pykiteconnect builds naive local datetimes with `fromtimestamp`; undo that exactly."""
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        return datetime.fromtimestamp(moment.timestamp(), tz=UTC)
    return moment


def _depth(levels: object) -> tuple[DepthLevel, ...]:
    out = []
    for level in levels if isinstance(levels, list) else []:
        price = _price(level.get("price"))
        if price is None:
            continue  # an empty level of a thin book
        out.append(
            DepthLevel(price, int(level.get("quantity") or 0), int(level.get("orders") or 0))
        )
    return tuple(out)


def quote_from_tick(tick: Mapping[str, Any], symbol: str, received: datetime) -> Quote | None:
    """One parsed KiteTicker tick as an engine Quote (None for a tick with no price)."""
    ltp = _price(tick.get("last_price"))
    if ltp is None:
        return None
    moment = _aware(tick.get("exchange_timestamp")) or _aware(tick.get("last_trade_time"))
    mode = TickMode(tick.get("mode", "ltp")) if tick.get("mode") in _MODES.values() else None
    ohlc = tick.get("ohlc") or {}
    depth = tick.get("depth") or {}
    return Quote(
        tick=Tick(
            symbol=symbol,
            ts=moment or received,
            ltp=ltp,
            volume=int(tick.get("volume_traded") or 0),
            bid=_depth(depth.get("buy"))[0].price if _depth(depth.get("buy")) else None,
            ask=_depth(depth.get("sell"))[0].price if _depth(depth.get("sell")) else None,
            bid_qty=int(tick.get("total_buy_quantity") or 0) or None,
            ask_qty=int(tick.get("total_sell_quantity") or 0) or None,
            oi=int(tick.get("oi") or 0) or None,
        ),
        mode=mode or TickMode.LTP,
        open=_price(ohlc.get("open")),
        high=_price(ohlc.get("high")),
        low=_price(ohlc.get("low")),
        close=_price(ohlc.get("close")),
        average_price=_price(tick.get("average_traded_price")),
        bids=_depth(depth.get("buy")),
        asks=_depth(depth.get("sell")),
    )


QuoteSink = Callable[[Quote], None]
OrderSink = Callable[[Mapping[str, Any]], None]
StateSink = Callable[[ConnectionState, str], None]


class KiteStream:
    """One KiteTicker connection for one account, subscriptions kept across reconnects."""

    def __init__(
        self,
        api_key: str,
        *,
        loop: asyncio.AbstractEventLoop,
        on_quote: QuoteSink,
        on_order: OrderSink,
        on_state: StateSink,
        root: str | None = None,
        silence_limit: float = SILENCE_LIMIT,
        market_open: Callable[[datetime], bool] | None = None,
    ) -> None:
        self.api_key = api_key
        self.root = root
        self.loop = loop
        self._on_quote = on_quote
        self._on_order = on_order
        self._on_state = on_state
        self.silence_limit = silence_limit
        self._market_open = market_open or nse_open_now
        self.wanted: dict[int, TickMode] = {}  # token -> mode: what must be streaming
        self.symbols: dict[int, str] = {}  # token -> instrument key
        self._ticker: Any = None
        self._open = False
        self.last_frame = time.monotonic()
        self.reconnects = 0  # times the watchdog dropped a silent feed
        self.opens = 0
        self._watchdog: asyncio.Task[None] | None = None

    # -- lifecycle (on the loop) ---------------------------------------------------------------
    def start(self, access_token: str) -> None:
        """Connect with this token (a fresh one after a re-login replaces the old socket)."""
        from kiteconnect import KiteTicker
        from twisted.internet import reactor

        self._stop_ticker()
        ticker = KiteTicker(self.api_key, access_token, root=self.root, reconnect_max_delay=5)
        ticker.on_open = self._opened
        ticker.on_close = self._closed
        ticker.on_error = self._errored
        ticker.on_reconnect = self._reconnecting
        ticker.on_noreconnect = self._gave_up
        ticker.on_message = self._message
        ticker.on_ticks = self._ticks
        ticker.on_order_update = self._order_update
        self._ticker = ticker
        self.last_frame = time.monotonic()
        self._state(ConnectionState.CONNECTING, "opening the market-data stream")
        running_reactor()
        reactor.callFromThread(ticker.connect, threaded=True)  # inside the reactor's thread
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = self.loop.create_task(self._watch())

    def stop(self) -> None:
        self._stop_ticker()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _stop_ticker(self) -> None:
        ticker, self._ticker = self._ticker, None
        self._open = False
        if ticker is not None:
            from twisted.internet import reactor

            reactor.callFromThread(ticker.close)

    @property
    def connected(self) -> bool:
        return self._open

    # -- subscriptions (on the loop) -----------------------------------------------------------
    def subscribe(self, instruments: Sequence[Instrument], mode: TickMode) -> None:
        tokens = []
        for instrument in instruments:
            if instrument.token is None:
                raise ValueError(
                    f"{instrument.key} has no Kite instrument token; refresh the instruments "
                    "from Zerodha first"
                )
            self.wanted[instrument.token] = mode
            self.symbols[instrument.token] = instrument.key
            tokens.append(instrument.token)
        if self._open and tokens:
            self._send(lambda t: (t.subscribe(tokens), t.set_mode(_MODES[mode], tokens)))

    def unsubscribe(self, instruments: Sequence[Instrument]) -> None:
        tokens = [i.token for i in instruments if i.token is not None and i.token in self.wanted]
        for token in tokens:
            self.wanted.pop(token, None)
        if self._open and tokens:
            self._send(lambda t: t.unsubscribe(tokens))

    def _send(self, action: Callable[[Any], object]) -> None:
        ticker = self._ticker
        if ticker is None:
            return
        from twisted.internet import reactor

        def run() -> None:
            try:
                action(ticker)
            except Exception as exc:  # the socket closed under us: the next open resends
                log.warning("Kite stream: could not send a subscription (%s)", exc)

        reactor.callFromThread(run)

    def _resubscribe(self, ticker: Any) -> None:
        """Every wanted token in its mode (reactor thread, on each open)."""
        by_mode: dict[TickMode, list[int]] = {}
        for token, mode in self.wanted.items():
            by_mode.setdefault(mode, []).append(token)
        ticker.subscribed_tokens.clear()
        for mode, tokens in by_mode.items():
            ticker.subscribe(tokens)
            ticker.set_mode(_MODES[mode], tokens)

    # -- KiteTicker callbacks (reactor thread) --------------------------------------------------
    def _opened(self, ticker: Any) -> None:
        if ticker is not self._ticker:
            return
        self.last_frame = time.monotonic()
        self._open = True
        self.opens += 1
        self._resubscribe(ticker)
        detail = "streaming" if self.opens == 1 else "reconnected; subscriptions restored"
        self.loop.call_soon_threadsafe(self._state, ConnectionState.CONNECTED, detail)

    def _closed(self, ticker: Any, code: object, reason: object) -> None:
        if ticker is not self._ticker:
            return
        self._open = False
        self.loop.call_soon_threadsafe(
            self._state, ConnectionState.RECONNECTING, "market-data stream closed; reconnecting"
        )

    def _errored(self, ticker: Any, code: object, reason: object) -> None:
        if ticker is self._ticker:
            log.warning("Kite stream error %s: %s", code, reason)

    def _reconnecting(self, ticker: Any, attempts: int) -> None:
        if ticker is self._ticker:
            self.loop.call_soon_threadsafe(
                self._state, ConnectionState.RECONNECTING, f"reconnecting (attempt {attempts})"
            )

    def _gave_up(self, ticker: Any) -> None:
        if ticker is self._ticker:
            self.loop.call_soon_threadsafe(
                self._state,
                ConnectionState.DISCONNECTED,
                "the market-data stream could not reconnect; check the connection and log in "
                "again if the day's session ended",
            )

    def _message(self, ticker: Any, payload: bytes, is_binary: bool) -> None:
        if ticker is self._ticker:
            self.last_frame = time.monotonic()  # heartbeats count: the feed is alive

    def _ticks(self, ticker: Any, ticks: list[dict[str, Any]]) -> None:
        if ticker is not self._ticker:
            return
        received = datetime.now(UTC)
        quotes = []
        for tick in ticks:
            symbol = self.symbols.get(int(tick.get("instrument_token", -1)))
            if symbol is None:
                continue
            try:
                quote = quote_from_tick(tick, symbol, received)
            except (ValueError, TypeError, ArithmeticError) as exc:
                log.warning("Kite stream: a tick of %s could not be read (%s)", symbol, exc)
                continue
            if quote is not None:
                quotes.append(quote)
        if quotes:
            self.loop.call_soon_threadsafe(self._deliver, quotes)

    def _order_update(self, ticker: Any, data: Mapping[str, Any]) -> None:
        if ticker is self._ticker:
            self.loop.call_soon_threadsafe(self._on_order, dict(data))

    # -- on the loop -----------------------------------------------------------------------------
    def _deliver(self, quotes: list[Quote]) -> None:
        for quote in quotes:
            self._on_quote(quote)

    def _state(self, state: ConnectionState, detail: str) -> None:
        self._on_state(state, detail)

    async def _watch(self) -> None:
        """Drop a connected feed that has gone silent while the market is open."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            ticker = self._ticker
            if ticker is None or not self._open:
                continue
            silent = time.monotonic() - self.last_frame
            if silent < self.silence_limit or not self._market_open(datetime.now(UTC)):
                continue
            self.reconnects += 1
            self._open = False
            log.warning("Kite stream silent for %.0f s in market hours; reconnecting", silent)
            self._state(
                ConnectionState.RECONNECTING,
                f"no data for {silent:.0f} s while the market is open; reconnecting",
            )
            self.last_frame = time.monotonic()
            from twisted.internet import reactor

            reactor.callFromThread(_drop, ticker)


_REACTOR_START = threading.Lock()
_reactor_started = False
REACTOR_WAIT = 10.0  # seconds for a new reactor thread to start running


def running_reactor() -> None:
    """Twisted's reactor running in its own daemon thread: started once per process (it
    cannot be restarted), by whichever stream comes first, and waited for, so that two
    streams starting together never start two reactors."""
    from twisted.internet import reactor as twisted_reactor

    global _reactor_started
    reactor: Any = twisted_reactor  # Twisted's reactor is typed by interfaces mypy cannot see
    with _REACTOR_START:
        if not reactor.running and not _reactor_started:
            threading.Thread(
                target=reactor.run,
                kwargs={"installSignalHandlers": False},
                name="kite-reactor",
                daemon=True,
            ).start()
            _reactor_started = True
    deadline = time.monotonic() + REACTOR_WAIT
    while not reactor.running and time.monotonic() < deadline:
        time.sleep(0.005)


def _drop(ticker: Any) -> None:
    """Abort the socket (reactor thread); the factory reconnects and on_open resubscribes."""
    ws = getattr(ticker, "ws", None)
    if ws is not None:
        ws.dropConnection(abort=True)


def nse_open_now(moment: datetime) -> bool:
    """The NSE session is open at `moment` (from the calendar: holidays and special days)."""
    session = get_calendar("NSE").session(moment.astimezone(IST).date())
    return session is not None and session.open <= moment < session.close
