"""The x axis on the exchange clock: x is the bar index, labels are IST times of real bars.

Nights, weekends and holidays leave no gap because x counts bars, so a label can only ever
name a bar that exists. Labels come from the visible slice only: candidate boundaries
(sessions, weeks, months, years) are found with `np.searchsorted` on the int64 UTC-ns times;
minute labels are computed on the visible bars, which is only done when few enough are in
view to be labelled by the minute. The unit is the finest whose labels fit the width.
`TimeAxis` draws those labels (and the vertical grid) without pyqtgraph's tick machinery;
`SessionBreakItem` marks the first bar of each session with a faint dotted line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from app.gui.chart.palette import qcolor
from app.gui.chart.price_axis import LightAxis
from app.gui.direct_axis import DrawSpecs, LineSpec, TextSpec
from engine.ist import IST_OFFSET_NS, NS_PER_DAY

I64 = npt.NDArray[np.int64]

NS_PER_MINUTE = 60 * 1_000_000_000
MINUTE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120)
SESSION_STEPS = (1, 2, 5)  # every session, every other, ~weekly (first session of a week)
MONTH_STEPS = (1, 2, 3, 6)
YEAR_STEPS = (1, 2, 5, 10, 20, 50)
MIN_LABEL_PX = {"minute": 56.0, "session": 58.0, "month": 72.0, "year": 48.0}
EDGE_PX = 24.0  # a label nearer the edge than this would be cut: left out
MAX_MINUTE_SLICE = 20_000  # bars; more in view cannot be labelled by the minute anyway
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Tick:
    """A labelled bar: its index, its text, and whether it opens a larger unit (bolder)."""

    index: int
    text: str
    major: bool


def _fmt(kind: str, ts_ns: int) -> str:
    wall = _wall_naive(ts_ns)
    if kind == "minute":
        return f"{wall.hour:02d}:{wall.minute:02d}"
    if kind == "session":
        return f"{wall.day} {_MONTHS[wall.month - 1]}"
    if kind == "month":
        return f"{_MONTHS[wall.month - 1]} {wall.year}"
    return str(wall.year)


def _wall_naive(ts_ns: int) -> datetime:
    wall = np.datetime64(int(ts_ns) + IST_OFFSET_NS, "ns").astype("datetime64[s]")
    result: datetime = wall.astype(datetime)
    return result


def _unique_sorted(found: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """`np.unique` of an already sorted array: drop repeats. (np.unique imports numpy.ma on
    its first call, ~20-40 ms, which fell inside the chart's first frame.)"""
    if found.shape[0] < 2:
        return found
    keep = np.empty(found.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(found[1:], found[:-1], out=keep[1:])
    return found[keep]


def session_starts(ts: I64, i0: int, i1: int) -> I64:
    """Indices in [i0, i1] of bars opening an IST day's session (the first bar of its day)."""
    if i1 < i0:
        return np.empty(0, dtype=np.int64)
    d0 = (int(ts[i0]) + IST_OFFSET_NS) // NS_PER_DAY
    d1 = (int(ts[i1]) + IST_OFFSET_NS) // NS_PER_DAY
    midnights = np.arange(d0, d1 + 1, dtype=np.int64) * NS_PER_DAY - IST_OFFSET_NS
    found = _unique_sorted(np.searchsorted(ts, midnights, side="left"))
    return np.asarray(found[(found >= i0) & (found <= i1)], dtype=np.int64)


def _thin(indices: list[int], majors: list[bool], min_bars: float) -> list[int]:
    """Positions (into `indices`) kept so that no two labels are closer than `min_bars`.

    A major label displaces a minor neighbour that came before it."""
    kept: list[int] = []
    for k, idx in enumerate(indices):
        if kept and idx - indices[kept[-1]] < min_bars:
            if majors[k] and not majors[kept[-1]]:
                kept[-1] = k
            continue
        kept.append(k)
    return kept


class TimeTicks:
    """Label positions and texts for a view of the bars, cached by view and text."""

    def __init__(self) -> None:
        self._ts: I64 = np.empty(0, dtype=np.int64)
        self._key: tuple[int, int, int, int] | None = None
        self._ticks: list[Tick] = []
        self._texts: dict[tuple[str, int], str] = {}
        self.unit = ""

    def set_times(self, ts: I64) -> None:
        self._ts = ts
        self._key = None

    def ticks(self, x0: float, x1: float, width_px: float) -> list[Tick]:
        """The labels for x range [x0, x1] drawn `width_px` pixels wide."""
        ts = self._ts
        n = len(ts)
        i0 = max(0, math.ceil(x0))
        i1 = min(n - 1, math.floor(x1))
        if i1 < i0 or width_px < 10 or x1 <= x0:
            return []
        key = (i0, i1, int(width_px), n)
        if key == self._key:
            return self._ticks
        bars_per_px = (x1 - x0) / width_px
        self._ticks = self._compute(i0, i1, bars_per_px, width_px)
        self._key = key
        return self._ticks

    def _text(self, kind: str, ts_ns: int) -> str:
        key = (kind, ts_ns)
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) > 20_000:
                self._texts.clear()
            text = self._texts[key] = _fmt(kind, ts_ns)
        return text

    def _compute(self, i0: int, i1: int, bars_per_px: float, width_px: float) -> list[Tick]:
        if i1 - i0 < MAX_MINUTE_SLICE:
            found = self._minute_ticks(i0, i1, bars_per_px)
            if found is not None:
                return found
        ts = self._ts
        days = (int(ts[i1]) - int(ts[i0])) / NS_PER_DAY + 1
        min_bars = MIN_LABEL_PX["session"] * bars_per_px
        if days * 5 / 7 / SESSION_STEPS[-1] * MIN_LABEL_PX["session"] <= width_px * 2:
            starts = session_starts(ts, i0, i1)
            for step in SESSION_STEPS:
                chosen = self._session_subset(starts, step)
                if len(chosen) * MIN_LABEL_PX["session"] <= width_px:
                    return self._labelled(chosen, "session", min_bars, month_major=True)
        months = days / 30.44
        for step in MONTH_STEPS:
            if months / step * MIN_LABEL_PX["month"] <= width_px:
                return self._calendar_ticks(i0, i1, "month", step, bars_per_px)
        for step in YEAR_STEPS:
            if days / 365.25 / step * MIN_LABEL_PX["year"] <= width_px:
                return self._calendar_ticks(i0, i1, "year", step, bars_per_px)
        return self._calendar_ticks(i0, i1, "year", 100, bars_per_px)

    def _session_subset(self, starts: I64, step: int) -> I64:
        if step == 1 or not len(starts):
            return starts
        days = (self._ts[starts] + IST_OFFSET_NS) // NS_PER_DAY
        if step == 5:  # the first session of each week (1970-01-01 was a Thursday)
            weeks = (days + 3) // 7
            first = np.ones(len(starts), dtype=bool)
            first[1:] = weeks[1:] != weeks[:-1]
            if starts[0] > 0:
                prev_week = ((int(self._ts[starts[0] - 1]) + IST_OFFSET_NS) // NS_PER_DAY + 3) // 7
                first[0] = weeks[0] != prev_week
            return np.asarray(starts[first], dtype=np.int64)
        return np.asarray(starts[days % step == 0], dtype=np.int64)

    def _labelled(
        self, idx: I64, kind: str, min_bars: float, *, month_major: bool = False
    ) -> list[Tick]:
        ts = self._ts
        indices = [int(i) for i in idx]
        texts: list[str] = []
        majors: list[bool] = []
        for i in indices:
            t = int(ts[i])
            major = False
            if month_major and i > 0:
                prev_month = _wall_naive(int(ts[i - 1])).month
                major = _wall_naive(t).month != prev_month
            if major:
                texts.append(self._text("month", t))
            else:
                texts.append(self._text(kind, t))
            majors.append(major)
        kept = _thin(indices, majors, min_bars)
        return [Tick(indices[k], texts[k], majors[k]) for k in kept]

    def _minute_ticks(self, i0: int, i1: int, bars_per_px: float) -> list[Tick] | None:
        """Minute labels (and the session's date at its first bar), or None if none fit."""
        ts = self._ts
        lo = max(0, i0 - 1)
        wall = ts[lo : i1 + 1] + IST_OFFSET_NS
        day = wall // NS_PER_DAY
        minute = (wall % NS_PER_DAY) // NS_PER_MINUTE
        new_day = np.empty(len(day), dtype=bool)
        new_day[0] = lo == 0
        new_day[1:] = day[1:] != day[:-1]
        offset = i0 - lo  # 1 unless the view starts at bar 0
        new_day = new_day[offset:]
        min_bars = MIN_LABEL_PX["minute"] * bars_per_px
        sessions = int(new_day.sum())
        span = i1 - i0 + 1
        if sessions and span / sessions < min_bars * 2:
            return None  # sessions too narrow for minute labels: label by session instead
        for step in MINUTE_STEPS:
            bucket = minute // step
            edge = np.empty(len(bucket), dtype=bool)
            edge[0] = True
            edge[1:] = bucket[1:] != bucket[:-1]
            edge = edge[offset:] | new_day
            # minutes on the step's grid (10:30 for 15-min), not the session's 09:15 open
            on_grid = (minute[offset:] % step == 0) | new_day
            edge &= on_grid
            if step == 1:
                edge |= new_day
            positions = np.flatnonzero(edge)
            if len(positions) and (span / len(positions)) >= min_bars:
                indices = [int(p) + i0 for p in positions]
                majors = [bool(new_day[p]) for p in positions]
                kept = _thin(indices, majors, min_bars)
                out: list[Tick] = []
                for k in kept:
                    i = indices[k]
                    kind = "session" if majors[k] else "minute"
                    out.append(Tick(i, self._text(kind, int(ts[i])), majors[k]))
                self.unit = f"{step}min"
                return out
        return None

    def _calendar_ticks(
        self, i0: int, i1: int, kind: str, step: int, bars_per_px: float
    ) -> list[Tick]:
        """First bar of each month/year in view whose month/year is on the step's grid."""
        ts = self._ts
        first = np.datetime64(int(ts[i0]) + IST_OFFSET_NS, "ns")
        last = np.datetime64(int(ts[i1]) + IST_OFFSET_NS, "ns")
        unit = "M" if kind == "month" else "Y"
        periods = np.arange(
            first.astype(f"datetime64[{unit}]"), last.astype(f"datetime64[{unit}]") + 1
        )
        numbers = periods.astype(np.int64)  # months since 1970-01 / years since 1970
        if kind == "month":
            periods = periods[numbers % step == 0]
        else:
            periods = periods[(numbers + 1970) % step == 0]
        starts = periods.astype("datetime64[ns]").astype(np.int64) - IST_OFFSET_NS
        found = _unique_sorted(np.searchsorted(ts, starts, side="left"))
        found = found[(found >= i0) & (found <= i1)]
        self.unit = f"{step}{kind}"
        min_bars = MIN_LABEL_PX[kind] * bars_per_px
        indices = [int(i) for i in found]
        majors = [kind == "month" and _wall_naive(int(ts[i])).month == 1 for i in indices]
        texts = [
            self._text("year" if m else kind, int(ts[i]))
            for i, m in zip(indices, majors, strict=True)
        ]
        kept = _thin(indices, majors, min_bars)
        return [Tick(indices[k], texts[k], majors[k]) for k in kept]


class TimeAxis(LightAxis):
    """A bottom axis drawing `TimeTicks` labels and the vertical grid, nothing else.

    Panes above the lowest share the same `TimeTicks` and draw only the grid
    (`show_labels=False`)."""

    def __init__(self, ticks: TimeTicks, *, show_labels: bool = True) -> None:
        super().__init__("bottom")
        self.time_ticks = ticks
        self._show_labels = show_labels
        self._grid_pen = QPen(qcolor("#1e2331"))
        self._grid_pen.setCosmetic(True)
        self.grid = 255  # grid on: the bounding rect spans the linked view
        self.enableAutoSIPrefix(False)
        self.setStyle(tickLength=0)
        self.set_show_labels(show_labels)

    def set_show_labels(self, show: bool) -> None:
        """Labels on the lowest pane; the grid alone (zero height) on the others."""
        self._show_labels = show
        self.setStyle(showValues=show)
        self.setHeight(24 if show else 0)
        self.picture = None
        self.update()

    def set_colours(self, line: str, grid: str, text: str) -> None:
        self.setPen(pg.mkPen(qcolor(line)))
        self._grid_pen = QPen(qcolor(grid))
        self._grid_pen.setCosmetic(True)
        self.setTextPen(pg.mkPen(qcolor(text)))
        self.picture = None
        self.update()

    def generateDrawSpecs(self, p: QPainter) -> DrawSpecs:
        bounds = self.mapRectFromParent(self.geometry())
        view = self.linkedView()
        grid_top = bounds.top()
        if view is not None:
            grid_top = view.mapRectToItem(self, view.boundingRect()).top()
        x0, x1 = self.range
        width = bounds.width()
        axis_spec = (
            self.pen(),
            QPointF(bounds.left(), bounds.top()),
            QPointF(bounds.right(), bounds.top()),
        )
        if x1 <= x0 or width <= 0:
            return axis_spec, [], []
        scale = width / (x1 - x0)
        ratio = self.devicePixelRatioF() if hasattr(self, "devicePixelRatioF") else 1.0
        ticks = self.time_ticks.ticks(x0, x1, width * ratio)
        tick_specs: list[LineSpec] = []
        text_specs: list[TextSpec] = []
        flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter)
        for tick in ticks:
            x = bounds.left() + (tick.index - x0) * scale
            x = math.floor(x) + 0.5
            tick_specs.append((self._grid_pen, QPointF(x, grid_top), QPointF(x, bounds.top())))
            if self._show_labels and EDGE_PX <= x - bounds.left() <= width - EDGE_PX:
                text_specs.append(
                    (QRectF(x - 60, bounds.top() + 2, 120, bounds.height() - 4), flags, tick.text)
                )
        return axis_spec, tick_specs, text_specs


class SessionBreakItem(pg.GraphicsObject):  # type: ignore[misc]  # pyqtgraph is untyped
    """A faint dotted vertical line before the first bar of each session, when zoomed in.

    Drawn only while sessions are at least `MIN_SESSION_PX` apart, so a zoomed-out chart
    is not striped."""

    MIN_SESSION_PX = 24.0

    def __init__(self, colour: str) -> None:
        super().__init__()
        self._ts: I64 = np.empty(0, dtype=np.int64)
        self._pen = QPen()
        self.set_colour(colour)
        self.setZValue(-10)

    def set_colour(self, colour: str) -> None:
        self._pen = QPen(qcolor(colour))
        self._pen.setStyle(Qt.PenStyle.DotLine)
        self._pen.setCosmetic(True)
        self.update()

    def set_times(self, ts: I64) -> None:
        self.prepareGeometryChange()
        self._ts = ts
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-0.5, -1e12, max(len(self._ts), 1), 2e12)

    def dataBounds(
        self, ax: int, frac: float = 1.0, orthoRange: object = None
    ) -> tuple[float, float] | None:
        """The bars' x span and no y extent, so an autoRange never fits y to these lines."""
        return (-0.5, len(self._ts) - 0.5) if ax == 0 and len(self._ts) else None

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        vb = self.getViewBox()
        ts = self._ts
        if vb is None or len(ts) < 2:
            return
        transform = painter.transform()
        sx = transform.m11()
        (x0, x1), _ = vb.viewRange()
        i0, i1 = max(0, math.ceil(x0)), min(len(ts) - 1, math.floor(x1))
        if i1 <= i0 or sx <= 0:
            return
        days = (int(ts[i1]) - int(ts[i0])) / NS_PER_DAY + 1
        if days * 0.72 * self.MIN_SESSION_PX > (x1 - x0) * sx:
            return  # sessions would be closer than MIN_SESSION_PX
        starts = session_starts(ts, max(i0, 1), i1)
        if not len(starts):
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self._pen)
        height = float(vb.height()) * 4 + 1e4
        top = -height
        for i in starts:
            x = math.floor((float(i) - 0.5) * sx + transform.dx()) + 0.5
            painter.drawLine(QPointF(x, top), QPointF(x, height))
        painter.restore()
