"""Builders for hand-made backtest scenarios: a few bars on real NSE minutes and a strategy
that places exactly the orders a test names, on exactly the bars it names.

Prices are written in rupees (int, str or Decimal, never float arithmetic) and converted
exactly to paise; every expected value in a test is worked out by hand from those numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np

from engine.backtest import BacktestConfig
from engine.calendar import IST
from engine.data.bar_series import BarSeries
from engine.domain.enums import Exchange, Segment
from engine.domain.instrument import Instrument
from engine.strategy.base import BarView, Strategy
from engine.strategy.requests import FillReport, OrderUpdate

DAY1 = datetime(2026, 1, 5, 9, 15, tzinfo=IST)  # Monday 5 Jan 2026, an NSE trading day
DAY2 = datetime(2026, 1, 6, 9, 15, tzinfo=IST)
CAPITAL = Decimal("100000")

Row = tuple[Any, Any, Any, Any] | tuple[Any, Any, Any, Any, int]
Action = Callable[["Scripted"], object]


def paise(rupees: object) -> int:
    """Exact paise of a rupee amount written as int, str or Decimal."""
    value = Decimal(str(rupees)) * 100
    if value != value.to_integral_value():
        raise ValueError(f"{rupees} is not a whole number of paise")
    return int(value)


def minutes(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(minutes=k) for k in range(count)]


def bars(
    rows: Sequence[Row],
    *,
    start: datetime = DAY1,
    times: Sequence[datetime] | None = None,
    symbol: str = "SYM",
    timeframe: str = "1m",
) -> BarSeries:
    """One bar per row (open, high, low, close[, volume=1000]): 1-minute bars from `start`,
    or at the given `times` (e.g. two sessions, or one bar per session with timeframe="1d")."""
    stamps = list(times) if times is not None else minutes(start, len(rows))
    assert len(stamps) == len(rows)
    columns: list[list[int]] = [[], [], [], [], []]
    for row in rows:
        for k in range(4):
            columns[k].append(paise(row[k]))
        columns[4].append(int(row[4]) if len(row) > 4 else 1000)
    ts = np.array(
        [int(t.timestamp()) * 1_000_000_000 for t in stamps],
        dtype=np.int64,
    )
    return BarSeries.from_arrays(
        symbol,
        ts,
        np.array(columns[0], np.int64),
        np.array(columns[1], np.int64),
        np.array(columns[2], np.int64),
        np.array(columns[3], np.int64),
        np.array(columns[4], np.int64),
        timeframe=timeframe,
        prices_in_paise=True,
    )


class Scripted(Strategy):
    """Runs `actions[i](self)` at the close of bar i; records what the engine reports:
    fills, order updates, the open order ids at each scripted bar (before its action) and
    what each action returned (`placed[i]`, typically the order id)."""

    actions: ClassVar[dict[int, Action]] = {}
    fills: ClassVar[list[FillReport]]
    updates: ClassVar[list[OrderUpdate]]
    seen_open: ClassVar[dict[int, list[str]]]
    placed: ClassVar[dict[int, object]]  # what each action returned (an order id)

    def init(self) -> None:
        for i, action in sorted(self.actions.items()):
            mask = np.zeros(self.data.size, dtype=bool)
            mask[i] = True
            self.on(mask, self._make_handler(action))

    def _make_handler(self, action: Action) -> Callable[[BarView], None]:
        def handler(bar: BarView) -> None:
            self.seen_open[bar.index] = self.open_orders()
            self.placed[bar.index] = action(self)

        return handler

    def on_fill(self, fill: FillReport) -> None:
        self.fills.append(fill)

    def on_order(self, update: OrderUpdate) -> None:
        self.updates.append(update)


def scripted(actions: dict[int, Action]) -> type[Scripted]:
    """A fresh Scripted subclass (its own capture lists) running `actions`."""
    return type(
        "Scripted",
        (Scripted,),
        {"actions": dict(actions), "fills": [], "updates": [], "seen_open": {}, "placed": {}},
    )


def statuses(strategy: type[Scripted], order_id: str) -> list[str]:
    return [str(u.status) for u in strategy.updates if u.order_id == order_id]


def fills_of(strategy: type[Scripted]) -> list[tuple[int, Decimal, int]]:
    """(quantity, price in rupees, bar index) of every fill, in order."""
    return [(f.quantity, f.price, f.bar_index) for f in strategy.fills]


def config(**overrides: object) -> BacktestConfig:
    return BacktestConfig(**{"capital": CAPITAL, "costs": "none", **overrides})  # type: ignore[arg-type]


# A gently rising session used by several tests.
RISING = [
    (100, 101, 99, "100.5"),  # 0  09:15
    (102, 103, 101, "102.5"),  # 1  09:16
    (103, 104, 102, "103.5"),  # 2  09:17
    (104, 105, 103, "104.5"),  # 3  09:18
]
FLAT_START = (100, "100.5", "99.5", 100)  # bar 0 of most scenarios: nothing happens there


def futures(lot: int, freeze: int) -> dict[str, Instrument]:
    return {
        "SYM": Instrument(
            exchange=Exchange.NFO,
            segment=Segment.FUTURES,
            symbol="SYM",
            lot_size=lot,
            expiry=date(2026, 1, 27),
            freeze_quantity=freeze,
        )
    }
