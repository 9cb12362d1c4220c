"""Cash, positions and round-trip trades in integer paise; charges per contract note.

The same book in every mode: a backtest fills it from simulated fills, paper and live from the
venue's. Exactness: every amount is an int of paise, so cash after a million fills is still
exact. Positions are kept per (symbol, product) like a broker does; closing trades are matched
FIFO against open lots, and each match becomes one round-trip trade with its exact gross P&L
and its share of both fills' charges (shares are split by quantity, remainders to the last
piece, so trade charges add up to the contract notes to the paisa). Everything is keyed by
time (UTC ns), never by a bar index: live trading has no bars to count.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from engine.costs import ChargeSegment, CostModel
from engine.costs.running_note import RunningNote, open_equity_day_note, open_note
from engine.domain.enums import Exchange, Product, Side
from engine.domain.fills import Position

_EQUITY = (ChargeSegment.DELIVERY, ChargeSegment.INTRADAY)  # one note per scrip-day
_BUY = Side.BUY  # read on every fill: a module name, not an Enum member read (~120 ns on 3.11)


@dataclass(slots=True)
class Lot:
    quantity: int  # remaining open quantity (always > 0)
    price: int  # paise
    ts: int  # ns UTC of the opening fill
    charges: int  # paise of the opening fill's charges not yet assigned to a trade


class TradeRecord(NamedTuple):
    """One round trip as the portfolio matched it. Immutable; a NamedTuple rather than a
    frozen dataclass because a backtest makes one per round trip, and a frozen dataclass
    sets each field through object.__setattr__ (~1 us more per record)."""

    symbol: str
    product: Product
    long: bool
    quantity: int
    entry_ts: int
    entry_price: int
    exit_ts: int
    exit_price: int
    charges: int

    @property
    def gross_pnl(self) -> int:
        move = self.exit_price - self.entry_price
        return move * self.quantity if self.long else -move * self.quantity

    @property
    def net_pnl(self) -> int:
        return self.gross_pnl - self.charges


@dataclass(slots=True)
class PositionBook:
    quantity: int = 0  # signed
    lots: deque[Lot] = field(default_factory=deque)
    realized: int = 0  # paise, gross of charges

    def cost(self) -> int:
        """Paise paid (received, for a short) for the open lots."""
        return sum(lot.quantity * lot.price for lot in self.lots)

    def average_price(self) -> Decimal:
        if not self.lots:
            return Decimal(0)
        return (Decimal(self.cost()) / Decimal(abs(self.quantity) * 100)).quantize(
            Decimal("0.0001")
        )


@dataclass(slots=True)
class _Note:
    running: RunningNote  # the note's executions so far, as running aggregates
    charged: int = 0  # paise already debited for this note


class Portfolio:
    """The account: cash, positions, closed trades and the contract notes being charged."""

    def __init__(self, capital_paise: int, cost_model: CostModel | None) -> None:
        self.cash = capital_paise
        self.positions: dict[tuple[str, Product], PositionBook] = {}
        self._net: dict[str, int] = {}  # symbol -> quantity over all products
        self.trades: list[TradeRecord] = []
        self.total_charges = 0
        self._costs = cost_model
        self.charges_on = cost_model is not None
        self._notes: dict[tuple[date, str, str], _Note] = {}

    def position(self, symbol: str, product: Product) -> PositionBook:
        key = (symbol, product)
        book = self.positions.get(key)
        if book is None:
            book = self.positions[key] = PositionBook()
        return book

    def quantity(self, symbol: str) -> int:
        """Net quantity over all products."""
        return self._net.get(symbol, 0)

    def average_price(self, symbol: str) -> Decimal:
        """Average entry price of the net position over all products (CNC and MIS held the
        same way are one position to the strategy); 0 when flat or when the products offset."""
        books = [b for (s, _), b in self.positions.items() if s == symbol and b.quantity]
        net = sum(b.quantity for b in books)
        if not net or any((b.quantity > 0) != (net > 0) for b in books):
            return Decimal(0)
        cost = sum(b.cost() for b in books)
        return (Decimal(cost) / Decimal(abs(net) * 100)).quantize(Decimal("0.0001"))

    def domain_positions(self) -> list[Position]:
        """Open positions as domain `Position`s (for the GUI, reports and reconciliation)."""
        out = []
        for (symbol, product), book in self.positions.items():
            if book.quantity:
                out.append(
                    Position(
                        symbol,
                        product,
                        book.quantity,
                        Decimal(book.cost()) / Decimal(abs(book.quantity) * 100),
                        Decimal(book.realized).scaleb(-2),
                    )
                )
        return out

    def charge(
        self,
        symbol: str,
        segment: ChargeSegment,
        exchange: Exchange,
        day: date,
        side: Side,
        quantity: int,
        price: int,
        product: Product,
    ) -> int:
        """Add an execution to its contract note; return the paise this fill adds to it.

        Equity cash trades of a scrip-day share one note (the cost model bills CNC bought and
        sold the same day its own way: `CostModel.compute_equity_day`); F&O notes are per
        segment. The note is rounded on its aggregates, so a fill adds the new total minus
        the old; a running note (engine/costs/running_note.py) prices that in O(1), exactly
        as the model's full function over all the note's executions would.
        """
        costs = self._costs
        if costs is None:
            return 0
        equity = segment in _EQUITY
        key = (day, symbol, "EQUITY" if equity else str(segment))
        note = self._notes.get(key)
        if note is None:
            if len(self._notes) > 256:  # notes of past days never change again
                self._notes = {k: v for k, v in self._notes.items() if k[0] >= day}
            running = (
                open_equity_day_note(costs, exchange, day)
                if equity
                else open_note(costs, segment, exchange, day)
            )
            note = self._notes[key] = _Note(running)
        total = note.running.add(side, quantity, Decimal(price) / 100, product)
        paise = int(total * 100)
        delta = paise - note.charged
        note.charged = paise
        return delta

    def fill(
        self,
        symbol: str,
        product: Product,
        side: Side,
        quantity: int,
        price: int,
        ts: int,
        charges: int,
    ) -> int:
        """Book a fill; returns the position's new signed quantity."""
        signed = quantity if side is _BUY else -quantity
        self._net[symbol] = self._net.get(symbol, 0) + signed
        self.cash -= signed * price + charges
        self.total_charges += charges
        book = self.positions.get((symbol, product)) or self.position(symbol, product)
        remaining, remaining_charges = quantity, charges
        while remaining and book.quantity and (book.quantity > 0) != (signed > 0):
            lot = book.lots[0]
            matched = min(remaining, lot.quantity)
            entry_share = (
                lot.charges if matched == lot.quantity else (lot.charges * matched // lot.quantity)
            )
            exit_share = (
                remaining_charges
                if matched == remaining
                else (remaining_charges * matched // remaining)
            )
            trade = TradeRecord(
                symbol,
                product,
                book.quantity > 0,
                matched,
                lot.ts,
                lot.price,
                ts,
                price,
                entry_share + exit_share,
            )
            self.trades.append(trade)
            book.realized += trade.gross_pnl
            lot.quantity -= matched
            lot.charges -= entry_share
            remaining -= matched
            remaining_charges -= exit_share
            book.quantity += matched if book.quantity < 0 else -matched
            if lot.quantity == 0:
                book.lots.popleft()
        if remaining:
            book.lots.append(Lot(remaining, price, ts, remaining_charges))
            book.quantity += remaining if signed > 0 else -remaining
        return book.quantity
