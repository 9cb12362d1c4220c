"""The static-IP check before live trading, and the optional proxy for order calls.

Since April 2026 every order call (place, modify, cancel, GTT, exit) must come from the IP the
trader registered with the broker; quotes, history and websockets work from anywhere. The
usual failure is not a wrong IPv4 but a machine that reaches the broker over IPv6 while only
IPv4 was registered (Kite then answers `IP (2402:...) is not allowed`). So the check shows
both outbound addresses, as the internet sees them, beside the registered ones, and says
which family this machine would use for the order host, before an order fails.

Everything here is blocking except `outbound_addresses`; callers on the event loop run
`route_family` in a thread (it resolves a name). Nothing here imports Qt or the app.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final
from urllib.parse import quote, unquote, urlsplit

import requests
import urllib3

from brokers import redaction
from engine.broker.errors import ip_advice

IPV4_URL: Final = "https://api.ipify.org"
IPV6_URL: Final = "https://api6.ipify.org"
_MAX_ANSWER_BYTES: Final = 4096  # an address is at most 45 characters; a portal page is long

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _normal(ip: IpAddress) -> IpAddress:
    """An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is the IPv4 address the broker saw."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


# ---- the order proxy ----------------------------------------------------------------------

_HOSTNAME = re.compile(
    r"^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


@dataclass(frozen=True, slots=True)
class OrderProxy:
    """An HTTP(S) proxy for order calls only: the machine whose static IP is registered, so
    orders pass while quotes and feeds keep going direct. The password never shows in repr,
    `str` or `display` (and is registered with `brokers.redaction`)."""

    scheme: str
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str) -> OrderProxy:
        """`http://host:port` or `https://host:port` (optionally `user:password@`), else a
        ValueError that says what is wrong and shows the expected form."""
        raw = text.strip()
        example = "http://203.0.113.10:3128"
        if not raw:
            raise ValueError(f"The order proxy is empty: enter it as {example}.")
        if "://" not in raw:
            raise ValueError(
                f"The order proxy {raw!r} needs a scheme: write it as http://{raw} "
                "(or https:// if the proxy itself speaks TLS)."
            )
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme.startswith("socks"):
            raise ValueError(
                f"The order proxy {cls._shown(raw)!r} is a SOCKS proxy; order calls need an "
                f"HTTP or HTTPS proxy, e.g. {example}."
            )
        if scheme not in ("http", "https"):
            raise ValueError(
                f"The order proxy {cls._shown(raw)!r} must start with http:// or https://, "
                f"e.g. {example}."
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                f"The order proxy {cls._shown(raw)!r} has a path or query; give only "
                f"scheme, host and port, e.g. {example}."
            )
        host = parts.hostname or ""
        if not host:
            raise ValueError(
                f"The order proxy {cls._shown(raw)!r} has no host: write it as {example}."
            )
        if ":" in host:
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ValueError(
                    f"The order proxy host {host!r} is not a valid IPv6 address."
                ) from None
        elif not _HOSTNAME.match(host):
            raise ValueError(f"The order proxy host {host!r} is not a valid host name.")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if port is None:
            raise ValueError(
                f"The order proxy {cls._shown(raw)!r} has no port: add it, e.g. "
                f"{scheme}://{cls._host_text(host)}:3128."
            )
        if not 0 < port < 65536:
            raise ValueError(
                f"The order proxy {cls._shown(raw)!r} has a bad port: use a number from 1 to 65535."
            )
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password:
            redaction.remember(password)
        return cls(scheme, host.lower(), port, username, password)

    @classmethod
    def from_setting(cls, text: str | None) -> OrderProxy | None:
        """The setting is optional: blank means order calls go direct."""
        if text is None or not text.strip():
            return None
        return cls.parse(text)

    @staticmethod
    def _host_text(host: str) -> str:
        return f"[{host}]" if ":" in host else host

    @staticmethod
    def _shown(raw: str) -> str:
        """The text as typed, minus any password, for an error message."""
        return re.sub(r"(://[^/@:]*):[^/]*@", r"\1:***@", raw)

    @property
    def url(self) -> str:
        """The URL requests needs, credentials included (never log it; use `display`)."""
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return f"{self.scheme}://{auth}{self._host_text(self.host)}:{self.port}"

    @property
    def display(self) -> str:
        """The proxy for people and logs: the user name stays, the password does not."""
        auth = ""
        if self.username is not None:
            auth = self.username + (":***" if self.password is not None else "") + "@"
        return f"{self.scheme}://{auth}{self._host_text(self.host)}:{self.port}"

    @property
    def proxies(self) -> dict[str, str]:
        """A `requests` proxies mapping. Broker hosts are https, so the key that matters is
        "https"; "http" is set too so no order call can slip past the proxy."""
        return {"http": self.url, "https": self.url}

    def __str__(self) -> str:
        return self.display


# ---- outbound addresses -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundAddresses:
    """This machine's IPv4 and IPv6 as the internet sees them (through the proxy, if one was
    used). Each is None when it could not be learned, and its `*_reason` says why."""

    ipv4: str | None = None
    ipv6: str | None = None
    ipv4_reason: str | None = None
    ipv6_reason: str | None = None
    via_proxy: str | None = None  # the proxy's `display`, when the lookup went through it

    def __post_init__(self) -> None:
        for name, version in (("ipv4", 4), ("ipv6", 6)):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                ip = _normal(ipaddress.ip_address(value.strip()))
            except ValueError:
                raise ValueError(f"{name}={value!r} is not an IP address") from None
            if ip.version != version:
                raise ValueError(f"{name}={value!r} is not an IPv{version} address")
            object.__setattr__(self, name, str(ip))


def _url_host(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2] or url


def _os_errors(exc: BaseException) -> Iterator[BaseException]:
    """Every exception wrapped in `exc` (requests wraps urllib3, which wraps the OSError)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        nested += list(current.args)
        todo += [n for n in nested if isinstance(n, BaseException)]


_NO_ROUTE: Final = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}


def _why_unreachable(exc: requests.RequestException, host: str, version: int) -> str:
    """One short reason for people, from a failed lookup; never the raw exception text."""
    chain = list(_os_errors(exc))
    if any(isinstance(e, socket.gaierror) for e in chain):
        if version == 6:
            return f"no IPv6 route: {host} has no IPv6 address reachable from here"
        return f"could not resolve {host} (check the internet connection and DNS)"
    for e in chain:
        if isinstance(e, OSError) and e.errno in _NO_ROUTE:
            return f"no IPv{version} route: {host} is unreachable over IPv{version}"
        if isinstance(e, ConnectionRefusedError) or (
            isinstance(e, OSError) and e.errno == errno.ECONNREFUSED
        ):
            return f"{host} refused the connection"
    for e in chain:
        if isinstance(e, OSError) and e.strerror:
            return f"could not reach {host} ({e.strerror})"
    return f"could not reach {host} ({type(exc).__name__})"


def _lookup(url: str, version: int, timeout: float, proxy: OrderProxy | None) -> str:
    """The address `url` answers with, checked to be an IPv{version} address; raises
    LookupError with the reason for people when there is none."""
    host = _url_host(url)
    try:
        with requests.Session() as session:
            response = session.get(
                url,
                timeout=timeout,
                proxies=proxy.proxies if proxy else None,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "text/plain", "User-Agent": "Artha IP check"},
            )
            with response:
                status = int(response.status_code)
                location = str(response.headers.get("Location") or "")
                body = response.raw.read(_MAX_ANSWER_BYTES + 1, decode_content=True)
    except requests.exceptions.ProxyError:
        shown = proxy.display if proxy else "the proxy"
        raise LookupError(f"the proxy {shown} did not pass the request to {host} on") from None
    except requests.exceptions.SSLError:
        raise LookupError(
            f"the secure connection to {host} failed (a captive portal or a network that "
            "intercepts HTTPS?)"
        ) from None
    except requests.Timeout:
        raise LookupError(f"{host} did not answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise LookupError(_why_unreachable(exc, host, version)) from None
    except urllib3.exceptions.ReadTimeoutError:  # the body, after the headers came
        raise LookupError(f"{host} did not finish its answer within {timeout:g} s") from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise LookupError(f"the answer from {host} broke off") from None
    if 300 <= status < 400:
        where = _url_host(location) if location else "another page"
        raise LookupError(
            f"{host} redirected to {where}: a captive portal or login page is in the way "
            "(sign in to the network, then check again)"
        )
    if status != 200:
        raise LookupError(f"{host} answered HTTP {status} instead of an address")
    text = bytes(body[:_MAX_ANSWER_BYTES]).decode("utf-8", "replace").strip()
    try:
        ip = _normal(ipaddress.ip_address(text))
    except ValueError:
        raise LookupError(
            f"{host} answered with something that is not an IP address (a captive portal or "
            "login page?)"
        ) from None
    if ip.version != version:
        if version == 6:
            raise LookupError(f"no IPv6 route: {host} was reached over IPv4, as {ip}")
        raise LookupError(f"{host} answered the IPv6 address {ip}, not an IPv4 one")
    return str(ip)


async def _lookup_async(
    url: str, version: int, timeout: float, proxy: OrderProxy | None
) -> tuple[str | None, str | None]:
    """(address, None) or (None, reason). The thread has its own timeouts; `wait_for` also
    bounds name resolution, which requests does not time out."""
    try:
        ip = await asyncio.wait_for(
            asyncio.to_thread(_lookup, url, version, timeout, proxy), timeout + 1.0
        )
    except LookupError as exc:
        return None, str(exc)
    except TimeoutError:
        return None, f"{_url_host(url)} did not answer within {timeout:g} s"
    return ip, None


async def outbound_addresses(
    *,
    ipv4_url: str = IPV4_URL,
    ipv6_url: str = IPV6_URL,
    timeout: float = 5.0,
    proxy: str | OrderProxy | None = None,
) -> OutboundAddresses:
    """This machine's outbound IPv4 and IPv6, asked of two echo services at once.

    With `proxy`, both questions go through it, so the answer is the address order calls
    would show. A bad proxy text raises ValueError at once; network trouble never raises, it
    becomes the missing address's reason."""
    order_proxy = OrderProxy.parse(proxy) if isinstance(proxy, str) else proxy
    (v4, why4), (v6, why6) = await asyncio.gather(
        _lookup_async(ipv4_url, 4, timeout, order_proxy),
        _lookup_async(ipv6_url, 6, timeout, order_proxy),
    )
    return OutboundAddresses(
        ipv4=v4,
        ipv6=v6,
        ipv4_reason=why4,
        ipv6_reason=why6,
        via_proxy=order_proxy.display if order_proxy else None,
    )


# ---- which family the order host is reached over ------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """How this machine would reach `host`: `family` 4 or 6 (None if it cannot), the
    broker's address it would pick (`remote`) and our source address for it (`local`)."""

    host: str
    port: int
    family: int | None
    remote: str | None = None
    local: str | None = None
    candidates: tuple[str, ...] = ()  # the host's addresses, in the order they are tried
    reason: str | None = None

    @property
    def ipv6(self) -> bool:
        return self.family == 6

    def describe(self) -> str:
        if self.family is None:
            return f"{self.host} cannot be reached: {self.reason or 'no route'}"
        return f"{self.host} is reached over IPv{self.family} ({self.remote}), from {self.local}"


def _host_and_port(host: str, port: int) -> tuple[str, int]:
    """Accept a bare name, a bracketed IPv6 literal or a whole URL (its port wins)."""
    text = host.strip()
    if "://" in text:
        parts = urlsplit(text)
        try:
            port = parts.port or port
        except ValueError:
            raise ValueError(f"The order host URL {text!r} has a bad port") from None
        text = parts.hostname or ""
    elif text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    return text, port


def route_family(host: str, port: int = 443) -> RouteChoice:
    """Which address family an HTTPS client on this machine would use for `host`.

    It takes the addresses in getaddrinfo's order (the system's RFC 6724 preference, the
    order urllib3 tries them) and connect()s a UDP socket to each until one has a route;
    a UDP connect only picks the route and our source address, it sends nothing. Blocking
    (name resolution): run it in a thread from the event loop."""
    name, port = _host_and_port(host, port)
    if not name:
        raise ValueError(f"No host to check the route to (got {host!r})")
    if not 0 < port < 65536:
        raise ValueError(f"Port {port} for {name} is not between 1 and 65535")
    try:
        infos = socket.getaddrinfo(name, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else "bad name"
        return RouteChoice(name, port, None, reason=f"could not resolve {name} ({why})")
    addresses = [
        (fam, sockaddr)
        for fam, _, _, _, sockaddr in infos
        if fam in (socket.AF_INET, socket.AF_INET6)
    ]
    candidates = tuple(dict.fromkeys(str(sockaddr[0]) for _, sockaddr in addresses))
    failures: list[str] = []
    for fam, sockaddr in addresses:
        try:
            with socket.socket(fam, socket.SOCK_DGRAM) as probe:
                probe.connect(sockaddr)
                local = str(probe.getsockname()[0])
        except OSError as exc:
            failures.append(f"{sockaddr[0]}: {exc.strerror or type(exc).__name__}")
            continue
        version = 6 if fam == socket.AF_INET6 else 4
        return RouteChoice(name, port, version, str(sockaddr[0]), local, candidates)
    why = "; ".join(failures) or "it has no IPv4 or IPv6 address"
    return RouteChoice(name, port, None, candidates=candidates, reason=f"no route ({why})")


# ---- the verdict --------------------------------------------------------------------------


class IpVerdict(StrEnum):
    OK = "ok"  # order calls will come from a registered address
    MISMATCH = "mismatch"  # they will come from an address that is not registered
    IPV6_TRAP = "ipv6_trap"  # they will go over IPv6 while only IPv4 is registered
    UNKNOWN = "unknown"  # nothing registered, no outbound address, or the family is unclear


@dataclass(frozen=True, slots=True)
class IpCheck:
    """The check's result. `message` is what to show: `headline`, then `details` (the
    outbound addresses beside the registered ones), then `advice` (what to do)."""

    verdict: IpVerdict
    headline: str
    details: tuple[str, ...]
    advice: str
    order_ip: str | None  # the address the broker would see on an order call, if known
    registered: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.verdict is IpVerdict.OK

    @property
    def message(self) -> str:
        text = "\n".join((self.headline, *self.details))
        return f"{text}\nWhat to do: {self.advice}" if self.advice else text


def parse_registered(registered: Sequence[str] | str) -> tuple[IpAddress, ...]:
    """The registered addresses, validated and without repeats. A single string may list
    several, separated by commas or spaces (as typed in a settings field)."""
    items = re.split(r"[,;\s]+", registered) if isinstance(registered, str) else registered
    found: list[IpAddress] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        try:
            ip = _normal(ipaddress.ip_address(text))
        except ValueError:
            raise ValueError(
                f"The registered IP {text!r} is not an IP address: enter the IPv4 (like "
                "49.36.12.8) or IPv6 address registered on the broker's developer console."
            ) from None
        if ip not in found:
            found.append(ip)
    return tuple(found)


def _either(addresses: Sequence[IpAddress]) -> str:
    return " or ".join(str(a) for a in addresses)


_IPV6_CHANGES: Final = (
    "Home and mobile ISPs often change IPv6 addresses, so a registered IPv6 may stop matching; "
    "check again before the session."
)


def check_static_ip(
    registered: Sequence[str] | str, seen: OutboundAddresses, route: RouteChoice | None
) -> IpCheck:
    """Will order calls from this machine pass the broker's static-IP rule?

    Pure: it decides from what was registered, what the internet saw (`outbound_addresses`)
    and the route to the order host (`route_family`; None if unknown). When the lookup went
    through the order proxy, the route from this machine does not matter and is ignored.
    Raises ValueError naming a registered entry that is not an IP address."""
    regs = parse_registered(registered)
    reg_text = tuple(str(r) for r in regs)
    v4 = ipaddress.IPv4Address(seen.ipv4) if seen.ipv4 else None
    v6 = ipaddress.IPv6Address(seen.ipv6) if seen.ipv6 else None
    if seen.via_proxy:
        route = None
    # IPv6 is rarely NATed: when the echo service could not be asked, a global source
    # address on the route to the order host is what the broker will see.
    if v6 is None and route is not None and route.family == 6 and route.local:
        local = ipaddress.ip_address(route.local.split("%")[0])
        if local.version == 6 and local.is_global:
            v6 = ipaddress.IPv6Address(int(local))

    def mark(ip: IpAddress | None, reason: str | None) -> str:
        if ip is None:
            return f"none ({reason or 'not checked'})"
        if not regs:
            return str(ip)
        return f"{ip} ({'registered' if ip in regs else 'not registered'})"

    details = [
        f"Outbound IPv4: {mark(v4, seen.ipv4_reason)}",
        f"Outbound IPv6: {mark(v6, seen.ipv6_reason)}",
        f"Registered: {', '.join(reg_text) if regs else 'none'}",
    ]
    if seen.via_proxy:
        details.append(
            f"Order proxy: {seen.via_proxy} (the addresses above are the proxy's, as the "
            "broker will see them)"
        )
    elif route is not None:
        details.append(f"Route: {route.describe()}")
    details += [
        f"Note: {r} is a private address; brokers see your public address (shown above), so "
        "register that one."
        for r in regs
        if not r.is_global
    ]

    def result(verdict: IpVerdict, headline: str, advice: str, ip: IpAddress | None) -> IpCheck:
        return IpCheck(verdict, headline, tuple(details), advice, str(ip) if ip else None, reg_text)

    # Which family will the order call use?
    family: int | None = None
    if route is not None and route.family is not None:
        family = route.family
    elif v4 is not None and v6 is None:
        family = 4
    elif v6 is not None and v4 is None:
        family = 6
    host = route.host if route is not None else "the broker"
    order_ip: IpAddress | None = v4 if family == 4 else v6 if family == 6 else None

    if not regs:
        shown = _either([a for a in (v4, v6) if a is not None]) or "your outbound IP"
        return result(
            IpVerdict.UNKNOWN,
            "No registered IP is set, so Artha cannot tell whether order calls will pass.",
            f"Register {shown} on the broker's developer console (a primary and a secondary "
            "are allowed), then enter it in Artha's broker settings.",
            order_ip,
        )
    if v4 is None and v6 is None:
        return result(
            IpVerdict.UNKNOWN,
            "Could not learn this machine's outbound IP, so the registered IP cannot be compared.",
            "Check the internet connection (and the order proxy, if one is set), then check again.",
            None,
        )
    if family is None:  # both families work and the route to the order host is unknown
        assert v4 is not None and v6 is not None
        if v4 in regs and v6 in regs:
            return result(
                IpVerdict.OK,
                f"Order calls will come from {v4} or {v6}; both are registered.",
                "",
                None,
            )
        if v4 not in regs and v6 not in regs:
            return result(
                IpVerdict.MISMATCH,
                f"Order calls will be refused: neither {v4} nor {v6} is registered.",
                ip_advice(str(v4), _either(regs)),
                None,
            )
        good, other = (v4, v6) if v4 in regs else (v6, v4)
        return result(
            IpVerdict.UNKNOWN,
            f"{good} is registered, but this machine also reaches the internet from {other}, "
            "which is not, and Artha could not tell which one order calls will use.",
            "Check again when the broker's order host can be resolved (to see which one it "
            f"uses), or register "
            f"{other} as the secondary IP"
            + (", or turn IPv6 off for this connection." if other.version == 6 else "."),
            None,
        )
    if order_ip is None:
        reason = seen.ipv4_reason if family == 4 else seen.ipv6_reason
        if family == 6 and all(r.version == 4 for r in regs):
            # Whatever the IPv6 address is, only IPv4 is registered: the order will fail.
            return result(
                IpVerdict.IPV6_TRAP,
                f"Order calls will be refused: this machine reaches {host} over IPv6, but only "
                "IPv4 is registered.",
                "Turn IPv6 off for this connection, or set an HTTPS proxy with a static IPv4 "
                f"for order calls; to register IPv6 instead, check again once its address can "
                f"be learned ({reason or 'no answer'}).",
                None,
            )
        return result(
            IpVerdict.UNKNOWN,
            f"This machine reaches {host} over IPv{family}, but its outbound IPv{family} "
            f"could not be learned ({reason or 'no answer'}).",
            "Check the internet connection (and the order proxy, if one is set), then check again.",
            None,
        )
    if order_ip in regs:
        via = f" (this machine reaches {host} over IPv{family})" if route is not None else ""
        note = _IPV6_CHANGES if order_ip.version == 6 else ""
        return result(
            IpVerdict.OK,
            f"Order calls will come from {order_ip}, which is registered{via}.",
            note,
            order_ip,
        )
    if order_ip.version == 6 and all(r.version == 4 for r in regs):
        how = f"reaches {host} over IPv6" if route is not None else "has only IPv6 to the internet"
        return result(
            IpVerdict.IPV6_TRAP,
            f"Order calls will be refused: this machine {how} ({order_ip}), but only IPv4 is "
            "registered.",
            ip_advice(str(order_ip), _either(regs)) + " " + _IPV6_CHANGES,
            order_ip,
        )
    return result(
        IpVerdict.MISMATCH,
        f"Order calls will be refused: they would come from {order_ip}, which is not registered.",
        ip_advice(str(order_ip), _either(regs)),
        order_ip,
    )


# ---- reading the broker's refusal ---------------------------------------------------------

# Runs of hex digits, colons and dots, not glued to a word before or after: every IPv4 and
# IPv6 form (bracketed, with a port, at a sentence end) contains one such run.
_CANDIDATE = re.compile(r"(?<!\w)[0-9A-Fa-f:.]++(?!\w)")
# "registered IP is 1.2.3.4", "whitelisted IPs: ..." name the allowed address, not the caller.
_REGISTERED_BEFORE = re.compile(
    r"(?<!non-)(?<!not )\b"
    r"(?:registered|whitelisted|white-listed|allowlisted|allowed|configured|primary|secondary)"
    r"\W+(?:static\W+)?ip(?:v[46])?(?:\s*address)?(?:es|s)?\W*(?:is|are)?\W*$",
    re.IGNORECASE,
)


def _as_ip(token: str) -> IpAddress | None:
    stripped = token.rstrip(".")
    for text in (token, stripped, stripped.rstrip(":")):
        try:
            return _normal(ipaddress.ip_address(text))
        except ValueError:
            pass
    host, sep, port = stripped.rpartition(":")  # 1.2.3.4:443
    if sep and port.isdigit() and "." in host:
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:
            return None
    return None


def parse_ip_from_broker_message(message: str) -> str | None:
    """The caller's IP from a broker's "IP not allowed" text, e.g. Kite's
    "IP (2402:3a80:1::5) is not allowed to place orders for this app", or None.

    Tolerant of the forms brokers use (parentheses, brackets, a port, JSON around it); an
    address named as the registered one is skipped. IPv4-mapped IPv6 comes back as IPv4."""
    for match in _CANDIDATE.finditer(message):
        ip = _as_ip(match.group())
        if ip is None:
            continue
        if _REGISTERED_BEFORE.search(message[max(0, match.start() - 40) : match.start()]):
            continue
        return str(ip)
    return None
