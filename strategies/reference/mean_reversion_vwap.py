"""Mean reversion to the session VWAP, intraday (MIS): fade a stretched price, exit at VWAP.

The idea: inside a session, price keeps returning to the volume-weighted average price that
the day's trading has set. A bar that closes far from VWAP on unusually heavy volume is a
stretch that often snaps back, so sell it when it is above VWAP (buy it when below) and take
the position off when price is back at VWAP. A stop a few ATRs away caps the trade that keeps
running, and everything is closed before the close: the strategy holds nothing overnight.

Rules, evaluated at the close of each bar (a bar is named by its open time; with 1-minute
bars the 10:14 bar closes at 10:15; `bar_minutes` says how long a bar is):

- VWAP is `session_vwap` (restarts at every session's first bar). The deviation is
  close - VWAP. The stretch is, by `stretch_mode`:
  "atr": deviation / ATR(`atr_period`) (Wilder's, on the bars themselves), or
  "zscore": the z-score of the deviation over its last `zscore_period` bars.
- Enter long when the close is below VWAP and stretch <= -`entry_stretch`, short when it
  is above VWAP and stretch >= +`entry_stretch` (shorts only with `allow_short`; in "atr"
  mode the side follows from the stretch, in "zscore" mode it is a condition), if also:
  volume_ratio(`volume_period`) >= `volume_threshold` (the bar's volume over the average
  of the bars before it), the bar
  closes inside the entry window [`entry_from`, `entry_until`] (IST), the position is flat
  with no order working, and fewer than `max_entries_per_day` entries were made this day.
  The entry is a MARKET order, product MIS (it fills at the next bar's open in a backtest),
  placed with a bracket stop `stop_atr` x ATR (at the signal bar) from the entry's fill:
  a real SL-M exit order that the engine cancels when the position is closed otherwise.
- Exit a long on the first bar whose close is back at or above VWAP (deviation >= 0 after a
  bar below it), a short on the first bar at or below VWAP: a MARKET order.
- Cut-off: at the close of the first bar that closes at or after `cutoff` (15:15 IST; the
  15:14 bar on 1-minute bars), whatever is open is closed with a MARKET order, so the
  position is flat from the cut-off bar's fill on (15:15), before the engine's own MIS
  square-off at 15:20. `entry_until` must be before the cut-off.
- Size: `order_value` rupees at the signal bar's close, rounded down to whole lots of the
  instrument's lot size (`lot_size(self)`: 1 for NSE cash equity, the contract's lot for
  F&O), at least one lot.

The ATR is not reset at the session open: its first bar of a day takes in the overnight gap,
which inflates it for a few minutes; the default entry window starts 30 minutes into the
session, when that has mostly decayed. The z-score window may reach into the day before for
the same reason; from 09:45 a 30-bar window lies inside the session.

Every condition is built in `init()` from `self.I` indicators, so the same class runs in a
backtest and bar by bar (engine/replay, live) with identical orders.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from strategies.sdk import (
    BarView,
    Param,
    Strategy,
    atr,
    first_bar_at_or_after,
    ist_close_minutes,
    ist_day,
    ist_time_param,
    lot_size,
    session_vwap,
    volume_ratio,
    whole_lots,
    zscore,
)


class MeanReversionVwap(Strategy):
    """Fades stretches from the session VWAP on heavy volume, exits at VWAP; MIS, flat by 15:15.

    The rules are in the module docstring (and docs/strategy-guide.md)."""

    name = "mean_reversion_vwap"

    stretch_mode = Param(
        "atr",
        choices=("atr", "zscore"),
        help="how the stretch from VWAP is measured: 'atr' = (close - VWAP) / ATR, "
        "'zscore' = z-score of close - VWAP over zscore_period bars",
    )
    entry_stretch = Param(
        2.0, min=0.1, max=20.0, help="stretch that triggers an entry (ATRs or z-score units)"
    )
    atr_period = Param(14, min=2, max=500, help="bars in the ATR (Wilder)")
    zscore_period = Param(
        30, min=5, max=1000, help="bars in the z-score of the deviation (zscore mode)"
    )
    stop_atr = Param(
        3.0, min=0.1, max=50.0, help="bracket stop distance from the fill, in ATRs at the signal"
    )
    volume_period = Param(20, min=2, max=1000, help="bars in the volume average of the filter")
    volume_threshold = Param(
        1.5, min=0.0, max=50.0, help="minimum volume / average volume of the bars before it"
    )
    entry_from = Param(
        "09:45", min="09:15", max="15:30", help="first bar close (IST, HH:MM) that may enter"
    )
    entry_until = Param(
        "14:45", min="09:15", max="15:30", help="last bar close (IST, HH:MM) that may enter"
    )
    cutoff = Param(
        "15:15", min="09:15", max="15:30", help="close everything at the first bar closing then"
    )
    max_entries_per_day = Param(3, min=1, max=100, help="entries per session at most")
    allow_short = Param(True, help="also fade stretches above VWAP by selling short (MIS)")
    order_value = Param(
        200_000,
        min=1_000,
        max=100_000_000,
        help="rupees per entry, in whole lots of the instrument (at least one)",
    )
    bar_minutes = Param(1, min=1, max=375, help="minutes in one bar of the data")

    def init(self) -> None:
        start = ist_time_param(self.entry_from, "entry_from")
        until = ist_time_param(self.entry_until, "entry_until")
        cut = ist_time_param(self.cutoff, "cutoff")
        if not start <= until < cut:
            raise ValueError(
                f"need entry_from ({self.entry_from}) <= entry_until ({self.entry_until}) "
                f"< cutoff ({self.cutoff})"
            )
        d = self.data
        self.vwap = self.I(session_vwap, d.ts, d.high, d.low, d.close, d.volume, name="vwap")
        self.atr = self.I(atr, d.high, d.low, d.close, self.atr_period, name="atr")
        deviation = self.I(difference, d.close, self.vwap, name="close - vwap", lookback=1)
        if self.stretch_mode == "atr":
            stretch = self.I(ratio, deviation, self.atr, name="stretch (atr)", lookback=1)
        else:
            stretch = self.I(zscore, deviation, self.zscore_period, name="stretch (zscore)")
        volume = self.I(volume_ratio, d.volume, self.volume_period, name="volume ratio")
        closes_at = self.I(
            ist_close_minutes, d.ts, self.bar_minutes, name="bar close (IST minute)", lookback=1
        )
        inputs = (deviation, stretch, volume, closes_at)
        rule = (self.entry_stretch, self.volume_threshold, start, until)
        self.on(self.I(fade, *inputs, -1, *rule, name="long entry", lookback=1), self.enter_long)
        if self.allow_short:
            self.on(
                self.I(fade, *inputs, 1, *rule, name="short entry", lookback=1), self.enter_short
            )
        self.on(
            self.I(turned_up, deviation, name="back to vwap from below", lookback=2), self.exit_long
        )
        self.on(
            self.I(turned_down, deviation, name="back to vwap from above", lookback=2),
            self.exit_short,
        )
        self.on(
            self.I(first_bar_at_or_after, closes_at, cut, name="cut-off", lookback=2), self.flatten
        )
        self._day = -1
        self._entries = 0

    # -- handlers -------------------------------------------------------------------------------
    def enter_long(self, bar: BarView) -> None:
        self._enter(bar, long=True)

    def enter_short(self, bar: BarView) -> None:
        self._enter(bar, long=False)

    def _enter(self, bar: BarView, *, long: bool) -> None:
        if not self.position.is_flat or self.open_orders():
            return
        day = ist_day(bar.ts_ns)
        if day != self._day:
            self._day, self._entries = day, 0
        distance = round(self.stop_atr * float(self.atr[-1]), 2)
        if self._entries >= self.max_entries_per_day or not distance > 0:
            return
        self._entries += 1
        quantity = whole_lots(self.order_value, bar.close, lot_size(self))
        place = self.buy if long else self.sell
        place(quantity, product="MIS", stop_loss_points=distance, tag="mr entry")

    def exit_long(self, bar: BarView) -> None:
        if self.position.is_long:
            self.close_position(product="MIS", tag="mr at vwap")

    def exit_short(self, bar: BarView) -> None:
        if self.position.is_short:
            self.close_position(product="MIS", tag="mr at vwap")

    def flatten(self, bar: BarView) -> None:
        if not self.position.is_flat:
            self.close_position(product="MIS", tag="mr cut-off")


# -- helpers: plain numpy, causal (value t reads bars <= t), one value per bar -------------------


def difference(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)


def ratio(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """a / b, NaN where b is not positive."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, x / y, np.nan)


def fade(
    deviation: npt.ArrayLike,
    stretch: npt.ArrayLike,
    volume: npt.ArrayLike,
    closes_at: npt.ArrayLike,
    side: int,
    entry: float,
    threshold: float,
    start: int,
    until: int,
) -> npt.NDArray[np.bool_]:
    """The entry rule: the close on `side` of VWAP (-1: below, fade it by buying; +1: above,
    sell) and stretched at least `entry` that way, volume ratio >= threshold, the bar closing
    in [start, until]."""
    away = side * np.asarray(deviation, dtype=np.float64) > 0
    x = side * np.asarray(stretch, dtype=np.float64)
    m = np.asarray(closes_at, dtype=np.float64)
    heavy = np.asarray(volume, dtype=np.float64) >= threshold
    return np.asarray(away & (x >= entry) & heavy & (m >= start) & (m <= until))


def _previous(x: npt.NDArray[Any], fill: float) -> npt.NDArray[Any]:
    return np.concatenate(([fill], x[:-1])) if x.shape[0] else x


def turned_up(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where values >= 0 and the bar before was not (below zero, or NaN)."""
    x = np.asarray(values, dtype=np.float64)
    return np.asarray((x >= 0) & ~(_previous(x, np.nan) >= 0))


def turned_down(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where values <= 0 and the bar before was not (above zero, or NaN)."""
    x = np.asarray(values, dtype=np.float64)
    return np.asarray((x <= 0) & ~(_previous(x, np.nan) <= 0))
