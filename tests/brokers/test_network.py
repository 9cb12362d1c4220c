"""The static-IP check: real HTTP servers on 127.0.0.1 and ::1 stand in for the IP echo
services (there is no internet here), real UDP sockets for the route, and broker texts shaped
like the ones Kite and Upstox send."""

from __future__ import annotations

import asyncio
import base64
import errno
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from brokers.network import (
    IpVerdict,
    OrderProxy,
    OutboundAddresses,
    RouteChoice,
    check_static_ip,
    outbound_addresses,
    parse_ip_from_broker_message,
    route_family,
)
from engine.broker.errors import IpNotAllowed, ip_advice


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_V6_LOOPBACK = _ipv6_loopback()
needs_v6 = pytest.mark.skipif(
    not HAS_V6_LOOPBACK, reason="this machine has no IPv6 loopback (::1 cannot be bound)"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.seen: list[tuple[str, dict[str, str]]] = []  # (request line path, headers)
        super().__init__((host, 0), handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}/"


def _handler(answer: Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.server.seen.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
            status, headers, body = answer(self)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:
            pass

    return Handler


def _echo(request: BaseHTTPRequestHandler):
    """What api.ipify.org does: answer the client's address as plain text."""
    return 200, {"Content-Type": "text/plain"}, request.client_address[0].encode()


def _portal(request: BaseHTTPRequestHandler):
    page = b"<html><head><title>Hotel WiFi</title></head><body>Please log in</body></html>"
    return 200, {"Content-Type": "text/html"}, page


def _portal_redirect(request: BaseHTTPRequestHandler):
    return 302, {"Location": "http://login.hotel-wifi.example/portal?next=x"}, b""


def _proxy_answer(request: BaseHTTPRequestHandler):
    """A forward proxy whose egress is 198.51.100.7: it answers the echo question itself, but
    only for absolute-form requests, which is how clients talk to a proxy."""
    if not request.path.startswith("http://"):
        return 400, {}, b"not a proxy request"
    return 200, {"Content-Type": "text/plain"}, b"198.51.100.7"


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    started: list[_Server] = []

    def start(host: str, answer) -> _Server:
        server = _Server(host, _handler(answer))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ---- outbound_addresses -------------------------------------------------------------------


@needs_v6
def test_both_families_are_read_from_echo_servers(serve):
    v4 = serve("127.0.0.1", _echo)
    v6 = serve("::1", _echo)
    seen = asyncio.run(outbound_addresses(ipv4_url=v4.url, ipv6_url=v6.url, timeout=3))
    assert seen == OutboundAddresses(ipv4="127.0.0.1", ipv6="::1")


def test_ipv4_is_read_and_a_missing_ipv6_has_its_reason(serve):
    v4 = serve("127.0.0.1", _echo)
    closed = _closed_port_url()
    seen = asyncio.run(outbound_addresses(ipv4_url=v4.url, ipv6_url=closed, timeout=3))
    assert seen.ipv4 == "127.0.0.1" and seen.ipv4_reason is None
    assert seen.ipv6 is None
    assert seen.ipv6_reason == f"{closed[7:-1]} refused the connection"


def test_the_lookup_runs_on_the_apps_qasync_loop(serve, aloop):
    v4 = serve("127.0.0.1", _echo)
    seen = aloop.run_until_complete(
        outbound_addresses(ipv4_url=v4.url, ipv6_url=_closed_port_url(), timeout=3)
    )
    assert seen.ipv4 == "127.0.0.1" and seen.ipv6 is None


def test_an_ipv6_service_reached_over_ipv4_means_no_ipv6_route(serve):
    """A dual-stack echo host reached over IPv4 answers an IPv4 address: that is not IPv6."""
    v4 = serve("127.0.0.1", _echo)
    seen = asyncio.run(outbound_addresses(ipv4_url=v4.url, ipv6_url=v4.url, timeout=3))
    assert seen.ipv6 is None
    assert seen.ipv6_reason is not None and seen.ipv6_reason.startswith("no IPv6 route")
    assert "127.0.0.1" in seen.ipv6_reason


def test_a_captive_portal_page_is_not_an_ip(serve):
    portal = serve("127.0.0.1", _portal)
    seen = asyncio.run(outbound_addresses(ipv4_url=portal.url, ipv6_url=portal.url, timeout=3))
    assert seen.ipv4 is None and seen.ipv6 is None
    assert "not an IP address" in (seen.ipv4_reason or "")
    assert "captive portal" in (seen.ipv4_reason or "")
    assert "<html" not in (seen.ipv4_reason or "")


def test_a_captive_portal_redirect_is_reported_not_followed(serve):
    portal = serve("127.0.0.1", _portal_redirect)
    seen = asyncio.run(outbound_addresses(ipv4_url=portal.url, ipv6_url=portal.url, timeout=3))
    assert seen.ipv4 is None
    assert "redirected to login.hotel-wifi.example" in (seen.ipv4_reason or "")
    assert "captive portal" in (seen.ipv4_reason or "")
    assert [path for path, _ in portal.seen] == ["/", "/"]  # nobody went to the portal


def test_an_error_status_is_not_an_ip(serve):
    down = serve("127.0.0.1", lambda r: (503, {"Content-Type": "text/plain"}, b"1.2.3.4"))
    seen = asyncio.run(outbound_addresses(ipv4_url=down.url, ipv6_url=down.url, timeout=3))
    assert seen.ipv4 is None
    assert seen.ipv4_reason == f"{down.url[7:-1]} answered HTTP 503 instead of an address"


def test_a_silent_service_times_out_with_a_reason():
    """The server accepts the connection (the kernel does) but never answers."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        started = time.monotonic()
        seen = asyncio.run(outbound_addresses(ipv4_url=url, ipv6_url=url, timeout=0.3))
        took = time.monotonic() - started
    assert seen.ipv4 is None and seen.ipv6 is None
    assert seen.ipv4_reason == f"127.0.0.1:{url.split(':')[2][:-1]} did not answer within 0.3 s"
    assert took < 2.5  # both asked at once, each bounded by the timeout


def test_no_ipv6_route_is_named_as_such_where_the_machine_has_none():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("2001:db8::1", 9))
        except OSError as exc:
            if exc.errno not in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                raise
        else:
            pytest.skip("this machine has an IPv6 default route, so 2001:db8::1 is not unreachable")
    url = "http://[2001:db8::1]:9/"
    seen = asyncio.run(outbound_addresses(ipv4_url=url, ipv6_url=url, timeout=2))
    assert (seen.ipv6_reason or "").startswith("no IPv6 route")


def test_the_lookup_goes_through_the_order_proxy(serve):
    """With a proxy, the addresses are the proxy's: what the broker will see on orders."""
    proxy = serve("127.0.0.1", _proxy_answer)
    port = proxy.server_address[1]
    seen = asyncio.run(
        outbound_addresses(
            ipv4_url="http://api.ipify.example/",
            ipv6_url="http://api6.ipify.example/",
            timeout=3,
            proxy=f"http://trader:p%40ss:w0rd@127.0.0.1:{port}",
        )
    )
    assert seen.ipv4 == "198.51.100.7"
    assert seen.ipv6_reason == (
        "no IPv6 route: api6.ipify.example was reached over IPv4, as 198.51.100.7"
    )
    assert seen.via_proxy == f"http://trader:***@127.0.0.1:{port}"
    paths = sorted(path for path, _ in proxy.seen)
    assert paths == ["http://api.ipify.example/", "http://api6.ipify.example/"]
    auth = proxy.seen[0][1]["Proxy-Authorization"]
    assert base64.b64decode(auth.split()[1]) == b"trader:p@ss:w0rd"


def test_a_proxy_that_does_not_answer_is_named_without_its_password():
    seen = asyncio.run(
        outbound_addresses(
            ipv4_url="http://api.ipify.example/",
            ipv6_url="http://api6.ipify.example/",
            timeout=2,
            proxy=OrderProxy.parse("http://trader:hunter22@" + _closed_port_url()[7:]),
        )
    )
    assert seen.ipv4 is None
    assert (seen.ipv4_reason or "").startswith("the proxy http://trader:***@127.0.0.1:")
    assert "hunter22" not in repr(seen)


def test_a_bad_proxy_text_is_refused_before_any_network_call():
    with pytest.raises(ValueError, match=re.escape("write it as http://10.0.0.2:3128")):
        asyncio.run(outbound_addresses(proxy="10.0.0.2:3128"))


# ---- route_family -------------------------------------------------------------------------


def test_route_to_ipv4_loopback():
    route = route_family("127.0.0.1")
    assert (route.family, route.remote, route.local, route.ipv6) == (
        4, "127.0.0.1", "127.0.0.1", False,
    )  # fmt: skip
    assert route.describe() == "127.0.0.1 is reached over IPv4 (127.0.0.1), from 127.0.0.1"


@needs_v6
def test_route_to_ipv6_loopback_also_from_a_url_or_brackets():
    for host in ("::1", "[::1]", "https://[::1]:8443/oms/orders"):
        route = route_family(host)
        assert (route.host, route.family, route.remote, route.local, route.ipv6) == (
            "::1", 6, "::1", "::1", True,
        )  # fmt: skip
    assert route.port == 8443


def test_route_to_localhost_follows_the_resolver_order():
    infos = socket.getaddrinfo("localhost", 443, socket.AF_UNSPEC, socket.SOCK_STREAM)
    first_family = 6 if infos[0][0] == socket.AF_INET6 else 4
    route = route_family("localhost", 443)
    assert route.family == first_family
    assert route.candidates[0] == infos[0][4][0]
    assert route.local in ("127.0.0.1", "::1")


def test_route_to_a_name_that_does_not_resolve_says_so():
    route = route_family("order-host.invalid")
    assert route.family is None and route.local is None
    assert (route.reason or "").startswith("could not resolve order-host.invalid")
    assert route.describe().startswith("order-host.invalid cannot be reached: could not resolve")


def test_route_needs_a_host():
    with pytest.raises(ValueError, match="No host"):
        route_family("  ")
    with pytest.raises(ValueError, match=re.escape("Port 70000 for api.kite.trade is not between")):
        route_family("api.kite.trade", 70000)


# ---- check_static_ip ----------------------------------------------------------------------

KITE = "api.kite.trade"


def _route(family: int, local: str, remote: str) -> RouteChoice:
    return RouteChoice(KITE, 443, family, remote, local, (remote,))


def test_matching_ipv4_passes():
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6_reason="no IPv6 route")
    check = check_static_ip(["49.36.12.8"], seen, _route(4, "192.168.1.20", "104.18.1.1"))
    assert check.verdict is IpVerdict.OK and check.ok
    assert check.order_ip == "49.36.12.8"
    assert check.message.splitlines() == [
        "Order calls will come from 49.36.12.8, which is registered (this machine reaches "
        "api.kite.trade over IPv4).",
        "Outbound IPv4: 49.36.12.8 (registered)",
        "Outbound IPv6: none (no IPv6 route)",
        "Registered: 49.36.12.8",
        "Route: api.kite.trade is reached over IPv4 (104.18.1.1), from 192.168.1.20",
    ]


def test_ipv6_trap_ipv4_registered_but_the_machine_routes_ipv6():
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6="2402:3a80:1::5")
    route = _route(6, "2402:3a80:1::5", "2606:4700::6812:101")
    check = check_static_ip(["49.36.12.8"], seen, route)
    assert check.verdict is IpVerdict.IPV6_TRAP and not check.ok
    assert check.order_ip == "2402:3a80:1::5"
    assert check.headline == (
        "Order calls will be refused: this machine reaches api.kite.trade over IPv6 "
        "(2402:3a80:1::5), but only IPv4 is registered."
    )
    assert check.advice.startswith(ip_advice("2402:3a80:1::5", "49.36.12.8"))
    assert "Outbound IPv4: 49.36.12.8 (registered)" in check.details
    assert "Outbound IPv6: 2402:3a80:1::5 (not registered)" in check.details
    assert "What to do: Your machine used IPv6 (2402:3a80:1::5)" in check.message


def test_ipv6_trap_when_the_echo_service_failed_but_the_route_has_a_global_source():
    """IPv6 is not NATed: the route's source address is what the broker will see."""
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6_reason="api6.ipify.org did not answer")
    check = check_static_ip(["49.36.12.8"], seen, _route(6, "2402:3a80:1::5", "2606:4700::1"))
    assert check.verdict is IpVerdict.IPV6_TRAP
    assert check.order_ip == "2402:3a80:1::5"


def test_ipv6_trap_even_when_the_ipv6_address_itself_is_unknown():
    """A private (NAT66) source and no answer from the echo service: any IPv6 fails anyway."""
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6_reason="api6.ipify.org did not answer")
    check = check_static_ip(["49.36.12.8"], seen, _route(6, "fd00::2", "2606:4700::1"))
    assert check.verdict is IpVerdict.IPV6_TRAP and check.order_ip is None
    assert check.advice.startswith("Turn IPv6 off for this connection")
    assert "Route: api.kite.trade is reached over IPv6 (2606:4700::1), from fd00::2" in (
        check.details
    )


def test_a_failed_ipv4_lookup_on_an_ipv4_route_is_unknown():
    seen = OutboundAddresses(
        ipv4_reason="api.ipify.org did not answer within 5 s", ipv6="2402:3a80:1::5"
    )
    check = check_static_ip(["49.36.12.8"], seen, _route(4, "192.168.1.20", "104.18.1.1"))
    assert check.verdict is IpVerdict.UNKNOWN
    assert "could not be learned (api.ipify.org did not answer within 5 s)" in check.headline


def test_registered_ipv6_passes_with_a_note_that_it_may_change():
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6="2402:3a80:1::5")
    route = _route(6, "2402:3a80:1::5", "2606:4700::1")
    check = check_static_ip(["49.36.12.8", "2402:3A80:0001:0::5"], seen, route)
    assert check.verdict is IpVerdict.OK
    assert check.registered == ("49.36.12.8", "2402:3a80:1::5")
    assert "change IPv6" in check.advice


def test_mismatch_names_both_addresses_and_what_to_do():
    seen = OutboundAddresses(ipv4="49.36.12.9", ipv6_reason="no IPv6 route")
    check = check_static_ip(["49.36.12.8", "103.21.4.7"], seen, None)
    assert check.verdict is IpVerdict.MISMATCH
    assert check.order_ip == "49.36.12.9"
    assert check.advice == ip_advice("49.36.12.9", "49.36.12.8 or 103.21.4.7")
    assert "Outbound IPv4: 49.36.12.9 (not registered)" in check.details
    assert "Registered: 49.36.12.8, 103.21.4.7" in check.details


def test_a_changed_registered_ipv6_is_a_mismatch_not_the_trap():
    seen = OutboundAddresses(ipv6="2402:3a80:1::6")
    check = check_static_ip(["2402:3a80:1::5"], seen, None)
    assert check.verdict is IpVerdict.MISMATCH
    assert check.advice == ip_advice("2402:3a80:1::6", "2402:3a80:1::5")


def test_nothing_registered_is_unknown_and_says_what_to_register():
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6="2402:3a80:1::5")
    check = check_static_ip([], seen, None)
    assert check.verdict is IpVerdict.UNKNOWN
    assert check.advice.startswith("Register 49.36.12.8 or 2402:3a80:1::5 on the broker's")
    assert "Registered: none" in check.details
    assert "Outbound IPv4: 49.36.12.8" in check.details


def test_no_outbound_address_is_unknown_with_the_reasons():
    seen = OutboundAddresses(ipv4_reason="api.ipify.org did not answer within 5 s",
                             ipv6_reason="no IPv6 route")  # fmt: skip
    check = check_static_ip(["49.36.12.8"], seen, None)
    assert check.verdict is IpVerdict.UNKNOWN
    assert "Outbound IPv4: none (api.ipify.org did not answer within 5 s)" in check.details
    assert check.advice.startswith("Check the internet connection")


def test_both_families_without_a_route_cannot_be_decided():
    seen = OutboundAddresses(ipv4="49.36.12.8", ipv6="2402:3a80:1::5")
    check = check_static_ip(["49.36.12.8"], seen, None)
    assert check.verdict is IpVerdict.UNKNOWN
    assert "2402:3a80:1::5" in check.headline
    assert "turn IPv6 off" in check.advice


def test_through_the_proxy_the_route_from_this_machine_is_ignored():
    seen = OutboundAddresses(ipv4="198.51.100.7", via_proxy="http://10.0.0.2:3128")
    check = check_static_ip("198.51.100.7", seen, _route(6, "2402:3a80:1::5", "2606:4700::1"))
    assert check.verdict is IpVerdict.OK
    assert any(line.startswith("Order proxy: http://10.0.0.2:3128") for line in check.details)


def test_a_private_registered_address_gets_a_note():
    seen = OutboundAddresses(ipv4="49.36.12.8")
    check = check_static_ip("192.168.1.20, 49.36.12.8", seen, None)
    assert check.verdict is IpVerdict.OK
    assert any(line.startswith("Note: 192.168.1.20 is a private address") for line in check.details)


@pytest.mark.parametrize("bad", ["49.36.12", "49.36.12.8/32", "my-router", "2402:3a80::5::1"])
def test_a_registered_entry_that_is_not_an_ip_is_named(bad):
    says = re.escape(f"The registered IP '{bad}' is not an IP address")
    with pytest.raises(ValueError, match=says):
        check_static_ip(["49.36.12.8", bad], OutboundAddresses(ipv4="49.36.12.8"), None)


def test_outbound_addresses_are_validated_by_family():
    with pytest.raises(ValueError, match=re.escape("ipv6='49.36.12.8' is not an IPv6 address")):
        OutboundAddresses(ipv6="49.36.12.8")
    with pytest.raises(ValueError, match="is not an IPv6 address"):
        OutboundAddresses(ipv6="::ffff:49.36.12.8")  # IPv4-mapped: the broker saw IPv4
    assert OutboundAddresses(ipv4="::ffff:49.36.12.8").ipv4 == "49.36.12.8"


# ---- the broker's refusal -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "ip"),
    [
        ("IP (2402:3a80:1::5) is not allowed to place orders for this app. Add it to the IP "
         "whitelist on the Kite Connect developer console.", "2402:3a80:1::5"),
        ("IP (49.36.12.8) is not allowed to place orders for this app", "49.36.12.8"),
        ('{"status": "error", "message": "IP (2402:3A80:0001:0000::0005) is not allowed to '
         'place orders for this app", "data": null, "error_type": "PermissionException"}',
         "2402:3a80:1::5"),
        ("Request originated from unregistered IP 49.36.12.8. Please register your static IP "
         "on the Upstox developer console.", "49.36.12.8"),
        ("Your IP address [2402:3a80::9]:51234 is not whitelisted for order placement",
         "2402:3a80::9"),
        ("Order placement not allowed from IP: 103.21.4.7:443.", "103.21.4.7"),
        ("Static IP mismatch. Registered IP is 1.2.3.4, request IP was 5.6.7.8", "5.6.7.8"),
        ("IP ::ffff:49.36.12.8 is not allowed", "49.36.12.8"),
        ("IP mismatch (UDAPI1154): request from 2405:201:c00a:1::2a not in allowed list",
         "2405:201:c00a:1::2a"),
    ],
)  # fmt: skip
def test_the_ip_is_read_from_broker_messages(message, ip):
    assert parse_ip_from_broker_message(message) == ip


@pytest.mark.parametrize(
    "message",
    [
        "Insufficient funds. Required margin is 1040.50 but available margin is 100.00",
        "Market closed at 15:30:00; try again tomorrow",
        "Access denied: the registered IP is 49.36.12.8",
        "",
    ],
)
def test_no_ip_is_invented(message):
    assert parse_ip_from_broker_message(message) is None


def test_a_refusal_becomes_advice_about_ipv6():
    text = "IP (2402:3a80:1::5) is not allowed to place orders for this app"
    error = IpNotAllowed(text, broker="kite", ip=parse_ip_from_broker_message(text),
                         registered="49.36.12.8")  # fmt: skip
    assert "Your machine used IPv6 (2402:3a80:1::5)" in error.advice


# ---- the order proxy ----------------------------------------------------------------------


def test_order_proxy_gives_requests_proxies_for_orders_only():
    proxy = OrderProxy.parse("  https://Proxy.Example.com:3128 ")
    assert proxy == OrderProxy("https", "proxy.example.com", 3128)
    assert proxy.proxies == {
        "http": "https://proxy.example.com:3128",
        "https": "https://proxy.example.com:3128",
    }
    assert OrderProxy.parse("http://[2402:3a80::7]:8080").url == "http://[2402:3a80::7]:8080"
    assert OrderProxy.from_setting("") is None and OrderProxy.from_setting(None) is None


def test_order_proxy_keeps_the_password_out_of_sight():
    proxy = OrderProxy.parse("http://trader:s3cr%2Ft@10.0.0.2:3128")
    assert proxy.password == "s3cr/t"
    assert proxy.url == "http://trader:s3cr%2Ft@10.0.0.2:3128"
    assert str(proxy) == proxy.display == "http://trader:***@10.0.0.2:3128"
    assert "s3cr" not in repr(proxy)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("10.0.0.2:3128", "needs a scheme: write it as http://10.0.0.2:3128"),
        ("socks5://10.0.0.2:1080", "is a SOCKS proxy"),
        ("ftp://10.0.0.2:21", "must start with http:// or https://"),
        ("http://10.0.0.2", "has no port: add it, e.g. http://10.0.0.2:3128"),
        ("http://10.0.0.2:0", "has a bad port"),
        ("http://10.0.0.2:99999", "has a bad port"),
        ("http://10.0.0.2:port", "has a bad port"),
        ("http://:3128", "has no host"),
        ("http://proxy_host!:3128", "is not a valid host name"),
        ("http://10.0.0.2:3128/path", "has a path or query"),
        ("http://user:hunter22@10.0.0.2", "has no port"),
    ],
)
def test_bad_proxy_text_gets_a_clear_error(text, says):
    with pytest.raises(ValueError, match=None) as caught:
        OrderProxy.parse(text)
    assert says in str(caught.value)
    assert "hunter22" not in str(caught.value)


def test_requests_really_sends_an_order_call_through_the_proxy(serve):
    """The proxies mapping is the shape requests wants: an https-keyed order call would use it
    (shown with http here, as the fake proxy speaks plain HTTP)."""
    proxy_server = serve("127.0.0.1", _proxy_answer)
    proxy = OrderProxy.parse(f"http://127.0.0.1:{proxy_server.server_address[1]}")
    answer = requests.get("http://api-hft.upstox.example/v2/order/place", proxies=proxy.proxies,
                          timeout=3)  # fmt: skip
    assert answer.text == "198.51.100.7"
    assert proxy_server.seen[0][0] == "http://api-hft.upstox.example/v2/order/place"
