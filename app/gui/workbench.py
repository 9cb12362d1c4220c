"""The research loop's wiring between panels: editor -> wizard -> run -> history, results and
chart; a saved run reopened from the history; a trade clicked in the results shown on the chart.

Panels know nothing of each other (each is one registered module); the main window hands
itself to `Workbench`, which connects their signals. Reading a saved run and saving a new one
go through the job runner: a million-bar run's report and curve take a moment either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from app.gui.after_paint import after_first_paint
from app.gui.context import AppContext
from engine.events import JobEvent, JobFailed, JobFinished

if TYPE_CHECKING:  # SQLAlchemy (~0.3 s): loaded by the first run saved or reopened; the
    # wizard and the backtester (pandas, ~0.3 s) when the wizard first opens; the chart's
    # trade marks (numpy) when a run is first shown
    from app.gui.chart.trade_marks import TradeMarks
    from app.gui.wizard import BacktestWizard
    from engine.backtest.job import BacktestJob, BacktestReport
    from engine.data import run_history

log = logging.getLogger(__name__)
AFTER_PAINT_MS = 50  # after the results' last step, its paint, then the background work
WARM_UP_AFTER_MS = 3_000  # after the window's first paint: what showing a run first needs


class Workbench(QObject):
    """Connects the research panels of one main window (`docks`: panel id -> dock)."""

    def __init__(self, window: QMainWindow, ctx: AppContext, docks: dict[str, Any]) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = ctx
        self.docks = docks
        self._jobs: dict[int, str] = {}  # job id -> what it was for ("open", "save")
        self.last_saved: int | None = None  # the run id the last finished run was saved as
        self._latest_marks: int | None = None  # the job placing the last shown run's trades
        self._pending: list[Callable[[], None]] = []  # jobs to submit once results are shown
        subscription = ctx.bus.subscribe(JobEvent, self._on_job_event)
        self.destroyed.connect(lambda *_: subscription.cancel())
        history = self.panel("history")
        if history is not None:
            history.open_run_requested.connect(self.open_saved_run)
        results = self.panel("results")
        if results is not None:
            results.trade_selected.connect(self.show_trade)
            results.filled.connect(self._results_filled)
        editor = self.panel("editor")
        if editor is not None:
            editor.backtest_requested.connect(self.open_wizard)
        self.wizards: list[BacktestWizard] = []
        QTimer.singleShot(0, self, lambda: after_first_paint(window, self._warm_up_soon))

    def _warm_up_soon(self) -> None:
        QTimer.singleShot(WARM_UP_AFTER_MS, self, self._warm_up)

    def _warm_up(self) -> None:
        """Load what showing the first run needs (the reports, the results' plots, the
        chart's trade markers) while the station idles after its start, not inside the
        first result's handler (~40 ms there, with the GUI loop stopped)."""
        import app.gui.chart.trade_markers
        import app.gui.results.charts
        import app.reports  # noqa: F401 - loaded, not used here

        results = self.panel("results")
        if results is not None:
            results.warm_up()

    def open_wizard(self, prefill: dict[str, Any] | None = None) -> BacktestWizard:
        """The backtest wizard (menu, toolbar, the editor's Backtest button with its strategy
        and parameters); its finished run goes to the results, the chart and the history."""
        from app.gui.wizard import open_backtest_wizard

        wizard = open_backtest_wizard(self.ctx, self.window, prefill or None)
        wizard.run_finished.connect(self.run_finished)  # (report, job, prepared record)
        self.wizards.append(wizard)
        wizard.destroyed.connect(lambda *_: self.wizards.remove(wizard))
        return wizard

    def panel(self, panel_id: str) -> Any:
        dock = self.docks.get(panel_id)
        return None if dock is None else dock.widget()

    def _front(self, panel_id: str) -> None:
        dock = self.docks.get(panel_id)
        if dock is not None:
            dock.show()
            dock.raise_()

    # -- a run just finished (the wizard) ----------------------------------------------------
    def run_finished(
        self,
        report: BacktestReport,
        job: BacktestJob,
        prepared: run_history.PreparedRun | None = None,
    ) -> None:
        """Show a finished run in the results and its trades on the chart, and keep it in the
        run history, saved off the GUI thread: the `prepared` record (the wizard's worker
        built it) is only inserted; without one the run is encoded here first."""
        store = self.ctx.store
        if store is not None:
            from engine.data import run_history

            def save(_control: object) -> int:
                if prepared is not None:
                    return run_history.insert_prepared(store, prepared, report.curve)
                return run_history.record_run(store, job, report)

            def submit_save() -> None:
                job_id = self.ctx.jobs.submit(
                    save, f"Save run {report.strategy}", cancellable=False, ask_before_close=True
                )
                self._jobs[job_id] = "save"

            self._pending.append(submit_save)
        elif prepared is not None:
            prepared.discard()  # no store to keep it in: its spooled files go
        self.show_report(report, "")

    # -- a saved run reopened --------------------------------------------------------------
    def open_saved_run(self, run_id: int) -> None:
        store = self.ctx.store
        if store is None:
            return
        from engine.data import run_history

        def read(_control: object) -> run_history.StoredRun:
            return run_history.load_run(store, run_id)

        job_id = self.ctx.jobs.submit(
            read, f"Open run {run_id}", cancellable=False, ask_before_close=False
        )
        self._jobs[job_id] = "open"

    def show_report(self, report: BacktestReport, title: str) -> None:
        """The run in the results and its trades on the chart. Work off the GUI thread (the
        trades' chart marks, a save) starts once the results are on screen: a Python thread
        running beside the first paint of the results makes every Qt-to-Python call of that
        paint wait for the GIL (measured: 100-170 ms gaps in the GUI loop, not 20 ms)."""
        chart = self.panel("chart")
        if chart is not None and report.symbols:
            symbol = report.symbols[0]
            if chart.bars is None or not chart.bars.key.endswith(f":{symbol.upper()}"):
                chart.open_symbol(symbol)
            trades = report.trades
            from app.gui.chart.trade_marks import TradeMarks

            def marks(_control: object) -> TradeMarks:
                return TradeMarks.from_trades(trades, symbol)  # ~0.1 s for 20,000 trades

            def submit_marks() -> None:
                job_id = self.ctx.jobs.submit(
                    marks, f"Placing {symbol}'s trades on the chart", ask_before_close=False
                )
                self._jobs[job_id] = "marks"
                self._latest_marks = job_id  # an older run's marks arriving late are dropped

            self._pending.insert(0, submit_marks)
        results = self.panel("results")
        if results is None:
            self.start_pending()
            return
        results.show_result(report, title)
        self._front("results")
        if results.is_filled():
            self.start_pending()
        # else: when `filled` fires and the last step has painted (_results_filled)

    def _results_filled(self) -> None:
        QTimer.singleShot(AFTER_PAINT_MS, self.start_pending)

    @property
    def pending(self) -> int:
        """Background jobs held back until the shown run's results are on screen."""
        return len(self._pending)

    def start_pending(self) -> None:
        """Submit the background work held back while a run was being shown (also called by
        the main window before it closes, so a run is never left unsaved)."""
        pending, self._pending = self._pending, []
        for submit in pending:
            submit()

    def show_trade(self, symbol: str, entry_ns: int, exit_ns: int) -> None:
        """A trade clicked in the results: the chart moves to it (bringing it to the front)."""
        chart = self.panel("chart")
        if chart is None:
            return
        self._front("chart")
        chart.show_span(symbol, int(entry_ns), int(exit_ns))

    def _on_job_event(self, event: JobEvent) -> None:
        what = self._jobs.get(event.job_id)
        if what is None or not isinstance(event, JobFinished | JobFailed):
            return
        del self._jobs[event.job_id]
        if isinstance(event, JobFailed):
            if what == "marks":
                log.error("the run's trades could not be placed on the chart: %s", event.message)
                return
            verb = "reopen" if what == "open" else "save"
            self._tell(f"Could not {verb} the run: {event.message}")
            return
        if what == "marks":
            from app.gui.chart.trade_marks import TradeMarks  # loaded: show_report made them

            if not isinstance(event.result, TradeMarks):
                return
            chart = self.panel("chart")
            if chart is not None and event.job_id == self._latest_marks:
                chart.show_trades(event.result)
        elif what == "open":
            from engine.data import run_history  # loaded: the job that read the run did

            if isinstance(event.result, run_history.StoredRun):
                self.show_report(event.result.report, event.result.info.name)
        elif what == "save" and isinstance(event.result, int):
            self.last_saved = event.result
            history = self.panel("history")
            if history is not None:
                history.refresh()
            self.window.statusBar().showMessage(f"Run saved as run {event.result}", 8000)

    def _tell(self, text: str) -> None:
        log.error("%s", text)
        parent: QWidget = self.window
        box = QMessageBox(QMessageBox.Icon.Warning, "Run history", text, parent=parent)
        box.open()
