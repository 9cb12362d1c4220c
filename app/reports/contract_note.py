"""One round trip's contract note, for the charges calculator (and any other front end).

The input rules (`artha charges`'s: quantity a whole number >= 1, prices > 0 in paise, a date
the schedules cover, quantity x price at most 10^24 rupees) are checked here and reported
against the field they came from; the charges themselves come from the engine's cost model
(`engine.costs.round_trip`), never from rules copied here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from app.commands.output import inr
from engine.costs import (
    DEFAULT_DP_CHARGE,
    SCHEDULES,
    ChargeBreakdown,
    ChargeSegment,
    ScheduleCoverageError,
    StampRounding,
    ZerodhaCostModel,
    normalise_bse_group,
    round_trip,
)
from engine.domain.enums import Exchange

PAISA = Decimal("0.01")
MAX_VALUE = Decimal(10) ** 24  # rupees per side: charges keep 28 significant digits
EARLIEST = min(s.valid_from for s in SCHEDULES)  # the first trade date a schedule covers
CASH_SEGMENTS = (ChargeSegment.DELIVERY, ChargeSegment.INTRADAY)
EXCHANGES = (Exchange.NSE, Exchange.BSE)


class NoteInputError(ValueError):
    """An input cannot be priced; `field` names it as the form labels it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message  # without the field: the CLI names it as its argument


def parse_quantity(text: str, field: str = "Quantity") -> int:
    """A whole number of shares or units (lots x lot size), at least 1."""
    cleaned = text.strip().replace(",", "")
    try:
        value = int(cleaned)
    except ValueError:
        raise NoteInputError(field, f"must be a whole number, got {text.strip()!r}") from None
    if value < 1:
        raise NoteInputError(field, f"must be at least 1, got {value}")
    return value


def parse_price(text: str, field: str) -> Decimal:
    """A price (or option premium) in rupees, more than 0, at most two decimals (paise)."""
    cleaned = text.strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise NoteInputError(field, f"not a number: {text.strip()!r}") from None
    if not value.is_finite():
        raise NoteInputError(field, "must be a finite number")
    if value <= 0:
        raise NoteInputError(field, f"must be a price more than 0, got {cleaned!r}")
    try:
        in_paise = value == value.quantize(PAISA)
    except InvalidOperation:  # more digits than Decimal keeps: no price is that large
        raise NoteInputError(field, f"is too large to be a price, got {cleaned!r}") from None
    if not in_paise:
        raise NoteInputError(field, f"has more than 2 decimals (paise), got {cleaned!r}")
    return value


@dataclass(frozen=True)
class NoteRequest:
    """One buy and one sell of `quantity` in one contract note, as `artha charges` takes it."""

    segment: ChargeSegment
    exchange: Exchange
    quantity: int
    buy: Decimal
    sell: Decimal
    trade_date: date
    bse_group: str = "A"  # BSE cash trades only
    stamp_rounding: StampRounding = "rupee"
    dp_charge: Decimal = DEFAULT_DP_CHARGE


@dataclass(frozen=True)
class ContractNote:
    """The engine's breakdown with the P&L and the schedule that priced it."""

    request: NoteRequest
    charges: ChargeBreakdown
    schedule_label: str  # e.g. "A (2026-04-01 onward)"

    @property
    def gross_pnl(self) -> Decimal:
        return self.charges.sell_value - self.charges.buy_value

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.charges.total

    def rows(self) -> list[tuple[str, Decimal]]:
        """(label, rupees), component by component, then the totals: the note as printed."""
        c = self.charges
        return [
            ("Buy value", c.buy_value),
            ("Sell value", c.sell_value),
            ("Turnover", c.turnover),
            ("Brokerage", c.brokerage),
            ("STT", c.stt),
            ("Exchange txn charge", c.exchange_txn),
            ("SEBI fee", c.sebi),
            (f"Stamp duty (to the {self.request.stamp_rounding})", c.stamp_duty),
            ("GST", c.gst),
            ("DP charge", c.dp),
            ("Total charges", c.total),
            ("Gross P&L", self.gross_pnl),
            ("Net P&L", self.net_pnl),
        ]


def price_note(request: NoteRequest) -> ContractNote:
    """Price `request` with Zerodha's schedule in force on its date (NoteInputError naming
    the field when the date, group or size cannot be priced)."""
    cash = request.segment in CASH_SEGMENTS
    group = "A"
    if cash and request.exchange is Exchange.BSE:
        try:
            group = normalise_bse_group(request.bse_group)
        except ValueError as exc:
            raise NoteInputError("BSE group", str(exc).removeprefix("bse_group ")) from None
    model = ZerodhaCostModel(stamp_rounding=request.stamp_rounding, dp_charge=request.dp_charge)
    try:
        schedule = model.schedule_for(request.trade_date)
    except ScheduleCoverageError as exc:
        raise NoteInputError("Trade date", str(exc)) from None
    largest = request.quantity * max(request.buy, request.sell)
    if largest > MAX_VALUE:
        raise NoteInputError(
            "Quantity",
            f"quantity x price is {largest:.3g} rupees, above the largest trade value Artha "
            "prices (10^24 rupees)",
        )
    try:
        charges = round_trip(
            request.segment,
            request.exchange,
            request.quantity,
            request.buy,
            request.sell,
            request.trade_date,
            bse_group=group,
            model=model,
        )
    except InvalidOperation:  # past Decimal's 28 digits
        raise NoteInputError("Quantity", "quantity x price is too large to price exactly") from None
    return ContractNote(request, charges, schedule.label)


def break_even_sell(note: ContractNote) -> Decimal | None:
    """The lowest sell price, to the paisa, at which this round trip's net P&L is >= 0 with
    the same buy: bisection on the engine's own charges (nothing re-derived here). None when
    no price up to the largest Artha prices gets there."""
    request = note.request

    def covers(paise: int) -> bool:
        sell = Decimal(paise) * PAISA
        return price_note(replace(request, sell=sell)).net_pnl >= 0

    low, high = 0, int(request.buy / PAISA)  # low never covers: a sell price is > 0
    try:
        for _ in range(100):
            if covers(high):
                break
            low, high = high, high * 2
        else:
            return None
        while high - low > 1:
            middle = (low + high) // 2
            if covers(middle):
                high = middle
            else:
                low = middle
    except NoteInputError:  # the search went past the largest trade Artha prices
        return None
    return Decimal(high) * PAISA


def money(value: Decimal) -> str:
    """Indian grouping, two decimals unless the exact amount needs more (as the CLI prints)."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < -2 else 2
    return inr(value, places)
