"""MarketStore: the workspace's one DuckDB file: market data in bulk, app state through the ORM.

Bars never go through SQLAlchemy: a batch's DataFrame is registered with DuckDB and merged with
INSERT ... SELECT (store_bulk.py), and reads go straight to numpy with `fetchnumpy`
(store_query.py). Every write is ONE transaction: an import either lands whole or leaves the
file exactly as it was. Table layout and storage choices: schema.py.

Concurrency: one process holds the file read-write (DuckDB then locks out every other process,
even readers). Inside it, each call uses its own cursor (a DuckDB connection to the same
database), so threads may read while an import runs and see the data as of before it; writes
are serialised by a per-file lock, which also keeps the bar key (instrument, timeframe, ts)
unique (it is enforced by the write path, not an index: schema.py). Workers get Parquet
snapshots (snapshot.py), never the .duckdb path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

import duckdb
import numpy as np

from engine.calendar import CalendarLayer
from engine.calendar.changes import CalendarPlan
from engine.data import integrity, schema, store_calendar
from engine.data import store_query as query
from engine.data.bar_series import BarSeries
from engine.data.import_log import ImportReport, log_import, seen_before
from engine.data.schema import StoreDamaged, StoreError
from engine.data.snapshot import SnapshotSeries, write_snapshot
from engine.domain.instrument import Instrument

if TYPE_CHECKING:
    # pandas (~0.3 s to import) and the write path that builds frames load on the first
    # write or frame read: opening the store and reading bars (the desktop's first paint,
    # a backtest's worker) need DuckDB and numpy alone
    import pandas as pd
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from engine.data.batch import ImportBatch

__all__ = ["ImportReport", "MarketStore", "SeriesInfo", "StoreDamaged", "StoreError"]

log = logging.getLogger("artha.store")
_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()
# A store found damaged in this process refuses writes until the file is replaced (a restore
# puts a new file, with a new inode, in its place): path -> (file identity, the error)
_DAMAGED: dict[Path, tuple[tuple[int, int] | None, StoreDamaged]] = {}
# A store read whole in this process before its first write (row 88: a damaged block is found
# only by a query that reads it, so an import alone would keep writing into a damaged file):
# path -> file identity when verified. ~60 ms per million bars, once per process and file.
_VERIFIED: dict[Path, tuple[int, int] | None] = {}


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass(frozen=True)
class SeriesInfo:
    exchange: str
    symbol: str
    timeframe: str
    first_ts: int  # int64 ns UTC, bar open
    last_ts: int
    bars: int


class MarketStore:
    """Open with `MarketStore.open(path)`; use as a context manager or call close()."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self.schema_version = schema.current_version(con)
        self._con: duckdb.DuckDBPyConnection | None = con
        self._engine: sa.Engine | None = None
        with _WRITE_LOCKS_GUARD:
            self._write_lock = _WRITE_LOCKS.setdefault(path, threading.Lock())

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> MarketStore:
        """Open the store; read-write creates and migrates it, read-only never changes it."""
        path = Path(path).expanduser().resolve()
        if read_only and not path.is_file():
            raise StoreError(f"{path}: no market store there to open read-only")
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {path.parent}: {exc.strerror}") from exc
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise query.open_error(path, read_only, exc) from exc
        # DuckDB draws a progress bar on stdout for long statements (a migration of a big
        # file): it would corrupt `--json -` output and means nothing in the app
        con.execute("SET enable_progress_bar = false")
        try:
            if read_only:
                schema.check_current(con, path)
            else:
                schema.migrate(con, path)
            layer = store_calendar.read_layer(con)
            store = cls(path, con, read_only)
        except duckdb.Error as exc:
            con.close()
            if integrity.is_damage(exc):
                raise integrity.damaged(path, exc) from exc
            raise StoreError(f"{path}: cannot read the workspace's market calendar: {exc}") from exc
        except StoreError as exc:
            con.close()
            if integrity.is_damage(exc):
                raise integrity.damaged(path, exc) from exc
            raise
        except BaseException:
            con.close()
            raise
        store_calendar.install(layer)
        return store

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "closed" if self._con is None else "read-only" if self.read_only else "read-write"
        return f"MarketStore({str(self.path)!r}, v{self.schema_version}, {mode})"

    @contextmanager
    def _cursor(self, *, convert: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own; the ONE place where DuckDB's damage errors become StoreDamaged.

        A checksum error (or a StoreError raised from one) becomes StoreDamaged and marks the
        store damaged for this process; "database invalidated" becomes a StoreError.
        `convert=False` is for `data check`, which reads on past damage to list all of it.
        """
        if self._con is None:
            raise StoreError(f"{self.path}: the store is closed")
        cur = self._con.cursor()
        try:
            yield cur
        except (duckdb.Error, StoreError) as exc:
            if not convert:
                raise
            if integrity.is_damage(exc):
                damage = integrity.damaged(self.path, exc)
                self.mark_damaged(damage)
                raise damage from exc
            if isinstance(exc, duckdb.Error):
                closed = integrity.invalidated(self.path, exc)
                if closed is not None:
                    raise closed from exc
            raise
        finally:
            cur.close()

    def mark_damaged(self, damage: StoreDamaged) -> None:
        """Refuse writes to this file for the rest of the process (until it is replaced).

        The first damage found is logged once (whoever caught it only shows it): one record
        per process and file, however many reads fail after it. `console=False`: a command
        prints the error itself, the log file and the app's Log panel get this record.
        """
        identity = _file_id(self.path)
        known = _DAMAGED.get(self.path)
        if known is not None and known[0] == identity:
            return
        # kept without its traceback: frames holding DuckDB cursors must not live on to exit
        _DAMAGED[self.path] = (identity, StoreDamaged(str(damage)))
        log.error("%s", str(damage), extra={"console": False})

    @property
    def damage(self) -> StoreDamaged | None:
        """The StoreDamaged seen on this file in this process, if any."""
        known = _DAMAGED.get(self.path)
        if known is None:
            return None
        if known[0] != _file_id(self.path):
            del _DAMAGED[self.path]
            return None
        return known[1]

    def _refuse_writes(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only: cannot {what}")
        damage = self.damage
        if damage is not None:
            raise StoreDamaged(f"cannot {what}: {damage}")

    @contextmanager
    def write_locked(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor while holding the write lock, with no transaction (backup: CHECKPOINT)."""
        self._refuse_writes("back up the store")
        with self._write_lock, self._cursor() as cur:
            yield cur

    @contextmanager
    def _transaction(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction: COMMIT at the end, ROLLBACK on any exception.

        A failed COMMIT has already ended the transaction in DuckDB (a ROLLBACK then fails
        with "no transaction is active"): the error reported is always the first one.
        """
        self._refuse_writes(what)
        with self._write_lock, self._cursor() as cur:
            self._verify_before_first_write(cur, what)
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException as exc:
                _rollback(cur)
                if isinstance(exc, duckdb.Error):
                    raise integrity.write_failed(self.path, what, exc) from exc
                raise
            try:
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                _rollback(cur)
                raise integrity.write_failed(self.path, what, exc) from exc

    def _verify_before_first_write(self, cur: duckdb.DuckDBPyConnection, what: str) -> None:
        """Read every block of every table once per process before writing (row 88).

        DuckDB checks a checksum only when a block is read, so a write alone never notices
        damage: imports would go on landing in a file that must be restored from a backup.
        """
        identity = _file_id(self.path)
        if identity is not None and _VERIFIED.get(self.path) == identity:
            return
        try:
            integrity.read_all(cur)
        except (duckdb.Error, StoreError) as exc:
            if not integrity.is_damage(exc):
                raise
            damage = integrity.damaged(self.path, exc)
            self.mark_damaged(damage)
            raise StoreDamaged(f"cannot {what}: {damage}") from exc
        _VERIFIED[self.path] = identity

    def check(self) -> integrity.CheckResult:
        """Read every table and every instrument's bars; which instruments are damaged."""
        return integrity.check(self)

    def backup(self, dest: Path | None = None) -> integrity.BackupResult:
        """A verified copy of the store (default WORKSPACE/backups/artha-STAMP.duckdb)."""
        return integrity.backup(self, dest)

    # --- writing: one transaction each ---------------------------------------------------

    def import_batch(self, batch: ImportBatch, *, force: bool = False) -> ImportReport:
        """Write one parsed file; content imported before (same sha256) is skipped.

        `force=True` merges it again anyway (e.g. after a fixed importer changed the bars).
        """
        from engine.data import store_bulk as bulk

        digest = bulk.batch_digest(batch)
        with self._transaction(f"import {batch.source}") as cur:
            seen = seen_before(cur, batch.source, batch.format, digest, batch.notes)
            if seen is not None and not force:
                return seen
            added = bulk.upsert_instruments(
                cur, batch.instruments, batch.source, overwrite=not batch.placeholder_instruments
            )
            merged = bulk.merge_bars(cur, batch.bars, batch.source)
            log_import(cur, batch.source, batch.format, merged.rows, merged.first_ts,
                       merged.last_ts, digest)  # fmt: skip
        return ImportReport(
            batch.source, batch.format, added, merged.written, merged.unchanged,
            merged.first_ts, merged.last_ts, False, [*batch.notes, *merged.notes],
        )  # fmt: skip

    def import_batches(
        self, batches: Sequence[ImportBatch], *, force: bool = False
    ) -> list[ImportReport]:
        """Many parsed files (e.g. five years of daily bhavcopies) in ONE transaction.

        Each statement costs DuckDB milliseconds whatever its size, so merging 50 daily files
        at once is ~20x faster than 50 imports. Files seen before are skipped as usual. Two
        files of the group holding the same bar cannot be merged together: those go one by
        one. Any other failure raises StoreError with nothing of the group kept (the caller,
        engine.data.import_files, then writes them one by one to name the file at fault).
        """
        from engine.data import store_bulk as bulk
        from engine.data.store_group import write_group

        digests = [bulk.batch_digest(b) for b in batches]
        with self._cursor() as cur:
            seen = {
                (row[0], row[1])
                for row in cur.execute(
                    "SELECT sha256, format FROM import_log WHERE sha256 IN "
                    "(SELECT unnest(?::VARCHAR[]))",
                    [digests],
                ).fetchall()
            }
        fresh = [
            (b, d) for b, d in zip(batches, digests, strict=True)
            if force or (d, b.format) not in seen
        ]  # fmt: skip
        if len(fresh) < 2:
            return [self.import_batch(b, force=force) for b in batches]
        with self._transaction(f"import {len(fresh)} files") as cur:
            written = write_group(cur, fresh)
        return [written.get(id(b)) or self.import_batch(b, force=force) for b in batches]

    def write_bars(self, series: BarSeries, exchange: str = "NSE", segment: str = "EQ") -> int:
        """Store generated bars (demo, resampled); creates an EQ/INDEX instrument if needed.

        Same rules as imports (one transaction, merged by key); returns bars new or changed.
        """
        from engine.data import store_bulk as bulk

        source = f"{exchange}:{series.symbol} {series.timeframe} bars"
        with self._transaction(f"write {source}") as cur:
            known = schema.first_row(
                cur,
                "SELECT id FROM instruments WHERE exchange = ? AND symbol = ?",
                [exchange, series.symbol],
            )
            if known is None:
                if segment not in ("EQ", "INDEX"):
                    raise StoreError(
                        f"{exchange}:{series.symbol} is not in the store and a {segment} "
                        "contract needs its expiry/strike: import the contract first"
                    )
                new = bulk.default_instrument(exchange, segment, series.symbol)
                bulk.upsert_instruments(cur, new, source, overwrite=False)
            return bulk.merge_bars(cur, bulk.series_frame(series, exchange), source).written

    def write_instruments(self, instruments: Sequence[Instrument], source: str) -> int:
        """Insert or update contracts from a broker's instruments dump (lot, tick, freeze,
        expiry, strike, token), in one transaction; returns how many were new."""
        from engine.data import store_bulk as bulk

        frame = bulk.instruments_rows(instruments)
        with self._transaction(f"write instruments from {source}") as cur:
            return bulk.upsert_instruments(cur, frame, source)

    def add_corporate_actions(
        self, frame: pd.DataFrame, *, replacing: tuple[str, str, date, str] | None = None
    ) -> int:
        """Upsert actions keyed on (exchange, symbol, ex_date, kind); returns rows new/changed.

        Columns: exchange, symbol, ex_date, kind (split|bonus|dividend), ratio_from, ratio_to,
        amount_paise, note (optional). Ratios are stored as given (the adjuster reads them).
        `replacing` = the key of an action removed in the same transaction (an edit that moved
        its ex-date or kind): both happen or neither.
        """
        with self._transaction("add corporate actions") as cur:
            if replacing is not None:
                query.delete_corporate_action(cur, *replacing)
            return query.upsert_corporate_actions(cur, frame)

    def delete_corporate_action(self, exchange: str, symbol: str, ex_date: date, kind: str) -> int:
        """Remove the action keyed (exchange, symbol, ex_date, kind); rows deleted (0 or 1)."""
        with self._transaction("delete corporate action") as cur:
            return query.delete_corporate_action(cur, exchange, symbol, ex_date, kind)

    def apply_calendar(self, plan: CalendarPlan) -> None:
        """Write a calendar plan (engine/calendar/changes.py) in one transaction; from then on
        every calendar in this process answers with it."""
        with self._transaction("change the market calendar") as cur:
            if store_calendar.read_layer(cur) != plan.base:
                raise StoreError(
                    f"{self.path}: the market calendar changed since this change was prepared; "
                    "prepare it again"
                )
            store_calendar.write_layer(cur, plan.layer)
        store_calendar.install(plan.layer)

    # --- reading -------------------------------------------------------------------------

    def calendar_layer(self) -> CalendarLayer:
        """The workspace's own calendar: imported holiday lists and the trader's entries."""
        with self._cursor() as cur:
            return store_calendar.read_layer(cur)

    def instrument(self, symbol: str, exchange: str | None = None) -> Instrument:
        """The instrument `symbol` (any case, or EXCHANGE:SYMBOL); unknown/ambiguous: error."""
        with self._cursor() as cur:
            row = query.resolve(cur, self.path, symbol, exchange)
        return query.to_instrument(row, self.path)

    def instruments(self, exchange: str | None = None) -> pd.DataFrame:
        with self._cursor() as cur:
            return query.instruments_frame(cur, exchange)

    def instrument_names(self) -> list[tuple[str, str, str]]:
        """(exchange, symbol, name or "") of every instrument, ordered as `instruments()`:
        for lists that need no more (the watchlist at the station's start) without the
        DataFrame, whose pandas takes ~0.3 s to import."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT exchange, symbol, coalesce(name, '') FROM instruments "
                "ORDER BY exchange, symbol"
            ).fetchall()
        return [(str(e), str(s), str(n)) for e, s, n in rows]

    def read_bars(
        self,
        symbol: str,
        timeframe: str = "1m",
        start: datetime | date | None = None,
        end: datetime | date | None = None,
        exchange: str | None = None,
    ) -> BarSeries:
        """Bars opening in [start, end]; dates are whole IST days, datetimes must be aware.

        No bars in the range: an empty series. No bars of this timeframe at all: StoreError
        naming the timeframes the symbol has.
        """
        lo, hi = query.bounds(start, end)
        with self._cursor() as cur:
            row = query.resolve(cur, self.path, symbol, exchange)
            return query.read_series(
                cur, self.path, row, query.checked_timeframe(timeframe), lo, hi
            )

    def list_series(self) -> list[SeriesInfo]:
        with self._cursor() as cur:
            return [SeriesInfo(*row) for row in query.series_rows(cur)]

    def read_rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only query (SELECT or WITH) on a cursor of its own, damage
        turned into StoreDamaged as in every read. For aggregate reads written as SQL (the
        watchlist's quotes, the Data panel's coverage): DuckDB alone, where the ORM engine
        would load SQLAlchemy (~0.3 s) on the desktop's first screen."""
        words = sql.split(None, 1)
        if not words or words[0].upper() not in ("SELECT", "WITH"):
            raise StoreError("read_rows runs SELECT or WITH queries only")
        with self._cursor() as cur:
            return cur.execute(sql, list(params)).fetchall()

    def read_columns(
        self, sql: str, params: Sequence[object], dtypes: Mapping[str, np.dtype[Any]]
    ) -> dict[str, np.ndarray]:
        """The columns of one read-only query as arrays of `dtypes`, read in chunks
        (`store_query.fetch_columns`: a long read never holds the GIL for long), damage turned
        into StoreDamaged as in every read."""
        words = sql.split(None, 1)
        if not words or words[0].upper() not in ("SELECT", "WITH"):
            raise StoreError("read_columns runs SELECT or WITH queries only")
        with self._cursor() as cur:
            return query.fetch_columns(cur.execute(sql, list(params)), dtypes)

    def import_log(self) -> pd.DataFrame:
        with self._cursor() as cur:
            return cur.execute("SELECT * FROM import_log ORDER BY id").df()

    def corporate_actions(self, symbol: str | None = None) -> pd.DataFrame:
        """All actions, or those of `symbol` (any exchange, or EXCHANGE:SYMBOL)."""
        with self._cursor() as cur:
            return query.corporate_actions_frame(cur, symbol)

    def snapshot(
        self,
        symbols: Sequence[str],
        timeframe: str,
        folder: Path,
        start: datetime | date | None = None,
        end: datetime | date | None = None,
    ) -> Path:
        """COPY these symbols' bars to a new Parquet file in `folder` for worker processes.

        Workers read it with snapshot.load_snapshot; a series is labelled by its symbol, or
        EXCHANGE:SYMBOL when two requested instruments share a symbol.
        """
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        timeframe = query.checked_timeframe(timeframe)
        lo, hi = query.bounds(start, end)
        with self._cursor() as cur:
            rows = [query.resolve(cur, self.path, s, None) for s in names]
            if len({r.id for r in rows}) != len(rows):
                raise StoreError(f"an instrument is requested twice in {names}")
            plain = [r.symbol for r in rows]
            entries = [
                SnapshotSeries(r.id, r.exchange, r.symbol, r.symbol)
                if plain.count(r.symbol) == 1
                else SnapshotSeries(r.id, r.exchange, r.symbol, r.key)
                for r in rows
            ]
            return write_snapshot(cur, entries, timeframe, lo, hi, Path(folder))

    # --- application state: SQLAlchemy ORM on the same file (app_state.py) --------------

    @property
    def sa_engine(self) -> sa.Engine:
        """An Engine whose connections are cursors of this store's DuckDB connection.

        A second duckdb.connect() of the file would carry duckdb-engine's own config and be
        refused; cursors share the database instance (and its lock) and close with the store.
        """
        if self._engine is None:
            import sqlalchemy as sa
            from duckdb_engine import ConnectionWrapper

            if self._con is None:
                raise StoreError(f"{self.path}: the store is closed")
            con = self._con
            engine = sa.create_engine(
                sa.URL.create("duckdb", database=str(self.path)),
                creator=lambda: cast(Any, ConnectionWrapper(con.cursor())),
            )
            sa.event.listen(engine, "before_cursor_execute", self._orm_before_execute)
            sa.event.listen(engine, "handle_error", self._orm_error)
            self._engine = engine
        return self._engine

    def _orm_before_execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """ORM writes obey the same refusal as bar writes (read-only, or found damaged)."""
        words = statement.split(None, 1)
        if not words or words[0].upper() not in ("SELECT", "WITH", "PRAGMA"):
            self._refuse_writes("write application state")

    def _orm_error(self, context: sa.engine.ExceptionContext) -> BaseException | None:
        """The ORM's errors pass the same damage conversion as `_cursor`'s (StoreDamaged)."""
        exc = context.original_exception
        if integrity.is_damage(exc):
            damage = integrity.damaged(self.path, exc)
            self.mark_damaged(damage)
            return damage
        if isinstance(exc, duckdb.Error):
            return integrity.invalidated(self.path, exc)
        return None

    def session(self) -> Session:
        """A new ORM Session on the app-state tables: `with store.session() as s: ...`."""
        from sqlalchemy.orm import Session

        return Session(self.sa_engine)


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """ROLLBACK if DuckDB still has the transaction open; never hides the first error."""
    # already ended (a failed COMMIT) or the database was invalidated: nothing to undo
    with suppress(duckdb.Error):
        cur.execute("ROLLBACK")
