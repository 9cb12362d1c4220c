"""The level-of-detail pyramid against brute force: every level's buckets, exact y ranges over
random spans of a million bars, and appends/updates equal to building from scratch."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from app.gui.chart.lod import OhlcvPyramid

F64 = npt.NDArray[np.float64]
Bars = tuple[F64, F64, F64, F64, F64]
Million = tuple[Bars, OhlcvPyramid]


def random_bars(n: int, seed: int) -> Bars:
    rng = np.random.default_rng(seed)
    close = 1000.0 + np.cumsum(rng.normal(0, 0.7, n))
    open_ = np.concatenate(([1000.0], close[:-1])) + rng.normal(0, 0.1, n)
    high = np.maximum(open_, close) + rng.exponential(0.2, n)
    low = np.minimum(open_, close) - rng.exponential(0.2, n)
    volume = rng.lognormal(8, 0.8, n).round()
    return open_, high, low, close, volume


@pytest.fixture(scope="module")
def million() -> Million:
    bars = random_bars(1_000_003, seed=1)  # odd: every level has a lone tail bucket somewhere
    return bars, OhlcvPyramid(*bars)


def test_every_level_merges_its_bars_like_brute_force(million: Million) -> None:
    (o, h, lo, c, v), pyramid = million
    n = len(o)
    rng = np.random.default_rng(2)
    assert pyramid.levels == math.ceil(math.log2(n)) + 1
    for level in range(pyramid.levels):
        lo_o, lo_h, lo_l, lo_c, lo_v = pyramid.level_arrays(level)
        span = 1 << level
        assert len(lo_o) == -(-n // span)
        picks = set(rng.integers(0, len(lo_o), 20).tolist()) | {0, len(lo_o) - 1}
        for b in picks:
            s = slice(b * span, min(n, (b + 1) * span))
            assert lo_o[b] == o[s][0]
            assert lo_h[b] == h[s].max()
            assert lo_l[b] == lo[s].min()
            assert lo_c[b] == c[s][-1]
            assert lo_v[b] == pytest.approx(v[s].sum(), rel=1e-12)


def test_y_range_is_exact_over_random_spans(million: Million) -> None:
    (_o, h, lo, _c, _v), pyramid = million
    n = len(h)
    rng = np.random.default_rng(3)
    for _ in range(300):
        a, b = sorted(rng.integers(0, n, 2).tolist())
        width = rng.choice([1, 7, 300, 5_000, b - a + 1])
        b = min(n - 1, a + int(width) - 1)
        assert pyramid.y_range(a, b) == (lo[a : b + 1].min(), h[a : b + 1].max())
    # float edges: a bar counts once any part of it (i-0.5..i+0.5) is in range
    assert pyramid.y_range(9.6, 20.4) == (lo[10:21].min(), h[10:21].max())
    assert pyramid.y_range(9.4, 20.6) == (lo[9:22].min(), h[9:22].max())
    assert pyramid.y_range(-50.0, n + 50.0) == (lo.min(), h.max())
    assert pyramid.y_range(n + 1.0, n + 9.0) is None


def test_level_for_picks_a_bucket_about_a_pixel_wide(million: Million) -> None:
    _bars, pyramid = million
    assert pyramid.level_for(0.1) == 0
    assert pyramid.level_for(1.0) == 0
    for bars_per_pixel in (1.5, 2.0, 3.9, 100.0, 666.0, 1e5):
        level = pyramid.level_for(bars_per_pixel)
        bucket_px = (1 << level) / bars_per_pixel
        assert 0.5 < bucket_px <= 1.0
    assert pyramid.level_for(1e12) == pyramid.levels - 1


def test_visible_returns_the_buckets_overlapping_the_range(million: Million) -> None:
    (o, _h, _l, c, _v), pyramid = million
    n = len(o)
    b = pyramid.visible(3, 100.0, 200.0)  # buckets of 8 bars: bars 96..207
    assert b.width == 8.0
    assert b.first == 12 and len(b) == 14
    assert b.x[0] == 12 * 8 + 3.5
    assert b.open[0] == o[96] and b.close[-1] == c[207]
    tail = pyramid.visible(10, n - 10.0, n + 100.0)  # the last bucket holds 1_000_003 % 1024 bars
    start = (n - 1) // 1024 * 1024
    assert tail.x[-1] == start + (n - 1 - start) / 2
    assert len(pyramid.visible(0, n + 5.0, n + 50.0)) == 0
    assert len(pyramid.visible(0, -50.0, -5.0)) == 0
    screen = pyramid.visible(pyramid.level_for(n / 1500), -0.5, n - 0.5)
    assert 1500 <= len(screen) <= 3000  # half to one pixel per bucket: the screen, not the series


def test_the_pyramid_holds_about_one_more_copy_of_the_bars(million: Million) -> None:
    (o, *_rest), pyramid = million
    buckets = sum(len(pyramid.level_arrays(k)[0]) for k in range(pyramid.levels))
    assert buckets - len(o) <= len(o) + pyramid.levels


def assert_same_pyramid(grown: OhlcvPyramid, built: OhlcvPyramid) -> None:
    assert grown.levels == built.levels
    for level in range(built.levels):
        for got, want in zip(grown.level_arrays(level), built.level_arrays(level), strict=True):
            np.testing.assert_array_equal(got, want)


def test_append_and_update_last_equal_a_rebuild() -> None:
    o, h, lo, c, v = random_bars(10_001 + 1_500, seed=4)
    grown = OhlcvPyramid(o[:10_001], h[:10_001], lo[:10_001], c[:10_001], v[:10_001])
    for i in range(10_001, len(o)):
        grown.append(o[i], h[i], lo[i], c[i], v[i])
    assert_same_pyramid(grown, OhlcvPyramid(o, h, lo, c, v))

    # a tick that lowers the last bar's high (a correction) must not leave a stale max behind
    h2, lo2, c2, v2 = h.copy(), lo.copy(), c.copy(), v.copy()
    h2[-1], lo2[-1], c2[-1], v2[-1] = o[-1] + 0.05, o[-1] - 9.0, o[-1] - 8.0, 1.0
    grown.update_last(o[-1], h2[-1], lo2[-1], c2[-1], v2[-1])
    assert_same_pyramid(grown, OhlcvPyramid(o, h2, lo2, c2, v2))


def test_the_callers_arrays_are_shared_but_never_written() -> None:
    o, h, lo, c, v = random_bars(1_000, seed=7)
    kept = [a.copy() for a in (o, h, lo, c, v)]
    pyramid = OhlcvPyramid(o, h, lo, c, v)
    assert pyramid.level_arrays(0)[1] is h or np.shares_memory(pyramid.level_arrays(0)[1], h)
    pyramid.update_last(1.0, 2.0, 0.5, 1.5, 7.0)
    pyramid.append(1.5, 2.5, 1.0, 2.0, 8.0)
    pyramid.update_last(1.5, 3.0, 1.0, 2.5, 9.0)
    for got, want in zip((o, h, lo, c, v), kept, strict=True):
        np.testing.assert_array_equal(got, want)
    assert pyramid.bar(999) == (1.0, 2.0, 0.5, 1.5, 7.0)
    assert pyramid.bar(1000) == (1.5, 3.0, 1.0, 2.5, 9.0)


def test_growing_from_nothing_one_bar_at_a_time() -> None:
    o, h, lo, c, v = random_bars(375, seed=5)
    grown = OhlcvPyramid.empty()
    assert grown.y_range(0, 10) is None and grown.bounds() is None
    for i in range(375):
        grown.append(o[i], h[i], lo[i], c[i], v[i])
        assert grown.bounds() == (lo[: i + 1].min(), h[: i + 1].max())
    assert_same_pyramid(grown, OhlcvPyramid(o, h, lo, c, v))
    assert grown.bar(374) == (o[374], h[374], lo[374], c[374], v[374])
    with pytest.raises(IndexError):
        grown.bar(375)


def test_mismatched_arrays_are_refused() -> None:
    o, h, lo, c, v = random_bars(10, seed=6)
    with pytest.raises(ValueError, match="differ in length"):
        OhlcvPyramid(o, h, lo, c[:9], v)


def test_levels_are_built_on_first_need_with_the_same_values() -> None:
    """A fresh pyramid builds no level above the bars for what a chart's first frame asks
    (the last few hundred bars, the whole-series bounds); short spans at coarse levels are
    merged from their bars; everything equals a fully built pyramid, bit for bit."""
    bars = random_bars(200_003, seed=7)
    lazy = OhlcvPyramid(*bars)
    eager = OhlcvPyramid(*bars)
    eager.level_arrays(eager.levels - 1)  # builds every level
    assert eager.built_levels == eager.levels == lazy.levels
    n = len(bars[0])
    assert lazy.y_range(n - 300.5, n + 5.0) == eager.y_range(n - 300.5, n + 5.0)
    assert lazy.bounds() == eager.bounds()
    assert lazy.total_volume() == pytest.approx(eager.total_volume(), rel=1e-12)
    rng = np.random.default_rng(8)

    def same_views(max_level: int, widths: list[float]) -> None:
        for _ in range(200):
            level = int(rng.integers(0, max_level + 1))
            x0 = float(rng.uniform(-10, n + 10))
            x1 = x0 + float(rng.choice(widths))
            got, want = lazy.visible(level, x0, x1), eager.visible(level, x0, x1)
            assert (got.level, got.width, got.first) == (want.level, want.width, want.first)
            for name in ("x", "open", "high", "low", "close", "volume"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)
            assert lazy.y_range(x0, x1) == eager.y_range(x0, x1)

    same_views(8, [0.0, 3.0, 300.0, 5_000.0])  # at most LOCAL_BARS bars covered
    assert lazy.built_levels == 1  # all of that came from the bars
    wide = lazy.visible(9, 0.0, float(n))  # zoomed out: levels 1..9 are built and kept
    assert lazy.built_levels == 10
    np.testing.assert_array_equal(wide.high, eager.visible(9, 0.0, float(n)).high)
    assert lazy.y_range(0, n) == eager.y_range(0, n)  # walks (and builds) the levels it needs
    same_views(lazy.levels - 1, [0.0, 300.0, 16_000.0, 100_000.0])


def test_a_live_tick_on_an_unbuilt_pyramid_equals_a_rebuild() -> None:
    o, h, lo, c, v = random_bars(5_001, seed=9)
    live = OhlcvPyramid(o[:5_000], h[:5_000], lo[:5_000], c[:5_000], v[:5_000])
    assert live.built_levels == 1
    live.append(o[5_000], h[5_000], lo[5_000], c[5_000], v[5_000])
    assert live.built_levels == live.levels
    assert_same_pyramid(live, OhlcvPyramid(o, h, lo, c, v))
    fresh = OhlcvPyramid(o, h, lo, c, v)
    fresh.update_last(o[-1], h[-1] + 5.0, lo[-1], c[-1], v[-1])
    assert fresh.bounds() == (lo.min(), max(h.max(), h[-1] + 5.0))
