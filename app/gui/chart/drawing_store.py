"""Chart drawings saved per instrument in the workspace, one JSON file each.

Drawings are the trader's own work, so a bad file must never cost the rest of them or stop the
chart: an unreadable or corrupt file is renamed aside (kept for the user), reported in one
sentence, and the chart opens with no drawings. Writes are atomic (temp file + os.replace), so a
crash mid-save leaves the previous file intact. Points are (int64 UTC ns, price), never bar
indexes, so a drawing survives a timeframe switch. This module holds no Qt: the record rules
live here once and the drawing layer builds on them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from engine.workspace import Workspace

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FOLDER_NAME = "drawings"
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_NAME_LIMIT = 80  # readable part of a file name; the hash keeps names unique


class DrawingKind(StrEnum):
    """The drawing tools; the value is what the file stores."""

    HORIZONTAL_LINE = "horizontal_line"
    TREND_LINE = "trend_line"
    RECTANGLE = "rectangle"
    TEXT_NOTE = "text_note"

    @property
    def point_count(self) -> int:
        """How many (time, price) anchors the kind is defined by."""
        return 2 if self in (DrawingKind.TREND_LINE, DrawingKind.RECTANGLE) else 1


@dataclass(frozen=True)
class DrawingRecord:
    """One drawing as stored: anchors in (UTC ns, price), so any timeframe can place it."""

    id: str
    kind: DrawingKind
    points: tuple[tuple[int, float], ...]
    text: str = ""
    colour: str = "#2962ff"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "points": [[ts, price] for ts, price in self.points],
            "text": self.text,
            "colour": self.colour,
        }

    @classmethod
    def from_dict(cls, raw: object) -> DrawingRecord:
        """Validate a stored or handed-in drawing; ValueError names what is wrong."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"a drawing must be an object, not {type(raw).__name__}")
        ident = raw.get("id")
        if not isinstance(ident, str) or not ident:
            raise ValueError("a drawing has no id")
        kind_raw = raw.get("kind")
        kinds = {k.value: k for k in DrawingKind}
        if not isinstance(kind_raw, str) or kind_raw not in kinds:
            raise ValueError(f"drawing {ident}: unknown kind {kind_raw!r}")
        kind = kinds[kind_raw]
        points_raw = raw.get("points")
        if not isinstance(points_raw, Sequence) or isinstance(points_raw, str):
            raise ValueError(f"drawing {ident}: points must be a list of [time_ns, price]")
        if len(points_raw) != kind.point_count:
            raise ValueError(
                f"drawing {ident}: a {kind.value} needs {kind.point_count} point(s), "
                f"got {len(points_raw)}"
            )
        points = tuple(_point(ident, p) for p in points_raw)
        text = raw.get("text", "")
        if not isinstance(text, str):
            raise ValueError(f"drawing {ident}: text must be a string")
        colour = raw.get("colour", "#2962ff")
        if not isinstance(colour, str) or not _COLOUR.match(colour):
            raise ValueError(f"drawing {ident}: colour {colour!r} is not #rrggbb")
        return cls(ident, kind, points, text, colour.lower())


def _point(ident: str, raw: object) -> tuple[int, float]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != 2:
        raise ValueError(f"drawing {ident}: a point must be [time_ns, price], got {raw!r}")
    ts, price = raw
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise ValueError(f"drawing {ident}: time {ts!r} is not integer UTC nanoseconds")
    if not -(2**63) <= ts < 2**63:
        raise ValueError(f"drawing {ident}: time {ts} is outside int64 nanoseconds")
    if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
        raise ValueError(f"drawing {ident}: price {price!r} is not a finite number")
    return ts, float(price)


def file_name(key: str) -> str:
    """A file name for any instrument key on any OS ("NSE:M&M", "NSE:NIFTY 50").

    Everything but letters, digits, '-' and '_' is percent-encoded (so ':' and spaces are safe on
    Windows), and a hash of the exact key keeps names distinct on case-insensitive disks."""
    readable = quote(key, safe="-_")[:_NAME_LIMIT]
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    return f"{readable}.{digest}.json"


class DrawingStore:
    """Load and save each instrument's drawings; problems are collected, never raised."""

    def __init__(self, location: Workspace | Path | str) -> None:
        """A Workspace puts files under <workspace>/settings/drawings; a path is the folder."""
        if isinstance(location, Workspace):
            self.folder = location.settings_dir / FOLDER_NAME
        else:
            self.folder = Path(location)
        self.problems: list[str] = []

    def path_for(self, key: str) -> Path:
        return self.folder / file_name(key)

    def load(self, key: str) -> list[dict[str, Any]]:
        """The instrument's drawings; [] (with a message in `problems`) when the file is bad."""
        path = self.path_for(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            self._bad(path, key, f"cannot be read ({_reason(exc)})")
            return []
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            self._bad(path, key, f"is not valid JSON (line {exc.lineno}: {exc.msg})")
            return []
        if not isinstance(document, dict) or not isinstance(document.get("drawings"), list):
            self._bad(path, key, "is not an Artha drawings file")
            return []
        version = document.get("schema")
        if not isinstance(version, int) or isinstance(version, bool):
            self._bad(path, key, "has no schema version")
            return []
        if version > SCHEMA_VERSION:
            self._bad(
                path,
                key,
                f"was written by a newer Artha (schema {version}, this one reads "
                f"{SCHEMA_VERSION}); update Artha to see them",
            )
            return []
        records: list[dict[str, Any]] = []
        errors: list[str] = []
        for raw in document["drawings"]:
            try:
                records.append(DrawingRecord.from_dict(raw).to_dict())
            except ValueError as exc:
                errors.append(str(exc))
        if errors:
            shown = "; ".join(errors[:3]) + ("; ..." if len(errors) > 3 else "")
            self._bad(
                path,
                key,
                f"had {len(errors)} unreadable drawing(s) ({shown}); the other "
                f"{len(records)} are shown",
            )
        return records

    def save(self, key: str, records: Sequence[Mapping[str, Any]]) -> str | None:
        """Write atomically; no drawings removes the file. Returns the problem text, or None."""
        path = self.path_for(key)
        try:
            checked = [DrawingRecord.from_dict(r).to_dict() for r in records]
        except ValueError as exc:
            return self._problem(f"drawings for {key} were not saved: {exc}")
        try:
            if not checked:
                path.unlink(missing_ok=True)
                return None
            self.folder.mkdir(parents=True, exist_ok=True)
            document = {"schema": SCHEMA_VERSION, "key": key, "drawings": checked}
            _write_atomic(path, json.dumps(document, indent=1, ensure_ascii=False))
        except OSError as exc:
            return self._problem(
                f"drawings for {key} were not saved to {path}: {_reason(exc)}; check that the "
                "workspace folder is writable and the disk has space"
            )
        return None

    def _bad(self, path: Path, key: str, what: str) -> None:
        """Keep the bad file aside for the user and report where it went."""
        aside = _aside_path(path)
        try:
            os.replace(path, aside)
            kept = f"it was kept as {aside.name}"
        except OSError as exc:
            kept = f"it could not be moved aside ({_reason(exc)})"
        self._problem(
            f"the drawings file for {key} ({path}) {what}; {kept}; the chart opens "
            "without those drawings"
        )

    def _problem(self, message: str) -> str:
        log.warning("%s", message)
        self.problems.append(message)
        return message


def _aside_path(path: Path) -> Path:
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.corrupt-{n}")
        if not candidate.exists():
            return candidate
        n += 1


def _write_atomic(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
