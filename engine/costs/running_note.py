"""A contract note that grows one executed order at a time, for a backtest's fills.

`open_note` / `open_equity_day_note` pick the running note of a cost model: Zerodha's and the
flat-bps model's are the incremental notes of engine/costs/notes.py (the rules themselves,
which the models' full functions fold); any other model (or a subclass overriding the
pricing) gets a note that keeps the executions and calls the model's full function on every
order, as a backtest did before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Protocol

from engine.costs.bps import BpsCostModel
from engine.costs.model import ZerodhaCostModel
from engine.costs.notes import BpsNote, EquityDayNote, SegmentNote
from engine.costs.types import (
    ChargeBreakdown,
    ChargeSegment,
    CostModel,
    EquityExecution,
    Execution,
)
from engine.domain.enums import Exchange, Product, Side

__all__ = [
    "BpsNote",
    "EquityDayNote",
    "RecomputingNote",
    "RunningNote",
    "SegmentNote",
    "open_equity_day_note",
    "open_note",
]


class RunningNote(Protocol):
    """One contract note being filled: `add` an executed order, get the note's new total."""

    def add(self, side: Side, quantity: int, price: Decimal, product: Product) -> Decimal:
        """Add one EXECUTED ORDER (price in rupees); return the note's total charges.

        `product` matters only to an equity-day note (MIS or CNC); F&O notes ignore it.
        """
        ...

    def breakdown(self) -> ChargeBreakdown:
        """The whole note as its reference function would return it now."""
        ...


class RecomputingNote:
    """Any other cost model: keep the executions and price the whole note on every add."""

    __slots__ = ("_append", "_price")

    def __init__(
        self,
        append: Callable[[Side, int, Decimal, Product], None],
        price: Callable[[], ChargeBreakdown],
    ) -> None:
        self._append = append
        self._price = price

    def add(self, side: Side, quantity: int, price: Decimal, product: Product) -> Decimal:
        self._append(side, quantity, price, product)
        return self._price().total

    def breakdown(self) -> ChargeBreakdown:
        return self._price()


def _own(model: object, cls: type, *methods: str) -> bool:
    """`model`'s class prices with cls's own methods (a subclass may price differently)."""
    kind = type(model)
    return all(getattr(kind, name) is getattr(cls, name) for name in methods)


def open_equity_day_note(
    model: CostModel, exchange: Exchange | str, trade_date: date
) -> RunningNote:
    """The running form of `model.compute_equity_day(executions, exchange, trade_date)`."""
    if isinstance(model, ZerodhaCostModel) and _own(
        model, ZerodhaCostModel, "compute_equity_day", "rates"
    ):
        return EquityDayNote(model, exchange, trade_date)
    if isinstance(model, BpsCostModel) and _own(
        model, BpsCostModel, "compute_equity_day", "compute"
    ):
        return BpsNote(model, ChargeSegment.INTRADAY, exchange)
    executions: list[EquityExecution] = []

    def append(side: Side, quantity: int, price: Decimal, product: Product) -> None:
        executions.append(EquityExecution(side, quantity, price, product))

    return RecomputingNote(
        append, lambda: model.compute_equity_day(executions, exchange, trade_date)
    )


def open_note(
    model: CostModel,
    segment: ChargeSegment | str,
    exchange: Exchange | str,
    trade_date: date,
    *,
    bse_group: str = "A",
) -> RunningNote:
    """The running form of `model.compute(executions, segment, exchange, trade_date)`."""
    if isinstance(model, ZerodhaCostModel) and _own(model, ZerodhaCostModel, "compute", "rates"):
        return SegmentNote(model, segment, exchange, trade_date, bse_group=bse_group)
    if isinstance(model, BpsCostModel) and _own(model, BpsCostModel, "compute"):
        return BpsNote(model, segment, exchange)
    executions: list[Execution] = []

    def append(side: Side, quantity: int, price: Decimal, product: Product) -> None:
        executions.append(Execution(side, quantity, price))

    return RecomputingNote(
        append,
        lambda: model.compute(executions, segment, exchange, trade_date, bse_group=bse_group),
    )
