"""GUI speed: the station's responsiveness figures of issue 14 ("Speed"), on real code.

    .venv/bin/python bench/gui_speed.py [--json PATH] [--only stall,start,results,editor]

Targets (all offscreen, `QT_QPA_PLATFORM=offscreen`):

- stall_max_ms <= 50: the longest gap between ticks of a 10 ms QTimer probe on the GUI
  thread while a 1,000,000-bar backtest runs from the wizard (submitted -> run_finished).
- start_warm_ms / start_cold_ms <= 1500: process start to the main window's first paint on
  an `artha demo` workspace, in a fresh process (imports count); cold after dropping the
  OS page cache.
- results_open_ms <= 300: ResultsPanel.show_result of a real run with 20,000+ trades until
  the window has painted it.
- editor_check_ms <= 50: the debounced check of a 300-line strategy (compile + pyflakes +
  marks + repaint, all on the GUI thread); typing never waits on a jedi completion.

Every measurement runs in a child process of its own (`--child KIND`) so imports, caches and
collector state are a user's, and drives the app's own objects: `app.cli.main` /
`run_gui` for start-up and the wizard run, the MainWindow built as `_run` builds it for the
results and the editor. Nothing is mocked; timings are wall-clock (`perf_counter`,
`monotonic` across processes).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

# figure -> (label, target ms)
TARGETS: dict[str, tuple[str, float]] = {
    "stall_max_ms": ("longest GUI stall, 1M-bar wizard run", 50.0),
    "start_warm_ms": ("start to painted window, warm", 1500.0),
    "start_cold_ms": ("start to painted window, cold", 1500.0),
    "results_open_ms": ("results, 20,000 trades, open + paint", 300.0),
    "editor_check_ms": ("editor check after a pause, 300 lines", 50.0),
}
MAIN_WINDOW = "arthaMainWindow"
STALL_BARS = 1_000_000
RESULT_BARS = 440_000  # sma_crossover(5, 12), 10 crore: 20,400 round trips
CHILD_TIMEOUT = 600.0


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank): enough for gap lists of hundreds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[k]


# --- shared GUI helpers (children only) ---------------------------------------------------


def _offscreen() -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _main_window() -> Any:
    """The app's MainWindow once `run_gui` has built it (None before)."""
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == MAIN_WINDOW:
            return widget
    return None


def _build_window(workspace: str) -> tuple[Any, Any]:
    """The main window as `launch._run` builds it (store, context, show, gc.freeze), for
    drivers that step the GUI with processEvents instead of running the loop."""
    import asyncio
    import gc

    import qasync

    from app.gui import launch
    from app.gui.main_window import MainWindow
    from engine.data.store import MarketStore
    from engine.workspace import Workspace

    ws = Workspace.resolve(workspace).ensure()
    app = launch._application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    store = MarketStore.open(ws.database_path)
    ctx = launch._context(ws, loop, store)
    window = MainWindow(ctx, persist_layout=False)
    window.show()
    gc.freeze()
    return app, window


class _Paints:
    """Counts Paint events delivered to any widget of the main window (what reaches the
    backing store); installed on the QApplication."""

    def __init__(self) -> None:
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QApplication, QWidget

        paint = QEvent.Type.Paint
        outer = self

        class Filter(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == paint and isinstance(watched, QWidget):
                    outer.count += 1
                return False

        self.count = 0
        self.filter = Filter()
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self.filter)


class _Collections:
    """Every cyclic-garbage collection (any thread) as (start, end, generation): a full
    collection holds the GIL, so it stalls the GUI whichever thread triggered it."""

    def __init__(self) -> None:
        import gc

        self.done: list[tuple[float, float, int]] = []
        self._started = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.done.append((self._started, time.perf_counter(), info["generation"]))

    def within(self, start: float, end: float) -> tuple[float, int]:
        """ms spent collecting inside [start, end] and the oldest generation collected."""
        inside = [(a, b, g) for a, b, g in self.done if a >= start and b <= end]
        return sum((b - a) * 1000 for a, b, _ in inside), max((g for *_, g in inside), default=-1)


def _settle(paints: _Paints, timeout: float = 10.0) -> float:
    """processEvents until something painted and two further passes painted nothing; the
    perf_counter time the last painting pass ended (NaN: nothing painted in `timeout`)."""
    from PySide6.QtWidgets import QApplication

    deadline = time.perf_counter() + timeout
    last = float("nan")
    quiet = 0
    while time.perf_counter() < deadline:
        before = paints.count
        QApplication.processEvents()
        if paints.count > before:
            last = time.perf_counter()
            quiet = 0
        elif last == last:  # painted already: count quiet passes
            quiet += 1
            if quiet >= 2:
                return last
    return last


def _idle(seconds: float) -> None:
    """Let the window process events for `seconds` (start-up work, jedi's warm-up)."""
    from PySide6.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.005)


# --- child: a store with one 1M-bar series ----------------------------------------------


def child_prepare(workspace: str, bars: int) -> dict[str, Any]:
    """Write `bars` synthetic one-minute bars of SYNTH into the workspace's store, as the
    app's generated series are written (MarketStore.write_bars)."""
    from synthetic_bars import make_bars

    from engine.data.bar_series import BarSeries
    from engine.data.store import MarketStore
    from engine.workspace import Workspace

    ws = Workspace.resolve(workspace).ensure()
    made = make_bars(bars)
    series = BarSeries.from_arrays(
        "SYNTH", made["ts"], made["open"], made["high"], made["low"], made["close"],
        made["volume"], "1m", prices_in_paise=True,
    )  # fmt: skip
    t0 = time.perf_counter()
    with MarketStore.open(ws.database_path) as store:
        written = store.write_bars(series)
    return {"written": written, "seconds": time.perf_counter() - t0}


# --- child: start-up to the first paint ------------------------------------------------------


def child_start(workspace: str, out: str) -> int:
    """`artha --workspace WS` as the console script runs it, with one QApplication event
    filter that notes the main window's first paint and closes the window after it.

    The QApplication is created here (run_gui's `_application` takes an existing one):
    creating it is part of the start-up either way. `app.cli` is imported before Qt, as
    the console script imports it: PySide6's import hook sees only what is imported after
    Qt."""
    t_main = time.monotonic()
    _offscreen()
    from app.cli import main

    t_cli = time.monotonic()
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])
    t_qt = time.monotonic()
    marks: dict[str, float] = {"main": t_main, "imported_cli": t_cli, "qt": t_qt}
    paint, show = QEvent.Type.Paint, QEvent.Type.Show

    class StoreOpen(logging.Handler):
        """The store opens after the first paint; the station logs "ready" the moment it
        is open (the panels read it from then on): that record's time is noted."""

        def emit(self, record: logging.LogRecord) -> None:
            if "store_open" not in marks and "ready" in record.getMessage():
                marks["store_open"] = time.monotonic()

    logging.getLogger("app.gui.launch").addHandler(StoreOpen(logging.INFO))

    def painted() -> None:
        marks["painted"] = time.monotonic()
        store_ready()

    def store_ready() -> None:
        """The window closes once the store is open (then the start's marks are written)."""
        if "store_open" not in marks:
            QTimer.singleShot(5, store_ready)
            return
        Path(out).write_text(json.dumps(marks), encoding="utf-8")
        window = _main_window()
        if window is not None:
            window.close_by_signal("bench")

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            kind = event.type()
            if kind == show and "shown" not in marks and watched.objectName() == MAIN_WINDOW:
                marks["shown"] = time.monotonic()  # MainWindow built, show() called
            if (
                "first_paint" not in marks
                and kind == paint
                and isinstance(watched, QWidget)
                and watched.window().objectName() == MAIN_WINDOW
            ):
                marks["first_paint"] = time.monotonic()
                QTimer.singleShot(0, painted)  # after the whole window's paint pass
            return False

    first = FirstPaint()
    app.installEventFilter(first)
    from engine.heap import collector_paused

    with collector_paused():  # as main imports it (app.cli); noted here to split the time
        import app.gui.launch

    marks["imported_gui"] = time.monotonic()
    QTimer.singleShot(60_000, lambda: os._exit(3))  # never hang the bench
    return main(["--workspace", workspace])


# --- child: stalls during a 1M-bar wizard run --------------------------------------------

PHASES = {
    "submit": "reading bars",
    "read_done": "handing bars to the worker",
    "engine_running": "engine running in the worker",
    "engine_done": "result crossing to the GUI process",
    "result_received": "showing the result",
    "shown": "saving the run",
    "saved": "after the save",
}


def child_stall(
    workspace: str, runs: int, out: str, profile: str = "", sample: bool = False
) -> int:
    """The app through `app.cli.main`; a coroutine on its loop opens the wizard from the
    workbench (as the menu does), runs sma_crossover on the 1M bars `runs` times and probes
    the loop with a 10 ms timer from Run until the run is shown and saved."""
    _offscreen()
    import asyncio

    from gui_trace import tracing_application_class
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = (tracing_application_class() if sample else QApplication)(sys.argv[:1])  # kept
    app.setApplicationName("Artha")  # as run_gui's _application does
    report: dict[str, Any] = {"runs": []}
    tasks: list[Any] = []

    def begin() -> None:
        if _main_window() is None:
            QTimer.singleShot(200, begin)
            return
        tasks.append(asyncio.ensure_future(_stall_driver(runs, report, out, profile, sample)))

    QTimer.singleShot(500, begin)
    QTimer.singleShot(int(CHILD_TIMEOUT * 1000) - 30_000, lambda: os._exit(3))
    from app.cli import main

    code = main(["--workspace", workspace])
    return code if report.get("done") else 4


async def _stall_driver(
    runs: int, report: dict[str, Any], out: str, profile: str, sample: bool
) -> None:
    import asyncio

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.events import JobEvent, JobFinished, JobProgress, JobStarted

    window = _main_window()
    ctx = window.ctx
    loop = asyncio.get_event_loop()
    marks: list[tuple[float, str]] = []
    calls: dict[str, list[float]] = {}

    def mark(name: str) -> None:
        marks.append((time.perf_counter(), name))

    def on_event(event: JobEvent) -> None:
        name = event.name
        if name.startswith("Reading bars") and isinstance(event, JobFinished):
            mark("read_done")
        elif name.startswith("Backtest"):
            if isinstance(event, JobStarted):
                mark("worker_submitted")
            elif isinstance(event, JobProgress) and event.total:
                if not any(m == "engine_running" for _, m in marks[-50:]):
                    mark("engine_running")
                if event.done >= event.total:
                    mark("engine_done")
            elif isinstance(event, JobFinished):
                mark("result_received")
                if profile and run_no[0] == runs - 1:  # the GUI thread until the loop is back
                    profiler.enable()
                    profiling[0] = True
        elif name.startswith("Save run") and isinstance(event, JobFinished):
            mark("saved")

    ctx.bus.subscribe(JobEvent, on_event)  # before each wizard's own: sees events first
    collections = _Collections()
    from gui_trace import StackSampler

    sampler = StackSampler() if sample else None
    import cProfile

    profiler = cProfile.Profile()
    profiling = [False]
    run_no = [0]

    cpu: dict[float, float] = {}  # tick time -> the GUI thread's CPU time then

    def tick(got: list[float]) -> None:
        now = time.perf_counter()
        got.append(now)
        cpu[now] = time.thread_time()
        if profiling[0]:
            profiler.disable()
            profiling[0] = False
            profiler.dump_stats(profile)

    def timed(owner: Any, attr: str, label: str) -> None:
        """Wrap a bound method on this instance to time it (instrumentation only)."""
        original = getattr(owner, attr, None)
        if original is None:  # the app no longer has it: nothing to time
            return

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                calls.setdefault(label, []).append((time.perf_counter() - t0) * 1000)

        setattr(owner, attr, wrapper)

    results = window.workbench.panel("results")
    chart = window.workbench.panel("chart")
    timed(window.workbench, "run_finished", "workbench.run_finished")  # wizards connect later
    timed(window.workbench, "show_report", "workbench.show_report")
    timed(results, "show_result", "results.show_result")
    if chart is not None:
        timed(chart, "show_trades", "chart.show_trades")
        timed(chart, "open_symbol", "chart.open_symbol")
    await asyncio.sleep(3.0)  # start-up work (chart's first read, jedi's warm-up) settles

    for run in range(runs):
        run_no[0] = run
        marks.clear()
        calls.clear()
        wizard = window.workbench.open_wizard(
            {"strategy": "sma_crossover", "symbols": ["SYNTH"], "timeframe": "1m"}
        )
        for _ in range(3):
            wizard.next()
        costs = wizard.config_page.costs
        costs.setCurrentIndex(costs.findData("none"))  # the bars reach back to 2016
        wizard.next()
        assert wizard.currentPage() is wizard.summary_page
        await asyncio.sleep(1.0)
        ticks: list[float] = []
        probe = QTimer()
        probe.setTimerType(Qt.TimerType.PreciseTimer)
        probe.timeout.connect(lambda got=ticks: tick(got))
        finished = loop.create_future()
        outcome: dict[str, Any] = {}

        def done(*args: Any, fut: Any = finished, got: Any = outcome) -> None:
            """(report, job, ...): connected after the workbench's slot, so it is shown."""
            mark("shown")
            got["trades"] = len(args[0].trades)
            got["bars"] = args[0].bars
            if not fut.done():
                fut.set_result(True)

        wizard.run_finished.connect(done)
        wizard.run_failed.connect(lambda message, fut=finished: fut.set_exception(
            RuntimeError(message)))  # fmt: skip
        saved_before = window.workbench.last_saved
        probe.start(10)
        ticks.append(time.perf_counter())
        mark("submit")
        wizard.accept()
        await asyncio.wait_for(finished, 300)
        t_shown = time.perf_counter()
        deadline = time.perf_counter() + 120
        while window.workbench.last_saved == saved_before and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        probe.stop()
        t_end = time.perf_counter()
        figures = _stall_figures(ticks, t_shown, t_end, marks, calls, outcome)
        start, end = figures.pop("worst_span")
        # the GUI thread's own CPU time across the longest gap: near the gap, it was busy
        # itself; near zero, it waited (for the GIL, or for a core)
        if start in cpu and end in cpu:
            figures["gui_cpu_in_max_ms"] = (cpu[end] - cpu[start]) * 1000
        figures["gc_in_max_ms"], figures["gc_in_max_generation"] = collections.within(start, end)
        report["runs"].append(figures)
        one = report["runs"][-1]
        print(
            f"  stall run {run + 1}: max {one['max_ms']:.1f} ms ({one['max_phase']}), "
            f"p99 {one['p99_ms']:.1f} ms; with the save {one['max_incl_save_ms']:.1f} ms; "
            f"run {one['submit_to_shown_s']:.2f} s, {outcome.get('trades')} trades; "
            f"collector in the longest gap {one['gc_in_max_ms']:.0f} ms, GUI thread's CPU "
            f"in it {one.get('gui_cpu_in_max_ms', float('nan')):.0f} ms",
            flush=True,
        )
        if sampler is not None:  # what each long gap held, longest first
            for gap in one["long_gaps"]:
                gap_start = ticks[0] + gap["at_s"]
                print(f"    gap {gap['ms']:.1f} ms in {gap['phase']}:", flush=True)
                gap_end = gap_start + gap["ms"] / 1000
                for count, stack in sampler.within(gap_start, gap_end):
                    print(f"      {count:4d} samples  {stack}", flush=True)
                for started, ms, what in getattr(QApplication.instance(), "slow_events", []):
                    if gap_start <= started <= gap_end:
                        print(f"      event at +{(started - gap_start) * 1000:5.1f} ms: "
                              f"{ms:5.1f} ms {what}", flush=True)  # fmt: skip
        await asyncio.sleep(1.0)
    report["done"] = True
    Path(out).write_text(json.dumps(report), encoding="utf-8")
    window.close_by_signal("bench")


def _stall_figures(
    ticks: list[float],
    t_shown: float,
    t_end: float,
    marks: list[tuple[float, str]],
    calls: dict[str, list[float]],
    outcome: dict[str, Any],
) -> dict[str, Any]:
    """Gaps between probe ticks up to run_finished (the issue's window) and up to the
    saved run; each long gap named by the phase it started in."""
    t0 = ticks[0]
    points = [*ticks, t_end]
    gaps = [(b - a, a, b) for a, b in itertools.pairwise(points)]
    ordered = sorted(marks)

    def phase(at: float) -> str:
        current = "before"
        for when, name in ordered:
            if when <= at and name in PHASES:
                current = PHASES[name]
        return current

    # a gap that ends at or after run_finished's handlers started belongs to the window only
    # if it started before the result was shown
    upto = [g for g in gaps if g[1] < t_shown]
    worst = max(upto, key=lambda g: g[0])
    worst_all = max(gaps, key=lambda g: g[0])
    long_gaps = [
        {"ms": round(g * 1000, 1), "at_s": round(a - t0, 3), "phase": phase(a), "ends_in": phase(b)}
        for g, a, b in sorted(gaps, key=lambda g: -g[0])[:8]
        if g > 0.025
    ]
    return {
        "worst_span": (worst[1], worst[2]),
        "max_ms": worst[0] * 1000,
        "max_phase": phase(worst[1])
        + ("" if phase(worst[1]) == phase(worst[2]) else f" -> {phase(worst[2])}"),
        "p99_ms": _pct([g[0] * 1000 for g in upto], 99),
        "p50_ms": _pct([g[0] * 1000 for g in upto], 50),
        "ticks": len(upto),
        "max_incl_save_ms": worst_all[0] * 1000,
        "max_incl_save_phase": phase(worst_all[1]),
        "submit_to_shown_s": t_shown - t0,
        "long_gaps": long_gaps,
        "marks_s": [(round(w - t0, 3), n) for w, n in ordered],
        "calls_ms": {k: [round(v, 1) for v in vs] for k, vs in calls.items()},
        **outcome,
    }


# --- child: the results panel with 20,000 trades -----------------------------------------


def _run_for_results(bars: int) -> Any:
    """A real sma_crossover(5, 12) backtest with Zerodha's charges on the synthetic bars,
    as the results tests build theirs; pickled, as it crosses from the wizard's worker."""
    import pickle

    from synthetic_bars import make_bars

    from engine.backtest import BacktestConfig, run_backtest
    from engine.data.bar_series import BarSeries
    from strategies.reference import load_reference

    made = make_bars(bars)
    series = BarSeries.from_arrays(
        "SYNTH", made["ts"], made["open"], made["high"], made["low"], made["close"],
        made["volume"], "1m", prices_in_paise=True,
    )  # fmt: skip
    result = run_backtest(
        load_reference("sma_crossover"), {"fast": 5, "slow": 12}, [series],
        BacktestConfig(capital="100000000", costs="zerodha"),
    )  # fmt: skip
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


def child_results(workspace: str, runs: int, bars: int, out: str, profile: str) -> int:
    """Show a 20,000-trade run in the main window's Results dock `runs` times (a fresh
    unpickled copy each time, the Data tab in front before, as a finished run arrives)."""
    import pickle

    _offscreen()
    blob = _run_for_results(bars)
    app, window = _build_window(workspace)
    paints = _Paints()
    _settle(paints)
    _idle(2.0)
    results = window.docks["results"].widget()
    dock = window.docks["results"]
    data_dock = window.docks.get("data")
    figures: dict[str, Any] = {"show_ms": [], "total_ms": []}
    for run in range(runs + (1 if profile else 0)):
        if data_dock is not None:
            data_dock.show()
            data_dock.raise_()
        _settle(paints, 2.0)
        _idle(0.3)
        report = pickle.loads(blob)
        figures["trades"] = len(report.trades)
        profiler = None
        if profile and run == runs:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        results.show_result(report, "bench: 20,000 trades")
        dock.show()
        dock.raise_()  # what the workbench's _front does
        t_show = time.perf_counter()
        t_end = _settle(paints)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
            continue
        figures["show_ms"].append((t_show - t0) * 1000)
        figures["total_ms"].append((t_end - t0) * 1000)
        print(
            f"  results run {run + 1}: show_result {figures['show_ms'][-1]:.1f} ms, "
            f"painted {figures['total_ms'][-1]:.1f} ms",
            flush=True,
        )
    figures["size"] = [window.width(), window.height(), results.width(), results.height()]
    Path(out).write_text(json.dumps(figures), encoding="utf-8")
    window.close_by_signal("bench")
    app.processEvents()
    return 0


# --- child: the editor ------------------------------------------------------------------


def big_strategy(lines: int = 300) -> str:
    """A realistic strategy of `lines` lines: the template plus helper methods (as the
    editor's tests build theirs)."""
    from strategies.template import template

    out = template("big_one")
    i = 0
    while out.count("\n") < lines:
        out += (
            f"\n    def helper_{i}(self, bar: BarView) -> float:\n"
            f'        """Helper {i}: a calculation over the last bar."""\n'
            f"        value = float(self.data.close[-1]) * {i + 1} / (1 + {i})\n"
            f"        if value > {i * 10} and self.position.is_flat:\n"
            f"            return value - {i}\n"
            "        return value\n"
        )
        i += 1
    return "\n".join(out.splitlines()[:lines]) + "\n"


def child_editor(workspace: str, checks: int, rounds: int, out: str) -> int:
    """The main window's editor on a 300-line workspace strategy: a key, then the
    debounced check timed from its timer event to the repainted editor; then keys typed
    while a jedi completion is in flight, each timed with its repaint."""
    _offscreen()
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer
    from PySide6.QtGui import QTextCursor
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.gui.panels.editor_panel import CHECK_DELAY_MS
    from engine.workspace import Workspace

    ws = Workspace.resolve(workspace).ensure()
    ws.strategies_dir.mkdir(parents=True, exist_ok=True)
    path = ws.strategies_dir / "big_one.py"
    path.write_text(big_strategy(300), encoding="utf-8")
    app, window = _build_window(workspace)
    paints = _Paints()
    _settle(paints)
    panel = window.docks["editor"].widget()
    window.docks["editor"].show()
    window.docks["editor"].raise_()
    editor = panel.open_file(path)
    assert editor is not None and editor.blockCount() >= 300
    editor.setFocus()
    # jedi's warm-up holds the GIL for seconds after start: a request answered means it is
    # over (requests are served after it), so the checks below are not measured under it
    served: list[int] = []
    panel.jedi.completed.connect(lambda request_id, _names: served.append(request_id))
    asked = panel.jedi.request("import os\nos.pa", 2, 5, None)
    deadline = time.perf_counter() + 60
    while asked not in served and time.perf_counter() < deadline:
        _idle(0.05)
    _idle(1.0)
    debounce = [
        t for t in editor.findChildren(QTimer)
        if t.isSingleShot() and t.interval() == CHECK_DELAY_MS
    ]  # fmt: skip
    assert len(debounce) == 1, debounce
    fired: list[float] = []

    class TimerStart(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Timer:
                fired.append(time.perf_counter())
            return False

    timer_filter = TimerStart()
    debounce[0].installEventFilter(timer_filter)
    figures: dict[str, Any] = {"check_ms": [], "quick_check_ms": [], "lines": editor.blockCount()}
    checked: list[float] = []
    panel.quick_checked.connect(lambda ms: checked.append(ms))
    collections = _Collections()
    figures["gc_in_check_ms"] = []
    figures["gc_in_check_generation"] = []
    for i in range(checks):
        editor.go_to_line(150)
        editor.moveCursor(QTextCursor.MoveOperation.EndOfBlock)
        fired.clear()
        before = len(checked)
        QTest.keyClick(editor, "#" if i % 2 == 0 else " ")
        _settle(paints, 2.0)
        end = time.perf_counter() + 3
        while len(checked) == before and time.perf_counter() < end:
            QApplication.processEvents()
            time.sleep(0.001)
        t_end = _settle(paints, 2.0)
        if not fired or len(checked) == before:
            raise RuntimeError("the debounced check did not run")
        if t_end != t_end:  # nothing repainted: the check's own end is the end
            t_end = time.perf_counter()
        figures["check_ms"].append((t_end - fired[0]) * 1000)
        gc_ms, generation = collections.within(fired[0], t_end)
        figures["gc_in_check_ms"].append(gc_ms)
        figures["gc_in_check_generation"].append(generation)
        figures["quick_check_ms"].append(checked[-1])
        _idle(0.05)
    print(
        f"  editor check: median {_median(figures['check_ms']):.1f} ms, "
        f"max {max(figures['check_ms']):.1f} ms (the panel's own quick_check median "
        f"{_median(figures['quick_check_ms']):.1f} ms)",
        flush=True,
    )
    # typing while jedi works: '.' asks jedi (complete_here), then keys at once
    answers: list[float] = []
    panel.jedi.completed.connect(lambda *_: answers.append(time.perf_counter()))
    in_flight: list[float] = []
    after: list[float] = []
    key_gc: list[float] = []  # collector ms inside each key
    jedi_ms: list[float] = []
    for r in range(rounds):
        editor.go_to_line(120 + r)
        editor.moveCursor(QTextCursor.MoveOperation.EndOfBlock)
        QTest.keyClick(editor, Qt.Key.Key_Return)
        _settle(paints, 1.0)
        answers.clear()
        for ch in "self.data.":
            QTest.keyClick(editor, ch)
        asked = time.perf_counter()
        for ch in "close_and_more":
            t0 = time.perf_counter()
            QTest.keyClick(editor, ch)
            QApplication.processEvents()
            t1 = time.perf_counter()
            (after if answers and answers[0] < t0 else in_flight).append((t1 - t0) * 1000)
            key_gc.append(collections.within(t0, t1)[0])
        end = time.perf_counter() + 30
        while not answers and time.perf_counter() < end:
            QApplication.processEvents()
            time.sleep(0.001)
        if answers:
            jedi_ms.append((answers[0] - asked) * 1000)
        QTest.keyClick(editor, Qt.Key.Key_Escape)
        editor.document().undo()
        _idle(0.3)
    figures["keys_in_flight_ms"] = in_flight
    figures["keys_after_ms"] = after
    figures["gc_in_keys_max_ms"] = max(key_gc, default=0.0)
    figures["jedi_answer_ms"] = jedi_ms
    print(
        f"  typing: {len(in_flight)} keys while jedi worked, max {max(in_flight, default=0):.1f}"
        f" ms, median {_median(in_flight):.1f} ms; {len(after)} after its answer; jedi "
        f"answered after {_median(jedi_ms):.0f} ms (median)",
        flush=True,
    )
    for opened in panel.files:
        opened.document().setModified(False)
    Path(out).write_text(json.dumps(figures), encoding="utf-8")
    window.close_by_signal("bench")
    app.processEvents()
    return 0


# --- the parent -------------------------------------------------------------------------


def _env() -> dict[str, str]:
    """A user's environment: bytecode caches written and read, offscreen Qt."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _child(args: list[str], timeout: float = CHILD_TIMEOUT) -> None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    done = subprocess.run(
        cmd, env=_env(), timeout=timeout, cwd=str(ROOT), stderr=subprocess.PIPE, text=True
    )  # stderr kept back: DuckDB's nanobind prints leak notes at every exit
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise RuntimeError(f"child {args[0]} exited {done.returncode}")


def _drop_caches() -> bool:
    """Empty the OS page cache (root only): the next start reads every file from disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def measure_start(demo: Path, tmp: Path, warm: int, cold: int) -> dict[str, Any]:
    """Fresh processes of `artha` on the demo workspace: one to prime the caches, `cold`
    after dropping the page cache, `warm` after that."""
    out = tmp / "start.json"

    def once() -> dict[str, float]:
        out.unlink(missing_ok=True)
        t0 = time.monotonic()
        _child(["start", str(demo), str(out)], timeout=120)
        marks = json.loads(out.read_text())
        return {k: (v - t0) * 1000 for k, v in marks.items()}

    runs: dict[str, Any] = {"prime": once(), "cold": [], "warm": []}
    dropped = False
    for _ in range(cold):
        dropped = _drop_caches()
        runs["cold"].append(once())
        print(f"  start cold: {runs['cold'][-1]['painted']:.0f} ms", flush=True)
    for _ in range(warm):
        runs["warm"].append(once())
        print(f"  start warm: {runs['warm'][-1]['painted']:.0f} ms", flush=True)
    runs["cold_method"] = (
        "page cache dropped before each start" if dropped else "first start (no cache drop)"
    )
    if not runs["cold"]:
        runs["cold"] = [runs["prime"]]
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--only", default="stall,start,results,editor")
    parser.add_argument("--stall-runs", type=int, default=3)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--results-runs", type=int, default=5)
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--profile-results", help="cProfile one extra results open to this file")
    parser.add_argument(
        "--profile-stall", help="cProfile the GUI thread from the last run's result to the loop"
    )
    parser.add_argument(
        "--sample-stall",
        action="store_true",
        help="sample the GUI thread's stack every ms and note events over 2 ms; print what "
        "each long gap held (slows the loop: its figures are not the bench's)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _run_child(args.child)

    only = set(args.only.split(","))
    figures: dict[str, Any] = {}
    details: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="artha-gui-bench-") as scratch:
        tmp = Path(scratch)
        demo = tmp / "demo"
        if only & {"start", "results", "editor"}:
            print("creating the demo workspace (artha demo) ...", flush=True)
            artha = Path(sys.executable).with_name("artha")
            subprocess.run([str(artha), "demo", "--workspace", str(demo)], env=_env(),
                           check=True, capture_output=True, timeout=300)  # fmt: skip
        if "start" in only:
            print("start-up (app start to the main window painted) ...", flush=True)
            start = measure_start(demo, tmp, args.warm, args.cold)
            warm = [r["painted"] for r in start["warm"]]
            cold = [r["painted"] for r in start["cold"]]
            figures["start_warm_ms"] = _median(warm)
            figures["start_cold_ms"] = _median(cold)
            figures["start_warm_max_ms"] = max(warm, default=float("nan"))
            figures["start_cold_max_ms"] = max(cold)
            figures["start_warm_store_open_ms"] = _median(
                [r.get("store_open", 0) for r in start["warm"]]
            )
            figures["start_cold_store_open_ms"] = _median(
                [r.get("store_open", 0) for r in start["cold"]]
            )
            for part in ("imported_gui", "shown", "first_paint"):  # where the warm time goes
                figures[f"start_warm_{part}_ms"] = _median([r.get(part, 0) for r in start["warm"]])
            details["start"] = start
        if "stall" in only:
            big = tmp / "big"
            print(f"writing {STALL_BARS:,} bars into a store (not timed) ...", flush=True)
            _child(["prepare", str(big), str(STALL_BARS)])
            print(f"GUI stalls during {args.stall_runs} wizard runs ...", flush=True)
            out = tmp / "stall.json"
            _child(["stall", str(big), str(args.stall_runs), str(out), args.profile_stall or "",
                    "sample" if args.sample_stall else ""])  # fmt: skip
            stall = json.loads(out.read_text())
            maxima = [r["max_ms"] for r in stall["runs"]]
            figures["stall_max_ms"] = max(maxima)
            figures["stall_median_of_max_ms"] = _median(maxima)
            figures["stall_p99_ms"] = max(r["p99_ms"] for r in stall["runs"])
            figures["stall_incl_save_max_ms"] = max(r["max_incl_save_ms"] for r in stall["runs"])
            details["stall"] = stall
        if "results" in only:
            print(f"results panel, {args.results_runs} opens ...", flush=True)
            ws = tmp / "results-ws"
            shutil.copytree(demo, ws, ignore=shutil.ignore_patterns("artha.lock"))
            out = tmp / "results.json"
            _child(["results", str(ws), str(args.results_runs), str(RESULT_BARS), str(out),
                    args.profile_results or ""])  # fmt: skip
            res = json.loads(out.read_text())
            figures["results_open_ms"] = _median(res["total_ms"])
            figures["results_open_max_ms"] = max(res["total_ms"])
            figures["results_trades"] = res["trades"]
            details["results"] = res
        if "editor" in only:
            print(f"editor, {args.checks} checks and typing during completion ...", flush=True)
            ws = tmp / "editor-ws"
            shutil.copytree(demo, ws, ignore=shutil.ignore_patterns("artha.lock"))
            out = tmp / "editor.json"
            _child(["editor", str(ws), str(args.checks), "5", str(out)])
            ed = json.loads(out.read_text())
            figures["editor_check_ms"] = _median(ed["check_ms"])
            figures["editor_check_max_ms"] = max(ed["check_ms"])
            figures["editor_quick_check_ms"] = _median(ed["quick_check_ms"])
            figures["editor_gc_in_checks_max_ms"] = max(ed["gc_in_check_ms"])
            figures["editor_gc_generations"] = sorted(set(ed["gc_in_check_generation"]))
            figures["typing_in_flight_max_ms"] = max(ed["keys_in_flight_ms"], default=0.0)
            figures["typing_keys_in_flight"] = len(ed["keys_in_flight_ms"])
            figures["typing_gc_max_ms"] = ed["gc_in_keys_max_ms"]
            details["editor"] = ed
    _report(figures)
    print(f"bench took {time.perf_counter() - started:.0f} s")
    if args.json:
        when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        payload = {**figures, "details": details, "machine": _machine(), "date": when}
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores {model} / Python {platform.python_version()}"


def _report(figures: dict[str, Any]) -> None:
    print("--")
    extras = {
        "stall_max_ms": f"median of the runs' maxima {figures.get('stall_median_of_max_ms', 0):.1f}"
        f" ms, p99 {figures.get('stall_p99_ms', 0):.1f} ms, with the save "
        f"{figures.get('stall_incl_save_max_ms', 0):.1f} ms",
        "start_warm_ms": f"max {figures.get('start_warm_max_ms', 0):.0f} ms; medians: imports "
        f"done {figures.get('start_warm_imported_gui_ms', 0):.0f}, window shown "
        f"{figures.get('start_warm_shown_ms', 0):.0f}, first paint "
        f"{figures.get('start_warm_first_paint_ms', 0):.0f}; the store open (after the "
        f"paint) {figures.get('start_warm_store_open_ms', 0):.0f}",
        "start_cold_ms": f"max {figures.get('start_cold_max_ms', 0):.0f} ms; the store open "
        f"{figures.get('start_cold_store_open_ms', 0):.0f}",
        "results_open_ms": f"max {figures.get('results_open_max_ms', 0):.1f} ms, "
        f"{figures.get('results_trades', 0):,} trades",
        "editor_check_ms": f"max {figures.get('editor_check_max_ms', 0):.1f} ms; typing during "
        f"completion: max {figures.get('typing_in_flight_max_ms', 0):.1f} ms over "
        f"{figures.get('typing_keys_in_flight', 0)} keys; collector in one check up to "
        f"{figures.get('editor_gc_in_checks_max_ms', 0):.0f} ms",
    }
    for key, (label, target) in TARGETS.items():
        if key not in figures:
            continue
        value = figures[key]
        verdict = "PASS" if value <= target else "MISS"
        print(f"{label:42s} {value:8.1f} ms  (target <= {target:.0f})  {verdict}  "
              f"[{extras[key]}]")  # fmt: skip


def _run_child(words: list[str]) -> int:
    kind, rest = words[0], words[1:]
    handlers: dict[str, Callable[[], int]] = {
        "prepare": lambda: print(json.dumps(child_prepare(rest[0], int(rest[1])))) or 0,
        "start": lambda: child_start(rest[0], rest[1]),
        "stall": lambda: child_stall(
            rest[0],
            int(rest[1]),
            rest[2],
            rest[3] if len(rest) > 3 else "",
            len(rest) > 4 and rest[4] == "sample",
        ),
        "results": lambda: child_results(
            rest[0], int(rest[1]), int(rest[2]), rest[3], rest[4] if len(rest) > 4 else ""
        ),
        "editor": lambda: child_editor(rest[0], int(rest[1]), int(rest[2]), rest[3]),
    }
    return handlers[kind]()


if __name__ == "__main__":
    sys.exit(main())
