"""The documented bar CSV (``timestamp,open,high,low,close,volume``, ISO times with an
offset) parsed by DuckDB's reader: a faster PARSER, nothing more.

DuckDB reads a million rows several times faster than pandas; the columns it returns go to
bar_rules.finish like the pandas reader's, so the bars, notes and errors are the same on both
paths (a contract test feeds both the same files). It steps aside (returns None) whenever it
is not sure: another layout, times written in several ways, a field it cannot convert, or
any rule failing, so that the pandas reader names the exact ``file:line`` (DuckDB skips
blank lines, so its row numbers are not always file lines).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import TYPE_CHECKING, Final

import duckdb
import numpy as np
import pandas as pd

from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.importers.bar_rules import finish
from engine.data.importers.csv_table import CsvTable
from engine.data.importers.sources import Source

if TYPE_CHECKING:
    from engine.data.importers.generic import Layout

HEADER: Final = ("timestamp", "open", "high", "low", "close", "volume")
HEAD_ROWS: Final = 2_000  # lines read in Python to choose the one strptime format
# One strptime format per file (trying several per row costs ~7%): "%z" takes +05:30, +0530
# and +05 and gives a TIMESTAMPTZ; a literal "Z" gives a naive TIMESTAMP read as UTC.
TIME_FORMATS: Final = tuple(
    f"%Y-%m-%d{sep}%H:%M:%S{zone}" for sep in ("T", " ") for zone in ("%z", "Z")
)
_READ: Final = (
    "read_csv(?, header = true, auto_detect = false, delim = ',', quote = '\"', "
    "strict_mode = true, columns = {'timestamp': 'VARCHAR', 'open': 'DOUBLE', "
    "'high': 'DOUBLE', 'low': 'DOUBLE', 'close': 'DOUBLE', 'volume': 'DOUBLE'})"
)


def read(
    source: Source,
    layout: Layout,
    symbol: str | None,
    exchange: str,
    timeframe: str | None,
) -> ImportBatch | None:
    """The batch, or None when the pandas reader should read the file."""
    if (
        source.data is not None  # unzipped in memory: DuckDB reads paths
        or layout.zone is not None
        or layout.date_format is not None
        or tuple(h.strip().lower() for h in source.header()) != HEADER
    ):
        return None
    time_format = _time_format(source)
    if time_format is None:
        return None
    try:
        with duckdb.connect() as con:
            con.execute("SET enable_progress_bar = false")
            columns = con.execute(
                f"SELECT epoch_ns(strptime(timestamp, '{time_format}')) AS ts, open, high, low, "
                f"close, volume FROM {_READ}",
                [str(source.path)],
            ).fetchnumpy()
    except duckdb.Error:
        return None  # a row it cannot convert: the pandas reader names it
    arrays = {name: np.ma.asarray(values) for name, values in columns.items()}
    if len(arrays["ts"]) == 0 or any(np.ma.getmaskarray(a).any() for a in arrays.values()):
        return None  # empty fields: the pandas reader names the line
    n = len(arrays["ts"])
    frame = pd.DataFrame(
        {name: np.asarray(arrays[name].data, dtype=np.float64) for name in HEADER[1:]}
    )
    table = CsvTable(source.label, frame, np.arange(2, n + 2, dtype=np.int64))
    ts = np.asarray(arrays["ts"].data, dtype=np.int64)
    try:
        return finish(source, "ohlcv_csv", table, ts, symbol, exchange, timeframe)
    except BarDataError:
        return None  # the same rule fails on the pandas reader's table, with exact lines


def _time_format(source: Source) -> str | None:
    """The strptime format the file's first lines all use, if it is one DuckDB can take."""
    formats = set()
    with source.path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        handle.readline()
        for line in itertools.islice(handle, HEAD_ROWS):
            if not line.strip():
                continue
            text = line.split(",", 1)[0].strip()
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                return None
            if when.tzinfo is None or len(text) < 20:
                return None
            formats.add(f"%Y-%m-%d{text[10:11]}%H:%M:%S{'Z' if text.endswith('Z') else '%z'}")
    if len(formats) != 1:
        return None
    found = formats.pop()
    return found if found in TIME_FORMATS else None
