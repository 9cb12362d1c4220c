"""Opening-range breakout, intraday (MIS), with an ATR filter and an ATR stop order.

The idea: the first 15 or 30 minutes of a session set a range where the overnight news is
priced in. A close that clears that range decisively starts the day's trend often enough to
ride it: buy a break above the range (sell short a break below), protect the trade with a
stop order a few ATRs away and a target further out, and close whatever is left before the
session ends. Ranges far wider than usual (the move is already spent, the stop would be far)
and breaks that barely poke out are skipped.

Rules, evaluated at the close of each bar (a bar is named by its open time; `bar_minutes`
says how long a bar is):

- The opening range is `opening_range_high/low` over the session's first `range_minutes`
  (15 or 30; from the calendar's session open, 09:15 IST), known from the close of the bar
  that completes it and constant for the rest of the session. ATR is Wilder's over
  `atr_period` bars.
- Range filter: min_range_atr <= (range high - range low) / ATR <= max_range_atr.
- Long entry: the close crosses above range high + `breakout_atr` x ATR (this bar's close is
  above the level, the bar before's was not); short entry (with `allow_short`): the close
  crosses below range low - `breakout_atr` x ATR. Also: the bar closes at or before
  `entry_until` (IST), the position is flat with no order working, and fewer than
  `max_entries_per_day` entries were made this session.
- The entry is a MARKET order, product MIS (filling at the next bar's open in a backtest),
  with a bracket: a stop `stop_atr` x ATR from the fill (a real SL-M order) and, when
  `target_atr` > 0, a LIMIT target `target_atr` x ATR from the fill; one cancels the other
  and both go when the position is closed. ATR is the signal bar's.
- Cut-off: at the close of the first bar that closes at or after `cutoff` (15:15 IST; the
  15:14 bar on 1-minute bars) whatever is open is closed with a MARKET order, so the
  position is flat from the cut-off bar's fill on, before the engine's MIS square-off.
- Size: `order_value` rupees at the signal bar's close, rounded down to whole lots of the
  instrument's lot size (`lot_size(self)`: 1 for NSE cash equity, the contract's lot for
  F&O), at least one lot.

The ATR runs across sessions (its first bar of a day takes in the overnight gap, which
raises it for some minutes after the open: the range filter is therefore lenient by default).

Every condition is built in `init()` from `self.I` indicators, so the same class runs in a
backtest and bar by bar (engine/replay, live) with identical orders.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from strategies.sdk import (
    BarView,
    Param,
    Strategy,
    atr,
    crossed_above,
    crossed_below,
    first_bar_at_or_after,
    ist_close_minutes,
    ist_day,
    ist_time_param,
    lot_size,
    opening_range_high,
    opening_range_low,
    whole_lots,
)


class MomentumBreakout(Strategy):
    """Opening-range breakout with an ATR filter and an ATR stop order; MIS, flat by 15:15.

    The rules are in the module docstring (and docs/strategy-guide.md)."""

    name = "momentum_breakout"

    range_minutes = Param(
        15, choices=(15, 30), help="minutes of the opening range from the session open"
    )
    atr_period = Param(14, min=2, max=500, help="bars in the ATR (Wilder)")
    min_range_atr = Param(
        1.0, min=0.0, max=100.0, help="skip the day when the range is narrower (in ATRs)"
    )
    max_range_atr = Param(
        12.0, min=0.1, max=100.0, help="skip the day when the range is wider (in ATRs)"
    )
    breakout_atr = Param(
        0.25, min=0.0, max=10.0, help="how far beyond the range the close must be, in ATRs"
    )
    stop_atr = Param(
        4.0, min=0.1, max=50.0, help="stop order distance from the fill, in ATRs at the signal"
    )
    target_atr = Param(
        8.0, min=0.0, max=100.0, help="target distance from the fill in ATRs (0: no target)"
    )
    entry_until = Param(
        "14:30", min="09:16", max="15:30", help="last bar close (IST, HH:MM) that may enter"
    )
    cutoff = Param(
        "15:15", min="09:16", max="15:30", help="close everything at the first bar closing then"
    )
    max_entries_per_day = Param(1, min=1, max=20, help="entries per session at most")
    allow_short = Param(True, help="also sell short a break below the range (MIS)")
    order_value = Param(
        200_000,
        min=1_000,
        max=100_000_000,
        help="rupees per entry, in whole lots of the instrument (at least one)",
    )
    bar_minutes = Param(1, min=1, max=30, help="minutes in one bar of the data")

    def init(self) -> None:
        until = ist_time_param(self.entry_until, "entry_until")
        cut = ist_time_param(self.cutoff, "cutoff")
        if not until < cut:
            raise ValueError(
                f"entry_until ({self.entry_until}) must be before cutoff ({self.cutoff})"
            )
        if self.min_range_atr > self.max_range_atr:
            raise ValueError(
                f"min_range_atr ({self.min_range_atr}) is above "
                f"max_range_atr ({self.max_range_atr})"
            )
        d, minutes, bar = self.data, self.range_minutes, self.bar_minutes
        high = self.I(opening_range_high, d.ts, d.high, minutes, bar, name="range high")
        low = self.I(opening_range_low, d.ts, d.low, minutes, bar, name="range low")
        self.atr = self.I(atr, d.high, d.low, d.close, self.atr_period, name="atr")
        width = self.I(range_in_atr, high, low, self.atr, name="range / atr", lookback=1)
        above = self.I(
            offset, high, self.atr, self.breakout_atr, name="breakout level up", lookback=1
        )
        below = self.I(
            offset, low, self.atr, -self.breakout_atr, name="breakout level down", lookback=1
        )
        closes_at = self.I(ist_close_minutes, d.ts, bar, name="bar close (IST minute)", lookback=1)
        can_enter = self.I(
            tradable,
            width,
            closes_at,
            self.min_range_atr,
            self.max_range_atr,
            until,
            name="range in bounds, before entry_until",
            lookback=1,
        )
        self.on(crossed_above(d.close, above) & can_enter, self.enter_long)
        if self.allow_short:
            self.on(crossed_below(d.close, below) & can_enter, self.enter_short)
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
        unit = float(self.atr[-1])
        stop = round(self.stop_atr * unit, 2)
        target = round(self.target_atr * unit, 2)
        if self._entries >= self.max_entries_per_day or not stop > 0:
            return
        self._entries += 1
        quantity = whole_lots(self.order_value, bar.close, lot_size(self))
        place = self.buy if long else self.sell
        place(
            quantity,
            product="MIS",
            stop_loss_points=stop,
            target_points=target if target > 0 else None,
            tag="orb entry",
        )

    def flatten(self, bar: BarView) -> None:
        if not self.position.is_flat:
            self.close_position(product="MIS", tag="orb cut-off")


# -- helpers: plain numpy, causal (value t reads bars <= t), one value per bar -------------------


def range_in_atr(
    high: npt.ArrayLike, low: npt.ArrayLike, unit: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """(high - low) / unit; NaN where unit is not positive or an input is NaN."""
    h, lo, u = (np.asarray(a, dtype=np.float64) for a in (high, low, unit))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(u > 0, (h - lo) / u, np.nan)


def offset(level: npt.ArrayLike, unit: npt.ArrayLike, multiple: float) -> npt.NDArray[np.float64]:
    """level + multiple x unit (a price some ATRs beyond a level)."""
    return np.asarray(level, dtype=np.float64) + multiple * np.asarray(unit, dtype=np.float64)


def tradable(
    width: npt.ArrayLike, closes_at: npt.ArrayLike, least: float, most: float, until: int
) -> npt.NDArray[np.bool_]:
    """The filter: range width (in ATRs) within [least, most], bar closing by `until`."""
    w = np.asarray(width, dtype=np.float64)
    m = np.asarray(closes_at, dtype=np.float64)
    return np.asarray((w >= least) & (w <= most) & (m <= until))
