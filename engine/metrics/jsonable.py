"""Turn metric values into what `json.dumps` writes without surprises.

JSON has no NaN or Infinity (Python's json writes them anyway, and most readers then
choke), so every non-finite float becomes null; exact money stays exact as a string.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TypeAlias

from engine.ist import ist_datetime

Json: TypeAlias = "None | bool | int | float | str | list[Json] | dict[str, Json]"


def number(value: float | int | None) -> float | int | None:
    """A finite number as is; None, NaN and +-inf as None (JSON null)."""
    if value is None or isinstance(value, int):
        return value
    return value if math.isfinite(value) else None


def money(value: Decimal) -> str:
    """Exact rupees as a plain decimal string ("1234.50"), never exponent notation."""
    return format(value, "f")


def instant(ns: int) -> str:
    """An int64-ns UTC timestamp as ISO 8601 in IST (the exchange's clock), to the µs."""
    return ist_datetime(ns).isoformat()
