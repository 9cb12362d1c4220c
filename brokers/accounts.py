"""The trader's broker accounts: everything about them that is not a secret.

Kept in the workspace's `settings/brokers.json` (which broker, a label, the login redirect the
trader registered, the static IPs registered for order calls, an order proxy, market
protection, Upstox's algo name). API keys, secrets and tokens are never here: they live in the
OS keychain (`brokers.credentials`), keyed by the account id. Writes are atomic (a temp file
then a rename), so a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from brokers.credentials import make_account_id

ACCOUNTS_FILE: Final = "brokers.json"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_PATH = re.compile(r"^/[A-Za-z0-9/_.-]*$")


class BrokerKind(StrEnum):
    ZERODHA = "zerodha"
    UPSTOX = "upstox"
    PAPER = "paper"

    @property
    def display_name(self) -> str:
        return {"zerodha": "Zerodha Kite", "upstox": "Upstox", "paper": "Paper"}[self.value]

    @property
    def needs_login(self) -> bool:
        return self is not BrokerKind.PAPER


class AccountError(ValueError):
    """A broker account setting that cannot be used, named with its field."""


DEFAULT_REDIRECT_PORT: Final = 5010
DEFAULT_REDIRECT_PATH: Final = "/artha/login"
DEFAULT_PAPER_CAPITAL: Final = Decimal("1000000")


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerAccount:
    """One account. `account_id` keys its secrets in the keychain and its paper journal."""

    account_id: str
    kind: BrokerKind
    label: str = ""
    redirect_port: int = DEFAULT_REDIRECT_PORT
    redirect_path: str = DEFAULT_REDIRECT_PATH
    registered_ips: tuple[str, ...] = ()
    order_proxy: str | None = None
    market_protection: Decimal | None = None  # None: the broker's automatic protection
    algo_name: str = ""  # Upstox: sent as X-Algo-Name on order calls when set
    paper_capital: Decimal = DEFAULT_PAPER_CAPITAL
    user_id: str = ""  # the broker's client id, learned at the first login
    # Where the broker's API lives, when not at its public address: Upstox's sandbox for
    # orders, or the fake servers of Artha's own tests. Empty: the broker's production hosts.
    api_root: str = ""
    order_root: str = ""
    stream_root: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _kind(self.kind))
        if not isinstance(self.account_id, str) or not _ID.match(self.account_id):
            raise AccountError(
                f"account id {self.account_id!r}: use 1-40 lower-case letters, digits, '-' or "
                "'_', starting with a letter or digit (e.g. zerodha-main)"
            )
        if not isinstance(self.redirect_port, int) or not 1024 <= self.redirect_port <= 65535:
            raise AccountError(
                f"{self.account_id}: redirect port must be 1024-65535, got {self.redirect_port!r}"
            )
        if not isinstance(self.redirect_path, str) or not _PATH.match(self.redirect_path):
            raise AccountError(
                f"{self.account_id}: redirect path must start with '/' and hold only letters, "
                f"digits and / _ . -, got {self.redirect_path!r}"
            )
        ips = tuple(str(ip).strip() for ip in self.registered_ips)
        for ip in ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise AccountError(
                    f"{self.account_id}: registered IP {ip!r} is not an IPv4 or IPv6 address"
                ) from None
        object.__setattr__(self, "registered_ips", ips)
        if self.market_protection is not None:
            mp = _decimal(self.market_protection, "market protection", self.account_id)
            if not Decimal(0) < mp <= Decimal(100):
                raise AccountError(
                    f"{self.account_id}: market protection must be a percentage above 0 and at "
                    f"most 100 (or empty for automatic), got {mp}"
                )
            object.__setattr__(self, "market_protection", mp)
        capital = _decimal(self.paper_capital, "paper capital", self.account_id)
        if capital <= 0:
            raise AccountError(f"{self.account_id}: paper capital must be positive, got {capital}")
        object.__setattr__(self, "paper_capital", capital)
        for name in ("api_root", "order_root", "stream_root"):
            value = getattr(self, name)
            if value and not re.match(r"^(https?|wss?)://[^\s]+$", value):
                raise AccountError(
                    f"{self.account_id}: {name.replace('_', ' ')} must be a http(s) or ws(s) "
                    f"URL, got {value!r}"
                )
        if self.order_proxy is not None and not re.match(r"^https?://[^\s/]+$", self.order_proxy):
            raise AccountError(
                f"{self.account_id}: order proxy must look like https://host:port, "
                f"got {self.order_proxy!r}"
            )

    @property
    def redirect_url(self) -> str:
        """The URL to register as the app's redirect URL on the broker's developer console."""
        return f"http://127.0.0.1:{self.redirect_port}{self.redirect_path}"

    @property
    def credential_id(self) -> str:
        """Its key in the keychain (`CredentialStore`): "zerodha/main"."""
        return make_account_id(self.kind.value, self.account_id)

    @property
    def title(self) -> str:
        return f"{self.kind.display_name} · {self.label or self.account_id}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["registered_ips"] = list(self.registered_ips)
        data["market_protection"] = (
            None if self.market_protection is None else str(self.market_protection)
        )
        data["paper_capital"] = str(self.paper_capital)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BrokerAccount:
        known = {f for f in cls.__dataclass_fields__}
        fields = {k: v for k, v in data.items() if k in known}
        fields["registered_ips"] = tuple(fields.get("registered_ips") or ())
        return cls(**fields)


def _kind(value: object) -> BrokerKind:
    try:
        return BrokerKind(str(value))
    except ValueError:
        names = ", ".join(k.value for k in BrokerKind)
        raise AccountError(f"broker {value!r} is not one Artha knows ({names})") from None


def _decimal(value: object, name: str, account_id: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise AccountError(f"{account_id}: {name} {value!r} is not a number") from None


@dataclass
class BrokerAccounts:
    """The accounts file of one workspace."""

    path: Path
    accounts: dict[str, BrokerAccount] = field(default_factory=dict)

    @classmethod
    def load(cls, settings_dir: Path) -> BrokerAccounts:
        path = settings_dir / ACCOUNTS_FILE
        book = cls(path)
        if not path.exists():
            return book
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = raw["accounts"]
            if not isinstance(entries, list):
                raise TypeError("'accounts' is not a list")
            for entry in entries:
                account = BrokerAccount.from_json(entry)
                book.accounts[account.account_id] = account
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AccountError(
                f"{path} cannot be read ({exc}); fix or remove it, then add the accounts again "
                "(their secrets stay in the keychain)"
            ) from None
        return book

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": 1, "accounts": [a.to_json() for a in self.accounts.values()]}
        temp = self.path.with_suffix(".json.tmp")
        temp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, self.path)

    def get(self, account_id: str) -> BrokerAccount:
        try:
            return self.accounts[account_id]
        except KeyError:
            known = ", ".join(self.accounts) or "none yet"
            raise AccountError(
                f"no broker account {account_id!r} (accounts: {known}); add one with "
                "`artha broker add zerodha|upstox|paper` or in Settings ▸ Brokers"
            ) from None

    def add(self, account: BrokerAccount) -> None:
        if account.account_id in self.accounts:
            raise AccountError(f"a broker account {account.account_id!r} exists already")
        self.accounts[account.account_id] = account

    def update(self, account: BrokerAccount) -> None:
        self.get(account.account_id)
        self.accounts[account.account_id] = account

    def remove(self, account_id: str) -> BrokerAccount:
        account = self.get(account_id)
        del self.accounts[account_id]
        return account

    def default_id(self, kind: BrokerKind) -> str:
        """A free id for a new account of `kind`: "zerodha", then "zerodha-2", ..."""
        base = kind.value
        if base not in self.accounts:
            return base
        n = 2
        while f"{base}-{n}" in self.accounts:
            n += 1
        return f"{base}-{n}"

    def with_user(self, account_id: str, user_id: str) -> BrokerAccount:
        """Remember the broker's client id learned at login."""
        account = replace(self.get(account_id), user_id=user_id)
        self.accounts[account_id] = account
        return account
