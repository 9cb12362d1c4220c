"""EMA/RSI breakout: trade a break of the recent range in the direction the EMAs point, on volume,
with a stop-loss and a take-profit placed as real exchange orders (intraday, MIS).

The idea: a close beyond the range of the last `breakout_period` bars starts a move more often
when the short-term trend already points that way (fast EMA beyond the slow one), the move is
not yet exhausted (RSI not at an extreme) and the market takes part (volume well above its
average). A fixed-percent stop and a target twice as far bound every trade.

Rules, checked at the close of every bar t (1-minute NSE bars in mind; IST times are bar OPEN
times, as the data stamps them):

- Long signal: close[t] > max(high[t-breakout_period .. t-1]) (a breakout above the highest
  high of the previous `breakout_period` bars, bar t excluded), ema(close, ema_fast_period)[t]
  > ema(close, ema_slow_period)[t], rsi(close, rsi_period)[t] < rsi_overbought,
  volume_ratio(volume, volume_period)[t] > volume_threshold (bar t's volume over the average
  of the `volume_period` bars before it), and bar t opens before `last_entry` (15:00).
- Short signal: the mirror: close[t] < min(low[t-breakout_period .. t-1]), fast EMA < slow
  EMA, RSI > rsi_oversold, the same volume and time conditions.
- An entry is placed on a signal only when the strategy is flat with no order working, at
  least `trade_cooldown_minutes` have passed since the bar of the last entry, and fewer than
  `max_daily_trades` entries were placed in this session (the count restarts at each
  session's first bar). An entry is a MARKET order, product MIS, filled at the next bar's
  open (the backtest's fill model). Entries count when placed, whatever becomes of them.
- Size: quantity = floor(balance x max_position_size_percent / 100 x confidence / close[t]),
  rounded down to whole lots of the instrument's lot size (`lot_size(self)`: 1 for NSE cash
  equity, the contract's lot for F&O); no entry when that is less than one lot.
  balance = the account's free funds at the signal, `self.funds().free`: equity (cash plus
  every open position at its last price) less the margin open positions already block, in
  rupees, the host's own figure (the same arithmetic as its margin check). The strategy is
  flat when it enters, so in a run of its own this is the run's capital plus the net P&L of
  its closed trades; the account is the run's (live: the broker account's), shared with
  whatever else trades in it.
  confidence = (volume_score + breakout_score) / 2, in (0.25, 1] on a signal, where
  volume_score = min(volume_ratio / (2 x volume_threshold), 1) (0.5 at the threshold, 1 at
  twice it) and breakout_score = min(excess / (0.25 x width), 1), clipped to [0, 1]: excess
  is how far the close is beyond the broken level (close - highest high for a long, lowest
  low - close for a short) and width the range of the previous bars (highest high - lowest
  low); a close a quarter of the range beyond it scores 1 (a flat range scores 1).
- Exits, as the exchange would hold them: in `on_fill` of the entry, right after it fills,
  two orders for the filled quantity, product MIS, DAY: a stop-loss SL-M with trigger
  entry x (1 - stop_loss_percent / 100) and a take-profit LIMIT at entry x (1 +
  take_profit_percent / 100) for a long (mirrored for a short: trigger above, limit below),
  where entry is the fill price; each price rounded to the nearest tick of the instrument
  (`tick_size(self)`, half up) and at least one tick from the entry. They are ordinary
  orders, not the engine's emulated bracket: they start working on the bar after the fill,
  and one cancels the other by its handle (when one fills, `on_fill` cancels the other; a
  partial fill shrinks the other to what is left). When the position is closed any other
  way, both are cancelled.
- Trailing stop (off unless trail_percent > 0): at the close of every bar while in a trade,
  the stop's trigger is moved to (best price since the entry's fill - trail distance) when
  that is tighter than the current trigger and still on the right side of the close; best
  price is the highest high for a long (lowest low for a short), the distance is
  trail_percent of the entry price (at least one tick), the new trigger rounded to the tick
  away from the market. The stop order is modified (`OrderHandle.modify`), never re-placed.
- Flat by the cut-off: at the close of the first bar that opens at or after `flat_by` (15:15
  IST), both exits are cancelled and the position is closed at market (filled at the next
  open, 15:16 on 1-minute bars), ahead of the broker's MIS square-off at 15:20. Entries stop
  at `last_entry` (15:00), so no trade is opened just to be closed.

Everything is built from `strategies.sdk` indicators through `self.I` and conditions given to
`self.on(...)`, so the class runs the same in a backtest and bar by bar in replay/live. The
account and the contract (lot, tick) are read from the run (`self.funds()`, `lot_size(self)`,
`tick_size(self)`), never given as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from strategies.sdk import (
    NS_PER_MINUTE,
    BarView,
    FillReport,
    OrderHandle,
    OrderStatus,
    OrderUpdate,
    Param,
    Strategy,
    ema,
    ist_day,
    ist_days,
    ist_open_minutes,
    ist_time_param,
    lot_size,
    rsi,
    tick_size,
    volume_ratio,
    whole_lots,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PRODUCT = "MIS"
# read on every order update: module names (an Enum member read costs ~120 ns on Python 3.11)
_REJECTED, _CANCELLED = OrderStatus.REJECTED, OrderStatus.CANCELLED
_ONE = Decimal(1)


# -- indicators (causal: the value at bar t uses bars up to t) -------------------------------


def previous_highest(values: npt.ArrayLike, length: int) -> FloatArray:
    """The highest value of the `length` bars BEFORE each bar (the bar itself excluded); NaN
    for the first `length` bars. A close above it is a breakout of the previous range."""
    array = np.asarray(values, dtype=np.float64)
    out = np.full(array.shape[0], np.nan)
    if array.shape[0] > length:
        out[length:] = _window_extreme(array[:-1], length, np.maximum)
    return out


def previous_lowest(values: npt.ArrayLike, length: int) -> FloatArray:
    """The lowest value of the `length` bars before each bar; NaN for the first `length`."""
    array = np.asarray(values, dtype=np.float64)
    out = np.full(array.shape[0], np.nan)
    if array.shape[0] > length:
        out[length:] = _window_extreme(array[:-1], length, np.minimum)
    return out


def _window_extreme(array: FloatArray, length: int, pick: np.ufunc) -> FloatArray:
    """pick (np.maximum / np.minimum) over every window array[i : i + length], exactly as a
    max/min over each window: doubled spans (1, 2, 4.. bars) then two overlapping spans per
    window, a few passes over the array instead of `length` (a NaN spreads as in max/min)."""
    span, acc = 1, array
    while span * 2 <= length:
        acc = pick(acc[:-span], acc[span:])  # acc[i] = pick over array[i : i + 2 * span]
        span *= 2
    count = array.shape[0] - length + 1
    return np.asarray(pick(acc[:count], acc[length - span : length - span + count]))


def first_at_or_after_each_day(ts: npt.ArrayLike, cut: int) -> BoolArray:
    """True on each IST day's first bar opening at or after IST minute `cut` (the bar before
    it opened earlier that day, or on an earlier day)."""
    minute = ist_open_minutes(ts)
    day = ist_days(ts)
    fired = minute >= cut
    fired[1:] &= (minute[:-1] < cut) | (day[:-1] != day[1:])
    return np.asarray(fired, dtype=np.bool_)


def long_entry(
    close: npt.ArrayLike,
    range_high: npt.ArrayLike,
    fast: npt.ArrayLike,
    slow: npt.ArrayLike,
    strength: npt.ArrayLike,
    ratio: npt.ArrayLike,
    minute: npt.ArrayLike,
    overbought: float,
    threshold: float,
    last_entry: int,
) -> BoolArray:
    """The long rule at each bar: close above the previous range's high, fast EMA above
    the slow one, RSI below `overbought`, volume ratio above `threshold`, bar opening before
    `last_entry` (IST minute). NaN (warm-up) compares false."""
    c, level, f, s, r, v = (
        np.asarray(a, dtype=np.float64) for a in (close, range_high, fast, slow, strength, ratio)
    )
    with np.errstate(invalid="ignore"):
        fired = (c > level) & (f > s) & (r < overbought) & (v > threshold)
    return np.asarray(fired & (np.asarray(minute) < last_entry), dtype=np.bool_)


def short_entry(
    close: npt.ArrayLike,
    range_low: npt.ArrayLike,
    fast: npt.ArrayLike,
    slow: npt.ArrayLike,
    strength: npt.ArrayLike,
    ratio: npt.ArrayLike,
    minute: npt.ArrayLike,
    oversold: float,
    threshold: float,
    last_entry: int,
) -> BoolArray:
    """The short rule, mirrored: close below the previous range's low, fast EMA below the
    slow one, RSI above `oversold`, and the same volume and time conditions."""
    c, level, f, s, r, v = (
        np.asarray(a, dtype=np.float64) for a in (close, range_low, fast, slow, strength, ratio)
    )
    with np.errstate(invalid="ignore"):
        fired = (c < level) & (f < s) & (r > oversold) & (v > threshold)
    return np.asarray(fired & (np.asarray(minute) < last_entry), dtype=np.bool_)


def at_or_after(minute: npt.ArrayLike, cut: int) -> BoolArray:
    """True on bars opening at or after IST minute `cut`."""
    return np.asarray(np.asarray(minute) >= cut, dtype=np.bool_)


def confidence(
    close: float, level: float, opposite: float, ratio: float, threshold: float, long: bool
) -> float:
    """How strong a signal is, in [0, 1]: the mean of a volume score and a breakout score.

    volume_score = min(ratio / (2 x threshold), 1): 0.5 at the volume threshold, 1 at twice it.
    breakout_score = min(excess / (0.25 x width), 1): excess is how far the close is beyond
    the broken level (`level`: the previous highest high for a long, lowest low for a short),
    width the previous range (|level - opposite|); a flat range scores 1."""
    excess = close - level if long else level - close
    width = abs(level - opposite)
    breakout = 1.0 if width <= 0 else excess / (0.25 * width)
    volume = ratio / (2.0 * threshold)
    score = (min(max(volume, 0.0), 1.0) + min(max(breakout, 0.0), 1.0)) / 2.0
    return min(max(score, 0.0), 1.0)


def exit_levels(
    entry: Decimal, long: bool, stop_percent: float, target_percent: float, tick: Decimal
) -> tuple[Decimal, Decimal]:
    """(stop trigger, target limit) in rupees for an entry filled at `entry`: entry -/+ the
    percents (mirrored for a short), each on the nearest tick (half up) and at least one
    tick from the entry."""
    stop_move = entry * _decimal(stop_percent) / 100
    target_move = entry * _decimal(target_percent) / 100
    if long:
        stop = min(on_tick(entry - stop_move, tick), entry - tick)
        target = max(on_tick(entry + target_move, tick), entry + tick)
    else:
        stop = max(on_tick(entry + stop_move, tick), entry + tick)
        target = min(on_tick(entry - target_move, tick), entry - tick)
    return stop, target


@lru_cache(maxsize=None, typed=True)  # typed: 1 and 1.0 print differently
def _decimal(percent: float) -> Decimal:
    """A float parameter as the decimal it prints as (0.3 is 0.3): asked once per value."""
    return Decimal(str(percent))


def on_tick(price: Decimal, tick: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    """`price` on the tick grid (nearest, half up, unless `rounding` says otherwise)."""
    return (price / tick).quantize(_ONE, rounding) * tick


@dataclass(slots=True)
class Trade:
    """The trade in progress: its entry and exit orders by handle."""

    side: int  # +1 long, -1 short
    entry: OrderHandle
    filled: int = 0
    price: Decimal = Decimal(0)  # average entry fill price
    stop: OrderHandle | None = None
    target: OrderHandle | None = None
    stop_level: Decimal = Decimal(0)
    trail_distance: Decimal = Decimal(0)
    best: float = float("nan")  # best price since the fill (trailing stop)
    closing: OrderHandle | None = None  # the market order of the cut-off or a rejected exit
    exits: set[str] = field(default_factory=set)


class EmaRsiBreakout(Strategy):
    """Range breakout confirmed by EMAs, RSI and volume; SL-M + LIMIT exits (OCO); MIS, 15:15."""

    name = "ema_rsi_breakout"

    ema_fast_period = Param(5, min=1, max=200, help="bars in the fast EMA of close")
    ema_slow_period = Param(13, min=2, max=500, help="bars in the slow EMA of close")
    rsi_period = Param(14, min=2, max=200, help="bars in Wilder's RSI of close")
    rsi_overbought = Param(
        75.0, min=50.0, max=100.0, help="no long entry when RSI is at or above this"
    )
    rsi_oversold = Param(
        25.0, min=0.0, max=50.0, help="no short entry when RSI is at or below this"
    )
    volume_threshold = Param(
        1.2,
        min=0.0,
        max=20.0,
        help="enter only when the bar's volume exceeds this multiple of its average",
    )
    volume_period = Param(
        20, min=1, max=500, help="bars before the signal bar in the average volume"
    )
    breakout_period = Param(
        20,
        min=1,
        max=500,
        help="bars whose highest high / lowest low the close must break (signal bar excluded)",
    )
    stop_loss_percent = Param(
        0.3, min=0.01, max=20.0, help="stop-loss (SL-M) distance from the entry fill, in %"
    )
    take_profit_percent = Param(
        0.6, min=0.01, max=50.0, help="take-profit (LIMIT) distance from the entry fill, in %"
    )
    max_position_size_percent = Param(
        50.0,
        min=0.1,
        max=100.0,
        help="% of the balance (the account's free funds at the signal) one trade may take "
        "at full confidence (scaled by confidence)",
    )
    trade_cooldown_minutes = Param(
        30, min=0, max=1440, help="no new entry within this many minutes of the last entry"
    )
    max_daily_trades = Param(10, min=1, max=500, help="entries at most per session")
    trail_percent = Param(
        0.0,
        min=0.0,
        max=20.0,
        help="trailing stop: % of the entry price the stop follows the best price by (0 = off)",
    )
    last_entry = Param(
        "15:00",
        min="09:15",
        max="15:30",
        help="IST HH:MM: no new entry on a bar opening at or after it",
    )
    flat_by = Param(
        "15:15",
        min="09:15",
        max="15:30",
        help="IST HH:MM: exits cancelled and position closed on the first bar from it",
    )

    def init(self) -> None:
        if self.ema_fast_period >= self.ema_slow_period:
            raise ValueError(
                f"ema_fast_period ({self.ema_fast_period}) must be shorter than "
                f"ema_slow_period ({self.ema_slow_period})"
            )
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError(
                f"rsi_oversold ({self.rsi_oversold}) must be below rsi_overbought "
                f"({self.rsi_overbought})"
            )
        self.last_entry_minute = ist_time_param(self.last_entry, "last_entry")
        self.flat_by_minute = ist_time_param(self.flat_by, "flat_by")
        if self.last_entry_minute > self.flat_by_minute:
            raise ValueError(f"last_entry ({self.last_entry}) is after flat_by ({self.flat_by})")
        self.tick = tick_size(self)  # the contract's, rupees
        self.lot = lot_size(self)

        d = self.data
        n = self.breakout_period
        fast = self.I(ema, d.close, self.ema_fast_period, name=f"ema{self.ema_fast_period}")
        slow = self.I(ema, d.close, self.ema_slow_period, name=f"ema{self.ema_slow_period}")
        strength = self.I(rsi, d.close, self.rsi_period, name=f"rsi{self.rsi_period}")
        self.volume_ratio = self.I(volume_ratio, d.volume, self.volume_period, name="volume_ratio")
        self.range_high = self.I(previous_highest, d.high, n, name="range_high", lookback=n + 1)
        self.range_low = self.I(previous_lowest, d.low, n, name="range_low", lookback=n + 1)
        minute = self.I(ist_open_minutes, d.ts, name="ist_minute", lookback=1)

        common = (strength, self.volume_ratio, minute)
        limits = (self.volume_threshold, self.last_entry_minute)
        long_rule = (d.close, self.range_high, fast, slow, *common, self.rsi_overbought, *limits)
        short_rule = (d.close, self.range_low, fast, slow, *common, self.rsi_oversold, *limits)
        self.on(self.I(long_entry, *long_rule, name="long entry", lookback=1), self.enter_long)
        self.on(self.I(short_entry, *short_rule, name="short entry", lookback=1), self.enter_short)
        cut = self.I(
            first_at_or_after_each_day, d.ts, self.flat_by_minute, name="cut-off", lookback=2
        )
        self.on(cut, self.cut_off)
        if self.trail_percent > 0:  # every bar: the stop follows the price
            self.on(self.I(at_or_after, minute, 0, name="every bar", lookback=1), self.trail)

        self.trade: Trade | None = None
        self.cooldown_ns = self.trade_cooldown_minutes * NS_PER_MINUTE  # read at each signal
        self.last_entry_ns: int | None = None
        self.session_day = -1
        self.session_entries = 0

    # -- entries ---------------------------------------------------------------------------
    def enter_long(self, bar: BarView) -> None:
        self.enter(bar, long=True)

    def enter_short(self, bar: BarView) -> None:
        self.enter(bar, long=False)

    def enter(self, bar: BarView, long: bool) -> None:
        if self.trade is not None:  # most signals come during a trade: the cheapest test first
            return
        now = bar.ts_ns
        day = ist_day(now)
        if day != self.session_day:  # (a new session is noticed at its first signal tested)
            self.session_day, self.session_entries = day, 0
        if self.session_entries >= self.max_daily_trades:
            return
        if self.last_entry_ns is not None and now - self.last_entry_ns < self.cooldown_ns:
            return
        if not self.position.is_flat:  # (the costlier test last: every test only returns)
            return
        close = bar.close
        level = self.range_high[-1] if long else self.range_low[-1]
        opposite = self.range_low[-1] if long else self.range_high[-1]
        score = confidence(
            close, level, opposite, self.volume_ratio[-1], self.volume_threshold, long
        )
        quantity = self.size(close, score)
        if quantity <= 0:
            return
        order = self.buy if long else self.sell
        entry = order(quantity, product=PRODUCT, tag="entry")
        self.last_entry_ns = now
        self.session_entries += 1
        # a rejection at placement (margin, say) is heard before the handle exists
        self.trade = None if entry.status is _REJECTED else Trade(1 if long else -1, entry)

    def size(self, price: float, score: float) -> int:
        """Whole lots worth max_position_size_percent x confidence of the balance: the
        account's free funds now (equity not pledged as margin)."""
        balance = float(self.funds().free)
        budget = balance * self.max_position_size_percent / 100.0 * score
        return whole_lots(budget, price, self.lot, at_least_one=False)

    # -- exits -----------------------------------------------------------------------------
    def on_fill(self, fill: FillReport) -> None:
        trade = self.trade
        if trade is None:
            return
        if fill.order_id == trade.entry.order_id:
            self.entry_filled(trade, fill)
            return
        # an exit, the cut-off's close, or the engine's square-off
        left = abs(self.position.quantity)
        if left == 0:
            self.finish(trade)
            return
        for other in (trade.stop, trade.target):  # one cancels the other: shrink it to fit
            if other is not None and other.order_id != fill.order_id and other.is_open:
                other.modify(quantity=other.filled_quantity + left)

    def entry_filled(self, trade: Trade, fill: FillReport) -> None:
        """Place the stop-loss (SL-M) and take-profit (LIMIT) for what the entry bought, or
        grow them when a later part of the entry fills."""
        total = trade.filled + fill.quantity
        trade.price = (trade.price * trade.filled + fill.price * fill.quantity) / total
        trade.filled = total
        if trade.stop is not None and trade.target is not None:
            held = abs(self.position.quantity)
            for exit_order in (trade.stop, trade.target):
                if exit_order.is_open:
                    exit_order.modify(quantity=exit_order.filled_quantity + held)
            return
        long = trade.side > 0
        stop, target = exit_levels(
            trade.price, long, self.stop_loss_percent, self.take_profit_percent, self.tick
        )
        close = self.sell if long else self.buy
        trade.stop_level = stop
        trade.stop = close(total, trigger=stop, product=PRODUCT, tag="stop-loss")
        trade.target = close(total, price=target, product=PRODUCT, tag="take-profit")
        trade.exits = {trade.stop.order_id, trade.target.order_id}
        if _REJECTED in (trade.stop.status, trade.target.status):
            self.close_out(trade)  # rejected as placed: an unprotected position is not kept
            return
        if self.trail_percent > 0:
            distance = on_tick(trade.price * _decimal(self.trail_percent) / 100, self.tick)
            trade.trail_distance = max(distance, self.tick)

    def on_order(self, update: OrderUpdate) -> None:
        trade = self.trade
        status = update.status
        if trade is None or (status is not _REJECTED and status is not _CANCELLED):
            return  # heard on every change: only a rejection or a cancellation matters here
        if update.order_id == trade.entry.order_id and update.filled_quantity == 0:
            self.trade = None  # the entry never traded (rejected, e.g. margin)
        elif update.order_id in trade.exits and status is _REJECTED:
            self.close_out(trade)  # an unprotected position is not kept

    def cut_off(self, bar: BarView) -> None:
        """The intraday cut-off: cancel the exits and close at market."""
        trade = self.trade
        if trade is not None and trade.entry.is_open:
            trade.entry.cancel()
        if trade is not None and not self.position.is_flat:
            self.close_out(trade)

    def close_out(self, trade: Trade) -> None:
        if trade.closing is not None and trade.closing.is_open:
            return
        for exit_order in (trade.stop, trade.target):
            if exit_order is not None:
                exit_order.cancel()  # nothing happens to one that has ended
        trade.closing = self.close_position(product=PRODUCT, tag="flat")

    def finish(self, trade: Trade) -> None:
        """Flat: cancel whatever exit is still working; the next signal may trade."""
        for exit_order in (trade.stop, trade.target):
            if exit_order is not None:
                exit_order.cancel()
        self.trade = None

    def trail(self, bar: BarView) -> None:
        """Move the stop after the best price since the fill (see the module docstring)."""
        trade = self.trade
        if trade is None or trade.stop is None or not trade.stop.is_open:
            return
        long = trade.side > 0
        best = bar.high if long else bar.low
        if trade.best == trade.best:  # not NaN: keep the better one
            best = max(best, trade.best) if long else min(best, trade.best)
        trade.best = best
        if long:
            level = on_tick(Decimal(str(best)) - trade.trail_distance, self.tick, ROUND_FLOOR)
            better = level > trade.stop_level and level < Decimal(str(bar.close))
        else:
            level = on_tick(Decimal(str(best)) + trade.trail_distance, self.tick, ROUND_CEILING)
            better = level < trade.stop_level and level > Decimal(str(bar.close))
        if better:
            trade.stop.modify(trigger=level)
            trade.stop_level = level
