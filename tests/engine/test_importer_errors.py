"""A bad row in an exchange file aborts the whole file with `file:line: what is wrong`: bad
values, missing columns, extra fields, duplicate symbols, and a format that does not fit."""

from __future__ import annotations

import pytest

from engine.data.bar_series import BarDataError
from engine.data.importers import read_file
from tests.engine.importer_helpers import (
    NSE_CM_LEGACY,
    NSE_CM_UDIFF,
    NSE_FO_LEGACY,
    NSE_FO_UDIFF,
    rewrite,
    zipped,
)

# --- a bad row aborts the whole file with file:line -----------------------------------------


def test_bad_row_in_the_middle_names_its_line(tmp_path):
    # line 5 of the UDiFF CM fixture is RELIANCE EQ: make its high 1400.00 (< low 1412.40)
    bad = rewrite(NSE_CM_UDIFF, tmp_path / "cm.csv", 5, "1431.80", "1400.00")
    with pytest.raises(BarDataError) as err:
        read_file(bad)
    assert str(err.value) == f"{bad}:5: RELIANCE: high 1400.00 is below low 1412.40"
    assert err.value.line == 5
    packed = zipped(bad, tmp_path, "cm.csv")
    with pytest.raises(BarDataError, match=r"cm\.csv\.zip\[cm\.csv\]:5: RELIANCE: high"):
        read_file(packed)


@pytest.mark.parametrize(
    ("source", "line", "old", "new", "message"),
    [
        (NSE_CM_UDIFF, 4, "1418.00,1418.00", "1418.00,abc", None),  # BL row: skipped anyway
        (NSE_CM_UDIFF, 6, "812.50", "8x2.50", "OpnPric '8x2.50' is not a number"),
        (NSE_CM_UDIFF, 3, "1574.30", "1574.305", "ClsPric 1574.305 has more than 2 decimals"),
        (NSE_CM_UDIFF, 6, "10234567", "10234567.5", "TtlTradgVol 10234567.5 is not a whole"),
        (NSE_CM_UDIFF, 5, "2025-06-03,2025-06-03", "2025-06-33,2025-06-03", "TradDt "),
        (NSE_CM_LEGACY, 3, "03-JUN-2024", "03-JUX-2024", "TIMESTAMP '03-JUX-2024' is not a"),
        (NSE_CM_LEGACY, 6, "41234567", "", "TOTTRDQTY is empty"),
        (NSE_FO_LEGACY, 3, "110.00", "-110.00", "NIFTY2460623500CE: open -110.00 is not above"),
        (NSE_FO_UDIFF, 4, ",PE,", ",XX,", "OptnTp 'XX' is not CE or PE"),
        (NSE_FO_UDIFF, 3, ",FO,", ",CM,", "Sgmt is 'CM' in a NSE FO file"),
    ],
)
def test_bad_values_name_file_and_line(tmp_path, source, line, old, new, message):
    bad = rewrite(source, tmp_path / source.name, line, old, new)
    if message is None:
        assert len(read_file(bad).bars) == 5  # a skipped series is not parsed
        return
    with pytest.raises(BarDataError) as err:
        read_file(bad)
    assert str(err.value).startswith(f"{bad}:{line}: {message}")


def test_missing_column_is_a_header_error(tmp_path):
    bad = rewrite(NSE_CM_LEGACY, tmp_path / "cm.csv", 1, "TOTTRDQTY", "QTY")
    with pytest.raises(BarDataError, match=r"cm\.csv:1: missing column TOTTRDQTY"):
        read_file(bad, format="nse_cm_legacy")


def test_extra_field_and_duplicate_symbol(tmp_path):
    bad = rewrite(NSE_CM_LEGACY, tmp_path / "cm.csv", 6, "INE062A01020,", "INE062A01020,x,")
    with pytest.raises(BarDataError, match=r"cm\.csv:6: malformed CSV"):
        read_file(bad)
    twice = rewrite(NSE_CM_LEGACY, tmp_path / "cm2.csv", 6, "SBIN,", "INFY,")
    with pytest.raises(BarDataError) as err:
        read_file(twice)
    message = "INFY appears twice for 2024-06-03 09:15: line 3 has it already"
    assert str(err.value) == f"{twice}:6: {message}"


def test_explicit_format_must_fit_the_content():
    with pytest.raises(BarDataError, match="missing column"):
        read_file(NSE_CM_LEGACY, format="nse_fo_legacy")
    with pytest.raises(ValueError, match="unknown format"):
        read_file(NSE_CM_LEGACY, format="xls")
    with pytest.raises(ValueError, match="daily bars"):
        read_file(NSE_CM_LEGACY, timeframe="5m")
    with pytest.raises(ValueError, match="a symbol apply to OHLCV files"):
        read_file(NSE_CM_LEGACY, symbol="X")


@pytest.mark.parametrize(
    ("first_column", "row", "expected"),
    [
        ("timestamp", "2300-06-03T09:16:00+05:30", "timestamp 2300-06-03 09:16 is out of range"),
        ("timestamp", "1600-06-03T09:16:00+05:30", "is out of range (years 1678-2261)"),
        ("Date", "9999-06-04", "date 9999-06-04 is out of range (years 1678-2261)"),
        ("Date", "1900-06-04", "timestamp 1900-06-04 09:"),
    ],
)
def test_dates_out_of_range_name_their_line(tmp_path, first_column, row, expected):
    """Row 12 of the reliability report: years 2300/1600/9999 gave pandas' bare
    'Out of bounds nanosecond timestamp' with no file or line."""
    path = tmp_path / "far.csv"
    first = "2025-06-03T09:15:00+05:30" if first_column == "timestamp" else "2025-06-03"
    path.write_text(
        f"{first_column},open,high,low,close,volume\n{first},100,101,99,100,1\n{row},100,101,99,100,1\n"
    )
    with pytest.raises(BarDataError) as err:
        read_file(path)
    assert str(err.value).startswith(f"{path}:3: ") and expected in str(err.value)
