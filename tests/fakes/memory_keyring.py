"""A keyring backend kept in memory: the OS keychain's stand-in in tests, like our fake servers.

It is a real `keyring.backend.KeyringBackend`, installed with `keyring.set_keyring`, so the
code under test goes through keyring's own API. It can play a locked keychain (`locked`), one
that refuses access (`deny`) or one that cannot be opened (`broken`). `viable = False` keeps
keyring's own discovery from ever choosing it: only the `memory_keyring` fixture (or
`installed`) puts it in place.

Use in a test module (bound to a name, as importing the fixture by name trips ruff's F811)::

    from tests.fakes import memory_keyring as fake_keyring

    memory_keyring = fake_keyring.memory_keyring
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import InitError, KeyringError, KeyringLocked, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Entries in a dict keyed by (service, username)."""

    priority = 1.0  # a usable backend: above keyring's fail (0) and null (-1) ones
    viable = False  # never picked by keyring's discovery of backends

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.locked = False
        self.deny = False
        self.broken = False

    def _gate(self) -> None:
        if self.locked:
            raise KeyringLocked("Failed to unlock the collection!")
        if self.deny:
            raise KeyringError("Access to the keychain item was denied by the user")
        if self.broken:
            raise InitError("Failed to create the collection: Prompt dismissed.")

    def get_password(self, service: str, username: str) -> str | None:
        self._gate()
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._gate()
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._gate()
        if (service, username) not in self.entries:
            raise PasswordDeleteError("Password not found")
        del self.entries[(service, username)]


@contextmanager
def installed(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """`backend` as keyring's active backend for the block; the previous one back afterwards."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A fresh MemoryKeyring installed as keyring's backend for one test."""
    backend = MemoryKeyring()
    with installed(backend):
        yield backend
