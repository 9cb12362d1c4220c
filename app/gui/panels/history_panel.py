"""Run history: every saved backtest, to reopen, rename, tag, delete and compare.

The runs come from the workspace's store (engine.data.run_history, the same rules as
`artha runs`); the list is read again when the panel is shown and on `refresh()` (whoever
saves a run calls it, or publishes the event the main window turns into it). Reopening a run
emits `open_run_requested(id)`: the results panel shows it. Listing reads no reports (cheap);
a comparison reads only the two equity curves (app.gui.history_compare).

Writes (rename, tags, delete) refused by the store (read-only, damaged) end in a dialog saying
what happened and what to do; the list is left as the store has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QIcon,
    QKeySequence,
    QPainter,
    QPixmap,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.commands.output import inr
from app.gui.after_paint import after_first_paint
from app.gui.chart.palette import palette_for
from app.gui.context import STORE_OPENED, STORE_OPENING, AppContext
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.themes import current_theme
from engine.data.errors import StoreError
from engine.events import MarketDataChanged
from engine.ist import IST

if TYPE_CHECKING:  # both load SQLAlchemy (~0.3 s): only once the runs are first read
    from app.gui.history_compare import CompareDialog
    from engine.data import run_history as rh
    from engine.data.store import MarketStore  # DuckDB: loaded when the store opens

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
AMBER = {"dark": "#f0b429", "light": "#b7791f"}


def _money(value: Decimal | None) -> str:
    return "" if value is None else inr(value)


def _created(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class RunColumn:
    """One column of the list, declared: header, value (also the sort key), text, alignment."""

    key: str
    header: str
    value: Callable[[rh.RunInfo], Any]
    text: Callable[[Any], str] = str
    numeric: bool = False


# The verdict columns come right after the name: a dock is narrow, and the default name
# already says the strategy, symbols, timeframe and period (their own columns follow).
COLUMNS: tuple[RunColumn, ...] = (
    RunColumn("name", "Name", lambda r: r.name),
    RunColumn("net_pnl", "Net P&L ₹", lambda r: r.net_pnl, _money, numeric=True),
    RunColumn("sharpe", "Sharpe", lambda r: r.sharpe, lambda v: f"{v:.2f}", numeric=True),
    RunColumn("badge", "Badge", lambda r: r.badge or ""),
    RunColumn("trades", "Trades", lambda r: r.summary.get("trades"), lambda v: f"{v:,}", True),
    RunColumn("strategy", "Strategy", lambda r: r.strategy),
    RunColumn("symbols", "Symbols", lambda r: ", ".join(r.symbols)),
    RunColumn("timeframe", "TF", lambda r: r.timeframe or ""),
    RunColumn("period", "Period (IST)", lambda r: r.period),
    RunColumn("created", "Created (IST)", lambda r: r.created_at, _created),
    RunColumn("tags", "Tags", lambda r: ", ".join(r.tags)),
)
COLUMN = {c.key: n for n, c in enumerate(COLUMNS)}


class RunsModel(QAbstractTableModel):
    """The runs, keyed by id: `set_runs` inserts, removes and updates rows in place (a
    refresh after one new run inserts one row; a selection or sort survives it)."""

    rename_requested = Signal(int, str)  # (run id, new name): inline edit of the name

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[rh.RunInfo] = []
        self.colours: dict[str, str] = {}
        self._dots: dict[str, QIcon] = {}
        self.set_colours("#26a69a", "#ef5350", AMBER["dark"])

    def set_colours(self, up: str, down: str, amber: str) -> None:
        self.colours = {"up": up, "down": down, "GREEN": up, "AMBER": amber, "RED": down}
        self._dots.clear()
        if self.runs:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.runs) - 1, len(COLUMNS) - 1)
            )

    def set_runs(self, runs: Sequence[rh.RunInfo]) -> None:
        fresh = {r.id: r for r in runs}
        for row in range(len(self.runs) - 1, -1, -1):  # gone: removed, from the bottom up
            if self.runs[row].id not in fresh:
                self.beginRemoveRows(_ROOT, row, row)
                del self.runs[row]
                self.endRemoveRows()
        for row, old in enumerate(self.runs):  # kept: changed cells repainted
            new = fresh[old.id]
            if new != old:
                self.runs[row] = new
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        known = {r.id for r in self.runs}
        added = [r for r in runs if r.id not in known]
        if added:
            start = len(self.runs)
            self.beginInsertRows(_ROOT, start, start + len(added) - 1)
            self.runs.extend(added)
            self.endInsertRows()

    def run_at(self, row: int) -> rh.RunInfo:
        return self.runs[row]

    def row_of(self, run_id: int) -> int | None:
        return next((n for n, r in enumerate(self.runs) if r.id == run_id), None)

    def sort_key(self, row: int, column: int) -> Any:
        return COLUMNS[column].value(self.runs[row])

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() == COLUMN["name"]:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        run, column = self.runs[index.row()], COLUMNS[index.column()]
        value = column.value(run)
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(value) if value is not None else ""
        if role == Qt.ItemDataRole.EditRole:
            return run.name if column.key == "name" else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(column.key, run)
        if role == Qt.ItemDataRole.DecorationRole and column.key == "badge" and run.badge:
            return self._dot(run.badge)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(column.key, run)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """An inline rename asks the panel (which writes the store); the row changes when the
        store has it (refresh), so a refused rename leaves the old name showing."""
        if role != Qt.ItemDataRole.EditRole or index.column() != COLUMN["name"]:
            return False
        run = self.runs[index.row()]
        text = str(value)
        if " ".join(text.split()) != run.name:
            self.rename_requested.emit(run.id, text)
        return False

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].header
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[section].numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _foreground(self, key: str, run: rh.RunInfo) -> QBrush | None:
        if key == "net_pnl" and run.net_pnl:
            return QBrush(QColor(self.colours["up" if run.net_pnl > 0 else "down"]))
        if key == "badge" and run.badge in self.colours:
            return QBrush(QColor(self.colours[run.badge]))
        return None

    def _dot(self, badge: str) -> QIcon | None:
        colour = self.colours.get(badge)
        if colour is None:
            return None
        if badge not in self._dots:
            pixmap = QPixmap(12, 12)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(QColor(colour))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(1, 1, 10, 10)
            painter.end()
            self._dots[badge] = QIcon(pixmap)
        return self._dots[badge]

    @staticmethod
    def _tooltip(key: str, run: rh.RunInfo) -> str | None:
        if key == "name":
            params = ", ".join(f"{k}={v}" for k, v in run.params.items()) or "defaults"
            source = run.source_hash[:12] if run.source_hash else "unknown"
            return (
                f"Run {run.id}: {run.name}\n{run.strategy_ref or run.strategy}\n"
                f"Parameters: {params}\nSource sha256 {source}…\n"
                f"F2 renames; double-click or Enter reopens"
                + ("" if run.has_report else "\n(saved without a report: cannot be reopened)")
            )
        if key == "period" and run.data_first and run.data_last:
            return f"First bar {run.data_first.isoformat()}\nLast bar {run.data_last.isoformat()}"
        if key == "badge" and run.badge:
            return "The weekly target's verdict (red/amber/green): see the run's results"
        return None


class RunsFilter(QSortFilterProxyModel):
    """Sorts on the columns' values (money as Decimal, dates as dates, blanks first) and
    keeps the rows holding every word of the filter (name, strategy, symbols, tags, ...)."""

    def __init__(self, model: RunsModel) -> None:
        super().__init__()
        self.runs = model
        self.setSourceModel(model)
        self.words: list[str] = []

    def set_text(self, text: str) -> None:
        self.words = text.lower().split()
        self.beginFilterChange()
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self.words:
            return True
        run = self.runs.run_at(source_row)
        words = [run.name, run.strategy, *run.symbols, *run.tags, run.period, f"#{run.id}"]
        haystack = " ".join([*words, run.timeframe or "", run.badge or ""]).lower()
        return all(word in haystack for word in self.words)

    def lessThan(self, left: Index, right: Index) -> bool:
        a = self.runs.sort_key(left.row(), left.column())
        b = self.runs.sort_key(right.row(), right.column())
        if a is None or b is None:
            return a is None and b is not None
        if isinstance(a, str) and isinstance(b, str):
            return a.lower() < b.lower()
        return bool(a < b)


class HistoryPanel(QWidget):
    """The list of saved runs and what can be done with them."""

    open_run_requested = Signal(int)  # a run's id: the results panel reopens it
    runs_changed = Signal()  # after a rename, tag, delete or a refresh that found new runs

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.setObjectName("historyPanel")
        self.ctx = ctx
        self.compare_dialog: CompareDialog | None = None
        self.delete_question: QMessageBox | None = None
        self.tag_dialog: QInputDialog | None = None
        self.error_box: QMessageBox | None = None

        self.filter = QLineEdit()
        self.filter.setObjectName("historyFilter")
        self.filter.setPlaceholderText("Filter runs: name, strategy, symbol, tag…")
        self.filter.setClearButtonEnabled(True)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show the selected run's results (Enter, double-click)")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip(
            "Two selected runs side by side: metrics, what differs, curves"
        )
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the selected run (F2)")
        self.tags_button = QPushButton("Tags…")
        self.tags_button.setToolTip("Edit the selected run's tags (comma-separated)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected runs and their saved reports (Del)")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the runs again from the store")
        self.status = QLabel()
        self.status.setObjectName("historyStatus")
        self.status.setWordWrap(True)  # a long store problem must not widen the window
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 2)
        self.buttons = (
            self.open_button,
            self.compare_button,
            self.rename_button,
            self.tags_button,
            self.delete_button,
            self.refresh_button,
        )
        for button in self.buttons:
            bar.addWidget(button)

        self.model = RunsModel()
        self.model.rename_requested.connect(self.rename)
        self.proxy = RunsFilter(self.model)
        self.table = QTableView()
        self.table.setObjectName("historyTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMN["created"], Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        # Enter or a double-click (a shortcut on Return would also swallow the rename editor's)
        self.table.activated.connect(lambda _index: self.open_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())
        self.filter.textChanged.connect(self._filter)

        self.open_button.clicked.connect(self.open_selected)
        self.compare_button.clicked.connect(self.compare_selected)
        self.rename_button.clicked.connect(self.rename_selected)
        self.tags_button.clicked.connect(self.edit_tags)
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh_button.clicked.connect(self.refresh)
        # Del deletes (asking first); not while a name is being edited (the editor has focus)
        delete = QAction("Delete the selected runs", self)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self.delete_selected)
        self.table.addAction(delete)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self.theme = "dark"
        app_theme = _app_theme()
        self.apply_theme(app_theme or ctx.settings.theme)
        self._read_queued = False  # a read waits for the window's first paint (showEvent)
        subscription = ctx.bus.subscribe(MarketDataChanged, self._on_market_data)
        self.destroyed.connect(lambda *_: subscription.cancel())  # the bus outlives panels
        # no read here: the panel starts behind a tab, and showEvent reads when it is shown

    @property
    def store(self) -> MarketStore | None:
        """The workspace's store: None until it opens (after the window's first paint) or
        when it could not be opened (ctx.store_problem says why)."""
        return self.ctx.store

    def _on_market_data(self, event: MarketDataChanged) -> None:
        if event.source == STORE_OPENED and not self._read_queued and self.isVisible():
            self.refresh()  # (hidden, it reads when next shown)

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the runs again (cheap: no reports); keeps the selection and the sort."""
        if self.ctx.store_opening:
            self.status.setText(STORE_OPENING.capitalize())  # read again once it is open
            return
        if self.store is None:
            self._problem(f"Market store unavailable: {self.ctx.store_problem or 'not open'}")
            return
        try:
            from engine.data import run_history as rh

            runs = rh.list_runs(self.store)
        except StoreError as exc:
            log.error("run history unreadable: %s", exc)
            self._problem(f"Run history unreadable: {exc}")
            return
        before = {r.id for r in self.model.runs}
        self.model.set_runs(runs)
        if not before and runs:
            self.table.resizeColumnsToContents()
            self.table.setColumnWidth(COLUMN["name"], min(self.table.columnWidth(0), 260))
        self._count()
        self._enable()
        if {r.id for r in runs} != before:
            self.runs_changed.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.visibleRegion().isEmpty():
            # shown behind another tab (the station's start): read once the window has
            # painted; its first picture needs neither the runs nor SQLAlchemy (~0.3 s)
            if not self._read_queued:
                self._read_queued = True
                after_first_paint(self, self._queued_read)
            return
        self.refresh()  # runs saved while the panel was hidden

    def _queued_read(self) -> None:
        self._read_queued = False
        self.refresh()

    def selected_ids(self) -> list[int]:
        """The selected runs' ids, oldest first (a comparison's A is the earlier run)."""
        rows = [self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()]
        return sorted(self.model.run_at(row).id for row in rows)

    def select_ids(self, ids: Sequence[int]) -> None:
        """Select these runs (tests, and a run just saved)."""
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for run_id in ids:
            row = self.model.row_of(run_id)
            if row is not None:
                self.table.selectRow(self.proxy.mapFromSource(self.model.index(row, 0)).row())
        self.table.setSelectionMode(mode)

    # -- actions ------------------------------------------------------------------------------
    def open_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        run = self.model.run_at(self.model.row_of(ids[0]) or 0)
        if not run.has_report:
            self._error(
                "Cannot reopen the run",
                f"Run {run.id} ({run.name}) was saved without its report, by an Artha from "
                "before the run history: its parameters and metrics are listed here, but its "
                "trades and curve were not kept. Run the backtest again to see them.",
            )
            return
        self.open_run_requested.emit(run.id)

    def compare_selected(self) -> CompareDialog | None:
        ids = self.selected_ids()
        if len(ids) != 2 or self.store is None:
            return None
        try:
            from app.gui.history_compare import CompareDialog

            dialog = CompareDialog(self.store, ids[0], ids[1], self.theme, parent=self)
        except StoreError as exc:
            self._error("Cannot compare the runs", f"{exc}")
            return None
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._forget_compare(dialog))
        self.compare_dialog = dialog
        dialog.show()
        return dialog

    def _forget_compare(self, dialog: CompareDialog) -> None:
        if self.compare_dialog is dialog:
            self.compare_dialog = None

    def rename_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        row = self.model.row_of(ids[0])
        if row is not None:
            index = self.proxy.mapFromSource(self.model.index(row, COLUMN["name"]))
            self.table.setCurrentIndex(index)
            self.table.edit(index)

    def rename(self, run_id: int, name: str) -> bool:
        from engine.data import run_history as rh

        return self._write(
            "Cannot rename the run", lambda store: rh.rename_run(store, run_id, name)
        )

    def edit_tags(self) -> QInputDialog | None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return None
        run = self.model.run_at(self.model.row_of(ids[0]) or 0)
        dialog = QInputDialog(self)
        dialog.setObjectName("tagDialog")
        dialog.setWindowTitle(f"Tags of run {run.id}")
        dialog.setLabelText(f"{run.name}\nTags, separated by commas (e.g. baseline, nifty):")
        dialog.setTextValue(", ".join(run.tags))
        dialog.textValueSelected.connect(lambda text: self.set_tags(run.id, text))
        self.tag_dialog = dialog
        dialog.open()
        return dialog

    def set_tags(self, run_id: int, text: str) -> bool:
        """Make the run's tags exactly those in `text` (comma-separated)."""
        wanted = [t.strip() for t in text.split(",") if t.strip()]
        row = self.model.row_of(run_id)
        have = self.model.run_at(row).tags if row is not None else []
        from engine.data import run_history as rh

        return self._write(
            "Cannot change the tags",
            lambda store: rh.tag_run(
                store, run_id, add=wanted, remove=[t for t in have if t not in wanted]
            ),
        )

    def delete_selected(self) -> QMessageBox | None:
        ids = self.selected_ids()
        if not ids:
            return None
        names = [self.model.run_at(self.model.row_of(i) or 0).name for i in ids]
        what = f"run {ids[0]} ({names[0]})" if len(ids) == 1 else f"these {len(ids)} runs"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete runs",
            f"Delete {what}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("deleteQuestion")
        box.setInformativeText(
            "Their parameters, metrics, trades and equity curves are removed from the "
            "workspace for good; this cannot be undone."
            if len(ids) > 1
            else "Its parameters, metrics, trades and equity curve are removed from the "
            "workspace for good; this cannot be undone."
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Delete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda result: self._answered_delete(ids, result))
        self.delete_question = box
        box.open()
        return box

    def _answered_delete(self, ids: list[int], result: int) -> None:
        self.delete_question = None
        if result != QMessageBox.StandardButton.Yes:
            return

        from engine.data import run_history as rh

        def delete(store: MarketStore) -> None:
            for run_id in ids:
                rh.delete_run(store, run_id)

        self._write("Cannot delete the runs", delete)

    def _write(self, title: str, change: Callable[[MarketStore], object]) -> bool:
        """Run a store write; refused (read-only, damaged, bad input) -> a dialog, False."""
        if self.store is None:
            self._error(title, f"The market store is not open: {self.ctx.store_problem}")
            return False
        try:
            change(self.store)
        except (StoreError, ValueError) as exc:
            self._error(title, str(exc))
            self.refresh()
            return False
        self.refresh()
        self.runs_changed.emit()
        return True

    # -- showing -----------------------------------------------------------------------------
    def _filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self._count()

    def _count(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        if total == 0:
            text = "No saved runs yet: every backtest (the wizard, artha backtest) is saved here."
        elif shown == total:
            text = f"{total} run{'s' if total != 1 else ''} · select two to compare"
        else:
            text = f"{shown} of {total} runs match the filter"
        self.status.setText(text)
        self.status.setStyleSheet("")

    def _enable(self) -> None:
        count = len(self.selected_ids()) if self.store is not None else 0
        self.open_button.setEnabled(count == 1)
        self.compare_button.setEnabled(count == 2)
        self.rename_button.setEnabled(count == 1)
        self.tags_button.setEnabled(count == 1)
        self.delete_button.setEnabled(count >= 1)
        self.refresh_button.setEnabled(self.store is not None)

    def _problem(self, text: str) -> None:
        self.model.set_runs([])
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(f"color: {self.model.colours['down']}; font-weight: 600;")
        self._enable()

    def _error(self, title: str, text: str) -> QMessageBox:
        if self.error_box is not None:
            self.error_box.close()
        hint = ""
        if "read-only" in text:
            hint = "Close the other Artha holding this workspace, or open it read-write."
        elif "damaged" in text:
            hint = "Check the store (artha data check) and restore a backup if needed."
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self)
        box.setObjectName("historyError")
        if hint:
            box.setInformativeText(hint)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_box = box
        box.open()
        return box

    def _menu(self, where: Any) -> None:
        menu = QMenu(self)
        count = len(self.selected_ids())
        for text, slot, enabled in (
            ("Open", self.open_selected, count == 1),
            ("Compare", self.compare_selected, count == 2),
            ("Rename", self.rename_selected, count == 1),
            ("Tags…", self.edit_tags, count == 1),
            ("Delete…", self.delete_selected, count >= 1),
        ):
            action = menu.addAction(text)
            action.setEnabled(enabled)
            action.triggered.connect(slot)
        menu.popup(self.table.viewport().mapToGlobal(where))

    def apply_theme(self, name: str) -> None:
        """P&L and badge colours from the chart palette of `name` (colour-blind aware)."""
        self.theme = name
        p = palette_for(name, self.ctx.settings.colour_blind)
        self.model.set_colours(p.up, p.down, AMBER.get(name, AMBER["dark"]))
        if self.compare_dialog is not None:
            self.compare_dialog.apply_theme(name)


def _app_theme() -> str | None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if isinstance(app, QApplication) and app.property("arthaTheme"):
        return current_theme(app)
    return None


register_panel(
    PanelSpec(
        panel_id="history",
        title="Run history",
        factory=HistoryPanel,
        area=Qt.DockWidgetArea.RightDockWidgetArea,
        tab_with="data",
        order=40,
        shortcut="Ctrl+Shift+Y",
    )
)
