"""Cash, positions and round-trip trades in integer paise; charges per contract note.

Exactness: every amount is an int of paise, so cash after a million fills is still exact.
Positions are kept per (symbol, product) like a broker does; closing trades are matched FIFO
against open lots, and each match becomes one round-trip trade with its exact gross P&L and
its share of both fills' charges (shares are split by quantity, remainders to the last piece,
so trade charges add up to the contract notes to the paisa).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.costs import ChargeSegment, CostModel, Execution, ZerodhaCostModel
from engine.costs.equity_day import EquityExecution, equity_day_note
from engine.domain.enums import Exchange, Product, Side


@dataclass(slots=True)
class Lot:
    quantity: int  # remaining open quantity (always > 0)
    price: int  # paise
    bar: int  # local bar index of the opening fill
    ts: int  # ns UTC of the opening bar
    charges: int  # paise of the opening fill's charges not yet assigned to a trade


@dataclass(frozen=True, slots=True)
class TradeRecord:
    symbol: str
    product: Product
    long: bool
    quantity: int
    entry_bar: int
    entry_ts: int
    entry_price: int
    exit_bar: int
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

    def average_price(self) -> Decimal:
        if not self.lots:
            return Decimal(0)
        total = sum(lot.quantity * lot.price for lot in self.lots)
        return (Decimal(total) / Decimal(abs(self.quantity) * 100)).quantize(Decimal("0.0001"))


@dataclass(slots=True)
class _Note:
    executions: list[Execution] = field(default_factory=list)
    equity: list[EquityExecution] = field(default_factory=list)
    charged: int = 0  # paise already debited for this note


class Ledger:
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
        return self._net.get(symbol, 0)

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

        Equity cash trades of a scrip-day share one note (CNC bought and sold the same day is
        billed as intraday: engine/costs/equity_day.py); F&O notes are per segment.
        """
        if self._costs is None:
            return 0
        equity = segment in (ChargeSegment.DELIVERY, ChargeSegment.INTRADAY)
        key = (day, symbol, "EQUITY" if equity else str(segment))
        note = self._notes.get(key)
        if note is None:
            if len(self._notes) > 256:  # notes of past days never change again
                self._notes = {k: v for k, v in self._notes.items() if k[0] >= day}
            note = self._notes[key] = _Note()
        rupees = Decimal(price) / 100
        if equity and isinstance(self._costs, ZerodhaCostModel):
            note.equity.append(EquityExecution(side, quantity, rupees, product))
            total = equity_day_note(self._costs, note.equity, exchange, day).total
        else:
            note.executions.append(Execution(side, quantity, rupees))
            total = self._costs.compute(note.executions, segment, exchange, day).total
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
        bar: int,
        ts: int,
        charges: int,
    ) -> int:
        """Book a fill; returns the position's new signed quantity."""
        signed = quantity if side is Side.BUY else -quantity
        self._net[symbol] = self._net.get(symbol, 0) + signed
        self.cash -= signed * price + charges
        self.total_charges += charges
        book = self.position(symbol, product)
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
                lot.bar,
                lot.ts,
                lot.price,
                bar,
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
            book.lots.append(Lot(remaining, price, bar, ts, remaining_charges))
            book.quantity += remaining if signed > 0 else -remaining
        return book.quantity
