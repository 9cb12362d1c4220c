"""Order prices in integer paise on the tick grid: what an author wrote, made exact.

Every mode (backtest, paper, live) turns a strategy's prices into paise here, and words a
misplaced bracket exit the same way, so a price refused in a backtest is refused live.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np

from engine.domain.enums import Side

_MODES = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}


def to_number(value: object, field_name: str) -> Decimal:
    """The exact decimal an author wrote: int, float, Decimal, numeric text, or a numpy number
    (`data.close[-1]` is a numpy float64); floats are read as the shortest decimal that prints
    as them, so 428.35 is 428.35, not its binary neighbour."""
    if type(value) is Decimal:  # what strategies computing prices exactly pass: asked first
        return value
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{field_name} must be a number, got {value!r}")
    if isinstance(value, np.floating):
        text = str(value)  # numpy's shortest repr at the value's own precision (float32 too)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int | np.integer):
        return Decimal(int(value))
    elif isinstance(value, Decimal):
        return value
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise TypeError(f"{field_name} must be a number, got {type(value).__name__} {value!r}")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise TypeError(f"{field_name} must be a number, got {value!r}") from None


def rupees(paise: int) -> str:
    """Paise as rupees with two decimals, for messages: 42835 -> '428.35'."""
    return str(Decimal(paise).scaleb(-2))


def price_to_paise(value: object, tick: int, mode: str, field_name: str) -> int:
    """Exact paise on the tick grid (see to_number); non-positive values, and values that
    round to less than one tick, are refused: such a price can never trade."""
    number = to_number(value, field_name)
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{field_name} must be a positive number, got {number}")
    ticks = int((number * 100 / tick).to_integral_value(_MODES[mode]))
    if ticks < 1:
        raise ValueError(
            f"{field_name} {number} rounds to {rupees(ticks * tick)} on the "
            f"{rupees(tick)} tick: it must be at least one tick ({rupees(tick)})"
        )
    return ticks * tick


def slipped(price: int, side: Side, bps: Decimal, tick: int) -> int:
    """Move a fill price against the trader by `bps`, back onto the tick grid."""
    if not bps:
        return price
    factor = 1 + bps / 10_000 if side is Side.BUY else 1 - bps / 10_000
    mode = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
    ticks = (Decimal(price) * factor / tick).to_integral_value(mode)
    return max(int(ticks), 1) * tick


@dataclass(slots=True)
class Bracket:
    """An entry's exits: absolute prices, or distances from the entry's fill price (paise)."""

    stop_loss: int | None  # paise
    target: int | None
    trail: int | None  # paise distance
    stop_points: int | None = None  # paise distance below a long's fill (above a short's)
    target_points: int | None = None  # paise distance above a long's fill (below a short's)

    def levels(self, side: Side, fill: int) -> tuple[int | None, int | None]:
        """(stop, target) in paise for an entry on `side` filled at `fill`."""
        sign = 1 if side is Side.BUY else -1
        stop = self.stop_loss
        if self.stop_points is not None:
            stop = fill - sign * self.stop_points
        target = self.target
        if self.target_points is not None:
            target = fill + sign * self.target_points
        return stop, target


def misplaced(
    name: str, level: int, side: Side, entry: int, entry_name: str = "the entry price"
) -> str | None:
    """Why a bracket exit `name` at `level` cannot protect an entry on `side` at `entry`, or
    None: a long's stop_loss must be below its entry and its target above (a short's the
    other way round); an exit at the entry price would close the trade on its entry bar."""
    below = name.startswith("stop_loss") == (side is Side.BUY)  # the exit sits below the entry
    if (level < entry) if below else (level > entry):
        return None
    where = "at" if level == entry else ("above" if below else "below")
    return f"{name} {rupees(level)} is {where} {entry_name} {rupees(entry)} of a {side}"
