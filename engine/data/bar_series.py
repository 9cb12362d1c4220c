"""The in-memory bar series a backtest runs on: parallel int64 arrays, validated once.

Prices are int64 paise so vectorised code stays exact (0.05 is 5, not 0.05000000000000000277);
`price()` turns paise back into Decimal rupees for anything that leaves the engine. Timestamps
are int64 UTC nanoseconds of each bar's OPEN time. A BarSeries is checked when it is built
and its arrays are read-only views, so code that receives one can trust it without re-checking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from engine.domain.money import from_paise
from engine.ist import IST
from engine.ist import ist_iso as ist_iso
from engine.timeframes import TIMEFRAMES as TIMEFRAMES

if TYPE_CHECKING:  # imported where datetimes are converted: a bar read needs numpy alone
    import pandas as pd

Int64Array = npt.NDArray[np.int64]

PRICE_FIELDS: Final = ("open", "high", "low", "close")
SPARSE_CHECK_FROM: Final = 20  # bars: from here a given timeframe must occur as a gap
_COLUMNS: Final = ("ts", *PRICE_FIELDS, "volume")


class BarDataError(ValueError):
    """Bad bar data; the message always says where (file:line, row or bar) and what."""

    def __init__(
        self,
        problem: str,
        path: str | Path | None = None,
        line: int | None = None,
        *,
        index: int | None = None,
        where: str | None = None,
    ) -> None:
        self.problem = problem
        self.path: str | None = None if path is None else str(path)
        self.line = line
        self.index = index  # 0-based bar index, when the problem is one bar
        self.where = where
        if where is None:
            if self.path is not None:
                where = self.path if line is None else f"{self.path}:{line}"
            elif index is not None:
                where = f"bar {index}"
        super().__init__(problem if where is None else f"{where}: {problem}")


class RowProblem(Exception):
    """Internal: row `index` is bad; the caller knows how to name the row (line, bar)."""

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem


def format_paise(paise: int | np.integer) -> str:
    return str(from_paise(int(paise)))


def span_text(ns: int) -> str:
    """A duration the way timeframes are written: 7m, 1h, 1d, 1d2h30m, 45s (never pandas'
    "0 days 00:07:00")."""
    if ns <= 0:
        return "0s"
    seconds, rest = divmod(int(ns), 1_000_000_000)
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if rest and not parts:
        return f"{rest / 1e9:.3g}s"
    return "".join(parts)


def _median_gap(ts_ns: Int64Array) -> int | None:
    """Median spacing (an actual gap, not an average of two), None below two bars."""
    if len(ts_ns) < 2:
        return None
    gaps = np.diff(ts_ns)
    middle = (len(gaps) - 1) // 2
    return int(np.partition(gaps, middle)[middle])


def infer_timeframe(ts_ns: Int64Array) -> str:
    """The MEDIAN bar spacing, so weekends, holidays and overnight gaps do not mislead."""
    ts = np.asarray(ts_ns)
    if ts.ndim != 1 or ts.dtype != np.int64:
        raise BarDataError(f"timestamps must be a 1-D int64 ns array, got {ts.dtype} {ts.shape}")
    median = _median_gap(ts)
    if median is None:
        raise BarDataError(
            f"cannot infer the timeframe from {len(ts)} bar(s); give the timeframe explicitly"
        )
    for name, length in TIMEFRAMES.items():
        if median == length:
            return name
    raise BarDataError(
        f"median bar spacing {span_text(median)} is not a supported "
        f"timeframe ({', '.join(TIMEFRAMES)}); give the timeframe explicitly"
    )


def resolve_timeframe(ts_ns: Int64Array, timeframe: str | None) -> str:
    """Infer, or check a given timeframe both ways: bars denser than claimed (the median gap
    is shorter) or sparser than claimed (not two bars of many are that close: 15-minute
    bars given as "1m") mean a mislabelled file."""
    if timeframe is None:
        return infer_timeframe(ts_ns)
    check_timeframe(timeframe)
    median = _median_gap(ts_ns)
    length = TIMEFRAMES[timeframe]
    if median is not None and 0 < median < length:
        raise BarDataError(
            f"timeframe {timeframe!r} was given but the bars are only "
            f"{span_text(median)} apart (median spacing)"
        )
    if len(ts_ns) > SPARSE_CHECK_FROM:
        gaps = np.diff(ts_ns)
        gaps = gaps[gaps > 0]
        closest = int(gaps.min()) if len(gaps) else 0
        if closest > length:
            raise BarDataError(
                f"timeframe {timeframe!r} was given but no two of the {len(ts_ns):,} bars are "
                f"closer than {span_text(closest)}: they are not {timeframe} bars"
            )
    return timeframe


def check_timeframe(timeframe: object) -> None:
    if timeframe not in TIMEFRAMES:
        raise BarDataError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")


def find_bad_bar(
    ts: Int64Array,
    prices: dict[str, Int64Array],
    volume: Int64Array,
    row: Callable[[int], str],
    when: Callable[[int], str],
) -> None:
    """Raise RowProblem for the earliest bar breaking an OHLC/volume/time-order rule.

    `row(i)` names another row in messages ("line 8", "bar 7"); `when(i)` shows its time.
    """
    o, h, lo, c = (prices[name] for name in PRICE_FIELDS)
    later = np.zeros(len(ts), dtype=bool)
    same = np.zeros(len(ts), dtype=bool)
    later[1:] = ts[1:] < ts[:-1]
    same[1:] = ts[1:] == ts[:-1]
    checks: list[tuple[npt.NDArray[np.bool_], Callable[[int], str]]] = [
        *((prices[n] <= 0, _not_positive(n, prices[n])) for n in PRICE_FIELDS),
        (h < lo, lambda i: f"high {format_paise(h[i])} is below low {format_paise(lo[i])}"),
        (h < np.maximum(o, c), lambda i: _beyond("high", h[i], "below", o[i], c[i], True)),
        (lo > np.minimum(o, c), lambda i: _beyond("low", lo[i], "above", o[i], c[i], False)),
        (volume < 0, lambda i: f"volume {volume[i]} is negative"),
        (same, lambda i: f"duplicate timestamp {when(i)}: {row(i - 1)} has the same time"),
        (
            later,
            lambda i: f"timestamp {when(i)} is earlier than {when(i - 1)} on {row(i - 1)}; "
            "bars must be sorted by time",
        ),
    ]
    first: tuple[int, Callable[[int], str]] | None = None
    for mask, message in checks:
        if mask.any():
            i = int(mask.argmax())
            if first is None or i < first[0]:
                first = (i, message)
    if first is not None:
        raise RowProblem(first[0], first[1](first[0]))


def _not_positive(name: str, values: Int64Array) -> Callable[[int], str]:
    return lambda i: f"{name} {format_paise(values[i])} is not above zero"


def _beyond(name: str, v: np.int64, side: str, o: np.int64, c: np.int64, high: bool) -> str:
    which, other = ("open", o) if (o >= c) == high else ("close", c)
    return f"{name} {format_paise(v)} is {side} {which} {format_paise(other)}"


def as_utc_ns(ts: object) -> Int64Array:
    """int ns since the epoch (UTC) or tz-aware datetimes; naive times are ambiguous: refused."""
    arr = np.asarray(ts)
    if arr.dtype.kind in "iu":
        return np.array(arr, dtype=np.int64)
    if arr.dtype.kind in "MO" and arr.ndim == 1:
        import pandas as pd

        index = pd.DatetimeIndex(ts if isinstance(ts, pd.Series | pd.Index) else list(arr))
        if index.tz is None:
            raise BarDataError("ts has no time zone; pass tz-aware datetimes or int64 ns UTC")
        return np.array(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
    raise BarDataError(f"ts must be int64 ns UTC or tz-aware datetimes, got {arr.dtype}")


def as_column(values: npt.ArrayLike, name: str, in_paise: bool = False) -> Int64Array:
    """One from_arrays column as int64: paise (from rupees unless in_paise) or volume."""
    from engine.data.exact_values import exact_int, float_text, to_int64

    arr = np.asarray(values)
    scale = 1 if in_paise or name == "volume" else 100
    if arr.dtype.kind in "iu":
        return np.array(arr, dtype=np.int64) * scale
    if arr.dtype.kind == "f" and not (in_paise and name != "volume"):
        floats = arr.astype(np.float64)
        return to_int64(floats, name, float_text(floats), scale)
    if arr.dtype.kind in "OU" and scale == 100:  # Decimal or str rupees: exact, one by one
        return np.array([exact_int(str(v), name, i) for i, v in enumerate(arr)], np.int64)
    raise BarDataError(f"{name} must be {'int paise' if in_paise else 'numbers'}, got {arr.dtype}")


@dataclass(frozen=True, eq=False, repr=False)
class BarSeries:
    """OHLCV bars of one symbol and timeframe as int64 arrays (paise, UTC ns open times)."""

    symbol: str
    timeframe: str
    ts: Int64Array
    open: Int64Array
    high: Int64Array
    low: Int64Array
    close: Int64Array
    volume: Int64Array

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise BarDataError(f"symbol must be a non-empty string, got {self.symbol!r}")
        check_timeframe(self.timeframe)
        n = len(self.ts) if isinstance(self.ts, np.ndarray) else -1
        for name in _COLUMNS:
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != np.int64:
                got = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr)
                raise BarDataError(f"{self.symbol}: {name} must be a 1-D int64 array, got {got}")
            if len(arr) != n:
                raise BarDataError(f"{self.symbol}: {name} has {len(arr)} values, ts has {n}")
            view = arr.view()
            view.flags.writeable = False  # the caller's array stays theirs; ours is frozen
            object.__setattr__(self, name, view)
        prices = {name: getattr(self, name) for name in PRICE_FIELDS}
        try:
            find_bad_bar(self.ts, prices, self.volume, lambda i: f"bar {i}", self._when)
        except RowProblem as bad:
            where = f"{self.symbol} bar {bad.index} at {self._when(bad.index)}"
            raise BarDataError(bad.problem, index=bad.index, where=where) from None

    def _when(self, i: int) -> str:
        return ist_iso(self.ts[i])

    def __len__(self) -> int:
        return len(self.ts)

    def __repr__(self) -> str:
        span = f", {self._when(0)} .. {self._when(len(self) - 1)}" if len(self) else ""
        return f"BarSeries({self.symbol} {self.timeframe}, {len(self)} bars{span})"

    @classmethod
    def from_arrays(
        cls,
        symbol: str,
        ts: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
        timeframe: str | None = None,
        *,
        prices_in_paise: bool = False,
    ) -> BarSeries:
        """Build from rupee floats/ints/Decimals (or int paise) and ns or tz-aware times."""
        ts_ns = as_utc_ns(ts)
        names = (*PRICE_FIELDS, "volume")
        for name, col in zip(names, (open, high, low, close, volume), strict=True):
            if np.shape(col) != ts_ns.shape:
                raise BarDataError(f"{symbol}: {name} has shape {np.shape(col)}, not {ts_ns.shape}")
        try:
            columns = [
                as_column(col, n, prices_in_paise)
                for n, col in zip(names, (open, high, low, close, volume), strict=True)
            ]
        except RowProblem as bad:
            where = f"{symbol} bar {bad.index} at {ist_iso(ts_ns[bad.index])}"
            raise BarDataError(bad.problem, index=bad.index, where=where) from None
        try:
            tf = resolve_timeframe(ts_ns, timeframe)
        except BarDataError as err:
            cls(symbol, "1m", ts_ns, *columns)  # unsorted/duplicate times explain it better
            raise BarDataError(err.problem, where=symbol) from None
        return cls(symbol, tf, ts_ns, *columns)

    def timestamps(self) -> pd.DatetimeIndex:
        """Bar open times in IST, for reports and charts."""
        import pandas as pd

        return pd.DatetimeIndex(pd.to_datetime(self.ts, unit="ns", utc=True)).tz_convert(IST)

    def slice(self, start: int, stop: int) -> BarSeries:
        """Bars [start, stop) as views; a slice of a valid series is valid, so no re-check."""
        part = object.__new__(BarSeries)
        for name in ("symbol", "timeframe"):
            object.__setattr__(part, name, getattr(self, name))
        for name in _COLUMNS:
            object.__setattr__(part, name, getattr(self, name)[start:stop])
        return part

    def price(self, paise: int | np.integer) -> Decimal:
        """Exact rupees for a paise value taken from this series' arrays."""
        if isinstance(paise, bool) or not isinstance(paise, int | np.integer):
            raise TypeError(f"paise must be an int, got {type(paise).__name__} {paise!r}")
        return from_paise(int(paise))
