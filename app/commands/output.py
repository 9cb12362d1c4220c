"""Shared by the headless commands: errors on stderr with exit 2, JSON written atomically,
money formatted the Indian way (1,23,45,678.90)."""

from __future__ import annotations

import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path


def fail(command: str, message: str) -> int:
    print(f"artha {command}: error: {message}", file=sys.stderr)
    return 2


def write_json_atomically(path: Path, text: str) -> None:
    """Temp file in the same folder + os.replace: readers see the old file or the new one."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def emit_json(command: str, target: str, text: str) -> int | None:
    """Write to stdout ('-') or a file; returns an exit code on failure, None on success."""
    if target == "-":
        sys.stdout.write(text)
        return None
    path = Path(target)
    if not path.parent.is_dir():
        return fail(command, f"argument --json: folder {path.parent} does not exist")
    try:
        write_json_atomically(path, text)
    except OSError as exc:
        return fail(command, f"argument --json: cannot write {path}: {exc.strerror or exc}")
    return None


def inr(value: Decimal, places: int = 2) -> str:
    """Indian digit grouping: lakh and crore (12,34,567.00), as contract notes print it."""
    sign = "-" if value < 0 else ""
    text = f"{abs(value):.{places}f}"
    whole, _, fraction = text.partition(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join([*groups, tail])
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"
