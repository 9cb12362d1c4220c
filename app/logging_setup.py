"""Where log records go: a rotating file in the workspace and warnings on stderr.

Log times are India Standard Time with the offset written (`2026-12-03 10:15:30.123+05:30`),
as the app shows them. The file log never stops Artha: a folder it cannot write gives one
warning line and the run goes on without it; a write that fails later (a full disk) gives one
line and turns the file log off, instead of a `--- Logging error ---` block per record.

Commands log to the workspace's file only once they know the workspace is usable: until then
records wait in a small buffer (`configure_command_logging`), written when
`attach_workspace_log` opens the file, and dropped if it never does.

The app's records from before its Log panel exists (a damaged store is found while the panels
are built) are kept too, and the Log panel shows them first (`take_startup_records`).
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from brokers import redaction
from engine.workspace import Workspace

_MARK = "_artha_handler"
IST = timezone(timedelta(hours=5, minutes=30), "IST")
MAX_RECORD_CHARS = 8_000  # one record, however long its message, stays one readable line
_BUFFERED = 500
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class IstFormatter(logging.Formatter):
    """Timestamps in IST with the offset written; over-long records are cut, saying so."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, IST)
        return f"{moment:%Y-%m-%d %H:%M:%S}.{int(record.msecs):03d}{_offset(moment)}"

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if len(text) > MAX_RECORD_CHARS:
            cut = len(text) - MAX_RECORD_CHARS
            text = f"{text[:MAX_RECORD_CHARS]} ... [{cut:,} more characters not logged]"
        return text


def _offset(moment: datetime) -> str:
    raw = moment.strftime("%z")  # +0530
    return f"{raw[:3]}:{raw[3:]}"


class WorkspaceFileHandler(logging.handlers.RotatingFileHandler):
    """The workspace's artha.log; on a failed write it says so once and turns itself off."""

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)
            return
        reason = error.strerror or str(error)
        _warn(f"writing the log file {self.baseFilename} failed ({reason}); "
              "no more records go to it in this run")  # fmt: skip
        logging.getLogger().removeHandler(self)
        with contextlib.suppress(OSError):
            self.close()


class _ConsoleFilter(logging.Filter):
    """Records already shown to the user (a command's error line) stay out of the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "console", True)


class _Buffer(logging.Handler):
    """Holds a command's first records until its workspace's log file is open."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < _BUFFERED:
            self.records.append(record)


class _Startup(logging.Handler):
    """The app's records until its Log panel takes them (`take_startup_records`)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Kept as text: a traceback's frames (holding DuckDB objects) must not live on."""
        if len(self.records) < _BUFFERED:
            kept = logging.makeLogRecord(record.__dict__)
            kept.msg, kept.args = record.getMessage(), None
            if record.exc_info:
                kept.exc_text = record.exc_text or _PLAIN.formatException(record.exc_info)
            kept.exc_info = None
            self.records.append(kept)


_PLAIN = logging.Formatter()


def take_startup_records() -> list[logging.LogRecord]:
    """The records logged since `configure_logging` and before the Log panel existed; from
    then on the panel gets records itself, so nothing more is kept (once per process)."""
    root = logging.getLogger()
    records: list[logging.LogRecord] = []
    for handler in [h for h in _ours(root) if isinstance(h, _Startup)]:
        root.removeHandler(handler)
        records.extend(handler.records)
    return records


def _warn(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(f"artha: warning: {message}", file=sys.stderr)


def _ours(root: logging.Logger) -> list[logging.Handler]:
    return [h for h in root.handlers if getattr(h, _MARK, False)]


def _add(root: logging.Logger, handler: logging.Handler) -> None:
    setattr(handler, _MARK, True)
    redaction.install(handler)  # records rebuilt from dicts skip the factory: filter them too
    root.addHandler(handler)


def _reset(level: int) -> logging.Logger:
    redaction.install_everywhere()  # no secret (token, API secret) reaches any log record
    root = logging.getLogger()
    for handler in _ours(root):
        root.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("artha: %(levelname)s: %(message)s"))
    console.addFilter(_ConsoleFilter())
    _add(root, console)
    root.setLevel(level)
    return root


def _file_handler(workspace: Workspace) -> WorkspaceFileHandler | None:
    path = workspace.logs_dir / "artha.log"
    try:
        handler = WorkspaceFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    except OSError as exc:
        _warn(f"cannot write the log file {path} ({exc.strerror or exc}); "
              "continuing without a log file")  # fmt: skip
        return None
    handler.setFormatter(IstFormatter(_FORMAT))
    return handler


def configure_logging(workspace: Workspace, level: int = logging.INFO) -> bool:
    """Idempotent: calling it twice (tests, re-launch) does not duplicate handlers.

    Returns whether the file log is on (False after a one-line warning when it cannot be)."""
    root = _reset(level)
    _add(root, _Startup())
    handler = _file_handler(workspace)
    if handler is None:
        return False
    _add(root, handler)
    return True


def configure_command_logging(level: int = logging.INFO) -> None:
    """A command's logging before its workspace is known: warnings on stderr, the rest kept
    for the workspace's file (see `attach_workspace_log`)."""
    root = _reset(level)
    _add(root, _Buffer())


def file_log_path() -> Path | None:
    """The log file records go to now, if any."""
    for handler in _ours(logging.getLogger()):
        if isinstance(handler, WorkspaceFileHandler):
            return Path(handler.baseFilename)
    return None


def attach_workspace_log(workspace: Workspace) -> bool:
    """Send records (and the buffered ones) to the workspace's log file; idempotent.

    Only where configure_command_logging is in force: the app configures its own."""
    root = logging.getLogger()
    ours = _ours(root)
    buffers = [h for h in ours if isinstance(h, _Buffer)]
    if not buffers:
        return file_log_path() is not None
    handler = _file_handler(workspace)
    for buffer in buffers:
        root.removeHandler(buffer)
    if handler is None:
        return False
    _add(root, handler)
    for buffer in buffers:
        for record in buffer.records:
            if record.levelno >= root.level:
                handler.handle(record)
    return True
