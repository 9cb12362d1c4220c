"""The SDK's indicators: exact SMA ties, SMA and EMA against pandas and by hand, warm-ups,
and crossover semantics (NaN, the first possible cross). Expected values come from direct
computations here: exact fractions of integer paise sums, pandas rolling/ewm.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from strategies.sdk import crossed_above, crossed_below, ema, sma
from tests.engine.synthetic import walk_paise


# -- sma: exact ties ------------------------------------------------------------------------
def test_equal_averages_of_different_windows_compare_equal():
    # (100.05 + 100.15) / 2 == (100.10 + 100.05 + 100.15) / 3 == 100.10 exactly,
    # but naive float arithmetic says otherwise:
    assert (100.05 + 100.15) / 2 != (100.10 + 100.05 + 100.15) / 3
    x = [100.10, 100.05, 100.15]
    assert sma(x, 2)[2] == sma(x, 3)[2] == 100.10


def test_sma_ties_and_order_match_exact_fractions_along_a_long_walk():
    paise = walk_paise(20_000, seed=42)
    # plant ties: x[t-1] + x[t] == 2 x[t-2], so SMA2[t] == SMA3[t] exactly
    for t in range(2, len(paise), 9):
        d = 5 * (t % 7 + 1)
        paise[t - 1], paise[t] = paise[t - 2] - d, paise[t - 2] + d
    rupees = paise / 100.0
    s2, s3 = sma(rupees, 2), sma(rupees, 3)
    sums2 = paise[1:].astype(object) + paise[:-1]
    sums3 = sums2[1:] + paise[:-2]
    ties = 0
    for t in range(2, len(paise)):
        exact2 = Fraction(int(sums2[t - 1]), 200)
        exact3 = Fraction(int(sums3[t - 2]), 300)
        assert s2[t] == float(exact2) and s3[t] == float(exact3)  # correctly rounded
        assert (s2[t] > s3[t]) == (exact2 > exact3)
        assert (s2[t] == s3[t]) == (exact2 == exact3)
        ties += exact2 == exact3
    assert ties >= len(paise) // 9


# -- sma / ema against direct computations --------------------------------------------------
@pytest.mark.parametrize("length", [1, 2, 5, 30, 200])
def test_sma_matches_a_pandas_rolling_mean(length):
    x = walk_paise(5_000, seed=length) / 100.0
    got = sma(x, length)
    expected = pd.Series(x).rolling(length).mean().to_numpy()
    assert np.isnan(got[: length - 1]).all()
    np.testing.assert_allclose(got[length - 1 :], expected[length - 1 :], rtol=1e-12, atol=0)


def test_sma_of_arbitrary_floats_and_of_integers():
    noisy = np.random.default_rng(5).normal(50, 10, 3_000)  # not on the paisa grid
    np.testing.assert_allclose(
        sma(noisy, 20)[19:], pd.Series(noisy).rolling(20).mean().to_numpy()[19:], rtol=1e-9
    )
    volume = np.random.default_rng(6).integers(1, 10_000, 500)
    exact = [float(Fraction(int(volume[t - 4 : t + 1].sum()), 5)) for t in range(4, 500)]
    assert sma(volume, 5)[4:].tolist() == exact


def test_sma_edges():
    assert np.isnan(sma([1.0, 2.0], 3)).all() and len(sma([1.0, 2.0], 3)) == 2
    np.testing.assert_array_equal(sma([1.05, 2.10, 3.15], 1), [1.05, 2.10, 3.15])
    with pytest.raises(ValueError, match="length must be >= 1"):
        sma([1.0], 0)


@pytest.mark.parametrize("length", [1, 3, 12, 26])
def test_ema_matches_a_pandas_ewm_seeded_with_the_sma(length):
    x = walk_paise(2_000, seed=100 + length) / 100.0
    got = ema(x, length)
    seeded = np.r_[x[:length].mean(), x[length:]]
    expected = pd.Series(seeded).ewm(alpha=2 / (length + 1), adjust=False).mean().to_numpy()
    assert np.isnan(got[: length - 1]).all()
    np.testing.assert_allclose(got[length - 1 :], expected, rtol=1e-12, atol=0)


def test_ema_by_hand():
    got = ema([10.0, 11.0, 12.0, 14.0], 3)  # alpha 0.5, seed (10+11+12)/3 = 11
    assert np.isnan(got[:2]).all()
    assert got[2:].tolist() == [11.0, 12.5]
    with pytest.raises(ValueError, match="length must be >= 1"):
        ema([1.0], 0)


def test_sma_of_an_indicator_with_a_warm_up():
    x = walk_paise(100, seed=9) / 100.0
    inner = sma(x, 3)
    got = sma(inner, 2)
    expected = pd.Series(inner).rolling(2).mean().to_numpy()
    assert np.isnan(got[:3]).all()
    np.testing.assert_allclose(got[3:], expected[3:], rtol=1e-12)


def test_ema_of_an_indicator_with_a_warm_up():
    x = walk_paise(200, seed=10) / 100.0
    macd = ema(x, 12) - ema(x, 26)  # NaN for the first 25 bars
    signal = ema(macd, 9)
    first = 25 + 9 - 1
    assert np.isnan(signal[:first]).all()
    seeded = np.r_[macd[25 : 25 + 9].mean(), macd[25 + 9 :]]
    expected = pd.Series(seeded).ewm(alpha=0.2, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(signal[first:], expected, rtol=1e-12)


# -- crossovers -----------------------------------------------------------------------------
def test_crossed_above_and_below_basic_semantics():
    a = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 2.0, 3.0]
    b = [2.0] * 8
    # above at t: a[t] > b[t] and a[t-1] <= b[t-1]; touching (a == b) is not crossing
    assert np.flatnonzero(crossed_above(a, b)).tolist() == [2, 7]
    assert np.flatnonzero(crossed_below(a, b)).tolist() == [4]
    assert crossed_above(a, b).dtype == bool
    assert not crossed_above([5.0], [1.0])[0]  # bar 0 has no previous bar


def test_crossings_involving_nan_are_false():
    nan = np.nan
    a = [nan, 3.0, 1.0, 3.0, nan, 3.0, 1.0]
    b = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    # t=1: previous is NaN; t=4: current is NaN; t=5: previous is NaN
    assert np.flatnonzero(crossed_above(a, b)).tolist() == [3]
    assert np.flatnonzero(crossed_below(a, b)).tolist() == [2, 6]
    assert not crossed_above([1.0, 3.0], [nan, 2.0]).any()
    assert not crossed_below([3.0, 1.0], [2.0, nan]).any()


def test_first_sma_cross_is_possible_at_t_equal_slow():
    # an exact tie on the first bar where SMA3 exists (t = 2), fast above at t = 3 = slow
    x = [100.10, 100.05, 100.15, 100.20]
    fast, slow = sma(x, 2), sma(x, 3)
    assert fast[2] == slow[2]
    assert np.flatnonzero(crossed_above(fast, slow)).tolist() == [3]
    # already above on the first valid bar: that is not a cross, at slow - 1 or later
    rising = np.arange(1, 41) * 0.05 + 100
    assert not crossed_above(sma(rising, 10), sma(rising, 30)).any()
    falling = rising[::-1].copy()
    assert not crossed_below(sma(falling, 10), sma(falling, 30)).any()


@pytest.mark.parametrize("seed", range(8))
def test_no_sma_cross_before_t_equal_slow(seed):
    x = walk_paise(400, seed=seed) / 100.0
    for fast, slow in ((2, 3), (5, 20), (10, 30)):
        up = crossed_above(sma(x, fast), sma(x, slow))
        down = crossed_below(sma(x, fast), sma(x, slow))
        assert not up[:slow].any() and not down[:slow].any()
        assert up.any() and down.any()
