"""Many bar CSVs in one transaction and one INSERT (MarketStore.import_csv_files).

DuckDB reads a list of files in parallel and in order, so ten 1M-bar files written by one
statement cost ~30% less than ten statements (measured: bench/README.md). Each file still
has its own import-log entry and is checked on its own (times rising, timeframe confirmed);
any doubt declines the whole group, which is rolled back and retried one file at a time, so
the file at fault ends up with the generic importer naming its `file:line`.
"""

from __future__ import annotations

import duckdb

from engine.data import store_bulk as bulk
from engine.data.import_log import ImportReport, log_import, seen_before
from engine.data.store_csv import FORMAT, CsvPlan, Declined, has_bars, insert_new, instrument
from engine.data.store_csv import report as csv_report

GROUP = 16  # files per statement and transaction


def write_group(
    cur: duckdb.DuckDBPyConnection, jobs: list[CsvPlan], force: bool
) -> dict[int, ImportReport]:
    """Reports by index in `jobs` for the files written (or imported before); the others
    (a series that already has bars, two files of one series) are left to the caller."""
    done: dict[int, ImportReport] = {}
    new: list[tuple[int, CsvPlan, int, int]] = []  # (index, job, instrument id, added)
    series: set[tuple[str, str, str]] = set()
    try:
        for i, job in enumerate(jobs):
            seen = seen_before(cur, str(job.file), FORMAT, job.digest, [])
            if seen is not None and not force:
                done[i] = seen
                continue
            key = (job.exchange, job.symbol, job.timeframe)
            instrument_id, added = instrument(cur, job.exchange, job.symbol)
            if key in series or has_bars(cur, instrument_id, job.timeframe):
                continue  # merged bar by bar, one file at a time
            series.add(key)
            new.append((i, job, instrument_id, added))
        for time_format in sorted({job.time_format for _, job, _, _ in new}):
            alike = [n for n in new if n[1].time_format == time_format]
            times = insert_new(cur, [n[1] for n in alike], [n[2] for n in alike])
            for (i, job, _, added), ts in zip(alike, times, strict=True):
                first, last = int(ts[0]), int(ts[-1])
                log_import(cur, str(job.file), FORMAT, len(ts), first, last, job.digest)
                merged = bulk.Merged(len(ts), len(ts), 0, first, last, [])
                done[i] = csv_report(job, added, merged)
    except duckdb.Error as exc:
        raise Declined(str(exc)) from exc
    return done
