"""The one job runner: long work (imports, the demo data, later backtests and downloads) off the
loop thread, with progress, cancel, and the result or error as typed events on the bus.

A job is a callable taking a `JobControl`:

    def work(control: JobControl) -> Outcome:
        for i, item in enumerate(items):
            if control.cancelled():
                break                      # stop at a clean boundary; return what was done
            ...
            control.progress(i + 1, len(items), f"{item}")
        return outcome

`JobRunner.submit(work, name)` runs it on a worker thread and returns its id at once. Events
(engine.events: JobStarted, JobProgress, JobFinished(result), JobFailed(message),
JobCancelled(result)) reach the bus on the loop thread (`EventBus.publish_threadsafe`), topic
"job:<id>". A cancel is a request: the job sees `cancelled()` turn True and stops where it can
do so cleanly; one that returns after a cancel ends in JobCancelled with what it returned, one
that raises `JobCancelledError` in JobCancelled(None).

Process jobs (backtests, optimisations) use the same API: `JobRunner.submit_process(fn, args,
name)` runs `fn(control, *args)` in a spawned worker process, where `control` is a JobControl
whose progress goes back through a pipe and whose cancel flag is a multiprocessing Event; `fn`
must be a top-level function and its arguments and result picklable. A supervising thread per
job starts the worker, relays progress as JobProgress, receives (unpickles) the result off the
loop thread and posts the same JobFinished / JobFailed / JobCancelled events. At most
`process_slots` workers run at once; later jobs wait their turn, oldest first (JobInfo.state
"queued"). A cancel sets the Event; a worker that has not stopped CANCEL_GRACE seconds later
(a strategy stuck in its own loop) is terminated. A worker exits when its parent dies.
The runner never touches the store: a job is handed whatever it needs by whoever submits it.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.synchronize
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal, Protocol

from engine.bus import EventBus
from engine.events import (
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    JobProgress,
    JobStarted,
)
from engine.heap import collector_paused, freeze_long_lived

log = logging.getLogger("artha.jobs")

PROGRESS_INTERVAL = 0.05  # seconds: at most ~20 progress events a second per job reach the bus
CANCEL_GRACE = 0.8  # seconds a process job gets to stop on its own before it is terminated
POLL = 0.05  # seconds: how often a supervising thread looks at a cancel request


class JobCancelledError(Exception):
    """Raised by a job that stops on a cancel with nothing to return."""


class CancelFlag(Protocol):
    """A threading.Event in a thread job, a multiprocessing Event in a worker process."""

    def is_set(self) -> bool: ...


class JobControl:
    """What a running job holds: report progress, ask whether it was cancelled."""

    def __init__(
        self,
        report: Callable[[int, int, str], None],
        cancel_flag: CancelFlag,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self._report = report
        self._flag = cancel_flag
        self._interval = interval
        self._last = 0.0

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        """`done` of `total` (0: unknown) units; throttled, but the last unit always goes."""
        now = time.monotonic()
        if done < total and now - self._last < self._interval:
            return
        self._last = now
        self._report(done, total, text)

    def cancelled(self) -> bool:
        return self._flag.is_set()


@dataclass
class JobInfo:
    """A job the runner has running."""

    job_id: int
    name: str
    cancellable: bool
    started: float  # time.monotonic() when submitted
    ask_before_close: bool = True  # False: a short background read, not worth a question
    kind: Literal["thread", "process"] = "thread"
    # "queued": a process job waiting for a free worker slot; "running" otherwise
    state: Literal["queued", "running"] = "running"
    cancel_flag: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)
    pid: int | None = None  # a process job's worker, once started

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_flag.is_set()


class JobRunner:
    """Runs jobs on worker threads; events go to `bus` on its loop thread."""

    def __init__(
        self,
        bus: EventBus,
        post: Callable[[JobEvent], None] | None = None,
        process_slots: int | None = None,
    ) -> None:
        """`process_slots`: how many process jobs may run at once (default: the cores but
        one, at least one); the rest wait in submission order."""
        self._bus = bus
        self._post = post or bus.publish_threadsafe
        self._jobs: dict[int, JobInfo] = {}
        self._lock = threading.Lock()
        self._next_id = 1
        self.process_slots = max(1, process_slots or (os.cpu_count() or 2) - 1)
        self._slots = threading.Condition()
        self._busy = 0
        self._waiting: deque[int] = deque()

    def submit(
        self,
        work: Callable[[JobControl], Any],
        name: str,
        *,
        cancellable: bool = True,
        ask_before_close: bool = True,
    ) -> int:
        """Start `work` on a worker thread; its id. JobStarted is the first event it sends.

        `cancellable=False`: the job cannot stop half-way (the demo data goes in as one
        transaction); cancel() then says so and the job runs to its end."""
        with self._lock:
            job_id = self._next_id
            self._next_id += 1
            info = JobInfo(job_id, name, cancellable, time.monotonic(), ask_before_close)
            self._jobs[job_id] = info

        def report(done: int, total: int, text: str) -> None:
            self._post(JobProgress(job_id, name, done, total, text))

        control = JobControl(report, info.cancel_flag)
        info.thread = threading.Thread(
            target=self._run, args=(info, work, control), name=f"artha-job-{job_id}", daemon=False
        )
        self._post(JobStarted(job_id, name, cancellable))
        log.info("job %d started: %s", job_id, name)
        info.thread.start()
        return job_id

    def submit_process(
        self,
        fn: Callable[..., Any],
        args: Sequence[Any],
        name: str,
        *,
        cancellable: bool = True,
        ask_before_close: bool = True,
    ) -> int:
        """Run `fn(control, *args)` in a spawned worker process; its id, at once.

        `fn` is a top-level function (the worker imports it by name) and `args` and its
        result are picklable; both cross on this runner's supervising thread, never the
        caller's. Events are those of `submit`; a job waiting for a worker slot has
        JobInfo.state "queued" and says so in a JobProgress."""
        with self._lock:
            job_id = self._next_id
            self._next_id += 1
            info = JobInfo(
                job_id, name, cancellable, time.monotonic(), ask_before_close, kind="process"
            )
            info.state = "queued"
            self._jobs[job_id] = info
        info.thread = threading.Thread(
            target=self._supervise,
            args=(info, fn, tuple(args)),
            name=f"artha-job-{job_id}",
            daemon=False,
        )
        self._post(JobStarted(job_id, name, cancellable))
        log.info("process job %d submitted: %s", job_id, name)
        info.thread.start()
        return job_id

    def _supervise(self, info: JobInfo, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """The supervising thread of a process job: wait for a slot, start the worker,
        relay what it says, end with one event."""
        event: JobEvent
        if not self._take_slot(info):
            event = JobCancelled(info.job_id, info.name, None)
        else:
            try:
                event = self._run_process(info, fn, args)
            except Exception as exc:  # starting the worker failed (args not picklable, ...)
                log.exception("process job %d failed: %s", info.job_id, info.name)
                event = JobFailed(info.job_id, info.name, str(exc) or type(exc).__name__)
            finally:
                with self._slots:
                    self._busy -= 1
                    self._slots.notify_all()
        self._end(info, event)

    def _take_slot(self, info: JobInfo) -> bool:
        """Wait until a worker slot is free and this job is the oldest waiting; False when
        the job was cancelled while it waited."""
        with self._slots:
            self._waiting.append(info.job_id)
            told = False
            try:
                while True:
                    if info.cancel_requested:
                        return False
                    if self._waiting[0] == info.job_id and self._busy < self.process_slots:
                        self._busy += 1
                        info.state = "running"
                        return True
                    if not told:
                        told = True
                        ahead = self._waiting.index(info.job_id) + self._busy
                        self._post(
                            JobProgress(
                                info.job_id, info.name, 0, 0, f"queued: {ahead} job(s) ahead"
                            )
                        )
                    self._slots.wait(POLL)
            finally:
                self._waiting.remove(info.job_id)
                self._slots.notify_all()

    def _run_process(
        self, info: JobInfo, fn: Callable[..., Any], args: tuple[Any, ...]
    ) -> JobEvent:
        context = multiprocessing.get_context("spawn")  # fork is unsafe beside Qt's threads
        reader, writer = context.Pipe(duplex=False)
        args_reader, args_writer = context.Pipe(duplex=False)
        stop = context.Event()
        process = context.Process(
            target=_process_main,
            args=(args_reader, writer, stop, os.getpid()),
            name=f"artha-job-{info.job_id}",
            daemon=True,  # a worker never outlives a parent that exits normally
        )
        self._post(JobProgress(info.job_id, info.name, 0, 0, "starting a worker"))
        process.start()
        writer.close()  # the worker holds the only write end: EOF once it is gone
        args_reader.close()
        info.pid = process.pid
        log.info("process job %d running in pid %s: %s", info.job_id, process.pid, info.name)
        try:
            try:
                _send_oob(args_writer, (fn, args))
            except (BrokenPipeError, OSError):
                pass  # the worker is gone already: _relay finds out and says so
            finally:
                args_writer.close()
            message = self._relay(info, process, reader, stop)
        finally:
            reader.close()
            _reap(process)
        job_id, name = info.job_id, info.name
        kind, *rest = message or ("gone",)
        if kind == "done":
            if info.cancel_requested:
                return JobCancelled(job_id, name, rest[0])
            return JobFinished(job_id, name, rest[0])
        if kind == "failed":
            log.error("process job %d failed: %s\n%s", job_id, name, rest[1])
            return JobFailed(job_id, name, str(rest[0]))
        if kind == "cancelled" or info.cancel_requested:
            return JobCancelled(job_id, name, None)
        return JobFailed(
            job_id,
            name,
            f"the worker process stopped before it finished ({_exit_text(process.exitcode)}); "
            "nothing was saved - run it again, and if it stops again, look at the log",
        )

    def _relay(
        self,
        info: JobInfo,
        process: multiprocessing.process.BaseProcess,
        reader: Connection,
        stop: multiprocessing.synchronize.Event,
    ) -> tuple[Any, ...] | None:
        """Pass progress on until the worker sends its outcome (returned) or dies (None);
        a cancel sets the worker's Event, and a worker still running CANCEL_GRACE seconds
        later is terminated."""
        cancel_at: float | None = None
        while True:
            if cancel_at is None and info.cancel_requested:
                cancel_at = time.monotonic()
                stop.set()
            if cancel_at is not None and time.monotonic() - cancel_at > CANCEL_GRACE:
                log.warning("process job %d did not stop on cancel: terminated", info.job_id)
                process.terminate()
                return None
            if not reader.poll(POLL):
                continue
            try:
                message: tuple[Any, ...] = _receive_oob(reader)
            except (EOFError, OSError):
                return None  # the worker is gone without an outcome
            if message[0] == "progress":
                _, done, total, text = message
                self._post(JobProgress(info.job_id, info.name, done, total, text))
                continue
            return message

    def _run(self, info: JobInfo, work: Callable[[JobControl], Any], control: JobControl) -> None:
        event: JobEvent
        try:
            result = work(control)
        except JobCancelledError:
            event = JobCancelled(info.job_id, info.name, None)
        except Exception as exc:
            log.exception("job %d failed: %s", info.job_id, info.name)
            event = JobFailed(info.job_id, info.name, str(exc) or type(exc).__name__)
        else:
            if info.cancel_requested:
                event = JobCancelled(info.job_id, info.name, result)
            else:
                event = JobFinished(info.job_id, info.name, result)
        self._end(info, event)

    def _end(self, info: JobInfo, event: JobEvent) -> None:
        """Take the job off the list, log how it ended, post its last event."""
        seconds = time.monotonic() - info.started
        with self._lock:  # off the list before its last event: handlers see it gone
            self._jobs.pop(info.job_id, None)
        log.info(
            "job %d %s after %.1f s: %s",
            info.job_id,
            {JobCancelled: "stopped on a cancel request", JobFailed: "failed"}.get(
                type(event), "finished"
            ),
            seconds,
            info.name,
        )
        try:
            self._post(event)
        except RuntimeError:  # the loop is closed (the app is shutting down): log only
            log.warning("job %d ended after its event loop closed: %s", info.job_id, info.name)

    def cancel(self, job_id: int) -> bool:
        """Ask job `job_id` to stop; False when it is not running or cannot be cancelled."""
        with self._lock:
            info = self._jobs.get(job_id)
        if info is None:
            return False
        if not info.cancellable:
            log.info("job %d cannot be cancelled; it runs to its end: %s", job_id, info.name)
            return False
        if not info.cancel_requested:
            log.info("job %d cancel requested: %s", job_id, info.name)
        info.cancel_flag.set()
        return True

    def cancel_all(self) -> list[JobInfo]:
        """Ask every running job to stop; the jobs that were running."""
        jobs = self.running()
        for info in jobs:
            self.cancel(info.job_id)
        return jobs

    def running(self) -> list[JobInfo]:
        """The jobs not yet ended, oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda i: i.job_id)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every running job has ended (at most `timeout` seconds in all); True if
        none is left. Not for the loop thread while it must stay responsive."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for info in self.running():
            if info.thread is None:
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            info.thread.join(left)
        return not self.running()


# -- the worker process side -----------------------------------------------------------------


def _send_oob(conn: Connection, value: object) -> None:
    """Send `value` pickled with its large buffers (numpy arrays) out of band: the count, each
    buffer as raw bytes, then the pickle. Nothing big is copied into one pickle, so no single
    C call holds the GIL while tens of MB are copied (the GUI thread would wait for it); the
    buffers go by write calls that release it."""
    buffers: list[pickle.PickleBuffer] = []
    payload = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    conn.send_bytes(pickle.dumps(("buffers", len(buffers))))
    for buffer in buffers:
        conn.send_bytes(buffer.raw())
    conn.send_bytes(payload)


def _receive_oob(conn: Connection) -> Any:
    """What `_send_oob` sent, or a plain message (`conn.send`): unpickled a frame at a time."""
    first = _unpickle(conn.recv_bytes())
    if not (isinstance(first, tuple) and len(first) == 2 and first[0] == "buffers"):
        return first
    # writable, as the arrays were where they were made (bytes would make them read-only)
    buffers = [bytearray(conn.recv_bytes()) for _ in range(first[1])]
    return _unpickle(conn.recv_bytes(), buffers)


def _process_main(
    args_conn: Connection,
    conn: Connection,
    stop: CancelFlag,
    parent: int,
) -> None:
    """A process job's worker: read `(fn, args)` from `args_conn`, run `fn(control, *args)`
    and send one outcome through `conn`: ("done", result), ("cancelled",) or ("failed",
    message, traceback); progress goes as ("progress", done, total, text) before it."""
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the parent's to handle

    def report(done: int, total: int, text: str) -> None:
        conn.send(("progress", done, total, text))

    try:
        try:
            fn, args = _receive_oob(args_conn)
            args_conn.close()
        except (EOFError, OSError):
            return  # the parent is gone, or cancelled before the work was handed over
        try:
            result = fn(JobControl(report, stop), *args)
        except JobCancelledError:
            conn.send(("cancelled",))
            return
        except Exception as exc:
            conn.send(("failed", str(exc) or type(exc).__name__, traceback.format_exc()))
            return
        try:  # arrays out of band; the rest framed, so the parent can unpickle slowly
            _send_oob(conn, ("done", result))
        except Exception as exc:
            text = f"the result could not be sent back: {type(exc).__name__}: {exc}"
            conn.send(("failed", text, traceback.format_exc()))
    except (BrokenPipeError, OSError):
        pass  # the parent stopped listening (cancelled, gone): nothing left to tell
    finally:
        conn.close()


def _exit_with_parent(parent: int) -> None:
    """Worker side: exit as soon as the parent process is gone (killed, crashed), instead
    of computing on for nobody. Waits on the parent's sentinel where multiprocessing gives
    one, else checks the parent's pid twice a second; on a daemon thread."""
    handle = multiprocessing.parent_process()
    sentinel = handle.sentinel if handle is not None else None

    def watch() -> None:
        if sentinel is not None:
            multiprocessing.connection.wait([sentinel])
        else:
            while os.getppid() == parent:
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="artha-parent-watch", daemon=True).start()


class _YieldingReader:
    """A file over pickled bytes for `pickle.Unpickler`, read in Python.

    Unpickling a big report (tens of thousands of trades) is one C call that holds the GIL
    for hundreds of milliseconds, freezing every other thread's Python, the GUI's included.
    Protocol 4+ pickles come in frames of ~64 KiB, which the unpickler fetches with `read`;
    this `read` is Python code, so between frames the interpreter may hand the GIL to a
    waiting thread: the GUI waits at most a switch interval (5 ms) and one frame."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        start = self._at
        end = len(self._view) if size < 0 else min(start + size, len(self._view))
        self._at = end
        return self._view[start:end].tobytes()

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._view) - self._at)
        target[:size] = self._view[self._at : self._at + size]
        self._at += size
        return size

    def readline(self) -> bytes:
        rest = self._view[self._at :].tobytes()
        line, newline, _ = rest.partition(b"\n")
        self._at += len(line) + len(newline)
        return line + newline


def _unpickle(data: bytes, buffers: Sequence[bytearray] = ()) -> Any:
    """pickle.loads, yielding the GIL between frames (see _YieldingReader).

    A report brings ~80,000 GC-tracked records (1M bars, 19k trades). Left to the cyclic
    collector they set off full collections over the whole process's heap, each holding the
    GIL 100-250 ms (measured: the GUI froze that long). So the collector is off while they
    are built, and afterwards what is alive is moved to the permanent generation
    (`gc.freeze`): results are long-lived, acyclic data that reference counting frees, and
    later collections no longer rescan them. The cost: cyclic garbage among objects alive
    now is not collected afterwards (a few kB per closed panel at worst). Frozen also when
    the collector was off already: the desktop turns automatic collection off and collects
    on the GUI thread by a timer (app.gui.collector), whose generation-0 pass would otherwise
    walk the whole fresh report at once (measured: 88 ms with the GUI loop stopped)."""
    with collector_paused():  # the GUI's own collector waits too (it yields between frames)
        try:
            return pickle.Unpickler(_YieldingReader(data), buffers=buffers).load()
        finally:
            freeze_long_lived()


def _reap(process: multiprocessing.process.BaseProcess) -> None:
    """Wait for a worker that has said its last word; stop one that lingers."""
    process.join(2.0)
    if process.is_alive():
        process.terminate()
        process.join(1.0)
    if process.is_alive():
        process.kill()
        process.join(1.0)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
