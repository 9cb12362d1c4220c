"""Per-series coverage (engine/data/coverage.py) on real stores, checked against independent
oracles: the quality report's missing sessions (read_bars + the session table) and the IST
dates of the stored bars re-derived with pandas."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.calendar import get_calendar
from engine.data.bar_series import BarSeries
from engine.data.coverage import read_coverage
from engine.data.demo import demo_batch, generate_demo
from engine.data.import_files import import_files
from engine.data.quality import quality_report
from engine.data.store import MarketStore
from tests.engine.store_helpers import session_open_ns

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"


def ist_days(ts: np.ndarray) -> list[date]:
    stamps = pd.to_datetime(ts, utc=True).tz_convert("Asia/Kolkata")
    return sorted(set(stamps.date))


def without_days(series: BarSeries, keep: np.ndarray) -> BarSeries:
    return BarSeries.from_arrays(
        series.symbol,
        series.ts[keep],
        series.open[keep],
        series.high[keep],
        series.low[keep],
        series.close[keep],
        series.volume[keep],
        series.timeframe,
        prices_in_paise=True,
    )


@pytest.fixture(scope="module")
def gapped(tmp_path_factory: pytest.TempPathFactory):
    """Three SYNTHETIC instruments x 30 sessions of minute bars: the first lacks three
    sessions inside its span, the second starts ten sessions late, the third is whole."""
    series = generate_demo(count=3, days=30)
    days = np.array(
        pd.to_datetime(series[0].ts, utc=True).tz_convert("Asia/Kolkata").date, dtype=object
    )
    sessions = sorted(set(days))
    holes = {sessions[4], sessions[5], sessions[17]}
    series[0] = without_days(series[0], np.array([d not in holes for d in days]))
    late = np.array(
        [
            d >= sessions[10]
            for d in pd.to_datetime(series[1].ts, utc=True).tz_convert("Asia/Kolkata").date
        ]
    )
    series[1] = without_days(series[1], late)
    path = tmp_path_factory.mktemp("coverage") / "artha.duckdb"
    with MarketStore.open(path) as store:
        store.import_batch(demo_batch(series))
        yield store, series, sessions, holes


def test_missing_sessions_agree_with_the_quality_report(gapped):
    store, series, _, holes = gapped
    coverage = read_coverage(store)
    assert len(coverage.series) == 3
    for s in series:
        found = coverage.of("NSE", s.symbol, "1m")
        assert found is not None
        report = quality_report(store.read_bars(s.symbol, "1m"), "NSE")
        assert found.missing == report.missing_sessions  # the report's own rule, one answer
        assert list(found.days) == ist_days(store.read_bars(s.symbol, "1m").ts)
    first = coverage.of("NSE", series[0].symbol, "1m")
    assert first is not None and set(first.missing) == holes
    assert first.sessions == 27 and first.expected == 30 and not first.off_calendar


def test_a_series_that_starts_late_is_not_missing_its_early_sessions(gapped):
    store, series, sessions, _ = gapped
    coverage = read_coverage(store)
    late = coverage.of("NSE", series[1].symbol, "1m")
    assert late is not None
    assert late.first == sessions[10] and late.last == sessions[-1]
    assert late.missing == () and late.sessions == 20
    # the axis is the store's span in sessions, shared by every row
    assert coverage.axis == tuple(sessions)
    assert coverage.first == sessions[0] and coverage.last == sessions[-1]


def test_daily_bhavcopies_a_year_apart(tmp_path):
    with MarketStore.open(tmp_path / "artha.duckdb") as store:
        outcome = import_files(
            store,
            [
                FIXTURES / "cm03JUN2024bhav.csv",
                FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv",
            ],
        )
        assert all(f.status.value == "stored" for f in outcome.files)
        coverage = read_coverage(store)
    reliance = coverage.of("NSE", "RELIANCE", "1d")
    assert reliance is not None
    assert reliance.days == (date(2024, 6, 3), date(2025, 6, 3))
    between = get_calendar("NSE").sessions(date(2024, 6, 3), date(2025, 6, 3))
    assert reliance.missing == tuple(s.date for s in between[1:-1])
    assert reliance.expected == len(between)
    only_2025 = [c for c in coverage.series.values() if c.first == date(2025, 6, 3)]
    assert only_2025 and all(c.missing == () for c in only_2025)  # NIFTYBEES: one day, whole


def test_bars_on_a_closed_day_are_listed_apart(store):
    saturday = date(2024, 6, 8)
    days = [date(2024, 6, 7), saturday, date(2024, 6, 10)]
    ts = np.array([session_open_ns(d) for d in days], dtype=np.int64)
    close = np.array([100_000, 100_500, 101_000], dtype=np.int64)
    bars = BarSeries.from_arrays(
        "ABC",
        ts,
        close,
        close + 10,
        close - 10,
        close,
        np.full(3, 1000),
        "1d",
        prices_in_paise=True,
    )
    store.write_bars(bars)
    coverage = read_coverage(store)
    abc = coverage.of("NSE", "ABC", "1d")
    assert abc is not None
    assert abc.off_calendar == (saturday,) and abc.missing == ()
    assert abc.sessions == 3 and abc.expected == 2
    assert saturday in coverage.axis  # it has a place on the timeline


def test_an_empty_store_has_no_coverage(store):
    coverage = read_coverage(store)
    assert coverage.series == {} and coverage.axis == ()
    assert coverage.first is None and coverage.last is None
    assert coverage.of("NSE", "X", "1d") is None


def test_a_read_only_store_is_read(tmp_path):
    path = tmp_path / "artha.duckdb"
    with MarketStore.open(path) as store:
        store.import_batch(demo_batch(generate_demo(count=2, days=3)))
    with MarketStore.open(path, read_only=True) as store:
        coverage = read_coverage(store)
    assert [c.sessions for c in coverage.series.values()] == [3, 3]
    assert coverage.last is not None and coverage.first is not None
    assert coverage.last - coverage.first >= timedelta(days=2)
