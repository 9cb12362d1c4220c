"""CSV/Parquet bar files -> BarSeries: loaded whole, or refused naming file:line and field.

Clean CSVs take a vectorised fast path (the C parser's floats, checked to be whole paise); any
doubt re-reads the columns as text, to quote what is written and let Decimal settle the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data.bar_series import (
    PRICE_FIELDS,
    BarDataError,
    BarSeries,
    Int64Array,
    RowProblem,
    find_bad_bar,
    ist_iso,
    resolve_timeframe,
)

Float64Array = npt.NDArray[np.float64]
REQUIRED: Final = ("timestamp", *PRICE_FIELDS, "volume")
_PAISE_TOLERANCE: Final = 1e-6  # absorbs float noise (101.22999999999999), not a 3rd decimal
_FLOAT_EXACT: Final = 1e15  # float64 holds whole numbers exactly up to here; beyond: Decimal
_NS_RANGE: Final = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))
_OFFSET: Final = r"[T ][^+-]*(?:Z|[+-]\d\d(?::?\d\d)?)$"  # after the time: a bare date has none
_COMPRESSED: Final = (".gz", ".bz2", ".zip", ".xz", ".zst")
_INTEGERS: Final = {u + t for u in ("", "U") for t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")}


def _need_text(i: int) -> str:  # the fast path cannot explain row i: re-read the file as text
    raise RowProblem(i, "needs the text as written")


def to_int64(
    values: Float64Array, name: str, text: Callable[[int], str], scale: int = 100
) -> Int64Array:
    """Floats -> exact int64: rupees to paise (scale 100) or whole volumes (scale 1).

    `text(i)` is row i as written: quoted in messages and settled by Decimal when in doubt.
    Suspect rows go in file order, so the first one raised is the earliest bad row.
    """
    finite = np.isfinite(values)
    scaled = np.where(finite, values, 0.0) * scale
    rounded = np.rint(scaled)
    tolerance = _PAISE_TOLERANCE if scale == 100 else 0.0
    suspect = ~finite | (np.abs(scaled - rounded) > tolerance) | (np.abs(scaled) >= _FLOAT_EXACT)
    result = np.where(suspect, 0.0, rounded).astype(np.int64)
    for j in np.flatnonzero(suspect).tolist():  # none for clean data: the path stays vectorised
        result[j] = exact_int(text(j).strip(), name, j, scale)
    return result


def exact_int(raw: str, name: str, i: int, scale: int = 100) -> int:
    if raw == "":
        raise RowProblem(i, f"{name} is empty")
    try:
        value = Decimal(raw) * scale
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise RowProblem(i, f"{name} {raw!r} is not a number")
    if value != value.to_integral_value():
        wrong = "has more than 2 decimals (paise)" if scale == 100 else "is not a whole number"
        raise RowProblem(i, f"{name} {raw} {wrong}")
    if abs(value) >= 2**63:
        raise RowProblem(i, f"{name} {raw} is too large")
    return int(value)


@dataclass(frozen=True)
class _Bars:
    """Parsed columns and how to name row i: its CSV file line or its Parquet row."""

    ts: Int64Array
    prices: dict[str, Int64Array]
    volume: Int64Array
    numbers: npt.NDArray[np.intp]  # numbers[i]: 1-based file line (CSV) or row (Parquet)
    unit: str
    when: Callable[[int], str]

    def name(self, i: int) -> str:
        return f"{self.unit} {self.numbers[i]}"


def _fail(path: Path, unit: str, number: int, bad: RowProblem) -> BarDataError:
    where = None if unit == "line" else f"{path} row {number}"
    return BarDataError(bad.problem, path, number, index=bad.index, where=where)


def load_bars(
    path: str | Path, symbol: str | None = None, timeframe: str | None = None
) -> BarSeries:
    """Load a whole CSV or Parquet bar file, or raise BarDataError saying where it is wrong."""
    path = Path(path)
    stem = path.name
    if path.suffix.lower() in _COMPRESSED:
        stem = stem[: -len(path.suffix)]
    kind = Path(stem).suffix.lower()
    if not path.is_file():
        raise BarDataError("is not a file" if path.exists() else "file not found", path)
    if kind in (".parquet", ".pq"):
        bars = _read_parquet(path)
    elif kind in (".csv", ".txt"):
        bars = _read_csv(path)
    else:
        raise BarDataError(f"unsupported file type {kind!r}; use .csv or .parquet", path)
    try:
        find_bad_bar(bars.ts, bars.prices, bars.volume, bars.name, bars.when)
    except RowProblem as bad:
        raise _fail(path, bars.unit, int(bars.numbers[bad.index]), bad) from None
    try:
        tf = resolve_timeframe(bars.ts, timeframe)
    except BarDataError as err:
        raise BarDataError(err.problem, path) from None
    symbol = symbol or stem[: len(stem) - len(kind)].upper()
    p = bars.prices
    return BarSeries(symbol, tf, bars.ts, p["open"], p["high"], p["low"], p["close"], bars.volume)


def _read_csv(path: Path) -> _Bars:
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise BarDataError("file is empty", path, 1) from None
    except UnicodeDecodeError:
        raise BarDataError("is not UTF-8 text", path) from None
    columns: dict[str, str] = {}
    for col in map(str, header.columns):
        if columns.setdefault(key := col.strip().lower(), col) != col and key in REQUIRED:
            raise BarDataError(f"column {key!r} appears twice", path, 1)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        found = ", ".join(map(str, header.columns))
        raise BarDataError(f"missing column {', '.join(missing)}; found: {found}", path, 1)
    try:  # fast path; anything odd is re-read as text so it can be quoted exactly
        return _parse_csv(path, [columns[c] for c in REQUIRED], as_text=False)
    except RowProblem:
        return _parse_csv(path, [columns[c] for c in REQUIRED], as_text=True)


def _parse_csv(path: Path, columns: list[str], as_text: bool) -> _Bars:
    """Blank lines stay in (skip_blank_lines=False) so row positions map to file lines."""
    try:
        frame = pd.read_csv(
            path,
            index_col=False,  # a row with extra fields is an error, not silently shifted
            dtype=str if as_text else {columns[0]: str},
            keep_default_na=False,
            na_values=[] if as_text else [""],
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )[columns].set_axis(list(REQUIRED), axis=1)
    except UnicodeDecodeError:
        raise BarDataError("is not UTF-8 text", path) from None
    except pd.errors.ParserError as err:  # "C error: Expected 6 fields in line 9, saw 7"
        found = re.search(r"line (\d+)", str(err))
        problem = f"malformed CSV: {str(err).strip().split('. ')[-1]}"
        raise BarDataError(problem, path, int(found.group(1)) if found else None) from None
    if not as_text and any(frame[c].dtype.kind not in "iuf" for c in REQUIRED[1:]):
        raise RowProblem(0, "a word in a number column: find it and quote it")
    text = {c: _stripped(frame[c]) for c in REQUIRED} if as_text else None
    empty = [text[c] == "" for c in REQUIRED] if text else [frame.isna().all(axis=1).to_numpy()]
    kept = np.flatnonzero(~np.logical_and.reduce(empty))
    if len(kept) == 0:
        raise BarDataError("no bars after the header", path, 2)
    if len(kept) < len(frame):
        frame = frame.iloc[kept]
        text = {c: t[kept] for c, t in text.items()} if text else None
    ts_text = text["timestamp"] if text else frame["timestamp"].to_numpy(object, na_value="")
    got: dict[str, Int64Array] = {}
    problems: list[RowProblem] = []
    for name in REQUIRED:
        try:
            if name == "timestamp":
                got[name] = parse_timestamps(ts_text)
            else:
                got[name] = _csv_numbers(frame[name], name, text[name] if text else None)
        except RowProblem as bad:
            problems.append(bad)  # go on: report the earliest bad line of all columns
    if problems:  # as text: name the earliest bad line; fast path: go and read it as text
        first = min(problems, key=lambda p: p.index)
        raise _fail(path, "line", int(kept[first.index]) + 2, first) if as_text else first
    prices = {name: got[name] for name in PRICE_FIELDS}
    return _Bars(got["timestamp"], prices, got["volume"], kept + 2, "line", ts_text.__getitem__)


def _stripped(cells: pd.Series | npt.ArrayLike) -> npt.NDArray[np.str_]:
    # numpy strings strip in C; pandas' python-backed .str takes ten times as long
    if isinstance(cells, pd.Series):
        cells = cells.to_numpy(dtype=object, na_value="")
    return np.strings.strip(np.array(cells, dtype=np.dtypes.StringDType()))


def _csv_numbers(column: pd.Series, name: str, text: npt.NDArray[np.str_] | None) -> Int64Array:
    scale = 1 if name == "volume" else 100
    if text is None:  # fast path: the C parser's numbers
        if name == "volume" and column.dtype.kind in "iu":
            return column.to_numpy(dtype=np.int64)
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return to_int64(values, name, _need_text, scale)
    try:
        values = text.astype(np.float64)
    except ValueError:  # a word somewhere: it becomes NaN here and is quoted by to_int64
        numbers = pd.to_numeric(pd.Series(text.astype(object)), errors="coerce")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return to_int64(values, name, lambda i: str(text[i]), scale)


def parse_timestamps(text: npt.ArrayLike) -> Int64Array:
    """ISO-8601 text with a UTC offset -> int64 UTC ns; naive text is ambiguous: refused."""
    try:
        parsed = pd.DatetimeIndex(pd.to_datetime(pd.Series(text, dtype=object), format="ISO8601"))
        if parsed.tz is not None and not parsed.hasnans:
            return np.array(parsed.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
    except (ValueError, OverflowError):
        pass  # mixed offsets, a bad value, out of range: sort it out row by row
    cleaned = pd.Series(_stripped(text).astype(object))
    has_offset = cleaned.str.contains(_OFFSET, case=False, regex=True).to_numpy(dtype=bool)
    utc = pd.DatetimeIndex(
        pd.to_datetime(cleaned.where(has_offset, ""), format="ISO8601", utc=True, errors="coerce")
    )
    in_range = np.asarray((utc >= _NS_RANGE[0]) & (utc <= _NS_RANGE[1]), dtype=bool)
    good = has_offset & in_range
    if good.all():
        return np.array(utc.as_unit("ns").asi8, dtype=np.int64)
    i = int(np.argmin(good))
    raw = str(cleaned.iloc[i])
    if raw == "":
        raise RowProblem(i, "timestamp is empty")
    if has_offset[i] and not pd.isna(utc[i]):
        raise RowProblem(i, f"timestamp {raw} is out of range (years 1678-2261)")
    if not has_offset[i] and not pd.isna(pd.to_datetime(raw, format="ISO8601", errors="coerce")):
        fix = raw.replace(" ", "T", 1) if len(raw) > 10 else f"{raw}T00:00:00"
        raise RowProblem(i, f"timestamp {raw} has no UTC offset; write it as {fix}+05:30")
    raise RowProblem(i, f"timestamp {raw!r} is not an ISO-8601 date-time with offset")


def _read_parquet(path: Path) -> _Bars:
    """Through DuckDB (no pyarrow needed); prices come as DOUBLE and get the same paise check."""
    with duckdb.connect() as con:
        try:
            rel = con.read_parquet(str(path))
        except duckdb.Error as err:
            raise BarDataError(f"not a Parquet file: {str(err).splitlines()[0]}", path) from None
        schema = {
            n.strip().lower(): (n, str(t).upper())
            for n, t in zip(rel.columns, rel.types, strict=True)
        }
        missing = [c for c in REQUIRED if c not in schema]
        if missing:
            found = ", ".join(rel.columns)
            raise BarDataError(f"missing column {', '.join(missing)}; found: {found}", path)
        data = rel.project(", ".join(_parquet_expr(path, c, *schema[c]) for c in REQUIRED))
        columns = {c: np.ma.asarray(a) for c, a in data.fetchnumpy().items()}
    if len(columns["timestamp"]) == 0:
        raise BarDataError("no bars in the file", path)
    values = {c: np.ma.filled(columns[c].astype(np.float64), np.nan) for c in REQUIRED[1:]}
    try:
        null_ts = np.ma.getmaskarray(columns["timestamp"])
        if null_ts.any():
            raise RowProblem(int(np.argmax(null_ts)), "timestamp is missing (null)")
        ts = np.asarray(columns["timestamp"].data, dtype=np.int64)
        prices = {c: to_int64(values[c], c, float_text(values[c])) for c in PRICE_FIELDS}
        volume = to_int64(values["volume"], "volume", float_text(values["volume"]), scale=1)
    except RowProblem as bad:
        raise _fail(path, "row", bad.index + 1, bad) from None
    return _Bars(ts, prices, volume, np.arange(1, len(ts) + 1), "row", lambda i: ist_iso(ts[i]))


def float_text(values: Float64Array) -> Callable[[int], str]:
    return lambda i: "" if np.isnan(values[i]) else repr(float(values[i]))


def _parquet_expr(path: Path, column: str, name: str, sql_type: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if column == "timestamp":
        if sql_type == "TIMESTAMP WITH TIME ZONE":
            return f"epoch_ns({quoted}) AS timestamp"
        if sql_type in _INTEGERS:
            return f"CAST({quoted} AS BIGINT) AS timestamp"
        hint = "store tz-aware (UTC-adjusted) timestamps or int64 nanoseconds since the epoch, UTC"
        naive = " without a time zone" if sql_type.startswith(("TIMESTAMP", "DATE")) else ""
        raise BarDataError(f"column {name} is {sql_type}{naive}; {hint}", path)
    if sql_type not in _INTEGERS and not sql_type.startswith(("DECIMAL", "DOUBLE", "FLOAT")):
        raise BarDataError(f"column {name} has type {sql_type}; expected numbers", path)
    return f"CAST({quoted} AS DOUBLE) AS {column}"
