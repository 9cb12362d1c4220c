"""An exchange CSV as typed columns that remember their file lines, for file:line errors.

Rules shared by every CSV format:
- Column names match case-insensitively after trimming spaces; only the columns a format
  needs are parsed (pandas' C parser, one pass). A missing required column is an error on
  line 1 (the header) listing what was found.
- Line numbers are 1-based file lines, header = line 1. Blank lines (and lines of bare
  commas) are skipped but still counted. Quoted fields spanning lines would shift the count;
  no exchange file has them.
- A row with more fields than the header is a malformed-CSV error on its line; a trailing
  comma on every line (legacy NSE files) is just an empty last column.
- Numbers: empty cell -> missing; a word in a number column -> ``'abc' is not a number``.
  Prices become int64 paise exactly: float noise (101.22999999999999) is absorbed, a third
  decimal (101.225) is refused (engine.data.bar_files.to_int64). Volumes must be whole.
- Text is trimmed (BSE pads names with spaces); an empty cell is "".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data.bar_files import float_text, to_int64
from engine.data.bar_series import BarDataError, Int64Array, RowProblem
from engine.data.importers.sources import Source

Float64Array = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
_FLOAT_KINDS: Final = "iuf"


@dataclass(frozen=True)
class CsvTable:
    """Parsed rows (blank lines dropped) keyed by upper-case column name, with file lines."""

    label: str
    frame: pd.DataFrame
    lines: Int64Array  # lines[i] is the 1-based file line of row i

    def __len__(self) -> int:
        return len(self.lines)

    def fail(self, i: int, problem: str) -> BarDataError:
        return BarDataError(problem, self.label, int(self.lines[i]))

    def where(self, i: int) -> str:
        return f"line {self.lines[i]}"

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def subset(self, keep: npt.NDArray[np.bool_]) -> CsvTable:
        if keep.all():
            return self
        return CsvTable(self.label, self.frame.loc[keep], self.lines[keep])

    def text(self, name: str) -> ObjectArray:
        column = self.frame[name]
        if column.dtype.kind in _FLOAT_KINDS:  # an all-empty column is parsed as NaN floats
            column = column.astype(object).where(column.notna(), "").astype(str)
        out: ObjectArray = column.str.strip().to_numpy(dtype=object, na_value="")
        return out

    def floats(self, name: str) -> Float64Array:
        """Numbers as float64 (NaN where empty); a word in the column is an error."""
        column = self.frame[name]
        if column.dtype.kind in _FLOAT_KINDS:
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        raw = self.text(name)
        numbers = pd.to_numeric(pd.Series(raw, dtype=object).replace("", np.nan), errors="coerce")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(np.isnan(values) & (raw != ""))
        if len(bad):
            i = int(bad[0])
            raise self.fail(i, f"{name} {raw[i]!r} is not a number")
        return values

    def paise(self, name: str, values: Float64Array | None = None) -> Int64Array:
        """Rupees -> exact int64 paise; empty or sub-paisa values are errors on their line."""
        return self._exact(name, self.floats(name) if values is None else values, 100)

    def whole(self, name: str, values: Float64Array | None = None) -> Int64Array:
        """Whole numbers (volumes, contracts, open interest) as int64; empty is an error."""
        column = self.frame[name]
        if values is None and column.dtype.kind in "iu":
            return column.to_numpy(dtype=np.int64)
        return self._exact(name, self.floats(name) if values is None else values, 1)

    def tokens(self, name: str) -> Int64Array | None:
        """Optional whole numbers (exchange tokens, scrip codes); None if all are empty."""
        values = self.floats(name)
        if np.isnan(values).all():
            return None
        return self.whole(name, values)

    def _exact(self, name: str, values: Float64Array, scale: int) -> Int64Array:
        try:
            return to_int64(values, name, float_text(values), scale)
        except RowProblem as bad:
            raise self.fail(bad.index, bad.problem) from None

    def dates(
        self,
        name: str,
        parse: Callable[[str], date],
        example: str,
        raw: ObjectArray | None = None,
    ) -> tuple[npt.NDArray[np.intp], list[date]]:
        """(codes, days): row i's date is days[codes[i]]. Each distinct text is parsed once."""
        raw = self.text(name) if raw is None else raw
        codes, uniques = pd.factorize(raw)
        days: list[date] = []
        for j, text in enumerate(uniques.tolist()):
            try:
                days.append(parse(str(text)))
            except ValueError:
                i = int(np.argmax(codes == j))
                problem = f"{name} is empty" if text == "" else f"{name} {text!r} is not a date"
                raise self.fail(i, f"{problem} like {example}") from None
        return np.asarray(codes, dtype=np.intp), days


def read_table(
    source: Source,
    required: Sequence[str],
    optional: Sequence[str] = (),
    text: Collection[str] = (),
) -> CsvTable:
    """Parse the named columns of a CSV file (names compared upper-case, trimmed)."""
    header = source.header()
    written: dict[str, str] = {}
    for name in header:
        key = name.strip().upper()
        if key in written and key in (*required, *optional):
            raise BarDataError(f"column {key} appears twice", source.label, 1)
        if key:
            written[key] = name
    missing = [name for name in required if name not in written]
    if missing:
        found = ", ".join(h for h in header if h.strip()) or "nothing"
        raise BarDataError(f"missing column {', '.join(missing)}; found: {found}", source.label, 1)
    wanted = [*required, *(name for name in optional if name in written)]
    try:
        frame = pd.read_csv(
            source.csv_input(),
            usecols=[written[name] for name in wanted],
            dtype={written[name]: str for name in text if name in written},
            index_col=False,  # a row with extra fields is an error, not a silent shift
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,  # keep row positions equal to file lines
            encoding="utf-8-sig",
            encoding_errors="replace",
        )
    except pd.errors.ParserError as err:  # "C error: Expected 14 fields in line 9, saw 15"
        found_line = re.search(r"line (\d+)", str(err))
        problem = f"malformed CSV: {str(err).strip().split('. ')[-1]}"
        line = int(found_line.group(1)) if found_line else None
        raise BarDataError(problem, source.label, line) from None
    except pd.errors.EmptyDataError:
        raise BarDataError("file is empty", source.label, 1) from None
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    blank = frame.isna().all(axis=1).to_numpy()
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    if blank.any():
        frame, lines = frame.loc[~blank], lines[~blank]
    if len(frame) == 0:
        raise BarDataError("no rows after the header", source.label, 2)
    return CsvTable(source.label, frame, lines)


def iso_date(text: str) -> date:
    return date.fromisoformat(text)


def legacy_date(text: str) -> date:
    """03-JUN-2024, 27-Jun-2024 or 13-Jul-20 (month names in any case)."""
    for layout in ("%d-%b-%Y", "%d-%b-%y"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            pass
    raise ValueError(text)
