"""API keys, secrets and access tokens, kept only in the OS keychain (through `keyring`).

There is no plaintext fallback: where the active keyring backend is not a secure one (keyring's
fail/null backends, a chainer with nothing to chain, the file backends of keyrings.alt) every
operation raises `InsecureKeyringError`, saying which backend was found and how to get a
secure one. Values come back as `Secret`, which never shows its value in a repr, an f-string,
a log line or an exception; every value loaded or saved is registered with `redaction`.

Entries live under the keyring service "Artha", user name "<broker>/<account label>/<field>",
e.g. "zerodha/main/api_secret".
"""

from __future__ import annotations

import hmac
import json
import re
from datetime import datetime, time, timedelta, timezone
from typing import Any, Final, NoReturn, final

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from brokers import redaction

IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")

FIELDS: Final = ("api_key", "api_secret", "access_token", "refresh_token", "extended_token")
"""Every field Artha stores for an account (`forget_account` deletes them all). access_token
is written only through `save_token`, which keeps its expiry with it."""
TOKEN_FIELD: Final = "access_token"

_ACCOUNT_ID = re.compile(r"[a-z][a-z0-9_]*/[^/\x00-\x1f\x7f]+")
# Backends that keep secrets in a file or the registry (readable by anything running as the
# user, or by anyone holding the file and a guessable key), never the OS keychain.
_INSECURE_MODULE_PREFIXES = ("keyrings.alt", "keyrings.cryptfile")
_INSECURE_NAME_MARKS = ("plaintext", "file", "registry")


class CredentialError(Exception):
    """A credential could not be stored, read or deleted; the message says why, never the value."""


class InsecureKeyringError(CredentialError):
    """The active keyring backend would not keep secrets safe, so Artha refuses to use it."""


@final
class Secret:
    """A secret string that does not show itself: repr/str/format give Secret('***').

    Pickling is refused: pickles go to files and to worker processes (the job runner sends its
    work through a pipe as a pickle), and a pickled secret is plaintext wherever it lands.
    Copying returns the same object (it is immutable)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret holds a str, not {type(value).__name__}")
        self._value = value
        redaction.remember(value)

    def reveal(self) -> str:
        """The value itself, for the one call that sends it to the broker or the keychain."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(repr(self), format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled: it would be written out in plaintext")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def make_account_id(broker: str, label: str) -> str:
    """The account id every CredentialStore call takes: ("zerodha", "main") -> "zerodha/main"."""
    account_id = f"{broker.strip().lower()}/{label.strip()}"
    _check_account_id(account_id)
    return account_id


def daily_expiry(issued_at: datetime, *, hour: int = 6, minute: int = 0) -> datetime:
    """The first hour:minute IST after `issued_at`: when a daily broker session ends (Kite's
    access token lasts until about 06:00 IST the next day)."""
    _require_aware(issued_at, "issued_at")
    local = issued_at.astimezone(IST)
    end = datetime.combine(local.date(), time(hour, minute), IST)
    return end if end > local else end + timedelta(days=1)


def insecure_backend_problem(backend: KeyringBackend) -> str | None:
    """Why `backend` must not hold Artha's secrets, or None when it is a secure one."""
    name = _backend_name(backend)
    if isinstance(backend, fail.Keyring):
        return f"no keyring backend is available (keyring fell back to {name})"
    if isinstance(backend, null.Keyring):
        return f"the keyring backend {name} stores nothing"
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        if not members:
            return f"the keyring backend {name} has no usable backends to chain"
        for member in members:
            problem = insecure_backend_problem(member)
            if problem is not None:
                return f"the keyring chain {name} includes an unsafe one: {problem}"
        return None
    module = type(backend).__module__
    if module.startswith(_INSECURE_MODULE_PREFIXES) or any(
        mark in type(backend).__name__.lower() for mark in _INSECURE_NAME_MARKS
    ):
        return f"the keyring backend {name} keeps secrets in a file, not the OS keychain"
    try:
        priority = float(type(backend).priority)
    except Exception as exc:
        return f"the keyring backend {name} is not usable here ({_describe(exc)})"
    if priority <= 0:
        return f"the keyring backend {name} is not a recommended one (priority {priority:g})"
    return None


def how_to_fix() -> str:
    """What to do about an insecure or missing keyring, for each OS."""
    return (
        "Linux: install and unlock a Secret Service provider such as GNOME Keyring or KWallet "
        "(e.g. `sudo apt install gnome-keyring`), log in to a desktop session so it is "
        "unlocked, then check with `python -m keyring --list-backends`; remove keyrings.alt "
        "or any PYTHON_KEYRING_BACKEND setting that points at a file backend. "
        "macOS Keychain and Windows Credential Locker work out of the box."
    )


def require_secure_backend() -> KeyringBackend:
    """The active keyring backend, or InsecureKeyringError naming it and how to fix it."""
    backend: KeyringBackend | None = None
    opening = ""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:
        opening = _describe(exc)
    if backend is None:
        raise CredentialError(f"the OS keychain could not be opened ({opening}). {how_to_fix()}")
    problem = insecure_backend_problem(backend)
    if problem is not None:
        raise InsecureKeyringError(
            f"Artha keeps broker keys and tokens only in the OS keychain, and {problem}. "
            f"{how_to_fix()}"
        )
    return backend


class CredentialStore:
    """Broker credentials per account in the OS keychain; checks the backend before each use.

    Each call may block (a D-Bus round trip, a macOS "allow access" prompt): from the asyncio
    loop, call it through `asyncio.to_thread`."""

    def __init__(self, service: str = "Artha") -> None:
        if not service.strip():
            raise ValueError("CredentialStore: the keyring service name is empty")
        self.service = service

    def save(self, account_id: str, field: str, value: str | Secret) -> None:
        """Store one field (api_key, api_secret, ...); the value is stripped of surrounding
        blanks (as pasted) and must be a plausible key: no line breaks, not too short."""
        _check_field(field, token_ok=False)
        text = _clean_value(account_id, field, value)
        self._set(_key(account_id, field), text)

    def load(self, account_id: str, field: str) -> Secret | None:
        """One field's value, or None when none is stored."""
        _check_field(field, token_ok=False)
        raw = self._get(_key(account_id, field))
        return None if raw is None else Secret(raw)

    def delete(self, account_id: str, field: str) -> bool:
        """Remove one field; returns whether there was one (absent is not an error)."""
        _check_field(field, token_ok=True)
        key = _key(account_id, field)
        if self._get(key) is None:
            return False
        self._delete(key, account_id, field)
        return True

    def forget_account(self, account_id: str) -> list[str]:
        """Remove every field of the account; returns the fields that were there."""
        return [field for field in FIELDS if self.delete(account_id, field)]

    def save_token(self, account_id: str, token: str | Secret, expires_at: datetime) -> None:
        """Store the session's access token with the moment it stops working."""
        _require_aware(expires_at, "expires_at")
        text = _clean_value(account_id, TOKEN_FIELD, token)
        entry = json.dumps({"token": text, "expires_at": expires_at.isoformat()})
        self._set(_key(account_id, TOKEN_FIELD), entry)

    def load_token(self, account_id: str, now: datetime) -> Secret | None:
        """The access token if it is still valid at `now`; an expired (or unreadable) one is
        deleted and None returned, so the app asks for a fresh login."""
        _require_aware(now, "now")
        key = _key(account_id, TOKEN_FIELD)
        raw = self._get(key)
        if raw is None:
            return None
        parsed = _parse_token_entry(raw)
        if parsed is None or parsed[1] <= now:
            self._delete(key, account_id, TOKEN_FIELD)
            return None
        return parsed[0]

    def forget_token(self, account_id: str) -> bool:
        """Drop the access token (logout); returns whether there was one."""
        return self.delete(account_id, TOKEN_FIELD)

    def token_expiry(self, account_id: str) -> datetime | None:
        """When the stored access token expires (None when none is stored), for the status bar."""
        raw = self._get(_key(account_id, TOKEN_FIELD))
        parsed = None if raw is None else _parse_token_entry(raw)
        return None if parsed is None else parsed[1]

    def _get(self, key: str) -> str | None:
        backend = require_secure_backend()
        failure: CredentialError | None = None
        value: str | None = None
        try:
            value = backend.get_password(self.service, key)
        except Exception as exc:
            failure = _failure("read", key, exc)
        if failure is not None:
            raise failure
        if value is not None:
            redaction.remember(value)
        return value

    def _set(self, key: str, value: str) -> None:
        backend = require_secure_backend()
        redaction.remember(value)
        failure = None
        try:
            backend.set_password(self.service, key, value)
        except Exception as exc:
            failure = _failure("store", key, exc)
        if failure is not None:
            raise failure

    def _delete(self, key: str, account_id: str, field: str) -> None:
        backend = require_secure_backend()
        failure = None
        try:
            backend.delete_password(self.service, key)
        except Exception as exc:
            failure = _failure("delete", key, exc)
        if failure is not None:
            raise failure


def _key(account_id: str, field: str) -> str:
    _check_account_id(account_id)
    return f"{account_id}/{field}"


def _check_account_id(account_id: str) -> None:
    if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(
            f"account id {account_id!r} must look like '<broker>/<account label>', "
            "e.g. 'zerodha/main' (lower-case broker name, one '/', no line breaks)"
        )
    if account_id != account_id.strip() or account_id.split("/", 1)[1].strip() == "":
        raise ValueError(f"account id {account_id!r}: the account label is blank or padded")


def _check_field(field: str, *, token_ok: bool) -> None:
    if field not in FIELDS:
        raise ValueError(f"unknown credential field {field!r}; Artha stores {', '.join(FIELDS)}")
    if field == TOKEN_FIELD and not token_ok:
        raise ValueError(
            "the access token is stored with its expiry: use save_token/load_token for it"
        )


def _clean_value(account_id: str, field: str, value: str | Secret) -> str:
    text = value.reveal() if isinstance(value, Secret) else value
    if not isinstance(text, str):
        raise TypeError(f"{account_id} {field}: the value must be a str or a Secret")
    text = text.strip().strip("'\"").strip()
    where = f"{account_id} {field}"
    if not text:
        raise CredentialError(f"{where} is empty; paste the value from the broker's console")
    if any(ch in text for ch in "\r\n\t\x00"):
        raise CredentialError(f"{where} contains a line break or tab; paste it on one line")
    if len(text) < redaction.MIN_SECRET_LENGTH:
        raise CredentialError(
            f"{where} is only {len(text)} characters; broker keys and tokens are longer "
            "(check that the whole value was pasted)"
        )
    return text


def _parse_token_entry(raw: str) -> tuple[Secret, datetime] | None:
    try:
        entry = json.loads(raw)
        token = entry["token"]
        expires_at = datetime.fromisoformat(entry["expires_at"])
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(token, str) or expires_at.tzinfo is None:
        return None
    return Secret(token), expires_at


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


def _backend_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {redaction.redacted_exception(exc)}"


def _failure(action: str, key: str, exc: Exception) -> CredentialError:
    """A keyring failure as a CredentialError, raised by the caller outside its except block so
    the original is neither chained nor its context: its text and frames could carry the value
    (its redacted text is in the message)."""
    if isinstance(exc, keyring.errors.KeyringLocked):
        reason = "the keychain is locked; unlock it (log in to the desktop session) and retry"
    elif isinstance(exc, keyring.errors.InitError):
        reason = "the keychain could not be opened"
    elif isinstance(exc, keyring.errors.KeyringError | OSError):
        reason = "the keychain refused or failed"
    else:
        reason = "the keyring backend failed"
    return CredentialError(f"could not {action} {key}: {reason} ({_describe(exc)})")
