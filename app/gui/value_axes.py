"""Value axes for the results and comparison plots: rupees the Indian way and percentages.

pyqtgraph's default axis shows 1e+07, or rescales by an SI prefix and writes "(x0.001)" in
the label; a trader reads lakh and crore, and a drawdown of -0.30 %. The labels of one axis
share one unit and carry as many decimals as the tick spacing needs, so two ticks never read
the same ("1.00 Cr", "1.00 Cr" for 1,00,00,000 and 1,00,05,000).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from app.commands.output import inr
from app.gui.direct_axis import DirectAxis

MAX_DECIMALS = 4
LAKH = 1e5
CRORE = 1e7


def _decimals(spacing: float) -> int:
    """Decimals that tell ticks `spacing` apart (0 for spacing >= 1)."""
    if spacing <= 0 or not math.isfinite(spacing):
        return 2
    return min(MAX_DECIMALS, max(0, math.ceil(-math.log10(spacing) - 1e-9)))


def rupee_ticks(values: Sequence[float], spacing: float) -> list[str]:
    """Rupee labels for one axis: all in crore, all in lakh or all in rupees (the unit of the
    smallest tick away from zero), e.g. 99.95 L / 100.00 L / 100.05 L."""
    sizes = [abs(v) for v in values if v]
    smallest = min(sizes) if sizes else 0.0
    unit, suffix = (
        (CRORE, " Cr") if smallest >= CRORE else (LAKH, " L") if smallest >= LAKH else (1.0, "")
    )
    places = _decimals(spacing / unit)
    if unit == 1.0:
        return [inr(Decimal(f"{v:.{places}f}"), places) for v in values]
    places = max(places, 2)
    return [f"{v / unit:,.{places}f}{suffix}" for v in values]


def percent_ticks(values: Sequence[float], spacing: float) -> list[str]:
    """Percent labels (values already in percent) with the decimals the spacing needs."""
    places = _decimals(spacing)
    return [f"{v:,.{places}f}%" for v in values]


class RupeeAxis(DirectAxis):
    """Money ticks in lakh and crore, never 1e+07."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return rupee_ticks([v * scale for v in values], spacing * scale)


class PercentAxis(DirectAxis):
    """Percent ticks as written, never rescaled into "(x0.001)"."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return percent_ticks([v * scale for v in values], spacing * scale)
