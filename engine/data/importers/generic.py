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
- date only (``2025-06-03``, or a date_format without time fields) -> daily bars ("1d") at the
  session OPEN of that date on the exchange's calendar (09:15 IST normally; a non-session date
  gets 09:15 IST and a note); no timezone needed;
- daily bars written at midnight IST (``2025-06-03T00:00:00+05:30``) are moved to the session
  open too (with a note), so every daily bar in the store opens at its session's open.
Symbol: the ``symbol`` column, else ``symbol=``, else the file name's stem upper-cased.
Exchange: ``exchange=`` (NSE by default). NSE/BSE -> segment EQ; NFO/BFO -> FUT or OPT from the
symbol's ending, lot size unknown (1 is written and a note says so). Tick 5 paise.
Timeframe: inferred from the median spacing of each symbol's bars, or checked if given.
Rows need not be sorted; one bar per (symbol, ts); OHLC rules as for every format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from engine.data.bar_series import BarDataError, Int64Array, resolve_timeframe
from engine.data.batch import ImportBatch
from engine.data.importers.csv_table import CsvTable, ObjectArray, parse_csv
from engine.data.importers.normalise import (
    EQUITY_TICK_PAISE,
    NS,
    bars_frame,
    check_bars,
    check_unique,
    constant_text,
    instruments_frame,
    session_opens,
    text_column,
)
from engine.data.importers.sources import Source
from engine.data.importers.timestamps import Days, column_times
from engine.domain.enums import Exchange

CANONICAL: Final = ("timestamp", "time", "open", "high", "low", "close", "volume", "oi", "symbol")
REQUIRED: Final = ("timestamp", "open", "high", "low", "close", "volume")
PRICES: Final = ("open", "high", "low", "close")
_DAY_NS: Final = 86_400 * NS
_IST_OFFSET_NS: Final = 19_800 * NS


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
            raise ValueError(f"mapping timezone {zone_name!r} is not an IANA zone name") from None
    exact = {h.strip(): h for h in header if h.strip()}
    folded = {h.strip().lower(): h for h in header if h.strip()}
    columns: dict[str, str] = {}
    for key, target in given.items():
        if target not in CANONICAL:
            raise ValueError(f"mapping target {target!r} is not one of {', '.join(CANONICAL)}")
        name = exact.get(key.strip()) or folded.get(key.strip().lower())
        if name is None:
            found = ", ".join(exact) or "nothing"
            raise BarDataError(
                f"mapping names column {key!r}, not in the header ({found})", label, 1
            )
        if target in columns:
            raise BarDataError(f"mapping sends two columns to {target!r}", label, 1)
        columns[target] = name
    for name in header:
        key = name.strip().lower()
        if key in CANONICAL and key not in columns and name not in columns.values():
            columns[key] = name
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        found = ", ".join(exact) or "nothing"
        raise BarDataError(
            f"missing column {', '.join(missing)}; found: {found} (rename yours with "
            "mapping={'Your Column': 'close', ...})",
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
    cols = layout.columns
    text = {cols[c]: str for c in ("symbol", "time") if c in cols}
    fast = "time" not in cols
    table = parse_csv(
        source,
        {name: canonical for canonical, name in cols.items()},
        text if fast else {**text, cols["timestamp"]: str},
        dates=cols["timestamp"] if fast else None,
        date_format=layout.date_format or "ISO8601",
    )
    first = source.first_row()
    position = header.index(cols["timestamp"])
    written_as_date = position < len(first) and ":" not in first[position]
    times = column_times(table, layout.zone, layout.date_format, written_as_date)
    return finish(source, "ohlcv_csv", table, times, symbol, exchange, timeframe)


def finish(
    source: Source,
    fmt: str,
    table: CsvTable,
    times: Int64Array | Days,
    symbol: str | None,
    exchange: str,
    timeframe: str | None,
) -> ImportBatch:
    """Prices, checks and frames for a generic file whose timestamps are already resolved."""
    notes: list[str] = []
    venue = _exchange(exchange)
    symbols = _symbols(source, table, symbol)
    prices = [table.paise(name) for name in PRICES]
    volume = table.whole("volume")
    oi = None
    if "oi" in table.frame.columns:
        values = table.floats("oi")
        oi = None if np.isnan(values).all() else table.whole("oi", values)
    if isinstance(times, Days):
        if timeframe not in (None, "1d"):
            raise BarDataError(f"timeframe {timeframe!r} was given but the file has dates only "
                               "(daily bars)", source.label)  # fmt: skip
        ts, tf = session_opens(times.days, venue, notes)[times.codes], "1d"
    else:
        ts = times
    check_bars(table, symbols, prices, volume, oi)
    check_unique(table, symbols, ts)
    if not isinstance(times, Days):
        tf = _timeframe(source.label, symbols, ts, timeframe)
        if tf == "1d":
            ts = _midnight_to_open(ts, venue, notes)
    bars = bars_frame(venue, symbols, tf, ts, prices, volume, oi)
    names = np.asarray(pd.unique(symbols), dtype=object)
    segment = _segments(source, venue, names, notes)
    n = len(names)
    option = np.array([s[-2:] if seg == "OPT" else "" for s, seg in zip(names, segment,
                                                                         strict=True)])  # fmt: skip
    instruments = instruments_frame(
        {
            "exchange": constant_text(venue, n),
            "segment": text_column(segment, n),
            "symbol": text_column(names, n),
            "lot_size": 1,
            "tick_size": EQUITY_TICK_PAISE,
            "option_type": text_column(option, n),
        },
        n,
    )
    return ImportBatch(str(source.path), fmt, instruments, bars, None, notes,
                       placeholder_instruments=True)  # fmt: skip


def _exchange(exchange: str) -> str:
    try:
        return Exchange(str(exchange).strip().upper()).value
    except ValueError:
        valid = ", ".join(e.value for e in Exchange)
        raise ValueError(f"unknown exchange {exchange!r}; valid: {valid}") from None


def _symbols(source: Source, table: CsvTable, symbol: str | None) -> ObjectArray:
    if "symbol" in table.frame.columns:
        if symbol is not None:
            raise ValueError(f"symbol={symbol!r} given, but {source.label} has a symbol column")
        values = table.text("symbol")
        if (values == "").any():
            raise table.fail(int(np.argmax(values == "")), "symbol is empty")
        return values
    name = (symbol or Path(source.name).stem).strip().upper()
    if not name:
        raise ValueError("symbol is empty; pass symbol=")
    return np.full(len(table), name, dtype=object)


def _segments(source: Source, venue: str, names: ObjectArray, notes: list[str]) -> ObjectArray:
    if venue in ("NSE", "BSE"):
        return np.full(len(names), "EQ", dtype=object)
    out = np.empty(len(names), dtype=object)
    for i, name in enumerate(names.tolist()):
        if name.endswith("FUT"):
            out[i] = "FUT"
        elif name.endswith(("CE", "PE")):
            out[i] = "OPT"
        else:
            raise BarDataError(f"{name} on {venue} is neither a future (…FUT) nor an option "
                               "(…CE/…PE)", source.label)  # fmt: skip
    notes.append(f"{venue} contracts from a generic file: lot size, expiry and strike unknown "
                 "(lot 1 written); import the exchange's F&O bhavcopy for them")  # fmt: skip
    return out


def _timeframe(label: str, symbols: ObjectArray, ts: Int64Array, given: str | None) -> str:
    """Infer (or check) the timeframe from the gaps between each symbol's bars."""
    codes, uniques = pd.factorize(symbols)
    if len(uniques) == 1:
        ordered = ts if bool((ts[1:] > ts[:-1]).all()) else np.sort(ts)
        gaps = np.diff(ordered)
    else:
        order = np.lexsort((ts, codes))
        same = codes[order][1:] == codes[order][:-1]
        gaps = np.diff(ts[order])[same]
    spacing = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(gaps)])
    try:
        return resolve_timeframe(spacing, given)
    except BarDataError as err:
        raise BarDataError(err.problem, label) from None


def _midnight_to_open(ts: Int64Array, venue: str, notes: list[str]) -> Int64Array:
    local = ts + _IST_OFFSET_NS
    if (local % _DAY_NS).any():
        return ts
    codes, uniques = pd.factorize(local // _DAY_NS)
    epoch = date(1970, 1, 1).toordinal()
    days = [date.fromordinal(epoch + int(d)) for d in uniques]
    notes.append("daily bars stamped at midnight IST were moved to their session's open")
    opens: Int64Array = session_opens(days, venue, notes)[codes]
    return opens
