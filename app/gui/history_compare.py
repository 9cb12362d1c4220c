"""Two saved runs side by side: headline metrics, what ran (setup, parameters, config) with
every difference highlighted, and both equity curves overlaid on one time axis.

The comparison itself (what differs, both metric sets) is engine.data.run_history's
`compare_runs`, the same one `artha runs compare` prints; this dialog only lays it out.
Only the curves are read from the saved reports (`load_curve`: no trades rebuilt); a run
whose curve cannot be read is compared on its metrics and parameters, with a note saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.commands.runs import metric_text
from app.gui.chart.palette import ChartPalette, palette_for
from app.gui.direct_axis import DateAxis
from app.gui.value_axes import RupeeAxis
from engine.data import run_history as rh
from engine.data.store import MarketStore
from engine.metrics import EquityCurve

NS_PER_SECOND = 1_000_000_000
IST_UTC_OFFSET = -19_800  # pyqtgraph's utcOffset: seconds WEST of UTC
MONEY_KEYS = ("net_pnl", "gross_pnl", "charges", "final_equity", "expectancy")
# which way is better, for colouring B − A: +1 higher is better, -1 lower is better
BETTER: dict[str, int] = {
    **dict.fromkeys(("net_pnl", "gross_pnl", "final_equity", "total_return", "cagr"), 1),
    **dict.fromkeys(("sharpe", "sortino", "win_rate", "profit_factor", "expectancy"), 1),
    **dict.fromkeys(("charges", "max_drawdown"), -1),
}
RATIO_KEYS = ("total_return", "cagr", "max_drawdown", "win_rate", "time_in_market")


def run_colours(theme: str) -> tuple[str, str]:
    """Run A blue, run B orange (Okabe-Ito: apart under red-green colour blindness too)."""
    return ("#4aa3ff", "#f5a623") if theme == "dark" else ("#0072b2", "#d55e00")


def highlight_colour(theme: str) -> str:
    """The background of a row that differs: amber, muted to sit under the theme's text."""
    return "#3d3520" if theme == "dark" else "#fff3cd"


def delta_text(key: str, a: Any, b: Any) -> str:
    """B − A in the metric's own unit (rupees, percentage points, plain); '' when not numeric."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return ""
    try:
        diff = Decimal(str(b)) - Decimal(str(a))
    except InvalidOperation:
        return ""
    sign = "+" if diff > 0 else ""
    if key in MONEY_KEYS:
        return sign + metric_text(key, str(diff.quantize(Decimal("0.01"))))
    if key in RATIO_KEYS:
        return f"{sign}{float(diff) * 100:.2f} pp"
    if key in ("trades", "bars"):
        return f"{sign}{int(diff)}"
    return f"{sign}{float(diff):.2f}"


def better_side(key: str, a: Any, b: Any) -> int:
    """+1 when B is better than A on this metric, -1 when worse, 0 when neither or unknown."""
    direction = BETTER.get(key, 0)
    try:
        diff = Decimal(str(b)) - Decimal(str(a))
    except (InvalidOperation, ValueError):
        return 0
    if a is None or b is None or diff == 0:
        return 0
    return direction if diff > 0 else -direction


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class CompareDialog(QDialog):
    """Runs `a` and `b` compared; `apply_theme(name)` repaints it."""

    def __init__(
        self, store: MarketStore, a: int, b: int, theme: str = "dark", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("compareRuns")
        self.comparison = rh.compare_runs(store, a, b)
        first, second = self.comparison.a, self.comparison.b
        self.setWindowTitle(f"Compare runs {first.id} and {second.id}")
        self.curves: dict[str, EquityCurve | None] = {}
        self.curve_problems: list[str] = []
        for label, info in (("A", first), ("B", second)):
            try:
                self.curves[label] = rh.load_curve(store, info.id)
            except rh.RunHistoryError as exc:
                self.curves[label] = None
                self.curve_problems.append(str(exc))

        self.title_a = QLabel()
        self.title_b = QLabel()
        for title in (self.title_a, self.title_b):
            title.setTextFormat(Qt.TextFormat.RichText)
            title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict = QLabel()
        self.verdict.setObjectName("compareVerdict")
        self.verdict.setWordWrap(True)

        self.metrics = QTableWidget(0, 4)
        self.metrics.setObjectName("compareMetrics")
        self.metrics.setHorizontalHeaderLabels(["Metric", "A", "B", "B − A"])
        self.setup = QTableWidget(0, 4)
        self.setup.setObjectName("compareSetup")
        self.setup.setHorizontalHeaderLabels(["What ran", "", "A", "B"])
        for table in (self.metrics, self.setup):
            table.verticalHeader().setVisible(False)
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            table.setWordWrap(False)
            header = table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            for column in (2, 3):
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
            table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.only_differences = QCheckBox("Only what differs")
        self.only_differences.setToolTip("Hide the parameters and settings both runs share")
        # differences first: what differs is what the trader opened this for (untick for all)
        self.only_differences.setChecked(not self.comparison.same_setup)
        self.only_differences.toggled.connect(self._fill_setup)

        self.plot = pg.PlotWidget(
            axisItems={
                "bottom": DateAxis(utcOffset=IST_UTC_OFFSET),
                "left": RupeeAxis("left"),
            }
        )
        self.plot.setObjectName("compareCurves")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        item = self.plot.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setLabel("left", "Net equity ₹")
        item.getAxis("left").setWidth(80)  # room for "100.05 L" before the first layout
        self.legend = item.addLegend(offset=(10, 10))
        self.lines: dict[str, pg.PlotDataItem] = {}
        for label, info in (("A", first), ("B", second)):
            curve = self.curves[label]
            if curve is None:
                continue
            x = curve.timestamps.astype(np.float64) / NS_PER_SECOND
            self.lines[label] = self.plot.plot(x, curve.equity, name=f"{label}: run {info.id}")
        self.curve_note = QLabel("\n".join(self.curve_problems))
        self.curve_note.setObjectName("curveNote")
        self.curve_note.setWordWrap(True)
        self.curve_note.setVisible(bool(self.curve_problems))

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.metrics)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.setup)
        right_layout.addWidget(self.only_differences)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(left)
        tables.addWidget(right)
        tables.setSizes([430, 610])
        chart = QWidget()
        chart_layout = QVBoxLayout(chart)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.plot)
        chart_layout.addWidget(self.curve_note)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(tables)
        split.addWidget(chart)
        split.setSizes([380, 320])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        heads = QHBoxLayout()
        heads.addWidget(self.title_a, 1)
        heads.addWidget(self.title_b, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(heads)
        layout.addWidget(self.verdict)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self.resize(1080, 760)

        self.theme = theme
        self.palette_: ChartPalette = palette_for(theme)
        self._fill_metrics()
        self._fill_setup()
        self.apply_theme(theme)

    # -- filling ------------------------------------------------------------------------------
    def _fill_metrics(self) -> None:
        rows = self.comparison.metrics
        self.metrics.setRowCount(len(rows))
        for row, metric in enumerate(rows):
            cells = (
                metric.label,
                metric_text(metric.key, metric.a),
                metric_text(metric.key, metric.b),
                delta_text(metric.key, metric.a, metric.b) if metric.differs else "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.metrics.setItem(row, column, item)

    def setup_rows(self) -> list[tuple[str, str, Any, Any, bool]]:
        """(section, key, A, B, differs) for every setup field, parameter and config value."""
        c = self.comparison
        a, b = c.a, c.b
        out: list[tuple[str, str, Any, Any, bool]] = []
        sections = (("Setup", c.setup), ("Parameter", c.params), ("Config", c.config))
        differing = {(section, d.key) for section, found in sections for d in found}
        setup: tuple[tuple[str, Any, Any], ...] = (
            ("strategy", a.strategy, b.strategy),
            ("strategy_ref", a.strategy_ref, b.strategy_ref),
            ("source_hash", _short_hash(a.source_hash), _short_hash(b.source_hash)),
            ("symbols", a.symbols, b.symbols),
            ("timeframe", a.timeframe, b.timeframe),
            ("data", a.period, b.period),
        )
        for key, va, vb in setup:
            keys = ("data_first", "data_last") if key == "data" else (key,)
            differs = any(("Setup", k) in differing for k in keys)
            out.append(("Setup", key, va, vb, differs))
        for section, ma, mb in (("Parameter", a.params, b.params), ("Config", a.config, b.config)):
            fa, fb = _flat(ma), _flat(mb)
            for key in [*fa, *(k for k in fb if k not in fa)]:
                out.append((section, key, fa.get(key), fb.get(key), (section, key) in differing))
        return out

    def _fill_setup(self) -> None:
        rows = self.setup_rows()
        if self.only_differences.isChecked():
            rows = [r for r in rows if r[4]]
        self.setup.setRowCount(len(rows))
        for row, (section, key, a, b, _) in enumerate(rows):
            for column, text in enumerate((section, key, _shown(a), _shown(b))):
                self.setup.setItem(row, column, QTableWidgetItem(text))
        self._paint_differences()

    # -- theme -------------------------------------------------------------------------------
    def apply_theme(self, name: str) -> None:
        """Lines, plot and highlights in the theme's colours (the dialog paints them itself)."""
        self.theme = name
        self.palette_ = p = palette_for(name)
        colour_a, colour_b = run_colours(name)
        a, b = self.comparison.a, self.comparison.b
        for widget, colour, label, info in (
            (self.title_a, colour_a, "A", a),
            (self.title_b, colour_b, "B", b),
        ):
            tags = f" · {', '.join(info.tags)}" if info.tags else ""
            widget.setText(
                f"<span style='color:{colour}; font-size:16px'>■</span> <b>{label}: run "
                f"{info.id}</b> {_escape(info.name)}<br><span style='color:{p.readout_label}'>"
                f"{_escape(info.strategy)} · {_escape(', '.join(info.symbols))} · "
                f"{info.timeframe or 'as stored'} · {info.period}{_escape(tags)}</span>"
            )
        c = self.comparison
        count = len(c.setup) + len(c.params) + len(c.config)
        self.verdict.setText(
            "Same strategy source, parameters, config and data: the runs should agree."
            if c.same_setup
            else f"{count} difference{'s' if count != 1 else ''} in what ran (right); metrics that "
            "differ are tinted, B − A green where B is better."
        )
        self.verdict.setStyleSheet(f"color: {p.readout_label};")
        self.curve_note.setStyleSheet(f"color: {p.down};")
        self.plot.setBackground(p.background)
        item = self.plot.getPlotItem()
        for axis in ("left", "bottom"):
            ax = item.getAxis(axis)
            ax.setPen(pg.mkPen(p.axis_line))
            ax.setTextPen(pg.mkPen(p.axis_text))
        self.legend.setLabelTextColor(p.axis_text)
        for label, colour in (("A", colour_a), ("B", colour_b)):
            if label in self.lines:
                self.lines[label].setPen(pg.mkPen(colour, width=2))
        self._paint_differences()

    def _paint_differences(self) -> None:
        """Rows that differ get an amber tint (what ran: bold too, as such rows are few); in
        the metrics, B − A is green where B is better and red where it is worse."""
        theme = getattr(self, "theme", "dark")
        brush = QBrush(QColor(highlight_colour(theme)))
        palette = palette_for(theme)
        for row, metric in enumerate(self.comparison.metrics):
            _paint_row(self.metrics, row, metric.differs, brush, bold=False)
            delta = self.metrics.item(row, 3)
            side = better_side(metric.key, metric.a, metric.b)
            if delta is not None:
                colour = {1: palette.up, -1: palette.down}.get(side)
                delta.setData(
                    Qt.ItemDataRole.ForegroundRole, QBrush(QColor(colour)) if colour else None
                )
        shown = self.setup_rows()
        if self.only_differences.isChecked():
            shown = [r for r in shown if r[4]]
        for row, entry in enumerate(shown):
            _paint_row(self.setup, row, entry[4], brush, bold=True)

    def differing_metric_rows(self) -> list[str]:
        """The labels of the highlighted metric rows (where a reader's eye is sent)."""
        return _highlighted(self.metrics, lambda cells: cells[0])

    def differing_setup_rows(self) -> list[str]:
        """`Section:key` of the highlighted rows of what ran."""
        return _highlighted(self.setup, lambda cells: f"{cells[0]}:{cells[1]}")


def _paint_row(table: QTableWidget, row: int, differs: bool, brush: QBrush, bold: bool) -> None:
    font = QFont()
    font.setBold(differs and bold)
    for column in range(table.columnCount()):
        item = table.item(row, column)
        if item is not None:
            item.setData(Qt.ItemDataRole.BackgroundRole, brush if differs else None)
            item.setFont(font)


def _highlighted(table: QTableWidget, name: Callable[[list[str]], str]) -> list[str]:
    out = []
    for row in range(table.rowCount()):
        items = [table.item(row, c) for c in range(table.columnCount())]
        cells = [i.text() if i is not None else "" for i in items]
        first = items[0]
        if first is not None and first.data(Qt.ItemDataRole.BackgroundRole) is not None:
            out.append(name(cells))
    return out


def _short_hash(value: str | None) -> str | None:
    return None if value is None else value[:12] + "…"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
