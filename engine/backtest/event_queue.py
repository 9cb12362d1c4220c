"""What happens first inside a bar: the simulated venue's queue of timed events.

Within one bar of the merged timeline, events run in `Phase` order: market orders fill at the
open, then MIS square-offs at the open, then limit/stop/bracket fills inside the bar (stops
before targets when `stop_first`), then the strategies' handlers at the close, then expiries
and close-priced square-offs. That order decides fills, so it is written down here once and
every loop (backtest, replay) drains the same queue the same way.

An entry is a NamedTuple: typed, named fields with a tuple's speed in the heap (a backtest
pushes one per order and per fill).
"""

from __future__ import annotations

import heapq
from enum import IntEnum
from typing import Any, NamedTuple


class Phase(IntEnum):
    OPEN_FILL = 0  # market orders (and stops already hit) fill at the open
    SQUARE_OFF_OPEN = 1  # MIS square-off at the open of the first bar past the cut-off
    INTRABAR = 2  # limits, stops, bracket exits and trailing stops reached inside the bar
    HANDLERS = 3  # the strategies' handlers at the close (run by the loop, never queued)
    CLOSE = 4  # expiries, and square-offs at the day's last close


class EventKind(IntEnum):
    FILL = 0  # the order trades on `bar` (the venue prices it)
    EXPIRE = 1  # the order's validity ends unfilled
    SQUARE_OFF = 2  # the instrument's MIS position is closed


class SimEvent(NamedTuple):
    bar: int  # global bar on the merged timeline: the queue's first key
    phase: Phase
    priority: int  # inside a phase: -1 a fill at the open beats stop_first; then stops 0/1
    seq: int  # insertion order breaks every remaining tie (so nothing after it is compared)
    kind: EventKind
    target: Any  # the ManagedOrder (FILL, EXPIRE) or the instrument index (SQUARE_OFF)
    version: int  # the order's version when queued: stale once the order changed
    local_bar: int  # the same bar in the instrument's own series
    trail_level: int = 0  # FILL of a trailing stop: the stop level the bar reached (paise)
    at_open: bool = False  # SQUARE_OFF: at the bar's open (else at its close)


_new_tuple = tuple.__new__


class EventQueue:
    """A heap of SimEvents in (bar, phase, priority, insertion) order."""

    def __init__(self) -> None:
        self.heap: list[SimEvent] = []
        self._seq = 0

    def push(
        self,
        bar: int,
        phase: Phase,
        priority: int,
        kind: EventKind,
        target: Any,
        version: int,
        local_bar: int,
        trail_level: int = 0,
        at_open: bool = False,
        ticket: int | None = None,
    ) -> None:
        """Queue an event; `ticket` (from `reserve`) places it among same-time events where
        it was decided, not where it is pushed."""
        if ticket is None:
            self._seq += 1
            ticket = self._seq
        # tuple.__new__ skips the NamedTuple's Python-level __new__: one is pushed per order
        event = _new_tuple(
            SimEvent,
            (bar, phase, priority, ticket, kind, target, version, local_bar, trail_level, at_open),
        )
        heapq.heappush(self.heap, event)

    def reserve(self) -> int:
        """The next insertion number: a venue that learns an event's bar later (one bar at a
        time) takes it when it decides, so ties break as if the event had been queued then."""
        self._seq += 1
        return self._seq

    def pop(self) -> SimEvent:
        return heapq.heappop(self.heap)
