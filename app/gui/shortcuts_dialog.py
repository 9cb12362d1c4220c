"""Help > Keyboard shortcuts: every key the station answers, read from the live actions.

The list is built from the main window's menus and each panel's own actions at the moment it
opens, so a shortcut added (or changed) anywhere appears here without anyone updating a table;
keys a widget reads in its own keyPressEvent come from its panel's `handled_keys()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

MAIN_GROUP = "Main window"


@dataclass(frozen=True)
class Shortcut:
    group: str  # "Main window" or a panel's title
    action: str  # what the key does, in words
    keys: str  # as the platform shows it ("Ctrl+B", "⌘B" on a Mac)


def _words(text: str) -> str:
    """A menu text as a phrase: "&Backtest…" -> "Backtest…"."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _keys(action: QAction) -> str:
    return ", ".join(
        key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts()
    )


def _menu_actions(menu: QMenu, path: str) -> list[tuple[str, QAction]]:
    found: list[tuple[str, QAction]] = []
    for action in menu.actions():
        sub = action.menu()
        if isinstance(sub, QMenu):
            found += _menu_actions(sub, f"{path} ▸ {_words(sub.title())}")
        elif not action.isSeparator():
            found.append((path, action))
    return found


def shortcuts_of(window: QMainWindow) -> list[Shortcut]:
    """Every shortcut of `window`: its menus' actions (panel toggles included), then each
    panel's own keys (the editor's, the chart's, the watchlist's), grouped by panel."""
    rows: list[Shortcut] = []
    seen: set[int] = set()
    for top in window.menuBar().actions():
        menu = top.menu()
        if not isinstance(menu, QMenu):
            continue
        for path, action in _menu_actions(menu, _words(menu.title())):
            seen.add(id(action))
            if _keys(action):
                rows.append(
                    Shortcut(MAIN_GROUP, f"{path} ▸ {_words(action.text())}", _keys(action))
                )
    for dock in window.findChildren(QDockWidget):
        panel = dock.widget()
        if panel is None:
            continue
        group = dock.windowTitle()
        for action in panel.findChildren(QAction):
            if id(action) in seen or not _keys(action) or not action.text():
                continue
            seen.add(id(action))
            rows.append(Shortcut(group, _words(action.text()), _keys(action)))
        handled = getattr(panel, "handled_keys", None)  # keys a widget reads itself
        if handled is not None:
            rows += [Shortcut(group, text, keys) for text, keys in handled()]
    return rows


class ShortcutsDialog(QDialog):
    """The shortcuts of one main window in a filterable tree, one branch per group."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcutsDialog")
        self.rows = shortcuts_of(window)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: an action or a key")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._fill)
        self.tree = QTreeWidget()
        self.tree.setObjectName("shortcutsTree")
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(620, 560)
        self._fill("")

    def _fill(self, text: str) -> None:
        needle = text.strip().lower()
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for row in self.rows:
            if needle and needle not in f"{row.group} {row.action} {row.keys}".lower():
                continue
            parent = groups.get(row.group)
            if parent is None:
                parent = QTreeWidgetItem(self.tree, [row.group, ""])
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                groups[row.group] = parent
            QTreeWidgetItem(parent, [f"    {row.action}", row.keys])
        self.tree.expandAll()

    def shown_keys(self) -> list[tuple[str, str]]:
        """(action, keys) of every row shown, for tests and a quick look."""
        shown: list[tuple[str, str]] = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            children = [group.child(j) for j in range(group.childCount())] if group else []
            shown += [(c.text(0).strip(), c.text(1)) for c in children if c is not None]
        return shown
