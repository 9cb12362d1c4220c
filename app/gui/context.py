"""What every panel gets handed: workspace, store, event bus, job runner, UI settings, the
clock and the broker connections."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.gui.ui_settings import UiSettings
from engine.broker.errors import BrokerError
from engine.broker.models import ConnectionState, TickMode
from engine.bus import EventBus
from engine.data.errors import StoreError
from engine.domain.instrument import Instrument
from engine.jobs import JobRunner
from engine.workspace import Workspace

if TYPE_CHECKING:  # the hub pulls in the live-bar builder and the backtester's modules;
    # the accounts and the keychain (keyring and the HTTP modules under it) load when used;
    # the store (DuckDB, numpy) when it opens, after the window's first paint
    from brokers.accounts import BrokerAccounts
    from brokers.credentials import CredentialStore
    from brokers.hub import BrokerHub
    from engine.data.store import MarketStore

log = logging.getLogger(__name__)


# ctx.store_problem while the window's first picture is on screen and the store not yet open
# (it opens right after: app.gui.launch); panels say "No market data: opening the market
# store…" meanwhile, and read it when MarketDataChanged(STORE_OPENED) comes.
STORE_OPENING = "opening the market store…"
STORE_OPENED = "store opened"  # MarketDataChanged's source once the store is open (or failed)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    """Passed to panel factories so panels never reach for globals (and tests can fake time)."""

    workspace: Workspace
    bus: EventBus
    settings: UiSettings
    now: Callable[[], datetime] = field(default=utc_now)
    # The workspace's market store, opened by the process that owns the workspace; None when
    # it could not be opened (a screenshot while the app runs): panels must say so.
    store: MarketStore | None = None
    store_problem: str = ""  # why `store` is None, in words for the user
    # Where panels keep their files (watchlists, chart drawings): the workspace's settings
    # folder, or a scratch copy of it for a screenshot, which must not change what is saved.
    settings_dir: Path | None = None
    # The broker connections on the loop (None where none run: a screenshot, a test of a
    # panel alone). Panels never call a broker: they read the hub's events on `bus`.
    brokers: BrokerHub | None = None
    # The OS keychain, where broker keys, secrets and tokens live (never in a settings file):
    # `credentials`, made when first asked for.
    _credentials: CredentialStore | None = field(default=None, init=False, repr=False)
    # The one runner for long work (imports, demo data): built on `bus`, one per context.
    jobs: JobRunner = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = JobRunner(self.bus)
        if self.settings_dir is None:
            self.settings_dir = self.workspace.settings_dir

    @property
    def credentials(self) -> CredentialStore:
        """The OS keychain's broker entries (keyring loads with the first use, not the
        station's first paint)."""
        if self._credentials is None:
            from brokers.credentials import CredentialStore

            self._credentials = CredentialStore()
        return self._credentials

    @property
    def store_opening(self) -> bool:
        """The window's first picture is on screen and the store is not open yet (it opens
        right after); panels say so instead of "unavailable"."""
        return self.store is None and self.store_problem == STORE_OPENING

    @property
    def files_dir(self) -> Path:
        """`settings_dir`, typed (always set after construction)."""
        assert self.settings_dir is not None
        return self.settings_dir

    def broker_accounts(self) -> BrokerAccounts:
        """The workspace's broker accounts as saved now (read afresh: the Brokers page and
        `artha broker add` both change the file). AccountError when it cannot be read."""
        from brokers.accounts import BrokerAccounts

        return BrokerAccounts.load(self.files_dir)

    def live_account_id(self) -> str | None:
        """The account whose stream feeds the station's live prices: the first connected one
        (one feed, so two brokers' ticks never build the same live minute)."""
        hub = self.brokers
        if hub is None:
            return None
        for account_id in hub.brokers:
            if hub.state(account_id)[0] == ConnectionState.CONNECTED:
                return account_id
        return None

    def watch_live(self, keys: Sequence[str]) -> asyncio.Task[None] | None:
        """Ask the live account's broker to stream these instruments ("NSE:INFY"): their
        quotes and live minute bars then come as events on `bus`. Nothing happens without a
        connected broker; instruments the store does not know are skipped."""
        account_id = self.live_account_id()
        if account_id is None or self.store is None or self.brokers is None:
            return None
        instruments: list[Instrument] = []
        for key in keys:
            exchange, _, symbol = key.rpartition(":")
            try:
                instruments.append(self.store.instrument(symbol, exchange or None))
            except (StoreError, KeyError, ValueError):
                continue
        if not instruments:
            return None
        hub = self.brokers

        async def watch() -> None:
            try:
                account = self.broker_accounts().get(account_id)
                await hub.watch(account, instruments, TickMode.QUOTE)
            except (BrokerError, ValueError) as exc:  # AccountError is a ValueError
                log.warning("live prices of %d instrument(s) not streamed: %s", len(keys), exc)

        loop = asyncio.get_event_loop_policy().get_event_loop()
        return loop.create_task(watch())

    async def connect_saved_accounts(self) -> None:
        """At the station's start: open each saved account with its stored session, so the
        status bar shows it connected, or "login needed" (red) where the daily session has
        ended. Nothing is asked of the trader here; a failure is logged and announced."""
        hub = self.brokers
        if hub is None:
            return
        try:
            accounts = list(self.broker_accounts().accounts.values())
        except ValueError as exc:  # AccountError: the file cannot be read (said in Settings)
            log.warning("broker accounts not opened: %s", exc)
            return
        for account in accounts:
            try:
                await hub.connect(account)
            except BrokerError as exc:  # login needed, network: the hub announced the state
                log.info("%s not connected at start: %s", account.title, exc.message)
            except Exception as exc:  # one account's failure must not stop the others
                log.warning("%s could not be opened: %s", account.title, exc)
