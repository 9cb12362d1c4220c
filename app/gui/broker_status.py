"""Status-bar broker state: each broker connection's state at a glance, from the bus.

The hub announces every change as a `BrokerStateEvent`; this widget keeps the last one per
account and shows one line: the one account's state, or a count when there are several,
coloured by the worst (red: a login is needed, amber: connecting or reconnecting, green: all
connected). The tooltip has each account's state, why, and since when. A click asks for
Settings ▸ Brokers (`settings_requested`), where a login or a connection test is one button.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from engine.broker.models import ConnectionState
from engine.bus import EventBus
from engine.calendar import IST
from engine.events import BrokerStateEvent

STATE_WORDS: dict[ConnectionState, str] = {
    ConnectionState.CONNECTED: "connected",
    ConnectionState.CONNECTING: "connecting…",
    ConnectionState.RECONNECTING: "reconnecting…",
    ConnectionState.LOGIN_REQUIRED: "login needed",
    ConnectionState.DISCONNECTED: "disconnected",
}
# Readable as a dot and as text on the dark and light status bars.
STATE_COLOURS: dict[ConnectionState, str] = {
    ConnectionState.CONNECTED: "#2ea043",
    ConnectionState.CONNECTING: "#d29922",
    ConnectionState.RECONNECTING: "#d29922",
    ConnectionState.LOGIN_REQUIRED: "#e5534b",
    ConnectionState.DISCONNECTED: "#8b949e",
}
# Worst first: the summary takes the colour of the worst account.
_SEVERITY = (
    ConnectionState.LOGIN_REQUIRED,
    ConnectionState.RECONNECTING,
    ConnectionState.CONNECTING,
    ConnectionState.CONNECTED,
    ConnectionState.DISCONNECTED,
)
NOT_CONNECTED = "Broker: not connected"


@dataclass(frozen=True, slots=True)
class AccountState:
    """The last state an account's connection announced."""

    title: str
    state: ConnectionState
    detail: str
    since: datetime


class BrokerStatus(QWidget):
    """The broker part of the status bar; `settings_requested` on a click."""

    settings_requested = Signal()

    def __init__(self, bus: EventBus, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.setObjectName("brokerState")
        self._now = now
        self.accounts: dict[str, AccountState] = {}
        self.dot = QLabel("●")
        self.dot.setObjectName("brokerStateDot")
        self.label = QLabel(NOT_CONNECTED)
        self.label.setObjectName("brokerStateText")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        subscription = bus.subscribe(BrokerStateEvent, self._on_state)
        self.destroyed.connect(lambda *_: subscription.cancel())  # the bus outlives the bar
        self._render()

    def _on_state(self, event: BrokerStateEvent) -> None:
        self.accounts[event.account_id] = AccountState(
            event.title, event.state, event.detail, self._now()
        )
        self._render()

    def text(self) -> str:
        """The line shown (as the QLabel this widget replaces in the status bar had it)."""
        return self.label.text()

    def worst(self) -> ConnectionState | None:
        """The state that colours the summary (None: no account is connected or trying)."""
        live = [a.state for a in self.accounts.values() if a.state != ConnectionState.DISCONNECTED]
        return min(live, key=_SEVERITY.index) if live else None

    def _render(self) -> None:
        live = [a for a in self.accounts.values() if a.state != ConnectionState.DISCONNECTED]
        worst = self.worst()
        if worst is None:
            text, colour = NOT_CONNECTED, STATE_COLOURS[ConnectionState.DISCONNECTED]
        elif len(live) == 1:
            account = live[0]
            text, colour = f"{account.title}: {STATE_WORDS[account.state]}", STATE_COLOURS[worst]
        else:
            counts: dict[ConnectionState, int] = {}
            for account in live:
                counts[account.state] = counts.get(account.state, 0) + 1
            parts = [
                f"{counts[state]} {STATE_WORDS[state].rstrip('…')}"
                for state in _SEVERITY
                if state in counts
            ]
            text, colour = f"Brokers: {', '.join(parts)}", STATE_COLOURS[worst]
        self.label.setText(text)
        self.dot.setStyleSheet(f"color: {colour};")
        alarming = worst in (ConnectionState.LOGIN_REQUIRED, ConnectionState.RECONNECTING)
        self.label.setStyleSheet(f"color: {colour}; font-weight: 600;" if alarming else "")
        self.setToolTip(self._tooltip())

    def _tooltip(self) -> str:
        if not self.accounts:
            return (
                "No broker account is connected. Click to open Settings ▸ Brokers: add an "
                "account, log in, test the connection."
            )
        lines = []
        for account in self.accounts.values():
            since = account.since.astimezone(IST)
            line = f"{account.title}: {STATE_WORDS[account.state]} since {since:%H:%M:%S} IST"
            if account.detail:
                line += f" — {account.detail}"
            lines.append(line)
        if any(a.state == ConnectionState.LOGIN_REQUIRED for a in self.accounts.values()):
            lines.append("A login is needed: click to open Settings ▸ Brokers and press Log in.")
        else:
            lines.append("Click to open Settings ▸ Brokers.")
        return "\n".join(lines)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.settings_requested.emit()
        super().mouseReleaseEvent(event)
