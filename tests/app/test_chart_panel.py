"""The chart panel on a real store: it opens an instrument, switches symbol and timeframe,
adds and removes indicators whose read-out equals the SDK's values, puts a run's trades on
the right bars, keeps drawings per instrument, and remembers all of it across restarts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtWidgets import QApplication

from app.gui.chart.trade_marks import TradeMarks
from app.gui.panels.chart_panel import ChartPanel
from engine.backtest import BacktestConfig, run_backtest
from engine.data.demo import demo_batch, generate_demo
from engine.data.import_files import ImportOptions, import_files
from engine.data.resample import resample
from engine.events import MarketDataChanged
from strategies.reference import load_reference
from strategies.sdk.indicators import rsi, sma

BHAVCOPY = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
SESSIONS = 12


@pytest.fixture(scope="module")
def demo_series():
    return generate_demo(count=2, days=SESSIONS)  # 2 x 12 sessions of 375 one-minute bars


@pytest.fixture
def ctx(make_ctx, demo_series):
    made = make_ctx()
    assert made.store is not None
    made.store.import_batch(demo_batch(demo_series))
    return made


def open_panel(ctx, qtbot, panel_id: str = "chart") -> ChartPanel:
    panel = ChartPanel(ctx, panel_id)
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    qtbot.waitUntil(lambda: panel.bars is not None, timeout=20_000)
    return panel


def switch(qtbot, panel: ChartPanel, action, expected: str) -> None:
    """Do `action` and wait until the panel shows `expected` ("KEY timeframe")."""
    with qtbot.waitSignal(panel.done.loaded, timeout=20_000) as shown:
        action()
    assert shown.args == [expected]


def test_it_opens_the_first_instrument_with_its_stored_bars(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    first = min(demo_series, key=lambda s: s.symbol)
    assert panel.bars is not None and panel.bars.key == f"NSE:{first.symbol}"
    assert panel.view.bar_count == SESSIONS * 375
    np.testing.assert_array_equal(panel.view.ts_ns, first.ts)
    np.testing.assert_array_equal(panel.bars.close * 100, first.close)
    assert panel.symbol_box.text() == f"NSE:{first.symbol}"
    assert panel.info.text() == f"{SESSIONS * 375:,} bars, as traded"


def test_a_long_info_line_never_widens_the_panel(ctx, qtbot):
    """The line beside the tools ("4,500 bars, as traded", a fallback's note, a refused
    indicator's reason) once raised the panel's minimum width with its text: after a
    backtest the main window grew 280 px and was laid out and repainted whole."""
    panel = open_panel(ctx, qtbot)
    narrow = panel.minimumSizeHint().width()
    note = "Indicator 'ema(close, 10' refused: " + "the closing bracket is missing; " * 6
    panel.info.setText(note)
    assert panel.minimumSizeHint().width() == narrow
    assert panel.info.text() == note  # whole; cut with "…" on screen
    shown = panel.info.shown_text()
    assert shown.endswith("…") and len(shown) < len(note)
    assert panel.info.width() < panel.info.fontMetrics().horizontalAdvance(note)


def test_switching_symbol_and_timeframe_reads_the_engines_bars(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    other = max(demo_series, key=lambda s: s.symbol)
    switch(qtbot, panel, lambda: panel.open_symbol(other.symbol.lower()), f"NSE:{other.symbol} 1m")
    switch(qtbot, panel, lambda: panel.set_timeframe("15m"), f"NSE:{other.symbol} 15m")
    expected = resample(other, "15m").series
    np.testing.assert_array_equal(panel.view.ts_ns, expected.ts)
    np.testing.assert_array_equal(panel.bars.high * 100, expected.high)
    assert panel.timeframe_box.currentData() == "15m"
    assert panel.info.text().endswith("bars (from 1m), as traded")
    # typed into the symbol box, as a trader does
    panel.symbol_box.setText(min(demo_series, key=lambda s: s.symbol).symbol)
    with qtbot.waitSignal(panel.done.loaded, timeout=20_000):
        panel.symbol_box.returnPressed.emit()
    assert panel.view.bar_count == SESSIONS * 25


def test_an_unknown_symbol_keeps_the_chart_and_says_why(ctx, qtbot):
    panel = open_panel(ctx, qtbot)
    shown = panel.bars
    with qtbot.waitSignal(panel.done.failed, timeout=20_000) as failed:
        panel.open_symbol("NOSUCH")
    assert "NOSUCH is not in the store" in failed.args[0]
    assert panel.bars is shown and panel.stack.currentWidget() is panel.view
    assert "NOSUCH is not in the store" in panel.info.text()
    assert panel.symbol_box.text() == shown.key  # back to what is on screen


def test_a_daily_only_symbol_falls_back_to_daily_bars_and_says_so(ctx, qtbot):
    outcome = import_files(ctx.store, [str(BHAVCOPY / "cm03JUN2024bhav.csv")], ImportOptions())
    assert outcome.reports and not outcome.errors
    panel = open_panel(ctx, qtbot)  # the first instrument: HDFCBANK, daily only
    assert panel.bars.key == "NSE:HDFCBANK" and panel.bars.timeframe == "1d"
    switch(qtbot, panel, lambda: panel.open_symbol("INFY"), "NSE:INFY 1d")
    assert panel.view.bar_count == 1
    assert "NSE:INFY has no bars that make 1m bars: showing 1D" in panel.info.text()
    assert panel.timeframe_box.currentData() == "1d"
    model = panel.timeframe_box.model()
    enabled = [model.item(row).isEnabled() for row in range(model.rowCount())]
    assert enabled == [False] * 6 + [True]  # only 1D can be made from its bars
    demo = next(s.symbol for s in generate_demo(count=1, days=1))
    switch(qtbot, panel, lambda: panel.open_symbol(demo), f"NSE:{demo} 1m")  # still 1m asked
    assert all(model.item(row).isEnabled() for row in range(model.rowCount()))


def test_indicators_draw_the_sdks_values_and_read_them_out(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    close = panel.bars.close
    panel.add_indicator("sma(20)")
    panel.add_indicator("rsi(14)")
    panel.add_indicator("bollinger(20, 2.0)")
    assert [s.spec.to_text() for s in panel.indicators] == [
        "sma(20)", "rsi(14)", "bollinger(20, 2.0)",
    ]  # fmt: skip
    assert panel.view.subpane("rsi(14)") is not None  # an oscillator gets its own pane
    expected_sma, expected_rsi = sma(close, 20), rsi(close, 14)
    for i in (0, 18, 19, 400, len(close) - 1):
        values = panel.view.crosshair.readout_values(i)
        for name, expected in (("SMA 20", expected_sma), ("RSI 14", expected_rsi)):
            if np.isnan(expected[i]):
                assert values[name] is None
            else:
                assert values[name] == pytest.approx(expected[i], rel=1e-12)
    panel.remove_indicator("rsi(14)")
    assert panel.view.subpane("rsi(14)") is None
    assert "RSI 14" not in panel.view.crosshair.readout_values(400)
    with pytest.raises(ValueError, match="unknown indicator 'macd'"):
        panel.add_indicator("macd(12)")
    panel._add_safely("sma(0)")  # the menu's path: a message, never a traceback
    assert panel.info.text() == "Indicator 'sma(0)' refused: parameter length=0: must be >= 1"
    assert len(panel.indicators) == 2


def test_what_a_chart_shows_is_remembered_across_restarts(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    other = max(demo_series, key=lambda s: s.symbol)
    switch(qtbot, panel, lambda: panel.open_symbol(other.symbol), f"NSE:{other.symbol} 1m")
    switch(qtbot, panel, lambda: panel.set_timeframe("5m"), f"NSE:{other.symbol} 5m")
    panel.add_indicator("ema(50)")
    panel.add_indicator("zscore(30)")
    panel.close()
    second = open_panel(ctx, qtbot, "chart-2")  # another chart keeps its own state
    assert second.bars.key != f"NSE:{other.symbol}" or second.bars.timeframe == "1m"
    again = open_panel(ctx, qtbot)
    assert (again.bars.key, again.bars.timeframe) == (f"NSE:{other.symbol}", "5m")
    assert [s.spec.to_text() for s in again.indicators] == ["ema(50)", "zscore(30)"]
    assert again.view.subpane("zscore(30)") is not None
    assert again.view.bar_count == SESSIONS * 75


def test_a_runs_trades_sit_on_their_bars_at_any_timeframe(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    series = next(s for s in demo_series if f"NSE:{s.symbol}" == panel.bars.key)
    result = run_backtest(
        load_reference("sma_crossover"), None, [series],
        BacktestConfig(costs="bps", cost_bps=Decimal(3)),
    )  # fmt: skip
    trades = result.trades
    assert len(trades) > 50
    panel.show_trades(TradeMarks.from_trades(trades, series.symbol))
    item = panel.trade_item
    assert len(item.trades_in_view(-1, len(series.ts))) == len(trades)
    for number, trade in enumerate(trades[:20]):
        marks = item.trade_at(trade.entry_bar)
        mine = [m for m in marks if m.number == number and m.at == "entry"]
        assert mine and mine[0].entry_price == float(trade.entry_price)
        assert mine[0].side == (1 if trade.side == "long" else -1)
    switch(qtbot, panel, lambda: panel.set_timeframe("5m"), f"{panel.bars.key} 5m")
    five = panel.view.ts_ns
    item = panel.trade_item
    assert len(item.trades_in_view(-1, len(five))) == len(trades)
    for number, trade in enumerate(trades[:20]):
        entry_ns = int(series.ts[trade.entry_bar])
        bar = int(np.searchsorted(five, entry_ns, side="right")) - 1
        assert five[bar] <= entry_ns < five[bar] + 5 * 60 * 10**9
        assert any(m.number == number and m.at == "entry" for m in item.trade_at(bar))


def test_live_fills_land_on_the_bar_holding_their_time(ctx, qtbot):
    panel = open_panel(ctx, qtbot)
    ts = panel.view.ts_ns
    panel.live_fill(int(ts[500]) + 20 * 10**9, 412.35, 1, True)  # 20 s into bar 500
    panel.live_fill(int(ts[530]), 415.0, 1, False)
    marks = panel.trade_item.trade_at(500)
    assert [(m.entry_index, m.entry_price, m.exit_index, m.exit_price) for m in marks] == [
        (500, 412.35, 530, 415.0)
    ]


def test_adjusted_prices_are_a_toggle_and_say_so(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    symbol = panel.bars.key.partition(":")[2]
    days = sorted({int(t) // 86_400_000_000_000 for t in panel.view.ts_ns})
    ex_day = date.fromordinal(date(1970, 1, 1).toordinal() + days[5])
    action = {"exchange": "NSE", "symbol": symbol, "ex_date": ex_day, "kind": "bonus",
              "ratio_from": 1, "ratio_to": 1, "amount_paise": None, "note": ""}  # fmt: skip
    ctx.store.add_corporate_actions(pd.DataFrame([action]))
    raw = panel.bars.close.copy()
    switch(qtbot, panel, lambda: panel.adjusted_button.setChecked(True), f"{panel.bars.key} 1m")
    assert panel.bars.adjusted and panel.info.text().endswith("adjusted")
    before = panel.view.ts_ns < np.int64(days[5]) * 86_400_000_000_000
    assert before.any() and not before.all()
    np.testing.assert_allclose(panel.bars.close[before], raw[before] / 2, atol=0.05)
    np.testing.assert_array_equal(panel.bars.close[~before], raw[~before])
    switch(qtbot, panel, lambda: panel.adjusted_button.setChecked(False), f"{panel.bars.key} 1m")
    np.testing.assert_array_equal(panel.bars.close, raw)


def test_drawings_are_kept_per_instrument_by_time_and_price(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    key = panel.bars.key
    ts = panel.view.ts_ns
    panel.drawings.add("trend_line", ((int(ts[100]), 400.0), (int(ts[2000]), 420.5)))
    panel.drawings.add("horizontal_line", ((int(ts[10]), 410.25),))
    records = panel.drawings.to_records()
    assert len(records) == 2
    other = max(demo_series, key=lambda s: s.symbol)
    switch(qtbot, panel, lambda: panel.open_symbol(other.symbol), f"NSE:{other.symbol} 1m")
    assert panel.drawings.to_records() == []  # the other instrument has none
    switch(qtbot, panel, lambda: panel.open_symbol(key), f"{key} 1m")
    assert panel.drawings.to_records() == records
    switch(qtbot, panel, lambda: panel.set_timeframe("15m"), f"{key} 15m")
    assert panel.drawings.to_records() == records  # kept by time: no drift at 15m
    assert panel._x_of_time(int(ts[100])) == pytest.approx(100 // 15 + (100 % 15) / 15)
    panel.close()
    again = open_panel(ctx, qtbot)
    assert again.drawings.to_records() == records


def test_without_a_store_the_chart_says_why(workspace, aloop, qtbot):
    from app.gui.context import AppContext
    from app.gui.ui_settings import UiSettings
    from engine.bus import EventBus

    ctx = AppContext(
        workspace=workspace,
        bus=EventBus(aloop),
        settings=UiSettings(workspace.settings_dir / "ui.ini"),
        store=None,
        store_problem="the store is damaged",
    )
    panel = ChartPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.message, timeout=5_000)
    assert "the store is damaged" in panel.message.text()


def test_an_empty_store_points_to_the_data_panel_then_shows_what_comes_in(
    make_ctx, qtbot, demo_series
):
    ctx = make_ctx()
    panel = ChartPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.message, timeout=5_000)
    assert "Data panel" in panel.message.text()
    ctx.store.import_batch(demo_batch(demo_series))
    with qtbot.waitSignal(panel.done.loaded, timeout=20_000):
        ctx.bus.publish(MarketDataChanged("data panel"))  # what the Data panel says after
    assert panel.stack.currentWidget() is panel.view
    assert panel.symbol_model.stringList() == sorted(f"NSE:{s.symbol}" for s in demo_series)


def test_the_window_opens_charts_from_the_watchlist_and_keeps_extra_charts(
    make_window, ctx, qtbot, demo_series
):
    window = make_window()
    window.show()
    chart = window.docks["chart"].widget()
    qtbot.waitUntil(lambda: chart.bars is not None, timeout=20_000)
    other = max(demo_series, key=lambda s: s.symbol)
    watchlist = window.docks["watchlist"].widget()
    with qtbot.waitSignal(chart.done.loaded, timeout=20_000):
        watchlist.open_chart_requested.emit(f"NSE:{other.symbol}")
    assert chart.bars.key == f"NSE:{other.symbol}"

    new_id = window.open_instance("chart")
    assert new_id == "chart-2" and window.docks["chart-2"].isVisible()
    extra = window.docks["chart-2"].widget()
    qtbot.waitUntil(lambda: extra.bars is not None, timeout=20_000)
    extra.set_timeframe("30m")  # used last: the next "open chart" goes here
    qtbot.waitUntil(lambda: extra.bars.timeframe == "30m", timeout=20_000)
    first = min(demo_series, key=lambda s: s.symbol)
    assert extra.bars.key == f"NSE:{first.symbol}"  # a new chart opens the first instrument
    with qtbot.waitSignal(extra.done.loaded, timeout=20_000):
        window.open_chart(f"NSE:{other.symbol}")
    assert extra.bars.key == f"NSE:{other.symbol}" and extra.bars.timeframe == "30m"
    with qtbot.waitSignal(chart.done.loaded, timeout=20_000):  # back to the first chart
        chart.open_symbol(f"NSE:{first.symbol}")
    with qtbot.waitSignal(chart.done.loaded, timeout=20_000):
        window.open_chart(f"NSE:{other.symbol}")  # it was used last now

    window.set_colour_blind(True)  # the chart and the watchlist follow
    assert chart.view.chart_palette.up == "#3d9df3" and watchlist.model.colour_blind
    window.close()
    reopened = make_window()
    assert "chart-2" in reopened.docks
    assert reopened.docks["chart-2"].widget().state.timeframe == "30m"
    assert reopened.colour_blind_action.isChecked()
    QApplication.processEvents()


def test_a_span_asked_for_is_shown_switching_instrument_if_needed(ctx, qtbot, demo_series):
    panel = open_panel(ctx, qtbot)
    other = max(demo_series, key=lambda s: s.symbol)
    ts = other.ts
    with qtbot.waitSignal(panel.done.loaded, timeout=20_000):
        panel.show_span(f"NSE:{other.symbol}", int(ts[1000]), int(ts[1010]) + 30 * 10**9)
    assert panel.bars.key == f"NSE:{other.symbol}"
    assert panel.view.x_range() == pytest.approx((969.5, 1040.5))
    panel.show_span(other.symbol, int(ts[3000]), int(ts[3200]))  # same instrument: at once
    assert panel.view.x_range() == pytest.approx((2899.5, 3300.5))
