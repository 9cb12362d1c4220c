"""The bar fill model as rules over one bar: whether an order trades in it, which comes first
inside it, and at what price (engine/backtest/config.py documents the model in words).

Every venue that fills orders against bars asks these: the backtest's venue, which searches
many bars at once with numpy (engine/backtest/matching.py applies the same comparisons to
arrays), and the streaming venue that sees one bar at a time as the paper broker does. A
faster search may change how a bar is found, never what counts as reaching a price.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from engine.domain.enums import OrderType, Side
from engine.execution.orders import ManagedOrder
from engine.execution.prices import slipped


class Working(Enum):
    """How an open order waits for the market."""

    AT_OPEN = "at-open"  # market orders, and stops already hit: the next open
    TRAILING = "trailing"  # a trailing stop: trails the best price seen, then trades
    LIMIT = "limit"  # a limit, or a stop-limit whose trigger was hit: at the limit or better
    STOP = "stop"  # a stop (SL, SL-M) waiting for its trigger


# Enum members as module names: on Python 3.11 `OrderType.MARKET` costs ~120 ns per read (a
# descriptor on the class), a global ~10 ns, and these rules run several times per order.
AT_OPEN, TRAILING, LIMIT, STOP = Working.AT_OPEN, Working.TRAILING, Working.LIMIT, Working.STOP
_MARKET, _LIMIT, _SL = OrderType.MARKET, OrderType.LIMIT, OrderType.SL
_BUY = Side.BUY


def working(order: ManagedOrder) -> Working:
    if (order.order_type is _MARKET and order.trail is None) or order.stop_hit:
        return AT_OPEN
    if order.trail is not None:
        return TRAILING
    if order.order_type is _LIMIT or order.triggered:
        return LIMIT
    return STOP


def level_of(order: ManagedOrder, how: Working) -> int:
    """The price (paise) a LIMIT or STOP order waits for."""
    level = order.limit if how is LIMIT else order.trigger
    assert level is not None, f"{order.order_id}: a {how.value} order without its price"
    return level


def reached(how: Working, buy: bool, high: int, low: int, level: int) -> bool:
    """Whether a bar with this high and low reaches a LIMIT or STOP level: a buy limit when
    the low is at or below it, a buy stop when the high is at or above it (sells mirrored)."""
    below = buy == (how is LIMIT)
    return low <= level if below else high >= level


def trailing_level(sell: bool, best: int, trail: int) -> int:
    """The stop of a trailing stop that protects a long (`sell`) or a short, from the best
    price of the bars before the one tested (the order of high and low inside a bar is
    unknown, so a bar's own extreme never moves its own stop)."""
    return best - trail if sell else best + trail


def trailing_hit(sell: bool, high: int, low: int, level: int) -> bool:
    return low <= level if sell else high >= level


def next_best(sell: bool, best: int, high: int, low: int) -> int:
    return max(best, high) if sell else min(best, low)


def intrabar_priority(
    order: ManagedOrder, how: Working, level: int, opening: int, stop_first: bool
) -> int:
    """Which of several orders reached inside one bar trades first: a bar that OPENS at or
    through the level trades at the open, before everything (-1); otherwise stops before
    targets when `stop_first` (the pessimistic reading of a bar that reached both)."""
    buy = order.side is _BUY
    limit_like = how is LIMIT
    through = (opening <= level) if buy == limit_like else (opening >= level)
    if through:
        return -1
    stop_priority = 0 if stop_first else 1
    return 1 - stop_priority if limit_like else stop_priority


def fill_price(
    order: ManagedOrder, how: Working, opening: int, trail_level: int, bps: Decimal, tick: int
) -> int | None:
    """The price the order trades at in a bar that reached it, or None for a stop-limit
    whose trigger the bar gapped past its limit (it then rests as a limit)."""
    buy = order.side is _BUY
    if how is AT_OPEN:
        return slipped(opening, order.side, bps, tick)
    if how is TRAILING:
        touched = max(opening, trail_level) if buy else min(opening, trail_level)
        return slipped(touched, order.side, bps, tick)
    if how is LIMIT:
        assert order.limit is not None
        return min(opening, order.limit) if buy else max(opening, order.limit)
    assert order.trigger is not None
    touched = max(opening, order.trigger) if buy else min(opening, order.trigger)
    price = slipped(touched, order.side, bps, tick)
    if order.order_type is _SL:
        assert order.limit is not None
        if (price > order.limit) if buy else (price < order.limit):
            return None
    return price
