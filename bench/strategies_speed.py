"""Reference strategies on a million one-minute bars: bars/s and peak memory of each.

Issue 12 sets the bar: every reference strategy on 1,000,000 one-minute bars (pairs_trading:
two series of 1,000,000) at >= 500,000 bars/s and under 500 MB peak. Each strategy runs in a
child process of its own (so its peak RSS is its own) with its default parameters and
charges of 3 bps a side (`--costs bps`; Zerodha's schedules start on 2020-07-01 and a million
one-minute bars reach back to 2016, so `--costs zerodha` needs `--bars 400000` or fewer); the
time is the best of --runs calls of `run_backtest` (the run, the trade list and the metrics,
as a report needs).

    .venv/bin/python bench/strategies_speed.py [--bars N] [--runs 2] [--costs bps|zerodha|none]
                                               [--only NAME ...]

There is no peer here: no other library ships these strategies. bench/backtest_speed.py
holds the comparison with backtesting.py on the strategy both can run.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from synthetic_bars import make_bars

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BARS = 1_000_000
TARGET_BARS_PER_S = 500_000
MAX_PEAK_MB = 500.0
STRATEGIES = (
    "sma_crossover",
    "mean_reversion_vwap",
    "momentum_breakout",
    "ema_rsi_breakout",
    "pairs_trading",
)
PAIR_BETA = 0.8  # the second leg of the pair: y = 0.8 x + a stationary spread


def pair_of(bars: dict[str, Any], seed: int = 11) -> dict[str, Any]:
    """A second series cointegrated with `bars` (same clock): close = beta * close + an
    AR(1) spread of a few rupees, on the 5-paise grid; open/high/low around it."""
    rng = np.random.default_rng(seed)
    n = len(bars["close"])
    noise = rng.normal(0.0, 40.0, n)  # paise
    spread = np.empty(n)
    level = 0.0
    for i, shock in enumerate(noise.tolist()):  # AR(1), phi 0.98: reverts in ~50 bars
        level = 0.98 * level + shock
        spread[i] = level
    close = np.rint((PAIR_BETA * bars["close"] + spread) / 5).astype(np.int64) * 5
    opening = np.rint((PAIR_BETA * bars["open"] + np.roll(spread, 1)) / 5).astype(np.int64) * 5
    close = np.maximum(close, 5)
    opening = np.maximum(opening, 5)
    high = np.maximum(opening, close) + 5 * rng.integers(0, 4, n)
    low = np.maximum(np.minimum(opening, close) - 5 * rng.integers(0, 4, n), 5)
    return {
        "ts": bars["ts"],
        "open": opening,
        "high": high,
        "low": low,
        "close": close,
        "volume": bars["volume"][::-1].copy(),
    }


def child(name: str, data_path: str, out_path: str, runs: int, costs: str) -> int:
    """Run one strategy `runs` times in this process; write the best time and own peak."""
    # isort: off
    from engine.backtest import BacktestConfig, run_backtest
    from engine.data import BarSeries
    from strategies.reference import load_reference

    # isort: on
    strategy = load_reference(name)
    with np.load(data_path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    legs = ["A", "B"] if name == "pairs_trading" else ["A"]
    series = [
        BarSeries.from_arrays(
            symbol=f"SYN{leg}",
            ts=arrays["ts"],
            **{f: arrays[f"{leg}_{f}"] for f in ("open", "high", "low", "close", "volume")},
            prices_in_paise=True,
        )
        for leg in legs
    ]
    del arrays  # the series hold their own copies; a command never keeps the file's too
    config = BacktestConfig(costs=costs, cost_bps=Decimal(3) if costs == "bps" else None)
    times: list[float] = []
    trades = 0
    for _ in range(runs):
        started = time.perf_counter()
        result = run_backtest(strategy, None, series, config)
        _ = (result.trades, result.metrics)
        times.append(time.perf_counter() - started)
        trades = len(result.trades)
        del result
        gc.collect()  # untimed: the finished run's cycles go, so the peak is one run's
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    bars = sum(len(s) for s in series)
    out = {"seconds": min(times), "runs": times, "bars": bars, "trades": trades}
    out["peak_mb"] = peak_kb / 1024
    Path(out_path).write_text(json.dumps(out), encoding="utf-8")
    return 0


def measure(name: str, data_path: Path, work: Path, runs: int, costs: str) -> dict[str, Any]:
    out = work / f"{name}.json"
    cmd = [sys.executable, __file__, "--child", name, str(data_path), str(out), str(runs), costs]
    proc = subprocess.run(cmd, cwd=ROOT, check=False)
    if proc.returncode != 0 or not out.exists():
        return {"error": f"exit code {proc.returncode}"}
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        return child(args[1], args[2], args[3], int(args[4]), args[5])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=DEFAULT_BARS)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--costs", choices=("bps", "zerodha", "none"), default="bps")
    parser.add_argument("--only", nargs="*", choices=STRATEGIES, default=list(STRATEGIES))
    opts = parser.parse_args(args)

    bars = make_bars(opts.bars)
    second = pair_of(bars)
    with tempfile.TemporaryDirectory(prefix="artha-bench-") as tmp:
        work = Path(tmp)
        data_path = work / "bars.npz"
        arrays = {"ts": bars["ts"]}
        for leg, source in (("A", bars), ("B", second)):
            for field in ("open", "high", "low", "close", "volume"):
                arrays[f"{leg}_{field}"] = source[field]
        np.savez(data_path, **arrays)
        rows = []
        for name in opts.only:
            figures = measure(name, data_path, work, opts.runs, opts.costs)
            rows.append((name, figures))
            if "error" in figures:
                print(f"{name:22s} FAILED: {figures['error']}")
                continue
            rate = figures["bars"] / figures["seconds"]
            ok = rate >= TARGET_BARS_PER_S and figures["peak_mb"] <= MAX_PEAK_MB
            print(
                f"{name:22s} {figures['bars']:>9,} bars  {figures['seconds']:6.2f} s  "
                f"{rate:>11,.0f} bars/s  peak {figures['peak_mb']:6.0f} MB  "
                f"{figures['trades']:>6,} trades  {'ok' if ok else 'BELOW TARGET'}"
            )
    machine = f"{os.cpu_count()} cores ({platform.machine()}) / Python {platform.python_version()}"
    print(f"\n{datetime.date.today().isoformat()}, {machine}, costs {opts.costs}; targets: "
          f">= {TARGET_BARS_PER_S:,} bars/s, <= {MAX_PEAK_MB:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
