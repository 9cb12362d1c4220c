"""Bars for worker processes: a Parquet snapshot written by the store's owner, read without it.

DuckDB lets one process hold the .duckdb file read-write, and while it does, no other process
may open the file at all, not even read-only. So backtest and optimisation workers never get the
database path: the owner COPYs the bars they need to a Parquet file (`MarketStore.snapshot`)
and the worker calls `load_snapshot`, which reads it with a fresh in-memory DuckDB connection.

File layout: one row per bar, sorted by (series, ts): series INTEGER (index into the metadata's
series list), ts BIGINT ns UTC, open/high/low/close BIGINT paise, volume BIGINT, oi BIGINT NULL.
The Parquet key-value metadata `artha_snapshot` holds JSON: format, timeframe, the requested
series in order (exchange, symbol, label) and the time range, so a series with no bars in the
range still comes back (empty). This module imports no SQLAlchemy and opens no store: cheap to
import in a freshly spawned worker.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from engine.data.bar_series import BarDataError, BarSeries
from engine.data.schema import StoreError

SNAPSHOT_FORMAT = 1
_META_KEY = "artha_snapshot"
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class SnapshotSeries:
    instrument_id: int
    exchange: str
    symbol: str
    label: str  # BarSeries.symbol in the worker: the symbol, or EXCHANGE:SYMBOL if ambiguous


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_snapshot(
    con: duckdb.DuckDBPyConnection,
    series: Sequence[SnapshotSeries],
    timeframe: str,
    start_ns: int,
    end_ns: int,
    folder: Path,
) -> Path:
    """COPY the bars of `series` in [start_ns, end_ns] to a new Parquet file in `folder`.

    Written under a temporary name and renamed, so a worker never sees half a file.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the snapshot folder {folder}: {exc.strerror}") from exc
    out = folder / f"bars-{timeframe}-{uuid.uuid4().hex[:12]}.parquet"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    meta = {
        "format": SNAPSHOT_FORMAT,
        "timeframe": timeframe,
        "start_ns": start_ns,
        "end_ns": end_ns,
        "series": [{"exchange": s.exchange, "symbol": s.symbol, "label": s.label} for s in series],
    }
    ids = [s.instrument_id for s in series]
    # Parameters cannot name the target file or metadata: both are quoted literals.
    query = (
        "COPY (SELECT r.k::INTEGER AS series, b.ts, b.open, b.high, b.low, b.close, b.volume, "
        "b.oi FROM bars b JOIN (SELECT unnest(?::INTEGER[]) AS id, "
        "generate_subscripts(?::INTEGER[], 1) - 1 AS k) r ON b.instrument_id = r.id "
        "WHERE b.timeframe = ? AND b.ts BETWEEN ? AND ? ORDER BY r.k, b.ts) "
        f"TO {_quote(str(tmp))} (FORMAT parquet, COMPRESSION zstd, "
        f"KV_METADATA {{{_META_KEY}: {_quote(json.dumps(meta))}}})"
    )
    try:
        con.execute(query, [ids, ids, timeframe, start_ns, end_ns])
        os.replace(tmp, out)
    except (duckdb.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write the snapshot {out}: {exc}") from exc
    return out


def load_snapshot(path: Path) -> list[BarSeries]:
    """The snapshot's series in the order they were requested, as validated BarSeries.

    Safe in any process: it opens only an in-memory DuckDB and the Parquet file.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no such snapshot file")
    con = duckdb.connect(":memory:")
    try:
        rows = con.execute(
            "SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = ?",
            [str(path), _META_KEY],
        ).fetchall()
        if not rows:
            raise StoreError(f"{path} is not an Artha bar snapshot (no {_META_KEY} metadata)")
        meta = json.loads(rows[0][0])
        if meta.get("format") != SNAPSHOT_FORMAT:
            raise StoreError(f"{path}: snapshot format {meta.get('format')} is not supported")
        cols = con.execute(
            "SELECT series, ts, open, high, low, close, volume FROM read_parquet(?)", [str(path)]
        ).fetchnumpy()
    except duckdb.Error as exc:
        raise StoreError(f"cannot read the snapshot {path}: {exc}") from exc
    finally:
        con.close()
    arrays = {name: np.asarray(cols[name], dtype=np.int64) for name in ("ts", *_PRICE_COLUMNS)}
    key = np.asarray(cols["series"], dtype=np.int64)
    if len(key) > 1 and (np.diff(key) < 0).any():  # written sorted; re-sort if a reader shuffled
        order = np.lexsort((arrays["ts"], key))
        key = key[order]
        arrays = {name: values[order] for name, values in arrays.items()}
    entries = meta["series"]
    bounds = np.searchsorted(key, np.arange(len(entries) + 1), side="left")
    result: list[BarSeries] = []
    for i, entry in enumerate(entries):
        a, b = int(bounds[i]), int(bounds[i + 1])
        try:
            result.append(
                BarSeries(
                    entry["label"],
                    meta["timeframe"],
                    *(arrays[name][a:b] for name in ("ts", *_PRICE_COLUMNS)),
                )
            )
        except BarDataError as exc:
            raise StoreError(f"{path}: series {entry['label']}: {exc}") from exc
    return result
