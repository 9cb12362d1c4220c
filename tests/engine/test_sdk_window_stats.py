"""The window statistics (Bollinger bands, z-score, hedge ratio) from exact integer sums.

Checked here, on long series (200,000 bars) on the paisa grid: a random walk, a trending
price, a Rs 1.3 lakh instrument swinging by tens of thousands (its blocks shrink, its
products go to Python ints), an instrument whose windows do not fit int64 at all, and mixed
series where some windows hold an off-grid value or a NaN:
- the whole-array value at a bar equals, bit for bit, the value computed on that bar's window
  alone (and bar by bar through Replay, whose audit compares every value);
- the values agree with a plain float computation per window (numpy std, polyfit);
- the integers behind them are the exact ones (Python ints), whatever path computed them;
- a quiet window at price scale gets its exact variance, which float running sums lose.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from engine.replay import Replay
from strategies.sdk import (
    Strategy,
    bollinger_lower,
    bollinger_upper,
    hedge_ratio,
    zscore,
)
from strategies.sdk.indicators import exact_sums
from strategies.sdk.indicators.exact_sums import paise_grid, window_moments
from strategies.sdk.indicators.windows import _zscores
from tests.engine.synthetic import NO_COSTS, make_bars, series

N = 200_000


def _walk(seed: int, start: float, tick_paise: int, spread: int, n: int = N) -> np.ndarray:
    """A random walk in rupees on the paisa grid: steps of -spread .. spread ticks."""
    steps = np.random.default_rng(seed).integers(-spread, spread + 1, n) * tick_paise
    return np.maximum(round(start * 100) + np.cumsum(steps), 5) / 100.0


def _trending(seed: int, n: int = N) -> np.ndarray:
    """Rs 500 rising to about Rs 9,500 with noise, on a 5-paise tick."""
    rng = np.random.default_rng(seed)
    paise = 50_000 + np.arange(n) * 4.5 + rng.normal(0, 300, n)
    return np.round(paise / 5) * 5 / 100.0


def _lakh(seed: int, n: int = N) -> np.ndarray:
    """About Rs 1.3 lakh swinging by Rs +-60,000 over a few hundred bars, with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    paise = 13_000_000 + 6_000_000 * np.sin(t / 40.0) + rng.normal(0, 50_000, n)
    return np.round(paise) / 100.0


def _huge(seed: int, n: int = 3_000) -> np.ndarray:
    """Prices jumping between Rs 10 and Rs 40 crore: no window's sums fit int64."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.5, 10.0, 400_000_000.0) + rng.integers(0, 100, n) / 100


def _mixed(values: np.ndarray, seed: int) -> np.ndarray:
    """The series with a few values off the grid and a few NaN."""
    rng = np.random.default_rng(seed)
    out = values.copy()
    n = out.shape[0]
    off = rng.choice(n, n // 3_000, replace=False)
    out[off] += 0.001
    out[rng.choice(n, n // 5_000, replace=False)] = np.nan
    return out


SERIES: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "walk": lambda: (_walk(1, 1_000.0, 5, 3), _walk(2, 500.0, 5, 2)),
    "trending": lambda: (_trending(3), _trending(4)),
    "lakh": lambda: (_lakh(5), _lakh(6)),
    "mixed": lambda: (_mixed(_walk(7, 1_000.0, 5, 3), 8), _mixed(_walk(9, 2_000.0, 5, 3), 10)),
    "mixed_lakh": lambda: (_mixed(_lakh(11), 12), _lakh(13)),
}

# name -> (function of (x, y, window-or-array), window length)
STATS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], int]] = {
    "zscore_60": (lambda x, y: zscore(x, 60), 60),
    "bb_upper_20": (lambda x, y: bollinger_upper(x, 20, 2.0), 20),
    "bb_lower_20": (lambda x, y: bollinger_lower(x, 20, 2.5), 20),
    "hedge_375": (lambda x, y: hedge_ratio(y, x, 375), 375),
    "hedge_30": (lambda x, y: hedge_ratio(y, x, 30), 30),
}


def _sampled(n: int, length: int, count: int, seed: int, extra: Any = ()) -> Iterator[int]:
    rng = np.random.default_rng(seed)
    bars = set(rng.integers(length - 1, n, count).tolist())
    bars |= {length - 1, n - 1, *extra}
    yield from sorted(t for t in bars if length - 1 <= t < n)


def _bad_windows(values: list[np.ndarray], length: int) -> list[int]:
    """Last bars of windows holding an off-grid value or a NaN (and the windows right
    around them), so the samples cover both paths and their borders."""
    out: list[int] = []
    for a in values:
        for i in np.flatnonzero(~paise_grid(a)[1])[:40].tolist():
            out += [i - 1, i, i + length // 2, i + length - 1, i + length]
    return out


@pytest.mark.parametrize("kind", list(SERIES))
@pytest.mark.parametrize("stat", list(STATS))
def test_whole_array_equals_each_window_alone_bit_for_bit(kind, stat):
    x, y = SERIES[kind]()
    fn, length = STATS[stat]
    whole = fn(x, y)
    assert whole.shape == (N,)
    assert np.isnan(whole[: length - 1]).all()
    assert np.isfinite(whole).sum() > N * 0.8  # not vacuous
    bars = list(_sampled(N, length, 600, seed=len(kind), extra=_bad_windows([x, y], length)))
    for t in bars:
        lo = t + 1 - length
        alone = fn(x[lo : t + 1], y[lo : t + 1])[-1]
        assert np.array_equal(alone, whole[t], equal_nan=True), (kind, stat, t, alone, whole[t])
        window = x[lo : t + 1]
        if stat.startswith("hedge"):
            window = np.concatenate((window, y[lo : t + 1]))
        if np.isnan(window).any():
            assert np.isnan(whole[t])


def _reference(stat: str, xw: np.ndarray, yw: np.ndarray) -> float:
    """The statistic of one window by a plain two-pass float computation."""
    if np.isnan(xw).any() or (stat.startswith("hedge") and np.isnan(yw).any()):
        return np.nan
    if stat.startswith("hedge"):
        if np.ptp(xw) == 0:
            return np.nan
        return float(np.polyfit(xw, yw, 1)[0])
    std = float(np.std(xw))
    if stat.startswith("zscore"):
        return (xw[-1] - xw.mean()) / std if std > 0 else np.nan
    width = 2.0 if stat == "bb_upper_20" else -2.5
    return float(xw.mean() + width * std)


@pytest.mark.parametrize("kind", list(SERIES))
@pytest.mark.parametrize("stat", list(STATS))
def test_values_agree_with_a_float_computation_per_window(kind, stat):
    x, y = SERIES[kind]()
    fn, length = STATS[stat]
    whole = fn(x, y)
    for t in _sampled(N, length, 400, seed=len(stat)):
        lo = t + 1 - length
        expected = _reference(stat, x[lo : t + 1], y[lo : t + 1])
        if np.isnan(expected):
            assert np.isnan(whole[t]), (kind, stat, t)
            continue
        # z near 0 and a slope near 0 against the scale of their spread: y's std over x's
        scale = abs(expected)
        if stat.startswith("zscore"):
            scale = max(scale, 1.0)
        elif stat.startswith("hedge"):
            scale = max(scale, float(np.std(y[lo : t + 1]) / np.std(x[lo : t + 1])))
        assert abs(whole[t] - expected) <= 1e-9 * scale, (kind, stat, t, whole[t], expected)


def _exact(x: list[int], y: list[int]) -> tuple[int, int, int, int]:
    """(Sx, n*Sxx - Sx^2, n*x_last - Sx, n*Sxy - Sx*Sy) in Python ints."""
    n, sx, sy = len(x), sum(x), sum(y)
    sxx, sxy = sum(a * a for a in x), sum(a * b for a, b in zip(x, y, strict=True))
    return sx, n * sxx - sx * sx, n * x[-1] - sx, n * sxy - sx * sy


@pytest.mark.parametrize(
    ("kind", "length", "paths"),
    [
        ("walk", 375, {"block"}),
        ("trending", 60, {"block"}),
        ("lakh", 375, {"block", "shrunk", "python_products"}),
        ("lakh", 20, {"block", "shrunk"}),
        ("huge", 20, {"single"}),
    ],
)
def test_the_integers_are_exact_on_every_path(kind, length, paths, monkeypatch):
    x, y = (_huge(14), _huge(15)) if kind == "huge" else SERIES[kind]()
    xp, on_x = paise_grid(x)
    yp, on_y = paise_grid(y)
    assert on_x.all() and on_y.all()
    seen: set[str] = set()
    block, single = exact_sums._block, exact_sums._single

    def spy_block(length: int, x: Any, y: Any, start: int, size: int, *rest: Any) -> None:
        seen.add("block")
        if size < exact_sums._BLOCK and start + size < x.shape[0]:  # not just the last block
            seen.add("shrunk")
        _cx, _dx, _cy, bound = rest[0]
        if length * length * bound >= exact_sums.LIMIT:
            seen.add("python_products")
        block(length, x, y, start, size, *rest)

    def spy_single(*args: Any) -> None:
        seen.add("single")
        single(*args)

    monkeypatch.setattr(exact_sums, "_block", spy_block)
    monkeypatch.setattr(exact_sums, "_single", spy_single)
    moments = window_moments(length, xp, yp)
    assert paths <= seen, seen
    assert moments.covariance is not None
    n = xp.shape[0]
    for t in _sampled(n, length, 300, seed=length):
        w = t + 1 - length
        xs, ys = xp[w : t + 1].tolist(), yp[w : t + 1].tolist()
        total, spread, deviation, covariance = _exact(xs, ys)
        assert spread >= 0
        got = (moments.total[w], moments.spread[w], moments.deviation[w], moments.covariance[w])
        assert got == (float(total), float(spread), float(deviation), float(covariance)), t


def test_z_and_beta_are_the_exact_ratios_rounded_within_a_few_ulps():
    x, y = SERIES["walk"]()
    z, beta = zscore(x, 60), hedge_ratio(y, x, 30)
    xp, yp = paise_grid(x)[0].tolist(), paise_grid(y)[0].tolist()
    for t in _sampled(N, 60, 200, seed=21):
        _, spread, deviation, _ = _exact(xp[t - 59 : t + 1], yp[t - 59 : t + 1])
        exact_z = Fraction(deviation) / Fraction(math.isqrt(spread * 10**40), 10**20)
        assert abs(Fraction(z[t]) - exact_z) <= abs(exact_z) * Fraction(1, 2**50)
        _, spread, _, covariance = _exact(xp[t - 29 : t + 1], yp[t - 29 : t + 1])
        exact_beta = Fraction(covariance, spread)
        assert abs(Fraction(beta[t]) - exact_beta) <= abs(exact_beta) * Fraction(1, 2**50)


def test_huge_prices_still_match_their_windows_alone():
    x, y = _huge(16), _huge(17)
    for length in (20, 60):
        for fn in (
            lambda a, b, n=length: zscore(a, n),
            lambda a, b, n=length: bollinger_upper(a, n),
            lambda a, b, n=length: hedge_ratio(b, a, n),
        ):
            whole = fn(x, y)
            assert np.isfinite(whole[length - 1 :]).all()
            for t in range(length - 1, x.shape[0], 97):
                lo = t + 1 - length
                assert np.array_equal(fn(x[lo : t + 1], y[lo : t + 1])[-1], whole[t])


def test_a_quiet_window_at_price_scale_gets_its_exact_variance():
    # Rs 1 lakh, moving by 5 paise: the variance (0.025^2 = 0.000625) is far below the
    # rounding of float sums of squares (x^2 ~ 1e10, ulp ~ 2e-6)
    quiet = np.array([100_000.05, 100_000.10] * 10 + [100_000.05, 100_000.10, 100_000.15])
    n = 20
    upper = bollinger_upper(quiet, n, 2.0)
    lower = bollinger_lower(quiet, n, 2.0)
    # windows of ten .05 and ten .10: mean .075, std exactly 0.025 (sqrt(V) / (100 n) with
    # V = n*Sxx - Sx^2 = 2500 in paise from the first value)
    for t in range(n - 1, 22):
        assert upper[t] == 100_000.075 + 2 * 0.025
        assert lower[t] == 100_000.075 - 2 * 0.025
    z = zscore(quiet[:20], n)
    assert z[-1] == 1.0  # .10 is one std above the mean, exactly
    # what float running sums give for the same window: the variance is lost in cancellation
    w = quiet[:20]
    naive = (np.sum(w * w) - np.sum(w) ** 2 / n) / n
    assert naive != 0.025**2 and abs(naive - 0.025**2) > 1e-7
    # a flat window at price scale: exactly no spread (float sums could leave a residue)
    flat = np.full(50, 123_456.75)
    assert np.isnan(zscore(flat, 20)[19:]).all()
    assert (bollinger_upper(flat, 20)[19:] == 123_456.75).all()


def test_an_exact_hedge_at_price_scale():
    rng = np.random.default_rng(18)
    x = (10_000_000 + rng.integers(-3, 4, 2_000)) / 100.0  # Rs 1 lakh within 3 paise
    y = 2 * x + 0.05  # exactly 2 x + 5 paise, on the grid
    beta = hedge_ratio(y, x, 30)
    assert (beta[29:] == 2.0).all()
    assert np.isnan(hedge_ratio(y, np.full(2_000, 100_000.05), 30)[29:]).all()  # flat x


def test_integer_inputs_take_the_exact_path():
    volume = np.random.default_rng(19).integers(1, 1_000_000, 5_000)
    as_int, as_float = zscore(volume, 50), zscore(volume.astype(np.float64), 50)
    assert np.array_equal(as_int, as_float, equal_nan=True)
    for t in range(49, 5_000, 211):
        assert zscore(volume[t - 49 : t + 1], 50)[-1] == as_int[t]


def test_the_path_is_chosen_per_window():
    x = _walk(20, 1_000.0, 5, 3, n=2_000)
    mixed = x.copy()
    mixed[1_000] += 0.003  # one value off the grid
    a, b = zscore(x, 60), zscore(mixed, 60)
    # windows without the value are untouched by it, exact as before
    assert np.array_equal(a[:1_000], b[:1_000], equal_nan=True)
    assert np.array_equal(a[1_060:], b[1_060:])
    # the windows holding it are the float ones, as each window alone
    for t in range(1_000, 1_060):
        window = mixed[t - 59 : t + 1]
        assert b[t] == zscore(window, 60)[-1] == _zscores(window[None, :])[0]
        assert b[t] == pytest.approx(a[t], abs=0.05)


# -- bar by bar, through Replay (its audit compares every value with the whole array) --------


class WindowStats(Strategy):
    """The window statistics on bar inputs, on an off-grid derived input, as an author would."""

    def init(self) -> None:
        d = self.data
        self.made = {
            "zscore": self.I(zscore, d.close, 60),
            "bb_upper": self.I(bollinger_upper, d.close, 20, 2.0),
            "bb_lower": self.I(bollinger_lower, d.low, 20, 2.5),
            "hedge": self.I(hedge_ratio, d.close, d.open, 375),
            "hedge_hl": self.I(hedge_ratio, d.high, d.low, 30),
        }
        nudged = self.I(_nudge, d.close, name="nudged", lookback=1)
        self.made["zscore_mixed"] = self.I(zscore, nudged, 30)
        self.made["bb_mixed"] = self.I(bollinger_upper, nudged, 20)
        self.made["hedge_mixed"] = self.I(hedge_ratio, nudged, d.open, 40)


def _nudge(close: np.ndarray) -> np.ndarray:
    """The close, a few of them moved off the paisa grid (a pointwise indicator)."""
    close = np.asarray(close, dtype=np.float64)
    paise = np.rint(close * 100).astype(np.int64)
    return np.where(paise % 97 == 0, close + 0.0013, close)


def _lakh_bars(n: int, seed: int) -> dict[str, np.ndarray]:
    """make_bars at Rs 1.3 lakh with swings of Rs +-60,000 (the same offset on o/h/l/c)."""
    bars = make_bars(n, seed=seed)
    swing = np.rint(6_000_000 * np.sin(np.arange(n) / 50.0)).astype(np.int64)
    for key in ("open", "high", "low", "close"):
        bars[key] = bars[key] * 130 + swing
    return bars


@pytest.mark.parametrize(("seed", "lakh", "warmup"), [(3, False, 0), (4, True, 0), (5, True, 900)])
def test_bar_by_bar_values_equal_the_whole_array_values(seed, lakh, warmup):
    bars = _lakh_bars(3_000, seed) if lakh else make_bars(3_000, seed=seed)
    run = Replay(WindowStats, None, series(bars), NO_COSTS, warmup=warmup)
    run.run()
    evaluator = run.evaluators[0]
    assert evaluator.audit() == []
    strategy = evaluator.strategy
    close = bars["close"] / 100.0
    open_ = bars["open"] / 100.0
    expected = {
        "zscore": zscore(close, 60),
        "hedge": hedge_ratio(close, open_, 375),
        "zscore_mixed": zscore(_nudge(close), 30),
    }
    for name, series_ in strategy.made.items():
        got = series_.full()
        if name in expected:
            assert np.array_equal(got, expected[name], equal_nan=True), name
        assert np.isfinite(got).sum() > 3_000 // 2, name
    nudged = _nudge(close)
    assert not paise_grid(nudged)[1].all() and paise_grid(nudged)[1].mean() > 0.9
    got = strategy.made["zscore_mixed"].full()
    for t in range(29, 3_000, 13):
        assert np.array_equal(zscore(nudged[t - 29 : t + 1], 30)[-1], got[t], equal_nan=True)
