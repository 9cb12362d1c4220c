"""The views `artha --screenshot PATH --show VIEW` pictures alone, and how each is staged.

Each view is built as the station builds it (a registered panel, or the dialog its menu opens)
and then given what a trader would see on it in the demo workspace: the chart a demo run's
trades and two indicators, the results that run, the wizard its summary page, the editor a
reference strategy, the data panel its coverage and the first series' quality report.
Staging reads the workspace and never writes it (the store is open read-only; the settings
are a scratch copy), so a picture changes nothing the user keeps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from app.gui.charges_dialog import ChargesDialog
from app.gui.chart.screenshot_demo import DEMO_STRATEGY, demo_chart
from app.gui.context import AppContext
from app.gui.panels.data_panel import DataPanel
from app.gui.panels.editor_panel import EditorPanel
from app.gui.panels.registry import panel_specs
from app.gui.results.panel import ResultsPanel
from app.gui.settings_dialog import SettingsDialog
from app.gui.wizard import BacktestWizard
from engine.backtest import BacktestConfig, run_backtest
from engine.data.store import StoreError
from engine.data.stored_bars import series_for
from strategies.reference import load_reference

log = logging.getLogger(__name__)

PANEL_VIEWS = ("chart", "watchlist", "editor", "results", "history", "data")
DIALOG_VIEWS = ("wizard", "settings", "charges")
VIEWS = PANEL_VIEWS + DIALOG_VIEWS
SETTLE_WAIT_SECONDS = 20.0  # at most, for a panel's own reads (coverage, quality)


def build_view(ctx: AppContext, view: str) -> QWidget:
    """`view` as a window of its own: the registered panel, or the dialog its menu opens."""
    if view == "wizard":
        return BacktestWizard(ctx, {"strategy": DEMO_STRATEGY, "symbols": _first_symbols(ctx)})
    if view == "settings":
        return SettingsDialog(ctx)
    if view == "charges":
        return ChargesDialog(ctx)
    spec = next((s for s in panel_specs() if s.panel_id == view), None)
    if spec is None:
        raise ValueError(f"no view called {view!r}; choose one of {', '.join(VIEWS)}")
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


_STAGES = {
    "chart": _chart,
    "results": _results,
    "wizard": _wizard,
    "editor": _editor,
    "data": _data,
}
