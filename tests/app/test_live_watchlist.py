"""Live prices in the station: a paper broker replays the session after the store's last one
through a REAL BrokerHub (quotes -> QuoteEvent, the hub's live minutes -> FormingBarEvent /
BarEvent), and the watchlist and the chart, built offscreen on a real store of SYNTHETIC
demo minutes, take them as they would a Kite feed's. (The feed is the paper broker's replay,
not the fake Kite's websocket: the same hub path from `on_quote` on.) A burst of 5,000
quotes repaints the watchlist and the chart at most about ten times a second. The chart's
live candles at 3m..1D are checked against the resampler itself."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.gui.chart.live_candles import Candle, LiveCandles, Minute
from app.gui.context import AppContext
from app.gui.panels.chart_panel import ChartPanel
from app.gui.panels.watchlist import SYMBOL, WatchlistPanel
from app.gui.screenshot_views import next_session_quotes
from brokers.accounts import BrokerAccount, BrokerAccounts, BrokerKind
from brokers.hub import BrokerHub
from brokers.paper.broker import PaperBroker
from engine.broker.models import Quote
from engine.data.bar_series import BarSeries
from engine.data.demo import demo_batch, generate_demo
from engine.data.resample import resample
from engine.data.store import MarketStore
from engine.data.stored_bars import series_for
from engine.domain.money import to_paise
from engine.events import BarEvent, FormingBarEvent
from tests.app import test_brokers_page

collect_on_the_gui_thread = test_brokers_page.collect_on_the_gui_thread  # autouse fixture

COUNT, DAYS, MINUTES = 6, 4, 30
ACCOUNT = BrokerAccount(account_id="paper-replay", kind=BrokerKind.PAPER, label="Replay")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("live") / "artha.duckdb"
    with MarketStore.open(path) as store:
        store.import_batch(demo_batch(generate_demo(count=COUNT, days=DAYS)))
    return path


def run_until(
    loop: asyncio.AbstractEventLoop, done: Callable[[], bool], timeout: float = 15.0
) -> None:
    async def wait() -> None:
        deadline = loop.time() + timeout
        while not done():
            if loop.time() > deadline:
                raise AssertionError("timed out waiting")
            await asyncio.sleep(0.02)

    loop.run_until_complete(wait())


class Station:
    """The watchlist and a chart on a context whose hub streams a paper account."""

    def __init__(self, ctx: AppContext, broker: PaperBroker, qtbot, loop) -> None:
        self.ctx, self.broker, self.loop = ctx, broker, loop
        self.watchlist = WatchlistPanel(ctx)
        qtbot.addWidget(self.watchlist)
        qtbot.waitSignal(self.watchlist.quotes_shown, timeout=15_000).wait()
        self.chart = ChartPanel(ctx, "chart-live")
        qtbot.addWidget(self.chart)
        self.chart.show()  # a chart reads its bars once on screen
        run_until(loop, lambda: self.chart.bars is not None)
        self.keys = self.watchlist.model.keys()

    def connect(self) -> None:
        assert self.ctx.brokers is not None
        self.loop.run_until_complete(self.ctx.brokers.connect(ACCOUNT))
        # CONNECTED: both panels asked the hub to stream their instruments
        run_until(self.loop, lambda: set(self.keys) <= set(self.broker.subscribed))

    def replay(self, quotes: list[Quote]) -> None:
        self.loop.run_until_complete(self.broker.replay(quotes))


@pytest.fixture
def station(make_ctx, workspace, demo_file, tmp_path, qtbot, aloop) -> Iterator[Station]:
    shutil.copy(demo_file, workspace.database_path)
    ctx = make_ctx()
    accounts = BrokerAccounts(ctx.files_dir / "brokers.json")
    accounts.add(ACCOUNT)
    accounts.save()
    broker = PaperBroker(tmp_path / "paper", account=ACCOUNT.account_id)
    ctx.brokers = BrokerHub(ctx.bus, lambda _account: broker)
    made = Station(ctx, broker, qtbot, aloop)
    yield made
    assert ctx.jobs.wait(15)


def test_the_replayed_session_reaches_the_watchlist_and_the_chart(station: Station, aloop) -> None:
    store = station.ctx.store
    assert store is not None
    stored = station.chart.view.bar_count
    before = station.watchlist.status.text()
    assert "last close" in before and "live" not in before
    station.connect()
    quotes = next_session_quotes(store, station.keys, MINUTES)
    station.replay(quotes)
    station.watchlist.model.flush()
    station.chart.flush_live()

    last = {q.symbol: q for q in quotes}
    for row in station.watchlist.model.rows:
        assert row.live and row.last == to_paise(last[row.key].tick.ltp)
        assert row.volume == last[row.key].tick.volume
    first = station.watchlist.proxy.index(0, SYMBOL)
    assert first.data(Qt.ItemDataRole.DecorationRole) is not None  # the live mark
    assert "live from Paper · Replay" in station.watchlist.status.text()

    chart_key = station.chart.bars.key  # type: ignore[union-attr]
    assert station.chart.view.bar_count == stored + MINUTES
    close = float(last[chart_key].tick.ltp)
    assert station.chart.view.pyramid.bar(station.chart.view.bar_count - 1)[3] == close
    assert station.chart.info.text().endswith("· live")


def test_a_burst_of_5000_quotes_repaints_at_most_ten_times_a_second(
    station: Station, aloop
) -> None:
    station.connect()
    store = station.ctx.store
    assert store is not None
    quotes = next_session_quotes(store, station.keys, 375)
    burst = quotes[:5000]
    assert len(burst) == 5000
    changed: list[int] = []
    station.watchlist.model.dataChanged.connect(lambda *_: changed.append(1))
    repaints_before = station.watchlist.model.repaints

    async def feed() -> float:
        started = time.monotonic()
        for at in range(0, len(burst), 100):  # 100 quotes every 10 ms: ~0.5 s of ticks
            for quote in burst[at : at + 100]:
                station.broker.feed(quote)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.25)  # the last coalesced repaint
        return time.monotonic() - started

    elapsed = aloop.run_until_complete(feed())
    repaints = station.watchlist.model.repaints - repaints_before
    allowed = elapsed * 10 + 2
    assert 1 <= repaints <= allowed, (repaints, elapsed)
    assert len(changed) <= repaints * len(station.keys)  # one dataChanged per changed row
    assert 1 <= station.chart.live_repaints <= allowed
    for row in station.watchlist.model.rows:
        assert row.live


def test_the_chart_at_15m_folds_the_live_minutes_into_15_minute_candles(
    station: Station, aloop, qtbot
) -> None:
    with qtbot.waitSignal(station.chart.done.loaded, timeout=15_000):
        station.chart.set_timeframe("15m")
    stored = station.chart.view.bar_count
    station.connect()
    store = station.ctx.store
    assert store is not None
    minutes: list[FormingBarEvent | BarEvent] = []
    station.ctx.bus.subscribe(FormingBarEvent, minutes.append)
    quotes = next_session_quotes(store, station.keys, MINUTES)
    station.replay(quotes)
    station.chart.flush_live()
    assert station.chart.view.bar_count == stored + MINUTES // 15
    key = station.chart.bars.key  # type: ignore[union-attr]
    mine = [q for q in quotes if q.symbol == key]
    last_bin = [q for q in mine if q.tick.ts >= mine[-1].tick.ts.replace(minute=30, second=0)]
    high = max(float(q.tick.ltp) for q in last_bin)
    view = station.chart.view
    assert view.pyramid.bar(view.bar_count - 1)[3] == float(mine[-1].tick.ltp)
    assert view.pyramid.bar(view.bar_count - 1)[1] == high


# -- the live candles against the resampler itself ---------------------------------------------
def day_of_minutes(demo_file: Path) -> BarSeries:
    with MarketStore.open(demo_file, read_only=True) as store:
        info = store.list_series()[0]
        series = series_for(store, info.symbol, "1m", exchange=info.exchange)
    keep = slice(len(series.ts) - 375, len(series.ts))
    return BarSeries(
        series.symbol,
        "1m",
        *(
            np.asarray(getattr(series, n)[keep])
            for n in ("ts", "open", "high", "low", "close", "volume")
        ),
    )


@pytest.mark.parametrize("timeframe", ["1m", "3m", "5m", "15m", "60m", "1d"])
def test_live_candles_are_the_resamplers_bars(demo_file: Path, timeframe: str) -> None:
    day = day_of_minutes(demo_file)
    live = LiveCandles(day.symbol, timeframe, "NSE")
    candles: dict[int, Candle] = {}
    for i in range(len(day.ts)):
        ts, o, h, lo, c, v = (
            int(getattr(day, n)[i]) for n in ("ts", "open", "high", "low", "close", "volume")
        )
        # the forming readings first (the open only, then the whole minute), as a feed grows it
        for minute in (Minute(ts, o, o, o, o, 0), Minute(ts, o, h, lo, c, v)):
            done = live.add(minute)
            assert done is not None
            action, candle = done
            assert (action == "append") == (candle.ts not in candles)
            candles[candle.ts] = candle
    expected = day if timeframe == "1m" else resample(day, timeframe, "NSE").series
    assert sorted(candles) == [int(t) for t in expected.ts]
    for i, ts in enumerate(sorted(candles)):
        got = candles[ts]
        assert (got.open, got.high, got.low, got.close, got.volume) == (
            expected.open[i] / 100,
            expected.high[i] / 100,
            expected.low[i] / 100,
            expected.close[i] / 100,
            float(expected.volume[i]),
        )


def test_a_stored_candle_of_the_bin_is_extended_not_replaced(demo_file: Path) -> None:
    day = day_of_minutes(demo_file)
    whole = resample(day, "15m", "NSE").series
    stored_part = resample(
        BarSeries(
            day.symbol,
            "1m",
            *(getattr(day, n)[:7] for n in ("ts", "open", "high", "low", "close", "volume")),
        ),
        "15m",
        "NSE",
    ).series
    stored = Candle(
        int(stored_part.ts[0]),
        stored_part.open[0] / 100,
        stored_part.high[0] / 100,
        stored_part.low[0] / 100,
        stored_part.close[0] / 100,
        float(stored_part.volume[0]),
    )
    live = LiveCandles(day.symbol, "15m", "NSE", stored)
    done = None
    for i in range(7, 15):
        done = live.add(
            Minute(
                *(int(getattr(day, n)[i]) for n in ("ts", "open", "high", "low", "close", "volume"))
            )
        )
    assert done is not None and done[0] == "update"
    candle = done[1]
    assert (candle.ts, candle.open, candle.high, candle.low, candle.close, candle.volume) == (
        int(whole.ts[0]),
        whole.open[0] / 100,
        whole.high[0] / 100,
        whole.low[0] / 100,
        whole.close[0] / 100,
        float(whole.volume[0]),
    )


def test_minutes_outside_the_session_or_older_than_the_chart_change_nothing(
    demo_file: Path,
) -> None:
    day = day_of_minutes(demo_file)
    last = int(day.ts[-1])
    live = LiveCandles(day.symbol, "5m", "NSE", Candle(last, 1.0, 1.0, 1.0, 1.0, 1.0))
    assert live.add(Minute(last + 60 * 60 * 10**9, 100, 100, 100, 100, 1)) is None  # after close
    assert live.add(Minute(int(day.ts[0]), 100, 100, 100, 100, 1)) is None  # older bin
