"""Pairs trading: trade the spread of two cointegrated instruments back to its mean.

The idea: two stocks driven by the same business (two private banks, two IT services firms)
can each wander like a random walk while a combination of them, y - beta x, keeps coming
back to its average: they are cointegrated. When that spread is stretched far from its
recent mean, sell the dear side and buy the cheap one, in proportion beta; close both when
the spread is back near its mean. The Engle-Granger test says whether the pair has lately
behaved like that; the strategy trades only while it has.

Instruments: a multi-instrument strategy run on exactly two instruments (`artha backtest
--strategy pairs_trading --symbol Y --symbol X`). The first is y, the second x. Both are
seen on one merged timeline (a step for every minute either has a bar; a leg without a bar
at a step carries its last close, `has_bar` False).

Rules, evaluated at the close of each step t (everything from bars <= t):

- Cointegration: p = the p-value of the Engle-Granger test statsmodels computes as
  `coint(y, x, trend="c", maxlag=adf_lags, autolag=None)` (the SDK's
  `engle_granger_pvalues`, equal to it and run on many windows at once) over the
  `coint_window` closes ending at the last re-test bar r <= t, carried unchanged until the
  next re-test (NaN before the first re-test with a full window, or when the window holds a
  NaN). The test costs a window of work, so it is re-run only at re-test bars, never per
  bar: the first bar of each block of `retest_every` x `bar_minutes` minutes of IST clock
  time. Blocks start at 09:15 IST each day when they are shorter than a day (the defaults, 375 x 1
  minute, are one block per regular session: the test is re-run at each session's first
  bar on the 750 bars ending there), else they run on from 09:15 IST on 1970-01-01. Because
  the re-test bars follow the clock, not a count of bars since the data began, a replay or
  a live session started from any history re-tests at the same bars as the backtest. On
  1-minute bars with nothing missing, that is every `retest_every` bars.
- Hedge ratio: beta = `hedge_ratio(y, x, hedge_period)`, the slope of the least-squares
  line y = a + beta x over the last `hedge_period` closes (the SDK's rolling OLS).
- Spread and z-score: s_t = y_t - beta_t x_t; z = `zscore(s, zscore_period)` (the SDK's:
  (s_t - mean) / population std over the last `zscore_period` spreads).
- Entry, when flat with no order working: short the spread (sell y, buy x) when
  `entry_z` < z <= `stop_z`; long the spread (buy y, sell x) when -`stop_z` <= z <
  -`entry_z` (a spread already past the stop is not entered); only if p <
  `max_pvalue`, beta > 0, both legs have a bar of their own at t, the step closes by
  `entry_until` (IST; MIS only), and no stop is pending its reset (below). Both legs are
  MARKET orders placed together at t (filling at each leg's next bar open), product
  `product`. If the broker refuses either leg, the other is cancelled: no single leg is
  ever opened on purpose.
- Exit: close both legs (MARKET) on the first step on which the spread is back: z <
  `exit_z` for a short spread, z > -`exit_z` for a long one (so |z| < exit_z, or beyond
  it on the other side when the spread overshoots in one bar).
- Stop: close both when the spread runs the other way: z > `stop_z` for a short spread,
  z < -`stop_z` for a long one. After a stop there is no new entry until |z| has been below
  `entry_z` on some step after the stop.
- Cut-off (MIS): at the close of the first step that closes at or after `cutoff` (15:15
  IST; the 15:14 bar on 1-minute bars) both legs are closed, so the pair is flat from the
  15:15 fills, before the engine's 15:20 square-off. NRML and CNC hold overnight with no
  cut-off and no entry window. Indian cash equity cannot be held short overnight: with CNC
  the short leg of an equity pair is rejected (and the long leg cancelled with it), so CNC
  suits pairs whose short side is allowed in delivery; futures pairs use NRML.
- Size: gross = `capital_per_trade` rupees, or when that is 0 the account's buying power
  (`account_of`: equity less margin blocked elsewhere, less 1%), at most the buying power.
  With p_y, p_x the closes at t: y quantity = floor(gross / (p_y + beta p_x)) rounded down
  to whole lots of y, x quantity = beta x the y quantity rounded to the nearest whole lot of
  x (`lot_size(self, symbol)`): beta units of x hedge each unit of y, so the legs' rupee
  values stand in the ratio beta p_x / p_y, near 1 for a pair whose line y = a + beta x has
  a small intercept. No trade when either leg would be under one lot.

Every indicator and condition is made in `init()` with `self.I` from the bar Series, so the
same class runs in a backtest and bar by bar (engine/replay, live) with identical orders;
each is causal (the engine checks it) and the p-value depends only on the window ending at
the last re-test bar.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt

from strategies.sdk import (
    MINUTES_PER_DAY,
    BarView,
    OrderHandle,
    OrderStatus,
    OrderUpdate,
    Param,
    Strategy,
    account_of,
    engle_granger_pvalues,
    first_bar_at_or_after,
    hedge_ratio,
    ist_close_minutes,
    ist_days,
    ist_open_minutes,
    ist_time_param,
    lot_size,
    zscore,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_SESSION_OPEN = 9 * 60 + 15  # 09:15 IST: re-test blocks start here
_RESERVE = Decimal("0.01")  # of buying power kept for charges and the move to the fill
_ENDED = (OrderStatus.REJECTED, OrderStatus.CANCELLED)


class PairsTrading(Strategy):
    """Trades the z-score of y - beta x on a cointegrated pair; both legs in whole lots.

    The rules are in the module docstring (and docs/strategy-guide.md)."""

    name = "pairs_trading"
    multi_instrument = True

    coint_window = Param(
        750, min=30, max=50_000, help="closes in the Engle-Granger cointegration test window"
    )
    retest_every = Param(
        375,
        min=1,
        max=100_000,
        help="bars between cointegration re-tests, on the clock: the test is re-run at the "
        "first bar of each block of retest_every x bar_minutes minutes (375 on 1-minute "
        "bars: once a session, at its first bar)",
    )
    max_pvalue = Param(
        0.05, min=0.0001, max=1.0, help="trade only while the test's p-value is below this"
    )
    adf_lags = Param(
        1, min=0, max=20, help="lagged differences in the test's ADF regression (no AIC search)"
    )
    hedge_period = Param(
        375, min=10, max=50_000, help="bars in the rolling least-squares hedge ratio (beta)"
    )
    zscore_period = Param(60, min=5, max=50_000, help="bars in the z-score of the spread")
    entry_z = Param(2.0, min=0.1, max=20.0, help="enter when |z| rises above this")
    exit_z = Param(0.5, min=0.0, max=20.0, help="exit when the spread is back within this z")
    stop_z = Param(4.0, min=0.2, max=50.0, help="stop out when |z| runs beyond this")
    capital_per_trade = Param(
        400_000,
        min=0,
        max=10_000_000_000,
        help="rupees in both legs together; 0: the account's buying power (account_of)",
    )
    product = Param(
        "MIS",
        choices=("MIS", "NRML", "CNC"),
        help="MIS: intraday, flat by the cut-off; NRML (futures) / CNC: held overnight",
    )
    entry_until = Param(
        "15:00", min="09:15", max="15:30", help="last step close (IST, HH:MM) that may enter (MIS)"
    )
    cutoff = Param(
        "15:15",
        min="09:15",
        max="15:30",
        help="MIS: close both legs at the first step closing then (IST, HH:MM)",
    )
    bar_minutes = Param(1, min=1, max=1440, help="minutes in one bar of the data")

    def init(self) -> None:
        if len(self.datas) != 2:
            raise ValueError(
                f"pairs_trading needs exactly two instruments (y, then x), got {len(self.datas)}: "
                f"{', '.join(self.datas)}"
            )
        if not self.exit_z < self.entry_z < self.stop_z:
            raise ValueError(
                f"need exit_z ({self.exit_z}) < entry_z ({self.entry_z}) < stop_z ({self.stop_z})"
            )
        intraday = self.product == "MIS"
        until = ist_time_param(self.entry_until, "entry_until")
        cut = ist_time_param(self.cutoff, "cutoff")
        if intraday and not until < cut:
            raise ValueError(f"need entry_until ({self.entry_until}) < cutoff ({self.cutoff})")
        ydata, xdata = self.datas.values()  # in the order the run was given them
        self.y, self.x = ydata.symbol, xdata.symbol
        y_has, x_has = ydata.has_bar, xdata.has_bar
        if y_has is None or x_has is None:
            raise ValueError("pairs_trading runs on the merged timeline of a multi-instrument run")

        self.pvalue = self.I(
            coint_pvalue,
            ydata.close,
            xdata.close,
            ydata.ts,
            self.coint_window,
            self.retest_every,
            self.bar_minutes,
            self.adf_lags,
            name="coint p-value",
            lookback=self.coint_window + self.retest_every + 1,
        )
        self.beta = self.I(hedge_ratio, ydata.close, xdata.close, self.hedge_period, name="beta")
        self.spread = self.I(spread, ydata.close, xdata.close, self.beta, name="spread", lookback=1)
        self.z = self.I(zscore, self.spread, self.zscore_period, name="z")
        closes_at = self.I(
            ist_close_minutes, ydata.ts, self.bar_minutes, name="step close (IST)", lookback=1
        )
        last_entry = until if intraday else MINUTES_PER_DAY * 2  # no window overnight
        gate = self.I(
            tradable,
            self.pvalue,
            self.beta,
            y_has,
            x_has,
            closes_at,
            self.max_pvalue,
            last_entry,
            name="pair tradable",
            lookback=1,
        )
        self.on(
            self.I(
                band, self.z, 1, self.entry_z, self.stop_z, gate, name="short entry", lookback=1
            ),
            self.enter_short_spread,
        )
        self.on(
            self.I(
                band, self.z, -1, self.entry_z, self.stop_z, gate, name="long entry", lookback=1
            ),
            self.enter_long_spread,
        )
        self.on(
            self.I(came_below, self.z, self.exit_z, name="z back below exit", lookback=2),
            self.exit_short_spread,
        )
        self.on(
            self.I(came_above, self.z, -self.exit_z, name="z back above -exit", lookback=2),
            self.exit_long_spread,
        )
        self.on(
            self.I(beyond, self.z, 1, self.stop_z, name="short stop", lookback=1),
            self.stop_short_spread,
        )
        self.on(
            self.I(beyond, self.z, -1, self.stop_z, name="long stop", lookback=1),
            self.stop_long_spread,
        )
        if intraday:
            self.on(
                self.I(first_bar_at_or_after, closes_at, cut, name="cut-off", lookback=2),
                self.flatten,
            )
        self._side = 0  # +1 long spread (long y, short x), -1 short spread, 0 flat
        self._entry_ids: set[str] = set()  # the working pair's entry orders
        self._exit_ids: set[str] = set()  # closing orders placed and maybe still working
        self._stopped_at: int | None = None  # step of the last stop, until |z| < entry_z

    # -- handlers -------------------------------------------------------------------------------
    def enter_short_spread(self, bar: BarView) -> None:
        self._enter(bar, -1)

    def enter_long_spread(self, bar: BarView) -> None:
        self._enter(bar, 1)

    def exit_short_spread(self, bar: BarView) -> None:
        if self._side == -1:
            self._close("pair exit")

    def exit_long_spread(self, bar: BarView) -> None:
        if self._side == 1:
            self._close("pair exit")

    def stop_short_spread(self, bar: BarView) -> None:
        if self._side == -1:
            self._close("pair stop")
            self._stopped_at = bar.index

    def stop_long_spread(self, bar: BarView) -> None:
        if self._side == 1:
            self._close("pair stop")
            self._stopped_at = bar.index

    def flatten(self, bar: BarView) -> None:
        if self._side or self._holding():
            self._close("pair cut-off")

    def on_order(self, update: OrderUpdate) -> None:
        """A leg the broker refused or cancelled after it was placed: undo the other one."""
        if update.order_id in self._entry_ids and update.status in _ENDED:
            self._close("pair leg lost")

    # -- the pair -------------------------------------------------------------------------------
    def _enter(self, bar: BarView, side: int) -> None:
        if self._side or self._holding():
            return
        if self._stopped_at is not None:
            since = np.asarray(self.z.values[self._stopped_at + 1 :], dtype=np.float64)
            if not bool((np.abs(since) < self.entry_z).any()):
                return  # the spread has not come back inside entry_z since the stop
            self._stopped_at = None
        beta = float(self.beta[-1])
        y_price = float(self.datas[self.y].close[-1])
        x_price = float(self.datas[self.x].close[-1])
        quantities = self._quantities(beta, y_price, x_price)
        if quantities is None:
            return
        y_qty, x_qty = quantities
        tag = "pair long" if side > 0 else "pair short"
        y_order = self._leg(self.y, side, y_qty, tag)
        if y_order.status is OrderStatus.REJECTED:
            return
        x_order = self._leg(self.x, -side, x_qty, tag)
        if x_order.status is OrderStatus.REJECTED:
            y_order.cancel()
            return
        self._side = side
        self._entry_ids = {y_order.order_id, x_order.order_id}

    def _quantities(self, beta: float, y_price: float, x_price: float) -> tuple[int, int] | None:
        """(y units, x units): whole lots, x = beta y, both legs worth the gross at most."""
        if not (beta > 0 and y_price > 0 and x_price > 0):
            return None
        power = float(account_of(self, self.y, reserve=_RESERVE).buying_power)
        gross = min(float(self.capital_per_trade), power) if self.capital_per_trade else power
        y_lot, x_lot = lot_size(self, self.y), lot_size(self, self.x)
        y_qty = int(gross / (y_price + beta * x_price) // y_lot) * y_lot
        x_qty = round(beta * y_qty / x_lot) * x_lot
        if y_qty < y_lot or x_qty < x_lot:
            return None
        return y_qty, x_qty

    def _leg(self, symbol: str, side: int, quantity: int, tag: str) -> OrderHandle:
        place = self.buy if side > 0 else self.sell
        return place(quantity, symbol=symbol, product=self.product, tag=tag)

    def _holding(self) -> bool:
        return any(not self.position_of(s).is_flat or self.open_orders(s) for s in (self.y, self.x))

    def _close(self, tag: str) -> None:
        """Cancel what is still working and close both legs at market (a leg whose closing
        order is already working is left to it)."""
        self._entry_ids = set()  # our own cancellations below are not lost legs
        self._side = 0
        for symbol in (self.y, self.x):
            working = self.open_orders(symbol)
            if self._exit_ids.intersection(working):
                continue
            for order_id in working:
                self.cancel(order_id)
            handle = self.close_position(symbol=symbol, product=self.product, tag=tag)
            if handle is not None:
                self._exit_ids = {
                    handle.order_id,
                    *self._exit_ids.intersection(
                        self.open_orders(self.y) + self.open_orders(self.x)
                    ),
                }


# -- indicators: plain numpy (and statsmodels), causal: value t reads bars <= t ------------------


def coint_pvalue(
    y: npt.ArrayLike,
    x: npt.ArrayLike,
    ts: npt.ArrayLike,
    window: int,
    every: int,
    bar_minutes: int,
    lags: int,
) -> FloatArray:
    """At each bar, the Engle-Granger p-value of the `window` values of y and x ending at the
    last re-test bar at or before it (`retest_bars`); NaN before the first re-test with a
    full window. Only re-test bars run the test, so a million bars cost ~n / every tests."""
    ys, xs = np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
    n = ys.shape[0]
    out = np.full(n, np.nan)
    starts = np.flatnonzero(retest_bars(ts, every * bar_minutes))
    starts = starts[starts >= window - 1]
    if starts.size == 0:
        return out
    values = np.empty(starts.shape[0])
    if starts.shape[0] <= 2:  # bar by bar (replay, live): one or two windows, remembered
        for i, r in enumerate(starts.tolist()):
            values[i] = engle_granger_pvalue(
                ys[r - window + 1 : r + 1], xs[r - window + 1 : r + 1], lags
            )
    else:  # the whole history: the windows tested in blocks
        for first in range(0, starts.shape[0], _WINDOWS_AT_ONCE):
            ends = starts[first : first + _WINDOWS_AT_ONCE]
            rows = ends[:, None] + np.arange(1 - window, 1)  # each re-test's window of bars
            values[first : first + ends.shape[0]] = engle_granger_pvalues(ys[rows], xs[rows], lags)
    last = np.searchsorted(starts, np.arange(n), side="right") - 1
    known = last >= 0
    out[known] = values[last[known]]
    return out


def retest_bars(ts: npt.ArrayLike, block_minutes: int) -> BoolArray:
    """True on the first bar of each block of `block_minutes` minutes of IST clock time
    (never on bar 0, which has no bar before it to tell). Blocks shorter than a day start at
    09:15 IST each day; longer ones run on from 09:15 IST on 1970-01-01."""
    day, minute = ist_days(ts), ist_open_minutes(ts)
    if block_minutes < MINUTES_PER_DAY:
        block = day * 4096 + (minute - _SESSION_OPEN) // block_minutes
    else:
        block = (day * MINUTES_PER_DAY + minute - _SESSION_OPEN) // block_minutes
    out = np.zeros(block.shape[0], dtype=bool)
    out[1:] = block[1:] != block[:-1]
    return out


_WINDOWS_AT_ONCE = 512  # re-test windows copied and tested together: bounds their memory
_CACHE: dict[tuple[bytes, bytes, int], float] = {}
_CACHE_SIZE = 32


def engle_granger_pvalue(y: FloatArray, x: FloatArray, lags: int) -> float:
    """The Engle-Granger p-value of one window (the SDK's, equal to statsmodels'
    `coint(y, x, trend="c", maxlag=lags, autolag=None)`; NaN for a window with a NaN or one
    the test cannot fit). The last few results are remembered, so a bar-by-bar replay asking
    again for the same window does not re-run the test."""
    key = (y.tobytes(), x.tobytes(), lags)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    value = float(engle_granger_pvalues(y.reshape(1, -1), x.reshape(1, -1), lags)[0])
    if len(_CACHE) >= _CACHE_SIZE:
        del _CACHE[next(iter(_CACHE))]
    _CACHE[key] = value
    return value


def spread(y: npt.ArrayLike, x: npt.ArrayLike, beta: npt.ArrayLike) -> FloatArray:
    """y - beta x, bar by bar (each bar with its own beta)."""
    return np.asarray(
        np.asarray(y, dtype=np.float64) - np.asarray(beta, dtype=np.float64) * np.asarray(x),
        dtype=np.float64,
    )


def tradable(
    pvalue: npt.ArrayLike,
    beta: npt.ArrayLike,
    y_has: npt.ArrayLike,
    x_has: npt.ArrayLike,
    closes_at: npt.ArrayLike,
    max_pvalue: float,
    last_entry: int,
) -> BoolArray:
    """The entry gate: cointegrated (p < max_pvalue), beta > 0, both legs with a bar of
    their own, the step closing by `last_entry` (IST minute of the day)."""
    p = np.asarray(pvalue, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    both = np.asarray(y_has, dtype=bool) & np.asarray(x_has, dtype=bool)
    early = np.asarray(closes_at, dtype=np.float64) <= last_entry
    return np.asarray((p < max_pvalue) & (b > 0) & both & early)


def beyond(z: npt.ArrayLike, side: int, level: float) -> BoolArray:
    """side 1: z > level; side -1: z < -level (NaN: False)."""
    return np.asarray(side * np.asarray(z, dtype=np.float64) > level)


def band(z: npt.ArrayLike, side: int, low: float, high: float, gate: npt.ArrayLike) -> BoolArray:
    """The entry rule: side * z in (low, high] (past entry_z, not past stop_z) where the
    gate is open (NaN: False)."""
    x = side * np.asarray(z, dtype=np.float64)
    return np.asarray((x > low) & (x <= high) & np.asarray(gate, dtype=bool))


def _previous(values: FloatArray, fill: float) -> FloatArray:
    return np.concatenate(([fill], values[:-1])) if values.shape[0] else values


def came_below(values: npt.ArrayLike, level: float) -> BoolArray:
    """True where values < level and the bar before was not (at or above it, or NaN)."""
    v = np.asarray(values, dtype=np.float64)
    return np.asarray((v < level) & ~(_previous(v, np.nan) < level))


def came_above(values: npt.ArrayLike, level: float) -> BoolArray:
    """True where values > level and the bar before was not (at or below it, or NaN)."""
    v = np.asarray(values, dtype=np.float64)
    return np.asarray((v > level) & ~(_previous(v, np.nan) > level))
