"""The SDK's indicators two ways: whole arrays (backtest) and bar by bar (replay, live).

Checked here: both forms give the same values, bit for bit, on thousands of one-minute bars
over many sessions, through the real incremental path (Replay with its audit on), from a cold
start and from warm-up histories that end mid-session and at a session boundary; RSI and ATR
against Wilder's smoothing worked by hand and in exact fractions; every other indicator
against an independent computation (pandas, numpy per window, per-session sums); the per-bar
cost of each recursive step measured in input values read, the same at 1,000 and 100,000 bars
of history; and causality: changing bars after t never changes a value up to t.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ist import ist_day_numbers
from engine.replay import Replay
from engine.strategy.derived import Recipe
from engine.strategy.incremental_nodes import plan
from strategies.sdk import (
    Strategy,
    atr,
    bollinger_lower,
    bollinger_middle,
    bollinger_upper,
    ema,
    hedge_ratio,
    highest,
    lowest,
    opening_range_high,
    opening_range_low,
    rsi,
    session_vwap,
    sma,
    volume_ratio,
    zscore,
)
from tests.engine.synthetic import NO_COSTS, make_bars, series

Arrays = dict[str, np.ndarray]


def _inputs(bars: Arrays) -> Arrays:
    """The bars as a strategy sees them: prices in rupees, volume and ts as they are."""
    out = {k: bars[k] / 100.0 for k in ("open", "high", "low", "close")}
    out["ts"], out["volume"] = bars["ts"], bars["volume"]
    return out


# every indicator, with what it is given: names of bar inputs (or "ema10", an indicator that
# warms up, so NaN inputs are covered) and constants
CASES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "ema": (ema, ("close", 10)),
    "rsi": (rsi, ("close", 14)),
    "rsi_of_ema": (rsi, ("ema10", 5)),
    "atr": (atr, ("high", "low", "close", 14)),
    "vwap": (session_vwap, ("ts", "high", "low", "close", "volume")),
    "bb_middle": (bollinger_middle, ("close", 20)),
    "bb_upper": (bollinger_upper, ("close", 20, 2.0)),
    "bb_lower": (bollinger_lower, ("close", 20, 2.5)),
    "zscore": (zscore, ("close", 30)),
    "zscore_of_rsi": (zscore, ("rsi14", 10)),
    "hedge_ratio": (hedge_ratio, ("close", "ema10", 30)),
    "highest": (highest, ("high", 20)),
    "lowest": (lowest, ("low", 20)),
    "volume_ratio": (volume_ratio, ("volume", 20)),
    "or_high_15": (opening_range_high, ("ts", "high", 15)),
    "or_low_30": (opening_range_low, ("ts", "low", 30)),
}


def _whole(name: str, data: Arrays) -> np.ndarray:
    fn, spec = CASES[name]
    derived = {"ema10": ema(data["close"], 10), "rsi14": rsi(data["close"], 14)}
    args = [derived.get(a, data.get(a)) if isinstance(a, str) else a for a in spec]
    return np.asarray(fn(*args))


class EveryIndicator(Strategy):
    """Registers every case through self.I, with Series inputs, as an author would."""

    def init(self) -> None:
        d = self.data
        bar = {"ts": d.ts, "high": d.high, "low": d.low, "close": d.close, "volume": d.volume}
        bar["ema10"] = self.I(ema, d.close, 10)
        bar["rsi14"] = self.I(rsi, d.close, 14)
        self.made = {}
        for name, (fn, spec) in CASES.items():
            args = [bar[a] if isinstance(a, str) else a for a in spec]
            self.made[name] = self.I(fn, *args, name=name)
        self.on(self.made["rsi"] > 70, self.note)  # a condition on them runs bar by bar too

    def note(self, bar: object) -> None:
        pass


# -- whole array == bar by bar ---------------------------------------------------------------

BARS = 4_000  # about 11 sessions of 375 minutes, starting mid-session


@pytest.mark.parametrize(
    ("seed", "warmup"),
    [(3, 0), (8, 0), (3, 1_017), (8, 250), (5, 3_999)],
)
def test_bar_by_bar_values_equal_the_whole_array_values(seed, warmup):
    bars = make_bars(BARS, seed=seed)
    if warmup == 250:  # a history that ends exactly at a session's last bar
        days = ist_day_numbers(bars["ts"])
        warmup = int(np.flatnonzero(np.diff(days))[0]) + 1
    run = Replay(EveryIndicator, None, series(bars), NO_COSTS, warmup=warmup)
    run.run()  # audit on: every value produced bar by bar is compared with the whole array
    evaluator = run.evaluators[0]
    assert evaluator.audit() == []
    strategy = evaluator.strategy
    data = _inputs(bars)
    assert np.array_equal(strategy.data.close.full(), data["close"])
    for name in CASES:
        got = strategy.made[name].full()
        expected = _whole(name, data)
        assert got.shape == (BARS,)
        assert np.array_equal(got, expected, equal_nan=True), name  # bit for bit
        assert np.isfinite(expected).sum() > BARS // 2, name  # not vacuous: mostly values


def test_every_indicator_is_extended_by_a_short_window_or_a_recursive_step():
    run = Replay(EveryIndicator, None, series(make_bars(800, seed=1)), NO_COSTS)
    run.run()
    how = dict(run.evaluators[0].describe())
    recursive = ("ema", "rsi", "atr", "session_vwap", "opening_range_high", "opening_range_low")
    for name, text in how.items():
        assert "full" not in text, (name, text)
    assert how["bb_upper"] == "lookback 20 declared by bollinger_upper"
    assert how["hedge_ratio"] == "lookback 30 declared by hedge_ratio"
    assert how["volume_ratio"] == "lookback 21 declared by volume_ratio"  # 20 before + itself
    assert how["highest"] == "lookback 20 declared by highest"
    for name in ("rsi", "atr", "vwap", "or_high_15", "or_low_30"):
        assert how[name].startswith("recursive update declared by"), name
        assert how[name].rsplit(" ", 1)[1] in recursive


# -- the per-bar cost does not grow with the history -----------------------------------------


class Probe:
    """A read-only array that counts how many of its values are read."""

    def __init__(self, array: np.ndarray, reads: list[int]) -> None:
        self.array, self.reads = array, reads

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, key: Any) -> Any:
        out = self.array[key]
        self.reads[0] += int(np.size(out))
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        self.reads[0] += self.array.size
        return np.asarray(self.array, dtype=dtype)


RECURSIVE = ["ema", "rsi", "atr", "vwap", "or_high_15", "or_low_30"]


def _reads_per_bar(name: str, history: int, bars_after: int = 1_000) -> list[int]:
    """Values read by the indicator's update step for each of `bars_after` bars pushed after
    `history` bars, its state carried from bar to bar (the first call, which builds the
    state from the history once, is left out)."""
    fn, spec = CASES[name]
    data = _inputs(make_bars(history + bars_after, seed=history))
    inputs = [data[a] for a in spec if isinstance(a, str)]
    constants = [a for a in spec if not isinstance(a, str)]
    mode, _, update, _ = plan(Recipe(fn, (*inputs, *constants)))
    assert mode == "update" and update is not None
    outputs = np.asarray(fn(*inputs, *constants))
    state: dict[str, Any] = {}
    counts = []
    for t in range(history, history + bars_after):
        reads = [0]
        value = update(
            Probe(outputs[:t], reads),
            *(Probe(a[: t + 1], reads) for a in inputs),
            *constants,
            state=state,
        )
        assert np.array_equal(value, outputs[t], equal_nan=True)
        counts.append(reads[0])
    return counts[1:]


@pytest.mark.parametrize("name", RECURSIVE)
def test_a_recursive_step_reads_as_many_values_at_100_000_bars_as_at_1_000(name):
    short, long = _reads_per_bar(name, 1_000), _reads_per_bar(name, 100_000)
    assert max(long) <= 40  # a few values per input (a seed reads its window once)
    assert max(long) == max(short)
    assert sum(long) <= sum(short) * 1.5


def test_the_ema_step_no_longer_rescans_the_history():
    # the case: ema's step used to look at every value for NaN on every bar
    assert max(_reads_per_bar("ema", 100_000, 200)) <= 4


def test_a_probe_does_count_a_whole_array_read():
    # the counting above can fail: a step that rescans the history is seen
    reads = [0]
    probe = Probe(np.arange(50_000.0), reads)
    np.isfinite(np.asarray(probe)).any()
    assert reads[0] == 50_000


# -- known values: Wilder's smoothing by hand and in exact fractions -------------------------


def test_rsi_by_hand():
    # changes +1, -0.5, +1.5, -1, +0.5; length 3
    # seed at bar 3: gain (1 + 0 + 1.5) / 3 = 5/6, loss 0.5 / 3 = 1/6 -> RSI 100 * 5/6 = 250/3
    # bar 4 (-1):   gain (5/6 * 2 + 0) / 3 = 5/9, loss (1/6 * 2 + 1) / 3 = 4/9 -> 500/9
    # bar 5 (+0.5): gain (5/9 * 2 + 1/2) / 3 = 29/54, loss 8/27 = 16/54 -> 100 * 29/45
    got = rsi([10.0, 11.0, 10.5, 12.0, 11.0, 11.5], 3)
    assert np.isnan(got[:3]).all()
    np.testing.assert_allclose(got[3:], [250 / 3, 500 / 9, 2900 / 45], rtol=1e-13)


def test_atr_by_hand():
    high = [12.0, 13.0, 12.0, 11.0, 14.0]
    low = [10.0, 11.0, 9.0, 10.5, 12.0]
    close = [11.0, 12.5, 10.0, 10.8, 13.0]
    # true ranges: 2 (first bar: high - low), max(2, 2, 0) = 2, max(3, 0.5, 3.5) = 3.5,
    # max(0.5, 1, 0.5) = 1, max(2, 3.2, 1.2) = 3.2
    # ATR3: seed (2 + 2 + 3.5) / 3 = 2.5, then (2.5 * 2 + 1) / 3 = 2, then (2 * 2 + 3.2) / 3 = 2.4
    got = atr(high, low, close, 3)
    assert np.isnan(got[:2]).all()
    np.testing.assert_allclose(got[2:], [2.5, 2.0, 2.4], rtol=1e-13)


def _wilder_exact(values: list[Fraction], length: int) -> list[Fraction]:
    average = sum(values[:length], Fraction(0)) / length
    out = [average]
    for x in values[length:]:
        average = (average * (length - 1) + x) / length
        out.append(average)
    return out


# the 14-day RSI worksheet series traders learn Wilder's RSI from (StockCharts' example)
WORKSHEET = [
    44.34,
    44.09,
    44.15,
    43.61,
    44.33,
    44.83,
    45.10,
    45.42,
    45.84,
    46.08,
    45.89,
    46.03,
    45.61,
    46.28,
    46.28,
    46.00,
    46.03,
    46.41,
    46.22,
    45.64,
    46.21,
    46.25,
    45.71,
    46.45,
    45.78,
    45.35,
    44.03,
    44.18,
    44.22,
    44.57,
    43.42,
    42.66,
    43.13,
]


def test_rsi_equals_wilders_smoothing_in_exact_fractions():
    closes = [Fraction(str(c)) for c in WORKSHEET]
    changes = [b - a for a, b in pairwise(closes)]
    gains = _wilder_exact([max(c, Fraction(0)) for c in changes], 14)
    losses = _wilder_exact([max(-c, Fraction(0)) for c in changes], 14)
    exact = [float(100 * g / (g + lo)) for g, lo in zip(gains, losses, strict=True)]
    got = rsi(WORKSHEET, 14)
    assert np.isnan(got[:14]).all()
    np.testing.assert_allclose(got[14:], exact, rtol=1e-12)
    # the worksheet's last two values, once its rounded seed has been forgotten
    assert np.round(got[-2:], 2).tolist() == [33.09, 37.79]


def test_atr_equals_wilders_smoothing_in_exact_fractions():
    bars = make_bars(300, seed=21)
    h, lo, c = (bars[k].tolist() for k in ("high", "low", "close"))
    ranges = [Fraction(h[0] - lo[0], 100)] + [
        Fraction(max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])), 100)
        for i in range(1, 300)
    ]
    exact = [float(a) for a in _wilder_exact(ranges, 14)]
    data = _inputs(bars)
    got = atr(data["high"], data["low"], data["close"], 14)
    assert np.isnan(got[:13]).all()
    np.testing.assert_allclose(got[13:], exact, rtol=1e-12)


def test_rsi_edges():
    assert rsi([5.0] * 20, 14)[14:].tolist() == [50.0] * 6  # no movement: neither side
    assert rsi(np.arange(20.0), 14)[14:].tolist() == [100.0] * 6  # only gains
    assert np.isnan(rsi([1.0, 2.0], 14)).all()
    got = rsi([np.nan, np.nan, *WORKSHEET], 14)  # a warm-up run of NaN is skipped
    np.testing.assert_array_equal(got[2:], rsi(WORKSHEET, 14))
    after = rsi([*WORKSHEET[:20], np.nan, *WORKSHEET[20:]], 14)  # a later NaN: NaN from then
    assert np.isfinite(after[14:20]).all() and np.isnan(after[20:]).all()
    with pytest.raises(ValueError, match="length"):
        rsi(WORKSHEET, 0)


# -- the rest against independent computations -----------------------------------------------


def test_window_statistics_match_pandas_and_numpy():
    data = _inputs(make_bars(3_000, seed=31))
    close, high, low = (pd.Series(data[k]) for k in ("close", "high", "low"))
    roll = close.rolling(20)
    middle, std = roll.mean().to_numpy(), roll.std(ddof=0).to_numpy()  # population std
    np.testing.assert_allclose(bollinger_middle(data["close"], 20), middle, rtol=1e-12)
    np.testing.assert_allclose(bollinger_upper(data["close"], 20), middle + 2 * std, rtol=1e-9)
    np.testing.assert_allclose(
        bollinger_lower(data["close"], 20, 1.5), middle - 1.5 * std, rtol=1e-9
    )
    z = (close - close.rolling(30).mean()) / close.rolling(30).std(ddof=0)
    np.testing.assert_allclose(zscore(data["close"], 30), z.to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(highest(data["high"], 20), high.rolling(20).max().to_numpy())
    np.testing.assert_array_equal(lowest(data["low"], 20), low.rolling(20).min().to_numpy())
    volume = pd.Series(data["volume"].astype(float))
    before = volume.shift(1).rolling(20).mean()  # the 20 bars before, not the bar itself
    np.testing.assert_allclose(volume_ratio(data["volume"], 20), volume / before, rtol=1e-12)


def test_hedge_ratio_is_the_least_squares_slope_with_an_intercept():
    rng = np.random.default_rng(4)
    x = 100 + np.cumsum(rng.normal(0, 1, 500))
    y = 5 + 1.7 * x + rng.normal(0, 0.5, 500)
    got = hedge_ratio(y, x, 40)
    assert np.isnan(got[:39]).all()
    for t in range(39, 500, 37):
        slope, _ = np.polyfit(x[t - 39 : t + 1], y[t - 39 : t + 1], 1)
        assert got[t] == pytest.approx(slope, rel=1e-9)
    assert np.nanmean(got) == pytest.approx(1.7, rel=0.05)
    assert np.isnan(hedge_ratio(np.arange(10.0), np.ones(10), 5)[4:]).all()  # flat x


def test_session_vwap_restarts_at_every_session():
    bars = make_bars(3_000, seed=41)
    data = _inputs(bars)
    got = session_vwap(data["ts"], data["high"], data["low"], data["close"], data["volume"])
    frame = pd.DataFrame(
        {
            "day": ist_day_numbers(bars["ts"]),
            "pv": (data["high"] + data["low"] + data["close"]) / 3 * data["volume"],
            "v": data["volume"].astype(float),
        }
    )
    sums = frame.groupby("day")[["pv", "v"]].cumsum()
    np.testing.assert_allclose(got, (sums["pv"] / sums["v"]).to_numpy(), rtol=1e-12)
    firsts = np.flatnonzero(np.diff(frame["day"].to_numpy())) + 1
    assert len(firsts) >= 7
    typical = (data["high"] + data["low"] + data["close"]) / 3
    np.testing.assert_allclose(got[firsts], typical[firsts], rtol=1e-12)  # the reset
    assert np.isnan(session_vwap([0, 60], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0, 0])).all()


@pytest.mark.parametrize("minutes", [1, 15, 30])
def test_opening_range_is_the_first_minutes_then_constant(minutes):
    bars = make_bars(4_000, seed=51)
    data = _inputs(bars)
    high = opening_range_high(data["ts"], data["high"], minutes)
    low = opening_range_low(data["ts"], data["low"], minutes)
    days = ist_day_numbers(bars["ts"])
    starts = [*(np.flatnonzero(np.diff(days)) + 1).tolist(), len(days)]
    assert np.isnan(high[: starts[0]]).all()  # the series starts mid-session: no range
    for lo, hi in pairwise(starts):  # whole sessions, 09:15 opens
        n = minutes  # one-minute bars
        assert np.isnan(high[lo : lo + n - 1]).all() and np.isnan(low[lo : lo + n - 1]).all()
        assert (high[lo + n - 1 : hi] == data["high"][lo : lo + n].max()).all()
        assert (low[lo + n - 1 : hi] == data["low"][lo : lo + n].min()).all()


def test_opening_range_on_longer_bars_appears_a_bar_later_never_early():
    bars = make_bars(750, seed=52)  # two sessions of minute bars
    five = {k: v[::5] for k, v in _inputs(bars).items()}  # open times of 5-minute bars
    exact = opening_range_high(five["ts"], five["high"], 15, bar_minutes=5)
    late = opening_range_high(five["ts"], five["high"], 15)
    assert np.isnan(exact[:2]).all() and np.isfinite(exact[2:75]).all()  # 09:25 bar ends 09:30
    assert np.isnan(late[:3]).all() and (late[3:75] == exact[3:75]).all()
    with pytest.raises(ValueError, match="shorter than bar_minutes"):
        opening_range_high(_inputs(bars)["ts"], _inputs(bars)["high"], 15, bar_minutes=5)


# -- causality -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), other=st.integers(0, 10_000), cut=st.floats(0.05, 0.95))
def test_changing_bars_after_t_never_changes_values_up_to_t(seed, other, cut):
    bars, replacement = make_bars(1_200, seed=seed), make_bars(1_200, seed=other)
    t = int(1_200 * cut)
    changed = {k: v.copy() for k, v in bars.items()}
    for key in ("open", "high", "low", "close", "volume"):
        changed[key][t + 1 :] = replacement[key][t + 1 :]
    before, after = _inputs(bars), _inputs(changed)
    for name in CASES:
        a, b = _whole(name, before), _whole(name, after)
        assert np.array_equal(a[: t + 1], b[: t + 1], equal_nan=True), name


def test_sma_still_exact_through_the_package():
    assert sma([100.10, 100.05, 100.15], 2)[2] == sma([100.10, 100.05, 100.15], 3)[2]
