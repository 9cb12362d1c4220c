"""A flat basis-points fee on turnover: the quick "what if costs were X bps" model.

Useful for comparing with other backtesters (most charge a flat fraction) and for markets
without a modelled schedule. Output has the same shape as Zerodha's so reports do not care
which model ran; the whole fee is reported as `brokerage`, the other components are zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from engine.costs.types import (
    PAISA,
    ZERO,
    ZERO_PAISE,
    ChargeBreakdown,
    ChargeSegment,
    EquityExecution,
    ExecutionLike,
)
from engine.domain.enums import Exchange, Side
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
        ChargeSegment(segment)
        Exchange(exchange)
        buy = sell = ZERO
        for ex in executions:
            if ex.quantity <= 0:
                raise ValueError(f"execution quantity must be >= 1, got {ex.quantity}")
            value = ex.price * ex.quantity
            if ex.side == Side.BUY:
                buy += value
            elif ex.side == Side.SELL:
                sell += value
            else:
                raise ValueError(f"execution side must be BUY or SELL, got {ex.side!r}")
        buy += ZERO_PAISE  # two decimals at least, so reports line up
        sell += ZERO_PAISE
        turnover = buy + sell
        fee = turnover * self._rate
        if self._quantum is not None:
            fee = fee.quantize(self._quantum, rounding=ROUND_HALF_UP)
        z = ZERO_PAISE
        return ChargeBreakdown(fee, z, z, z, z, z, z, fee, buy, sell, turnover)

    def compute_equity_day(
        self,
        executions: Sequence[EquityExecution],
        exchange: Exchange | str,
        trade_date: date,
    ) -> ChargeBreakdown:
        """A flat fee does not care about the product: the day's orders as one note."""
        return self.compute(executions, ChargeSegment.INTRADAY, exchange, trade_date)
