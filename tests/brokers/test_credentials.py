"""Credentials live only in a secure keyring; Secret never shows its value (issue 15 item 6)."""

from __future__ import annotations

import copy
import json
import pickle
import secrets
import traceback
from datetime import UTC, datetime, timedelta

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from brokers import redaction
from brokers.credentials import (
    FIELDS,
    IST,
    CredentialError,
    CredentialStore,
    InsecureKeyringError,
    Secret,
    daily_expiry,
    insecure_backend_problem,
    make_account_id,
    require_secure_backend,
)
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.memory_keyring import MemoryKeyring, installed

memory_keyring = fake_keyring.memory_keyring  # the fixture, for this module's tests

ACCOUNT = "zerodha/main"


def fresh(prefix: str = "secret") -> str:
    """A value no other test has used, so redaction cannot pass by an earlier registration."""
    return f"{prefix}-{secrets.token_hex(12)}"


# --- Secret -------------------------------------------------------------------------------


def test_a_secret_never_shows_its_value():
    value = fresh()
    s = Secret(value)
    shown = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>30}", repr([s]), str({1: s})]
    shown.append("%s %r" % (s, s))  # noqa: UP031 (the old way, as logging does it)
    assert all(value not in text for text in shown)
    assert repr(s) == "Secret('***')"
    assert s.reveal() == value


def test_a_secret_is_absent_from_exception_text_and_tracebacks():
    value = fresh()
    s = Secret(value)
    try:
        raise ValueError(f"login failed with {s} ({s!r})")
    except ValueError as exc:
        text = "".join(traceback.format_exception(exc))
        assert "Secret('***')" in text
        assert value not in text
        assert value not in str(exc)


def test_secrets_compare_by_value_and_hash_alike():
    value = fresh()
    assert Secret(value) == Secret(value)
    assert Secret(value) != Secret(value + "x")
    assert Secret(value) != value  # never equal to the bare string
    assert len({Secret(value), Secret(value)}) == 1


def test_a_secret_refuses_pickling_and_copies_are_itself():
    value = fresh()
    s = Secret(value)
    with pytest.raises(TypeError, match="cannot be pickled") as info:
        pickle.dumps(s)
    assert value not in str(info.value)
    assert copy.copy(s) is s
    assert copy.deepcopy({"k": s})["k"] is s


def test_a_secret_registers_its_value_for_redaction():
    value = fresh()
    Secret(value)
    assert redaction.redact(f"token {value} sent") == "token *** sent"


def test_a_secret_holds_only_text():
    with pytest.raises(TypeError, match="not bytes"):
        Secret(b"raw")  # type: ignore[arg-type]


# --- the store on a secure backend ----------------------------------------------------------


def test_save_and_load_round_trip_under_artha_keys(memory_keyring):
    store = CredentialStore()
    api_key, api_secret = fresh("key"), fresh("sec")
    store.save(ACCOUNT, "api_key", api_key)
    store.save(ACCOUNT, "api_secret", Secret(api_secret))
    assert memory_keyring.entries == {
        ("Artha", "zerodha/main/api_key"): api_key,
        ("Artha", "zerodha/main/api_secret"): api_secret,
    }
    loaded = store.load(ACCOUNT, "api_secret")
    assert isinstance(loaded, Secret)
    assert loaded.reveal() == api_secret
    assert store.load(ACCOUNT, "refresh_token") is None
    assert store.load("upstox/main", "api_secret") is None


def test_a_pasted_value_loses_its_surrounding_blanks_and_quotes(memory_keyring):
    store = CredentialStore()
    value = fresh()
    store.save(ACCOUNT, "api_secret", f'  "{value}"\n')
    loaded = store.load(ACCOUNT, "api_secret")
    assert loaded is not None and loaded.reveal() == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("   ", "zerodha/main api_secret is empty"),
        ("abc", "zerodha/main api_secret is only 3 characters"),
        ("abcdef\nghijkl", "zerodha/main api_secret contains a line break"),
    ],
)
def test_implausible_values_are_refused_naming_account_and_field(memory_keyring, value, message):
    with pytest.raises(CredentialError, match=message) as info:
        CredentialStore().save(ACCOUNT, "api_secret", value)
    assert value.strip() not in str(info.value) or not value.strip()
    assert memory_keyring.entries == {}


def test_unknown_fields_and_bad_account_ids_are_refused_clearly(memory_keyring):
    store = CredentialStore()
    with pytest.raises(ValueError, match="unknown credential field 'api-secret'"):
        store.save(ACCOUNT, "api-secret", fresh())
    with pytest.raises(ValueError, match="use save_token/load_token"):
        store.save(ACCOUNT, "access_token", fresh())
    for bad in ["zerodha", "Zerodha/main", "zerodha/", "zerodha/a/b", "zerodha/main\n"]:
        with pytest.raises(ValueError, match="must look like '<broker>/<account label>'"):
            store.load(bad, "api_key")
    assert make_account_id(" Zerodha ", " my main ") == "zerodha/my main"


def test_delete_and_forget_account(memory_keyring):
    store = CredentialStore()
    for field in ("api_key", "api_secret"):
        store.save(ACCOUNT, field, fresh())
        store.save("upstox/main", field, fresh())
    store.save_token(ACCOUNT, fresh("tok"), datetime.now(UTC) + timedelta(hours=1))
    assert store.delete(ACCOUNT, "api_key") is True
    assert store.delete(ACCOUNT, "api_key") is False
    assert store.forget_account(ACCOUNT) == ["api_secret", "access_token"]
    assert store.forget_account(ACCOUNT) == []
    assert {user for _, user in memory_keyring.entries} == {
        "upstox/main/api_key",
        "upstox/main/api_secret",
    }
    assert "api_key" in FIELDS and "access_token" in FIELDS


def test_saved_and_loaded_values_are_registered_for_redaction(memory_keyring):
    store = CredentialStore()
    saved = fresh()
    store.save(ACCOUNT, "api_secret", saved)
    assert redaction.is_remembered(saved)
    stored_earlier = fresh()  # as if written by an earlier run of Artha
    memory_keyring.entries[("Artha", "zerodha/main/api_key")] = stored_earlier
    assert not redaction.is_remembered(stored_earlier)
    store.load(ACCOUNT, "api_key")
    assert redaction.is_remembered(stored_earlier)


# --- tokens and their expiry ------------------------------------------------------------------


def test_a_token_is_returned_until_it_expires_then_deleted(memory_keyring):
    store = CredentialStore()
    token = fresh("tok")
    issued = datetime(2026, 12, 7, 9, 5, tzinfo=IST)
    expires = daily_expiry(issued)
    assert expires == datetime(2026, 12, 8, 6, 0, tzinfo=IST)
    store.save_token(ACCOUNT, token, expires)
    assert store.token_expiry(ACCOUNT) == expires
    loaded = store.load_token(ACCOUNT, issued + timedelta(hours=20))
    assert loaded is not None and loaded.reveal() == token
    assert store.load_token(ACCOUNT, expires) is None  # at 06:00 it is gone
    assert memory_keyring.entries == {}
    assert store.token_expiry(ACCOUNT) is None


def test_forget_token_is_the_logout(memory_keyring):
    store = CredentialStore()
    store.save_token(ACCOUNT, fresh("tok"), datetime.now(UTC) + timedelta(hours=3))
    assert store.forget_token(ACCOUNT) is True
    assert store.load_token(ACCOUNT, datetime.now(UTC)) is None
    assert store.forget_token(ACCOUNT) is False
    with pytest.raises(CredentialError, match="zerodha/main access_token is empty"):
        store.save_token(ACCOUNT, "", datetime.now(UTC))  # not a way to log out


def test_the_stored_token_entry_is_the_token_with_its_expiry(memory_keyring):
    store = CredentialStore()
    token = fresh("tok")
    expires = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)
    store.save_token(ACCOUNT, Secret(token), expires)
    entry = json.loads(memory_keyring.entries[("Artha", "zerodha/main/access_token")])
    assert entry == {"token": token, "expires_at": "2026-12-08T00:30:00+00:00"}


def test_an_unreadable_token_entry_is_dropped(memory_keyring):
    memory_keyring.entries[("Artha", "zerodha/main/access_token")] = "not json at all"
    assert CredentialStore().load_token(ACCOUNT, datetime.now(UTC)) is None
    assert memory_keyring.entries == {}


def test_token_times_must_be_timezone_aware(memory_keyring):
    store = CredentialStore()
    with pytest.raises(ValueError, match="expires_at must be a timezone-aware datetime"):
        store.save_token(ACCOUNT, fresh(), datetime(2026, 12, 8, 6, 0))
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        store.load_token(ACCOUNT, datetime(2026, 12, 8, 6, 0))


def test_daily_expiry_is_the_next_six_o_clock_ist():
    assert daily_expiry(datetime(2026, 12, 7, 2, 0, tzinfo=IST)) == datetime(
        2026, 12, 7, 6, 0, tzinfo=IST
    )
    assert daily_expiry(datetime(2026, 12, 7, 6, 0, tzinfo=IST)) == datetime(
        2026, 12, 8, 6, 0, tzinfo=IST
    )
    # 23:00 UTC on the 6th is 04:30 IST on the 7th
    assert daily_expiry(datetime(2026, 12, 6, 23, 0, tzinfo=UTC)) == datetime(
        2026, 12, 7, 6, 0, tzinfo=IST
    )
    assert daily_expiry(datetime(2026, 12, 7, 9, 0, tzinfo=IST), hour=3, minute=30) == datetime(
        2026, 12, 8, 3, 30, tzinfo=IST
    )


# --- refusing insecure backends -----------------------------------------------------------------


class PlaintextKeyring(KeyringBackend):
    """Shaped like keyrings.alt.file.PlaintextKeyring: a file, priority 0.5, so "viable"."""

    priority = 0.5
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password


class EncryptedKeyring(PlaintextKeyring):
    """A class named like a secure one but from keyrings.alt's module (an encrypted file)."""


EncryptedKeyring.__module__ = "keyrings.alt.file"


class EmptyChain(chainer.ChainerBackend):
    """A chainer that found nothing to chain (keyring on a box with no backend)."""

    backends = []  # noqa: RUF012
    viable = False  # the test backends here are never picked by keyring's discovery


class ChainOf(chainer.ChainerBackend):
    backends: list[KeyringBackend] = []  # noqa: RUF012
    viable = False


def test_test_backends_are_never_chosen_by_keyrings_discovery():
    viable = set(KeyringBackend.get_viable_backends())
    assert not viable & {MemoryKeyring, PlaintextKeyring, EncryptedKeyring, EmptyChain, ChainOf}


def insecure_cases() -> list[tuple[KeyringBackend, str]]:
    return [
        (fail.Keyring(), "keyring.backends.fail.Keyring"),
        (null.Keyring(), "keyring.backends.null.Keyring"),
        (PlaintextKeyring(), "PlaintextKeyring"),
        (EncryptedKeyring(), "keyrings.alt.file.EncryptedKeyring"),
        (EmptyChain(), "EmptyChain has no usable backends"),
    ]


@pytest.mark.parametrize("case", range(5))
def test_every_operation_is_refused_on_an_insecure_backend(case):
    backend, named = insecure_cases()[case]
    store = CredentialStore()
    value = fresh()
    operations = [
        lambda: store.save(ACCOUNT, "api_secret", value),
        lambda: store.load(ACCOUNT, "api_secret"),
        lambda: store.delete(ACCOUNT, "api_secret"),
        lambda: store.forget_account(ACCOUNT),
        lambda: store.save_token(ACCOUNT, value, datetime.now(UTC) + timedelta(hours=1)),
        lambda: store.load_token(ACCOUNT, datetime.now(UTC)),
    ]
    with installed(backend):
        for operation in operations:
            with pytest.raises(InsecureKeyringError) as info:
                operation()
            message = str(info.value)
            assert named in message
            assert "sudo apt install gnome-keyring" in message
            assert "python -m keyring --list-backends" in message
            assert "macOS Keychain and Windows Credential Locker" in message
            assert value not in message
    if isinstance(backend, PlaintextKeyring):
        assert backend.entries == {}  # nothing written in plaintext


def test_a_chain_is_refused_when_any_member_is_a_file_backend():
    ChainOf.backends = [MemoryKeyring(), PlaintextKeyring()]
    problem = insecure_backend_problem(ChainOf())
    assert problem is not None and "PlaintextKeyring" in problem
    ChainOf.backends = [MemoryKeyring(), MemoryKeyring()]
    assert insecure_backend_problem(ChainOf()) is None


def test_a_secure_backend_is_accepted(memory_keyring):
    assert require_secure_backend() is memory_keyring


def test_the_real_keyrings_alt_file_backends_are_refused():
    file_backends = pytest.importorskip("keyrings.alt.file")
    for cls in (file_backends.PlaintextKeyring, file_backends.EncryptedKeyring):
        problem = insecure_backend_problem(cls())
        assert problem is not None and "keyrings.alt.file" in problem


# --- keyring failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("locked", "the keychain is locked; unlock it"),
        ("deny", "the keychain refused or failed"),
        ("broken", "the keychain could not be opened (InitError: Failed to create"),
    ],
)
def test_keyring_failures_become_credential_errors_without_the_value(memory_keyring, mode, reason):
    store = CredentialStore()
    value = fresh()
    setattr(memory_keyring, mode, True)
    for operation, action in [
        (lambda: store.save(ACCOUNT, "api_secret", value), "store"),
        (lambda: store.load(ACCOUNT, "api_secret"), "read"),
        (lambda: store.save_token(ACCOUNT, value, datetime.now(UTC) + timedelta(1)), "store"),
    ]:
        with pytest.raises(CredentialError) as info:
            operation()
        message = str(info.value)
        assert message.startswith(f"could not {action} zerodha/main/")
        assert reason in message
        text = "".join(traceback.format_exception(info.value))
        assert value not in text
        assert info.value.__cause__ is None and info.value.__context__ is None
