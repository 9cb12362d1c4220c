"""The fast path for the documented bar CSV: parsed, checked and written inside DuckDB.

Ten million one-minute bars through pandas cost ~5x DuckDB's own `read_csv`; here the file
goes from `read_csv` straight into `bars` in ONE statement that converts (UTC ns, paise) and
checks as it goes: a timestamp without an offset or a price with a fraction of a paisa fails
the conversion, and the table's NOT NULL and CHECK constraints refuse empty fields, bad OHLC
and negative volume. Times strictly increasing and the timeframe are checked on the written
rows before the transaction commits. A series that already has bars is staged instead and
merged like any batch (same / changed / new). store_csv_group.py writes many files of new
series with one statement.

It only ever ACCEPTS: on any doubt it raises Declined, the caller's transaction rolls back and
the generic importer runs, which finds the problem and names its `file:line`. Same import log,
same idempotency.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
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
# Offsets are required. One strptime format per file, chosen from its head (one strptime is
# ~7% of the import cheaper than trying several): "%z" takes +05:30, +0530 and +05 and gives a
# TIMESTAMPTZ; a literal "Z" gives a naive TIMESTAMP that epoch_ns reads as UTC. A row in any
# other form fails the conversion.
TIME_FORMATS = tuple(f"%Y-%m-%d{sep}%H:%M:%S{zone}" for sep in ("T", " ") for zone in ("%z", "Z"))
_FRACTION = " OR ".join(f"abs({p} * 100 - round({p} * 100)) >= 1e-6" for p in PAISE)
_PAISE = ", ".join(f"CAST(round({p} * 100) AS BIGINT) AS {p}" for p in PAISE)


def _select(time_format: str, *, named: bool) -> str:
    """The file's rows converted (UTC ns, paise) and checked; with its name when `named`."""
    if time_format not in TIME_FORMATS:
        raise ValueError(f"time format {time_format!r}")  # a literal below
    time = f"epoch_ns(strptime(timestamp, '{time_format}'))"
    checked = (
        f"CASE WHEN {_FRACTION} THEN error('price with a fraction of a paisa') ELSE {time} END"
    )
    source = _READ.replace("read_csv(?, ", "read_csv(?, filename = true, ") if named else _READ
    return f"SELECT {'filename, ' if named else ''}{checked} AS ts, {_PAISE}, volume FROM {source}"


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


@dataclass(frozen=True)
class CsvPlan:
    """One file, ready to write: the series it becomes and its import-log identity."""

    file: Path
    symbol: str
    exchange: str
    timeframe: str  # from the head of the file (or given and checked); confirmed on all bars
    given: str | None  # the timeframe the user asked for, if any
    time_format: str  # one of TIME_FORMATS, as the head of the file writes its times
    digest: str


def plan(path: Path, symbol: str | None, exchange: str, given: str | None) -> CsvPlan | None:
    """None when the fast path cannot take the file (another layout, a derivatives venue, a
    doubtful head): the generic importer reads it then."""
    venue = exchange.upper()
    if venue not in ("NSE", "BSE") or not applies(path):
        return None  # derivatives need the generic importer's checks (expiry, segment)
    name = (symbol or path.stem).upper()
    try:
        head, time_format = _head(path)
        guess = _timeframe(head, given)
        digest = bulk.keyed_digest(sha256_of(path), [f"{venue}:{name}"], [guess])
    except (Declined, OSError):
        return None  # an unreadable file: the generic importer reports it with its reason
    return CsvPlan(path, name, venue, guess, given, time_format, digest)


def write(cur: duckdb.DuckDBPyConnection, job: CsvPlan) -> ImportReport:
    """Read, check and write the file inside the caller's transaction; raise Declined on any
    doubt (the transaction then rolls back, instrument included)."""
    try:
        instrument_id, added = instrument(cur, job.exchange, job.symbol)
        if has_bars(cur, instrument_id, job.timeframe):
            merged = _merge_into_series(cur, job, instrument_id)
        else:
            ts = insert_new(cur, [job], [instrument_id])[0]
            merged = bulk.Merged(len(ts), len(ts), 0, int(ts[0]), int(ts[-1]), [])
        log_import(cur, str(job.file), FORMAT, merged.rows, merged.first_ts, merged.last_ts,
                   job.digest)  # fmt: skip
    except duckdb.Error as exc:
        raise Declined(str(exc)) from exc
    return report(job, added, merged)


def report(job: CsvPlan, added: int, merged: bulk.Merged) -> ImportReport:
    return ImportReport(
        str(job.file), FORMAT, added, merged.written, merged.unchanged, merged.first_ts,
        merged.last_ts, False, list(merged.notes),
    )  # fmt: skip


def _head(file: Path) -> tuple[Int64Array, str]:
    """The first bars' times and the strptime format they are written in, read in Python (a
    read_csv costs ~25 ms to start): only a guess, DuckDB converts and checks every row."""
    stamps = []
    formats = set()
    with file.open("r", encoding="ascii", errors="replace", newline="") as handle:
        handle.readline()
        for line in itertools.islice(handle, HEAD_ROWS):
            if not line.strip():
                continue  # a blank line (often the last): read_csv skips it too
            text = line.split(",", 1)[0]
            try:
                when = datetime.fromisoformat(text)
            except ValueError as exc:
                raise Declined(str(exc)) from exc
            if when.tzinfo is None:
                raise Declined("a timestamp without an offset")
            formats.add(f"%Y-%m-%d{text[10:11]}%H:%M:%S{'Z' if text.endswith('Z') else '%z'}")
            stamps.append(when.timestamp())
    if len(formats) != 1 or not formats <= set(TIME_FORMATS):
        raise Declined(f"times written as {sorted(formats)}")
    # whole seconds in the documented layout: float seconds are exact, ns by integer maths
    times = np.round(np.asarray(stamps, dtype=np.float64)).astype(np.int64) * 1_000_000_000
    return times, formats.pop()


def instrument(cur: duckdb.DuckDBPyConnection, exchange: str, symbol: str) -> tuple[int, int]:
    """(id, 1 if created): a new equity with placeholder details (lot 1, tick 0.05); a known
    instrument is left exactly as stored."""
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


def has_bars(cur: duckdb.DuckDBPyConnection, instrument_id: int, timeframe: str) -> bool:
    return (
        first_row(
            cur,
            "SELECT 1 FROM bars WHERE instrument_id = ? AND timeframe = ? LIMIT 1",
            [instrument_id, timeframe],
        )
        is not None
    )


def insert_new(
    cur: duckdb.DuckDBPyConnection, jobs: list[CsvPlan], instrument_ids: list[int]
) -> list[Int64Array]:
    """Files of series with no bars yet, in ONE INSERT (DuckDB reads them in parallel, in
    order); then each file's written times must rise strictly and confirm its timeframe.
    Returns each file's times."""
    files = [str(job.file) for job in jobs]
    if len({job.time_format for job in jobs}) != 1:
        raise ValueError("one INSERT reads files of one time format")
    pick = "[list_position(?::VARCHAR[], filename)]"
    cur.execute(
        f"INSERT INTO bars SELECT (?::INTEGER[]){pick}, (?::bar_timeframe[]){pick}, ts, open, "
        f"high, low, close, volume, NULL FROM ({_select(jobs[0].time_format, named=True)})",
        [instrument_ids, files, [job.timeframe for job in jobs], files, files],
    )
    out = []
    for job, instrument_id in zip(jobs, instrument_ids, strict=True):
        stored = cur.execute(
            "SELECT ts FROM bars WHERE instrument_id = ? AND timeframe = ?",
            [instrument_id, job.timeframe],
        ).fetchnumpy()
        ts = _rising(np.asarray(stored["ts"], dtype=np.int64))
        _confirm_timeframe(ts, job.timeframe, job.given)
        out.append(ts)
    return out


def _merge_into_series(
    cur: duckdb.DuckDBPyConnection, job: CsvPlan, instrument_id: int
) -> bulk.Merged:
    """The series has bars already: stage the file (same checks) and merge it bar by bar."""
    cur.execute(_STAGE_TABLE)
    cur.execute(f"INSERT INTO csv_stage {_select(job.time_format, named=False)}", [str(job.file)])
    ts = _rising(np.asarray(cur.execute("SELECT ts FROM csv_stage").fetchnumpy()["ts"]))
    _confirm_timeframe(ts, job.timeframe, job.given)
    assert job.timeframe in TIMEFRAMES  # a literal below: views take no parameters
    cur.execute(
        f"CREATE OR REPLACE TEMP VIEW stage AS SELECT {instrument_id}::BIGINT AS instrument_id, "
        f"'{job.timeframe}'::bar_timeframe AS timeframe, ts, open, high, low, close, volume, "
        "NULL::BIGINT AS oi FROM csv_stage"
    )
    merged = bulk.merge_presorted_stage(cur, str(job.file))
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
