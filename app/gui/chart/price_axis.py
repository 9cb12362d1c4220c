"""Light axes: drawn straight onto the painter, and the right-hand price and volume axes.

`LightAxis` paints directly (`DirectAxis`: no QPicture replay) and draws opaque grid lines
as filled pixel rows. Tick placement on y is cheap (a handful of ticks, independent of the
bars), so the value axes only change label text."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter

from app.gui.chart.crosshair import format_volume
from app.gui.direct_axis import DirectAxis, DrawSpecs, LineSpec, TextSpec

TICK_SPACING_PX = 44.0


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at least `raw`."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw * (1 - 1e-12):
            return factor * power
    return 10.0 * power


class LightAxis(DirectAxis):
    """The chart's axis: painted directly, its title rendered only while shown, its lines
    opaque (a translucent 1-px line across the pane costs ~0.4 ms to blend on a laptop CPU,
    an opaque one ~0.03 ms) and its labels unclipped."""

    opaque_lines = True
    clip_labels = False

    def _updateLabel(self) -> None:
        """pyqtgraph re-renders the axis title's HTML on every pen, text pen and SI-prefix
        change (~70 times, ~7 ms, building a chart), though the chart's axes never show a
        title: render it only while it is shown (`showLabel` renders it when shown)."""
        if self.label.isVisible():
            super()._updateLabel()
            return
        self._adjustSize()
        self.picture = None
        self.update()

    def showLabel(self, show: bool = True) -> None:
        super().showLabel(show)
        if show:
            super()._updateLabel()

    def generateDrawSpecs(self, p: QPainter) -> DrawSpecs:
        """A vertical value axis: one level of round ticks ~TICK_SPACING_PX apart, grid
        lines across the linked view, labels left-aligned; no text measuring."""
        bounds = self.mapRectFromParent(self.geometry())
        edge = bounds.left() if self.orientation == "right" else bounds.right()
        axis_spec = (self.pen(), QPointF(edge, bounds.top()), QPointF(edge, bounds.bottom()))
        y0, y1 = (float(v) for v in self.range)
        height = bounds.height()
        if not y1 > y0 or height <= 0 or not math.isfinite(y1 - y0):
            return axis_spec, [], []
        step = nice_step((y1 - y0) / height * TICK_SPACING_PX)
        first, last = math.ceil(y0 / step), math.floor(y1 / step)
        values = [k * step for k in range(first, last + 1)]
        strings = self.tickStrings(values, 1.0, step)
        view = self.linkedView()
        far = edge
        if view is not None and self.grid is not False:
            rect = view.mapRectToItem(self, view.boundingRect())
            far = rect.left() if self.orientation == "right" else rect.right()
        tick_specs: list[LineSpec] = []
        text_specs: list[TextSpec] = []
        flags = int(
            (
                Qt.AlignmentFlag.AlignLeft
                if self.orientation == "right"
                else Qt.AlignmentFlag.AlignRight
            )
            | Qt.AlignmentFlag.AlignVCenter
        )
        pen = self.pen()
        for value, text in zip(values, strings, strict=True):
            y = math.floor(bounds.bottom() - (value - y0) / (y1 - y0) * height) + 0.5
            tick_specs.append((pen, QPointF(far, y), QPointF(edge, y)))
            if self.style["showValues"] and bounds.top() + 7 <= y <= bounds.bottom() - 7:
                text_specs.append(
                    (QRectF(bounds.left() + 6, y - 8, bounds.width() - 10, 16), flags, text)
                )
        return axis_spec, tick_specs, text_specs


class PriceAxis(LightAxis):
    """Prices in rupees: as many decimals as the tick spacing needs (at most two)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        decimals = 0 if spacing >= 1 else min(2, max(0, -math.floor(math.log10(spacing))))
        return [f"{v * scale:,.{decimals}f}" for v in values]


class VolumeAxis(LightAxis):
    """Volumes as 12.3K, 4.56L, 1.20Cr."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [format_volume(v * scale, trim=True) for v in values]
