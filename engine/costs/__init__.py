"""Indian transaction costs: Zerodha's dated charge schedules and a flat bps model.

Charges are computed per contract note (one day, one scrip, one segment) from the executed
orders of that note, with Decimal and half-up rounding exactly as a contract note shows them
(../shared/docs/india-domain.md §1). Typical backtest use::

    model = make_cost_model("zerodha")
    note = model.compute(executions_of_the_day, ChargeSegment.INTRADAY, Exchange.NSE, day)
    cash -= note.total
"""

from engine.costs.bps import BpsCostModel
from engine.costs.factory import COST_MODELS, make_cost_model
from engine.costs.model import (
    DEFAULT_MODEL,
    NoteRates,
    StampRounding,
    ZerodhaCostModel,
    compute_charges,
    normalise_bse_group,
    round_trip,
)
from engine.costs.schedules import (
    BSE_CASH_DEFAULT,
    BSE_CASH_GROUPS,
    BSE_GROUPS,
    DEFAULT_DP_CHARGE,
    SCHEDULES,
    Brokerage,
    ChargeSchedule,
    SegmentRates,
    schedule_for,
    uncovered_spans,
)
from engine.costs.types import (
    BEFORE_UNIFORM_STAMP,
    ChargeBreakdown,
    ChargeSegment,
    CostModel,
    EquityExecution,
    Execution,
    ExecutionLike,
    ScheduleCoverageError,
    round_paisa,
    round_rupee,
)

__all__ = [
    "BEFORE_UNIFORM_STAMP",
    "BSE_CASH_DEFAULT",
    "BSE_CASH_GROUPS",
    "BSE_GROUPS",
    "COST_MODELS",
    "DEFAULT_DP_CHARGE",
    "DEFAULT_MODEL",
    "SCHEDULES",
    "BpsCostModel",
    "Brokerage",
    "ChargeBreakdown",
    "ChargeSchedule",
    "ChargeSegment",
    "CostModel",
    "EquityExecution",
    "Execution",
    "ExecutionLike",
    "NoteRates",
    "ScheduleCoverageError",
    "SegmentRates",
    "StampRounding",
    "ZerodhaCostModel",
    "compute_charges",
    "make_cost_model",
    "normalise_bse_group",
    "round_paisa",
    "round_rupee",
    "round_trip",
    "schedule_for",
    "uncovered_spans",
]
