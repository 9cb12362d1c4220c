"""Pre-trade checks: pure rules over an instrument, the portfolio and the marks.

Every mode asks these before an order reaches a venue: the backtest's host, the paper broker
and the live runner (whose risk manager adds its limits here). Rejections are states, not
exceptions to the strategy (as at a broker): the order comes back REJECTED with the message,
and the strategy hears it through `on_order`.

Margin (simple, documented rule): an order is rejected when the equity left after blocking
margin for open positions cannot cover it. Margin = notional x rate: CNC 100%, equity MIS 20%
(5x), futures 15%, long options 100% of premium, short options 15% of strike x quantity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from engine.costs import ChargeSegment
from engine.domain.enums import Exchange, OrderType, Product, Segment, Side
from engine.domain.instrument import Instrument
from engine.execution.portfolio import Portfolio
from engine.execution.prices import Bracket, misplaced, price_to_paise, rupees
from engine.strategy.requests import OrderRequest

# Enum members read on every order, as module names: on Python 3.11 `Side.BUY` costs ~120 ns
# per read (a descriptor on the class), a global ~10 ns.
_BUY, _MIS = Side.BUY, Product.MIS
_FUTURES, _OPTIONS = Segment.FUTURES, Segment.OPTIONS


@dataclass(frozen=True)
class MarginRates:
    delivery: Decimal = Decimal("1")
    equity_intraday: Decimal = Decimal("0.20")
    futures: Decimal = Decimal("0.15")
    short_options: Decimal = Decimal("0.15")


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """An instrument's trading rules as the order path uses them: integers in paise."""

    instrument: Instrument
    tick: int  # paise
    lot: int
    freeze: int | None  # the largest single order the exchange accepts
    is_equity: bool
    cost_exchange: Exchange  # whose charge table applies (NFO trades are NSE's)

    @classmethod
    def of(cls, instrument: Instrument) -> InstrumentRules:
        tick = int(instrument.tick_size * 100)
        if Decimal(tick) != instrument.tick_size * 100:
            raise ValueError(
                f"{instrument.symbol}: tick size {instrument.tick_size} is finer than a paisa"
            )
        exchange = instrument.exchange
        return cls(
            instrument,
            tick,
            instrument.lot_size,
            instrument.freeze_quantity,
            instrument.segment is Segment.EQUITY,
            exchange.cash_exchange,
        )

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def charge_segment(self, product: Product) -> ChargeSegment:
        return ChargeSegment.of(self.instrument.segment, product)


class OrderRejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


POINTS_HINT = (
    "stop_loss and target are prices, not distances: use stop_loss_points=/target_points= "
    "for distances"
)


def order_prices(
    rules: InstrumentRules, request: OrderRequest, last_close: int
) -> tuple[int | None, int | None, Bracket | None]:
    """Limit, trigger and bracket in paise, rounded to the tick in the trader's favour's
    opposite (a buy limit never pays more than asked, a buy stop never triggers early).

    A bracket's exits must lie on the protecting side of the entry price: the limit price of
    a LIMIT entry, the trigger of an SL/SL-M entry, the last close (`last_close`, paise) for a
    MARKET entry. The simulator checks them again against the actual fill (a gap can carry
    the fill past an exit)."""
    buy = request.side is _BUY
    t = rules.tick
    limit = trigger = None
    if request.price is not None:
        limit = price_to_paise(request.price, t, "down" if buy else "up", "price")
    if request.trigger is not None:
        trigger = price_to_paise(request.trigger, t, "up" if buy else "down", "trigger")
    if (
        request.stop_loss is None
        and request.target is None
        and request.trail is None
        and request.stop_loss_points is None
        and request.target_points is None
    ):
        return limit, trigger, None  # no bracket: the common case, kept cheap
    given = {
        name: getattr(request, name)
        for name in ("stop_loss", "target", "trail", "stop_loss_points", "target_points")
        if getattr(request, name) is not None
    }
    paise = {name: price_to_paise(value, t, "nearest", name) for name, value in given.items()}
    bracket = Bracket(
        paise.get("stop_loss"),
        paise.get("target"),
        paise.get("trail"),
        paise.get("stop_loss_points"),
        paise.get("target_points"),
    )
    if request.order_type is OrderType.MARKET:
        entry, source = last_close, "the last close, for a market order"
    elif limit is not None and request.order_type is OrderType.LIMIT:
        entry, source = limit, "its limit price"
    else:
        assert trigger is not None
        entry, source = trigger, "its trigger"
    stop, target = bracket.levels(request.side, entry)
    for name, level in (("stop_loss", bracket.stop_loss), ("target", bracket.target)):
        problem = None if level is None else misplaced(name, level, request.side, entry)
        if problem is not None:
            raise OrderRejected(f"{problem} ({source}); {POINTS_HINT}")
    for name, level in (("stop_loss_points", stop), ("target_points", target)):
        if name in given and level is not None and level <= 0:
            raise OrderRejected(
                f"{name} {rupees(paise[name])} from the entry price {rupees(entry)} of a "
                f"{request.side} ({source}) puts the exit at {rupees(level)}, not a price"
            )
    return limit, trigger, bracket


def check_quantity(rules: InstrumentRules, quantity: object) -> int:
    """A positive whole number of lots: an int or a numpy integer (never a float, not even
    100.0: a float quantity usually comes from arithmetic that should have been rounded)."""
    if type(quantity) is not int:  # a plain int, nearly every order, skips these tests
        if isinstance(quantity, np.integer):
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise OrderRejected(_not_whole(quantity))
    if quantity <= 0:
        raise OrderRejected(_not_whole(quantity))
    if quantity % rules.lot:
        raise OrderRejected(f"quantity {quantity} is not a multiple of the lot size {rules.lot}")
    return quantity


def _not_whole(quantity: object) -> str:
    hint = ""
    if isinstance(quantity, float | np.floating) and float(quantity).is_integer():
        hint = " (a float: pass int(...) of it)"
    return f"quantity must be a positive whole number, got {quantity!r}{hint}"


def freeze_slices(rules: InstrumentRules, quantity: int) -> list[int]:
    """The exchange's freeze limit: an order above it goes as several, each a whole number of
    lots no larger than the freeze quantity."""
    if not rules.freeze:
        return [quantity]
    chunk = (rules.freeze // rules.lot) * rules.lot
    if chunk <= 0:
        raise OrderRejected(f"freeze quantity {rules.freeze} is smaller than a lot ({rules.lot})")
    return [min(chunk, quantity - offset) for offset in range(0, quantity, chunk)]


def check_account(
    rules: InstrumentRules,
    portfolio: Portfolio,
    rates: MarginRates | None,
    side: Side,
    product: Product,
    quantity: int,
    price: int,
    rules_of: Mapping[str, InstrumentRules],
    marks_of: Callable[[], dict[str, int]],
) -> None:
    """Equity shorts only intraday; enough free equity for the margin (`rates`; None skips
    the margin check).

    Free equity = cash + marked value of positions - margin they block, which treats stock,
    futures and options alike under cash-flow accounting. `marks_of` gives each symbol's
    last price in paise (computed only when margin is checked). Orders that only reduce a
    position always pass.
    """
    symbol = rules.symbol
    book = portfolio.position(symbol, product)
    after = book.quantity + (quantity if side is _BUY else -quantity)
    if rules.is_equity and product is not _MIS and after < 0:
        raise OrderRejected(
            f"selling {quantity} {symbol} as {product} would leave a short of {-after}: "
            "equity shorts are intraday only (use MIS)"
        )
    if rates is None or abs(after) <= abs(book.quantity):
        return
    same_side = book.quantity == 0 or (after > 0) == (book.quantity > 0)
    added = abs(after) - abs(book.quantity) if same_side else abs(after)
    need = margin(rules, rates, product, added, price, short=after < 0)
    equity, blocked = marked_account(portfolio, rates, rules_of, marks_of)
    free = equity - blocked  # equity not already pledged as margin
    if need > free:
        raise OrderRejected(
            f"insufficient funds for {quantity} {symbol}: margin needed "
            f"Rs {Decimal(need) / 100:,.2f}, free Rs {Decimal(max(free, 0)) / 100:,.2f}"
        )


def marked_account(
    portfolio: Portfolio,
    rates: MarginRates | None,
    rules_of: Mapping[str, InstrumentRules],
    marks_of: Callable[[], dict[str, int]],
    excluding: str | None = None,
) -> tuple[int, int]:
    """(equity, margin blocked) in paise: cash plus every open position at its last price,
    and the margin those positions hold (`rates` None: their full value; the positions in
    `excluding` hold none, for a strategy sizing that instrument's position anew). The one
    account arithmetic: the margin check and what a strategy reads of its funds."""
    value = blocked = 0
    marks: dict[str, int] | None = None  # asked for once, and only when a position is open
    for (sym, prod), book in portfolio.positions.items():
        if book.quantity:
            if marks is None:
                marks = marks_of()
            mark = marks.get(sym, 0)
            size = abs(book.quantity)
            value += book.quantity * mark
            if sym == excluding:
                continue
            blocked += (
                size * mark
                if rates is None
                else margin(rules_of[sym], rates, prod, size, mark, book.quantity < 0)
            )
    return portfolio.cash + value, blocked


def margin(
    rules: InstrumentRules,
    rates: MarginRates,
    product: Product,
    quantity: int,
    price: int,
    short: bool,
) -> int:
    segment = rules.instrument.segment
    notional = quantity * price
    if segment is _FUTURES:
        rate = rates.futures
    elif segment is _OPTIONS:
        if short:
            strike = rules.instrument.strike or Decimal(0)
            return int(Decimal(quantity) * strike * 100 * rates.short_options)
        rate = Decimal(1)
    elif product is _MIS:
        rate = rates.equity_intraday
    else:
        rate = rates.delivery
    return int(notional * rate)
