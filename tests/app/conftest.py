from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from app.gui.context import AppContext
from app.gui.ui_settings import UiSettings
from engine.bus import EventBus
from engine.calendar import IST
from engine.data.store import MarketStore
from tests.app.backtest_cli_helpers import SYMBOL, csv_lines, run_json, write_csv


@pytest.fixture(autouse=True, scope="session")
def fusion_first(qapp) -> None:
    """The style set once, before the first widget, as the app does (themes.use_fusion)."""
    from app.gui.themes import use_fusion

    use_fusion(qapp)


@pytest.fixture(autouse=True)
def no_window_outlives_its_test(qapp):
    """Close and delete every top-level widget a test leaves that Python owns (panels and
    dialogs built alone, pyqtgraph's parentless plot menus), as a real session ends with its
    one window: left to the garbage collector, such a widget (its wrapper often sits in a
    reference cycle) is deleted at whatever moment the collector runs, in a later test.

    Not the others: a top-level widget Python does not own belongs to something alive in C++
    and dies with it (a menu or popup with a parent, a combo box's list, the hidden QWidget
    every QGraphicsLayout keeps for style metrics: one per pyqtgraph plot). Deleting one of
    those leaves its owner a dangling pointer; destroying a plot after its layout's QWidget
    was deleted crashes (~QGraphicsWidget -> ~QGraphicsGridLayout)."""
    yield
    import shiboken6
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():
        if widget.parent() is None and shiboken6.ownedByPython(widget):
            widget.hide()
            widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def ist(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=IST)


@pytest.fixture
def make_ctx(workspace, aloop) -> Callable[..., AppContext]:
    """An AppContext on the temp workspace; `now` pins the clock the panels see."""

    stores = []

    def factory(now: datetime | None = None) -> AppContext:
        if not stores:
            stores.append(MarketStore.open(workspace.database_path))
        ctx = AppContext(
            workspace=workspace,
            bus=EventBus(aloop),
            settings=UiSettings(workspace.settings_dir / "ui.ini"),
            store=stores[0],
        )
        if now is not None:
            ctx.now = lambda: now
        return ctx

    yield factory
    for store in stores:
        store.close()


@pytest.fixture
def make_window(make_ctx, qtbot):
    from app.gui.main_window import MainWindow

    def factory(now: datetime | None = None, **kwargs: object) -> MainWindow:
        window = MainWindow(make_ctx(now), **kwargs)
        qtbot.addWidget(window)
        return window

    return factory


# -- the `artha backtest` CLI tests' bar file and reports (built once per module) --------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bars")


@pytest.fixture(scope="module")
def csv_file(data_dir: Path) -> Path:
    return write_csv(data_dir / f"{SYMBOL.lower()}.csv", csv_lines())


@pytest.fixture(scope="module")
def default_report(data_dir: Path, csv_file: Path) -> dict:
    return run_json(data_dir, csv_file, name="default.json")


@pytest.fixture(scope="module")
def no_cost_report(data_dir: Path, csv_file: Path) -> dict:
    return run_json(data_dir, csv_file, "--costs", "none", name="no_cost.json")
