"""Home panel: where the markets stand, the coming sessions and holidays, and the workspace."""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.gui.context import AppContext
from app.gui.market_text import PHASE_COLOURS, PHASE_LABELS, session_hours, status_detail
from app.gui.panels.registry import PanelSpec, register_panel
from app.version import __version__
from engine.calendar import IST, CalendarCoverageError, get_calendar
from engine.data.store import StoreError
from engine.domain.enums import Exchange
from engine.events import MarketDataChanged

log = logging.getLogger(__name__)
UPCOMING = 6


def _card(title: str) -> tuple[QFrame, QLabel]:
    frame = QFrame()
    frame.setObjectName("card")
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    layout = QVBoxLayout(frame)
    heading = QLabel(f"<b>{html.escape(title)}</b>")
    body = QLabel()
    body.setTextFormat(Qt.TextFormat.RichText)
    body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    body.setWordWrap(True)
    layout.addWidget(heading)
    layout.addWidget(body)
    layout.addStretch(1)
    return frame, body


class HomePanel(QScrollArea):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.setObjectName("homePanel")
        self._ctx = ctx
        self.setWidgetResizable(True)
        inner = QWidget()
        grid = QGridLayout(inner)
        title = QLabel(
            f"<span style='font-size:20pt;font-weight:600'>Artha</span>"
            f"&nbsp;&nbsp;<span style='color:#888'>{__version__}</span><br>"
            "Algorithmic trading station for NSE and BSE"
        )
        markets, self.markets_label = _card("Markets now")
        sessions, self.sessions_label = _card("Coming NSE sessions")
        holidays, self.holidays_label = _card("Coming holidays (NSE/BSE)")
        workspace, self.workspace_label = _card("Workspace")
        grid.addWidget(title, 0, 0, 1, 2)
        grid.addWidget(markets, 1, 0, 1, 2)
        grid.addWidget(sessions, 2, 0)
        grid.addWidget(holidays, 2, 1)
        grid.addWidget(workspace, 3, 0, 1, 2)
        grid.setRowStretch(4, 1)
        self.setWidget(inner)
        self.refresh()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(60_000)
        subscription = ctx.bus.subscribe(MarketDataChanged, lambda _event: self.refresh())
        self.destroyed.connect(lambda *_: subscription.cancel())

    def refresh(self) -> None:
        now = self._ctx.now()
        self.markets_label.setText(self._markets_html(now))
        self.sessions_label.setText(self._sessions_html(now))
        self.holidays_label.setText(self._holidays_html(now))
        self.workspace_label.setText(self._workspace_html())

    def _markets_html(self, now: datetime) -> str:
        rows = []
        for exchange in (Exchange.NSE, Exchange.BSE):
            try:
                status = get_calendar(exchange).status(now)
            except CalendarCoverageError as exc:
                rows.append(
                    f"<tr><td><b>{exchange}</b></td><td colspan=2>{html.escape(str(exc))}</td></tr>"
                )
                continue
            colour, label = PHASE_COLOURS[status.phase], PHASE_LABELS[status.phase]
            today = session_hours(status.session) if status.session else "no session today"
            rows.append(
                f"<tr><td><b>{exchange}</b>&nbsp;</td>"
                f"<td><span style='color:{colour};font-weight:600'>{label}</span>&nbsp;</td>"
                f"<td>{html.escape(status_detail(status))} &nbsp;·&nbsp; today: "
                f"{html.escape(today)}</td></tr>"
            )
        return f"<table cellspacing=4>{''.join(rows)}</table>"

    def _sessions_html(self, now: datetime) -> str:
        calendar = get_calendar(Exchange.NSE)
        start = now.astimezone(IST).date()
        end = min(start + timedelta(days=21), calendar.coverage[1])
        try:
            upcoming = [s for s in calendar.sessions(start, end) if s.close > now][:UPCOMING]
        except CalendarCoverageError as exc:
            return html.escape(str(exc))
        if not upcoming:
            return f"No sessions known after {calendar.coverage[1]:%d %b %Y}: update Artha."
        rows = "".join(
            f"<tr><td>{s.date:%a %d %b %Y}&nbsp;&nbsp;</td><td>{html.escape(session_hours(s))}"
            "</td></tr>"
            for s in upcoming
        )
        return f"<table cellspacing=2>{rows}</table>"

    def _holidays_html(self, now: datetime) -> str:
        calendar = get_calendar(Exchange.NSE)
        start = now.astimezone(IST).date()
        last = calendar.coverage[1]
        if start > last:
            return f"Calendar data ends {last:%d %b %Y}: update Artha."
        days = calendar.holidays(start, min(start + timedelta(days=365), last))[:UPCOMING]
        listed = "<br>".join(f"{d:%a %d %b %Y}" for d in days) or "none in the calendar data"
        return f"{listed}<br><span style='color:#888'>calendar data ends {last:%d %b %Y}</span>"

    def _workspace_html(self) -> str:
        ws = self._ctx.workspace
        db = ws.database_path
        store = self._ctx.store
        if store is not None:
            try:
                series = store.list_series()
            except StoreError as exc:  # closed while the app shuts down, or unreadable
                return html.escape(str(exc))
            bars = sum(s.bars for s in series)
            db_state = (
                f"{len(series)} series, {bars:,} bars"
                if series
                else "empty: import files or create the demo data (Data panel)"
            )
        elif db.exists():
            db_state = "present, not open here (another Artha may be using it)"
        else:
            db_state = "not created yet (import data to create it)"
        rows = [
            ("Folder", str(ws.root)),
            ("Database", f"{db.name}: {db_state}"),
            ("Strategies", str(ws.strategies_dir)),
            ("Logs", str(ws.logs_dir)),
        ]
        cells = "".join(
            f"<tr><td>{k}&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>" for k, v in rows
        )
        return f"<table cellspacing=2>{cells}</table>"


register_panel(
    PanelSpec(
        panel_id="home",
        title="Home",
        factory=HomePanel,
        area=Qt.DockWidgetArea.LeftDockWidgetArea,
        shortcut="Ctrl+Shift+H",
        order=10,
    )
)
