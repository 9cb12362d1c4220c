"""Status-bar market clock: IST time, NSE session phase and what comes next, every second."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.gui.market_text import PHASE_COLOURS, PHASE_LABELS, status_detail, when
from engine.calendar import IST, CalendarCoverageError, MarketStatus, get_calendar
from engine.domain.enums import Exchange

log = logging.getLogger(__name__)


class MarketClock(QWidget):
    def __init__(self, now: Callable[[], datetime], exchange: Exchange = Exchange.NSE) -> None:
        super().__init__()
        self.setObjectName("marketClock")
        self._now = now
        self._calendar = get_calendar(exchange)
        self.exchange_label = QLabel(f"<b>{exchange}</b>")
        self.phase_label = QLabel()
        self.phase_label.setObjectName("marketPhase")
        self.detail_label = QLabel()
        self.time_label = QLabel()
        self.time_label.setObjectName("marketTime")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        for widget in (self.exchange_label, self.phase_label, self.detail_label, self.time_label):
            layout.addWidget(widget)
        self.status: MarketStatus | None = None
        self._coverage_warned = False
        self.refresh()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(1000)

    def refresh(self) -> None:
        now = self._now()
        self.time_label.setText(f"{now.astimezone(IST):%H:%M:%S} IST")
        try:
            status = self._calendar.status(now)
        except CalendarCoverageError as exc:
            self._show_outside_coverage(exc)
            return
        self.status = status
        colour = PHASE_COLOURS[status.phase]
        self.phase_label.setText(PHASE_LABELS[status.phase])
        self.phase_label.setStyleSheet(
            f"background:{colour};color:white;border-radius:3px;padding:1px 6px;font-weight:600"
        )
        self.detail_label.setText(status_detail(status))
        self.setToolTip(self._tooltip(status))

    def _tooltip(self, status: MarketStatus) -> str:
        lines = [f"{status.exchange} — {status.at:%A %d %B %Y}"]
        if status.session is not None:
            s = status.session
            lines.append(
                f"Session: pre-open {s.pre_open:%H:%M}, open {s.open:%H:%M}, close {s.close:%H:%M}"
                + (f" — {s.note}" if s.note else "")
            )
        if status.next_open is not None:
            lines.append(f"Next open: {when(status.next_open.open, status.at)}")
        first, last = self._calendar.coverage
        lines.append(f"Calendar data: {first:%d %b %Y} to {last:%d %b %Y}")
        return "\n".join(lines)

    def _show_outside_coverage(self, exc: CalendarCoverageError) -> None:
        self.status = None
        self.phase_label.setText("UNKNOWN")
        self.phase_label.setStyleSheet("color:#e0524d;font-weight:600")
        self.detail_label.setText("calendar data has ended — update Artha")
        self.setToolTip(str(exc))
        if not self._coverage_warned:
            log.warning("%s", exc)
            self._coverage_warned = True
