"""Importing many files: parse on worker processes, write in groups of files per transaction.

Five years of daily bhavcopies are ~1,250 files: one transaction each costs more in DuckDB
statement overhead than the parsing itself, so files are merged GROUP at a time
(MarketStore.import_batches keeps every file's own import-log entry and idempotency). A
file that fails to parse is reported and skipped; nothing of it reaches the store.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from engine.calendar import CalendarLayer, use_workspace_calendar, workspace_calendar
from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.importers import read_file
from engine.data.resample import span_warning
from engine.data.store import ImportReport, MarketStore
from engine.data.store_csv import applies

GROUP = 50  # files per transaction ...
GROUP_ROWS = 200_000  # ... or fewer, once this many bars are waiting (big minute files)
PARALLEL_FROM = 20  # fewer files than this are parsed in-process (no worker start-up)


@dataclass(frozen=True)
class ImportOptions:
    format: str = "auto"
    mapping: Mapping[str, str] | None = None
    symbol: str | None = None
    exchange: str = "NSE"
    timeframe: str | None = None
    force: bool = False


@dataclass
class ImportOutcome:
    reports: list[tuple[str, ImportReport]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warning: str = ""  # the calendar's, once, when imported bars lie on provisional dates


Job = tuple[str, ImportOptions, CalendarLayer]


def _parse(job: Job) -> ImportBatch | str:
    """Worker side: one file to a batch, or its error message (always picklable). The
    parent's workspace calendar comes along, so sessions are stamped as the app sees them."""
    path, o, calendar = job
    use_workspace_calendar(calendar)
    try:
        return read_file(path, o.format, mapping=o.mapping, symbol=o.symbol,
                         exchange=o.exchange, timeframe=o.timeframe, lenient=True)  # fmt: skip
    except (BarDataError, ValueError, OSError) as exc:
        return str(exc)


def _parsed(jobs: list[Job]) -> Iterator[ImportBatch | str]:
    if len(jobs) < PARALLEL_FROM:
        yield from map(_parse, jobs)
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe beside Qt's threads
    with ProcessPoolExecutor(min(os.cpu_count() or 1, 4), mp_context=context) as pool:
        yield from pool.map(_parse, jobs, chunksize=8)


def import_files(
    store: MarketStore,
    paths: Sequence[str | Path],
    options: ImportOptions | None = None,
    on_report: Callable[[str, ImportReport], None] | None = None,
    on_error: Callable[[str], None] | None = None,
) -> ImportOutcome:
    """Import every file; errors as `file:line: what`. Reports: the bar CSVs DuckDB took
    directly first, then the other files in the order given."""
    o = options or ImportOptions()
    outcome = ImportOutcome()
    pending: list[ImportBatch] = []

    def flush() -> None:
        reports = (store.import_batches(pending, force=o.force) if len(pending) > 1
                   else [store.import_batch(b, force=o.force) for b in pending])  # fmt: skip
        for batch, report in zip(pending, reports, strict=True):
            outcome.reports.append((batch.source, report))
            if on_report is not None:
                on_report(batch.source, report)
        pending.clear()

    # the documented bar CSV goes through DuckDB itself when it can
    eligible = not o.mapping and o.format in ("auto", "ohlcv_csv")
    csvs = [p for p in paths if eligible and applies(Path(p))]
    fast = store.import_csv_files(csvs, o.symbol, o.exchange, o.timeframe, force=o.force)
    taken = {str(p): r for p, r in zip(csvs, fast, strict=True) if r is not None}
    rest = [p for p in paths if str(p) not in taken]
    for path, report in taken.items():
        outcome.reports.append((path, report))
        if on_report is not None:
            on_report(path, report)

    calendar = workspace_calendar()
    for parsed in _parsed([(str(p), o, calendar) for p in rest]):
        if isinstance(parsed, str):
            outcome.errors.append(parsed)
            if on_error is not None:
                on_error(parsed)
            continue
        pending.append(parsed)
        if len(pending) >= GROUP or sum(len(b.bars) for b in pending) >= GROUP_ROWS:
            flush()
    flush()
    spans = [(r.first_ts, r.last_ts) for _, r in outcome.reports if r.first_ts is not None]
    if spans:
        first = min(lo for lo, _ in spans)
        last = max(hi for _, hi in spans if hi is not None)
        outcome.warning = span_warning(first, last, o.exchange)
    return outcome
