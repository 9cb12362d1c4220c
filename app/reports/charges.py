"""The run's charges by contract-note component: brokerage, STT, exchange, SEBI, stamp, GST, DP.

A result keeps each trade's charges as one amount (the ledger books the increase of the
contract note each fill makes). To itemise them, the closed trades' fills are put back on
their notes (one scrip, one IST day; the equity notes of CNC and MIS together) and priced
with the run's own cost model through the engine's running notes, in time order, as the
portfolio priced them. The fills of positions still open at the end are not among the
closed trades, so what they paid shows as its own line; the itemised notes and that line
add up to the ledger's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.backtest import BacktestResult, Trade
from engine.costs import ChargeBreakdown, make_cost_model
from engine.costs.running_note import open_equity_day_note
from engine.domain.enums import Product, Side
from engine.ist import ist_date_of, ns_of

COMPONENTS: tuple[tuple[str, str], ...] = (
    ("brokerage", "Brokerage"),
    ("stt", "STT"),
    ("exchange_txn", "Exchange transaction"),
    ("sebi", "SEBI turnover fee"),
    ("stamp_duty", "Stamp duty"),
    ("gst", "GST"),
    ("dp", "DP charges"),
)
_EQUITY = (Product.CNC, Product.MIS)
Fill = tuple[int, Side, int, Decimal, Product]  # UTC ns, side, quantity, price, product
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ChargeLine:
    key: str
    label: str
    amount: Decimal  # exact rupees


@dataclass(frozen=True)
class ChargeSummary:
    """Charges by component, with what could not be itemised, adding up to `ledger_total`."""

    model: str
    lines: tuple[ChargeLine, ...]  # the components of the closed trades' notes
    not_itemised: Decimal  # open positions' fills, F&O notes: the ledger total minus the notes
    ledger_total: Decimal  # what the run paid (BacktestResult.total_charges)
    turnover: Decimal  # of the itemised notes
    notes: int  # contract notes priced

    @property
    def itemised(self) -> Decimal:
        return sum((line.amount for line in self.lines), _ZERO)

    def rows(self) -> list[tuple[str, Decimal]]:
        """(label, rupees) for each component, the rest, and the total."""
        out = [(line.label, line.amount) for line in self.lines]
        if self.not_itemised:
            out.append(("Open positions / not itemised", self.not_itemised))
        out.append(("Total charges", self.ledger_total))
        return out


def _fills(trades: list[Trade]) -> dict[tuple[date, str], list[Fill]]:
    """The closed trades' fills on their notes: (IST day, symbol) -> fills in time order.
    Lots closed by one fill (and one fill opening lots closed apart) become one fill again."""
    merged: dict[tuple[int, str, Side, Decimal, Product], int] = {}
    for t in trades:
        if t.product not in _EQUITY:
            continue
        opening = Side.BUY if t.side == "long" else Side.SELL
        closing = Side.SELL if opening is Side.BUY else Side.BUY
        for when, side, price in (
            (t.entry_time, opening, t.entry_price),
            (t.exit_time, closing, t.exit_price),
        ):
            key = (ns_of(when), t.symbol, side, price, t.product)
            merged[key] = merged.get(key, 0) + t.quantity
    notes: dict[tuple[date, str], list[Fill]] = {}
    for (ns, symbol, side, price, product), quantity in sorted(
        merged.items(), key=lambda kv: kv[0][0]
    ):
        notes.setdefault((ist_date_of(ns), symbol), []).append((ns, side, quantity, price, product))
    return notes


def charge_summary(result: BacktestResult) -> ChargeSummary:
    """The run's charges by component (see the module doc for how they are found)."""
    config = result.config
    total = result.total_charges
    if config.costs == "none":
        lines = tuple(ChargeLine(k, label, _ZERO) for k, label in COMPONENTS)
        return ChargeSummary("none", lines, total, total, _ZERO, 0)
    model = make_cost_model(config.costs, bps=config.cost_bps)
    summed = ChargeBreakdown.zero()
    notes = _fills(result.trades)
    for (day, _symbol), fills in notes.items():
        note = open_equity_day_note(model, config.exchange, day)
        for _ns, side, quantity, price, product in fills:
            note.add(side, quantity, price, product)
        summed = summed + note.breakdown()
    lines = tuple(ChargeLine(k, label, getattr(summed, k)) for k, label in COMPONENTS)
    itemised = sum((line.amount for line in lines), _ZERO)
    return ChargeSummary(
        model=model.name,
        lines=lines,
        not_itemised=total - itemised,
        ledger_total=total,
        turnover=summed.turnover,
        notes=len(notes),
    )
