"""Chart speed: Artha's candlestick chart vs finplot on the same 1M one-minute bars.

Issue 13 ("Speed") sets the bar, offscreen, in a 1600x900 window with real paints, on
1,000,000 one-minute NSE bars with two overlays (SMA 20, EMA 50 of close) and 20,000 trades:
first frame <= 150 ms, whole series <= 50 ms, drag p95 <= 16 ms, zoom p95 <= 33 ms,
peak memory <= 300 MB, blank frames 0. This script measures all of them for both libraries:

    .venv/bin/python bench/chart_speed.py [--bars N] [--only artha|finplot] [--json PATH]

Each library runs in a child process of its own (so its peak RSS is its own); finplot runs in
its own venv, bench/.finplot-venv, created here on first use, so it never becomes a
dependency of Artha. Both children time their frames with the same code,
bench/chart_paint_timing.py.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from synthetic_bars import make_bars  # noqa: E402

PEER_VENV = BENCH / ".finplot-venv"
PEER_SCRIPT = BENCH / "peer_finplot_chart.py"
PEER_VERSION = "1.9.7"  # the finplot version first measured; bump deliberately
DEFAULT_BARS = 1_000_000
DEFAULT_TRADES = 20_000
SMA_N, EMA_N = 20, 50

# figure -> (label, target, unit); lower is better for every one
TARGETS: dict[str, tuple[str, float, str]] = {
    "first_ms": ("first frame", 150.0, "ms"),
    "full_ms": ("whole series", 50.0, "ms"),
    "drag_p50_ms": ("drag p50", math.nan, "ms"),
    "drag_p95_ms": ("drag p95", 16.0, "ms"),
    "zoom_p50_ms": ("zoom p50", math.nan, "ms"),
    "zoom_p95_ms": ("zoom p95", 33.0, "ms"),
    "peak_mb": ("peak memory", 300.0, "MB"),
    "blank_frames": ("blank frames", 0.0, ""),
}
F64 = npt.NDArray[np.float64]


# --- data, identical for both sides ----------------------------------------------------------


def sma(values: F64, n: int) -> F64:
    """Simple moving average; NaN until n values exist."""
    out = np.full(len(values), np.nan)
    cs = np.concatenate(([0.0], np.cumsum(values)))
    out[n - 1 :] = (cs[n:] - cs[:-n]) / n
    return out


def ema(values: F64, n: int) -> F64:
    """Exponential moving average (alpha 2/(n+1), seeded with the first value)."""
    import pandas as pd

    return pd.Series(values).ewm(span=n, adjust=False).mean().to_numpy()


def prepare(n_bars: int, n_trades: int, seed: int) -> dict[str, np.ndarray]:
    """Bars in rupees, the two overlays and the trades, written once and read by both sides."""
    bars = make_bars(n_bars, seed=seed)
    out: dict[str, np.ndarray] = {"ts": bars["ts"]}
    for key in ("open", "high", "low", "close"):
        out[key] = bars[key] / 100.0
    out["volume"] = bars["volume"].astype(np.float64)
    out["sma"] = sma(out["close"], SMA_N)
    out["ema"] = ema(out["close"], EMA_N)
    rng = np.random.default_rng(seed + 1)
    n_trades = min(n_trades, n_bars // 2)
    marks = np.sort(rng.choice(n_bars, size=2 * n_trades, replace=False))
    out["entry_index"] = marks[0::2].astype(np.int64)
    out["exit_index"] = marks[1::2].astype(np.int64)
    out["entry_price"] = out["close"][out["entry_index"]]
    out["exit_price"] = out["close"][out["exit_index"]]
    out["side"] = rng.choice(np.array([1, -1], dtype=np.int8), size=n_trades)
    return out


# --- Artha side (runs in a child process) ----------------------------------------------------


def artha_child(data_path: str, out_path: str) -> int:
    """Build Artha's chart from the arrays, time the issue's frames, write the figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import chart_paint_timing as timing

    timing.app()
    notes: list[str] = []
    # isort: off
    from app.gui.chart.view import ChartView

    try:
        from app.gui.chart.overlay_item import LodLineItem
    except ImportError as exc:
        LodLineItem = None
        notes.append(f"overlays missing ({exc})")
    markers_cls: Any = None
    try:
        from app.gui.chart.trade_markers import TradeMarkersItem

        markers_cls = TradeMarkersItem
    except ImportError as exc:
        notes.append(f"trade markers missing ({exc})")
    # isort: on

    with np.load(data_path) as npz:
        data = {k: npz[k] for k in npz.files}
    n = len(data["ts"])
    build_parts: dict[str, float] = {}

    def build() -> timing.Chart:
        """From the arrays to a shown window, as the chart panel does it."""
        t0 = time.perf_counter()
        view = ChartView()
        view.set_bars(
            data["ts"], data["open"], data["high"], data["low"], data["close"], data["volume"]
        )
        build_parts["set_bars_ms"] = (time.perf_counter() - t0) * 1000.0
        if LodLineItem is not None:
            view.price_plot.addItem(LodLineItem(data["sma"], "#1f77b4"))
            view.price_plot.addItem(LodLineItem(data["ema"], "#ff7f0e"))
        if markers_cls is not None:
            markers = markers_cls()
            markers.set_trades(
                data["entry_index"],
                data["entry_price"],
                data["exit_index"],
                data["exit_price"],
                data["side"],
            )
            view.price_plot.addItem(markers)
        widget = view.window() if view.window() is not None else view
        widget.resize(timing.WIDTH, timing.HEIGHT)
        widget.show()
        build_parts["build_ms"] = (time.perf_counter() - t0) * 1000.0
        build_parts["volume_pane"] = getattr(view, "volume_plot", None) is not None
        return timing.Chart(widget, view.set_x_range, lambda: int(view.candles.paint_count))

    timer, first = timing.first_frame(build)
    series = timing.run_sequence(timer, n)
    figures = timing.summary(first, series, timer)
    figures.update(
        {
            "library": "artha",
            "overlays": LodLineItem is not None,
            "markers": markers_cls is not None,
            "notes": notes,
            "trades": len(data["entry_index"]),
            "window": [timer.widget.width(), timer.widget.height()],
            **build_parts,
        }
    )
    figures["peak_mb"] = timing.peak_rss_mb()
    if os.environ.get("CHART_BENCH_SHOTS"):  # after timing: look at what was measured
        figures["shots"] = timing.save_shots(timer, n, os.environ["CHART_BENCH_SHOTS"], "artha")
    Path(out_path).write_text(json.dumps(figures), encoding="utf-8")
    return 0


def run_artha(data_path: Path, work: Path) -> dict[str, Any]:
    """The Artha child, with Artha's interpreter; its peak is its own."""
    out = work / "artha.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--artha-child", str(data_path), str(out)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the Artha chart run failed (exit {proc.returncode}); see above")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


# --- finplot side ----------------------------------------------------------------------------


def _peer_python() -> Path:
    return PEER_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _installed(python: Path, module: str) -> str | None:
    """Version of `module` inside the peer venv, or None."""
    probe = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({module!r}))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_peer_venv() -> Path:
    """Create bench/.finplot-venv once: our PySide6 and pyqtgraph, then finplot --no-deps.

    finplot's metadata asks for PyQt6; it imports Qt through pyqtgraph, which finds PySide6
    (the only binding in that venv, and PYQTGRAPH_QT_LIB=PySide6 says so too).
    """
    import importlib.metadata as meta

    ours = {name: meta.version(name) for name in ("PySide6-Essentials", "pyqtgraph", "numpy")}
    python = _peer_python()
    if not python.exists():
        print(f"creating the finplot venv {PEER_VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    wanted = [f"{name}=={version}" for name, version in ours.items()]
    if any(_installed(python, name) != version for name, version in ours.items()):
        print(f"installing {', '.join(wanted)} pandas into the finplot venv ...", flush=True)
        if subprocess.run([*pip, *wanted, "pandas"], check=False).returncode != 0:
            raise SystemExit("could not install the finplot venv (needs PyPI); use --only artha")
    if _installed(python, "finplot") != PEER_VERSION:
        print(f"installing finplot=={PEER_VERSION} (--no-deps) ...", flush=True)
        cmd = [*pip, "--no-deps", f"finplot=={PEER_VERSION}"]
        if subprocess.run(cmd, check=False).returncode != 0:
            raise SystemExit("could not install finplot (needs PyPI); use --only artha")
    return python


def run_peer(data_path: Path, work: Path, volume_pane: bool) -> dict[str, Any]:
    """The finplot child, in its own venv."""
    python = ensure_peer_venv()
    out = work / "finplot.json"
    cmd = [str(python), str(PEER_SCRIPT), str(data_path), str(out)]
    if volume_pane:
        cmd.append("--volume")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYQTGRAPH_QT_LIB": "PySide6"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the finplot run failed (exit {proc.returncode}); see above")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


# --- report ----------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "":
        return f"{int(value)}"
    return f"{value:,.0f}" if unit == "MB" else f"{value:.1f}"


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's runs -> its figures: the median of each time over the runs (a shared
    machine's noise, neither the luckiest nor the unluckiest run), the highest peak, and
    every blank frame of every run."""
    out = dict(runs[-1])
    for key in TARGETS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if not values:
            continue
        if key == "peak_mb":
            out[key] = max(values)
        elif key == "blank_frames":
            out[key] = sum(values)
        else:
            out[key] = float(np.median(values))
    for key in ("late_paints", "timed_out_frames"):
        out[key] = sum(int(r.get(key) or 0) for r in runs)
    out["runs"] = [{k: r.get(k) for k in TARGETS} for r in runs]
    return out


def _progress(name: str, k: int, figures: dict[str, Any]) -> None:
    """One line per child run, so the spread between runs is visible."""
    cells = ", ".join(
        f"{TARGETS[key][0]} {_fmt(figures.get(key), TARGETS[key][2])}" for key in TARGETS
    )
    print(f"  run {k + 1} {name}: {cells}", flush=True)


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    """One row per figure: target, Artha, finplot, finplot / Artha, met."""
    artha, peer = results.get("artha"), results.get("finplot")
    lines = [f"{'figure':<16}{'target':>10}{'Artha':>10}{'finplot':>10}{'ratio':>9}  met"]
    for key, (label, target, unit) in TARGETS.items():
        a = artha.get(key) if artha else None
        f = peer.get(key) if peer else None
        ratio = "—"
        if a is not None and f is not None and key != "blank_frames" and a > 0:
            ratio = f"{f / a:.1f}x"
        target_s = "—" if math.isnan(target) else f"<= {_fmt(target, unit)}"
        met = "—" if math.isnan(target) or a is None else ("yes" if a <= target else "NO")
        lines.append(
            f"{label + (f' {unit}' if unit else ''):<16}{target_s:>10}{_fmt(a, unit):>10}"
            f"{_fmt(f, unit):>10}{ratio:>9}  {met}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=DEFAULT_BARS, help="bars to generate")
    parser.add_argument("--trades", type=int, default=DEFAULT_TRADES, help="round trips marked")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--only", choices=("artha", "finplot"), help="run one side")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--runs", type=int, default=3, help="child processes per side, alternating (median)"
    )
    parser.add_argument(
        "--peer-volume",
        choices=("auto", "yes", "no"),
        default="auto",
        help="give finplot a volume pane (auto: when Artha's chart has one)",
    )
    parser.add_argument("--artha-child", nargs=2, metavar=("NPZ", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.artha_child:
        return artha_child(*args.artha_child)

    print(
        f"chart speed: offscreen 1600x900, {args.bars:,} one-minute bars, SMA {SMA_N} + "
        f"EMA {EMA_N} overlays, {args.trades:,} trades (entry and exit markers)"
    )
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()}"
    )
    t0 = time.perf_counter()
    data = prepare(args.bars, args.trades, args.seed)
    print(f"data prepared in {time.perf_counter() - t0:.2f} s (not timed)")

    with tempfile.TemporaryDirectory(prefix="artha-chart-bench-") as tmp:
        work = Path(tmp)
        data_path = work / "chart.npz"
        np.savez(data_path, **data)
        del data
        runs: dict[str, list[dict[str, Any]]] = {"artha": [], "finplot": []}
        for k in range(args.runs):
            if args.only in (None, "artha"):
                runs["artha"].append(run_artha(data_path, work))
                _progress("artha", k, runs["artha"][-1])
            if args.only in (None, "finplot"):
                volume = args.peer_volume == "yes" or (
                    args.peer_volume == "auto"
                    and (runs["artha"] or [{}])[-1].get("volume_pane", True)
                )
                runs["finplot"].append(run_peer(data_path, work, volume))
                _progress("finplot", k, runs["finplot"][-1])
        results = {name: combine(side) for name, side in runs.items() if side}

    print("--")
    for name, figures in results.items():
        extras = [
            f"overlays {'on' if figures.get('overlays') else 'OFF'}",
            f"markers {'on' if figures.get('markers') else 'OFF'}",
            f"candle paints {figures.get('candle_paints')}",
            f"late paints {figures.get('late_paints')}",
            f"timed-out frames {figures.get('timed_out_frames')}",
            f"RSS before the chart {_fmt(figures.get('rss_before_build_mb'), 'MB')} MB",
        ]
        if "volume_pane" in figures:
            extras.append(f"volume pane {'yes' if figures['volume_pane'] else 'no'}")
        print(f"{figures.get('library', name)}: " + ", ".join(extras))
        for note in figures.get("notes", []):
            print(f"  NOTE: {note}")
    for line in table(results):
        print(line)
    print("ratio = finplot / Artha (above 1x: Artha is faster or smaller)")

    if args.json:
        keys = list(TARGETS)
        payload: dict[str, Any] = {}
        for name, figures in results.items():
            payload[name] = {k: figures.get(k) for k in keys}
            payload[name]["overlays"] = figures.get("overlays")
            payload[name]["markers"] = figures.get("markers")
            payload[name]["details"] = {k: v for k, v in figures.items() if k not in keys}
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")

    today = datetime.date.today().isoformat()
    for name, figures in results.items():
        cells = [_fmt(figures.get(k), TARGETS[k][2]) for k in TARGETS]
        label = figures.get("library", name)
        print(f"README row: | {today} | {args.bars:,} | {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
