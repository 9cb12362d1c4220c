"""`ChartView`: the candlestick chart widget, driven from plain numpy arrays.

Panes, top to bottom: prices (candles, price axis on the right), oscillator sub-panes added
by key, volume. All share x (the bar index) and one `TimeTicks`; only the lowest pane shows
time labels, the others draw the same vertical grid. Drag pans, the wheel zooms x around the
cursor, and every x change rescales y to the visible bars from the pyramid (never
pyqtgraph's autoRange over all the data).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsTextItem, QGraphicsView, QVBoxLayout, QWidget

from app.gui.chart.candles import CandleItem, VolumeItem
from app.gui.chart.crosshair import Crosshair
from app.gui.chart.lod import OhlcvPyramid
from app.gui.chart.palette import ChartPalette, qcolor
from app.gui.chart.price_axis import LightAxis, PriceAxis, VolumeAxis
from app.gui.chart.time_axis import SessionBreakItem, TimeAxis, TimeTicks

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

DEFAULT_BARS = 300
PRICE_AXIS_WIDTH = 72
PRICE_STRETCH, SUBPANE_STRETCH, VOLUME_STRETCH = 62, 18, 20
Y_PAD_TOP, Y_PAD_BOTTOM = 0.10, 0.06  # share of the visible range; the top leaves the read-out room
RIGHT_MARGIN = 0.02  # share of the bars shown left empty after the last bar by show_last/show_all


class ChartView(QWidget):
    """A candlestick chart with a volume pane, sub-panes, crosshair and IST time axis."""

    x_range_changed = Signal(float, float)
    crosshair_moved = Signal(int)

    def __init__(
        self, parent: QWidget | None = None, *, palette: ChartPalette | None = None
    ) -> None:
        super().__init__(parent)
        self._palette = palette or ChartPalette.dark()
        self._graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._graphics)
        self._paint_background_once()
        self._font = QFont()
        self._font.setPointSizeF(8.5)

        self._ts_buffer: I64 = np.empty(0, dtype=np.int64)
        self._n = 0
        self._pyramid = OhlcvPyramid.empty()
        self._ticks = TimeTicks()

        self._price_plot = self._make_plot(PriceAxis)
        self._volume_plot = self._make_plot(VolumeAxis)
        self._subpanes: dict[str, pg.PlotItem] = {}
        self._subpane_titles: dict[str, QGraphicsTextItem] = {}
        self._candles = CandleItem(self._pyramid, self._palette)
        self._volume = VolumeItem(self._pyramid, self._palette)
        self._breaks = SessionBreakItem(self._palette.session_break)
        self._price_plot.addItem(self._breaks)
        self._price_plot.addItem(self._candles)
        self._volume_plot.addItem(self._volume)
        self._volume_plot.setXLink(self._price_plot)

        self._crosshair = Crosshair(self._price_plot, self._palette)
        self._crosshair.attach(self._volume_plot)
        self._crosshair.moved.connect(self.crosshair_moved)
        self._graphics.scene().sigMouseMoved.connect(self._crosshair.mouse_moved)
        self._graphics.installEventFilter(self)

        price_vb = self._price_plot.getViewBox()
        price_vb.sigXRangeChanged.connect(self._on_x_range)
        price_vb.sigResized.connect(self._rescale_y)
        self._relayout()
        self.set_palette(self._palette)

    # -- building ----------------------------------------------------------------------

    def _paint_background_once(self) -> None:
        """Fill the 1600x900 background once per frame, not three times.

        By default Qt fills the viewport with its palette (autoFillBackground), then
        QGraphicsView blits pyqtgraph's cached background pixmap over it (CacheBackground),
        then the items paint: two full-window memory passes (~1 ms a frame) before any candle.
        The view's own opaque background brush (`set_palette`) already covers every pixel, so
        the viewport is declared opaque and the brush is filled directly (a fill is cheaper
        than the blit, and the cached pixmap's memory is saved). Same pixels."""
        viewport = self._graphics.viewport()
        viewport.setAutoFillBackground(False)
        viewport.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._graphics.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)

    def _make_plot(self, value_axis: type[pg.AxisItem] = LightAxis) -> pg.PlotItem:
        """A pane. Its view box has no context menu (pyqtgraph builds one per view box, ~4 ms,
        which the chart disables anyway) and the hidden left and top axes are light ones
        without SI prefixes (pyqtgraph's re-render their title's HTML on every range change)."""
        axis = TimeAxis(self._ticks, show_labels=False)
        price_axis = value_axis("right")
        price_axis.enableAutoSIPrefix(False)
        hidden = {side: LightAxis(side) for side in ("left", "top")}
        for hidden_axis in hidden.values():
            hidden_axis.enableAutoSIPrefix(False)
        plot = pg.PlotItem(
            viewBox=pg.ViewBox(enableMenu=False),
            axisItems={"bottom": axis, "right": price_axis, **hidden},
            enableMenu=False,
        )
        plot.hideAxis("left")
        plot.hideAxis("top")  # pyqtgraph shows every axis passed in axisItems
        plot.showAxis("right")
        plot.hideButtons()
        plot.setMenuEnabled(False)
        price_axis.setWidth(PRICE_AXIS_WIDTH)
        for grid_axis in (axis, price_axis):
            grid_axis.setZValue(-1)  # grid lines under the candles, not across them
        price_axis.setGrid(255)
        price_axis.setStyle(tickLength=0, tickFont=self._font, autoExpandTextSpace=False)
        axis.setStyle(tickFont=self._font)
        vb = plot.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        vb.disableAutoRange()
        vb.setDefaultPadding(0.0)
        plot.layout.setContentsMargins(0, 0, 0, 0)
        return plot

    def _bottom_axis(self, plot: pg.PlotItem) -> TimeAxis:
        axis = plot.getAxis("bottom")
        assert isinstance(axis, TimeAxis)
        return axis

    def _relayout(self) -> None:
        """Place the panes: prices, sub-panes in order of addition, volume last (labelled)."""
        layout = self._graphics.ci
        layout.clear()
        layout.setSpacing(0)
        layout.setContentsMargins(0, 0, 0, 0)
        panes = [self._price_plot, *self._subpanes.values(), self._volume_plot]
        for row, plot in enumerate(panes):
            layout.addItem(plot, row=row, col=0)
            last = row == len(panes) - 1
            axis = self._bottom_axis(plot)
            axis.set_show_labels(last)
            stretch = PRICE_STRETCH if row == 0 else VOLUME_STRETCH if last else SUBPANE_STRETCH
            layout.layout.setRowStretchFactor(row, stretch)
        for row in range(len(panes), len(panes) + 4):
            layout.layout.setRowStretchFactor(row, 0)

    # -- data --------------------------------------------------------------------------

    def set_bars(
        self,
        ts_ns: I64,
        open_: F64,
        high: F64,
        low: F64,
        close: F64,
        volume: F64,
    ) -> None:
        """Replace the series (int64 UTC ns open times, float64 rupees); show the last bars.

        The arrays are kept by reference, not copied: do not change them afterwards."""
        ts = np.asarray(ts_ns, dtype=np.int64)  # kept, never written (append reallocates)
        n = len(ts)
        if any(len(a) != n for a in (open_, high, low, close, volume)):
            raise ValueError("ts_ns and the OHLCV arrays must have the same length")
        if n > 1 and not bool(np.all(ts[1:] > ts[:-1])):
            raise ValueError("ts_ns must be strictly increasing")
        self._ts_buffer = ts
        self._n = n
        self._pyramid = OhlcvPyramid(open_, high, low, close, volume)
        self._series_changed()
        self.show_last(DEFAULT_BARS)

    def clear(self) -> None:
        """Show no bars."""
        none = np.empty(0, dtype=np.float64)
        self.set_bars(np.empty(0, dtype=np.int64), none, none, none, none, none)

    def append_bar(self, ts_ns: int, o: float, h: float, l: float, c: float, v: float) -> None:  # noqa: E741
        """Add a bar after the last; a view showing the last bar scrolls with it."""
        if self._n and ts_ns <= int(self._ts_buffer[self._n - 1]):
            raise ValueError(
                f"bar time {ts_ns} is not after the last bar's {int(self._ts_buffer[self._n - 1])}"
            )
        if self._n == len(self._ts_buffer):
            grown = np.empty(max(16, self._n + self._n // 2), dtype=np.int64)
            grown[: self._n] = self._ts_buffer[: self._n]
            self._ts_buffer = grown
        self._ts_buffer[self._n] = ts_ns
        x0, x1 = self.x_range()
        following = x1 >= self._n - 1.5
        self._n += 1
        self._pyramid.append(o, h, l, c, v)
        self._series_changed()
        if following:
            self.set_x_range(x0 + 1, x1 + 1)
        else:
            self._rescale_y()

    def update_last_bar(self, o: float, h: float, l: float, c: float, v: float) -> None:  # noqa: E741
        """Replace the last bar's values (a live tick)."""
        self._pyramid.update_last(o, h, l, c, v)
        self._candles.data_changed()
        self._volume.data_changed()
        self._crosshair.set_series(self.ts_ns, self._pyramid)
        self._rescale_y()

    def _series_changed(self) -> None:
        ts = self.ts_ns
        self._ticks.set_times(ts)
        self._breaks.set_times(ts)
        self._candles.set_pyramid(self._pyramid)
        self._volume.set_pyramid(self._pyramid)
        self._crosshair.set_series(ts, self._pyramid)
        n = max(self._n, 1)
        for plot in (self._price_plot, self._volume_plot, *self._subpanes.values()):
            plot.getViewBox().setLimits(
                xMin=-0.5 - n * 0.5,
                xMax=n - 0.5 + n * 0.5 + 50,
                minXRange=8,
                maxXRange=n * 1.2 + 60,
            )

    # -- properties --------------------------------------------------------------------

    @property
    def graphics(self) -> pg.GraphicsLayoutWidget:
        """The graphics view the panes live in (for mapping scene points to pixels)."""
        return self._graphics

    @property
    def price_plot(self) -> pg.PlotItem:
        return self._price_plot

    @property
    def volume_plot(self) -> pg.PlotItem:
        return self._volume_plot

    @property
    def bar_count(self) -> int:
        return self._n

    @property
    def ts_ns(self) -> I64:
        """Open times of the bars (int64 UTC ns); a view: do not write to it."""
        return self._ts_buffer[: self._n]

    @property
    def candles(self) -> CandleItem:
        return self._candles

    @property
    def volume_item(self) -> VolumeItem:
        return self._volume

    @property
    def pyramid(self) -> OhlcvPyramid:
        return self._pyramid

    @property
    def crosshair(self) -> Crosshair:
        return self._crosshair

    @property
    def time_ticks(self) -> TimeTicks:
        return self._ticks

    # -- sub-panes ---------------------------------------------------------------------

    def add_subpane(self, key: str, title: str) -> pg.PlotItem:
        """An x-linked pane above the volume pane (for an oscillator); y autoscales to its items."""
        if key in self._subpanes:
            raise ValueError(f"a sub-pane {key!r} already exists")
        plot = self._make_plot()
        vb = plot.getViewBox()
        vb.enableAutoRange(axis=pg.ViewBox.YAxis)
        vb.setAutoVisible(y=True)
        plot.setXLink(self._price_plot)
        label = QGraphicsTextItem(title)
        label.setFont(self._font)
        label.setParentItem(vb)
        label.setPos(4, 0)
        label.setZValue(100)
        self._subpanes[key] = plot
        self._subpane_titles[key] = label
        self._crosshair.attach(plot)
        self._style_plot(plot)
        label.setDefaultTextColor(qcolor(self._palette.readout_label))
        n = max(self._n, 1)
        vb.setLimits(
            xMin=-0.5 - n * 0.5, xMax=n - 0.5 + n * 0.5 + 50, minXRange=8, maxXRange=n * 1.2 + 60
        )
        self._relayout()
        return plot

    def remove_subpane(self, key: str) -> None:
        plot = self._subpanes.pop(key, None)
        if plot is None:
            return
        self._subpane_titles.pop(key, None)
        self._crosshair.detach(plot)
        plot.setXLink(None)
        self._relayout()
        plot.deleteLater()

    def subpane(self, key: str) -> pg.PlotItem | None:
        return self._subpanes.get(key)

    # -- x range -----------------------------------------------------------------------

    def set_x_range(self, left: float, right: float) -> None:
        """Show bar indices left..right (exactly, no padding)."""
        self._price_plot.getViewBox().setXRange(left, right, padding=0.0)

    def x_range(self) -> tuple[float, float]:
        (x0, x1), _ = self._price_plot.getViewBox().viewRange()
        return float(x0), float(x1)

    def show_all(self) -> None:
        n = self._n
        self.set_x_range(-0.5, n - 0.5 + max(2.0, n * RIGHT_MARGIN))

    def show_last(self, n_bars: int) -> None:
        n = self._n
        n_bars = max(1, min(n_bars, max(n, 1)))
        self.set_x_range(n - n_bars - 0.5, n - 0.5 + max(2.0, n_bars * RIGHT_MARGIN))

    def index_at_time(self, ts_ns: int) -> int:
        """The bar open at `ts_ns` (the last bar opening at or before it); -1 with no bars.

        Past either end the index is extrapolated a bar-step at a time (a drawing in the empty
        margin after the last bar keeps its place), the inverse of `time_at_index`."""
        n = self._n
        if not n:
            return -1
        ts = self.ts_ns
        first_step, last_step = self._end_steps()
        if ts_ns < int(ts[0]):
            return -((int(ts[0]) - ts_ns + first_step - 1) // first_step)
        if ts_ns >= int(ts[n - 1]) + last_step:
            return n - 1 + (ts_ns - int(ts[n - 1])) // last_step
        return int(np.searchsorted(ts, ts_ns, side="right")) - 1

    def time_at_index(self, i: int) -> int:
        """Open time (int64 UTC ns) of bar i; past either end, a bar-step per index."""
        n = self._n
        if not n:
            raise IndexError("no bars")
        first_step, last_step = self._end_steps()
        if i < 0:
            return int(self._ts_buffer[0]) + i * first_step
        if i >= n:
            return int(self._ts_buffer[n - 1]) + (i - n + 1) * last_step
        return int(self._ts_buffer[i])

    def _end_steps(self) -> tuple[int, int]:
        """The bar spacing at the start and at the end (a minute for a single bar)."""
        ts = self.ts_ns
        if len(ts) < 2:
            return 60_000_000_000, 60_000_000_000
        return int(ts[1] - ts[0]), int(ts[-1] - ts[-2])

    def _on_x_range(self, _vb: object, x_range: tuple[float, float]) -> None:
        self._rescale_y()
        x0, x1 = x_range
        self.x_range_changed.emit(float(x0), float(x1))

    def _rescale_y(self) -> None:
        """Fit price and volume y to the bars in view, from the pyramid (O(log n))."""
        x0, x1 = self.x_range()
        found = self._pyramid.y_range(x0, x1)
        if found is not None:
            lo, hi = found
            span = hi - lo if hi > lo else max(abs(hi) * 0.01, 1.0)
            self._price_plot.getViewBox().setYRange(
                lo - span * Y_PAD_BOTTOM, hi + span * Y_PAD_TOP, padding=0.0
            )
        vb = self._volume_plot.getViewBox()
        width_px = vb.width() * self.devicePixelRatioF()
        top = self._volume.visible_max(x0, x1, width_px)
        vb.setYRange(0.0, top * 1.08 if top > 0 else 1.0, padding=0.0)
        # Apply the new view transforms now: left to the paint, pyqtgraph moves the items
        # after the scene has begun painting and the whole frame is painted twice.
        for plot in (self._price_plot, self._volume_plot):
            plot.getViewBox().updateMatrix()

    # -- read-outs and palette ---------------------------------------------------------

    def add_readout(self, name: str, value_at: Callable[[int], float | None], colour: str) -> None:
        """Show `name value_at(i)` in the crosshair read-out (overlays, indicators)."""
        self._crosshair.add_readout(name, value_at, colour)

    def remove_readout(self, name: str) -> None:
        self._crosshair.remove_readout(name)

    def set_palette(self, p: ChartPalette) -> None:
        self._palette = p
        self._graphics.setBackground(qcolor(p.background))
        for plot in (self._price_plot, self._volume_plot, *self._subpanes.values()):
            self._style_plot(plot)
        for label in self._subpane_titles.values():
            label.setDefaultTextColor(qcolor(p.readout_label))
        self._candles.set_palette(p)
        self._volume.set_palette(p)
        self._breaks.set_colour(p.session_break)
        self._crosshair.set_palette(p)

    @property
    def chart_palette(self) -> ChartPalette:
        return self._palette

    def _style_plot(self, plot: pg.PlotItem) -> None:
        p = self._palette
        self._bottom_axis(plot).set_colours(p.axis_line, p.grid, p.axis_text)
        right = plot.getAxis("right")
        right.setPen(pg.mkPen(qcolor(p.grid)))
        right.setTextPen(pg.mkPen(qcolor(p.axis_text)))
        right.picture = None
        right.update()

    # -- events ------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._graphics and event.type() == QEvent.Type.Leave:
            self._crosshair.leave()
        return super().eventFilter(watched, event)
