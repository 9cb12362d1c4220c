"""Whole-command speed: `artha backtest` on a 1M-bar CSV, process start to exit, against
backtesting.py's whole process doing the same work on the same file.

Issue 11's gate: what a user waits for is the command, not the engine's loop. Artha's side is

    artha backtest --strategy sma_crossover --data BARS.csv --costs none --json OUT

in a fresh process (imports, reading and checking the CSV, the run, the metrics and the JSON
report); the peer's side is a fresh Python that reads the CSV with pandas, runs the same SMA
crossover in backtesting.py and computes its statistics (bench/peer_backtest_command.py).
Both are timed from process start to exit, best of --runs; the trades must be identical.

    .venv/bin/python bench/backtest_command.py [--bars N] [--runs 3] [--skip-peer]

The CSV (the documented bar layout, IST offsets) is written once per size and seed into
bench/.data/ with DuckDB and reused.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from backtest_speed import ensure_peer_venv
from synthetic_bars import make_bars

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DATA = BENCH / ".data"
PEER_SCRIPT = BENCH / "peer_backtest_command.py"
DEFAULT_BARS = 1_000_000
TARGET_RATIO = 9.0

Trade = tuple[int, int, int, int, int]  # entry ns, exit ns, entry paise, exit paise, size


def bar_csv(bars: int, seed: int) -> Path:
    """The bars of synthetic_bars.make_bars as the documented CSV (written once)."""
    path = DATA / f"synthetic_{bars}_{seed}.csv"
    if path.exists():
        return path
    import duckdb
    import pandas as pd

    DATA.mkdir(exist_ok=True)
    b = make_bars(bars, seed=seed)
    frame = pd.DataFrame({k: b[k] for k in ("ts", "open", "high", "low", "close", "volume")})
    partial = path.with_suffix(".partial")
    con = duckdb.connect()
    con.register("b", frame)
    con.execute(
        f"""COPY (SELECT strftime(make_timestamp((ts // 1000)::BIGINT) + INTERVAL 330 MINUTE,
                                  '%Y-%m-%dT%H:%M:%S+05:30') AS timestamp,
                         printf('%.2f', open / 100) AS open, printf('%.2f', high / 100) AS high,
                         printf('%.2f', low / 100) AS low, printf('%.2f', close / 100) AS close,
                         volume
                  FROM b ORDER BY ts) TO '{partial}' (HEADER, QUOTE '')"""
    )
    con.close()
    partial.rename(path)
    return path


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def artha_trades(report: Path) -> list[Trade]:
    def ns(text: str) -> int:
        moment = datetime.datetime.fromisoformat(text)
        return int(moment.timestamp()) * 1_000_000_000

    data = json.loads(report.read_text(encoding="utf-8"))
    return [
        (
            ns(t["entry_time"]),
            ns(t["exit_time"]),
            int(Decimal(t["entry_price"]) * 100),
            int(Decimal(t["exit_price"]) * 100),
            int(t["quantity"]),
        )
        for t in data["trades"]
    ]


def peer_trades(out: Path) -> list[Trade]:
    data = json.loads(out.read_text(encoding="utf-8"))
    return [
        (t["entry_ns"], t["exit_ns"], t["entry_paise"], t["exit_paise"], t["size"])
        for t in data["trades"]
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=DEFAULT_BARS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()

    csv = bar_csv(args.bars, args.seed)
    artha = str(Path(sys.executable).with_name("artha"))
    print(f"data: {csv.name}, {args.bars:,} one-minute bars, {csv.stat().st_size / 1e6:.0f} MB")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="artha-cmd-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "ARTHA_HOME": str(work / "ws")}
        report = work / "artha.json"
        command = [artha, "backtest", "--strategy", "sma_crossover", "--data", str(csv)]
        command += ["--costs", "none", "--json", str(report)]
        ours: list[float] = []
        peer: list[float] = []
        peer_out = work / "peer.json"
        python = None if args.skip_peer else ensure_peer_venv()
        for _ in range(args.runs):  # alternate the sides: the machine's load hits both
            ours.append(timed(command, env))
            if python is not None:
                peer.append(timed([str(python), str(PEER_SCRIPT), str(csv), str(peer_out)]))
        mine = artha_trades(report)
        print(
            f"Artha   : {min(ours):.2f} s (runs {', '.join(f'{s:.2f}' for s in ours)}), "
            f"{len(mine):,} trades"
        )
        if python is None:
            return 0
        theirs = peer_trades(peer_out)
        ratio = min(peer) / min(ours)
        print(
            f"peer    : {min(peer):.2f} s (runs {', '.join(f'{s:.2f}' for s in peer)}), "
            f"{len(theirs):,} trades (backtesting.py, pandas read_csv + run + stats)"
        )
        same = mine == theirs
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(f"ratio   : {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x: {verdict})")
        print(f"trades identical: {'yes' if same else 'NO'}")
        if not same:
            for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
                if a != b:
                    print(f"  first difference at trade {i}: Artha {a} peer {b}")
                    break
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
