"""Shared by the replay tests: result readers, a recording host, and the strategies the
replay must treat exactly like the backtest (or catch: short lookbacks, look-ahead)."""

from __future__ import annotations

import json
from dataclasses import astuple
from decimal import Decimal
from typing import Any

import numpy as np

from engine.backtest import BacktestResult
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import (
    BarView,
    Param,
    Strategy,
    crossed_above,
    crossed_below,
    ema,
    sma,
)


def order_tuples(result: BacktestResult) -> list[tuple[Any, ...]]:
    """Every order of a run as it ended, field by field (id, symbol, bar, side, quantity,
    type, product, status, filled, message, tag): two runs that agree on these placed and
    ended the same orders."""
    return [astuple(o) for o in result.order_log]


def placed(result) -> list[tuple[int, str, int, str]]:
    return [(o.placed_bar, o.side, o.quantity, o.order_type) for o in result.order_log]


def trades(result) -> list[tuple]:
    return [
        (
            t.symbol,
            t.side,
            t.quantity,
            t.entry_bar,
            t.entry_price,
            t.exit_bar,
            t.exit_price,
            t.net_pnl,
        )
        for t in result.trades
    ]


def same_report(a, b) -> bool:
    x, y = a.as_json(), b.as_json()
    x.pop("run_seconds")
    y.pop("run_seconds")
    return json.dumps(x, sort_keys=True) == json.dumps(y, sort_keys=True)


class HostStub:
    """A StrategyHost that records orders: enough to drive an evaluator by hand."""

    def __init__(self) -> None:
        self.orders: list[tuple[str, int]] = []

    def submit(self, request) -> str:
        self.orders.append((str(request.side), request.quantity))
        return f"X{len(self.orders)}"

    def cancel(self, order_id: str) -> None:
        pass

    def position_quantity(self, symbol: str) -> int:
        return 0

    def position_average_price(self, symbol: str) -> Decimal:
        return Decimal(0)

    def open_order_ids(self, symbol: str) -> list[str]:
        return []


# -- strategies used below ------------------------------------------------------------------


class ArraySmaCrossover(SmaCrossover):
    """sma_crossover as first written: conditions built from `.full()` arrays."""

    def init(self) -> None:
        fast = self.I(sma, self.data.close, self.fast, name=f"sma{self.fast}")
        slow = self.I(sma, self.data.close, self.slow, name=f"sma{self.slow}")
        self.on(crossed_above(fast.full(), slow.full()), self.enter)
        self.on(crossed_below(fast.full(), slow.full()), self.exit)


class EmaCrossover(Strategy):
    """Recursive indicators, comparison operators and a handler reading indicator history."""

    fast = Param(8, min=1)
    slow = Param(21, min=2)
    quantity = Param(50, min=1)

    def init(self) -> None:
        self.fast_ema = self.I(ema, self.data.close, self.fast, name="ema_fast")
        self.slow_ema = ema(self.data.close, self.slow)  # SDK call on a Series: no I() needed
        above = self.fast_ema > self.slow_ema
        self.on(above & ~crossed_above(self.fast_ema, self.slow_ema), self.hold)
        self.on(crossed_above(self.fast_ema, self.slow_ema), self.enter)
        self.on(self.fast_ema < self.slow_ema, self.exit)

    def hold(self, bar: BarView) -> None:
        assert self.fast_ema[-1] > self.slow_ema[-1]
        assert len(self.fast_ema) == bar.index + 1

    def enter(self, bar: BarView) -> None:
        if self.position.is_flat and self.fast_ema[-2] <= self.slow_ema[-2]:
            self.buy(self.quantity)

    def exit(self, bar: BarView) -> None:
        if self.position.is_long:
            self.close_position()


def wilder(values: np.ndarray, length: int) -> np.ndarray:
    """A recursive smoother an author might write: nothing declares how it extends."""
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] >= length:
        out[length - 1] = x[:length].mean()
        for i in range(length, x.shape[0]):
            out[i] = out[i - 1] + (x[i] - out[i - 1]) / length
    return out


class ShortLookback(Strategy):
    """Declares a 20-bar lookback for a 20-bar EMA, which depends on all history."""

    def init(self) -> None:
        slow = self.I(ema, self.data.close, 20, name="ema20", lookback=20)
        fast = self.I(sma, self.data.close, 5)
        self.on(crossed_above(fast, slow), self.enter)
        self.on(crossed_below(fast, slow), self.exit)

    def enter(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.buy(10)

    def exit(self, bar: BarView) -> None:
        if self.position.is_long:
            self.close_position()


class UndeclaredRecursive(ShortLookback):
    """Lookback inferred from the int argument (15 bars) for a recursive function."""

    def init(self) -> None:
        slow = self.I(wilder, self.data.close, 14, name="wilder14")
        fast = self.I(sma, self.data.close, 5)
        self.on(crossed_above(fast, slow), self.enter)
        self.on(crossed_below(fast, slow), self.exit)


class DeclaredFull(UndeclaredRecursive):
    def init(self) -> None:
        slow = self.I(wilder, self.data.close, 14, name="wilder14", lookback="full")
        fast = self.I(sma, self.data.close, 5)
        self.on(crossed_above(fast, slow), self.enter)
        self.on(crossed_below(fast, slow), self.exit)


def next_close(close: np.ndarray) -> np.ndarray:
    """Look-ahead hidden in an indicator: tomorrow's close."""
    out = np.roll(np.asarray(close, dtype=np.float64), -1)
    if out.size:
        out[-1] = np.nan
    return out


class Clairvoyant(ShortLookback):
    def init(self) -> None:
        tomorrow = self.I(next_close, self.data.close, lookback=1)
        self.on(tomorrow > self.I(sma, self.data.close, 1), self.enter)
        self.on(tomorrow < self.I(sma, self.data.close, 1), self.exit)


class PeeksInHandler(SmaCrossover):
    def enter(self, bar: BarView) -> None:
        _ = self.data.close[self.bar_index + 1]  # the next bar's close: look-ahead


class PeeksAtIndicator(SmaCrossover):
    def init(self) -> None:
        self.slow_sma = self.I(sma, self.data.close, self.slow)
        fast = self.I(sma, self.data.close, self.fast)
        self.on(crossed_above(fast, self.slow_sma), self.enter)

    def enter(self, bar: BarView) -> None:
        _ = self.slow_sma[len(self.slow_sma)]


class OpaqueCondition(Strategy):
    def init(self) -> None:
        bars = np.arange(self.data.size)
        self.on(bars % 100 == 0, self.enter)

    def enter(self, bar: BarView) -> None:
        self.buy(1)


class EveryBar(SmaCrossover):
    """Overrides on_bar (called on every bar, after the conditions) and on_fill."""

    def init(self) -> None:
        super().init()
        self.seen: list[int] = []
        self.fills: list[int] = []

    def on_bar(self, bar: BarView) -> None:
        self.seen.append(bar.index)
        if bar.index % 500 == 499 and self.position.is_long:
            self.close_position()

    def on_fill(self, fill) -> None:
        self.fills.append(fill.bar_index)
