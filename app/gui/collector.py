"""Garbage collection on the GUI thread only, between events.

A collection frees Qt widgets held in reference cycles. Started by whichever thread happens
to allocate (a job, the broker's stream handler), or in the middle of Qt's re-polish of every
widget (a theme change runs Python in event filters), it can delete a widget Qt is still
walking, and the process dies (seen: `apply_theme` segfaults). So automatic collection is off
while the window runs, and a timer on the GUI thread collects the generations that are due,
by the interpreter's own thresholds, between events (pyqtgraph's GarbageCollector does the
same for the same reason).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

from engine.heap import collection_paused

CHECK_MS = 1_000


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.collections = 0
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect each generation whose count passed its threshold, youngest first; not
        while a thread builds a job's result (`collector_paused`): it is frozen after."""
        if collection_paused():
            return
        young, middle, old = gc.get_count()
        if young <= self.threshold[0]:
            return
        generation = 0
        if middle > self.threshold[1]:
            generation = 2 if old > self.threshold[2] else 1
        gc.collect(generation)
        self.collections += 1

    def stop(self) -> None:
        """Back to automatic collection (the window is closing)."""
        self.timer.stop()
        if self._was_enabled:
            gc.enable()
