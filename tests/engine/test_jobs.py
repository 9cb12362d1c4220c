"""The job runner on a plain asyncio loop: progress, result, error and cancel as bus events,
delivered on the loop thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from engine.bus import EventBus
from engine.events import (
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    JobProgress,
    JobStarted,
)
from engine.jobs import JobCancelledError, JobControl, JobRunner


def run(coro_fn):
    return asyncio.run(coro_fn())


async def _until_ended(events: list[JobEvent], job_id: int, timeout: float = 10) -> None:
    async def ended() -> None:
        while not any(
            isinstance(e, JobFinished | JobFailed | JobCancelled) and e.job_id == job_id
            for e in events
        ):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(ended(), timeout)


def _recording(bus: EventBus) -> tuple[list[JobEvent], list[bool]]:
    events: list[JobEvent] = []
    on_loop_thread: list[bool] = []
    main = threading.get_ident()

    def record(event: JobEvent) -> None:
        events.append(event)
        on_loop_thread.append(threading.get_ident() == main)

    bus.subscribe(JobEvent, record)
    return events, on_loop_thread


def test_a_job_reports_progress_and_its_result_on_the_loop_thread():
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        events, on_loop = _recording(bus)
        runner = JobRunner(bus)
        worker: list[str] = []

        def work(control: JobControl) -> int:
            worker.append(threading.current_thread().name)
            for i in range(3):
                control.progress(i + 1, 3, f"step {i + 1}")
            return 42

        job = runner.submit(work, "counting")
        await _until_ended(events, job)
        assert isinstance(events[0], JobStarted) and events[0].name == "counting"
        assert events[-1] == JobFinished(job, "counting", 42)
        progress = [e for e in events if isinstance(e, JobProgress)]
        assert progress[-1] == JobProgress(job, "counting", 3, 3, "step 3")  # the last always
        assert all(on_loop) and worker[0].startswith("artha-job-")
        assert runner.running() == [] and runner.wait(1)
        assert events[0].topic == f"job:{job}"

    run(main)


def test_a_failing_job_ends_in_job_failed_with_its_message():
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        events, _ = _recording(bus)
        runner = JobRunner(bus)

        def work(control: JobControl) -> None:
            raise ValueError("bad.csv:3: price 'abc' is not a number")

        job = runner.submit(work, "importing")
        await _until_ended(events, job)
        assert events[-1] == JobFailed(job, "importing", "bad.csv:3: price 'abc' is not a number")

    run(main)


def test_cancel_stops_the_job_where_it_checks_and_keeps_what_it_returned():
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        events, _ = _recording(bus)
        runner = JobRunner(bus)
        started, release = threading.Event(), threading.Event()

        def work(control: JobControl) -> list[int]:
            done = []
            for i in range(100):
                if control.cancelled():
                    break
                done.append(i)
                if i == 4:
                    started.set()
                    release.wait(5)
            return done

        job = runner.submit(work, "steps")
        await asyncio.to_thread(started.wait, 5)
        assert [i.job_id for i in runner.running()] == [job]
        assert runner.cancel(job) and runner.running()[0].cancel_requested
        release.set()
        await _until_ended(events, job)
        assert events[-1] == JobCancelled(job, "steps", [0, 1, 2, 3, 4])
        assert not runner.cancel(job)  # over: nothing to cancel

    run(main)


def test_a_job_that_cannot_be_cancelled_runs_to_its_end_and_wait_waits_for_it():
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        events, _ = _recording(bus)
        runner = JobRunner(bus)
        release = threading.Event()

        def work(control: JobControl) -> str:
            release.wait(5)
            return "demo created"

        job = runner.submit(work, "demo", cancellable=False)
        assert not runner.cancel(job)
        assert [i.name for i in runner.cancel_all()] == ["demo"]
        assert not runner.wait(0.05)  # still running
        release.set()
        assert await asyncio.to_thread(runner.wait, 5)
        await _until_ended(events, job)
        assert events[-1] == JobFinished(job, "demo", "demo created")

    run(main)


def test_a_job_raising_job_cancelled_error_ends_cancelled_without_a_result():
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        events, _ = _recording(bus)
        runner = JobRunner(bus)

        def work(control: JobControl) -> None:
            raise JobCancelledError

        job = runner.submit(work, "nothing")
        await _until_ended(events, job)
        assert events[-1] == JobCancelled(job, "nothing", None)

    run(main)


@pytest.mark.parametrize("interval", [10.0])
def test_progress_is_throttled_but_the_last_step_goes_through(interval):
    seen: list[tuple[int, int, str]] = []
    control = JobControl(lambda d, t, s: seen.append((d, t, s)), threading.Event(), interval)
    for i in range(1, 101):
        control.progress(i, 100)
    assert seen == [(1, 100, ""), (100, 100, "")]
