"""Writing many parsed files in one transaction (MarketStore.import_batches).

Each DuckDB statement costs milliseconds whatever its size, so fifty daily bhavcopies merged
at once are ~20x faster than fifty imports. Each file still gets its own import-log entry.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from engine.data import store_bulk as bulk
from engine.data.batch import ImportBatch
from engine.data.import_log import ImportReport, log_import


def write_group(
    cur: duckdb.DuckDBPyConnection, fresh: list[tuple[ImportBatch, str]]
) -> dict[int, ImportReport]:
    """Merge (batch, sha256) pairs inside the caller's transaction; reports by id(batch),
    each with its own file's counts (bars new or changed, bars already stored as they are)."""
    frames = [b.bars.assign(**{bulk.PART: i}) for i, (b, _) in enumerate(fresh)]
    bars = pd.concat(frames, ignore_index=True)
    label = f"{len(fresh)} files ({fresh[0][0].source} ...)"
    known = {
        (str(e), str(y))
        for e, y in cur.execute("SELECT exchange, symbol FROM instruments").fetchall()
    }
    for placeholders in (False, True):  # real details first; placeholders only fill gaps
        found = [b.instruments for b, _ in fresh if b.placeholder_instruments == placeholders]
        if found:
            instruments = pd.concat(found, ignore_index=True)
            instruments = instruments.drop_duplicates(["exchange", "symbol"], keep="last")
            bulk.upsert_instruments(cur, instruments, label, overwrite=not placeholders)
    merged = bulk.merge_bars(cur, bars, label)
    reports: dict[int, ImportReport] = {}
    for i, (batch, digest) in enumerate(fresh):
        ts = batch.bars["ts"]
        first = int(ts.min()) if len(ts) else None
        last = int(ts.max()) if len(ts) else None
        log_import(cur, batch.source, batch.format, len(batch.bars), first, last, digest)
        keys = set(
            zip(
                batch.instruments["exchange"].to_numpy(dtype=object).tolist(),
                batch.instruments["symbol"].to_numpy(dtype=object).tolist(),
                strict=True,
            )
        )
        added = len(keys - known)
        known |= keys
        unchanged, replaced = merged.by_part.get(i, (0, 0))
        reports[id(batch)] = ImportReport(
            batch.source, batch.format, added, len(batch.bars) - unchanged, unchanged, first,
            last, False, [*batch.notes, *bulk.replaced_note(replaced)],
        )  # fmt: skip
    return reports
