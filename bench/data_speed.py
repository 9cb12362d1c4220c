"""Market-data speed (issue 4): CSV import vs DuckDB's own read_csv, five years of daily
bhavcopies, and reading one symbol-year of 1-minute bars into numpy arrays.

    .venv/bin/python bench/data_speed.py                 # the issue's sizes
    .venv/bin/python bench/data_speed.py --quick         # a tenth of them, for a smoke run

All files are generated (seeded) into a temp folder and deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# isort: off
from engine.calendar import get_calendar
from engine.data.import_files import import_files
from engine.data.store import MarketStore
from synthetic_bars import make_bars

# isort: on

UDIFF_HEADER = (
    "TradDt,BizDt,Sgmt,Src,FinInstrmTp,FinInstrmId,ISIN,TckrSymb,SctySrs,XpryDt,"
    "FininstrmActlXpryDt,StrkPric,OptnTp,FinInstrmNm,OpnPric,HghPric,LwPric,ClsPric,LastPric,"
    "PrvsClsgPric,UndrlygPric,SttlmPric,OpnIntrst,ChngInOpnIntrst,TtlTradgVol,TtlTrfVal,"
    "TtlNbOfTxsExctd,SsnId,NewBrdLotQty,Rmks,Rsvd1,Rsvd2,Rsvd3,Rsvd4"
)


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def write_minute_csvs(folder: Path, symbols: int, bars: int) -> list[Path]:
    """`symbols` files of `bars` one-minute bars each, in the documented CSV layout."""
    paths = []
    for k in range(symbols):
        b = make_bars(bars, seed=100 + k)
        stamps = pd.to_datetime(b["ts"], unit="ns", utc=True).tz_convert("Asia/Kolkata")
        frame = pd.DataFrame({
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S+05:30"),
            "open": b["open"] / 100, "high": b["high"] / 100, "low": b["low"] / 100,
            "close": b["close"] / 100, "volume": b["volume"],
        })  # fmt: skip
        path = folder / f"SYM{k:02d}.csv"
        frame.to_csv(path, index=False, float_format="%.2f")
        paths.append(path)
    return paths


def csv_import(folder: Path, symbols: int, bars: int) -> None:
    paths = write_minute_csvs(folder, symbols, bars)
    total = symbols * bars
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"CSV import: {total:,} one-minute bars in {symbols} files ({size_mb:,.0f} MB)")

    def duck() -> None:
        db = folder / "bare.duckdb"
        db.unlink(missing_ok=True)
        con = duckdb.connect(str(db))
        con.execute(
            "CREATE TABLE bars AS SELECT * FROM read_csv(?, header=true)",
            [[str(p) for p in paths]],
        )
        con.close()

    def artha() -> None:
        db = folder / "artha.duckdb"
        db.unlink(missing_ok=True)
        with MarketStore.open(db) as store:
            import_files(store, paths)

    duck_runs, artha_runs = [], []
    for _ in range(3):  # alternated, best of 3 each: this shared machine's speed drifts
        duck_runs.append(best(duck, 1))
        artha_runs.append(best(artha, 1))
    duck_s, artha_s = min(duck_runs), min(artha_runs)
    print(f"  DuckDB read_csv into a bare table: {duck_s:6.2f} s ({total / duck_s:,.0f} bars/s)")
    print(
        f"  Artha import (parse, validate, store): {artha_s:6.2f} s ({total / artha_s:,.0f} bars/s)"
    )
    print(f"  ratio Artha/DuckDB: {artha_s / duck_s:.2f}x (target <= 2x)")


def write_bhavcopies(folder: Path, days: int, symbols: int) -> list[Path]:
    """NSE UDiFF CM files: `symbols` rows each, on the last `days` NSE sessions of 2025."""
    sessions = get_calendar("NSE").sessions(date(2018, 1, 1), date(2025, 12, 31))[-days:]
    rng = np.random.default_rng(5)
    base = rng.uniform(50, 5000, symbols)
    names = [f"SYMB{i:04d}" for i in range(symbols)]
    paths = []
    for s in sessions:
        base *= np.exp(rng.normal(0, 0.015, symbols))
        close = np.round(base * 20) / 20
        opn = np.round(close * np.exp(rng.normal(0, 0.01, symbols)) * 20) / 20
        high = np.maximum(opn, close) + 0.05 * rng.integers(0, 40, symbols)
        low = np.maximum(np.minimum(opn, close) - 0.05 * rng.integers(0, 40, symbols), 0.05)
        vol = rng.integers(1_000, 5_000_000, symbols)
        d = s.date.isoformat()
        lines = [UDIFF_HEADER]
        for i in range(symbols):
            lines.append(
                f"{d},{d},CM,NSE,STK,{1000 + i},INE{i:06d}01,{names[i]},EQ,,,,,{names[i]} LTD,"
                f"{opn[i]:.2f},{high[i]:.2f},{low[i]:.2f},{close[i]:.2f},{close[i]:.2f},"
                f"{close[i]:.2f},,{close[i]:.2f},,,{vol[i]},{vol[i] * close[i]:.2f},100,F1,1,,,,,"
            )
        path = folder / f"BhavCopy_NSE_CM_0_0_0_{s.date:%Y%m%d}_F_0000.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def bhavcopy_import(folder: Path, days: int, symbols: int) -> None:
    paths = write_bhavcopies(folder, days, symbols)
    db = folder / "bhav.duckdb"
    t0 = time.perf_counter()
    with MarketStore.open(db) as store:
        import_files(store, paths)  # what `artha data import` and the Data panel run
        stored = sum(s.bars for s in store.list_series())
    seconds = time.perf_counter() - t0
    print(
        f"Bhavcopy import: {len(paths)} daily NSE UDiFF files x {symbols:,} symbols "
        f"= {stored:,} bars in {seconds:.1f} s ({seconds / len(paths) * 1000:.1f} ms/file; "
        "target < 30 s for five years)"
    )


def symbol_year_read(folder: Path) -> None:
    db = folder / "read.duckdb"
    b = make_bars(94_000 * 3, seed=9)
    from engine.data import BarSeries

    with MarketStore.open(db) as store:
        for k in range(3):
            part = slice(k * 94_000, (k + 1) * 94_000)
            store.write_bars(BarSeries.from_arrays(
                symbol=f"READ{k}", ts=b["ts"][part], open=b["open"][part],
                high=b["high"][part], low=b["low"][part], close=b["close"][part],
                volume=b["volume"][part], prices_in_paise=True,
            ))  # fmt: skip
        store.read_bars("READ1", "1m")  # warm
        seconds = best(lambda: store.read_bars("READ1", "1m"), 5)
    print(
        f"Read one symbol-year (94,000 one-minute bars) into numpy: {seconds * 1000:.1f} ms "
        "(target < 30 ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument(
        "--only", choices=("read", "bhavcopy", "csv"), help="run one of the three benchmarks"
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    folder = Path(tempfile.mkdtemp(prefix="artha-bench-"))
    try:
        print(
            f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
            f"duckdb {duckdb.__version__}"
        )
        if args.only in (None, "read"):
            symbol_year_read(folder)
        if args.only in (None, "bhavcopy"):
            bhavcopy_import(folder, 1250 // scale, 2000)
        if args.only in (None, "csv"):
            csv_import(folder, 10, 1_000_000 // scale)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
