"""Library-neutral paint timing for the chart benchmark (issue 13, "Speed").

bench/chart_speed.py measures Artha's chart and finplot with the same code, so neither side
gets a friendlier clock. A frame is timed from the call that changes the visible range until
Qt has delivered a paint of the chart's viewport(s) and one further event pass paints
nothing; a frame in which the candle item did not paint is *blank* (the user sees a stale or
empty chart). Everything here needs only PySide6 and numpy, so it also runs inside the
finplot venv (bench/.finplot-venv).

Run directly (as `make bench` does) for a self-check on a small pyqtgraph plot: it proves that
offscreen Qt really paints a shown window and that paint counts rise on every range change.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

WIDTH, HEIGHT = 1600, 900
FRAME_TIMEOUT_S = 2.0  # a range change that paints nothing in this long is a blank frame
FIRST_TIMEOUT_S = 120.0

SetRange = Callable[[float, float], Any]
PaintCount = Callable[[], int]


def app() -> QtWidgets.QApplication:
    """The process's QApplication, offscreen unless the caller chose a platform."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    instance = QtWidgets.QApplication.instance()
    if instance is None:
        instance = QtWidgets.QApplication(sys.argv[:1])
    assert isinstance(instance, QtWidgets.QApplication)
    return instance


class _PaintCounter(QtCore.QObject):
    """Counts Paint events delivered to the watched viewports (what reaches the screen)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint:
            self.count += 1
        return False


@dataclass
class Frame:
    """One timed range change."""

    ms: float
    blank: bool  # the candle item did not paint
    viewport_paints: int
    timed_out: bool


@dataclass
class Series:
    """Frames of one kind (drag, zoom, ...) and their statistics."""

    frames: list[Frame] = field(default_factory=list)

    @property
    def ms(self) -> list[float]:
        return [f.ms for f in self.frames]

    def p50(self) -> float:
        return float(np.percentile(self.ms, 50)) if self.frames else float("nan")

    def p95(self) -> float:
        return float(np.percentile(self.ms, 95)) if self.frames else float("nan")

    @property
    def blank(self) -> int:
        return sum(f.blank for f in self.frames)


@dataclass
class Chart:
    """What the harness needs from a library: nothing else is library-specific.

    widget: the top-level window (shown by build, not yet painted); its QGraphicsView
    viewports are watched. set_range(x0, x1): make bar indices x0..x1 visible the way the
    library's own pan/zoom does (the timed call). paint_count(): how many times the candle
    item has painted so far. jump(x0, x1): an untimed move to the start of a drag or zoom,
    through the library's programmatic "go to this range" call if it has one (default:
    set_range).
    """

    widget: QtWidgets.QWidget
    set_range: SetRange
    paint_count: PaintCount
    jump: SetRange | None = None


class FrameTimer:
    """Times range changes of one chart: same rules for every library."""

    def __init__(self, chart: Chart):
        self.app = app()
        self.widget = chart.widget
        self.set_range = chart.set_range
        self.paint_count = chart.paint_count
        self.jump = chart.jump or chart.set_range
        self.counter = _PaintCounter()
        views = list(self.widget.findChildren(QtWidgets.QGraphicsView))
        if isinstance(self.widget, QtWidgets.QGraphicsView):
            views.insert(0, self.widget)
        if not views:
            raise ValueError("no QGraphicsView under the widget: nothing to watch")
        for view in views:
            view.viewport().installEventFilter(self.counter)
        self.late_paints = 0  # paints that arrived after a frame had settled (should stay 0)
        self.first_late_paints = 0  # the same, right after the first frame
        self.rss_before_build_mb = float("nan")

    def settle(self, timeout_s: float = FRAME_TIMEOUT_S) -> tuple[bool, bool]:
        """Pump events until a paint happened and the next pass painted nothing.

        Returns (painted, timed_out). One pass is one processEvents() call: Qt delivers the
        events posted before it (an update request posted while painting waits for the next).
        """
        deadline = time.perf_counter() + timeout_s
        painted = False
        while True:
            before = self.counter.count
            self.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents)
            if self.counter.count > before:
                painted = True
                continue
            if painted:
                return True, False
            if time.perf_counter() > deadline:
                return False, True

    def drain(self) -> None:
        """One untimed pass before a frame; anything it paints was left over by the last one."""
        before = self.counter.count
        self.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents)
        if self.counter.count > before:
            self.late_paints += self.counter.count - before
            self.settle(0.5)

    def frame(self, x0: float, x1: float) -> Frame:
        """Time one range change to x0..x1 until it is on screen and settled."""
        self.drain()
        candles = self.paint_count()
        viewport = self.counter.count
        t0 = time.perf_counter()
        self.set_range(x0, x1)
        _, timed_out = self.settle()
        ms = (time.perf_counter() - t0) * 1000.0
        return Frame(
            ms=ms,
            blank=self.paint_count() == candles,
            viewport_paints=self.counter.count - viewport,
            timed_out=timed_out,
        )

    def untimed(self, x0: float, x1: float) -> None:
        """Go to a range without timing it (the start of a drag or a zoom)."""
        self.drain()
        self.jump(x0, x1)
        self.settle()


def first_frame(build: Callable[[], Chart]) -> tuple[FrameTimer, Frame]:
    """Time build() (construct the chart from in-memory arrays and show it) to its first
    settled paint. build must show the widget at WIDTH x HEIGHT but must not pump events."""
    app()
    rss_before = current_rss_mb()  # the process with Qt, the libraries and the arrays loaded
    t0 = time.perf_counter()
    chart = build()
    timer = FrameTimer(chart)
    painted, timed_out = timer.settle(FIRST_TIMEOUT_S)
    ms = (time.perf_counter() - t0) * 1000.0
    frame = Frame(
        ms=ms,
        blank=chart.paint_count() == 0,
        viewport_paints=timer.counter.count,
        timed_out=timed_out or not painted,
    )
    # A window's first paints may come in waves (layout, expose); count a late one apart.
    timer.drain()
    timer.first_late_paints, timer.late_paints = timer.late_paints, 0
    timer.rss_before_build_mb = rss_before
    return timer, frame


def geometric_widths(n_bars: int, last: int, steps: int) -> list[float]:
    """steps widths from just under n_bars down to `last`, evenly spaced in log (the zoom)."""
    ratio = (last / n_bars) ** (1.0 / steps)
    return [n_bars * ratio**k for k in range(1, steps + 1)]


def run_sequence(
    timer: FrameTimer,
    n_bars: int,
    *,
    full_repeats: int = 5,
    window: int = 500,
    drag_steps: int = 50,
    drag_bars: int = 10,
    zoom_steps: int = 20,
) -> dict[str, Series]:
    """The issue's frames, identical for every library.

    full: from a 500-bar window at the end to all bars (repeated; median reported).
    drag: a 500-bar window moved right by 10 bars, 50 times, ending at the last bar.
    zoom: from all bars to the last 500, 20 geometric steps anchored at the last bar.
    """
    out = {"full": Series(), "drag": Series(), "zoom": Series()}
    end = float(n_bars)
    for _ in range(full_repeats):
        timer.untimed(end - window, end)
        out["full"].frames.append(timer.frame(0.0, end))
    start = end - window - drag_steps * drag_bars
    timer.untimed(start, start + window)
    for step in range(1, drag_steps + 1):
        x0 = start + step * drag_bars
        out["drag"].frames.append(timer.frame(x0, x0 + window))
    timer.untimed(0.0, end)
    for width in geometric_widths(n_bars, window, zoom_steps):
        out["zoom"].frames.append(timer.frame(end - width, end))
    return out


def save_shots(timer: FrameTimer, n_bars: int, folder: str, prefix: str) -> list[str]:
    """PNGs of the chart (all bars, the last 500) after timing: proof of what was drawn."""
    paths = []
    for name, (x0, x1) in {"all": (0.0, n_bars), "last500": (n_bars - 500.0, n_bars)}.items():
        timer.untimed(x0, x1)
        path = os.path.join(folder, f"{prefix}-{name}.png")
        timer.widget.grab().save(path)
        paths.append(path)
    return paths


def current_rss_mb() -> float:
    """Resident memory now (Linux /proc; NaN elsewhere), to split the peak into the process
    before the chart existed and what building and moving the chart added."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss), in MB."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def summary(first: Frame, series: dict[str, Series], timer: FrameTimer) -> dict[str, Any]:
    """The issue's figures, plus diagnostics that say whether they can be trusted."""
    frames: Sequence[Frame] = [first, *(f for s in series.values() for f in s.frames)]
    return {
        "first_ms": first.ms,
        "full_ms": float(np.median(series["full"].ms)),
        "drag_p50_ms": series["drag"].p50(),
        "drag_p95_ms": series["drag"].p95(),
        "zoom_p50_ms": series["zoom"].p50(),
        "zoom_p95_ms": series["zoom"].p95(),
        "peak_mb": peak_rss_mb(),
        "blank_frames": sum(f.blank for f in frames),
        "timed_out_frames": sum(f.timed_out for f in frames),
        "late_paints": timer.late_paints,
        "first_late_paints": timer.first_late_paints,
        "rss_before_build_mb": timer.rss_before_build_mb,
        "candle_paints": timer.paint_count(),
        "frames_ms": {name: s.ms for name, s in series.items()},
        "blank_by_kind": {name: s.blank for name, s in series.items()},
    }


# --- self-check ------------------------------------------------------------------------------


def _self_check() -> int:
    """A plain pyqtgraph plot with a counting item: proves offscreen paints are real."""
    import pyqtgraph as pg

    app()
    n = 20_000

    class Counting(pg.PlotCurveItem):
        """A curve that counts its paints, like the chart items do."""

        paints = 0

        def paint(self, p: Any, *args: Any) -> None:
            type(self).paints += 1
            super().paint(p, *args)

    def build() -> Chart:
        widget = pg.PlotWidget()
        curve = Counting(np.arange(n, dtype=float), np.cumsum(np.ones(n)))
        widget.addItem(curve)
        widget.resize(WIDTH, HEIGHT)
        widget.show()

        def set_range(x0: float, x1: float) -> None:
            widget.setXRange(x0, x1, padding=0)

        return Chart(widget, set_range, lambda: Counting.paints)

    timer, first = first_frame(build)
    series = run_sequence(timer, n, full_repeats=2, drag_steps=5, zoom_steps=5)
    figures = summary(first, series, timer)
    print(
        f"chart_paint_timing self-check ({os.environ.get('QT_QPA_PLATFORM')}): "
        f"first {figures['first_ms']:.1f} ms, drag p50 {figures['drag_p50_ms']:.1f} ms, "
        f"{figures['candle_paints']} item paints, blank {figures['blank_frames']}, "
        f"late paints {figures['late_paints']}"
    )
    if figures["blank_frames"] or figures["candle_paints"] < 1 + 2 + 5 + 5:
        print("FAILED: the item did not paint on every frame")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_self_check())
