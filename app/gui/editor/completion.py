"""Completion: the SDK's names at once from precomputed lists, everything else from jedi in
a worker process.

jedi takes 0.7-1.7 s a call (up to 20 s cold), so it never runs in the GUI process: in a
thread there it held the GIL and keys typed meanwhile waited up to ~80 ms. A request goes
through a pipe to the worker (jedi_worker.py) and the answer comes back as a Qt signal. Only
the newest request matters: older ones still queued are skipped by the worker, and an answer
to an older one is dropped (`cancel()` drops the one running). The worker warms up as it
starts by completing a strategy that imports the SDK, which loads jedi, parso's grammar and
the SDK's modules.
"""

from __future__ import annotations

import builtins
import contextlib
import keyword
import logging
import multiprocessing
import re
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from PySide6.QtCore import QObject, Signal

import strategies
import strategies.sdk as sdk
from app.gui.editor import jedi_worker
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
POLL_SECONDS = 0.05  # while an answer is awaited, how often the messenger looks for newer requests
STOP_WAIT_SECONDS = 1.0


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


@dataclass
class _Worker:
    """One jedi worker process and the parent's end of its pipe."""

    process: BaseProcess
    conn: Connection

    def stop(self) -> None:
        """Ask it to stop, and make sure it does (it may be in the middle of a call)."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(STOP_WAIT_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(STOP_WAIT_SECONDS)
        self.conn.close()


class JediCompleter(QObject):
    """jedi in a worker process (jedi_worker.serve), driven by one thread of this process
    that only passes messages. `request()` returns an id at once; `completed(id, names)`
    arrives later on the GUI thread, only for the newest request.

    The worker starts `warm_after` seconds after this object (or at the first request, if
    sooner) and warms up at once; one that dies is started again at the next request (the
    request it died on gets no names); `shutdown()`, and the end of the process, stop it."""

    completed = Signal(int, list)
    warmed = Signal(float)  # seconds the warm-up took

    def __init__(self, parent: QObject | None = None, warm_after: float = 0.0) -> None:
        """`warm_after`: seconds to wait before starting the worker (unless a request comes
        first), so its start does not compete with the window's for the CPU."""
        super().__init__(parent)
        self.warm_after = warm_after
        self._lock = threading.Condition()
        self._pending: CompletionRequest | None = None
        self._newest = 0
        self._stopping = False
        self._warmed = False
        self._worker: _Worker | None = None
        self._thread = threading.Thread(target=self._serve, name="artha-jedi", daemon=True)
        self._thread.start()

    def request(self, text: str, line: int, column: int, path: Path | None) -> int:
        """Ask for completions at (line, column); supersedes every earlier request."""
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

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while one runs (tests, diagnostics)."""
        worker = self._worker
        return worker.process.pid if worker is not None and worker.process.is_alive() else None

    def shutdown(self) -> None:
        """Stop the worker process and the thread; returns at once."""
        with self._lock:
            self._stopping = True
            self._pending = None
            worker = self._worker
            self._lock.notify()
        if worker is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                worker.process.kill()  # the thread reaps it

    # -- the messenger thread ------------------------------------------------------------------
    def _serve(self) -> None:
        with self._lock:
            self._lock.wait_for(
                lambda: self._pending is not None or self._stopping, self.warm_after
            )
        awaited: int | None = None  # the last request sent, until it is answered
        expect_warm = True  # the first worker is started (and warms up) without a request
        try:
            while True:
                with self._lock:
                    if awaited is None and not expect_warm:  # nothing to hear: sleep
                        self._lock.wait_for(lambda: self._pending is not None or self._stopping)
                    if self._stopping:
                        return
                    job, self._pending = self._pending, None
                worker = self._running_worker()
                if worker is None:  # could not start (logged); the next request tries again
                    expect_warm, awaited = False, None
                    if job is not None:
                        self._answer_empty(job.request_id)
                    continue
                if job is not None:
                    try:
                        worker.conn.send((job.request_id, job.text, job.line, job.column, job.path))
                        awaited = job.request_id
                    except (OSError, ValueError):
                        self._worker_died(job.request_id)
                        expect_warm, awaited = False, None
                        continue
                if not worker.conn.poll(POLL_SECONDS):
                    continue  # meanwhile a newer request may have come: it is sent at once
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    self._worker_died(awaited)
                    expect_warm, awaited = False, None
                    continue
                if message[0] == "warmed":
                    expect_warm = False
                    if not self._warmed:  # a restarted worker's warm-up is not news
                        self._warmed = True
                        self._emit_warmed(float(message[1]))
                elif message[0] == "completed":
                    _kind, request_id, names = message
                    if request_id == awaited:
                        awaited = None
                    with self._lock:
                        current = request_id == self._newest and not self._stopping
                    if current:
                        self._emit_completed(request_id, names)
        finally:
            self._stop_worker()

    def _running_worker(self) -> _Worker | None:
        """The worker, started (again) when none runs; None if it cannot be, or stopping."""
        worker = self._worker
        if worker is not None and worker.process.is_alive():
            return worker
        if worker is not None:
            self._stop_worker()
        try:
            worker = _start_worker()
        except Exception:  # a broken jedi leaves the SDK's instant lists working
            log.exception("the jedi worker could not be started")
            return None
        with self._lock:
            self._worker = worker
            stopping = self._stopping
        if stopping:
            self._stop_worker()
            return None
        return worker

    def _worker_died(self, request_id: int | None) -> None:
        """The worker has gone: the request it had gets no names; the next one starts a new
        worker."""
        with self._lock:
            stopping = self._stopping
        if not stopping:  # shutdown() kills it: no news
            log.warning("the jedi worker stopped; the next completion request starts another")
        self._stop_worker()
        if request_id is not None:
            self._answer_empty(request_id)

    def _answer_empty(self, request_id: int) -> None:
        with self._lock:
            current = request_id == self._newest and not self._stopping
        if current:
            self._emit_completed(request_id, [])

    def _stop_worker(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    def _emit_completed(self, request_id: int, names: list[str]) -> None:
        with contextlib.suppress(RuntimeError):  # the panel (and this object) was deleted
            self.completed.emit(request_id, names)

    def _emit_warmed(self, seconds: float) -> None:
        with contextlib.suppress(RuntimeError):
            self.warmed.emit(seconds)


def _start_worker() -> _Worker:
    """A fresh jedi worker (spawned: fork is unsafe beside Qt's threads)."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(
        target=jedi_worker.serve,
        args=(child_end, str(SOURCE_ROOT)),
        name="artha-jedi",
        daemon=True,  # ended with this process if nothing else stops it
    )
    process.start()
    child_end.close()  # the worker's end: a recv here sees EOF once the worker has gone
    return _Worker(process, parent_end)
