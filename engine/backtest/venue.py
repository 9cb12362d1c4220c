"""The simulated venue: when and at what price orders trade, bar by bar, by the fill model.

It implements the execution layer's `Venue` for a backtest or a replay: orders arrive from the
host (`submit`), the first bar each can trade on is found by vectorised search (matching.py)
and queued (event_queue.py), and when the run reaches it the venue prices the fill
(config.py's documented model: gaps, stop-limits, slippage, participation) and reports it to
the host, which books it. Python runs only where something happens: on bars where an order
fills or expires, never per bar in between. What is not about matching (the lifecycle,
the portfolio, bracket and square-off rules, pre-trade checks) lives in `engine.execution`.
"""

from __future__ import annotations

import math

from engine.backtest.config import BacktestConfig, FillTiming
from engine.backtest.event_queue import EventKind, EventQueue, Phase, SimEvent
from engine.backtest.matching import first_at_or_above, first_at_or_below, first_trailing_hit
from engine.backtest.slots import Slot
from engine.domain.enums import OrderType, Side, Validity
from engine.execution.fill_model import (
    AT_OPEN,
    LIMIT,
    TRAILING,
    Working,
    fill_price,
    intrabar_priority,
    level_of,
    working,
)
from engine.execution.host import ExecutionHost
from engine.execution.orders import GTC, ManagedOrder
from engine.execution.prices import slipped

# Enum members read per order and per fill, as module names: on Python 3.11 a read such as
# `Validity.IOC` costs ~120 ns (a descriptor on the class), a global ~10 ns.
_MARKET, _SL, _SL_M = OrderType.MARKET, OrderType.SL, OrderType.SL_M
_IOC, _SELL = Validity.IOC, Side.SELL
_FILL, _EXPIRE, _SQUARE_OFF = EventKind.FILL, EventKind.EXPIRE, EventKind.SQUARE_OFF
_OPEN_FILL, _INTRABAR, _CLOSE = Phase.OPEN_FILL, Phase.INTRABAR, Phase.CLOSE


class SimulatedVenue:
    """Matching over each instrument's bars; reports go to `host`."""

    def __init__(self, slots: list[Slot], config: BacktestConfig, host: ExecutionHost) -> None:
        self.slots = slots
        self.config = config
        self.host = host
        self.queue = EventQueue()
        self.event_bar: tuple[int, int] | None = None  # (instrument, bar) being handled
        self._fill_at_open = False  # the fill being reported happened at its bar's open
        self._close_fills = config.fill is FillTiming.CLOSE  # market orders at their bar's close
        self._slippage = config.slippage_bps

    # -- Venue: what the host asks ---------------------------------------------------------
    def now(self, instrument: int) -> tuple[int, int, int]:
        """(bar, its UTC ns, its close in paise) an order placed now belongs to: the
        strategy's bar, or during an event (a fill heard in on_fill) that event's bar, so the
        order acts from the next one."""
        slot = self.slots[instrument]
        bar = slot.clock.index
        event = self.event_bar
        if event is not None and event[0] == instrument and event[1] > bar:
            bar = event[1]
        if bar < 0:  # before the instrument's first bar (a multi-instrument strategy)
            return bar, 0, 0
        return bar, slot.ts.item(bar), slot.close.item(bar)

    def marks(self) -> dict[str, int]:
        """Each symbol's close at its current bar, in paise."""
        return {s.symbol: int(s.close[max(s.clock.index, 0)]) for s in self.slots}

    def submit(self, order: ManagedOrder) -> None:
        slot = self.slots[order.instrument]
        if order.exit_leg:  # a bracket exit, attached while its entry's fill is reported
            at_open = self._fill_at_open and self.config.fill is FillTiming.NEXT_OPEN
            self.host.accepted(order)
            self.schedule(order, order.placed_bar if at_open else order.placed_bar + 1)
            return
        bar = order.placed_bar
        close_fill = self._close_fills and order.order_type is _MARKET
        order.active_from = bar if close_fill else bar + 1
        if order.validity is _IOC:
            order.expires_at = order.active_from
        else:
            order.expires_at = self.day_end(slot, order.active_from)
        self.host.accepted(order)
        if close_fill:
            self.fill(order, bar, slot.close.item(bar), at_open=False)
        else:
            self.schedule(order, bar + 1)

    def cancel(self, order: ManagedOrder) -> None:
        self.host.cancelled(order, "cancelled by strategy")

    def modify(
        self, order: ManagedOrder, quantity: int, limit: int | None, trigger: int | None
    ) -> None:
        """The changed order works from the next bar, as a new placement would (its queued
        fill, searched for the old prices, goes stale); its expiry stays."""
        order.version += 1
        order.quantity, order.limit, order.trigger = quantity, limit, trigger
        order.stop_hit = False
        bar = self.now(order.instrument)[0]
        self.schedule(order, max(bar + 1, order.active_from))

    def arm_squareoff(self, instrument: int, bar: int) -> None:
        slot = self.slots[instrument]
        day = slot.sessions.day.item(bar)  # on every fill that leaves a position open
        if day in slot.squareoff_days:
            return
        slot.squareoff_days.add(day)
        k, at_open = slot.sessions.squareoff_index(bar)
        if at_open and k <= bar:  # opened at/after the cut-off: square off at this bar's close
            k, at_open = bar, False
        phase = Phase.SQUARE_OFF_OPEN if at_open else Phase.CLOSE
        self.queue.push(
            int(slot.gidx[k]), phase, 0, EventKind.SQUARE_OFF, instrument, 0, k, at_open=at_open
        )

    # -- scheduling -----------------------------------------------------------------------
    def day_end(self, slot: Slot, bar: int) -> int:
        """The last bar of bar's session: where a DAY order active from `bar` expires
        (GTC when `bar` is past the data: such an order is cancelled when the data ends)."""
        return GTC if bar > slot.last else slot.sessions.session_end(bar)

    def schedule(self, order: ManagedOrder, start: int) -> None:
        """Find the first bar >= start where the order trades, or where it expires."""
        slot = self.slots[order.instrument]
        end = min(order.expires_at, slot.last)
        if start > end:
            if order.expires_at < GTC and start > order.expires_at:
                self.host.cancelled(order, "expired unfilled")
            return  # past the data: stays open until the run ends
        how = working(order)
        sell = order.side is _SELL
        trail_level = 0
        if how is AT_OPEN:
            j = start
        elif how is TRAILING:
            assert order.trail is not None
            j, trail_level = first_trailing_hit(
                slot.high, slot.low, start, end, sell, order.trail_anchor, order.trail
            )
        else:  # the comparisons of fill_model.reached, over many bars at once
            level = level_of(order, how)
            if sell == (how is LIMIT):
                j = first_at_or_above(slot.high, start, end, level)
            else:
                j = first_at_or_below(slot.low, start, end, level)
        if j >= 0:
            self.queue_fill(order, slot, j, how, trail_level)
        elif order.expires_at < GTC:
            self.queue_expiry(order, slot, end)

    def queue_fill(
        self,
        order: ManagedOrder,
        slot: Slot,
        j: int,
        how: Working,
        trail_level: int,
        ticket: int | None = None,
    ) -> None:
        """The order trades in bar j: queue it in its place inside that bar."""
        if how is AT_OPEN:
            phase, priority = _OPEN_FILL, 0
        else:
            level = trail_level if how is TRAILING else level_of(order, how)
            phase = _INTRABAR
            priority = intrabar_priority(
                order, how, level, slot.open.item(j), self.config.stop_first
            )
        self.queue.push(
            slot.gidx.item(j),
            phase,
            priority,
            _FILL,
            order,
            order.version,
            j,
            trail_level,
            False,  # at_open: for square-offs
            ticket,
        )

    def queue_expiry(
        self, order: ManagedOrder, slot: Slot, end: int, ticket: int | None = None
    ) -> None:
        self.queue.push(
            slot.gidx.item(end),
            _CLOSE,
            0,
            _EXPIRE,
            order,
            order.version,
            end,
            ticket=ticket,
        )

    # -- processing -----------------------------------------------------------------------
    def handle(self, event: SimEvent) -> None:
        """Process one queued event on its bar; callbacks it causes see the bars completed
        before this one, and orders they place act from the bar after it."""
        kind = event.kind
        instrument = event.target if kind is _SQUARE_OFF else event.target.instrument
        slot = self.slots[instrument]
        j = event.local_bar
        if slot.clock.index < j - 1:
            slot.clock.index = j - 1
        self.event_bar = (instrument, j)
        try:
            if kind is _SQUARE_OFF:
                self._square_off(slot, j, event.at_open)
                return
            order: ManagedOrder = event.target
            if order.version != event.version or not order.is_open:
                return
            if kind is _FILL:
                self._price_fill(order, slot, j, event.trail_level)
            else:
                self.host.cancelled(order, "expired unfilled")
        finally:
            self.event_bar = None

    def _price_fill(self, order: ManagedOrder, slot: Slot, j: int, trail_level: int) -> None:
        opening = slot.open.item(j)
        how = working(order)
        price = fill_price(order, how, opening, trail_level, self._slippage, slot.tick)
        if price is None:
            order.triggered = True  # a stop-limit gapped past its limit: rest as a limit
            self.schedule(order, j + 1)
            return
        self.fill(order, j, price, price == opening)  # at_open

    def fill(self, order: ManagedOrder, j: int, price: int, at_open: bool) -> None:
        """Trade as much of the order as the bar allows at `price` on bar j."""
        slot = self.slots[order.instrument]
        quantity = order.quantity - order.filled  # order.remaining
        if order.exit_leg:  # never more than the position it protects (the emulator's rule)
            quantity = self.host.fillable(order, quantity)
            if not order.is_open:
                return  # its position is already closed: cancelled
        cap = self.config.participation
        if cap is not None:
            allowed = math.floor(int(slot.volume[j]) * cap + 1e-9) // slot.lot * slot.lot
            quantity = min(quantity, allowed)
        if quantity > 0:
            outer, self._fill_at_open = self._fill_at_open, at_open  # see _report_fill
            try:
                self.host.filled(order, quantity, price, slot.ts.item(j), j)
            finally:
                self._fill_at_open = outer
        if order.is_open and order.remaining > 0:
            if order.trail is not None or order.order_type is _SL_M:
                order.stop_hit = True  # triggered: the rest trades at the next open
            elif order.order_type is _SL:
                order.triggered = True  # triggered: the rest rests as a limit
            self.schedule(order, j + 1)

    def _square_off(self, slot: Slot, j: int, at_open: bool) -> None:
        slot.squareoff_days.discard(int(slot.sessions.day[j]))
        order = self.host.square_off_due(slot.index, int(slot.ts[j]), j)
        if order is None:
            return
        price = int(slot.open[j]) if at_open else int(slot.close[j])
        slippage = self.config.slippage_bps
        self._report_fill(
            order, order.quantity, slipped(price, order.side, slippage, slot.tick), j, at_open
        )

    def _report_fill(
        self, order: ManagedOrder, quantity: int, price: int, j: int, at_open: bool
    ) -> None:
        """Tell the host; bracket exits it attaches meanwhile may trade from this bar when
        the entry filled at its open (a fill reported from a callback inside keeps its own)."""
        outer = self._fill_at_open
        self._fill_at_open = at_open
        try:
            self.host.filled(order, quantity, price, int(self.slots[order.instrument].ts[j]), j)
        finally:
            self._fill_at_open = outer
