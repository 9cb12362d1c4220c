"""Process jobs on the one job runner, with real spawned workers: a backtest's report comes
back equal to the same run in this process, with the engine's bars done of bars total as
progress; a strategy's exception, a bad parameter, a killed worker and an unpicklable result
end in JobFailed saying what; a cancel stops a run within a second (cooperatively, or by
terminating a worker stuck in the strategy's own loop); runs beyond the worker limit wait
their turn, visibly queued; a worker exits when its parent dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.backtest import BacktestConfig, BacktestJob, run_backtest
from engine.backtest.job import run_job_controlled
from engine.bus import EventBus
from engine.events import JobCancelled, JobEvent, JobFailed, JobFinished, JobProgress
from engine.jobs import JobControl, JobRunner
from engine.strategy.loader import StrategyRef
from strategies.reference.sma_crossover import SmaCrossover
from tests.engine.synthetic import make_bars, series

ROOT = Path(__file__).resolve().parents[2]
SMA = StrategyRef.of_module("strategies.reference.sma_crossover", "SmaCrossover")
NO_COSTS = BacktestConfig(costs="none")
ENDED = (JobFinished, JobFailed, JobCancelled)

RAISES = """\
from strategies.sdk import BarView, Strategy


class Raises(Strategy):
    name = "raises"

    def on_bar(self, bar: BarView) -> None:
        if bar.index == 700:
            raise ZeroDivisionError("the author's bug")
"""

SLOW = """\
import time

from strategies.sdk import BarView, Strategy


class Slow(Strategy):
    name = "slow"
    stuck = False

    def on_bar(self, bar: BarView) -> None:
        while type(self).stuck:  # never returns: only terminate() stops it
            pass
        time.sleep(0.0005)
        if bar.index == 3000:
            type(self).stuck = {stuck}
"""


# -- worker functions: top level, so a spawned worker imports them by name ------------------


def sleeper(control: JobControl, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if control.cancelled():
            return "stopped"
        time.sleep(0.01)
    return f"slept in {os.getpid()}"


def unpicklable(control: JobControl) -> Any:
    return lambda: None


def doubled(control: JobControl, data: dict[str, Any]) -> dict[str, Any]:
    """Arrays in, arrays out: both ways they cross out of band (engine.jobs._send_oob)."""
    arrays = data["arrays"]
    return {
        "arrays": [a * 2 for a in arrays],
        "writable": [a.flags.writeable for a in arrays],
        "strided": data["strided"][::2].copy(),
        "text": data["text"].upper(),
    }


def pid_then_sleep(control: JobControl, seconds: float) -> None:
    control.progress(os.getpid(), 0, "pid")
    time.sleep(seconds)


# -- helpers ----------------------------------------------------------------------------------


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.events: list[JobEvent] = []
        bus.subscribe(JobEvent, self.events.append)

    def of(self, job_id: int) -> list[JobEvent]:
        return [e for e in self.events if e.job_id == job_id]

    def end(self, job_id: int) -> JobEvent | None:
        return next((e for e in self.of(job_id) if isinstance(e, ENDED)), None)

    async def until(self, test: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not test():
            if time.monotonic() > deadline:
                raise TimeoutError(f"still waiting; events: {self.events}")
            await asyncio.sleep(0.01)

    async def ended(self, job_id: int, timeout: float = 60) -> JobEvent:
        await self.until(lambda: self.end(job_id) is not None, timeout)
        event = self.end(job_id)
        assert event is not None
        return event

    def progress(self, job_id: int) -> list[JobProgress]:
        return [e for e in self.of(job_id) if isinstance(e, JobProgress)]


def run(coro_fn: Any) -> None:
    asyncio.run(coro_fn())


@pytest.fixture(scope="module")
def bars():
    return [series(make_bars(40_000, seed=11), "INFY")]


# -- tests ------------------------------------------------------------------------------------


def test_a_backtest_in_a_worker_trades_as_in_process_and_reports_bars_done(bars):
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus)
        job = BacktestJob(SMA, ("INFY",), {"fast": 8, "slow": 21}, NO_COSTS)
        job_id = runner.submit_process(run_job_controlled, (job, bars), "sma on INFY")
        assert runner.running()[0].kind == "process"
        end = await seen.ended(job_id)
        assert isinstance(end, JobFinished), end
        here = run_backtest(SmaCrossover, {"fast": 8, "slow": 21}, bars, NO_COSTS)
        assert len(here.trades) > 50
        assert [t.as_json() for t in end.result.trades] == [t.as_json() for t in here.trades]
        assert end.result.as_json()["metrics"] == here.as_json()["metrics"]
        counted = [e for e in seen.progress(job_id) if e.total]
        assert counted and {e.total for e in counted} == {40_000}
        assert counted[-1].done == 40_000
        assert [e.done for e in counted] == sorted(e.done for e in counted)
        assert runner.running() == [] and runner.wait(5)

    run(main)


def test_a_strategy_raising_fails_the_job_naming_strategy_file_and_line(bars, tmp_path):
    path = tmp_path / "raises.py"
    path.write_text(RAISES)

    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus)
        job = BacktestJob(StrategyRef.of_file(path), ("INFY",), config=NO_COSTS)
        end = await seen.ended(runner.submit_process(run_job_controlled, (job, bars), "raises"))
        assert isinstance(end, JobFailed)
        assert "strategy raises raised ZeroDivisionError: the author's bug" in end.message
        assert f"{path.resolve()}:9" in end.message and "bar 700" in end.message

    run(main)


def test_a_bad_parameter_fails_the_job_naming_the_parameter(bars):
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus)
        job = BacktestJob(SMA, ("INFY",), {"fast": "ten"}, NO_COSTS)
        end = await seen.ended(runner.submit_process(run_job_controlled, (job, bars), "bad"))
        assert isinstance(end, JobFailed)
        assert end.message == "parameter fast: 'ten' is not a valid int"

    run(main)


@pytest.mark.parametrize("stuck", [False, True], ids=["cooperative", "stuck-terminated"])
def test_cancel_stops_a_running_backtest_within_a_second(bars, tmp_path, stuck):
    path = tmp_path / f"slow_{stuck}.py"
    path.write_text(SLOW.format(stuck=stuck))

    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus)
        job = BacktestJob(StrategyRef.of_file(path), ("INFY",), config=NO_COSTS)
        job_id = runner.submit_process(run_job_controlled, (job, bars), "slow")
        # running: the engine has reported bars done; the stuck one spins from bar 3000 on
        await seen.until(lambda: any(e.done >= 2048 for e in seen.progress(job_id)))
        if stuck:
            await asyncio.sleep(1.0)
        pid = runner.running()[0].pid
        asked = time.monotonic()
        assert runner.cancel(job_id)
        end = await seen.ended(job_id, timeout=5)
        took = time.monotonic() - asked
        assert isinstance(end, JobCancelled) and end.result is None
        assert took < (1.5 if stuck else 1.0), took
        assert pid is not None and not _alive(pid)

    run(main)


def test_a_killed_worker_fails_the_job_saying_so(bars):
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus)
        job_id = runner.submit_process(sleeper, (30.0,), "sleeps")
        await seen.until(lambda: bool(runner.running() and runner.running()[0].pid))
        await asyncio.sleep(0.5)
        pid = runner.running()[0].pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        end = await seen.ended(job_id, timeout=10)
        assert isinstance(end, JobFailed)
        assert "worker process stopped before it finished (killed by SIGKILL)" in end.message

    run(main)


def test_a_result_that_cannot_cross_fails_the_job():
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus)
        end = await seen.ended(runner.submit_process(unpicklable, (), "lambda"))
        assert isinstance(end, JobFailed)
        assert end.message.startswith("the result could not be sent back")

    run(main)


def test_large_arrays_cross_both_ways_exactly_and_stay_writable():
    """Bars go to a worker and a curve comes back as raw buffers beside a small pickle, not
    copied inside one pickle (a C call that would hold the GIL while the GUI waits)."""
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=2_000_000), np.arange(3_000_000, dtype=np.int64), np.zeros(0)]
    strided = np.arange(100, dtype=np.int32)[::3]  # not contiguous: goes in band

    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus)
        data = {"arrays": arrays, "strided": strided, "text": "nifty"}
        end = await seen.ended(runner.submit_process(doubled, (data,), "arrays"))
        assert isinstance(end, JobFinished), end
        out = end.result
        assert out["writable"] == [True, True, True]  # in the worker, as made here
        for sent, back in zip(arrays, out["arrays"], strict=True):
            assert back.dtype == sent.dtype and np.array_equal(back, sent * 2)
            assert back.flags.writeable
        assert np.array_equal(out["strided"], strided[::2]) and out["text"] == "NIFTY"

    run(main)


def test_runs_beyond_the_limit_queue_in_order_and_a_queued_one_cancels_at_once():
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        seen = Recorder(bus)
        runner = JobRunner(bus, process_slots=1)
        first = runner.submit_process(sleeper, (1.0,), "first")
        second = runner.submit_process(sleeper, (0.1,), "second")
        third = runner.submit_process(sleeper, (0.1,), "third")
        await seen.until(lambda: any("queued" in e.text for e in seen.progress(third)))
        states = {info.job_id: info.state for info in runner.running()}
        assert states[second] == "queued" and states[third] == "queued"
        assert any("queued: 1 job(s) ahead" in e.text for e in seen.progress(second))
        assert runner.cancel(third)
        end = await seen.ended(third, timeout=2)
        assert isinstance(end, JobCancelled)
        assert self_ended_first(seen, first) and seen.end(second) is None
        first_end = await seen.ended(first)
        second_end = await seen.ended(second)
        assert isinstance(first_end, JobFinished) and isinstance(second_end, JobFinished)
        assert seen.events.index(first_end) < seen.events.index(second_end)

    run(main)


def self_ended_first(seen: Recorder, first: int) -> bool:
    """`first` was running (not queued) while the others waited."""
    return any(e.text == "starting a worker" for e in seen.progress(first))


PARENT = """
import asyncio, sys, time
sys.path.insert(0, {root!r})
from engine.bus import EventBus
from engine.jobs import JobRunner
from engine.events import JobProgress
from tests.engine.test_process_jobs import pid_then_sleep

async def main():
    bus = EventBus(asyncio.get_running_loop())
    def show(event):
        if event.text == "pid":
            print(event.done, flush=True)
    bus.subscribe(JobProgress, show)
    JobRunner(bus).submit_process(pid_then_sleep, (60.0,), "orphan")
    await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_worker_exits_when_its_parent_dies(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT.format(root=str(ROOT)))
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _alive(worker)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 3
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
