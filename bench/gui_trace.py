"""Diagnosing the GUI bench's long gaps (`gui_speed.py --sample-stall`): what the GUI
thread's Python stack held, sampled every millisecond, and which Qt events took 2 ms or more
to deliver. Both slow the loop a little, so a run with them gives no bench figures."""

from __future__ import annotations

import collections
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar


def named_ancestor(widget: Any) -> str:
    """ " in <name>" for the nearest named ancestor of a widget (what a viewport belongs to)."""
    try:
        parent = widget.parent()
        while parent is not None:
            if parent.objectName() and not parent.objectName().startswith("qt_"):
                return f" in {parent.objectName()}"
            parent = parent.parent()
    except (AttributeError, RuntimeError, TypeError):
        pass
    return ""


def tracing_application_class() -> Any:
    """A QApplication noting every event that took 2 ms or more to deliver (with
    --sample-stall only: a Python call per event slows the loop a little)."""
    from PySide6.QtWidgets import QApplication

    class TracingApplication(QApplication):  # type: ignore[misc]
        slow_events: ClassVar[list[tuple[float, float, str]]] = []  # (start, ms, what)

        def notify(self, receiver: Any, event: Any) -> bool:
            started = time.perf_counter()
            try:
                return bool(super().notify(receiver, event))
            finally:
                took = time.perf_counter() - started
                if took >= 0.002:
                    what = f"{event.type().name} -> {type(receiver).__name__}"
                    try:
                        name = receiver.objectName()
                    except (AttributeError, RuntimeError):  # not a QObject, or deleted by now
                        name = ""
                    what += f" {name}" if name else ""
                    what += named_ancestor(receiver)
                    self.slow_events.append((started, took * 1000, what))

    return TracingApplication


class StackSampler:
    """The GUI thread's Python stack every millisecond (a daemon thread reading
    sys._current_frames), to say what the longest gap was made of. A gap whose samples sit
    in the event loop's own frame (`exec`) was spent in Qt's C++ (painting, layout) or idle;
    the GUI thread's CPU time in it tells which."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, str]] = []
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:  # a daemon thread: it ends with the bench's child
            time.sleep(0.001)
            frame = sys._current_frames().get(self._main)
            parts: list[str] = []
            while frame is not None and len(parts) < 4:
                code = frame.f_code
                parts.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), " < ".join(parts)))
            if len(self.samples) > 200_000:
                del self.samples[:100_000]

    def within(self, start: float, end: float, top: int = 6) -> list[tuple[int, str]]:
        """The most frequent stacks sampled inside [start, end], with their counts."""
        counts = collections.Counter(s for t, s in self.samples if start <= t <= end)
        return [(n, stack) for stack, n in counts.most_common(top)]
