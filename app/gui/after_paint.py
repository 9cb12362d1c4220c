"""Work that can wait until a window is on screen: run it once the window has painted.

The station's start is measured to the main window's first paint; a panel's read that the
first picture does not show (a panel behind a tab) runs right after it instead of before it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

_PAINTED = "arthaPainted"  # a dynamic property: this window has painted at least once


class _FirstPaint(QObject):
    """Watches one window for its first Paint; then hands the queued work to the loop."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.waiting: list[tuple[QObject, Callable[[], None]]] = []
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Paint:
            self.window.removeEventFilter(self)
            self.window.setProperty(_PAINTED, True)
            for context, callback in self.waiting:
                # after the whole paint pass (the window first, then its children)
                QTimer.singleShot(0, context, callback)
            self.waiting.clear()
            _WATCHERS.pop(self.window, None)
            self.deleteLater()
        return False


_WATCHERS: weakref.WeakKeyDictionary[QWidget, _FirstPaint] = weakref.WeakKeyDictionary()


def after_first_paint(widget: QWidget, callback: Callable[[], None], first: bool = False) -> None:
    """Call `callback` on the GUI thread once `widget`'s window has painted (at once, through
    the loop, when it already has); never after `widget` is deleted. Callbacks run in the
    order given, except that `first` puts this one ahead of those waiting (the store's open,
    which the panels' own first reads need)."""
    window = widget.window()
    if window.property(_PAINTED):
        QTimer.singleShot(0, widget, callback)
        return
    watcher = _WATCHERS.get(window)
    if watcher is None:
        watcher = _WATCHERS[window] = _FirstPaint(window)
    if first:
        watcher.waiting.insert(0, (widget, callback))
    else:
        watcher.waiting.append((widget, callback))
