"""The backtest wizard: strategy and parameters -> instruments -> period and timeframe ->
capital and costs -> summary -> run, with the window responsive throughout.

The wizard only gathers choices and builds the same `BacktestJob` the CLI builds, with the
CLI's defaults. The run goes through the one job runner in two steps: a thread job reads
the bars from the store (`choose_bars`: the store's owner reads and resamples), then a
process job runs `run_job` on those arrays in a worker process (never the DuckDB file). The
progress bar shows the engine's bars done of bars total; Cancel stops the worker within a
second. On success `run_finished(report, job)` is emitted (the results panel and run history
connect to it); on failure a message box says what went wrong and what to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.gui.backtest_config_form import BacktestConfigForm, capital_text
from app.gui.context import AppContext
from app.gui.wizard.param_form import ParamForm
from app.strategy_loader import StrategyLoadError, strategy_ref
from engine.backtest import BacktestConfig, BacktestInputError, BacktestJob
from engine.costs import uncovered_spans
from engine.data.schema import StoreError
from engine.data.store import MarketStore, SeriesInfo
from engine.data.stored_bars import choose_bars
from engine.domain.enums import Segment
from engine.domain.instrument import Instrument
from engine.events import JobCancelled, JobEvent, JobFailed, JobFinished, JobProgress
from engine.ist import ist_iso
from engine.strategy.base import Strategy
from engine.strategy.loader import StrategyRef
from engine.timeframes import TIMEFRAME_NAMES, Timeframe
from strategies.reference import REFERENCE_STRATEGIES

log = logging.getLogger(__name__)

TIMEFRAME_LABELS = {"1d": "1 day"}
FIELD_WIDTH = 260  # pixels: fields sized for their content, not stretched across the page
FILL_LABELS = {"next-open": "the next bar's open", "close": "the close of the bar"}


# -- what the pages gather -------------------------------------------------------------------


@dataclass
class StrategyChoice:
    """One entry of the strategy list: a reference name or a workspace/other file."""

    label: str
    spec: str  # what strategy_ref reads: a reference name or a .py path
    origin: str  # "reference", "workspace" or "file"


@dataclass
class Coverage:
    """What the store holds of one instrument: its stored series."""

    key: str  # EXCHANGE:SYMBOL
    series: list[SeriesInfo] = field(default_factory=list)

    def timeframes(self) -> list[str]:
        return sorted({s.timeframe for s in self.series}, key=TIMEFRAME_NAMES.index)

    def makes(self, timeframe: str) -> bool:
        target = Timeframe(timeframe)
        return any(Timeframe(tf).makes(target) for tf in self.timeframes())

    def span(self, timeframe: str) -> tuple[date, date] | None:
        """First and last IST day of the stored bars that give `timeframe` bars."""
        target = Timeframe(timeframe)
        usable = [s for s in self.series if Timeframe(s.timeframe).makes(target)]
        if not usable:
            return None
        return _day(min(s.first_ts for s in usable)), _day(max(s.last_ts for s in usable))


@dataclass(frozen=True)
class ReadBars:
    """The thread job's result: the chosen arrays and what the store knows of each
    tradable instrument (so lots, margin and charges are the contract's)."""

    series: list[Any]
    resampled_from: dict[str, str]
    instruments: dict[str, Instrument]


def _day(ts_ns: int) -> date:
    return date.fromisoformat(ist_iso(ts_ns)[:10])


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(qdate: QDate) -> date:
    return date(qdate.year(), qdate.month(), qdate.day())


# -- page 1: strategy and parameters ---------------------------------------------------------


class StrategyPage(QWizardPage):
    def __init__(self, wizard: BacktestWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Strategy")
        self.setSubTitle("Choose a strategy and set its parameters (hover a field for its range).")
        self.choices: list[StrategyChoice] = []
        self.cls: type[Strategy] | None = None
        self.load_error = ""

        self.combo = QComboBox()
        self.combo.setObjectName("wizardStrategy")
        self.combo.setMinimumWidth(320)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("strategySummary")
        self.form = ParamForm()
        self.errors = QLabel()
        self.errors.setWordWrap(True)
        self.errors.setObjectName("paramErrors")
        self.errors.setStyleSheet("color: #e5534b;")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.addWidget(self.form)
        holder_layout.addStretch(1)
        scroll.setWidget(holder)
        group = QGroupBox("Parameters")
        group_layout = QVBoxLayout(group)
        group_layout.addWidget(scroll)

        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Strategy"))
        row.addWidget(self.combo, 1)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(group, 1)
        layout.addWidget(self.errors)

        self._fill_choices()
        self.combo.currentIndexChanged.connect(self._chosen)
        self.form.changed.connect(self._form_changed)

    def _fill_choices(self) -> None:
        self.choices = [
            StrategyChoice(f"{name}  (reference)", name, "reference")
            for name in sorted(REFERENCE_STRATEGIES)
        ]
        folder = self.wiz.ctx.workspace.strategies_dir
        files = sorted(folder.glob("*.py")) if folder.is_dir() else []
        self.choices += [
            StrategyChoice(f"{path.stem}  (yours)", str(path), "workspace") for path in files
        ]
        self.combo.blockSignals(True)
        for choice in self.choices:
            self.combo.addItem(choice.label, choice.spec)
        self.combo.blockSignals(False)

    def select(self, spec: str, params: dict[str, Any] | None = None) -> None:
        """Choose `spec` (a reference name, a workspace strategy's name or a .py path),
        adding it to the list when it is a file not listed, with `params` in the form."""
        index = self._index_of(spec)
        if index < 0:
            path = Path(spec)
            label = f"{path.stem if path.suffix == '.py' else spec}  (file)"
            self.choices.append(StrategyChoice(label, spec, "file"))
            self.combo.blockSignals(True)
            self.combo.addItem(label, spec)
            self.combo.blockSignals(False)
            index = self.combo.count() - 1
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self._chosen(index, params)

    def _index_of(self, spec: str) -> int:
        folder = self.wiz.ctx.workspace.strategies_dir
        for i, choice in enumerate(self.choices):
            if choice.spec == spec:
                return i
            if choice.origin != "reference" and spec in (Path(choice.spec).stem,):
                return i
            if spec.endswith(".py") and choice.origin != "reference":
                try:
                    if Path(spec).resolve() == Path(choice.spec).resolve():
                        return i
                except OSError:
                    continue
        if (folder / f"{spec}.py").is_file():
            return self._index_of(str(folder / f"{spec}.py"))
        return -1

    def _chosen(self, index: int, params: dict[str, Any] | None = None) -> None:
        self.cls = None
        self.load_error = ""
        if 0 <= index < len(self.choices):
            try:
                self.cls = self.ref().load()
            except StrategyLoadError as exc:
                self.load_error = str(exc)
        if self.cls is not None:
            doc = (self.cls.__doc__ or "").strip().splitlines()
            kind = (
                "Trades all the chosen instruments together."
                if self.cls.multi_instrument
                else "One instance per instrument, sharing one account."
            )
            self.summary.setText(
                f"<b>{self.cls.display_name()}</b>: {doc[0] if doc else ''} {kind}"
            )
        else:
            self.summary.setText(f"This strategy does not load: {self.load_error}")
        self.form.set_strategy(self.cls, params)
        self._form_changed()

    def ref(self) -> StrategyRef:
        spec = self.choices[self.combo.currentIndex()].spec
        return strategy_ref(spec, self.wiz.ctx.workspace.strategies_dir)

    def spec(self) -> str:
        return self.choices[self.combo.currentIndex()].spec

    def origin(self) -> str:
        """Where the chosen strategy comes from, in words for the summary."""
        choice = self.choices[self.combo.currentIndex()]
        return {
            "reference": "shipped with Artha",
            "workspace": f"your {Path(choice.spec).name}",
        }.get(choice.origin, choice.spec)

    def _form_changed(self) -> None:
        problems = self.form.errors()
        self.errors.setText("\n".join(problems))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.cls is not None and not self.form.errors()


# -- page 2: instruments ---------------------------------------------------------------------


class InstrumentsPage(QWizardPage):
    def __init__(self, wizard: BacktestWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Instruments")
        self.setSubTitle("Tick the instruments to trade; each line shows what the store holds.")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        self.list = QTreeWidget()
        self.list.setObjectName("wizardInstruments")
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.setUniformRowHeights(True)
        self.list.setHeaderLabels(["Instrument", "Stored", "From", "To", "Bars"])
        self.list.itemChanged.connect(lambda _item, _column: self._changed())
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        self.coverage: dict[str, Coverage] = {}

    def initializePage(self) -> None:
        if self.list.topLevelItemCount():
            self._changed()
            return
        store = self.wiz.ctx.store
        if store is None:
            self.note.setText(
                f"No market data: {self.wiz.ctx.store_problem or 'the store is not open'}."
            )
            return
        for info in store.list_series():
            key = f"{info.exchange}:{info.symbol}"
            self.coverage.setdefault(key, Coverage(key)).series.append(info)
        self.list.blockSignals(True)
        for key in sorted(self.coverage):
            self.list.addTopLevelItem(self._item(self.coverage[key]))
        self.list.blockSignals(False)
        for column in range(self.list.columnCount()):
            self.list.resizeColumnToContents(column)
        if not self.coverage:
            self.note.setText("The store holds no bars yet: import data or load the demo first.")
        self._changed()

    def _item(self, coverage: Coverage) -> QTreeWidgetItem:
        series = sorted(coverage.series, key=lambda s: TIMEFRAME_NAMES.index(s.timeframe))
        first = _day(min(s.first_ts for s in series))
        last = _day(max(s.last_ts for s in series))
        bars = " + ".join(f"{s.bars:,}" for s in series)
        item = QTreeWidgetItem(
            [coverage.key, ", ".join(coverage.timeframes()), str(first), str(last), bars]
        )
        item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(
            0,
            "\n".join(
                f"{s.timeframe}: {_day(s.first_ts)} to {_day(s.last_ts)}, {s.bars:,} bars"
                for s in series
            ),
        )
        item.setData(0, Qt.ItemDataRole.UserRole, coverage.key)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        return item

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount()))
        return [item for item in items if item is not None]

    def _filter(self, text: str) -> None:
        needle = text.strip().upper()
        for item in self._items():
            item.setHidden(bool(needle) and needle not in item.text(0).upper())

    def set_checked(self, keys: list[str]) -> None:
        """Tick exactly `keys` (EXCHANGE:SYMBOL or SYMBOL, any case)."""
        wanted = {k.upper() for k in keys}
        for item in self._items():
            key = str(item.data(0, Qt.ItemDataRole.UserRole))
            on = key.upper() in wanted or key.split(":")[1].upper() in wanted
            item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def chosen(self) -> list[str]:
        return [
            str(item.data(0, Qt.ItemDataRole.UserRole))
            for item in self._items()
            if item.checkState(0) == Qt.CheckState.Checked
        ]

    def _changed(self) -> None:
        count = len(self.chosen())
        cls = self.wiz.strategy_page.cls
        if cls is not None and cls.multi_instrument:
            self.note.setText(
                f"{cls.display_name()} trades several instruments together: tick each one "
                f"it needs ({count} chosen)."
            )
        elif self.coverage:
            self.note.setText(f"{count} chosen: one strategy instance each, one account.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(self.chosen())


# -- page 3: period and timeframe ------------------------------------------------------------


class PeriodPage(QWizardPage):
    def __init__(self, wizard: BacktestWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Period and timeframe")
        self.setSubTitle("Dates are limited to what the store holds for the chosen instruments.")
        self.timeframe = QComboBox()
        self.timeframe.setObjectName("wizardTimeframe")
        self.start = QDateEdit()
        self.end = QDateEdit()
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(lambda _d: self._changed())
        self.start.setObjectName("wizardFrom")
        self.end.setObjectName("wizardTo")
        self.coverage = QLabel()
        self.coverage.setObjectName("wizardCoverage")
        self.coverage.setWordWrap(True)
        self.coverage.setTextFormat(Qt.TextFormat.RichText)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e5534b;")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for widget in (self.timeframe, self.start, self.end):
            widget.setMinimumWidth(FIELD_WIDTH)
        form.addRow("Timeframe", self.timeframe)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        group = QGroupBox("Coverage in the store")
        group_layout = QVBoxLayout(group)
        group_layout.addWidget(self.coverage)
        group_layout.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(group, 1)
        layout.addWidget(self.problem)
        self.timeframe.currentIndexChanged.connect(lambda _i: self._timeframe_changed())
        self._keys: list[str] = []

    def initializePage(self) -> None:
        keys = self.wiz.instruments_page.chosen()
        if keys == self._keys and self.timeframe.count():
            return
        self._keys = keys
        previous = self.timeframe.currentData()
        covers = self._coverages()
        able = [tf for tf in TIMEFRAME_NAMES if covers and all(c.makes(tf) for c in covers)]
        self.timeframe.blockSignals(True)
        self.timeframe.clear()
        for tf in able:
            stored = all(tf in c.timeframes() for c in covers)
            label = TIMEFRAME_LABELS.get(tf, tf) + ("" if stored else "  (resampled)")
            self.timeframe.addItem(label, tf)
        wanted = self.wiz.prefill_timeframe or previous
        index = self.timeframe.findData(wanted) if wanted else -1
        self.timeframe.setCurrentIndex(max(index, 0))
        self.timeframe.blockSignals(False)
        self._timeframe_changed(reset_dates=True)

    def _coverages(self) -> list[Coverage]:
        known = self.wiz.instruments_page.coverage
        return [known[k] for k in self._keys if k in known]

    def chosen_timeframe(self) -> str | None:
        data = self.timeframe.currentData()
        return str(data) if data else None

    def _timeframe_changed(self, reset_dates: bool = True) -> None:
        tf = self.chosen_timeframe()
        covers = self._coverages()
        spans = [c.span(tf) for c in covers] if tf else []
        lines = []
        for cover, span in zip(covers, spans, strict=True):
            if span is None:
                lines.append(f"<b>{cover.key}</b>: no bars that make {tf} bars")
                continue
            stored = ", ".join(
                f"{s.timeframe} {_day(s.first_ts)} to {_day(s.last_ts)} ({s.bars:,} bars)"
                for s in sorted(cover.series, key=lambda s: TIMEFRAME_NAMES.index(s.timeframe))
            )
            lines.append(f"<b>{cover.key}</b>: {stored}")
        known = [s for s in spans if s is not None]
        if known:
            low = min(s[0] for s in known)
            high = max(s[1] for s in known)
            common_low = max(s[0] for s in known)
            common_high = min(s[1] for s in known)
            for edit in (self.start, self.end):
                edit.blockSignals(True)
                edit.setDateRange(_qdate(low), _qdate(high))
                edit.blockSignals(False)
            if reset_dates:
                both = common_low <= common_high
                self.start.setDate(_qdate(common_low if both else low))
                self.end.setDate(_qdate(common_high if both else high))
            if len(known) > 1:
                lines.append(
                    f"All chosen instruments have bars from {common_low} to {common_high}."
                    if common_low <= common_high
                    else "The chosen instruments' bars do not overlap in time."
                )
        self.coverage.setText("<br>".join(lines) or "Choose instruments first.")
        self._changed()

    def span(self) -> tuple[date, date]:
        return _pydate(self.start.date()), _pydate(self.end.date())

    def _changed(self) -> None:
        start, end = self.span()
        self.problem.setText("" if start <= end else f"The period starts {start}, after {end}.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        start, end = self.span()
        return self.chosen_timeframe() is not None and start <= end


# -- page 4: capital, product, costs, slippage, fill -----------------------------------------


class ConfigPage(QWizardPage):
    def __init__(self, wizard: BacktestWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Capital and costs")
        self.setSubTitle(
            "The defaults are Settings ▸ Backtest defaults (at first, the command line's)."
        )
        self.form = BacktestConfigForm("wizard")
        self.stop_first = QCheckBox(
            "When a bracket's stop and target are in one bar, the stop first"
        )
        self.stop_first.setChecked(True)
        self.strategy_note = QLabel()
        self.strategy_note.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setObjectName("configProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e5534b;")
        self.form.form.addRow("", self.stop_first)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.strategy_note)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        # the fields, by the names the rest of the wizard (and its tests) use
        self.capital, self.costs, self.fill = self.form.capital, self.form.costs, self.form.fill
        self.product, self.cost_bps = self.form.product, self.form.cost_bps
        self.slippage, self.participation = self.form.slippage, self.form.participation
        self._config: BacktestConfig | None = None
        self.form.changed.connect(self._changed)
        self.stop_first.toggled.connect(lambda _on: self._changed())
        self.form.show_values(wizard.ctx.settings.backtest_defaults)

    def initializePage(self) -> None:
        cls = self.wiz.strategy_page.cls
        declared = getattr(cls, "trading_costs", None) if cls is not None else None
        self.strategy_note.setText(
            f"{cls.display_name() if cls else 'The strategy'} declares its own costs "
            f"({declared}): they apply where you leave the defaults (Zerodha charges, 0 "
            "slippage, no volume cap)."
            if declared is not None
            else ""
        )

    def _changed(self) -> None:
        try:
            self._config = self.build()
            self.problem.setText("")
        except (BacktestInputError, ValueError) as exc:
            self._config = None
            self.problem.setText(str(exc))
        self.completeChanged.emit()

    def build(self) -> BacktestConfig:
        """The config as the CLI builds it (BacktestDefaults.config): a choice left at its
        default lets a strategy's declared TradingCosts apply; a changed one wins."""
        return self.form.values().config(stop_first=self.stop_first.isChecked())

    def config(self) -> BacktestConfig | None:
        return self._config

    def isComplete(self) -> bool:
        return self._config is not None


# -- page 5: summary and the run -------------------------------------------------------------


class SummaryPage(QWizardPage):
    def __init__(self, wizard: BacktestWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Summary")
        self.setSubTitle("Check the run, then press Run. The window stays usable while it runs.")
        self.text = QLabel()
        self.text.setObjectName("wizardSummary")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #d29922;")
        self.status = QLabel("Press Run to start; you can cancel at any time.")
        self.status.setObjectName("runStatus")
        self.bar = QProgressBar()
        self.bar.setObjectName("runProgress")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setObjectName("cancelRun")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(wizard.cancel_run)
        run_row = QHBoxLayout()
        run_row.addWidget(self.bar, 1)
        run_row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.warning)
        layout.addWidget(self.status)
        layout.addLayout(run_row)

    def initializePage(self) -> None:
        wiz = self.wiz
        cls = wiz.strategy_page.cls
        params = wiz.strategy_page.form.values()
        config = wiz.config_page.config()
        start, end = wiz.period_page.span()
        keys = wiz.instruments_page.chosen()
        tf = wiz.period_page.chosen_timeframe() or ""
        rows = [
            ("Strategy", f"{cls.display_name() if cls else '?'} ({wiz.strategy_page.origin()})"),
            ("Parameters", ", ".join(f"{k}={v}" for k, v in params.items()) or "none"),
            ("Instruments", ", ".join(keys)),
            ("Timeframe", TIMEFRAME_LABELS.get(tf, tf)),
            ("Period", f"{start} to {end} (IST days)"),
        ]
        if config is not None:
            cap = config.participation
            costs = {
                "zerodha": "Zerodha contract-note charges",
                "bps": f"{config.cost_bps} bps of turnover",
                "none": "none",
            }[config.costs]
            rows += [
                ("Capital", f"Rs {capital_text(config.capital)}"),
                ("Product", config.product.value),
                ("Charges", costs),
                ("Slippage", f"{config.slippage_bps} bps"),
                ("Volume cap", "none" if cap is None else f"{cap:g} of a bar's volume"),
                ("Market orders fill at", FILL_LABELS[config.fill.value]),
            ]
        self.text.setText(
            "<table cellspacing=6>"
            + "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
            + "</table>"
        )
        warning = ""
        if config is not None and config.costs == "zerodha":
            spans = uncovered_spans(start, end)
            if spans:
                first = spans[0]
                warning = (
                    f"No Zerodha charge schedule covers {first[0]} to {first[1]}: the run "
                    "will stop at a fill on such a day. Choose flat bps or no charges, or "
                    "start later."
                )
        self.warning.setText(warning)


# -- the wizard ------------------------------------------------------------------------------


class BacktestWizard(QWizard):
    """Strategy -> instruments -> period -> costs -> summary -> run.

    `prefill = {"strategy": name-or-path, "params": {...}}` pre-fills the first page (the
    editor's Backtest button); "symbols" and "timeframe" may pre-fill the next ones."""

    # (BacktestReport, BacktestJob, PreparedRun: the run's history record, built by the
    # worker so that saving it costs the app's process only the insert)
    run_finished = Signal(object, object, object)
    run_failed = Signal(str)  # the message shown
    run_cancelled = Signal()

    def __init__(
        self, ctx: AppContext, prefill: dict[str, Any] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("backtestWizard")
        self.setWindowTitle("Backtest")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Run")
        self.prefill_timeframe: str | None = None
        self.strategy_page = StrategyPage(self)
        self.instruments_page = InstrumentsPage(self)
        self.period_page = PeriodPage(self)
        self.config_page = ConfigPage(self)
        self.summary_page = SummaryPage(self)
        for page in (
            self.strategy_page,
            self.instruments_page,
            self.period_page,
            self.config_page,
            self.summary_page,
        ):
            self.addPage(page)
        self.job: BacktestJob | None = None
        self.read_job: int | None = None
        self.run_job: int | None = None
        self.report: object = None
        self.source_hash: str | None = None  # the strategy source's, when Run was pressed
        self.error_box: QMessageBox | None = None
        self.last_progress: tuple[int, int] = (0, 0)
        subscription = ctx.bus.subscribe(JobEvent, self._on_job_event)
        self.destroyed.connect(lambda *_: subscription.cancel())
        self.resize(820, 600)
        prefill = prefill or {}
        if prefill.get("strategy"):
            self.strategy_page.select(str(prefill["strategy"]), dict(prefill.get("params") or {}))
        elif self.strategy_page.choices:
            self.strategy_page.select(self.strategy_page.choices[0].spec)
        if prefill.get("symbols"):
            self.instruments_page.initializePage()
            self.instruments_page.set_checked([str(s) for s in prefill["symbols"]])
        if prefill.get("timeframe"):
            self.prefill_timeframe = str(prefill["timeframe"])

    def apply_theme(self, name: str) -> None:
        """The palette does it all: nothing is painted by hand here."""

    # -- the run ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.read_job is not None or self.run_job is not None

    def build_job(self) -> BacktestJob:
        """The BacktestJob of the pages' choices (BacktestInputError when one is wrong)."""
        config = self.config_page.config()
        if config is None:
            raise BacktestInputError(self.config_page.problem.text() or "check the costs page")
        start, end = self.period_page.span()
        return BacktestJob(
            self.strategy_page.ref(),
            tuple(self.instruments_page.chosen()),
            self.strategy_page.form.values(),
            config,
            self.period_page.chosen_timeframe(),
            start,
            end,
        )

    def accept(self) -> None:
        """Run pressed: start the run; the wizard closes once it has finished."""
        if self.running:
            return
        try:
            job = self.build_job()
        except (BacktestInputError, StrategyLoadError) as exc:
            self._fail(str(exc))
            return
        store = self.ctx.store
        if store is None:
            self._fail(f"No market data: {self.ctx.store_problem or 'the store is not open'}.")
            return
        self.source_hash = _hash_now(job.strategy)  # as it is when Run is pressed
        self.job = job
        self._set_running(True, "Reading bars from the store…")
        self.read_job = self.ctx.jobs.submit(
            _reading(store, job), f"Reading bars for {self._title(job)}", ask_before_close=False
        )

    def cancel_run(self) -> None:
        for job_id in (self.read_job, self.run_job):
            if job_id is not None:
                self.ctx.jobs.cancel(job_id)
        self.summary_page.status.setText("Cancelling…")

    def reject(self) -> None:
        """Cancel (or Esc) during a run cancels the run; otherwise it closes the wizard."""
        if self.running:
            self.cancel_run()
            return
        super().reject()

    def _title(self, job: BacktestJob) -> str:
        cls = self.strategy_page.cls
        name = cls.display_name() if cls is not None else str(job.strategy)
        return f"Backtest {name} on {', '.join(job.symbols)}"

    def _on_job_event(self, event: JobEvent) -> None:
        if event.job_id == self.read_job:
            self._on_read(event)
        elif event.job_id == self.run_job:
            self._on_run(event)

    def _on_read(self, event: JobEvent) -> None:
        if isinstance(event, JobFinished):
            self.read_job = None
            result = event.result
            if isinstance(result, str):
                self._fail(result)
                return
            assert isinstance(result, ReadBars) and self.job is not None
            job = BacktestJob(
                self.job.strategy,
                self.job.symbols,
                self.job.params,
                self.job.config,
                self.job.timeframe,
                self.job.start,
                self.job.end,
                result.instruments,
            )
            self.job = job
            bars = sum(len(s) for s in result.series)
            self.summary_page.status.setText(f"Starting a worker for {bars:,} bars…")
            from engine.data.run_history import run_and_prepare  # SQLAlchemy: not at start

            self.run_job = self.ctx.jobs.submit_process(
                run_and_prepare, (job, result.series, self.source_hash), self._title(job)
            )
        elif isinstance(event, JobFailed):
            self.read_job = None
            self._fail(f"The bars could not be read: {event.message}")
        elif isinstance(event, JobCancelled):
            self.read_job = None
            self._cancelled()

    def _on_run(self, event: JobEvent) -> None:
        page = self.summary_page
        if isinstance(event, JobProgress):
            if event.total:
                self.last_progress = (event.done, event.total)
                page.bar.setRange(0, event.total)
                page.bar.setValue(event.done)
                page.status.setText(f"Running: {event.done:,} of {event.total:,} bars")
            elif event.text:
                page.status.setText(event.text[:1].upper() + event.text[1:])
        elif isinstance(event, JobFinished):
            from engine.data.run_history import FinishedRun

            self.run_job = None
            finished = event.result
            assert isinstance(finished, FinishedRun)  # what run_and_prepare returns
            self.report = finished.report
            page.bar.setValue(page.bar.maximum())
            self._set_running(False, "Finished.")
            log.info("backtest finished: %s", event.name)
            self.run_finished.emit(finished.report, self.job, finished.prepared)
            super().accept()
        elif isinstance(event, JobFailed):
            self.run_job = None
            self._fail(event.message)
        elif isinstance(event, JobCancelled):
            from engine.data.run_history import FinishedRun

            self.run_job = None
            if isinstance(event.result, FinishedRun):  # it ended as the cancel came: not kept
                event.result.prepared.discard()
            self._cancelled()

    def _set_running(self, running: bool, text: str) -> None:
        page = self.summary_page
        page.status.setText(text)
        page.cancel_button.setEnabled(running)
        if running:
            page.bar.setRange(0, 0)  # busy until the engine says how many bars
        for which in (QWizard.WizardButton.BackButton, QWizard.WizardButton.FinishButton):
            button = self.button(which)
            if button is not None:
                button.setEnabled(not running)

    def _cancelled(self) -> None:
        self._set_running(False, "Cancelled: nothing was saved.")
        self.summary_page.bar.setRange(0, 1)
        self.summary_page.bar.setValue(0)
        self.run_cancelled.emit()

    def _fail(self, message: str) -> None:
        log.warning("backtest wizard: %s", message)
        self._set_running(False, "The run failed.")
        self.summary_page.bar.setRange(0, 1)
        self.summary_page.bar.setValue(0)
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Backtest failed",
            "The backtest could not run.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("backtestError")
        box.setInformativeText(
            f"{message}\n\nChange the strategy, its parameters or the run's settings and "
            "press Run again; the log has the details."
        )
        self.error_box = box
        box.open()  # not exec(): the loop (and other runs) go on
        self.run_failed.emit(message)


def _reading(store: MarketStore, job: BacktestJob) -> Any:
    """The thread job: the job's bars from the store, or the trader-facing reason none can
    be read; with what the store knows of each tradable instrument, as the CLI does."""

    def work(_control: Any) -> ReadBars | str:
        try:
            chosen = choose_bars(store, list(job.symbols), job.timeframe, job.start, job.end)
            known = {bars.symbol: store.instrument(bars.symbol) for bars in chosen.series}
        except StoreError as exc:
            return str(exc)
        tradable = {s: i for s, i in known.items() if i.segment is not Segment.INDEX}
        return ReadBars(chosen.series, chosen.resampled_from, tradable)

    return work


def _hash_now(ref: StrategyRef) -> str | None:
    """The strategy source's sha256 for the run history, None when it cannot be read (the
    run is then saved without one rather than not at all)."""
    from engine.data.run_history import RunHistoryError, source_hash_of

    try:
        return source_hash_of(ref)
    except RunHistoryError as exc:
        log.warning("the run is saved without its source hash: %s", exc)
        return None


def open_backtest_wizard(
    ctx: AppContext, parent: QWidget | None = None, prefill: dict[str, Any] | None = None
) -> BacktestWizard:
    """The action behind the menu, the toolbar and the editor's Backtest button: a new
    wizard, shown (not modal, so several runs can be set going and queue)."""
    wizard = BacktestWizard(ctx, prefill, parent)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.show()
    return wizard
