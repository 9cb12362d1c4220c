"""Kite's browser login end to end: the test plays the browser against the fake Kite's login
page, which redirects to our one-shot listener on 127.0.0.1; the REAL kiteconnect client
exchanges the request token; the access token lands in the (memory) keychain and nowhere
else: not in the workspace's files, not in its log, not in an error's text."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from brokers import redaction
from brokers.login_listener import catch_redirect, new_state, parse_redirect_url
from brokers.zerodha import KiteBroker
from engine.broker.errors import AuthError, BrokerError, TokenExpired
from engine.broker.models import ConnectionState
from engine.ist import IST
from engine.workspace import Workspace
from tests.brokers.test_kite_broker import CREDENTIAL_ID, Recorder, make_broker, make_order, run
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_server import FakeKite
from tests.fakes.memory_keyring import MemoryKeyring

fake_kite = kite_server.fake_kite  # fixtures, assigned (not imported) for ruff's F811
fake_kite_factory = kite_server.fake_kite_factory
memory_keyring = fake_keyring.memory_keyring

PATH = "/artha/kite"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def browser(url: str) -> None:
    """The trader's browser: opens Kite's login page, which (logged in) redirects to us."""
    with urllib.request.urlopen(url, timeout=5) as page:
        page.read()


async def browser_login(broker: KiteBroker, fake: FakeKite) -> dict[str, str]:
    """Start the login as the app does: listener up, browser at the login URL."""
    port = free_port()
    fake.redirect_url = f"http://127.0.0.1:{port}{PATH}"
    flow = broker.login_flow()
    params = await catch_redirect(
        port=port,
        path=PATH,
        expected_state=new_state() if flow.echoes_state else None,
        timeout=10,
        open_url=flow.url(new_state()),
        require=flow.required_params,
        open_browser=browser,
    )
    await flow.complete(params)
    return params


def stored_token(keyring: MemoryKeyring) -> dict[str, str]:
    (entry,) = [v for (_, user), v in keyring.entries.items() if user.endswith("/access_token")]
    parsed: dict[str, str] = json.loads(entry)
    return parsed


@pytest.fixture
def logged_out(fake_kite: FakeKite, memory_keyring: MemoryKeyring) -> KiteBroker:
    return make_broker(fake_kite, logged_in=False)


def test_the_login_url_is_kites_page_with_the_state_in_redirect_params(
    fake_kite: FakeKite, logged_out: KiteBroker
) -> None:
    flow = logged_out.login_flow()
    assert flow.required_params == ("request_token",) and flow.echoes_state is False
    url = flow.url("st4te-abc")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{fake_kite.root}/connect/login"
    query = parse_qs(parts.query)
    assert query["api_key"] == [fake_kite.api_key] and query["v"] == ["3"]
    assert query["redirect_params"] == ["state=st4te-abc"]
    production = KiteBroker(replace(logged_out.account, api_root=""), logged_out.credentials)
    assert production.login_flow().url("s").startswith("https://kite.zerodha.com/connect/login?")


def test_browser_login_end_to_end_stores_the_token_only_in_the_keychain(
    fake_kite: FakeKite,
    logged_out: KiteBroker,
    memory_keyring: MemoryKeyring,
    workspace: Workspace,
) -> None:
    from app.logging_setup import configure_logging

    root = logging.getLogger()
    level = root.level
    configure_logging(workspace, logging.DEBUG)
    redaction.install_everywhere()
    recorder = Recorder()
    logged_out.set_listener(recorder)
    errors: list[str] = []
    try:
        with pytest.raises(TokenExpired):
            run(logged_out.connect())
        params = run(browser_login(logged_out, fake_kite))
        assert params["status"] == "success" and params["request_token"]
        assert logged_out.state is ConnectionState.CONNECTED
        assert logged_out.session is not None and logged_out.session.user_id == "AB1234"

        token = stored_token(memory_keyring)["token"]
        assert fake_kite.state.token_valid(token)
        run(logged_out.place(make_order("login-1")))
        info = run(logged_out.connect())  # a restart: the keychain's token is used
        assert info.user_id == "AB1234"
        placed = fake_kite.order_placements()[-1]
        assert placed.headers["Authorization"] == f"token {fake_kite.api_key}:{token}"

        fake_kite.expire_tokens()
        try:
            run(logged_out.orders())
        except BrokerError as error:
            errors.append(str(error))
            logging.getLogger("artha.test").exception("orders failed")
        run(browser_login(logged_out, fake_kite))
        run(logged_out.logout())  # DELETE /session/token?api_key=..&access_token=..
        logging.getLogger("artha.test").debug("session ended for token %s", token)
    finally:
        redaction.uninstall_everywhere()
        for handler in root.handlers:
            handler.flush()
        root.setLevel(level)

    secrets = [token, fake_kite.api_secret, params["request_token"]]
    log_text = (workspace.logs_dir / "artha.log").read_text(encoding="utf-8")
    assert "/session/token" in log_text  # urllib3's debug lines are there, masked
    for path in Path(workspace.root).rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            for secret in secrets:
                assert secret not in text, f"a secret reached {path}"
    for text in errors:
        for secret in secrets:
            assert secret not in text
    assert recorder.state_names.count(ConnectionState.LOGIN_REQUIRED) == 2


@pytest.mark.parametrize(
    ("clock", "expiry"),
    [
        (datetime(2026, 12, 7, 5, 30, tzinfo=IST), datetime(2026, 12, 7, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 7, 9, 15, tzinfo=IST), datetime(2026, 12, 8, 6, 0, tzinfo=IST)),
    ],
)
def test_the_token_expires_at_the_next_0600_ist_after_login(
    fake_kite_factory: Callable[..., FakeKite],
    memory_keyring: MemoryKeyring,
    clock: datetime,
    expiry: datetime,
) -> None:
    fake = fake_kite_factory(clock=lambda: clock)
    broker = make_broker(fake, logged_in=False)
    info = run(
        broker.login_flow().complete(
            {"request_token": fake.issue_request_token(), "status": "success"}
        )
    )
    assert info.expires_at == expiry
    assert datetime.fromisoformat(stored_token(memory_keyring)["expires_at"]) == expiry


def test_a_pasted_redirect_url_completes_the_login(
    fake_kite: FakeKite, logged_out: KiteBroker
) -> None:
    token = fake_kite.issue_request_token()
    pasted = (
        f"  http://127.0.0.1:5010{PATH}?request_token={token}&action=login&type=login"
        "&status=success&state=abc "
    )
    flow = logged_out.login_flow()
    flow.url("abc")
    params = parse_redirect_url(pasted, expected_path=PATH, require=flow.required_params)
    info = run(flow.complete(params))
    assert info.user_id == "AB1234" and logged_out.state is ConnectionState.CONNECTED


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "error", "message": "User cancelled"}, "did not succeed.*User cancelled"),
        ({"status": "success"}, "has no request_token"),
        ({"status": "success", "request_token": "x" * 32, "state": "old"}, "earlier login"),
        ({"status": "success", "request_token": "y" * 32}, "Kite refused the login"),
    ],
)
def test_failed_or_stale_logins_are_auth_errors_and_store_nothing(
    logged_out: KiteBroker,
    memory_keyring: MemoryKeyring,
    params: dict[str, str],
    message: str,
) -> None:
    flow = logged_out.login_flow()
    flow.url("new")
    with pytest.raises(AuthError, match=message) as caught:
        run(flow.complete(params))
    assert "y" * 32 not in str(caught.value)
    assert not any(user.endswith("/access_token") for _, user in memory_keyring.entries)
    assert logged_out.state is not ConnectionState.CONNECTED


def test_a_request_token_works_once(fake_kite: FakeKite, logged_out: KiteBroker) -> None:
    params = {"request_token": fake_kite.issue_request_token(), "status": "success"}
    run(logged_out.login_flow().complete(params))
    with pytest.raises(AuthError, match="works once"):
        run(logged_out.login_flow().complete(params))


def test_no_api_secret_stored_says_where_to_add_it(
    fake_kite: FakeKite, logged_out: KiteBroker, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.entries = {
        k: v for k, v in memory_keyring.entries.items() if not k[1].endswith("/api_secret")
    }
    with pytest.raises(AuthError, match="no API secret is stored for zerodha-main"):
        run(
            logged_out.login_flow().complete(
                {"request_token": fake_kite.issue_request_token(), "status": "success"}
            )
        )
    assert fake_kite.requests_to("POST /session/token") == []


def test_keychain_is_the_account_scoped_entry(
    memory_keyring: MemoryKeyring, fake_kite: FakeKite
) -> None:
    broker = make_broker(fake_kite)
    assert broker.credential_id == CREDENTIAL_ID == "zerodha/zerodha-main"
    users = {user for _, user in memory_keyring.entries}
    assert users == {f"{CREDENTIAL_ID}/api_key", f"{CREDENTIAL_ID}/api_secret",
                     f"{CREDENTIAL_ID}/access_token"}  # fmt: skip
    assert datetime.fromisoformat(stored_token(memory_keyring)["expires_at"]) > datetime.now(UTC)


def test_a_login_as_another_zerodha_user_is_refused(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    broker = make_broker(fake_kite, logged_in=False, account={"user_id": "ZZ9999"})
    params = {"request_token": fake_kite.issue_request_token(), "status": "success"}
    with pytest.raises(AuthError, match="logged in to Zerodha as AB1234, but zerodha-main is"):
        run(broker.login_flow().complete(params))
    assert not any(user.endswith("/access_token") for _, user in memory_keyring.entries)
    mismatched = make_broker(fake_kite, account={"user_id": "ZZ9999"})
    with pytest.raises(AuthError, match="session is for AB1234"):
        run(mismatched.connect())
    assert mismatched.state is ConnectionState.DISCONNECTED
