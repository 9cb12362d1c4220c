"""Files as people have them: CR-only line ends ("CSV (Macintosh)") import like LF ones;
UTF-16, binary junk, a zip inside a zip, an old .xls and a header with a stray quote are
refused saying what they are, never by echoing their bytes."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from engine.data.bar_series import BarDataError
from engine.data.importers import read_file
from engine.data.importers.sources import open_source
from tests.engine.importer_helpers import NSE_CM_LEGACY, NSE_CM_UDIFF

HEADER = "timestamp,open,high,low,close,volume"


def minute_csv(days: int = 2) -> str:
    """375 one-minute bars a session, prices moving by a few paise, ISO times with +05:30."""
    rows = [HEADER]
    for day in range(days):
        for i in range(375):
            hour, minute = divmod(9 * 60 + 15 + i, 60)
            price = 2_400 + (i % 37) * 0.05 - day
            rows.append(
                f"2026-06-0{day + 1}T{hour:02d}:{minute:02d}:00+05:30,{price:.2f},"
                f"{price + 0.35:.2f},{price - 0.20:.2f},{price + 0.10:.2f},{1_000 + 7 * i}"
            )
    return "\n".join(rows) + "\n"


def bars(path: Path, **options: str) -> pd.DataFrame:
    frame = read_file(path, **options).bars  # type: ignore[arg-type]
    return frame.drop(columns=["symbol"]).reset_index(drop=True)


def refused(path: Path) -> str:
    with pytest.raises(BarDataError) as err:
        read_file(path)
    return str(err.value)


# --- line ends ---------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_cr_only_and_crlf_files_import_the_same_bars_as_lf(tmp_path, ending):
    text = minute_csv()
    lf = tmp_path / "lf.csv"
    lf.write_bytes(text.encode())
    other = tmp_path / "mac.csv"
    other.write_bytes(text.replace("\n", ending).encode())
    got = bars(other)
    assert len(got) == 750
    pd.testing.assert_frame_equal(got, bars(lf))


def test_a_cr_only_bhavcopy_and_a_cr_only_zip_member_import(tmp_path):
    for fixture in (NSE_CM_LEGACY, NSE_CM_UDIFF):
        mac = tmp_path / fixture.name
        mac.write_bytes(fixture.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
        assert read_file(mac).bars.equals(read_file(fixture).bars)
    archive = tmp_path / "mac.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("INFY.csv", minute_csv(1).replace("\n", "\r"))
    assert len(read_file(archive).bars) == 375


def test_a_bad_row_in_a_cr_only_file_names_its_line(tmp_path):
    lines = minute_csv(1).splitlines()
    fields = lines[200].split(",")
    fields[5] = "12x4"  # the volume of file line 201
    lines[200] = ",".join(fields)
    mac = tmp_path / "mac.csv"
    mac.write_bytes("\r".join(lines).encode() + b"\r")
    assert f"{mac}:201: " in refused(mac)


# --- what is not CSV text ------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_named_as_such(tmp_path, encoding):
    path = tmp_path / "excel_unicode.csv"
    path.write_bytes(minute_csv(1).encode(encoding))
    message = refused(path)
    assert message == (
        f'{path}: is UTF-16 text (Excel\'s "Unicode Text"); save it as CSV UTF-8 '
        "(comma delimited) and import that"
    )


@pytest.mark.parametrize("start", [b"", b"\xff\xfe", b"\xfe\xff"])
def test_random_bytes_are_a_binary_file_and_are_not_echoed(tmp_path, start):
    """Even when they happen to begin like a UTF-16 byte-order mark (1 file in 32,768)."""
    path = tmp_path / "junk.csv"
    path.write_bytes(start + os.urandom(4096))
    message = refused(path)
    assert message.startswith(f"{path}: is a binary file, not CSV text")
    assert message.isprintable()


def test_a_sparse_file_of_zero_bytes_is_refused_at_once(tmp_path):
    path = tmp_path / "zeros.csv"
    with path.open("wb") as handle:
        handle.truncate(512 * 1024 * 1024)  # sparse: nothing to read but its first 64 KB
    message = refused(path)
    assert "\0" not in message and len(message) < 300
    assert "is a binary file (it starts with nothing but zero bytes), not CSV text" in message


def test_a_zip_inside_a_zip_says_so(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("INFY.csv", minute_csv(1))
    outer = tmp_path / "nested.zip"
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("inner.zip", inner.getvalue())
    message = refused(outer)
    assert message == (
        f"{outer}[inner.zip]: is a zip inside the zip (nested zip): unzip the outer archive "
        "first and import what it holds"
    )


def test_an_old_excel_workbook_is_named(tmp_path):
    path = tmp_path / "prices.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2048))
    assert (
        refused(path) == f"{path}: is an old Excel workbook (.xls), not CSV; save it as CSV first"
    )


def test_text_with_accents_is_still_text(tmp_path):
    path = tmp_path / "names.csv"  # Windows-1252 text: not UTF-8, but not binary either
    body = minute_csv(1).replace(HEADER, "timestamp,open,high,low,close,volume,name")
    lines = [body.splitlines()[0]] + [f"{line},Société Générale" for line in body.splitlines()[1:]]
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    assert len(read_file(path).bars) == 375


# --- headers -------------------------------------------------------------------------------


def test_a_stray_quote_before_the_header_is_named_not_shown_as_unrecognised(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"' + minute_csv(1))
    message = refused(path)
    assert message == (
        f'{path}:1: the header has an unmatched quote ("), so the whole line reads as one '
        "column; remove the stray quote"
    )
    assert "unrecognised" not in message


def test_an_unrecognised_header_is_quoted_as_written_in_cli_words(tmp_path):
    path = tmp_path / "yahoo.csv"
    path.write_text('"Trade Date","Last Traded"\n2026-06-01,100\n')
    message = refused(path)
    assert message.startswith(f'{path}:1: unrecognised file (header: "Trade Date","Last Traded")')
    assert "--map 'Their Column=close'" in message and "mapping=" not in message


def test_printable_escapes_control_characters_and_cuts_long_text():
    from engine.data.importers.sources import printable

    assert printable("a\x1b[31mb\tc") == "a\\x1b[31mb\\tc"
    assert printable("x" * 500) == "x" * 199 + "…"


def test_open_source_keeps_plain_files_on_disk_and_normalises_only_cr_only_ones(tmp_path):
    lf = tmp_path / "lf.csv"
    lf.write_text(minute_csv(1))
    assert open_source(lf).data is None  # read from its path, as before
    mac = tmp_path / "mac.csv"
    mac.write_bytes(minute_csv(1).replace("\n", "\r").encode())
    source = open_source(mac)
    assert source.header() == HEADER.split(",")
    assert source.data is not None and b"\r" not in source.data
    assert source.data.count(b"\n") == 376  # same lines, so file:line stays true


def test_a_zip_bomb_is_refused_without_unpacking_it(tmp_path):
    """D13b: a 3 MB zip holding a 3.2 GB member was unpacked whole (16.5 GB of memory)."""
    import resource

    from engine.data.importers.sources import MAX_UNZIPPED

    bomb = tmp_path / "bomb.zip"
    block = b"0" * (16 << 20)
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("big.csv", "w", force_zip64=True) as member,
    ):
        member.write(b"timestamp,open,high,low,close,volume\n")
        for _ in range(MAX_UNZIPPED // len(block) + 1):
            member.write(block)
    assert bomb.stat().st_size < 5 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BarDataError, match=r"big.csv unpacks to more than 1,024 MB; unzip it"):
        read_file(bomb)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 600
