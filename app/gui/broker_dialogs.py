"""The Brokers page's dialogs: add or edit an account, and log in through the browser.

`AccountDialog` checks what was typed with `BrokerAccount`'s own rules (its AccountError is
shown under the field it names; the rules are never restated here) and keeps the API key and
secret in the OS keychain only: they are written first, on the loop's worker thread (a locked
keychain may prompt), and the account is saved to `settings/brokers.json` only after they
were. Where the keychain is not a secure one, InsecureKeyringError's text (what was found and
how to fix it) is shown and nothing at all is saved.

`LoginDialog` runs `BrokerHub.login` on the loop: the browser opens the broker's login page,
the redirect is caught on 127.0.0.1, and the dialog waits with Cancel. When the redirect
cannot reach Artha (another machine's browser, a port in use), the trader pastes the address
the browser ended on; it is read by `login_listener.parse_redirect_url` and handed to the hub.
"""

from __future__ import annotations

import asyncio
import logging
import re
import webbrowser
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.panels.watchlist import indian_digits
from brokers.accounts import AccountError, BrokerAccount, BrokerAccounts, BrokerKind
from brokers.credentials import (
    CredentialError,
    CredentialStore,
    InsecureKeyringError,
    Secret,
    make_account_id,
    require_secure_backend,
)
from brokers.hub import BrokerHub
from brokers.login_listener import LoginCancelled, LoginListenerError, parse_redirect_url
from engine.broker.errors import BrokerError
from engine.broker.models import SessionInfo
from engine.calendar import IST

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #e5534b; font-weight: 600;"  # readable on the dark and light themes
OK_STYLE = "color: #2ea043; font-weight: 600;"
KIND_ORDER = (BrokerKind.ZERODHA, BrokerKind.UPSTOX, BrokerKind.PAPER)
REDIRECT_NOTE = "Register exactly this URL on the broker's developer console."
SECRET_KEPT = "kept in the keychain; type to replace"


def credential_id(account: BrokerAccount) -> str:
    """The keychain id of an account's key, secret and token ("zerodha/zerodha-main")."""
    return make_account_id(account.kind.value, account.account_id)


def run_on_loop(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Start `coro` on the app's asyncio loop (qasync, on Qt's); the GUI thread never waits."""
    loop = asyncio.get_event_loop_policy().get_event_loop()
    return loop.create_task(coro)


def when_text(moment: datetime, now: datetime) -> str:
    """A moment as a trader reads it, in IST: "06:00 tomorrow", "15:30 today", "06:00 Tue 8 Dec"."""
    local, today = moment.astimezone(IST), now.astimezone(IST).date()
    days = (local.date() - today).days
    clock = f"{local:%H:%M}"
    if days == 0:
        return f"{clock} today"
    if days == 1:
        return f"{clock} tomorrow"
    if days == -1:
        return f"{clock} yesterday"
    return f"{clock} {local:%a} {local.day} {local:%b}"


def error_text(error: BaseException) -> tuple[str, str]:
    """(what happened, what to do) of a failure of a broker action, in the trader's words."""
    if isinstance(error, BrokerError):
        where = f"{error.broker}: " if error.broker else ""
        return f"{where}{error.message}", error.advice
    if isinstance(error, InsecureKeyringError):
        return str(error), ""  # its text already says how to fix it
    if isinstance(error, CredentialError):
        return str(error), "Unlock the keychain (log in to the desktop session) and try again."
    if isinstance(error, LoginListenerError):
        return str(error), ""
    if isinstance(error, OSError):
        return f"{error.strerror or error}", "Check the disk and the folder's permissions."
    return f"{type(error).__name__}: {error}", "See the log for details."


W = TypeVar("W", bound=QWidget)


def _named(widget: W, name: str) -> W:
    widget.setObjectName(name)
    return widget


def _grouped(value: Decimal) -> str:
    """10,00,000 (Indian grouping), with any paise."""
    whole, _, fraction = format(value, "f").partition(".")
    return indian_digits(int(whole)) + (f".{fraction}" if fraction.strip("0") else "")


def _field_box(field: QWidget) -> tuple[QWidget, QLabel]:
    """The field with its own problem line under it (hidden until there is one)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(field)
    problem = QLabel(wordWrap=True)
    problem.setStyleSheet(ERROR_STYLE)
    problem.hide()
    layout.addWidget(problem)
    return box, problem


class AccountDialog(QDialog):
    """Add (account None) or edit one broker account; `saved` carries it once it is kept."""

    saved = Signal(object)  # the BrokerAccount, after the keychain and brokers.json have it

    def __init__(
        self,
        accounts: BrokerAccounts,
        credentials: CredentialStore,
        account: BrokerAccount | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("brokerAccountDialog")
        self.accounts = accounts
        self.credentials = credentials
        self.original = account
        self.task: asyncio.Task[Any] | None = None
        self.setWindowTitle("Edit broker account" if account else "Add broker account")

        self.kind_box = QComboBox()
        self.kind_box.setObjectName("brokerKind")
        for kind in KIND_ORDER:
            self.kind_box.addItem(kind.display_name, kind.value)
        self.id_edit = _named(QLineEdit(), "brokerAccountId")
        self.id_edit.setToolTip(
            "Artha's name for this account: it keys the keychain entries and the paper journal"
        )
        self.label_edit = _named(QLineEdit(), "brokerLabel")
        self.label_edit.setPlaceholderText("e.g. Main, Family, Algo")
        self.key_edit = _named(QLineEdit(), "brokerApiKey")
        self.key_edit.setToolTip("From the app you created on the broker's developer console")
        self.secret_edit = _named(QLineEdit(), "brokerApiSecret")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setToolTip(
            "Stored only in the operating system's keychain; never shown, logged or written "
            "to a settings file"
        )
        self.port_edit = _named(QLineEdit(), "brokerRedirectPort")
        self.port_edit.setMaximumWidth(90)
        self.path_edit = _named(QLineEdit(), "brokerRedirectPath")
        self.redirect_url = _named(QLabel(), "brokerRedirectUrl")
        self.redirect_url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = QPushButton("Copy")
        copy.setObjectName("brokerCopyRedirect")
        copy.setToolTip("Copy the redirect URL, to paste on the broker's developer console")
        copy.clicked.connect(self.copy_redirect_url)
        self.ips_edit = _named(QLineEdit(), "brokerRegisteredIps")
        self.ips_edit.setPlaceholderText("e.g. 49.36.12.8, 2401:4900:1c2a::5")
        self.ips_edit.setToolTip(
            "The static IPs registered for order calls on the broker's developer console "
            "(a primary and a secondary); Check IP compares them with this machine's"
        )
        self.proxy_edit = _named(QLineEdit(), "brokerOrderProxy")
        self.proxy_edit.setPlaceholderText("none: order calls go direct")
        self.proxy_edit.setToolTip(
            "An HTTPS proxy for order calls only (https://host:port), on the machine whose "
            "static IP is registered; quotes and feeds keep going direct"
        )
        self.protection_box = _named(QComboBox(), "brokerProtectionMode")
        self.protection_box.addItem("Automatic (the broker's)", "auto")
        self.protection_box.addItem("Percentage", "percent")
        self.protection_edit = _named(QLineEdit(), "brokerProtection")
        self.protection_edit.setMaximumWidth(90)
        self.protection_edit.setPlaceholderText("%")
        self.protection_box.currentIndexChanged.connect(self._protection_mode)
        self.algo_edit = _named(QLineEdit(), "brokerAlgoName")
        self.algo_edit.setToolTip("Sent to Upstox as X-Algo-Name on order calls, when set")
        self.capital_edit = _named(QLineEdit(), "brokerPaperCapital")
        self.capital_edit.setToolTip("The paper account's starting cash, in rupees")

        self.form = QFormLayout()
        self.problems: dict[QWidget, QLabel] = {}

        def row(label: str, field: QWidget, checked: QWidget | None = None) -> QWidget:
            box, problem = _field_box(field)
            self.problems[checked or field] = problem
            self.form.addRow(label, box)
            return box

        row("Broker", self.kind_box)
        row("Account id", self.id_edit)
        row("Label", self.label_edit)
        self.key_row = row("API key", self.key_edit)
        self.secret_row = row("API secret", self.secret_edit)
        redirect = QWidget()
        redirect_layout = QHBoxLayout(redirect)
        redirect_layout.setContentsMargins(0, 0, 0, 0)
        redirect_layout.addWidget(QLabel("port"))
        redirect_layout.addWidget(self.port_edit)
        redirect_layout.addWidget(QLabel("path"))
        redirect_layout.addWidget(self.path_edit, 1)
        self.redirect_row = row("Login redirect", redirect, self.port_edit)
        self.problems[self.path_edit] = self.problems[self.port_edit]
        url_box = QWidget()
        url_layout = QVBoxLayout(url_box)
        url_layout.setContentsMargins(0, 0, 0, 0)
        url_layout.setSpacing(2)
        url_line = QHBoxLayout()
        url_line.addWidget(self.redirect_url, 1)
        url_line.addWidget(copy)
        url_layout.addLayout(url_line)
        note = QLabel(REDIRECT_NOTE, wordWrap=True)
        note.setObjectName("brokerRedirectNote")
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        url_layout.addWidget(note)
        self.url_row = url_box
        self.form.addRow("Redirect URL", url_box)
        self.ips_row = row("Registered IPs", self.ips_edit)
        self.proxy_row = row("Order proxy", self.proxy_edit)
        protection = QWidget()
        protection_layout = QHBoxLayout(protection)
        protection_layout.setContentsMargins(0, 0, 0, 0)
        protection_layout.addWidget(self.protection_box)
        protection_layout.addWidget(self.protection_edit)
        protection_layout.addStretch(1)
        row("Market protection", protection, self.protection_edit)
        self.algo_row = row("Algo name", self.algo_edit)
        self.capital_row = row("Paper capital (₹)", self.capital_edit)

        self.problem = QLabel(wordWrap=True)
        self.problem.setObjectName("brokerAccountProblem")
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        self.busy = QLabel()
        self.busy.setObjectName("brokerAccountBusy")
        self.busy.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.problem)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)

        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        self.port_edit.textChanged.connect(self._show_redirect_url)
        self.path_edit.textChanged.connect(self._show_redirect_url)
        for field in self.problems:
            if isinstance(field, QLineEdit):
                field.textEdited.connect(lambda _t, f=field: self._clear_problem(f))
        self._fill(account)
        self.setMinimumWidth(600)
        self.resize(620, self.sizeHint().height())

    # -- showing ------------------------------------------------------------------------------
    def _fill(self, account: BrokerAccount | None) -> None:
        if account is None:
            kind = BrokerKind.ZERODHA
            account = BrokerAccount(account_id=self.accounts.default_id(kind), kind=kind)
        else:
            self.kind_box.setEnabled(False)  # the keychain entries and journal are keyed by it
            self.id_edit.setReadOnly(True)
            self.key_edit.setPlaceholderText(SECRET_KEPT)
            self.secret_edit.setPlaceholderText(SECRET_KEPT)
        self.kind_box.setCurrentIndex(KIND_ORDER.index(account.kind))
        self.id_edit.setText(account.account_id)
        self.label_edit.setText(account.label)
        self.port_edit.setText(str(account.redirect_port))
        self.path_edit.setText(account.redirect_path)
        self.ips_edit.setText(", ".join(account.registered_ips))
        self.proxy_edit.setText(account.order_proxy or "")
        automatic = account.market_protection is None
        self.protection_box.setCurrentIndex(0 if automatic else 1)
        self.protection_edit.setText("" if automatic else format(account.market_protection, "f"))
        self._protection_mode()
        self.algo_edit.setText(account.algo_name)
        self.capital_edit.setText(_grouped(account.paper_capital))
        self._kind_changed()
        self._show_redirect_url()

    def kind(self) -> BrokerKind:
        return BrokerKind(str(self.kind_box.currentData()))

    def _kind_changed(self) -> None:
        kind = self.kind()
        if self.original is None:
            current = self.id_edit.text().strip()
            if not current or any(current.startswith(k.value) for k in BrokerKind):
                self.id_edit.setText(self.accounts.default_id(kind))
        live = kind.needs_login
        for widget in (self.key_row, self.secret_row, self.redirect_row, self.url_row):
            self.form.setRowVisible(widget, live)
        for widget in (self.ips_row, self.proxy_row):
            self.form.setRowVisible(widget, live)
        self.form.setRowVisible(self.algo_row, kind is BrokerKind.UPSTOX)
        self.form.setRowVisible(self.capital_row, kind is BrokerKind.PAPER)
        self.key_edit.setToolTip(
            "Upstox: the app's API key (client id)"
            if kind is BrokerKind.UPSTOX
            else "Kite Connect: the app's API key"
        )
        self.adjustSize()

    def _protection_mode(self) -> None:
        percent = self.protection_box.currentData() == "percent"
        self.protection_edit.setEnabled(percent)
        if not percent:
            self.protection_edit.clear()

    def _show_redirect_url(self) -> None:
        """The URL the broker must redirect to, as the account will build it (or why not)."""
        try:
            trial = BrokerAccount(
                account_id="redirect-check",
                kind=self.kind(),
                redirect_port=self._port(),
                redirect_path=self.path_edit.text().strip(),
            )
        except AccountError as exc:
            self.redirect_url.setText("—")
            self.redirect_url.setToolTip(str(exc).removeprefix("redirect-check: "))
            return
        self.redirect_url.setText(f"<b>{trial.redirect_url}</b>")
        self.redirect_url.setToolTip(REDIRECT_NOTE)

    def redirect_text(self) -> str:
        return re.sub(r"<[^>]+>", "", self.redirect_url.text())

    def copy_redirect_url(self) -> None:
        text = self.redirect_text()
        if text and text != "—":
            QGuiApplication.clipboard().setText(text)

    # -- reading ------------------------------------------------------------------------------
    def _port(self) -> int:
        text = self.port_edit.text().strip()
        # not a number: handed on as typed, so BrokerAccount's own check names it
        return int(text) if text.isdigit() else cast(int, text)

    def account_from_fields(self) -> BrokerAccount:
        """The account as typed; AccountError (naming the field) when BrokerAccount refuses it."""
        kind = self.kind()
        old = self.original
        percent = self.protection_box.currentData() == "percent"
        protection = self.protection_edit.text().strip().rstrip("%").strip()
        capital = self.capital_edit.text().strip().replace(",", "")
        ips = tuple(part for part in re.split(r"[,;\s]+", self.ips_edit.text()) if part)
        live = kind.needs_login
        return BrokerAccount(
            account_id=self.id_edit.text().strip(),
            kind=kind,
            label=self.label_edit.text().strip(),
            redirect_port=self._port(),
            redirect_path=self.path_edit.text().strip(),
            registered_ips=ips if live else (),
            order_proxy=(self.proxy_edit.text().strip() or None) if live else None,
            # typed text goes to BrokerAccount as it is: its own check says what is wrong
            market_protection=cast(Decimal, protection or "?") if percent else None,
            algo_name=self.algo_edit.text().strip() if kind is BrokerKind.UPSTOX else "",
            paper_capital=cast(Decimal, capital or "?"),
            user_id=old.user_id if old else "",
            api_root=old.api_root if old else "",
            order_root=old.order_root if old else "",
            stream_root=old.stream_root if old else "",
        )

    def _field_of(self, message: str) -> QWidget | None:
        """The field an AccountError's message names."""
        names = (
            ("account id", self.id_edit),
            ("exists already", self.id_edit),
            ("redirect port", self.port_edit),
            ("redirect path", self.path_edit),
            ("registered ip", self.ips_edit),
            ("order proxy", self.proxy_edit),
            ("market protection", self.protection_edit),
            ("paper capital", self.capital_edit),
            ("api_key", self.key_edit),
            ("api_secret", self.secret_edit),
        )
        lowered = message.lower()
        return next((field for name, field in names if name in lowered), None)

    def show_problem(self, message: str, field: QWidget | None = None) -> None:
        """Say why nothing was saved: under the field it names, else above the buttons."""
        self._clear_problems()
        target = field or self._field_of(message)
        problem = self.problems.get(target) if target is not None else None
        if problem is not None and target is not None:
            account_id = self.id_edit.text().strip()
            problem.setText(message.removeprefix(f"{account_id}: ") if account_id else message)
            problem.show()
            target.setFocus()
        else:
            self.problem.setText(message)
            self.problem.show()

    def _clear_problem(self, field: QWidget) -> None:
        problem = self.problems.get(field)
        if problem is not None:
            problem.hide()
        self.problem.hide()

    def _clear_problems(self) -> None:
        for problem in self.problems.values():
            problem.hide()
        self.problem.hide()

    # -- saving -------------------------------------------------------------------------------
    def save(self) -> None:
        """Check, then keychain first, then brokers.json (see the module doc)."""
        if self.task is not None:
            return
        try:
            account = self.account_from_fields()
            if self.original is None and account.account_id in self.accounts.accounts:
                self.accounts.add(account)  # raises: the id is taken (its own message)
        except AccountError as exc:
            self.show_problem(str(exc))
            return
        self._clear_problems()
        key, secret = self.key_edit.text(), self.secret_edit.text()
        if not account.kind.needs_login or (self.original is not None and not (key or secret)):
            self._keep(account)
            return
        self._busy("Saving the API key and secret in the keychain…")
        # as Secrets from here on: the loop's executor logs its calls' arguments at DEBUG
        self.task = run_on_loop(self._save_secrets(account, Secret(key), Secret(secret)))

    async def _save_secrets(self, account: BrokerAccount, key: Secret, secret: Secret) -> None:
        try:
            await asyncio.to_thread(self._store_secrets, account, key, secret)
        except (CredentialError, ValueError) as exc:
            self.task = None
            self._busy("")
            self.show_problem(str(exc))
            return
        self.task = None
        self._busy("")
        self._keep(account)

    def _store_secrets(self, account: BrokerAccount, key: Secret, secret: Secret) -> None:
        """On a worker thread: the keychain's check, then the two fields; a new account whose
        second field fails keeps neither (nothing half-saved)."""
        require_secure_backend()  # InsecureKeyringError before anything is written
        cid = credential_id(account)
        fresh = self.original is None
        written: list[str] = []
        try:
            for field, value in (("api_key", key), ("api_secret", secret)):
                if value.reveal() or fresh:
                    self.credentials.save(cid, field, value)
                    written.append(field)
        except CredentialError:
            if fresh:
                for field in written:
                    self.credentials.delete(cid, field)
            raise

    def _keep(self, account: BrokerAccount) -> None:
        try:
            if self.original is None:
                self.accounts.add(account)
            else:
                self.accounts.update(account)
            self.accounts.save()
        except (AccountError, OSError) as exc:
            if self.original is None:
                self.accounts.accounts.pop(account.account_id, None)
            self.show_problem(f"The account was not saved: {exc}")
            return
        self.key_edit.clear()
        self.secret_edit.clear()
        log.info("broker account %s saved", account.account_id)
        self.saved.emit(account)
        self.accept()

    def _busy(self, text: str) -> None:
        self.busy.setText(text)
        self.busy.setVisible(bool(text))
        self.save_button.setEnabled(not text)


class LoginDialog(QDialog):
    """Waits for a browser login of `account` (see the module doc); `logged_in` carries the
    SessionInfo."""

    logged_in = Signal(object)
    _page_opened = Signal(str)  # from the thread that opens the browser

    def __init__(
        self,
        hub: BrokerHub,
        account: BrokerAccount,
        now: Callable[[], datetime],
        parent: QWidget | None = None,
        open_browser: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("brokerLoginDialog")
        self.setWindowTitle(f"Log in — {account.title}")
        self.hub = hub
        self.account = account
        self._now = now
        self._open_browser = open_browser or webbrowser.open
        self._cancel = False
        self._pasted = False
        self.task: asyncio.Task[Any] | None = None
        self.login_url = ""
        self.session: SessionInfo | None = None

        self.text = QLabel(wordWrap=True)
        self.text.setObjectName("brokerLoginText")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setText(
            f"Your browser opens {account.kind.display_name}'s login page. Log in there; "
            f"Artha catches the broker's redirect at <b>{account.redirect_url}</b> "
            "(no password passes through Artha)."
        )
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.reopen = QPushButton("Open the login page again")
        self.reopen.setObjectName("brokerLoginReopen")
        self.reopen.setEnabled(False)
        self.reopen.clicked.connect(lambda: run_on_loop(self._reopen()))
        self._page_opened.connect(self._remember_url)

        self.paste_edit = QLineEdit()
        self.paste_edit.setObjectName("brokerLoginPaste")
        self.paste_edit.setPlaceholderText(f"{account.redirect_url}?…")
        self.paste_edit.returnPressed.connect(self.use_pasted)
        self.paste_button = QPushButton("Use this address")
        self.paste_button.setObjectName("brokerLoginUsePaste")
        self.paste_button.clicked.connect(self.use_pasted)
        paste_row = QHBoxLayout()
        paste_row.addWidget(self.paste_edit, 1)
        paste_row.addWidget(self.paste_button)
        paste_note = QLabel(
            "The redirect did not reach Artha? Paste the redirect URL instead: the whole "
            "address the browser ended on after the login.",
            wordWrap=True,
        )
        self.paste_box = QWidget()
        paste_layout = QVBoxLayout(self.paste_box)
        paste_layout.setContentsMargins(0, 8, 0, 0)
        paste_layout.addWidget(paste_note)
        paste_layout.addLayout(paste_row)
        self.waiting = QLabel("Waiting for the login in the browser (up to 5 minutes)…")
        self.waiting.setObjectName("brokerLoginWaiting")
        wait_row = QHBoxLayout()
        wait_row.addWidget(self.waiting)
        wait_row.addWidget(self.progress, 1)

        self.outcome = QLabel(wordWrap=True)
        self.outcome.setObjectName("brokerLoginResult")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.cancel)
        self.retry = self.buttons.addButton("Try again", QDialogButtonBox.ButtonRole.ActionRole)
        self.retry.hide()
        self.retry.clicked.connect(self.start)

        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(wait_row)
        layout.addWidget(self.reopen, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.paste_box)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        self.resize(620, self.sizeHint().height())

    # -- the login ----------------------------------------------------------------------------
    def start(self) -> None:
        """Begin (or begin again) the browser login on the loop."""
        if self.task is not None:
            return
        self._cancel = self._pasted = False
        self._waiting(True)
        self.task = run_on_loop(self._login(None))

    def _opener(self, url: str) -> object:
        """Called on the listener's worker thread: note the URL for the button, open it."""
        self._page_opened.emit(url)
        return self._open_browser(url)

    def _remember_url(self, url: str) -> None:
        self.login_url = url
        self.reopen.setEnabled(True)
        self.reopen.setToolTip("Open the broker's login page in the browser again")

    async def _reopen(self) -> None:
        if self.login_url:
            await asyncio.to_thread(self._open_browser, self.login_url)

    async def _login(self, pasted: dict[str, str] | None) -> None:
        try:
            session = await self.hub.login(
                self.account,
                open_browser=self._opener,
                cancelled=lambda: self._cancel,
                pasted_params=pasted,
            )
        except LoginCancelled:
            if pasted is None and self._pasted:
                return  # the pasted address took over from the listener
            self.task = None
            self.reject()
            return
        except asyncio.CancelledError:
            self.task = None
            raise
        except (BrokerError, LoginListenerError, CredentialError, OSError) as exc:
            self.task = None
            self._failed(exc)
            return
        self.task = None
        self._done(session)

    def use_pasted(self) -> None:
        """Read the pasted redirect address and finish the login with it."""
        text = self.paste_edit.text()
        flow = self.hub.broker(self.account).login_flow()
        required = flow.required_params if flow is not None else ()
        try:
            params = parse_redirect_url(
                text, expected_path=self.account.redirect_path, require=required
            )
        except LoginListenerError as exc:
            self._show_result(str(exc), "", error=True)
            return
        self.paste_edit.clear()  # it holds a one-time token: not kept on screen
        self._pasted = True
        self._cancel = True  # the listener stops and frees its port
        self._waiting(True)
        self.outcome.hide()
        self.task = run_on_loop(self._login(params))

    def cancel(self) -> None:
        """Stop waiting: the listener closes its port; an exchange in flight is cancelled."""
        self.reject()

    # -- what the trader sees ------------------------------------------------------------------
    def _waiting(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.waiting.setVisible(on)
        self.retry.hide()
        self.paste_edit.setEnabled(on)
        self.paste_button.setEnabled(on)

    def _failed(self, error: BaseException) -> None:
        happened, advice = error_text(error)
        self._waiting(False)
        self.paste_edit.setEnabled(True)
        self.paste_button.setEnabled(True)
        self.retry.show()
        self._show_result(f"Not logged in: {happened}", advice, error=True)

    def _done(self, session: SessionInfo) -> None:
        self.session = session
        self._waiting(False)
        self.paste_box.hide()
        self.reopen.hide()
        name = f" ({session.user_name})" if session.user_name != session.user_id else ""
        self._show_result(
            f"Logged in to {self.account.title} as {session.user_id}{name}. The session "
            f"lasts until {when_text(session.expires_at, self._now())} (IST).",
            "",
            error=False,
        )
        self.buttons.clear()
        done = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        done.setObjectName("brokerLoginClose")
        self.buttons.rejected.disconnect()
        self.buttons.rejected.connect(self.accept)
        self.logged_in.emit(session)

    def _show_result(self, happened: str, advice: str, *, error: bool) -> None:
        text = happened + (f"\nWhat to do: {advice}" if advice else "")
        self.outcome.setText(text)
        self.outcome.setStyleSheet(ERROR_STYLE if error else OK_STYLE)
        self.outcome.show()

    def reject(self) -> None:
        if self.task is not None:
            self._cancel = True
            self.task.cancel()
            self.task = None
        super().reject()
