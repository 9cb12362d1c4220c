"""The views `artha --screenshot PATH --show VIEW` pictures alone, and how each is staged.

Each view is built as the station builds it (a registered panel, or the dialog its menu opens)
and then given what a trader would see on it in the demo workspace: the chart a demo run's
trades and two indicators, the results that run, the wizard its summary page, the editor a
reference strategy, the data panel its coverage and the first series' quality report; the
Brokers page three accounts and a static-IP verdict; the live view (watchlist, chart and the
status bar's broker state side by side) a replayed feed: the session after the store's last
one, made from that session's minutes, streamed by a paper broker through a real BrokerHub.
Staging reads the workspace and never writes it (the store is open read-only; the settings
are a scratch copy; the paper journal lives in a temp folder), so a picture changes nothing
the user keeps.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from app.gui.broker_status import BrokerStatus
from app.gui.brokers_page import BrokersPage, TokenState
from app.gui.charges_dialog import ChargesDialog
from app.gui.chart.screenshot_demo import DEMO_STRATEGY, demo_chart
from app.gui.context import AppContext
from app.gui.panels.chart_panel import ChartPanel
from app.gui.panels.data_panel import DataPanel
from app.gui.panels.editor_panel import EditorPanel
from app.gui.panels.registry import panel_specs
from app.gui.panels.watchlist import WatchlistPanel
from app.gui.results.panel import ResultsPanel
from app.gui.settings_dialog import SettingsDialog
from app.gui.wizard import BacktestWizard
from brokers.accounts import BrokerAccount, BrokerAccounts, BrokerKind
from brokers.hub import BrokerHub
from brokers.network import OutboundAddresses, RouteChoice, check_static_ip
from brokers.paper.broker import PaperBroker
from brokers.paper.replay import bar_quotes, merged
from engine.backtest import BacktestConfig, run_backtest
from engine.broker.models import ConnectionState, Quote
from engine.broker.protocol import Broker
from engine.calendar import get_calendar
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore, StoreError
from engine.data.stored_bars import series_for
from engine.ist import ist_date_of, ns_of
from strategies.reference import load_reference

log = logging.getLogger(__name__)

PANEL_VIEWS = ("chart", "watchlist", "editor", "results", "history", "data")
DIALOG_VIEWS = ("wizard", "settings", "charges")
# Settings ▸ Brokers with accounts, and the live watchlist + chart on a replayed feed; built
# and staged like the others (`take_screenshot(..., show="live")`).
BROKER_VIEWS = ("brokers", "live")
VIEWS = PANEL_VIEWS + DIALOG_VIEWS + BROKER_VIEWS
SETTLE_WAIT_SECONDS = 20.0  # at most, for a panel's own reads (coverage, quality)
LIVE_MINUTES = 75  # of the replayed session: 09:15 to 10:30
LIVE_SYMBOLS = 8  # instruments of the watchlist streamed in the live picture


class LiveView(QWidget):
    """The watchlist and a chart side by side over the status bar's broker state: what a
    trader watches while a broker streams."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.watchlist = WatchlistPanel(ctx)
        self.chart = ChartPanel(ctx, "chart-live")
        self.status = BrokerStatus(ctx.bus, ctx.now)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.watchlist)
        split.addWidget(self.chart)
        split.setStretchFactor(1, 3)
        split.setSizes([470, 1130])
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(split, 1)
        layout.addLayout(bar)

    def apply_theme(self, theme: str) -> None:
        self.watchlist.apply_theme(theme)
        self.chart.apply_theme(theme)


def _no_broker(account: BrokerAccount) -> Broker:
    raise RuntimeError(f"a picture connects no broker ({account.account_id})")


def build_view(ctx: AppContext, view: str) -> QWidget:
    """`view` as a window of its own: the registered panel, or the dialog its menu opens."""
    if view == "wizard":
        return BacktestWizard(ctx, {"strategy": DEMO_STRATEGY, "symbols": _first_symbols(ctx)})
    if view == "settings":
        return SettingsDialog(ctx)
    if view == "brokers":
        ctx.brokers = BrokerHub(ctx.bus, _no_broker)  # the page's buttons as in the station
        dialog = SettingsDialog(ctx)
        dialog.show_page("Brokers")
        return dialog
    if view == "live":
        live = LiveView(ctx)
        live.setWindowTitle("Artha — Live prices")
        return live
    if view == "charges":
        return ChargesDialog(ctx)
    spec = next((s for s in panel_specs() if s.panel_id == view), None)
    if spec is None:
        names = ", ".join(VIEWS)
        raise ValueError(f"no view called {view!r}; choose one of {names}")
    widget = spec.factory(ctx)
    widget.setWindowTitle(f"Artha — {spec.title}")
    return widget


async def stage_view(view: str, widget: QWidget, loop: asyncio.AbstractEventLoop) -> None:
    """Put on `widget` what a trader sees there after using the demo workspace; a view with
    nothing to show (no store, no bars) keeps its own message saying why."""
    stage = _STAGES.get(view)
    if stage is not None:
        await stage(widget, loop)


def _first_symbols(ctx: AppContext) -> list[str]:
    try:
        stored = ctx.store.list_series() if ctx.store is not None else []
    except StoreError:
        return []
    return [stored[0].symbol] if stored else []


async def _until(done: Callable[[], bool]) -> None:
    waited = 0.0
    while not done() and waited < SETTLE_WAIT_SECONDS:
        await asyncio.sleep(0.05)
        waited += 0.05


async def _results(widget: QWidget, loop: asyncio.AbstractEventLoop) -> None:
    """The demo strategy's run on the first stored instrument, as the wizard would show it."""
    if not isinstance(widget, ResultsPanel) or widget.ctx is None:
        return
    store = widget.ctx.store
    symbols = _first_symbols(widget.ctx)
    if store is None or not symbols:
        return
    info = next(s for s in store.list_series() if s.symbol == symbols[0])
    series = series_for(store, info.symbol, info.timeframe, exchange=info.exchange)
    result = await loop.run_in_executor(
        None, run_backtest, load_reference(DEMO_STRATEGY), None, [series], BacktestConfig()
    )
    widget.show_result(result)


async def _wizard(widget: QWidget, _loop: asyncio.AbstractEventLoop) -> None:
    """The summary page: every choice the run will use, on one page."""
    if not isinstance(widget, BacktestWizard):
        return
    while widget.currentPage() is not widget.summary_page:
        page = widget.currentPage()
        if page is None or not page.isComplete():
            return  # stays where a choice is missing (no data): its page says what
        widget.next()
        await asyncio.sleep(0.05)


async def _editor(widget: QWidget, _loop: asyncio.AbstractEventLoop) -> None:
    """The workspace's first strategy file, else the demo strategy's source (read-only),
    checked (F7), so its parameter form shows."""
    if not isinstance(widget, EditorPanel):
        return
    files = sorted(widget.strategies_dir.glob("*.py"))
    if files:
        widget.open_file(files[0])
    else:
        widget.open_reference(DEMO_STRATEGY)
    outcomes: list[object] = []
    widget.checked.connect(outcomes.append)
    if widget.check() is not None:
        await _until(lambda: bool(outcomes))


async def _data(widget: QWidget, _loop: asyncio.AbstractEventLoop) -> None:
    """Coverage read, then the first series selected so its quality report shows."""
    if not isinstance(widget, DataPanel):
        return
    panel = widget
    await _until(lambda: panel.settled)
    if panel.model.rowCount() > 0:
        panel.table.selectRow(0)
        await asyncio.sleep(0.1)
        await _until(lambda: panel.settled)


async def _chart(widget: QWidget, loop: asyncio.AbstractEventLoop) -> None:
    await demo_chart(widget, loop)


# -- the Brokers page --------------------------------------------------------------------------
STAGED_ACCOUNTS = (
    BrokerAccount(
        account_id="zerodha-main",
        kind=BrokerKind.ZERODHA,
        label="Main",
        user_id="AB1234",
        registered_ips=("49.36.12.8",),
    ),
    BrokerAccount(
        account_id="upstox",
        kind=BrokerKind.UPSTOX,
        label="Family",
        redirect_port=5011,
        algo_name="artha-momentum",
    ),
    BrokerAccount(account_id="paper", kind=BrokerKind.PAPER, label="Night replay"),
)


async def _brokers(widget: QWidget, _loop: asyncio.AbstractEventLoop) -> None:
    """Three accounts: Zerodha logged in and connected, Upstox needing its daily login, a
    paper account; the static-IP check's verdict for a machine that speaks IPv6."""
    if not isinstance(widget, SettingsDialog) or not isinstance(widget.brokers_page, BrokersPage):
        return
    page = widget.brokers_page
    accounts = BrokerAccounts(page.ctx.files_dir / "brokers.json")  # the scratch copy
    for account in STAGED_ACCOUNTS:
        accounts.accounts[account.account_id] = account
    accounts.save()
    page.reload()
    await _until(lambda: page.token_task is None)
    now = page.ctx.now()
    tomorrow_six = (now + timedelta(days=1)).replace(hour=0, minute=30, second=0, microsecond=0)
    page.show_tokens({"zerodha-main": TokenState(tomorrow_six), "upstox": TokenState(None)})
    page.model.set_state("zerodha-main", ConnectionState.CONNECTED, "logged in as AB1234")
    page.model.set_state("upstox", ConnectionState.LOGIN_REQUIRED, "the session ended at 03:30")
    page.select("zerodha-main")
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6="2401:4900:1c2a:3f::5")
    route = RouteChoice("api.kite.trade", 443, 6, "2606:4700::6810:84e5", "2401:4900:1c2a:3f::5")
    check = check_static_ip(STAGED_ACCOUNTS[0].registered_ips, seen, route)
    page.show_result(check.headline, check.advice, ok=check.ok, details=check.details)


# -- the live view: a replayed session through a real hub ---------------------------------------
def next_session_quotes(store: MarketStore, keys: Iterable[str], minutes: int) -> list[Quote]:
    """Quotes of the session after each instrument's last stored one: the first `minutes`
    of its last session's minutes, moved to the next session and scaled to open at its last
    close (four quotes a minute, as the paper broker replays bars)."""
    calendar = get_calendar("NSE")
    streams: list[Iterator[Quote]] = []
    for key in keys:
        exchange, _, symbol = key.rpartition(":")
        try:
            series = series_for(store, symbol, "1m", exchange=exchange or None)
            instrument = store.instrument(symbol, exchange or None)
        except (StoreError, KeyError, ValueError):
            continue
        if len(series.ts) < 2:
            continue
        last_day = ist_date_of(int(series.ts[-1]))
        session = calendar.session(last_day)
        ahead = calendar.sessions(last_day + timedelta(days=1), last_day + timedelta(days=15))
        if session is None or not ahead:
            continue
        first = int(np.searchsorted(series.ts, ns_of(session.open)))
        take = slice(first, min(first + minutes, len(series.ts)))
        shift = ns_of(ahead[0].open) - ns_of(session.open)
        ratio = float(series.close[-1]) / float(series.open[first])

        bars = BarSeries(
            symbol,
            "1m",
            (series.ts[take] + shift).astype(np.int64),
            _scaled(series.open[take], ratio),
            _scaled(series.high[take], ratio),
            _scaled(series.low[take], ratio),
            _scaled(series.close[take], ratio),
            series.volume[take].astype(np.int64),
        )
        streams.append(bar_quotes(instrument, bars))
    return list(merged(*streams))


def _scaled(paise: np.ndarray, ratio: float) -> np.ndarray:
    return np.maximum(np.round(paise * ratio), 5).astype(np.int64)


async def _live(widget: QWidget, _loop: asyncio.AbstractEventLoop) -> None:
    """A paper account replays the next session's first 75 minutes of the watchlist's first
    instruments through a BrokerHub; the watchlist and the chart take them as a broker's."""
    if not isinstance(widget, LiveView) or widget.ctx.store is None:
        return
    ctx, store = widget.ctx, widget.ctx.store
    watchlist = widget.watchlist
    await _until(lambda: watchlist.quotes_shown_count > 0 and widget.chart.bars is not None)
    chart_bars = widget.chart.bars
    if chart_bars is None:
        return
    keys = list(dict.fromkeys([chart_bars.key, *widget.watchlist.model.keys()[:LIVE_SYMBOLS]]))
    journal = Path(tempfile.mkdtemp(prefix="artha-paper-"))
    widget.destroyed.connect(lambda *_: shutil.rmtree(journal, ignore_errors=True))
    account = BrokerAccount(account_id="paper-replay", kind=BrokerKind.PAPER, label="Replay")
    accounts = BrokerAccounts(ctx.files_dir / "brokers.json")  # the scratch copy
    accounts.accounts[account.account_id] = account
    accounts.save()
    broker = PaperBroker(journal, account=account.account_id)
    ctx.brokers = BrokerHub(ctx.bus, lambda _account: broker)
    quotes = next_session_quotes(store, keys, LIVE_MINUTES)
    if quotes:  # the feed's clock: the picture is taken as at the replayed minute
        last = quotes[-1].tick.ts
        ctx.now = lambda: last.astimezone(UTC)
    await ctx.brokers.connect(account)  # CONNECTED: the panels ask for their instruments
    await _until(lambda: len(broker.subscribed) >= len(keys))
    await broker.replay(quotes)
    await asyncio.sleep(0.4)  # the coalesced repaints
    widget.watchlist.model.flush()
    widget.chart.flush_live()
    widget.chart.view.show_last(LIVE_MINUTES + 150)


_STAGES = {
    "brokers": _brokers,
    "live": _live,
    "chart": _chart,
    "results": _results,
    "wizard": _wizard,
    "editor": _editor,
    "data": _data,
}
