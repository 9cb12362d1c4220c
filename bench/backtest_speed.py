"""Backtest speed: Artha's full engine path vs backtesting.py on the same 1M one-minute bars.

Issue 3 sets the bar: >= 1,000,000 bars/s, never below 2x backtesting.py, peak memory under
500 MB for 1M bars, and trades identical to the peer's. This script measures all four:

    .venv/bin/python bench/backtest_speed.py [--bars N] [--skip-peer]

The Artha run happens in a child process (so its peak RSS is its own); the peer runs in its
own venv, bench/.peer-venv, created here on first use, so backtesting.py never becomes a
dependency of Artha. A third, plain-numpy reading of the strategy's spec checks both.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from synthetic_bars import check_bars, make_bars

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
PEER_VENV = BENCH / ".peer-venv"
PEER_SCRIPT = BENCH / "peer_backtesting_py.py"
PEER_VERSION = "0.6.6"  # the version first installed; bump deliberately, figures change with it
PEER_PIN = f"backtesting=={PEER_VERSION}"

FAST, SLOW, QUANTITY = 10, 30, 100
CAPITAL = Decimal("10000000")
RUNS = 3
DEFAULT_BARS = 1_000_000
TARGET_BARS_PER_S = 1_000_000
MIN_RATIO = 2.0
MAX_PEAK_MB = 500.0

# (entry bar index, exit bar index, entry paise, exit paise, quantity)
Trade = tuple[int, int, int, int, int]
I64 = npt.NDArray[np.int64]
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


# --- the spec, read a third way -------------------------------------------------------------


def reference_trades(bars: dict[str, I64], fast: int, slow: int, quantity: int) -> list[Trade]:
    """Round trips of the issue-3 SMA crossover, straight from its wording.

    Independent of both engines, so a disagreement says which side strayed from the spec.
    """
    close = bars["close"]
    n = len(close)
    if n <= slow:
        return []
    cs = np.concatenate(([0], np.cumsum(close, dtype=np.int64)))
    t = np.arange(slow - 1, n)
    # sign(avg_fast - avg_slow), exactly: sum_fast * slow vs sum_slow * fast in paise
    side = np.sign((cs[t + 1] - cs[t + 1 - fast]) * slow - (cs[t + 1] - cs[t + 1 - slow]) * fast)
    up = np.zeros(n, dtype=bool)
    down = np.zeros(n, dtype=bool)
    up[slow:] = (side[1:] > 0) & (side[:-1] <= 0)
    down[slow:] = (side[1:] < 0) & (side[:-1] >= 0)

    opens = bars["open"]
    trades: list[Trade] = []
    entry = -1
    for bar in np.flatnonzero(up | down).tolist():
        if bar + 1 >= n:
            break  # a signal on the last bar is not filled
        if entry < 0 and up[bar]:
            entry = bar + 1
        elif entry >= 0 and down[bar]:
            trades.append((entry, bar + 1, int(opens[entry]), int(opens[bar + 1]), quantity))
            entry = -1
    return trades  # a position still open here is not a round trip


# --- Artha side (runs in a child process) ---------------------------------------------------


def _ns(value: Any) -> int:
    """Epoch ns of an engine trade time: aware datetime / pandas Timestamp, datetime64 or int ns."""
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, datetime.datetime):  # pandas.Timestamp too (minute bars: us is enough)
        if value.utcoffset() is None:
            raise ValueError(f"naive trade time {value!r}: the engine must give aware times")
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
    raise TypeError(f"cannot read a trade time of type {type(value).__name__}: {value!r}")


def _paise(price: Any) -> int:
    """Exact paise of a rupee price; refuses anything off the paisa."""
    paise = Decimal(str(price)) * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"price {price!r} is not a whole number of paise")
    return int(paise)


def _bar_index(ts: I64, at: Any) -> int:
    ns = _ns(at)
    i = int(np.searchsorted(ts, ns))
    if i >= len(ts) or int(ts[i]) != ns:
        raise ValueError(f"trade time {at!r} is not the open time of any bar")
    return i


def artha_trades(trades: list[Any], ts: I64) -> list[Trade]:
    """Engine trades -> (entry bar, exit bar, entry paise, exit paise, quantity)."""
    return [
        (
            _bar_index(ts, tr.entry_time),
            _bar_index(ts, tr.exit_time),
            _paise(tr.entry_price),
            _paise(tr.exit_price),
            abs(int(tr.quantity)),
        )
        for tr in trades
    ]


def artha_child(data_path: str, out_path: str) -> int:
    """Time run_backtest best of RUNS in this process and report its own peak RSS."""
    try:
        # Ruff files engine.* as third-party while a package folder is missing: keep order.
        # isort: off
        from engine.backtest import BacktestConfig, run_backtest
        from engine.data import BarSeries
        from strategies.reference.sma_crossover import SmaCrossover

        # isort: on
    except ImportError as exc:  # the engine is being written: say so, still run the peer
        if (exc.name or "").split(".")[0] not in ("engine", "strategies"):
            raise  # a missing third-party package is a real failure
        Path(out_path).write_text(json.dumps({"missing": str(exc)}), encoding="utf-8")
        return 0

    with np.load(data_path) as npz:
        bars = {k: npz[k] for k in npz.files}
    t0 = time.perf_counter()
    series = BarSeries.from_arrays(
        symbol="SYNTH",
        ts=bars["ts"],
        open=bars["open"],
        high=bars["high"],
        low=bars["low"],
        close=bars["close"],
        volume=bars["volume"],
        prices_in_paise=True,
    )
    build_seconds = time.perf_counter() - t0
    params = {"fast": FAST, "slow": SLOW, "quantity": QUANTITY}
    config = BacktestConfig(capital=CAPITAL, costs="none")

    runs: list[float] = []
    first: list[Trade] | None = None
    result_bars = 0
    run_seconds: list[float] = []
    sides: set[str] = set()
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = run_backtest(SmaCrossover, params, [series], config)
        # backtesting.py's run() also builds its trade list and statistics: match that work
        _ = (result.trades, result.metrics)
        runs.append(time.perf_counter() - t0)
        trades = artha_trades(result.trades, bars["ts"])
        if first is None:
            first = trades
            sides = {str(tr.side) for tr in result.trades}
        elif trades != first:
            raise SystemExit("run_backtest is not deterministic: trades differ between runs")
        result_bars = int(result.bars)
        run_seconds.append(float(result.run_seconds))
        del result  # measure one run's peak, not two results alive at once
        # A finished run is freed by the cycle collector (strategy <-> host): collect it
        # here, untimed, so the next run's peak is one run's, as in a CLI process.
        gc.collect()

    out = {
        "seconds": min(runs),
        "runs": runs,
        "engine_run_seconds": run_seconds,
        "series_build_seconds": build_seconds,
        "bars": result_bars,
        "sides": sorted(sides),
        "peak_mb": _own_peak_mb(),
        "trades": first or [],
    }
    Path(out_path).write_text(json.dumps(out), encoding="utf-8")
    return 0


def _own_peak_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def run_artha(data_path: Path, work: Path) -> dict[str, Any]:
    out = work / "artha.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--artha-child", str(data_path), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the Artha run failed (exit {proc.returncode}); see the error above")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    if "trades" in result:
        result["trades"] = [tuple(t) for t in result["trades"]]
    return result


# --- peer side --------------------------------------------------------------------------------


def _peer_python() -> Path:
    return PEER_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _peer_installed_version(python: Path) -> str | None:
    probe = subprocess.run(
        [str(python), "-c", "import backtesting; print(backtesting.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_peer_venv() -> Path:
    """Create bench/.peer-venv with the pinned backtesting.py, once; reuse it after."""
    python = _peer_python()
    if not python.exists():
        print(f"creating the peer venv {PEER_VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    if _peer_installed_version(python) != PEER_VERSION:
        print(f"installing {PEER_PIN} into {PEER_VENV.relative_to(ROOT)} ...", flush=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        if subprocess.run([*pip, PEER_PIN], check=False).returncode != 0:
            raise SystemExit(
                f"could not install {PEER_PIN} into {PEER_VENV} (needs PyPI); "
                "run with --skip-peer to measure Artha alone"
            )
    return python


def run_peer(data_path: Path, work: Path) -> dict[str, Any]:
    python = ensure_peer_venv()
    out = work / "peer.json"
    proc = subprocess.run([str(python), str(PEER_SCRIPT), str(data_path), str(out)], check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the backtesting.py run failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["trades"] = [
        (
            t["entry_bar"],
            t["exit_bar"],
            round(t["entry_price"] * 100),
            round(t["exit_price"] * 100),
            abs(t["size"]),
        )
        for t in result["trades"]
    ]
    return result


# --- report -----------------------------------------------------------------------------------


def compare(name_a: str, a: list[Trade], name_b: str, b: list[Trade]) -> bool:
    """Print whether two trade lists are identical and, if not, the first 5 differences."""
    if a == b:
        return True
    print(f"  {name_a} ({len(a):,} trades) and {name_b} ({len(b):,} trades) differ:")
    print("    (entry bar, exit bar, entry paise, exit paise, quantity)")
    shown = 0
    for i in range(max(len(a), len(b))):
        left = a[i] if i < len(a) else None
        right = b[i] if i < len(b) else None
        if left != right:
            print(f"    #{i}: {name_a} {left}  {name_b} {right}")
            shown += 1
            if shown == 5:
                break
    return False


def _rate(bars: int, seconds: float) -> float:
    return bars / seconds if seconds > 0 else float("inf")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=DEFAULT_BARS, help="bars to generate")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--skip-peer", action="store_true", help="run only the Artha side")
    parser.add_argument("--artha-child", nargs=2, metavar=("NPZ", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.artha_child:
        return artha_child(*args.artha_child)

    cores = os.cpu_count() or 0
    python = platform.python_version()
    print(
        f"backtest speed: sma_crossover fast={FAST} slow={SLOW} quantity={QUANTITY}, "
        f"costs none, best of {RUNS}"
    )
    print(f"machine: {cores} cores, Python {python}, numpy {np.__version__}, {platform.machine()}")

    t0 = time.perf_counter()
    bars = make_bars(args.bars, seed=args.seed)
    gen_seconds = time.perf_counter() - t0
    check_bars(bars)
    n = len(bars["ts"])
    span = [
        np.datetime64(int(bars["ts"][i]) + 19_800 * 10**9, "ns").astype("datetime64[m]")
        for i in (0, -1)
    ]
    print(f"bars: {n:,} one-minute NSE bars, seed {args.seed}, {span[0]} .. {span[1]} IST")
    print(f"      generated in {gen_seconds:.2f} s")
    reference = reference_trades(bars, FAST, SLOW, QUANTITY)
    print(f"spec reference (plain numpy): {len(reference):,} round trips")

    ok = True
    with tempfile.TemporaryDirectory(prefix="artha-bench-") as tmp:
        work = Path(tmp)
        data_path = work / "bars.npz"
        np.savez(data_path, **bars)

        artha = run_artha(data_path, work)
        artha_rate: float | None = None
        if "missing" in artha:
            print(f"Artha: SKIPPED, engine not importable yet ({artha['missing']})")
            artha = {}
        else:
            artha_rate = _rate(n, artha["seconds"])
            runs = ", ".join(f"{s:.3f}" for s in artha["runs"])
            print(
                f"Artha: {artha_rate:,.0f} bars/s (best {artha['seconds']:.3f} s of {runs}; "
                f"engine's own run_seconds {min(artha['engine_run_seconds']):.3f} s; "
                f"BarSeries build {artha['series_build_seconds']:.3f} s, not timed)"
            )
            peak = artha["peak_mb"]
            if peak is not None:
                print(f"       peak RSS of the Artha process {peak:,.0f} MB")
            print(f"       {len(artha['trades']):,} round trips, result.bars = {artha['bars']:,}")
            if artha["bars"] != n:
                print(f"       result.bars should be {n:,}")
                ok = False
            if not compare("Artha", artha["trades"], "spec", reference):
                ok = False

        peer: dict[str, Any] = {}
        peer_rate: float | None = None
        if not args.skip_peer:
            peer = run_peer(data_path, work)
            peer_rate = _rate(n, peer["seconds"])
            runs = ", ".join(f"{s:.3f}" for s in peer["runs"])
            print(
                f"backtesting.py {peer['version']}: {peer_rate:,.0f} bars/s "
                f"(best {peer['seconds']:.3f} s of {runs}; Python {peer['python']})"
            )
            print(f"       {len(peer['trades']):,} round trips")
            if not compare("backtesting.py", peer["trades"], "spec", reference):
                ok = False

    print("--")
    identical = "n/a"
    if artha and peer:
        same = compare("Artha", artha["trades"], "backtesting.py", peer["trades"])
        identical = _yes(same)
        ok = ok and same
    print(f"trades: {len(reference):,} round trips in the spec; trades identical: {identical}")
    ratio = artha_rate / peer_rate if artha_rate and peer_rate else None
    if ratio is not None:
        print(f"ratio Artha/backtesting.py: {ratio:.2f}x")
    targets = [f">= {TARGET_BARS_PER_S:,} bars/s", f">= {MIN_RATIO:g}x backtesting.py"]
    targets.append(f"peak < {MAX_PEAK_MB:g} MB for 1M bars")
    print("targets: " + "; ".join(targets))
    if artha_rate is not None:
        met = [f"bars/s {_yes(artha_rate >= TARGET_BARS_PER_S)}"]
        if ratio is not None:
            met.append(f"ratio {_yes(ratio >= MIN_RATIO)}")
        if artha.get("peak_mb") is not None:
            met.append(f"memory {_yes(artha['peak_mb'] < MAX_PEAK_MB)}")
        print("met:     " + "; ".join(met))

    def cell(value: float | None, fmt: str) -> str:
        return "—" if value is None else format(value, fmt)

    row = [
        datetime.date.today().isoformat(),
        f"{cores} cores / Python {python}",
        f"{n:,}",
        cell(artha_rate, ",.0f"),
        cell(peer_rate, ",.0f"),
        "—" if ratio is None else f"{ratio:.2f}x",
        cell(artha.get("peak_mb"), ",.0f"),
        identical,
    ]
    print("README row: | " + " | ".join(row) + " |")
    if not ok:
        print("FAILED: trades differ (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
