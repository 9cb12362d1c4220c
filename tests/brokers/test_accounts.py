"""Broker accounts in the workspace: validated, atomic, and never holding a secret."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from brokers.accounts import AccountError, BrokerAccount, BrokerAccounts, BrokerKind


def test_accounts_round_trip_through_the_workspace_file(tmp_path: Path):
    book = BrokerAccounts.load(tmp_path)
    assert book.accounts == {}
    zerodha = BrokerAccount(
        account_id=book.default_id(BrokerKind.ZERODHA),
        kind=BrokerKind.ZERODHA,
        label="Main",
        registered_ips=(" 49.36.12.7 ", "2402:3a80::5"),
        market_protection=Decimal("2.5"),
    )
    book.add(zerodha)
    book.add(BrokerAccount(account_id=book.default_id(BrokerKind.ZERODHA), kind="zerodha"))
    book.add(BrokerAccount(account_id="paper", kind=BrokerKind.PAPER, paper_capital="500000"))
    book.save()
    again = BrokerAccounts.load(tmp_path)
    assert list(again.accounts) == ["zerodha", "zerodha-2", "paper"]
    assert again.get("zerodha") == zerodha
    assert again.get("zerodha").registered_ips == ("49.36.12.7", "2402:3a80::5")
    assert again.get("paper").paper_capital == Decimal("500000")
    assert again.get("zerodha").redirect_url == "http://127.0.0.1:5010/artha/login"
    assert not list(tmp_path.glob("*.tmp"))
    again.with_user("zerodha", "AB1234")
    again.remove("zerodha-2")
    again.save()
    assert list(BrokerAccounts.load(tmp_path).accounts) == ["zerodha", "paper"]
    assert BrokerAccounts.load(tmp_path).get("zerodha").user_id == "AB1234"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"account_id": "Main Account"}, "account id 'Main Account'"),
        ({"kind": "icici"}, "broker 'icici' is not one Artha knows"),
        ({"redirect_port": 80}, "redirect port must be 1024-65535"),
        ({"redirect_path": "login"}, "redirect path must start with '/'"),
        ({"registered_ips": ("49.36.12",)}, "registered IP '49.36.12'"),
        ({"market_protection": Decimal("0")}, "market protection must be a percentage"),
        ({"market_protection": "lots"}, "market protection 'lots' is not a number"),
        ({"paper_capital": "-5"}, "paper capital must be positive"),
        ({"order_proxy": "proxy.example.com:3128"}, "order proxy must look like https://"),
        ({"api_root": "127.0.0.1:9000"}, "api root must be a http"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(fields: dict[str, object], message: str):
    base: dict[str, object] = {"account_id": "zerodha", "kind": "zerodha"}
    with pytest.raises(AccountError, match=message.replace("(", r"\(").replace(")", r"\)")):
        BrokerAccount(**(base | fields))  # type: ignore[arg-type]


def test_a_damaged_accounts_file_is_named_with_the_fix(tmp_path: Path):
    (tmp_path / "brokers.json").write_text('{"accounts": [{"account_id": "x"', encoding="utf-8")
    with pytest.raises(AccountError, match=r"brokers\.json cannot be read .* fix or remove it"):
        BrokerAccounts.load(tmp_path)
    (tmp_path / "brokers.json").write_text(json.dumps({"accounts": {}}), encoding="utf-8")
    with pytest.raises(AccountError, match="'accounts' is not a list"):
        BrokerAccounts.load(tmp_path)


def test_unknown_accounts_and_duplicates_are_refused(tmp_path: Path):
    book = BrokerAccounts.load(tmp_path)
    book.add(BrokerAccount(account_id="upstox", kind=BrokerKind.UPSTOX))
    with pytest.raises(AccountError, match="exists already"):
        book.add(BrokerAccount(account_id="upstox", kind=BrokerKind.UPSTOX))
    with pytest.raises(AccountError, match=r"no broker account 'kite' \(accounts: upstox\)"):
        book.get("kite")


def test_the_file_holds_no_field_that_could_carry_a_secret(tmp_path: Path):
    book = BrokerAccounts.load(tmp_path)
    book.add(BrokerAccount(account_id="zerodha", kind=BrokerKind.ZERODHA))
    book.save()
    keys = set(json.loads((tmp_path / "brokers.json").read_text())["accounts"][0])
    assert not {k for k in keys if any(w in k for w in ("key", "secret", "token", "password"))}
