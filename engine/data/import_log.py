"""What an import reports, and the import log that makes re-imports change nothing.

Every write path (one batch, a group of batches, the CSV fast path) records each file's
content hash here and asks here first whether that content was imported before.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from engine.data import schema


@dataclass(frozen=True)
class ImportReport:
    source: str
    format: str
    instruments_added: int
    bars_written: int  # new bars plus stored bars whose values changed
    bars_unchanged: int  # bars already stored with identical values
    first_ts: int | None  # int64 ns UTC of the batch's first/last bar open
    last_ts: int | None
    already_imported: bool  # this content was imported before: skipped, nothing compared
    notes: list[str]


def seen_before(
    cur: duckdb.DuckDBPyConnection, source: str, fmt: str, digest: str, notes: list[str]
) -> ImportReport | None:
    """The report for content imported before (same sha256 and format), else None."""
    prior = schema.first_row(
        cur,
        "SELECT source, imported_at, first_ts, last_ts FROM import_log "
        "WHERE sha256 = ? AND format = ? ORDER BY id LIMIT 1",
        [digest, fmt],
    )
    if prior is None:
        return None
    when = f"{prior[1]:%Y-%m-%d %H:%M} UTC"
    note = f"identical content was imported from {prior[0]} on {when}; nothing written"
    return ImportReport(source, fmt, 0, 0, 0, prior[2], prior[3], True, [*notes, note])


def log_import(
    cur: duckdb.DuckDBPyConnection,
    source: str,
    fmt: str,
    rows: int,
    first_ts: int | None,
    last_ts: int | None,
    digest: str,
) -> None:
    cur.execute(
        "INSERT INTO import_log (source, format, rows, first_ts, last_ts, imported_at, sha256) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [source, fmt, rows, first_ts, last_ts, schema.utc_now_naive(), digest],
    )
