"""A backtest as a job: run in a real spawned worker process (as the GUI will), the report
that comes back equals the one run in this process, for a shipped strategy and a user's file.
Also: the report pickles whole, a user file's module name is the same in every process, and a
job names what is wrong with it."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.backtest import (
    BacktestConfig,
    BacktestInputError,
    BacktestJob,
    BacktestReport,
    run_backtest,
    run_job,
)
from engine.data.bar_series import BarSeries
from engine.strategy.loader import StrategyLoadError, StrategyRef, user_module_name
from strategies.reference.sma_crossover import SmaCrossover
from tests.engine.synthetic import make_bars, series

BARS = 3000  # eight sessions of one-minute bars on the NSE clock
SMA = StrategyRef.of_module("strategies.reference.sma_crossover", "SmaCrossover")

USER_STRATEGY = '''\
"""Trades both sides intraday with bracket exits, and now and then asks for far too much."""

from strategies.sdk import BarView, Param, Strategy, crossed_above, crossed_below, ema


class EmaBracket(Strategy):
    name = "ema_bracket"

    span = Param(20, min=2, help="bars in the slow EMA")
    quantity = Param(40, min=1)

    def init(self) -> None:
        fast = self.I(ema, self.data.close, 5, name="ema5")
        slow = self.I(ema, self.data.close, self.span, name="ema_slow")
        self.on(crossed_above(fast, slow), self.go_long)
        self.on(crossed_below(fast, slow), self.go_short)

    def go_long(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.buy(self.quantity, product="MIS", stop_loss_points=2, target_points=4)

    def go_short(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.sell(self.quantity, product="MIS", stop_loss_points=2, target_points=4)
        if bar.index % 5 == 0:
            self.buy(10_000_000, product="CNC")  # more than the capital: rejected
'''


def two_instruments() -> list[BarSeries]:
    return [
        series(make_bars(BARS, seed=21), "INFY"),
        series(make_bars(BARS, seed=22), "TCS"),
    ]


def user_file(folder: Path) -> Path:
    path = folder / "ema_bracket.py"
    path.write_text(USER_STRATEGY)
    return path


@pytest.fixture(scope="module")
def worker() -> Iterator[Pool]:
    """A fresh interpreter started with "spawn", as the GUI's job runner starts them: it
    shares nothing with this process but what is pickled to it."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        yield pool


def comparable(report: BacktestReport) -> dict[str, Any]:
    """Everything a reader sees, in a form == compares: trades, the order log, the per-bar
    equity curve, metrics and the whole JSON but its timing."""
    data = report.as_json()
    del data["run_seconds"]
    return {
        "json": json.dumps(data, sort_keys=True),
        "trades": report.trades,
        "orders": report.order_log,
        "curve": {
            name: getattr(report.curve, name).tolist()
            for name in ("timestamps", "equity", "gross_equity", "exposure")
        },
        "metrics": report.metrics.as_json(),
    }


@pytest.mark.parametrize("which", ["reference", "user file"])
def test_a_job_run_in_a_spawned_worker_gives_the_report_run_here(which, tmp_path, worker):
    data = two_instruments()
    if which == "reference":
        job = BacktestJob(SMA, ("INFY", "NSE:TCS"), {"fast": 8, "slow": 21, "quantity": 30})
    else:
        path = user_file(tmp_path)
        job = BacktestJob(StrategyRef.of_file(path), ("INFY", "TCS"), {"span": 15})
    here = run_job(job, data)
    there: BacktestReport = worker.apply(run_job, (job, data))
    assert len(here.trades) > 20 and len(here.order_log) > len(here.trades)
    if which == "user file":
        assert here.rejected_orders > 20 and here.rejections  # counted, a sample kept
        assert {t.product for t in here.trades} == {"MIS"}
    assert comparable(there) == comparable(here)
    assert len(there.curve.equity) == len(np.unique(np.concatenate([s.ts for s in data])))


def test_run_job_is_run_backtest_with_the_strategy_it_names():
    data = two_instruments()
    params = {"fast": 8, "slow": 21}
    job = BacktestJob(SMA, ("INFY", "TCS"), params, BacktestConfig(costs="none"))
    direct = run_backtest(SmaCrossover, params, data, BacktestConfig(costs="none"))
    assert comparable(run_job(job, data)) == comparable(direct)


def test_a_report_pickles_whole_with_its_trades_and_orders_built(tmp_path):
    job = BacktestJob(StrategyRef.of_file(user_file(tmp_path)), ("INFY", "TCS"))
    report = run_job(job, two_instruments())
    copy = pickle.loads(pickle.dumps(report))
    assert comparable(copy) == comparable(report)
    assert copy.rejected_orders == report.rejected_orders > len(copy.rejections)
    # a result nobody has read yet arrives with every part built by the process that ran it
    fresh = run_backtest(SmaCrossover, {}, two_instruments())
    arrived = pickle.loads(pickle.dumps(fresh))
    assert {"trades", "order_log", "by_symbol", "metrics", "weekly"} <= vars(arrived).keys()
    assert comparable(arrived) == comparable(fresh)


def test_a_user_files_module_name_is_the_same_in_a_fresh_interpreter(tmp_path):
    path = user_file(tmp_path)
    code = (
        "import sys; from pathlib import Path; "
        "from engine.strategy.loader import StrategyRef, user_module_name; "
        "cls = StrategyRef.of_file(Path(sys.argv[1])).load(); "
        "print(cls.__module__, user_module_name(Path(sys.argv[1])))"
    )
    repo = Path(__file__).resolve().parents[2]
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            cwd=repo,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.split()
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] == [user_module_name(path)] * 2


def test_loading_a_file_again_runs_it_again_only_when_it_changed(tmp_path):
    path = user_file(tmp_path)
    first = StrategyRef.of_file(path).load()
    assert StrategyRef.of_file(path, "EmaBracket").load() is first
    path.write_text(USER_STRATEGY.replace("EmaBracket", "EmaBracket2"))
    assert StrategyRef.of_file(path).load().__name__ == "EmaBracket2"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (StrategyRef.of_module("strategies.reference.nowhere", "X"), "cannot import"),
        (StrategyRef.of_module("strategies.reference.sma_crossover", "Nope"), "'Nope'"),
        (StrategyRef.of_file("gone.py"), "gone.py does not exist"),
    ],
)
def test_a_reference_that_finds_nothing_says_what(ref, message):
    with pytest.raises(StrategyLoadError, match=message):
        ref.load()


def test_a_job_names_what_is_wrong_with_it():
    with pytest.raises(StrategyLoadError, match="exactly one module or file"):
        StrategyRef(module="m", path=Path("m.py"), class_name="C")
    with pytest.raises(BacktestInputError, match="at least one symbol"):
        BacktestJob(SMA, ())
    with pytest.raises(BacktestInputError, match="timeframe '2m'"):
        BacktestJob(SMA, ("INFY",), timeframe="2m")
    with pytest.raises(BacktestInputError, match="after its end"):
        BacktestJob(SMA, ("INFY",), start=date(2026, 2, 1), end=date(2026, 1, 1))
    with pytest.raises(BacktestInputError, match="for INFY, WIPRO but the bars given are of"):
        run_job(BacktestJob(SMA, ("INFY", "WIPRO")), two_instruments())
