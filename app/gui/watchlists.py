"""The trader's named watchlists, kept in <workspace>/settings/watchlists.json.

A JSON file beside ui.ini rather than a row in the store's app-state tables: the lists are
window state (which instruments the trader follows, in the trader's order), they must survive
a store that is read-only (a screenshot while the app runs), damaged or being restored from a
backup, and a trader can read, copy or fix them by hand. Every change is written at once and
atomically (a temp file in the same folder, flushed, then renamed over the old one), so a crash
leaves the old file or the new one, never half of one.

A file that cannot be read is never overwritten: it is renamed aside
(watchlists.json.corrupt-STAMP), `problem` says so in words, and the lists start afresh.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILE_NAME = "watchlists.json"
FORMAT_VERSION = 1
DEFAULT_NAME = "Watchlist"
SEED_COUNT = 20  # instruments the first list starts with
MAX_NAME = 40


class WatchlistError(ValueError):
    """A change that cannot be made (a bad or taken name), or a file that cannot be written;
    the message is for the trader."""


@dataclass
class _List:
    name: str
    keys: list[str] = field(default_factory=list)


class Watchlists:
    """Named, ordered lists of "EXCHANGE:SYMBOL" keys; at least one list always exists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem = ""  # why the file could not be read (it was kept aside), for the trader
        self._lists: list[_List] = [_List(DEFAULT_NAME)]
        self._current = DEFAULT_NAME
        self._seeded = False

    @classmethod
    def load(cls, settings_dir: Path) -> Watchlists:
        """The lists saved in `settings_dir`; none saved: one empty default list."""
        lists = cls(settings_dir / FILE_NAME)
        try:
            text = lists.path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):  # the save will say what is wrong
            return lists
        except (OSError, UnicodeDecodeError) as exc:
            lists._set_aside(f"cannot be read ({exc})")
            return lists
        try:
            lists._parse(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            lists._set_aside(f"is not a watchlist file Artha can read ({exc})")
        return lists

    def _parse(self, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("lists"), list):
            raise ValueError('expected an object with a "lists" array')
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {data.get('version')!r}, not {FORMAT_VERSION}")
        parsed: list[_List] = []
        for number, item in enumerate(data["lists"], 1):
            if not isinstance(item, dict):
                raise ValueError(f"list {number} is not an object")
            name, keys = item.get("name"), item.get("symbols")
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"list {number} has no name")
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ValueError(f'list {name!r}: "symbols" must be an array of strings')
            if any(p.name.casefold() == name.strip().casefold() for p in parsed):
                raise ValueError(f"two lists are named {name!r}")
            parsed.append(_List(name.strip(), list(dict.fromkeys(k.strip() for k in keys))))
        if not parsed:
            raise ValueError("it holds no list")
        self._lists = parsed
        current = data.get("current")
        self._current = current if current in self.names() else parsed[0].name
        self._seeded = bool(data.get("seeded", True))

    def _set_aside(self, why: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        kept = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            os.replace(self.path, kept)
            where = f"it was kept as {kept.name}"
        except OSError as exc:
            where = f"it could not be moved aside ({exc.strerror}) and is left as it is"
            self.path = self.path.with_name(f"{self.path.stem}-new{self.path.suffix}")
        self.problem = f"{self.path.parent / FILE_NAME} {why}; {where}. New lists were started."

    # -- reading ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        return [item.name for item in self._lists]

    @property
    def current(self) -> str:
        return self._current

    def keys(self, name: str | None = None) -> list[str]:
        """The keys of list `name` (the current one by default), in the trader's order."""
        return list(self._get(name or self._current).keys)

    @property
    def seeded(self) -> bool:
        """Whether the first list was ever filled from the store (it is, once)."""
        return self._seeded

    # -- changing (each change is saved at once) --------------------------------------------
    def select(self, name: str) -> None:
        self._current = self._get(name).name
        self.save()

    def seed(self, keys: Iterable[str]) -> bool:
        """Fill an empty default list with the store's first instruments, once ever."""
        if self._seeded:
            return False
        chosen = [k for k in dict.fromkeys(keys) if k][:SEED_COUNT]
        if not chosen:
            return False  # an empty store: seed when instruments arrive
        first = self._lists[0]
        if not first.keys:
            first.keys = chosen
        self._seeded = True
        self.save()
        return True

    def create(self, name: str) -> str:
        name = self._checked_name(name)
        self._lists.append(_List(name))
        self._current = name
        self.save()
        return name

    def rename(self, old: str, new: str) -> str:
        item = self._get(old)
        new = self._checked_name(new, allow=item)
        if self._current == item.name:
            self._current = new
        item.name = new
        self.save()
        return new

    def delete(self, name: str) -> None:
        """Remove a list; removing the only one leaves an empty default list."""
        item = self._get(name)
        self._lists.remove(item)
        if not self._lists:
            self._lists.append(_List(DEFAULT_NAME))
        if self._current == item.name:
            self._current = self._lists[0].name
        self.save()

    def add(self, key: str, name: str | None = None) -> bool:
        """Append `key`; False when the list has it already."""
        item = self._get(name or self._current)
        key = key.strip()
        if not key or key in item.keys:
            return False
        item.keys.append(key)
        self.save()
        return True

    def remove(self, key: str, name: str | None = None) -> bool:
        item = self._get(name or self._current)
        if key not in item.keys:
            return False
        item.keys.remove(key)
        self.save()
        return True

    def set_order(self, keys: Iterable[str], name: str | None = None) -> None:
        """Reorder a list: `keys` must be exactly the list's keys, in the new order."""
        item = self._get(name or self._current)
        ordered = list(keys)
        if sorted(ordered) != sorted(item.keys):
            raise WatchlistError("a new order must hold exactly the list's instruments")
        item.keys = ordered
        self.save()

    def save(self) -> None:
        """Write the file atomically; WatchlistError (in words) when it cannot be written."""
        data = {
            "version": FORMAT_VERSION,
            "current": self._current,
            "seeded": self._seeded,
            "lists": [{"name": item.name, "symbols": item.keys} for item in self._lists],
        }
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise WatchlistError(
                f"cannot save the watchlists to {self.path}: {exc.strerror or exc}"
            ) from exc

    # -- rules ------------------------------------------------------------------------------
    def _get(self, name: str) -> _List:
        for item in self._lists:
            if item.name == name:
                return item
        raise WatchlistError(f"there is no watchlist named {name!r}")

    def _checked_name(self, name: str, allow: _List | None = None) -> str:
        name = " ".join(name.split())
        if not name:
            raise WatchlistError("a watchlist needs a name")
        if len(name) > MAX_NAME:
            raise WatchlistError(f"a watchlist name has at most {MAX_NAME} characters")
        for item in self._lists:
            if item is not allow and item.name.casefold() == name.casefold():
                raise WatchlistError(f"a watchlist named {item.name!r} exists already")
        return name
