"""What can go wrong at a broker, as typed errors a trader can act on.

Every adapter turns its SDK's or HTTP layer's failures into one of these, so the GUI, the CLI,
the order gateway and the coming risk manager decide by kind (log in again, wait, fix the
order, call the broker) and never by parsing a broker's text. The message says what happened
in the trader's words; `advice` says what to do. Neither ever holds a secret: adapters build
them from the broker's message and our own request fields, never from headers or URLs.
"""

from __future__ import annotations

from enum import StrEnum


class BrokerErrorKind(StrEnum):
    AUTH = "auth"  # bad API key/secret or login refused
    TOKEN_EXPIRED = "token_expired"  # the day's session ended: log in again
    PERMISSION = "permission"  # the app or plan may not do this (e.g. no market-data plan)
    INPUT = "input"  # a bad parameter: the order or request itself is wrong
    REJECTED = "rejected"  # the broker's risk system or the exchange refused the order
    RATE_LIMITED = "rate_limited"  # HTTP 429: too many requests in the window
    NETWORK = "network"  # no answer: timeout, refused connection, DNS
    BROKER_DOWN = "broker_down"  # the broker answered 5xx
    IP_NOT_ALLOWED = "ip_not_allowed"  # the order call came from an unregistered IP
    MALFORMED = "malformed"  # an answer we could not read


_ADVICE: dict[BrokerErrorKind, str] = {
    BrokerErrorKind.AUTH: "Check the API key and secret in Settings ▸ Brokers, then log in again.",
    BrokerErrorKind.TOKEN_EXPIRED: (
        "The broker ends API sessions daily; log in again (Settings ▸ Brokers or "
        "`artha broker login`). Orders and positions are kept."
    ),
    BrokerErrorKind.PERMISSION: (
        "Your API app or subscription does not allow this call; check the plan and the app's "
        "permissions on the broker's developer console."
    ),
    BrokerErrorKind.INPUT: "Correct the request (see the broker's message) and try again.",
    BrokerErrorKind.REJECTED: "See the broker's reason; the order was not placed.",
    BrokerErrorKind.RATE_LIMITED: (
        "Too many requests; Artha queues orders under the limit, so this should pass on its own. "
        "If it repeats, slow the strategy down."
    ),
    BrokerErrorKind.NETWORK: "Check the internet connection (and the proxy, if one is set).",
    BrokerErrorKind.BROKER_DOWN: (
        "The broker's servers failed to answer; wait a minute and check the broker's status page."
    ),
    BrokerErrorKind.IP_NOT_ALLOWED: (
        "Order calls must come from the static IP registered with the broker (2026 exchange "
        "rule). Compare your outbound IP in Settings ▸ Brokers ▸ Check IP with the one "
        "registered on the broker's developer console."
    ),
    BrokerErrorKind.MALFORMED: (
        "The broker sent an answer Artha could not read; try again, and report it if it repeats."
    ),
}


class BrokerError(Exception):
    """A failure at `broker`, of one `kind`. `sent` says the request may have reached the broker
    (a timeout or 5xx after sending): an order call then needs reconciliation before any retry."""

    kind: BrokerErrorKind = BrokerErrorKind.INPUT

    def __init__(
        self,
        message: str,
        *,
        broker: str = "",
        advice: str | None = None,
        status: int | None = None,
        sent: bool = False,
    ) -> None:
        self.message = message
        self.broker = broker
        self.advice = _ADVICE[self.kind] if advice is None else advice
        self.status = status
        self.sent = sent
        super().__init__(self.describe())

    def describe(self) -> str:
        where = f"{self.broker}: " if self.broker else ""
        return f"{where}{self.message}" + (f" — {self.advice}" if self.advice else "")

    @property
    def needs_login(self) -> bool:
        return self.kind in (BrokerErrorKind.AUTH, BrokerErrorKind.TOKEN_EXPIRED)

    @property
    def retryable(self) -> bool:
        """Safe to send again as it is (after waiting): the broker did not act on it. An order
        call that failed with `sent` is not: reconcile by tag first."""
        if self.kind is BrokerErrorKind.RATE_LIMITED:
            return True
        return self.kind in (BrokerErrorKind.NETWORK, BrokerErrorKind.BROKER_DOWN) and not self.sent


class AuthError(BrokerError):
    kind = BrokerErrorKind.AUTH


class TokenExpired(AuthError):
    kind = BrokerErrorKind.TOKEN_EXPIRED


class PermissionDenied(BrokerError):
    kind = BrokerErrorKind.PERMISSION


class InvalidRequest(BrokerError):
    kind = BrokerErrorKind.INPUT


class OrderRejected(BrokerError):
    kind = BrokerErrorKind.REJECTED


class RateLimited(BrokerError):
    kind = BrokerErrorKind.RATE_LIMITED


class NetworkError(BrokerError):
    kind = BrokerErrorKind.NETWORK


class BrokerDown(BrokerError):
    kind = BrokerErrorKind.BROKER_DOWN


class MalformedResponse(BrokerError):
    kind = BrokerErrorKind.MALFORMED


class IpNotAllowed(BrokerError):
    """The broker refused an order call from `ip`. The advice says what to do, and names the
    commonest cause: the machine spoke IPv6 while an IPv4 address was registered."""

    kind = BrokerErrorKind.IP_NOT_ALLOWED

    def __init__(
        self,
        message: str,
        *,
        broker: str = "",
        ip: str | None = None,
        registered: str | None = None,
        status: int | None = None,
    ) -> None:
        self.ip = ip
        self.registered = registered
        super().__init__(message, broker=broker, advice=ip_advice(ip, registered), status=status)


def ip_advice(ip: str | None, registered: str | None) -> str:
    """What to do about an order call refused for its source IP."""
    base = _ADVICE[BrokerErrorKind.IP_NOT_ALLOWED]
    if ip and ":" in ip and (registered is None or ":" not in registered):
        return (
            f"Your machine used IPv6 ({ip}) for the order call, but brokers match the IPv4 "
            "address you registered. Register this IPv6 address as well, or turn IPv6 off for "
            "this connection (or set an HTTPS proxy with a static IPv4 for order calls in "
            "Settings ▸ Brokers)."
        )
    if ip and registered:
        return (
            f"The order call came from {ip} but {registered} is registered. Register {ip} on "
            "the broker's developer console (changes are allowed about once a week), or use the "
            "network or proxy whose address is registered."
        )
    return base
