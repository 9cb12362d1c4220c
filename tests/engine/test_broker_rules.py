"""The 2026 order rules the engine keeps for every broker: the rate limiter, market protection,
slicing, typed errors and the audit line. The gateway over real brokers is tested in
tests/brokers (against the fake Kite and Upstox servers and the paper broker)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.broker.audit import OrderAudit, request_fields
from engine.broker.errors import (
    BrokerDown,
    IpNotAllowed,
    NetworkError,
    RateLimited,
    TokenExpired,
)
from engine.broker.limiter import (
    KITE_LIMITS,
    OrderRateLimiter,
    OrderRateLimits,
    RateWindow,
)
from engine.broker.models import AUTOMATIC, OrderChange, OrderRequest, market_protection_for
from engine.domain import Exchange, Instrument, Order, OrderType, Product, Segment, Side, Validity


class FakeClock:
    """Virtual time: `sleep` advances it, so a day of orders runs in milliseconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def max_in_window(times: list[float], seconds: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_a_burst_of_100_orders_never_exceeds_8_in_any_second_and_none_is_dropped():
    clock = FakeClock()
    limiter = OrderRateLimiter(clock=clock, sleep=clock.sleep)
    granted: list[tuple[int, float]] = []

    async def order(n: int) -> None:
        await limiter.acquire("NSE")
        granted.append((n, clock()))

    async def burst() -> None:
        await asyncio.gather(*(order(n) for n in range(100)))

    asyncio.run(burst())
    assert [n for n, _ in granted] == list(range(100))  # first come, first served
    times = [t for _, t in granted]
    assert max_in_window(times, 1.0) == 8
    assert max_in_window(times, 1.1 - 1e-9) == 8  # the jitter margin holds too
    assert 12.0 < times[-1] < 14.0  # 100 orders at 8 per 1.1 s: queued, not dropped


def test_segments_have_their_own_second_but_share_the_accounts_minute():
    clock = FakeClock()
    limits = OrderRateLimits(per_account=(RateWindow(60.0, 20),))
    limiter = OrderRateLimiter(limits, clock=clock, sleep=clock.sleep)
    granted: list[tuple[str, float]] = []

    async def order(segment: str) -> None:
        await limiter.acquire(segment)
        granted.append((segment, clock()))

    async def burst() -> None:
        await asyncio.gather(*(order(s) for s in ["NSE", "NFO"] * 12))

    asyncio.run(burst())
    at_zero = [s for s, t in granted if t == 0.0]
    assert at_zero.count("NSE") == 8 and at_zero.count("NFO") == 8  # 16 at once: two segments
    later = [t for _, t in granted if t > 0]
    assert len(later) == 8
    # The account's 20 per minute: 4 more fit within the minute, the last 4 wait for it.
    assert sum(1 for t in later if t < 60.0) == 4
    assert all(t >= 60.0 for t in sorted(later)[4:])


def test_kite_daily_cap_queues_the_5001st_order_to_the_next_day_window():
    clock = FakeClock()
    limits = OrderRateLimits(per_segment=(), per_account=KITE_LIMITS.per_account)
    limiter = OrderRateLimiter(limits, clock=clock, sleep=clock.sleep)

    async def run() -> list[float]:
        waits = []
        for _ in range(5_001):
            waits.append(await limiter.acquire("NSE"))
        return waits

    waits = asyncio.run(run())
    assert clock() >= 86_400.0 - 60.0  # the day's 5,000 used, the next one waits for the window
    assert waits[-1] > 0


def test_a_429_backs_the_segment_off_without_losing_the_order():
    clock = FakeClock()
    limiter = OrderRateLimiter(clock=clock, sleep=clock.sleep)

    async def run() -> float:
        await limiter.acquire("NSE")
        limiter.backoff("NSE", 2.0)
        return await limiter.acquire("NSE")

    assert asyncio.run(run()) == pytest.approx(2.0)


def infy(**overrides: object) -> Instrument:
    fields: dict[str, object] = {
        "exchange": Exchange.NSE,
        "segment": Segment.EQUITY,
        "symbol": "INFY",
        "token": 408065,
        "tick_size": Decimal("0.05"),
        "lot_size": 1,
        "freeze_quantity": 100_000,
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def order(order_type: OrderType = OrderType.MARKET, quantity: int = 10, **kw: object) -> Order:
    fields: dict[str, object] = {
        "client_id": "A1206-000001",
        "symbol": "NSE:INFY",
        "side": Side.BUY,
        "order_type": order_type,
        "product": Product.MIS,
        "validity": Validity.DAY,
        "quantity": quantity,
        "created_at": datetime(2026, 12, 7, 4, 0, tzinfo=UTC),
    }
    fields.update(kw)
    return Order(**fields)  # type: ignore[arg-type]


def test_market_and_slm_orders_always_carry_market_protection():
    assert OrderRequest(order=order(), instrument=infy()).protection == AUTOMATIC
    slm = order(OrderType.SL_M, trigger_price=Decimal("1500"))
    assert OrderRequest(order=slm, instrument=infy()).protection == AUTOMATIC
    chosen = OrderRequest(order=order(), instrument=infy(), market_protection=Decimal("2.5"))
    assert chosen.protection == Decimal("2.5")
    limit = order(OrderType.LIMIT, price=Decimal("1500.05"))
    assert OrderRequest(order=limit, instrument=infy()).protection is None
    with pytest.raises(ValueError, match="market protection"):
        OrderRequest(order=order(), instrument=infy(), market_protection=Decimal("0"))
    assert market_protection_for(OrderType.SL, Decimal(3)) is None


def test_an_order_request_refuses_off_tick_prices_odd_lots_and_more_than_ten_slices():
    with pytest.raises(ValueError, match=r"tick size 0\.05"):
        OrderRequest(order=order(OrderType.LIMIT, price=Decimal("1500.03")), instrument=infy())
    nifty_fut = infy(
        exchange=Exchange.NFO,
        segment=Segment.FUTURES,
        symbol="NIFTY26DECFUT",
        lot_size=75,
        freeze_quantity=1800,
        expiry=datetime(2026, 12, 29).date(),
    )
    with pytest.raises(ValueError, match="multiple of the lot size 75"):
        OrderRequest(order=order(symbol="NFO:NIFTY26DECFUT", quantity=100), instrument=nifty_fut)
    sliced = OrderRequest(
        order=order(symbol="NFO:NIFTY26DECFUT", quantity=3600), instrument=nifty_fut
    )
    assert sliced.slices == 2
    assert (
        OrderRequest(
            order=order(symbol="NFO:NIFTY26DECFUT", quantity=18_000), instrument=nifty_fut
        ).slices
        == 10
    )
    with pytest.raises(ValueError, match="more than 10 slices"):
        OrderRequest(order=order(symbol="NFO:NIFTY26DECFUT", quantity=18_075), instrument=nifty_fut)
    with pytest.raises(ValueError, match="is for NSE:INFY but the instrument given is NSE:TCS"):
        OrderRequest(order=order(), instrument=infy(symbol="TCS"))
    with pytest.raises(ValueError, match="must change something"):
        OrderChange()


def test_errors_say_what_to_do_and_which_may_be_sent_again():
    expired = TokenExpired("Incorrect api_key or access_token.", broker="Zerodha", status=403)
    assert expired.needs_login and not expired.retryable
    assert "log in again" in str(expired) and str(expired).startswith("Zerodha: ")
    assert RateLimited("Too many requests").retryable
    assert NetworkError("timed out", sent=False).retryable
    assert not NetworkError("read timed out", sent=True).retryable  # reconcile first
    assert not BrokerDown("502", sent=True).retryable
    v6 = IpNotAllowed("IP (2402:3a80::1) is not allowed", ip="2402:3a80::1", registered="1.2.3.4")
    assert "IPv6" in v6.advice and "2402:3a80::1" in v6.advice
    v4 = IpNotAllowed("IP not allowed", ip="5.6.7.8", registered="1.2.3.4")
    assert "5.6.7.8" in v4.advice and "1.2.3.4" in v4.advice


def test_the_audit_log_keeps_every_line_on_disk_with_exact_prices(tmp_path: Path):
    audit = OrderAudit(tmp_path / "logs" / "orders-audit.jsonl")
    request = OrderRequest(
        order=order(OrderType.LIMIT, price=Decimal("1500.05")), instrument=infy()
    )
    audit.record("zerodha-AB1234", "place", "sent", **request_fields(request))
    audit.error("zerodha-AB1234", "place", NetworkError("read timed out", sent=True))
    lines = (tmp_path / "logs" / "orders-audit.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["price"] == "1500.05" and first["client_id"] == "A1206-000001"
    assert first["market_protection"] is None and first["order_type"] == "LIMIT"
    assert json.loads(lines[1])["maybe_sent"] is True
    audit.close()
    assert OrderAudit(tmp_path / "logs" / "orders-audit.jsonl").entries()[1]["error_kind"] == (
        "network"
    )
