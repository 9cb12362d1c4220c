"""Settings ▸ Brokers: the trader's broker accounts, their sessions, and what to do with them.

The list shows each account (broker, label, id, the broker's user id) with its session as the
keychain has it ("logged in, expires 06:00 tomorrow", "login needed", "no keychain") and its
connection as the hub last announced it. Add… and Edit… open `AccountDialog`; Log in opens
`LoginDialog`; Test connection connects through the hub and asks the broker for the profile
and funds; Check IP compares this machine's outbound IPv4 and IPv6 with the registered ones
(`brokers.network`). Each of these runs on the asyncio loop (keychain reads on its worker
thread), shows that it is working, can be cancelled, and ends in words: what happened and,
when it failed, what to do. Changes here are saved at once; the Settings dialog's OK and
Cancel neither save nor undo them.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QTextDocumentFragment
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.broker_dialogs import (
    AccountDialog,
    LoginDialog,
    credential_id,
    error_text,
    run_on_loop,
    when_text,
)
from app.gui.broker_status import STATE_COLOURS, STATE_WORDS
from app.gui.context import AppContext
from app.gui.panels.watchlist import indian_digits
from brokers.accounts import AccountError, BrokerAccount, BrokerAccounts, BrokerKind
from brokers.credentials import CredentialError, CredentialStore, InsecureKeyringError
from brokers.login_listener import LoginListenerError
from brokers.network import (
    IPV4_URL,
    IPV6_URL,
    check_static_ip,
    outbound_addresses,
    route_family,
)
from engine.broker.errors import BrokerError
from engine.broker.models import ConnectionState, SessionInfo
from engine.events import BrokerStateEvent

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
HEADERS: Final = ("Broker", "Label", "Account", "User ID", "Session", "Connection")
BROKER, LABEL, ACCOUNT, USER, SESSION, CONNECTION = range(len(HEADERS))
# Where order calls go when the account names no host of its own (the static-IP rule's host).
ORDER_HOSTS: Final = {
    BrokerKind.ZERODHA: "https://api.kite.trade",
    BrokerKind.UPSTOX: "https://api-hft.upstox.com",
}
NO_KEYCHAIN: Final = "no keychain"
WARN_COLOUR: Final = "#d29922"
ERROR_COLOUR: Final = "#e5534b"
INTRO: Final = (
    "Your broker accounts. Keys, secrets and session tokens are kept only in the operating "
    "system's keychain; the rest in the workspace's settings/brokers.json. Changes here are "
    "saved at once: OK and Cancel below neither save nor undo them."
)


@dataclass(frozen=True, slots=True)
class TokenState:
    """What the keychain says of an account's session: its token's expiry, or why unknown."""

    expires_at: datetime | None = None
    problem: str = ""  # NO_KEYCHAIN, or a keychain failure in words


def read_token_states(
    credentials: CredentialStore, accounts: Sequence[BrokerAccount]
) -> dict[str, TokenState]:
    """Each account's token expiry from the keychain (on a worker thread: it may prompt)."""
    states: dict[str, TokenState] = {}
    for account in accounts:
        if not account.kind.needs_login:
            continue
        try:
            states[account.account_id] = TokenState(
                credentials.token_expiry(credential_id(account))
            )
        except InsecureKeyringError:
            states[account.account_id] = TokenState(problem=NO_KEYCHAIN)
        except (CredentialError, ValueError) as exc:
            states[account.account_id] = TokenState(problem=str(exc))
    return states


def session_text(
    account: BrokerAccount,
    token: TokenState | None,
    now: datetime,
    session: SessionInfo | None = None,
) -> str:
    """The Session column: "logged in, expires 06:00 tomorrow", "login needed", ..."""
    if not account.kind.needs_login:
        return "no login needed"
    expires = session.expires_at if session is not None else None
    if expires is None and token is not None:
        if token.problem:
            return NO_KEYCHAIN if token.problem == NO_KEYCHAIN else "keychain unreadable"
        expires = token.expires_at
    if token is None and session is None:
        return "…"
    if expires is None:
        return "login needed"
    if expires <= now:
        return f"login needed (expired {when_text(expires, now)})"
    return f"logged in, expires {when_text(expires, now)}"


def rupees(value: Decimal) -> str:
    """₹1,23,456.50 (Indian grouping)."""
    whole = int(value)
    paise = int((abs(value) - abs(whole)) * 100)
    return f"₹{indian_digits(whole)}.{paise:02d}"


@dataclass(frozen=True, slots=True)
class Report:
    """What an action found: a headline, the facts behind it, and what to do."""

    happened: str
    advice: str = ""
    ok: bool = True
    details: tuple[str, ...] = ()


@dataclass
class AccountRow:
    account: BrokerAccount
    token: TokenState | None = None
    state: ConnectionState = ConnectionState.DISCONNECTED
    detail: str = ""


class AccountsModel(QAbstractTableModel):
    """The accounts in the file's order; token and connection states change rows in place."""

    def __init__(self, now: Callable[[], datetime], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[AccountRow] = []
        self.sessions: dict[str, SessionInfo] = {}
        self._now = now

    def set_accounts(self, accounts: Sequence[BrokerAccount]) -> None:
        old = {row.account.account_id: row for row in self.rows}
        self.beginResetModel()
        self.rows = []
        for account in accounts:
            before = old.get(account.account_id)
            row = AccountRow(account)
            if before is not None:
                row.token, row.state, row.detail = before.token, before.state, before.detail
            self.rows.append(row)
        self.endResetModel()

    def set_tokens(self, tokens: dict[str, TokenState]) -> None:
        for at, row in enumerate(self.rows):
            if row.account.account_id in tokens:
                row.token = tokens[row.account.account_id]
                self._changed(at, SESSION)

    def set_state(self, account_id: str, state: ConnectionState, detail: str) -> None:
        for at, row in enumerate(self.rows):
            if row.account.account_id == account_id:
                row.state, row.detail = state, detail
                self._changed(at, CONNECTION)
                self._changed(at, SESSION)

    def set_session(self, session: SessionInfo) -> None:
        self.sessions[session.account_id] = session
        for at, row in enumerate(self.rows):
            if row.account.account_id == session.account_id:
                row.token = TokenState(session.expires_at)
                self._changed(at, SESSION)

    def _changed(self, at: int, column: int) -> None:
        index = self.index(at, column)
        self.dataChanged.emit(index, index)

    def session_text(self, at: int) -> str:
        row = self.rows[at]
        session = self.sessions.get(row.account.account_id)
        return session_text(row.account, row.token, self._now(), session)

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        account = row.account
        if role == Qt.ItemDataRole.DisplayRole:
            if column == BROKER:
                return account.kind.display_name
            if column == LABEL:
                return account.label or "—"
            if column == ACCOUNT:
                return account.account_id
            if column == USER:
                return account.user_id or "—"
            if column == SESSION:
                return self.session_text(index.row())
            if column == CONNECTION:
                return STATE_WORDS[row.state]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == CONNECTION and row.state != ConnectionState.DISCONNECTED:
                return QColor(STATE_COLOURS[row.state])
            if column == SESSION:
                text = self.session_text(index.row())
                if text.startswith("logged in"):
                    return QColor(STATE_COLOURS[ConnectionState.CONNECTED])
                if text.startswith("login needed") or text == NO_KEYCHAIN:
                    return QColor(WARN_COLOUR)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [account.title, f"Account id: {account.account_id}"]
            if account.kind.needs_login:
                lines.append(f"Redirect URL: {account.redirect_url}")
                ips = ", ".join(account.registered_ips) or "none entered"
                lines.append(f"Registered IPs: {ips}")
            if row.token is not None and row.token.problem:
                lines.append(row.token.problem)
            if row.detail:
                lines.append(f"Connection: {row.detail}")
            return "\n".join(lines)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None


class BrokersPage(QWidget):
    """The Brokers page of Settings (see the module doc)."""

    accounts_changed = Signal()  # an account was added, edited or removed
    finished = Signal(str)  # an action ended; its words (tests and screenshots wait on it)

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        *,
        open_browser: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("brokersPage")
        self.ctx = ctx
        self.open_browser = open_browser  # None: the system browser (a test plays one)
        self.ip_echo = (IPV4_URL, IPV6_URL)  # where Check IP asks for the outbound addresses
        self.accounts = BrokerAccounts(ctx.files_dir / "brokers.json")
        self.task: asyncio.Task[Any] | None = None
        self.token_task: asyncio.Task[Any] | None = None
        self.dialog: AccountDialog | LoginDialog | None = None

        intro = QLabel(INTRO, wordWrap=True)
        intro.setObjectName("brokersIntro")
        # owned by the page: a Qt object left to Python's collector may be freed on whatever
        # thread happens to collect it (a job's, the keychain's), which Qt does not survive
        self.model = AccountsModel(ctx.now, self)
        self.table = QTableView()
        self.table.setObjectName("brokersTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SESSION, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self.table.doubleClicked.connect(lambda _i: self.edit_account())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())

        self.add_button = self._button("Add…", "brokersAdd", self.add_account)
        self.edit_button = self._button("Edit…", "brokersEdit", self.edit_account)
        self.remove_button = self._button("Remove", "brokersRemove", self.remove_account)
        self.login_button = self._button("Log in", "brokersLogin", self.log_in)
        self.test_button = self._button("Test connection", "brokersTest", self.test_connection)
        self.ip_button = self._button("Check IP", "brokersCheckIp", self.check_ip)
        self.reset_button = self._button("Reset paper…", "brokersResetPaper", self.reset_paper)
        self.reset_button.setToolTip(
            "Start the paper account again with its capital: no orders, positions or trades "
            "(the old journal is kept beside the new one)"
        )
        self.login_button.setToolTip(
            "Log in through the broker's page in your browser (daily: the broker ends API "
            "sessions every morning)"
        )
        self.test_button.setToolTip("Connect and ask the broker for the profile and funds")
        self.ip_button.setToolTip(
            "Compare this machine's outbound IPv4 and IPv6 with the static IPs registered for "
            "order calls (required since April 2026)"
        )
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addSpacing(16)
        for button in (self.login_button, self.test_button, self.ip_button, self.reset_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.progress = QProgressBar()
        self.progress.setObjectName("brokersProgress")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.busy = QLabel()
        self.busy.setObjectName("brokersBusy")
        self.cancel_button = self._button("Cancel", "brokersCancel", self.cancel)
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy)
        busy_row.addWidget(self.progress, 1)
        busy_row.addWidget(self.cancel_button)
        self.busy_box = QWidget()
        self.busy_box.setLayout(busy_row)
        busy_row.setContentsMargins(0, 0, 0, 0)
        self.busy_box.hide()
        self.result = QLabel(wordWrap=True)
        self.result.setObjectName("brokersResult")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.busy_box)
        layout.addWidget(self.result)

        subscription = ctx.bus.subscribe(BrokerStateEvent, self._on_state)
        self.destroyed.connect(lambda *_: subscription.cancel())  # the bus outlives the page
        self.reload()

    def _button(self, text: str, name: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(lambda _c=False: slot())
        return button

    # -- the list -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Read brokers.json again and the keychain's session of each account."""
        selected = self.selected()
        try:
            self.accounts = self.ctx.broker_accounts()
        except AccountError as exc:
            self.show_result(str(exc), "", ok=False)
            self.accounts = BrokerAccounts(self.ctx.files_dir / "brokers.json")
        listed = list(self.accounts.accounts.values())
        self.model.set_accounts(listed)
        hub = self.ctx.brokers
        if hub is not None:
            for account in listed:
                state, detail = hub.state(account.account_id)
                self.model.set_state(account.account_id, state, detail)
                session = hub.sessions.get(account.account_id)
                if session is not None:
                    self.model.set_session(session)
        if listed:
            ids = [a.account_id for a in listed]
            at = ids.index(selected.account_id) if selected and selected.account_id in ids else 0
            self.table.selectRow(at)
        self._enable()
        if any(a.kind.needs_login for a in listed):
            if self.token_task is not None:
                self.token_task.cancel()
            self.token_task = run_on_loop(self._read_tokens(listed))

    async def _read_tokens(self, accounts: list[BrokerAccount]) -> None:
        states = await asyncio.to_thread(read_token_states, self.ctx.credentials, accounts)
        self.token_task = None
        self.model.set_tokens(states)

    def show_tokens(self, states: dict[str, TokenState]) -> None:
        """Show these session states (what the keychain read gives; screenshots stage it)."""
        self.model.set_tokens(states)

    def selected(self) -> BrokerAccount | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.model.rows):
            return None
        return self.model.rows[rows[0].row()].account

    def select(self, account_id: str) -> None:
        for at, row in enumerate(self.model.rows):
            if row.account.account_id == account_id:
                self.table.selectRow(at)

    def _enable(self) -> None:
        account = self.selected()
        idle = self.task is None
        has = account is not None and idle
        self.add_button.setEnabled(idle)
        self.edit_button.setEnabled(has)
        self.remove_button.setEnabled(has)
        connected = has and self.ctx.brokers is not None
        needs_login = account is not None and account.kind.needs_login
        self.login_button.setEnabled(connected and needs_login)
        self.test_button.setEnabled(connected)
        self.ip_button.setEnabled(has and needs_login)
        self.reset_button.setVisible(account is not None and not needs_login)
        self.reset_button.setEnabled(connected and not needs_login)
        why = "" if self.ctx.brokers is not None else "Broker connections run in the main window"
        for button in (self.login_button, self.test_button):
            button.setStatusTip(why)

    def _on_state(self, event: BrokerStateEvent) -> None:
        self.model.set_state(event.account_id, event.state, event.detail)

    # -- add, edit, remove --------------------------------------------------------------------
    def add_account(self) -> AccountDialog:
        return self._account_dialog(None)

    def edit_account(self) -> AccountDialog | None:
        account = self.selected()
        return None if account is None else self._account_dialog(account)

    def _account_dialog(self, account: BrokerAccount | None) -> AccountDialog:
        self.reload_accounts_only()
        dialog = AccountDialog(self.accounts, self.ctx.credentials, account, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._saved)
        dialog.finished.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def reload_accounts_only(self) -> None:
        try:
            self.accounts = self.ctx.broker_accounts()
        except AccountError as exc:
            self.show_result(str(exc), "", ok=False)

    def _saved(self, account: BrokerAccount) -> None:
        self.reload()
        self.select(account.account_id)
        where = "" if not account.kind.needs_login else " Its key and secret are in the keychain."
        self.show_result(f"Saved {account.title}.{where}", "", ok=True)
        self.accounts_changed.emit()

    def _dialog_closed(self) -> None:
        self.dialog = None

    def remove_account(self) -> QMessageBox | None:
        account = self.selected()
        if account is None:
            return None
        secrets = (
            " Its API key, secret and session token are deleted from the keychain."
            if account.kind.needs_login
            else ""
        )
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove broker account",
            f"Remove {account.title} ({account.account_id})?{secrets} Orders at the broker "
            "are not touched.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("brokersRemoveQuestion")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        busy = f"Removing {account.title}…"
        box.accepted.connect(lambda: self._start(busy, self._remove(account)))
        box.open()
        return box

    async def _remove(self, account: BrokerAccount) -> str:
        hub = self.ctx.brokers
        if hub is not None and account.account_id in hub.brokers:
            await hub.disconnect(account.account_id)
        note = ""
        if account.kind.needs_login:
            try:
                await asyncio.to_thread(self.ctx.credentials.forget_account, credential_id(account))
            except InsecureKeyringError:
                note = " (no secure keychain here, so none of its secrets could have been stored)"
        self.reload_accounts_only()
        self.accounts.remove(account.account_id)
        self.accounts.save()
        self.reload()
        self.accounts_changed.emit()
        return f"Removed {account.title}{note}."

    def reset_paper(self) -> QMessageBox | None:
        """Ask, then start the selected paper account again with its capital."""
        account, hub = self.selected(), self.ctx.brokers
        if account is None or hub is None or account.kind.needs_login:
            return None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Reset paper account",
            f"Start {account.title} again with ₹{account.paper_capital:,.0f}? Its orders, "
            "positions and trades are cleared; the old journal is kept beside the new one.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("brokersResetQuestion")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(
            lambda: self._start(f"Resetting {account.title}…", self._reset(account))
        )
        box.open()
        return box

    async def _reset(self, account: BrokerAccount) -> str:
        from brokers.paper.broker import PaperBroker

        hub = self.ctx.brokers
        assert hub is not None
        broker = hub.broker(account)
        if not isinstance(broker, PaperBroker):
            return f"{account.title} is not a paper account."
        archived = await asyncio.to_thread(broker.reset, account.paper_capital)
        kept = f" The old journal is {archived.name}." if archived is not None else ""
        return f"{account.title} starts again with ₹{account.paper_capital:,.0f}.{kept}"

    # -- log in, test, check IP ----------------------------------------------------------------
    def log_in(self) -> LoginDialog | None:
        account, hub = self.selected(), self.ctx.brokers
        if account is None or hub is None:
            return None
        dialog = LoginDialog(hub, account, self.ctx.now, self, self.open_browser)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.logged_in.connect(lambda session: self._logged_in(account, session))
        dialog.finished.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.open()
        dialog.start()
        return dialog

    def _logged_in(self, account: BrokerAccount, session: SessionInfo) -> None:
        self.model.set_session(session)
        if session.user_id and session.user_id != account.user_id:
            try:
                self.reload_accounts_only()
                self.accounts.with_user(account.account_id, session.user_id)
                self.accounts.save()
            except (AccountError, OSError) as exc:
                log.warning("could not remember the user id of %s: %s", account.account_id, exc)
            self.reload()
        text = (
            f"Logged in to {account.title} as {session.user_id}; the session lasts until "
            f"{when_text(session.expires_at, self.ctx.now())} (IST)."
        )
        self.show_result(text, "", ok=True)
        self.finished.emit(text)

    def test_connection(self) -> None:
        account = self.selected()
        if account is None or self.ctx.brokers is None:
            return
        self._start(f"Connecting to {account.title}…", self._test(account))

    async def _test(self, account: BrokerAccount) -> str:
        hub = self.ctx.brokers
        assert hub is not None
        session = await hub.connect(account)
        self.model.set_session(session)
        broker = hub.broker(account)
        profile = await broker.profile()
        funds = await broker.funds()
        name = f" ({profile.user_name})" if profile.user_name not in ("", profile.user_id) else ""
        until = (
            f" The session lasts until {when_text(session.expires_at, self.ctx.now())} (IST)."
            if account.kind.needs_login
            else ""
        )
        return (
            f"Connected to {account.title} as {profile.user_id}{name}. Funds: "
            f"{rupees(funds.available)} available, {rupees(funds.used_margin)} used as "
            f"margin.{until}"
        )

    def check_ip(self) -> None:
        account = self.selected()
        if account is None:
            return
        self._start("Asking for this machine's outbound IPv4 and IPv6…", self._check_ip(account))

    async def _check_ip(self, account: BrokerAccount) -> Report:
        v4, v6 = self.ip_echo
        seen = await outbound_addresses(ipv4_url=v4, ipv6_url=v6, proxy=account.order_proxy)
        host = account.order_root or account.api_root or ORDER_HOSTS.get(account.kind, "")
        route = None
        if not seen.via_proxy and host:
            route = await asyncio.to_thread(route_family, host)
        check = check_static_ip(account.registered_ips, seen, route)
        return Report(check.headline, check.advice, check.ok, check.details)

    # -- running an action ---------------------------------------------------------------------
    def _start(self, busy: str, work: Coroutine[Any, Any, str | Report]) -> None:
        if self.task is not None:
            work.close()
            return
        self.busy.setText(busy)
        self.busy_box.show()
        self.result.hide()
        self.task = run_on_loop(self._run(work))
        self._enable()

    async def _run(self, work: Coroutine[Any, Any, str | Report]) -> None:
        try:
            text = await work
        except asyncio.CancelledError:
            self._end()
            self.show_result("Cancelled; nothing was changed.", "", ok=False)
            self.finished.emit("cancelled")
            return
        except (
            BrokerError,
            CredentialError,
            LoginListenerError,
            AccountError,
            OSError,
            ValueError,
        ) as exc:
            self._end()
            happened, advice = error_text(exc)
            needs_login = isinstance(exc, BrokerError) and exc.needs_login
            if needs_login:
                advice = "Press Log in. " + advice
            self.show_result(happened, advice, ok=False)
            self.finished.emit(happened)
            return
        self._end()
        report = text if isinstance(text, Report) else Report(text)
        self.show_result(report.happened, report.advice, ok=report.ok, details=report.details)
        self.finished.emit(report.happened)

    def _end(self) -> None:
        self.task = None
        self.busy_box.hide()
        self._enable()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def show_result(
        self, happened: str, advice: str, *, ok: bool, details: Sequence[str] = ()
    ) -> None:
        """What the last action did (green), or what went wrong (red) with the facts behind it
        and what to do."""
        colour = STATE_COLOURS[ConnectionState.CONNECTED] if ok else ERROR_COLOUR
        lines = [f"<b style='color:{colour}'>{_html(happened)}</b>"]
        lines += [_html(line) for line in details]
        if advice:
            lines.append(f"<b>What to do:</b> {_html(advice)}")
        self.result.setText("<br>".join(lines))
        self.result.show()

    def result_text(self) -> str:
        """The result as plain text, as the trader reads it."""
        return QTextDocumentFragment.fromHtml(self.result.text()).toPlainText()


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")
