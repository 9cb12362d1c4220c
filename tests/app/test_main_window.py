"""The main window built for real, offscreen: docks from the registry, layout, themes, About."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from app.gui.main_window import LAYOUT_VERSION
from app.gui.panels.registry import PanelSpec, panel_specs, register_panel, unregister_panel
from app.gui.ui_settings import UiSettings
from app.version import __version__
from tests.app.conftest import ist


def test_every_registered_panel_becomes_a_dock_with_a_view_toggle(make_window):
    window = make_window()
    window.show()
    ids = [spec.panel_id for spec in panel_specs()]
    assert {"home", "log"} <= set(ids)
    assert list(window.docks) == ids
    toggles = [a.text() for a in window.panels_menu.actions()]
    assert toggles == [spec.title for spec in panel_specs()]
    assert window.docks["log"].objectName() == "dock.log"
    assert window.dockWidgetArea(window.docks["log"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    window.docks["log"].toggleViewAction().trigger()
    assert window.docks["log"].isHidden()
    window.docks["log"].toggleViewAction().trigger()
    assert window.docks["log"].isVisible()


def test_a_new_panel_plugs_in_through_the_registry(make_window):
    spec = PanelSpec("probe", "Probe", lambda ctx: QLabel(f"ws={ctx.workspace.root.name}"))
    register_panel(spec)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_panel(spec)
        window = make_window()
        widget = window.docks["probe"].widget()
        assert isinstance(widget, QLabel) and widget.text() == "ws=workspace"
        assert "Probe" in [a.text() for a in window.panels_menu.actions()]
    finally:
        unregister_panel("probe")


def test_a_panel_that_fails_to_build_does_not_take_the_window_down(make_window, caplog):
    def explode(ctx) -> QWidget:
        raise RuntimeError("boom")

    register_panel(PanelSpec("broken", "Broken", explode))
    try:
        with caplog.at_level(logging.ERROR):
            window = make_window()
    finally:
        unregister_panel("broken")
    placeholder = window.docks["broken"].widget()
    assert isinstance(placeholder, QLabel) and "failed to load" in placeholder.text()
    assert "panel 'broken' failed to build" in caplog.text
    assert "home" in window.docks


def test_layout_is_saved_on_close_restored_on_start_and_resettable(make_window, workspace):
    first = make_window()
    first.show()
    first.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, first.docks["log"])
    first.docks["home"].hide()
    first.close()

    second = make_window()
    second.show()
    assert second.dockWidgetArea(second.docks["log"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert second.docks["home"].isHidden()

    second.reset_layout()
    assert second.dockWidgetArea(second.docks["log"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert not second.docks["home"].isHidden()


def test_layout_saved_by_another_layout_version_is_ignored(make_window, workspace):
    window = make_window()
    window.show()
    window.close()
    settings = UiSettings(workspace.settings_dir / "ui.ini")
    assert settings.window_layout(LAYOUT_VERSION) is not None
    assert settings.window_layout(LAYOUT_VERSION + 1) is None


def test_screenshot_windows_do_not_overwrite_the_saved_layout(make_window, workspace):
    window = make_window(persist_layout=False)
    window.show()
    window.close()
    assert UiSettings(workspace.settings_dir / "ui.ini").window_layout(LAYOUT_VERSION) is None


def test_theme_switch_applies_and_persists(make_window, workspace):
    window = make_window()
    app = QApplication.instance()
    assert window.theme_actions["dark"].isChecked()
    dark_bg = app.palette().window().color().lightness()
    window.theme_actions["light"].trigger()
    assert app.palette().window().color().lightness() > dark_bg + 100
    assert UiSettings(workspace.settings_dir / "ui.ini").theme == "light"
    window.theme_actions["dark"].trigger()
    assert app.palette().window().color().lightness() == dark_bg


def test_status_bar_shows_market_clock_and_broker_state(make_window):
    window = make_window(now=ist(2026, 1, 16, 10, 0, 5))
    clock = window.market_clock
    assert clock.phase_label.text() == "OPEN"
    assert clock.detail_label.text() == "closes 15:30"
    assert clock.time_label.text() == "10:00:05 IST"
    assert window.broker_label.text() == "Broker: not connected"


def test_about_dialog_names_the_version(make_window, qtbot):
    window = make_window()
    dialog = window.show_about()
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert f"Artha {__version__}" in dialog.text_label.text()
    assert str(window.ctx.workspace.root) in dialog.text_label.text()


def test_first_start_offers_demo_data_once(make_window, workspace, qtbot):
    window = make_window()
    window.show()
    assert window.should_offer_demo()
    box = window.offer_demo()
    qtbot.addWidget(box)
    assert box.isVisible() and "SYNTHETIC" in box.text()
    box.button(box.StandardButton.No).click()
    panel = window.docks["data"].widget()
    assert not panel.busy  # "Start empty" creates nothing
    assert not window.should_offer_demo()  # asked once per workspace
    assert UiSettings(workspace.settings_dir / "ui.ini").demo_offered


def test_accepting_the_offer_creates_the_demo_data(make_window, qtbot):
    window = make_window()
    window.show()
    box = window.offer_demo()
    panel = window.docks["data"].widget()
    with qtbot.waitSignal(panel._done.finished, timeout=120_000):
        box.button(box.StandardButton.Yes).click()
    assert panel.model.rowCount() == 50


def test_log_lines_carry_ist_times_like_the_status_bar(make_window, qtbot):
    """The machine here may run on UTC: a 09:15:07 IST record still reads 09:15:07."""
    from app.gui.panels.log_panel import LogPanel

    window = make_window()
    panel = window.findChild(LogPanel)
    logger = logging.getLogger("artha.test.ist")  # reaches the panel's handler on the root
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "market open", (), None)
    record.created = ist(2026, 6, 1, 9, 15, 7).timestamp()
    logger.handle(record)
    qtbot.waitUntil(lambda: "market open" in panel.view.toPlainText())
    assert panel.view.toPlainText().splitlines()[-1] == (
        "09:15:07 INFO    artha.test.ist: market open"
    )
    assert "IST" in panel.view.toolTip()


def test_no_panel_widens_the_window_past_a_laptop_screen(workspace, aloop, qtbot):
    """A long message (the store unavailable) or a wide results page once made the window's
    minimum 2,100 px: every panel must fit a 1366-px laptop screen, docked side by side."""
    from app.gui.context import AppContext
    from app.gui.main_window import MainWindow
    from app.gui.ui_settings import UiSettings
    from engine.bus import EventBus

    problem = "could not open " + "/very/long/path" * 20 + ": it is in use by another process"
    ctx = AppContext(
        workspace=workspace,
        bus=EventBus(aloop),
        settings=UiSettings(workspace.settings_dir / "ui.ini"),
        store=None,
        store_problem=problem,
    )
    window = MainWindow(ctx, persist_layout=False, restore_layout=False)
    qtbot.addWidget(window)
    widest = {pid: dock.minimumSizeHint().width() for pid, dock in window.docks.items()}
    assert max(widest.values()) <= 700, widest
    assert window.minimumSizeHint().width() <= 1366


def test_building_the_window_asks_the_store_for_its_series_once(make_window, monkeypatch):
    """Half a dozen panels list the stored series as the window is built: one query
    answers them all, and only while the window is built."""
    from engine.data.store import MarketStore

    calls: list[int] = []
    real = MarketStore.list_series

    def counted(self: MarketStore) -> list:
        calls.append(1)
        return real(self)

    monkeypatch.setattr(MarketStore, "list_series", counted)
    window = make_window()
    assert len(calls) == 1
    store = window.ctx.store
    assert "list_series" not in vars(store)  # asked afresh from now on
    store.list_series()
    assert len(calls) == 2


def test_sharing_the_series_list_keeps_a_store_error_for_every_caller(make_window):
    from app.gui.main_window import shared_series_list
    from engine.data.store import StoreError

    window = make_window()
    store = window.ctx.store
    with shared_series_list(store):
        first = store.list_series()
        first.append("mine")  # each caller gets its own copy
        assert store.list_series() == first[:-1]
    store.close()
    with shared_series_list(store):
        for _ in range(2):
            with pytest.raises(StoreError):
                store.list_series()
