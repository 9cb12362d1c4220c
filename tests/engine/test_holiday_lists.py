"""Holiday-list parsers: NSE's CSV and JSON and a plain date,description CSV, read from real
files (the fixtures a trader would download, and tricky ones written to tmp_path)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from engine.calendar.holiday_lists import (
    ACCEPTED_FORMATS,
    FORMAT_NSE_CSV,
    FORMAT_NSE_JSON,
    FORMAT_PLAIN_CSV,
    MAX_FILE_BYTES,
    HolidayListError,
    HolidayRow,
    ParsedHolidayList,
    parse_holiday_list,
    read_holiday_list,
)
from engine.calendar.model import CalendarSegment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calendar"
NSE_CSV = FIXTURES / "nse_holidays_2027_cm.csv"
NSE_JSON = FIXTURES / "nse_holidays_2027.json"
PLAIN_CSV = FIXTURES / "holidays_2027_plain.csv"
BHAVCOPY = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "bhavcopy"

EQUITY = CalendarSegment.EQUITY
FO = CalendarSegment.FO
CURRENCY = CalendarSegment.CURRENCY
D = datetime.date

# The 16 invented 2027 equity holidays of the fixtures (see tests/fixtures/calendar/README.md).
CM_2027 = (
    (D(2027, 1, 26), "Republic Day"),
    (D(2027, 3, 6), "Mahashivratri"),
    (D(2027, 3, 10), "Id-Ul-Fitr (Ramadan Eid)"),
    (D(2027, 3, 22), "Holi"),
    (D(2027, 3, 26), "Good Friday"),
    (D(2027, 4, 14), "Dr. Baba Saheb Ambedkar Jayanti"),
    (D(2027, 4, 15), "Shri Ram Navami"),
    (D(2027, 5, 1), "Maharashtra Day"),
    (D(2027, 5, 17), "Bakri Id"),
    (D(2027, 6, 15), "Muharram"),
    (D(2027, 8, 15), "Independence Day"),
    (D(2027, 9, 3), "Ganesh Chaturthi"),
    (D(2027, 10, 2), "Mahatma Gandhi Jayanti"),
    (D(2027, 10, 29), "Diwali Laxmi Pujan*"),
    (D(2027, 11, 12), "Prakash Gurpurb Sri Guru Nanak Dev"),
    (D(2027, 12, 25), "Christmas"),
)
WEEKEND_NOTE = (
    "5 listed holiday(s) fall on a Saturday or Sunday (06-Mar-2027 Sat, 01-May-2027 Sat, "
    "15-Aug-2027 Sun, 02-Oct-2027 Sat, 25-Dec-2027 Sat); kept as listed"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def pairs(parsed: ParsedHolidayList) -> list[tuple[datetime.date, str]]:
    return [(row.date, row.description) for row in parsed.rows]


def error_of(path: Path, segment: CalendarSegment = EQUITY) -> str:
    with pytest.raises(HolidayListError) as caught:
        read_holiday_list(path, segment)
    return str(caught.value)


# -- the fixtures ----------------------------------------------------------------------------


def test_nse_csv_fixture_reads_every_row_with_its_line() -> None:
    parsed = read_holiday_list(NSE_CSV)
    assert parsed.format == FORMAT_NSE_CSV
    assert parsed.segment is EQUITY
    assert pairs(parsed) == list(CM_2027)
    assert [row.where for row in parsed.rows] == [
        f"nse_holidays_2027_cm.csv:{line}" for line in range(2, 18)
    ]
    assert parsed.years == (2027,)
    assert parsed.notes == (WEEKEND_NOTE,)


def test_nse_csv_fixture_is_saved_the_windows_way() -> None:
    raw = NSE_CSV.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 17
    assert raw.count(b"\n") == 17  # no bare LF


def test_json_fixture_reads_the_segment_the_caller_chose() -> None:
    equity = read_holiday_list(NSE_JSON, EQUITY)
    fo = read_holiday_list(NSE_JSON, FO)
    currency = read_holiday_list(NSE_JSON, CURRENCY)

    assert equity.format == fo.format == currency.format == FORMAT_NSE_JSON
    assert (equity.segment, fo.segment, currency.segment) == (EQUITY, FO, CURRENCY)
    assert pairs(equity) == pairs(fo) == list(CM_2027)
    assert pairs(currency) == sorted(
        [
            *CM_2027,
            (D(2027, 2, 19), "Chhatrapati Shivaji Maharaj Jayanti"),
            (D(2027, 4, 1), "Annual Bank Closing"),
        ]
    )
    assert equity.rows[0].where == "nse_holidays_2027.json:CM[0]"
    assert fo.rows[15].where == "nse_holidays_2027.json:FO[15]"
    assert currency.rows[1] == HolidayRow(
        D(2027, 2, 19), "Chhatrapati Shivaji Maharaj Jayanti", "nse_holidays_2027.json:CD[1]"
    )
    assert equity.notes == (
        "read the CM list (equity segment); not read: CBM, CD, CMOT, FO, SLBS",
        WEEKEND_NOTE,
    )


def test_plain_fixture_reads_the_same_days() -> None:
    parsed = read_holiday_list(PLAIN_CSV)
    assert parsed.format == FORMAT_PLAIN_CSV
    assert pairs(parsed) == list(CM_2027)
    assert parsed.rows[0].where == "holidays_2027_plain.csv:2"
    assert parsed.years == (2027,)


@pytest.mark.parametrize("path", [NSE_CSV, NSE_JSON, PLAIN_CSV], ids=lambda p: p.name)
@pytest.mark.parametrize("segment", list(CalendarSegment))
def test_every_fixture_closes_republic_day_and_not_the_first_monday(
    path: Path, segment: CalendarSegment
) -> None:
    """Other tests rely on these two days; keep them true in every file and segment."""
    days = {row.date for row in read_holiday_list(path, segment).rows}
    assert D(2027, 1, 26) in days
    assert D(2027, 1, 4) not in days


def test_the_fixture_csv_and_json_weekdays_agree_with_the_dates() -> None:
    """An independent re-check of the fixtures' weekday column, with the stdlib calendar."""
    data = json.loads(NSE_JSON.read_text(encoding="utf-8"))
    for records in data.values():
        for record in records:
            day = datetime.datetime.strptime(record["tradingDate"], "%d-%b-%Y").date()
            assert record["weekDay"] == f"{day:%A}"


# -- each format, small and tricky -----------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Sr. No.,Date,Day,Description",
        "Sr_no,tradingDate,weekDay,description",
        "SR. NO,Holiday Date,Day,Holiday",
        '"SR. NO","DATE","DAY","DESCRIPTION"',
    ],
)
def test_nse_csv_header_spellings(tmp_path: Path, header: str) -> None:
    path = write(
        tmp_path,
        "holidays.csv",
        f"{header}\n1,26-Jan-2027,Tuesday,Republic Day\n"
        "2,26-Mar-2027,Friday,Good Friday\n3,15-Aug-2027,Sunday,Independence Day\n",
    )
    parsed = read_holiday_list(path)
    assert parsed.format == FORMAT_NSE_CSV
    assert parsed.rows == (
        HolidayRow(D(2027, 1, 26), "Republic Day", "holidays.csv:2"),
        HolidayRow(D(2027, 3, 26), "Good Friday", "holidays.csv:3"),
        HolidayRow(D(2027, 8, 15), "Independence Day", "holidays.csv:4"),
    )
    assert parsed.notes == (
        "1 listed holiday(s) fall on a Saturday or Sunday (15-Aug-2027 Sun); kept as listed",
    )


def test_nse_csv_with_bom_crlf_quotes_blank_lines_and_trailing_spaces(tmp_path: Path) -> None:
    text = (
        '\ufeff"Sr. No.","Date","Day","Description"  \r\n'
        "\r\n"
        '"1","26-Jan-2027","Tuesday","Republic Day"   \r\n'
        '  "2" , "22-Mar-2027" , "Mon" , "Holi"  \r\n'
        "   \r\n"
        '"3","29-Oct-2027","friday","Diwali Laxmi Pujan*\r\n(Muhurat trading)"\r\n'
        '"4","25-Dec-2027","Saturday","Christmas"\r\n'
        "\r\n"
    )
    parsed = read_holiday_list(write(tmp_path, "NSE Holidays.csv", text))
    assert parsed.format == FORMAT_NSE_CSV
    assert parsed.rows == (
        HolidayRow(D(2027, 1, 26), "Republic Day", "NSE Holidays.csv:3"),
        HolidayRow(D(2027, 3, 22), "Holi", "NSE Holidays.csv:4"),
        HolidayRow(D(2027, 10, 29), "Diwali Laxmi Pujan* (Muhurat trading)", "NSE Holidays.csv:6"),
        HolidayRow(D(2027, 12, 25), "Christmas", "NSE Holidays.csv:8"),
    )
    assert parsed.notes == (
        "1 listed holiday(s) fall on a Saturday or Sunday (25-Dec-2027 Sat); kept as listed",
        "only the closure is read from rows that mention a session: line 6 29-Oct-2027 "
        "('Diwali Laxmi Pujan* (Muhurat trading)'); add a muhurat or special session with "
        "artha calendar add-session",
    )


def test_semicolon_csv_from_a_european_excel(tmp_path: Path) -> None:
    path = write(
        tmp_path, "h.csv", "Sr. No.;Date;Day;Description\r\n1;26-Jan-2027;Tue;Republic Day\r\n"
    )
    assert pairs(read_holiday_list(path)) == [(D(2027, 1, 26), "Republic Day")]


def test_nse_csv_extra_columns_are_noted_and_session_columns_flagged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.csv",
        "Sr_no,tradingDate,weekDay,description,morning_session,evening_session,Remarks\n"
        "1,26-Jan-2027,Tuesday,Republic Day,,,\n"
        "2,29-Oct-2027,Friday,Diwali Laxmi Pujan,,18:00-19:00,see circular\n",
    )
    parsed = read_holiday_list(path)
    assert pairs(parsed) == [
        (D(2027, 1, 26), "Republic Day"),
        (D(2027, 10, 29), "Diwali Laxmi Pujan"),
    ]
    assert parsed.notes == (
        "ignored column(s): Remarks",
        "only the closure is read from rows that mention a session: line 3 29-Oct-2027 "
        "(evening_session '18:00-19:00'); add a muhurat or special session with "
        "artha calendar add-session",
    )


def test_plain_csv_date_forms_with_and_without_header(tmp_path: Path) -> None:
    body = "2027-01-26,Republic Day\n26-Mar-2027,Good Friday\n14-04-2027,\n"
    expected = [
        (D(2027, 1, 26), "Republic Day"),
        (D(2027, 3, 26), "Good Friday"),
        (D(2027, 4, 14), ""),
    ]
    with_header = read_holiday_list(write(tmp_path, "a.csv", "date,description\n" + body))
    without = read_holiday_list(write(tmp_path, "b.csv", body))
    assert with_header.format == without.format == FORMAT_PLAIN_CSV
    assert pairs(with_header) == pairs(without) == expected
    assert [row.where for row in without.rows] == ["b.csv:1", "b.csv:2", "b.csv:3"]
    assert with_header.notes == without.notes == ()


def test_plain_csv_accepts_dates_alone_comments_and_commas(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mine.csv",
        "# my list, typed from the circular\n"
        "2027-01-26\n"
        '2027-03-26,"Good Friday"\n'
        "2027-03-22,Holi, Dhuleti\n"
        '2027-08-16,"Parsi New Year, Shahenshahi"\n',
    )
    parsed = read_holiday_list(path)
    assert pairs(parsed) == [
        (D(2027, 1, 26), ""),
        (D(2027, 3, 26), "Good Friday"),
        (D(2027, 3, 22), "Holi, Dhuleti"),
        (D(2027, 8, 16), "Parsi New Year, Shahenshahi"),
    ]
    assert parsed.rows[0].where == "mine.csv:2"


def test_month_names_in_any_case_and_spelled_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.csv",
        "Date,Day,Description\n26-JAN-2027,TUESDAY,a\n26-march-2027,Fri,b\n3-Sept-2027,fri.,c\n",
    )
    assert [row.date for row in read_holiday_list(path).rows] == [
        D(2027, 1, 26),
        D(2027, 3, 26),
        D(2027, 9, 3),
    ]


def test_rows_span_years_sorted(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "2027-01-26,R\n2026-12-25,C\n2028-01-26,R\n2027-03-26,G\n")
    parsed = read_holiday_list(path)
    assert parsed.years == (2026, 2027, 2028)
    assert [row.date.year for row in parsed.rows] == [2027, 2026, 2028, 2027]  # file order


def test_bare_json_list_is_the_callers_segment(tmp_path: Path) -> None:
    records = [
        {"tradingDate": "26-Jan-2027", "weekDay": "Tuesday", "description": "Republic Day"},
        {"tradingDate": "26-Mar-2027", "weekDay": "Friday", "description": "Good Friday"},
        {"tradingDate": "14-Apr-2027", "weekDay": "Wednesday", "description": "Ambedkar Jayanti"},
    ]
    path = write(tmp_path, "fo.json", json.dumps(records))
    parsed = read_holiday_list(path, FO)
    assert parsed.format == FORMAT_NSE_JSON
    assert parsed.segment is FO
    assert parsed.rows == (
        HolidayRow(D(2027, 1, 26), "Republic Day", "fo.json:[0]"),
        HolidayRow(D(2027, 3, 26), "Good Friday", "fo.json:[1]"),
        HolidayRow(D(2027, 4, 14), "Ambedkar Jayanti", "fo.json:[2]"),
    )
    assert parsed.notes == ()


def test_json_with_bom_crlf_and_missing_optional_keys(tmp_path: Path) -> None:
    text = (
        '\ufeff{"CM": [\r\n'
        '  {"tradingDate": "26-Jan-2027"},\r\n'
        '  {"tradingDate": "26-Mar-2027", "weekDay": "", "description": null, "Sr_no": "2"},\r\n'
        '  {"tradingDate": " 29-Oct-2027 ", "weekDay": "Friday", "description": "Diwali",'
        ' "morning_session": "", "evening_session": "18:15-19:15", "Sequence": 3}\r\n'
        "]}\r\n"
    )
    parsed = read_holiday_list(write(tmp_path, "h.json", text))
    assert pairs(parsed) == [
        (D(2027, 1, 26), ""),
        (D(2027, 3, 26), ""),
        (D(2027, 10, 29), "Diwali"),
    ]
    assert parsed.notes == (
        "read the CM list (equity segment)",
        "only the closure is read from rows that mention a session: CM[2] 29-Oct-2027 "
        "(evening_session '18:15-19:15'); add a muhurat or special session with "
        "artha calendar add-session",
    )


def test_parse_holiday_list_names_rows_after_the_given_name() -> None:
    parsed = parse_holiday_list("date,description\n2027-01-26,Republic Day\n", "pasted")
    assert parsed.rows == (HolidayRow(D(2027, 1, 26), "Republic Day", "pasted:2"),)
    assert parsed.segment is EQUITY


# -- errors: a bad row rejects the whole file ------------------------------------------------

NSE_HEADER = "Sr. No.,Date,Day,Description\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            NSE_HEADER + "1,26-Jan-2027,Tuesday,Republic Day\n2,22-Mar-2027,Monday,Holi\n"
            "3,26-Mar-2027,Friday,Good Friday\n4,31-Feb-2027,Sunday,Nothing\n",
            "holidays.csv:5: date '31-Feb-2027' is not a date like 26-Jan-2027",
        ),
        (
            NSE_HEADER + "1,22-Mar-2027,Monday,Holi\n\n2,26-Jan-2027,Monday,Republic Day\n",
            "holidays.csv:4: 26-Jan-2027 is a Tuesday, the file says Monday",
        ),
        (
            NSE_HEADER + "1,26-Jan-2027,Holiday,Republic Day\n",
            "holidays.csv:2: day 'Holiday' is not a weekday name (the date 26-Jan-2027 is a "
            "Tuesday)",
        ),
        (
            NSE_HEADER + "1,26-Jan-2027,Tuesday,Republic Day\n2,22-Mar-2027,Monday,Holi\n"
            "3,26-Mar-2027,Friday,Good Friday\n4,14-Apr-2027,Wednesday,Ambedkar Jayanti\n"
            "5,26-Jan-2027,Tuesday,Republic Day\n",
            "holidays.csv:6: 26-Jan-2027 is listed twice (lines 2 and 6)",
        ),
        (
            NSE_HEADER + "1,26-Jan-27,Tuesday,Republic Day\n",
            "holidays.csv:2: date '26-Jan-27' has a two-digit year (a spreadsheet reformatted "
            "it?); a date like 26-Jan-2027",
        ),
        (
            NSE_HEADER + "1,1/26/2027,Tuesday,Republic Day\n",
            "holidays.csv:2: date '1/26/2027' is not a date like 26-Jan-2027",
        ),
        (
            NSE_HEADER + "1,,Tuesday,Republic Day\n",
            "holidays.csv:2: no date",
        ),
        (
            NSE_HEADER + "1,26-Jan-2027\n",
            "holidays.csv:2: 2 field(s) where the header has 4",
        ),
        (
            "Sr. No.,Date,Description,Day\n1,26-Jan-2027,Republic Day, Delhi,Tuesday\n",
            "holidays.csv:2: 5 fields where the header has 4; quote a description that "
            "contains a comma",
        ),
        (
            "date,description\n2027-01-26,Republic Day\n2027-02-30,Leap\n",
            "holidays.csv:3: date '2027-02-30' is not a date like 2027-01-26, 26-Jan-2027 or "
            "26-01-2027",
        ),
        (
            "2027-01-26,Republic Day\n26-01-2027,Again\n",
            "holidays.csv:2: 26-01-2027 is listed twice (lines 1 and 2)",
        ),
        (
            "31-Feb-2027,Nothing\n",
            "holidays.csv:1: date '31-Feb-2027' is not a date like 2027-01-26, 26-Jan-2027 or "
            "26-01-2027",
        ),
        (
            "Date,Holiday Date,Description\n26-Jan-2027,26-Jan-2027,x\n",
            "holidays.csv:1: columns 'Date' and 'Holiday Date' both look like the date column",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    assert error_of(write(tmp_path, "holidays.csv", content)) == message


def test_a_bad_last_row_rejects_the_full_fixture(tmp_path: Path) -> None:
    raw = NSE_CSV.read_bytes().replace(b'"25-Dec-2027","Saturday"', b'"25-Dec-2027","Friday"')
    path = write(tmp_path, NSE_CSV.name, raw)
    assert error_of(path) == (
        "nse_holidays_2027_cm.csv:17: 25-Dec-2027 is a Saturday, the file says Friday"
    )


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (
            [{"tradingDate": "26-Jan-2027", "weekDay": "Monday", "description": "Republic Day"}],
            "h.json:CM[0]: 26-Jan-2027 is a Tuesday, the file says Monday",
        ),
        (
            [{"tradingDate": "26-Jan-2027"}, {"tradingDate": "2027-13-01"}],
            "h.json:CM[1]: date '2027-13-01' is not a date like 26-Jan-2027",
        ),
        (
            [{"tradingDate": "26-Jan-2027"}, {"weekDay": "Friday"}],
            "h.json:CM[1]: no tradingDate",
        ),
        (
            [{"tradingDate": "26-Jan-2027"}, "29-Oct-2027"],
            'h.json:CM[1]: expected a record like {"tradingDate": "26-Jan-2027", ...}, '
            "found a string",
        ),
        (
            [{"tradingDate": "26-Jan-2027"}, {"tradingDate": 20270126}],
            "h.json:CM[1]: date '20270126' is not a date like 26-Jan-2027",
        ),
        (
            [{"tradingDate": "26-Jan-2027", "description": ["Republic", "Day"]}],
            "h.json:CM[0]: 'description' should be text, found a list",
        ),
        (
            [
                {"tradingDate": "26-Jan-2027"},
                {"tradingDate": "22-Mar-2027"},
                {"tradingDate": "26-Jan-2027"},
            ],
            "h.json:CM[2]: 26-Jan-2027 is listed twice (CM[0] and CM[2])",
        ),
        ([], "h.json:CM: the list is empty; no equity holidays to read"),
        ({"0": {}}, "h.json:CM: expected a list of holiday records, found object"),
    ],
)
def test_bad_json_records_name_key_and_index(tmp_path: Path, records: object, message: str) -> None:
    path = write(tmp_path, "h.json", json.dumps({"CBM": [], "CM": records}))
    assert error_of(path) == message


def test_missing_segment_names_the_keys_the_file_has(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.json",
        json.dumps({"CM": [{"tradingDate": "26-Jan-2027"}], "FO": [], "COM": []}),
    )
    assert error_of(path, CURRENCY) == (
        "h.json: has no 'CD' list (currency segment); the file has: CM, FO, COM"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", f"h.csv: the file is empty; {ACCEPTED_FORMATS}"),
        ("\ufeff \r\n\r\n  ", f"h.csv: the file is empty; {ACCEPTED_FORMATS}"),
        ("# nothing yet\n", f"h.csv: has no rows; {ACCEPTED_FORMATS}"),
        (
            "Sr. No.,Date,Day,Description\r\n\r\n",
            f"h.csv: has a header but no holiday rows; {ACCEPTED_FORMATS}",
        ),
        (
            "timestamp,open,high,low,close,volume\n2027-01-04T09:15:00+05:30,1,2,0.5,1.5,100\n",
            "h.csv:1: not a holiday list: the first row 'timestamp,open,high,low,close,volume' "
            "is neither a header naming a date and a description column nor a date; "
            f"{ACCEPTED_FORMATS}",
        ),
        (
            "date,open,high,low,close,volume\n2027-01-04,1,2,0.5,1.5,100\n",
            "h.csv:1: not a holiday list: the header 'date,open,high,low,close,volume' has a "
            f"date column but no description column; {ACCEPTED_FORMATS}",
        ),
        (
            "<!DOCTYPE html><html><body>Access Denied</body></html>",
            "h.csv: is an HTML/XML page, not a holiday list (NSE serves a page when a download "
            f"is blocked); {ACCEPTED_FORMATS}",
        ),
    ],
)
def test_not_a_holiday_list(tmp_path: Path, content: str, message: str) -> None:
    assert error_of(write(tmp_path, "h.csv", content)) == message


@pytest.mark.parametrize(
    "name", ["cm03JUN2024bhav.csv", "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv"]
)
def test_a_bhavcopy_is_not_a_holiday_list(name: str) -> None:
    message = error_of(BHAVCOPY / name)
    assert message.startswith(f"{name}:1: not a holiday list: the first row '")
    assert message.endswith(ACCEPTED_FORMATS)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", f"h.json: the list is empty; no holidays to read; {ACCEPTED_FORMATS}"),
        (
            '{"status": "ok", "data": {"symbol": "INFY"}}',
            f"h.json: not NSE's holiday-master JSON (its keys: status, data); {ACCEPTED_FORMATS}",
        ),
        ("{}", f"h.json: not NSE's holiday-master JSON (its keys: none); {ACCEPTED_FORMATS}"),
        (
            '{"CM": [\n  {"tradingDate": "26-Jan-2027"},\n  {"tradingDa',
            "h.json:3: not valid JSON: Unterminated string starting at (column 4); a download "
            "cut short?",
        ),
        (
            '{"CM": [\n  {"tradingDate": "26-Jan-2027"},\n',
            "h.json:3: not valid JSON: Expecting value (column 1); a download cut short?",
        ),
    ],
)
def test_bad_json_files(tmp_path: Path, content: str, message: str) -> None:
    assert error_of(write(tmp_path, "h.json", content)) == message


# -- unreadable files: the path and the reason, never a traceback from deep inside -----------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    assert error_of(path) == f"{path}: no such file"


def test_a_folder(tmp_path: Path) -> None:
    assert error_of(tmp_path) == f"{tmp_path}: is a folder, not a holiday list file"


def test_not_utf8(tmp_path: Path) -> None:
    path = write(
        tmp_path, "h.csv", "date,description\n2027-03-22,Holi – Dhuleti\n".encode("cp1252")
    )
    assert error_of(path) == (
        f"{path}: is not UTF-8 text (byte 0x96 at offset 33); save it as UTF-8 (Excel: CSV UTF-8)"
    )


def test_utf16(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "date,description\n2027-01-26,R\n".encode("utf-16"))
    assert error_of(path) == f"{path}: is UTF-16 text; save it as UTF-8 (Excel: CSV UTF-8)"


def test_binary(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    assert error_of(path) == f"{path}: is a binary file, not a holiday list; {ACCEPTED_FORMATS}"


def test_far_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, "bars.csv", "2027-01-26,x\n" * (MAX_FILE_BYTES // 10))
    assert error_of(path).startswith(f"{path}: larger than 1024 KB, far more than a holiday list")


def test_error_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        read_holiday_list(str(tmp_path / "nope.csv"))
