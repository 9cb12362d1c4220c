"""The store's lookups and small tables: symbols, time bounds, bar reads, corporate actions.

Plain functions over a DuckDB cursor, used by MarketStore (store.py); bars are read into
int64 arrays a chunk at a time (`fetch_int64_columns`), never through the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import numpy as np

from engine.data import integrity
from engine.data.bar_series import BarDataError, BarSeries, check_timeframe
from engine.data.schema import CORPORATE_ACTION_RULES, StoreError, first_row
from engine.domain.enums import Exchange, OptionType, Segment
from engine.domain.instrument import Instrument
from engine.domain.money import from_paise
from engine.ist import IST, ns_of

if TYPE_CHECKING:  # pandas loads where a frame is built or bars are read (after the first paint)
    import pandas as pd

Cursor = duckdb.DuckDBPyConnection
MIN_NS, MAX_NS = -(2**63), 2**63 - 1
INSTRUMENT_COLUMNS = (
    "exchange, segment, symbol, isin, token, lot_size, tick_size_paise, freeze_quantity, "
    "expiry, strike_paise, option_type, underlying, series, name"
)
_SERIES_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_CA_COLUMNS = ("exchange", "symbol", "ex_date", "kind", "ratio_from", "ratio_to", "amount_paise")


class InstrumentRow(NamedTuple):
    id: int
    exchange: str
    segment: str
    symbol: str
    isin: str | None
    token: int | None
    lot_size: int
    tick_size_paise: int
    freeze_quantity: int | None
    expiry: date | None
    strike_paise: int | None
    option_type: str | None
    underlying: str | None
    series: str | None
    name: str

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.symbol}"


def open_error(path: Path, read_only: bool, exc: duckdb.Error) -> StoreError:
    """DuckDB's open failures in words a user can act on."""
    text = str(exc)
    if "Conflicting lock" in text:
        pid = text.split("(PID ")[-1].split(")")[0] if "(PID " in text else "?"
        return StoreError(
            f"{path} is held by another Artha (process {pid}): DuckDB lets one process open "
            "the file read-write and then nobody else, not even to read. Close that Artha first."
        )
    if "different configuration" in text:
        mode = "read-write" if read_only else "read-only"
        return StoreError(f"{path} is already open {mode} in this process; use that store")
    if "not a valid DuckDB database" in text and integrity.file_size(path) != 0:
        return StoreError(f"{path} is not a DuckDB database file (not an Artha workspace?)")
    if integrity.is_damage(exc):  # truncated, zero bytes, corrupt WAL, bad header checksum
        return integrity.damaged(path, exc)
    return StoreError(f"cannot open the market store {path}: {text}")


def checked_timeframe(timeframe: str) -> str:
    try:
        check_timeframe(timeframe)
    except BarDataError as exc:
        raise StoreError(str(exc)) from None
    return timeframe


def _ns(moment: datetime | date, *, end: bool) -> int:
    """Aware datetimes exactly; dates as whole IST days (start: 00:00, end: through 23:59:59)."""
    whole_day = not isinstance(moment, datetime)
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise StoreError(f"{moment!r} has no time zone; pass an aware datetime or a date")
        start = moment
    else:  # an end date runs up to the next day's midnight
        start = datetime.combine(moment + timedelta(days=1) if end else moment, time(), IST)
    ns = ns_of(start)
    if not MIN_NS < ns <= MAX_NS:  # no int64 ns for it: the error pandas gave here before
        import pandas as pd

        raise pd.errors.OutOfBoundsDatetime(f"Cannot cast {start} to unit='ns' without overflow.")
    return ns - 1 if end and whole_day else ns


def bounds(start: datetime | date | None, end: datetime | date | None) -> tuple[int, int]:
    """[start, end] as inclusive int64 ns UTC bounds on bar open times."""
    lo = MIN_NS if start is None else _ns(start, end=False)
    hi = MAX_NS if end is None else _ns(end, end=True)
    if lo > hi:
        raise StoreError(f"start {start} is after end {end}")
    return lo, hi


def resolve(cur: Cursor, path: Path, symbol: str, exchange: str | None) -> InstrumentRow:
    """The instrument named `symbol` (or EXCHANGE:SYMBOL), any case; unknown/ambiguous: error."""
    if exchange is None and ":" in symbol:
        exchange, symbol = symbol.split(":", 1)
    rows = cur.execute(
        f"SELECT id, {INSTRUMENT_COLUMNS} FROM instruments WHERE upper(symbol) = upper(?) "
        "AND (?::VARCHAR IS NULL OR exchange = upper(?)) ORDER BY exchange",
        [symbol.strip(), exchange, exchange],
    ).fetchall()
    where = f" on {exchange.upper()}" if exchange else ""
    if not rows:
        near = cur.execute(
            "SELECT exchange || ':' || symbol FROM instruments "
            "ORDER BY jaro_winkler_similarity(upper(symbol), upper(?)) DESC, 1 LIMIT 3",
            [symbol],
        ).fetchall()
        hint = f"; did you mean {', '.join(r[0] for r in near)}?" if near else ""
        raise StoreError(f"no instrument {symbol!r}{where} in {path}{hint}")
    if len(rows) > 1:
        keys = ", ".join(InstrumentRow(*r).key for r in rows)
        raise StoreError(
            f"{symbol!r}{where} is ambiguous: it is listed as {keys}; name the exchange "
            "(--exchange, or write EXCHANGE:SYMBOL)"
        )
    return InstrumentRow(*rows[0])


def to_instrument(row: InstrumentRow, path: Path) -> Instrument:
    try:
        return Instrument(
            Exchange(row.exchange),
            Segment(row.segment),
            row.symbol,
            token=row.token,
            isin=row.isin,
            tick_size=from_paise(row.tick_size_paise),
            lot_size=row.lot_size,
            freeze_quantity=row.freeze_quantity,
            expiry=row.expiry,
            strike=None if row.strike_paise is None else from_paise(row.strike_paise),
            option_type=None if row.option_type is None else OptionType(row.option_type),
            name=row.name,
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{path}: stored instrument {row.key} is invalid: {exc}") from exc


def read_series(
    cur: Cursor, path: Path, row: InstrumentRow, timeframe: str, lo: int, hi: int
) -> BarSeries:
    # No ORDER BY: bars are stored in key order per write, so the scan is almost always
    # sorted already; checking in numpy (~0.2 ms) beats DuckDB's sort (~8 ms per 100k rows).
    cols = fetch_int64_columns(
        cur.execute(
            "SELECT ts, open, high, low, close, volume FROM bars WHERE instrument_id = ? "
            "AND timeframe = ? AND ts BETWEEN ? AND ?",
            [row.id, timeframe, lo, hi],
        ),
        _SERIES_COLUMNS,
    )
    if len(cols["ts"]) == 0:
        have = [
            r[0]
            for r in cur.execute(
                "SELECT DISTINCT timeframe FROM bars WHERE instrument_id = ? ORDER BY 1", [row.id]
            ).fetchall()
        ]
        if timeframe not in have:
            raise StoreError(
                f"no {timeframe} bars for {row.key} in {path} "
                f"(it has: {', '.join(have) or 'no bars at all'})"
            )
    arrays = [cols[c] for c in _SERIES_COLUMNS]
    if len(arrays[0]) > 1 and not (np.diff(arrays[0]) > 0).all():
        order = np.argsort(arrays[0], kind="stable")
        arrays = [a[order] for a in arrays]
    try:
        return BarSeries(row.symbol, timeframe, *arrays)
    except BarDataError as exc:
        raise StoreError(f"{path}: stored {timeframe} bars of {row.key}: {exc}") from exc


VECTORS_PER_CHUNK = 50
"""DuckDB vectors (2,048 rows each) fetched at a time: ~100,000 bars."""


def fetch_int64_columns(result: Cursor, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A query's integer columns as int64 arrays, fetched a chunk at a time (`fetch_columns`)."""
    return fetch_columns(result, dict.fromkeys(names, np.dtype(np.int64)))


def fetch_columns(result: Cursor, dtypes: Mapping[str, np.dtype[Any]]) -> dict[str, np.ndarray]:
    """A query's columns as arrays of the given dtypes, fetched ~100,000 rows at a time.

    `fetchnumpy` of a million bars converts them in one C call that holds the GIL for 30-40
    ms: the GUI thread, which needs it for every paint, waited that long while a backtest's
    or the chart's bars were read beside it. A chunk holds it ~5 ms, and the whole read is
    no slower. (The chunks come as pandas frames: pandas is loaded with the bar readers.)"""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in dtypes}
    while True:
        chunk = result.fetch_df_chunk(VECTORS_PER_CHUNK)
        if chunk is None or not len(chunk):
            break
        for name, dtype in dtypes.items():
            parts[name].append(chunk[name].to_numpy(dtype=dtype))
    return {
        name: np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtypes[name])
        for name, arrays in parts.items()
    }


def instruments_frame(cur: Cursor, exchange: str | None) -> pd.DataFrame:
    return cur.execute(
        f"SELECT id, {INSTRUMENT_COLUMNS} FROM instruments "
        "WHERE ?::VARCHAR IS NULL OR exchange = upper(?) ORDER BY exchange, symbol",
        [exchange, exchange],
    ).df()


def series_rows(cur: Cursor) -> list[tuple[Any, ...]]:
    """(exchange, symbol, timeframe, first_ts, last_ts, bars) of every stored series."""
    return cur.execute(
        "SELECT i.exchange, i.symbol, b.timeframe, b.first_ts, b.last_ts, b.n FROM "
        "(SELECT instrument_id, timeframe, min(ts) AS first_ts, max(ts) AS last_ts, "
        "count(*) AS n FROM bars GROUP BY ALL) b JOIN instruments i "
        "ON i.id = b.instrument_id ORDER BY i.exchange, i.symbol, b.timeframe"
    ).fetchall()


def corporate_actions_frame(cur: Cursor, symbol: str | None) -> pd.DataFrame:
    """All actions, or those of `symbol` (any exchange, or EXCHANGE:SYMBOL)."""
    exchange = None
    if symbol is not None and ":" in symbol:
        exchange, symbol = symbol.split(":", 1)
    return cur.execute(
        "SELECT * FROM corporate_actions WHERE (?::VARCHAR IS NULL OR upper(symbol) = "
        "upper(?)) AND (?::VARCHAR IS NULL OR exchange = upper(?)) "
        "ORDER BY exchange, symbol, ex_date, kind",
        [symbol, symbol, exchange, exchange],
    ).df()


def upsert_corporate_actions(cur: Cursor, frame: pd.DataFrame) -> int:
    """Insert or update actions keyed on (exchange, symbol, ex_date, kind); rows new/changed."""
    missing = [c for c in _CA_COLUMNS if c not in frame.columns]
    if missing:
        raise StoreError(f"corporate actions: missing column(s) {', '.join(missing)}")
    if frame.empty:
        return 0
    note = "coalesce(note::VARCHAR, '')" if "note" in frame.columns else "''"
    select = (
        "SELECT DISTINCT upper(trim(exchange::VARCHAR)) AS exchange, trim(symbol::VARCHAR) AS "
        "symbol, ex_date::DATE AS ex_date, lower(trim(kind::VARCHAR)) AS kind, ratio_from::INTEGER "
        "AS ratio_from, ratio_to::INTEGER AS ratio_to, amount_paise::BIGINT AS amount_paise, "
        f"{note} AS note FROM actions"
    )
    from engine.data import store_bulk as bulk  # the write path: pandas

    bulk.register(cur, "actions", frame)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE new_actions AS {select}")
        for predicate, message in CORPORATE_ACTION_RULES:
            bad = cur.execute(
                f"SELECT * FROM new_actions WHERE NOT coalesce({predicate}, false) LIMIT 1"
            ).fetchall()
            if bad:
                names = [d[0] for d in cur.description or ()]
                row = {k: bulk.shown(k, v) for k, v in zip(names, bad[0], strict=True)}
                where = f"{row['exchange']}:{row['symbol']} {row['kind']} on {row['ex_date']}"
                raise StoreError(f"corporate action {where}: {message.format(**row)}")
        clash = first_row(
            cur,
            "SELECT exchange, symbol, ex_date, kind FROM new_actions GROUP BY ALL "
            "HAVING count(*) > 1 LIMIT 1",
        )
        if clash is not None:
            raise StoreError(
                f"corporate action {clash[0]}:{clash[1]} {clash[3]} on {clash[2]} appears "
                "twice with different details"
            )
        values = ("ratio_from", "ratio_to", "amount_paise", "note")
        result = first_row(
            cur,
            "INSERT INTO corporate_actions SELECT * FROM new_actions "
            "ON CONFLICT (exchange, symbol, ex_date, kind) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in values)
            + " WHERE "
            + " OR ".join(f"corporate_actions.{c} IS DISTINCT FROM excluded.{c}" for c in values),
        )
        return int(result[0]) if result else 0
    except duckdb.Error as exc:
        raise StoreError(f"corporate actions: {exc}") from exc


def delete_corporate_action(
    cur: Cursor, exchange: str, symbol: str, ex_date: date, kind: str
) -> int:
    """Remove the one action with this key (exchange/kind any case); rows deleted (0 or 1)."""
    result = first_row(
        cur,
        "DELETE FROM corporate_actions WHERE exchange = upper(trim(?)) AND symbol = trim(?) "
        "AND ex_date = ?::DATE AND kind = lower(trim(?))",
        [exchange, symbol, ex_date, kind],
    )
    return int(result[0]) if result else 0
