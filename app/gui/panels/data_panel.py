"""Data manager: what the store holds, importing files, the demo data, a quality report.

Imports and the demo data run as jobs of the context's job runner (engine.jobs: a worker
thread, progress and cancel, the end as an event on the bus), so the GUI keeps painting and the
main window knows what is running when it is closed. The store is the GUI process's own (DuckDB
allows one writer). Every file of an import ends in one result dialog
(app.gui.panels.import_result), after the trader's word on files held for bars on days the
exchange was closed; a cancelled import's dialog says which files were stored before the
cancel and which not.
"""

from __future__ import annotations

import logging
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
from engine.data.store import MarketStore, SeriesInfo, StoreDamaged, StoreError
from engine.events import (
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    JobProgress,
    MarketDataChanged,
)
from engine.jobs import JobControl

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
    # (what the work returned, error): emitted once a job's end has been shown
    finished = Signal(object, str)
    # the quality report (or why there is none) now in the pane, for the selected series
    quality_shown = Signal(str)


@dataclass(frozen=True)
class _Held:
    """An import waiting for the trader's word on its held files."""

    outcome: ImportOutcome
    options: ImportOptions


Work = Callable[[MarketStore, JobControl], Any]


def _importing(paths: Sequence[str], options: ImportOptions) -> Work:
    """The job's work: import_files, file by file progress, stopping between files on a cancel
    (the files parsed before it are stored, the rest not tried); if it raises half-way, what
    it had reported."""

    def work(store: MarketStore, control: JobControl) -> ImportOutcome:
        settled: list[FileResult] = []
        read = 0  # files handed over by the parser (import_files asks `cancelled` after each)

        def on_result(result: FileResult) -> None:
            settled.append(result)
            control.progress(max(len(settled), read), len(paths), result.path)

        def cancelled() -> bool:
            nonlocal read
            read += 1
            control.progress(max(len(settled), read - 1), len(paths))
            return control.cancelled()

        try:
            return import_files(store, paths, options, on_result=on_result, cancelled=cancelled)
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
        self._jobs = ctx.jobs
        self._done = _Done()
        self.busy = False
        self._job: int | None = None  # the running job's id
        # the newest quality check's job id: an older one's result arriving late is dropped
        self._quality_job: int | None = None
        self._then: Callable[[Any], None] | None = None  # what to do with the work's result
        self._what = ""
        self._progress: Callable[[JobProgress], str] | None = None
        subscription = ctx.bus.subscribe(JobEvent, self._on_job_event)
        self.destroyed.connect(lambda *_: subscription.cancel())  # the bus outlives panels
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
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelJob")
        self.cancel_button.setToolTip(
            "Stop after the file in hand: files read so far are stored, the rest are not"
        )
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.setVisible(False)
        # the store's problem is a paragraph (file, damage, what to do): the status line shows
        # its start, this shows all of it, selectable (the line's tooltip has it too)
        self._problem = ""
        self.problem_dialog: QMessageBox | None = None
        self.details_button = QPushButton("Details…")
        self.details_button.setObjectName("storeProblemDetails")
        self.details_button.setToolTip("The whole message about the market store, and what to do")
        self.details_button.clicked.connect(self.show_problem)
        self.details_button.setVisible(False)
        bar = QHBoxLayout()
        for widget in (self.import_button, self.demo_button, self.actions_button, refresh):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.status, 100)  # takes the room the buttons leave, no more
        bar.addWidget(self.details_button)
        bar.addWidget(self.cancel_button)

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
        self._problem = ""
        self.details_button.setVisible(False)
        if self._store is None:
            self._show_problem(f"Market store unavailable: {self._store_problem or 'not open'}")
            return
        try:
            rows: Sequence[SeriesInfo] = self._store.list_series()
        except StoreError as exc:  # a damaged store: say so here; the rest of the app runs
            if not isinstance(exc, StoreDamaged):  # the store logs damage itself, once
                log.error("market store unreadable: %s", exc)
            self._show_problem(f"Market store unreadable: {exc}")
            self.status.setStyleSheet("color: #d9534f; font-weight: 600;")
            self.model.set_rows([])
            self.quality.clear()
            return
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

    def _show_problem(self, text: str) -> None:
        """The store cannot be used: the start of `text` in the bar, all of it behind Details;
        nothing more goes into it (the buttons that write are off)."""
        self._problem = text
        self.status.setText(text if len(text) <= 90 else text[:89] + "…")
        self.status.setToolTip(text)
        self.details_button.setVisible(True)
        for button in self._store_buttons():
            button.setEnabled(False)

    def show_problem(self) -> QMessageBox | None:
        """The store's whole problem in a dialog whose text can be selected and copied."""
        if not self._problem:
            return None
        if self.problem_dialog is not None:
            self.problem_dialog.close()
        head, _, rest = self._problem.partition(": ")
        box = QMessageBox(QMessageBox.Icon.Warning, "Market store", head, parent=self)
        box.setObjectName("storeProblem")
        box.setInformativeText(rest)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._problem_closed)
        self.problem_dialog = box
        box.open()
        return box

    def _problem_closed(self) -> None:
        self.problem_dialog = None

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
        """The selected series' quality report, read and built as a job off the GUI thread
        (a long series takes seconds); the newest selection wins over a late older result."""
        row = self.table.currentIndex().row()
        if self._store is None or not 0 <= row < len(self.model.rows):
            self._quality_job = None
            self.quality.clear()
            return
        info: SeriesInfo = self.model.rows[row]
        self.quality.setPlainText(f"Checking quality of {_series_name(info)}…")
        self._quality_job = self._jobs.submit(
            _checking_quality(self._store, info),
            f"Quality check of {_series_name(info)}",
            cancellable=False,
            ask_before_close=False,
        )

    def _quality_ended(self, event: JobFinished | JobCancelled | JobFailed) -> None:
        self._quality_job = None
        if isinstance(event, JobFailed):
            text = f"Quality check failed: {bounded(event.message)}"
            log.error("%s", text)
        else:
            text = str(event.result or "")
        self.quality.setPlainText(text)
        self._done.quality_shown.emit(text)

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
            progress=_import_progress,
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
            progress=_import_progress,
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
        """Generate and store the demo data as a job (one transaction: it has no cancel)."""

        def work(store: MarketStore, control: JobControl) -> str:
            from engine.data.demo import install_demo

            created, seconds = install_demo(store)
            return (
                f"SYNTHETIC demo data created in {seconds:.1f} s"
                if created
                else "SYNTHETIC demo data already present"
            )

        self._start(
            work,
            "Creating SYNTHETIC demo data…",
            lambda summary: log.info("%s", summary),
            cancellable=False,
        )

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button in self._store_buttons():
            button.setEnabled(not busy)

    def _start(
        self,
        work: Work,
        what: str,
        then: Callable[[Any], None],
        progress: Callable[[JobProgress], str] | None = None,
        cancellable: bool = True,
    ) -> None:
        """Run `work` as a job of the runner, then `then(its result)` on the GUI thread."""
        if self._store is None or self.busy:
            return
        store = self._store
        self._then, self._what, self._progress = then, what, progress
        self._set_busy(True)
        self.status.setStyleSheet("")
        self.status.setText(what)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(cancellable)
        self._job = self._jobs.submit(
            lambda control: work(store, control), what.rstrip("…"), cancellable=cancellable
        )

    @property
    def job(self) -> int | None:
        """The id of the job this panel is running, if any."""
        return self._job

    def cancel_job(self) -> bool:
        """Cancel the running import: it stops between files; the result then says which
        files were stored before the cancel and which not."""
        if self._job is None or not self._jobs.cancel(self._job):
            return False
        self.cancel_button.setEnabled(False)
        self.status.setText("Cancelling: storing the files already read, not the rest…")
        return True

    def _on_job_event(self, event: JobEvent) -> None:
        if event.job_id == self._quality_job and not isinstance(event, JobProgress):
            if isinstance(event, JobFinished | JobCancelled | JobFailed):
                self._quality_ended(event)
            return
        if event.job_id != self._job:
            return
        if isinstance(event, JobProgress):
            if self._progress is not None and self.cancel_button.isEnabled():
                self.status.setText(self._progress(event))
        elif isinstance(event, JobFinished | JobCancelled):
            self._on_finished(event.result, "", cancelled=isinstance(event, JobCancelled))
        elif isinstance(event, JobFailed):
            self._on_finished(None, event.message)

    def _on_finished(self, result: object, error: str, cancelled: bool = False) -> None:
        then, self._then = self._then, None
        self._job = None
        self.cancel_button.setVisible(False)
        self._set_busy(False)
        self.refresh()
        if error:
            text = f"{self._what.rstrip('…')} failed: {bounded(error)}"
            log.error("%s", text)
            box = QMessageBox(QMessageBox.Icon.Warning, "Not done", text, parent=self)
            box.setObjectName("dataFailed")
            box.open()
        elif cancelled and result is None:
            log.info("%s cancelled", self._what.rstrip("…"))
        elif then is not None:
            then(result)
        self._bus.publish(MarketDataChanged("data panel"))
        self._done.finished.emit(result, error)

    def show_warning(self, text: str) -> None:
        """A warning about what was just imported (provisional calendar dates), in the bar."""
        self.status.setText(f"⚠ {text if len(text) <= 90 else text[:89] + '…'}")
        self.status.setToolTip(text)
        self.status.setStyleSheet("color: #d99a1e; font-weight: 600;")


def _series_name(info: SeriesInfo) -> str:
    return f"{info.exchange}:{info.symbol} {info.timeframe}"


def _checking_quality(store: MarketStore, info: SeriesInfo) -> Callable[[JobControl], str]:
    """The job's work: read the series and render its quality report (on a worker thread:
    the store gives each call its own cursor)."""

    def work(control: JobControl) -> str:
        from engine.data.quality import quality_report, render_text

        series = store.read_bars(info.symbol, info.timeframe, exchange=info.exchange)
        exchange = "BSE" if info.exchange in ("BSE", "BFO") else "NSE"
        return render_text(quality_report(series, exchange))

    return work


def _import_progress(event: JobProgress) -> str:
    return f"Importing {event.done} of {event.total} files…"


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
