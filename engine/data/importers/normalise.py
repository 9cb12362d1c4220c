"""From parsed exchange columns to ImportBatch frames: session stamps, OHLC checks, uniqueness.

Rules (all daily exchange files):
- A bhavcopy row becomes a "1d" bar stamped with the OPEN of its trade date's session, in UTC
  ns: 09:15 IST on a regular day, the calendar's own time on a special or muhurat session. If
  the calendar says the date is not a session (or the date lies outside the calendar's
  coverage), the bar is still imported at 09:15 IST and a note says so.
- A row whose volume is zero and whose prices are zero or empty is an UNTRADED contract (F&O
  files list every live contract, traded or not): it gets no bar, its instrument is kept, and
  the notes count such rows. Any other row with a zero or empty price is an error.
- Every bar: open, high, low, close > 0; high >= low; high >= max(open, close);
  low <= min(open, close); volume >= 0; open interest >= 0. The first offender in file order
  aborts the whole file: ``file:line: SYMBOL: high 1410.00 is below low 1420.00``.
- One bar per (symbol, session): a repeat is an error naming both lines. The instruments
  table has one row per symbol (the last row of a symbol wins, for multi-day files).

Frame dtypes: prices, volume and ts int64; oi, token, strike, freeze_quantity nullable Int64;
text columns pandas "string" (NA when unknown); expiry holds datetime.date or NA.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.calendar import IST, CalendarCoverageError, get_calendar
from engine.data.bar_series import BarDataError, Int64Array, format_paise
from engine.data.batch import BAR_COLUMNS, INSTRUMENT_COLUMNS
from engine.data.importers.csv_table import CsvTable, Float64Array, ObjectArray

NS: Final = 1_000_000_000
REGULAR_OPEN: Final = datetime.time(9, 15)
EQUITY_TICK_PAISE: Final = 5
_TEXT: Final = pd.StringDtype(na_value=pd.NA)
_MAX_DATES_SHOWN: Final = 5


class Rows(Protocol):
    """How a format names its rows in messages: CSV file lines or Parquet row numbers."""

    def fail(self, i: int, problem: str) -> BarDataError: ...

    def where(self, i: int) -> str: ...


def session_opens(days: Sequence[datetime.date], exchange: str, notes: list[str]) -> Int64Array:
    """UTC ns of each day's session open; off-calendar days get 09:15 IST and a note."""
    calendar = get_calendar(exchange)
    opens: list[int] = []
    closed: list[str] = []
    for day in days:
        try:
            session = calendar.session(day)
        except CalendarCoverageError:
            session = None
        at = (
            session.open
            if session is not None
            else datetime.datetime.combine(day, REGULAR_OPEN, IST)
        )
        if session is None:
            closed.append(day.isoformat())
        opens.append(int(at.timestamp()) * NS)
    if closed:
        shown = ", ".join(closed[:_MAX_DATES_SHOWN]) + (" ..." if len(closed) > 5 else "")
        notes.append(
            f"{len(closed)} date(s) are not {calendar.exchange.value} sessions in the market "
            f"calendar (or lie outside it): {shown}; their bars are stamped 09:15 IST"
        )
    return np.array(opens, dtype=np.int64)


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
    names = ("open", "high", "low", "close")
    checks: list[tuple[npt.NDArray[np.bool_], Any]] = [
        *(
            (p <= 0, lambda i, n=n, p=p: f"{n} {format_paise(p[i])} is not above zero")
            for n, p in zip(names, prices, strict=True)
        ),
        (h < lo, lambda i: f"high {format_paise(h[i])} is below low {format_paise(lo[i])}"),
        (
            h < np.maximum(o, c),
            lambda i: f"high {format_paise(h[i])} is below open/close "
            f"{format_paise(o[i])}/{format_paise(c[i])}",
        ),
        (
            lo > np.minimum(o, c),
            lambda i: f"low {format_paise(lo[i])} is above open/close "
            f"{format_paise(o[i])}/{format_paise(c[i])}",
        ),
        (volume < 0, lambda i: f"volume {volume[i]} is negative"),
    ]
    if oi is not None:
        checks.append((oi < 0, lambda i: f"open interest {oi[i]} is negative"))
    first: tuple[int, Any] | None = None
    for mask, message in checks:
        if mask.any():
            i = int(mask.argmax())
            if first is None or i < first[0]:
                first = (i, message)
    if first is not None:
        i, message = first
        raise rows.fail(i, f"{symbols[i]}: {message(i)}")


def check_unique(rows: Rows, symbols: ObjectArray, ts: Int64Array, what: str = "") -> None:
    """One bar per (symbol, ts): name the repeated row and the row it repeats."""
    keys = pd.DataFrame({"s": symbols, "t": ts})
    repeated = keys.duplicated().to_numpy()
    if repeated.any():
        i = int(repeated.argmax())
        j = int(np.argmax((symbols == symbols[i]) & (ts == ts[i])))
        when = pd.Timestamp(int(ts[i]), unit="ns", tz="UTC").tz_convert(IST)
        raise rows.fail(
            i,
            f"{symbols[i]}{what} appears twice for {when:%Y-%m-%d %H:%M}: {rows.where(j)} "
            "has it already",
        )


def text_column(values: ObjectArray | Sequence[object] | None, n: int) -> pd.Series:
    """Text with "" or None as NA, in the nullable string dtype."""
    if values is None:
        return pd.Series(pd.array([pd.NA] * n, dtype=_TEXT))
    series = pd.Series(pd.array(np.asarray(values, dtype=object), dtype=_TEXT))
    return series.mask(series == "")


def int_column(values: Int64Array | None, n: int) -> pd.Series:
    if values is None:
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    return pd.Series(pd.array(values, dtype="Int64"))


def instruments_frame(columns: dict[str, Any], n: int) -> pd.DataFrame:
    """Assemble INSTRUMENT_COLUMNS; missing columns are NA. Values must be prepared columns."""
    defaults: dict[str, Any] = {
        "isin": text_column(None, n),
        "token": int_column(None, n),
        "freeze_quantity": int_column(None, n),
        "expiry": pd.Series([pd.NA] * n, dtype=object),
        "strike": int_column(None, n),
        "option_type": text_column(None, n),
        "underlying": text_column(None, n),
        "series": text_column(None, n),
        "name": pd.Series([""] * n, dtype=_TEXT),
    }
    data = {**defaults, **columns}
    frame = pd.DataFrame({c: _reset(data[c]) for c in INSTRUMENT_COLUMNS})
    frame["lot_size"] = frame["lot_size"].astype(np.int64)
    frame["tick_size"] = frame["tick_size"].astype(np.int64)
    return frame


def _reset(value: Any) -> Any:
    return value.reset_index(drop=True) if isinstance(value, pd.Series) else value


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
    return pd.DataFrame(
        {
            "exchange": pd.Series([exchange] * n, dtype=_TEXT),
            "symbol": pd.Series(pd.array(symbols, dtype=_TEXT)),
            "timeframe": pd.Series([timeframe] * n, dtype=_TEXT),
            "ts": ts,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": volume,
            "oi": int_column(oi, n),
        },
        columns=list(BAR_COLUMNS),
    )


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


def last_per_symbol(symbols: ObjectArray) -> npt.NDArray[np.bool_]:
    """Mask of each symbol's last row (for the one-row-per-symbol instruments table)."""
    return np.asarray(~pd.Series(symbols).duplicated(keep="last").to_numpy(), dtype=np.bool_)
