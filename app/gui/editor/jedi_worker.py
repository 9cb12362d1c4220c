"""jedi in a process of its own: the strategy editor's completion never runs in the GUI's.

jedi is pure Python and takes 0.05-1.7 s a call (up to 20 s cold): in a thread of the GUI
process it held the GIL, and every key typed meanwhile waited for it (up to ~80 ms). Here it
runs in a spawned worker (`serve`), fed through a pipe by `completion.JediCompleter`. No Qt
is imported here: the worker starts with nothing but jedi and the strategies' sources.

The protocol, one pickled tuple per message:
- parent -> worker: `(request_id, text, line, column, path)`, or None to stop;
- worker -> parent: `("warmed", seconds)` once, after the warm-up, then
  `("completed", request_id, names)` for the newest request it found waiting (older ones
  still queued are skipped unanswered: a newer request supersedes them).
"""

from __future__ import annotations

import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Completing a strategy that imports the SDK loads jedi, parso's grammar and the SDK's modules.
WARM_TEXT = "from strategies.sdk import *\nimport numpy as np\n\nclass W(Strategy):\n    pass\nW."
WARM_POSITION = (6, 2)
MAX_NAMES = 300

Request = tuple[int, str, int, int, Path | None]


def script_options(source_root: str) -> dict[str, Any]:
    """jedi's settings: this interpreter (no further subprocess; none exists in the frozen
    app) and the project holding `strategies.sdk`."""
    import jedi

    return {
        "environment": jedi.InterpreterEnvironment(),
        "project": jedi.Project(source_root, added_sys_path=[source_root]),
    }


def complete(
    options: dict[str, Any], text: str, line: int, column: int, path: Path | None
) -> list[str]:
    """The names jedi offers at (line 1-based, column 0-based), at most MAX_NAMES."""
    import jedi

    script = jedi.Script(text, path=path, **options)
    return [c.name for c in script.complete(line, column)[:MAX_NAMES]]


def _newest(conn: Connection) -> Request | None:
    """The next request, or the newest of several waiting (None: stop). EOFError when the
    parent has gone."""
    message: Request | None = conn.recv()
    while message is not None and conn.poll():
        message = conn.recv()
    return message


def serve(conn: Connection, source_root: str) -> None:
    """The worker's loop: warm up, then answer requests until told to stop or the parent
    has gone (its end of the pipe closed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the terminal is the app's
    started = time.perf_counter()
    options: dict[str, Any] = {}
    try:
        options = script_options(source_root)
        complete(options, WARM_TEXT, *WARM_POSITION, None)
    except Exception:
        pass
    try:
        conn.send(("warmed", time.perf_counter() - started))
        while True:
            request = _newest(conn)
            if request is None:
                return
            request_id, text, line, column, path = request
            try:
                names = complete(options, text, line, column, path) if options else []
            except Exception:
                names = []
            conn.send(("completed", request_id, names))
    except (EOFError, OSError):  # the parent has gone
        return
