"""A backtest as a job: plain data in, a report out, in whichever process runs it.

The GUI runs backtests in worker processes and the CLI runs them in its own; both describe
the run as a `BacktestJob` (what to load, with which parameters, on which instruments and
span, under which config) and call `run_job(job, data)`. The bars travel as arrays
(`BarSeries`), chosen beforehand by the process that owns the store
(`engine.data.stored_bars.choose_bars`) or read from files: a worker never opens the DuckDB
file, which allows one writing process.

`BacktestReport` is `BacktestResult` itself rather than a slimmer, materialised twin: the
result already is dataclasses, Decimals and numpy arrays (trades, the order log, the per-bar
equity curve, metrics, the weekly verdict, every rejected order counted with the first
messages kept), and pickling it builds its lazy parts first, so what crosses to the parent is
complete and holds no live run objects. A twin would repeat `as_json`, the per-symbol sums
and the metrics wiring, and the report renderers would read two types; one class keeps each
rule in one place, and a run in this process (the CLI) still builds only what it shows.
`pickle.loads(pickle.dumps(report)).as_json()` equals `report.as_json()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeAlias

from engine.backtest.config import BacktestConfig, BacktestInputError
from engine.backtest.result import BacktestResult
from engine.backtest.runner import Cancelled, Progress, run_backtest
from engine.data.bar_series import BarSeries
from engine.domain.instrument import Instrument
from engine.jobs import JobCancelledError, JobControl
from engine.strategy.loader import StrategyRef
from engine.timeframes import TIMEFRAME_NAMES

BacktestReport: TypeAlias = BacktestResult
"""What `run_job` returns; pickled, it carries every part built."""


@dataclass(frozen=True)
class BacktestJob:
    """One backtest as plain, picklable data.

    `symbols` are as the trader named them (`INFY` or `NSE:INFY`); `instruments` gives the
    instrument data of those that have it (keyed by the bars' symbol; the rest trade as an
    equity with tick 0.05 and lot 1). `timeframe` None means the bars as they come (the
    finest stored); `start`/`end` are whole IST days, None for open-ended.
    """

    strategy: StrategyRef
    symbols: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    config: BacktestConfig = field(default_factory=BacktestConfig)
    timeframe: str | None = None
    start: date | None = None
    end: date | None = None
    instruments: Mapping[str, Instrument] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", tuple(self.symbols))
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "instruments", dict(self.instruments))
        if not self.symbols:
            raise BacktestInputError("a backtest job needs at least one symbol")
        if self.timeframe is not None and self.timeframe not in TIMEFRAME_NAMES:
            raise BacktestInputError(
                f"timeframe {self.timeframe!r} is not one of {', '.join(TIMEFRAME_NAMES)}"
            )
        if self.start and self.end and self.start > self.end:
            raise BacktestInputError(f"the span starts {self.start}, after its end {self.end}")


def run_job(
    job: BacktestJob,
    data: Sequence[BarSeries],
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> BacktestReport:
    """Load the job's strategy in this process and run it over `data`, one series per job
    symbol. Returned from a worker, the report is pickled: built in full there.

    `progress(bars_done, bars_total)` and `cancelled()` are run_backtest's: a cancel raises
    engine.jobs.JobCancelledError."""
    if cancelled is not None and cancelled():
        raise JobCancelledError("the backtest was cancelled before it started")
    strategy = job.strategy.load()
    _check_symbols(job, data)
    return run_backtest(
        strategy,
        job.params,
        data,
        job.config,
        job.instruments,
        progress=progress,
        cancelled=cancelled,
    )


def run_job_controlled(
    control: JobControl, job: BacktestJob, data: Sequence[BarSeries]
) -> BacktestReport:
    """`run_job` in the job runner's shape (`JobRunner.submit_process(run_job_controlled,
    (job, data), ...)`): bars done of bars total go to the control, its cancel stops the run.
    A top-level function, so a spawned worker finds it by name."""

    def progress(done: int, total: int) -> None:
        control.progress(done, total, f"{done:,} of {total:,} bars")

    return run_job(job, data, progress=progress, cancelled=control.cancelled)


def _check_symbols(job: BacktestJob, data: Sequence[BarSeries]) -> None:
    """The bars are those of the job's symbols (any case, with or without EXCHANGE:)."""
    named = sorted(symbol.rpartition(":")[2].strip().upper() for symbol in job.symbols)
    given = sorted(series.symbol.upper() for series in data)
    if named != given:
        raise BacktestInputError(
            f"the job is for {', '.join(job.symbols)} but the bars given are of "
            f"{', '.join(series.symbol for series in data) or 'nothing'}"
        )
