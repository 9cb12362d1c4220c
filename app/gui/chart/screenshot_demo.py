"""What `artha --screenshot PATH --show chart` puts on the chart: a demo backtest's trades
and two indicators, so the picture shows what a trader sees after a run."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QWidget

from app.gui.chart.trade_marks import TradeMarks
from engine.backtest import BacktestConfig, run_backtest
from engine.data.stored_bars import series_for
from engine.timeframes import Timeframe
from strategies.reference import load_reference

DEMO_INDICATORS = ("sma(20)", "ema(50)")
DEMO_STRATEGY = "sma_crossover"
LOAD_WAIT_SECONDS = 20.0
SESSIONS_IN_VIEW = 2


async def demo_chart(panel: QWidget, loop: asyncio.AbstractEventLoop) -> None:
    """Wait for the chart panel's bars, then add the indicators and a demo run's trades and
    show the last sessions. Anything missing (no store, no bars) leaves the panel as it is:
    its own message says why."""
    from app.gui.panels.chart_panel import ChartPanel

    if not isinstance(panel, ChartPanel):
        return
    waited = 0.0
    while panel.bars is None and panel.ctx.store is not None and waited < LOAD_WAIT_SECONDS:
        await asyncio.sleep(0.05)
        waited += 0.05
    bars, store = panel.bars, panel.ctx.store
    if bars is None or store is None:
        return
    if not panel.indicators:
        for text in DEMO_INDICATORS:
            panel.add_indicator(text)
    exchange, _, symbol = bars.key.partition(":")
    series = series_for(store, symbol, bars.timeframe, exchange=exchange, adjusted=bars.adjusted)
    result = await loop.run_in_executor(
        None, run_backtest, load_reference(DEMO_STRATEGY), None, [series], BacktestConfig()
    )
    panel.show_trades(TradeMarks.from_trades(result.trades, symbol))
    timeframe = Timeframe(bars.timeframe)
    per_session = -(-375 // timeframe.minutes) if timeframe.intraday else 60  # 60 sessions
    panel.view.show_last(SESSIONS_IN_VIEW * per_session)
