"""Progress and cancel from the engine: a run reports bars done of bars total as it goes
(ending at total of total), trades exactly as an unwatched run, and a cancel stops it at the
next check with JobCancelledError, before init() when asked before the run."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from engine.backtest import BacktestJob, run_backtest, run_job
from engine.backtest.runner import CHECK_EVERY, CHECK_SECONDS, next_check_interval
from engine.jobs import JobCancelledError
from engine.strategy.loader import StrategyRef
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import BarView, Strategy
from tests.engine.synthetic import NO_COSTS, make_bars, series

BARS = 60_000


class EveryBar(Strategy):
    """Runs Python on every bar: the loop steps are the bars."""

    name = "every_bar"
    seen = 0

    def on_bar(self, bar: BarView) -> None:
        EveryBar.seen += 1
        if self.position.is_flat and bar.index % 500 == 0:
            self.buy(1)
        elif self.position.is_long and bar.index % 500 == 250:
            self.close_position()


@pytest.fixture(scope="module")
def bars():
    return [series(make_bars(BARS, seed=5), "INFY")]


def test_progress_counts_bars_up_to_the_total_and_trades_are_unchanged(bars):
    seen: list[tuple[int, int]] = []
    watched = run_backtest(
        SmaCrossover, None, bars, NO_COSTS, progress=lambda d, t: seen.append((d, t))
    )
    plain = run_backtest(SmaCrossover, None, bars, NO_COSTS)
    assert [t.as_json() for t in watched.trades] == [t.as_json() for t in plain.trades]
    assert len(plain.trades) > 100
    assert {total for _, total in seen} == {BARS}
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[0] == 0 and done[-1] == BARS
    assert len(seen) > 3  # it moved in between, not only at the ends


def test_every_bar_strategy_reports_every_few_thousand_bars(bars):
    seen: list[int] = []
    run_backtest(EveryBar, None, bars, NO_COSTS, progress=lambda d, t: seen.append(d))
    steps = [b - a for a, b in pairwise(seen[2:-1])]
    assert steps and all(0 < s <= CHECK_EVERY for s in steps)


class SlowBar(Strategy):
    """Spends ~2 ms a bar: a thousand calls between checks would make a cancel wait 2 s."""

    name = "slow_bar"

    def on_bar(self, bar: BarView) -> None:
        time.sleep(0.002)


def test_a_slow_strategy_is_checked_every_few_hundredths_of_a_second(bars):
    seen: list[tuple[int, float]] = []
    short = [series(make_bars(600, seed=5), "INFY")]
    run_backtest(
        SlowBar, None, short, NO_COSTS, progress=lambda d, t: seen.append((d, time.monotonic()))
    )
    paced = seen[3:-1]  # after the start-up checks and the first paced one
    steps = [b[0] - a[0] for a, b in pairwise(paced)]
    gaps = [b[1] - a[1] for a, b in pairwise(paced)]
    assert len(steps) > 10
    assert max(steps) <= CHECK_SECONDS / 0.002 + 1  # ~25 bars, not CHECK_EVERY
    assert max(gaps) < 4 * CHECK_SECONDS, gaps


@pytest.mark.parametrize(
    ("steps", "seconds", "expected"),
    [
        (1024, 0.002, CHECK_EVERY),  # fast calls: the most steps, never more
        (16, 0.0, CHECK_EVERY),  # the clock did not move
        (100, 0.1, 50),  # 1 ms a call: 50 ms worth
        (10, 5.0, 1),  # half a second a call: check after every call
    ],
)
def test_next_check_interval_fits_the_pace_of_the_calls(steps, seconds, expected):
    assert next_check_interval(steps, seconds) == expected


def test_a_cancel_mid_run_raises_job_cancelled_at_the_next_check(bars):
    EveryBar.seen = 0
    state = {"stop": False}

    def progress(done: int, total: int) -> None:
        if done > BARS // 3:
            state["stop"] = True

    with pytest.raises(JobCancelledError):
        run_backtest(
            EveryBar, None, bars, NO_COSTS, progress=progress, cancelled=lambda: state["stop"]
        )
    assert BARS // 3 < EveryBar.seen < BARS // 3 + 2 * CHECK_EVERY  # stopped soon after


def test_a_cancel_before_the_run_loads_nothing(bars, tmp_path):
    marker = tmp_path / "imported"
    path = tmp_path / "noisy.py"
    path.write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('x')\n"
        "from strategies.sdk import Strategy\n"
        "class Noisy(Strategy):\n    pass\n"
    )
    job = BacktestJob(StrategyRef.of_file(path), ("INFY",))
    with pytest.raises(JobCancelledError):
        run_job(job, bars, cancelled=lambda: True)
    assert not marker.exists()
