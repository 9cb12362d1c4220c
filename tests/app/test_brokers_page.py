"""Settings ▸ Brokers, offscreen on a temp workspace: accounts added through the real dialog
into an in-memory keychain (the secret nowhere else: not brokers.json, not ui.ini, not the
log), refused whole on an insecure keychain, checked by BrokerAccount's own rules at the
field, and a browser login against the fake Kite server with the REAL kiteconnect client,
the test playing the browser (and, once, pasting the redirect address instead)."""

from __future__ import annotations

import asyncio
import gc
import http.server
import json
import logging
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from keyring.backends import fail

from app.gui.broker_dialogs import AccountDialog, LoginDialog, credential_id, when_text
from app.gui.brokers_page import SESSION, BrokersPage, session_text
from app.gui.context import AppContext
from app.gui.settings_dialog import SettingsDialog
from app.logging_setup import configure_logging
from brokers.accounts import BrokerAccount, BrokerAccounts, BrokerKind
from brokers.hub import BrokerHub
from brokers.paper.broker import PaperBroker
from brokers.zerodha import KiteBroker
from engine.backtest import BacktestConfig
from engine.broker.models import ConnectionState
from engine.workspace import Workspace
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_server import FakeKite
from tests.fakes.memory_keyring import MemoryKeyring, installed

fake_kite = kite_server.fake_kite  # fixtures, assigned (not imported) for ruff's F811
memory_keyring = fake_keyring.memory_keyring

API_KEY = "kite_api_key_7f3a9c21"
API_SECRET = "s3cr3t-kite-api-secret-9b8c7d6e5f"


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread(qapp) -> Iterator[None]:
    """As the station does (app.gui.collector): no automatic collection while the test runs,
    whose threads (the fake Kite's, the keychain's, the login listener's browser) would
    otherwise free Qt wrappers of this or an earlier test off the GUI thread, and a crash
    later in Qt's timers; at the end, the test's widgets deleted and collected here."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    import shiboken6
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():  # as conftest's no_window_outlives_its_test
        if widget.parent() is None and shiboken6.ownedByPython(widget):
            widget.hide()
            widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    if was_enabled:
        gc.enable()


def run_until(
    loop: asyncio.AbstractEventLoop, done: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Run the app's loop (and so Qt's) until `done()`; the GUI's coroutines run meanwhile."""

    async def wait() -> None:
        deadline = loop.time() + timeout
        while not done():
            if loop.time() > deadline:
                raise AssertionError("timed out waiting")
            await asyncio.sleep(0.02)

    loop.run_until_complete(wait())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def ctx(make_ctx) -> AppContext:
    return make_ctx()


@pytest.fixture
def page(ctx, qtbot) -> Iterator[BrokersPage]:
    made = BrokersPage(ctx)
    qtbot.addWidget(made)
    made.show()
    yield made


@pytest.fixture
def logged(workspace: Workspace) -> Iterator[Path]:
    """The app's log file at DEBUG, as the station writes it."""
    root = logging.getLogger()
    level = root.level
    configure_logging(workspace, logging.DEBUG)
    yield workspace.logs_dir / "artha.log"
    for handler in root.handlers:
        handler.flush()
    root.setLevel(level)


def files_without(root: Path, *secrets: str) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            for secret in secrets:
                assert secret not in text, f"a secret reached {path}"


def closed(dialog: AccountDialog | LoginDialog) -> Callable[[], bool]:
    """Whether the dialog was closed (it deletes itself on close)."""
    ended: list[int] = []
    dialog.finished.connect(ended.append)
    return lambda: bool(ended)


def add_zerodha(dialog: AccountDialog, label: str = "Main") -> None:
    dialog.label_edit.setText(label)
    dialog.key_edit.setText(API_KEY)
    dialog.secret_edit.setText(API_SECRET)


def test_adding_a_zerodha_account_keeps_the_secret_in_the_keychain_only(
    page: BrokersPage,
    ctx: AppContext,
    aloop,
    memory_keyring: MemoryKeyring,
    logged: Path,
    workspace: Workspace,
) -> None:
    dialog = page.add_account()
    assert dialog.secret_edit.echoMode() == dialog.secret_edit.EchoMode.Password
    assert dialog.redirect_text() == "http://127.0.0.1:5010/artha/login"
    add_zerodha(dialog)
    done = closed(dialog)
    dialog.save()
    run_until(aloop, done)

    account = BrokerAccounts.load(ctx.files_dir).get("zerodha")
    assert account.kind is BrokerKind.ZERODHA and account.label == "Main"
    cid = credential_id(account)
    assert memory_keyring.entries[("Artha", f"{cid}/api_key")] == API_KEY
    assert memory_keyring.entries[("Artha", f"{cid}/api_secret")] == API_SECRET
    run_until(aloop, lambda: page.model.session_text(0) != "…")
    assert page.model.index(0, SESSION).data() == "login needed"
    assert "Saved Zerodha Kite · Main" in page.result_text()

    ctx.settings.sync()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "broker account zerodha saved" in logged.read_text(encoding="utf-8")
    brokers_json = (ctx.files_dir / "brokers.json").read_text(encoding="utf-8")
    assert API_KEY not in brokers_json and API_SECRET not in brokers_json
    files_without(workspace.root, API_SECRET, API_KEY)  # brokers.json, ui.ini, the log, all


def test_an_insecure_keychain_refuses_the_account_and_saves_nothing(
    page: BrokersPage, ctx: AppContext, aloop
) -> None:
    with installed(fail.Keyring()):
        dialog = page.add_account()
        add_zerodha(dialog)
        dialog.save()
        run_until(aloop, lambda: dialog.task is None and dialog.save_button.isEnabled())
        shown = dialog.problem.text() + " ".join(p.text() for p in dialog.problems.values())
        assert "only in the OS keychain" in shown and "Secret Service" in shown  # how to fix
        assert dialog.isVisible()  # still open: the trader can fix it and save again
    assert not (ctx.files_dir / "brokers.json").exists()
    assert page.model.rowCount() == 0


def test_a_wrong_field_is_refused_at_the_field_by_the_accounts_own_rule(
    page: BrokersPage, ctx: AppContext, memory_keyring: MemoryKeyring
) -> None:
    dialog = page.add_account()
    add_zerodha(dialog)
    dialog.port_edit.setText("80")
    assert dialog.redirect_text() == "—"
    dialog.save()
    problem = dialog.problems[dialog.port_edit]
    assert problem.isVisible() and "redirect port must be 1024-65535" in problem.text()
    dialog.port_edit.setText("5011")
    dialog.ips_edit.setText("49.36.12.8, not-an-ip")
    dialog.save()
    assert "not-an-ip" in dialog.problems[dialog.ips_edit].text()
    assert not memory_keyring.entries and not (ctx.files_dir / "brokers.json").exists()


def test_a_paper_account_needs_no_keychain_and_shows_no_secret_fields(
    page: BrokersPage, ctx: AppContext, aloop
) -> None:
    with installed(fail.Keyring()):
        dialog = page.add_account()
        dialog.kind_box.setCurrentIndex(dialog.kind_box.findData("paper"))
        assert dialog.id_edit.text() == "paper"
        assert not dialog.key_edit.isVisibleTo(dialog) and dialog.capital_edit.isVisibleTo(dialog)
        dialog.capital_edit.setText("5,00,000")
        done = closed(dialog)
        dialog.save()
        run_until(aloop, done)
    account = BrokerAccounts.load(ctx.files_dir).get("paper")
    assert str(account.paper_capital) == "500000"
    assert page.model.index(0, SESSION).data() == "no login needed"


def kite_hub(ctx: AppContext, fake: FakeKite) -> BrokerHub:
    def opener(account: BrokerAccount) -> KiteBroker:
        return KiteBroker(account, ctx.credentials, login_url=f"{fake.root}/connect/login")

    return BrokerHub(ctx.bus, opener)


@pytest.fixture
def kite_account(ctx: AppContext, fake_kite: FakeKite, memory_keyring: MemoryKeyring):
    """A Zerodha account on the fake Kite, its key and secret in the keychain, no session."""
    account = BrokerAccount(
        account_id="zerodha-main",
        kind=BrokerKind.ZERODHA,
        label="Main",
        api_root=fake_kite.root,
        redirect_port=free_port(),
    )
    accounts = BrokerAccounts(ctx.files_dir / "brokers.json")
    accounts.add(account)
    accounts.save()
    ctx.credentials.save(credential_id(account), "api_key", fake_kite.api_key)
    ctx.credentials.save(credential_id(account), "api_secret", fake_kite.api_secret)
    fake_kite.redirect_url = account.redirect_url
    ctx.brokers = kite_hub(ctx, fake_kite)
    return account


def browser(url: str) -> None:
    """The trader's browser: Kite's login page (logged in) redirects to Artha's listener."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        answer.read()


def test_log_in_through_the_browser_shows_the_session_and_its_expiry(
    ctx: AppContext,
    kite_account: BrokerAccount,
    fake_kite: FakeKite,
    memory_keyring: MemoryKeyring,
    qtbot,
    aloop,
    logged: Path,
    workspace: Workspace,
) -> None:
    page = BrokersPage(ctx, open_browser=browser)
    qtbot.addWidget(page)
    page.show()
    run_until(aloop, lambda: page.model.session_text(0) == "login needed")
    dialog = page.log_in()
    assert isinstance(dialog, LoginDialog)
    finished: list[str] = []
    page.finished.connect(finished.append)
    run_until(aloop, lambda: bool(finished), timeout=20)

    session = ctx.brokers.sessions["zerodha-main"]
    assert session.user_id == fake_kite.user_id
    expiry = when_text(session.expires_at, datetime.now(UTC))
    assert expiry.startswith("06:00 ")
    assert f"until {expiry}" in dialog.outcome.text() and "AB1234" in dialog.outcome.text()
    assert page.model.index(0, SESSION).data() == f"logged in, expires {expiry}"
    assert ctx.brokers.state("zerodha-main")[0] is ConnectionState.CONNECTED
    assert BrokerAccounts.load(ctx.files_dir).get("zerodha-main").user_id == "AB1234"
    token = json.loads(
        next(v for (_, user), v in memory_keyring.entries.items() if user.endswith("access_token"))
    )["token"]
    for handler in logging.getLogger().handlers:
        handler.flush()
    files_without(workspace.root, token, fake_kite.api_secret)


def test_a_pasted_redirect_url_finishes_the_login(
    ctx: AppContext, kite_account: BrokerAccount, fake_kite: FakeKite, qtbot, aloop
) -> None:
    opened: list[str] = []
    page = BrokersPage(ctx, open_browser=opened.append)  # a browser on another machine
    qtbot.addWidget(page)
    dialog = page.log_in()
    assert dialog is not None
    run_until(aloop, lambda: bool(opened) and dialog.reopen.isEnabled())
    assert opened[0].startswith(f"{fake_kite.root}/connect/login?api_key=")
    dialog.paste_edit.setText(f"{kite_account.redirect_url}?status=success")
    dialog.use_pasted()
    assert "no request_token" in dialog.outcome.text()  # refused by the parser, still waiting
    token = fake_kite.issue_request_token()
    dialog.paste_edit.setText(
        f"  {kite_account.redirect_url}?request_token={token}&action=login&status=success "
    )
    dialog.use_pasted()
    assert dialog.paste_edit.text() == ""  # a one-time token is not left on screen
    run_until(aloop, lambda: dialog.session is not None, timeout=20)
    assert dialog.session.user_id == "AB1234"


def test_cancel_stops_the_login_and_frees_the_port(
    ctx: AppContext, kite_account: BrokerAccount, qtbot, aloop
) -> None:
    page = BrokersPage(ctx, open_browser=lambda url: None)
    qtbot.addWidget(page)
    dialog = page.log_in()
    assert dialog is not None
    run_until(aloop, lambda: dialog.reopen.isEnabled())
    done = closed(dialog)
    dialog.cancel()
    run_until(aloop, done)
    run_until(aloop, lambda: _port_free(kite_account.redirect_port))
    assert "zerodha-main" not in ctx.brokers.sessions


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_test_connection_says_who_and_what_money_in_words(
    ctx: AppContext, kite_account: BrokerAccount, fake_kite: FakeKite, qtbot, aloop
) -> None:
    page = BrokersPage(ctx)
    qtbot.addWidget(page)
    finished: list[str] = []
    page.finished.connect(finished.append)
    page.test_connection()  # no session yet: says so, and what to do
    run_until(aloop, lambda: bool(finished))
    assert "Press Log in" in page.result_text()
    finished.clear()
    ctx.credentials.save_token(
        credential_id(kite_account),
        fake_kite.new_access_token(),
        datetime(2030, 1, 1, tzinfo=UTC),
    )
    page.test_connection()
    run_until(aloop, lambda: bool(finished))
    text = page.result_text()
    assert text.startswith("Connected to Zerodha Kite · Main as AB1234")
    assert "available" in text and "₹" in text


def paper_opener(ctx: AppContext) -> Callable[[BrokerAccount], PaperBroker]:
    def opener(account: BrokerAccount) -> PaperBroker:
        config = BacktestConfig(capital=account.paper_capital)
        return PaperBroker(ctx.workspace, account=account.account_id, config=config)

    return opener


def test_a_paper_account_connects_without_a_login(ctx: AppContext, qtbot, aloop) -> None:
    accounts = BrokerAccounts(ctx.files_dir / "brokers.json")
    accounts.add(BrokerAccount(account_id="paper", kind=BrokerKind.PAPER, label="Night"))
    accounts.save()
    ctx.brokers = BrokerHub(ctx.bus, paper_opener(ctx))
    page = BrokersPage(ctx)
    qtbot.addWidget(page)
    assert not page.login_button.isEnabled() and page.test_button.isEnabled()
    finished: list[str] = []
    page.finished.connect(finished.append)
    page.test_connection()
    run_until(aloop, lambda: bool(finished))
    assert page.result_text().startswith("Connected to Paper · Night")
    assert "₹10,00,000.00 available" in page.result_text()


def test_the_settings_dialog_opens_on_the_brokers_page(ctx: AppContext, qtbot) -> None:
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show_page("Brokers")
    assert dialog.stack.currentWidget() is dialog.brokers_page
    assert isinstance(dialog.brokers_page, BrokersPage)


def test_session_words() -> None:
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 08:30 IST
    account = BrokerAccount(account_id="z", kind=BrokerKind.ZERODHA)
    from app.gui.brokers_page import NO_KEYCHAIN, TokenState

    tomorrow = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)  # 06:00 IST
    assert session_text(account, TokenState(tomorrow), now) == "logged in, expires 06:00 tomorrow"
    assert session_text(account, TokenState(None), now) == "login needed"
    assert session_text(account, TokenState(problem=NO_KEYCHAIN), now) == "no keychain"
    earlier = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)
    assert session_text(account, TokenState(earlier), now) == "login needed (expired 06:00 today)"


ECHOED = {"/v4": "49.36.12.8", "/v6": "2401:4900:1c2a:3f::5"}


class _Echo(http.server.BaseHTTPRequestHandler):
    """The public "what is my IP" services' stand-in: answers with a fixed address."""

    def do_GET(self) -> None:
        body = ECHOED[self.path].encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("registered", "verdict"),
    [
        (("49.36.12.8",), "Order calls will come from 49.36.12.8, which is registered"),
        (("49.36.12.9",), "Order calls will be refused"),
    ],
)
def test_check_ip_compares_the_outbound_addresses_with_the_registered_ones(
    ctx: AppContext, qtbot, aloop, echo: str, registered: tuple[str, ...], verdict: str
) -> None:
    account = BrokerAccount(
        account_id="zerodha-main",
        kind=BrokerKind.ZERODHA,
        label="Main",
        registered_ips=registered,
        order_root="http://127.0.0.1:9",  # the order host, reached here over IPv4
    )
    accounts = BrokerAccounts(ctx.files_dir / "brokers.json")
    accounts.add(account)
    accounts.save()
    page = BrokersPage(ctx)
    qtbot.addWidget(page)
    page.ip_echo = (f"{echo}/v4", f"{echo}/v6")
    finished: list[str] = []
    page.finished.connect(finished.append)
    page.check_ip()
    assert page.busy_box.isVisibleTo(page) and page.cancel_button.isEnabled()
    run_until(aloop, lambda: bool(finished))
    text = page.result_text()
    assert text.startswith(verdict)
    assert "Outbound IPv4: 49.36.12.8" in text and "Outbound IPv6: 2401:4900:1c2a:3f::5" in text
    if "refused" in verdict:
        assert "What to do:" in text and "Register 49.36.12.8" in text


def test_a_paper_account_is_reset_from_the_page(ctx: AppContext, qtbot, aloop) -> None:
    accounts = BrokerAccounts(ctx.files_dir / "brokers.json")
    account = BrokerAccount(
        account_id="paper", kind=BrokerKind.PAPER, label="Night", paper_capital="250000"
    )
    accounts.add(account)
    accounts.save()
    ctx.brokers = BrokerHub(ctx.bus, paper_opener(ctx))
    page = BrokersPage(ctx)
    qtbot.addWidget(page)
    assert page.reset_button.isEnabled() and not page.ip_button.isEnabled()
    box = page.reset_paper()
    assert box is not None and "₹250,000" in box.text()
    finished: list[str] = []
    page.finished.connect(finished.append)
    box.accept()
    run_until(aloop, lambda: bool(finished))
    assert page.result_text().startswith("Paper · Night starts again with ₹250,000.")
    journals = sorted(p.name for p in (ctx.workspace.root / "paper").iterdir())
    assert "paper.jsonl" in journals and len(journals) == 2  # the old one kept beside
    funds = asyncio.run(PaperBroker(ctx.workspace, account="paper").funds())
    assert funds.cash == 250000
