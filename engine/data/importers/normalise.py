"""From parsed exchange columns to ImportBatch frames: session stamps, OHLC checks, uniqueness.

Rules (all daily exchange files):
- A bhavcopy row becomes a "1d" bar stamped with the OPEN of its trade date's session, in UTC
  ns: 09:15 IST on a regular day, the calendar's own time on a special or muhurat session. If
  the calendar says the date is not a session (a holiday or weekend), the bar is still
  stamped at the regular open (engine.data.closed_days then holds it for the trader). Dates
  no holiday list covers get the calendar's provisional session (the regular open); the
  import reports that once.
- A row whose volume is zero and whose prices are zero or empty is an UNTRADED contract (F&O
  files list every live contract, traded or not): it gets no bar, its instrument is kept, and
  the notes count such rows. Any other row with a zero or empty price is an error.
- Every bar: open, high, low, close > 0; high >= low; high >= max(open, close);
  low <= min(open, close); volume >= 0; open interest >= 0. The first offender in file order
  aborts the whole file: ``file:line: SYMBOL: high 1410.00 is below low 1420.00``.
- One bar per (symbol, session): a repeat is an error naming both lines. The instruments
  table has one row per symbol (the last row of a symbol wins, for multi-day files).

Frame dtypes: prices, volume and ts int64; oi, token, strike, freeze_quantity nullable Int64;
the bars' text columns categorical; the instruments' text columns pandas "string" (NA when
unknown); expiry holds datetime.date or NA.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.arrays import IntegerArray, StringArray

from engine.calendar import get_calendar
from engine.data.bar_series import BarDataError, Int64Array, format_paise
from engine.data.batch import BAR_COLUMNS, INSTRUMENT_COLUMNS
from engine.data.importers.csv_table import CsvTable, Float64Array, ObjectArray
from engine.ist import ist_datetime, ns_of

EQUITY_TICK_PAISE: Final = 5
_TEXT: Final = pd.StringDtype(na_value=pd.NA)
_MAX_DATES_SHOWN: Final = 5


class Rows(Protocol):
    """How a format names its rows in messages: CSV file lines or Parquet row numbers."""

    def fail(self, i: int, problem: str) -> BarDataError: ...

    def where(self, i: int) -> str: ...


def session_opens(days: Sequence[datetime.date], exchange: str, notes: list[str]) -> Int64Array:
    """UTC ns of each day's session open; a day with no session gets 09:15 IST (such bars
    are found and held for the trader's word by engine.data.closed_days)."""
    calendar = get_calendar(exchange)
    return np.array([ns_of(calendar.open_at(day)) for day in days], dtype=np.int64)


def skip_notes(values: ObjectArray, what: str, meanings: dict[str, str]) -> list[str]:
    """One note per skipped category: "skipped 1 row of series BL (block deals)"."""
    found, counts = np.unique(values.astype(str), return_counts=True)
    notes = []
    for value, count in zip(found.tolist(), counts.tolist(), strict=True):
        meaning = f" ({meanings[value]})" if value in meanings else ""
        label = repr(value) if value == "" else value
        notes.append(f"skipped {count} row{'s' * (count != 1)} of {what} {label}{meaning}")
    return notes


def untraded(volume: Float64Array, prices: Sequence[Float64Array]) -> npt.NDArray[np.bool_]:
    """Zero volume and a zero/empty price: a listed contract nobody traded that day."""
    no_price = np.logical_or.reduce([~(p > 0) for p in prices])
    return np.asarray((volume == 0) & no_price, dtype=np.bool_)


def check_bars(
    rows: Rows,
    symbols: ObjectArray,
    prices: Sequence[Int64Array],
    volume: Int64Array,
    oi: Int64Array | None = None,
) -> None:
    """Raise for the earliest row (file order) that breaks an OHLC/volume rule."""
    o, h, lo, c = prices
    checks: list[tuple[str, npt.NDArray[np.bool_]]] = [
        *((name, p <= 0) for name, p in zip(("open", "high", "low", "close"), prices, strict=True)),
        ("high<low", h < lo),
        ("high<oc", h < np.maximum(o, c)),
        ("low>oc", lo > np.minimum(o, c)),
        ("volume", volume < 0),
    ]
    if oi is not None:
        checks.append(("oi", oi < 0))
    first: tuple[int, str] | None = None
    for rule, mask in checks:
        if mask.any():
            i = int(mask.argmax())
            if first is None or i < first[0]:
                first = (i, rule)
    if first is None:
        return
    i, rule = first
    p = {
        name: format_paise(int(v[i])) for name, v in zip(("o", "h", "l", "c"), prices, strict=True)
    }
    messages = {
        "open": f"open {p['o']} is not above zero",
        "high": f"high {p['h']} is not above zero",
        "low": f"low {p['l']} is not above zero",
        "close": f"close {p['c']} is not above zero",
        "high<low": f"high {p['h']} is below low {p['l']}",
        "high<oc": f"high {p['h']} is below open/close {p['o']}/{p['c']}",
        "low>oc": f"low {p['l']} is above open/close {p['o']}/{p['c']}",
        "volume": f"volume {int(volume[i])} is negative",
        "oi": f"open interest {int(oi[i]) if oi is not None else 0} is negative",
    }
    raise rows.fail(i, f"{symbols[i]}: {messages[rule]}")


def check_unique(rows: Rows, symbols: ObjectArray, ts: Int64Array, what: str = "") -> None:
    """One bar per (symbol, ts): name the repeated row and the row it repeats."""
    if pd.Index(symbols).is_unique:
        return
    codes = pd.factorize(symbols)[0].astype(np.int64)
    times, stamps = pd.factorize(ts)
    repeated = pd.Index(codes * len(stamps) + times).duplicated()
    if repeated.any():
        i = int(repeated.argmax())
        j = int(np.argmax((symbols == symbols[i]) & (ts == ts[i])))
        when = ist_datetime(ts[i])
        raise rows.fail(
            i,
            f"{symbols[i]}{what} appears twice for {when:%Y-%m-%d %H:%M}: {rows.where(j)} "
            "has it already",
        )


def text_column(
    values: ObjectArray | Sequence[object] | None, n: int
) -> pd.api.extensions.ExtensionArray:
    """Text with "" or None as NA, in the nullable string dtype."""
    if values is None:
        return StringArray(np.full(n, pd.NA, dtype=object))  # no per-value checks: all NA
    array = np.asarray(values, dtype=object)
    empty = array == ""
    if empty.any():
        array = array.copy()
        array[empty] = None
    return pd.array(array, dtype=_TEXT)


def constant_text(value: str, n: int) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.full(n, value, dtype=object), dtype=_TEXT)


def plain_text(values: ObjectArray) -> pd.api.extensions.ExtensionArray:
    """Text kept as is ("" stays ""), for names."""
    return pd.array(np.asarray(values, dtype=object), dtype=_TEXT)


def int_column(
    values: Int64Array | None, n: int, missing: npt.NDArray[np.bool_] | None = None
) -> IntegerArray:
    """Nullable Int64: all NA without values, else NA where ``missing``."""
    if values is None:
        return IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.bool_))
    mask = np.zeros(n, dtype=np.bool_) if missing is None else np.asarray(missing, dtype=np.bool_)
    return IntegerArray(np.asarray(values, dtype=np.int64), mask)


def instruments_frame(columns: dict[str, Any], n: int) -> pd.DataFrame:
    """Assemble INSTRUMENT_COLUMNS from prepared arrays; columns not given are NA."""
    data: dict[str, Any] = {}
    for name in INSTRUMENT_COLUMNS:
        value = columns.get(name)
        if value is None:
            if name in ("token", "freeze_quantity", "strike"):
                value = int_column(None, n)
            elif name == "expiry":
                value = np.full(n, pd.NA, dtype=object)
            elif name == "name":
                value = constant_text("", n)
            else:
                value = text_column(None, n)
        elif name in ("lot_size", "tick_size"):
            value = np.broadcast_to(np.asarray(value, dtype=np.int64), (n,)).copy()
        data[name] = value
    return pd.DataFrame(data, columns=list(INSTRUMENT_COLUMNS), copy=False)


def category(values: ObjectArray, codes: npt.NDArray[np.integer]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=pd.Index(values, dtype=object))


def _factorized(values: ObjectArray) -> tuple[ObjectArray, npt.NDArray[np.integer]]:
    if len(values) and values.strides == (0,):  # one value broadcast over every row
        return np.asarray(values[:1], dtype=object), np.zeros(len(values), dtype=np.int8)
    if len(values) and values[0] is values[-1] and (values == values[0]).all():
        return np.asarray(values[:1], dtype=object), np.zeros(len(values), dtype=np.int8)
    codes, uniques = pd.factorize(values)
    return np.asarray(uniques, dtype=object), codes


def bars_frame(
    exchange: str,
    symbols: ObjectArray,
    timeframe: str,
    ts: Int64Array,
    prices: Sequence[Int64Array],
    volume: Int64Array,
    oi: Int64Array | None,
) -> pd.DataFrame:
    n = len(ts)
    o, h, lo, c = prices
    data = {  # text as categories: a million bars of one series are one string each
        "exchange": category(np.full(1, exchange, dtype=object), np.zeros(n, dtype=np.int8)),
        "symbol": category(*_factorized(symbols)),
        "timeframe": category(np.full(1, timeframe, dtype=object), np.zeros(n, dtype=np.int8)),
        "ts": ts,
        "open": o,
        "high": h,
        "low": lo,
        "close": c,
        "volume": volume,
        "oi": int_column(oi, n),
    }
    return pd.DataFrame(data, columns=list(BAR_COLUMNS), copy=False)


def daily_bars(
    table: CsvTable,
    exchange: str,
    symbols: ObjectArray,
    days: tuple[npt.NDArray[np.intp], list[datetime.date]],
    columns: tuple[str, str, str, str, str],
    notes: list[str],
    *,
    lot: Int64Array | None = None,
    oi_column: str | None = None,
) -> tuple[pd.DataFrame, npt.NDArray[np.bool_]]:
    """1d bars of an exchange file; returns the bars and which rows were traded.

    ``columns`` names open, high, low, close and volume. With ``lot``, the file's volume is in
    contracts and becomes units: volume = contracts x lot size.
    """
    one_date(table, days)
    price_floats = [table.floats(name) for name in columns[:4]]
    volume_floats = table.floats(columns[4])
    skip = untraded(volume_floats, price_floats)
    traded = ~skip
    if skip.any():
        notes.append(
            f"{int(skip.sum())} row(s) with no trades (volume 0, no prices): instrument kept, "
            "no bar"
        )
    rows = table.subset(traded)
    prices = [rows.paise(n, f[traded]) for n, f in zip(columns, price_floats, strict=False)]
    volume = rows.whole(columns[4], volume_floats[traded])
    if lot is not None:
        volume = volume * lot[traded]
    oi = rows.whole(oi_column) if oi_column is not None else None
    codes, unique_days = days
    ts = session_opens(unique_days, exchange, notes)[codes[traded]]
    names = symbols[traded]
    check_bars(rows, names, prices, volume, oi)
    check_unique(rows, names, ts)
    return bars_frame(exchange, names, "1d", ts, prices, volume, oi), traded


def one_date(table: CsvTable, days: tuple[npt.NDArray[np.intp], list[datetime.date]]) -> None:
    """An exchange's daily file is one trading day: a row of another date is a broken or
    hand-edited file, refused at its line (it would create a bar on a day nobody chose)."""
    codes, unique_days = days
    if len(unique_days) > 1:
        i = int(np.argmax(codes != codes[0]))
        raise table.fail(i, f"dated {unique_days[codes[i]]}, but the file is the bhavcopy of "
                            f"{unique_days[codes[0]]} (its first row): one file holds one "
                            "trading day")  # fmt: skip


def check_expiries(
    table: CsvTable,
    symbols: ObjectArray,
    expiry: ObjectArray,
    days: tuple[npt.NDArray[np.intp], list[datetime.date]],
) -> None:
    """A contract cannot trade after its expiry (`expiry`: each row's date): such a row is
    refused at its line."""
    codes, unique_days = days
    traded_on = np.asarray(unique_days, dtype=object)[codes]
    expired = np.asarray([e < d for e, d in zip(expiry, traded_on, strict=True)], dtype=bool)
    if expired.any():
        i = int(np.argmax(expired))
        raise table.fail(i, f"{symbols[i]} expired on {expiry[i]}, before the trade date "
                            f"{traded_on[i]}")  # fmt: skip


def last_per_symbol(symbols: ObjectArray) -> npt.NDArray[np.bool_]:
    """Mask of each symbol's last row (for the one-row-per-symbol instruments table)."""
    if pd.Index(symbols).is_unique:
        return np.ones(len(symbols), dtype=np.bool_)
    return np.asarray(~pd.Series(symbols).duplicated(keep="last").to_numpy(), dtype=np.bool_)
