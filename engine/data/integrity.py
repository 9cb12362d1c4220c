"""A damaged or unwritable store in words a user can act on; `data check`, `backup`, `restore`.

DuckDB checks a block's checksum only when a query reads that block, so a damaged store opens
fine and fails later, in whichever query touches the bad block. MarketStore turns those errors
into StoreDamaged in one place (its cursor helper) with `damaged()`; `check()` reads every
table and every instrument's bars to say which instruments are affected. A failed write (disk
full, a folder where the write-ahead log cannot be created) is worded by `write_failed()`.

Backups are whole-file copies made while the store's write lock is held, after a CHECKPOINT
has moved the write-ahead log into the file; a restore moves the current file (and its WAL)
aside as `artha.duckdb.damaged-TIMESTAMP`, never deleting it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from engine.data import schema
from engine.data.schema import StoreDamaged, StoreError

if TYPE_CHECKING:
    from engine.data.store import MarketStore

__all__ = [
    "BackupResult",
    "CheckResult",
    "RestoreResult",
    "StoreDamaged",
    "backup",
    "check",
    "damaged",
    "is_damage",
    "read_all",
    "restore",
    "write_failed",
]

_DAMAGE_MARKERS = (
    "corrupt database file",
    "corrupt wal file",
    "failure while replaying wal",
    "does not match stored checksum",
    "could not read enough bytes",
    "not a valid duckdb database",
)
_OS_REASONS = (
    "No space left on device",
    "Disk quota exceeded",
    "Operation not permitted",
    "Permission denied",
    "Read-only file system",
)
_INVALIDATED = "database has been invalidated"


def is_damage(exc: BaseException | None) -> bool:
    """Whether `exc` (or the DuckDB error it was raised from) says the file is damaged."""
    while exc is not None:
        if isinstance(exc, StoreDamaged):
            return True
        if isinstance(exc, duckdb.Error):
            text = str(exc).lower()
            return _INVALIDATED not in text and any(m in text for m in _DAMAGE_MARKERS)
        exc = exc.__cause__
    return False


def advice(path: Path) -> str:
    return (
        "run `artha data check` to see which instruments are affected; restore a backup "
        f"with `artha data restore BACKUP`, or move {path.name} aside and re-import"
    )


def _detail(text: str) -> str:
    """DuckDB's message, shortened: 'checksum error in block at location 798720'."""
    text = text.strip().splitlines()[0] if text.strip() else text
    for prefix in ("IO Error: ", "Error: "):
        text = text.removeprefix(prefix)
    if "checksum" in text and "block at location" in text:
        return "checksum error in block at location " + text.rsplit("location", 1)[1].strip()
    return text


def damaged(path: Path, exc: BaseException) -> StoreDamaged:
    """The StoreDamaged for a DuckDB error that `is_damage`, naming the file and what to do."""
    source: BaseException | None = exc
    while source is not None and not isinstance(source, duckdb.Error | StoreDamaged):
        source = source.__cause__
    if isinstance(source, StoreDamaged):
        return source
    text = str(source if source is not None else exc)
    if "wal" in text.lower() and ("replaying" in text.lower() or "corrupt wal" in text.lower()):
        wal = path.with_name(path.name + ".wal")
        return StoreDamaged(
            f"the market store's write-ahead log {wal} is damaged (DuckDB: {_detail(text)}): "
            f"restore a backup with `artha data restore BACKUP`, or move {wal.name} aside "
            "(the last imports kept in it, not yet written into the store, are then lost) "
            "and run `artha data check`"
        )
    if "not a valid duckdb database" in text.lower() and file_size(path) == 0:
        return StoreDamaged(
            f"the market store {path} is empty (0 bytes; DuckDB: not a valid database file): "
            f"restore a backup with `artha data restore BACKUP`, or move {path.name} aside "
            "and re-import (Artha then creates a new store)"
        )
    if "could not read enough bytes" in text.lower():
        return StoreDamaged(
            f"the market store {path} is damaged: it is shorter than DuckDB expects "
            f"(truncated, {file_size(path):,} bytes; DuckDB: {_detail(text)}): "
            f"restore a backup with `artha data restore BACKUP`, or move {path.name} aside "
            "and re-import"
        )
    return StoreDamaged(
        f"the market store {path} is damaged (DuckDB: {_detail(text)}): {advice(path)}"
    )


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def invalidated(path: Path, exc: BaseException) -> StoreError | None:
    """DuckDB closed the database after a fatal error (e.g. a checkpoint on a full disk)."""
    text = str(exc)
    if _INVALIDATED not in text:
        return None
    return StoreError(
        f"{path}: DuckDB closed the store after an earlier failure ({_reason(text) or text}); "
        "restart Artha (or run the command again) to use it again"
    )


def _reason(text: str) -> str | None:
    return next((r for r in _OS_REASONS if r in text), None)


def write_failed(path: Path, what: str, exc: BaseException) -> StoreError:
    """A write that failed (in the transaction or at COMMIT) and was rolled back."""
    text = str(exc)
    reason = _reason(text)
    head = f"{path}: {what} failed, nothing written"
    if reason is None:
        return StoreError(f"{head}: {text}")
    if ".wal" in text and "Cannot open file" in text:
        message = f"{head}: cannot write the write-ahead log in {path.parent}: {reason}"
    else:
        message = f"{head}: {reason}"
    if reason in ("No space left on device", "Disk quota exceeded"):
        message += f" (free some space on the disk that holds {path.parent})"
    elif reason == "Operation not permitted":
        message += f" (is {path.parent} immutable or on a read-only mount?)"
    if _INVALIDATED in text:
        message += "; DuckDB closed the store: restart Artha (or run the command again)"
    return StoreError(message)


# --- data check ------------------------------------------------------------------------


@dataclass
class CheckResult:
    path: Path
    instruments: int = 0
    bars: int = 0
    affected: list[str] = field(default_factory=list)  # EXCHANGE:SYMBOL with unreadable bars
    problems: list[str] = field(default_factory=list)  # tables that could not be read, why

    @property
    def ok(self) -> bool:
        return not self.affected and not self.problems


def _table_names(cur: duckdb.DuckDBPyConnection) -> list[str]:
    rows = cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT temporary ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _read_table(cur: duckdb.DuckDBPyConnection, table: str) -> int:
    """Read every value of every column of `table` (so every block's checksum is checked)."""
    quoted = '"' + table.replace('"', '""') + '"'
    row = schema.first_row(cur, f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {quoted}")
    return int(row[0]) if row else 0


def read_all(cur: duckdb.DuckDBPyConnection) -> int:
    """Read every value of every table (every used block's checksum is checked); the rows.

    The cheap guard before a process's first write: ~0.13 s for the demo's 2.25M bars."""
    return sum(_read_table(cur, table) for table in _table_names(cur))


def check(store: MarketStore) -> CheckResult:
    """Read the whole store: each table, then each instrument's bars (naming the damaged)."""
    result = CheckResult(store.path)
    with store._cursor(convert=False) as cur:
        try:
            tables = _table_names(cur)
        except duckdb.Error as exc:
            result.problems.append(f"the table catalogue: {_detail(str(exc))}")
            return result
        for table in tables:
            if table == "bars":
                continue
            try:
                count = _read_table(cur, table)
            except duckdb.Error as exc:
                result.problems.append(f"table {table}: {_detail(str(exc))}")
                continue
            if table == "instruments":
                result.instruments = count
        try:
            keys = dict(
                cur.execute("SELECT id, exchange || ':' || symbol FROM instruments").fetchall()
            )
        except duckdb.Error:
            keys = {}
        try:
            ids = [r[0] for r in cur.execute("SELECT DISTINCT instrument_id FROM bars").fetchall()]
        except duckdb.Error as exc:
            ids = sorted(keys)
            result.problems.append(f"table bars (instrument column): {_detail(str(exc))}")
        for instrument_id in sorted(ids):
            try:
                row = schema.first_row(
                    cur,
                    "SELECT count(*), sum(hash(timeframe, ts, open, high, low, close, volume, "
                    "oi)) FROM bars WHERE instrument_id = ?",
                    [instrument_id],
                )
            except duckdb.Error as exc:
                name = keys.get(instrument_id, f"instrument id {instrument_id}")
                result.affected.append(f"{name} ({_detail(str(exc))})")
                continue
            result.bars += int(row[0]) if row else 0
        if not result.affected:
            # the per-instrument reads skip row groups by their min/max; read the rest too
            try:
                total = _read_table(cur, "bars")
            except duckdb.Error as exc:
                result.problems.append(f"table bars: {_detail(str(exc))}")
            else:
                if total != result.bars:
                    orphans = total - result.bars
                    result.problems.append(
                        f"table bars: {orphans:,} bars belong to no listed instrument"
                    )
    if not result.ok:
        store.mark_damaged(
            StoreDamaged(
                f"the market store {store.path} is damaged (found by `artha data check`): "
                f"{advice(store.path)}"
            )
        )
    return result


# --- backup and restore ----------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bars: int
    size: int


def default_backup_path(database: Path, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return database.parent / "backups" / f"artha-{stamp}.duckdb"


def _bar_count(path: Path) -> tuple[int, int]:
    """(schema version, bars) of a store file opened read-only, every bar read; StoreError if
    it is not an Artha store or cannot be read whole."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"{path} does not open as a DuckDB database: {_detail(str(exc))}") from exc
    try:
        version = schema.current_version(con)
        if version == 0:
            raise StoreError(f"{path} is a DuckDB file but holds no Artha market store")
        if version > schema.LATEST_VERSION:
            raise StoreError(
                f"{path} has schema version {version}; this Artha knows only up to "
                f"{schema.LATEST_VERSION} (it was written by a newer Artha)"
            )
        # every bar is read, so a copy of damaged blocks is found here, not at the next use
        row = schema.first_row(
            con,
            "SELECT count(*), sum(hash(timeframe, ts, open, high, low, close, volume, oi)) "
            "FROM bars",
        )
        return version, int(row[0]) if row else 0
    except duckdb.Error as exc:
        raise StoreError(f"{path} cannot be read: {_detail(str(exc))}") from exc
    finally:
        con.close()


def backup(store: MarketStore, dest: Path | None = None) -> BackupResult:
    """Copy the store to `dest` (never over an existing file) and check that the copy opens."""
    dest = (dest or default_backup_path(store.path)).expanduser().resolve()
    if dest.exists():
        raise StoreError(f"{dest} already exists; name another file (a backup never overwrites)")
    if dest in (store.path, store.path.with_name(store.path.name + ".wal")):
        raise StoreError(f"{dest} is the store itself")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {dest.parent}: {exc.strerror}") from exc
    temp = dest.with_name(f".{dest.name}.part")
    with store.write_locked() as cur:
        try:
            cur.execute("CHECKPOINT")
            row = schema.first_row(cur, "SELECT count(*) FROM bars")
        except duckdb.Error as exc:
            raise write_failed(store.path, "backup (checkpoint)", exc) from exc
        bars = int(row[0]) if row else 0
        wal = store.path.with_name(store.path.name + ".wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"{store.path}: the write-ahead log could not be emptied by a checkpoint "
                "(another transaction is open?); close other windows and try again"
            )
        try:
            shutil.copyfile(store.path, temp)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise StoreError(f"cannot write the backup {dest}: {exc.strerror}") from exc
    try:
        _, copied = _bar_count(temp)
        if copied != bars:
            raise StoreError(f"the copy holds {copied:,} bars, the store {bars:,}")
        os.link(temp, dest)  # fails if dest appeared meanwhile: never overwrite
    except (StoreError, OSError) as exc:
        text = str(exc).replace(str(temp), "the copy")
        if isinstance(exc.__cause__, duckdb.Error) and is_damage(exc.__cause__):
            text += f", so the store itself is damaged: {advice(store.path)}"
        raise StoreError(f"the backup {dest} was not made: {text}") from exc
    finally:
        temp.unlink(missing_ok=True)
    return BackupResult(dest, bars, dest.stat().st_size)


@dataclass(frozen=True)
class RestoreResult:
    backup: Path
    database: Path
    moved: list[Path]  # the previous file (and WAL), kept under new names
    bars: int
    version: int


def restore(database: Path, source: Path, now: datetime | None = None) -> RestoreResult:
    """Put the backup `source` in place of `database` (which must not be open anywhere).

    The caller holds the workspace lock. The current file and its WAL are renamed to
    `NAME.damaged-TIMESTAMP` (and `.wal`), never deleted.
    """
    source = source.expanduser().resolve()
    database = database.resolve()
    if not source.is_file():
        raise StoreError(f"{source}: no such backup file")
    if source == database:
        raise StoreError(f"{source} is the workspace's store itself")
    version, bars = _bar_count(source)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    aside = database.with_name(f"{database.name}.damaged-{stamp}")
    wal = database.with_name(database.name + ".wal")
    temp = database.with_name(f".{database.name}.restoring")
    try:
        shutil.copyfile(source, temp)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise StoreError(f"cannot copy {source} into {database.parent}: {exc.strerror}") from exc
    moved: list[Path] = []
    try:
        for current, target in ((database, aside), (wal, aside.with_name(aside.name + ".wal"))):
            if current.exists():
                if target.exists():
                    raise StoreError(f"{target} already exists; try again in a second")
                current.rename(target)
                moved.append(target)
        temp.rename(database)
    except (OSError, StoreError) as exc:
        for target, current in zip(moved, (database, wal), strict=False):
            target.rename(current)
        temp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise StoreError(f"restore not done, {database} is as it was: {reason}") from exc
    return RestoreResult(source, database, moved, bars, version)
