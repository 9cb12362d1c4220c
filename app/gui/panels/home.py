"""Home panel: where the markets stand, the coming sessions and holidays, and the workspace."""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.gui.context import STORE_OPENING, AppContext
from app.gui.market_text import PHASE_COLOURS, PHASE_LABELS, session_hours, status_detail
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.themes import make_card
from app.version import __version__
from engine.bus import Subscription
from engine.calendar import IST, get_calendar
from engine.data.errors import StoreError
from engine.domain.enums import Exchange
from engine.events import CalendarChanged, MarketDataChanged

if TYPE_CHECKING:  # opened on demand: the first paint does not need the dialog
    from app.gui.calendar_dialog import CalendarDialog

log = logging.getLogger(__name__)
UPCOMING = 6
WARN_AHEAD = timedelta(days=31)  # say a year's list is missing this long before it starts
WARNING_STYLE = (
    "QFrame#calendarBanner { background: #8a5a00; border-radius: 4px; }"
    "QFrame#calendarBanner QLabel { color: white; }"
)


def _cancel_all(subscriptions: list[Subscription]) -> None:
    for subscription in subscriptions:
        subscription.cancel()


def _card(title: str) -> tuple[QFrame, QLabel]:
    frame = QFrame()
    make_card(frame)
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
        self.calendar_banner = QFrame()
        self.calendar_banner.setObjectName("calendarBanner")
        self.calendar_banner.setStyleSheet(WARNING_STYLE)
        banner = QHBoxLayout(self.calendar_banner)
        self.calendar_warning = QLabel()
        self.calendar_warning.setObjectName("calendarWarning")
        self.calendar_warning.setWordWrap(True)
        self.import_list_button = QPushButton("Import the NSE list…")
        self.import_list_button.setObjectName("importHolidayList")
        self.import_list_button.clicked.connect(self.import_holiday_list)
        banner.addWidget(self.calendar_warning, 1)
        banner.addWidget(self.import_list_button)
        self.calendar_dialog: CalendarDialog | None = None
        markets, self.markets_label = _card("Markets now")
        sessions, self.sessions_label = _card("Coming NSE sessions")
        holidays, self.holidays_label = _card("Coming holidays (NSE/BSE)")
        workspace, self.workspace_label = _card("Workspace")
        grid.addWidget(title, 0, 0, 1, 2)
        grid.addWidget(self.calendar_banner, 1, 0, 1, 2)
        grid.addWidget(markets, 2, 0, 1, 2)
        grid.addWidget(sessions, 3, 0)
        grid.addWidget(holidays, 3, 1)
        grid.addWidget(workspace, 4, 0, 1, 2)
        grid.setRowStretch(5, 1)
        self.setWidget(inner)
        self.refresh()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(60_000)
        subscriptions = [
            ctx.bus.subscribe(event, lambda _event: self.refresh())
            for event in (MarketDataChanged, CalendarChanged)
        ]
        # a lambda over the subscriptions, not a method of the panel being destroyed
        self.destroyed.connect(lambda *_: _cancel_all(subscriptions))

    def refresh(self) -> None:
        now = self._ctx.now()
        warning = self._calendar_warning(now)
        self.calendar_warning.setText(warning)
        self.calendar_banner.setVisible(bool(warning))
        self.markets_label.setText(self._markets_html(now))
        self.sessions_label.setText(self._sessions_html(now))
        self.holidays_label.setText(self._holidays_html(now))
        self.workspace_label.setText(self._workspace_html())

    def _calendar_warning(self, now: datetime) -> str:
        """'2027 holiday list not loaded: ...' while now (or the coming month) is provisional."""
        calendar = get_calendar(Exchange.NSE)
        today = now.astimezone(IST).date()
        years = calendar.unknown_years(today, today + WARN_AHEAD)
        if not years:
            return ""
        which = ", ".join(str(y) for y in years)
        lists = "list" if len(years) == 1 else "lists"
        when = "" if years[0] <= today.year else f"from 1 Jan {years[0]} "
        return (
            f"{which} holiday {lists} not loaded: {when}sessions are provisional (every weekday "
            "assumed open 09:15-15:30). Import the NSE list when the exchange publishes it."
        )

    def import_holiday_list(self) -> CalendarDialog:
        """The banner's button: the calendar dialog, straight into choosing the list file."""
        if self.calendar_dialog is None:
            from app.gui.calendar_dialog import CalendarDialog

            self.calendar_dialog = CalendarDialog(self._ctx, self)
        self.calendar_dialog.open()
        self.calendar_dialog.choose_list_file()
        return self.calendar_dialog

    def _markets_html(self, now: datetime) -> str:
        rows = []
        for exchange in (Exchange.NSE, Exchange.BSE):
            status = get_calendar(exchange).status(now)
            colour, label = PHASE_COLOURS[status.phase], PHASE_LABELS[status.phase]
            if status.provisional:
                label += " (provisional)"
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
        upcoming = [
            s for s in calendar.sessions(start, start + timedelta(days=21)) if s.close > now
        ][:UPCOMING]
        rows = "".join(
            f"<tr><td>{s.date:%a %d %b %Y}&nbsp;&nbsp;</td><td>{html.escape(session_hours(s))}"
            + (" <span style='color:#d99a1e'>provisional</span>" if s.provisional else "")
            + "</td></tr>"
            for s in upcoming
        )
        return f"<table cellspacing=2>{rows}</table>"

    def _holidays_html(self, now: datetime) -> str:
        calendar = get_calendar(Exchange.NSE)
        start = now.astimezone(IST).date()
        days = calendar.holidays(start, start + timedelta(days=365))[:UPCOMING]
        listed = "<br>".join(f"{d:%a %d %b %Y}" for d in days) or "none known"
        last = calendar.known_until(start)
        known = (
            f"holiday lists known until {last:%d %b %Y}"
            if last is not None
            else f"no holiday list for {start.year}"
        )
        return f"{listed}<br><span style='color:#888'>{known}</span>"

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
        elif self._ctx.store_opening:  # the window's first picture
            db_state = STORE_OPENING
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
