"""Parquet bar files (format parquet), read through DuckDB (no pyarrow needed).

Same columns, mapping, options and rules as ohlcv_csv (engine.data.importers.generic). By
column type:
- timestamp: TIMESTAMP WITH TIME ZONE (instants); an integer (ns since the epoch, UTC);
  TIMESTAMP without a zone (wall-clock: needs ``mapping={"timezone": "Asia/Kolkata"}``); DATE
  (daily bars at the session open); or text (parsed like CSV text);
- open/high/low/close/volume/oi: any numeric type (prices get the exact paise check; integer
  columns are read as integers, so a volume stays exact however large);
- symbol/time: read as text.
Messages name rows as ``file.parquet row N`` (1-based).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import duckdb
import numpy as np
import pandas as pd

from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.importers.bar_rules import finish
from engine.data.importers.csv_table import CsvTable
from engine.data.importers.generic import resolve_layout
from engine.data.importers.sources import Source
from engine.data.importers.timestamps import column_times

_INTEGERS: Final = {u + t for u in ("", "U") for t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")}
_NUMERIC: Final = ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "HUGEINT")


def read(
    source: Source,
    mapping: Mapping[str, str] | None,
    symbol: str | None,
    exchange: str,
    timeframe: str | None,
) -> ImportBatch:
    label = str(source.path)
    with duckdb.connect() as con:
        try:
            rel = con.read_parquet(label)
        except duckdb.Error as err:
            problem = str(err).splitlines()[0]
            raise BarDataError(f"not a readable Parquet file: {problem}", label) from None
        types = {name: str(kind).upper() for name, kind in zip(rel.columns, rel.types, strict=True)}
        layout = resolve_layout(rel.columns, mapping, label)
        kinds: dict[str, str] = {}
        exprs = []
        for canonical, name in layout.columns.items():
            expr, kinds[canonical] = _expression(label, canonical, name, types[name])
            exprs.append(f"{expr} AS {canonical}")
        data = rel.project(", ".join(exprs)).fetchnumpy()
    n = len(data["timestamp"])
    if n == 0:
        raise BarDataError("no rows in the file", label)
    frame = pd.DataFrame({c: _column(np.ma.asarray(data[c]), kinds[c]) for c in layout.columns})
    table = CsvTable(label, frame, np.arange(1, n + 1, dtype=np.int64), unit="row")
    times = column_times(table, layout.zone, layout.date_format, kinds["timestamp"] == "date")
    return finish(source, "parquet", table, times, symbol, exchange, timeframe)


def _expression(label: str, canonical: str, name: str, sql_type: str) -> tuple[str, str]:
    """SQL to fetch one column, and how to read what comes back."""
    quoted = '"' + name.replace('"', '""') + '"'
    if canonical in ("symbol", "time"):
        return f"CAST({quoted} AS VARCHAR)", "text"
    if canonical != "timestamp":
        if sql_type in _INTEGERS and sql_type != "UBIGINT":  # exact, as CSV integers are
            return f"CAST({quoted} AS BIGINT)", "integer"
        if sql_type in _INTEGERS or sql_type.startswith(_NUMERIC):
            return f"CAST({quoted} AS DOUBLE)", "number"
        raise BarDataError(f"column {name} has type {sql_type}; expected numbers", label)
    if sql_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"epoch_ns({quoted})", "aware"
    if sql_type.startswith("TIMESTAMP"):
        return f"epoch_ns({quoted})", "naive"
    if sql_type in _INTEGERS:
        return f"CAST({quoted} AS BIGINT)", "aware"
    if sql_type == "DATE":
        return f"CAST({quoted} AS VARCHAR)", "date"
    if sql_type == "VARCHAR":
        return quoted, "text"
    raise BarDataError(f"column {name} has type {sql_type}; expected a timestamp", label)


def _column(values: np.ma.MaskedArray, kind: str) -> pd.Series:
    missing = np.ma.getmaskarray(values)
    if kind == "integer" and not missing.any():
        return pd.Series(np.asarray(values.data, dtype=np.int64))
    if kind in ("integer", "number"):
        return pd.Series(np.ma.filled(values.astype(np.float64), np.nan))
    if kind in ("aware", "naive"):
        ns = np.ma.filled(values.astype(np.int64), 0)
        stamps = pd.to_datetime(ns, unit="ns", utc=kind == "aware")
        return pd.Series(stamps.where(~missing))
    filled = np.where(missing, "", values.data.astype(object))
    return pd.Series(filled, dtype=object).astype(str)
