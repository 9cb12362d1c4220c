"""The paper account's memory: an append-only JSON-lines journal in the workspace.

Every event (an order placed with its verdict, a trigger, a fill with its charges, a cancel,
a modification, a square-off) is one line, written and fsynced BEFORE the broker acts on it
or reports it; at start the account is rebuilt by applying the lines again. One line is one
event, so a crash leaves either the whole event or none of it: a last line cut short by a
crash (no newline, or not JSON) is dropped and cut from the file, and the account is what the
complete lines say. A damaged line anywhere else is refused by name: guessing past it could
show the trader a wrong cash balance. Reset moves the file to `archive/` and starts a new one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

log = logging.getLogger(__name__)

VERSION: Final = 1
Event = dict[str, Any]


class PaperJournalError(RuntimeError):
    """The journal cannot be read back: a damaged line other than a crash's last one."""


def journal_path(root: Path, account: str) -> Path:
    """`<workspace>/paper/<account>.jsonl`."""
    if not account or any(ch in account for ch in '/\\:*?"<>|') or account.startswith("."):
        raise ValueError(f"paper account name {account!r} cannot be a file name")
    return root / "paper" / f"{account}.jsonl"


class Journal:
    """One account's journal file, open for appending."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def read(self) -> Iterator[Event]:
        """The complete events in the file, oldest first (a crash's torn last line is cut)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        good = len(data) - len(tail)
        events: list[Event] = []
        for number, raw in enumerate(lines, start=1):
            try:
                event = json.loads(raw)
                if not isinstance(event, dict) or "e" not in event:
                    raise ValueError("not an event")
            except ValueError:
                if number == len(lines) and not tail:  # the last complete-looking line
                    good -= len(raw) + 1
                    self._cut(good, f"line {number} is not a complete event")
                    break
                raise PaperJournalError(
                    f"{self.path}: line {number} is damaged ({raw[:60]!r}); the paper account "
                    "cannot be rebuilt past it. Restore the file or reset the paper account."
                ) from None
            events.append(event)
        else:
            if tail:
                self._cut(good, "its last line was cut short (a crash while writing)")
        yield from events

    def _cut(self, size: int, why: str) -> None:
        log.warning(
            "%s: %s; dropped it, the account is rebuilt from the lines before", self.path, why
        )
        with self.path.open("r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, event: Mapping[str, Any]) -> None:
        """Write one event and make it durable before returning."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8", newline="\n")
        line = json.dumps(event, separators=(",", ":"), sort_keys=True)
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def archive(self) -> Path | None:
        """Move the file to `archive/<name>-<UTC time>.jsonl`; its path (None: no file)."""
        self.close()
        if not self.path.exists():
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.parent / "archive" / f"{self.path.stem}-{stamp}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        return target
