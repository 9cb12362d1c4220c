"""A broker's instruments dump into the store: contracts keep their lot, tick, freeze,
expiry and strike, and F&O candles can then be stored against them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

from engine.broker.history import MarketStoreTarget
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore
from engine.domain import Exchange, Instrument, OptionType, Segment
from engine.timeframes import Timeframe

FUTURE = Instrument(
    exchange=Exchange.NFO,
    segment=Segment.FUTURES,
    symbol="NIFTY26DECFUT",
    token=13238786,
    lot_size=75,
    tick_size=Decimal("0.10"),
    freeze_quantity=1800,
    expiry=date(2026, 12, 29),
    name="NIFTY",
)
CALL = Instrument(
    exchange=Exchange.NFO,
    segment=Segment.OPTIONS,
    symbol="NIFTY26DEC24500CE",
    token=13240066,
    lot_size=75,
    expiry=date(2026, 12, 29),
    strike=Decimal("24500"),
    option_type=OptionType.CALL,
)
INFY = Instrument(Exchange.NSE, Segment.EQUITY, "INFY", token=408065, isin="INE009A01021")


def test_the_dump_is_stored_with_every_detail_and_updates_in_place(tmp_path: Path):
    with MarketStore.open(tmp_path / "artha.duckdb") as store:
        assert store.write_instruments([FUTURE, CALL, INFY], "zerodha instruments") == 3
        future = store.instrument("NIFTY26DECFUT", "NFO")
        assert (future.lot_size, future.tick_size, future.freeze_quantity) == (
            75,
            Decimal("0.10"),
            1800,
        )
        assert future.expiry == date(2026, 12, 29) and future.token == 13238786
        call = store.instrument("NFO:NIFTY26DEC24500CE")
        assert call.strike == Decimal("24500") and call.option_type is OptionType.CALL
        assert store.instrument("INFY").isin == "INE009A01021"
        # The next day's dump: the lot changed; nothing new.
        relot = Instrument(**{**_fields(FUTURE), "lot_size": 65})
        assert store.write_instruments([relot], "zerodha instruments") == 0
        assert store.instrument("NIFTY26DECFUT", "NFO").lot_size == 65


def _fields(item: Instrument) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}


def test_future_candles_from_a_broker_are_stored_with_their_contract(tmp_path: Path):
    ts = np.array([1_796_615_100_000_000_000 + i * 60_000_000_000 for i in range(375)])
    prices = np.full(375, 2_450_000, dtype=np.int64)
    series = BarSeries.from_arrays(
        "NIFTY26DECFUT", ts, prices, prices + 100, prices - 100, prices, prices // 1000,
        Timeframe.M1.value, prices_in_paise=True,
    )  # fmt: skip
    with MarketStore.open(tmp_path / "artha.duckdb") as store:
        target = MarketStoreTarget(store)
        assert target.last_bar(FUTURE, Timeframe.M1) is None
        assert target.write(series, FUTURE) == 375
        assert store.instrument("NIFTY26DECFUT", "NFO").lot_size == 75
        assert len(store.read_bars("NIFTY26DECFUT", "1m", exchange="NFO")) == 375
        assert target.last_bar(FUTURE, Timeframe.M1) is not None
