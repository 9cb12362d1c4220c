"""Exact numbers at the domain boundary: Decimal prices, integer quantities, tick rounding.

Binary floats cannot represent most prices (0.05 is not 0.05 as a float), and their errors
add up in a cash balance, so every constructor funnels money through `to_decimal`, which
refuses floats outright instead of guessing.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final, Literal, overload

if TYPE_CHECKING:  # numpy only for the array overload: importing the domain stays light
    import numpy as np
    import numpy.typing as npt

# Volume-weighted average prices of orders are reported to 1/100 paisa; brokers show two to
# four decimals, so this never hides a difference a trader can see.
AVERAGE_PRICE_QUANTUM: Final = Decimal("0.0001")

RoundingMode = Literal["nearest", "down", "up"]
_ROUNDING: Final = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}


def to_decimal(value: object, field: str) -> Decimal:
    """Accept Decimal, int or a numeric str; refuse float so binary error never enters money."""
    if isinstance(value, bool):
        raise TypeError(f"{field} must be a Decimal, int or str, got bool {value!r}")
    if isinstance(value, float):
        raise TypeError(
            f"{field} must not be a float ({value!r}): pass Decimal({str(value)!r}) or "
            f"the string {str(value)!r} so the amount stays exact"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{field} is not a number: {value!r}") from None
    else:
        raise TypeError(f"{field} must be a Decimal, int or str, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    return result


def to_positive_decimal(value: object, field: str) -> Decimal:
    """A price: exact and strictly above zero."""
    result = to_decimal(value, field)
    if result <= 0:
        raise ValueError(f"{field} must be > 0, got {result}")
    return result


def optional_positive_decimal(value: object, field: str) -> Decimal | None:
    return None if value is None else to_positive_decimal(value, field)


def to_int(value: object, field: str, *, minimum: int | None = None) -> int:
    """Quantities are whole contracts/shares; bool and float are refused, not truncated."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{field} must be >= {minimum}, got {value}")
    return value


def optional_int(value: object, field: str, *, minimum: int) -> int | None:
    return None if value is None else to_int(value, field, minimum=minimum)


def round_to_tick(
    price: Decimal | int | str, tick: Decimal, mode: RoundingMode = "nearest"
) -> Decimal:
    """Snap a price onto the exchange's tick grid; "nearest" rounds half a tick up."""
    value = to_decimal(price, "price")
    if tick <= 0:
        raise ValueError(f"tick must be > 0, got {tick}")
    try:
        rounding = _ROUNDING[mode]
    except KeyError:
        raise ValueError(f"mode must be 'nearest', 'down' or 'up', got {mode!r}") from None
    ticks = (value / tick).quantize(Decimal(1), rounding=rounding)
    return ticks * tick


def is_on_tick(price: Decimal | int | str, tick: Decimal) -> bool:
    return to_decimal(price, "price") % tick == 0


def to_paise(amount: Decimal | int | str) -> int:
    """Integer paise for vectorised code; refuses amounts with a fraction of a paisa."""
    value = to_decimal(amount, "amount").scaleb(2)
    if value != value.to_integral_value():
        raise ValueError(f"amount {amount} is not a whole number of paise")
    return int(value)


def from_paise(paise: int) -> Decimal:
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError(f"paise must be an int, got {type(paise).__name__} {paise!r}")
    return Decimal(paise).scaleb(-2)


@overload
def paise_to_rupees(paise: int) -> float: ...
@overload
def paise_to_rupees(paise: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]: ...
def paise_to_rupees(
    paise: int | npt.NDArray[np.int64],
) -> float | npt.NDArray[np.float64]:
    """Float rupees for what strategies compute with (indicators, bar views); exact money
    stays in paise or `from_paise`'s Decimal."""
    return paise / 100.0
