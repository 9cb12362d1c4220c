"""The market store's tables and their versioned migrations.

A migration is (version, description, apply) and runs inside one transaction together with its
row in `schema_version`, so a workspace is always at exactly one version. Released migrations
are FROZEN: never edit one, append a new one (an old workspace replays only what it lacks).

Storage choices (measured, see store.py):
- Prices are BIGINT paise, exact like BarSeries; DOUBLE would turn 0.05 into 0.05000000000000000277
  and make "did this bar change" comparisons and sums of money inexact.
- `bars.ts` is BIGINT nanoseconds since the epoch, UTC, of the bar's OPEN: the exact int64 that
  BarSeries and ImportBatch carry, read back by fetchnumpy with no conversion and no time-zone
  setting involved (TIMESTAMPTZ renders in the session's zone; TIMESTAMP is microseconds).
- `bars` has NO declared primary key. Its key (instrument_id, timeframe, ts) is enforced by the
  store's one write path (store.py checks the batch for duplicates and merges by anti-join), not
  by a DuckDB index. Measured on 10M bars: with the key as a PRIMARY KEY the insert took 17 s
  (33 s with ON CONFLICT DO UPDATE) instead of 3 s and the file grew from 43 MB to 800-900 MB:
  the ART index, which must also sit in memory for every write.
- CHECK constraints keep bad bars and instruments out whatever writes them; RULES below repeat
  them one by one so a failed write can say which row broke which rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

# Defined in errors.py (no DuckDB there, for the app's first paint); the store's modules
# import them from here as before.
from engine.data.errors import StoreDamaged as StoreDamaged
from engine.data.errors import StoreError as StoreError

Connection = duckdb.DuckDBPyConnection
log = logging.getLogger("artha.store")


def first_row(con: Connection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row or None. Not fetchone(): in duckdb 2.0 a partly fetched result blocks
    register()/cursor() on that connection ("unfinished result"); fetchall() completes it."""
    rows = con.execute(sql, params).fetchall()
    return tuple(rows[0]) if rows else None


def utc_now_naive() -> datetime:
    """TIMESTAMP columns hold naive UTC (DuckDB's TIMESTAMPTZ would render in a session zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _sql(*statements: str) -> Callable[[Connection], None]:
    def apply(con: Connection) -> None:
        for statement in statements:
            con.execute(statement)

    return apply


# v1 (frozen): market data.
_V1 = (
    "CREATE SEQUENCE instrument_id_seq START 1",
    """CREATE TABLE instruments (
        id INTEGER PRIMARY KEY DEFAULT nextval('instrument_id_seq'),
        exchange VARCHAR NOT NULL CHECK (exchange IN ('NSE', 'BSE', 'NFO', 'BFO')),
        segment VARCHAR NOT NULL CHECK (segment IN ('EQ', 'FUT', 'OPT', 'INDEX')),
        symbol VARCHAR NOT NULL CHECK (length(symbol) > 0 AND symbol = trim(symbol)),
        isin VARCHAR,
        token BIGINT CHECK (token >= 0),
        lot_size INTEGER NOT NULL CHECK (lot_size >= 1),
        tick_size_paise INTEGER NOT NULL CHECK (tick_size_paise >= 1),
        freeze_quantity INTEGER CHECK (freeze_quantity >= 1),
        expiry DATE,
        strike_paise BIGINT CHECK (strike_paise > 0),
        option_type VARCHAR CHECK (option_type IN ('CE', 'PE')),
        underlying VARCHAR,
        series VARCHAR,
        name VARCHAR NOT NULL DEFAULT '',
        UNIQUE (exchange, symbol),
        CHECK (segment <> 'OPT' OR (expiry IS NOT NULL AND strike_paise IS NOT NULL
                                    AND option_type IS NOT NULL)),
        CHECK (segment = 'OPT' OR (strike_paise IS NULL AND option_type IS NULL)),
        CHECK (segment <> 'FUT' OR expiry IS NOT NULL)
    )""",
    """CREATE TABLE bars (
        instrument_id INTEGER NOT NULL,
        timeframe VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        open BIGINT NOT NULL,
        high BIGINT NOT NULL,
        low BIGINT NOT NULL,
        close BIGINT NOT NULL,
        volume BIGINT NOT NULL,
        oi BIGINT,
        CHECK (low > 0 AND high >= low AND open BETWEEN low AND high
               AND close BETWEEN low AND high),
        CHECK (volume >= 0 AND (oi IS NULL OR oi >= 0))
    )""",
    """CREATE TABLE corporate_actions (
        exchange VARCHAR NOT NULL,
        symbol VARCHAR NOT NULL,
        ex_date DATE NOT NULL,
        kind VARCHAR NOT NULL CHECK (kind IN ('split', 'bonus', 'dividend')),
        ratio_from INTEGER,
        ratio_to INTEGER,
        amount_paise BIGINT,
        note VARCHAR NOT NULL DEFAULT '',
        PRIMARY KEY (exchange, symbol, ex_date, kind),
        CHECK (CASE WHEN kind = 'dividend' THEN coalesce(amount_paise > 0, false)
                    ELSE coalesce(ratio_from > 0 AND ratio_to > 0, false) END)
    )""",
    "CREATE SEQUENCE import_log_id_seq START 1",
    """CREATE TABLE import_log (
        id INTEGER PRIMARY KEY DEFAULT nextval('import_log_id_seq'),
        source VARCHAR NOT NULL,
        format VARCHAR NOT NULL,
        rows BIGINT NOT NULL,
        first_ts BIGINT,
        last_ts BIGINT,
        imported_at TIMESTAMP NOT NULL
    )""",
)

# v2 (frozen): application state for the SQLAlchemy models in app_state.py, and the content
# hash that makes re-importing a file a no-op.
_V2 = (
    "ALTER TABLE import_log ADD COLUMN sha256 VARCHAR",
    "CREATE TABLE settings (key VARCHAR PRIMARY KEY, value JSON NOT NULL)",
    """CREATE TABLE strategies (
        name VARCHAR PRIMARY KEY,
        path VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
    "CREATE SEQUENCE backtest_run_id_seq START 1",
    """CREATE TABLE backtest_runs (
        id BIGINT PRIMARY KEY DEFAULT nextval('backtest_run_id_seq'),
        strategy VARCHAR NOT NULL,
        params JSON NOT NULL,
        config JSON NOT NULL,
        created_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL
            CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        summary JSON
    )""",
)

# v3 (frozen): bars.timeframe as an ENUM (one byte, stored as a constant per row group): a
# VARCHAR there cost ~10% of a CSV import (string handling on insert, FSST analysis on
# checkpoint), measured on 1M-bar files. A new timeframe needs a new migration (a new ENUM
# and an ALTER); tests/engine/test_store.py checks that this list is TIMEFRAMES.
BAR_TIMEFRAMES_V3 = ("1m", "3m", "5m", "15m", "30m", "60m", "1d")
_V3 = (
    "CREATE TYPE bar_timeframe AS ENUM ("
    + ", ".join(f"'{name}'" for name in BAR_TIMEFRAMES_V3)
    + ")",
    "ALTER TABLE bars ALTER COLUMN timeframe SET DATA TYPE bar_timeframe",
)

# v4 (frozen): the workspace's own market calendar (engine/calendar: imported exchange holiday
# lists and the trader's holidays and special sessions). One row per (day, exchange, segment);
# exchange 'both' means NSE and BSE. A list row makes its year known (no longer provisional).
_V4 = (
    """CREATE TABLE calendar_entries (
        day DATE NOT NULL,
        exchange VARCHAR NOT NULL CHECK (exchange IN ('NSE', 'BSE', 'both')),
        segment VARCHAR NOT NULL CHECK (segment IN ('equity', 'fo', 'currency')),
        kind VARCHAR NOT NULL CHECK (kind IN ('holiday', 'muhurat', 'budget', 'special')),
        pre_open TIME,
        open TIME,
        close TIME,
        note VARCHAR NOT NULL DEFAULT '',
        source VARCHAR NOT NULL CHECK (source IN ('user', 'imported')),
        origin VARCHAR NOT NULL DEFAULT '',
        edited_at TIMESTAMP NOT NULL,
        PRIMARY KEY (day, exchange, segment),
        CHECK ((kind = 'holiday') = (open IS NULL)),
        CHECK (open IS NULL OR (close IS NOT NULL AND open < close)),
        CHECK (open IS NOT NULL OR (close IS NULL AND pre_open IS NULL)),
        CHECK (pre_open IS NULL OR pre_open <= open)
    )""",
    """CREATE TABLE calendar_lists (
        exchange VARCHAR NOT NULL CHECK (exchange IN ('NSE', 'BSE', 'both')),
        segment VARCHAR NOT NULL CHECK (segment IN ('equity', 'fo', 'currency')),
        year INTEGER NOT NULL CHECK (year BETWEEN 1900 AND 2200),
        source VARCHAR NOT NULL CHECK (source IN ('user', 'imported')),
        origin VARCHAR NOT NULL DEFAULT '',
        loaded_at TIMESTAMP NOT NULL,
        PRIMARY KEY (exchange, segment, year)
    )""",
)

# v5 (frozen): the run history (engine/data/run_history.py). backtest_runs gains what reopens
# and compares a run: its name and tags, where the strategy came from and the sha256 of its
# source, the symbols, timeframe and first/last bar (UTC), and the saved report (JSON) with the
# equity curve (npz bytes). DuckDB cannot ADD a NOT NULL column, so the table is rebuilt: the
# rows are copied aside and back (ids kept, the sequence goes on), old rows named
# "STRATEGY #ID" and left without a report.
_V5 = (
    "CREATE TABLE backtest_runs_v4 AS SELECT * FROM backtest_runs",
    "DROP TABLE backtest_runs",
    """CREATE TABLE backtest_runs (
        id BIGINT PRIMARY KEY DEFAULT nextval('backtest_run_id_seq'),
        name VARCHAR NOT NULL CHECK (length(trim(name)) > 0),
        strategy VARCHAR NOT NULL,
        strategy_module VARCHAR,
        strategy_path VARCHAR,
        strategy_class VARCHAR NOT NULL DEFAULT '',
        source_hash VARCHAR CHECK (source_hash IS NULL OR length(source_hash) = 64),
        params JSON NOT NULL,
        symbols JSON NOT NULL DEFAULT '[]' CHECK (json_type(symbols) = 'ARRAY'),
        timeframe VARCHAR,
        data_first TIMESTAMP,
        data_last TIMESTAMP,
        config JSON NOT NULL,
        tags JSON NOT NULL DEFAULT '[]' CHECK (json_type(tags) = 'ARRAY'),
        created_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL
            CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        summary JSON,
        report JSON,
        curve BLOB,
        CHECK (strategy_module IS NULL OR strategy_path IS NULL),
        CHECK (data_first IS NULL OR data_last IS NULL OR data_first <= data_last)
    )""",
    """INSERT INTO backtest_runs (id, name, strategy, params, symbols, config, tags, created_at,
                                 status, summary)
       SELECT id, strategy || ' #' || id, strategy, params,
              CASE WHEN json_type(config, '$.symbols') = 'ARRAY'
                   THEN json_extract(config, '$.symbols') ELSE '[]'::JSON END,
              config, '[]'::JSON, created_at, status, summary
       FROM backtest_runs_v4""",
    "DROP TABLE backtest_runs_v4",
)

# v6 (frozen): a run's equity curve as rows of `run_curves` (one per bar), not an npz BLOB in
# its backtest_runs row. DuckDB rewrites a table's whole (only) row group at each checkpoint
# once a row is appended: with a 32 MB uncompressed npz per 1M-bar run, every second save
# rewrote every saved curve (0.1 s more per run already saved: 2.4 s at ten) and the file
# grew ~64 MB a run. As rows the curve compresses (~9 MB a 1M-bar run), each run appends row
# groups of its own that no later save rewrites, and a save costs the same at the 100th run.
# No key (as `bars`): run_history writes and deletes a run's rows in the run's transaction.
# Existing curves move over; a BLOB that is not a readable npz stays where it is (the run
# history names it as damaged, as before).
_V6_CREATE = """CREATE TABLE run_curves (
    run_id BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    equity DOUBLE NOT NULL,
    gross_equity DOUBLE NOT NULL,
    exposure DOUBLE NOT NULL
)"""
_V6_CURVE_ARRAYS = ("timestamps", "equity", "gross_equity", "exposure")


def _v6_apply(con: Connection) -> None:
    """Create run_curves and move each readable npz into it, one run at a time (a 1M-bar
    curve is 32 MB), then empty the moved BLOBs in one statement. Measured on twelve 1M-bar
    runs: ~8 s, once; a demo-sized run's curve takes milliseconds."""
    import io
    import zipfile

    import numpy as np
    import pandas as pd

    con.execute(_V6_CREATE)
    ids = [
        int(row[0])
        for row in con.execute(
            "SELECT id FROM backtest_runs WHERE curve IS NOT NULL ORDER BY id"
        ).fetchall()
    ]
    if ids:
        log.info(
            "upgrading the run history: moving %d saved equity curve(s) into rows (once)",
            len(ids),
        )
    for run_id in ids:
        [(blob,)] = con.execute("SELECT curve FROM backtest_runs WHERE id = ?", [run_id]).fetchall()
        data = bytes(blob)
        try:
            if not zipfile.is_zipfile(io.BytesIO(data)):
                continue
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                columns = [np.asarray(arrays[name]) for name in _V6_CURVE_ARRAYS]
            frame = pd.DataFrame(
                {
                    "ts": columns[0].astype(np.int64),
                    "equity": columns[1].astype(np.float64),
                    "gross_equity": columns[2].astype(np.float64),
                    "exposure": columns[3].astype(np.float64),
                }
            )
        except Exception:  # any way an npz fails to be a curve (truncated, other arrays, a pickle)
            continue  # damaged: left as it is, reported when the run is opened
        del data, blob
        con.register("v6_curve", frame)
        try:
            con.execute(
                "INSERT INTO run_curves SELECT ?, ts, equity, gross_equity, exposure FROM v6_curve",
                [run_id],
            )
        finally:
            con.unregister("v6_curve")
    con.execute(
        "UPDATE backtest_runs SET curve = NULL WHERE id IN (SELECT DISTINCT run_id FROM run_curves)"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "market data: instruments, bars, corporate actions, import log", _sql(*_V1)),
    Migration(2, "application state tables; import_log.sha256 for idempotent imports", _sql(*_V2)),
    Migration(3, "bars.timeframe as an ENUM", _sql(*_V3)),
    Migration(4, "the workspace's market calendar: entries and loaded holiday lists", _sql(*_V4)),
    Migration(5, "run history: names, tags, strategy source, data range, reports", _sql(*_V5)),
    Migration(6, "run history: equity curves as rows of run_curves", _v6_apply),
)
LATEST_VERSION = MIGRATIONS[-1].version

# One rule per CHECK above, as (what must hold, message); {column} fields are filled from the
# offending row (prices in rupees) when a write fails, to say which row broke which rule.
Rule = tuple[str, str]
BAR_RULES: tuple[Rule, ...] = (
    *((f"{c} IS NOT NULL", f"{c} is missing") for c in ("ts", "open", "high", "low", "close")),
    ("volume IS NOT NULL", "volume is missing"),
    ("low > 0", "low {low} is not above zero"),
    ("high >= low", "high {high} is below low {low}"),
    ("open BETWEEN low AND high", "open {open} is outside low {low} .. high {high}"),
    ("close BETWEEN low AND high", "close {close} is outside low {low} .. high {high}"),
    ("volume >= 0", "volume {volume} is negative"),
    ("oi IS NULL OR oi >= 0", "open interest {oi} is negative"),
)
INSTRUMENT_RULES: tuple[Rule, ...] = (
    ("exchange IN ('NSE', 'BSE', 'NFO', 'BFO')", "exchange {exchange} is not NSE/BSE/NFO/BFO"),
    ("segment IN ('EQ', 'FUT', 'OPT', 'INDEX')", "segment {segment} is not EQ/FUT/OPT/INDEX"),
    ("length(symbol) > 0", "symbol is empty"),
    ("symbol = trim(symbol)", "symbol {symbol!r} has leading or trailing spaces"),
    ("lot_size >= 1", "lot_size {lot_size} must be at least 1"),
    ("tick_size_paise >= 1", "tick size {tick_size_paise} paise must be at least 1"),
    ("freeze_quantity IS NULL OR freeze_quantity >= 1", "freeze quantity {freeze_quantity} < 1"),
    ("token IS NULL OR token >= 0", "token {token} is negative"),
    ("strike_paise IS NULL OR strike_paise > 0", "strike {strike_paise} paise is not positive"),
    ("option_type IS NULL OR option_type IN ('CE', 'PE')", "option type {option_type} not CE/PE"),
    (
        "segment <> 'OPT' OR (expiry IS NOT NULL AND strike_paise IS NOT NULL "
        "AND option_type IS NOT NULL)",
        "an option needs expiry, strike and option type (got {expiry}, {strike_paise}, "
        "{option_type})",
    ),
    (
        "segment = 'OPT' OR (strike_paise IS NULL AND option_type IS NULL)",
        "segment {segment} is not an option but has strike {strike_paise} / type {option_type}",
    ),
    ("segment <> 'FUT' OR expiry IS NOT NULL", "a future needs an expiry"),
)
CORPORATE_ACTION_RULES: tuple[Rule, ...] = (
    ("ex_date IS NOT NULL", "ex_date is missing"),
    ("kind IN ('split', 'bonus', 'dividend')", "kind {kind} is not split/bonus/dividend"),
    (
        "kind <> 'dividend' OR coalesce(amount_paise > 0, false)",
        "a dividend needs amount_paise > 0 (got {amount_paise})",
    ),
    (
        "kind = 'dividend' OR coalesce(ratio_from > 0 AND ratio_to > 0, false)",
        "a {kind} needs ratio_from and ratio_to > 0 (got {ratio_from}:{ratio_to})",
    ),
)


def _has_version_table(con: Connection) -> bool:
    row = first_row(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'schema_version'",
    )
    return bool(row and row[0])


def current_version(con: Connection) -> int:
    """The workspace's schema version; 0 for a file that holds no Artha schema yet."""
    if not _has_version_table(con):
        return 0
    row = first_row(con, "SELECT coalesce(max(version), 0) FROM schema_version")
    return int(row[0]) if row else 0


def _refuse_newer(version: int, path: Path) -> None:
    if version > LATEST_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, but this Artha knows only up to "
            f"{LATEST_VERSION}: it was written by a newer Artha. Update Artha to open it."
        )


def migrate(con: Connection, path: Path, target: int = LATEST_VERSION) -> list[int]:
    """Apply the missing migrations up to `target`, each in its own transaction; the applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        "description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    version = current_version(con)
    _refuse_newer(version, path)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= version or migration.version > target:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration.apply(con)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [migration.version, migration.description, utc_now_naive()],
            )
            con.execute("COMMIT")
        except Exception as exc:  # DuckDB's errors and a Python step's (v6 reads npz files)
            with suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise StoreError(
                f"{path}: schema migration v{migration.version} ({migration.description}) "
                f"failed, the file is left at v{version}: {exc}"
            ) from exc
        version = migration.version
        applied.append(version)
    return applied


def check_current(con: Connection, path: Path) -> int:
    """For read-only opens: the version, or StoreError if the file needs a migration first."""
    version = current_version(con)
    _refuse_newer(version, path)
    if version < LATEST_VERSION:
        what = "holds no Artha market store" if version == 0 else f"is at schema v{version}"
        raise StoreError(
            f"{path} {what}; this Artha needs v{LATEST_VERSION}. Open it read-write once "
            "(start Artha on this workspace) to upgrade it; read-only opens never change it."
        )
    return version
