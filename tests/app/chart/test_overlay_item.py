"""Indicator lines on a million bars: the min/max pyramid against plain numpy over the raw
values, live appends equal to a rebuild, and real paints in an offscreen PlotWidget whose
pixels show what must survive thinning (a one-bar spike, a NaN gap, a band's fill)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from app.gui.chart.overlay_item import LodBandItem, LodLineItem, MinMaxPyramid

N = 1_000_000
WIDTH, HEIGHT = 1600, 900


def walk(n: int = N, seed: int = 5) -> np.ndarray:
    """A price-like random walk with a 199-bar NaN warm-up and a few NaN holes (an SMA of a
    series with missing bars)."""
    rng = np.random.default_rng(seed)
    values = 1000.0 + np.cumsum(rng.normal(0.0, 0.5, n))
    values[:199] = np.nan
    for start in rng.integers(1000, n - 5000, 20):
        values[start : start + int(rng.integers(1, 3000))] = np.nan
    return values


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return walk()


@pytest.fixture
def plot(qtbot: QtBot) -> pg.PlotWidget:
    widget = pg.PlotWidget()
    widget.resize(WIDTH, HEIGHT)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(plot: pg.PlotWidget, x0: float, x1: float, y0: float, y1: float) -> QImage:
    """Set the view, paint it now, and return the plot area's pixels."""
    plot.setXRange(x0, x1, padding=0)
    plot.setYRange(y0, y1, padding=0)
    plot.viewport().repaint()
    image: QImage = plot.grab().toImage()
    return image


def span(line: LodLineItem, x0: float, x1: float) -> tuple[float, float]:
    """The line's y range over [x0, x1], which these tests know is not all NaN."""
    found = line.y_range(x0, x1)
    assert found is not None
    return found


def bucket_oracle(raw: np.ndarray, level: int, b: int) -> tuple[float, float]:
    """min/max of bucket b at `level`, straight from the raw values."""
    chunk = raw[b << level : (b + 1) << level]
    if chunk.size == 0 or not np.isfinite(chunk).any():
        return np.nan, np.nan
    return float(np.nanmin(chunk)), float(np.nanmax(chunk))


def test_pyramid_buckets_equal_numpy_over_the_raw_values(values: np.ndarray) -> None:
    pyramid = MinMaxPyramid(values)
    assert pyramid.levels >= 19  # 2^20 > 1M: the top bucket spans everything
    rng = np.random.default_rng(1)
    for level in (1, 3, 8, 12, pyramid.levels):
        x0 = float(rng.integers(0, N - 10))
        x, lo, hi = pyramid.columns(x0, x0 + 5000, level)
        size = 1 << level
        for col in rng.integers(0, len(x), 40):
            b = int((x[col] - (size - 1) / 2) / size)
            assert b * size <= x[col] < (b + 1) * size  # the centre lies in its bucket
            expected = bucket_oracle(values, level, b)
            np.testing.assert_array_equal([lo[col], hi[col]], expected)
    # the top holds the whole series' range
    assert pyramid.full_range() == (np.nanmin(values), np.nanmax(values))


def test_y_range_is_exact_over_any_span_and_none_in_a_gap(values: np.ndarray) -> None:
    pyramid = MinMaxPyramid(values)
    rng = np.random.default_rng(2)
    spans = [(0, N - 1), (0, 198), (150, 260), (N - 500, N - 1), (-50.5, 10_000.2)]
    spans += [tuple(sorted(rng.uniform(-10, N + 10, 2))) for _ in range(40)]
    for x0, x1 in spans:
        chunk = values[max(0, int(np.ceil(x0))) : min(N - 1, int(np.floor(x1))) + 1]
        expected = (
            (float(np.nanmin(chunk)), float(np.nanmax(chunk))) if np.isfinite(chunk).any() else None
        )
        assert pyramid.y_range(x0, x1) == expected, (x0, x1)
    assert pyramid.y_range(0, 198) is None  # the warm-up is all NaN


def test_live_appends_and_updates_equal_a_rebuild(values: np.ndarray) -> None:
    head, tail = values[:200_000], values[200_000:203_000]  # 3,000 appends: past the headroom
    live = MinMaxPyramid(head)
    rng = np.random.default_rng(3)
    for v in tail:
        live.append(float(rng.normal(1000, 5)))  # a forming bar's first tick...
        live.update_last(float(v))  # ...then its close
    rebuilt = MinMaxPyramid(values[:203_000])
    assert len(live) == len(rebuilt) == 203_000
    for level in range(rebuilt.levels + 1):
        np.testing.assert_array_equal(
            live.columns(0, 203_000, level), rebuilt.columns(0, 203_000, level)
        )
    assert live.value_at(202_999) == values[202_999]


def test_update_last_lowers_a_bucket_max(values: np.ndarray) -> None:
    """A tick that lowers the last value must lower every level's max (not only fmax it)."""
    line = MinMaxPyramid(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    line.update_last(100.0)
    line.update_last(0.5)
    assert line.full_range() == (0.5, 4.0)
    assert line.y_range(3, 4) == (0.5, 4.0)


def test_value_at_is_none_outside_and_in_gaps(values: np.ndarray) -> None:
    line = LodLineItem(values, "#f0a020", name="sma")
    assert line.value_at(0) is None  # warm-up NaN
    assert line.value_at(-1) is None and line.value_at(N) is None
    finite = int(np.flatnonzero(np.isfinite(values))[-1])
    assert line.value_at(finite) == values[finite]


def test_all_bars_paint_thinned_and_500_bars_plain(plot: pg.PlotWidget, values: np.ndarray) -> None:
    line = LodLineItem(values, "#f0a020", width=1.5)
    plot.addItem(line)
    lo, hi = span(line, 0, N - 1)
    before = line.paint_count
    show(plot, 0, N - 1, lo, hi)
    assert line.paint_count > before
    plot_px = plot.getViewBox().width()
    assert line.last_level > 0
    # work per pixel, not per bar: two points a bucket of at least a pixel, plus the edges
    assert line.last_points <= 2 * plot_px + 8
    show(plot, N - 500, N - 1, *span(line, N - 500, N - 1))
    assert line.last_level == 0
    assert 500 <= line.last_points <= 503  # the raw polyline, one bar each side


def line_rows(image: QImage, column: int, colour: str) -> list[int]:
    """Rows of `column` painted in `colour` (exact RGB match: no antialiasing)."""
    target = QColor(colour).rgb()
    return [y for y in range(image.height()) if image.pixel(column, y) == target]


def test_a_one_bar_spike_survives_at_all_bars_zoom(plot: pg.PlotWidget) -> None:
    flat = np.full(N, 100.0)
    flat[654_321] = 200.0  # one bar in a million
    line = LodLineItem(flat, "#ff00ff", width=1.0)
    plot.addItem(line)
    image = show(plot, 0, N - 1, 90.0, 210.0)
    vb = plot.getViewBox()
    top = vb.mapViewToScene(pg.Point(654_321, 200.0))
    pos = plot.mapFromScene(top)
    # the column holding the spike is painted up to the spike's height
    columns = range(pos.x() - 2, pos.x() + 3)
    tops = [min(line_rows(image, c, "#ff00ff"), default=10_000) for c in columns]
    assert min(tops) <= pos.y() + 1


def test_a_nan_gap_stays_blank(plot: pg.PlotWidget) -> None:
    values = np.full(10_000, 50.0)
    values[4_000:6_000] = np.nan
    line = LodLineItem(values, "#00ff00", width=1.0)
    plot.addItem(line)
    image = show(plot, 0, 9_999, 40.0, 60.0)
    vb = plot.getViewBox()
    inside = plot.mapFromScene(vb.mapViewToScene(pg.Point(5_000, 50.0)))
    before = plot.mapFromScene(vb.mapViewToScene(pg.Point(3_000, 50.0)))
    assert line_rows(image, inside.x(), "#00ff00") == []
    assert line_rows(image, before.x(), "#00ff00") != []


def test_autoscale_follows_the_visible_data(plot: pg.PlotWidget, values: np.ndarray) -> None:
    line = LodLineItem(values, "#f0a020")
    plot.addItem(line)
    vb = plot.getViewBox()
    vb.setAutoVisible(y=True)
    vb.enableAutoRange(axis=vb.YAxis)
    plot.setXRange(N - 2_000, N - 1, padding=0)
    plot.viewport().repaint()
    vb.updateAutoRange()
    (y0, y1) = vb.viewRange()[1]
    lo, hi = np.nanmin(values[N - 2_000 :]), np.nanmax(values[N - 2_000 :])
    assert y0 <= lo and hi <= y1
    assert (y1 - y0) < 1.5 * (hi - lo)  # scaled to the view, not to the whole series


def test_band_fills_zoomed_in_and_is_two_lines_zoomed_out(plot: pg.PlotWidget) -> None:
    n = 200_000
    centre = 1000.0 + np.sin(np.arange(n) / 5000.0) * 20
    upper, lower = centre + 10, centre - 10
    upper[:19] = lower[:19] = np.nan
    band = LodBandItem(upper, lower, "#4090ff", width=1.0, fill_alpha=0.25)
    plot.addItem(band)
    vb = plot.getViewBox()

    def inside_and_outside(image: QImage, x: int) -> tuple[QColor, QColor]:
        y = float(centre[x])
        mid = plot.mapFromScene(vb.mapViewToScene(pg.Point(x, y)))
        out = plot.mapFromScene(vb.mapViewToScene(pg.Point(x, y + 15)))
        return QColor(image.pixel(mid.x(), mid.y())), QColor(image.pixel(out.x(), out.y()))

    image = show(plot, 100_000, 101_000, 960.0, 1040.0)  # zoomed in: filled
    fill, background = inside_and_outside(image, 100_500)
    assert fill.blue() > background.blue() + 20
    image = show(plot, 0, n - 1, 960.0, 1040.0)  # zoomed out: the lines only
    assert band.last_level > 0
    fill, background = inside_and_outside(image, 100_000)
    assert fill.rgb() == background.rgb()
    assert band.upper_at(100) == upper[100] and band.lower_at(100) == lower[100]
    assert band.upper_at(5) is None
    assert band.y_range(0, n - 1) == (float(np.nanmin(lower)), float(np.nanmax(upper)))
    with pytest.raises(ValueError, match="differ in length"):
        LodBandItem(upper, lower[:-1], "#4090ff")


def test_line_live_append_repaints_the_new_value(plot: pg.PlotWidget) -> None:
    line = LodLineItem(np.full(1_000, 10.0), "#ffffff")
    plot.addItem(line)
    show(plot, 0, 1_100, 0.0, 30.0)
    line.append(20.0)
    assert line.value_at(1_000) == 20.0
    assert line.y_range(0, 1_000) == (10.0, 20.0)
    line.update_last(5.0)
    assert line.y_range(0, 1_000) == (5.0, 10.0)
    assert line.boundingRect().top() == 5.0


def test_screenshots(plot: pg.PlotWidget, values: np.ndarray, tmp_path: Path) -> None:
    """Rendered views to look at (the paths are printed with -s)."""
    line = LodLineItem(values, "#f0a020", width=1.5)
    plot.addItem(line)
    for name, (x0, x1) in {"all": (0, N - 1), "500": (N - 500, N - 1)}.items():
        show(plot, x0, x1, *span(line, x0, x1))
        path = tmp_path / f"overlay_{name}.png"
        assert plot.grab().save(str(path))
        print(path)


def test_an_empty_line_paints_nothing_then_grows_live(plot: pg.PlotWidget) -> None:
    """A live session's line starts empty and gets a value a bar."""
    line = LodLineItem(np.empty(0), "#ffffff")
    plot.addItem(line)
    show(plot, 0, 10, 0.0, 10.0)
    assert line.y_range(0, 10) is None and line.value_at(0) is None
    assert line.dataBounds(0) == (None, None)
    for v in (np.nan, 3.0, 4.0, 2.0):
        line.append(v)
    assert line.y_range(0, 10) == (2.0, 4.0)
    assert line.dataBounds(0) == (0.0, 3.0)
    show(plot, 0, 10, 0.0, 10.0)
    assert line.last_points >= 4


def test_levels_are_built_on_first_need_with_the_same_values(values: np.ndarray) -> None:
    """Zoomed in (the first frame) a line builds no level; each coarser level is built once,
    when first drawn or asked, and equals an eagerly built one."""
    head = values[:300_000]
    lazy, eager = MinMaxPyramid(head), MinMaxPyramid(head)
    eager.columns(0, 10, eager.levels)  # builds every level
    assert eager.built_levels == eager.levels == lazy.levels
    assert lazy.full_range() == eager.full_range()
    assert lazy.y_range(299_000, 300_000) == eager.y_range(299_000, 300_000)
    np.testing.assert_array_equal(
        lazy.columns(299_500, 300_000, 0), eager.columns(299_500, 300_000, 0)
    )
    assert lazy.built_levels == 0
    for level in (3, 1, 9, lazy.levels):
        np.testing.assert_array_equal(
            lazy.columns(0, 300_000, level), eager.columns(0, 300_000, level)
        )
        assert lazy.built_levels == max(3, level)
    assert lazy.y_range(5, 299_000) == eager.y_range(5, 299_000)
    assert MinMaxPyramid(np.full(5, np.nan)).full_range() is None


def test_a_live_tick_on_an_unbuilt_line_equals_a_rebuild(values: np.ndarray) -> None:
    live = MinMaxPyramid(values[:50_000])
    live.update_last(-1.0)
    live.append(1e6)
    want = values[:50_001].copy()
    want[49_999], want[50_000] = -1.0, 1e6
    rebuilt = MinMaxPyramid(want)
    assert live.full_range() == rebuilt.full_range() == (-1.0, 1e6)
    for level in range(rebuilt.levels + 1):
        np.testing.assert_array_equal(
            live.columns(0, 50_001, level), rebuilt.columns(0, 50_001, level)
        )
