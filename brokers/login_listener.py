"""Catch a broker's login redirect on a one-shot HTTP listener on 127.0.0.1, as desktop apps do.

The broker's login page runs in the system browser (automating its form is against the
brokers' rules); after the trader logs in, the broker redirects the browser to the redirect
URL registered for the API key, e.g. http://127.0.0.1:5000/artha/kite?request_token=...
`catch_redirect` listens there for that one request and returns its query parameters. When
the listener cannot be used (the port is taken, another machine's browser), the trader pastes
the address the browser ended on, and `parse_redirect_url` reads it the same way.

Kite returns `request_token`, `status=success` (and whatever the login URL carried in
`redirect_params`, so `redirect_params=state%3D<state>` gives Kite a state too); Upstox
(OAuth2 code flow) returns `code` and the `state` we sent, which is checked. A mismatched
state is a forged request or a stale tab from an earlier attempt: it gets an error page, is
never accepted, and the listener keeps waiting for the real redirect (failing on it would let
any local page cancel a login).
No request's query string is logged; the token-like values returned are registered with
`redaction`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import html
import ipaddress
import logging
import secrets
import time
import webbrowser
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from brokers import redaction

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SECRET_PARAMS = ("request_token", "code", "access_token")
_MAX_HEADER_BYTES = 16_384
_READ_TIMEOUT = 10.0  # a browser's idle pre-connection is dropped after this
_POLL = 0.1  # how often `cancelled` is asked


class LoginListenerError(Exception):
    """The redirect could not be caught or read; the message says what to do."""


class LoginFailed(LoginListenerError):
    """The broker redirected with an error (status=error, error=...): its message is included."""


class LoginTimeout(LoginListenerError):
    """No redirect arrived in time."""


class LoginCancelled(LoginListenerError):
    """The trader cancelled the login."""


def new_state() -> str:
    """A fresh random OAuth `state` (URL-safe, 256 bits) for one login attempt."""
    return secrets.token_urlsafe(32)


def redirect_url(host: str, port: int, path: str) -> str:
    """The URL to register with the broker, e.g. http://127.0.0.1:5000/artha/kite."""
    _check_endpoint(host, port, path)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


def parse_redirect_url(
    url: str,
    *,
    expected_path: str,
    expected_state: str | None = None,
    expected_host: str | None = None,
    require: Collection[str] = (),
) -> dict[str, str]:
    """The query parameters of a redirect URL pasted from the browser's address bar.

    Tolerates surrounding blanks, quotes, angle brackets and a missing http://; refuses another
    path (or host, when `expected_host` is given), a broker error, a wrong state and missing
    required parameters, each with a message saying which."""
    if not isinstance(url, str):
        raise LoginListenerError("the redirect URL must be text")
    text = "".join(url.split()).strip("'\"<>")
    if not text:
        raise LoginListenerError("the pasted redirect URL is empty")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if not parts.query:
        raise LoginListenerError(
            "the pasted address has no '?...' part; after logging in, copy the whole address "
            "from the browser's address bar (it holds the login's token)"
        )
    host = parts.hostname or ""
    if expected_host is not None and not _same_host(host, expected_host):
        raise LoginListenerError(
            f"the pasted address is on host {host!r}, not {expected_host!r}; paste the address "
            "the broker redirected to after the login"
        )
    path = parts.path or "/"
    if path.rstrip("/") != expected_path.rstrip("/"):
        raise LoginListenerError(
            f"the pasted address has the path {path!r}, not {expected_path!r}; paste the "
            "address the broker redirected to after the login"
        )
    params = _query(parts.query)
    failure = broker_error(params)
    if failure is not None:
        raise LoginFailed(failure)
    problem = _state_problem(params, expected_state) or _missing(params, require)
    if problem is not None:
        raise LoginListenerError(problem)
    return _remembered(params)


def broker_error(params: dict[str, str]) -> str | None:
    """The broker's reason when redirect parameters say the login failed, else None."""
    status = params.get("status", "").lower()
    if not params.get("error") and status in ("", "success"):
        return None
    details = [
        params.get(name, "").strip()
        for name in ("error_description", "message", "error", "error_type")
        if params.get(name, "").strip()
    ]
    reason = "; ".join(dict.fromkeys(details)) or f"status={status}"
    return f"the broker reported that the login failed: {_printable(reason)[:300]}"


@dataclass
class _Outcome:
    """What the listener has seen: the result, and facts for the timeout message."""

    future: asyncio.Future[dict[str, str]]
    saw_tls: bool = False
    rejected_state: bool = False


async def catch_redirect(
    *,
    host: str = "127.0.0.1",
    port: int,
    path: str,
    expected_state: str | None,
    timeout: float,
    open_url: str | None,
    cancelled: Callable[[], bool] | None = None,
    require: Collection[str] = (),
    open_browser: Callable[[str], object] = webbrowser.open,
) -> dict[str, str]:
    """Listen on host:port for one GET of `path`, open the browser at `open_url`, and return the
    redirect's query parameters.

    Other paths (the browser's /favicon.ico) get 404 and the wait goes on, as do a wrong `state`
    and a hit missing a `require`d parameter (each gets an error page). A broker error raises
    LoginFailed; no redirect within `timeout` seconds raises LoginTimeout; `cancelled()`
    returning True (polled every 0.1 s) raises LoginCancelled. The port is closed in all cases.
    `open_browser` is `webbrowser.open` unless a test plays the browser."""
    _check_endpoint(host, port, path)
    if timeout <= 0:
        raise ValueError(f"catch_redirect: timeout must be positive, got {timeout!r}")
    url = redirect_url(host, port, path)
    loop = asyncio.get_running_loop()
    outcome = _Outcome(loop.create_future())
    handlers: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        try:
            await _serve(reader, writer, path, expected_state, require, outcome)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a browser that went away or never spoke; the wait goes on
        finally:
            writer.close()
            if task is not None:
                handlers.discard(task)

    try:
        server = await asyncio.start_server(on_connection, host, port, limit=_MAX_HEADER_BYTES)
    except OSError as exc:
        raise LoginListenerError(_bind_problem(exc, host, port, url)) from None
    try:
        log.info("login listener waiting on %s", url)
        if open_url is not None:
            # Not awaited: the redirect may arrive before a slow browser launch returns.
            loop.run_in_executor(None, _open, open_browser, open_url)
        return await _wait(outcome, timeout, cancelled, url)
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), timeout=2)
        if outcome.future.done() and not outcome.future.cancelled():
            outcome.future.exception()  # a failure that lost the race with the timeout: seen
        log.info("login listener on %s closed", url)


def _open(open_browser: Callable[[str], object], open_url: str) -> None:
    """Opens the browser off the loop (webbrowser.open can block); a failure leaves the wait
    on, as the dialog offers the login link and the paste fallback."""
    try:
        opened = open_browser(open_url)
    except Exception as exc:
        log.warning("could not open a web browser (%s); open the login page yourself", exc)
        return
    if opened is False:
        log.warning("no web browser could be opened; open the login page yourself")


async def _wait(
    outcome: _Outcome, timeout: float, cancelled: Callable[[], bool] | None, url: str
) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LoginTimeout(_timeout_message(outcome, timeout, url))
        step = remaining if cancelled is None else min(_POLL, remaining)
        done, _ = await asyncio.wait({outcome.future}, timeout=step)
        if done:
            return outcome.future.result()
        if cancelled is not None and cancelled():
            raise LoginCancelled("login cancelled; nothing was stored")


def _timeout_message(outcome: _Outcome, timeout: float, url: str) -> str:
    message = f"no login redirect reached {url} within {timeout:g} s."
    if outcome.saw_tls:
        message += (
            " A browser tried https:// on this port: the redirect URL registered with the"
            f" broker must be exactly {url} (http, not https)."
        )
    elif outcome.rejected_state:
        message += (
            " A redirect came from an older login attempt (its state did not match); "
            "start the login again and use the newly opened page."
        )
    else:
        message += f" Check that the redirect URL registered with the broker is exactly {url}."
    return message + " You can also paste the address the browser ended on."


async def _serve(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    path: str,
    expected_state: str | None,
    require: Collection[str],
    outcome: _Outcome,
) -> None:
    first = await asyncio.wait_for(reader.read(1), _READ_TIMEOUT)
    if not first:
        return
    if first == b"\x16":  # a TLS ClientHello: the registered URL says https
        outcome.saw_tls = True
        log.warning("login listener: a browser tried https://; the redirect URL must be http://")
        return
    head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    pieces = request_line.split(" ")
    if len(pieces) != 3 or not pieces[2].startswith("HTTP/"):
        await _respond(writer, 400, "Bad request", "This address only takes a login redirect.")
        return
    method, target = pieces[0], pieces[1]
    parts = urlsplit(target)
    if parts.path != path:
        log.debug("login listener: %s %s -> 404", method, parts.path[:100])
        await _respond(writer, 404, "Not found", "Nothing here; Artha is waiting for a login.")
        return
    if method != "GET":
        await _respond(writer, 405, "Method not allowed", "The login redirect is a GET.")
        return
    params = _query(parts.query)
    failure = broker_error(params)
    if failure is not None:
        await _respond(writer, 200, "Login failed", f"{failure}. Return to Artha to try again.")
        _settle(outcome, error=LoginFailed(failure))
        return
    problem = _state_problem(params, expected_state)
    if problem is not None:
        outcome.rejected_state = True
        log.warning("login listener: a redirect with a wrong state was refused; still waiting")
        await _respond(writer, 400, "Login not accepted", problem)
        return
    problem = _missing(params, require)
    if problem is not None:
        await _respond(writer, 400, "Login not complete", problem)
        return
    await _respond(
        writer, 200, "Login received", "Login received, you can close this tab and return to Artha."
    )
    _settle(outcome, result=_remembered(params))


def _settle(
    outcome: _Outcome,
    *,
    result: dict[str, str] | None = None,
    error: LoginListenerError | None = None,
) -> None:
    if outcome.future.done():
        return
    if error is not None:
        outcome.future.set_exception(error)
    elif result is not None:
        outcome.future.set_result(result)


_STATUS_TEXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


async def _respond(writer: asyncio.StreamWriter, status: int, title: str, message: str) -> None:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Artha - {html.escape(title)}</title></head>"
        "<body style='font-family: sans-serif; margin: 3em'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    ).encode()
    head = (
        f"HTTP/1.1 {status} {_STATUS_TEXT[status]}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()


def _query(query: str) -> dict[str, str]:
    """The first value of each parameter (a repeated one is not a broker's redirect)."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, value)
    return params


def _state_problem(params: dict[str, str], expected_state: str | None) -> str | None:
    if expected_state is None:
        return None
    got = params.get("state", "")
    if got and hmac.compare_digest(got.encode(), expected_state.encode()):
        return None
    return (
        "This login was not started by this Artha window (its state does not match): it is "
        "an old tab or a forged link. Start the login again from Artha."
    )


def _missing(params: dict[str, str], require: Collection[str]) -> str | None:
    absent = [name for name in require if not params.get(name)]
    if not absent:
        return None
    return f"The redirect has no {', '.join(absent)}; start the login again from Artha."


def _remembered(params: dict[str, str]) -> dict[str, str]:
    for name in SECRET_PARAMS:
        if params.get(name):
            redaction.remember(params[name])
    return params


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _same_host(got: str, expected: str) -> bool:
    got, expected = got.strip("[]").lower(), expected.strip("[]").lower()
    return got == expected or (_is_loopback(got) and _is_loopback(expected))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_endpoint(host: str, port: int, path: str) -> None:
    if not _is_loopback(host):
        raise ValueError(
            f"login listener host {host!r}: only this computer's loopback address "
            f"({', '.join(LOOPBACK_HOSTS)}) is allowed, so nothing on the network can reach it"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"login listener port {port!r}: must be a whole number 1-65535")
    if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in "?# \t"):
        raise ValueError(
            f"login listener path {path!r}: must start with '/' and hold no '?', '#' or blanks"
        )


def _bind_problem(exc: OSError, host: str, port: int, url: str) -> str:
    if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
        return (
            f"port {port} on {host} is already in use by another program, so the login "
            "redirect cannot be caught there. Close that program or choose another port in "
            "Settings ▸ Brokers - the redirect URL registered with the broker must then be "
            f"changed to match (now {url}). Or paste the redirect URL instead."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"this user may not listen on port {port}; choose a port above 1024 in "
            "Settings ▸ Brokers (and register the matching redirect URL with the broker)"
        )
    return f"could not listen on {host}:{port} for the login redirect ({exc.strerror or exc})"
