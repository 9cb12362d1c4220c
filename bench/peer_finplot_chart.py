"""Peer half of bench/chart_speed.py: the same chart drawn and moved by finplot.

Runs ONLY inside the bench's own venv (bench/.finplot-venv, created by chart_speed.py):
finplot is never a dependency of Artha. Usage:

    bench/.finplot-venv/bin/python bench/peer_finplot_chart.py DATA.npz OUT.json [--volume]

DATA.npz holds the arrays chart_speed.py prepares for both sides: ts (int64 UTC ns), open,
high, low, close, volume (float64 rupees), sma, ema (the two overlays) and the trades
(entry_index, entry_price, exit_index, exit_price, side). OUT.json gets the figures of
chart_paint_timing.summary plus finplot's version.

finplot is driven the way its own interaction drives it: a range change is
`ViewBox.update_y_zoom(x0, x1)`, the call behind its wheel zoom and keyboard pan (x range
plus y autoscale of the visible rows). Its candles are counted in CandlestickItem.paint with
a real painter (finplot also calls paint(None) to rebuild its picture: not a frame).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # finplot imports Qt through pyqtgraph

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chart_paint_timing as timing

IST = timezone(timedelta(hours=5, minutes=30))


def main(argv: list[str]) -> int:
    """Build the chart, time the issue's frames, write the figures."""
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2:
        # `make bench` runs every bench/*.py with Artha's python: nothing to do alone.
        print(
            "peer_finplot_chart.py is run by bench/chart_speed.py inside bench/.finplot-venv "
            "(usage: peer_finplot_chart.py DATA.npz OUT.json [--volume]); skipping"
        )
        return 0
    data_path, out_path = args
    volume_pane = "--volume" in argv

    timing.app()
    import finplot as fplt
    import pandas as pd
    import pyqtgraph as pg

    with np.load(data_path) as npz:
        data = {k: npz[k] for k in npz.files}
    n = len(data["ts"])

    fplt.display_timezone = IST  # labels on the exchange clock, as Artha's
    candle_paints = [0]
    original_paint = fplt.CandlestickItem.paint

    def counting_paint(self: Any, p: Any, *args: Any) -> None:
        """finplot's own paint, counted when it paints to the screen (p is a painter)."""
        if p is not None and getattr(self, "bench_price_candles", False):
            candle_paints[0] += 1
        original_paint(self, p, *args)

    fplt.CandlestickItem.paint = counting_paint
    frame_build: dict[str, float] = {}

    def build() -> timing.Chart:
        """From the arrays to a shown window, as a finplot user writes it."""
        t0 = time.perf_counter()
        df = pd.DataFrame(
            {
                "time": pd.to_datetime(data["ts"], unit="ns"),
                "open": data["open"],
                "close": data["close"],
                "high": data["high"],
                "low": data["low"],
                "volume": data["volume"],
            }
        )
        times = df["time"]
        entry_t = times.iloc[data["entry_index"]].reset_index(drop=True)
        exit_t = times.iloc[data["exit_index"]].reset_index(drop=True)
        frame_build["dataframe_ms"] = (time.perf_counter() - t0) * 1000.0
        rows = 2 if volume_pane else 1
        axes = fplt.create_plot("artha chart bench", rows=rows, maximize=False)
        price_ax = axes[0] if volume_pane else axes
        candles = fplt.candlestick_ochl(df[["time", "open", "close", "high", "low"]], ax=price_ax)
        candles.bench_price_candles = True
        if volume_pane:
            fplt.volume_ocv(df[["time", "open", "close", "volume"]], ax=axes[1])
        fplt.plot(times, pd.Series(data["sma"]), ax=price_ax, color="#1f77b4", width=1)
        fplt.plot(times, pd.Series(data["ema"]), ax=price_ax, color="#ff7f0e", width=1)
        fplt.plot(entry_t, pd.Series(data["entry_price"]), ax=price_ax, style="^", color="#2a2")
        fplt.plot(exit_t, pd.Series(data["exit_price"]), ax=price_ax, style="v", color="#a22")
        window = price_ax.vb.win
        window.resize(timing.WIDTH, timing.HEIGHT)
        fplt.show(qt_exec=False)  # refresh(): initial zoom (all bars) and repaint, then show()
        frame_build["build_ms"] = (time.perf_counter() - t0) * 1000.0

        def set_range(x0: float, x1: float) -> None:
            """What finplot's wheel zoom and keyboard pan call: x range + y autoscale."""
            price_ax.vb.update_y_zoom(x0, x1)

        def jump(x0: float, x1: float) -> None:
            """finplot's set_x_pos() without the time lookup: the zoom, then it marks its
            candle pictures dirty (a far jump otherwise leaves a stale picture off-screen)."""
            price_ax.vb.update_y_zoom(x0, x1)
            fplt._repaint_candles()

        return timing.Chart(window, set_range, lambda: candle_paints[0], jump)

    timer, first = timing.first_frame(build)
    series = timing.run_sequence(timer, n)
    figures = timing.summary(first, series, timer)
    figures.update(
        {
            "library": f"finplot {fplt.__version__}",
            "pyqtgraph": pg.__version__,
            "qt": f"{pg.Qt.QT_LIB} {pg.Qt.QtCore.qVersion()}",
            "volume_pane": volume_pane,
            "overlays": True,
            "markers": True,
            "trades": len(data["entry_index"]),
            "window": [timer.widget.width(), timer.widget.height()],
            **frame_build,
        }
    )
    figures["peak_mb"] = timing.peak_rss_mb()
    if os.environ.get("CHART_BENCH_SHOTS"):  # after timing: look at what was measured
        figures["shots"] = timing.save_shots(timer, n, os.environ["CHART_BENCH_SHOTS"], "finplot")
    Path(out_path).write_text(json.dumps(figures), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
