"""Contract notes of the paper account, charged per EXECUTED ORDER through the cost model.

A real contract note charges brokerage once per executed order, however many trades filled
it, and rounds STT, stamp duty and the exchange charges on the note's totals. An order that
fills in three trades against the depth is therefore one execution of the note (its three
fills' quantity at their average price), and each fill is charged what it adds to the note's
total, so an account's charges equal the cost model's contract notes to the paisa at every
moment. The note is one scrip's equity orders of one day (CNC and MIS together:
`CostModel.compute_equity_day`) or one F&O segment's orders of a scrip and day
(`CostModel.compute`), as the protocol defines them.

The average price of an order's fills is carried at 60 significant digits: the model
multiplies it back by the quantity at the usual 28, which rounds to the exact value of the
fills (a few paise-exact digits), so no charge ever sees a value off by a fraction of a paisa.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Final

from engine.costs import ChargeBreakdown, CostModel, EquityExecution, Execution
from engine.domain.enums import Product, Side
from engine.execution.checks import InstrumentRules

_PRECISION: Final = 60
NoteKey = tuple[date, str, str]  # (trade date, instrument key, "EQUITY" or the F&O segment)


@dataclass(slots=True)
class _OrderPart:
    side: Side
    product: Product
    quantity: int
    value: int  # paise


def exact_average(value_paise: int, quantity: int) -> Decimal:
    """Rupees per unit that the cost model multiplies back into exactly `value_paise`."""
    with localcontext() as context:
        context.prec = _PRECISION
        average = Decimal(value_paise) / Decimal(quantity * 100)
    if average * quantity != Decimal(value_paise).scaleb(-2):  # at the default precision
        raise ArithmeticError(f"{value_paise} paise over {quantity} is not exact")
    return average


class ContractNotes:
    """The account's notes: each fill's charge is the increase of its note's total."""

    def __init__(self, model: CostModel | None) -> None:
        self.model = model
        self._orders: dict[NoteKey, dict[str, _OrderPart]] = {}
        self._charged: dict[NoteKey, int] = {}

    @staticmethod
    def key(rules: InstrumentRules, product: Product, day: date) -> NoteKey:
        group = "EQUITY" if rules.is_equity else str(rules.charge_segment(product))
        return (day, rules.instrument.key, group)

    def charge_of(
        self,
        rules: InstrumentRules,
        order_id: str,
        side: Side,
        product: Product,
        quantity: int,
        price: int,
        day: date,
    ) -> int:
        """Paise this fill adds to its note (nothing is recorded: `add` does that)."""
        if self.model is None:
            return 0
        key = self.key(rules, product, day)
        parts = {k: _OrderPart(p.side, p.product, p.quantity, p.value) for k, p in
                 self._orders.get(key, {}).items()}  # fmt: skip
        _grow(parts, order_id, side, product, quantity, price)
        return self._total(rules, product, day, parts) - self._charged.get(key, 0)

    def add(
        self,
        rules: InstrumentRules,
        order_id: str,
        side: Side,
        product: Product,
        quantity: int,
        price: int,
        day: date,
        charges: int,
    ) -> None:
        """Record a fill and the charge it was booked with."""
        key = self.key(rules, product, day)
        _grow(self._orders.setdefault(key, {}), order_id, side, product, quantity, price)
        self._charged[key] = self._charged.get(key, 0) + charges

    def breakdown(self, rules: InstrumentRules, product: Product, day: date) -> ChargeBreakdown:
        """The whole note as the cost model prices it now."""
        parts = self._orders.get(self.key(rules, product, day), {})
        return self._price(rules, product, day, parts)

    def _total(
        self, rules: InstrumentRules, product: Product, day: date, parts: dict[str, _OrderPart]
    ) -> int:
        return int(self._price(rules, product, day, parts).total * 100)

    def _price(
        self, rules: InstrumentRules, product: Product, day: date, parts: dict[str, _OrderPart]
    ) -> ChargeBreakdown:
        model = self.model
        if model is None or not parts:
            return ChargeBreakdown.zero()
        exchange = rules.cost_exchange
        if rules.is_equity:
            equity = [
                EquityExecution(p.side, p.quantity, exact_average(p.value, p.quantity), p.product)
                for p in parts.values()
            ]
            return model.compute_equity_day(equity, exchange, day)
        executions = [
            Execution(p.side, p.quantity, exact_average(p.value, p.quantity))
            for p in parts.values()
        ]
        return model.compute(executions, rules.charge_segment(product), exchange, day)


def _grow(
    parts: dict[str, _OrderPart],
    order_id: str,
    side: Side,
    product: Product,
    quantity: int,
    price: int,
) -> None:
    part = parts.get(order_id)
    if part is None:
        parts[order_id] = _OrderPart(side, product, quantity, quantity * price)
    else:
        part.quantity += quantity
        part.value += quantity * price
