"""How a paper order trades against one quote: the rules, written once, as pure functions.

A quote that shows depth (`Quote.asks`/`bids`, or the tick's best bid/ask with its quantity)
is matched like an exchange order book; a quote with only a last price falls back to the
engine's bar fill model on a one-trade bar (engine/execution/fill_model.py, the rule tick
replay uses), slippage included (`BacktestConfig.slippage_bps`). In order:

1. **Stops (SL, SL-M)** wait for the last price to reach the trigger (a buy when it trades at
   or above it, a sell at or below: the fill model's `reached`). Triggered, an SL-M becomes a
   market order and an SL a limit at its price, matched against the same quote.
2. **Market orders** (and triggered SL-M) take the opposite side of the displayed depth best
   first, level by level, each fill at its level's price, but never beyond the market
   protection price: the last price moved against the order by the protection percentage
   (automatic: `DEFAULT_PROTECTION`), on the tick grid. Brokers send a protected market
   order as a limit at that price; the paper broker takes the conservative reading of it, an
   IOC: what the displayed depth cannot fill inside the band is CANCELLED, never left to
   trade at any price later (an exchange might fill more from depth deeper than the levels
   shown). The broker's own MIS square-off order is the exception: its rest keeps working at
   the next quotes until the position is closed. Without depth the whole order trades at the
   last price moved by the slippage model.
3. **Limit orders** (and triggered SL) take the displayed levels at or better than their
   price, best first, at each level's price (price improvement, as an exchange gives an
   aggressive limit), up to each level's quantity: partial fills. A resting limit that the
   last trade went strictly through (a buy limit above the last price) was ahead of that
   trade in the queue, so it fills at its own price, up to the quantity traded since the
   previous quote (none when no volume was added: the last price may be an old trade). A
   trade AT the limit fills nothing (our place in its queue is unknown), nor does the trade
   that triggered a stop-limit. Without depth the fill model decides: the whole order at the
   last price when it reaches the limit.
4. **IOC** orders are matched against one quote; the broker cancels what is left.

Displayed quantity is shared: orders matched against one quote consume its levels in time
priority (the caller passes the same `Book` to each). A quote's depth is a snapshot: the next
quote may show again what an order just took, as a paper account cannot move the market.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

from engine.broker.models import AUTOMATIC, DepthLevel, Quote
from engine.domain.enums import OrderType, Side
from engine.domain.money import to_paise
from engine.execution.fill_model import (
    AT_OPEN,
    LIMIT,
    STOP,
    Working,
    fill_price,
    reached,
    working,
)
from engine.execution.orders import ManagedOrder

DEFAULT_PROTECTION: Final = Decimal(3)  # percent: what "automatic" market protection means here


class Trigger:
    """What a stop becomes when its trigger is reached (journalled before it is acted on)."""

    MARKET: Final = "stop_hit"  # an SL-M: the rest goes at market
    LIMIT: Final = "triggered"  # an SL: rests as a limit at its price


@dataclass(slots=True)
class Book:
    """One side of a quote's displayed depth in paise, best first, as our fills consume it
    during one quote. `None` levels: the quote shows no depth on that side."""

    levels: list[list[int]] | None  # [price paise, quantity]

    @classmethod
    def opposite(cls, quote: Quote, buy: bool) -> Book:
        """What a buy trades against (the asks) or a sell (the bids)."""
        shown: tuple[DepthLevel, ...] = quote.asks if buy else quote.bids
        if shown:
            return cls([[to_paise(level.price), level.quantity] for level in shown])
        tick = quote.tick
        price, quantity = (tick.ask, tick.ask_qty) if buy else (tick.bid, tick.bid_qty)
        if price is not None and quantity:
            return cls([[to_paise(price), quantity]])
        return cls(None)


@dataclass(slots=True)
class Match:
    """What one quote did to one order: fills (quantity, price paise) in the order they
    traded, a trigger reached, and why the rest is cancelled (None: it keeps working)."""

    fills: list[tuple[int, int]] = field(default_factory=list)
    trigger: str | None = None
    cancel_rest: str | None = None

    @property
    def quantity(self) -> int:
        return sum(quantity for quantity, _ in self.fills)


def protection_price(last: int, buy: bool, percent: Decimal | None, tick: int) -> int:
    """The worst price a protected market order may trade at (paise): the last price moved
    against the order by `percent` (None or AUTOMATIC: DEFAULT_PROTECTION), on the tick grid
    inside the band."""
    pct = DEFAULT_PROTECTION if percent is None or percent == AUTOMATIC else percent
    factor = 1 + pct / 100 if buy else 1 - pct / 100
    ticks = (Decimal(last) * factor / tick).to_integral_value(ROUND_FLOOR if buy else ROUND_CEILING)
    return max(int(ticks), 1) * tick


def match(
    order: ManagedOrder,
    last: int,
    traded: int,
    book: Book,
    *,
    tick: int,
    lot: int,
    slippage_bps: Decimal,
    protection: Decimal | None,
    keep_market_rest: bool = False,
) -> Match:
    """Match `order` against one quote: last price `last` (paise), `traded` quantity since
    the previous quote (0: none or unknown), the opposite side's displayed depth `book` (consumed).
    The order itself is not changed: the caller journals and applies the result."""
    result = Match()
    buy = order.side is Side.BUY
    remaining = order.remaining
    how = working(order)
    if how is Working.TRAILING:  # the paper broker takes no trailing orders; never here
        raise ValueError(f"{order.order_id}: trailing stops are kept by the emulator")
    if how is STOP:
        assert order.trigger is not None
        if not reached(STOP, buy, last, last, order.trigger):
            return result
        market = order.order_type is OrderType.SL_M
        result.trigger = Trigger.MARKET if market else Trigger.LIMIT
        if book.levels is None:  # no depth: the fill model's stop on a one-trade bar
            price = fill_price(order, STOP, last, 0, slippage_bps, tick)
            if price is not None:  # None: an SL gapped past its limit, now resting
                result.fills.append((remaining, price))
            return result
        how = AT_OPEN if market else LIMIT
    if how is AT_OPEN:
        if book.levels is None:
            price = fill_price(order, AT_OPEN, last, 0, slippage_bps, tick)
            assert price is not None
            result.fills.append((remaining, price))
            return result
        worst = protection_price(last, buy, protection, tick)
        left = _take(book.levels, buy, worst, remaining, lot, result)
        if left and not keep_market_rest:
            result.cancel_rest = (
                f"market protection: {left} not filled within the protection price "
                f"{Decimal(worst).scaleb(-2)} (the displayed depth ran out)"
            )
        return result
    assert order.limit is not None
    limit = order.limit
    if book.levels is None:  # the fill model's limit on a one-trade bar
        if reached(LIMIT, buy, last, last, limit):
            price = fill_price(order, LIMIT, last, 0, slippage_bps, tick)
            assert price is not None
            result.fills.append((remaining, price))
        return result
    left = _take(book.levels, buy, limit, remaining, lot, result)
    # a trade through the limit on the quote that triggered a stop-limit came before the
    # limit was working: it cannot have traded with it
    through = (last < limit if buy else last > limit) and result.trigger is None
    if left and through and traded > 0:
        quantity = min(left, traded)
        quantity -= quantity % lot
        if quantity:
            result.fills.append((quantity, limit))
    return result


def _take(
    levels: list[list[int]], buy: bool, worst: int, wanted: int, lot: int, result: Match
) -> int:
    """Consume displayed levels at or better than `worst`, best first; returns what is left."""
    left = wanted
    for level in levels:
        if not left:
            break
        price, shown = level
        if (price > worst) if buy else (price < worst):
            break
        quantity = min(left, shown)
        quantity -= quantity % lot
        if quantity <= 0:
            continue
        level[1] -= quantity
        left -= quantity
        result.fills.append((quantity, price))
    return left
