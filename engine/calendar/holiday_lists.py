"""Read an exchange's trading-holiday list, as a trader downloads it, into plain rows.

Three layouts are accepted and told apart by their content, never by the file name:

- ``nse-csv``: the CSV download of NSE's trading-holiday page (serial number, a date such as
  ``26-Jan-2027``, the weekday, the description), whatever the header spelling;
- ``nse-json``: the JSON behind that page (``/api/holiday-master?type=trading``), an object
  of segment lists (``CM``, ``FO``, ``CD``, ...) of ``tradingDate``/``weekDay``/
  ``description`` records, or one segment's bare list;
- ``plain-csv``: ``date,description`` with an optional header.

The parser is strict because a wrong holiday silently shifts every "previous trading day":
any bad row rejects the whole file with ``file:line`` (or ``file:KEY[i]``) and what is wrong,
a weekday column must agree with its date, and a date listed twice is an error. Weekend rows
are kept: NSE lists them (Diwali on a Sunday, Independence Day on a Saturday).

Month names are read with a fixed English table, not ``strptime("%b")``: Qt sets the process
locale, and a German or Hindi locale would otherwise refuse ``Jan``.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from engine.calendar.model import CalendarSegment

FORMAT_NSE_CSV: Final = "nse-csv"
FORMAT_NSE_JSON: Final = "nse-json"
FORMAT_PLAIN_CSV: Final = "plain-csv"

# The caller's segment -> the key of its list in NSE's holiday-master JSON.
NSE_SEGMENT_KEYS: Final[Mapping[CalendarSegment, str]] = {
    CalendarSegment.EQUITY: "CM",
    CalendarSegment.FO: "FO",
    CalendarSegment.CURRENCY: "CD",
}

ACCEPTED_FORMATS: Final = (
    "accepted formats: NSE's trading-holiday CSV (Sr. No., Date, Day, Description), "
    "NSE's holiday-master JSON (CM/FO/CD lists of tradingDate records), "
    "or a plain CSV of date,description"
)

# Holiday lists are a few KB; anything this large is the wrong file (a bhavcopy, bars).
MAX_FILE_BYTES: Final = 1 << 20

_NSE_DATE_HINT: Final = "a date like 26-Jan-2027"
_PLAIN_DATE_HINT: Final = "a date like 2027-01-26, 26-Jan-2027 or 26-01-2027"


@dataclass(frozen=True)
class HolidayRow:
    """One listed holiday; ``where`` points the trader back at the row in the file."""

    date: datetime.date
    description: str
    where: str  # "file.csv:3" (1-based physical line) or "file.json:CM[2]" (0-based index)


@dataclass(frozen=True)
class ParsedHolidayList:
    """A whole file, parsed and checked: returned only when every row is good."""

    format: str  # FORMAT_NSE_CSV, FORMAT_NSE_JSON or FORMAT_PLAIN_CSV
    segment: CalendarSegment  # the caller's; for JSON the list that was read
    rows: tuple[HolidayRow, ...]  # in file order
    years: tuple[int, ...]  # sorted distinct years of the rows
    notes: tuple[str, ...]  # things worth a look that are not errors


class HolidayListError(ValueError):
    """The file cannot be used as a holiday list; the message names file:line and why."""


# -- reading ---------------------------------------------------------------------------------


def read_holiday_list(
    path: str | Path, segment: CalendarSegment = CalendarSegment.EQUITY
) -> ParsedHolidayList:
    """Read and parse a downloaded holiday list; every failure is a HolidayListError."""
    p = Path(path)
    text = _read_text(p)
    return parse_holiday_list(text, p.name, segment)


def _read_text(path: Path) -> str:
    """The file as text, or a HolidayListError saying why not (never an OSError)."""
    try:
        if path.is_dir():
            raise HolidayListError(f"{path}: is a folder, not a holiday list file")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise HolidayListError(f"{path}: no such file") from None
    except OSError as exc:
        raise HolidayListError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise HolidayListError(
            f"{path}: larger than {MAX_FILE_BYTES // 1024} KB, far more than a holiday list "
            f"(a few KB); is this the right file? {ACCEPTED_FORMATS}"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise HolidayListError(f"{path}: is UTF-16 text; save it as UTF-8 (Excel: CSV UTF-8)")
    if b"\x00" in data:
        raise HolidayListError(f"{path}: is a binary file, not a holiday list; {ACCEPTED_FORMATS}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HolidayListError(
            f"{path}: is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 (Excel: CSV UTF-8)"
        ) from None


def parse_holiday_list(
    text: str, name: str, segment: CalendarSegment = CalendarSegment.EQUITY
) -> ParsedHolidayList:
    """Parse a holiday list's text; ``name`` is what messages and ``where`` call the file."""
    text = text.removeprefix("\ufeff")
    start = text.lstrip()
    if not start:
        raise HolidayListError(f"{name}: the file is empty; {ACCEPTED_FORMATS}")
    if "\x00" in text:
        raise HolidayListError(f"{name}: is binary data, not a holiday list; {ACCEPTED_FORMATS}")
    if start[0] in "{[":
        return _parse_nse_json(text, name, segment)
    if start[0] == "<":
        raise HolidayListError(
            f"{name}: is an HTML/XML page, not a holiday list (NSE serves a page when a "
            f"download is blocked); {ACCEPTED_FORMATS}"
        )
    return _parse_csv(text, name, segment)


# -- dates and weekdays ----------------------------------------------------------------------

_MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_NUMBER: Final = {
    **{m: i for i, m in enumerate(_MONTHS, start=1)},
    **{m[:3]: i for i, m in enumerate(_MONTHS, start=1)},
    "sept": 9,
}
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_ISO: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_MONTH_NAME: Final = re.compile(r"(\d{1,2})[- ]([A-Za-z]+)\.?[- ](\d+)")
_DAY_MONTH_NUMBER: Final = re.compile(r"(\d{1,2})-(\d{1,2})-(\d+)")


def _looks_like_date(text: str) -> bool:
    """Shaped like a date (maybe an impossible one): decides a header-less first row."""
    return any(p.fullmatch(text) for p in (_ISO, _DAY_MONTH_NAME, _DAY_MONTH_NUMBER))


def _parse_date(text: str) -> datetime.date | None:
    """2027-01-26, 26-Jan-2027 (or 26-January-2027) or day-first 26-01-2027; else None."""
    if m := _ISO.fullmatch(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DAY_MONTH_NAME.fullmatch(text):
        found = _MONTH_NUMBER.get(m[2].lower())
        if found is None or len(m[3]) != 4:
            return None
        day, month, year = int(m[1]), found, int(m[3])
    elif m := _DAY_MONTH_NUMBER.fullmatch(text):
        if len(m[3]) != 4:
            return None
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _date_problem(text: str, hint: str) -> str:
    """Why a date cell was refused, in the trader's words."""
    if not text:
        return "no date"
    shaped = _DAY_MONTH_NAME.fullmatch(text) or _DAY_MONTH_NUMBER.fullmatch(text)
    if shaped is not None and len(shaped[3]) == 2:
        return f"date '{text}' has a two-digit year (a spreadsheet reformatted it?); {hint}"
    return f"date '{text}' is not {hint}"


def _weekday_index(text: str) -> int | None:
    """Monday=0 for 'Tuesday', 'Tue', 'tues.'; None for anything that is not a day name."""
    word = text.strip().rstrip(".").lower()
    if len(word) < 3:
        return None
    found = [i for i, day in enumerate(_WEEKDAYS) if day.lower().startswith(word)]
    return found[0] if len(found) == 1 else None


def _nse_date(day: datetime.date) -> str:
    """26-Jan-2027, without strftime (locale-dependent month names)."""
    return f"{day.day:02d}-{_MONTHS[day.month - 1][:3].title()}-{day.year}"


# -- one rule for every format: check a row, collect the list ---------------------------------


class _Role(Enum):
    SERIAL = "serial"
    DATE = "date"
    WEEKDAY = "weekday"
    DESCRIPTION = "description"
    SESSION = "session"


# Header cells and JSON keys, lower-cased with everything but letters and digits removed.
_ROLE_NAMES: Final[Mapping[str, _Role]] = {
    **dict.fromkeys(
        ("srno", "slno", "sno", "serialno", "serialnumber", "srnumber", "no", "sequence"),
        _Role.SERIAL,
    ),
    **dict.fromkeys(("date", "holidaydate", "tradingdate", "holidaydates"), _Role.DATE),
    **dict.fromkeys(("day", "weekday", "days", "dayofweek", "dayoftheweek"), _Role.WEEKDAY),
    **dict.fromkeys(
        ("description", "holiday", "holidays", "holidayname", "holidaydescription", "occasion"),
        _Role.DESCRIPTION,
    ),
    **dict.fromkeys(("morningsession", "eveningsession"), _Role.SESSION),
}


def _role_of(label: str) -> _Role | None:
    return _ROLE_NAMES.get(re.sub(r"[^a-z0-9]", "", label.lower()))


@dataclass(frozen=True)
class _RawRow:
    """One row's cells by role, before checking; ``label`` says where, in messages."""

    where: str  # "file.csv:3" / "file.json:CM[2]"
    label: str  # "line 3" / "CM[2]", for naming a second place in a message
    date: str
    weekday: str
    description: str
    sessions: tuple[tuple[str, str], ...] = ()  # (column or key, value) when not empty


class _Collector:
    """Checks rows one by one (dates, weekdays, duplicates) and builds the result."""

    def __init__(self, name: str, fmt: str, segment: CalendarSegment, date_hint: str) -> None:
        self.name = name
        self.format = fmt
        self.segment = segment
        self.date_hint = date_hint
        self.rows: list[HolidayRow] = []
        self.notes: list[str] = []
        self._seen: dict[datetime.date, str] = {}
        self._weekend: list[str] = []
        self._sessions: list[str] = []

    def add(self, raw: _RawRow) -> None:
        day = _parse_date(raw.date)
        if day is None:
            raise HolidayListError(f"{raw.where}: {_date_problem(raw.date, self.date_hint)}")
        if raw.weekday:
            listed = _weekday_index(raw.weekday)
            if listed is None:
                raise HolidayListError(
                    f"{raw.where}: day '{raw.weekday}' is not a weekday name "
                    f"(the date {raw.date} is a {_WEEKDAYS[day.weekday()]})"
                )
            if listed != day.weekday():
                raise HolidayListError(
                    f"{raw.where}: {raw.date} is a {_WEEKDAYS[day.weekday()]}, "
                    f"the file says {raw.weekday}"
                )
        first = self._seen.get(day)
        if first is not None:
            both = f"{first} and {raw.label}"
            if first.startswith("line ") and raw.label.startswith("line "):
                both = f"lines {first.removeprefix('line ')} and {raw.label.removeprefix('line ')}"
            raise HolidayListError(f"{raw.where}: {raw.date} is listed twice ({both})")
        self._seen[day] = raw.label
        description = " ".join(raw.description.split())
        if day.weekday() >= 5:
            self._weekend.append(f"{_nse_date(day)} {_WEEKDAYS[day.weekday()][:3]}")
        if raw.sessions:
            shown = ", ".join(f"{key} '{value}'" for key, value in raw.sessions)
            self._sessions.append(f"{raw.label} {_nse_date(day)} ({shown})")
        elif "muhurat" in description.lower():
            self._sessions.append(f"{raw.label} {_nse_date(day)} ('{description}')")
        self.rows.append(HolidayRow(date=day, description=description, where=raw.where))

    def result(self, empty_message: str) -> ParsedHolidayList:
        if not self.rows:
            raise HolidayListError(empty_message)
        notes = list(self.notes)
        if self._weekend:
            notes.append(
                f"{len(self._weekend)} listed holiday(s) fall on a Saturday or Sunday "
                f"({', '.join(self._weekend)}); kept as listed"
            )
        if self._sessions:
            notes.append(
                "only the closure is read from rows that mention a session: "
                f"{'; '.join(self._sessions)}; add a muhurat or special session with "
                "artha calendar add-session"
            )
        return ParsedHolidayList(
            format=self.format,
            segment=self.segment,
            rows=tuple(self.rows),
            years=tuple(sorted({row.date.year for row in self.rows})),
            notes=tuple(notes),
        )


# -- CSV -------------------------------------------------------------------------------------


def _csv_records(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, raw cells) of each non-blank, non-comment record."""
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(text), skipinitialspace=True
    )
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise HolidayListError(f"{name}:{line}: not readable as CSV ({exc})") from None
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
            continue
        yield start, cells


def _delimiter(text: str) -> str:
    """',' unless the first line has none and a ';' or tab (Excel in a European locale)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," in first:
        return ","
    if ";" in first:
        return ";"
    return "\t" if "\t" in first else ","


@dataclass(frozen=True)
class _Columns:
    """Where each role sits in a CSV's rows."""

    date: int
    description: int
    width: int
    serial: int | None = None
    weekday: int | None = None
    sessions: tuple[tuple[int, str], ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def is_nse(self) -> bool:
        """A serial-number or weekday column is NSE's layout; date,description is plain."""
        return self.serial is not None or self.weekday is not None

    @property
    def needed(self) -> int:
        """Fields an NSE row must have: up to its last named column (a plain row may stop
        after the date, its description being optional)."""
        named = (self.serial, self.date, self.weekday, self.description)
        return max(i for i in named if i is not None) + 1


def _header_columns(cells: Sequence[str], where: str) -> _Columns | None:
    """The columns a header names, or None if the row is not a holiday-list header."""
    found: dict[_Role, int] = {}
    sessions: list[tuple[int, str]] = []
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        label = cell.strip()
        role = _role_of(label) if label else None
        if role is None:
            if label:
                ignored.append(label)
        elif role is _Role.SESSION:
            sessions.append((i, label))
        else:
            if role in found:
                raise HolidayListError(
                    f"{where}: columns '{cells[found[role]].strip()}' and '{label}' both look "
                    f"like the {role.value} column"
                )
            found[role] = i
    if _Role.DATE not in found or _Role.DESCRIPTION not in found:
        if _Role.DATE in found:
            shown = _shown(cells)
            raise HolidayListError(
                f"{where}: not a holiday list: the header '{shown}' has a date column but no "
                f"description column; {ACCEPTED_FORMATS}"
            )
        return None
    return _Columns(
        date=found[_Role.DATE],
        description=found[_Role.DESCRIPTION],
        width=len(cells),
        serial=found.get(_Role.SERIAL),
        weekday=found.get(_Role.WEEKDAY),
        sessions=tuple(sessions),
        ignored=tuple(ignored),
    )


def _parse_csv(text: str, name: str, segment: CalendarSegment) -> ParsedHolidayList:
    records = _csv_records(text, name)
    first = next(records, None)
    if first is None:
        raise HolidayListError(f"{name}: has no rows; {ACCEPTED_FORMATS}")
    line, cells = first
    columns = _header_columns(cells, f"{name}:{line}")
    if columns is not None:
        if columns.is_nse:
            collector = _Collector(name, FORMAT_NSE_CSV, segment, _NSE_DATE_HINT)
        else:
            collector = _Collector(name, FORMAT_PLAIN_CSV, segment, _PLAIN_DATE_HINT)
        if columns.ignored:
            collector.notes.append(f"ignored column(s): {', '.join(columns.ignored)}")
        rows: Iterator[tuple[int, list[str]]] = records
        empty = f"{name}: has a header but no holiday rows; {ACCEPTED_FORMATS}"
    elif _looks_like_date(cells[0].strip()):
        columns = _Columns(date=0, description=1, width=2)
        collector = _Collector(name, FORMAT_PLAIN_CSV, segment, _PLAIN_DATE_HINT)
        rows = _chain(first, records)
        empty = f"{name}: has no holiday rows; {ACCEPTED_FORMATS}"
    else:
        raise HolidayListError(
            f"{name}:{line}: not a holiday list: the first row '{_shown(cells)}' is neither "
            f"a header naming a date and a description column nor a date; {ACCEPTED_FORMATS}"
        )
    for line, cells in rows:
        collector.add(_csv_row(cells, columns, f"{name}:{line}", f"line {line}"))
    return collector.result(empty)


def _shown(cells: Sequence[str]) -> str:
    """A row as the trader would recognise it, cut short."""
    shown = ",".join(cell.strip() for cell in cells)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _chain(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def _csv_row(cells: list[str], columns: _Columns, where: str, label: str) -> _RawRow:
    """Pick a record's cells by column; an unquoted comma in a last-column description is
    taken back into the description, any other surplus cell is an error."""
    while len(cells) > columns.width and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) > columns.width:
        if columns.description != columns.width - 1:
            raise HolidayListError(
                f"{where}: {len(cells)} fields where the header has {columns.width}; "
                "quote a description that contains a comma"
            )
        cells = [*cells[: columns.width - 1], ", ".join(cells[columns.width - 1 :])]
    if columns.is_nse and len(cells) < columns.needed:
        raise HolidayListError(
            f"{where}: {len(cells)} field(s) where the header has {columns.needed}"
        )

    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    sessions = tuple((label_, cell(i)) for i, label_ in columns.sessions if cell(i))
    return _RawRow(
        where=where,
        label=label,
        date=cell(columns.date),
        weekday=cell(columns.weekday),
        description=cell(columns.description),
        sessions=sessions,
    )


# -- JSON ------------------------------------------------------------------------------------


def _parse_nse_json(text: str, name: str, segment: CalendarSegment) -> ParsedHolidayList:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HolidayListError(
            f"{name}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}); "
            "a download cut short?"
        ) from None
    except RecursionError:
        raise HolidayListError(f"{name}: not a holiday list (JSON nested too deep)") from None
    key = NSE_SEGMENT_KEYS[segment]
    collector = _Collector(name, FORMAT_NSE_JSON, segment, _NSE_DATE_HINT)
    if isinstance(data, list):
        prefix, records = "", data
        empty = f"{name}: the list is empty; no holidays to read; {ACCEPTED_FORMATS}"
    elif isinstance(data, dict):
        keys = ", ".join(str(k) for k in data) or "none"
        if key not in data:
            if any(_looks_like_records(value) for value in data.values()):
                raise HolidayListError(
                    f"{name}: has no '{key}' list ({segment.value} segment); the file has: {keys}"
                )
            raise HolidayListError(
                f"{name}: not NSE's holiday-master JSON (its keys: {keys}); {ACCEPTED_FORMATS}"
            )
        records = data[key]
        prefix = key
        if not isinstance(records, list):
            raise HolidayListError(
                f"{name}:{key}: expected a list of holiday records, found {_json_type(records)}"
            )
        empty = f"{name}:{key}: the list is empty; no {segment.value} holidays to read"
        others = [str(k) for k in data if k != key]
        collector.notes.append(
            f"read the {key} list ({segment.value} segment)"
            + (f"; not read: {', '.join(others)}" if others else "")
        )
    else:
        raise HolidayListError(
            f"{name}: not a holiday list (the JSON is a {_json_type(data)}); {ACCEPTED_FORMATS}"
        )
    for i, record in enumerate(records):
        label = f"{prefix}[{i}]"
        collector.add(_json_record(record, f"{name}:{label}", label))
    return collector.result(empty)


def _looks_like_records(value: object) -> bool:
    """A holiday-master segment list: records with a tradingDate (or an empty list)."""
    if not isinstance(value, list):
        return False
    return not value or any(
        isinstance(item, dict) and any(_role_of(str(k)) is _Role.DATE for k in item)
        for item in value
    )


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "number"


def _json_record(record: object, where: str, label: str) -> _RawRow:
    """Take a record's fields by role; keys are matched as loosely as CSV headers."""
    if not isinstance(record, dict):
        raise HolidayListError(
            f'{where}: expected a record like {{"tradingDate": "26-Jan-2027", ...}}, '
            f"found a {_json_type(record)}"
        )
    fields: dict[_Role, str] = {}
    sessions: list[tuple[str, str]] = []
    for key, value in record.items():
        role = _role_of(str(key))
        if role is None or role is _Role.SERIAL:
            continue
        if value is None:
            text = ""
        elif isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value).strip()
        else:
            raise HolidayListError(f"{where}: '{key}' should be text, found a {_json_type(value)}")
        if role is _Role.SESSION:
            if text:
                sessions.append((str(key), text))
        elif role in fields:
            raise HolidayListError(f"{where}: two keys look like the {role.value}")
        else:
            fields[role] = text
    if not fields.get(_Role.DATE):
        raise HolidayListError(f"{where}: no tradingDate")
    return _RawRow(
        where=where,
        label=label,
        date=fields[_Role.DATE],
        weekday=fields.get(_Role.WEEKDAY, ""),
        description=fields.get(_Role.DESCRIPTION, ""),
        sessions=tuple(sessions),
    )
