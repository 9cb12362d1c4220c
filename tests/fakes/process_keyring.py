"""A stand-in for the OS keychain that several processes share, for tests of `artha broker`.

The real keychain is one store every process of the user sees; the commands under test are
separate processes (`artha broker add`, then `login`, then `status`), so the in-memory fake
cannot serve them. This backend keeps its entries in a JSON document at the path in
`$ARTHA_TEST_KEYCHAIN`, selected with `PYTHON_KEYRING_BACKEND=tests.fakes.process_keyring.
ProcessKeyring`. It is test equipment only: keyring's discovery never picks it (`viable` is
False), and the path lives in the test's temporary folder, outside any workspace, as the
real keychain lives outside the workspace.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "ARTHA_TEST_KEYCHAIN"


class ProcessKeyring(KeyringBackend):
    priority = 1.0
    viable = False

    @property
    def _path(self) -> Path:
        return Path(os.environ[ENV])

    def _entries(self) -> dict[str, str]:
        if not self._path.exists():
            return {}
        loaded: dict[str, str] = json.loads(self._path.read_text(encoding="utf-8"))
        return loaded

    def _write(self, entries: dict[str, str]) -> None:
        temp = self._path.with_suffix(".tmp")
        temp.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(temp, self._path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._entries()
        entries[f"{service}\n{username}"] = password
        self._write(entries)

    def delete_password(self, service: str, username: str) -> None:
        entries = self._entries()
        if entries.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError("Password not found")
        self._write(entries)
