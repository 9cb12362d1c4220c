"""The fast path for the documented bar CSV: parsed, checked and merged inside DuckDB.

Ten million one-minute bars through pandas cost ~5x DuckDB's own `read_csv`; here the file
goes straight into a staging table of the store's connection, every rule the generic importer
enforces is checked in SQL (offsets present, whole paise, OHLC consistent, volume >= 0,
times strictly increasing), and the staged bars are merged like any batch. It only ever
ACCEPTS: on any doubt it returns None and the caller runs the generic importer, which finds
the problem and names its `file:line`. Same transaction, same import log, same idempotency.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np

from engine.data import store_bulk as bulk
from engine.data.bar_series import infer_timeframe

HEADER = ("timestamp", "open", "high", "low", "close", "volume")
COLUMNS = (
    "{'timestamp': 'VARCHAR', 'open': 'DOUBLE', 'high': 'DOUBLE', 'low': 'DOUBLE', "
    "'close': 'DOUBLE', 'volume': 'BIGINT'}"
)
PAISE = ("open", "high", "low", "close")
_PROBLEMS = (
    "SELECT count(*) FILTER (WHERE timestamp IS NULL OR NOT regexp_matches(timestamp, "
    "'^\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?(Z|[+-]\\d\\d:?\\d\\d)$'))"
    ", count(*) FILTER (WHERE "
    + " OR ".join(
        f"{c} IS NULL OR NOT isfinite({c}) OR abs({c} * 100 - round({c} * 100)) >= 1e-6"
        for c in PAISE
    )
    + " OR volume IS NULL OR volume < 0 OR low <= 0 OR high < low "
    "OR high < greatest(open, close) OR low > least(open, close)), count(*) FROM csv_raw"
)


def applies(path: Path) -> bool:
    """A plain CSV whose header is exactly the documented layout (any case, no BOM)."""
    if path.suffix.lower() not in (".csv", ".txt") or not path.is_file():
        return False
    with path.open("rb") as handle:
        first = handle.readline(256)
    try:
        names = tuple(n.strip().lower() for n in first.decode("ascii").strip().split(","))
    except UnicodeDecodeError:
        return False
    return names == HEADER


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stage(
    cur: duckdb.DuckDBPyConnection, path: Path, symbol: str, exchange: str, timeframe: str | None
) -> tuple[int, int, int, str] | None:
    """Stage the file as `batch_bars`; (rows, first_ts, last_ts, timeframe) or None."""
    try:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE csv_raw AS SELECT * FROM read_csv(?, header = true, "
            f"auto_detect = false, columns = {COLUMNS}, delim = ',', quote = '\"', "
            "strict_mode = true)",
            [str(path)],
        )
        bad_time, bad_row, rows = cur.execute(_PROBLEMS).fetchall()[0]
        if bad_time or bad_row or not rows:
            return None
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE csv_ts AS SELECT rowid AS r, "
            "epoch_ns(CAST(timestamp AS TIMESTAMPTZ)) AS ts FROM csv_raw"
        )
        ts = cur.execute("SELECT ts FROM csv_ts ORDER BY r").fetchnumpy()["ts"]
    except duckdb.Error:
        return None
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) > 1 and not bool(np.all(np.diff(ts) > 0)):
        return None  # unsorted or duplicate times: the generic importer names the lines
    try:
        tf = timeframe or infer_timeframe(ts)
    except ValueError:
        return None
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE batch_bars AS SELECT ?::VARCHAR AS exchange, "
        "?::VARCHAR AS symbol, ?::VARCHAR AS timeframe, t.ts, "
        + ", ".join(f"CAST(round(c.{p} * 100) AS BIGINT) AS {p}" for p in PAISE)
        + ", c.volume, NULL::BIGINT AS oi FROM csv_raw c JOIN csv_ts t ON t.r = c.rowid",
        [exchange, symbol, tf],
    )
    cur.execute("DROP TABLE csv_raw; DROP TABLE csv_ts")
    return len(ts), int(ts[0]), int(ts[-1]), tf


def merge(cur: duckdb.DuckDBPyConnection, source: str) -> bulk.Merged:
    return bulk.merge_staged_table(cur, source)
