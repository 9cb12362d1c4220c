"""Where log records go: a rotating file in the workspace and warnings on stderr."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from engine.workspace import Workspace

_MARK = "_artha_handler"


def configure_logging(workspace: Workspace, level: int = logging.INFO) -> None:
    """Idempotent: calling it twice (tests, re-launch) does not duplicate handlers."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        workspace.logs_dir / "artha.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("artha: %(levelname)s: %(message)s"))
    for handler in (file_handler, console):
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(level)
