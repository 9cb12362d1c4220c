"""Order entry for the backtest host: validation against the instrument and the account.

Rejections are states, not exceptions (as at a broker): the order comes back REJECTED with a
message, the strategy hears it through `on_order`, and the run records it in its warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np

from engine.backtest.book import GTC, Bracket, SimOrder, misplaced, price_to_paise, rupees
from engine.backtest.config import BacktestConfig
from engine.backtest.ledger import Ledger
from engine.backtest.slots import Slot
from engine.domain.enums import OrderType, Product, Segment, Side, Validity
from engine.strategy.requests import OrderRequest


class OrderRejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


POINTS_HINT = (
    "stop_loss and target are prices, not distances: use stop_loss_points=/target_points= "
    "for distances"
)


def prices(
    slot: Slot, request: OrderRequest, last_close: int
) -> tuple[int | None, int | None, Bracket | None]:
    """Limit, trigger and bracket in paise, rounded to the tick in the trader's favour's
    opposite (a buy limit never pays more than asked, a buy stop never triggers early).

    A bracket's exits must lie on the protecting side of the entry price: the limit price of
    a LIMIT entry, the trigger of an SL/SL-M entry, the last close (`last_close`, paise) for a
    MARKET entry. The simulator checks them again against the actual fill (a gap can carry
    the fill past an exit)."""
    buy = request.side is Side.BUY
    t = slot.tick
    limit = trigger = None
    if request.order_type in (OrderType.LIMIT, OrderType.SL):
        if request.price is None:
            raise OrderRejected(f"{request.order_type} order needs a price")
        limit = price_to_paise(request.price, t, "down" if buy else "up", "price")
    elif request.price is not None:
        raise OrderRejected(f"{request.order_type} order takes no price")
    if request.order_type in (OrderType.SL, OrderType.SL_M):
        if request.trigger is None:
            raise OrderRejected(f"{request.order_type} order needs a trigger")
        trigger = price_to_paise(request.trigger, t, "up" if buy else "down", "trigger")
    elif request.trigger is not None:
        raise OrderRejected(f"{request.order_type} order takes no trigger")
    given = {
        name: getattr(request, name)
        for name in ("stop_loss", "target", "trail", "stop_loss_points", "target_points")
        if getattr(request, name) is not None
    }
    if not given:
        return limit, trigger, None
    for price_name, points_name in (("stop_loss", "stop_loss_points"), ("target", "target_points")):
        if price_name in given and points_name in given:
            raise OrderRejected(
                f"give {price_name} (a price) or {points_name} (a distance from the fill "
                "price), not both"
            )
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


def check_quantity(slot: Slot, quantity: object) -> int:
    """A positive whole number of lots: an int or a numpy integer (never a float, not even
    100.0: a float quantity usually comes from arithmetic that should have been rounded)."""
    if isinstance(quantity, np.integer):
        quantity = int(quantity)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        hint = ""
        if isinstance(quantity, float | np.floating) and float(quantity).is_integer():
            hint = " (a float: pass int(...) of it)"
        raise OrderRejected(f"quantity must be a positive whole number, got {quantity!r}{hint}")
    if quantity % slot.lot:
        raise OrderRejected(f"quantity {quantity} is not a multiple of the lot size {slot.lot}")
    return quantity


def check_account(
    slot: Slot,
    ledger: Ledger,
    config: BacktestConfig,
    side: Side,
    product: Product,
    quantity: int,
    price: int,
    slots: dict[str, Slot],
    marks_of: Callable[[], dict[str, int]],
) -> None:
    """Equity shorts only intraday; enough free equity for the margin (config.py's rule).

    Free equity = cash + marked value of positions - margin they block, which treats stock,
    futures and options alike under cash-flow accounting. `marks_of` gives each symbol's
    last close in paise (computed only when margin is checked). Orders that only reduce a
    position always pass.
    """
    book = ledger.position(slot.symbol, product)
    after = book.quantity + (quantity if side is Side.BUY else -quantity)
    if slot.is_equity and product is not Product.MIS and after < 0:
        raise OrderRejected(
            f"selling {quantity} {slot.symbol} as {product} would leave a short of {-after}: "
            "equity shorts are intraday only (use MIS)"
        )
    if not config.check_margin or abs(after) <= abs(book.quantity):
        return
    same_side = book.quantity == 0 or (after > 0) == (book.quantity > 0)
    added = abs(after) - abs(book.quantity) if same_side else abs(after)
    need = margin(slot, config, product, added, price, short=after < 0)
    value = blocked = 0
    marks = marks_of()
    for (sym, prod), b in ledger.positions.items():
        if b.quantity:
            mark = marks.get(sym, 0)
            value += b.quantity * mark
            blocked += margin(slots[sym], config, prod, abs(b.quantity), mark, b.quantity < 0)
    free = ledger.cash + value - blocked  # equity not already pledged as margin
    if need > free:
        raise OrderRejected(
            f"insufficient funds for {quantity} {slot.symbol}: margin needed "
            f"Rs {Decimal(need) / 100:,.2f}, free Rs {Decimal(max(free, 0)) / 100:,.2f}"
        )


def margin(
    slot: Slot, config: BacktestConfig, product: Product, quantity: int, price: int, short: bool
) -> int:
    rates = config.margin
    segment = slot.instrument.segment
    notional = quantity * price
    if segment is Segment.FUTURES:
        rate = rates.futures
    elif segment is Segment.OPTIONS:
        if short:
            strike = slot.instrument.strike or Decimal(0)
            return int(Decimal(quantity) * strike * 100 * rates.short_options)
        rate = Decimal(1)
    elif product is Product.MIS:
        rate = rates.equity_intraday
    else:
        rate = rates.delivery
    return int(notional * rate)


def new_order(
    order_id: str,
    slot: Slot,
    request: OrderRequest,
    quantity: int,
    product: Product,
    limit: int | None,
    trigger: int | None,
    bracket: Bracket | None,
    bar: int,
    active_from: int,
) -> SimOrder:
    if request.validity is Validity.IOC:
        expires = active_from
    else:
        expires = slot.sessions.session_end(min(active_from, slot.last))
        if active_from > slot.last:
            expires = GTC  # placed on the last bar: never fills; cancelled when data ends
    return SimOrder(
        order_id=order_id,
        slot=slot.index,
        side=request.side,
        quantity=quantity,
        order_type=request.order_type,
        product=product,
        validity=request.validity,
        limit=limit,
        trigger=trigger,
        placed_bar=bar,
        active_from=active_from,
        expires_at=expires,
        strategy=slot.strategy,
        tag=request.tag,
        bracket=bracket,
    )
