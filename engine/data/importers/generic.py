"""Generic OHLCV files: CSV with a column mapping (format ohlcv_csv); shared with Parquet.

Columns: ``timestamp, open, high, low, close, volume`` are required, ``oi`` and ``symbol``
optional; names match case-insensitively and other columns are ignored. Prices are rupees
(turned into exact paise), volume whole units, oi whole units (all empty = no oi).

``mapping`` renames the user's columns and carries two options:
- ``{"Date": "timestamp", "Close Price": "close"}``: "column as written" -> canonical name
  (timestamp, open, high, low, close, volume, oi, symbol, or ``time`` for a separate
  time-of-day column that is joined to the date in ``timestamp``).
- ``"timezone": "Asia/Kolkata"`` (any IANA zone): the zone of timestamps written WITHOUT a UTC
  offset. Without it such timestamps are refused, because "09:15" alone could be IST or UTC.
  Timestamps that carry an offset keep it; the option only fills in missing ones.
- ``"date_format": "%d-%m-%Y %H:%M"``: a strptime layout for the timestamp text (default:
  ISO 8601, e.g. 2025-06-03T09:15:00+05:30).
"timezone" and "date_format" are therefore reserved: they are never column names.

Timestamps:
- with an offset (or zone) -> UTC ns of the bar's open, as written;
- date only (``2025-06-03``, or a date_format without time fields) -> trade dates: daily bars.
Without a mapping, common column names are recognised (``Date``, ``Close Price``, ``Ticker``...:
column_names.suggest_mapping, the same guess the import dialog shows).
Symbol: the ``symbol`` column, else ``symbol=``, else the file name's stem upper-cased.
Exchange: ``exchange=`` (NSE by default).
Everything after parsing (prices, checks, timeframe, session stamps, notes) is bar_rules',
shared with the DuckDB reader of the documented layout (duckdb_csv) and Parquet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.importers import duckdb_csv
from engine.data.importers.bar_rules import finish
from engine.data.importers.column_names import CANONICAL, suggest_mapping
from engine.data.importers.csv_table import parse_csv
from engine.data.importers.sources import Source
from engine.data.importers.timestamps import column_times

REQUIRED: Final = ("timestamp", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Layout:
    columns: dict[str, str]  # canonical name -> column name as written
    zone: ZoneInfo | None
    date_format: str | None


def resolve_layout(header: Sequence[str], mapping: Mapping[str, str] | None, label: str) -> Layout:
    """Match the header against the canonical names, after the user's mapping."""
    given = dict(mapping or {})
    zone_name, date_format = given.pop("timezone", None), given.pop("date_format", None)
    zone = None
    if zone_name is not None:
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"time zone {zone_name!r} is not an IANA zone name (e.g. Asia/Kolkata)"
            ) from None
    exact = {h.strip(): h for h in header if h.strip()}
    folded = {h.strip().lower(): h for h in header if h.strip()}
    columns: dict[str, str] = {}
    for key, target in given.items():
        if target not in CANONICAL:
            raise ValueError(
                f"column {key!r} is mapped to {target!r}, which is not one of "
                f"{', '.join(CANONICAL)}"
            )
        name = exact.get(key.strip()) or folded.get(key.strip().lower())
        if name is None:
            found = ", ".join(exact) or "nothing"
            raise BarDataError(
                f"--map names column {key!r}, which is not in the header (found: {found})",
                label,
                1,
            )
        if target in columns:
            raise BarDataError(f"two columns are mapped to {target!r} (--map); map one", label, 1)
        columns[target] = name
    for name in header:
        key = name.strip().lower()
        if key in CANONICAL and key not in columns and name not in columns.values():
            columns[key] = name
    for name, target in suggest_mapping(list(header)).items():  # Date, Close Price, ...
        written = exact.get(name)
        if written is not None and target not in columns and written not in columns.values():
            columns[target] = written
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        found = ", ".join(exact) or "nothing"
        raise BarDataError(
            f"missing column {', '.join(missing)}; found: {found} (map your columns to "
            "these names, e.g. --map 'Close Price=close')",
            label,
            1,
        )
    return Layout(columns, zone, None if date_format is None else str(date_format))


def read_csv(
    source: Source,
    mapping: Mapping[str, str] | None,
    symbol: str | None,
    exchange: str,
    timeframe: str | None,
) -> ImportBatch:
    header = source.header()
    layout = resolve_layout(header, mapping, source.label)
    fast = duckdb_csv.read(source, layout, symbol, exchange, timeframe)
    if fast is not None:
        return fast
    cols = layout.columns
    text = {cols[c]: str for c in ("symbol", "time") if c in cols}
    one_column = "time" not in cols  # else date and time are joined as text first
    table = parse_csv(
        source,
        {name: canonical for canonical, name in cols.items()},
        text if one_column else {**text, cols["timestamp"]: str},
        dates=cols["timestamp"] if one_column else None,
        date_format=layout.date_format or "ISO8601",
    )
    first = source.first_row()
    position = header.index(cols["timestamp"])
    written_as_date = position < len(first) and ":" not in first[position]
    times = column_times(table, layout.zone, layout.date_format, written_as_date)
    return finish(source, "ohlcv_csv", table, times, symbol, exchange, timeframe)
