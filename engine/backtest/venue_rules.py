"""The backtest's config rules as functions any venue can call (the paper broker first).

Two rules of `BacktestConfig` lived only where a backtest could reach them: which cost model
`costs` names (the runner's private helper) and the MIS square-off cut-off of one instant (the
vectorised `SessionIndex`). A venue that sees one quote at a time asks these instead of
restating them, so a paper session charges and squares off exactly as a backtest does.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from engine.backtest.config import BacktestConfig
from engine.backtest.sessions import SessionIndex
from engine.costs import CostModel, make_cost_model
from engine.domain.enums import Exchange


def cost_model_for(config: BacktestConfig) -> CostModel | None:
    """The cost model `config.costs` names: None for "none" (no charges), the flat-bps model
    for "bps", Zerodha's schedules otherwise."""
    if config.costs == "none":
        return None
    if config.costs == "bps":
        return make_cost_model("bps", bps=config.cost_bps)
    return make_cost_model("zerodha")


def squareoff_cutoff(ts_ns: int, exchange: Exchange | str, lead: timedelta) -> int:
    """The MIS square-off cut-off (UTC ns) of the IST day of `ts_ns`: that day's calendar
    session close minus `lead`, or the regular close minus `lead` on a day with no session,
    by the very rule a backtest's bars are squared off with (`SessionIndex`)."""
    index = SessionIndex(np.array([ts_ns], dtype=np.int64), exchange, lead)
    return int(index.cutoff[0])
