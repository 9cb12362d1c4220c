"""kiteconnect's exceptions and the HTTP layer's failures -> `engine.broker.errors`.

The gateway, the GUI and the CLI decide by kind (log in again, wait, fix the order, look the
order up by its tag), so every failure of a Kite call leaves here typed. Messages name the
call and quote Kite's words only after `redaction.redact`; the HTTP layer's own text is never
quoted (requests puts the URL in it, and DELETE /session/token carries the access token in
its query string), and no exception is chained to its cause, so a token cannot ride along in
the text or the traceback.

`sent` matters for order calls only: it says the request may have reached Kite (a read
timeout, a 5xx, a dropped answer), so the order gateway reconciles by tag before any retry.
A refused or unreachable connection never left the machine: `sent` is False.
"""

from __future__ import annotations

import logging
import re
from typing import Final

import requests
from kiteconnect import exceptions as kex

from brokers.redaction import redact
from engine.broker.errors import (
    BrokerDown,
    BrokerError,
    InvalidRequest,
    IpNotAllowed,
    MalformedResponse,
    NetworkError,
    OrderRejected,
    PermissionDenied,
    RateLimited,
    TokenExpired,
)

log = logging.getLogger(__name__)

BROKER: Final = "Zerodha"
# Kite's refusal of an order call from an unregistered address, e.g.
# "IP (2402:e280:3d9f::1) is not allowed to place orders for this app."
_IP_REFUSAL = re.compile(
    r"\bIP(?:\s+address)?\s*[:(]?\s*(?P<ip>[0-9A-Fa-f]*[:.][0-9A-Fa-f:.]*[0-9A-Fa-f])\s*\)?",
    re.IGNORECASE,
)
_NOT_ALLOWED = re.compile(r"not\s+allowed|whitelist|not\s+registered", re.IGNORECASE)
_TOO_MANY = re.compile(r"too\s+many\s+requests", re.IGNORECASE)


def refused_ip(message: str) -> str | None:
    """The address in Kite's "IP (...) is not allowed" message, or None for other refusals."""
    if not _NOT_ALLOWED.search(message):
        return None
    match = _IP_REFUSAL.search(message)
    return match.group("ip") if match else None


def _connection_never_made(error: requests.ConnectionError) -> bool:
    """A refused/unresolvable/timed-out connect, a proxy or TLS failure: nothing was sent.
    Anything else (a reset or a dropped answer) may have come after the request went out."""
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.ProxyError):
        return True
    if isinstance(error, requests.exceptions.SSLError):
        return True
    reason = error.args[0] if error.args else None
    seen: set[int] = set()
    while reason is not None and id(reason) not in seen:
        seen.add(id(reason))
        name = type(reason).__name__
        if name in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError"):
            return True
        if isinstance(reason, ConnectionRefusedError):
            return True
        reason = getattr(reason, "reason", None) or reason.__cause__ or reason.__context__
    return False


def translate(
    error: BaseException,
    *,
    call: str,
    order_call: bool = False,
    registered_ip: str | None = None,
) -> BrokerError | None:
    """The BrokerError for `error` raised by the kiteconnect call named `call` (for people,
    e.g. "place order NSE:INFY"). `order_call`: place/modify/cancel/GTT, whose doubt matters.
    Python errors raised while the SDK reads Kite's answer (KeyError, TypeError, AttributeError,
    ValueError) mean an answer of the wrong shape: MalformedResponse. Anything else is not a
    Kite failure: None, and the caller re-raises it as it is."""
    if isinstance(error, BrokerError):
        return error
    if isinstance(error, kex.KiteException):
        return _from_kite(error, call=call, order_call=order_call, registered_ip=registered_ip)
    if isinstance(error, requests.Timeout) and not isinstance(error, requests.ConnectTimeout):
        return NetworkError(
            f"Kite did not answer {call} in time (the request was sent"
            + ("; Artha checks the order book before sending it again)" if order_call else ")"),
            broker=BROKER,
            sent=order_call,
        )
    if isinstance(error, requests.ConnectionError):
        never = _connection_never_made(error)
        if isinstance(error, requests.exceptions.ProxyError):
            what = "could not reach Kite through the order proxy"
        elif isinstance(error, requests.exceptions.SSLError):
            what = "could not set up a secure connection to Kite"
        elif never:
            what = "could not connect to Kite"
        else:
            what = "lost the connection to Kite before its answer arrived"
        return NetworkError(f"{call}: {what}", broker=BROKER, sent=order_call and not never)
    if isinstance(error, requests.RequestException):
        return NetworkError(
            f"{call}: the request to Kite failed ({type(error).__name__})",
            broker=BROKER,
            sent=order_call,
        )
    if isinstance(error, KeyError | TypeError | AttributeError | ValueError):
        # kiteconnect indexes the answer without checking it (a missing Content-Type, an
        # envelope without "data" or "error_type"): the answer was not Kite's shape.
        return MalformedResponse(
            f"Kite's answer to {call} was not in the expected shape ({type(error).__name__})",
            broker=BROKER,
            sent=order_call,
        )
    return None


def _from_kite(
    error: kex.KiteException, *, call: str, order_call: bool, registered_ip: str | None
) -> BrokerError:
    code = int(getattr(error, "code", 0) or 0)
    said = redact(str(error)).strip() or type(error).__name__
    message = f"{call}: {said}"
    if code == 429 or _TOO_MANY.search(said):
        return RateLimited(
            f"{call}: Kite answered 429 Too many requests", broker=BROKER, status=429
        )
    if isinstance(error, kex.TokenException):
        return TokenExpired(
            f"{call}: Kite refused the session ({said})", broker=BROKER, status=code
        )
    if isinstance(error, kex.PermissionException):
        ip = refused_ip(said)
        if ip is not None:
            return IpNotAllowed(
                f"{call}: Kite refused the order call from IP {ip} ({said})",
                broker=BROKER,
                ip=ip,
                registered=registered_ip,
                status=code,
            )
        return PermissionDenied(message, broker=BROKER, status=code)
    if isinstance(error, kex.InputException):
        return InvalidRequest(message, broker=BROKER, status=code)
    if isinstance(error, kex.OrderException):
        return OrderRejected(message, broker=BROKER, status=code)
    if isinstance(error, kex.DataException):
        log.debug("Kite DataException on %s: %s", call, said)
        # The SDK's text quotes the whole unreadable body: keep it out of the message.
        return MalformedResponse(
            f"Kite's answer to {call} could not be read",
            broker=BROKER,
            status=code,
            sent=order_call,
        )
    if isinstance(error, kex.NetworkException):
        return NetworkError(message, broker=BROKER, status=code, sent=order_call)
    # GeneralException, or an error_type kiteconnect does not know (e.g. MarginException).
    if code >= 500:
        return BrokerDown(message, broker=BROKER, status=code, sent=order_call)
    if code == 403:
        ip = refused_ip(said)
        if ip is not None:
            return IpNotAllowed(
                message, broker=BROKER, ip=ip, registered=registered_ip, status=code
            )
        return PermissionDenied(message, broker=BROKER, status=code)
    if order_call and 400 <= code < 500:
        return OrderRejected(message, broker=BROKER, status=code)
    return InvalidRequest(message, broker=BROKER, status=code)
