"""Per-trade statistics: win rate, profit factor, expectancy, average win and loss.

Computed on one P&L column at a time, so the same code gives the gross and the net view.
A trade with exactly zero P&L is neither a win nor a loss but counts in the trade total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.metrics.inputs import FloatArray


@dataclass(frozen=True)
class TradeMetrics:
    """None wherever there is nothing to average (no trades, no wins, no losses)."""

    trades: int
    win_rate: float | None  # wins / trades
    profit_factor: float | None  # sum of wins / |sum of losses|; math.inf with no losses
    expectancy: float | None  # mean P&L per trade, rupees
    average_win: float | None  # mean P&L of winning trades, rupees (> 0)
    average_loss: float | None  # mean P&L of losing trades, rupees (< 0, signed as booked)


def _mean(values: FloatArray) -> float | None:
    return float(np.mean(values)) if values.size else None


def trade_metrics(pnl: FloatArray) -> TradeMetrics:
    """Statistics of one P&L column (gross or net), one element per closed trade.

    Profit factor is math.inf when there are wins and no losses, and None when there are
    neither (no trades, or all trades exactly break even).
    """
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    won = math.fsum(wins.tolist())
    lost = -math.fsum(losses.tolist())
    if losses.size:
        profit_factor: float | None = won / lost
    elif wins.size:
        profit_factor = math.inf
    else:
        profit_factor = None
    return TradeMetrics(
        trades=int(pnl.size),
        win_rate=wins.size / pnl.size if pnl.size else None,
        profit_factor=profit_factor,
        expectancy=_mean(pnl),
        average_win=_mean(wins),
        average_loss=_mean(losses),
    )
