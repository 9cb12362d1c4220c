"""Independent numpy recomputations for the intraday reference strategies' tests.

Nothing here calls the SDK's indicators: the tests recompute VWAP, ATR, the opening range and
the clock from the raw bars their own way, then check that each order the strategy placed
is one its documented rule asks for, and that every bar where the rule asks for one got it.
Data is the demo generator's (engine/data/demo.py), what `artha demo` installs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cache

import numpy as np
import numpy.typing as npt

from engine.backtest import BacktestConfig
from engine.data.bar_series import BarSeries
from engine.data.demo import generate_demo
from engine.domain.enums import Exchange, Segment
from engine.domain.instrument import Instrument

IST = timezone(timedelta(hours=5, minutes=30))
NO_COSTS = BacktestConfig(costs="none")
F64 = npt.NDArray[np.float64]
TICK = 0.05


@cache
def demo(count: int = 3, days: int = 8) -> tuple[BarSeries, ...]:
    """The demo market's last `days` sessions of `count` instruments (375 bars a day)."""
    return tuple(generate_demo(count=count, days=days))


def with_bars(base: BarSeries, source: BarSeries, after: int) -> BarSeries:
    """`base` with every bar after index `after` taken from `source` (same clock)."""
    columns = {}
    for name in ("open", "high", "low", "close", "volume"):
        values = np.asarray(getattr(base, name)).copy()
        values[after + 1 :] = np.asarray(getattr(source, name))[after + 1 :]
        columns[name] = values
    return BarSeries.from_arrays(
        symbol=base.symbol,
        ts=np.asarray(base.ts),
        timeframe="1m",
        prices_in_paise=True,
        **columns,
    )


class Bars:
    """One series in rupees, with its IST clock."""

    def __init__(self, series: BarSeries) -> None:
        self.series = series
        self.open = np.asarray(series.open, dtype=np.float64) / 100
        self.high = np.asarray(series.high, dtype=np.float64) / 100
        self.low = np.asarray(series.low, dtype=np.float64) / 100
        self.close = np.asarray(series.close, dtype=np.float64) / 100
        self.volume = np.asarray(series.volume, dtype=np.float64)
        self.ts = np.asarray(series.ts, dtype=np.int64)
        self.opens_at = [
            datetime.fromtimestamp(int(t) // 10**9, UTC).astimezone(IST) for t in self.ts
        ]
        self.day = np.array([t.date().toordinal() for t in self.opens_at])
        # minute of the IST day at which each 1-minute bar closes
        self.closes_at = np.array([t.hour * 60 + t.minute + 1 for t in self.opens_at])
        self.n = len(self.ts)

    def day_start(self) -> npt.NDArray[np.bool_]:
        return np.concatenate(([True], self.day[1:] != self.day[:-1]))


def minutes(text: str) -> int:
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def wilder_atr(b: Bars, length: int) -> F64:
    """Wilder's ATR: the mean of the first `length` true ranges, then (prev*(n-1) + tr)/n."""
    out = np.full(b.n, np.nan)
    tr = np.empty(b.n)
    for i in range(b.n):
        if i == 0:
            tr[i] = b.high[i] - b.low[i]
        else:
            c = b.close[i - 1]
            tr[i] = max(b.high[i] - b.low[i], abs(b.high[i] - c), abs(b.low[i] - c))
    if b.n >= length:
        out[length - 1] = tr[:length].mean()
        for i in range(length, b.n):
            out[i] = (out[i - 1] * (length - 1) + tr[i]) / length
    return out


def vwap(b: Bars) -> F64:
    """Volume-weighted typical price since each IST day's first bar."""
    out = np.full(b.n, np.nan)
    typical = (b.high + b.low + b.close) / 3
    for day in np.unique(b.day):
        at = np.flatnonzero(b.day == day)
        out[at] = np.cumsum(typical[at] * b.volume[at]) / np.cumsum(b.volume[at])
    return out


def volume_ratio(b: Bars, length: int) -> F64:
    out = np.full(b.n, np.nan)
    for i in range(length, b.n):
        out[i] = b.volume[i] / b.volume[i - length : i].mean()
    return out


def opening_range(b: Bars, range_minutes: int) -> tuple[F64, F64]:
    """High and low of the bars opening in 09:15 + range_minutes, from the bar that
    completes the range to the day's end (NaN before)."""
    high, low = np.full(b.n, np.nan), np.full(b.n, np.nan)
    end = 9 * 60 + 15 + range_minutes
    for day in np.unique(b.day):
        at = np.flatnonzero(b.day == day)
        inside = at[b.closes_at[at] <= end]
        if inside.size == 0:
            continue
        known = at[b.closes_at[at] >= end]
        high[known] = b.high[inside].max()
        low[known] = b.low[inside].min()
    return high, low


def first_at_or_after(b: Bars, cut: int) -> npt.NDArray[np.bool_]:
    """Each day's first bar closing at or after minute `cut`."""
    late = b.closes_at >= cut
    out = np.zeros(b.n, dtype=bool)
    for day in np.unique(b.day):
        at = np.flatnonzero((b.day == day) & late)
        if at.size:
            out[at[0]] = True
    return out


def holding(trades: list, n: int) -> npt.NDArray[np.bool_]:
    """True at bar t when a position is open as the handlers of bar t run: filled at or
    before t (fills at the open and inside a bar come before the bar's handlers), not yet
    closed at t."""
    held = np.zeros(n, dtype=bool)
    for t in trades:
        held[t.entry_bar : t.exit_bar] = True
    return held


def expected_entries(
    long_rule: npt.NDArray[np.bool_],
    short_rule: npt.NDArray[np.bool_],
    held: npt.NDArray[np.bool_],
    day: npt.NDArray[np.int64],
    per_day: int,
) -> list[tuple[int, str]]:
    """(bar, side) of every entry the rule asks for: the rule fires, flat, and fewer than
    `per_day` entries so far that day (long first when both fire, as registered)."""
    out: list[tuple[int, str]] = []
    counts: dict[int, int] = {}
    for t in np.flatnonzero(long_rule | short_rule):
        if held[t] or counts.get(int(day[t]), 0) >= per_day:
            continue
        counts[int(day[t])] = counts.get(int(day[t]), 0) + 1
        out.append((int(t), "BUY" if long_rule[t] else "SELL"))
    return out


def stopped_at(b: Bars, start: int, sign: int, stop: float) -> int:
    """First bar from `start` whose range reaches a long's (sign 1) stop below or a short's
    (sign -1) stop above; b.n when none does."""
    hits = np.flatnonzero(b.low[start:] <= stop if sign > 0 else b.high[start:] >= stop)
    return start + int(hits[0]) if hits.size else b.n


def reached_at(b: Bars, start: int, sign: int, target: float) -> int:
    """First bar from `start` whose range reaches a long's target above (a short's below)."""
    hits = np.flatnonzero(b.high[start:] >= target if sign > 0 else b.low[start:] <= target)
    return start + int(hits[0]) if hits.size else b.n


def entries(result, tag: str) -> list[tuple[int, str]]:
    return [
        (o.placed_bar, str(o.side))
        for o in result.order_log
        if o.tag == tag and o.order_type == "MARKET"
    ]


def whole_lots(value: float, price: float, lot: int = 1) -> int:
    return max(int(value // (price * lot)), 1) * lot


def futures(symbols: Iterable[str], lot: int, tick: str = "0.05") -> dict[str, Instrument]:
    """`run_backtest`'s `instruments`: each symbol traded as an NFO future of `lot` units a
    lot and a tick of `tick` rupees (a symbol without one trades as NSE equity: lot 1)."""
    return {
        symbol: Instrument(
            Exchange.NFO,
            Segment.FUTURES,
            symbol,
            lot_size=lot,
            tick_size=Decimal(tick),
            expiry=date(2027, 1, 28),
        )
        for symbol in symbols
    }


def flat_by(result, b: Bars, cutoff: str) -> None:
    """Every trade closes the day it opened, no later than the cut-off; nothing left open."""
    limit = time.fromisoformat(cutoff)
    for t in result.trades:
        assert t.exit_time.date() == t.entry_time.date(), t
        assert t.exit_time.time() <= limit, t
    assert not any(result.open_positions.values()), result.open_positions


def check_replay_equals_backtest(strategy: type, params: dict, at_least: int) -> None:
    """Backtest and bar-by-bar replay of `strategy` on two demo symbols, contract-note
    charges included: the same orders, trades and report, to the paisa."""
    from engine.backtest import run_backtest
    from engine.replay import replay_bars
    from tests.engine.replay_helpers import placed, same_report, trades

    data = list(demo(count=2, days=5))
    config = BacktestConfig()
    backtest = run_backtest(strategy, params, data, config)
    replay = replay_bars(strategy, params, data, config)
    assert len(backtest.trades) >= at_least
    assert placed(replay) == placed(backtest)
    assert trades(replay) == trades(backtest)
    assert same_report(replay, backtest)


def check_whole_lot_entries(strategy: type, tag: str, value: float, lot: int) -> None:
    """Traded as a future of `lot` units a lot (given to the run as its instrument; no
    parameter says it): each entry is `value` at the signal bar's close rounded down to whole
    lots of it, at least one, on the same bars and sides as the cash stock's (the size
    changes nothing else); the bar-by-bar replay places the same orders."""
    from engine.backtest import run_backtest
    from engine.replay import replay_bars
    from tests.engine.replay_helpers import placed

    one_lot_over_value = 0
    for series in demo():
        b = Bars(series)
        contract = futures([series.symbol], lot)
        cash = run_backtest(strategy, None, [series], NO_COSTS)
        future = run_backtest(strategy, None, [series], NO_COSTS, contract)
        assert entries(future, tag) == entries(cash, tag)
        assert future.trades and not future.rejections
        for order in future.order_log:
            if order.tag != tag or order.order_type != "MARKET":
                continue
            close = b.close[order.placed_bar]
            assert order.quantity == whole_lots(value, close, lot)
            assert order.quantity % lot == 0 and order.quantity >= lot
            one_lot_over_value += close * lot > value
        replay = replay_bars(strategy, None, series, NO_COSTS, contract)
        assert placed(replay) == placed(future)
    if lot == 100:  # a lot worth more than the value still trades one lot
        assert one_lot_over_value > 0
