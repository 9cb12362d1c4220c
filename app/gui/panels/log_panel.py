"""Log panel: Python logging records shown live, filterable by level.

Records can come from any thread (broker threads, workers' result callbacks); they cross to the
GUI thread through a queued Qt signal, never by touching the widget directly. Records logged
at start-up before the panel existed (a damaged store found while the panels are built) are
shown first, so the panel and the file log tell the same story.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.panels.registry import PanelSpec, register_panel
from app.logging_setup import take_startup_records
from engine.calendar import IST

MAX_LINES = 5000
LEVELS = {
    "Debug": logging.DEBUG,
    "Info": logging.INFO,
    "Warning": logging.WARNING,
    "Error": logging.ERROR,
}
_LEVEL_COLOURS = {logging.WARNING: "#d99a1e", logging.ERROR: "#e0524d", logging.CRITICAL: "#e0524d"}


def ist_time(seconds: float | None) -> time.struct_time:
    """A record's time on the exchange's clock (IST), as the status bar shows it, whatever
    the machine's own zone."""
    return datetime.fromtimestamp(time.time() if seconds is None else seconds, IST).timetuple()


class _RecordBridge(QObject):
    record = Signal(int, str)


class QtLogHandler(logging.Handler):
    """A logging handler that forwards formatted records to a Qt signal (thread-safe)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.bridge = _RecordBridge()
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"
        )
        formatter.converter = ist_time
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        # RuntimeError: the panel was destroyed while another thread still logged.
        with contextlib.suppress(RuntimeError):
            self.bridge.record.emit(record.levelno, self.format(record))


class LogPanel(QWidget):
    def __init__(self, logger: logging.Logger | None = None) -> None:
        super().__init__()
        self.setObjectName("logPanel")
        self._logger = logger or logging.getLogger()
        self.view = QPlainTextEdit(readOnly=True)
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setObjectName("logView")
        self.view.setToolTip("Times are IST (Asia/Kolkata), as in the status bar")
        self.level_box = QComboBox()
        self.level_box.addItems(list(LEVELS))
        self.level_box.setCurrentText("Info")
        clear = QPushButton("Clear")
        clear.clicked.connect(self.view.clear)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show from"))
        bar.addWidget(self.level_box)
        bar.addStretch(1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.view)

        self.handler = QtLogHandler()
        self.handler.bridge.record.connect(self._append, Qt.ConnectionType.QueuedConnection)
        if self._logger.getEffectiveLevel() > logging.INFO:
            self._logger.setLevel(logging.INFO)
        if self._logger is logging.getLogger():
            for record in take_startup_records():
                self._append(record.levelno, self.handler.format(record))
        self._logger.addHandler(self.handler)
        logger_ref, handler_ref = self._logger, self.handler
        # A closure, not a bound method: the Python wrapper may be gone when C++ emits this.
        self.destroyed.connect(lambda *_: logger_ref.removeHandler(handler_ref))

    def sizeHint(self) -> QSize:
        return QSize(800, 180)

    @property
    def min_level(self) -> int:
        return LEVELS[self.level_box.currentText()]

    def _append(self, level: int, text: str) -> None:
        if level < self.min_level:
            return
        fmt = QTextCharFormat()
        colour = _LEVEL_COLOURS.get(level)
        if colour:
            fmt.setForeground(QColor(colour))
        cursor = self.view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        if not self.view.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(text, fmt)
        self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().maximum())


register_panel(
    PanelSpec(
        panel_id="log",
        title="Log",
        factory=lambda ctx: LogPanel(),
        area=Qt.DockWidgetArea.BottomDockWidgetArea,
        shortcut="Ctrl+Shift+L",
        order=90,
        default_size=200,
    )
)
