"""Data manager: what the store holds, importing files, the demo data, a quality report.

Imports run on a worker thread (the GUI keeps painting); the thread only talks back through a
queued Qt signal. The store is the GUI process's own (DuckDB allows one writer).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
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
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.table_model import Column, RowsModel
from engine.data.bar_series import ist_iso
from engine.data.import_files import ImportOptions
from engine.data.store import MarketStore, SeriesInfo
from engine.events import MarketDataChanged

log = logging.getLogger(__name__)
WARNING_PREFIX = "warning: "

COLUMNS = (
    Column("Exchange", lambda s: s.exchange),
    Column("Symbol", lambda s: s.symbol),
    Column("TF", lambda s: s.timeframe),
    Column("First bar (IST)", lambda s: ist_iso(s.first_ts)[:16].replace("T", " ")),
    Column("Last bar (IST)", lambda s: ist_iso(s.last_ts)[:16].replace("T", " ")),
    Column("Bars", lambda s: s.bars, lambda v: f"{v:,}", numeric=True),
)
FILE_FILTER = "Bar and bhavcopy files (*.csv *.CSV *.zip *.ZIP *.parquet *.txt);;All files (*)"


class _Done(QObject):
    finished = Signal(str, str)  # (summary, error)


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
        self.status = QLabel()
        bar = QHBoxLayout()
        for widget in (self.import_button, self.demo_button, self.actions_button, refresh):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.status)

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
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        total = sum(r.bars for r in rows)
        demo = any(r.symbol.startswith("SYN") for r in rows)
        self.status.setText(
            f"{len(rows)} series, {total:,} bars"
            + (" (includes SYNTHETIC demo data)" if demo else "")
        )

    def _show_quality(self) -> None:
        row = self.table.currentIndex().row()
        if self._store is None or not 0 <= row < len(self.model.rows):
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
        def work(store: MarketStore) -> str:
            from engine.data.import_files import import_files

            outcome = import_files(store, paths, options)
            done = "\n".join(
                f"{path}: already imported" if report.already_imported
                else f"{path}: {report.bars_written:,} bars written"
                for path, report in outcome.reports
            )  # fmt: skip
            if outcome.warning:
                done += f"\n{WARNING_PREFIX}{outcome.warning}"
            if outcome.errors:  # the files that went in are still said (the log panel)
                for line in done.splitlines():
                    log.info("%s", line)
                raise ValueError("\n".join(outcome.errors))
            return done

        self._start(work, f"Importing {len(paths)} file(s)…")

    def create_demo(self) -> None:
        def work(store: MarketStore) -> str:
            from engine.data.demo import install_demo

            created, seconds = install_demo(store)
            return (
                f"SYNTHETIC demo data created in {seconds:.1f} s"
                if created
                else "SYNTHETIC demo data already present"
            )

        self._start(work, "Creating SYNTHETIC demo data…")

    def _start(self, work: Callable[[MarketStore], str], what: str) -> None:
        if self._store is None or self.busy:
            return
        store = self._store
        self.busy = True
        for button in self._store_buttons():
            button.setEnabled(False)
        self.status.setText(what)

        def run() -> None:
            try:
                summary, error = work(store), ""
            except Exception as exc:  # shown to the user, with the file:line it names
                summary, error = "", str(exc)
            self._done.finished.emit(summary, error)

        threading.Thread(target=run, name="artha-data-import", daemon=True).start()

    def _on_finished(self, summary: str, error: str) -> None:
        self.busy = False
        for button in self._store_buttons():
            button.setEnabled(True)
        self.refresh()
        if error:
            log.error("data import failed: %s", error)
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Import failed",
                f"{error}\n\nNothing from that file was stored.",
                parent=self,
            )
            box.setObjectName("importFailed")
            box.open()
        else:
            for line in summary.splitlines():
                if line.startswith(WARNING_PREFIX):
                    log.warning("%s", line)
                    self.show_warning(line.removeprefix(WARNING_PREFIX))
                else:
                    log.info("%s", line)
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
