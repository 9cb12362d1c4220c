"""A venue that sees one bar at a time: the backtest's fill model without looking ahead.

The backtest's `SimulatedVenue` finds the bar an order trades on by searching the bars still
to come. A paper session cannot: bars arrive one by one. This venue keeps each waiting order
and tests it against every bar as it arrives (`open_bar`), with the same rules
(engine/execution/fill_model.py) and the same queue of what happens first inside a bar, so a
strategy fed bar by bar fills exactly as in the backtest. It never reads a bar the feed has
not delivered (`known`).

What it cannot know ahead it decides when the next bar shows it: a bar was its session's last
when the next one is on another day, so a DAY order that found no trade, or an MIS position
whose cut-off never came, is expired or squared off at that last bar's close when the next
session's first bar (or the end of the feed, `finish`) arrives. Nothing happens in between,
so orders and fills are the backtest's; only an order rescheduled on its session's last bar
(a partial fill under `participation`, a stop-limit gapped past its limit) is cancelled a bar
later than the backtest cancels it.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.backtest.config import BacktestConfig
from engine.backtest.event_queue import EventKind, Phase
from engine.backtest.slots import Slot
from engine.backtest.venue import SimulatedVenue
from engine.domain.enums import Side
from engine.execution.fill_model import (
    Working,
    level_of,
    next_best,
    reached,
    trailing_hit,
    trailing_level,
    working,
)
from engine.execution.host import ExecutionHost
from engine.execution.orders import GTC, ManagedOrder

SESSION_END = GTC - 1  # a DAY order's expiry before its first bar shows which session it is


@dataclass(slots=True)
class _Waiting:
    order: ManagedOrder
    start: int  # the first bar it may trade on
    best: int  # a trailing stop's best price so far (paise)
    ticket: int  # its place among same-time events: where the backtest would have queued it
    day: int | None = None  # a DAY order's session (IST day number), once its first bar came


class StreamingVenue(SimulatedVenue):
    """Orders wait here until a delivered bar reaches them."""

    def __init__(self, slots: list[Slot], config: BacktestConfig, host: ExecutionHost) -> None:
        super().__init__(slots, config, host)
        self.known = [-1] * len(slots)  # each instrument's last delivered bar
        self._waiting: list[dict[str, _Waiting]] = [{} for _ in slots]
        # (IST day, queue ticket) of an MIS square-off waiting for its cut-off bar
        self._squareoff_due: list[tuple[int, int] | None] = [None] * len(slots)

    # -- the feed ------------------------------------------------------------------------------
    def open_bar(self, instrument: int, bar: int) -> None:
        """Bar `bar` of the instrument has arrived: settle the session that ended before it,
        then queue every waiting order it reaches (and the MIS square-off if the cut-off came)."""
        slot = self.slots[instrument]
        if bar != self.known[instrument] + 1:
            raise ValueError(f"{slot.symbol}: bar {bar} arrived after bar {self.known[instrument]}")
        self.known[instrument] = bar
        day = int(slot.sessions.day[bar])
        if bar > 0 and int(slot.sessions.day[bar - 1]) != day:
            self._end_session(instrument, bar - 1)
        due = self._squareoff_due[instrument]
        if (
            due is not None
            and due[0] == day
            and int(slot.ts[bar]) >= int(slot.sessions.cutoff[bar])
        ):
            self._squareoff_due[instrument] = None
            self._queue_squareoff(slot, bar, True, due[1])
        waiting = self._waiting[instrument]
        for entry in list(waiting.values()):
            if not entry.order.is_open:  # cancelled or ended while it waited
                del waiting[entry.order.order_id]
            elif entry.start <= bar:
                self._test(slot, entry, bar)

    def finish(self) -> None:
        """The feed has ended: its last bars closed their sessions."""
        for instrument, bar in enumerate(self.known):
            if bar >= 0:
                self._end_session(instrument, bar)

    # -- the SimulatedVenue hooks, one bar at a time ----------------------------------------
    def day_end(self, slot: Slot, bar: int) -> int:
        return SESSION_END

    def schedule(self, order: ManagedOrder, start: int) -> None:
        instrument = order.instrument
        if order.expires_at < SESSION_END and start > order.expires_at:
            self.host.cancelled(order, "expired unfilled")  # an IOC past its one bar
            return
        waiting = self._waiting[instrument]
        previous = waiting.pop(order.order_id, None)
        entry = _Waiting(
            order,
            start,
            order.trail_anchor,
            self.queue.reserve(),
            previous.day if previous else None,
        )
        waiting[order.order_id] = entry  # (re)queued last, as the backtest's queue orders it
        if start <= self.known[instrument]:
            self._test(self.slots[instrument], entry, self.known[instrument])

    def arm_squareoff(self, instrument: int, bar: int) -> None:
        slot = self.slots[instrument]
        day = int(slot.sessions.day[bar])
        if day in slot.squareoff_days:
            return
        slot.squareoff_days.add(day)
        if int(slot.ts[bar]) >= int(slot.sessions.cutoff[bar]):
            self._queue_squareoff(slot, bar, False, None)  # opened past the cut-off
        else:
            self._squareoff_due[instrument] = (day, self.queue.reserve())

    # -- one order against one bar ---------------------------------------------------------
    def _test(self, slot: Slot, entry: _Waiting, bar: int) -> None:
        order = entry.order
        assert bar <= self.known[order.instrument], "a bar the feed has not delivered"
        if entry.day is None and order.expires_at == SESSION_END:
            entry.day = int(slot.sessions.day[bar])  # a DAY order lives this session
        how = working(order)
        sell = order.side is Side.SELL
        high, low = int(slot.high[bar]), int(slot.low[bar])
        trail_level = 0
        if how is Working.AT_OPEN:
            hit = True
        elif how is Working.TRAILING:
            assert order.trail is not None
            trail_level = trailing_level(sell, entry.best, order.trail)
            hit = trailing_hit(sell, high, low, trail_level)
            if not hit:
                entry.best = next_best(sell, entry.best, high, low)
        else:
            hit = reached(how, not sell, high, low, level_of(order, how))
        if hit:
            del self._waiting[order.instrument][order.order_id]
            self.queue_fill(order, slot, bar, how, trail_level, entry.ticket)
        elif order.expires_at == bar:  # an IOC's only bar
            del self._waiting[order.instrument][order.order_id]
            self.queue_expiry(order, slot, bar, entry.ticket)
        else:
            entry.start = bar + 1

    def _end_session(self, instrument: int, last: int) -> None:
        """Bar `last` was its session's last: DAY orders of that session expire, and an MIS
        position whose cut-off never came is squared off, at its close."""
        slot = self.slots[instrument]
        day = int(slot.sessions.day[last])
        for entry in list(self._waiting[instrument].values()):
            if entry.day == day and entry.order.is_open:
                del self._waiting[instrument][entry.order.order_id]
                self.queue_expiry(entry.order, slot, last, entry.ticket)
        due = self._squareoff_due[instrument]
        if due is not None and due[0] == day:
            self._squareoff_due[instrument] = None
            self._queue_squareoff(slot, last, False, due[1])

    def _queue_squareoff(self, slot: Slot, bar: int, at_open: bool, ticket: int | None) -> None:
        phase = Phase.SQUARE_OFF_OPEN if at_open else Phase.CLOSE
        self.queue.push(
            int(slot.gidx[bar]),
            phase,
            0,
            EventKind.SQUARE_OFF,
            slot.index,
            0,
            bar,
            at_open=at_open,
            ticket=ticket,
        )
