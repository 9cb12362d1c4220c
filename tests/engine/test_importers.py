"""Importers: every bhavcopy fixture (plain and zipped), content-based detection, exact values,
the F&O volume trap, session stamping.
Generic CSV/Parquet: test_importers_generic.py; bad rows named by file:line:
test_importer_errors.py."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date

import numpy as np
import pandas as pd
import pytest

from engine.data.bar_series import BarDataError
from engine.data.batch import BAR_COLUMNS, INSTRUMENT_COLUMNS
from engine.data.importers import FORMATS, detect_format, read_file, sha256_file
from tests.engine.importer_helpers import (
    BSE_CM_UDIFF,
    BSE_LEGACY_HEADER,
    BSE_LEGACY_ROWS,
    EXPECTED,
    FIXTURES,
    NSE_CM_LEGACY,
    NSE_CM_UDIFF,
    NSE_FO_LEGACY,
    NSE_FO_UDIFF,
    instrument,
    ist_ns,
    rewrite,
    row,
    zipped,
)

# --- every fixture, plain and zipped --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("packed", [False, True], ids=["plain", "zip"])
def test_every_fixture_imports(name, packed, tmp_path):
    path = zipped(FIXTURES / name, tmp_path) if packed else FIXTURES / name
    fmt, day, bars = EXPECTED[name]
    assert detect_format(path) == fmt
    batch = read_file(path)
    assert batch.format == fmt and batch.trade_date == day and batch.source == str(path)
    assert tuple(batch.bars.columns) == BAR_COLUMNS
    assert tuple(batch.instruments.columns) == INSTRUMENT_COLUMNS
    assert len(batch.bars) == bars
    assert batch.instruments["symbol"].is_unique
    assert not batch.bars.duplicated(["symbol", "ts"]).any()
    assert set(batch.bars["symbol"]) <= set(batch.instruments["symbol"])
    assert (batch.bars["timeframe"] == "1d").all()
    assert (batch.bars["ts"] == ist_ns(day.year, day.month, day.day)).all()
    for column in ("ts", "open", "high", "low", "close", "volume"):
        assert batch.bars[column].dtype == np.int64, column
    assert (batch.bars["low"] <= batch.bars["high"]).all()


def test_formats_are_listed():
    assert set(FORMATS) == {v[0] for v in EXPECTED.values()} | {
        "bse_cm_legacy",
        "ohlcv_csv",
        "parquet",
    }


# --- exact values ---------------------------------------------------------------------------


def test_nse_udiff_cash_values_and_block_deal_skip():
    batch = read_file(NSE_CM_UDIFF)
    reliance = row(batch, "RELIANCE")
    assert reliance["exchange"] == "NSE"
    assert (reliance["open"], reliance["high"], reliance["low"], reliance["close"]) == (
        142200,
        143180,
        141240,
        141690,
    )
    assert reliance["volume"] == 8765432  # the EQ row, not the 250000-share BL row
    assert pd.isna(reliance["oi"])
    assert reliance["ts"] == ist_ns(2025, 6, 3)
    meta = instrument(batch, "RELIANCE")
    assert meta["isin"] == "INE002A01018" and meta["token"] == 2885 and meta["series"] == "EQ"
    assert (meta["segment"], meta["lot_size"], meta["tick_size"]) == ("EQ", 1, 5)
    assert meta["name"] == "RELIANCE INDUSTRIES LTD"
    assert row(batch, "NIFTYBEES")["low"] == 27752  # the ETF is an EQ row like any other
    assert batch.notes == ["skipped 1 row of series BL (block deals)"]


def test_nse_legacy_cash_values():
    batch = read_file(NSE_CM_LEGACY)
    assert row(batch, "RELIANCE")["close"] == 294145
    assert row(batch, "RELIANCE")["volume"] == 9876543
    assert row(batch, "SBIN")["high"] == 91210
    meta = instrument(batch, "TCS")
    assert meta["isin"] == "INE467B01029" and pd.isna(meta["token"]) and meta["name"] == ""
    assert batch.notes == ["skipped 1 row of series BL (block deals)"]


def test_bse_udiff_cash_values():
    batch = read_file(BSE_CM_UDIFF)
    assert row(batch, "RELIANCE")["close"] == 141685
    meta = instrument(batch, "RELIANCE")
    assert (meta["exchange"], meta["token"], meta["series"]) == ("BSE", 500325, "A")
    assert meta["isin"] == "INE002A01018"


def test_udiff_fo_volume_is_contracts_times_lot_and_oi_is_units():
    batch = read_file(NSE_FO_UDIFF)
    future = row(batch, "NIFTY25JUNFUT")
    assert future["exchange"] == "NFO"
    assert future["volume"] == 112345 * 75  # TtlTradgVol counts CONTRACTS
    assert future["oi"] == 13987500  # OpnIntrst is already in units
    assert future["close"] == 2466010
    assert row(batch, "RELIANCE25JUNFUT")["volume"] == 45678 * 500
    meta = instrument(batch, "NIFTY25JUNFUT")
    assert (meta["segment"], meta["lot_size"], meta["expiry"]) == ("FUT", 75, date(2025, 6, 26))
    assert pd.isna(meta["strike"]) and pd.isna(meta["option_type"])
    assert meta["underlying"] == "NIFTY" and meta["token"] == 53216


def test_udiff_fo_weekly_option():
    batch = read_file(NSE_FO_UDIFF)
    meta = instrument(batch, "NIFTY2560525000CE")
    assert (meta["segment"], meta["expiry"], meta["strike"], meta["option_type"]) == (
        "OPT",
        date(2025, 6, 5),
        2500000,
        "CE",
    )
    assert meta["lot_size"] == 75 and meta["underlying"] == "NIFTY"
    assert row(batch, "NIFTY2560525000CE")["volume"] == 954321 * 75
    assert instrument(batch, "RELIANCE25JUN1440CE")["strike"] == 144000


def test_legacy_fo_names_lots_volume_and_oi():
    batch = read_file(NSE_FO_LEGACY)
    assert set(batch.instruments["symbol"]) == {
        "NIFTY24JUNFUT",
        "NIFTY2460623500CE",  # weekly: YY + month code + DD
        "RELIANCE24JUNFUT",
        "RELIANCE24JUN3000CE",  # monthly
    }
    lots = dict(zip(batch.instruments["symbol"], batch.instruments["lot_size"], strict=True))
    assert lots == {
        "NIFTY24JUNFUT": 25,
        "NIFTY2460623500CE": 25,
        "RELIANCE24JUNFUT": 250,
        "RELIANCE24JUN3000CE": 250,
    }
    assert row(batch, "NIFTY24JUNFUT")["volume"] == 412345 * 25
    assert row(batch, "RELIANCE24JUN3000CE")["volume"] == 8765 * 250
    assert row(batch, "NIFTY2460623500CE")["oi"] == 9876525
    weekly = instrument(batch, "NIFTY2460623500CE")
    assert (weekly["expiry"], weekly["strike"], weekly["option_type"]) == (
        date(2024, 6, 6),
        2350000,
        "CE",
    )
    assert any("NIFTY 25" in note and "RELIANCE 250" in note for note in batch.notes)


LEGACY_FO_HEADER = (
    "INSTRUMENT,SYMBOL,EXPIRY_DT,STRIKE_PR,OPTION_TYP,OPEN,HIGH,LOW,CLOSE,SETTLE_PR,CONTRACTS,"
    "VAL_INLAKH,OPEN_INT,CHG_IN_OI,TIMESTAMP,"
)


def test_legacy_fo_untraded_rows_american_options_and_borrowed_lot(tmp_path):
    lines = [
        LEGACY_FO_HEADER,
        "FUTSTK,INFY,27-Jun-2024,0,XX,1410.00,1420.00,1400.00,1415.00,1415.00,1000,5660.00,"
        "400000,8000,03-JUN-2024,",
        # far month, not traded today: lot borrowed from June, OI a multiple of 400
        "FUTSTK,INFY,25-Jul-2024,0,XX,0,0,0,0,1425.00,0,0,12000,0,03-JUN-2024,",
        "OPTSTK,INFY,27-Jun-2024,1500,PA,10.00,12.00,9.50,11.00,11.00,10,60.44,8000,400,"
        "03-JUN-2024,",
        "OPTSTK,INFY,27-Jun-2024,1600,CE,0,0,0,0,0.05,0,0,0,0,03-JUN-2024,",
    ]
    path = tmp_path / "fo.csv"
    path.write_text("\n".join(lines) + "\n")
    batch = read_file(path)
    assert len(batch.instruments) == 4 and len(batch.bars) == 2
    assert (batch.instruments["lot_size"] == 400).all()
    assert instrument(batch, "INFY24JULFUT")["expiry"] == date(2024, 7, 25)
    assert instrument(batch, "INFY24JUN1500PE")["option_type"] == "PE"
    assert row(batch, "INFY24JUNFUT")["volume"] == 400000
    assert any("no trades" in note for note in batch.notes)
    assert any("American-style" in note for note in batch.notes)


# --- BSE legacy (no fixture: written from the documented layout) --------------------------


def test_bse_legacy_plain_layout_takes_the_date_from_the_name(tmp_path):
    path = tmp_path / "EQ030624.CSV"
    path.write_text("\n".join([BSE_LEGACY_HEADER, *BSE_LEGACY_ROWS]) + "\n")
    for source in (path, zipped(path, tmp_path, "EQ030624.CSV")):
        assert detect_format(source) == "bse_cm_legacy"
        batch = read_file(source)
        assert batch.trade_date == date(2024, 6, 3)
        assert list(batch.bars["symbol"]) == ["RELIANCE INDS.", "INFOSYS LTD.", "TCS LTD."]
        meta = instrument(batch, "RELIANCE INDS.")
        assert (meta["token"], meta["series"], meta["exchange"]) == (500325, "A", "BSE")
        assert row(batch, "RELIANCE INDS.")["close"] == 294120
        assert row(batch, "RELIANCE INDS.")["ts"] == ist_ns(2024, 6, 3)
        assert batch.notes == ["skipped 1 row of SC_TYPE D"]


def test_bse_legacy_isin_variant(tmp_path):
    header = BSE_LEGACY_HEADER + ",ISIN_CODE,TRADING_DATE,FILLER2,FILLER3"
    rows = [r + f",{isin},03-Jan-23,," for r, isin in zip(
        BSE_LEGACY_ROWS, ["INE002A01018", "INE009A01021", "INE000X00000", "INE467B01029"],
        strict=True)]  # fmt: skip
    path = tmp_path / "prices.txt"  # no date in the name: the column carries it
    path.write_text("\n".join([header, *rows]) + "\n")
    batch = read_file(path)
    assert batch.format == "bse_cm_legacy" and batch.trade_date == date(2023, 1, 3)
    assert instrument(batch, "TCS LTD.")["isin"] == "INE467B01029"
    assert row(batch, "TCS LTD.")["ts"] == ist_ns(2023, 1, 3)


def test_bse_legacy_without_a_date_anywhere_is_refused(tmp_path):
    path = tmp_path / "bse.csv"
    path.write_text("\n".join([BSE_LEGACY_HEADER, *BSE_LEGACY_ROWS]) + "\n")
    with pytest.raises(BarDataError, match="EQDDMMYY"):
        read_file(path)


# --- detection from content -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detection_ignores_misleading_names(name, tmp_path):
    misleading = tmp_path / "BhavCopy_NSE_FO_0_0_0_20250603_F_0000.parquet"
    shutil.copy(FIXTURES / name, misleading)
    assert detect_format(misleading) == EXPECTED[name][0]
    assert read_file(misleading).format == EXPECTED[name][0]
    fake_zip = tmp_path / "cm03JUN2024bhav.csv.zip"  # a plain CSV called .zip
    shutil.copy(FIXTURES / name, fake_zip)
    assert detect_format(fake_zip) == EXPECTED[name][0]


def test_zip_member_name_does_not_decide_either(tmp_path):
    path = zipped(NSE_FO_LEGACY, tmp_path, member="cm03JUN2024bhav.csv")
    assert detect_format(path) == "nse_fo_legacy"


def test_html_error_page_is_recognised(tmp_path):
    page = "<!DOCTYPE html>\n<html><head><title>Page Not Found</title></head><body/></html>\n"
    path = tmp_path / "EQ030624.CSV"
    path.write_text(page)
    with pytest.raises(BarDataError, match='HTML page titled "Page Not Found"') as err:
        read_file(path)
    assert str(err.value).startswith(str(path))
    with pytest.raises(BarDataError, match="HTML page"):
        detect_format(zipped(path, tmp_path))


def test_zip_with_two_members_or_none_is_refused(tmp_path):
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.write(NSE_CM_UDIFF, "a.csv")
        archive.write(NSE_FO_UDIFF, "b.csv")
    with pytest.raises(BarDataError, match=r"two\.zip: zip holds 2 files: a\.csv, b\.csv"):
        read_file(two)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("__MACOSX/._a.csv", "junk")
    with pytest.raises(BarDataError, match="zip holds 0 files"):
        read_file(empty)


def test_unrecognised_and_empty_files(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(BarDataError, match=r"odd\.csv:1: unrecognised file"):
        detect_format(odd)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(BarDataError, match="file is empty"):
        read_file(empty)
    with pytest.raises(BarDataError, match="file not found"):
        read_file(tmp_path / "missing.csv")


# --- session stamping -----------------------------------------------------------------------


def test_special_session_and_non_session_dates(tmp_path):
    text = NSE_CM_LEGACY.read_text()
    muhurat = tmp_path / "muhurat.csv"
    muhurat.write_text(text.replace("03-JUN-2024", "01-NOV-2024"))
    batch = read_file(muhurat)
    assert (batch.bars["ts"] == ist_ns(2024, 11, 1, 18, 0)).all()  # muhurat opens 18:00
    assert batch.notes == ["skipped 1 row of series BL (block deals)"]
    saturday = tmp_path / "saturday.csv"
    saturday.write_text(text.replace("03-JUN-2024", "08-JUN-2024"))
    batch = read_file(saturday)
    assert (batch.bars["ts"] == ist_ns(2024, 6, 8)).all()
    assert batch.closed_days is not None and batch.closed_days.bars == 5
    assert batch.closed_days.describe() == "5 bars on 1 day NSE was closed (2024-06-08 Sat)"


# --- misc -----------------------------------------------------------------------------------


def test_sha256_file_hashes_the_stored_bytes(tmp_path):
    import hashlib

    packed = zipped(NSE_CM_UDIFF, tmp_path)
    assert sha256_file(packed) == hashlib.sha256(packed.read_bytes()).hexdigest()


def test_surplus_fields_are_refused_whatever_columns_are_used(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-06-03T09:15:00+05:30,100,101,99,100.5,10\n"
        "2025-06-03T09:16:00+05:30,100,101,99,100.5,10,7\n"
    )
    with pytest.raises(BarDataError, match=r"bars\.csv:3: malformed CSV"):
        read_file(path)
    quoted = rewrite(NSE_CM_UDIFF, tmp_path / "cm.csv", 3, "INFOSYS LIMITED", '"INFOSYS, LIMITED"')
    assert instrument(read_file(quoted), "INFY")["name"] == "INFOSYS, LIMITED"
    shifted = rewrite(NSE_CM_UDIFF, tmp_path / "cm2.csv", 3, "INFOSYS LIMITED", "INFOSYS, LTD")
    with pytest.raises(BarDataError, match=r"cm2\.csv:3: malformed CSV: expected 34 fields, saw"):
        read_file(shifted)


def test_untraded_udiff_contracts_keep_their_instrument(tmp_path):
    lines = NSE_FO_UDIFF.read_text().splitlines()
    untraded = (
        lines[2]
        .replace("NIFTY2560525000CE", "NIFTY2560526000CE")
        .replace("25000.00,CE", "26000.00,CE")
    )
    fields = untraded.split(",")
    for i in (14, 15, 16, 17, 18, 24, 25, 26):  # OHLC, last, volume, value, trades
        fields[i] = "0"
    path = tmp_path / "fo.csv"
    path.write_text("\n".join([*lines, ",".join(fields)]) + "\n")
    batch = read_file(path)
    assert len(batch.bars) == 5 and len(batch.instruments) == 6
    assert instrument(batch, "NIFTY2560526000CE")["strike"] == 2600000
    assert any("no trades" in note for note in batch.notes)


def test_windows_line_endings_bom_padding_and_only_skipped_rows(tmp_path):
    text = NSE_CM_LEGACY.read_text()
    windows = tmp_path / "cm.csv"
    windows.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    batch = read_file(windows)
    assert batch.format == "nse_cm_legacy" and row(batch, "TCS")["close"] == 385260
    assert instrument(batch, "TCS")["isin"] == "INE467B01029"
    padded = tmp_path / "padded.csv"
    padded.write_text(text.replace("SBIN,EQ,", "SBIN  , EQ ,"))
    assert row(read_file(padded), "SBIN")["volume"] == 41234567
    lines = text.splitlines()
    block_only = tmp_path / "bl.csv"
    block_only.write_text(f"{lines[0]}\n{lines[3]}\n")
    batch = read_file(block_only)
    assert batch.bars.empty and batch.instruments.empty and batch.trade_date is None
    assert batch.notes == ["skipped 1 row of series BL (block deals)"]
