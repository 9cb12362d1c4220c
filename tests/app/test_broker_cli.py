"""`artha broker` as a trader runs it: separate processes, the secret typed at a hidden prompt
(here: standard input), the keychain shared between them (a test stand-in for the OS one),
the REAL kiteconnect client inside `artha` talking to the fake Kite on 127.0.0.1, the test
playing the browser on the login redirect."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes import kite_server
from tests.fakes.kite_server import FakeKite
from tests.fakes.process_keyring import ENV as KEYCHAIN_ENV

REPO = Path(__file__).resolve().parents[2]
fake_kite = kite_server.fake_kite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(home: Path, keychain: Path, backend: str | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "ARTHA_HOME": str(home),
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": backend or "tests.fakes.process_keyring.ProcessKeyring",
        KEYCHAIN_ENV: str(keychain),
    }


def artha(
    *args: str, home: Path, keychain: Path, stdin: str = "", backend: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env_for(home, keychain, backend),
        cwd=REPO,
        timeout=120,
    )


def everything_written(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_a_paper_account_needs_no_keychain_secret_and_reports_its_money(tmp_path: Path):
    home, keychain = tmp_path / "ws", tmp_path / "keychain.json"
    added = artha("broker", "add", "paper", "--capital", "250000", home=home, keychain=keychain)
    assert added.returncode == 0, added.stderr
    assert "Added paper (Paper)" in added.stdout
    listed = artha("broker", "list", "--json", "-", home=home, keychain=keychain)
    assert json.loads(listed.stdout)["accounts"][0]["session"] == "no login needed"
    status = artha("broker", "status", "paper", "--json", "-", home=home, keychain=keychain)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["funds"]["available"] == "250000.00" or report["funds"]["cash"] == "250000"
    assert not keychain.exists()


def test_zerodha_add_login_status_logout_with_secrets_only_in_the_keychain(
    tmp_path: Path, fake_kite: FakeKite
):
    home, keychain = tmp_path / "ws", tmp_path / "keychain.json"
    port = free_port()
    added = artha(
        "broker", "add", "zerodha", "--label", "Main", "--api-key", fake_kite.api_key,
        "--redirect-port", str(port), "--api-root", fake_kite.root,
        "--stream-root", fake_kite.ws_root,
        stdin=fake_kite.api_secret + "\n", home=home, keychain=keychain,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert f"http://127.0.0.1:{port}/artha/login" in added.stdout
    assert "artha broker login zerodha" in added.stdout

    # Log in: artha prints the login page's URL, the test is the browser that Kite redirects.
    login = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "broker",
            "login",
            "zerodha",
            "--no-browser",
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(home, keychain),
        cwd=REPO,
    )
    assert login.stdout is not None
    url = ""
    for line in login.stdout:
        if "/connect/login?" in line:
            url = line.strip()
            break
    query = parse_qs(urlsplit(url).query)
    assert query["api_key"] == [fake_kite.api_key]
    state = parse_qs(query["redirect_params"][0])["state"][0]
    token = fake_kite.issue_request_token()
    redirect = (
        f"http://127.0.0.1:{port}/artha/login?request_token={token}&action=login"
        f"&type=login&status=success&state={state}"
    )
    with urllib.request.urlopen(redirect, timeout=10) as page:
        assert b"Login received" in page.read()
    out, err = login.communicate(timeout=60)
    assert login.returncode == 0, err
    assert f"as {fake_kite.user_id}" in out or fake_kite.user_id in out
    assert "logged in until 06:00 IST" in out

    status = artha("broker", "status", "zerodha", "--json", "-", home=home, keychain=keychain)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["user_id"] == fake_kite.user_id
    dump = artha("broker", "instruments", "zerodha", "--exchange", "NSE", home=home,
                 keychain=keychain)  # fmt: skip
    assert dump.returncode == 0, dump.stderr
    assert re.search(r"Stored \d+ instruments of Zerodha Kite \(NSE\): \d+ new", dump.stdout)
    from engine.data.store import MarketStore

    with MarketStore.open(home / "artha.duckdb", read_only=True) as store:
        assert store.instrument("INFY", "NSE").token == 408065  # Kite's own token
    listed = artha("broker", "list", home=home, keychain=keychain)
    assert re.search(
        r"zerodha \(Main\): Zerodha Kite · \w+ · logged in until 06:00 IST", listed.stdout
    )

    secrets = [fake_kite.api_secret, token]
    stored = json.loads(keychain.read_text())
    access = [json.loads(v)["token"] for k, v in stored.items() if k.endswith("access_token")]
    assert access, stored.keys()
    secrets += access
    written = everything_written(home)
    for secret in secrets:
        assert secret.encode() not in written, "a secret reached the workspace"
        for result in (added, status, listed, dump):
            assert secret not in result.stdout + result.stderr
        assert secret not in out + err

    logout = artha("broker", "logout", "zerodha", home=home, keychain=keychain)
    assert logout.returncode == 0, logout.stderr
    again = artha("broker", "status", "zerodha", home=home, keychain=keychain)
    assert again.returncode == 2
    assert "log in again" in again.stderr and "Traceback" not in again.stderr


def test_no_secure_keychain_means_nothing_is_saved(tmp_path: Path):
    home, keychain = tmp_path / "ws", tmp_path / "keychain.json"
    refused = artha(
        "broker", "add", "zerodha", "--api-key", "abcdef123456", stdin="topsecret99\n",
        home=home, keychain=keychain, backend="keyring.backends.fail.Keyring",
    )  # fmt: skip
    assert refused.returncode == 2
    assert "keyring" in refused.stderr.lower() or "keychain" in refused.stderr.lower()
    assert "Traceback" not in refused.stderr and "topsecret99" not in refused.stderr
    assert not (home / "settings" / "brokers.json").exists()
    assert b"topsecret99" not in everything_written(home)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("broker", "login", "kite"), "no broker account 'kite'"),
        (("broker", "add", "zerodha", "--id", "Main Account"), "account id 'Main Account'"),
        (("broker", "add", "zerodha"), "argument --api-key"),
        (("broker", "add", "paper", "--ip", "1.2.3"), "registered IP '1.2.3'"),
    ],
)
def test_bad_input_is_named_without_a_traceback(tmp_path: Path, args, message):
    result = artha(*args, home=tmp_path / "ws", keychain=tmp_path / "k.json")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
