"""Exchange and bar files -> ImportBatch (engine.data.batch), format detected from content.

    from engine.data.importers import FORMATS, detect_format, read_file
    batch = read_file("BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv.zip")   # format="auto"
    batch = read_file("prices.csv", mapping={"Date": "timestamp", "Close Price": "close"},
                      symbol="RELIANCE")

Formats (FORMATS) and where their rules are written down:
- nse_cm_legacy (nse_cm), nse_cm_udiff / bse_cm_udiff / nse_fo_udiff (udiff),
  nse_fo_legacy (nse_fo), bse_cm_legacy (bse_cm): daily exchange files, "1d" bars at the
  session open (normalise). F&O VOLUME IS IN UNITS (contracts x lot size), open interest in
  units as published.
- ohlcv_csv (generic): any OHLCV CSV, with a column ``mapping`` and the "timezone" and
  "date_format" options; parquet (parquet): the same columns in a Parquet file.

Detection reads the bytes, never the name (detect); zip archives with exactly one file and
HTML error pages are handled in sources. Any bad row aborts the whole file with BarDataError
``file:line: what is wrong`` (1-based lines, header = line 1); nothing is returned then.
For exchange files ``exchange`` is ignored (the file says which exchange it is) and
``symbol``/``mapping`` are refused; ``timeframe`` may only be "1d".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Final

from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.closed_days import find_closed_days
from engine.data.importers import bse_cm, generic, nse_cm, nse_fo, parquet, udiff
from engine.data.importers.detect import detect
from engine.data.importers.file_identity import FileIdentity
from engine.data.importers.sources import Source, open_source, sha256_file

FORMATS: Final[tuple[str, ...]] = (
    "nse_cm_legacy",
    "nse_cm_udiff",
    "nse_fo_legacy",
    "nse_fo_udiff",
    "bse_cm_legacy",
    "bse_cm_udiff",
    "ohlcv_csv",
    "parquet",
)
_EXCHANGE_READERS: Final[dict[str, Callable[[Source], ImportBatch]]] = {
    "nse_cm_legacy": nse_cm.read,
    "nse_cm_udiff": lambda source: udiff.read_cash(source, "NSE", "nse_cm_udiff"),
    "nse_fo_legacy": nse_fo.read,
    "nse_fo_udiff": udiff.read_fo,
    "bse_cm_legacy": bse_cm.read,
    "bse_cm_udiff": lambda source: udiff.read_cash(source, "BSE", "bse_cm_udiff"),
}


def detect_format(path: str | Path, *, mapping: Mapping[str, str] | None = None) -> str:
    """The format name (one of FORMATS) of a plain or zipped file, judged by its content."""
    return detect(open_source(path), mapping)


def read_file(
    path: str | Path,
    format: str = "auto",
    *,
    mapping: Mapping[str, str] | None = None,
    symbol: str | None = None,
    exchange: str = "NSE",
    timeframe: str | None = None,
    lenient: bool = False,
) -> ImportBatch:
    """Parse and validate one file into an ImportBatch, or raise BarDataError (file:line).

    Options for generic files (mapping, symbol, an intraday timeframe) given for a detected
    exchange file are an error, unless `lenient` (an import of mixed files, where they were
    meant for the others): then they are set aside with a note."""
    if format != "auto" and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use auto or one of {', '.join(FORMATS)}")
    identity = FileIdentity.take(path)
    batch = _read(path, format, mapping, symbol, exchange, timeframe, lenient)
    identity.confirm_unchanged()  # what was parsed is what was hashed
    return replace(batch, content_sha256=identity.sha256, closed_days=find_closed_days(batch.bars))


def _read(
    path: str | Path,
    format: str,
    mapping: Mapping[str, str] | None,
    symbol: str | None,
    exchange: str,
    timeframe: str | None,
    lenient: bool,
) -> ImportBatch:
    source = open_source(path)
    fmt = detect(source, mapping) if format == "auto" else format
    reader = _EXCHANGE_READERS.get(fmt)
    if reader is not None:
        generic_only = [
            name
            for name, given in (
                ("column mapping", bool(mapping)),
                ("symbol", symbol is not None),
                (f"timeframe {timeframe}", timeframe not in (None, "1d")),
            )
            if given
        ]
        if generic_only and not (lenient and format == "auto"):
            if mapping or symbol is not None:
                raise ValueError(
                    f"a column mapping and a symbol apply to OHLCV files, not to {fmt} files "
                    "(they name their own symbols)"
                )
            raise ValueError(f"{fmt} holds daily bars; --timeframe {timeframe} does not apply")
        batch = reader(source)
        if generic_only:  # one import of mixed files: the options were meant for the others
            batch.notes.append(f"{', '.join(generic_only)} left aside: {fmt} files name their "
                               "own symbols and hold daily bars")  # fmt: skip
        return batch
    if (fmt == "parquet") != source.is_parquet:
        what = "is not a Parquet file" if fmt == "parquet" else "is a Parquet file"
        raise BarDataError(f"{what}; drop --format (auto detects it)", source.label)
    if fmt == "parquet":
        return parquet.read(source, mapping, symbol, exchange, timeframe)
    return generic.read_csv(source, mapping, symbol, exchange, timeframe)


__all__ = ["FORMATS", "BarDataError", "detect_format", "read_file", "sha256_file"]
