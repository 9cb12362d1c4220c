"""The store's read side: resolving symbols, time bounds, and rows into domain types.

Plain functions over a DuckDB cursor, used by MarketStore (store.py); bars are read with
`fetchnumpy` straight into int64 arrays, never through pandas or the ORM.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd

from engine.calendar.model import IST
from engine.data.bar_series import BarDataError, BarSeries, check_timeframe
from engine.data.schema import StoreError
from engine.domain.enums import Exchange, OptionType, Segment
from engine.domain.instrument import Instrument
from engine.domain.money import from_paise

Cursor = duckdb.DuckDBPyConnection
MIN_NS, MAX_NS = -(2**63), 2**63 - 1
INSTRUMENT_COLUMNS = (
    "exchange, segment, symbol, isin, token, lot_size, tick_size_paise, freeze_quantity, "
    "expiry, strike_paise, option_type, underlying, series, name"
)
_SERIES_COLUMNS = ("ts", "open", "high", "low", "close", "volume")


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
            "the file read-write and then nobody else, not even to read. Close that Artha, "
            "or give other processes a snapshot (MarketStore.snapshot)."
        )
    if "different configuration" in text:
        mode = "read-write" if read_only else "read-only"
        return StoreError(f"{path} is already open {mode} in this process; use that store")
    if "not a valid DuckDB database" in text:
        return StoreError(f"{path} is not a DuckDB database file (not an Artha workspace?)")
    return StoreError(f"cannot open the market store {path}: {text}")


def checked_timeframe(timeframe: str) -> str:
    try:
        check_timeframe(timeframe)
    except BarDataError as exc:
        raise StoreError(str(exc)) from None
    return timeframe


def _ns(moment: datetime | date, *, end: bool) -> int:
    """Aware datetimes exactly; dates as whole IST days (start: 00:00, end: through 23:59:59)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise StoreError(f"{moment!r} has no time zone; pass an aware datetime or a date")
        return pd.Timestamp(moment).as_unit("ns").value
    day = moment + timedelta(days=1) if end else moment
    midnight = pd.Timestamp(datetime(day.year, day.month, day.day, tzinfo=IST)).as_unit("ns")
    return midnight.value - 1 if end else midnight.value


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
            f"{symbol!r}{where} is ambiguous: it is listed as {keys}; pass exchange= "
            "or write EXCHANGE:SYMBOL"
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
    cols: dict[str, Any] = cur.execute(
        "SELECT ts, open, high, low, close, volume FROM bars WHERE instrument_id = ? "
        "AND timeframe = ? AND ts BETWEEN ? AND ?",
        [row.id, timeframe, lo, hi],
    ).fetchnumpy()
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
    arrays = [np.asarray(cols[c], dtype=np.int64) for c in _SERIES_COLUMNS]
    if len(arrays[0]) > 1 and not (np.diff(arrays[0]) > 0).all():
        order = np.argsort(arrays[0], kind="stable")
        arrays = [a[order] for a in arrays]
    try:
        return BarSeries(row.symbol, timeframe, *arrays)
    except BarDataError as exc:
        raise StoreError(f"{path}: stored {timeframe} bars of {row.key}: {exc}") from exc
