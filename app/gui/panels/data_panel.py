"""Data manager: what the store holds, importing files, the demo data, a quality report.

Imports run on a worker thread (the GUI keeps painting); the thread only talks back through a
queued Qt signal. The store is the GUI process's own (DuckDB allows one writer). Every file of
an import ends in one result dialog (app.gui.panels.import_result), after the trader's word on
files held for bars on days the exchange was closed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.context import AppContext
from app.gui.panels.corporate_actions import CorporateActionsDialog
from app.gui.panels.import_dialog import ImportDialog
from app.gui.panels.import_result import (
    HeldChoice,
    HeldFilesDialog,
    ImportResultDialog,
    bounded,
    fixed_font,
    log_outcome,
    merged,
    stopped,
)
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.table_model import Column, RowsModel
from engine.data.bar_series import ist_iso
from engine.data.import_files import FileResult, ImportOptions, ImportOutcome, import_files
from engine.data.store import MarketStore, SeriesInfo
from engine.events import MarketDataChanged

log = logging.getLogger(__name__)

COLUMNS = (
    Column("Exchange", lambda s: s.exchange),
    Column("Symbol", lambda s: s.symbol),
    Column("TF", lambda s: s.timeframe),
    Column("First bar (IST)", lambda s: ist_iso(s.first_ts)[:16].replace("T", " ")),
    Column("Last bar (IST)", lambda s: ist_iso(s.last_ts)[:16].replace("T", " ")),
    Column("Bars", lambda s: s.bars, lambda v: f"{v:,}", numeric=True),
)
FILE_FILTER = "Bar and bhavcopy files (*.csv *.CSV *.zip *.ZIP *.parquet *.txt);;All files (*)"


class _StatusLabel(QLabel):
    """The panel's one-line status: cut with "…" to the width it gets, never widening the
    panel (a long calendar warning did); the whole text stays in text() and the tooltip."""

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        box = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, box.width())
        painter.drawText(
            box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text
        )


class _Done(QObject):
    finished = Signal(object, str)  # (what the work returned, error)


@dataclass(frozen=True)
class _Held:
    """An import waiting for the trader's word on its held files."""

    outcome: ImportOutcome
    options: ImportOptions


def _importing(
    paths: Sequence[str], options: ImportOptions
) -> Callable[[MarketStore], ImportOutcome]:
    """The thread's work: import_files, and if it raises half-way, what it had reported."""

    def work(store: MarketStore) -> ImportOutcome:
        settled: list[FileResult] = []
        try:
            return import_files(store, paths, options, on_result=settled.append)
        except Exception as exc:  # the files it reported are as they were reported
            log.exception("the import stopped")
            return stopped(paths, settled, str(exc) or type(exc).__name__)

    return work


class DataPanel(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.setObjectName("dataPanel")
        self._store = ctx.store
        self._store_problem = ctx.store_problem
        self._bus = ctx.bus
        self._done = _Done()
        self._done.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self.busy = False
        self._then: Callable[[Any], None] | None = None  # what to do with the work's result
        self._what = ""
        self._held: _Held | None = None
        self.held_question: HeldFilesDialog | None = None
        self.result_dialog: ImportResultDialog | None = None

        self.import_button = QPushButton("Import files…")
        self.import_button.clicked.connect(self._choose_files)
        self.demo_button = QPushButton("Create demo data")
        self.demo_button.setToolTip("50 SYNTHETIC NIFTY-like instruments, 120 sessions of 1m bars")
        self.demo_button.clicked.connect(self.create_demo)
        self.actions_button = QPushButton("Corporate actions…")
        self.actions_button.setObjectName("actionsButton")
        self.actions_button.setToolTip("Splits, bonuses and dividends of the selected series")
        self.actions_button.clicked.connect(self.open_actions)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.status = _StatusLabel()
        bar = QHBoxLayout()
        for widget in (self.import_button, self.demo_button, self.actions_button, refresh):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.status, 100)  # takes the room the buttons leave, no more

        self.model = RowsModel(COLUMNS)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._show_quality)
        self.quality = QPlainTextEdit(readOnly=True)
        self.quality.setObjectName("qualityReport")
        self.quality.setFont(fixed_font())  # the report's columns line up as in the CLI
        self.quality.setPlaceholderText("Select a row to see its coverage, gaps and bad bars.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.quality)
        split.setSizes([300, 140])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(split)
        self.refresh()

    # -- showing ------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.status.setStyleSheet("")
        self.status.setToolTip("")
        if self._store is None:
            text = f"Market store unavailable: {self._store_problem or 'not open'}"
            self.status.setText(text if len(text) <= 90 else text[:89] + "…")
            self.status.setToolTip(text)
            for button in self._store_buttons():
                button.setEnabled(False)
            return
        rows: Sequence[SeriesInfo] = self._store.list_series()
        shown = self._selected_key()
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        self._select(shown)
        total = sum(r.bars for r in rows)
        demo = any(r.symbol.startswith("SYN") for r in rows)
        self.status.setText(
            f"{len(rows)} series, {total:,} bars"
            + (" (includes SYNTHETIC demo data)" if demo else "")
        )

    def _selected_key(self) -> tuple[str, str, str] | None:
        row = self.table.currentIndex().row()
        if not 0 <= row < len(self.model.rows):
            return None
        info: SeriesInfo = self.model.rows[row]
        return info.exchange, info.symbol, info.timeframe

    def _select(self, key: tuple[str, str, str] | None) -> None:
        """Select the series `key` again after the rows were replaced (its quality report is
        made afresh: an import may have changed it); without it, no stale report is left."""
        for row, info in enumerate(self.model.rows):
            if (info.exchange, info.symbol, info.timeframe) == key:
                self.table.selectRow(row)
                self._show_quality()
                return
        self.quality.clear()

    def _show_quality(self) -> None:
        row = self.table.currentIndex().row()
        if self._store is None or not 0 <= row < len(self.model.rows):
            self.quality.clear()
            return
        info: SeriesInfo = self.model.rows[row]
        from engine.data.quality import quality_report, render_text

        series = self._store.read_bars(info.symbol, info.timeframe, exchange=info.exchange)
        exchange = "BSE" if info.exchange in ("BSE", "BFO") else "NSE"
        self.quality.setPlainText(render_text(quality_report(series, exchange)))

    def _store_buttons(self) -> tuple[QPushButton, ...]:
        """Buttons that write to the store: off without one, and while an import runs."""
        return (self.import_button, self.demo_button, self.actions_button)

    def open_actions(self) -> None:
        """The corporate actions of the selected series (all of them when none is selected)."""
        if self._store is None or self.busy:
            return
        row = self.table.currentIndex().row()
        symbol = exchange = None
        if 0 <= row < len(self.model.rows):
            info: SeriesInfo = self.model.rows[row]
            symbol, exchange = info.symbol, info.exchange
        dialog = CorporateActionsDialog(self._store, symbol, exchange, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # a new one each time
        # a bound method, not a lambda: a lambda holding the panel crashed PySide 6.11 when
        # the dialog (a child of the panel) was deleted on close
        dialog.changed.connect(self._actions_changed)
        dialog.open()

    def _actions_changed(self) -> None:
        self._bus.publish(MarketDataChanged("corporate actions"))

    # -- work on a thread ---------------------------------------------------------------------
    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import market data", "", FILE_FILTER)
        if not paths:
            return
        dialog = ImportDialog(paths, parent=self)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        options = dialog.options()
        dialog.deleteLater()  # a child of the panel: one per import, not kept
        if accepted:
            self.import_files(paths, options)

    def import_files(self, paths: Sequence[str], options: ImportOptions | None = None) -> None:
        """Import on the thread; every file's result ends in the result dialog, after the
        trader's word on files held for bars on closed days (resolve_held)."""
        options = options or ImportOptions()
        self._start(
            _importing(paths, options),
            f"Importing {len(paths)} file(s)…",
            lambda outcome: self._imported(outcome, options),
        )

    def _imported(self, outcome: ImportOutcome, options: ImportOptions) -> None:
        held = outcome.held
        if not held:
            self._show_result(outcome)
            return
        for file in held:
            log.warning("held until you say keep, leave out or skip: %s", bounded(file.problem))
        self._held = _Held(outcome, options)
        self._set_busy(True)  # the import is not over until the trader says
        self.status.setText(f"{len(held)} file(s) held: bars on days the exchange was closed")
        question = HeldFilesDialog(held, parent=self)
        question.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        question.chosen.connect(self.resolve_held)
        self.held_question = question
        question.open()

    def resolve_held(self, choice: str) -> None:
        """The trader's word on the held files: "keep" or "drop" imports them again with
        those bars kept or left out, "skip" stores nothing of them."""
        held, self._held = self._held, None
        if held is None:
            return
        question, self.held_question = self.held_question, None
        if question is not None and not question.answered:
            question.answered = True  # answered here (a test, a script): close it quietly
            question.close()
        self._set_busy(False)
        if choice == HeldChoice.SKIP:
            log.info("held files skipped: nothing from them was stored")
            self.refresh()
            self._show_result(held.outcome, skipped=True)
            return
        paths = [f.path for f in held.outcome.held]
        doing = "keeping" if choice == HeldChoice.KEEP else "leaving out"
        self._start(
            _importing(paths, replace(held.options, closed_days=HeldChoice(choice).value)),
            f"Importing {len(paths)} held file(s), {doing} their bars on closed days…",
            lambda again: self._show_result(merged(held.outcome, again)),
        )

    def _show_result(self, outcome: ImportOutcome, skipped: bool = False) -> None:
        log_outcome(log, outcome, skipped)
        if outcome.warning:
            self.show_warning(outcome.warning)
        if self.result_dialog is not None:
            self.result_dialog.close()  # one result at a time: the newest
        dialog = ImportResultDialog(outcome, skipped, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._result_closed)  # at once, not on deletion later
        self.result_dialog = dialog
        dialog.open()

    def _result_closed(self) -> None:
        self.result_dialog = None  # closed with WA_DeleteOnClose: deleted soon

    def create_demo(self) -> None:
        def work(store: MarketStore) -> str:
            from engine.data.demo import install_demo

            created, seconds = install_demo(store)
            return (
                f"SYNTHETIC demo data created in {seconds:.1f} s"
                if created
                else "SYNTHETIC demo data already present"
            )

        self._start(work, "Creating SYNTHETIC demo data…", lambda summary: log.info("%s", summary))

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button in self._store_buttons():
            button.setEnabled(not busy)

    def _start(
        self, work: Callable[[MarketStore], Any], what: str, then: Callable[[Any], None]
    ) -> None:
        """Run `work` on a thread, then `then(its result)` on the GUI thread."""
        if self._store is None or self.busy:
            return
        store = self._store
        self._then, self._what = then, what
        self._set_busy(True)
        self.status.setText(what)

        def run() -> None:
            try:
                result, error = work(store), ""
            except Exception as exc:  # shown to the user, with the file:line it names
                result, error = None, str(exc) or type(exc).__name__
            self._done.finished.emit(result, error)

        threading.Thread(target=run, name="artha-data-import", daemon=True).start()

    def _on_finished(self, result: object, error: str) -> None:
        then, self._then = self._then, None
        self._set_busy(False)
        self.refresh()
        if error:
            text = f"{self._what.rstrip('…')} failed: {bounded(error)}"
            log.error("%s", text)
            box = QMessageBox(QMessageBox.Icon.Warning, "Not done", text, parent=self)
            box.setObjectName("dataFailed")
            box.open()
        elif then is not None:
            then(result)
        self._bus.publish(MarketDataChanged("data panel"))

    def show_warning(self, text: str) -> None:
        """A warning about what was just imported (provisional calendar dates), in the bar."""
        self.status.setText(f"⚠ {text if len(text) <= 90 else text[:89] + '…'}")
        self.status.setToolTip(text)
        self.status.setStyleSheet("color: #d99a1e; font-weight: 600;")


register_panel(
    PanelSpec(
        panel_id="data",
        title="Data",
        factory=DataPanel,
        area=Qt.DockWidgetArea.RightDockWidgetArea,
        shortcut="Ctrl+Shift+D",
        order=20,
    )
)
