"""The fast path for the documented bar CSV: parsed, checked and written inside DuckDB.

Ten million one-minute bars through pandas cost ~5x DuckDB's own `read_csv`; here the file
goes from `read_csv` straight into `bars` in ONE statement that converts (UTC ns, paise) and
checks as it goes: a timestamp without an offset or a price with a fraction of a paisa fails
the conversion, and the table's NOT NULL and CHECK constraints refuse empty fields, bad OHLC
and negative volume. Times strictly increasing and the timeframe are checked on the written
rows before the transaction commits. A series that already has bars is staged instead and
merged like any batch (same / changed / new).

It only ever ACCEPTS: on any doubt it raises Declined, the caller's transaction rolls back and
the generic importer runs, which finds the problem and names its `file:line`. Same import log,
same idempotency.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np

from engine.data import store_bulk as bulk
from engine.data.bar_series import TIMEFRAMES, BarDataError, Int64Array, resolve_timeframe
from engine.data.import_log import ImportReport, log_import
from engine.data.schema import first_row

FORMAT = "ohlcv_csv"
HEADER = ("timestamp", "open", "high", "low", "close", "volume")
PAISE = ("open", "high", "low", "close")
HEAD_ROWS = 2_000  # enough bars to guess the timeframe before writing; checked on all after

_READ = (
    "read_csv(?, header = true, auto_detect = false, delim = ',', quote = '\"', "
    "strict_mode = true, columns = {'timestamp': 'VARCHAR', 'open': 'DOUBLE', "
    "'high': 'DOUBLE', 'low': 'DOUBLE', 'close': 'DOUBLE', 'volume': 'BIGINT'})"
)
# Offsets are required ("+05:30", "+0530", "+05" or "Z"); each form is converted to epoch ns
# on its own so DuckDB never casts between TIMESTAMP and TIMESTAMPTZ in a session time zone.
# coalesce evaluates the "Z" parse only for rows the offset parse left NULL.
_ISO = "['%Y-%m-%dT%H:%M:%S{z}', '%Y-%m-%d %H:%M:%S{z}']"
_TIME = (
    f"coalesce(epoch_ns(try_strptime(timestamp, {_ISO.format(z='%z')})), "
    f"epoch_ns(strptime(timestamp, {_ISO.format(z='Z')})))"
)
_FRACTION = " OR ".join(f"abs({p} * 100 - round({p} * 100)) >= 1e-6" for p in PAISE)
_CHECKED_TIME = (
    f"CASE WHEN {_FRACTION} THEN error('price with a fraction of a paisa') ELSE {_TIME} END"
)
_SELECT = (
    f"SELECT {_CHECKED_TIME} AS ts, "
    + ", ".join(f"CAST(round({p} * 100) AS BIGINT) AS {p}" for p in PAISE)
    + f", volume FROM {_READ}"
)
_STAGE_TABLE = (
    "CREATE OR REPLACE TEMP TABLE csv_stage (ts BIGINT NOT NULL, open BIGINT NOT NULL, "
    "high BIGINT NOT NULL, low BIGINT NOT NULL, close BIGINT NOT NULL, volume BIGINT NOT NULL, "
    "CHECK (low > 0 AND high >= low AND open BETWEEN low AND high "
    "AND close BETWEEN low AND high), CHECK (volume >= 0))"
)


class Declined(Exception):
    """The fast path stepped aside; the caller rolls its transaction back."""


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


def guess_timeframe(file: Path, given: str | None) -> str:
    """The timeframe the head of the file shows (or the given one, checked against it);
    write() confirms it on every bar. Declined when the head is already doubtful."""
    return _timeframe(_head_times(file), given)


def write(
    cur: duckdb.DuckDBPyConnection,
    file: Path,
    symbol: str,
    exchange: str,
    guess: str,
    timeframe: str | None,
    digest: str,
) -> ImportReport:
    """Read, check and write the file inside the caller's transaction as `guess` bars; raise
    Declined on any doubt (the transaction then rolls back, instrument included)."""
    try:
        instrument_id, added = _instrument(cur, exchange, symbol)
        if _has_bars(cur, instrument_id, guess):
            merged = _merge_into_series(cur, file, instrument_id, guess, timeframe)
        else:
            merged = _insert_new_series(cur, file, instrument_id, guess, timeframe)
        log_import(cur, str(file), FORMAT, merged.rows, merged.first_ts, merged.last_ts, digest)
    except duckdb.Error as exc:
        raise Declined(str(exc)) from exc
    return ImportReport(
        str(file), FORMAT, added, merged.written, merged.unchanged, merged.first_ts,
        merged.last_ts, False, list(merged.notes),
    )  # fmt: skip


def _head_times(file: Path) -> Int64Array:
    """The first bars' times, read in Python (a read_csv costs ~25 ms to start): only a guess,
    every row is converted and checked by DuckDB afterwards."""
    stamps = []
    with file.open("r", encoding="ascii", errors="replace", newline="") as handle:
        handle.readline()
        for line in itertools.islice(handle, HEAD_ROWS):
            try:
                when = datetime.fromisoformat(line.split(",", 1)[0])
            except ValueError as exc:
                raise Declined(str(exc)) from exc
            if when.tzinfo is None:
                raise Declined("a timestamp without an offset")
            stamps.append(when.timestamp())
    # whole seconds in the documented layout: float seconds are exact, ns by integer maths
    return np.round(np.asarray(stamps, dtype=np.float64)).astype(np.int64) * 1_000_000_000


def _instrument(cur: duckdb.DuckDBPyConnection, exchange: str, symbol: str) -> tuple[int, int]:
    """(id, 1 if created): a new equity with placeholder details (lot 1, tick 0.05); a known
    instrument is left exactly as stored."""
    if exchange not in ("NSE", "BSE"):
        raise Declined("derivatives need the generic importer's checks")
    created = cur.execute(
        "INSERT INTO instruments (exchange, segment, symbol, lot_size, tick_size_paise) "
        "VALUES (?, 'EQ', ?, 1, 5) ON CONFLICT (exchange, symbol) DO NOTHING RETURNING id",
        [exchange, symbol],
    ).fetchall()
    row = first_row(
        cur, "SELECT id FROM instruments WHERE exchange = ? AND symbol = ?", [exchange, symbol]
    )
    assert row is not None
    return int(row[0]), len(created)


def _timeframe(ts: Int64Array, given: str | None) -> str:
    """The generic importer's rule (infer, or check the given one), on these bars."""
    if len(ts) == 0:
        raise Declined("no bars")
    try:
        found = resolve_timeframe(ts, given)
    except BarDataError as exc:
        raise Declined(str(exc)) from exc
    if found not in TIMEFRAMES:
        raise Declined(f"timeframe {found!r}")
    return found


def _has_bars(cur: duckdb.DuckDBPyConnection, instrument_id: int, timeframe: str) -> bool:
    return (
        first_row(
            cur,
            "SELECT 1 FROM bars WHERE instrument_id = ? AND timeframe = ? LIMIT 1",
            [instrument_id, timeframe],
        )
        is not None
    )


def _insert_new_series(
    cur: duckdb.DuckDBPyConnection,
    file: Path,
    instrument_id: int,
    timeframe: str,
    given: str | None,
) -> bulk.Merged:
    """One INSERT from the file; then the written times must rise strictly and say the
    timeframe that was guessed from the head of the file."""
    cur.execute(
        f"INSERT INTO bars SELECT ?::INTEGER, ?::VARCHAR, ts, open, high, low, close, volume, "
        f"NULL FROM ({_SELECT})",
        [instrument_id, timeframe, str(file)],
    )
    stored = cur.execute(
        "SELECT ts FROM bars WHERE instrument_id = ? AND timeframe = ?", [instrument_id, timeframe]
    ).fetchnumpy()
    ts = _rising(np.asarray(stored["ts"], dtype=np.int64))
    _confirm_timeframe(ts, timeframe, given)
    rows = len(ts)
    return bulk.Merged(rows, rows, 0, int(ts[0]), int(ts[-1]), [])


def _merge_into_series(
    cur: duckdb.DuckDBPyConnection,
    file: Path,
    instrument_id: int,
    timeframe: str,
    given: str | None,
) -> bulk.Merged:
    """The series has bars already: stage the file (same checks) and merge it bar by bar."""
    cur.execute(_STAGE_TABLE)
    cur.execute(f"INSERT INTO csv_stage {_SELECT}", [str(file)])
    ts = _rising(np.asarray(cur.execute("SELECT ts FROM csv_stage").fetchnumpy()["ts"]))
    _confirm_timeframe(ts, timeframe, given)
    assert timeframe in TIMEFRAMES  # a literal below: views take no parameters
    cur.execute(
        f"CREATE OR REPLACE TEMP VIEW stage AS SELECT {instrument_id}::BIGINT AS instrument_id, "
        f"'{timeframe}'::VARCHAR AS timeframe, ts, open, high, low, close, volume, "
        "NULL::BIGINT AS oi FROM csv_stage"
    )
    merged = bulk.merge_presorted_stage(cur, str(file))
    cur.execute("DROP VIEW stage; DROP TABLE csv_stage")
    return merged


def _confirm_timeframe(ts: Int64Array, timeframe: str, given: str | None) -> None:
    """The whole file says what its head said: resolve_timeframe's rule (the median gap IS
    the timeframe; or, given one, is not shorter) by counting gaps instead of a median."""
    if len(ts) < 2:
        return  # one bar: the head was the whole file
    length = TIMEFRAMES[timeframe]
    gaps = ts[1:] - ts[:-1]
    middle = (len(gaps) - 1) // 2  # the median gap is the sorted gaps' element [middle]
    shorter = int(np.count_nonzero(gaps < length))
    median_is_shorter = shorter > middle
    median_is_length = (
        not median_is_shorter and shorter + int(np.count_nonzero(gaps == length)) > middle
    )
    if median_is_shorter or (given is None and not median_is_length):
        raise Declined("the whole file does not have the timeframe its head had")


def _rising(ts: Int64Array) -> Int64Array:
    """Unsorted or duplicate times: decline, the generic importer names the lines."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) == 0 or (len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1]))):
        raise Declined("times do not rise strictly")
    return ts
