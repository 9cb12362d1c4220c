"""The SDK's Engle-Granger test (strategies/sdk/indicators/cointegration.py) against
statsmodels' `coint`, the reference it replaces in the pairs strategy's hot path: same
p-values on cointegrated, independent, trending, collinear and degenerate windows; the same
bits for a window tested alone or inside a block (what makes replay equal the backtest)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.tsa.adfvalues import mackinnonp
from statsmodels.tsa.stattools import coint

from strategies.sdk import engle_granger_pvalue, engle_granger_pvalues
from strategies.sdk.indicators.cointegration import mackinnon_pvalues

WINDOW = 750  # the pairs strategy's default: two sessions of one-minute closes


def statsmodels_pvalue(y: np.ndarray, x: np.ndarray, lags: int) -> float:
    """coint's p-value as the pairs strategy used to ask for it; NaN where it refuses."""
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        return float("nan")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(coint(y, x, trend="c", maxlag=lags, autolag=None)[1])
    except (ValueError, np.linalg.LinAlgError):
        return float("nan")


def price_windows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rupee closes on the paisa grid: a third cointegrated (y = 0.8 x + noise), a third
    independent random walks, a third y drifting slowly away from 0.8 x."""
    rng = np.random.default_rng(seed)
    x = 1000 + np.cumsum(rng.normal(0, 1.0, (rows, WINDOW)), axis=1)
    kind = np.arange(rows) % 3
    y = 0.8 * x + rng.normal(0, 1.0, (rows, WINDOW))
    walks = 900 + np.cumsum(rng.normal(0, 1.0, (rows, WINDOW)), axis=1)
    y[kind == 1] = walks[kind == 1]
    drift = np.cumsum(rng.normal(0, 0.3, (rows, WINDOW)), axis=1)
    y[kind == 2] = (0.8 * x + drift)[kind == 2]
    return np.round(y, 2), np.round(x, 2)


@pytest.mark.parametrize("lags", [0, 1, 3, 8])
def test_pvalues_equal_statsmodels_coint(lags: int) -> None:
    y, x = price_windows(90, seed=lags)
    ours = engle_granger_pvalues(y, x, lags)
    theirs = np.array([statsmodels_pvalue(y[i], x[i], lags) for i in range(len(y))])
    assert np.isfinite(theirs).all()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    # the windows span the whole range: clearly cointegrated to clearly not
    assert ours.min() < 0.01 and ours.max() > 0.5


def test_degenerate_windows_answer_as_statsmodels_does() -> None:
    rng = np.random.default_rng(5)
    x = 1000 + np.cumsum(rng.normal(0, 1.0, WINDOW))
    y = 0.8 * x + rng.normal(0, 1.0, WINDOW)
    with_nan = y.copy()
    with_nan[400] = np.nan
    cases = {
        "collinear (y = 2x + 1)": (2 * x + 1, x),  # R^2 = 1: statistic -inf, p-value 0
        "x constant": (y, np.full(WINDOW, 1000.0)),
        "y constant": (np.full(WINDOW, 500.0), x),
        "a NaN in y": (with_nan, x),
        "an infinity in x": (y, np.where(np.arange(WINDOW) == 9, np.inf, x)),
        "a step in y": (np.where(np.arange(WINDOW) < 375, 100.0, 101.0), x),
    }
    for name, (ys, xs) in cases.items():
        ours = engle_granger_pvalue(ys, xs, 1)
        theirs = statsmodels_pvalue(ys, xs, 1)
        assert ours == pytest.approx(theirs, abs=1e-12, nan_ok=True), name
    assert engle_granger_pvalue(2 * x + 1, x, 1) == 0.0
    assert np.isnan(engle_granger_pvalue(with_nan, x, 1))


def test_too_many_lags_for_the_window_is_nan_where_adfuller_refuses() -> None:
    y, x = price_windows(3, seed=11)
    short_y, short_x = y[:, :40], x[:, :40]
    allowed = 40 // 2 - 1  # adfuller's limit for a series of 40
    for lags in (allowed - 2, allowed - 1):
        ours = engle_granger_pvalues(short_y, short_x, lags)
        theirs = [statsmodels_pvalue(short_y[i], short_x[i], lags) for i in range(3)]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    assert np.isnan(engle_granger_pvalues(short_y, short_x, allowed + 1)).all()
    assert np.isnan(statsmodels_pvalue(short_y[0], short_x[0], allowed + 1))


def test_a_window_alone_gives_the_same_bits_as_inside_a_block() -> None:
    y, x = price_windows(600, seed=3)  # more than one block of 256
    block = engle_granger_pvalues(y, x, 1)
    for i in (0, 1, 255, 256, 257, 599):
        assert engle_granger_pvalue(y[i], x[i], 1) == block[i]
        assert engle_granger_pvalues(y[i : i + 1], x[i : i + 1], 1)[0] == block[i]


def test_mackinnon_pvalues_equal_mackinnonp_everywhere() -> None:
    stats = np.concatenate([np.linspace(-30.0, 5.0, 7001), [-np.inf, np.inf, np.nan]])
    ours = mackinnon_pvalues(stats)
    theirs = np.array([mackinnonp(s, regression="c", N=2) for s in stats])
    np.testing.assert_array_equal(ours, theirs)


def test_shapes_that_cannot_be_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="2-D and alike"):
        engle_granger_pvalues(np.zeros((2, 50)), np.zeros((2, 49)), 1)
