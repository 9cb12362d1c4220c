"""The one set of rules every generic bar file passes, whichever parser read it.

CSV through pandas (generic), CSV through DuckDB (duckdb_csv: the documented layout, fast),
Parquet (parquet) and `artha backtest --data` (engine.data.bar_files) only PARSE: each hands
over a table of rupee/volume columns with its file lines and the bar times resolved (UTC ns,
or trade dates). From there the same code decides what is stored, what is noted and what is
refused, so a file gives the same bars, notes and errors on every path:

- prices: exact paise (a third decimal refused); volume and oi whole units, volume at most
  MAX_VOLUME in one bar (more is a broken file, and sums of such bars overflow);
- every bar: OHLC consistent, volume >= 0, opening in 1970 or later; one bar per
  (symbol, time);
- timeframe: inferred from the median spacing of each symbol's bars, or a given one checked
  both ways (bars denser than claimed, or never as close as claimed, are refused);
- daily bars (a date-only column, or times one day apart) open at their IST date's session
  open on the exchange's calendar (09:15 normally, a special session's own time), wherever
  the file stamped them (midnight, the close), with a note when moved;
- a note for bars dated after today. Bars on days the exchange was closed are found for
  every format by engine.data.closed_days (read_file), not here.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from engine.calendar import IST
from engine.data.bar_series import BarDataError, Int64Array, resolve_timeframe
from engine.data.batch import ImportBatch
from engine.data.importers.csv_table import CsvTable, ObjectArray
from engine.data.importers.normalise import (
    EQUITY_TICK_PAISE,
    bars_frame,
    check_bars,
    check_unique,
    constant_text,
    instruments_frame,
    session_opens,
    text_column,
)
from engine.data.importers.sources import Source
from engine.data.importers.timestamps import Days
from engine.domain.enums import Exchange
from engine.ist import day_from_number, ist_datetime, ist_day_numbers, ist_midnight_ns

PRICES: Final = ("open", "high", "low", "close")
MAX_SYMBOL: Final = 40  # characters; the longest NSE option names are about 30
MAX_VOLUME: Final = 10**13  # units in one bar: ~100x the busiest contract's whole day


def finish(
    source: Source,
    fmt: str,
    table: CsvTable,
    times: Int64Array | Days,
    symbol: str | None,
    exchange: str,
    timeframe: str | None,
) -> ImportBatch:
    """Prices, checks, timeframe and session stamps for a parsed generic file."""
    notes: list[str] = []
    venue = _exchange(exchange)
    symbols, one_symbol = _symbols(source, table, symbol)
    prices, volume = _numbers(table)
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
    _check_epoch(table, ts)
    check_bars(table, symbols, prices, volume, oi)
    _check_volume(table, symbols, volume)
    _check_unique(table, symbols, ts, one_symbol)
    if not isinstance(times, Days):
        tf = _timeframe(source.label, symbols, ts, timeframe, one_symbol)
        if tf == "1d":
            ts = _daily_to_open(ts, venue, notes)
            _check_unique(table, symbols, ts, one_symbol, " (one daily bar per session)")
    _note_future(ts, notes)
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


def _numbers(table: CsvTable) -> tuple[list[Int64Array], Int64Array]:
    """Prices in paise and whole volumes; of several bad values, the earliest line's."""
    found: dict[str, Int64Array] = {}
    problems: list[BarDataError] = []
    for name in (*PRICES, "volume"):
        try:
            found[name] = table.whole(name) if name == "volume" else table.paise(name)
        except BarDataError as bad:
            problems.append(bad)
    if problems:
        raise min(problems, key=lambda bad: bad.line or 0)
    return [found[name] for name in PRICES], found["volume"]


def _exchange(exchange: str) -> str:
    try:
        return Exchange(str(exchange).strip().upper()).value
    except ValueError:
        valid = ", ".join(e.value for e in Exchange)
        raise ValueError(f"unknown exchange {exchange!r}; valid: {valid}") from None


def _symbols(source: Source, table: CsvTable, symbol: str | None) -> tuple[ObjectArray, bool]:
    """Each row's symbol, and whether the whole file is one symbol by construction."""
    if "symbol" in table.frame.columns:
        values = table.text("symbol")
        if (values == "").any():
            raise table.fail(int(np.argmax(values == "")), "symbol is empty")
        names = pd.unique(values)
        for name in names:
            problem = symbol_problem(str(name))
            if problem:
                raise table.fail(int(np.argmax(values == name)), problem)
        if symbol is None:
            return values, len(names) == 1
        if len(names) > 1:  # a rename of one series (an export imported as another name) only
            raise ValueError(f"--symbol {symbol} cannot rename {source.label}: its symbol "
                             f"column names {len(names)} symbols; drop --symbol")  # fmt: skip
    name = (symbol or Path(source.name).stem).strip().upper()
    if not name:
        raise ValueError("the symbol is empty; give one (--symbol)")
    problem = symbol_problem(name)
    if problem:
        origin = "--symbol" if symbol else f"the file name {Path(source.name).name!r}"
        raise ValueError(f"{problem} (from {origin}); give another with --symbol")
    # one name for every row: a read-only view, not a million references
    return np.broadcast_to(np.array([name], dtype=object), (len(table),)), True


def symbol_problem(name: str) -> str:
    """Why `name` cannot be a trading symbol, or "" (exchange symbols are short printable
    text such as M&M, BAJAJ-AUTO or NIFTY25JUN24500CE; no control characters or paths)."""
    shown = repr(name[:MAX_SYMBOL]) + ("…" if len(name) > MAX_SYMBOL else "")
    if len(name) > MAX_SYMBOL:
        return f"symbol {shown} is longer than {MAX_SYMBOL} characters"
    if not name.isprintable() or any(c in name for c in "/\\"):
        return f"symbol {shown} holds control characters or a path separator"
    return ""


_FILE_IST: Final = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


def _check_epoch(table: CsvTable, ts: Int64Array) -> None:
    early = ts < 0
    if early.any():
        i = int(np.argmax(early))
        # at +05:30, as files write IST: Asia/Kolkata in 1900 is local mean time (09:15 -> 09:06)
        when = pd.Timestamp(int(ts[i]), unit="ns", tz="UTC").tz_convert(_FILE_IST)
        raise table.fail(i, f"timestamp {when:%Y-%m-%d %H:%M} is before 1970: check the date "
                            "column and its date format")  # fmt: skip


def _check_volume(table: CsvTable, symbols: ObjectArray, volume: Int64Array) -> None:
    huge = volume > MAX_VOLUME
    if huge.any():
        i = int(np.argmax(huge))
        raise table.fail(i, f"{symbols[i]}: volume {int(volume[i]):,} is implausibly large "
                            f"(more than {MAX_VOLUME:,} units in one bar)")  # fmt: skip


def _check_unique(
    table: CsvTable, symbols: ObjectArray, ts: Int64Array, one_symbol: bool, what: str = ""
) -> None:
    if one_symbol and (len(ts) < 2 or bool((ts[1:] > ts[:-1]).all())):
        return  # rising times: no repeats, nothing to look up
    check_unique(table, symbols, ts, what)


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


def _timeframe(
    label: str, symbols: ObjectArray, ts: Int64Array, given: str | None, one_symbol: bool
) -> str:
    """Infer (or check) the timeframe from the gaps between each symbol's bars."""
    if one_symbol:
        ordered = ts if bool((ts[1:] > ts[:-1]).all()) else np.sort(ts)
        gaps = np.diff(ordered)
    else:
        codes, _ = pd.factorize(symbols)
        order = np.lexsort((ts, codes))
        same = codes[order][1:] == codes[order][:-1]
        gaps = np.diff(ts[order])[same]
    spacing = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(gaps)])
    try:
        return resolve_timeframe(spacing, given)
    except BarDataError as err:
        raise BarDataError(err.problem, label) from None


def _daily_to_open(ts: Int64Array, venue: str, notes: list[str]) -> Int64Array:
    """Daily bars open at their IST date's session open, whatever time the file gave."""
    codes, uniques = pd.factorize(ist_day_numbers(ts))
    days = [day_from_number(int(d)) for d in uniques]
    opens: Int64Array = session_opens(days, venue, [])[codes]
    moved = ts != opens
    if moved.any():
        clock = f"{ist_datetime(ts[int(np.argmax(moved))]):%H:%M}"
        when = "at midnight" if clock == "00:00" else f"{clock}"
        notes.append(f"daily bars stamped {when} IST were moved to their session's open "
                     f"({int(np.count_nonzero(moved)):,} bars)")  # fmt: skip
    return opens


def _note_future(ts: Int64Array, notes: list[str]) -> None:
    today = datetime.datetime.now(IST).date()
    tomorrow = ist_midnight_ns(today + datetime.timedelta(days=1))
    later = int(np.count_nonzero(ts >= tomorrow))
    if later:
        notes.append(f"{later:,} bar{'s' * (later != 1)} dated after today ({today}): check "
                     "the dates")  # fmt: skip
