"""The store's bulk write path: DataFrames merged into DuckDB by SQL, never row by row.

Each function runs on the caller's cursor inside the caller's transaction (store.py opens and
ends it), so a failure anywhere rolls the whole write back. A DataFrame is `register`ed (a
zero-copy view; no pyarrow needed), staged with explicit casts, checked, and merged:

    stage -> unknown instruments? bad timeframe? duplicate keys? -> classify against stored
    bars (same / changed / new) -> UPDATE the changed, INSERT the new in key order

When a CHECK constraint stops a write, `_explain` re-runs schema's rules one by one over the
input on a side cursor to name the row and the rule ("NSE:X 1m bar at ...: high 9.00 is below
low 10.00") instead of DuckDB's bare expression.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from engine.data.bar_series import BarSeries, format_paise
from engine.data.batch import BAR_COLUMNS, INSTRUMENT_COLUMNS, ImportBatch
from engine.data.schema import (
    BAR_RULES,
    INSTRUMENT_RULES,
    Rule,
    StoreError,
    first_row,
)
from engine.domain.instrument import Instrument
from engine.domain.money import to_paise
from engine.ist import ist_iso
from engine.timeframes import TIMEFRAMES

Cursor = duckdb.DuckDBPyConnection
SERIES_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")
_VALUES = (*_PRICES, "volume", "oi")

_INSTRUMENTS_SQL = """SELECT DISTINCT
    exchange::VARCHAR AS exchange, segment::VARCHAR AS segment, symbol::VARCHAR AS symbol,
    nullif(trim(isin::VARCHAR), '') AS isin,
    token::BIGINT AS token, lot_size::INTEGER AS lot_size,
    tick_size::INTEGER AS tick_size_paise, freeze_quantity::INTEGER AS freeze_quantity,
    expiry::DATE AS expiry, strike::BIGINT AS strike_paise,
    nullif(trim(option_type::VARCHAR), '') AS option_type,
    nullif(trim(underlying::VARCHAR), '') AS underlying,
    nullif(trim(series::VARCHAR), '') AS series,
    coalesce(name::VARCHAR, '') AS name
FROM batch_instruments"""
_KEEP_OLD = ("isin", "token", "freeze_quantity", "expiry", "strike_paise", "option_type",
             "underlying", "series")  # fmt: skip
_UPSERT_INSTRUMENTS = (
    "INSERT INTO instruments (exchange, segment, symbol, isin, token, lot_size, tick_size_paise, "
    "freeze_quantity, expiry, strike_paise, option_type, underlying, series, name) "
    "SELECT * FROM new_instruments ORDER BY exchange, symbol "
    "ON CONFLICT (exchange, symbol) DO UPDATE SET "
    "segment = excluded.segment, lot_size = excluded.lot_size, "
    "tick_size_paise = excluded.tick_size_paise, "
    + "".join(f"{c} = coalesce(excluded.{c}, instruments.{c}), " for c in _KEEP_OLD)
    + "name = CASE WHEN excluded.name = '' THEN instruments.name ELSE excluded.name END"
)
_INSERT_NEW_INSTRUMENTS = (
    _UPSERT_INSTRUMENTS.split(" ON CONFLICT ")[0] + " ON CONFLICT (exchange, symbol) DO NOTHING"
)
_BARS_SQL = """SELECT b.exchange::VARCHAR AS exchange, b.symbol::VARCHAR AS symbol,
    b.timeframe::VARCHAR AS timeframe, b.ts::BIGINT AS ts, b.open::BIGINT AS open,
    b.high::BIGINT AS high, b.low::BIGINT AS low, b.close::BIGINT AS close,
    b.volume::BIGINT AS volume, b.oi::BIGINT AS oi
FROM batch_bars b"""
_STAGE_BARS = """CREATE OR REPLACE TEMP TABLE stage AS
SELECT i.id AS instrument_id, b.timeframe::VARCHAR::bar_timeframe AS timeframe, b.ts::BIGINT AS ts,
    b.open::BIGINT AS open, b.high::BIGINT AS high, b.low::BIGINT AS low,
    b.close::BIGINT AS close, b.volume::BIGINT AS volume, b.oi::BIGINT AS oi{part}
FROM batch_bars b LEFT JOIN instruments i ON i.exchange = b.exchange AND i.symbol = b.symbol"""
PART = "part"  # optional column of a merged frame: which file of a group a bar came from
_KEY = "instrument_id, timeframe, ts"
_SAME = " AND ".join(f"b.{c} IS NOT DISTINCT FROM s.{c}" for c in _VALUES)
_CLASSIFY = f"""CREATE OR REPLACE TEMP TABLE existing AS
SELECT s.*, ({_SAME}) AS same FROM stage s JOIN bars b
    ON b.instrument_id = s.instrument_id AND b.timeframe = s.timeframe AND b.ts = s.ts
WHERE b.ts BETWEEN ? AND ? AND b.instrument_id BETWEEN ? AND ?"""
_UPDATE_CHANGED = (
    "UPDATE bars SET "
    + ", ".join(f"{c} = e.{c}" for c in _VALUES)
    + " FROM existing e WHERE NOT e.same AND bars.instrument_id = e.instrument_id "
    "AND bars.timeframe = e.timeframe AND bars.ts = e.ts"
)


@dataclass(frozen=True)
class Merged:
    rows: int
    written: int  # new bars plus stored bars whose values changed
    unchanged: int  # bars already stored with identical values
    first_ts: int | None
    last_ts: int | None
    notes: list[str] = field(default_factory=list)
    # with a PART column: part -> (bars unchanged, stored bars replaced) of that file
    by_part: dict[int, tuple[int, int]] = field(default_factory=dict)


def keyed_digest(content: str, instruments: Iterable[str], timeframes: Iterable[str]) -> str:
    """The identity of a prices-only import: the same bytes imported as another symbol or
    timeframe are another import, not a repeat."""
    key = f"{content}\0{','.join(sorted(instruments))}\0{','.join(sorted(timeframes))}"
    return hashlib.sha256(key.encode()).hexdigest()


def batch_digest(batch: ImportBatch) -> str:
    """The import log's identity of a batch: the sha256 of the bytes parsed (taken by
    read_file while it read them); of the source file's bytes for a batch built elsewhere;
    of the batch's content when `source` is no file.

    One file is one batch: an importer that splits a file must give each batch its own
    source (e.g. "day.zip!member.csv"), which is then hashed by content. A prices-only file
    is keyed with the series it became (the symbol came from its name or an option).
    """
    content = batch.content_sha256
    path = Path(batch.source)
    if content is None and path.is_file():
        with path.open("rb") as handle:
            content = hashlib.file_digest(handle, "sha256").hexdigest()
    if content is not None:
        if not batch.placeholder_instruments:
            return content
        pairs = batch.bars[["exchange", "symbol"]].drop_duplicates()
        names = [f"{e}:{s}" for e, s in pairs.itertuples(index=False)]
        timeframes = [str(t) for t in pd.unique(batch.bars["timeframe"])]
        return keyed_digest(content, names, timeframes)
    digest = hashlib.sha256(b"artha-batch-content\0")
    for frame in (batch.instruments, batch.bars):
        digest.update(repr(tuple(frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def register(cur: Cursor, name: str, frame: pd.DataFrame) -> None:
    """register(), but duckdb 2.0 refuses some pandas views (iloc[::-1]: std::bad_cast) and a
    failed register aborts the transaction: probe on a side connection, copy if refused."""
    probe = cur.cursor()
    try:
        probe.register("probe", frame)
    except duckdb.Error:
        frame = frame.copy()
    finally:
        probe.close()
    cur.register(name, frame)


def shown(column: str, value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if column in _PRICES and isinstance(value, int | np.integer):
        return format_paise(value)
    return str(value)


def _explain(
    cur: Cursor,
    frame: pd.DataFrame,
    view: str,
    select_sql: str,
    rules: tuple[Rule, ...],
    describe: Callable[[dict[str, Any]], str],
    error: duckdb.Error,
) -> StoreError:
    """Find the row and rule behind a failed write (on a side cursor: the transaction is dead)."""
    side = cur.cursor()
    try:
        register(side, view, frame)
        for predicate, message in rules:
            found = side.execute(
                f"SELECT * FROM ({select_sql}) WHERE NOT coalesce({predicate}, false) LIMIT 1"
            ).fetchall()
            if found:
                names = [d[0] for d in side.description or ()]
                row = dict(zip(names, found[0], strict=True))
                values = {k: shown(k, v) for k, v in row.items()}
                return StoreError(f"{describe(row)}: {message.format(**values)}")
    except duckdb.Error:
        pass  # the rule queries are diagnostics; the original error below still explains
    finally:
        side.close()
    return StoreError(f"{error}")


def upsert_instruments(
    cur: Cursor, frame: pd.DataFrame, source: str, *, overwrite: bool = True
) -> int:
    """Insert new instruments, update known ones (keeping fields the batch leaves empty).

    overwrite=False leaves known instruments exactly as stored: for placeholder rows from
    files that carry prices only (a generic CSV must not reset a contract's lot size to 1).
    """
    if frame.empty:
        return 0
    register(cur, "batch_instruments", frame)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE new_instruments AS {_INSTRUMENTS_SQL}")
        clash = first_row(
            cur,
            "SELECT exchange, symbol, count(*) FROM new_instruments GROUP BY ALL "
            "HAVING count(*) > 1 ORDER BY ALL LIMIT 1",
        )
        if clash is not None:
            raise StoreError(
                f"{source}: instrument {clash[0]}:{clash[1]} appears {clash[2]} times in the "
                "batch with different details"
            )
        row = first_row(
            cur,
            "SELECT count(*) FROM new_instruments ANTI JOIN instruments USING (exchange, symbol)",
        )
        added = int(row[0]) if row else 0
        cur.execute(_UPSERT_INSTRUMENTS if overwrite else _INSERT_NEW_INSTRUMENTS)
    except duckdb.ConstraintException as exc:
        raise _explain(
            cur, frame, "batch_instruments", _INSTRUMENTS_SQL, INSTRUMENT_RULES,
            lambda r: f"{source}: instrument {r['exchange']}:{r['symbol']}", exc,
        ) from exc  # fmt: skip
    except duckdb.Error as exc:
        raise StoreError(f"{source}: instruments: {exc}") from exc
    return added


def merge_bars(cur: Cursor, frame: pd.DataFrame, source: str) -> Merged:
    """Upsert bars on (instrument, timeframe, ts): identical ones untouched, others written."""
    if frame.empty:
        return Merged(0, 0, 0, None, None)
    unknown = sorted({str(t) for t in pd.unique(frame["timeframe"])} - set(TIMEFRAMES))
    if unknown:  # before staging: the stage's column is the store's ENUM
        raise StoreError(
            f"{source}: timeframe {unknown[0]!r} is not one of {', '.join(TIMEFRAMES)}"
        )
    register(cur, "batch_bars", frame)
    try:
        instrument_id = _one_rising_series(cur, frame)
        if instrument_id is not None:  # the usual minute file: no sort, no duplicate check
            oi = "NULL" if frame["oi"].isna().all() else "oi"  # no masked column to scan
            cur.execute(
                f"CREATE OR REPLACE TEMP VIEW stage AS SELECT {instrument_id}::BIGINT AS "
                f"instrument_id, '{frame['timeframe'].iloc[0]}'::bar_timeframe AS timeframe, "
                "ts::BIGINT AS ts, open::BIGINT AS open, high::BIGINT AS high, "
                "low::BIGINT AS low, close::BIGINT AS close, volume::BIGINT AS volume, "
                f"{oi}::BIGINT AS oi FROM batch_bars"
            )
            merged = merge_presorted_stage(cur, source)
            cur.execute("DROP VIEW stage")
            return merged
        return _merge_staged(cur, source, PART in frame.columns)
    except duckdb.ConstraintException as exc:
        raise _explain(
            cur, frame, "batch_bars", _BARS_SQL, BAR_RULES,
            lambda r: f"{source}: {r['exchange']}:{r['symbol']} {r['timeframe']} bar at "
            f"{ist_iso(r['ts']) if r['ts'] is not None else '(no time)'}", exc,
        ) from exc  # fmt: skip
    except duckdb.Error as exc:
        raise StoreError(f"{source}: bars: {exc}") from exc


def _one_rising_series(cur: Cursor, frame: pd.DataFrame) -> int | None:
    """The stored instrument's id when the frame is one known series in strictly rising
    time (nothing to sort or de-duplicate), else None."""
    if PART in frame.columns or len(frame) < 2:
        return None
    for column in ("exchange", "symbol", "timeframe"):
        values = frame[column]
        if not (values == values.iloc[0]).all():
            return None
    ts = frame["ts"].to_numpy(dtype=np.int64)
    if not bool((ts[1:] > ts[:-1]).all()):
        return None
    row = first_row(
        cur,
        "SELECT id FROM instruments WHERE exchange = ? AND symbol = ?",
        [str(frame["exchange"].iloc[0]), str(frame["symbol"].iloc[0])],
    )
    return None if row is None else int(row[0])


def merge_presorted_stage(cur: Cursor, source: str) -> Merged:
    """Merge a temp table `stage` (instrument_id, timeframe, ts, open..oi) that holds ONE
    instrument's bars in strictly increasing time: no duplicate check and no sort needed."""
    rows, first, last, lo_id, hi_id = _one(
        cur,
        "SELECT count(*), min(ts), max(ts), min(instrument_id), max(instrument_id) FROM stage",
    )
    stored = _one(
        cur,
        "SELECT count(*) FROM (SELECT 1 FROM bars WHERE instrument_id = ? AND timeframe = "
        "(SELECT any_value(timeframe) FROM stage) LIMIT 1)",
        [lo_id],
    )[0]
    if not stored:  # a new series: nothing to compare with, insert as it comes (in order)
        cur.execute(
            f"INSERT INTO bars SELECT {_KEY}, open, high, low, close, volume, oi FROM stage"
        )
        return Merged(rows, rows, 0, first, last, [])
    return _classify_and_insert(cur, rows, first, last, lo_id, hi_id, order=False)


def _one(cur: Cursor, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    row = first_row(cur, sql, params)
    assert row is not None
    return row


def _merge_staged(cur: Cursor, source: str, parts: bool) -> Merged:
    cur.execute(_STAGE_BARS.format(part=f", b.{PART} AS {PART}" if parts else ""))
    rows, first, last, orphans, lo_id, hi_id, timeframes = _one(
        cur,
        "SELECT count(*), min(ts), max(ts), count(*) - count(instrument_id), "
        "min(instrument_id), max(instrument_id), list(DISTINCT timeframe) FROM stage",
    )
    if orphans:
        names = cur.execute(
            "SELECT DISTINCT exchange || ':' || symbol FROM batch_bars ANTI JOIN instruments "
            "USING (exchange, symbol) ORDER BY 1 LIMIT 5"
        ).fetchall()
        raise StoreError(
            f"{source}: {orphans} bars of {', '.join(n[0] for n in names)} but no such "
            "instrument in the batch or the store"
        )
    _refuse_duplicates(cur, source, "instrument_id, ts" if len(timeframes) == 1 else _KEY)
    merged = _classify_and_insert(cur, rows, first, last, lo_id, hi_id, order=True, parts=parts)
    cur.execute("DROP TABLE stage")
    return merged


def _classify_and_insert(
    cur: Cursor,
    rows: int,
    first: int,
    last: int,
    lo_id: int,
    hi_id: int,
    *,
    order: bool,
    parts: bool = False,
) -> Merged:
    """Bars already stored and identical stay; changed ones are updated; new ones inserted."""
    cur.execute(_CLASSIFY, [first, last, lo_id, hi_id])
    known, same = _one(cur, "SELECT count(*), count(*) FILTER (WHERE same) FROM existing")
    by_part: dict[int, tuple[int, int]] = {}
    if parts and known:
        by_part = {
            int(part): (int(unchanged), int(replaced))
            for part, unchanged, replaced in cur.execute(
                f"SELECT {PART}, count(*) FILTER (WHERE same), count(*) FILTER (WHERE NOT same) "
                "FROM existing GROUP BY ALL"
            ).fetchall()
        }
    if known > same:
        cur.execute(_UPDATE_CHANGED)
    anti = " ANTI JOIN existing USING (instrument_id, timeframe, ts)" if known else ""
    values = "open, high, low, close, volume, oi"
    # In key order, so each instrument's bars sit together and reads skip other row groups.
    ordering = f" ORDER BY {_KEY}" if order else ""
    cur.execute(f"INSERT INTO bars SELECT {_KEY}, {values} FROM stage{anti}{ordering}")
    cur.execute("DROP TABLE existing")
    return Merged(rows, rows - same, same, first, last, replaced_note(known - same), by_part)


def replaced_note(replaced: int) -> list[str]:
    if not replaced:
        return []
    return [f"{replaced:,} stored bar{'s' * (replaced != 1)} had different values and "
            f"{'were' if replaced != 1 else 'was'} replaced"]  # fmt: skip


def _refuse_duplicates(cur: Cursor, source: str, key: str) -> None:
    """No two staged bars may share (instrument, timeframe, ts): bars has no unique index."""
    dup = first_row(
        cur,
        f"SELECT i.exchange, i.symbol, d.timeframe, d.ts, d.n FROM (SELECT {key}, "
        "any_value(timeframe) AS timeframe, count(*) AS n FROM stage GROUP BY ALL "
        "HAVING count(*) > 1 LIMIT 1) d JOIN instruments i ON i.id = d.instrument_id",
    )
    if dup is not None:
        when = "(no time)" if dup[3] is None else ist_iso(dup[3])
        raise StoreError(
            f"{source}: {dup[0]}:{dup[1]} {dup[2]} bar at {when} is in the batch {dup[4]} times"
        )


def default_instrument(exchange: str, segment: str, symbol: str) -> pd.DataFrame:
    """An instruments row for generated bars: lot 1, tick 0.05, nothing else known."""
    row: dict[str, Any] = dict.fromkeys(INSTRUMENT_COLUMNS, pd.NA)
    row.update(exchange=exchange, segment=segment, symbol=symbol, lot_size=1, tick_size=5, name="")
    return pd.DataFrame([row], columns=list(INSTRUMENT_COLUMNS))


def instruments_rows(instruments: Sequence[Instrument]) -> pd.DataFrame:
    """Domain instruments (a broker's dump) as an ImportBatch.instruments frame."""
    rows = []
    for item in instruments:
        row: dict[str, Any] = dict.fromkeys(INSTRUMENT_COLUMNS, pd.NA)
        row.update(
            exchange=item.exchange.value,
            segment=item.segment.value,
            symbol=item.symbol,
            isin=item.isin if item.isin else pd.NA,
            token=item.token if item.token is not None else pd.NA,
            lot_size=item.lot_size,
            tick_size=to_paise(item.tick_size),
            freeze_quantity=item.freeze_quantity if item.freeze_quantity else pd.NA,
            expiry=item.expiry if item.expiry else pd.NA,
            strike=to_paise(item.strike) if item.strike is not None else pd.NA,
            option_type=item.option_type.value if item.option_type else pd.NA,
            name=item.name,
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(INSTRUMENT_COLUMNS))


def series_frame(series: BarSeries, exchange: str) -> pd.DataFrame:
    """A BarSeries as an ImportBatch.bars frame (constant columns as cheap categoricals)."""
    n = len(series)

    def constant(value: str) -> pd.Categorical[str]:
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([value]))

    oi = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    columns: dict[str, Any] = {
        "exchange": constant(exchange),
        "symbol": constant(series.symbol),
        "timeframe": constant(series.timeframe),
        **{name: getattr(series, name) for name in SERIES_COLUMNS},
        "oi": oi,
    }
    return pd.DataFrame(columns, columns=list(BAR_COLUMNS))
