"""Timestamps of generic bar files -> int64 UTC ns, or trade dates for daily bars.

The rules (offsets, the mapping's "timezone" and "date_format" options, date-only columns)
are described in engine.data.importers.generic; this module only applies them, naming the
first bad row exactly when the fast vectorised parse fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.calendar import IST
from engine.data.bar_series import Int64Array, RowProblem
from engine.data.exact_values import parse_timestamps, quoted
from engine.data.importers.csv_table import CsvTable, ObjectArray

TIME_FIELDS: Final = re.compile(r"%[HIMSXcTpf]")
_NS_RANGE: Final = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))
_DAY_RANGE: Final = (date(1678, 1, 1), date(2261, 12, 31))
ZONE_HINT: Final = (
    "say which time zone the file's times are in (--timezone Asia/Kolkata; in the import "
    "dialog: Times without an offset are in)"
)
_OFFSET: Final = re.compile(r"[T ][^+-]*(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Days:
    """Daily bars: row i trades on days[codes[i]] (stamped later at that session's open)."""

    codes: npt.NDArray[np.intp]
    days: list[date]


def column_times(
    table: CsvTable, zone: ZoneInfo | None, fmt: str | None, written_as_date: bool
) -> Int64Array | Days:
    """The timestamp column (parsed by the reader when it could) -> UTC ns or session days."""
    column = table.frame["timestamp"]
    if "time" in table.frame.columns:
        return text_times(table, table.text("timestamp") + " " + table.text("time"), zone, fmt)
    if not isinstance(column.dtype, pd.DatetimeTZDtype) and column.dtype.kind != "M":
        return text_times(table, table.text("timestamp"), zone, fmt)
    index = pd.DatetimeIndex(column)
    if index.hasnans:
        raise table.fail(int(np.argmax(index.isna())), "timestamp is empty")
    if index.tz is not None:
        return utc_ns(table, index)
    date_only = (
        not TIME_FIELDS.search(fmt)
        if fmt
        else written_as_date and bool((index == index.normalize()).all())
    )
    if date_only:
        codes, uniques = pd.factorize(index)
        return checked_days(
            table, Days(np.asarray(codes, dtype=np.intp), [d.date() for d in uniques])
        )
    return _localize(table, index, zone, table.text("timestamp"))


def text_times(
    table: CsvTable, raw: ObjectArray, zone: ZoneInfo | None, fmt: str | None
) -> Int64Array | Days:
    """Timestamps as text: find the exact bad row when pandas could not parse the column."""
    has_time = pd.Series(raw, dtype=object).str.contains(":", regex=False).to_numpy(dtype=bool)
    if (not TIME_FIELDS.search(fmt)) if fmt else not has_time.any():
        example = datetime(2025, 6, 3).strftime(fmt) if fmt else "2025-06-03"
        codes, days = table.dates("timestamp", _day_parser(fmt), example, raw=raw)
        return checked_days(table, Days(codes, days))
    if fmt is None and zone is None:
        try:
            return parse_timestamps(raw)
        except RowProblem as bad:
            raise table.fail(bad.index, bad.problem) from None
    series = pd.Series(raw, dtype=object)
    if fmt is not None:
        parsed = pd.to_datetime(series, format=fmt, errors="coerce", utc="%z" in fmt)
        _first_nat(table, pd.DatetimeIndex(parsed), raw, f"does not match date_format {fmt!r}")
        index = pd.DatetimeIndex(parsed)
        if index.tz is not None:
            return utc_ns(table, index)
        return _localize(table, index, zone, raw)
    offset = series.str.contains(_OFFSET).to_numpy(dtype=bool)
    out = np.zeros(len(raw), dtype=np.int64)
    aware = pd.DatetimeIndex(pd.to_datetime(series[offset], format="ISO8601", errors="coerce",
                                            utc=True))  # fmt: skip
    _first_nat(table, aware, raw[offset], "is not an ISO-8601 date-time", np.flatnonzero(offset))
    out[offset] = utc_ns(table, aware, np.flatnonzero(offset))
    naive = pd.DatetimeIndex(pd.to_datetime(series[~offset], format="ISO8601", errors="coerce"))
    _first_nat(table, naive, raw[~offset], "is not an ISO-8601 date-time", np.flatnonzero(~offset))
    out[~offset] = _localize(table, naive, zone, raw[~offset], np.flatnonzero(~offset))
    return out


def utc_ns(
    table: CsvTable, index: pd.DatetimeIndex, rows: npt.NDArray[np.intp] | None = None
) -> Int64Array:
    """Aware times -> int64 UTC ns; a time beyond what ns can hold (years 1678-2261) is an
    error on its row, not pandas' OutOfBoundsDatetime."""
    utc = index.tz_convert("UTC")
    outside = np.asarray((utc < _NS_RANGE[0]) | (utc > _NS_RANGE[1]), dtype=bool)
    if outside.any():
        j = int(np.argmax(outside))
        i = j if rows is None else int(rows[j])
        raise table.fail(i, f"timestamp {utc[j].tz_convert(IST):%Y-%m-%d %H:%M} is out of "
                            "range (years 1678-2261)")  # fmt: skip
    return np.array(utc.as_unit("ns").asi8, dtype=np.int64)


def checked_days(table: CsvTable, days: Days) -> Days:
    """Trade dates must be stampable in ns too."""
    for k, day in enumerate(days.days):
        if not _DAY_RANGE[0] <= day <= _DAY_RANGE[1]:
            i = int(np.argmax(days.codes == k))
            raise table.fail(i, f"date {day} is out of range (years 1678-2261)")
    return days


def _day_parser(fmt: str | None) -> Callable[[str], date]:
    if fmt is None:
        return date.fromisoformat
    return lambda text: datetime.strptime(text, fmt).date()


def _first_nat(
    table: CsvTable,
    index: pd.DatetimeIndex,
    raw: ObjectArray,
    problem: str,
    rows: npt.NDArray[np.intp] | None = None,
) -> None:
    if index.hasnans:
        j = int(np.argmax(index.isna()))
        i = j if rows is None else int(rows[j])
        text = str(raw[j])
        shown = f"timestamp {quoted(text)} {problem}"
        raise table.fail(i, "timestamp is empty" if text == "" else shown)


def _localize(
    table: CsvTable,
    index: pd.DatetimeIndex,
    zone: ZoneInfo | None,
    raw: ObjectArray,
    rows: npt.NDArray[np.intp] | None = None,
) -> Int64Array:
    """Naive wall-clock times -> UTC ns in the mapping's timezone (refused without one)."""
    if zone is None:
        i = 0 if rows is None else int(rows[0])
        raise table.fail(
            i,
            f"timestamp {raw[0]} has no UTC offset: {ZONE_HINT}",
        )
    local = index.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    _first_nat(table, local, raw, f"does not exist or is ambiguous in {zone.key}", rows)
    return utc_ns(table, local, rows)
