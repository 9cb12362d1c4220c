"""What `artha data import` prints for each file and at the end: one line per file, its
notes under it, and a count when anything was not stored. Errors go to stderr, with the notes
of a refused file under them. Each file's result and the summary also go to the workspace log
(one line each)."""

from __future__ import annotations

import logging
import sys
from typing import Final

from app.commands.output import record_quietly
from engine.data.bar_series import ist_iso
from engine.data.import_files import FileResult, FileStatus, ImportOutcome

HELD_HINT: Final = (
    "  import it again with --closed-days keep to store those bars, or --closed-days drop to "
    "store the file without them; if the exchange held a special session that day, add it "
    "first (artha calendar add-session DATE --open HH:MM --close HH:MM)"
)
MAX_MESSAGE: Final = 2_000  # characters of one message shown; a broken file can hold 50 MB


def bounded(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    return f"{text[:MAX_MESSAGE]}… ({len(text) - MAX_MESSAGE:,} more characters)"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' * (count != 1)}"


def print_result(result: FileResult) -> None:
    report = result.report
    out = sys.stdout
    if result.status is FileStatus.ALREADY:
        line = f"{result.path}: already imported, nothing changed (--force re-imports)"
        print(line)
    elif result.status is FileStatus.STORED and report is not None:
        span = ""
        if report.first_ts is not None and report.last_ts is not None:
            span = f", {ist_iso(report.first_ts)[:10]}..{ist_iso(report.last_ts)[:10]}"
        line = (f"{result.path}: {report.format}, {report.bars_written:,} bars written, "
                f"{report.bars_unchanged:,} unchanged, "
                f"{plural(report.instruments_added, 'new instrument')}{span}")  # fmt: skip
        print(line)
    elif result.status is FileStatus.HELD:
        why = result.problem.removeprefix(f"{result.path}: ")
        line = f"{result.path}: held, nothing stored: {bounded(why)}"
        print(line)
        print(HELD_HINT)
    else:  # refused or not tried: the message and its notes go together, on stderr
        out = sys.stderr
        line = bounded(result.problem)
        print(f"artha data import: error: {bounded(result.problem)}", file=out)
    for note in result.notes:
        print(f"  note: {bounded(note)}", file=out)
    level = logging.INFO if out is sys.stdout else logging.WARNING
    record_quietly(level, f"artha data import: {result.status.value}: {line}")


def print_summary(outcome: ImportOutcome) -> int:
    """The closing lines; the exit code: 0 when every file is in the store, else 2."""
    if outcome.warning:
        print(f"warning: {outcome.warning}")
    missing = [s for s in (FileStatus.REFUSED, FileStatus.HELD, FileStatus.NOT_TRIED)
               if outcome.count(s)]  # fmt: skip
    counts = ", ".join(f"{outcome.count(s)} {s.value}" for s in FileStatus if outcome.count(s))
    record_quietly(logging.INFO, f"artha data import: {plural(len(outcome.files), 'file')}: "
                                 f"{counts or 'none'}")  # fmt: skip
    if not missing:
        return 0
    print(f"{plural(len(outcome.files), 'file')}: {counts}; nothing was stored from the files "
          "refused, held or not tried", file=sys.stderr)  # fmt: skip
    return 2
