"""A one-line label that never widens its panel: its text is cut with "…" to the width the
layout gives it.

A plain QLabel asks for its whole text's width as its minimum. A long status line (a calendar
warning in the Data panel, the chart's "1,000,000 bars, 1m …" line after a backtest) then
raised the main window's minimum width, and the window grew by a few hundred pixels, or past
the edge of a laptop screen, and was laid out and repainted whole while the trader watched.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QToolTip, QWidget

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


class ElidedLabel(QLabel):
    """Plain text on one line, cut at the right with "…" when it does not fit; `text()`
    keeps it whole. With no tooltip of its own, hovering a cut text shows all of it."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        alignment: Qt.AlignmentFlag = _LEFT,
    ) -> None:
        super().__init__(text, parent)
        self.setAlignment(alignment)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def is_cut(self) -> bool:
        """Whether the text is wider than the room it has (it is shown cut)."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def shown_text(self) -> str:
        """The text as painted: cut with "…" to the label's width."""
        box = self.contentsRect()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, box.width())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ToolTip
            and not self.toolTip()
            and self.is_cut()
            and isinstance(event, QHelpEvent)
        ):
            QToolTip.showText(event.globalPos(), self.text(), self)
            return True
        return super().event(event)
