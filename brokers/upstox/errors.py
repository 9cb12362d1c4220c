"""What can go wrong talking to Upstox, by kind, so callers (and the UI) react to the kind.

Every message is meant for the trader: it names the call and Upstox's own code and words,
and never carries a token, a secret or an authorization code.
"""

from __future__ import annotations


class UpstoxError(Exception):
    """Base of every Upstox failure; `code` is Upstox's errorCode (e.g. UDAPI10005) if any.
    `sent`: the request may have reached Upstox (a read timeout, a 5xx), so an order call
    must be looked up before it is sent again."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.sent = sent
        #: Upstox's own words and code ("Invalid Auth code (UDAPI100057)"), when it gave any.
        self.broker_said: str | None = None


class UpstoxAuthError(UpstoxError):
    """Login or credentials refused (bad code, wrong secret, redirect URI mismatch)."""


class UpstoxTokenExpired(UpstoxAuthError):
    """The day's access token is no longer accepted: the trader must log in again."""


class UpstoxPermissionDenied(UpstoxError):
    """Authenticated, but not allowed (app lacks the permission, segment not enabled)."""


class UpstoxIpNotAllowed(UpstoxPermissionDenied):
    """An order call came from an IP other than the one registered (SEBI 2026 static IP)."""


class UpstoxInputError(UpstoxError):
    """The request itself is wrong (a field missing or out of range); fix and resend."""


class UpstoxOrderRejected(UpstoxError):
    """Upstox or the exchange refused the order (funds, circuit limits, closed order...)."""


class UpstoxRateLimited(UpstoxError):
    """HTTP 429 / UDAPI10005. Upstox sends no Retry-After, so `retry_after` is usually None."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class UpstoxNetworkError(UpstoxError):
    """No answer: connection refused or reset, DNS, TLS, or a timeout. The call may or may
    not have reached Upstox (for an order, check the order book before resending)."""


class UpstoxBrokerDown(UpstoxError):
    """Upstox answered 5xx: its side is failing; retry later."""


class UpstoxMalformedResponse(UpstoxError):
    """Upstox answered something we cannot read (not JSON, or not the documented shape)."""
