"""`artha broker`: add a broker account, log in through the browser, see its state, log out.

Secrets go to the OS keychain only: `add` reads the API secret from a hidden prompt (or from
standard input when it is not a terminal, for scripts), never from the command line where
the shell's history would keep it. Where no secure keychain exists Artha refuses, says how to
fix it and saves nothing. The account's other settings live in the workspace's
`settings/brokers.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

from app.commands.output import emit_json, fail, record_quietly
from brokers.accounts import AccountError, BrokerAccount, BrokerAccounts, BrokerKind
from brokers.credentials import (
    CredentialError,
    CredentialStore,
    Secret,
    require_secure_backend,
)
from brokers.hub import BrokerHub, token_left
from brokers.login_listener import LoginListenerError, parse_redirect_url
from brokers.network import (
    IPV4_URL,
    IPV6_URL,
    OutboundAddresses,
    RouteChoice,
    check_static_ip,
    outbound_addresses,
    route_family,
)
from brokers.registry import open_broker
from engine.broker.errors import BrokerError
from engine.broker.models import SessionInfo
from engine.bus import EventBus
from engine.domain.instrument import Instrument
from engine.ist import IST
from engine.workspace import Workspace, WorkspaceError

T = TypeVar("T")
COMMAND = "broker"


def _fail(message: str) -> int:
    return fail(COMMAND, message)


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.resolve(getattr(args, "workspace", None)).ensure()


def _named(args: argparse.Namespace) -> tuple[Workspace, BrokerAccounts, BrokerAccount]:
    """The workspace, its accounts and the one `args.account` names (AccountError if none)."""
    ws = _workspace(args)
    book = BrokerAccounts.load(ws.settings_dir)
    return ws, book, book.get(args.account)


def _read_secret(prompt: str) -> str:
    """A hidden prompt on a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def _hub(ws: Workspace, credentials: CredentialStore) -> BrokerHub:
    return BrokerHub(
        EventBus(), lambda account: open_broker(account, credentials=credentials, workspace=ws)
    )


def _run(coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(coroutine())


def expiry_text(expires_at: datetime | None, now: datetime | None = None) -> str:
    if expires_at is None:
        return "login needed"
    moment = now or datetime.now(UTC)
    if expires_at <= moment:
        return "session expired: log in again"
    local = expires_at.astimezone(IST)
    return f"logged in until {local:%H:%M} IST {local:%a %d %b}"


# -- add ------------------------------------------------------------------------------------
def _add(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    credentials = CredentialStore()
    kind = BrokerKind(args.kind)
    try:
        book = BrokerAccounts.load(ws.settings_dir)
        account = BrokerAccount(
            account_id=args.id or book.default_id(kind),
            kind=kind,
            label=args.label or "",
            redirect_port=args.redirect_port,
            redirect_path=args.redirect_path,
            registered_ips=tuple(args.ip or ()),
            order_proxy=args.proxy,
            market_protection=args.market_protection,
            algo_name=args.algo_name or "",
            paper_capital=args.capital,
            api_root=args.api_root or "",
            order_root=args.order_root or "",
            stream_root=args.stream_root or "",
        )
        book.add(account)
    except AccountError as exc:
        return _fail(str(exc))
    if kind.needs_login:
        if not args.api_key:
            return _fail(f"argument --api-key: {kind.display_name} needs the app's API key")
        try:
            require_secure_backend()
        except CredentialError as exc:
            return _fail(str(exc))
        secret = _read_secret(f"{kind.display_name} API secret (hidden): ")
        if not secret:
            return _fail("no API secret given; nothing was saved")
        try:
            credentials.save(account.credential_id, "api_key", args.api_key)
            credentials.save(account.credential_id, "api_secret", Secret(secret))
        except CredentialError as exc:
            credentials.forget_account(account.credential_id)
            return _fail(f"{exc}; nothing was saved")
    try:
        book.save()
    except OSError as exc:
        if kind.needs_login:
            credentials.forget_account(account.credential_id)
        return _fail(f"cannot write {book.path}: {exc.strerror or exc}; nothing was saved")
    record_quietly(20, f"artha broker add: {account.account_id} ({kind.value})")
    print(f"Added {account.account_id} ({kind.display_name}).")
    if kind.needs_login:
        print(
            f"Register this redirect URL for the app on the broker's developer console:\n"
            f"  {account.redirect_url}\n"
            f"Then log in: artha broker login {account.account_id}"
        )
    return 0


# -- login -----------------------------------------------------------------------------------
def _login(args: argparse.Namespace) -> int:
    ws, book, account = _named(args)
    credentials = CredentialStore()
    if not account.kind.needs_login:
        print(f"{account.account_id} is a paper account: it needs no login.")
        return 0
    hub = _hub(ws, credentials)

    def show(url: str) -> bool:
        print(f"Log in to {account.kind.display_name} in this page:\n  {url}", flush=True)
        return True

    async def login() -> SessionInfo:
        try:
            if args.paste:
                flow = hub.broker(account).login_flow()
                assert flow is not None
                from brokers.login_listener import new_state

                state = new_state()
                show(flow.url(state))
                pasted = input("Paste the address the browser ended on: ")
                params = parse_redirect_url(
                    pasted,
                    expected_path=account.redirect_path,
                    expected_state=state if flow.echoes_state else None,
                )
                return await hub.login(account, pasted_params=params)
            if args.no_browser:
                return await hub.login(account, open_browser=show, timeout=args.timeout)
            print(f"Opening the {account.kind.display_name} login page in your browser...")
            return await hub.login(account, timeout=args.timeout)
        finally:
            await hub.close()

    try:
        session = _run(login)
    except (BrokerError, LoginListenerError, CredentialError) as exc:
        return _fail(str(exc))
    except (EOFError, KeyboardInterrupt):
        return _fail("login abandoned; nothing was changed")
    book.with_user(account.account_id, session.user_id)
    with contextlib.suppress(OSError):  # the user id is a convenience; the session is kept
        book.save()
    print(
        f"Logged in to {account.kind.display_name} as {session.user_name} ({session.user_id}); "
        f"{expiry_text(session.expires_at)}."
    )
    return 0


# -- status / list ---------------------------------------------------------------------------
def _token_state(credentials: CredentialStore, account: BrokerAccount) -> str:
    if not account.kind.needs_login:
        return "no login needed"
    try:
        return expiry_text(credentials.token_expiry(account.credential_id))
    except CredentialError as exc:
        return f"keychain unavailable ({exc})"


def _list(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    credentials = CredentialStore()
    try:
        book = BrokerAccounts.load(ws.settings_dir)
    except AccountError as exc:
        return _fail(str(exc))
    rows = [
        {
            "account": a.account_id,
            "broker": a.kind.value,
            "label": a.label,
            "user_id": a.user_id,
            "session": _token_state(credentials, a),
            "redirect_url": a.redirect_url if a.kind.needs_login else "",
        }
        for a in book.accounts.values()
    ]
    if args.json is not None:
        code = emit_json(COMMAND, args.json, json.dumps({"accounts": rows}, indent=2) + "\n")
        if code is not None or args.json == "-":
            return code or 0
    if not rows:
        print("No broker accounts yet: artha broker add zerodha|upstox|paper")
        return 0
    for row in rows:
        user = f" · {row['user_id']}" if row["user_id"] else ""
        label = f" ({row['label']})" if row["label"] else ""
        broker = BrokerKind(row["broker"]).display_name
        print(f"{row['account']}{label}: {broker}{user} · {row['session']}")
    return 0


def _status(args: argparse.Namespace) -> int:
    ws, _, account = _named(args)
    credentials = CredentialStore()
    hub = _hub(ws, credentials)

    async def status() -> dict[str, Any]:
        try:
            session = await hub.connect(account)
            broker = hub.broker(account)
            profile = await broker.profile()
            funds = await broker.funds()
            positions = await broker.positions()
            orders = await broker.orders()
        finally:
            await hub.close()
        return {
            "account": account.account_id,
            "broker": account.kind.value,
            "user_id": profile.user_id,
            "user_name": profile.user_name,
            "session_expires_at": session.expires_at.isoformat(),
            "session_left": token_left(session),
            "funds": {
                "available": str(funds.available),
                "used_margin": str(funds.used_margin),
                "cash": str(funds.cash),
            },
            "open_positions": sum(1 for p in positions if p.position.quantity),
            "orders_today": len(orders),
        }

    try:
        report = _run(status)
    except (BrokerError, CredentialError) as exc:
        return _fail(str(exc))
    if args.json is not None:
        code = emit_json(COMMAND, args.json, json.dumps(report, indent=2) + "\n")
        if code is not None or args.json == "-":
            return code or 0
    funds = report["funds"]
    session = f"; session ends in {report['session_left']}" if account.kind.needs_login else ""
    print(
        f"{account.title}: connected as {report['user_name']} ({report['user_id']})"
        f"{session}.\n"
        f"Funds: available ₹{Decimal(funds['available']):,.2f}, used margin "
        f"₹{Decimal(funds['used_margin']):,.2f}. Open positions: {report['open_positions']}; "
        f"orders today: {report['orders_today']}."
    )
    return 0


# -- logout / remove --------------------------------------------------------------------------
def _logout(args: argparse.Namespace) -> int:
    ws, _, account = _named(args)
    credentials = CredentialStore()
    hub = _hub(ws, credentials)

    async def logout() -> str:
        try:
            await hub.broker(account).logout()
            return "the session was ended at the broker and forgotten here"
        except BrokerError as exc:
            credentials.forget_token(account.credential_id)
            return f"the session was forgotten here (the broker said: {exc.message})"
        finally:
            await hub.close()

    try:
        said = _run(logout)
    except CredentialError as exc:
        return _fail(str(exc))
    print(f"Logged out of {account.account_id}: {said}.")
    return 0


def _remove(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    credentials = CredentialStore()
    try:
        book = BrokerAccounts.load(ws.settings_dir)
        account = book.remove(args.account)
        if account.kind.needs_login:
            credentials.forget_account(account.credential_id)
        book.save()
    except (AccountError, CredentialError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the accounts file: {exc.strerror or exc}")
    if account.kind.needs_login:
        print(f"Removed {account.account_id}; its keys and session are gone from the keychain.")
    elif not (ws.root / "paper" / f"{account.account_id}.jsonl").exists():
        print(f"Removed {account.account_id}.")
    else:
        print(
            f"Removed {account.account_id}; its paper journal stays in "
            f"{ws.root / 'paper'} (add the account again to carry on with it)."
        )
    return 0


def _instruments(args: argparse.Namespace) -> int:
    """The broker's instruments dump (contracts with their tokens, lots, ticks, expiries)
    into the workspace's store; brokers regenerate it daily, so run it each morning."""
    from app.commands.workspace_store import CommandError, workspace_store
    from engine.domain.enums import Exchange

    credentials = CredentialStore()
    exchange = Exchange(args.exchange) if args.exchange else None
    try:
        with workspace_store(args) as (ws, store):
            account = BrokerAccounts.load(ws.settings_dir).get(args.account)
            if not account.kind.needs_login:
                return _fail(f"{account.account_id} is a paper account: it has no dump")
            hub = _hub(ws, credentials)

            async def dump() -> list[Instrument]:
                try:
                    await hub.connect(account)
                    return await hub.broker(account).instruments(exchange)
                finally:
                    await hub.close()

            instruments = _run(dump)
            where = exchange.value if exchange else "all exchanges"
            added = store.write_instruments(
                instruments, f"{account.kind.display_name} instruments ({where})"
            )
    except (AccountError, CommandError, CredentialError, BrokerError) as exc:
        return _fail(str(exc))
    print(
        f"Stored {len(instruments)} instruments of {account.kind.display_name} ({where}): "
        f"{added} new, the rest updated."
    )
    return 0


ORDER_HOSTS = {BrokerKind.ZERODHA: "api.kite.trade", BrokerKind.UPSTOX: "api-hft.upstox.com"}


def order_host(account: BrokerAccount) -> str | None:
    """Where the account's order calls go (the static-IP rule applies to these)."""
    root = account.order_root or account.api_root
    if root:
        return urlsplit(root).hostname
    return ORDER_HOSTS.get(account.kind)


def _check_ip(args: argparse.Namespace) -> int:
    _, _, account = _named(args)
    host = order_host(account)
    if host is None:
        print(f"{account.account_id} is a paper account: no static IP is needed.")
        return 0

    async def look() -> tuple[OutboundAddresses, RouteChoice | None]:
        seen = await outbound_addresses(
            ipv4_url=args.ipv4_url, ipv6_url=args.ipv6_url, proxy=account.order_proxy
        )
        route = None if account.order_proxy else await asyncio.to_thread(route_family, host)
        return seen, route

    seen, route = _run(look)
    try:
        check = check_static_ip(account.registered_ips, seen, route)
    except ValueError as exc:
        return _fail(str(exc))
    print(check.message)
    return 0 if check.ok else 1


def run(args: argparse.Namespace) -> int:
    actions = {
        "add": _add,
        "list": _list,
        "login": _login,
        "status": _status,
        "logout": _logout,
        "remove": _remove,
        "check-ip": _check_ip,
        "instruments": _instruments,
    }
    try:
        return actions[args.broker_command](args)
    except (WorkspaceError, AccountError) as exc:
        return _fail(str(exc))


def _port(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None


def _percent(text: str) -> Decimal | None:
    if text.strip().lower() in ("auto", "automatic"):
        return None
    try:
        return Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(
            f"market protection is 'auto' or a percentage, got {text!r}"
        ) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broker = subparsers.add_parser(
        "broker", help="broker accounts: add, log in, status, log out (secrets: OS keychain)"
    )
    commands = broker.add_subparsers(dest="broker_command", metavar="ACTION", required=True)

    add = commands.add_parser(
        "add",
        help="add a Zerodha, Upstox or paper account (the API secret is asked for, hidden)",
    )
    add.add_argument("kind", choices=[k.value for k in BrokerKind], help="which broker")
    add.add_argument("--id", help="account id (default: the broker's name)")
    add.add_argument("--label", help="a name for people, e.g. 'Main'")
    add.add_argument("--api-key", help="the app's API key from the broker's developer console")
    add.add_argument("--redirect-port", type=_port, default=5010, metavar="PORT")
    add.add_argument("--redirect-path", default="/artha/login", metavar="PATH")
    add.add_argument(
        "--ip", action="append", metavar="IP", help="a static IP registered for order calls"
    )
    add.add_argument("--proxy", metavar="URL", help="an HTTPS proxy for order calls only")
    add.add_argument(
        "--market-protection", type=_percent, metavar="PCT", help="'auto' (default) or a %%"
    )
    add.add_argument("--algo-name", help="Upstox: the algo name sent as X-Algo-Name")
    add.add_argument(
        "--capital", type=Decimal, default=Decimal("1000000"), help="paper: starting cash"
    )
    for name, what in (("api", "REST"), ("order", "order"), ("stream", "market-data")):
        add.add_argument(
            f"--{name}-root",
            metavar="URL",
            help=f"the broker's {what} address when not its public one (a sandbox)",
        )

    lst = commands.add_parser("list", help="the accounts and their sessions")
    lst.add_argument("--json", metavar="PATH", help="also write JSON ('-' for stdout)")

    login = commands.add_parser("login", help="log in through the browser (daily)")
    login.add_argument("account")
    login.add_argument(
        "--paste",
        action="store_true",
        help="paste the address the browser ended on instead of catching it on 127.0.0.1",
    )
    login.add_argument(
        "--no-browser", action="store_true", help="print the login URL instead of opening it"
    )
    login.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")

    status = commands.add_parser("status", help="connect with the stored session and report")
    status.add_argument("account")
    status.add_argument("--json", metavar="PATH", help="also write JSON ('-' for stdout)")

    logout = commands.add_parser("logout", help="end the session and forget its token")
    logout.add_argument("account")

    remove = commands.add_parser("remove", help="forget the account and its keychain secrets")
    remove.add_argument("account")

    dump = commands.add_parser(
        "instruments", help="store the broker's instruments list (tokens, lots, expiries)"
    )
    dump.add_argument("account")
    dump.add_argument("--exchange", choices=["NSE", "BSE", "NFO", "BFO"], help="one exchange")

    check = commands.add_parser(
        "check-ip",
        help="will order calls pass the static-IP rule? (outbound IPv4/IPv6 vs registered)",
    )
    check.add_argument("account")
    check.add_argument("--ipv4-url", default=IPV4_URL, help=argparse.SUPPRESS)
    check.add_argument("--ipv6-url", default=IPV6_URL, help=argparse.SUPPRESS)
    broker.set_defaults(func=run)
