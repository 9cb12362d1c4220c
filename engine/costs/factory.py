"""Pick a cost model by name, as the backtest wizard and `--costs` name them."""

from __future__ import annotations

from decimal import Decimal

from engine.costs.bps import BpsCostModel
from engine.costs.model import StampRounding, ZerodhaCostModel
from engine.costs.schedules import DEFAULT_DP_CHARGE
from engine.costs.types import CostModel

COST_MODELS = ("zerodha", "bps")


def make_cost_model(
    kind: str,
    *,
    bps: Decimal | int | str | None = None,
    dp_charge: Decimal | int | str = DEFAULT_DP_CHARGE,
    stamp_rounding: StampRounding = "rupee",
) -> CostModel:
    """'zerodha' (the full schedule) or 'bps' (needs `bps`); anything else is refused."""
    if kind == "zerodha":
        return ZerodhaCostModel(dp_charge=dp_charge, stamp_rounding=stamp_rounding)
    if kind == "bps":
        if bps is None:
            raise ValueError("cost model 'bps' needs a bps rate, e.g. bps='5'")
        return BpsCostModel(bps)
    raise ValueError(f"unknown cost model {kind!r}; choose one of {', '.join(COST_MODELS)}")
