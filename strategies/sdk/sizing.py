"""Risk sizers: a signal's strength, the account and the price in, a quantity out.

Every sizer works out a number of shares (contracts) for the strength's size (`shares`),
then the same rounding applies to all of them (`round_to_lots`), documented here once:

1. strength is clipped to [-1, 1]; NaN is 0; its sign is the side, its size scales the
   position (1 = the sizer's full size);
2. the shares are rounded DOWN to whole lots of the instrument (`Account.lot_size`): a
   position is never bigger than the rule asked for, and a rule that asks for less than
   one lot gives 0;
3. the lots are capped, again rounding down, at what the account can pay for in full at
   this price: |quantity| x price <= `Account.buying_power` (no leverage, whatever margin
   the product would allow).

The result is a signed whole number of lots: the position wanted, not the order to send
(`ComposedStrategy` and the execution models trade the difference). All arithmetic is
Decimal rupees; float parameters are read as the decimals they print as.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np

from engine.strategy.base import Strategy
from engine.strategy.params import Param
from engine.strategy.series import Series
from strategies.sdk.components import Account, Component
from strategies.sdk.indicators import atr

Number = float | Decimal | np.floating[Any] | np.integer[Any]  # `self.data.close[-1]` too


def as_decimal(value: Number) -> Decimal:
    """Decimal of a price or parameter: floats as the decimal they print as (0.1 is 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    number = float(value)
    if not math.isfinite(number):
        return Decimal("NaN")
    return Decimal(repr(number))


def clip_strength(strength: Number) -> Decimal:
    """The strength as a Decimal in [-1, 1]; NaN (or anything not a number) is 0."""
    try:
        number = as_decimal(strength)
    except (TypeError, ValueError):
        return Decimal(0)
    if number.is_nan():
        return Decimal(0)
    return max(Decimal(-1), min(Decimal(1), number))


def round_to_lots(shares: Decimal, short: bool, price: Decimal, account: Account) -> int:
    """`shares` (>= 0) rounded down to whole lots and capped, rounding down, at what
    `account.buying_power` pays for at `price`; negative for a short."""
    lot = account.lot_size
    if not shares.is_finite() or shares <= 0 or price <= 0:
        return 0
    lots = int(shares // lot)
    affordable = int(max(account.buying_power, Decimal(0)) // (price * lot))
    quantity = min(lots, affordable) * lot
    return -quantity if short else quantity


class RiskSizer(Component):
    """Strength + account + price -> the position wanted, in whole lots (see the module)."""

    role = "sizer"

    def quantity(self, strength: Number, price: Number, account: Account) -> int:
        """The signed position for `strength` at `price`: whole lots, rounded down, never
        more than `account.buying_power` pays for."""
        s, p = clip_strength(strength), as_decimal(price)
        if s == 0 or not p.is_finite() or p <= 0:
            return 0
        return round_to_lots(self.shares(abs(s), p, account), s < 0, p, account)

    def shares(self, strength: Decimal, price: Decimal, account: Account) -> Decimal:
        """Shares (unrounded, >= 0) for a strength in (0, 1] at `price`."""
        raise NotImplementedError(f"{type(self).__name__} must define shares()")


class FixedQuantity(RiskSizer):
    """`size` shares at full strength (half at 0.5), rounded down to whole lots."""

    size = Param(1, min=1, max=100_000_000, help="shares (contracts) at strength 1")

    def shares(self, strength: Decimal, price: Decimal, account: Account) -> Decimal:
        return Decimal(self.size) * strength


class FixedValue(RiskSizer):
    """`value` rupees of the instrument at full strength: value x strength / price."""

    value = Param(100_000.0, min=1.0, max=1e12, help="rupees of position at strength 1")

    def shares(self, strength: Decimal, price: Decimal, account: Account) -> Decimal:
        return as_decimal(self.value) * strength / price


class PercentOfEquity(RiskSizer):
    """`percent` of the account's equity at full strength: equity x percent/100 x strength
    / price."""

    percent = Param(10.0, min=0.01, max=100.0, help="percent of equity at strength 1")

    def shares(self, strength: Decimal, price: Decimal, account: Account) -> Decimal:
        return account.equity * as_decimal(self.percent) / 100 * strength / price


class VolatilityTarget(RiskSizer):
    """Risk a fixed share of equity per unit of volatility: a move of `atr_multiple` ATRs
    against the position loses `risk_percent` of equity (x strength). shares = equity x
    risk_percent/100 x strength / (atr_multiple x ATR). No position while the ATR warms up."""

    risk_percent = Param(0.5, min=0.01, max=100.0, help="percent of equity one stop costs")
    atr_length = Param(14, min=1, max=500, help="bars in Wilder's ATR")
    atr_multiple = Param(1.0, min=0.1, max=50.0, help="the move risked, in ATRs")

    def setup(self, strategy: Strategy) -> None:
        data = strategy.data
        self._atr: Series | None = strategy.I(
            atr, data.high, data.low, data.close, self.atr_length, name=f"atr{self.atr_length}"
        )

    def current_atr(self) -> Decimal:
        """The ATR at the current bar (set up by `setup()`; NaN before it warms up)."""
        series = self.__dict__.get("_atr")
        if series is None:
            raise RuntimeError("VolatilityTarget: call setup(strategy) in init() first")
        return as_decimal(series[-1])

    def quantity(
        self, strength: Number, price: Number, account: Account, *, atr: Number | None = None
    ) -> int:
        """As RiskSizer.quantity; `atr` (rupees per share) instead of the set-up ATR."""
        s, p = clip_strength(strength), as_decimal(price)
        volatility = self.current_atr() if atr is None else as_decimal(atr)
        if s == 0 or not p.is_finite() or p <= 0:
            return 0
        return round_to_lots(self._shares(abs(s), account, volatility), s < 0, p, account)

    def shares(self, strength: Decimal, price: Decimal, account: Account) -> Decimal:
        return self._shares(strength, account, self.current_atr())

    def _shares(self, strength: Decimal, account: Account, volatility: Decimal) -> Decimal:
        if not volatility.is_finite() or volatility <= 0:
            return Decimal(0)
        risk = account.equity * as_decimal(self.risk_percent) / 100 * strength
        return risk / (as_decimal(self.atr_multiple) * volatility)


class KellyFraction(RiskSizer):
    """A fraction of the Kelly bet for a trade won `win_rate` of the time that wins `payoff`
    times what it loses: f = win_rate - (1 - win_rate) / payoff, times `fraction` (half
    Kelly by default), at most `cap_percent` of equity, 0 when f <= 0 (no edge). shares =
    equity x f x strength / price."""

    win_rate = Param(0.55, min=0.01, max=0.99, help="share of trades that win")
    payoff = Param(1.5, min=0.01, max=100.0, help="average win over average loss")
    fraction = Param(0.5, min=0.01, max=1.0, help="share of the full Kelly bet taken")
    cap_percent = Param(25.0, min=0.01, max=100.0, help="most of equity ever committed")

    def bet(self) -> Decimal:
        """The share of equity committed at full strength (after the fraction and the cap)."""
        p = as_decimal(self.win_rate)
        kelly = p - (1 - p) / as_decimal(self.payoff)
        if kelly <= 0:
            return Decimal(0)
        return min(kelly * as_decimal(self.fraction), as_decimal(self.cap_percent) / 100)

    def shares(self, strength: Decimal, price: Decimal, account: Account) -> Decimal:
        return account.equity * self.bet() * strength / price


def whole_lots(value: float, price: float, lot: int, *, at_least_one: bool = True) -> int:
    """Units worth at most `value` rupees at `price`, rounded down to whole lots of `lot`.

    With `at_least_one` (the default) never under one lot, even when one lot costs more
    than `value` or the price is not positive; without it, 0 then (no trade)."""
    lot_value = price * lot
    least = 1 if at_least_one else 0
    if not (value > 0 and lot_value > 0):
        return least * lot
    return max(int(value // lot_value), least) * lot
