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
from engine.execution.host import ExecutionHost
from engine.execution.orders import GTC, ManagedOrder
from engine.execution.prices import slipped


class SimulatedVenue:
    """Matching over each instrument's bars; reports go to `host`."""

    def __init__(self, slots: list[Slot], config: BacktestConfig, host: ExecutionHost) -> None:
        self.slots = slots
        self.config = config
        self.host = host
        self.queue = EventQueue()
        self.event_bar: tuple[int, int] | None = None  # (instrument, bar) being handled
        self._fill_at_open = False  # the fill being reported happened at its bar's open

    # -- Venue: what the host asks ---------------------------------------------------------
    def now(self, instrument: int) -> tuple[int, int, int]:
        """(bar, its UTC ns, its close in paise) an order placed now belongs to: the
        strategy's bar, or during an event (a fill heard in on_fill) that event's bar, so the
        order acts from the next one."""
        slot = self.slots[instrument]
        bar = slot.clock.index
        event = self.event_bar
        if event is not None and event[0] == instrument:
            bar = max(bar, event[1])
        return bar, int(slot.ts[bar]), int(slot.close[bar])

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
        close_fill = self.config.fill is FillTiming.CLOSE and order.order_type is OrderType.MARKET
        order.active_from = bar if close_fill else bar + 1
        if order.validity is Validity.IOC:
            order.expires_at = order.active_from
        elif order.active_from > slot.last:
            order.expires_at = GTC  # placed on the last bar: never fills; cancelled at the end
        else:
            order.expires_at = slot.sessions.session_end(order.active_from)
        self.host.accepted(order)
        if close_fill:
            self.fill(order, bar, int(slot.close[bar]), at_open=False)
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
        day = int(slot.sessions.day[bar])
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
    def schedule(self, order: ManagedOrder, start: int) -> None:
        """Find the first bar >= start where the order trades, or where it expires."""
        slot = self.slots[order.instrument]
        end = min(order.expires_at, slot.last)
        if start > end:
            if order.expires_at < GTC and start > order.expires_at:
                self.host.cancelled(order, "expired unfilled")
            return  # past the data: stays open until the run ends
        buy = order.side is Side.BUY
        trail_level = 0
        stop_prio = 0 if self.config.stop_first else 1
        level: int | None = None  # the price the bar must reach; None for market-like
        if (order.order_type is OrderType.MARKET and order.trail is None) or order.stop_hit:
            j, phase, prio = start, Phase.OPEN_FILL, 0
        elif order.trail is not None:
            j, trail_level = first_trailing_hit(
                slot.high, slot.low, start, end, not buy, order.trail_anchor, order.trail
            )
            phase, prio, level = Phase.INTRABAR, stop_prio, trail_level
        elif order.order_type is OrderType.LIMIT or order.triggered:
            assert order.limit is not None
            j = (
                first_at_or_below(slot.low, start, end, order.limit)
                if buy
                else first_at_or_above(slot.high, start, end, order.limit)
            )
            phase, prio, level = Phase.INTRABAR, 1 - stop_prio, order.limit
        else:
            assert order.trigger is not None
            j = (
                first_at_or_above(slot.high, start, end, order.trigger)
                if buy
                else first_at_or_below(slot.low, start, end, order.trigger)
            )
            phase, prio, level = Phase.INTRABAR, stop_prio, order.trigger
        if j >= 0 and level is not None:
            opening = int(slot.open[j])
            limit_like = order.order_type is OrderType.LIMIT or order.triggered
            through = (opening <= level) if buy == limit_like else (opening >= level)
            if through:
                prio = -1  # the open is the bar's first trade: it beats stop_first
        if j >= 0:
            self.queue.push(
                int(slot.gidx[j]),
                phase,
                prio,
                EventKind.FILL,
                order,
                order.version,
                j,
                trail_level=trail_level,
            )
        elif order.expires_at < GTC:
            self.queue.push(
                int(slot.gidx[end]), Phase.CLOSE, 0, EventKind.EXPIRE, order, order.version, end
            )

    # -- processing -----------------------------------------------------------------------
    def handle(self, event: SimEvent) -> None:
        """Process one queued event on its bar; callbacks it causes see the bars completed
        before this one, and orders they place act from the bar after it."""
        instrument = event.target if event.kind is EventKind.SQUARE_OFF else event.target.instrument
        slot = self.slots[instrument]
        j = event.local_bar
        if slot.clock.index < j - 1:
            slot.clock.index = j - 1
        self.event_bar = (instrument, j)
        try:
            if event.kind is EventKind.SQUARE_OFF:
                self._square_off(slot, j, event.at_open)
                return
            order: ManagedOrder = event.target
            if order.version != event.version or not order.is_open:
                return
            if event.kind is EventKind.FILL:
                self._price_fill(order, j, event.trail_level)
            else:
                self.host.cancelled(order, "expired unfilled")
        finally:
            self.event_bar = None

    def _price_fill(self, order: ManagedOrder, j: int, trail_level: int) -> None:
        slot = self.slots[order.instrument]
        buy = order.side is Side.BUY
        bps = self.config.slippage_bps
        opening = int(slot.open[j])
        if order.stop_hit:
            price = slipped(opening, order.side, bps, slot.tick)
        elif order.trail is not None:
            price = slipped(
                min(opening, trail_level) if not buy else max(opening, trail_level),
                order.side,
                bps,
                slot.tick,
            )
        elif order.order_type is OrderType.MARKET:
            price = slipped(opening, order.side, bps, slot.tick)
        elif order.order_type is OrderType.LIMIT or order.triggered:
            assert order.limit is not None
            price = min(opening, order.limit) if buy else max(opening, order.limit)
        else:
            assert order.trigger is not None
            touched = max(opening, order.trigger) if buy else min(opening, order.trigger)
            price = slipped(touched, order.side, bps, slot.tick)
            if order.order_type is OrderType.SL:
                assert order.limit is not None
                if (price > order.limit) if buy else (price < order.limit):
                    order.triggered = True  # gapped past the limit: rest as a limit
                    self.schedule(order, j + 1)
                    return
        self.fill(order, j, price, at_open=price == opening)

    def fill(self, order: ManagedOrder, j: int, price: int, at_open: bool) -> None:
        """Trade as much of the order as the bar allows at `price` on bar j."""
        slot = self.slots[order.instrument]
        quantity = self.host.fillable(order, order.remaining)
        if not order.is_open:
            return  # an exit whose position is already closed: cancelled
        cap = self.config.participation
        if cap is not None:
            allowed = math.floor(int(slot.volume[j]) * cap + 1e-9) // slot.lot * slot.lot
            quantity = min(quantity, allowed)
        if quantity > 0:
            self._report_fill(order, quantity, price, j, at_open)
        if order.is_open and order.remaining > 0:
            if order.trail is not None or order.order_type is OrderType.SL_M:
                order.stop_hit = True  # triggered: the rest trades at the next open
            elif order.order_type is OrderType.SL:
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
