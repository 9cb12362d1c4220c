"""Exact numbers and times from what files write: rupees to int64 paise, whole volumes, ISO
timestamps to UTC ns. Shared by every reader (engine.data.importers) and BarSeries.from_arrays.

Floats take a vectorised path and only doubtful values (a third decimal, beyond float's exact
range, NaN) are settled one by one by Decimal from the text as written, which messages quote.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data.bar_series import Int64Array, RowProblem

Float64Array = npt.NDArray[np.float64]
_PAISE_TOLERANCE: Final = 1e-6  # absorbs float noise (101.22999999999999), not a 3rd decimal
_FLOAT_EXACT: Final = 1e15  # float64 holds whole numbers exactly up to here; beyond: Decimal
_NS_RANGE: Final = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))
_OFFSET: Final = r"[T ][^+-]*(?:Z|[+-]\d\d(?::?\d\d)?)$"  # after the time: a bare date has none


QUOTED_MAX: Final = 40  # characters of a bad value quoted in a message (a field can be 50 MB)


def cut(text: str) -> str:
    """A value as written, cut to QUOTED_MAX characters for messages."""
    if len(text) <= QUOTED_MAX:
        return text
    return f"{text[:QUOTED_MAX]}… ({len(text):,} characters)"


def quoted(text: str) -> str:
    """repr() of a value as written, cut to QUOTED_MAX characters for messages."""
    if len(text) <= QUOTED_MAX:
        return repr(text)
    return f"{text[:QUOTED_MAX]!r}… ({len(text):,} characters)"


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
        raise RowProblem(i, f"{name} {quoted(raw)} is not a number")
    if value != value.to_integral_value():
        wrong = "has more than 2 decimals (paise)" if scale == 100 else "is not a whole number"
        raise RowProblem(i, f"{name} {cut(raw)} {wrong}")
    if abs(value) >= 2**63:
        raise RowProblem(i, f"{name} {cut(raw)} is too large")
    return int(value)


def float_text(values: Float64Array) -> Callable[[int], str]:
    return lambda i: "" if np.isnan(values[i]) else repr(float(values[i]))


def _stripped(cells: pd.Series | npt.ArrayLike) -> npt.NDArray[np.str_]:
    # numpy strings strip in C; pandas' python-backed .str takes ten times as long
    if isinstance(cells, pd.Series):
        cells = cells.to_numpy(dtype=object, na_value="")
    return np.strings.strip(np.array(cells, dtype=np.dtypes.StringDType()))


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
        raise RowProblem(i, f"timestamp {cut(raw)} is out of range (years 1678-2261)")
    if not has_offset[i] and not pd.isna(pd.to_datetime(raw, format="ISO8601", errors="coerce")):
        raise RowProblem(
            i,
            f"timestamp {cut(raw)} has no UTC offset: say which time zone the file's times are in "
            "(--timezone Asia/Kolkata; in the import dialog: Times without an offset are in)",
        )
    raise RowProblem(i, f"timestamp {quoted(raw)} is not an ISO-8601 date-time with offset")
