"""From the fills the simulation booked to the mark-to-market equity curve, with numpy.

Positions change only at fills, so the curve is step functions (cash, quantity per symbol)
times each symbol's close carried forward on the merged timeline: O(bars), no Python loop
per bar. All sums are int64 paise; floats appear only in the EquityCurve for analytics.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.backtest.config import BacktestConfig
from engine.backtest.result import BacktestResult, Built, OrderRecord, TradeSource
from engine.backtest.slots import Slot
from engine.calendar import get_calendar
from engine.data.closed_days import closed_days_of
from engine.execution.host import ExecutionHost
from engine.execution.orders import ManagedOrder
from engine.metrics import EquityCurve
from engine.strategy.base import Strategy

Int64Array = npt.NDArray[np.int64]


def _carried(values: Int64Array, positions: Int64Array, size: int) -> Int64Array:
    """values placed at positions on a timeline of `size`, carried forward (0 before).

    With one instrument the timeline IS its bars: the array itself comes back, no copy.
    """
    if size == len(values):
        return values
    out = np.zeros(size, dtype=np.int64)
    marker = np.full(size, -1, dtype=np.int64)
    marker[positions] = np.arange(len(positions))
    filled = np.maximum.accumulate(marker)
    present = filled >= 0
    out[present] = values[filled[present]]
    return out


def _curve(
    slots: list[Slot], host: ExecutionHost, capital: int, size: int, timeline: Int64Array
) -> EquityCurve:
    """Equity = cash + quantity x close per bar. Arrays are updated in place: on a million
    bars each copy is 8 MB, and the benchmark's memory budget is for the whole run."""
    equity = np.zeros(size, dtype=np.int64)  # cash changes, then cash, then equity
    charges = np.zeros(size, dtype=np.int64)
    # the fills' journal, (ts, instrument, signed quantity, cash change, charges), with each
    # fill's time turned into its bar on the merged timeline
    journal = host.journal
    deltas = None
    if journal:  # flattened by fromiter: several times faster than asarray of the tuples
        flat = np.fromiter(chain.from_iterable(journal), np.int64, 5 * len(journal))
        deltas = flat.reshape(len(journal), 5)
    if deltas is not None:
        deltas[:, 0] = np.searchsorted(timeline, deltas[:, 0])
        np.add.at(equity, deltas[:, 0], deltas[:, 3])
        np.add.at(charges, deltas[:, 0], deltas[:, 4])
    np.cumsum(equity, out=equity)
    equity += capital
    exposure = np.zeros(size, dtype=np.float64)
    for slot in slots:
        value = np.zeros(size, dtype=np.int64)
        if deltas is not None:
            mine = deltas[deltas[:, 1] == slot.index]
            np.add.at(value, mine[:, 0], mine[:, 2])
        np.cumsum(value, out=value)  # quantity held after each bar
        np.multiply(value, _carried(slot.close, slot.gidx, size), out=value)
        equity += value
        np.abs(value, out=value)
        exposure += value
        del value
    np.cumsum(charges, out=charges)
    charges += equity  # now the gross (before-charges) equity
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(exposure, equity, out=exposure, where=equity > 0)
    exposure[equity <= 0] = 0.0
    return EquityCurve(
        timestamps=timeline,
        equity=equity / 100.0,
        gross_equity=charges / 100.0,
        exposure=exposure,
    )


def calendar_warnings(slots: list[Slot]) -> list[str]:
    """The calendar's warning for each exchange whose bars lie on provisional dates, and
    one per symbol whose bars lie on days the exchange was closed (they were traded)."""
    warnings: list[str] = []
    for slot in slots:
        if not len(slot.ts):
            continue
        calendar = get_calendar(slot.instrument.exchange)
        first, last = slot.sessions.trade_date(0), slot.sessions.trade_date(len(slot.ts) - 1)
        warning = calendar.provisional_warning(first, last)
        if warning and warning not in warnings:
            warnings.append(warning)
    for slot in slots:
        closed = closed_days_of(slot.ts, slot.instrument.exchange) if len(slot.ts) else None
        if closed:
            warnings.append(
                f"{slot.symbol}: {closed.describe()}; the backtest treated them as sessions "
                "(leave them out of the data: artha data import --closed-days drop)"
            )
    return warnings


class OrderSource:
    """Builds the run's order log on first use (the run stays lean). Pickled, it becomes the
    built records, not the live orders (they point at the strategy)."""

    def __init__(self, orders: list[ManagedOrder]) -> None:
        self.orders = orders
        self.built: list[OrderRecord] | None = None

    def __call__(self) -> list[OrderRecord]:
        if self.built is None:
            self.built = [
                OrderRecord(
                    o.order_id,
                    o.symbol,
                    o.placed_bar,
                    str(o.side),
                    o.quantity,
                    str(o.order_type),
                    str(o.product),
                    str(o.status),
                    o.filled,
                    o.message,
                    o.tag,
                )
                for o in self.orders
            ]
        return self.built

    def __reduce__(self) -> tuple[Any, ...]:
        return (Built, (self(),))


def build_result(
    slots: list[Slot],
    host: ExecutionHost,
    config: BacktestConfig,
    timeline: Int64Array,
    strategy: type[Strategy],
    params: Mapping[str, Any],
    seconds: float,
) -> BacktestResult:
    size = len(timeline)
    capital = int(config.capital * 100)
    ledger = host.portfolio
    curve = _curve(slots, host, capital, size, timeline)
    last_close = {slot.symbol: int(slot.close[-1]) for slot in slots}
    unrealized: dict[str, int] = {}
    for (symbol, _), book in ledger.positions.items():
        for lot in book.lots:  # open lots marked at the last close, longs and shorts
            move = last_close[symbol] - lot.price
            gain = move * lot.quantity if book.quantity > 0 else -move * lot.quantity
            unrealized[symbol] = unrealized.get(symbol, 0) + gain
    final_equity = ledger.cash + sum(
        book.quantity * last_close[symbol] for (symbol, _), book in ledger.positions.items()
    )  # exact paise, the curve's last value
    records = ledger.trades
    open_charges: dict[str, int] = {}
    for (symbol, _), book in ledger.positions.items():
        if book.lots:
            booked = sum(lot.charges for lot in book.lots)
            open_charges[symbol] = open_charges.get(symbol, 0) + booked
    open_positions = {
        f"{symbol}/{product}": book.quantity
        for (symbol, product), book in ledger.positions.items()
        if book.quantity
    }
    return BacktestResult(
        calendar_warnings=calendar_warnings(slots),
        strategy=strategy.display_name(),
        params=dict(params),
        config=config,
        symbols=[slot.symbol for slot in slots],
        trade_source=TradeSource(records, {slot.symbol: slot.ts for slot in slots}),
        curve=curve,
        final_equity_paise=int(final_equity),
        unrealized_paise=unrealized,
        total_charges_paise=ledger.total_charges,
        traded_value_paise=host.traded_value,
        bars=sum(len(slot.ts) for slot in slots),
        orders=len(host.oms.orders),
        rejections=list(host.rejections),
        # the host keeps only the first messages; every rejected order stays in the log
        rejected_orders=host.oms.rejected,
        closed_charges_paise=sum(t.charges for t in records),
        open_charges_paise=open_charges,
        timeframes=[slot.series.timeframe for slot in slots],
        open_positions=open_positions,
        run_seconds=seconds,
        order_source=OrderSource(list(host.oms.orders.values())),
    )
