"""Run history saves: the time of each save as runs accumulate, and how long each holds the GIL.

One backtest of sma_crossover on --bars one-minute bars (no costs) is saved --saves times
into a fresh store the way the station saves a wizard run (`run_history.spool` in the
worker, `insert_prepared` in the app; `--in-memory` skips the spool, as `artha backtest`
does). A thread ticking every millisecond runs beside each save: its longest gap is how long
the save held the GIL, which the GUI thread needs for every paint. Printed: each save's
time, each longest gap, the store's size after the last, and the time to reopen a run and
its curve.

    .venv/bin/python bench/history_save.py [--bars 1000000] [--saves 12] [--in-memory]

There is no peer: no other station keeps a run history in a store.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from synthetic_bars import make_bars

from engine.backtest import BacktestConfig, BacktestJob, run_job
from engine.data import BarSeries
from engine.data import run_history as rh
from engine.data.store import MarketStore
from engine.strategy.loader import StrategyRef


class GilProbe:
    """A thread that sleeps 1 ms at a time; its longest gap while a save runs."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        last = time.perf_counter()
        while not self._stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    def __enter__(self) -> GilProbe:
        self._thread.start()
        time.sleep(0.03)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--saves", type=int, default=12)
    parser.add_argument("--in-memory", action="store_true", help="no spooled report file")
    opts = parser.parse_args()

    arrays = make_bars(opts.bars)
    fields = ("open", "high", "low", "close", "volume")
    series = BarSeries.from_arrays(
        symbol="SYNA", ts=arrays["ts"], **{f: arrays[f] for f in fields}, prices_in_paise=True
    )
    sma = StrategyRef.of_module("strategies.reference.sma_crossover", "SmaCrossover")
    job = BacktestJob(sma, ("SYNA",), {}, BacktestConfig(costs="none"), "1m")
    report = run_job(job, [series])
    prepared = rh.prepare_record(job, report)
    size_mb = len(prepared.report) / 1e6 if isinstance(prepared.report, str) else 0.0
    print(f"{opts.bars:,} bars, {len(report.trades):,} trades, a {size_mb:.1f} MB report")

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        times, gaps = [], []
        with MarketStore.open(work / "ws.duckdb") as store:
            for _ in range(opts.saves):
                record = prepared if opts.in_memory else rh.spool(prepared, work)
                with GilProbe() as probe:
                    started = time.perf_counter()
                    run_id = rh.insert_prepared(store, record, report.curve)
                    times.append((time.perf_counter() - started) * 1000)
                gaps.append(max(probe.gaps) * 1000)
            started = time.perf_counter()
            rh.load_run(store, run_id)
            reopen = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            rh.load_curve(store, run_id)
            curve = (time.perf_counter() - started) * 1000
        size = (work / "ws.duckdb").stat().st_size / 1e6
    print("save (ms):            ", ", ".join(f"{t:.0f}" for t in times))
    print("longest tick gap (ms):", ", ".join(f"{g:.1f}" for g in gaps))
    print(f"store after {opts.saves} saves: {size:.0f} MB")
    print(f"reopen the last run: {reopen:.0f} ms; its curve alone: {curve:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
