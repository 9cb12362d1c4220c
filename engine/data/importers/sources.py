"""Opening an import file, plain or zipped, and judging it by its bytes, never by its name.

Rules:
- A file is a zip when it starts with the zip magic (``PK\\x03\\x04``, or ``PK\\x05\\x06`` for an
  empty archive), whatever it is called. The archive must hold exactly ONE data file
  (directories and macOS junk such as ``__MACOSX/`` and ``.DS_Store`` do not count); none or
  several is an error naming the zip and its members. An Excel workbook (itself a zip) gets
  its own message: save it as CSV.
- Messages about a zipped file name it ``archive.zip[member.csv]``, so ``file:line`` stays
  readable: ``EQ030624_CSV.ZIP[EQ030624.CSV]:17: high ... is below low ...``.
- HTML is refused with an explanation: BSE answers a missing bhavcopy with HTTP 200 and an
  error page, which browsers happily save as ``.CSV``. Same check inside a zip.
- What is not CSV text is refused saying what it is, never by echoing its bytes: a zip inside
  the zip, gzip, an old Excel ``.xls``, UTF-16 text (Excel's "Unicode Text"), binary data.
- Line ends may be LF, CRLF or CR alone (Excel's "CSV (Macintosh)"): CR-only content is read
  with LF line ends, so every reader sees ordinary lines with the same line numbers.
- Parquet is recognised by its ``PAR1`` magic and read from its path (not from inside a zip).
- A zipped CSV is decompressed into memory (exchange files are a few MB at most).
- ``sha256_file`` hashes the file as stored (the zip, not the member): the import log can use it
  to recognise a file it has seen before.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from engine.data.bar_series import BarDataError

HEAD_BYTES: Final = 64 * 1024
MAX_UNZIPPED: Final = 1 << 30  # a zipped file is unpacked in memory: 1 GB at most
_ROWS_SEARCHED: Final = 50
_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")
_PARQUET_MAGIC: Final = b"PAR1"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and old .doc)
_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_UTF16_SAMPLE: Final = 256  # bytes looked at for a BOM-less UTF-16 file
_CONTROL: Final = bytes([*range(0, 9), 11, *range(14, 32), 127])  # not tab, LF, FF, CR
_BINARY_SHARE: Final = 0.01  # more control bytes than this in the head: not text
_LONE_CR: Final = re.compile(rb"\r(?!\n)")
_SHOWN: Final = 200  # characters of a header line quoted in a message
_JUNK: Final = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")


@dataclass(frozen=True)
class Source:
    """One file to import: where it is, how to name it in messages, and its first bytes."""

    path: Path
    label: str  # "file.csv" or "archive.zip[member.csv]", used in file:line messages
    head: bytes  # the first HEAD_BYTES of the content as read (unzipped, LF line ends)
    # the whole content as read when it differs from the file on disk (an unzipped member,
    # CR-only line ends made LF); None: read the file itself
    data: bytes | None = None
    member: str | None = None  # the zip member's name

    @property
    def name(self) -> str:
        """The data file's own name: the zip member's, or the plain file's."""
        return Path(self.member).name if self.member is not None else self.path.name

    @property
    def is_parquet(self) -> bool:
        return self.head.startswith(_PARQUET_MAGIC)

    def csv_input(self) -> str | io.BytesIO:
        """What pandas.read_csv reads: the path of a plain file or the unzipped bytes."""
        return str(self.path) if self.data is None else io.BytesIO(self.data)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes() if self.data is None else self.data

    def _lines(self, count: int) -> list[str]:
        body = self.head.removeprefix(_BOM).split(b"\n", count)[:count]
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in body]

    def header_line(self) -> str:
        """The first line as written, fit to quote in a message (control characters escaped,
        cut at 200 characters)."""
        return printable(self._lines(1)[0])

    def header(self) -> list[str]:
        """Fields of the first line, as written (quotes removed, a trailing empty field kept).

        A stray quote would make the whole line one column that prints exactly like the
        expected header: it is refused naming the quote instead."""
        line = self._lines(1)[0]
        if line.count('"') % 2:
            raise BarDataError(
                'the header has an unmatched quote ("), so the whole line reads as one '
                "column; remove the stray quote",
                self.label,
                1,
            )
        return _fields(line, self.label, 1)

    def first_row(self) -> list[str]:
        """Fields of the first non-blank line after the header (empty if there is none)."""
        for number, line in enumerate(self._lines(_ROWS_SEARCHED)[1:], start=2):
            if line.strip(" ,\t"):
                return _fields(line, self.label, number)
        return []


def _fields(line: str, label: str, number: int) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error as err:
        raise BarDataError(f"line is not CSV ({err})", label, number) from None


def printable(text: str, limit: int = _SHOWN) -> str:
    """`text` safe to print: control characters escaped (\\x1b), cut at `limit` with an ellipsis."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def open_source(path: str | Path) -> Source:
    """Open a plain or zipped file and sniff it; refuse what is not data (HTML, Excel, gzip)."""
    path = Path(path)
    if not path.is_file():
        raise BarDataError("is not a file" if path.exists() else "file not found", path)
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if head.startswith(_ZIP_MAGIC):
        member, data = _unzip(path)
        source = Source(path, f"{path}[{member}]", data[:HEAD_BYTES], data, member)
    else:
        source = Source(path, str(path), head)
    _refuse_non_data(source)
    return _with_lf_line_ends(source)


def _unzip(path: Path) -> tuple[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [
                info.filename
                for info in archive.infolist()
                if not info.is_dir() and not _JUNK.search(info.filename)
            ]
            if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
                raise BarDataError("is an Excel workbook, not CSV; save it as CSV first", path)
            if len(names) != 1:
                found = f": {', '.join(names)}" if names else ""
                raise BarDataError(
                    f"zip holds {len(names)} files{found}; expected exactly one CSV file", path
                )
            return names[0], _read_member(archive, names[0], path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
        raise BarDataError(f"is not a readable zip archive ({err})", path) from None


def _read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    """The member's bytes, at most MAX_UNZIPPED (read in chunks: a header can lie about the
    size, and a 3 MB zip can unpack to gigabytes)."""
    too_big = BarDataError(
        f"{name} unpacks to more than {MAX_UNZIPPED // 2**20:,} MB; unzip it and import the "
        "file itself",
        path,
    )
    if archive.getinfo(name).file_size > MAX_UNZIPPED:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    with archive.open(name) as member:
        while chunk := member.read(1 << 20):
            size += len(chunk)
            if size > MAX_UNZIPPED:
                raise too_big
            chunks.append(chunk)
    return b"".join(chunks)


def _refuse_non_data(source: Source) -> None:
    body = source.head.removeprefix(_BOM).lstrip(b" \t\r\n")
    if not body:
        raise BarDataError("file is empty", source.label)
    if source.member is not None and source.head.startswith(_ZIP_MAGIC):
        raise BarDataError(
            "is a zip inside the zip (nested zip): unzip the outer archive first and import "
            "what it holds",
            source.label,
        )
    if body.startswith(b"<"):
        title = re.search(rb"<title[^>]*>([^<]{1,120})", body, re.IGNORECASE)
        said = f' titled "{title.group(1).decode("utf-8", "replace").strip()}"' if title else ""
        raise BarDataError(
            f"is an HTML page{said}, not a data file: BSE (and other sites) answer a missing "
            "bhavcopy with an error page that gets saved under the .CSV name; download the "
            "file again, or check that the exchange published one for that date",
            source.label,
        )
    if source.head.startswith(_GZIP_MAGIC):
        raise BarDataError("is gzip-compressed; unzip it or re-pack it as .zip", source.label)
    if source.is_parquet:
        if source.member is not None:
            raise BarDataError(
                "Parquet inside a zip is not supported; unzip it first", source.label
            )
        return  # binary by design
    if source.head.startswith(_OLE2_MAGIC):
        raise BarDataError(
            "is an old Excel workbook (.xls), not CSV; save it as CSV first", source.label
        )
    if _utf16(source.head):
        raise BarDataError(
            'is UTF-16 text (Excel\'s "Unicode Text"); save it as CSV UTF-8 (comma delimited) '
            "and import that",
            source.label,
        )
    if _binary(source.head):
        zeros = " (it starts with nothing but zero bytes)" if not source.head.strip(b"\0") else ""
        raise BarDataError(
            f"is a binary file{zeros}, not CSV text; import a CSV (or Parquet) export of the "
            "data instead",
            source.label,
        )


def _utf16(head: bytes) -> bool:
    """A UTF-16 byte-order mark followed by mostly ASCII characters (a bar file's digits,
    commas and dates: random bytes that happen to start like a BOM are binary, not text), or
    ASCII text with a NUL beside every character."""
    if head.startswith(_UTF16_BOMS):
        body = head[2 : 2 + _UTF16_SAMPLE]
        body = body[: len(body) // 2 * 2]
        decoded = body.decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", errors="replace")
        return not decoded or sum(ch < "\x80" for ch in decoded) >= 0.9 * len(decoded)
    sample = head[:_UTF16_SAMPLE]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    for text, zeros in ((even, odd), (odd, even)):
        if zeros.count(0) == len(zeros) and text.count(0) == 0:
            return True
    return False


def _binary(head: bytes) -> bool:
    """NUL bytes, or more than a sprinkle of control characters, are not CSV text."""
    if b"\0" in head:
        return True
    controls = len(head) - len(head.translate(None, delete=_CONTROL))
    return controls > _BINARY_SHARE * len(head)


def _with_lf_line_ends(source: Source) -> Source:
    """CR-only line ends ("CSV (Macintosh)") become LF, in memory; other sources unchanged."""
    if source.is_parquet or not _LONE_CR.search(source.head.removesuffix(b"\r")):
        return source
    data = source.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return replace(source, head=data[:HEAD_BYTES], data=data)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of the file as stored (for the import log's "seen this file" check)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
