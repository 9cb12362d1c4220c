"""The one-shot login listener with a real HTTP client playing the browser (issue 15 items 3/4).

Every test listens on a real port of 127.0.0.1; the "browser" is `http.client` (or a raw
socket) run from the listener's own `open_browser` hook, as the system browser would be."""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import threading
import time
from collections.abc import Callable

import pytest

from brokers import redaction
from brokers.login_listener import (
    LoginCancelled,
    LoginFailed,
    LoginListenerError,
    LoginTimeout,
    catch_redirect,
    new_state,
    parse_redirect_url,
    redirect_url,
)

KITE_PATH = "/artha/kite"
UPSTOX_PATH = "/artha/upstox"
LOGIN_PAGE = "https://kite.zerodha.com/connect/login?api_key=kk&v=3"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Nothing listens there any more: a new listener can bind it (as asyncio binds, with
    SO_REUSEADDR on POSIX, so the closed connections' TIME_WAIT does not count)."""
    with socket.socket() as probe:
        if os.name == "posix":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Browser:
    """Plays the system browser: when "opened", it requests each target in turn."""

    def __init__(self, port: int, targets: list[str]) -> None:
        self.port = port
        self.targets = targets
        self.opened: list[str] = []
        self.pages: list[tuple[int, str]] = []
        self.done = threading.Event()

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        try:
            for target in self.targets:
                self.pages.append(get(self.port, target))
        finally:
            self.done.set()
        return True

    def statuses(self) -> list[int]:
        """The pages' statuses, once the browser has read the last one (the listener may
        return before the browser's thread has finished reading)."""
        assert self.done.wait(5)
        return [status for status, _ in self.pages]


def get(port: int, target: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", target, headers={"User-Agent": "Mozilla/5.0 (test)"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        connection.close()


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(data)
        chunks = []
        while chunk := client.recv(4096):
            chunks.append(chunk)
        return b"".join(chunks)


def run(**kwargs: object) -> dict[str, str]:
    return asyncio.run(catch_redirect(**kwargs))  # type: ignore[arg-type]


def later(delay: float, action: Callable[[], object]) -> threading.Thread:
    def go() -> None:
        time.sleep(delay)
        action()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


# --- catching the redirect -----------------------------------------------------------------------


def test_a_kite_redirect_is_caught_after_the_favicon_and_the_port_closed():
    port = free_port()
    token = f"rt{time.monotonic_ns()}xyz"
    redirect = f"{KITE_PATH}?request_token={token}&action=login&type=login&status=success"
    browser = Browser(port, ["/favicon.ico", "/", redirect])
    params = run(
        port=port,
        path=KITE_PATH,
        expected_state=None,
        timeout=10,
        open_url=LOGIN_PAGE,
        require=("request_token",),
        open_browser=browser,
    )
    assert params == {
        "request_token": token,
        "action": "login",
        "type": "login",
        "status": "success",
    }
    assert browser.opened == [LOGIN_PAGE]
    assert browser.statuses() == [404, 404, 200]
    assert "Login received, you can close this tab and return to Artha" in browser.pages[2][1]
    assert port_is_free(port)
    assert redaction.is_remembered(token)


def test_an_upstox_redirect_with_a_wrong_state_is_refused_and_the_right_one_accepted():
    port = free_port()
    state = new_state()
    browser = Browser(
        port,
        [
            f"{UPSTOX_PATH}?code=stale123456&state={new_state()}",  # an old tab
            f"{UPSTOX_PATH}?code=nostate1234",
            f"{UPSTOX_PATH}?state={state}",  # no code
            f"{UPSTOX_PATH}?code=good654321&state={state}",
        ],
    )
    params = run(
        port=port,
        path=UPSTOX_PATH,
        expected_state=state,
        timeout=10,
        open_url="https://api.upstox.com/v2/login/authorization/dialog?response_type=code",
        require=("code",),
        open_browser=browser,
    )
    assert params == {"code": "good654321", "state": state}
    assert browser.statuses() == [400, 400, 400, 200]
    assert "not started by this Artha window" in browser.pages[0][1]
    assert "The redirect has no code" in browser.pages[2][1]
    assert port_is_free(port)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("status=error&message=Invalid+api_key", "Invalid api_key"),
        (
            "error=access_denied&error_description=User+denied+access&state={state}",
            "User denied access; access_denied",
        ),
    ],
)
def test_a_broker_error_fails_the_login_with_its_message(query, reason):
    port = free_port()
    state = new_state()
    browser = Browser(port, [f"{KITE_PATH}?{query.format(state=state)}"])
    with pytest.raises(LoginFailed, match=f"the broker reported that the login failed: {reason}"):
        run(
            port=port,
            path=KITE_PATH,
            expected_state=state if "state" in query else None,
            timeout=10,
            open_url=LOGIN_PAGE,
            open_browser=browser,
        )
    assert browser.statuses() == [200]
    assert "Login failed" in browser.pages[0][1]
    assert port_is_free(port)


def test_no_redirect_times_out_naming_the_url_and_closes_the_port():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(LoginTimeout) as info:
        run(port=port, path=KITE_PATH, expected_state=None, timeout=0.4, open_url=None)
    assert 0.35 < time.monotonic() - started < 3
    message = str(info.value)
    assert f"no login redirect reached http://127.0.0.1:{port}{KITE_PATH} within 0.4 s" in message
    assert "registered with the broker is exactly" in message
    assert "paste the address" in message
    assert port_is_free(port)


def test_an_https_attempt_is_named_in_the_timeout_message():
    port = free_port()

    def tls_browser(url: str) -> bool:
        raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's start
        return True

    with pytest.raises(LoginTimeout, match=r"tried https://.*\(http, not https\)"):
        run(
            port=port,
            path=KITE_PATH,
            expected_state=None,
            timeout=1,
            open_url=LOGIN_PAGE,
            open_browser=tls_browser,
        )


def test_a_port_in_use_is_named_with_where_to_change_it():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(LoginListenerError) as info:
            run(port=port, path=KITE_PATH, expected_state=None, timeout=5, open_url=LOGIN_PAGE)
    message = str(info.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "Settings ▸ Brokers" in message
    assert (
        f"redirect URL registered with the broker must then be changed to match (now "
        f"http://127.0.0.1:{port}{KITE_PATH})" in message
    )


def test_cancel_stops_the_wait_and_closes_the_port():
    port = free_port()
    asked = threading.Event()
    later(0.3, asked.set)
    started = time.monotonic()
    with pytest.raises(LoginCancelled, match="login cancelled"):
        run(
            port=port,
            path=KITE_PATH,
            expected_state=None,
            timeout=30,
            open_url=None,
            cancelled=asked.is_set,
        )
    assert time.monotonic() - started < 2
    assert port_is_free(port)


def test_cancelling_the_task_closes_the_port():
    port = free_port()

    async def scenario() -> None:
        task = asyncio.create_task(
            catch_redirect(
                port=port, path=KITE_PATH, expected_state=None, timeout=30, open_url=None
            )
        )
        await asyncio.sleep(0.2)
        assert not port_is_free(port)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert port_is_free(port)


def test_silent_and_malformed_connections_do_not_block_the_real_redirect():
    """Browsers open idle pre-connections; other programs may send junk or POST."""
    port = free_port()
    results: dict[str, bytes] = {}

    def browser(url: str) -> bool:
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)  # says nothing
        results["junk"] = raw(port, b"HELLO\r\n\r\n")
        results["post"] = raw(port, f"POST {KITE_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        results["ok"] = raw(
            port,
            f"GET {KITE_PATH}?request_token=abc123456 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
        )
        idle.close()
        return False  # "no browser could be opened": the wait goes on regardless

    params = run(
        port=port,
        path=KITE_PATH,
        expected_state=None,
        timeout=10,
        open_url=LOGIN_PAGE,
        open_browser=browser,
    )
    assert params == {"request_token": "abc123456"}
    assert results["junk"].startswith(b"HTTP/1.1 400 ")
    assert results["post"].startswith(b"HTTP/1.1 405 ")
    assert results["ok"].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Referrer-Policy: no-referrer" in results["ok"]


def test_a_browser_that_cannot_be_opened_leaves_the_wait_on():
    port = free_port()

    def broken(url: str) -> bool:
        later(0.2, lambda: get(port, f"{KITE_PATH}?request_token=late123456"))
        raise RuntimeError("could not locate runnable browser")

    params = run(
        port=port,
        path=KITE_PATH,
        expected_state=None,
        timeout=10,
        open_url=LOGIN_PAGE,
        open_browser=broken,
    )
    assert params == {"request_token": "late123456"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"host": "0.0.0.0"}, "only this computer's loopback address"),
        ({"host": "192.168.1.5"}, "only this computer's loopback address"),
        ({"port": 0}, "port 0: must be a whole number 1-65535"),
        ({"port": 70000}, "must be a whole number 1-65535"),
        ({"path": "artha"}, "must start with '/'"),
        ({"path": "/a?b=1"}, "hold no '\\?'"),
        ({"timeout": 0}, "timeout must be positive"),
    ],
)
def test_bad_listener_settings_are_refused_clearly(kwargs, message):
    settings = {
        "port": 5000,
        "path": KITE_PATH,
        "expected_state": None,
        "timeout": 5,
        "open_url": None,
    }
    settings.update(kwargs)
    with pytest.raises(ValueError, match=message):
        run(**settings)


# --- the URL to register, the state, the paste fallback ------------------------------------------


def test_redirect_url_and_state():
    assert redirect_url("127.0.0.1", 5000, "/artha/kite") == "http://127.0.0.1:5000/artha/kite"
    assert redirect_url("::1", 5000, "/cb") == "http://[::1]:5000/cb"
    states = {new_state() for _ in range(50)}
    assert len(states) == 50
    assert all(len(state) >= 40 and state.isascii() for state in states)


KITE_PASTED = (
    "http://127.0.0.1:5000/artha/kite?request_token=h4AbCdEfGh1234567890ijkl"
    "&action=login&type=login&status=success"
)


@pytest.mark.parametrize(
    "pasted",
    [
        KITE_PASTED,
        f'  "{KITE_PASTED}"\n',
        f"<{KITE_PASTED}>",
        KITE_PASTED.replace("&action", " &action").replace("&status", "\n&status"),
        KITE_PASTED.removeprefix("http://"),
        KITE_PASTED.replace("127.0.0.1", "localhost"),
    ],
)
def test_a_pasted_kite_redirect_is_read(pasted):
    params = parse_redirect_url(
        pasted, expected_path=KITE_PATH, expected_host="127.0.0.1", require=("request_token",)
    )
    assert params == {
        "request_token": "h4AbCdEfGh1234567890ijkl",
        "action": "login",
        "type": "login",
        "status": "success",
    }
    assert redaction.is_remembered("h4AbCdEfGh1234567890ijkl")


def test_a_pasted_upstox_redirect_is_read_and_its_state_checked():
    state = new_state()
    pasted = f"http://127.0.0.1:5000/artha/upstox?code=UpX9k2&state={state}"
    assert parse_redirect_url(pasted, expected_path=UPSTOX_PATH, expected_state=state) == {
        "code": "UpX9k2",
        "state": state,
    }
    with pytest.raises(LoginListenerError, match="state does not match"):
        parse_redirect_url(pasted, expected_path=UPSTOX_PATH, expected_state=new_state())


@pytest.mark.parametrize(
    ("pasted", "error", "message"),
    [
        (
            "http://127.0.0.1:5000/other?request_token=abc123456",
            LoginListenerError,
            "has the path '/other', not '/artha/kite'",
        ),
        (
            "https://example.com/artha/kite?request_token=abc123456",
            LoginListenerError,
            "on host 'example.com', not '127.0.0.1'",
        ),
        ("http://127.0.0.1:5000/artha/kite", LoginListenerError, "has no '\\?...' part"),
        ("   ", LoginListenerError, "is empty"),
        (
            "http://127.0.0.1:5000/artha/kite?status=error&message=Token+is+invalid",
            LoginFailed,
            "the login failed: Token is invalid",
        ),
        (
            "http://127.0.0.1:5000/artha/kite?action=login&status=success",
            LoginListenerError,
            "The redirect has no request_token",
        ),
    ],
)
def test_a_wrong_paste_is_refused_saying_why(pasted, error, message):
    with pytest.raises(error, match=message):
        parse_redirect_url(
            pasted, expected_path=KITE_PATH, expected_host="127.0.0.1", require=("request_token",)
        )


def test_the_listener_runs_on_the_apps_qasync_loop(aloop):
    """The app runs it on qasync's loop over Qt's: same sockets, same executor hook."""
    port = free_port()
    browser = Browser(port, ["/favicon.ico", f"{KITE_PATH}?request_token=qasync12345"])
    params = aloop.run_until_complete(
        catch_redirect(
            port=port,
            path=KITE_PATH,
            expected_state=None,
            timeout=10,
            open_url=LOGIN_PAGE,
            open_browser=browser,
        )
    )
    assert params == {"request_token": "qasync12345"}
    assert browser.statuses() == [404, 200]
    assert port_is_free(port)
