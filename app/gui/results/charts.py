"""The results panel's charts: equity (net and before costs), drawdown, weekly returns.

A million-bar curve is drawn from a min/max pyramid (curve_lod.py): each line gets about two
points a pixel of the range on screen, so opening and zooming a long run stay fast. Times are
on an IST date axis; money in rupees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.gui.chart.palette import ChartPalette
from app.gui.direct_axis import DateAxis
from app.gui.results.curve_lod import CurvePyramid
from app.gui.value_axes import PercentAxis, RupeeAxis
from engine.metrics import EquityCurve

NS_PER_SECOND = 1_000_000_000
IST_UTC_OFFSET = -19_800  # pyqtgraph's utcOffset: seconds WEST of UTC, as time.timezone
X_PADDING = 0.02  # of the run's span, each side of the curves


def equity_plot() -> pg.PlotWidget:
    """CurveCharts' upper plot (built on its own: a plot is a few tens of ms to build)."""
    return _plot(True, money=True)


def drawdown_plot() -> pg.PlotWidget:
    """CurveCharts' lower plot."""
    return _plot(True)


def _plot(axis_dates: bool, money: bool = False) -> pg.PlotWidget:
    axes: dict[str, pg.AxisItem] = {"left": RupeeAxis() if money else PercentAxis()}
    if axis_dates:
        axes["bottom"] = DateAxis(utcOffset=IST_UTC_OFFSET)
    plot = pg.PlotWidget(axisItems=axes)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.showGrid(x=True, y=True, alpha=0.15)
    item = plot.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    return plot


class CurveCharts(QWidget):
    """Equity above, drawdown below, sharing the time axis."""

    def __init__(
        self,
        parent: QWidget | None = None,
        equity: pg.PlotWidget | None = None,
        drawdown: pg.PlotWidget | None = None,
    ) -> None:
        """`equity` and `drawdown`: the plots if already built (`equity_plot()`...)."""
        super().__init__(parent)
        self.equity_plot = equity if equity is not None else equity_plot()
        self.drawdown_plot = drawdown if drawdown is not None else drawdown_plot()
        self.drawdown_plot.setXLink(self.equity_plot)
        self.equity_plot.getPlotItem().setLabel("left", "Equity ₹")
        self.drawdown_plot.getPlotItem().setLabel("left", "Drawdown")
        self.legend = QLabel()  # above the plot: a legend inside would cover the curve
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.gross_line = self.equity_plot.plot()
        self.net_line = self.equity_plot.plot()
        self.drawdown_line = self.drawdown_plot.plot(fillLevel=0.0)
        self.drawdown_plot.setMaximumHeight(220)
        # the lines get the points the view shows (CurvePyramid), not pyqtgraph's own thinning
        for plot in (self.equity_plot, self.drawdown_plot):
            plot.getPlotItem().setDownsampling(auto=False)
            plot.getPlotItem().setClipToView(False)
        self.pyramids: list[tuple[pg.PlotDataItem, CurvePyramid]] = []
        view = self.equity_plot.getPlotItem().getViewBox()
        view.sigXRangeChanged.connect(self._redraw)  # the drawdown plot follows (x-linked)
        view.sigResized.connect(self._redraw)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.legend)
        layout.addWidget(self.equity_plot, 3)
        layout.addWidget(self.drawdown_plot, 1)

    def set_curve(self, curve: EquityCurve, drawdown: np.ndarray) -> None:
        self.set_equity(curve)
        self.set_drawdown(drawdown)

    def set_equity(self, curve: EquityCurve) -> None:
        """The run's equity, net and before costs; its drawdown comes with `set_drawdown`
        (the results panel sets them a loop turn apart: each plot's paint in a turn of its
        own). Until then the drawdown plot is empty, never the last run's."""
        x = curve.timestamps.astype(np.float64) / NS_PER_SECOND
        self.pyramids = [
            (self.gross_line, CurvePyramid(x, curve.gross_equity)),
            (self.net_line, CurvePyramid(x, curve.equity)),
        ]
        self.drawdown_line.setData([], [])
        self._redraw(whole=True)
        self._show_whole_run(x)

    def set_drawdown(self, drawdown: np.ndarray) -> None:
        """The drawdown (fractions of the running peak, at the equity's times) under it."""
        if not self.pyramids:
            raise ValueError("set_equity first: the drawdown is drawn at the equity's times")
        pyramid = CurvePyramid(self.pyramids[0][1].x, -100.0 * drawdown)
        self.pyramids = [*self.pyramids[:2], (self.drawdown_line, pyramid)]
        x = pyramid.x
        self.drawdown_line.setData(*pyramid.view(x[0], x[-1], self._pixels()))
        self.drawdown_plot.getPlotItem().enableAutoRange(x=False, y=True)

    def _show_whole_run(self, x: np.ndarray) -> None:
        """Time from the run's first to its last point, set here, never by pyqtgraph's
        auto-range: the lines hold only the points of the range on screen, so an auto-range
        over them grew the range by its padding a step at a time (about ten redraws and
        paints a run, each a finer level of detail, ~1 s of a stuttering GUI). Values
        follow what is on screen (y auto-range)."""
        first, last = float(x[0]), float(x[-1])
        if not last > first:  # one point: a minute either side
            first, last = first - 60.0, last + 60.0
        for plot in (self.equity_plot, self.drawdown_plot):
            plot.getPlotItem().enableAutoRange(x=False, y=True)
        self.equity_plot.getPlotItem().setXRange(first, last, padding=X_PADDING)

    def _redraw(self, *_: object, whole: bool = False) -> None:
        """Give each line the points of the x range on screen, about two a pixel."""
        if not self.pyramids:
            return
        view = self.equity_plot.getPlotItem().getViewBox()
        x = self.pyramids[0][1].x
        x0, x1 = (x[0], x[-1]) if whole else view.viewRange()[0]
        pixels = self._pixels()
        for line, pyramid in self.pyramids:
            line.setData(*pyramid.view(x0, x1, pixels))

    def _pixels(self) -> int:
        return max(int(self.equity_plot.getPlotItem().getViewBox().width()), 200)

    def apply_palette(self, palette: ChartPalette, net: str) -> None:
        for plot in (self.equity_plot, self.drawdown_plot):
            plot.setBackground(palette.background)
            for name in ("left", "bottom"):
                axis = plot.getPlotItem().getAxis(name)
                axis.setPen(pg.mkPen(palette.axis_line))
                axis.setTextPen(pg.mkPen(palette.axis_text))
        gross = palette.readout_label
        self.gross_line.setPen(pg.mkPen(gross, width=1, style=Qt.PenStyle.DashLine))
        self.net_line.setPen(pg.mkPen(net, width=2))
        self.drawdown_line.setPen(pg.mkPen(palette.down, width=1))
        self.drawdown_line.setBrush(pg.mkBrush(palette.down + "55"))
        self.legend.setText(
            f'<span style="color:{net}">━━</span> Net equity &nbsp;&nbsp; '
            f'<span style="color:{gross}">╌╌</span> Before costs &nbsp;&nbsp; '
            f'<span style="color:{palette.down}">▇</span> Drawdown from the running peak'
        )


class WeeklyChart(pg.PlotWidget):  # type: ignore[misc]  # pyqtgraph is untyped
    """Each IST week's net return as a bar, green up and red down."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            parent,
            axisItems={"bottom": DateAxis(utcOffset=IST_UTC_OFFSET), "left": PercentAxis()},
        )
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(x=False, y=True, alpha=0.15)
        self.getPlotItem().setLabel("left", "Weekly return")
        self.bars: pg.BarGraphItem | None = None
        self.starts: np.ndarray = np.zeros(0)
        self.values: np.ndarray = np.zeros(0)
        self.palette_: ChartPalette = ChartPalette.dark()

    def set_weeks(self, starts_s: Sequence[float], returns: Sequence[float | None]) -> None:
        self.starts = np.asarray(starts_s, dtype=np.float64)
        self.values = np.array([0.0 if r is None else 100.0 * r for r in returns], dtype=np.float64)
        self._draw()

    def _draw(self) -> None:
        if self.bars is not None:
            self.removeItem(self.bars)
            self.bars = None
        if not self.starts.size:
            return
        brushes = [
            pg.mkBrush(self.palette_.up if v >= 0 else self.palette_.down) for v in self.values
        ]
        week = 7 * 86_400
        self.bars = pg.BarGraphItem(
            x=self.starts + week / 2,
            height=self.values,
            width=week * 0.7,
            brushes=brushes,
            pen=None,
        )
        self.addItem(self.bars)
        self.getPlotItem().enableAutoRange()

    def apply_palette(self, palette: ChartPalette) -> None:
        self.palette_ = palette
        self.setBackground(palette.background)
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(palette.axis_line))
            axis.setTextPen(pg.mkPen(palette.axis_text))
        self._draw()
