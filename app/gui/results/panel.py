"""Results panel: one backtest's metrics (gross and net, with their conventions), equity and
drawdown, the weekly badge and its reason, monthly returns, the trades and the costs.

It only shows: every figure comes from app.reports (the engine's metrics functions), the
same code the HTML report and the CSV export use. Opening a run does the cheap work at
once (the result arrives materialised from the worker) and leaves the costs breakdown,
which re-prices every contract note, until its tab is first shown.

Opening a run never holds the GUI thread long: the header, the headline figures and the
metrics are set at once, and the equity curve, its drawdown, the weekly bars, the monthly
table and the trade list follow one per event-loop turn (`filled` fires after the last);
until then the earlier run's trades stay, and its curves are hidden (the first frame, the
page's layout and paint, is the costliest: it does not paint plots about to change).
The three pyqtgraph plots are built when first needed, a plot a loop turn (the panel first
painted, i.e. seen, or the first run shown), not with the panel: it starts empty, behind a
tab, and they cost a noticeable part of the app's start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.chart.palette import ChartPalette, palette_for
from app.gui.context import AppContext
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.results.heatmap import MonthlyModel
from app.gui.results.trades_model import TradeFilter, TradesModel
from app.gui.table_model import Column, RowsModel
from app.gui.themes import current_theme, make_card
from engine.ist import ist_iso, ist_midnight_ns

if TYPE_CHECKING:
    # The figures (app.reports: the backtester's modules and pandas, ~0.3 s) load with the
    # first run shown and the plots (pyqtgraph) when first built: the panel starts empty,
    # behind a tab, and the station's first paint needs none of them.
    from app.gui.results.charts import CurveCharts, WeeklyChart
    from app.reports import ChargeSummary, Conventions, Figures
    from app.reports.analysis import Kind, Value
    from engine.backtest import BacktestResult

EMPTY_TEXT = (
    "<h3>No backtest to show yet</h3>"
    "<p>Run one and its results open here: <b>Backtest…</b> in the strategy editor or the "
    "backtest wizard, or from a terminal<br>"
    "<code>artha backtest --strategy sma_crossover --symbol SYNBANK01</code> (demo data: "
    "<code>artha demo</code>).</p>"
    "<p>You will see the metrics before and after costs, the equity and drawdown curves, "
    "the weekly target's badge, monthly returns, every trade and the charges.</p>"
)
VAR_LEVELS = (0.90, 0.95, 0.975, 0.99)
# Conventions().periods_per_year (engine.metrics' TRADING_DAYS_PER_YEAR), for the empty
# panel's sessions box: the metrics package is not imported until a run is shown
DEFAULT_SESSIONS = 252
KPI_NAMES = (
    "Net P&L",
    "Total return",
    "CAGR",
    "Sharpe",
    "Max drawdown",
    "Win rate",
    "Closed trades",
    "Charges",
)


def _when(ns: int) -> str:
    return ist_iso(ns)[:16].replace("T", " ")


def _value_text(kind: Kind, value: Value) -> str:
    """A figure as the reports print it (app.reports.analysis.format_value)."""
    from app.reports.analysis import format_value

    return format_value(kind, value)


def _rupees_text(value: float | int | Decimal) -> str:
    """Rupees as the reports print them (app.reports.analysis.rupees_text)."""
    from app.reports.analysis import rupees_text

    return rupees_text(value)


@dataclass(frozen=True)
class CostRow:
    label: str
    amount: Decimal
    share: str


class Kpi(QFrame):
    """One headline figure: a small caption over a large value."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        make_card(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        self.caption = QLabel(caption.upper())
        self.caption.setStyleSheet("font-size: 10px; letter-spacing: 0.5px;")
        self.value = QLabel("—")
        self.value.setStyleSheet("font-size: 17px; font-weight: 600;")
        layout.addWidget(self.caption)
        layout.addWidget(self.value)

    def show_value(self, text: str, colour: str | None) -> None:
        self.value.setText(text)
        style = "font-size: 17px; font-weight: 600;"
        self.value.setStyleSheet(style + (f" color: {colour};" if colour else ""))


def _holder() -> tuple[QWidget, QVBoxLayout]:
    """An empty box for a widget built later (a pyqtgraph plot), and its layout."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    return box, layout


def _table(model: object, stretch_last: bool = False) -> QTableView:
    view = QTableView()
    view.setModel(model)  # type: ignore[arg-type]
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.horizontalHeader().setStretchLastSection(stretch_last)
    return view


class ResultsPanel(QWidget):
    """Shows one BacktestResult. `trade_selected(symbol, entry_ns, exit_ns)` fires when a trade
    is picked in the list (UTC nanoseconds) so a chart can move to it."""

    # qlonglong, not int: PySide's int is 32-bit C++ and a nanosecond time would overflow.
    trade_selected = Signal(str, "qlonglong", "qlonglong")  # type: ignore[arg-type]
    # the shown run's curves, weekly bars, monthly table and trades are all filled in
    filled = Signal()

    def __init__(self, ctx: AppContext | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.result: BacktestResult | None = None
        self.title = ""
        self._conventions: Conventions | None = None  # the defaults until set
        self.figures: Figures | None = None
        self.charges: ChargeSummary | None = None
        self.theme = "dark"
        self.palette_: ChartPalette = ChartPalette.dark()
        self._net_colour = "#5b9cff"
        self._curves: CurveCharts | None = None
        self._plots: list[Any] = []  # CurveCharts' plots built ahead of it, a step each
        self._weekly_chart: WeeklyChart | None = None
        self._charts_queued = False  # their building is queued (or done)
        # what is left to fill of the shown run (and charts to build), one step a loop turn
        self._steps: list[Callable[[], None]] = []
        self._step_timer = QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(0)
        self._step_timer.timeout.connect(self._next_step)

        self.stack = QStackedWidget()
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setTextFormat(Qt.TextFormat.RichText)
        self.empty.setMargin(24)
        self.stack.addWidget(self.empty)
        # The page needs ~1000 px to show everything at once; in a narrower dock it scrolls
        # instead of forcing the main window wider than the screen.
        self.page_scroll = QScrollArea()
        self.page_scroll.setWidgetResizable(True)
        self.page_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.page_scroll.setWidget(self._build_page())
        self.stack.addWidget(self.page_scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self._recompute = QTimer(self)
        self._recompute.setSingleShot(True)
        self._recompute.setInterval(250)
        self._recompute.timeout.connect(self._apply_conventions)
        app = QApplication.instance()
        theme = ctx.settings.theme if ctx is not None else None
        if theme is None and isinstance(app, QApplication):
            theme = current_theme(app)
        self.apply_theme(theme or "dark")

    # --- building -----------------------------------------------------------------------

    def _build_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(6)

        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        titles.addWidget(self.heading)
        titles.addWidget(self.subtitle)
        head.addLayout(titles, 1)
        self.export_html_button = QPushButton("Export HTML report…")
        self.export_html_button.setToolTip("One file with charts, metrics and trades, to mail")
        self.export_html_button.clicked.connect(self._ask_html)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.setToolTip("Trades and metrics as CSV files in a folder")
        self.export_csv_button.clicked.connect(self._ask_csv)
        head.addWidget(self.export_html_button)
        head.addWidget(self.export_csv_button)
        outer.addLayout(head)

        kpis = QGridLayout()
        kpis.setSpacing(6)
        self.kpis = {name: Kpi(name) for name in KPI_NAMES}
        for n, card in enumerate(self.kpis.values()):
            kpis.addWidget(card, 0, n)
        outer.addLayout(kpis)

        self.left_tabs = QTabWidget()
        self.curves_box, self._curves_layout = _holder()  # CurveCharts: `curves`
        self.left_tabs.addTab(self.curves_box, "Equity && drawdown")
        self.left_tabs.addTab(self._build_weekly(), "Weekly target")
        self.monthly_model = MonthlyModel()
        self.monthly_view = _table(self.monthly_model)
        self.monthly_view.verticalHeader().setVisible(True)
        self.monthly_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.monthly_view.verticalHeader().setDefaultSectionSize(28)
        self.monthly_view.setAlternatingRowColors(False)
        self.monthly_view.setShowGrid(False)
        self.left_tabs.addTab(self.monthly_view, "Monthly returns")

        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self._build_metrics(), "Metrics")
        self.right_tabs.addTab(self._build_costs(), "Costs")
        self.right_tabs.currentChanged.connect(self._tab_changed)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.left_tabs)
        top.addWidget(self.right_tabs)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(top)
        body.addWidget(self._build_trades())
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        body.setSizes([520, 300])  # the trade list gets room for a dozen rows
        outer.addWidget(body, 1)
        return page

    def _build_weekly(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.badge = QLabel()
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setFixedWidth(84)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        row.addWidget(self.badge)
        row.addWidget(self.reason, 1)
        layout.addLayout(row)
        self.criteria = QLabel()
        self.criteria.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.criteria)
        self.weekly_box, self._weekly_layout = _holder()  # the WeeklyChart, built when first needed
        layout.addWidget(self.weekly_box, 1)
        return box

    @property
    def conventions(self) -> Conventions:
        """How the risk figures are measured (the reports' defaults until changed)."""
        if self._conventions is None:
            from app.reports import Conventions

            self._conventions = Conventions()
        return self._conventions

    @conventions.setter
    def conventions(self, conventions: Conventions) -> None:
        self._conventions = conventions

    @property
    def curves(self) -> CurveCharts:
        """The equity and drawdown plots (built on first use)."""
        if self._curves is None:
            from app.gui.results.charts import CurveCharts

            plots = [*self._plots, None, None]
            self._curves = CurveCharts(equity=plots[0], drawdown=plots[1])
            self._curves.apply_palette(self.palette_, self._net_colour)
            self._curves_layout.addWidget(self._curves)
        return self._curves

    @property
    def weekly_chart(self) -> WeeklyChart:
        """The weekly returns' bars (built on first use)."""
        if self._weekly_chart is None:
            from app.gui.results.charts import WeeklyChart

            self._weekly_chart = WeeklyChart()
            self._weekly_chart.apply_palette(self.palette_)
            self._weekly_layout.addWidget(self._weekly_chart)
        return self._weekly_chart

    def charts_built(self) -> bool:
        return self._curves is not None and self._weekly_chart is not None

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        # painted: the trader can see the panel (a dock tabbed behind another is shown but
        # never painted), so the plots come next, one a loop turn
        if not self.charts_built() and not self._charts_queued:
            self._charts_queued = True
            self._queue(self._chart_steps(), replace=False)

    def warm_up(self) -> None:
        """Before the first run arrives (the station idle after its start): build the plots,
        a step a loop turn, instead of in the first run's steps."""
        if not self.charts_built() and not self._charts_queued:
            self._charts_queued = True
            self._queue(self._chart_steps(), replace=False)

    def _chart_steps(self) -> list[Callable[[], None]]:
        """Building the plots, one a loop turn (each takes a few tens of ms)."""
        return [
            self._build_equity_plot,
            self._build_drawdown_plot,
            self._build_curves,
            self._build_weekly_chart,
        ]

    def _build_equity_plot(self) -> None:
        if self._curves is None and not self._plots:
            from app.gui.results.charts import equity_plot

            self._plots.append(equity_plot())

    def _build_drawdown_plot(self) -> None:
        if self._curves is None and len(self._plots) == 1:
            from app.gui.results.charts import drawdown_plot

            self._plots.append(drawdown_plot())

    def _build_curves(self) -> None:
        self.curves  # noqa: B018 - builds it

    def _build_weekly_chart(self) -> None:
        self.weekly_chart  # noqa: B018 - builds it

    def _build_metrics(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(4, 4, 4, 4)
        form = QHBoxLayout()
        self.sessions = QSpinBox()
        self.sessions.setRange(1, 400)
        self.sessions.setValue(DEFAULT_SESSIONS)
        self.sessions.setSuffix(" sessions/yr")
        self.sessions.setToolTip(
            "Daily returns are annualised with the square root of this (252 NSE sessions)"
        )
        self.risk_free = QDoubleSpinBox()
        self.risk_free.setRange(0.0, 30.0)
        self.risk_free.setDecimals(2)
        self.risk_free.setSingleStep(0.25)
        self.risk_free.setSuffix(" % risk-free")
        self.risk_free.setToolTip("Annual risk-free rate for Sharpe and Sortino")
        self.var_level = QComboBox()
        for level in VAR_LEVELS:
            self.var_level.addItem(f"VaR {level * 100:g}%", level)
        self.var_level.setCurrentIndex(VAR_LEVELS.index(0.95))
        self.var_level.setToolTip("Confidence of the historical VaR and CVaR of daily returns")
        for widget in (self.sessions, self.risk_free):
            widget.valueChanged.connect(self._recompute_soon)
        self.var_level.currentIndexChanged.connect(self._recompute_soon)
        reset = QPushButton("Defaults")
        reset.setToolTip("252 sessions, 0% risk-free, 95% VaR")
        reset.clicked.connect(self.reset_conventions)
        form.addWidget(QLabel("Daily returns,"))
        form.addWidget(self.sessions)
        form.addWidget(self.risk_free)
        form.addWidget(self.var_level)
        form.addWidget(reset)
        form.addStretch(1)
        layout.addLayout(form)
        self.metrics_model = RowsModel(
            [
                Column("Metric", lambda r: r.label),
                Column("Gross", lambda r: _value_text(r.kind, r.gross), numeric=True),
                Column("Net", lambda r: _value_text(r.kind, r.net), numeric=True),
                Column("How", lambda r: r.note),
            ]
        )
        self.metrics_view = _table(self.metrics_model, stretch_last=True)
        self.metrics_view.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        layout.addWidget(self.metrics_view, 1)
        return box

    def _build_costs(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(4, 4, 4, 4)
        self.costs_model = RowsModel(
            [
                Column("Component", lambda r: r.label),
                Column("Amount", lambda r: _rupees_text(r.amount), numeric=True),
                Column("Share", lambda r: r.share, numeric=True),
            ]
        )
        self.costs_view = _table(self.costs_model, stretch_last=False)
        self.costs_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.costs_note = QLabel()
        self.costs_note.setWordWrap(True)
        layout.addWidget(self.costs_view, 1)
        layout.addWidget(self.costs_note)
        return box

    def _build_trades(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 4, 0, 0)
        bar = QHBoxLayout()
        self.trades_label = QLabel("Trades")
        self.trades_label.setStyleSheet("font-weight: 600;")
        self.side_filter = QComboBox()
        self.side_filter.addItem("Long and short", "")
        self.side_filter.addItem("Long only", "long")
        self.side_filter.addItem("Short only", "short")
        self.symbol_filter = QComboBox()
        # wide enough for "All symbols" (and a symbol) before it is filled, not clipped after
        self.symbol_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.symbol_filter.setMinimumContentsLength(len("All symbols") + 1)
        self.outcome_filter = QComboBox()
        self.outcome_filter.addItem("Winners and losers", "")
        self.outcome_filter.addItem("Winners", "winners")
        self.outcome_filter.addItem("Losers", "losers")
        for combo in (self.side_filter, self.symbol_filter, self.outcome_filter):
            combo.currentIndexChanged.connect(self._filter_trades)
        bar.addWidget(self.trades_label)
        bar.addStretch(1)
        bar.addWidget(self.side_filter)
        bar.addWidget(self.symbol_filter)
        bar.addWidget(self.outcome_filter)
        layout.addLayout(bar)
        self.trades_model = TradesModel()
        self.trades_view = _table(self.trades_model, stretch_last=True)
        self.trades_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.trades_view.setSortingEnabled(True)
        self.trades_view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header = self.trades_view.horizontalHeader()
        widths = (64, 90, 56, 64, 124, 90, 124, 90, 100, 90)
        for column, width in enumerate(widths):
            header.resizeSection(column, width)
        self.trades_view.selectionModel().currentRowChanged.connect(self._trade_picked)
        layout.addWidget(self.trades_view, 1)
        return box

    # --- showing a run ------------------------------------------------------------------

    def show_result(self, result: BacktestResult, title: str = "") -> None:
        """Show `result` (replacing any earlier one); `title` names it in the header.

        `result`, the header and the figures are set at once; the equity curve, its drawdown,
        the weekly bars, the monthly table and the trades in the next loop turns, one each
        (`filled` fires after the last; `fill_now` does the rest at once)."""
        from app.reports import figures

        self.result = result
        self.title = title or f"{result.strategy} on {', '.join(result.symbols)}"
        self.charges = None
        curve = result.curve
        self.figures = figures(result, self.conventions)
        params = ", ".join(f"{k}={v}" for k, v in result.params.items())
        config = result.config
        costs = config.costs if config.costs != "bps" else f"{config.cost_bps} bps"
        self.heading.setText(self.title)
        self.subtitle.setText(
            f"{result.strategy}({params}) · {result.bars:,} bars · "
            f"{_when(curve.timestamps[0])} to {_when(curve.timestamps[-1])} IST · "
            f"capital {_rupees_text(config.capital)} · costs {costs}, slippage "
            f"{config.slippage_bps} bps, fills at {config.fill}"
        )
        self._show_figures()
        self._show_weekly_text(result)
        if self._curves is not None:  # shown again filled, in its step: never painted twice
            self._curves.hide()  # (empty or the last run's) in this first, costliest frame
        self.stack.setCurrentIndex(1)
        self._queue(
            [
                *self._chart_steps(),
                lambda: self._fill_equity(result),
                lambda: self._fill_drawdown(result),
                lambda: self._fill_weekly(result),
                lambda: self._fill_monthly(result),
                lambda: self._fill_trades(result),
            ]
        )
        if self.right_tabs.currentIndex() == 1:
            self._show_costs()

    def _queue(self, steps: list[Callable[[], None]], replace: bool = True) -> None:
        """Run `steps` one per loop turn (instead of what is left of an earlier run's)."""
        self._steps = steps if replace else [*self._steps, *steps]
        self._step_timer.start()

    def _next_step(self) -> None:
        if not self._steps:
            return
        step = self._steps.pop(0)
        step()
        if self._steps:
            self._step_timer.start()
        elif self.result is not None:
            self.filled.emit()

    def fill_now(self) -> None:
        """Do what is left of showing the run now, instead of in the next loop turns."""
        self._step_timer.stop()
        while self._steps:
            self._next_step()

    def is_filled(self) -> bool:
        """Whether the shown run (if any) is shown in full: nothing left to fill."""
        return not self._steps

    def _fill_equity(self, result: BacktestResult) -> None:
        self.curves.show()  # laid out first: the curves then range and sample to its size once
        self.curves.set_equity(result.curve)

    def _fill_drawdown(self, result: BacktestResult) -> None:
        from app.reports.analysis import drawdown_curve

        capital = float(result.config.capital)
        self.curves.set_drawdown(drawdown_curve(result.curve, capital))

    def _fill_weekly(self, result: BacktestResult) -> None:
        from app.gui.results.charts import NS_PER_SECOND

        weekly = result.weekly
        starts = [ist_midnight_ns(w.week_start) / NS_PER_SECOND for w in weekly.weeks]
        self.weekly_chart.set_weeks(starts, [w.weekly_return for w in weekly.weeks])

    def _fill_monthly(self, result: BacktestResult) -> None:
        from app.reports.analysis import monthly_returns

        capital = float(result.config.capital)
        self.monthly_model.set_table(monthly_returns(result.curve, capital))

    def _fill_trades(self, result: BacktestResult) -> None:
        self.trades_model.set_trades(result.trades)
        self._fill_symbols()

    def _show_figures(self) -> None:
        from app.reports import metric_rows
        from app.reports.analysis import format_value, rupees_text

        assert self.result is not None and self.figures is not None
        result, fig = self.result, self.figures
        m = fig.metrics
        self.metrics_model.set_rows(metric_rows(fig))
        net_pnl = result.final_equity - result.config.capital
        p = self.palette_

        def sign(value: float | Decimal | None) -> str | None:
            if value is None or value == 0:
                return None
            return p.up if value > 0 else p.down

        values: dict[str, tuple[str, str | None]] = {
            "Net P&L": (rupees_text(net_pnl), sign(net_pnl)),
            "Total return": (format_value("pct", m.net.total_return), sign(m.net.total_return)),
            "CAGR": (format_value("pct", m.net.cagr), sign(m.net.cagr)),
            "Sharpe": (format_value("ratio", m.net.sharpe), None),
            "Max drawdown": (
                format_value("pct", m.net.max_drawdown),
                p.down if m.net.max_drawdown else None,
            ),
            "Win rate": (format_value("pct", m.net_trades.win_rate), None),
            "Closed trades": (f"{len(result.trades):,}", None),
            "Charges": (rupees_text(result.total_charges), None),
        }
        for name, (text, colour) in values.items():
            self.kpis[name].show_value(text, colour)

    def _show_weekly_text(self, result: BacktestResult) -> None:
        weekly = result.weekly
        self.reason.setText(weekly.summary.removeprefix(f"{weekly.badge.value}: "))
        self._paint_badge()
        lines = []
        for c in weekly.criteria:
            mark = "✔" if c.passed else "✘"
            op = "≥" if c.kind == "min" else "≤"
            lines.append(
                f"{mark} {c.label}: <b>{c.actual * 100:.2f}%</b> (target {op} "
                f"{c.threshold * 100:.2f}%)"
            )
        lines += [f"<i>{w}</i>" for w in weekly.warnings]
        self.criteria.setText("<br>".join(lines))

    def _paint_badge(self) -> None:
        if self.result is None:
            return
        from app.reports.svg import BADGE_COLOURS

        name = self.result.weekly.badge.value
        self.badge.setText(name)
        self.badge.setStyleSheet(
            f"background: {BADGE_COLOURS[name]}; color: white; font-weight: 700; "
            "border-radius: 11px; padding: 3px 10px;"
        )

    def _fill_symbols(self) -> None:
        self.symbol_filter.blockSignals(True)
        self.symbol_filter.clear()
        self.symbol_filter.addItem("All symbols", "")
        for symbol in self.trades_model.symbols():
            self.symbol_filter.addItem(symbol, symbol)
        self.symbol_filter.blockSignals(False)
        self.trades_model.set_filter(TradeFilter())
        for combo in (self.side_filter, self.outcome_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self._count_trades()

    def _count_trades(self) -> None:
        shown, total = self.trades_model.rowCount(), len(self.trades_model.trades)
        text = f"Trades ({total:,})" if shown == total else f"Trades ({shown:,} of {total:,})"
        self.trades_label.setText(text)

    # --- interaction --------------------------------------------------------------------

    def set_trade_filter(self, wanted: TradeFilter) -> None:
        """Show only the trades `wanted` lets through (the filter bar does this too)."""
        for combo, value in (
            (self.side_filter, wanted.side),
            (self.symbol_filter, wanted.symbol),
            (self.outcome_filter, wanted.outcome),
        ):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        self.trades_model.set_filter(wanted)
        self._count_trades()

    def _filter_trades(self) -> None:
        self.set_trade_filter(
            TradeFilter(
                side=str(self.side_filter.currentData() or ""),
                symbol=str(self.symbol_filter.currentData() or ""),
                outcome=str(self.outcome_filter.currentData() or ""),
            )
        )

    def _trade_picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        trade = self.trades_model.trade_at(current.row())
        entry_ns, exit_ns = self.trades_model.entry_exit_ns(current.row())
        self.trade_selected.emit(trade.symbol, entry_ns, exit_ns)

    def set_conventions(self, conventions: Conventions) -> None:
        """Measure the risk figures this way (recomputed by the engine's metrics)."""
        for widget in (self.sessions, self.risk_free, self.var_level):
            widget.blockSignals(True)
        self.sessions.setValue(conventions.periods_per_year)
        self.risk_free.setValue(conventions.risk_free_rate * 100)
        level = self.var_level.findData(conventions.var_level)
        if level < 0:
            self.var_level.addItem(f"VaR {conventions.var_level * 100:g}%", conventions.var_level)
            level = self.var_level.count() - 1
        self.var_level.setCurrentIndex(level)
        for widget in (self.sessions, self.risk_free, self.var_level):
            widget.blockSignals(False)
        self.conventions = conventions
        if self.result is not None:
            from app.reports import figures

            self.figures = figures(self.result, conventions)
            self._show_figures()

    def reset_conventions(self) -> None:
        from app.reports import Conventions

        self.set_conventions(Conventions())

    def _recompute_soon(self) -> None:
        self._recompute.start()

    def _apply_conventions(self) -> None:
        from app.reports import Conventions

        self.set_conventions(
            Conventions(
                periods_per_year=self.sessions.value(),
                risk_free_rate=round(self.risk_free.value() / 100, 6),
                var_level=float(self.var_level.currentData()),
            )
        )

    def _tab_changed(self, index: int) -> None:
        if index == 1:
            self._show_costs()

    def _show_costs(self) -> None:
        """Itemise the charges (re-pricing every contract note: done once, when asked)."""
        if self.result is None or self.charges is not None:
            return
        from app.reports import charge_summary

        self.charges = summary = charge_summary(self.result)
        total = summary.ledger_total
        rows = [
            CostRow(label, amount, f"{amount / total * 100:.1f}%" if total else "—")
            for label, amount in summary.rows()
        ]
        self.costs_model.set_rows(rows)
        self.costs_note.setText(
            f"Cost model: {summary.model}. {summary.notes:,} contract notes re-priced from "
            f"the closed trades' fills; turnover {_rupees_text(summary.turnover)}."
        )

    # --- export -------------------------------------------------------------------------

    def export_html_to(self, path: Path) -> Path:
        """Write the HTML report of the shown run (ReportError when refused)."""
        from app.reports import ReportError, write_html

        if self.result is None:
            raise ReportError("no backtest is shown; run one first")
        return write_html(self.result, path, self.title, self.conventions)

    def export_csv_to(self, folder: Path) -> list[Path]:
        """Write the trades and metrics CSVs of the shown run into `folder`."""
        from app.reports import ReportError, export_csv

        if self.result is None:
            raise ReportError("no backtest is shown; run one first")
        return export_csv(self.result, folder, conventions=self.conventions)

    def _start_dir(self) -> str:
        return str(self.ctx.workspace.root) if self.ctx is not None else str(Path.home())

    def _ask_html(self) -> None:
        if self.result is None:
            return
        from app.reports.csv_export import default_stem

        name = str(Path(self._start_dir()) / f"{default_stem(self.result)}.html")
        chosen, _ = QFileDialog.getSaveFileName(self, "Export HTML report", name, "HTML (*.html)")
        if chosen:
            self._export(lambda: [self.export_html_to(Path(chosen))])

    def _ask_csv(self) -> None:
        if self.result is None:
            return
        chosen = QFileDialog.getExistingDirectory(self, "Export CSV into folder", self._start_dir())
        if chosen:
            self._export(lambda: self.export_csv_to(Path(chosen)))

    def _export(self, write: Callable[[], list[Path]]) -> None:
        from app.reports import ReportError

        try:
            paths = write()
        except ReportError as exc:
            QMessageBox.warning(self, "Export refused", f"{exc}")
            return
        names = ", ".join(str(p) for p in paths)
        window = self.window()
        bar = getattr(window, "statusBar", None)
        if callable(bar):
            bar().showMessage(f"Exported {names}", 8000)

    # --- theme --------------------------------------------------------------------------

    def apply_theme(self, name: str) -> None:
        """Repaint charts, heatmap, badge and coloured figures in the theme's colours."""
        self.theme = name
        colour_blind = self.ctx is not None and self.ctx.settings.colour_blind
        self.palette_ = p = palette_for(name, colour_blind)
        self._net_colour = net = "#5b9cff" if name == "dark" else "#2962ff"
        if self._curves is not None:
            self._curves.apply_palette(p, net)
        if self._weekly_chart is not None:
            self._weekly_chart.apply_palette(p)
        self.monthly_model.set_colours(p.up, p.down, "#16181d" if name == "dark" else "#ffffff")
        self.trades_model.set_colours(p.up, p.down)
        muted = p.readout_label
        for card in self.kpis.values():
            card.caption.setStyleSheet(f"font-size: 10px; letter-spacing: 0.5px; color: {muted};")
        self.subtitle.setStyleSheet(f"color: {muted};")
        self.costs_note.setStyleSheet(f"color: {muted};")
        if self.result is not None and self.figures is not None:
            self._show_figures()
            self._paint_badge()


register_panel(
    PanelSpec(
        panel_id="results",
        title="Results",
        factory=ResultsPanel,
        area=Qt.DockWidgetArea.RightDockWidgetArea,
        tab_with="data",
        order=35,
        shortcut="Ctrl+Shift+R",
    )
)
