"""Status-bar market clock: IST time, NSE session phase and what comes next, every second.

On a day no holiday list covers the phase is the rule of thumb and says so: "OPEN
(provisional)", with the calendar's warning in the tooltip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.gui.market_text import PHASE_COLOURS, PHASE_LABELS, status_detail, when
from engine.calendar import IST, MarketStatus, get_calendar
from engine.domain.enums import Exchange

log = logging.getLogger(__name__)


class MarketClock(QWidget):
    def __init__(self, now: Callable[[], datetime], exchange: Exchange = Exchange.NSE) -> None:
        super().__init__()
        self.setObjectName("marketClock")
        self._now = now
        self._exchange = exchange
        self.exchange_label = QLabel(f"<b>{exchange}</b>")
        self.phase_label = QLabel()
        self.phase_label.setObjectName("marketPhase")
        self.detail_label = QLabel()
        self.time_label = QLabel()
        self.time_label.setObjectName("marketTime")
        self._fix_time_label_size()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        for widget in (self.exchange_label, self.phase_label, self.detail_label, self.time_label):
            layout.addWidget(widget)
        self.status: MarketStatus | None = None
        self._provisional_warned = False
        self.refresh()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(1000)

    def _fix_time_label_size(self) -> None:
        """The ticking time in a label of fixed size (room for its widest reading): a label
        whose size may change passes every new text up as a layout request to the main
        window, which then lays out every dock again, each second."""
        metrics = self.time_label.fontMetrics()
        widest = max(metrics.horizontalAdvance(f"{d}{d}:{d}{d}:{d}{d} IST") for d in range(10))
        margins = self.time_label.contentsMargins()
        self.time_label.setFixedSize(
            widest + margins.left() + margins.right() + 2, self.time_label.sizeHint().height()
        )

    def refresh(self) -> None:
        """Each second: the time; the phase, its colour, what comes next and the tooltip
        only when they change (a new style sheet re-polishes the label; a new text or
        sheet may lay out the whole window)."""
        now = self._now()
        self.time_label.setText(f"{now.astimezone(IST):%H:%M:%S} IST")
        calendar = get_calendar(self._exchange)  # asked each time: the workspace may edit it
        status = calendar.status(now)
        self.status = status
        colour = PHASE_COLOURS[status.phase]
        label = PHASE_LABELS[status.phase]
        border = "border:2px dashed #f5c542;" if status.provisional else ""
        _set_text(self.phase_label, f"{label} (provisional)" if status.provisional else label)
        sheet = (
            f"background:{colour};color:white;border-radius:3px;padding:1px 6px;"
            f"font-weight:600;{border}"
        )
        if self.phase_label.styleSheet() != sheet:
            self.phase_label.setStyleSheet(sheet)
        _set_text(self.detail_label, status_detail(status))
        warning = calendar.provisional_warning(status.at.date(), status.at.date())
        tooltip = self._tooltip(status, warning)
        if self.toolTip() != tooltip:
            self.setToolTip(tooltip)
        if warning and not self._provisional_warned:
            log.warning("%s", warning)
            self._provisional_warned = True

    def _tooltip(self, status: MarketStatus, warning: str) -> str:
        lines = [f"{status.exchange} — {status.at:%A %d %B %Y}"]
        if status.session is not None:
            s = status.session
            lines.append(
                f"Session: pre-open {s.pre_open:%H:%M}, open {s.open:%H:%M}, close {s.close:%H:%M}"
                + (f" — {s.note}" if s.note else "")
            )
        if status.next_open is not None:
            lines.append(f"Next open: {when(status.next_open.open, status.at)}")
        if warning:
            lines.append(warning)
        else:
            last = get_calendar(self._exchange).known_until(status.at.date())
            if last is not None:
                lines.append(f"Holiday lists known until {last:%d %b %Y}")
        return "\n".join(lines)


def _set_text(label: QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)
