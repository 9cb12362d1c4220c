"""A CSV or Parquet bar file -> one BarSeries, for `artha backtest --data` and scripts.

The file is read by the importer (engine.data.importers.read_file), so it passes exactly the
rules an import into the store applies (bar_rules: exact paise, timeframe both ways, daily
bars at the session open) and gives the same errors, ``file:line: what``. What the importer
notes (bars moved, bars on days the exchange was closed, bars dated after today) comes back
with the series, for the caller to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.data.bar_series import BarDataError, BarSeries
from engine.data.closed_days import ClosedDays
from engine.data.importers import read_file


@dataclass(frozen=True)
class LoadedBars:
    series: BarSeries
    notes: list[str]  # the importer's notes, plus (last) one for bars on closed days
    closed_days: ClosedDays | None = None


def read_bar_file(
    path: str | Path,
    symbol: str | None = None,
    timeframe: str | None = None,
    *,
    exchange: str = "NSE",
    mapping: Mapping[str, str] | None = None,
) -> LoadedBars:
    """Load a whole file of one symbol's bars, or raise BarDataError saying where it is wrong."""
    batch = read_file(path, mapping=mapping, symbol=symbol, exchange=exchange, timeframe=timeframe)
    bars = batch.bars
    names = bars["symbol"].astype(str).unique()
    if len(names) != 1:
        shown = ", ".join(sorted(names)[:5])
        raise BarDataError(f"holds bars of {len(names)} symbols ({shown}); a backtest file "
                           "holds one (import it into the store instead)", path)  # fmt: skip
    order = np.argsort(bars["ts"].to_numpy(dtype=np.int64), kind="stable")
    column = {name: bars[name].to_numpy(dtype=np.int64)[order] for name in
              ("ts", "open", "high", "low", "close", "volume")}  # fmt: skip
    series = BarSeries(
        str(names[0]), str(bars["timeframe"].iloc[0]), column["ts"], column["open"],
        column["high"], column["low"], column["close"], column["volume"],
    )  # fmt: skip
    notes = list(batch.notes)
    if batch.closed_days:
        notes.append(batch.closed_days.describe())
    return LoadedBars(series, notes, batch.closed_days)


def load_bars(
    path: str | Path, symbol: str | None = None, timeframe: str | None = None
) -> BarSeries:
    """read_bar_file's series alone."""
    return read_bar_file(path, symbol, timeframe).series
