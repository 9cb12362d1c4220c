"""Importing many files: parse on worker processes, write in groups of files per transaction.

Five years of daily bhavcopies are ~1,250 files: one transaction each costs more in DuckDB
statement overhead than the parsing itself, so files are merged GROUP at a time
(MarketStore.import_batches keeps every file's own import-log entry and idempotency).

Every file given gets exactly one FileResult, in the order given: stored, already imported,
refused (why, as ``file:line: what``, or "disk full"), held (bars on days the exchange was
closed, waiting for the trader's word: ImportOptions.closed_days) or not tried (the store
itself failed on an earlier file, e.g. a full disk, so the files after it were not
attempted). A file refused by the store's own checks does not stop the others.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

import duckdb

from engine.calendar import CalendarLayer, use_workspace_calendar, workspace_calendar
from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.closed_days import drop_closed_days
from engine.data.importers import read_file
from engine.data.resample import span_warning
from engine.data.store import ImportReport, MarketStore, StoreError

GROUP = 50  # files per transaction ...
GROUP_ROWS = 200_000  # ... or fewer, once this many bars are waiting (big minute files)
PARALLEL_FROM = 20  # fewer files than this are parsed in-process (no worker start-up)
CLOSED_DAYS: Final = ("hold", "keep", "drop")
CANCELLED: Final = "import cancelled before this file was stored"


class FileStatus(StrEnum):
    STORED = "stored"
    ALREADY = "already imported"
    REFUSED = "refused"
    HELD = "held"  # bars on closed days: nothing stored until the trader says keep or drop
    NOT_TRIED = "not tried"


@dataclass(frozen=True)
class ImportOptions:
    format: str = "auto"
    mapping: Mapping[str, str] | None = None
    symbol: str | None = None
    exchange: str = "NSE"
    timeframe: str | None = None
    force: bool = False
    # bars on days the exchange was closed: "hold" the file (report it, store nothing),
    # "keep" them as they are, or "drop" those bars and store the rest of the file
    closed_days: str = "hold"

    def __post_init__(self) -> None:
        if self.closed_days not in CLOSED_DAYS:
            raise ValueError(
                f"closed_days {self.closed_days!r} is not one of {', '.join(CLOSED_DAYS)}"
            )


@dataclass(frozen=True)
class FileResult:
    """What became of one file. `report` is set for STORED and ALREADY; `problem` says why
    for REFUSED, HELD and NOT_TRIED; `notes` are everything the importer noted."""

    path: str
    status: FileStatus
    report: ImportReport | None = None
    problem: str = ""
    notes: tuple[str, ...] = ()


@dataclass
class ImportOutcome:
    files: list[FileResult] = field(default_factory=list)
    warning: str = ""  # the calendar's, once, when imported bars lie on provisional dates
    cancelled: bool = False  # the import was cancelled: the NOT_TRIED files say so

    @property
    def reports(self) -> list[tuple[str, ImportReport]]:
        """(path, report) of the files stored or found already imported."""
        return [(f.path, f.report) for f in self.files if f.report is not None]

    @property
    def errors(self) -> list[str]:
        """The message of every file refused or not tried (held files are not errors)."""
        return [
            f.problem for f in self.files if f.status in (FileStatus.REFUSED, FileStatus.NOT_TRIED)
        ]

    @property
    def held(self) -> list[FileResult]:
        return [f for f in self.files if f.status is FileStatus.HELD]

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status is status)


Job = tuple[str, ImportOptions, CalendarLayer]


def _parse(job: Job) -> ImportBatch | str:
    """Worker side: one file to a batch, or its error message (always picklable). The
    parent's workspace calendar comes along, so sessions are stamped as the app sees them."""
    path, o, calendar = job
    use_workspace_calendar(calendar)
    try:
        return read_file(path, o.format, mapping=o.mapping, symbol=o.symbol,
                         exchange=o.exchange, timeframe=o.timeframe, lenient=True)  # fmt: skip
    except BarDataError as exc:
        return str(exc)
    except (ValueError, OSError) as exc:
        text = str(exc)
        return text if str(path) in text else f"{path}: {text}"


def _parsed(jobs: list[Job]) -> Generator[ImportBatch | str, None, None]:
    if len(jobs) < PARALLEL_FROM:  # in-process: the next file is read while one is written
        with ThreadPoolExecutor(1, thread_name_prefix="artha-parse") as reader:
            ahead: Future[ImportBatch | str] | None = (
                reader.submit(_parse, jobs[0]) if jobs else None
            )
            for k in range(len(jobs)):
                assert ahead is not None
                current = ahead
                ahead = reader.submit(_parse, jobs[k + 1]) if k + 1 < len(jobs) else None
                yield current.result()
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe beside Qt's threads
    workers = min(os.cpu_count() or 1, 4)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        try:
            yield from pool.map(_parse, jobs, chunksize=8)
        finally:  # closed early (a cancel): drop the files not started
            pool.shutdown(wait=True, cancel_futures=True)


def _die_with_parent(parent: int) -> None:
    """Worker side: exit when the importing process is gone (killed, crashed), instead of
    living on with a few hundred MB each (D18). Checked twice a second on a daemon thread."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="artha-parent-watch", daemon=True).start()


def _environmental(exc: StoreError) -> bool:
    """A failure of the store itself (disk full, I/O), not of the file's content: the
    files after it would fail the same way."""
    cause = exc.__cause__
    return isinstance(cause, OSError | duckdb.IOException | duckdb.OutOfMemoryException) or (
        isinstance(cause, duckdb.Error) and "No space left" in str(cause)
    )


def _disk_full(exc: StoreError) -> bool:
    cause = exc.__cause__
    return (isinstance(cause, OSError) and cause.errno == errno.ENOSPC) or (
        "No space left" in str(exc) or "No space left" in str(cause)
    )


def import_files(
    store: MarketStore,
    paths: Sequence[str | Path],
    options: ImportOptions | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportOutcome:
    """Import every file; each gets one FileResult (outcome.files, in the order given),
    also passed to `on_result` as soon as it is known.

    `cancelled` is asked between files: once it answers True, the files already parsed are
    written (each file whole or absent, as always) and every later file is NOT_TRIED,
    "import cancelled"; outcome.cancelled is then True."""
    o = options or ImportOptions()
    stop = cancelled or (lambda: False)
    results: dict[int, FileResult] = {}
    pending: list[tuple[int, ImportBatch]] = []
    broken = ""  # the store failed: the files still to write are not tried

    def settle(i: int, result: FileResult) -> None:
        results[i] = result
        if on_result is not None:
            on_result(result)

    def stored(i: int, batch: ImportBatch, report: ImportReport) -> None:
        status = FileStatus.ALREADY if report.already_imported else FileStatus.STORED
        settle(i, FileResult(str(paths[i]), status, report, notes=tuple(report.notes)))

    def flush() -> None:
        nonlocal broken
        batches = [b for _, b in pending]
        if len(batches) > 1 and not broken:
            try:
                for (i, batch), report in zip(
                    pending, store.import_batches(batches, force=o.force), strict=True
                ):
                    stored(i, batch, report)
                pending.clear()
                return
            except StoreError:
                pass  # rolled back: one by one below, so the file at fault is named
        for i, batch in pending:
            if broken:
                why = broken if broken == CANCELLED else f"not tried: {broken}"
                settle(i, FileResult(str(paths[i]), FileStatus.NOT_TRIED, problem=(
                    f"{paths[i]}: {why}"), notes=tuple(batch.notes)))  # fmt: skip
                continue
            try:
                stored(i, batch, store.import_batch(batch, force=o.force))
            except StoreError as exc:
                problem = str(exc) if str(paths[i]) in str(exc) else f"{paths[i]}: {exc}"
                if _disk_full(exc):  # this file was tried and refused; the rest are not tried
                    broken = "disk full"
                    problem = (f"{paths[i]}: disk full, nothing of it written; free some space "
                               f"on the disk that holds {store.path.parent}")  # fmt: skip
                elif _environmental(exc):
                    broken = str(exc)
                settle(i, FileResult(str(paths[i]), FileStatus.REFUSED, problem=problem,
                                     notes=tuple(batch.notes)))  # fmt: skip
        pending.clear()

    calendar = workspace_calendar()
    jobs = [(str(p), o, calendar) for p in paths]
    rows = 0
    parsed_files = _parsed(jobs)
    for i, parsed in enumerate(parsed_files):
        if stop():  # the files parsed before it are written; this one and the rest are not
            flush()
            broken = CANCELLED
            for k in range(i, len(paths)):
                settle(k, FileResult(str(paths[k]), FileStatus.NOT_TRIED,
                                     problem=f"{paths[k]}: {CANCELLED}"))  # fmt: skip
            parsed_files.close()  # stops the parse workers
            break
        if isinstance(parsed, str):
            settle(i, FileResult(str(paths[i]), FileStatus.REFUSED, problem=parsed))
            continue
        closed = parsed.closed_days
        if closed:
            if o.closed_days == "hold":
                settle(i, FileResult(str(paths[i]), FileStatus.HELD,
                                     problem=f"{paths[i]}: {closed.describe()}",
                                     notes=tuple(parsed.notes)))  # fmt: skip
                continue
            if o.closed_days == "drop":
                parsed = drop_closed_days(parsed)
            else:
                parsed = replace(parsed, notes=[*parsed.notes, closed.kept()])
        pending.append((i, parsed))
        rows += len(parsed.bars)
        if len(pending) >= GROUP or rows >= GROUP_ROWS:
            flush()
            rows = 0
    flush()
    outcome = ImportOutcome([results[i] for i in range(len(paths))], cancelled=broken == CANCELLED)
    spans = [(r.first_ts, r.last_ts) for _, r in outcome.reports if r.first_ts is not None]
    if spans:
        first = min(lo for lo, _ in spans)
        last = max(hi for _, hi in spans if hi is not None)
        outcome.warning = span_warning(first, last, o.exchange)
    return outcome
