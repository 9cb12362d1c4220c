"""Bars for the chart come from a real store through the engine's own choice of series, at
every timeframe, raw or adjusted; trades land on the bars that hold their times."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.gui.chart.chart_state import ChartState
from app.gui.chart.loading import load_chart_bars, possible_timeframes, split_key
from app.gui.chart.trade_marks import TradeMarks
from engine.backtest import BacktestConfig, run_backtest
from engine.data.demo import demo_batch, generate_demo
from engine.data.import_files import ImportOptions, import_files
from engine.data.resample import resample
from engine.data.schema import StoreError
from engine.data.store import MarketStore
from strategies.reference import load_reference

BHAVCOPY = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "bhavcopy"


@pytest.fixture(scope="module")
def demo_series():
    return generate_demo(count=2, days=12)  # 2 instruments x 12 sessions of 375 minutes


@pytest.fixture
def store(tmp_path, demo_series):
    with MarketStore.open(tmp_path / "artha.duckdb") as opened:
        opened.import_batch(demo_batch(demo_series))
        yield opened


def test_minute_bars_come_as_stored_in_rupees(store, demo_series):
    series = demo_series[0]
    bars = load_chart_bars(store, f"NSE:{series.symbol}", "1m", adjusted=False)
    assert bars.key == f"NSE:{series.symbol}" and len(bars) == 12 * 375
    assert bars.made_from == ""
    np.testing.assert_array_equal(bars.ts_ns, series.ts)
    np.testing.assert_array_equal(bars.close * 100, series.close)  # exact: whole paise
    np.testing.assert_array_equal(bars.volume, series.volume)


@pytest.mark.parametrize("timeframe", ["3m", "5m", "15m", "30m", "60m", "1d"])
def test_other_timeframes_are_the_engines_resampled_bars(store, demo_series, timeframe):
    series = demo_series[1]
    bars = load_chart_bars(store, series.symbol.lower(), timeframe, adjusted=False)
    expected = resample(series, timeframe).series
    assert bars.made_from == "1m" and bars.timeframe == timeframe
    np.testing.assert_array_equal(bars.ts_ns, expected.ts)
    np.testing.assert_array_equal(bars.high * 100, expected.high)
    np.testing.assert_array_equal(bars.low * 100, expected.low)
    per_session = {"3m": 125, "5m": 75, "15m": 25, "30m": 13, "60m": 7, "1d": 1}[timeframe]
    assert len(bars) == 12 * per_session


def test_daily_only_symbols_offer_only_the_daily_chart(store):
    outcome = import_files(store, [str(BHAVCOPY / "cm03JUN2024bhav.csv")], ImportOptions())
    assert outcome.reports and not outcome.errors
    assert possible_timeframes(store, "NSE:INFY") == ["1d"]
    assert possible_timeframes(store, "NSE:NOPE") == []  # unknown: nothing offered
    assert possible_timeframes(store, "SBIN")[0] == "1d"
    with pytest.raises(StoreError, match="INFY has no bars that make 5m bars"):
        load_chart_bars(store, "INFY", "5m", adjusted=False)


def test_an_unknown_symbol_says_so(store):
    with pytest.raises(StoreError, match="NOPE is not in the store"):
        load_chart_bars(store, "NSE:NOPE", "1m", adjusted=False)


def test_adjusted_bars_apply_a_split_before_its_ex_date(store, demo_series):
    series = demo_series[0]
    days = sorted({int(t) // 86_400_000_000_000 for t in series.ts})
    ex_day = date.fromordinal(date(1970, 1, 1).toordinal() + days[6])
    action = {"exchange": "NSE", "symbol": series.symbol, "ex_date": ex_day, "kind": "split",
              "ratio_from": 1, "ratio_to": 2, "amount_paise": None, "note": ""}  # fmt: skip
    assert store.add_corporate_actions(pd.DataFrame([action])) == 1
    raw = load_chart_bars(store, series.symbol, "1d", adjusted=False)
    adjusted = load_chart_bars(store, series.symbol, "1d", adjusted=True)
    before = raw.ts_ns < adjusted.ts_ns[6]
    assert before.sum() == 6
    np.testing.assert_allclose(adjusted.close[before], raw.close[before] / 2, atol=0.05)
    np.testing.assert_array_equal(adjusted.close[~before], raw.close[~before])


def test_split_key_reads_both_spellings():
    assert split_key("nse:infy") == ("NSE", "INFY")
    assert split_key(" INFY ") == (None, "INFY")


def test_a_runs_trades_land_on_the_bars_holding_their_times(store, demo_series):
    series = demo_series[0]
    result = run_backtest(
        load_reference("sma_crossover"), None, [series],
        BacktestConfig(costs="bps", cost_bps=Decimal(3)),
    )  # fmt: skip
    trades = result.trades
    assert len(trades) > 20
    marks = TradeMarks.from_trades(trades, series.symbol.lower())
    assert len(marks) == len(trades)
    entry, exit_ = marks.on_bars(series.ts)  # 1m: exactly the trade's own bars
    assert entry.tolist() == [t.entry_bar for t in trades]
    assert exit_.tolist() == [t.exit_bar for t in trades]
    assert marks.entry_price.tolist() == [float(t.entry_price) for t in trades]
    assert set(marks.side.tolist()) <= {1, -1}
    five = resample(series, "5m").series  # a 09:17 fill sits on the 09:15 bar
    entry5, _ = marks.on_bars(five.ts)
    assert np.all(five.ts[entry5] <= marks.entry_ns)
    assert np.all(marks.entry_ns - five.ts[entry5] < 5 * 60 * 10**9)
    assert len(TradeMarks.from_trades(trades, "OTHER")) == 0


def test_chart_state_survives_its_ini_values_and_ignores_nonsense():
    state = ChartState("NSE:INFY", "15m", ("sma(20)", "bollinger(20, 2.0)"), True)
    assert ChartState.from_values(dict(state.as_values())) == state
    odd = ChartState.from_values({"timeframe": "7m", "indicators": " ; ;", "adjusted": 3})
    assert odd == ChartState()
