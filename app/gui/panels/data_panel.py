"""Data manager: what the store holds, importing files, the demo data, a quality report.

Imports and the demo data run as jobs of the context's job runner (engine.jobs: a worker
thread, progress and cancel, the end as an event on the bus), so the GUI keeps painting and the
main window knows what is running when it is closed. The store is the GUI process's own (DuckDB
allows one writer). Every file of an import ends in one result dialog
(app.gui.panels.import_result), after the trader's word on files held for bars on days the
exchange was closed; a cancelled import's dialog says which files were stored before the
cancel and which not.

"Download from broker…" asks (app.gui.download_dialog) for an account, symbols, a span and a
timeframe, then downloads as a job of the same runner: the job's thread waits while the
download's coroutine runs on the app's loop (where the broker connections live), each chunk
stored whole; Cancel stops after the request in hand and downloading again resumes.

Files (or folders, for the files in them) dropped from the file manager take the Import
button's path: the same options dialog, the same job. While a job runs a progress bar shows
files done of all (a busy bar when there is no count to show) beside its Cancel button. The
list's last column is each series' coverage as a timeline (app.gui.coverage_timeline), read
in one query as a job after every refresh; the panel's `coverage_shown` says it is on screen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.context import STORE_OPENED, STORE_OPENING, AppContext
from app.gui.coverage_timeline import CoverageDelegate, CoverageRowsModel
from app.gui.elided_label import ElidedLabel
from app.gui.message_style import ERROR_STYLE, WARNING_STYLE, bounded, fixed_font
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.table_model import Column
from engine.data.coverage import StoreCoverage, read_coverage
from engine.data.errors import StoreDamaged, StoreError
from engine.events import (
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    JobProgress,
    MarketDataChanged,
)
from engine.ist import IST, ist_iso
from engine.jobs import JobControl

if TYPE_CHECKING:
    # What imports, downloads and their dialogs use loads when one starts: the importers
    # and the backtester's modules under the broker hub bring pandas (~0.3 s), which the
    # panel's first picture (the list of series) does not need.
    from app.commands.data_download import DownloadOutcome, DownloadStep
    from app.gui.download_dialog import DownloadDialog, DownloadRequest, InstrumentCache
    from app.gui.panels.import_result import HeldFilesDialog, ImportResultDialog
    from brokers.accounts import BrokerAccount
    from brokers.hub import BrokerHub
    from engine.data.import_files import FileResult, ImportOptions, ImportOutcome
    from engine.data.store import MarketStore, SeriesInfo  # DuckDB: when the store opens

log = logging.getLogger(__name__)
SIZE_FROM_ROWS = 40

COLUMNS = (
    Column("Exchange", lambda s: s.exchange),
    Column("Symbol", lambda s: s.symbol),
    Column("TF", lambda s: s.timeframe),
    Column("First bar (IST)", lambda s: ist_iso(s.first_ts)[:16].replace("T", " ")),
    Column("Last bar (IST)", lambda s: ist_iso(s.last_ts)[:16].replace("T", " ")),
    Column("Bars", lambda s: s.bars, lambda v: f"{v:,}", numeric=True),
)
FILE_FILTER = "Bar and bhavcopy files (*.csv *.CSV *.zip *.ZIP *.parquet *.txt);;All files (*)"
# what a dropped folder contributes (a dropped file is imported whatever its name: the
# importer judges it by its content and says why it refuses it)
FOLDER_SUFFIXES: Final = (".csv", ".zip", ".parquet", ".txt")
OK_STYLE: Final = "color: #2e9d5b;"  # the result dialog's green of a stored file
COVERAGE_AT: Final = 3  # the timeline's column: after Exchange, Symbol, TF
TIMELINE_MIN: Final = 160  # pixels: narrower, a session is under a pixel on a 120-day store
READ_WAIT_SECONDS: Final = 5.0  # the longest a closing panel waits for its own reads
MAX_DROPPED: Final = 5_000  # files from one drop: a dropped home folder is not an import


def dropped_paths(mime: QMimeData) -> list[str]:
    """The local files of a drop, a folder giving the data files under it (sorted, hidden
    ones left out); [] when the drop holds no local file or folder (text, a web link)."""
    paths: list[str] = []
    for url in mime.urls() if mime.hasUrls() else []:
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        if path.is_dir():
            paths.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.suffix.lower() in FOLDER_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists():
            paths.append(str(path))
        if len(paths) > MAX_DROPPED:
            break
    return list(dict.fromkeys(paths))[:MAX_DROPPED]


def _holds_local_paths(mime: QMimeData) -> bool:
    """Whether a drag holds local files or folders at all (a cheap check while dragging:
    folders are walked only on the drop)."""
    return mime.hasUrls() and any(
        url.isLocalFile() and Path(url.toLocalFile()).exists() for url in mime.urls()
    )


class _DropHighlight(QWidget):
    """Drawn over the panel while acceptable files are dragged over it: a tinted, dashed
    frame in the theme's highlight colour and what a drop will do."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropHighlight")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = ""
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        accent = palette.color(QPalette.ColorRole.Highlight)
        tint = QColor(accent)
        tint.setAlphaF(0.16)
        painter.fillRect(self.rect(), tint)
        pen = QPen(accent, 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
        font = painter.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        # the words on a plate of the window's colour: readable over the rows below
        flags = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        box = self.rect().adjusted(12, 12, -12, -12)
        text = painter.boundingRect(box, flags, self.text)
        plate = text.adjusted(-18, -10, 18, 10)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(palette.color(QPalette.ColorRole.Window))
        painter.setPen(QPen(accent, 2))
        painter.drawRoundedRect(plate, 8, 8)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        painter.drawText(box, flags, self.text)


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


Work = Callable[["MarketStore", JobControl], Any]


def _importing(paths: Sequence[str], options: ImportOptions) -> Work:
    """The job's work: import_files, file by file progress, stopping between files on a cancel
    (the files parsed before it are stored, the rest not tried); if it raises half-way, what
    it had reported."""

    def work(store: MarketStore, control: JobControl) -> ImportOutcome:
        from app.gui.panels.import_result import stopped
        from engine.data.import_files import import_files

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


PROGRESS_UNITS: Final = 1_000  # a download's progress: thousandths of each instrument


def _downloading(
    hub: BrokerHub,
    account: BrokerAccount,
    request: DownloadRequest,
    cache: InstrumentCache,
    now: Callable[[], datetime],
    loop: asyncio.AbstractEventLoop,
) -> Work:
    """The job's work: the download's coroutine on the app's loop (where the hub's brokers
    live), this job's thread waiting for it; progress a request at a time, Cancel asked
    between requests. Bad input and broker errors before the first chunk raise (the job
    fails with their message); a failure later comes back in the outcome with what stored."""

    def work(store: MarketStore, control: JobControl) -> DownloadOutcome:
        async def download() -> DownloadOutcome:
            from app.commands.data_download import (
                StoreTarget,
                check_timeframe,
                download_instruments,
                download_span,
            )
            from engine.broker.models import ConnectionState

            broker = hub.broker(account)
            check_timeframe(broker, request.timeframe)
            start, end = download_span(request.start, request.end, now())
            if hub.state(account.account_id)[0] is not ConnectionState.CONNECTED:
                await hub.connect(account)
            book = cache.book(hub, account, now().astimezone(IST).date())
            instruments = await book.resolve(request.symbols, request.exchange)

            def step(at: DownloadStep) -> None:
                key = instruments[at.index].key
                text = f"{key} {request.timeframe.value}"
                if at.done < at.total:
                    text += f", request {at.done + 1} of {at.total}"
                if at.count > 1:
                    text += f" ({at.index + 1} of {at.count})"
                total = at.count * PROGRESS_UNITS
                control.progress(round(at.fraction * total), total, text)

            return await download_instruments(
                broker, StoreTarget(store), instruments, request.timeframe, start, end,
                progress=step, cancelled=control.cancelled,
            )  # fmt: skip

        return asyncio.run_coroutine_threadsafe(download(), loop).result()

    return work


class DataPanel(QWidget):
    # the coverage timelines of the rows now listed are painted (after each refresh): what a
    # screenshot waits for (`coverage_pending` False means nothing more is coming)
    coverage_shown = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.setObjectName("dataPanel")
        self.setAcceptDrops(True)
        self._ctx = ctx
        self._waiting: list[Callable[[], None]] = []  # asked for before the store opened
        self._bus = ctx.bus
        self._jobs = ctx.jobs
        self._done = _Done()
        self.busy = False
        self._job: int | None = None  # the running job's id
        # the newest quality check's job id: an older one's result arriving late is dropped
        self._quality_job: int | None = None
        self._coverage_job: int | None = None  # the newest coverage read, likewise
        self._columns_fitted = False  # sized to the rows listed (_fit_columns)
        self._reads: set[int] = set()  # this panel's reads not yet ended, older ones too
        self._then: Callable[[Any], None] | None = None  # what to do with the work's result
        self._what = ""
        self._progress: Callable[[JobProgress], str] | None = None
        self._bar_text: Callable[[int, int], str] = _files_done
        self._cancel_text = ""
        self._cancelling = ""
        self._instrument_cache: InstrumentCache | None = None  # the brokers' dumps, for the day
        self.download_dialog: DownloadDialog | None = None
        self.download_failed: QMessageBox | None = None
        self.last_download: DownloadOutcome | None = None
        for subscription in (
            ctx.bus.subscribe(JobEvent, self._on_job_event),
            ctx.bus.subscribe(MarketDataChanged, self._on_market_data),
        ):  # the bus outlives panels
            self.destroyed.connect(lambda *_, s=subscription: s.cancel())
        self._held: _Held | None = None
        self.held_question: HeldFilesDialog | None = None
        self.result_dialog: ImportResultDialog | None = None

        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip(
            "Import files: NSE/BSE bhavcopies, OHLCV CSV or Parquet (or drop them here)"
        )
        self.import_button.clicked.connect(self._choose_files)
        self.download_button = QPushButton("Download…")
        self.download_button.setObjectName("downloadButton")
        self.download_button.setToolTip(
            "Download from a broker: candles from a Zerodha or Upstox account into the store, "
            "chunked and resumable"
        )
        self.download_button.clicked.connect(self.open_download)
        self.demo_button = QPushButton("Demo data")
        self.demo_button.setToolTip("50 SYNTHETIC NIFTY-like instruments, 120 sessions of 1m bars")
        self.demo_button.clicked.connect(self.create_demo)
        self.actions_button = QPushButton("Actions…")
        self.actions_button.setObjectName("actionsButton")
        self.actions_button.setToolTip(
            "Corporate actions: splits, bonuses and dividends of the selected series"
        )
        self.actions_button.clicked.connect(self.open_actions)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        # cut with … to the room it gets, never widening the panel (a long calendar warning did)
        self.status = ElidedLabel(
            alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelJob")
        self.cancel_button.setToolTip(
            "Stop after the file in hand: files read so far are stored, the rest are not"
        )
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("jobProgress")
        self.progress.setMinimumWidth(140)
        self.progress.setMaximumWidth(200)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)  # only while a job of this panel runs
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
        for widget in (
            self.import_button,
            self.download_button,
            self.demo_button,
            self.actions_button,
            refresh,
        ):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.status, 100)  # takes the room the buttons leave, no more
        bar.addWidget(self.details_button)
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel_button)

        # the timeline right after the series' name: in a narrow dock it stays in sight, and
        # the first/last dates scrolled off are in its tooltip
        self.model = CoverageRowsModel(COLUMNS, at=COVERAGE_AT)
        self.table = QTableView()
        self.table.setModel(self.model)
        # column widths from the first rows, not all: a store of 2,500 bhavcopy symbols would
        # otherwise ask every row for its text at each refresh (Python calls: ~1 s)
        self.table.horizontalHeader().setResizeContentsPrecision(SIZE_FROM_ROWS)
        self.table.setItemDelegateForColumn(
            self.model.coverage_column, CoverageDelegate(self.table)
        )
        self.table.viewport().installEventFilter(self)  # its width sets the timeline's
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.selectionModel().currentRowChanged.connect(self._show_quality)
        self.quality = QPlainTextEdit(readOnly=True)
        self.quality.setObjectName("qualityReport")
        self.quality.setAcceptDrops(False)  # a dropped file is an import, not text to paste
        self.quality.setFont(fixed_font())  # the report's columns line up as in the CLI
        self.quality.setPlaceholderText("Select a row to see its coverage, gaps and bad bars.")
        # the report's verdict in words and colour above it, so OK / problems is seen at once
        self.quality_title = QLabel("Data quality")
        self.quality_title.setObjectName("qualityTitle")
        font = self.quality_title.font()
        font.setBold(True)
        self.quality_title.setFont(font)
        self.copy_quality = QPushButton("Copy report")
        self.copy_quality.setObjectName("copyQuality")
        self.copy_quality.setToolTip("Copy the quality report, e.g. to keep it with the data")
        self.copy_quality.clicked.connect(self._copy_quality)
        self.copy_quality.setEnabled(False)
        title_row = QHBoxLayout()
        title_row.setContentsMargins(0, 4, 0, 0)
        title_row.addWidget(self.quality_title, 1)
        title_row.addWidget(self.copy_quality)
        quality_box = QWidget()
        quality_layout = QVBoxLayout(quality_box)
        quality_layout.setContentsMargins(0, 0, 0, 0)
        quality_layout.setSpacing(2)
        quality_layout.addLayout(title_row)
        quality_layout.addWidget(self.quality)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(quality_box)
        split.setSizes([300, 170])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(split)
        self.drop_highlight = _DropHighlight(self)
        self.refresh()

    @property
    def _instruments(self) -> InstrumentCache:
        """The brokers' instruments books, kept for the day (made at the first download)."""
        if self._instrument_cache is None:
            from app.gui.download_dialog import InstrumentCache

            self._instrument_cache = InstrumentCache()
        return self._instrument_cache

    # -- showing ------------------------------------------------------------------------------
    @property
    def _store(self) -> MarketStore | None:
        """None until the store opens (after the first paint) or if it could not be."""
        return self._ctx.store

    def _on_market_data(self, event: MarketDataChanged) -> None:
        if event.source == STORE_OPENED:  # (the panel refreshes itself after its own imports)
            self.refresh()
            waiting, self._waiting = self._waiting, []
            for start in waiting[:1]:  # one job at a time, as the panel's buttons allow
                start()

    def refresh(self) -> None:
        self.status.setStyleSheet("")
        self.status.setToolTip("")
        self._problem = ""
        self.details_button.setVisible(False)
        if self._ctx.store_opening:
            self.status.setText(STORE_OPENING.capitalize())  # for a moment at the start
            return
        if self._store is None:
            self._show_problem(f"Market store unavailable: {self._ctx.store_problem or 'not open'}")
            return
        try:
            rows: Sequence[SeriesInfo] = self._store.list_series()
        except StoreError as exc:  # a damaged store: say so here; the rest of the app runs
            if not isinstance(exc, StoreDamaged):  # the store logs damage itself, once
                log.error("market store unreadable: %s", exc)
            self._show_problem(f"Market store unreadable: {exc}")
            self.status.setStyleSheet(ERROR_STYLE)
            self.model.set_rows([])
            self._clear_quality()
            return
        shown = self._selected_key()
        self.model.set_rows(rows)
        self._fit_columns()
        self._select(shown)
        total = sum(r.bars for r in rows)
        demo = any(r.symbol.startswith("SYN") for r in rows)
        self.status.setText(
            f"{len(rows)} series, {total:,} bars"
            + (" (includes SYNTHETIC demo data)" if demo else "")
        )
        self._read_coverage()

    # -- coverage timelines ---------------------------------------------------------------------
    def _read_coverage(self) -> None:
        """Every series' coverage, read as a job (one query, ~40 ms on the demo's 2.25M bars;
        longer on a big store): the newest read wins over a late older one."""
        if self._store is None:
            return
        store = self._store
        self._coverage_job = self._jobs.submit(
            lambda control: read_coverage(store),
            "Coverage of the stored series",
            cancellable=False,
            ask_before_close=False,
        )
        self._reads.add(self._coverage_job)

    @property
    def coverage_pending(self) -> bool:
        """A coverage read is under way: the timelines are not yet those of the rows."""
        return self._coverage_job is not None

    @property
    def settled(self) -> bool:
        """Nothing of this panel is under way (no job, no coverage or quality read): what a
        screenshot waits for before grabbing."""
        return not self.busy and not self._reads

    def _coverage_ended(self, event: JobFinished | JobCancelled | JobFailed) -> None:
        self._coverage_job = None
        if isinstance(event, JobFinished) and isinstance(event.result, StoreCoverage):
            self.model.set_coverage(event.result)
        else:  # the list still stands; the column stays empty and the log says why
            message = event.message if isinstance(event, JobFailed) else "not read"
            log.warning("coverage of the stored series not shown: %s", bounded(message))
            self.model.set_coverage(None)
        self.coverage_shown.emit()

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
        self._clear_quality()

    def _clear_quality(self) -> None:
        self.quality.clear()
        self._set_quality_title("Data quality")

    def _set_quality_title(self, text: str, style: str = "", ended: bool = False) -> None:
        """The line above the report; `ended`: a report (or why none) is there to copy."""
        self.quality_title.setText(text)
        self.quality_title.setStyleSheet(style)
        self.copy_quality.setEnabled(ended)

    def _copy_quality(self) -> None:
        QGuiApplication.clipboard().setText(self.quality.toPlainText())

    def _show_quality(self) -> None:
        """The selected series' quality report, read and built as a job off the GUI thread
        (a long series takes seconds); the newest selection wins over a late older result."""
        row = self.table.currentIndex().row()
        if self._store is None or not 0 <= row < len(self.model.rows):
            self._quality_job = None
            self._clear_quality()
            return
        info: SeriesInfo = self.model.rows[row]
        self.quality.setPlainText(f"Checking quality of {_series_name(info)}…")
        self._set_quality_title(f"Data quality of {_series_name(info)}: checking…")
        self._quality_job = self._jobs.submit(
            _checking_quality(self._store, info),
            f"Quality check of {_series_name(info)}",
            cancellable=False,
            ask_before_close=False,
        )
        self._reads.add(self._quality_job)

    def _quality_ended(self, event: JobFinished | JobCancelled | JobFailed) -> None:
        self._quality_job = None
        checked = event.result if isinstance(event, JobFinished) else None
        if isinstance(checked, _Checked):
            text = checked.text
            self.quality.setPlainText(text)
            verdict = "OK" if checked.ok else "problems found"
            self._set_quality_title(
                f"Data quality of {checked.name}: {verdict}",
                OK_STYLE if checked.ok else WARNING_STYLE,
                ended=True,
            )
        else:
            message = event.message if isinstance(event, JobFailed) else "stopped"
            text = f"Quality check failed: {bounded(message)}"
            log.error("%s", text)
            self.quality.setPlainText(
                f"{text}\nSelect the row again to retry; if it fails again, the log has the "
                "details (View ▸ Log)."
            )
            self._set_quality_title("Data quality: not checked", ERROR_STYLE, ended=True)
        self._done.quality_shown.emit(text)

    def _store_buttons(self) -> tuple[QPushButton, ...]:
        """Buttons that write to the store: off without one, and while an import runs."""
        return (self.import_button, self.download_button, self.demo_button, self.actions_button)

    def open_actions(self) -> None:
        """The corporate actions of the selected series (all of them when none is selected)."""
        if self._store is None or self.busy:
            return
        row = self.table.currentIndex().row()
        symbol = exchange = None
        if 0 <= row < len(self.model.rows):
            info: SeriesInfo = self.model.rows[row]
            symbol, exchange = info.symbol, info.exchange
        from app.gui.panels.corporate_actions import CorporateActionsDialog

        dialog = CorporateActionsDialog(self._store, symbol, exchange, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # a new one each time
        # a bound method, not a lambda: a lambda holding the panel crashed PySide 6.11 when
        # the dialog (a child of the panel) was deleted on close
        dialog.changed.connect(self._actions_changed)
        dialog.open()

    def _actions_changed(self) -> None:
        self._bus.publish(MarketDataChanged("corporate actions"))

    # -- dropped files ------------------------------------------------------------------------
    def _can_take_drop(self, mime: QMimeData) -> bool:
        return self._store is not None and not self.busy and _holds_local_paths(mime)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if not self._can_take_drop(event.mimeData()):
            event.ignore()
            return
        event.acceptProposedAction()
        n = sum(url.isLocalFile() for url in event.mimeData().urls())
        self.drop_highlight.text = f"Drop to import {'these files' if n > 1 else 'this file'}"
        self.drop_highlight.setGeometry(self.rect())
        self.drop_highlight.raise_()
        self.drop_highlight.show()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._can_take_drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_highlight.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_highlight.hide()
        if not self._can_take_drop(event.mimeData()):
            event.ignore()
            return
        paths = dropped_paths(event.mimeData())
        event.acceptProposedAction()
        if not paths:
            self._say_nothing_to_import(event.mimeData())
            return
        # the options dialog runs its own event loop: not inside the drop, which the file
        # manager is still waiting on
        QTimer.singleShot(0, lambda: self.ask_and_import(paths))

    def _say_nothing_to_import(self, mime: QMimeData) -> None:
        names = ", ".join(Path(u.toLocalFile()).name for u in mime.urls() if u.isLocalFile())
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Nothing to import",
            f"No data file in {names}.",
            parent=self,
        )
        box.setObjectName("nothingDropped")
        box.setInformativeText(
            "A folder gives its .csv, .zip, .parquet and .txt files (hidden ones left out). "
            "Drop bhavcopies or bar files, or the folder that holds them."
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        """The store may close right after the panel (a screenshot, a test): its own short
        reads (coverage, quality) end first, so none runs on a closed store."""
        self.wait_for_reads(READ_WAIT_SECONDS)
        super().closeEvent(event)

    def wait_for_reads(self, timeout: float) -> bool:
        """Block until this panel's background reads have ended (at most `timeout` seconds);
        True if none is left. Imports are not waited for: they have their own cancel."""
        mine = set(self._reads)
        deadline = time.monotonic() + timeout
        for info in self._jobs.running():
            if info.job_id in mine and info.thread is not None:
                info.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(info.job_id in mine for info in self._jobs.running())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_coverage()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        """Columns to their contents, once the table is on screen: sizing asks every cell
        (the timelines' too, ~30 ms for 50 series), and a panel behind a tab at the
        station's start does it when it is first shown instead (showEvent)."""
        self._columns_fitted = self.table.isVisible()
        if self._columns_fitted:
            self.table.resizeColumnsToContents()
            self._fit_coverage()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._columns_fitted:
            self._fit_columns()

    def _fit_coverage(self) -> None:
        """The timeline takes the width the other columns leave; when that is under
        TIMELINE_MIN (a narrow dock) it takes what the columns before it leave, and the
        columns after it scroll into view."""
        column = self.model.coverage_column
        widths = [self.table.columnWidth(c) for c in range(self.model.columnCount())]
        room = self.table.viewport().width()
        left = room - sum(widths) + widths[column]
        width = left if left >= TIMELINE_MIN else max(TIMELINE_MIN, room - sum(widths[:column]))
        if self.table.columnWidth(column) != width:
            self.table.setColumnWidth(column, width)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.drop_highlight.setGeometry(self.rect())

    # -- work on a thread ---------------------------------------------------------------------
    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import market data", "", FILE_FILTER)
        if paths:
            self.ask_and_import(paths)

    def ask_and_import(self, paths: Sequence[str]) -> None:
        """The options dialog for `paths`, then their import: the Import button's path and
        a drop's."""
        if self._store is None or self.busy or not paths:
            return
        from app.gui.panels.import_dialog import ImportDialog

        dialog = ImportDialog(paths, parent=self)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        options = dialog.options()
        dialog.deleteLater()  # a child of the panel: one per import, not kept
        if accepted:
            self.import_files(paths, options)

    def import_files(self, paths: Sequence[str], options: ImportOptions | None = None) -> None:
        """Import on the thread; every file's result ends in the result dialog, after the
        trader's word on files held for bars on closed days (resolve_held)."""
        from engine.data.import_files import ImportOptions

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
        from app.gui.panels.import_result import HeldFilesDialog

        question = HeldFilesDialog(held, parent=self)
        question.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        question.chosen.connect(self.resolve_held)
        self.held_question = question
        question.open()

    def resolve_held(self, choice: str) -> None:
        """The trader's word on the held files: "keep" or "drop" imports them again with
        those bars kept or left out, "skip" stores nothing of them."""
        from app.gui.panels.import_result import HeldChoice, merged

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
        from app.gui.panels.import_result import ImportResultDialog, log_outcome

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

    # -- downloads from a broker ----------------------------------------------------------------
    def open_download(self) -> DownloadDialog | None:
        """The download dialog (accounts from brokers.json, the selected series' symbol
        offered); its Download starts the job."""
        if self._store is None or self.busy:
            return None
        from app.commands.data_download import download_accounts
        from app.gui.download_dialog import DownloadDialog
        from brokers.accounts import AccountError

        try:
            accounts = download_accounts(self._ctx.broker_accounts())
        except AccountError as exc:
            box = QMessageBox(QMessageBox.Icon.Warning, "Broker accounts", str(exc), parent=self)
            box.setObjectName("downloadAccountsUnreadable")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            return None
        key = self._selected_key()
        dialog = DownloadDialog(
            accounts,
            hub=self._ctx.brokers,
            cache=self._instruments,
            now=self._ctx.now,
            initial_symbols=[key[1]] if key else (),
            parent=self,
        )
        if key is not None:
            index = dialog.exchange_box.findText(key[0])
            dialog.exchange_box.setCurrentIndex(max(index, 0))
            dialog.timeframe_box.setCurrentText(key[2])
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._download_chosen)
        dialog.finished.connect(self._download_dialog_closed)
        self.download_dialog = dialog
        dialog.open()
        return dialog

    def _download_chosen(self) -> None:
        dialog = self.download_dialog
        request = dialog.request() if dialog is not None else None
        if request is not None:
            self.start_download(request)

    def _download_dialog_closed(self) -> None:
        self.download_dialog = None

    def start_download(self, request: DownloadRequest) -> None:
        """Download `request` as a job (the coroutine on the app's loop, see `_downloading`);
        its outcome ends in the status line, a failure in a message too."""
        hub = self._ctx.brokers
        names = ", ".join(request.symbols)
        if hub is None:
            self._download_refused(
                f"No broker connections run in this window: download {names} from the "
                "station's main window, or with `artha data download`."
            )
            return
        from brokers.accounts import AccountError

        try:
            account = self._ctx.broker_accounts().get(request.account_id)
        except AccountError as exc:
            self._download_refused(str(exc))
            return
        loop = asyncio.get_event_loop_policy().get_event_loop()
        what = f"Downloading {names} {request.timeframe.value} from {account.title}…"
        self._start(
            _downloading(hub, account, request, self._instruments, self._ctx.now, loop),
            what,
            lambda outcome: self._downloaded(outcome, account),
            progress=lambda event: f"Downloading {event.text}…",
            bar_text=lambda done, total: f"{100 * done // max(total, 1)} %",
            cancel_text=(
                "Stop after the request in hand: what was stored stays, and downloading the "
                "same span again resumes after it"
            ),
            cancelling="stopping after the request in hand; what is stored stays",
        )

    def _download_refused(self, text: str) -> None:
        log.error("download not started: %s", text)
        box = QMessageBox(QMessageBox.Icon.Warning, "Not downloaded", text, parent=self)
        box.setObjectName("downloadFailed")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.download_failed = box
        box.open()

    def _downloaded(self, outcome: DownloadOutcome, account: BrokerAccount) -> None:
        """The result line (every instrument's summary in its tooltip and the log); a broker
        failure also as a message with what to do."""
        self.last_download = outcome
        lines = outcome.lines()
        for line in lines:
            log.info("download: %s", line)
        bars = f"{outcome.bars_written:,} bars"
        names = ", ".join(r.symbol for r in outcome.reports)
        if outcome.failure is not None:
            text = f"Download stopped: {outcome.failure.message}"
            style = ERROR_STYLE
        elif outcome.cancelled:
            text = f"Download cancelled after {bars} ({names}); download again to resume"
            style = WARNING_STYLE
        else:
            text = f"Downloaded {bars}: {names}"
            style = OK_STYLE
        self.status.setText(text)
        self.status.setToolTip("\n".join(lines))
        self.status.setStyleSheet(style)
        if outcome.failure is not None:
            error = outcome.failure
            advice = (
                f"Log in to {account.account_id} in File ▸ Settings ▸ Brokers, then download "
                "again: it resumes after what was stored."
                if error.needs_login
                else error.advice
            )
            box = QMessageBox(QMessageBox.Icon.Warning, "Download stopped", text, parent=self)
            box.setObjectName("downloadFailed")
            box.setInformativeText(
                f"{advice}\n\nWhat was stored stays; downloading again resumes after it."
            )
            box.setDetailedText("\n".join(lines))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.download_failed = box
            box.open()

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
        bar_text: Callable[[int, int], str] | None = None,
        cancel_text: str = "",
        cancelling: str = "",
    ) -> None:
        """Run `work` as a job of the runner, then `then(its result)` on the GUI thread.
        `bar_text(done, total)` labels the progress bar (default: files); `cancel_text` says
        what Cancel does (its tooltip), `cancelling` what happens once it was pressed."""
        if self._ctx.store_opening:
            # asked in the moment between the window's first picture and the store's open
            # (a file dropped at once): it starts once the store is open
            self._waiting.append(
                lambda: self._start(
                    work, what, then, progress, cancellable, bar_text, cancel_text, cancelling
                )
            )
            self.status.setText(f"{what} (once the market store is open)")
            return
        if self._store is None or self.busy:
            return
        store = self._store
        self._then, self._what, self._progress = then, what, progress
        self._bar_text = bar_text or _files_done
        self._cancel_text = cancel_text or (
            "Stop after the file in hand: files read so far are stored, the rest are not"
        )
        self._cancelling = cancelling or "storing the files already read, not the rest"
        self.cancel_button.setToolTip(self._cancel_text)
        self._set_busy(True)
        self.status.setStyleSheet("")
        self.status.setText(what)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(cancellable)
        self._show_progress(0, 0, "")
        self.progress.setVisible(True)
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
        self.status.setText(f"Cancelling: {self._cancelling}…")
        return True

    def _show_progress(self, done: int, total: int, text: str) -> None:
        """`done` of `total` files; a busy bar when the count says nothing (an unknown total,
        or one file: its import is one step)."""
        if total <= 1:
            self.progress.setRange(0, 0)
            self.progress.setFormat("")
        else:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat(self._bar_text(done, total))
        self.progress.setToolTip(f"Last done: {text}" if text else self._what.rstrip("…"))

    def _on_job_event(self, event: JobEvent) -> None:
        if isinstance(event, JobFinished | JobCancelled | JobFailed):
            self._reads.discard(event.job_id)
        if event.job_id == self._coverage_job and not isinstance(event, JobProgress):
            if isinstance(event, JobFinished | JobCancelled | JobFailed):
                self._coverage_ended(event)
            return
        if event.job_id == self._quality_job and not isinstance(event, JobProgress):
            if isinstance(event, JobFinished | JobCancelled | JobFailed):
                self._quality_ended(event)
            return
        if event.job_id != self._job:
            return
        if isinstance(event, JobProgress):
            if self._progress is not None and self.cancel_button.isEnabled():
                self.status.setText(self._progress(event))
                self._show_progress(event.done, event.total, event.text)
        elif isinstance(event, JobFinished | JobCancelled):
            self._on_finished(event.result, "", cancelled=isinstance(event, JobCancelled))
        elif isinstance(event, JobFailed):
            self._on_finished(None, event.message)

    def _on_finished(self, result: object, error: str, cancelled: bool = False) -> None:
        then, self._then = self._then, None
        self._job = None
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
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
        self.status.setStyleSheet(WARNING_STYLE)


def _series_name(info: SeriesInfo) -> str:
    return f"{info.exchange}:{info.symbol} {info.timeframe}"


@dataclass(frozen=True)
class _Checked:
    """A quality check's end: the report as the CLI prints it, and its verdict."""

    name: str
    text: str
    ok: bool


def _checking_quality(store: MarketStore, info: SeriesInfo) -> Callable[[JobControl], _Checked]:
    """The job's work: read the series and render its quality report (on a worker thread:
    the store gives each call its own cursor)."""

    def work(control: JobControl) -> _Checked:
        from engine.data.quality import quality_report, render_text

        series = store.read_bars(info.symbol, info.timeframe, exchange=info.exchange)
        exchange = "BSE" if info.exchange in ("BSE", "BFO") else "NSE"
        report = quality_report(series, exchange)
        return _Checked(_series_name(info), render_text(report), report.ok)

    return work


def _files_done(done: int, total: int) -> str:
    return f"{done:,} of {total:,} files"


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
