"""From the fills the simulation booked to the mark-to-market equity curve, with numpy.

Positions change only at fills, so the curve is step functions (cash, quantity per symbol)
times each symbol's close carried forward on the merged timeline: O(bars), no Python loop
per bar. All sums are int64 paise; floats appear only in the EquityCurve for analytics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.backtest.config import BacktestConfig
from engine.backtest.ledger import Ledger
from engine.backtest.result import BacktestResult, OrderRecord, Trade
from engine.backtest.simulator import Simulator
from engine.backtest.slots import Slot
from engine.metrics import EquityCurve
from engine.strategy.base import Strategy

Int64Array = npt.NDArray[np.int64]


def _carried(values: Int64Array, positions: Int64Array, size: int) -> Int64Array:
    """values placed at positions on a timeline of `size`, carried forward (0 before)."""
    out = np.zeros(size, dtype=np.int64)
    if size == len(values):
        return values.astype(np.int64, copy=True)
    marker = np.full(size, -1, dtype=np.int64)
    marker[positions] = np.arange(len(positions))
    filled = np.maximum.accumulate(marker)
    present = filled >= 0
    out[present] = values[filled[present]]
    return out


def build_result(
    slots: list[Slot],
    sim: Simulator,
    ledger: Ledger,
    config: BacktestConfig,
    timeline: Int64Array,
    strategy: type[Strategy],
    params: Mapping[str, Any],
    seconds: float,
) -> BacktestResult:
    size = len(timeline)
    capital = int(config.capital * 100)
    cash_change = np.zeros(size, dtype=np.int64)
    charge_change = np.zeros(size, dtype=np.int64)
    quantity_change = np.zeros((len(slots), size), dtype=np.int64)
    if sim.deltas:
        deltas = np.asarray(sim.deltas, dtype=np.int64)
        np.add.at(cash_change, deltas[:, 0], deltas[:, 3])
        np.add.at(charge_change, deltas[:, 0], deltas[:, 4])
        np.add.at(quantity_change, (deltas[:, 1], deltas[:, 0]), deltas[:, 2])
    cash = capital + np.cumsum(cash_change)
    equity = cash.copy()
    gross_exposure = np.zeros(size, dtype=np.int64)
    for slot in slots:
        quantity = np.cumsum(quantity_change[slot.index])
        close = _carried(slot.close, slot.gidx, size)
        value = quantity * close
        equity += value
        gross_exposure += np.abs(value)
    gross_equity = equity + np.cumsum(charge_change)
    equity_f = equity / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        exposure = np.where(equity > 0, gross_exposure / np.maximum(equity, 1), 0.0)
    curve = EquityCurve(
        timestamps=timeline,
        equity=equity_f,
        gross_equity=gross_equity / 100.0,
        exposure=exposure.astype(np.float64),
    )
    records = ledger.trades
    open_positions = {
        f"{symbol}/{product}": book.quantity
        for (symbol, product), book in ledger.positions.items()
        if book.quantity
    }
    return BacktestResult(
        strategy=strategy.display_name(),
        params=dict(params),
        config=config,
        symbols=[slot.symbol for slot in slots],
        trade_source=lambda: [Trade.from_record(t) for t in records],
        curve=curve,
        final_equity_paise=int(equity[-1]),
        total_charges_paise=ledger.total_charges,
        traded_value_paise=sim.traded_value,
        bars=sum(len(slot.ts) for slot in slots),
        orders=len(sim.orders),
        rejections=list(sim.rejections),
        open_positions=open_positions,
        run_seconds=seconds,
        order_source=lambda: [
            OrderRecord(
                o.order_id,
                slots[o.slot].symbol,
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
            for o in sim.orders.values()
        ],
    )
