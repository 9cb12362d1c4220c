"""Every order call to a real or paper broker goes through here: the 2026 rules in one place.

- **Rate:** calls wait in `OrderRateLimiter` (8 a second per exchange segment, the broker's
  per-minute and per-day caps); an order over the limit is queued, never dropped. A 429 from
  the broker anyway (another app on the account) backs the segment off and sends again: a 429
  means the broker did not act.
- **Market protection:** MARKET and SL-M orders always carry one (`OrderRequest.protection`:
  the broker's automatic choice unless the trader set a percentage).
- **No blind retries:** after a timeout or a 5xx the order may or may not exist. The gateway
  looks for it by its tag (our client id) in the broker's order book, twice over a short
  pause, and sends it again only when it is not there; a modify or cancel is checked against
  the order's state instead of being repeated.
- **Audit:** every request and answer is appended to the local audit log before returning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from engine.broker.audit import OrderAudit, change_fields, request_fields
from engine.broker.errors import BrokerError, BrokerErrorKind, RateLimited
from engine.broker.limiter import DEFAULT_LIMITS, OrderRateLimiter, OrderRateLimits
from engine.broker.models import BrokerOrder, OrderChange, OrderRequest
from engine.broker.protocol import Broker
from engine.domain.orders import ACTIVE_STATUSES

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    rate_limited_pause: float = 1.0  # a 429: wait this long, then send again
    rate_limited_tries: int = 5
    reconcile_pause: float = 1.0  # between looks in the order book after a doubt
    reconcile_looks: int = 2
    resend_after_absent: int = 1  # times an order proven absent may be sent again


# The broker may have acted on a call that failed like this: look before sending again.
_DOUBT = frozenset(
    {BrokerErrorKind.NETWORK, BrokerErrorKind.BROKER_DOWN, BrokerErrorKind.MALFORMED}
)
DEFAULT_POLICY = RetryPolicy()


class OrderGateway:
    """The one way orders reach `broker`."""

    def __init__(
        self,
        broker: Broker,
        *,
        limits: OrderRateLimits = DEFAULT_LIMITS,
        limiter: OrderRateLimiter | None = None,
        audit: OrderAudit | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.broker = broker
        self.limiter = limiter if limiter is not None else OrderRateLimiter(limits, sleep=sleep)
        self.audit = audit
        self.policy = policy
        self._sleep = sleep

    def _record(self, action: str, outcome: str, **fields: object) -> None:
        if self.audit is not None:
            self.audit.record(self.broker.account_id, action, outcome, **fields)

    def _record_error(self, action: str, error: BrokerError, **fields: object) -> None:
        if self.audit is not None:
            self.audit.error(self.broker.account_id, action, error, **fields)

    async def _send(self, segment: str, call: Callable[[], Awaitable[T]]) -> T:
        """One order call under the rate limit; a 429 waits and sends again (not acted on)."""
        tries = 0
        while True:
            await self.limiter.acquire(segment)
            try:
                return await call()
            except RateLimited:
                tries += 1
                if tries >= self.policy.rate_limited_tries:
                    raise
                self.limiter.backoff(segment, self.policy.rate_limited_pause)

    async def find_by_tag(self, tag: str) -> BrokerOrder | None:
        """The broker's order carrying our client id `tag` (the first slice's parent when
        sliced), or None."""
        for order in await self.broker.orders():
            if order.order.client_id == tag and order.parent_id is None:
                return order
        return None

    async def _reconcile(self, request: OrderRequest) -> BrokerOrder | None:
        for look in range(self.policy.reconcile_looks):
            if look:
                await self._sleep(self.policy.reconcile_pause)
            try:
                found = await self.find_by_tag(request.tag)
            except BrokerError as error:
                self._record_error("reconcile", error, client_id=request.tag)
                continue
            if found is not None:
                self._record("reconcile", "found", client_id=request.tag, broker_id=found.broker_id)
                return found
        self._record("reconcile", "not_found", client_id=request.tag)
        return None

    async def place(self, request: OrderRequest) -> str:
        """Place the order; the broker's id. Raises the broker's error when it was refused,
        or when it could not be placed and could not be proven absent."""
        segment = request.instrument.exchange.value
        fields = request_fields(request)
        resends = 0
        while True:
            self._record("place", "sent", **fields)
            try:
                broker_id = await self._send(segment, lambda: self.broker.place(request))
            except BrokerError as error:
                self._record_error("place", error, client_id=request.tag)
                if error.kind not in _DOUBT:
                    raise
                found = await self._reconcile(request)
                if found is not None:
                    return found.broker_id
                if resends >= self.policy.resend_after_absent:
                    raise
                resends += 1
                self._record("retry", "sent", client_id=request.tag, reason=error.kind)
                continue
            self._record("place", "ok", client_id=request.tag, broker_id=broker_id)
            return broker_id

    async def _state_of(self, broker_order_id: str) -> BrokerOrder | None:
        try:
            for order in await self.broker.orders():
                if order.broker_id == broker_order_id:
                    return order
        except BrokerError as error:
            self._record_error("reconcile", error, broker_id=broker_order_id)
        return None

    async def modify(self, segment: str, broker_order_id: str, change: OrderChange) -> None:
        """Change an open order. After a doubt the order's state is read back; the change is
        never sent twice."""
        fields = change_fields(change)
        self._record("modify", "sent", broker_id=broker_order_id, **fields)
        try:
            await self._send(segment, lambda: self.broker.modify(broker_order_id, change))
        except BrokerError as error:
            self._record_error("modify", error, broker_id=broker_order_id)
            if error.kind in _DOUBT:
                state = await self._state_of(broker_order_id)
                self._record(
                    "reconcile",
                    "found" if state else "not_found",
                    broker_id=broker_order_id,
                    status=state.order.status if state else None,
                )
            raise
        self._record("modify", "ok", broker_id=broker_order_id)

    async def cancel(self, segment: str, broker_order_id: str) -> None:
        """Cancel an open order. After a doubt the order book decides: gone from the active
        states means done; still working means the cancel failed and the error is raised."""
        self._record("cancel", "sent", broker_id=broker_order_id)
        try:
            await self._send(segment, lambda: self.broker.cancel(broker_order_id))
        except BrokerError as error:
            self._record_error("cancel", error, broker_id=broker_order_id)
            if error.kind not in _DOUBT:
                raise
            state = await self._state_of(broker_order_id)
            if state is not None and state.order.status not in ACTIVE_STATUSES:
                self._record(
                    "reconcile", "found", broker_id=broker_order_id, status=state.order.status
                )
                return
            raise
        self._record("cancel", "ok", broker_id=broker_order_id)
