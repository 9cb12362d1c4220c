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

Process jobs (backtests, optimisations) will fit the same API: `JobControl` holds only a
progress callback and a cancel flag, which a process job gets as a multiprocessing Event and a
queue read on the runner's side; the job's arguments and result must then be picklable.
The runner never touches the store: a job is handed whatever it needs by whoever submits it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.bus import EventBus
from engine.events import (
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    JobProgress,
    JobStarted,
)

log = logging.getLogger("artha.jobs")

PROGRESS_INTERVAL = 0.05  # seconds: at most ~20 progress events a second per job reach the bus


class JobCancelledError(Exception):
    """Raised by a job that stops on a cancel with nothing to return."""


class JobControl:
    """What a running job holds: report progress, ask whether it was cancelled."""

    def __init__(
        self,
        report: Callable[[int, int, str], None],
        cancel_flag: threading.Event,
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
    cancel_flag: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_flag.is_set()


class JobRunner:
    """Runs jobs on worker threads; events go to `bus` on its loop thread."""

    def __init__(self, bus: EventBus, post: Callable[[JobEvent], None] | None = None) -> None:
        self._bus = bus
        self._post = post or bus.publish_threadsafe
        self._jobs: dict[int, JobInfo] = {}
        self._lock = threading.Lock()
        self._next_id = 1

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
