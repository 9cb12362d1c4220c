"""Shared by the headless commands: errors on stderr with exit 2, output files written safely,
money formatted the Indian way (1,23,45,678.90).

An output (`--json PATH`, `--out FILE`) never destroys an input. Before anything is written the
target is refused when it is:
- a file the command reads (its `inputs`: the workspace's store and its WAL, a bar file);
- a DuckDB file by name (``*.duckdb``, ``*.duckdb.wal``), a workspace's lock (``artha.lock``),
  or by content (any DuckDB database, whatever it is called);
- an existing file that is not an earlier output of the same kind: a JSON report only replaces
  JSON, a CSV export only text, a Parquet export only Parquet. An empty file may be replaced.

Writing goes to a temp file beside the target (``.NAME.XXXXXXXX.tmp``) that replaces it in one
step, so readers see the old file or the new one. The target keeps its permissions (a new one
gets what a plain `open` would give: 0666 less the umask). A failed or interrupted write removes
its temp file; one left by a killed process (kill -9) is removed by the next write of the same
target, unless a live writer still holds it.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

OutputKind = Literal["json", "csv", "parquet", "png"]
_DUCKDB_MAGIC: Final = b"DUCK"  # at byte 8 of every DuckDB database file
_PARQUET_MAGIC: Final = b"PAR1"
_ZIP_MAGIC: Final = b"PK\x03\x04"
_DUCKDB_NAMES: Final = (".duckdb", ".duckdb.wal")
_LOCK_NAME: Final = "artha.lock"
_SNIFF_BYTES: Final = 4096
_STALE_SECONDS: Final = 3600  # where temp files cannot be locked (Windows): older is stale


class OutputRefused(Exception):
    """The target must not be written; the message says why and what to do."""


log = logging.getLogger("artha.cli")

# Set by the command line's SIGINT handler: a Ctrl-C, not a strategy's own KeyboardInterrupt.
INTERRUPTED: Final = threading.Event()


def fail(command: str, message: str) -> int:
    """`artha COMMAND: error: MESSAGE` on stderr (and in the log), exit code 2."""
    print(f"artha {command}: error: {message}", file=sys.stderr)
    record_quietly(logging.ERROR, f"artha {command}: error: {message}")
    return 2


def record_quietly(level: int, message: str) -> None:
    """Into the log file only (the user has just read it on the terminal); nowhere when
    logging is not configured (Python's last-resort handler would print it again)."""
    if logging.getLogger().handlers:
        log.log(level, "%s", message, extra={"console": False})


def store_files(database: Path) -> tuple[Path, Path]:
    """The workspace's store and its write-ahead log: inputs of every command that opens it."""
    return database, database.with_name(database.name + ".wal")


def check_target(path: Path, kind: OutputKind, inputs: Iterable[str | Path] = ()) -> None:
    """Raise OutputRefused when writing `path` could destroy something (see the module doc)."""
    for given in inputs:
        if _same_file(path, Path(given)):
            raise OutputRefused(
                f"{path} is also an input of this command; write the output to another file"
            )
    name = path.name.lower()
    if name.endswith(_DUCKDB_NAMES) or name == _LOCK_NAME:
        raise OutputRefused(
            f"{path} is named like a DuckDB store or a workspace file; write the output to "
            "another file"
        )
    if path.is_dir():
        raise OutputRefused(f"{path} is a folder; give a file name")
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputRefused(f"cannot read {path}: {exc.strerror or exc}") from None
    if not head or _is_kind(head, kind):
        return
    raise OutputRefused(
        f"{path} already exists and is {_looks_like(head)}, not an earlier {kind.upper()} "
        "output; choose another file name (or delete that file yourself)"
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass  # one of them does not exist (yet): compare where they would be
    return a.resolve() == b.resolve()


def _is_kind(head: bytes, kind: OutputKind) -> bool:
    if head[8:12] == _DUCKDB_MAGIC:
        return False
    if kind == "parquet":
        return head.startswith(_PARQUET_MAGIC)
    if kind == "png":
        return head.startswith(b"\x89PNG")
    if head.startswith((_PARQUET_MAGIC, _ZIP_MAGIC)) or b"\0" in head:
        return False
    if kind == "json":
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")
    return True  # csv: any text


def _looks_like(head: bytes) -> str:
    if head[8:12] == _DUCKDB_MAGIC:
        return "a DuckDB database (a market store)"
    if head.startswith(_PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(_ZIP_MAGIC):
        return "a zip archive"
    if b"\0" in head:
        return "a binary file"
    first = head.split(b"\n", 1)[0]
    return "CSV text" if b"," in first else "a text file"


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _target_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return _default_mode()


def _temp_pattern(path: Path) -> re.Pattern[str]:
    # tempfile's names: 8 characters; `.NAME.tmp` was the export's fixed temp name
    return re.compile(re.escape(f".{path.name}.") + r"(?:[a-z0-9_]{8}\.)?tmp")


if sys.platform == "win32":

    def _hold(fd: int) -> None:
        """Windows refuses to delete an open file: a live writer's temp is safe already."""

    def _stale(temp: Path) -> bool:
        return time.time() - temp.stat().st_mtime > _STALE_SECONDS

else:
    import fcntl

    def _hold(fd: int) -> None:
        """Lock the temp file while it is written; the OS drops the lock if we die."""
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _stale(temp: Path) -> bool:
        fd = os.open(temp, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        finally:
            os.close(fd)
        return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temp files of `path` left by a killed writer; returns those removed."""
    pattern = _temp_pattern(path)
    removed = []
    for temp in path.parent.glob(glob.escape(f".{path.name}.") + "*tmp"):
        if not pattern.fullmatch(temp.name):
            continue
        try:
            if _stale(temp):
                temp.unlink()
                removed.append(temp)
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temp file beside `path` to write; when the block ends without error the temp
    replaces `path` in one step (keeping its mode), else it is removed and `path` untouched."""
    remove_stale_temps(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        _hold(fd)
        if sys.platform == "win32":
            os.close(fd)  # Windows cannot rename an open file
            fd = -1
        yield temp
        os.chmod(temp, _target_mode(path))
        os.replace(temp, path)
    finally:
        if fd >= 0:
            os.close(fd)
        temp.unlink(missing_ok=True)


def write_text_safely(path: Path, text: str) -> None:
    """Write `text` to `path` through `replacing` (readers see the old file or the new one)."""
    with replacing(path) as temp:
        temp.write_text(text, encoding="utf-8")


def emit_json(
    command: str, target: str, text: str, inputs: Iterable[str | Path] = ()
) -> int | None:
    """Write to stdout ('-') or a file; returns an exit code on failure, None on success.

    `inputs` are the files the command reads: the target may not be one of them (nor a
    store, nor an existing file that is not JSON; see the module doc)."""
    if target == "-":
        sys.stdout.write(text)
        return None
    path = Path(target)
    if not path.parent.is_dir():
        return fail(command, f"argument --json: folder {path.parent} does not exist")
    try:
        check_target(path, "json", inputs)
        write_text_safely(path, text)
    except OutputRefused as exc:
        return fail(command, f"argument --json: {exc}")
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
