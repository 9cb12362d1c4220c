"""The main window: registered panels as docks, menus, toolbar, status bar, saved layout.

Closing it while a job runs (an import, the demo data) asks first: wait for it, cancel it, or
quit after it; the window closes only once no job runs, so run_gui never closes the store
under one (D1). A SIGTERM closes it the same way, cancelling the job (close_by_signal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QWidget,
)

from app.gui.broker_status import BrokerStatus
from app.gui.context import AppContext
from app.gui.job_status import JobStatus
from app.gui.market_clock import MarketClock
from app.gui.panels.registry import PanelSpec, panel_specs
from app.gui.themes import apply_theme
from app.gui.ui_settings import THEMES
from app.gui.workbench import Workbench
from app.version import __version__
from engine.data.errors import StoreDamaged, StoreError
from engine.events import JobCancelled, JobEvent, JobFailed, JobFinished
from engine.jobs import JobInfo

if TYPE_CHECKING:  # the dialogs load when first opened: the first paint needs none of them
    # (nor the store's module: DuckDB and numpy load when the store opens, after the paint)
    from app.gui.about import AboutDialog
    from app.gui.calendar_dialog import CalendarDialog
    from app.gui.charges_dialog import ChargesDialog
    from app.gui.settings_dialog import SettingsDialog
    from app.gui.shortcuts_dialog import ShortcutsDialog
    from engine.data.store import MarketStore, SeriesInfo

log = logging.getLogger(__name__)

_VERTICAL_AREAS = (Qt.DockWidgetArea.TopDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea)
_HORIZONTAL_AREAS = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)

# Bump when panels change in a way that makes old saved dock states meaningless.
LAYOUT_VERSION = 3


# The first-start offer: what the demo data is for today (About lists what Artha does).
WELCOME_TEXT = (
    "This workspace has no market data yet.\n\n"
    "Create SYNTHETIC demo data (50 NIFTY-like instruments, 120 sessions of 1-minute bars)? "
    "You can then chart it (Watchlist, Chart), write a strategy in the Strategy editor and "
    "backtest it (Research > Backtest…, Ctrl+B); runs are kept in Run history.\n\n"
    "You can import real exchange files any time from the Data panel."
)


QUIET_JOB_WAIT_SECONDS = 10.0  # a background read (quality check) the close waits for


class CloseChoice(StrEnum):
    """The answers to "a job is running" when the window is closed."""

    WAIT = "wait"  # keep the window open; nothing is cancelled
    CANCEL = "cancel"  # cancel the jobs, close once they have stopped
    AFTER = "after"  # close when the jobs have finished


def _jobs_text(jobs: list[JobInfo]) -> str:
    return "; ".join(j.name for j in jobs)


@contextmanager
def shared_series_list(store: MarketStore | None) -> Iterator[None]:
    """Inside the block, `store.list_series()` asks the store once and answers every later
    call with that list (a copy): building the window, half a dozen panels each ask for the
    stored series (~20-45 ms a query) while nothing can change them. Only for a stretch of
    GUI-thread code that writes nothing to the store and runs no event loop."""
    if store is None or "list_series" in vars(store):  # no store, or already shared
        yield
        return
    ask = store.list_series
    answer: list[list[SeriesInfo]] = []

    def list_series() -> list[SeriesInfo]:
        if not answer:
            answer.append(ask())  # a StoreError is raised to each caller, as before
        return list(answer[0])

    setattr(store, "list_series", list_series)  # noqa: B010 - an instance attribute
    try:
        yield
    finally:
        delattr(store, "list_series")


class MainWindow(QMainWindow):
    def __init__(
        self, ctx: AppContext, persist_layout: bool = True, restore_layout: bool = True
    ) -> None:
        """persist_layout=False never writes the layout on close; restore_layout=False opens in
        the default layout at the size the window has when shown, whatever layout is saved
        (a screenshot: `artha --screenshot P --size WxH`)."""
        super().__init__()
        with shared_series_list(ctx.store):
            self._build(ctx, persist_layout, restore_layout)

    def _build(self, ctx: AppContext, persist_layout: bool, restore_layout: bool) -> None:
        self.ctx = ctx
        self.persist_layout = persist_layout
        self.restore_layout = restore_layout
        self.setObjectName("arthaMainWindow")
        self.setWindowTitle(f"Artha {__version__} — {ctx.workspace.root}")
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.resize(1400, 900)
        self.docks: dict[str, QDockWidget] = {}
        # px across its area (width; height for top/bottom) each docked panel had when last
        # shown: a panel closed with its x and reopened gets it back (Qt squeezes it in)
        self.dock_sizes: dict[str, int] = {}
        self.calendar_dialog: CalendarDialog | None = None
        self.close_question: QMessageBox | None = None
        self.closing: CloseChoice | None = None  # CANCEL or AFTER: closes when the jobs end
        self.closed_by = ""  # "SIGTERM" when a signal closed the window
        self.close_buttons: dict[CloseChoice, QAbstractButton] = {}  # the question's buttons
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._specs = panel_specs()
        for spec in self._specs:
            self._add_panel(spec)
        self.instances: dict[str, list[str]] = {}  # base panel id -> extra instance ids
        self._build_instance_actions()
        for panel_id in ctx.settings.extra_charts:  # before the saved layout is restored
            self.open_instance("chart", panel_id, show=False)
        self.last_chart = "chart"  # where "open chart" requests go: the last one used
        self._connect_open_chart()
        self.workbench = Workbench(self, ctx, self.docks)  # editor, wizard, results, history
        self._default_geometry = self.saveGeometry()
        self._default_state: QByteArray | None = None  # captured at first show, when sizes exist
        self.set_theme(ctx.settings.theme)
        # the front tabs before the first show too: a panel behind a tab defers its reads
        # (the run history) until after the first paint instead of reading as it is shown
        self._front_tabs()
        subscription = ctx.bus.subscribe(JobEvent, self._on_job_event)
        self.destroyed.connect(lambda *_: subscription.cancel())

    # -- building ---------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.settings_action = file_menu.addAction("&Settings…")
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setToolTip(
            "Workspace folder, theme, backtest defaults, market calendar, brokers"
        )
        self.settings_action.triggered.connect(lambda _checked=False: self.show_settings())
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)

        self.view_menu = bar.addMenu("&View")
        self.panels_menu = self.view_menu.addMenu("&Panels")
        theme_menu = self.view_menu.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for name in THEMES:
            action = theme_menu.addAction(name.capitalize())
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, n=name: self.set_theme(n))
            group.addAction(action)
            self.theme_actions[name] = action
        self.colour_blind_action = theme_menu.addAction("Colour-blind-safe up/down (blue/orange)")
        self.colour_blind_action.setCheckable(True)
        self.colour_blind_action.setChecked(self.ctx.settings.colour_blind)
        self.colour_blind_action.toggled.connect(self.set_colour_blind)
        self.view_menu.addSeparator()
        self.reset_layout_action = self.view_menu.addAction("&Reset layout")
        self.reset_layout_action.triggered.connect(self.reset_layout)

        self.research_menu = bar.addMenu("&Research")
        self.backtest_action = self.research_menu.addAction("&Backtest…")
        self.backtest_action.setShortcut(QKeySequence("Ctrl+B"))
        self.backtest_action.setToolTip("Run a strategy over stored bars (the backtest wizard)")
        self.backtest_action.triggered.connect(lambda _checked=False: self.workbench.open_wizard())

        self.tools_menu = bar.addMenu("&Tools")
        self.calendar_action = self.tools_menu.addAction("Market &calendar…")
        self.calendar_action.triggered.connect(lambda _checked=False: self.show_calendar())
        self.charges_action = self.tools_menu.addAction("C&harges calculator…")
        self.charges_action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.charges_action.setToolTip("A contract note's charges, component by component")
        self.charges_action.triggered.connect(lambda _checked=False: self.show_charges())

        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = help_menu.addAction("&Keyboard shortcuts")
        self.shortcuts_action.setShortcut(QKeySequence("F1"))
        self.shortcuts_action.triggered.connect(lambda _checked=False: self.show_shortcuts())
        self.about_action = help_menu.addAction("&About Artha")
        self.about_action.triggered.connect(self.show_about)

    def _build_toolbar(self) -> None:
        self.toolbar = QToolBar("Main")
        self.toolbar.setObjectName("toolbar.main")
        self.toolbar.setMovable(True)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.toolbar.addAction(self.backtest_action)
        self.toolbar.addSeparator()

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.broker_label = BrokerStatus(self.ctx.bus, self.ctx.now)
        self.broker_label.settings_requested.connect(lambda: self.show_settings(page="Brokers"))
        self.market_clock = MarketClock(self.ctx.now)
        self.job_status = JobStatus(self.ctx, status)  # any job over half a second
        status.addPermanentWidget(self.job_status)
        status.addPermanentWidget(self.broker_label)
        status.addPermanentWidget(self.market_clock)

    def _add_panel(self, spec: PanelSpec, build: Callable[[], QWidget] | None = None) -> None:
        dock = QDockWidget(spec.title, self)
        dock.setObjectName(f"dock.{spec.panel_id}")  # saveState/restoreState key
        try:
            dock.setWidget(build() if build is not None else spec.factory(self.ctx))
        except Exception:
            # One broken panel must not take the whole station down.
            log.exception("panel %r failed to build", spec.panel_id)
            dock.setWidget(QLabel(f"The {spec.title} panel failed to load; see the log."))
        self.addDockWidget(spec.area, dock)
        if spec.tab_with and spec.tab_with in self.docks:
            self.tabifyDockWidget(self.docks[spec.tab_with], dock)
        dock.setVisible(spec.visible)
        toggle = dock.toggleViewAction()
        # before the dock acts on its toggle (toolbar, menu, shortcut): it is still hidden
        toggle.toggled.connect(lambda checked, pid=spec.panel_id: self._reopening(pid, checked))
        dock.visibilityChanged.connect(lambda shown, pid=spec.panel_id: self._hiding(pid, shown))
        if spec.shortcut:
            toggle.setShortcut(QKeySequence(spec.shortcut))
        self.panels_menu.addAction(toggle)
        self.toolbar.addAction(toggle)
        self.docks[spec.panel_id] = dock

    def _build_instance_actions(self) -> None:
        """ "New Chart" (and the like) for panels the trader can open several of."""
        self.view_menu.addSeparator()
        self.new_instance_actions: dict[str, QAction] = {}
        for spec in self._specs:
            if spec.instance_factory is None:
                continue
            action = self.view_menu.addAction(f"New {spec.title.lower()}")
            action.triggered.connect(
                lambda _checked=False, pid=spec.panel_id: self.open_instance(pid)
            )
            self.new_instance_actions[spec.panel_id] = action
        if "chart" in self.new_instance_actions:
            self.new_instance_actions["chart"].setShortcut(QKeySequence("Ctrl+Shift+N"))

    def open_instance(self, base_id: str, panel_id: str | None = None, show: bool = True) -> str:
        """Open one more panel like `base_id` (a second chart), tabbed with the first; its id
        ("chart-2") is remembered so the next start opens it again with its own state."""
        spec = next(s for s in self._specs if s.panel_id == base_id)
        factory = spec.instance_factory
        if factory is None:
            raise ValueError(f"only one {spec.title} panel can be open")
        taken = set(self.docks)
        if panel_id is None:
            number = 2
            while f"{base_id}-{number}" in taken:
                number += 1
            panel_id = f"{base_id}-{number}"
        if panel_id in taken:
            return panel_id
        number_text = panel_id.rpartition("-")[2]
        extra = replace(
            spec, panel_id=panel_id, title=f"{spec.title} {number_text}", shortcut=None,
            tab_with=base_id,
        )  # fmt: skip
        self._add_panel(extra, lambda: factory(self.ctx, panel_id))
        self.instances.setdefault(base_id, []).append(panel_id)
        if base_id == "chart":
            self.ctx.settings.extra_charts = self.instances[base_id]
            self._connect_chart(panel_id)
        if show:
            dock = self.docks[panel_id]
            dock.show()
            dock.raise_()
        return panel_id

    def _connect_open_chart(self) -> None:
        """Panels that ask for a chart (the watchlist's double-click) reach open_chart; chart
        panels report when they are used, so the request goes to the last one."""
        for panel_id, dock in self.docks.items():
            signal = getattr(dock.widget(), "open_chart_requested", None)
            if signal is not None:
                signal.connect(self.open_chart)
            if panel_id == "chart" or panel_id.startswith("chart-"):
                self._connect_chart(panel_id)

    def _connect_chart(self, panel_id: str) -> None:
        used = getattr(self.docks[panel_id].widget(), "used", None)
        if used is not None:
            used.connect(lambda pid=panel_id: setattr(self, "last_chart", pid))

    def open_chart(self, key: str) -> None:
        """Show `key` (EXCHANGE:SYMBOL) in the chart panel used last, brought to the front."""
        target = self.last_chart if self.last_chart in self.docks else "chart"
        dock = self.docks.get(target)
        if dock is None:
            return
        dock.show()
        dock.raise_()
        opener = getattr(dock.widget(), "open_symbol", None)
        if opener is not None:
            opener(key)

    def _apply_default_sizes(self, specs: list[PanelSpec]) -> None:
        """Give panels with a default_size that many pixels across their area."""
        for spec in specs:
            if spec.default_size and spec.visible:
                self.set_dock_size(spec.panel_id, spec.default_size)

    def _is_vertical(self, dock: QDockWidget) -> bool:
        return self.dockWidgetArea(dock) in _VERTICAL_AREAS

    def _across(self, dock: QDockWidget) -> int:
        """The dock's size across its area: its height in a top/bottom area, else its width."""
        return dock.height() if self._is_vertical(dock) else dock.width()

    def set_dock_size(self, panel_id: str, size: int) -> None:
        """Make a docked panel `size` px across its area, taking the room from its neighbours.

        QMainWindow.resizeDocks scales the sizes it is given to the space they share, so the
        dock is resized together with a dock of each area beside it (the other side for a
        left/right dock; left and right for a top/bottom one), their sum kept and the
        neighbours left at least 100 px. Sizes are read from the docks: call it when at rest.
        """
        dock = self.docks[panel_id]
        if dock.isFloating() or dock.isHidden():
            return
        area = self.dockWidgetArea(dock)
        vertical = area in _VERTICAL_AREAS
        neighbours: dict[Qt.DockWidgetArea, QDockWidget] = {}
        for other in self.docks.values():
            where = self.dockWidgetArea(other)
            docked = not other.isHidden() and not other.isFloating()
            if docked and where in _HORIZONTAL_AREAS and where != area:
                neighbours.setdefault(where, other)
        orientation = Qt.Orientation.Vertical if vertical else Qt.Orientation.Horizontal
        if not neighbours:
            self.resizeDocks([dock], [size], orientation)
            return
        beside = list(neighbours.values())
        total = self._across(dock) + (beside[0].height() if vertical else beside[0].width())
        size = min(size, max(total - 100, 50))
        self.resizeDocks([*beside, dock], [total - size] * len(beside) + [size], orientation)

    def _hiding(self, panel_id: str, shown: bool) -> None:
        if not shiboken6.isValid(self):
            return  # the window is being deleted: its docks hide as it goes
        dock = self.docks[panel_id]
        if not shown and not dock.isFloating() and self._across(dock) > 50:
            self.dock_sizes[panel_id] = self._across(dock)

    def _reopening(self, panel_id: str, checked: bool) -> None:
        """A panel the user brings back comes back as wide (high) as it was when closed, or
        as in the default layout, not at the sliver Qt makes room for."""
        dock = self.docks[panel_id]
        size = self.dock_sizes.get(panel_id)
        if not (checked and dock.isHidden() and size and not dock.isFloating()):
            return
        animated = self.isAnimated()
        self.setAnimated(False)  # the docks' sizes at rest at once, not mid-animation

        def settle() -> None:
            self.set_dock_size(panel_id, size)
            self.setAnimated(animated)

        QTimer.singleShot(0, settle)  # once the layout has placed it again

    # -- behaviour --------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.ctx.settings.theme = name
        self.theme_actions[name].setChecked(True)
        self._tell_panels_theme()

    def set_colour_blind(self, on: bool) -> None:
        """Blue/orange instead of green/red for up/down, in every panel that colours them."""
        self.ctx.settings.colour_blind = on
        self._tell_panels_theme()

    def _tell_panels_theme(self) -> None:
        """Panels that paint their own colours (charts) follow the theme: `apply_theme`."""
        name = self.ctx.settings.theme
        for dock in self.docks.values():
            follow = getattr(dock.widget(), "apply_theme", None)
            if follow is not None:
                follow(name)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._default_state is None:
            # Dock sizes only mean something once the window has a size: settle them now,
            # remember that as the default layout, then put back the user's saved one.
            self._apply_default_sizes(self._specs)
            self._front_tabs()
            self._default_state = self.saveState(LAYOUT_VERSION)
            # a panel hidden in the saved layout and opened later gets its default size
            self.dock_sizes = {
                spec.panel_id: spec.default_size or self._across(self.docks[spec.panel_id])
                for spec in self._specs
                if not self.docks[spec.panel_id].isHidden()
            }
            if self.restore_layout:
                self._restore_layout()

    def _front_tabs(self) -> None:
        """The chart in front of the Data panel once there is data to chart; a new user
        with an empty store sees the Data panel, where data comes in."""
        if "chart" not in self.docks or "data" not in self.docks:
            return
        self.docks["chart" if self._has_data() else "data"].raise_()

    def _has_data(self) -> bool:
        """Whether the store holds bars; before it opens (the first picture), whether it
        did when last opened."""
        store = self.ctx.store
        if store is None:
            return self.ctx.store_opening and self.ctx.settings.store_had_data
        try:
            return bool(store.list_series())
        except StoreError:
            return False

    def store_opened(self) -> None:
        """The store has just opened (or failed to), after the first paint: the front tab
        follows what it holds if the last start's guess was wrong, the demo data is offered
        to an empty one, and the guess is kept for the next start."""
        had = self.ctx.settings.store_had_data
        has = self._has_data()
        if self.ctx.store is not None:  # (a store that failed to open says nothing of its bars)
            self.ctx.settings.store_had_data = has
        saved = self.restore_layout and self.ctx.settings.window_layout(LAYOUT_VERSION)
        if has != had and not saved:
            self._front_tabs()  # the tabs were the guess's, not a saved layout's
        if self.should_offer_demo():
            QTimer.singleShot(300, self, self.offer_demo)

    def reset_layout(self) -> None:
        self.restoreGeometry(self._default_geometry)
        if self._default_state is not None:
            self.restoreState(self._default_state, LAYOUT_VERSION)
        log.info("layout reset to the default")

    def should_offer_demo(self) -> bool:
        """First start: an empty store, and the question not asked before in this workspace."""
        store = self.ctx.store
        if store is None or self.ctx.settings.demo_offered or "data" not in self.docks:
            return False
        try:
            return not store.list_series()
        except StoreError as exc:  # a damaged store: the Data panel says so; no offer
            if not isinstance(exc, StoreDamaged):  # the store logs damage itself, once
                log.error("market store unreadable: %s", exc)
            return False

    def offer_demo(self) -> QMessageBox:
        """Ask once whether to fill the empty workspace with SYNTHETIC demo data."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Welcome to Artha",
            WELCOME_TEXT,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setObjectName("offerDemo")
        box.button(QMessageBox.StandardButton.Yes).setText("Create demo data")
        box.button(QMessageBox.StandardButton.No).setText("Start empty")
        self.ctx.settings.demo_offered = True
        self.ctx.settings.sync()

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Yes:
                panel = self.docks["data"].widget()
                create = getattr(panel, "create_demo", None)
                if create is not None:
                    self.docks["data"].show()
                    create()

        box.finished.connect(answered)
        box.open()
        return box

    def show_about(self) -> AboutDialog:
        from app.gui.about import AboutDialog

        dialog = AboutDialog(self.ctx.workspace, self)
        dialog.open()
        return dialog

    def show_settings(self, page: str | None = None) -> SettingsDialog:
        """File > Settings (at `page`, e.g. "Brokers" from the status bar): a theme chosen
        there is applied here on OK/Apply."""
        from app.gui.settings_dialog import open_settings_dialog

        dialog = open_settings_dialog(self.ctx, self, page)
        dialog.theme_changed.connect(self.set_theme)
        dialog.colour_blind_changed.connect(self._colour_blind_from_settings)
        return dialog

    def _colour_blind_from_settings(self, on: bool) -> None:
        self.colour_blind_action.setChecked(on)  # toggled -> set_colour_blind
        self.set_colour_blind(on)

    def show_charges(self) -> ChargesDialog:
        from app.gui.charges_dialog import open_charges_dialog

        return open_charges_dialog(self.ctx, self)

    def show_shortcuts(self) -> ShortcutsDialog:
        from app.gui.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_calendar(self, start_import: bool = False) -> CalendarDialog:
        """Open the market calendar (non-modal, one at a time); start_import=True goes on to
        ask for a holiday-list file, as the Home panel's import button wants."""
        dialog = self.calendar_dialog
        if dialog is None:
            from app.gui.calendar_dialog import CalendarDialog

            dialog = self.calendar_dialog = CalendarDialog(self.ctx, self)
            dialog.finished.connect(self._calendar_closed)
        else:
            dialog.refresh()
        dialog.open()
        dialog.raise_()
        dialog.activateWindow()
        if start_import:
            dialog.choose_list_file()
        return dialog

    def _calendar_closed(self) -> None:
        dialog, self.calendar_dialog = self.calendar_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def _restore_layout(self) -> None:
        saved = self.ctx.settings.window_layout(LAYOUT_VERSION)
        if saved is None:
            return
        geometry, state = saved
        if not (self.restoreGeometry(geometry) and self.restoreState(state, LAYOUT_VERSION)):
            log.warning("saved window layout could not be restored; using the default")
            self.reset_layout()

    def save_layout(self) -> None:
        if self._default_state is None:
            return  # never shown: nothing the user arranged
        geometry: QByteArray = self.saveGeometry()
        self.ctx.settings.save_window_layout(
            LAYOUT_VERSION, geometry, self.saveState(LAYOUT_VERSION)
        )
        self.ctx.settings.sync()

    # -- closing while jobs run ---------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._may_lose_edits():
            event.ignore()  # the trader kept an unsaved strategy open
            return
        self.workbench.start_pending()  # a run just shown is saved before anything closes
        running = [job for job in self.ctx.jobs.running() if job.ask_before_close]
        if not running and self.ctx.jobs.running():  # a quality check: a moment, no question
            self.ctx.jobs.wait(QUIET_JOB_WAIT_SECONDS)
            running = self.ctx.jobs.running()
        if running:
            event.ignore()  # never closed (nor the store) under a running job
            if self.closing is None:
                self.ask_close(running)
            return
        if self.persist_layout:
            self.save_layout()
        super().closeEvent(event)

    def _may_lose_edits(self) -> bool:
        """Panels holding unsaved work (the strategy editor) ask first: `confirm_close`."""
        if self.closed_by:  # SIGTERM: nobody to ask; the editor's files stay as last saved
            return True
        for dock in self.docks.values():
            confirm = getattr(dock.widget(), "confirm_close", None)
            if confirm is not None and not confirm():
                return False
        return True

    def ask_close(self, running: list[JobInfo]) -> QMessageBox:
        """ "An import is running: wait for it, cancel it, or quit after it?" Its buttons call
        answer_close."""
        if self.close_question is not None:
            self.close_question.raise_()
            return self.close_question
        what = "An import is" if any("Import" in j.name for j in running) else "A job is"
        cancellable = all(j.cancellable for j in running)
        text = f"{what} running: {_jobs_text(running)}.\n\nWait for it, "
        text += "cancel it, " if cancellable else ""
        text += "or quit after it?"
        if cancellable and what == "An import is":
            text += (
                "\n\nCancel stops after the file in hand: files read so far are stored, "
                "the rest are not; the log says which."
            )
        elif cancellable:
            text += (
                "\n\nCancel stops it at its next step: what it finished is kept (a download "
                "resumes where it stopped), the rest is not done; the log says which."
            )
        box = QMessageBox(QMessageBox.Icon.Question, "Work is running", text, parent=self)
        box.setObjectName("closeWhileRunning")
        choices: dict[QAbstractButton, CloseChoice] = {}
        wait = box.addButton("Wait for it", QMessageBox.ButtonRole.RejectRole)
        choices[wait] = CloseChoice.WAIT
        if cancellable:
            choices[box.addButton("Cancel it", QMessageBox.ButtonRole.DestructiveRole)] = (
                CloseChoice.CANCEL
            )
        choices[box.addButton("Quit after it", QMessageBox.ButtonRole.AcceptRole)] = (
            CloseChoice.AFTER
        )
        box.setDefaultButton(wait)
        box.setEscapeButton(wait)
        self.close_buttons = {choice: button for button, choice in choices.items()}

        def answered() -> None:
            self.close_question = None
            self.answer_close(choices.get(box.clickedButton(), CloseChoice.WAIT))

        box.finished.connect(answered)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.close_question = box
        box.open()
        return box

    def answer_close(self, choice: CloseChoice | str) -> None:
        """Act on the answer to ask_close (the dialog's buttons call this; so can a test)."""
        choice = CloseChoice(choice)
        running = self.ctx.jobs.running()
        if self.close_question is not None:  # answered without the dialog: close it quietly
            question, self.close_question = self.close_question, None
            question.finished.disconnect()
            question.close()
        if choice is CloseChoice.WAIT:
            self.closing = None
            log.info("close put off: waiting for %s", _jobs_text(running) or "nothing")
            return
        self.closing = choice
        if not running:
            self.close()
            return
        if choice is CloseChoice.CANCEL:
            log.info("closing: cancelling %s; the window closes once it has stopped",
                     _jobs_text(running))  # fmt: skip
            for job in self.ctx.jobs.cancel_all():
                if not job.cancellable:
                    log.info("closing: %s cannot be cancelled; closing when it ends", job.name)
        else:
            log.info("closing once %s has finished", _jobs_text(running))

    def close_by_signal(self, name: str = "SIGTERM") -> None:
        """A signal asks the app to stop: as closing the window, with its jobs cancelled."""
        log.info("%s received: closing", name)
        self.closed_by = name
        self.answer_close(CloseChoice.CANCEL)  # closes now when no job runs

    def _on_job_event(self, event: JobEvent) -> None:
        if self.closing is None or not isinstance(event, JobFinished | JobCancelled | JobFailed):
            return
        if self.ctx.jobs.running():
            return
        log.info("closing: no job running any more")
        QTimer.singleShot(0, self.close)  # after the other handlers of this event
