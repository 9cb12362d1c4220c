"""The vocabulary of the cost models: segments, executions, the charge breakdown, errors.

A charge is computed per contract note (one trading day, one scrip, one segment), because
that is where the exchange and the taxman round: STT to the rupee on the note's values,
brokerage to the paisa per executed order. A backtest therefore groups its fills the same way
and asks a `CostModel` once per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final, Protocol

from engine.domain.enums import Exchange, Product, Segment, Side
from engine.domain.money import to_int, to_positive_decimal

ZERO: Final = Decimal(0)
PAISA: Final = Decimal("0.01")
RUPEE: Final = Decimal(1)
# Adding this keeps two decimals on every amount (201 + 0.00 = 201.00) without a quantize.
ZERO_PAISE: Final = Decimal("0.00")


def round_paisa(amount: Decimal) -> Decimal:
    """Half-up to 0.01, as Zerodha's calculator and contract notes round (india-domain §1.4)."""
    return amount.quantize(PAISA, ROUND_HALF_UP)  # positional: half the call cost


def round_rupee(amount: Decimal) -> Decimal:
    """Half-up to the rupee (STT; stamp duty by default), kept with two decimals."""
    return amount.quantize(RUPEE, ROUND_HALF_UP) + ZERO_PAISE


class ChargeSegment(StrEnum):
    """The four charge tables of a broker; not the instrument's `Segment` (EQ is two of them)."""

    DELIVERY = "delivery"
    INTRADAY = "intraday"
    FUTURES = "futures"
    OPTIONS = "options"

    @classmethod
    def of(cls, segment: Segment | str, product: Product | str) -> ChargeSegment:
        """Map an instrument segment and order product: EQ+CNC is delivery, EQ+MIS intraday."""
        if type(segment) is Segment and type(product) is Product:  # on every fill: kept
            known = _CHARGE_SEGMENTS.get((segment, product))
            if known is None:
                known = _CHARGE_SEGMENTS[segment, product] = cls._map(segment, product)
            return known
        return cls._map(Segment(segment), Product(product))

    @classmethod
    def _map(cls, seg: Segment, prod: Product) -> ChargeSegment:
        if seg is Segment.FUTURES:
            return cls.FUTURES
        if seg is Segment.OPTIONS:
            return cls.OPTIONS
        if seg is Segment.EQUITY and prod is Product.CNC:
            return cls.DELIVERY
        if seg is Segment.EQUITY and prod is Product.MIS:
            return cls.INTRADAY
        raise ValueError(f"no charge segment for instrument segment {seg} with product {prod}")


# ChargeSegment.of's answers by (segment, product) members; a refused pair raises each time.
_CHARGE_SEGMENTS: dict[tuple[Segment, Product], ChargeSegment] = {}


# Why the schedules stop at 2020-07-01, in the words every refusal uses.
BEFORE_UNIFORM_STAMP: Final = (
    "stamp duty became one national rate on 2020-07-01; before that each state set its own"
)


class ScheduleCoverageError(ValueError):
    """The trade date lies outside every charge schedule we model; guessing would mislead."""

    def __init__(self, trade_date: date, earliest: date) -> None:
        super().__init__(
            f"no charge schedule covers trade date {trade_date.isoformat()}: the earliest "
            f"modelled starts {earliest.isoformat()} ({BEFORE_UNIFORM_STAMP})"
        )
        self.trade_date = trade_date
        self.earliest = earliest


class ExecutionLike(Protocol):
    """Anything with side, quantity and price: our `Execution`, or a domain `Fill`."""

    @property
    def side(self) -> Side: ...
    @property
    def quantity(self) -> int: ...
    @property
    def price(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class Execution:
    """One EXECUTED ORDER (all its fills together): brokerage is charged per executed order.

    For options `price` is the premium per unit and `quantity` the units (lots x lot size).
    """

    side: Side
    quantity: int
    price: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))
        to_int(self.quantity, "quantity", minimum=1)
        object.__setattr__(self, "price", to_positive_decimal(self.price, "price"))

    @property
    def value(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class EquityExecution:
    """An executed equity order with its product: a scrip-day's CNC and MIS orders share one
    contract note, and how CNC is billed depends on the day's other CNC orders."""

    side: Side
    quantity: int
    price: Decimal  # rupees
    product: Product  # CNC or MIS


@dataclass(frozen=True, slots=True)
class ChargeBreakdown:
    """What one contract note charges, each component already rounded as the note rounds it.

    buy_value/sell_value/turnover are exact (price x quantity). `total` is the sum of the
    seven components; P&L is not here because a note need not close a position.
    """

    brokerage: Decimal
    stt: Decimal
    exchange_txn: Decimal
    sebi: Decimal
    stamp_duty: Decimal
    gst: Decimal
    dp: Decimal
    total: Decimal
    buy_value: Decimal
    sell_value: Decimal
    turnover: Decimal

    @classmethod
    def zero(cls) -> ChargeBreakdown:
        z = ZERO_PAISE
        return cls(z, z, z, z, z, z, z, z, z, z, z)

    def __add__(self, other: ChargeBreakdown) -> ChargeBreakdown:
        """Sum of notes, e.g. a backtest's total costs; each note stays rounded on its own."""
        if not isinstance(other, ChargeBreakdown):
            return NotImplemented
        return ChargeBreakdown(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )

    def as_json(self) -> dict[str, str]:
        """Decimal strings in plain notation (never '1E+3'), keyed by field name."""
        return {f.name: format(getattr(self, f.name), "f") for f in fields(self)}


class CostModel(Protocol):
    """What a backtest needs: charges for one contract note, and a name for its report."""

    name: str

    def compute(
        self,
        executions: Sequence[ExecutionLike],
        segment: ChargeSegment | str,
        exchange: Exchange | str,
        trade_date: date,
        *,
        bse_group: str = "A",
        exercised_value: Decimal = ZERO,
    ) -> ChargeBreakdown: ...

    def compute_equity_day(
        self,
        executions: Sequence[EquityExecution],
        exchange: Exchange | str,
        trade_date: date,
    ) -> ChargeBreakdown:
        """The contract note of one scrip's equity orders of one day, CNC and MIS together
        (a broker may bill CNC bought and sold the same day as intraday)."""
        ...

    def describe(self, trade_date: date) -> str:
        """Which schedule/rate applies on trade_date, for reports."""
        ...
