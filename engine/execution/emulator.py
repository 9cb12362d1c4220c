"""Contingent orders kept on our side: bracket exits, one-cancels-other, trailing stops, and
what the MIS square-off does.

Kite no longer offers bracket orders, so live trading emulates them exactly as a backtest
does: when an entry fills, its exits become orders of their own (a stop and a target that
cancel each other, or a trailing stop), sized to the quantity just filled and priced from the
fill. An exit never trades more than the position it protects, and the exits of a position
that went flat are cancelled. The venue only decides when a price is reached (the simulated
venue by searching bars, a live one by its order book or ticks); the rules are here.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.orders import OrderStatus
from engine.execution.oms import OrderManager
from engine.execution.orders import ManagedOrder
from engine.execution.portfolio import Portfolio
from engine.execution.prices import misplaced, rupees

SQUAREOFF_TAG = "squareoff"


class OrderEmulator:
    """Bracket/OCO/trailing exits and the MIS square-off, over the order manager and the
    portfolio; `on_rejection` hears the message of an exit that could not be placed."""

    def __init__(
        self, oms: OrderManager, portfolio: Portfolio, on_rejection: Callable[[str], None]
    ) -> None:
        self.oms = oms
        self.portfolio = portfolio
        self.on_rejection = on_rejection

    def exit_quantity(self, order: ManagedOrder, quantity: int) -> int:
        """How much of `quantity` an exit leg may trade: never more than the position it
        protects. 0 (and the leg cancelled) when that position is already closed."""
        if not order.exit_leg:
            return quantity
        held = self.portfolio.position(order.symbol, order.product).quantity
        closable = held if order.side is Side.SELL else -held
        if closable <= 0:
            self.oms.finish(order, OrderStatus.CANCELLED, "position already closed")
            return 0
        return min(quantity, closable)

    def after_fill(self, order: ManagedOrder, quantity: int) -> None:
        """One-cancels-other: the sibling leg shrinks by what traded and ends when nothing is
        left of it."""
        sibling = order.sibling
        if sibling is not None and sibling.is_open:
            if sibling.remaining <= quantity:  # nothing left to protect: it ends as it was
                self.oms.finish(sibling, OrderStatus.CANCELLED, "other leg filled")
            else:  # the other leg closed part of the position: this one shrinks to the rest
                sibling.quantity -= quantity

    def bracket_legs(
        self, entry: ManagedOrder, quantity: int, price: int, placed_ts: int, bar: int
    ) -> list[ManagedOrder]:
        """The exits for `quantity` of `entry` just filled at `price` (paise): tracked in the
        order manager, still NEW, for the caller to send to its venue.

        Distances (`stop_loss_points`, `target_points`) become prices here, from this fill.
        An exit that is not beyond the fill on its protecting side (a long entry filled at or
        below its stop, e.g. after a gap, or at or above its target) would only close the
        trade at its entry: that leg is REJECTED with the reason instead, and the run's
        rejections say so; the other leg still works. With `trail`, a stop_loss the fill
        went past only stops narrowing the trail: the trailing stop starts from the fill.
        """
        assert entry.bracket is not None
        exit_side = Side.SELL if entry.side is Side.BUY else Side.BUY
        legs: list[ManagedOrder] = []
        b = entry.bracket
        stop, target = b.levels(entry.side, price)
        stop_name = "stop_loss" if b.stop_points is None else "stop_loss_points"
        target_name = "target" if b.target_points is None else "target_points"
        stop_problem = _misplaced(stop_name, stop, entry.side, price)
        target_problem = _misplaced(target_name, target, entry.side, price)

        def leg(kind: OrderType, limit: int | None, trigger: int | None) -> ManagedOrder:
            return ManagedOrder(
                order_id=self.oms.next_id(),
                instrument=entry.instrument,
                symbol=entry.symbol,
                side=exit_side,
                quantity=quantity,
                order_type=kind,
                product=entry.product,
                validity=Validity.DAY,
                limit=limit,
                trigger=trigger,
                owner=entry.owner,
                placed_ts=placed_ts,
                tag=entry.tag,
                parent_id=entry.order_id,
                exit_leg=True,
                placed_bar=bar,
                active_from=bar,
            )

        if b.trail is not None:
            trailing = leg(OrderType.SL_M, None, None)
            trailing.trail, trailing.trail_anchor = b.trail, price
            if stop is not None and stop_problem is None:  # trail starts no lower than the stop
                trailing.trail = min(b.trail, abs(price - stop))
            legs.append(trailing)
        elif stop is not None:
            stop_leg = leg(OrderType.SL_M, None, stop)
            if stop_problem is None:
                legs.append(stop_leg)
            else:
                self._reject_leg(stop_leg, entry, bar, stop_problem)
        if target is not None:
            target_leg = leg(OrderType.LIMIT, target, None)
            if target_problem is None:
                legs.append(target_leg)
            else:
                self._reject_leg(target_leg, entry, bar, target_problem)
        if len(legs) == 2:
            legs[0].sibling, legs[1].sibling = legs[1], legs[0]
        for order in legs:
            self.oms.add(order)
        return legs

    def cancel_exits(self, instrument: int, product: Product) -> None:
        for order in self.oms.open_for(instrument):
            if order.exit_leg and order.product is product:
                self.oms.finish(order, OrderStatus.CANCELLED, "position closed")

    def square_off(
        self, instrument: int, symbol: str, owner: object, placed_ts: int, bar: int
    ) -> ManagedOrder | None:
        """The MIS square-off: every open MIS order of the instrument is cancelled, and the
        MIS position (if any) is closed by a market order, returned for the venue to fill."""
        for order in self.oms.open_for(instrument):
            if order.product is Product.MIS:
                self.oms.finish(order, OrderStatus.CANCELLED, "MIS square-off")
        held = self.portfolio.position(symbol, Product.MIS).quantity
        if held == 0:
            return None
        order = ManagedOrder(
            order_id=self.oms.next_id(),
            instrument=instrument,
            symbol=symbol,
            side=Side.SELL if held > 0 else Side.BUY,
            quantity=abs(held),
            order_type=OrderType.MARKET,
            product=Product.MIS,
            validity=Validity.DAY,
            limit=None,
            trigger=None,
            owner=owner,
            placed_ts=placed_ts,
            tag=SQUAREOFF_TAG,
            placed_bar=bar,
            active_from=bar,
            expires_at=bar,
        )
        self.oms.add(order)
        return order

    def _reject_leg(self, leg: ManagedOrder, entry: ManagedOrder, bar: int, problem: str) -> None:
        kind = "stop-loss" if leg.order_type is OrderType.SL_M else "target"
        message = f"{problem}: the {kind} exit of {entry.order_id} is not placed"
        self.oms.add(leg)
        self.oms.transition(leg, OrderStatus.REJECTED, message)
        self.on_rejection(f"{leg.symbol} bar {bar}: {leg.side} {leg.quantity} rejected: {message}")


def _misplaced(name: str, level: int | None, side: Side, fill: int) -> str | None:
    if level is None:
        return None
    if level <= 0:
        return f"{name} puts the exit at {rupees(level)} from the fill price {rupees(fill)}"
    return misplaced(name, level, side, fill, "the fill price")
