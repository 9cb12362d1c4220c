"""The main window's Settings, Charges calculator and Help > Keyboard shortcuts: opened from
their menu entries, the theme chosen in Settings applied to the window, and the shortcut list
read from the live actions (so it names every key, and no key means two things)."""

from __future__ import annotations

from collections import Counter

from PySide6.QtWidgets import QApplication

from app.gui.charges_dialog import ChargesDialog
from app.gui.settings_dialog import SettingsDialog
from app.gui.shortcuts_dialog import MAIN_GROUP, ShortcutsDialog, shortcuts_of
from app.gui.themes import current_theme


def test_the_shortcut_list_names_the_main_actions_and_each_panels_keys(make_window, qtbot):
    window = make_window()
    rows = shortcuts_of(window)
    by_action = {(r.group, r.action): r.keys for r in rows}
    assert by_action[(MAIN_GROUP, "Research ▸ Backtest…")] == "Ctrl+B"
    assert by_action[(MAIN_GROUP, "File ▸ Settings…")] == "Ctrl+,"
    assert by_action[(MAIN_GROUP, "Tools ▸ Charges calculator…")] == "Ctrl+Shift+K"
    assert by_action[(MAIN_GROUP, "Help ▸ Keyboard shortcuts")] == "F1"
    assert by_action[(MAIN_GROUP, "View ▸ Panels ▸ Strategy editor")] == "Ctrl+Shift+E"
    editor = window.docks["editor"].windowTitle()
    assert by_action[(editor, "Check (compile, lint, load)")] == "F7"
    assert by_action[(editor, "Comment lines in or out")] == "Ctrl+/"
    assert by_action[("Watchlist", "Move up")] == "Alt+Up"
    assert ("Run history", "Delete the selected runs") in by_action


def test_no_key_means_two_things_where_both_could_fire(make_window):
    """A window-wide key reused inside a panel is ambiguous in Qt: neither action fires."""
    rows = shortcuts_of(make_window())
    window_keys = Counter(r.keys for r in rows if r.group == MAIN_GROUP)
    assert [k for k, n in window_keys.items() if n > 1] == []
    clashes = [r for r in rows if r.group != MAIN_GROUP and r.keys in window_keys]
    assert clashes == []
    for group in {r.group for r in rows if r.group != MAIN_GROUP}:
        keys = Counter(r.keys for r in rows if r.group == group)
        assert [k for k, n in keys.items() if n > 1] == [], group


def test_help_lists_the_shortcuts_and_filters_them(make_window, qtbot):
    window = make_window()
    window.shortcuts_action.trigger()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible()
    assert len(dialog.shown_keys()) == len(dialog.rows) > 25
    dialog.filter.setText("ctrl+b")
    assert dialog.shown_keys() == [("Research ▸ Backtest…", "Ctrl+B")]
    dialog.close()


def test_settings_from_the_file_menu_switch_the_theme_of_the_window(make_window, qtbot):
    window = make_window()
    window.set_theme("dark")
    window.settings_action.trigger()
    dialog = window.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.colour_blind.setChecked(True)
    assert dialog.apply()
    app = QApplication.instance()
    assert current_theme(app) == "light"
    assert window.theme_actions["light"].isChecked()
    assert window.colour_blind_action.isChecked() and window.ctx.settings.colour_blind
    dialog.close()
    window.set_theme("dark")


def test_the_charges_calculator_opens_from_the_tools_menu(make_window, qtbot):
    window = make_window()
    window.charges_action.trigger()
    dialog = window.findChild(ChargesDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.close()
