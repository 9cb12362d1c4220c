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
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from engine.data.bar_series import BarDataError

HEAD_BYTES: Final = 64 * 1024
_ROWS_SEARCHED: Final = 50
_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")
_PARQUET_MAGIC: Final = b"PAR1"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_BOM: Final = b"\xef\xbb\xbf"
_JUNK: Final = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")


@dataclass(frozen=True)
class Source:
    """One file to import: where it is, how to name it in messages, and its first bytes."""

    path: Path
    label: str  # "file.csv" or "archive.zip[member.csv]", used in file:line messages
    head: bytes  # the first HEAD_BYTES of the (unzipped) content
    data: bytes | None = None  # the whole unzipped member; None for a plain file
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

    def header(self) -> list[str]:
        """Fields of the first line, as written (quotes removed, a trailing empty field kept)."""
        return next(csv.reader(self._lines(1)), [])

    def first_row(self) -> list[str]:
        """Fields of the first non-blank line after the header (empty if there is none)."""
        for line in self._lines(_ROWS_SEARCHED)[1:]:
            if line.strip(" ,\t"):
                return next(csv.reader([line]), [])
        return []


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
    return source


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
            return names[0], archive.read(names[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
        raise BarDataError(f"is not a readable zip archive ({err})", path) from None


def _refuse_non_data(source: Source) -> None:
    body = source.head.removeprefix(_BOM).lstrip(b" \t\r\n")
    if not body:
        raise BarDataError("file is empty", source.label)
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
    if source.data is not None and source.is_parquet:
        raise BarDataError("Parquet inside a zip is not supported; unzip it first", source.label)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of the file as stored (for the import log's "seen this file" check)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
