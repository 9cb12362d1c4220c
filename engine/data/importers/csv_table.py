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
  decimal (101.225) is refused (engine.data.exact_values.to_int64). Volumes must be whole.
- Text is trimmed (BSE pads names with spaces); an empty cell is "".
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data.bar_series import BarDataError, Int64Array, RowProblem
from engine.data.exact_values import float_text, quoted, to_int64
from engine.data.importers.sources import Source

Float64Array = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
_FLOAT_KINDS: Final = "iuf"
_SAMPLE: Final = 64
_NEWLINE: Final = ord("\n")
_COMMA: Final = ord(",")


@dataclass(frozen=True)
class CsvTable:
    """Parsed rows (blank lines dropped) keyed by the format's column names, with file lines."""

    label: str
    frame: pd.DataFrame
    lines: Int64Array  # lines[i] is the 1-based file line of row i (Parquet: its row number)
    unit: str = "line"  # "line" (CSV: label:line) or "row" (Parquet: "label row n")
    written: dict[str, str] = field(default_factory=dict)  # column key -> name as written
    _texts: dict[str, ObjectArray] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.lines)

    def fail(self, i: int, problem: str) -> BarDataError:
        number = int(self.lines[i])
        where = None if self.unit == "line" else f"{self.label} row {number}"
        return BarDataError(problem, self.label, number, where=where)

    def where(self, i: int) -> str:
        return f"{self.unit} {self.lines[i]}"

    def display(self, name: str) -> str:
        """A column's name as the file writes it (OpnPric, not OPNPRIC), for messages."""
        return self.written.get(name, name)

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def subset(self, keep: npt.NDArray[np.bool_]) -> CsvTable:
        if keep.all():
            return self
        frame, lines = self.frame.loc[keep], self.lines[keep]
        texts = {name: values[keep] for name, values in self._texts.items()}
        return CsvTable(self.label, frame, lines, self.unit, self.written, texts)

    def text(self, name: str) -> ObjectArray:
        """Trimmed text ("" where empty); computed once per column, do not modify."""
        cached = self._texts.get(name)
        if cached is not None:
            return cached
        column = self.frame[name]
        if column.dtype.kind in _FLOAT_KINDS:  # an all-empty column is parsed as NaN floats
            column = column.astype(object).where(column.notna(), "").astype(str)
        out: ObjectArray = column.to_numpy(dtype=object, na_value="")
        if len(set(out[:_SAMPLE].tolist())) < _SAMPLE // 4:  # repetitive: strip distinct values
            codes, uniques = pd.factorize(out)
            out = np.array([str(u).strip() for u in uniques], dtype=object)[codes]
        else:  # str(): a column pandas parsed (dates) holds Timestamps, not text
            out = np.array([str(u).strip() for u in out.tolist()], dtype=object)
        self._texts[name] = out
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
            raise self.fail(i, f"{self.display(name)} {quoted(str(raw[i]))} is not a number")
        return values

    def paise(self, name: str, values: Float64Array | None = None) -> Int64Array:
        """Rupees -> exact int64 paise; an empty, sub-paisa or non-number value is an error on
        its line (the earliest line of the column)."""
        if values is None:
            return self._exact_text(name, 100)
        return self._exact(name, values, 100)

    def whole(self, name: str, values: Float64Array | None = None) -> Int64Array:
        """Whole numbers (volumes, contracts, open interest) as int64; empty is an error."""
        column = self.frame[name]
        if values is None and column.dtype.kind in "iu":
            if column.dtype.kind == "i" or int(column.max()) < 2**63:
                return column.to_numpy(dtype=np.int64)
            values = column.to_numpy(dtype=np.float64)  # beyond int64: "too large" below
        if values is None:
            return self._exact_text(name, 1)
        return self._exact(name, values, 1)

    def _exact_text(self, name: str, scale: int) -> Int64Array:
        """Like _exact, but a word is reported in file order with the other bad values."""
        column = self.frame[name]
        if column.dtype.kind in _FLOAT_KINDS:
            return self._exact(name, column.to_numpy(dtype=np.float64, na_value=np.nan), scale)
        raw = self.text(name)
        numbers = pd.to_numeric(pd.Series(raw, dtype=object).replace("", np.nan), errors="coerce")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        try:
            return to_int64(values, self.display(name), lambda i: str(raw[i]), scale)
        except RowProblem as bad:
            raise self.fail(bad.index, bad.problem) from None

    def tokens(self, name: str) -> Int64Array | None:
        """Optional whole numbers (exchange tokens, scrip codes); None if all are empty."""
        values = self.floats(name)
        if np.isnan(values).all():
            return None
        return self.whole(name, values)

    def _exact(self, name: str, values: Float64Array, scale: int) -> Int64Array:
        try:
            return to_int64(values, self.display(name), float_text(values), scale)
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
                shown = self.display(name)
                problem = f"{shown} {quoted(str(text))} is not a date like {example}"
                raise self.fail(i, f"{shown} is empty" if text == "" else problem) from None
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
    return parse_csv(
        source,
        {written[name]: name for name in wanted},
        {written[name]: str for name in text if name in written},
    )


def parse_csv(
    source: Source,
    columns: dict[str, str],
    dtype: dict[str, type[str]],
    dates: str | None = None,
    date_format: str | None = None,
) -> CsvTable:
    """One pandas pass over the file: ``columns`` maps names as written -> names in the table.

    ``dates`` names a column (as written) for pandas to parse as date-times on the way; if
    pandas cannot, the column comes back as text and the caller explains the bad row.
    Only the needed columns are parsed; pandas then ignores surplus fields, so lines are
    first checked for extra fields (a comma count, or pandas' full parse if quotes exist).
    """
    width = len(source.header())
    csv_input: str | io.BytesIO = source.csv_input()
    usecols: list[str] | None = None  # all columns: pandas itself refuses surplus fields
    if len(columns) < width:
        data = source.read_bytes()
        csv_input = io.BytesIO(data)
        if not _surplus_fields(source, data, width):
            usecols = list(columns)  # else quoted fields: the full parse judges each line
    try:
        frame = pd.read_csv(
            csv_input,
            usecols=usecols,
            dtype=dtype,
            parse_dates=[dates] if dates is not None else None,
            date_format=date_format if dates is not None else None,
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
    if usecols is None and len(columns) < width:
        frame = frame[list(columns)]
    frame.columns = pd.Index([columns[str(name)] for name in frame.columns])
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    maybe_blank = frame.iloc[:, 0].isna().to_numpy()  # cheap first look, then whole rows
    if maybe_blank.any():
        blank = maybe_blank & frame.isna().all(axis=1).to_numpy()
        frame, lines = frame.loc[~blank], lines[~blank]
    if len(frame) == 0:
        raise BarDataError("no rows after the header", source.label, 2)
    written = {canonical: name.strip() for name, canonical in columns.items()}
    return CsvTable(source.label, frame, lines, written=written)


def _surplus_fields(source: Source, data: bytes, width: int) -> bool:
    """Raise for the first line with more fields than the header; True if quotes blur it."""
    buf = np.frombuffer(data, dtype=np.uint8)
    is_newline = buf == _NEWLINE
    lines = int(np.count_nonzero(is_newline)) + (not data.endswith(b"\n"))
    if np.count_nonzero(buf == _COMMA) == (width - 1) * lines:
        return False  # every line has exactly the header's fields (the usual case)
    ends = np.flatnonzero(is_newline)
    if len(buf) and buf[-1] != _NEWLINE:
        ends = np.append(ends, len(buf))
    commas = np.searchsorted(np.flatnonzero(buf == _COMMA), ends)
    per_line = np.diff(commas, prepend=0)
    surplus = np.flatnonzero(per_line[1:] > width - 1)
    if len(surplus) == 0:
        return False
    if b'"' in data:
        return True
    i = int(surplus[0]) + 1
    problem = f"malformed CSV: expected {width} fields, saw {int(per_line[i]) + 1}"
    raise BarDataError(problem, source.label, i + 1)


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
