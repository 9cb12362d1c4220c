"""The results curves' level of detail: what a view draws keeps every spike of the points it
covers, costs points per pixel (not per bar), and is the raw points when they are few."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from app.gui.results.curve_lod import CurvePyramid

N = 1_000_003  # a million one-minute bars, and an odd tail


@pytest.fixture(scope="module")
def pyramid() -> CurvePyramid:
    x = np.arange(N, dtype=np.float64) * 60.0
    y = np.cumsum(np.random.default_rng(7).normal(0.0, 1.0, N))
    y[123_457] += 500.0  # one spike a bar wide: it must survive any zoom
    return CurvePyramid(x, y)


@pytest.mark.parametrize(
    ("first", "last", "pixels"),
    [(0, N - 1, 900), (1_000, 5_000, 100), (N - 5_000, N - 1, 50), (100_000, 200_000, 333)],
)
def test_a_view_keeps_the_extremes_of_what_it_covers(pyramid, first, last, pixels):
    x, y = pyramid.x, pyramid.y
    xs, ys = pyramid.view(x[first], x[last], pixels)
    covered = y[first : last + 1]
    assert ys.min() <= covered.min() and ys.max() >= covered.max()
    assert xs[0] <= x[first] and xs[-1] >= x[last - (last - first) // pixels - 1]
    assert len(xs) <= 4 * pixels + 8  # a few points a pixel, whatever the bars
    assert np.all(np.diff(xs) >= 0)  # drawn left to right


def test_the_spike_shows_at_full_view(pyramid):
    _xs, ys = pyramid.view(pyramid.x[0], pyramid.x[-1], 900)
    assert ys.max() == pyramid.y.max()


def test_few_points_are_drawn_as_they_are(pyramid):
    x, y = pyramid.x, pyramid.y
    xs, ys = pyramid.view(x[10], x[40], 100)
    assert np.array_equal(xs, x[9:42]) and np.array_equal(ys, y[9:42])


def test_nan_is_ignored_in_a_bucket():
    x = np.arange(4096, dtype=np.float64)
    y = np.ones(4096)
    y[:100] = np.nan  # a drawdown before the first trade, say
    y[2000] = 5.0
    _xs, ys = CurvePyramid(x, y).view(0.0, 4095.0, 64)
    assert np.nanmax(ys) == 5.0 and np.nanmin(ys) == 1.0


@pytest.mark.parametrize("k", range(0, 13))
def test_every_level_is_each_buckets_min_and_max(k):
    """Short buckets are folded column by column, long ones reduced: both are numpy's
    nanmin/nanmax of each bucket, NaN runs and an all-NaN bucket included."""
    n = 100_003  # an odd tail at every level
    rng = np.random.default_rng(k)
    y = np.cumsum(rng.normal(0.0, 1.0, n))
    y[rng.integers(0, n, 500)] = np.nan  # scattered gaps
    y[40:4_200] = np.nan  # whole buckets of NaN at the finer levels
    x = np.arange(n, dtype=np.float64)
    starts, mins, maxs = CurvePyramid(x, y).level(k)
    size = 1 << k
    buckets = [y[i : i + size] for i in range(0, n, size)]
    with warnings.catch_warnings():  # nanmin warns of an all-NaN bucket; its answer: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        expected_min = np.array([np.nanmin(b) for b in buckets])
        expected_max = np.array([np.nanmax(b) for b in buckets])
    assert np.array_equal(starts, x[0:n:size])
    assert np.array_equal(mins, expected_min, equal_nan=True)
    assert np.array_equal(maxs, expected_max, equal_nan=True)
