"""Starting the desktop app: QApplication + qasync loop, workspace lock, main window."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import qasync
from PySide6.QtCore import QEvent, QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.commands.output import OutputRefused, check_target, store_files
from app.gui.after_paint import after_first_paint
from app.gui.collector import GuiThreadCollector
from app.gui.context import STORE_OPENED, STORE_OPENING, AppContext
from app.gui.main_window import MainWindow
from app.gui.themes import apply_theme, use_fusion
from app.gui.ui_settings import UiSettings
from app.logging_setup import configure_logging
from app.version import __version__
from engine.bus import EventBus
from engine.data.errors import StoreError
from engine.events import MarketDataChanged
from engine.heap import collector_paused, freeze_long_lived
from engine.workspace import Workspace, WorkspaceBusyError
from resources import resource_path

if TYPE_CHECKING:
    from brokers.hub import BrokerHub
    from engine.data.store import MarketStore  # loads when the store opens, after the paint

log = logging.getLogger(__name__)
SCREENSHOT_SETTLE_SECONDS = 0.6
SCREENSHOT_JOBS_WAIT_SECONDS = 20.0  # at most, for the panels' first reads to end
GIL_SWITCH_SECONDS = 0.001


def _qt_message(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own warnings go to our log (panel and file) instead of a bare stderr."""
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(mode, logging.ERROR)
    if "propagateSizeHints" in message:  # offscreen plugin noise, says nothing about Artha
        level = logging.DEBUG
    logging.getLogger("qt").log(level, "%s", message)


def _application() -> QApplication:
    qInstallMessageHandler(_qt_message)
    QApplication.setApplicationName("Artha")
    QApplication.setApplicationVersion(__version__)
    QApplication.setOrganizationName("Artha")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setWindowIcon(QIcon(str(resource_path("artha.svg"))))
    use_fusion(app)  # before any widget exists (themes.apply_theme)
    return app


def _context(
    workspace: Workspace,
    loop: asyncio.AbstractEventLoop,
    store: MarketStore | None,
    store_problem: str = "",
    settings_dir: Path | None = None,
) -> AppContext:
    folder = settings_dir or workspace.settings_dir
    settings = UiSettings(folder / "ui.ini")
    return AppContext(workspace=workspace, bus=EventBus(loop), settings=settings, store=store,
                      store_problem=store_problem, settings_dir=folder)  # fmt: skip


def _screenshot_store(workspace: Workspace) -> tuple[MarketStore | None, str]:
    """Read-only when a store exists and no running Artha holds it; else no store, and why."""
    if not workspace.database_path.exists():
        return None, "no market data in this workspace yet (a screenshot creates none)"
    from engine.data.store import MarketStore

    try:
        return MarketStore.open(workspace.database_path, read_only=True), ""
    except StoreError as exc:
        log.info("screenshot without the market store: %s", exc)
        return None, str(exc)


def _tell_busy(error: WorkspaceBusyError) -> None:
    print(f"artha: {error}", file=sys.stderr)
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return  # nobody would see a dialog
    _application()
    QMessageBox.critical(None, "Artha is already running", str(error))


def _dispose(window: QWidget) -> None:
    """Delete the window now (timers and all): the event loop that would do it has ended."""
    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _on_sigterm(window: MainWindow) -> Callable[[], None]:
    """Make SIGTERM close `window` as its close button does (its job cancelled, the layout
    saved, the store closed after the job stops); returns the undo. Python runs a signal
    handler only between bytecodes, so a timer wakes the interpreter while Qt's loop waits."""
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)

    def handler(signum: int, frame: object) -> None:
        QTimer.singleShot(0, lambda: window.close_by_signal(signal.Signals(signum).name))

    previous = signal.signal(signal.SIGTERM, handler)

    def undo() -> None:
        wake.stop()
        signal.signal(signal.SIGTERM, previous)

    return undo


def _stop_jobs(ctx: AppContext) -> None:
    """Nothing may run when the store closes: cancel what still runs and wait for it."""
    running = ctx.jobs.cancel_all()
    if running:
        log.warning("still running at exit, cancelled; waiting: %s",
                    "; ".join(j.name for j in running))  # fmt: skip
        ctx.jobs.wait()


def run_gui(workspace: str | os.PathLike[str] | None = None) -> int:
    """Open the station; returns the process exit code (0 also after a SIGTERM, which closes
    it as the window's close does; 1 when it cannot start, with the reason in the log)."""
    ws = Workspace.resolve(workspace).ensure()
    try:
        lock = ws.lock()
    except WorkspaceBusyError as error:
        _tell_busy(error)
        return 1
    try:
        configure_logging(ws)
        log.info("Artha %s starting on workspace %s", __version__, ws.root)
        return _run(ws)
    except Exception as exc:  # D3/D26: a desktop launch has no stderr anyone reads
        # the traceback goes to the file only: stderr gets the one line below
        log.critical("Artha could not start or stopped on an error: %s", exc, exc_info=True,
                     extra={"console": False})  # fmt: skip
        print(f"artha: {exc} (details in {ws.logs_dir / 'artha.log'})", file=sys.stderr)
        return 1
    finally:
        lock.release()


def _broker_hub(ctx: AppContext, store: MarketStore | None) -> BrokerHub:
    """The station's broker connections (adapters are imported when an account opens)."""
    from brokers.hub import BrokerHub
    from brokers.registry import open_broker

    return BrokerHub(
        ctx.bus,
        lambda account: open_broker(
            account, credentials=ctx.credentials, workspace=ctx.workspace, store=store
        ),
    )


def _start_brokers(
    ctx: AppContext, store: MarketStore | None, loop: asyncio.AbstractEventLoop, window: QWidget
) -> None:
    """The broker connections, once the window has painted: the hub's modules (the live-bar
    builder, the replay, the backtester and pandas: ~0.3 s) are not on the first picture,
    and nothing connects before this. Saved accounts then connect with their stored
    sessions: the status bar says connected, or "login needed" where the session ended."""
    ctx.brokers = _broker_hub(ctx, store)

    def connect() -> None:
        if not loop.is_closed():  # a window closed within the half second: nothing to do
            loop.create_task(ctx.connect_saved_accounts())

    QTimer.singleShot(500, window, connect)  # dropped with the window (_dispose)


def _open_store(
    ctx: AppContext,
    ws: Workspace,
    loop: asyncio.AbstractEventLoop,
    window: MainWindow,
    failures: list[Exception],
) -> None:
    """Once the window has painted: open the workspace's market store, tell the panels
    (MarketDataChanged(STORE_OPENED): they read it, or say why it is not open), offer the
    demo data to an empty store, then start the broker connections, which use it.

    A store that cannot be opened (held by another process, damaged) leaves the station
    running and saying so; an error nobody foresaw (a workspace calendar this version cannot
    read) ends the start as it did before the window showed: kept in `failures`, raised by
    `_run` once the window has closed."""
    try:
        with collector_paused():
            from engine.data.store import MarketStore  # DuckDB and numpy: after the paint

            ctx.store = MarketStore.open(ws.database_path)
        ctx.store_problem = ""
    except StoreError as exc:
        log.error("market store unavailable: %s", exc)
        ctx.store_problem = str(exc)
    except Exception as exc:  # reported by run_gui, with its traceback
        failures.append(exc)
        window.close_by_signal("a start-up error")
        return
    log.info("Artha %s ready — workspace %s", __version__, ws.root)
    ctx.bus.publish(MarketDataChanged(STORE_OPENED))
    window.store_opened()
    _start_brokers(ctx, ctx.store, loop, window)


def _run(ws: Workspace) -> int:
    app = _application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # the window's build allocates objects that live for the session (the panels' modules,
    # Qt wrappers): collections meanwhile would only rescan them (collector_paused)
    with collector_paused():
        # The store opens right after the window's first paint (_open_store): the first
        # picture does not wait for it (~0.2 s: DuckDB's open and the panels' first reads).
        ctx = _context(ws, loop, None, STORE_OPENING)
        window = MainWindow(ctx)
        window.show()
        # Everything alive now (Qt, numpy, pandas: ~a million objects) lives for the whole
        # session: keep it out of the collector's full passes, which otherwise stall the GUI
        # for 100-200 ms (seen mid-keystroke in the strategy editor's checks).
        freeze_long_lived()
    # Jobs run Python on threads beside the GUI (saving a run, placing trade marks): a
    # thread wanting the GIL waits up to this long for the one holding it, at every handover
    # a repaint or a keystroke makes. 1 ms instead of 5 keeps those waits short.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    collector = GuiThreadCollector()  # collections only between events, on this thread
    undo_signal = _on_sigterm(window)
    failures: list[Exception] = []
    after_first_paint(window, lambda: _open_store(ctx, ws, loop, window, failures), first=True)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
            if ctx.brokers is not None:  # streams stop; the day's sessions stay valid
                loop.run_until_complete(ctx.brokers.close())
            loop.run_until_complete(asyncio.wait_for(ctx.bus.drain(), timeout=5))
    finally:
        undo_signal()
        collector.stop()
        closed_by = window.closed_by
        _stop_jobs(ctx)  # the window waited for them; this is the last guard (D1)
        _dispose(window)  # its panels' timers must not outlive the store they read
        if ctx.store is not None:
            ctx.store.close()
    if failures:
        raise failures[0]
    log.info("Artha closed" + (f" by {closed_by}" if closed_by else ""))
    return 0


def take_screenshot(
    path: str | os.PathLike[str],
    size: tuple[int, int] = (1600, 1000),
    workspace: str | os.PathLike[str] | None = None,
    show: str | None = None,
    theme: str | None = None,
) -> int:
    """Render the main window offscreen to a PNG of `size`, in the default layout whatever
    layout the workspace has saved (a saved one is for the screen it was saved on, and made
    the picture that size); reads the workspace (its data, its theme), never writes it.

    `show` (one of screenshot_views.VIEWS) pictures that view alone at `size`, staged with
    what a trader sees there on the demo workspace (the chart and the results with a demo
    backtest, the wizard at its summary...); `theme` ("dark", "light") overrides the
    workspace's theme for this picture only."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    target = Path(path)
    if target.parent and not target.parent.exists():
        print(f"artha: folder {target.parent} does not exist", file=sys.stderr)
        return 2
    ws = Workspace.resolve(workspace).ensure()
    try:  # never onto the store, its log or another kind of file
        check_target(target, "png", store_files(ws.database_path))
    except OutputRefused as exc:
        print(f"artha: --screenshot: {exc}", file=sys.stderr)
        return 2
    app = _application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    store, problem = _screenshot_store(ws)
    with tempfile.TemporaryDirectory(prefix="artha-shot-") as scratch:
        # the panels remember what they show (watchlists, chart states, drawings): a picture
        # works on a copy of the settings folder and must not change what the user saved
        settings_copy = Path(scratch) / "settings"
        if ws.settings_dir.is_dir():
            shutil.copytree(ws.settings_dir, settings_copy)
        settings_copy.mkdir(exist_ok=True)
        ctx = _context(ws, loop, store, problem, settings_copy)
        if theme is not None:
            ctx.settings.theme = theme  # the scratch copy: the user's choice is untouched
        window: QWidget = (
            MainWindow(ctx, persist_layout=False, restore_layout=False)
            if show is None
            else _single_view(ctx, show)
        )
        window.resize(*size)
        window.show()

        async def shoot() -> tuple[int, int] | None:
            await asyncio.sleep(SCREENSHOT_SETTLE_SECONDS)  # let docks lay out and paint
            # the panels' first reads (the chart's starts after the first paint) shown too:
            # no job running for a settle time in a row
            waited = quiet = 0.0
            while quiet < SCREENSHOT_SETTLE_SECONDS and waited < SCREENSHOT_JOBS_WAIT_SECONDS:
                await asyncio.sleep(0.05)
                waited += 0.05
                quiet = 0.0 if ctx.jobs.running() else quiet + 0.05
            if show is not None:
                from app.gui.screenshot_views import stage_view

                await stage_view(show, window, loop)
                await asyncio.sleep(SCREENSHOT_SETTLE_SECONDS)
            image = window.grab()
            saved = not image.isNull() and image.save(str(target), "PNG")
            window.close()
            return (image.width(), image.height()) if saved else None

        with loop:
            saved = loop.run_until_complete(shoot())
        _dispose(window)
    if store is not None:
        store.close()
    if saved is None:
        print(f"artha: could not write the screenshot to {target}", file=sys.stderr)
        return 1
    print(f"artha: saved {saved[0]}x{saved[1]} screenshot to {target}")  # what was written
    if saved != size:
        asked = f"{size[0]}x{size[1]}"
        print(
            f"artha: --size asked for {asked}; the picture is {saved[0]}x{saved[1]}",
            file=sys.stderr,
        )
    return 0


def _single_view(ctx: AppContext, view: str) -> QWidget:
    """One view as a window of its own, in the workspace's (or the asked) theme."""
    # only a picture of one view needs these (a demo run, the engine): not the station's start
    from app.gui.screenshot_views import build_view

    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app, ctx.settings.theme)
    widget = build_view(ctx, view)
    follow = getattr(widget, "apply_theme", None)  # panels that paint their own colours
    if follow is not None:
        follow(ctx.settings.theme)
    return widget
