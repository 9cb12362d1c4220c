"""A flat basis-points fee on turnover: the quick "what if costs were X bps" model.

Useful for comparing with other backtesters (most charge a flat fraction) and for markets
without a modelled schedule. Output has the same shape as Zerodha's so reports do not care
which model ran; the whole fee is reported as `brokerage`, the other components are zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from engine.costs.notes import BpsNote
from engine.costs.types import (
    PAISA,
    ZERO,
    ChargeBreakdown,
    ChargeSegment,
    EquityExecution,
    ExecutionLike,
)
from engine.domain.enums import Exchange, Product
from engine.domain.money import to_decimal


class BpsCostModel:
    """fee = bps / 10,000 x (buy value + sell value) of the note, exact Decimal.

    `quantum` rounds the note's fee half-up (default 0.01, as money is paid); None keeps
    the exact product, e.g. to compare with a float-free reference.
    """

    name = "bps"

    def __init__(self, bps: Decimal | int | str, *, quantum: Decimal | None = PAISA) -> None:
        rate_bps = to_decimal(bps, "bps")
        if rate_bps < 0:
            raise ValueError(f"bps must be >= 0, got {rate_bps}")
        self.bps = rate_bps
        self._rate = rate_bps.scaleb(-4)
        self._quantum = quantum

    @property
    def rate(self) -> Decimal:
        """The fee as a fraction of turnover (bps / 10,000), exact."""
        return self._rate

    @property
    def quantum(self) -> Decimal | None:
        """What the note's fee is rounded to (half-up); None: not rounded."""
        return self._quantum

    def describe(self, trade_date: date) -> str:
        return f"flat {format(self.bps, 'f')} bps of turnover"

    def compute(
        self,
        executions: Sequence[ExecutionLike],
        segment: ChargeSegment | str,
        exchange: Exchange | str,
        trade_date: date,
        *,
        bse_group: str = "A",
        exercised_value: Decimal = ZERO,
    ) -> ChargeBreakdown:
        """Segment, exchange, date, group and exercise do not change a flat fee; kept for
        the common `CostModel` signature (and validated, so a bad call fails the same way)."""
        note = BpsNote(self, segment, exchange)  # validates both, as the note's rule needs
        for ex in executions:
            note.add(ex.side, ex.quantity, ex.price, Product.NRML)  # a flat fee: any product
        return note.breakdown()

    def compute_equity_day(
        self,
        executions: Sequence[EquityExecution],
        exchange: Exchange | str,
        trade_date: date,
    ) -> ChargeBreakdown:
        """A flat fee does not care about the product: the day's orders as one note."""
        return self.compute(executions, ChargeSegment.INTRADAY, exchange, trade_date)
