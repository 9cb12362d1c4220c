"""The one strategy host: strategy -> checks -> order manager -> venue, and back.

A strategy calls `submit`/`cancel`/`position_*` on this host in every mode; the venue behind it
differs (the backtest's `SimulatedVenue`, later the paper broker and the real brokers). What
the venue reports (accepted, filled, cancelled, expired) comes back here and is booked the
same way everywhere: the order manager moves the order through the lifecycle table, the
portfolio books the fill and its contract-note charges, the emulator places or cancels the
bracket exits, and the strategy hears `on_order` / `on_fill`. Nothing here knows bars or
ticks; the venue says when (`placed_ts`, and a bar index where it has bars).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from engine.domain.enums import Product, Side
from engine.domain.instrument import Instrument
from engine.domain.orders import OrderStatus
from engine.execution.checks import (
    InstrumentRules,
    MarginRates,
    OrderRejected,
    check_account,
    check_quantity,
    freeze_slices,
    marked_account,
    order_prices,
)
from engine.execution.emulator import OrderEmulator
from engine.execution.oms import OrderManager
from engine.execution.orders import GTC, ManagedOrder
from engine.execution.portfolio import Portfolio
from engine.execution.prices import Bracket, price_to_paise
from engine.ist import ist_date_of
from engine.strategy.base import Strategy, StrategyError
from engine.strategy.requests import (
    Funds,
    OrderRequest,
    OrderState,
    PriceInput,
    fill_report,
    order_update,
    shape_problem,
)

log = logging.getLogger(__name__)
MAX_REJECTIONS_KEPT = 20
# read per order and per fill: a module name, not an Enum member read (~120 ns on 3.11)
_BUY, _MIS, _OPEN = Side.BUY, Product.MIS, OrderStatus.OPEN


class Venue(Protocol):
    """Where orders trade. Reports go back to the host that owns it: `accepted`, `filled`,
    `cancelled` (expiry included, with its reason); a rejection by the venue is `rejected`."""

    def submit(self, order: ManagedOrder) -> None: ...
    def cancel(self, order: ManagedOrder) -> None: ...
    def modify(
        self, order: ManagedOrder, quantity: int, limit: int | None, trigger: int | None
    ) -> None:
        """Replace the open order's quantity, limit and trigger (paise)."""
        ...

    def now(self, instrument: int) -> tuple[int, int, int]:
        """(bar index or -1, UTC ns, last price in paise; 0 when it has none yet) of the
        instrument now."""
        ...

    def marks(self) -> dict[str, int]:
        """Each symbol's last price in paise."""
        ...

    def arm_squareoff(self, instrument: int, bar: int) -> None:
        """An MIS position is open: square it off at the day's cut-off (calendar session
        close minus the lead), by calling `square_off_due` then."""
        ...


@dataclass(frozen=True)
class HostSettings:
    default_product: Product = Product.CNC  # for orders that do not name one
    margin: MarginRates | None = field(default_factory=MarginRates)  # None: no margin check


class ExecutionHost:
    """Orders, positions and fills of one account for the strategies trading `universe`
    (each instrument's owner is the strategy instance told of its orders and fills)."""

    def __init__(
        self,
        universe: Sequence[InstrumentRules],
        owners: Sequence[Any],
        portfolio: Portfolio,
        settings: HostSettings,
        *,
        id_prefix: str = "BT",
    ) -> None:
        self.rules = list(universe)
        self.owners = list(owners)
        self.index = {rules.symbol: i for i, rules in enumerate(self.rules)}
        self.rules_by_symbol = {rules.symbol: rules for rules in self.rules}
        self.portfolio = portfolio
        self.settings = settings
        self._default_product = settings.default_product
        self.oms = OrderManager(len(self.rules), prefix=id_prefix)
        self.emulator = OrderEmulator(self.oms, portfolio, self.keep_rejection)
        self.rejections: list[str] = []
        # (UTC ns, instrument, signed quantity, cash change, charges) per fill, in paise
        self.journal: list[tuple[int, int, int, int, int]] = []
        self.traded_value = 0
        self._hears_order = {id(o): _overrides(o, "on_order") for o in self.owners}
        self._hears_fill = {id(o): _overrides(o, "on_fill") for o in self.owners}
        if any(self._hears_order.values()):  # nobody listening: no call per state change
            self.oms.listeners.append(self._tell_order)
        self.venue: Venue

    def connect(self, venue: Venue) -> None:
        self.venue = venue

    # -- StrategyHost: what strategies call ------------------------------------------------
    def submit(self, request: OrderRequest) -> str:
        """Place an order for a strategy. Arguments that cannot make an order (a LIMIT
        without a price, a stop given both as a price and as a distance) raise StrategyError
        here, at the caller's line; everything the market decides about is a rejection."""
        problem = shape_problem(
            request.order_type,
            request.price,
            request.trigger,
            request.stop_loss,
            request.stop_loss_points,
            request.target,
            request.target_points,
            request.tag,
        )
        if problem is not None:
            raise StrategyError(problem)
        instrument = self.index[request.symbol]
        rules = self.rules[instrument]
        bar, ts, mark = self.venue.now(instrument)
        order_id = self.oms.next_id()
        product = request.product or self._default_product
        try:
            if mark <= 0:
                raise OrderRejected(f"{request.symbol} has no price yet: its first bar is later")
            quantity = check_quantity(rules, request.quantity)
            limit, trigger, bracket = order_prices(rules, request, mark)
            check_account(
                rules,
                self.portfolio,
                self.settings.margin,
                request.side,
                product,
                quantity,
                limit or trigger or mark,
                self.rules_by_symbol,
                self.venue.marks,
            )
            slices = freeze_slices(rules, quantity)
        except (OrderRejected, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, OrderRejected) else str(exc)
            self._reject(request, instrument, order_id, product, message, bar, ts)
            return order_id
        for n, part in enumerate(slices):
            order = self._new_order(
                order_id if n == 0 else self.oms.next_id(),
                instrument,
                request,
                part,
                product,
                bar,
                ts,
                limit,
                trigger,
                bracket,
            )
            self.oms.add(order)
            self.venue.submit(order)
        return order_id

    def cancel(self, order_id: str) -> None:
        order = self.oms.orders.get(order_id)
        if order is not None and order.is_open:
            self.venue.cancel(order)

    def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: PriceInput | None = None,
        trigger: PriceInput | None = None,
    ) -> None:
        """Change an open order; it works from the venue's next moment. An order that has
        ended is left alone (it may have filled a moment ago), as `cancel` does. A change the
        order cannot take (a price on a market order, a quantity that is not whole lots or
        not above what already filled) raises ValueError at the caller's line."""
        order = self._order(order_id)
        if not order.is_open:
            return
        rules = self.rules[order.instrument]
        buy = order.side is Side.BUY
        if price is not None and order.limit is None:
            raise ValueError(f"order {order_id} is {order.order_type}: it has no price to change")
        if trigger is not None and (order.trigger is None or order.trail is not None):
            raise ValueError(f"order {order_id} is {order.order_type}: it has no trigger to change")
        new_quantity = order.quantity
        if quantity is not None:
            try:
                new_quantity = check_quantity(rules, quantity)
            except OrderRejected as exc:
                raise ValueError(exc.message) from None
            if new_quantity <= order.filled:
                raise ValueError(
                    f"order {order_id}: quantity {new_quantity} is not above the "
                    f"{order.filled} already filled (cancel it instead)"
                )
        limit = (
            order.limit
            if price is None
            else price_to_paise(price, rules.tick, "down" if buy else "up", "price")
        )
        stop = (
            order.trigger
            if trigger is None
            else price_to_paise(trigger, rules.tick, "up" if buy else "down", "trigger")
        )
        self.venue.modify(order, new_quantity, limit, stop)

    def order_state(self, order_id: str) -> OrderState:
        order = self._order(order_id)
        return OrderState(
            order.order_id,
            order.symbol,
            order.side,
            order.quantity,
            order.filled,
            order.status,
            order.average_price,
            order.message,
            tuple((q, Decimal(p).scaleb(-2)) for q, p in order.fills),
        )

    def order_status(self, order_id: str) -> OrderStatus:
        # asked after every placement: a plain id is looked up here, without another call
        order = self.oms.orders.get(order_id) if type(order_id) is str else None
        return (order or self._order(order_id)).status

    def position_quantity(self, symbol: str) -> int:
        return self.portfolio.quantity(symbol)

    def position_average_price(self, symbol: str) -> Decimal:
        return self.portfolio.average_price(symbol)

    def instrument(self, symbol: str) -> Instrument:
        return self.rules_by_symbol[symbol].instrument

    def funds(self, excluding: str | None = None) -> Funds:
        equity, blocked = marked_account(
            self.portfolio, self.settings.margin, self.rules_by_symbol, self.venue.marks, excluding
        )
        return Funds(_rupees(self.portfolio.cash), _rupees(equity), _rupees(blocked))

    def open_order_ids(self, symbol: str) -> list[str]:
        return list(self.oms.open_orders[self.index[symbol]])

    # -- what the venue reports ------------------------------------------------------------
    def accepted(self, order: ManagedOrder) -> None:
        self.oms.transition(order, _OPEN)

    def rejected(self, order: ManagedOrder, reason: str) -> None:
        """The venue refused the order (a broker's RMS, a closed market): it ends REJECTED
        with the venue's reason, and the run's rejections keep it."""
        self.keep_rejection(
            f"{order.symbol} bar {order.placed_bar}: {order.side} {order.quantity} rejected: "
            f"{reason}"
        )
        self.oms.finish(order, OrderStatus.REJECTED, reason)

    def cancelled(self, order: ManagedOrder, reason: str) -> None:
        """Cancelled at the strategy's request, expired, or ended by the venue."""
        self.oms.finish(order, OrderStatus.CANCELLED, reason)

    def fillable(self, order: ManagedOrder, quantity: int) -> int:
        """How much of `quantity` the order may trade now (an exit never more than its
        position; 0 when it has nothing left to protect, and it is then cancelled)."""
        return self.emulator.exit_quantity(order, quantity) if order.exit_leg else quantity

    def filled(self, order: ManagedOrder, quantity: int, price: int, ts: int, bar: int) -> None:
        """`quantity` of `order` traded at `price` paise at `ts` (bar `bar` of its
        instrument where the venue has bars): book it, tell the strategy, then the
        contingent orders react (the other leg shrinks, exits are attached or cancelled)."""
        rules = self.rules[order.instrument]
        portfolio = self.portfolio
        charges = 0
        if portfolio.charges_on:
            charges = portfolio.charge(
                order.symbol,
                rules.charge_segment(order.product),
                rules.cost_exchange,
                ist_date_of(ts),  # the trade date
                order.side,
                quantity,
                price,
                order.product,
            )
        signed = quantity if order.side is _BUY else -quantity
        held = portfolio.fill(order.symbol, order.product, order.side, quantity, price, ts, charges)
        self.journal.append((ts, order.instrument, signed, -signed * price - charges, charges))
        self.traded_value += quantity * price
        self.oms.record_fill(order, quantity, price)
        owner = order.owner
        if self._hears_fill[id(owner)]:
            owner.on_fill(
                fill_report(
                    order.order_id,
                    order.symbol,
                    order.side,
                    quantity,
                    Decimal(price).scaleb(-2),
                    bar,
                    order.tag,
                )
            )
        if order.sibling is not None:
            self.emulator.after_fill(order, quantity)
        if order.bracket is not None:
            for leg in self.emulator.bracket_legs(order, quantity, price, ts, bar):
                self.venue.submit(leg)
        if held == 0:
            if self.oms.open_orders[order.instrument]:
                self.emulator.cancel_exits(order.instrument, order.product)
        elif order.product is _MIS:
            self.venue.arm_squareoff(order.instrument, bar)

    def square_off_due(self, instrument: int, ts: int, bar: int) -> ManagedOrder | None:
        """The MIS cut-off has come: open MIS orders are cancelled; the market order that
        closes the MIS position (None if flat) is returned for the venue to fill at once."""
        return self.emulator.square_off(
            instrument, self.rules[instrument].symbol, self.owners[instrument], ts, bar
        )

    def cancel_open(self, instrument: int, reason: str) -> None:
        """Cancel every open order of the instrument (on_order hears each), e.g. when the
        data has ended."""
        for order in self.oms.open_for(instrument):
            self.oms.finish(order, OrderStatus.CANCELLED, reason)

    # -- bookkeeping -----------------------------------------------------------------------
    def _order(self, order_id: str) -> ManagedOrder:
        order = self.oms.orders.get(str(order_id))
        if order is None:
            raise ValueError(f"there is no order {order_id!r} in this run")
        return order

    def keep_rejection(self, text: str) -> None:
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append(text)
        log.debug("%s", text)

    def _reject(
        self,
        request: OrderRequest,
        instrument: int,
        order_id: str,
        product: Product,
        message: str,
        bar: int,
        ts: int,
    ) -> None:
        self.keep_rejection(
            f"{request.symbol} bar {bar}: {request.side} {request.quantity} rejected: {message}"
        )
        quantity = request.quantity
        shown = max(int(quantity), 1) if isinstance(quantity, int) else 1
        order = self._new_order(order_id, instrument, request, shown, product, bar, ts)
        order.active_from, order.expires_at = bar, GTC
        self.oms.add(order)
        self.oms.transition(order, OrderStatus.REJECTED, message)

    def _new_order(
        self,
        order_id: str,
        instrument: int,
        request: OrderRequest,
        quantity: int,
        product: Product,
        bar: int,
        ts: int,
        limit: int | None = None,
        trigger: int | None = None,
        bracket: Bracket | None = None,
    ) -> ManagedOrder:
        """The record of a strategy's order: prices in paise from the checks, and the
        bracket its fill attaches (none for a rejected order)."""
        return ManagedOrder(
            order_id,
            instrument,
            request.symbol,
            request.side,
            quantity,
            request.order_type,
            product,
            request.validity,
            limit,
            trigger,
            self.owners[instrument],
            ts,  # placed_ts
            request.tag,
            bracket=bracket,
            placed_bar=bar,
        )

    def _tell_order(self, order: ManagedOrder) -> None:
        owner = order.owner
        if self._hears_order[id(owner)]:
            owner.on_order(
                order_update(
                    order.order_id,
                    order.symbol,
                    order.side,
                    order.quantity,
                    order.filled,
                    order.status,
                    order.message,
                    order.tag,
                )
            )


def _rupees(paise: int) -> Decimal:
    return Decimal(paise).scaleb(-2)


def _overrides(owner: object, name: str) -> bool:
    method = getattr(type(owner), name, None)
    return method is not None and method is not getattr(Strategy, name)
