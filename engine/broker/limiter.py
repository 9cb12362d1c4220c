"""The order-rate rule of 2026, kept on our side: queue, never drop, never exceed.

Exchanges allow a retail API user at most 10 orders a second per exchange segment (beyond it
the broker answers 429); brokers add per-minute and per-day caps per account (Kite 400/min
and 5,000/day; Upstox 500/min and 2,000 per 30 min). Artha stays under them with margin: at
most 8 a second per segment, over a window a little longer than a second so that network
jitter cannot squeeze nine arrivals into one of the exchange's seconds. An order over the
limit waits its turn, first come first served; none is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most `limit` events in any `seconds`-long window."""

    seconds: float
    limit: int

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.limit < 1:
            raise ValueError(f"a rate window needs seconds > 0 and limit >= 1, got {self}")


SEGMENT_SECOND: Final = RateWindow(1.1, 8)  # 8/s per segment, with 100 ms for jitter


@dataclass(frozen=True, slots=True)
class OrderRateLimits:
    """Per exchange segment and per account (across segments)."""

    per_segment: tuple[RateWindow, ...] = (SEGMENT_SECOND,)
    per_account: tuple[RateWindow, ...] = field(default=())


DEFAULT_LIMITS: Final = OrderRateLimits()
KITE_LIMITS: Final = OrderRateLimits(
    per_account=(RateWindow(60.0, 400), RateWindow(86_400.0, 5_000)),
)
UPSTOX_LIMITS: Final = OrderRateLimits(
    per_account=(RateWindow(60.0, 500), RateWindow(1_800.0, 2_000)),
)


class _Window:
    """The send times inside one rate window (a sliding log: exact, and small at these rates)."""

    def __init__(self, window: RateWindow) -> None:
        self.window = window
        self.sent: deque[float] = deque()
        self.blocked_until = 0.0  # after a 429: nothing goes before this

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        horizon = now - self.window.seconds
        while self.sent and self.sent[0] <= horizon:
            self.sent.popleft()
        blocked = self.blocked_until - now
        if len(self.sent) < self.window.limit:
            return max(blocked, 0.0)
        return max(blocked, self.sent[0] + self.window.seconds - now)

    def record(self, now: float) -> None:
        self.sent.append(now)


class OrderRateLimiter:
    """Grants order calls in arrival order, each as soon as every window has room.

    `clock` and `sleep` are injectable so a test can run a day of orders in no time; the app
    uses the monotonic clock and asyncio's sleep.
    """

    def __init__(
        self,
        limits: OrderRateLimits = DEFAULT_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._segments: dict[str, list[_Window]] = {}
        self._account = [_Window(w) for w in limits.per_account]
        self._turn = asyncio.Lock()  # asyncio's lock wakes waiters in FIFO order
        self.waiting = 0

    def _windows(self, segment: str) -> list[_Window]:
        windows = self._segments.get(segment)
        if windows is None:
            windows = [_Window(w) for w in self.limits.per_segment]
            self._segments[segment] = windows
        return windows + self._account

    async def acquire(self, segment: str) -> float:
        """Wait until an order call on `segment` (e.g. "NSE", "NFO") may go; the seconds
        waited. Call right before sending."""
        windows = self._windows(segment)
        started = self._clock()
        self.waiting += 1
        try:
            async with self._turn:
                while True:
                    now = self._clock()
                    delay = max(w.wait(now) for w in windows)
                    if delay <= 0:
                        for w in windows:
                            w.record(now)
                        return now - started
                    await self._sleep(delay)
        finally:
            self.waiting -= 1

    def backoff(self, segment: str, seconds: float) -> None:
        """The broker answered 429 anyway (another app on the same account?): treat the
        segment's windows as full for `seconds`."""
        until = self._clock() + seconds
        for w in self._windows(segment)[: len(self.limits.per_segment)]:
            w.blocked_until = max(w.blocked_until, until)
