"""Data-quality report of one instrument's bars, measured against the market calendar.

What it checks: coverage (first/last bar; sessions the calendar expects between their IST
dates vs sessions with at least one bar), missing sessions, missing bars per session for
intraday data (for 1m data: missing minutes; a session expects ceil(length / timeframe)
bars anchored at its open, so 375 one-minute bars on a normal day, 60 on the 2025 muhurat
day), bars off their session grid, bars outside session hours, zero-volume runs, and - on raw
arrays only - bad OHLC rows, negative volumes, duplicate and out-of-order timestamps.

`quality_report(series)` takes a BarSeries, which refuses bad OHLC rows, negative volumes,
duplicates and unsorted bars when it is built, so those counts are 0 by construction there
(`raw_checked` is False). `quality_of_arrays(...)` takes the raw arrays an importer has
before validation and counts them (`raw_checked` True).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from engine.data.bar_series import BarSeries, Int64Array, as_utc_ns
from engine.data.bar_series import infer_timeframe as _infer
from engine.data.resample import DAILY, locate, provisional_warning, session_table
from engine.ist import ist_date_of, ist_iso
from engine.metrics.jsonable import Json
from engine.timeframes import TIMEFRAMES

EXAMPLES: Final = 10  # bar times / row numbers listed per problem


@dataclass(frozen=True)
class SessionGap:
    date: datetime.date
    expected: int
    present: int

    @property
    def missing(self) -> int:
        return self.expected - self.present


@dataclass(frozen=True)
class ZeroVolumeRun:
    start_ns: int  # open time of the first zero-volume bar
    end_ns: int  # open time of the last one
    bars: int


@dataclass(frozen=True)
class QualityReport:
    symbol: str
    timeframe: str
    exchange: str
    bars: int
    first_ns: int | None
    last_ns: int | None
    sessions_expected: int
    sessions_present: int
    missing_sessions: tuple[datetime.date, ...]
    expected_bars: int | None  # intraday only: over the sessions present
    missing_bars: int | None  # intraday only; missing minutes for 1m data
    sessions_with_missing_bars: int
    worst_sessions: tuple[SessionGap, ...]  # most missing bars first
    off_grid_bars: int  # in-session bars not at open + k x timeframe
    outside_session_bars: int
    outside_session_examples: tuple[int, ...]  # ns of the first few
    zero_volume_min_run: int
    zero_volume_bars: int
    zero_volume_run_count: int
    zero_volume_runs: tuple[ZeroVolumeRun, ...]  # longest first
    raw_checked: bool  # False: a validated BarSeries, the next four are 0 by construction
    bad_ohlc_rows: int
    bad_ohlc_examples: tuple[int, ...]  # 0-based raw row indices
    negative_volume_rows: int
    duplicate_rows: int  # rows repeating an earlier row's timestamp
    unsorted_rows: int  # rows earlier than the row before them
    calendar_warning: str = ""  # some bars lie on provisional dates (no holiday list loaded)

    @property
    def ok(self) -> bool:
        return not (
            self.missing_sessions
            or self.missing_bars
            or self.off_grid_bars
            or self.outside_session_bars
            or self.zero_volume_run_count
            or self.bad_ohlc_rows
            or self.negative_volume_rows
            or self.duplicate_rows
            or self.unsorted_rows
        )

    def as_json(self) -> dict[str, Json]:
        """Every field, times as IST ISO strings (first_ns/last_ns as first_bar/last_bar)."""
        out: dict[str, Json] = {"ok": self.ok}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in ("first_ns", "last_ns"):
                out[field.name[:-3] + "_bar"] = None if value is None else ist_iso(value)
            elif field.name == "outside_session_examples":
                out[field.name] = [ist_iso(ns) for ns in value]
            else:
                out[field.name] = _plain(value)
        return out


def _plain(value: object) -> Json:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, SessionGap):
        return {
            "date": value.date.isoformat(),
            "expected": value.expected,
            "present": value.present,
        }
    if isinstance(value, ZeroVolumeRun):
        return {"start": ist_iso(value.start_ns), "end": ist_iso(value.end_ns), "bars": value.bars}
    assert value is None or isinstance(value, bool | int | str), value
    return value


def quality_report(
    series: BarSeries, exchange: str = "NSE", *, min_zero_run: int = 5, top: int = EXAMPLES
) -> QualityReport:
    """Report on a validated series; zero-volume runs count from `min_zero_run` bars."""
    s = series
    return _report(s.symbol, s.timeframe, exchange, s.ts, s.volume, min_zero_run, top, None)


def quality_of_arrays(
    symbol: str,
    ts: npt.ArrayLike,
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    timeframe: str | None = None,
    exchange: str = "NSE",
    *,
    min_zero_run: int = 5,
    top: int = EXAMPLES,
) -> QualityReport:
    """Report on raw arrays (int paise prices, int64 UTC ns or tz-aware times, any order).

    Rows are sorted by time (stably) before the calendar checks; duplicates stay in.
    The timeframe is inferred from the median spacing of the distinct times if not given.
    """
    t = as_utc_ns(ts)
    o, h, lo, c, v = (np.asarray(a, dtype=np.int64) for a in (open, high, low, close, volume))
    bad = (np.minimum(np.minimum(o, h), np.minimum(lo, c)) <= 0) | (h < lo)
    bad |= (h < np.maximum(o, c)) | (lo > np.minimum(o, c))
    unsorted = int(np.count_nonzero(t[1:] < t[:-1]))
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    duplicates = int(np.count_nonzero(t[1:] == t[:-1]))
    tf = timeframe if timeframe is not None else _infer(np.unique(t))
    raw = _Raw(
        bad_rows=int(np.count_nonzero(bad)),
        bad_examples=tuple(int(i) for i in np.flatnonzero(bad)[:top]),
        negative_volume=int(np.count_nonzero(v < 0)),
        duplicates=duplicates,
        unsorted=unsorted,
    )
    return _report(symbol, tf, exchange, t, v, min_zero_run, top, raw)


class _Raw(NamedTuple):
    """What only raw arrays can show; a BarSeries has none of it by construction."""

    bad_rows: int = 0
    bad_examples: tuple[int, ...] = ()
    negative_volume: int = 0
    duplicates: int = 0
    unsorted: int = 0


def _report(
    symbol: str,
    timeframe: str,
    exchange: str,
    ts: Int64Array,
    volume: Int64Array,
    min_zero_run: int,
    top: int,
    raw: _Raw | None,
) -> QualityReport:
    if min_zero_run < 1:
        raise ValueError(f"min_zero_run must be >= 1, got {min_zero_run}")
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
    table = session_table(ts, exchange)
    n_sessions = len(table.sessions)
    if timeframe == DAILY:  # a daily bar belongs to the session of its IST date
        day_index = {s.date: i for i, s in enumerate(table.sessions)}
        index = np.array([day_index.get(ist_date_of(t), -1) for t in ts], dtype=np.int64)
        inside = index >= 0
        counts = np.bincount(index[inside], minlength=n_sessions)
        expected_bars = missing_bars = None
        off_grid = 0
        gaps: list[SessionGap] = []
    else:
        index, inside = locate(ts, table)
        step = TIMEFRAMES[timeframe]
        ins, idx = ts[inside], index[inside]
        offset = ins - table.opens[idx]
        on_grid = offset % step == 0  # an off-grid bar fills no expected slot
        off_grid = len(offset) - int(np.count_nonzero(on_grid))
        idx, offset = idx[on_grid], offset[on_grid]
        distinct = np.ones(len(idx), dtype=bool)  # duplicates (raw arrays) count once
        distinct[1:] = (idx[1:] != idx[:-1]) | (offset[1:] != offset[:-1])
        counts = np.bincount(idx[distinct], minlength=n_sessions)
        expected = -((table.opens - table.closes) // step)  # ceil(length / step)
        present = counts > 0
        short = np.flatnonzero(present & (counts < expected))
        expected_bars = int(expected[present].sum())
        missing_bars = int((expected[short] - counts[short]).sum())
        gaps = [SessionGap(table.sessions[i].date, int(expected[i]), int(counts[i])) for i in short]
    gaps.sort(key=lambda g: (-g.missing, g.date))
    outside = np.flatnonzero(~inside)
    runs = _zero_runs(ts, volume, min_zero_run)
    checked = _Raw() if raw is None else raw
    return QualityReport(
        symbol=symbol,
        timeframe=timeframe,
        exchange=exchange,
        bars=len(ts),
        first_ns=int(ts[0]) if len(ts) else None,
        last_ns=int(ts[-1]) if len(ts) else None,
        sessions_expected=n_sessions,
        sessions_present=int(np.count_nonzero(counts)),
        missing_sessions=tuple(
            s.date for s, k in zip(table.sessions, counts, strict=True) if not k
        ),
        expected_bars=expected_bars,
        missing_bars=missing_bars,
        sessions_with_missing_bars=len(gaps),
        worst_sessions=tuple(gaps[:top]),
        off_grid_bars=off_grid,
        outside_session_bars=len(outside),
        outside_session_examples=tuple(int(ts[i]) for i in outside[:top]),
        zero_volume_min_run=min_zero_run,
        zero_volume_bars=int(np.count_nonzero(volume == 0)),
        zero_volume_run_count=len(runs),
        zero_volume_runs=tuple(runs[:top]),
        raw_checked=raw is not None,
        bad_ohlc_rows=checked.bad_rows,
        bad_ohlc_examples=checked.bad_examples,
        negative_volume_rows=checked.negative_volume,
        duplicate_rows=checked.duplicates,
        unsorted_rows=checked.unsorted,
        calendar_warning=provisional_warning(ts, exchange),
    )


def _zero_runs(ts: Int64Array, volume: Int64Array, min_run: int) -> list[ZeroVolumeRun]:
    """Runs of >= min_run consecutive zero-volume bars (series order), longest first."""
    edges = np.diff(np.concatenate(([0], (volume == 0).astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = ends - starts >= min_run
    runs = [
        ZeroVolumeRun(int(ts[s]), int(ts[e - 1]), int(e - s))
        for s, e in zip(starts[keep], ends[keep], strict=True)
    ]
    runs.sort(key=lambda r: (-r.bars, r.start_ns))
    return runs


def render_text(report: QualityReport) -> str:
    """The report as the CLI prints it."""
    r = report
    unit = "minutes" if r.timeframe == "1m" else f"{r.timeframe} bars"
    lines = [f"Data quality: {r.symbol} {r.timeframe} on {r.exchange} - "
             + ("OK" if r.ok else "PROBLEMS FOUND")]  # fmt: skip
    if r.calendar_warning:
        lines.append(f"  warning: {r.calendar_warning}")
    if r.first_ns is None or r.last_ns is None:
        return "\n".join([*lines, "  no bars"])
    lines += [
        f"  bars               {r.bars:,} from {ist_iso(r.first_ns)} to {ist_iso(r.last_ns)}",
        f"  sessions           {r.sessions_present} of {r.sessions_expected} expected",
    ]
    if r.missing_sessions:
        shown = ", ".join(d.isoformat() for d in r.missing_sessions[:EXAMPLES])
        more = len(r.missing_sessions) - EXAMPLES
        lines.append(f"  missing sessions   {shown}" + (f" (+{more} more)" if more > 0 else ""))
    if r.missing_bars is not None:
        lines.append(
            f"  missing {unit:<10} {r.missing_bars:,} of {r.expected_bars:,} "
            f"in {r.sessions_with_missing_bars} session(s)"
        )
        for g in r.worst_sessions:
            lines.append(f"    {g.date}  {g.missing:>4} missing ({g.present} of {g.expected})")
    if r.off_grid_bars:
        lines.append(f"  off-grid bars      {r.off_grid_bars:,} (not at open + k x {r.timeframe})")
    lines.append(f"  outside sessions   {r.outside_session_bars:,}")
    lines += [f"    {ist_iso(ns)}" for ns in r.outside_session_examples]
    lines.append(
        f"  zero-volume runs   {r.zero_volume_run_count} of >= {r.zero_volume_min_run} bars "
        f"({r.zero_volume_bars:,} zero-volume bars in all)"
    )
    lines += [
        f"    {ist_iso(z.start_ns)} .. {ist_iso(z.end_ns)}  {z.bars} bars"
        for z in r.zero_volume_runs
    ]
    if not r.raw_checked:
        lines.append("  bad OHLC, negative volume, duplicate, unsorted rows: 0 (validated series)")
    else:
        rows = ", ".join(str(i) for i in r.bad_ohlc_examples)
        lines += [
            f"  bad OHLC rows      {r.bad_ohlc_rows:,}" + (f" (rows {rows})" if rows else ""),
            f"  negative volume    {r.negative_volume_rows:,}",
            f"  duplicate rows     {r.duplicate_rows:,}",
            f"  out-of-order rows  {r.unsorted_rows:,}",
        ]
    return "\n".join(lines)
