"""The chart's indicator menu: every entry computes on 10,000 realistic minute bars exactly
what calling the SDK function directly gives, and a spec survives its text form."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from app.gui.chart.indicator_catalog import (
    CATALOG,
    BarArrays,
    IndicatorSpec,
    bar_minutes,
)
from strategies.sdk import indicators as sdk

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from synthetic_bars import make_bars

N = 10_000


@pytest.fixture(scope="module")
def bars() -> BarArrays:
    raw = make_bars(N)
    return BarArrays(
        ts=raw["ts"],
        open=raw["open"] / 100.0,
        high=raw["high"] / 100.0,
        low=raw["low"] / 100.0,
        close=raw["close"] / 100.0,
        volume=raw["volume"].astype(np.float64),
    )


# The SDK call each entry must equal, written out here (not read from the catalog).
EXPECTED = {
    "sma": lambda b: {"sma": sdk.sma(b.close, 20)},
    "ema": lambda b: {"ema": sdk.ema(b.close, 20)},
    "vwap": lambda b: {"vwap": sdk.session_vwap(b.ts, b.high, b.low, b.close, b.volume)},
    "bollinger": lambda b: {
        "upper": sdk.bollinger_upper(b.close, 20, 2.0),
        "middle": sdk.bollinger_middle(b.close, 20),
        "lower": sdk.bollinger_lower(b.close, 20, 2.0),
    },
    "highest": lambda b: {"highest": sdk.highest(b.high, 20)},
    "lowest": lambda b: {"lowest": sdk.lowest(b.low, 20)},
    "channel": lambda b: {"upper": sdk.highest(b.high, 20), "lower": sdk.lowest(b.low, 20)},
    "opening_range": lambda b: {
        "high": sdk.opening_range_high(b.ts, b.high, 15, 1),
        "low": sdk.opening_range_low(b.ts, b.low, 15, 1),
    },
    "rsi": lambda b: {"rsi": sdk.rsi(b.close, 14)},
    "atr": lambda b: {"atr": sdk.atr(b.high, b.low, b.close, 14)},
    "zscore": lambda b: {"zscore": sdk.zscore(b.close, 20)},
    "volume_ratio": lambda b: {"volume_ratio": sdk.volume_ratio(b.volume, 20)},
}


def test_the_catalog_is_the_expected_menu() -> None:
    assert set(CATALOG) == set(EXPECTED)
    oscillators = {key for key, e in CATALOG.items() if e.kind == "oscillator"}
    assert oscillators == {"rsi", "atr", "zscore", "volume_ratio"}
    assert CATALOG["bollinger"].band == ("upper", "lower")


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_entry_equals_the_sdk_called_directly(bars: BarArrays, key: str) -> None:
    spec = IndicatorSpec(key)
    got = spec.compute(bars)
    want = EXPECTED[key](bars)
    assert tuple(got) == CATALOG[key].outputs == tuple(want)
    for name, array in got.items():
        assert array.dtype == np.float64 and array.shape == (N,)
        np.testing.assert_array_equal(array, want[name], err_msg=f"{key}.{name}")
        assert np.isfinite(array).sum() > N // 2, f"{key}.{name} is mostly NaN"


def test_non_default_parameters_reach_the_sdk(bars: BarArrays) -> None:
    got = IndicatorSpec.from_text("bollinger(50, 2.5)").compute(bars)
    np.testing.assert_array_equal(got["upper"], sdk.bollinger_upper(bars.close, 50, 2.5))
    np.testing.assert_array_equal(got["lower"], sdk.bollinger_lower(bars.close, 50, 2.5))
    got = IndicatorSpec.of("rsi", length=7).compute(bars)
    np.testing.assert_array_equal(got["rsi"], sdk.rsi(bars.close, 7))


def test_opening_range_follows_the_bar_length(bars: BarArrays) -> None:
    """On 5-minute bars the SDK is told so (bars 5 minutes long); on bars longer than the
    range (hourly) there is no opening range to draw."""
    every5 = np.arange(0, N, 5)
    five = BarArrays(*(getattr(bars, f)[every5] for f in BarArrays.__dataclass_fields__))
    assert bar_minutes(five.ts) == 5 and bar_minutes(bars.ts) == 1
    got = IndicatorSpec.of("opening_range", minutes=30).compute(five)
    np.testing.assert_array_equal(got["high"], sdk.opening_range_high(five.ts, five.high, 30, 5))
    np.testing.assert_array_equal(got["low"], sdk.opening_range_low(five.ts, five.low, 30, 5))
    every60 = np.arange(0, N, 60)
    hourly = BarArrays(*(getattr(bars, f)[every60] for f in BarArrays.__dataclass_fields__))
    got = IndicatorSpec("opening_range").compute(hourly)
    assert np.isnan(got["high"]).all() and np.isnan(got["low"]).all()


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_text_round_trips_for_every_entry(key: str) -> None:
    spec = IndicatorSpec(key)
    assert IndicatorSpec.from_text(spec.to_text()) == spec
    assert hash(IndicatorSpec.from_text(spec.to_text())) == hash(spec)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("sma(20)", "sma(20)"),
        ("sma", "sma(20)"),
        ("  sma ( 50 ) ", "sma(50)"),
        ("sma(length=50)", "sma(50)"),
        ("bollinger(20, 2)", "bollinger(20, 2.0)"),
        ("bollinger(width=2.5)", "bollinger(20, 2.5)"),
        ("bollinger(30, width=1.5)", "bollinger(30, 1.5)"),
        ("vwap()", "vwap()"),
        ("vwap", "vwap()"),
        ("opening_range(30)", "opening_range(30)"),
    ],
)
def test_text_forms(text: str, canonical: str) -> None:
    assert IndicatorSpec.from_text(text).to_text() == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("macd(12)", "unknown indicator 'macd' \\(known: sma, ema"),
        ("sma(0)", "length=0: must be >= 1"),
        ("sma(20.5)", "'20.5' is not a valid int"),
        ("sma(abc)", "'abc' is not a valid int"),
        ("sma(20, 3)", "sma takes 1 parameter\\(s\\), got 2"),
        ("sma(period=5)", "sma has no parameter 'period' \\(parameters: length\\)"),
        ("sma(length=5, length=6)", "parameter length given twice"),
        ("bollinger(width=2, 20)", "a positional value after a keyword one"),
        ("bollinger(20,)", "empty parameter at position 2"),
        ("bollinger(20, 0)", "width=0.0: must be >= 0.1"),
        ("bollinger(20, nan)", "must be a finite number"),
        ("zscore(1)", "length=1: must be >= 2"),
        ("sma(20", "expected name\\(value, ...\\)"),
        ("", "expected name\\(value, ...\\)"),
    ],
)
def test_bad_text_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IndicatorSpec.from_text(text)


def test_spec_params_are_checked_when_built_directly() -> None:
    assert IndicatorSpec.of("ema", length="30").params == {"length": 30}
    with pytest.raises(ValueError, match="must be <= 5000"):
        IndicatorSpec.of("ema", length=10_000)
    with pytest.raises(ValueError, match="unknown indicator"):
        IndicatorSpec("nope")
    assert IndicatorSpec.from_text("bollinger(20, 2)").label() == "Bollinger bands 20, 2.0"
    assert IndicatorSpec("vwap").label() == "Session VWAP"


def test_bar_arrays_refuse_mismatched_lengths(bars: BarArrays) -> None:
    with pytest.raises(ValueError, match="close has shape"):
        BarArrays(bars.ts, bars.open, bars.high, bars.low, bars.close[:-1], bars.volume)
