"""A market for the paper broker's tests: whole sessions of quotes with depth, from a seeded
random walk on the real calendar, and small builders for orders and hand-made quotes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np

from engine.broker.models import (
    BrokerOrder,
    ConnectionState,
    DepthLevel,
    OrderRequest,
    Quote,
    TickMode,
)
from engine.calendar import IST, get_calendar
from engine.domain.enums import Exchange, OrderType, Product, Segment, Side, Validity
from engine.domain.instrument import Instrument
from engine.domain.market_data import Tick
from engine.domain.orders import Order

EQUITY = Instrument(Exchange.NSE, Segment.EQUITY, "SYNBANK01", tick_size=Decimal("0.05"))
OTHER = Instrument(Exchange.NSE, Segment.EQUITY, "SYNIT02", tick_size=Decimal("0.05"))
TRADING_DAY = date(2026, 12, 4)  # a Friday, a regular session
MUHURAT_DAY = date(2024, 11, 1)  # 18:00-19:00 (the shipped calendar table)


@lru_cache(maxsize=16)
def session_quotes(
    instrument: Instrument,
    day: date,
    *,
    seed: int,
    base: str = "1000.00",
    step_seconds: int = 2,
    levels: int = 5,
) -> tuple[Quote, ...]:
    """Every `step_seconds` of the day's calendar session, open to close: a last price on a
    random walk of whole ticks and five levels of depth a tick apart on each side (quotes
    are immutable: a test module shares each day it builds)."""
    session = get_calendar(instrument.exchange).session(day)
    assert session is not None, f"{day} has no session"
    count = int((session.close - session.open).total_seconds()) // step_seconds
    rng = np.random.default_rng(seed)
    tick = instrument.tick_size
    start = int(Decimal(base) / tick)
    walk = start + np.cumsum(rng.choice([-1, 0, 1], size=count, p=[0.4, 0.2, 0.4]))
    sizes = rng.integers(20, 400, size=(count, 2 * levels))
    traded = rng.integers(1, 300, size=count)
    out: list[Quote] = []
    volume = 0
    for i in range(count):
        ltp = int(walk[i]) * tick
        volume += int(traded[i])
        asks = tuple(DepthLevel(ltp + k * tick, int(sizes[i, k - 1])) for k in range(1, levels + 1))
        bids = tuple(
            DepthLevel(ltp - k * tick, int(sizes[i, levels + k - 1])) for k in range(1, levels + 1)
        )
        at = session.open + timedelta(seconds=i * step_seconds)
        out.append(
            Quote(
                tick=Tick(instrument.key, at, ltp, volume=volume),
                mode=TickMode.FULL,
                asks=asks,
                bids=bids,
            )
        )
    return tuple(out)


def quote(
    instrument: Instrument,
    at: datetime,
    ltp: str,
    *,
    asks: Sequence[tuple[str, int]] = (),
    bids: Sequence[tuple[str, int]] = (),
    volume: int = 0,
) -> Quote:
    return Quote(
        tick=Tick(instrument.key, at, Decimal(ltp), volume=volume),
        mode=TickMode.FULL if asks or bids else TickMode.LTP,
        asks=tuple(DepthLevel(Decimal(p), q) for p, q in asks),
        bids=tuple(DepthLevel(Decimal(p), q) for p, q in bids),
    )


def request(
    instrument: Instrument,
    client_id: str,
    side: Side,
    quantity: int,
    order_type: OrderType = OrderType.MARKET,
    *,
    product: Product = Product.MIS,
    price: str | None = None,
    trigger: str | None = None,
    validity: Validity = Validity.DAY,
) -> OrderRequest:
    return OrderRequest(
        order=Order(
            client_id=client_id,
            symbol=instrument.key,
            side=side,
            order_type=order_type,
            product=product,
            validity=validity,
            quantity=quantity,
            price=None if price is None else Decimal(price),
            trigger_price=None if trigger is None else Decimal(trigger),
            tag=client_id,
            created_at=datetime(2026, 12, 4, 9, 0, tzinfo=IST),
        ),
        instrument=instrument,
    )


class Recorder:
    """A BrokerListener that keeps what it hears, in order."""

    def __init__(self) -> None:
        self.updates: list[BrokerOrder] = []
        self.quotes: list[Quote] = []
        self.states: list[ConnectionState] = []

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def on_order_update(self, update: BrokerOrder) -> None:
        self.updates.append(update)

    def on_state(self, state: ConnectionState, detail: str) -> None:
        self.states.append(state)

    def of(self, client_id: str) -> list[BrokerOrder]:
        return [u for u in self.updates if u.order.client_id == client_id]


def at(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=IST)
