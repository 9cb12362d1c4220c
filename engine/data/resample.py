"""Bars on the exchange clock: resample intraday bars to coarser bars, session by session.

Bins are anchored at each session's OPEN as the market calendar gives it (09:15 IST on a
normal day, the muhurat session's own open on Diwali), so a bin never spans two sessions and
never starts at a wall-clock multiple that the exchange does not use. The last bin of a
session is kept even when it is short: with 60m bars a normal day has 09:15, 10:15, ...,
14:15 and 15:15, and the 15:15 bar holds only the 15 minutes to the 15:30 close. Daily bars
are one bar per session, stamped at the session open.

Each output bar: first open, highest high, lowest low, last close, summed volume; its
timestamp is the bin's start (UTC ns), whichever input bars are present. Missing input bars
leave a bin with fewer inputs; a bin with no input at all is simply absent (nothing is
invented or forward-filled). Holidays have no session and so no bars.

Input bars that fall outside every session (before the open, at/after the close, on a
holiday or weekend) are dropped and counted in `ResampleResult.dropped`. Bars on dates no
holiday list covers use the calendar's provisional sessions (weekdays 09:15-15:30) and the
result carries the calendar's warning (`ResampleResult.warning`).

The work is vectorised: one searchsorted of the bar times against the session opens gives
each bar its session, integer division gives its bin, and numpy's reduceat aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from engine.calendar import get_calendar
from engine.calendar.model import Session
from engine.data.bar_series import BarDataError, BarSeries, Int64Array
from engine.ist import ist_date_of, ist_iso, ns_of
from engine.timeframes import TIMEFRAMES, Timeframe

DAILY: Final = Timeframe.D1.value


@dataclass(frozen=True)
class SessionTable:
    """The sessions covering some bars, as parallel arrays for vectorised lookups."""

    sessions: tuple[Session, ...]
    opens: Int64Array  # UTC ns, ascending
    closes: Int64Array  # UTC ns


def provisional_warning(ts_ns: Int64Array, exchange: str = "NSE") -> str:
    """The calendar's warning when some of these (sorted) bars lie on provisional dates."""
    if len(ts_ns) == 0:
        return ""
    return get_calendar(exchange).provisional_warning(ist_date_of(ts_ns[0]), ist_date_of(ts_ns[-1]))


def span_warning(first_ts: int | None, last_ts: int | None, exchange: str = "NSE") -> str:
    """provisional_warning for a span of bar times (an import's first and last bar)."""
    if first_ts is None or last_ts is None:
        return ""
    return get_calendar(exchange).provisional_warning(ist_date_of(first_ts), ist_date_of(last_ts))


def session_table(ts_ns: Int64Array, exchange: str = "NSE") -> SessionTable:
    """Sessions from the IST date of the first bar to that of the last (ts must be sorted)."""
    if len(ts_ns) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return SessionTable((), empty, empty.copy())
    sessions = get_calendar(exchange).sessions(ist_date_of(ts_ns[0]), ist_date_of(ts_ns[-1]))
    opens = np.array([ns_of(s.open) for s in sessions], dtype=np.int64)
    closes = np.array([ns_of(s.close) for s in sessions], dtype=np.int64)
    return SessionTable(tuple(sessions), opens, closes)


def locate(ts_ns: Int64Array, table: SessionTable) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """(session index of each bar, whether the bar lies inside that session's hours).

    The index is that of the last session opening at or before the bar; a bar is inside
    when it is also before that session's close. Outside bars get index -1.
    """
    if len(table.opens) == 0:
        return np.full(len(ts_ns), -1, dtype=np.int64), np.zeros(len(ts_ns), dtype=bool)
    index = np.searchsorted(table.opens, ts_ns, side="right").astype(np.int64) - 1
    inside = ts_ns < table.closes[np.maximum(index, 0)]
    inside &= index >= 0
    index[~inside] = -1
    return index, inside


@dataclass(frozen=True)
class ResampleResult:
    """The resampled bars and how many input bars lay outside every session."""

    series: BarSeries
    dropped: int
    note: str = ""  # says what was dropped (count, first and last), empty when nothing was
    warning: str = ""  # the calendar's, when some bars lie on provisional dates


def _bin_length(source: str, target: str) -> int:
    """Target bin length in ns (0 for daily); refuses targets that input bars cannot fill."""
    if target not in TIMEFRAMES:
        raise BarDataError(f"timeframe {target!r} is not one of {', '.join(TIMEFRAMES)}")
    base, wanted = Timeframe(source), Timeframe(target)
    if not base.intraday:
        raise BarDataError(f"cannot resample {source} bars to {target}: the input is daily")
    if not wanted.intraday:
        return 0
    if not base.resamples_to(wanted):
        raise BarDataError(
            f"cannot resample {source} bars to {target}: {target} is not a whole multiple "
            f"of {source}"
        )
    return wanted.length_ns


def _refuse_overflow(
    symbol: str, ts: Int64Array, volume: Int64Array, first: npt.NDArray[np.intp]
) -> None:
    """Summed volumes must fit int64 (bars stored before the importer capped volumes could
    hold int64's largest value; a wrapped sum would show as a negative volume)."""
    if len(volume) == 0 or int(volume.max()) < 2**63 // len(volume):
        return  # no sum of these can overflow: the usual case, one comparison
    ends = np.append(first[1:], len(volume))
    for start, end in zip(first.tolist(), ends.tolist(), strict=True):
        if sum(int(v) for v in volume[start:end]) >= 2**63:
            at = start + int(np.argmax(volume[start:end]))
            raise BarDataError(
                f"volumes of {symbol} are too large to add up (the bar at {ist_iso(ts[at])} "
                f"has {int(volume[at]):,}): re-import its file, which now refuses such volumes"
            )


def resample(series: BarSeries, timeframe: str, exchange: str = "NSE") -> ResampleResult:
    """Resample intraday bars to `timeframe` ("3m" .. "60m" or "1d"), anchored per session.

    The input may be 1m or an already resampled timeframe whose length divides the target
    (5m -> 15m, 15m -> 60m, anything intraday -> 1d). Input bars must sit on their own
    session grid (e.g. 5m bars at 09:15, 09:20, ...), else a bar could straddle two output
    bins; an off-grid bar raises BarDataError naming it.
    """
    length = _bin_length(series.timeframe, timeframe)
    ts = series.ts
    table = session_table(ts, exchange)
    index, inside = locate(ts, table)
    dropped = len(ts) - int(np.count_nonzero(inside))
    note = _dropped_note(ts, inside, dropped, exchange)
    if dropped:
        ts, index = ts[inside], index[inside]
    opens = table.opens[index]
    offset = ts - opens
    step = TIMEFRAMES[series.timeframe]
    off_grid = offset % step != 0
    if off_grid.any():
        i = int(np.flatnonzero(inside)[int(off_grid.argmax())])
        raise BarDataError(
            f"bar {i} at {ist_iso(series.ts[i])} is not on the {series.timeframe} grid of its "
            f"session (anchored at the open, {ist_iso(opens[int(off_grid.argmax())])}); "
            "cannot resample it without splitting it"
        )
    starts_ns = opens if length == 0 else opens + (offset // length) * length
    change = np.empty(len(ts), dtype=bool)
    change[:1] = True
    np.not_equal(starts_ns[1:], starts_ns[:-1], out=change[1:])
    first = np.flatnonzero(change)
    last = np.append(first[1:], len(ts))[: len(first)] - 1

    def pick(values: Int64Array) -> Int64Array:
        return values[inside] if dropped else values

    _refuse_overflow(series.symbol, ts, pick(series.volume), first)

    out = BarSeries(
        series.symbol,
        timeframe,
        starts_ns[first],
        pick(series.open)[first],
        np.maximum.reduceat(pick(series.high), first),
        np.minimum.reduceat(pick(series.low), first),
        pick(series.close)[last],
        np.add.reduceat(pick(series.volume), first),
    )
    return ResampleResult(out, dropped, note, provisional_warning(series.ts, exchange))


def _dropped_note(
    ts: Int64Array, inside: npt.NDArray[np.bool_], dropped: int, exchange: str
) -> str:
    if not dropped:
        return ""
    outside = np.flatnonzero(~inside)
    bars = "bar" if dropped == 1 else "bars"
    span = ist_iso(ts[outside[0]])
    if dropped > 1:
        span += f" .. {ist_iso(ts[outside[-1]])}"
    return f"dropped {dropped} {bars} outside every {exchange} session ({span})"
