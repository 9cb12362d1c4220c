"""The crosshair: lines that snap to the bar under the mouse, and the bar's read-out.

The vertical line runs through every pane at the bar's index; the horizontal one follows the
mouse in the pane it is over. The read-out (top-left of the price pane) shows the bar's IST
time, O H L C, volume and change, then any values registered with `add_readout` (overlays
and indicators register a name and an index -> value callable). With the mouse off the chart
it shows the last bar, as terminals do.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsTextItem

from app.gui.chart.lod import OhlcvPyramid
from app.gui.chart.palette import ChartPalette, qcolor
from engine.ist import IST_OFFSET_NS

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Readout:
    """An extra read-out value: shown as `name value` in `colour` after the bar's OHLCV."""

    name: str
    value_at: Callable[[int], float | None]
    colour: str


def format_volume(volume: float, *, trim: bool = False) -> str:
    """Volume the Indian way: K, L (lakh), Cr (crore); `trim` drops trailing zeros (axis)."""
    for size, suffix in ((1e7, "Cr"), (1e5, "L"), (1e3, "K")):
        if abs(volume) >= size:
            number = f"{volume / size:.2f}"
            if trim:
                number = number.rstrip("0").rstrip(".")
            return f"{number}{suffix}"
    return f"{volume:.0f}"


def format_time(ts_ns: int) -> str:
    """'12 Dec 2025 10:31' in IST."""
    wall = np.datetime64(int(ts_ns) + IST_OFFSET_NS, "ns").astype("datetime64[m]").item()
    return f"{wall.day} {_MONTHS[wall.month - 1]} {wall.year} {wall.hour:02d}:{wall.minute:02d}"


class Crosshair(QObject):
    """Crosshair lines and read-out over a chart's panes; emits the bar index it snaps to."""

    moved = Signal(int)

    def __init__(self, price_plot: pg.PlotItem, palette: ChartPalette) -> None:
        super().__init__()
        self._price_plot = price_plot
        self._palette = palette
        self._panes: dict[int, tuple[pg.PlotItem, pg.InfiniteLine, pg.InfiniteLine]] = {}
        self._ts: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._pyramid = OhlcvPyramid.empty()
        self._readouts: dict[str, Readout] = {}
        self.index = -1
        self.text_item = QGraphicsTextItem()
        font = QFont()
        font.setPointSizeF(9.0)
        self.text_item.setFont(font)
        self.text_item.setParentItem(price_plot.getViewBox())
        self.text_item.setPos(4, 2)
        self.text_item.setZValue(100)
        self.attach(price_plot)

    # -- panes -------------------------------------------------------------------------

    def attach(self, plot: pg.PlotItem) -> None:
        """Show the crosshair in another pane (x-linked to the price pane)."""
        pen = pg.mkPen(
            qcolor(self._palette.crosshair), width=1, style=pg.QtCore.Qt.PenStyle.DashLine
        )
        vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        for line in (vline, hline):
            line.setVisible(False)
            line.setZValue(50)
            plot.addItem(line, ignoreBounds=True)
        self._panes[id(plot)] = (plot, vline, hline)

    def detach(self, plot: pg.PlotItem) -> None:
        entry = self._panes.pop(id(plot), None)
        if entry is not None:
            for line in entry[1:]:
                plot.removeItem(line)

    def set_palette(self, palette: ChartPalette) -> None:
        self._palette = palette
        pen = pg.mkPen(qcolor(palette.crosshair), width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        for _plot, vline, hline in self._panes.values():
            vline.setPen(pen)
            hline.setPen(pen)
        self._refresh_text()

    # -- data and read-outs ------------------------------------------------------------

    def set_series(self, ts: npt.NDArray[np.int64], pyramid: OhlcvPyramid) -> None:
        self._ts = ts
        self._pyramid = pyramid
        if self.index >= len(ts):
            self.index = -1
        self._refresh_text()

    def add_readout(self, name: str, value_at: Callable[[int], float | None], colour: str) -> None:
        self._readouts[name] = Readout(name, value_at, colour)
        self._refresh_text()

    def remove_readout(self, name: str) -> None:
        self._readouts.pop(name, None)
        self._refresh_text()

    # -- mouse -------------------------------------------------------------------------

    def mouse_moved(self, scene_pos: QPointF) -> None:
        """Follow the mouse (a scene position); hide when it is over no pane."""
        over = None
        for plot, _vline, _hline in self._panes.values():
            if plot.getViewBox().sceneBoundingRect().contains(scene_pos):
                over = plot
                break
        if over is None:
            self.leave()
            return
        point = over.getViewBox().mapSceneToView(scene_pos)
        n = len(self._ts)
        index = math.floor(point.x() + 0.5)
        inside = 0 <= index < n
        for plot, vline, hline in self._panes.values():
            vline.setVisible(inside)
            if inside:
                vline.setPos(index)
            hline.setVisible(plot is over)
            if plot is over:
                hline.setPos(point.y())
        self._set_index(index if inside else -1)

    def leave(self) -> None:
        for _plot, vline, hline in self._panes.values():
            vline.setVisible(False)
            hline.setVisible(False)
        self._set_index(-1)

    def _set_index(self, index: int) -> None:
        if index != self.index:
            self.index = index
            self._refresh_text()
            self.moved.emit(index)

    # -- read-out ----------------------------------------------------------------------

    def readout_values(self, index: int) -> dict[str, float | None]:
        """What the read-out shows for bar `index` (tests compare these with the bar)."""
        o, h, lo, c, v = self._pyramid.bar(index)
        prev = self._pyramid.bar(index - 1)[3] if index > 0 else o
        values: dict[str, float | None] = {
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
            "change_pct": (c / prev - 1.0) * 100.0 if prev else None,
        }
        for name, readout in self._readouts.items():
            values[name] = readout.value_at(index)
        return values

    def _refresh_text(self) -> None:
        n = len(self._ts)
        if not n:
            self.text_item.setHtml("")
            return
        index = self.index if 0 <= self.index < n else n - 1
        values = self.readout_values(index)
        p = self._palette
        tone = p.up if (values["close"] or 0.0) >= (values["open"] or 0.0) else p.down

        def pair(label: str, text: str, colour: str) -> str:
            return (
                f"<span style='color:{p.readout_label}'>{html.escape(label)}</span>"
                f"<span style='color:{colour}'>{html.escape(text)}</span>"
            )

        change = values["change_pct"]
        parts = [
            f"<span style='color:{p.readout_text}'>{format_time(int(self._ts[index]))}</span>",
            pair("O ", f"{values['open']:.2f}", tone),
            pair("H ", f"{values['high']:.2f}", tone),
            pair("L ", f"{values['low']:.2f}", tone),
            pair("C ", f"{values['close']:.2f}", tone),
            pair("V ", format_volume(values["volume"] or 0.0), tone),
        ]
        if change is not None:
            parts.append(f"<span style='color:{tone}'>{change:+.2f}%</span>")
        extra = []
        for name, readout in self._readouts.items():
            value = values[name]
            text = "—" if value is None or not math.isfinite(value) else f"{value:.2f}"
            extra.append(pair(f"{name} ", text, readout.colour[:7]))
        body = "&nbsp;&nbsp;".join(parts)
        if extra:
            body += "<br>" + "&nbsp;&nbsp;".join(extra)
        self.text_item.setHtml(f"<div style='white-space:nowrap'>{body}</div>")
