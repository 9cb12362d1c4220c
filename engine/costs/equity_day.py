"""One scrip's equity trades of one day, MIS and CNC together, billed as Zerodha bills them.

Zerodha (support: "Why was the brokerage charged on delivery trades?") treats CNC shares bought
and sold in the same session as INTRADAY: every CNC order of such a day pays intraday brokerage
(0.03% or Rs 20, lower, per executed order), whatever the quantities. STT and stamp duty follow
the quantity: the squared-off part (the smaller of the day's CNC buys and sells) at intraday
rates, the rest at delivery rates, each side valued at the day's average price of that side
(../shared/docs/india-domain.md §1.4). A DP charge applies only when the day's CNC sells exceed
its CNC buys, i.e. shares leave the demat. MIS orders are intraday throughout. STT and stamp duty
are rounded once for the note; exchange and SEBI charges are on the whole turnover (the rates
are the same for both parts).

The arithmetic is `engine/costs/notes.py`'s EquityDayNote, the one a backtest grows fill by
fill; this folds a day's orders through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from engine.costs.model import ZerodhaCostModel
from engine.costs.notes import EquityDayNote
from engine.costs.types import (
    ChargeBreakdown,
    EquityExecution,
)
from engine.domain.enums import Exchange


def equity_day_note(
    model: ZerodhaCostModel,
    executions: Sequence[EquityExecution],
    exchange: Exchange | str,
    trade_date: date,
    *,
    bse_group: str = "A",
) -> ChargeBreakdown:
    note = EquityDayNote(model, exchange, trade_date, bse_group=bse_group)
    for e in executions:  # the note is the rule (engine/costs/notes.py): fold it
        note.add(e.side, e.quantity, e.price, e.product)
    return note.breakdown()
