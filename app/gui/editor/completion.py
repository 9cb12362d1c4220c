"""Completion: the SDK's names at once from precomputed lists, everything else from jedi in
one background thread.

jedi takes 0.7-1.7 s a call (up to 20 s cold), so it never runs on the GUI thread: a request
goes to the worker and the answer comes back as a Qt signal. Only the newest request
matters: one waiting is replaced by a newer one, and an answer to an older one is dropped
(`cancel()` drops the one running). The worker is warmed at start by completing a strategy
that imports the SDK, which loads jedi, parso's grammar and the SDK's modules.
"""

from __future__ import annotations

import builtins
import contextlib
import keyword
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

import strategies
import strategies.sdk as sdk
from engine.strategy.base import BarView, PositionView, Strategy

log = logging.getLogger(__name__)

SDK_NAMES: tuple[str, ...] = tuple(sorted(sdk.__all__))
# What a strategy author's own objects offer, for completion after "self." and friends.
_DATA_MEMBERS = ("open", "high", "low", "close", "volume", "ts", "symbol", "size", "bar", "has_bar")
MEMBERS: dict[str, tuple[str, ...]] = {
    "self": tuple(sorted({n for n in dir(Strategy) if not n.startswith("_")} | {"data", "datas"})),
    "self.data": tuple(sorted(_DATA_MEMBERS)),
    "self.position": tuple(sorted(n for n in dir(PositionView) if not n.startswith("_"))),
    "bar": tuple(sorted(n for n in dir(BarView) if not n.startswith("_"))),
}
_WORDS: tuple[str, ...] = tuple(
    sorted(
        set(SDK_NAMES)
        | set(keyword.kwlist)
        | {n for n in dir(builtins) if not n.startswith("_")}
        | {"np", "numpy", "self"}
    )
)
_DOTTED = re.compile(r"([A-Za-z_][\w.]*)$")
SOURCE_ROOT = Path(strategies.__file__).resolve().parent.parent  # where strategies.sdk is
WARM_TEXT = "from strategies.sdk import *\nimport numpy as np\n\nclass W(Strategy):\n    pass\nW."


def completion_prefix(before: str) -> tuple[str, str]:
    """(object, prefix) of the dotted name ending the text before the cursor:
    "x = self.da" -> ("self", "da"); "sm" -> ("", "sm")."""
    found = _DOTTED.search(before)
    if not found:
        return "", ""
    dotted = found.group(1)
    if "." not in dotted:
        return "", dotted
    owner, _, prefix = dotted.rpartition(".")
    return owner, prefix


def instant_completions(before: str) -> list[str]:
    """What can be offered at once, without jedi: members of the SDK's known objects after
    a dot, else SDK names, keywords and builtins starting with the prefix."""
    owner, prefix = completion_prefix(before)
    if owner:
        pool = MEMBERS.get(owner, ())
    elif prefix:
        pool = _WORDS
    else:
        return []
    return [name for name in pool if name.startswith(prefix) and name != prefix]


@dataclass(frozen=True)
class CompletionRequest:
    request_id: int
    text: str
    line: int  # 1-based, as jedi counts
    column: int  # 0-based
    path: Path | None


class JediCompleter(QObject):
    """jedi in one worker thread. `request()` returns an id at once; `completed(id, names)`
    arrives later on the GUI thread, only for the newest request."""

    completed = Signal(int, list)
    warmed = Signal(float)  # seconds the warm-up took

    def __init__(self, parent: QObject | None = None, warm_after: float = 0.0) -> None:
        """`warm_after`: seconds to wait before warming up (unless a request comes first),
        so the warm-up's second of Python does not compete with the window's start."""
        super().__init__(parent)
        self.warm_after = warm_after
        self._lock = threading.Condition()
        self._pending: CompletionRequest | None = None
        self._newest = 0
        self._stopping = False
        self._script_options: dict[str, Any] | None = None  # built on the worker thread
        self._thread = threading.Thread(target=self._serve, name="artha-jedi", daemon=True)
        self._thread.start()

    def request(self, text: str, line: int, column: int, path: Path | None) -> int:
        """Ask for completions at (line, column); replaces any request not yet started."""
        with self._lock:
            self._newest += 1
            self._pending = CompletionRequest(self._newest, text, line, column, path)
            self._lock.notify()
            return self._newest

    def cancel(self) -> None:
        """Forget every request: a waiting one is dropped, a running one's answer too."""
        with self._lock:
            self._newest += 1
            self._pending = None

    @property
    def newest(self) -> int:
        return self._newest

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            self._pending = None
            self._lock.notify()

    def _serve(self) -> None:
        with self._lock:
            self._lock.wait_for(
                lambda: self._pending is not None or self._stopping, self.warm_after
            )
            if self._stopping:
                return
        started = time.perf_counter()
        try:
            self._complete(WARM_TEXT, 6, 2, None)
        except Exception:  # a broken jedi leaves the SDK's instant lists working
            log.exception("jedi warm-up failed")
        self._emit_warmed(time.perf_counter() - started)
        while True:
            with self._lock:
                while self._pending is None and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job, self._pending = self._pending, None
            assert job is not None
            try:
                names = self._complete(job.text, job.line, job.column, job.path)
            except Exception as exc:  # jedi fails on some half-typed code: no completions
                log.debug("jedi could not complete: %s", exc)
                names = []
            with self._lock:
                current = job.request_id == self._newest and not self._stopping
            if current:
                self._emit_completed(job.request_id, names)

    def _emit_completed(self, request_id: int, names: list[str]) -> None:
        with contextlib.suppress(RuntimeError):  # the panel (and this object) was deleted
            self.completed.emit(request_id, names)

    def _emit_warmed(self, seconds: float) -> None:
        with contextlib.suppress(RuntimeError):
            self.warmed.emit(seconds)

    def _complete(self, text: str, line: int, column: int, path: Path | None) -> list[str]:
        import jedi

        if self._script_options is None:
            self._script_options = {
                # the running interpreter: no subprocess (none exists in the frozen app)
                "environment": jedi.InterpreterEnvironment(),
                "project": jedi.Project(SOURCE_ROOT, added_sys_path=[str(SOURCE_ROOT)]),
            }
        script = jedi.Script(text, path=path, **self._script_options)
        return [c.name for c in script.complete(line, column)[:300]]
