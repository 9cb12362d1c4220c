"""`artha broker` with an Upstox account as a trader runs it: separate processes, the secret
on standard input (a hidden prompt on a terminal), the process-shared test keychain, OUR
Upstox client inside `artha` talking to the fake Upstox on 127.0.0.1, and the test playing
the browser on the login redirect (Upstox echoes our `state`, and the redirect carries a
one-time `code`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.app.test_broker_cli import REPO, artha, env_for, everything_written, free_port
from tests.fakes.upstox_server import FakeUpstox

REDIRECT_PATH = "/artha/login"  # the CLI's default


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def fake(port: int) -> Iterator[FakeUpstox]:
    """The fake Upstox, with the app's redirect URL registered as the account's will be."""
    with FakeUpstox(redirect_uri=f"http://127.0.0.1:{port}{REDIRECT_PATH}") as f:
        yield f


def test_upstox_add_login_status_list_logout_with_secrets_only_in_the_keychain(
    tmp_path: Path, fake: FakeUpstox, port: int
):
    home, keychain = tmp_path / "ws", tmp_path / "keychain.json"
    added = artha(
        "broker", "add", "upstox", "--label", "Main", "--api-key", fake.client_id,
        "--redirect-port", str(port), "--api-root", fake.api_url,
        "--order-root", fake.order_url, "--stream-root", f"ws://127.0.0.1:{fake.ws_port}",
        "--algo-name", "Artha test",
        stdin=fake.client_secret + "\n", home=home, keychain=keychain,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "Added upstox (Upstox)" in added.stdout
    assert f"http://127.0.0.1:{port}{REDIRECT_PATH}" in added.stdout
    assert "artha broker login upstox" in added.stdout

    # Log in: artha prints Upstox's login page; the test is the browser Upstox redirects.
    login = subprocess.Popen(
        [sys.executable, "-m", "app", "broker", "login", "upstox", "--no-browser",
         "--timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env_for(home, keychain), cwd=REPO,
    )  # fmt: skip
    assert login.stdout is not None
    url = ""
    for line in login.stdout:
        if "/v2/login/authorization/dialog?" in line:
            url = line.strip()
            break
    assert url.startswith(fake.api_url), url
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [fake.client_id] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"http://127.0.0.1:{port}{REDIRECT_PATH}"]
    state = query["state"][0]
    code = fake.issue_code()
    redirect = f"http://127.0.0.1:{port}{REDIRECT_PATH}?" + urlencode(
        {"code": code, "state": state}
    )
    with urllib.request.urlopen(redirect, timeout=10) as page:
        assert b"Login received" in page.read()
    out, err = login.communicate(timeout=60)
    assert login.returncode == 0, err
    assert "Logged in to Upstox as Test Trader (AB1234)" in out
    assert "logged in until 03:30 IST" in out
    exchange = fake.requests_to("/v2/login/authorization/token")
    assert len(exchange) == 1 and exchange[0].form()["code"] == code

    status = artha("broker", "status", "upstox", "--json", "-", home=home, keychain=keychain)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["account"] == "upstox" and report["broker"] == "upstox"
    assert report["user_id"] == "AB1234" and report["user_name"] == "Test Trader"
    assert report["funds"] == {"available": "98749.5", "used_margin": "1250.5", "cash": "100000.0"}
    assert report["orders_today"] == 0 and report["open_positions"] == 0
    # connecting started the order-update stream too (a fresh one-time URL), and closed it
    assert fake.requests_to("/v2/feed/portfolio-stream-feed/authorize")
    assert fake.portfolio_connection_count == 0

    listed = artha("broker", "list", home=home, keychain=keychain)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"upstox \(Main\): Upstox · AB1234 · logged in until 03:30 IST", listed.stdout)

    stored = json.loads(keychain.read_text())
    access = [json.loads(v)["token"] for k, v in stored.items() if k.endswith("access_token")]
    assert access and all(a.startswith("tok-") for a in access), stored.keys()
    secrets = [fake.client_secret, code, *access]
    written = everything_written(home)
    for secret in secrets:
        assert secret.encode() not in written, "a secret reached the workspace"
        for result in (added, status, listed):
            assert secret not in result.stdout + result.stderr
        assert secret not in out + err

    logout = artha("broker", "logout", "upstox", home=home, keychain=keychain)
    assert logout.returncode == 0, logout.stderr
    assert "ended at the broker" in logout.stdout
    assert [r.method for r in fake.requests_to("/v2/logout")] == ["DELETE"]
    for secret in secrets:
        assert secret not in logout.stdout + logout.stderr
    again = artha("broker", "status", "upstox", home=home, keychain=keychain)
    assert again.returncode == 2
    assert "Upstox" in again.stderr and "Traceback" not in again.stderr
    assert not any(k.endswith("access_token") for k in json.loads(keychain.read_text()))
