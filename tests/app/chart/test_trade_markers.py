"""Trades on the chart: 20,000 round trips on a million bars found by binary search (brute
force is the oracle), thinned to the screen when dense, drawn where they belong (pixels read
back from a real offscreen PlotWidget), and extended one live fill at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from app.gui.chart.trade_markers import THIN_PX, TradeColours, TradeMark, TradeMarkersItem

N = 1_000_000
TRADES = 20_000
WIDTH, HEIGHT = 1600, 900


class Run:
    """A seeded backtest-like run: 20,000 trades, long and short, 1..400 bars long, a few
    still open, one swing trade spanning a third of the series."""

    def __init__(self, seed: int = 11) -> None:
        rng = np.random.default_rng(seed)
        self.close = 1000.0 + np.cumsum(rng.normal(0.0, 0.5, N))
        self.entry = np.sort(rng.choice(N - 500, TRADES, replace=False)).astype(np.int64)
        self.exit = self.entry + rng.integers(1, 400, TRADES)
        self.exit[5] = self.entry[5] + N // 3  # the swing trade
        self.exit[-4:] = -1  # still open
        self.side = rng.choice(np.array([1, -1]), TRADES)
        self.entry_price = self.close[self.entry]
        self.exit_price = np.where(self.exit >= 0, self.close[np.clip(self.exit, 0, N - 1)], np.nan)

    def item(self, colours: TradeColours | None = None) -> TradeMarkersItem:
        item = TradeMarkersItem(colours)
        item.set_trades(self.entry, self.entry_price, self.exit, self.exit_price, self.side)
        return item

    def touching(self, x0: float, x1: float) -> set[int]:
        """Brute force: trades whose entry..end span meets [x0, x1] (by order given)."""
        end = np.maximum(self.exit, self.entry)
        return set(np.flatnonzero((self.entry <= x1) & (end >= x0)).tolist())


@pytest.fixture(scope="module")
def run() -> Run:
    return Run()


@pytest.fixture
def plot(qtbot: QtBot) -> pg.PlotWidget:
    widget = pg.PlotWidget()
    widget.resize(WIDTH, HEIGHT)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(plot: pg.PlotWidget, x0: float, x1: float, y0: float, y1: float) -> QImage:
    plot.setXRange(x0, x1, padding=0)
    plot.setYRange(y0, y1, padding=0)
    plot.viewport().repaint()
    image: QImage = plot.grab().toImage()
    return image


def test_visible_trades_equal_brute_force_including_spanning_ones(run: Run) -> None:
    item = run.item()
    rng = np.random.default_rng(4)
    windows: list[tuple[float, float]] = [(0, N - 1), (N - 500, N - 1), (-100, 10), (N + 5, N + 50)]
    windows += [
        (float(a), float(a) + w)
        for a, w in zip(rng.uniform(0, N, 60), rng.choice([1, 500, 50_000], 60), strict=True)
    ]
    # a view inside the swing trade, away from every other trade's span
    swing_mid = float(run.entry[5] + N // 6)
    windows.append((swing_mid, swing_mid + 0.5))
    assert len(item.trades_in_view(0, N)) == TRADES
    for x0, x1 in windows:
        assert set(item.trades_in_view(x0, x1).tolist()) == run.touching(x0, x1), (x0, x1)
    assert 5 in item.trades_in_view(swing_mid, swing_mid + 0.5)


def test_trade_at_lists_entries_and_exits_at_the_bar(run: Run) -> None:
    item = run.item()
    for k in (0, 5, 777, TRADES - 1):
        marks = item.trade_at(int(run.entry[k]))
        entry = [m for m in marks if m.at == "entry"]
        assert [m.number for m in entry] == [k]
        mark = entry[0]
        assert mark.side == run.side[k] and mark.entry_price == run.entry_price[k]
        if run.exit[k] >= 0:
            assert mark.exit_index == run.exit[k]
            assert mark.points == pytest.approx(
                run.side[k] * (run.exit_price[k] - run.entry_price[k])
            )
            exits = [m for m in item.trade_at(int(run.exit[k])) if m.at == "exit"]
            assert k in [m.number for m in exits]
        else:
            assert mark.exit_index is None and mark.points is None
    assert item.trade_at(-5) == []


def test_all_bars_view_is_thinned_to_the_screen(plot: pg.PlotWidget, run: Run) -> None:
    item = run.item()
    plot.addItem(item)
    before = item.paint_count
    show(plot, 0, N - 1, run.close.min(), run.close.max())
    assert item.paint_count > before
    plot_px = plot.getViewBox().width()
    per_kind = plot_px / THIN_PX + 2
    assert 0 < item.last_drawn["entries"] <= 2 * per_kind  # buys and sells
    assert 0 < item.last_drawn["exits"] <= 2 * per_kind  # winners and losers
    assert item.last_drawn["lines"] <= 2 * (plot_px + 1)  # at most one per column a colour
    assert item.last_drawn["lines"] >= 1  # the swing trade is wide enough to draw


def test_a_500_bar_view_draws_every_trade_in_it(plot: pg.PlotWidget) -> None:
    """Sparse trades (10 bars apart, under a 500-bar view) are all drawn, none thinned."""
    entry = np.arange(100, 1_000, 10)
    exit_ = entry + 7
    close = np.linspace(100.0, 120.0, 1_200)
    item = TradeMarkersItem()
    item.set_trades(entry, close[entry], exit_, close[exit_], np.where(entry % 20 == 0, 1, -1))
    plot.addItem(item)
    show(plot, 300, 799, 100.0, 120.0)
    in_view = (entry >= 299) & (entry <= 800)
    exits_in_view = (exit_ >= 299) & (exit_ <= 800)
    assert item.last_drawn["entries"] == in_view.sum()
    assert item.last_drawn["exits"] == exits_in_view.sum()
    assert item.last_drawn["lines"] == ((entry <= 799) & (exit_ >= 300)).sum()


def colour_pixels(
    image: QImage, colour: str, box: tuple[int, int, int, int], alpha: float = 1.0
) -> int:
    """How many pixels in box (x0, y0, x1, y1) are close to `colour` (antialiased edges),
    drawn with `alpha` over the black background."""
    solid = QColor(colour)
    target = QColor(
        round(solid.red() * alpha), round(solid.green() * alpha), round(solid.blue() * alpha)
    )
    count = 0
    for x in range(box[0], box[2]):
        for y in range(box[1], box[3]):
            c = QColor(image.pixel(x, y))
            if (
                abs(c.red() - target.red())
                + abs(c.green() - target.green())
                + abs(c.blue() - target.blue())
                < 40
            ):
                count += 1
    return count


def device_point(plot: pg.PlotWidget, x: float, y: float) -> tuple[int, int]:
    pos = plot.mapFromScene(plot.getViewBox().mapViewToScene(pg.Point(x, y)))
    return pos.x(), pos.y()


@pytest.mark.parametrize("colours", [TradeColours(), TradeColours.colour_blind()])
def test_markers_and_lines_are_where_the_trades_are(
    plot: pg.PlotWidget, colours: TradeColours
) -> None:
    item = TradeMarkersItem(colours)
    # a winning long 100->140 (100.0 -> 110.0) and a losing short 200->240 (105.0 -> 108.0)
    item.set_trades([100, 200], [100.0, 105.0], [140, 240], [110.0, 108.0], [1, -1])
    plot.addItem(item)
    image = show(plot, 50, 300, 90.0, 120.0)
    bx, by = device_point(plot, 100, 100.0)
    assert colour_pixels(image, colours.buy, (bx - 6, by + 1, bx + 7, by + 14)) > 15  # below
    assert colour_pixels(image, colours.buy, (bx - 6, by - 14, bx + 7, by - 1)) == 0  # not above
    sx, sy = device_point(plot, 200, 105.0)
    assert colour_pixels(image, colours.sell, (sx - 6, sy - 14, sx + 7, sy - 1)) > 15  # above
    wx, wy = device_point(plot, 140, 110.0)
    assert colour_pixels(image, colours.win, (wx - 5, wy - 5, wx + 6, wy + 6)) > 15
    lx, ly = device_point(plot, 240, 108.0)
    assert colour_pixels(image, colours.loss, (lx - 5, ly - 5, lx + 6, ly + 6)) > 15
    mx, my = device_point(plot, 120, 105.0)  # the winning line's midpoint
    assert colour_pixels(image, colours.win, (mx - 2, my - 2, mx + 3, my + 3), alpha=0.75) > 0
    assert item.last_drawn == {"entries": 2, "exits": 2, "lines": 2}


def strip(marks: list[TradeMark]) -> list[tuple[object, ...]]:
    """A trade's marks without their numbers (live numbering follows the fills)."""
    return sorted(
        (m.side, m.entry_index, m.entry_price, m.exit_index, m.exit_price, m.at) for m in marks
    )


def test_live_fills_equal_the_same_trades_set_at_once(run: Run) -> None:
    """The live window's path (add_fill per fill, in time order) ends where set_trades does."""
    k = 400
    # one position at a time, as a strategy trades: each exits before the next enters
    entry = run.entry[:k]
    exit_ = np.minimum(run.exit[:k], np.append(entry[1:], N) - 1)
    exit_[-1] = -1  # the last still open
    exit_price = np.where(exit_ >= 0, run.close[np.clip(exit_, 0, N - 1)], np.nan)
    fills = [(int(entry[i]), 0, i) for i in range(k)] + [
        (int(exit_[i]), 1, i) for i in range(k) if exit_[i] >= 0
    ]
    live = TradeMarkersItem()
    for bar, is_exit, i in sorted(fills):
        price = exit_price[i] if is_exit else run.entry_price[i]
        live.add_fill(bar, float(price), int(run.side[i]), is_entry=not is_exit)
    whole = TradeMarkersItem()
    whole.set_trades(entry, run.entry_price[:k], exit_, exit_price, run.side[:k])
    assert len(live) == len(whole) == k
    for bar in np.concatenate((entry, exit_[exit_ >= 0])):
        assert strip(live.trade_at(int(bar))) == strip(whole.trade_at(int(bar)))
    for x0 in range(0, int(entry[-1]), 5_000):
        np.testing.assert_array_equal(
            live.trades_in_view(x0, x0 + 500), whole.trades_in_view(x0, x0 + 500)
        )


def test_a_live_fill_paints_at_once(plot: pg.PlotWidget) -> None:
    item = TradeMarkersItem()
    plot.addItem(item)
    show(plot, 0, 100, 90.0, 110.0)
    item.add_fill(50, 100.0, 1, is_entry=True)
    show(plot, 0, 100, 90.0, 110.0)
    assert item.last_drawn == {"entries": 1, "exits": 0, "lines": 0}
    item.add_fill(80, 104.0, 1, is_entry=False)
    show(plot, 0, 100, 90.0, 110.0)
    assert item.last_drawn == {"entries": 1, "exits": 1, "lines": 1}
    [mark] = [m for m in item.trade_at(80) if m.at == "exit"]
    assert mark.points == 4.0


def test_bad_input_is_refused_with_a_reason() -> None:
    item = TradeMarkersItem()
    with pytest.raises(ValueError, match="no open short trade"):
        item.add_fill(10, 100.0, -1, is_entry=False)
    item.add_fill(10, 100.0, 1, is_entry=True)
    with pytest.raises(ValueError, match="before its entry"):
        item.add_fill(5, 100.0, 1, is_entry=False)
    with pytest.raises(ValueError, match="side must be"):
        item.add_fill(12, 100.0, 0, is_entry=True)
    with pytest.raises(ValueError, match="exit_price has shape"):
        item.set_trades([1, 2], [1.0, 2.0], [3, 4], [1.0], [1, 1])
    with pytest.raises(ValueError, match="exits before it enters"):
        item.set_trades([10], [1.0], [5], [1.0], [1])
    with pytest.raises(ValueError, match="side must be"):
        item.set_trades([10], [1.0], [15], [1.0], [2])
    # NaN exit index marks an open trade, like -1
    item.set_trades([10, 20], [1.0, 2.0], [np.nan, 30.0], [np.nan, 3.0], [1, -1])
    assert item.trade_at(10)[0].exit_index is None
    assert item.trade_at(30)[0].exit_index == 30


def test_screenshots(plot: pg.PlotWidget, run: Run, tmp_path: Path) -> None:
    """Rendered views to look at (the paths are printed with -s)."""
    plot.addItem(pg.PlotDataItem(np.arange(N)[-5_000:], run.close[-5_000:], pen="#888888"))
    item = run.item()
    plot.addItem(item)
    for name, (x0, x1) in {"all": (0, N - 1), "500": (N - 500, N - 1)}.items():
        lo, hi = run.close[x0 : x1 + 1].min(), run.close[x0 : x1 + 1].max()
        show(plot, x0, x1, lo, hi)
        path = tmp_path / f"trades_{name}.png"
        assert plot.grab().save(str(path))
        print(path)


def test_first_marker_per_column_equals_np_unique() -> None:
    """The per-column thinning picks what np.unique(return_index=True) would (without its
    numpy.ma import on the first frame), whatever the order of the columns."""
    from app.gui.chart.trade_markers import _first_per_column

    rng = np.random.default_rng(6)
    for size in (0, 1, 7, 500):
        columns = rng.integers(0, 40, size).astype(np.int64)
        want = np.unique(columns, return_index=True)[1] if size else np.empty(0, dtype=np.intp)
        np.testing.assert_array_equal(_first_per_column(columns), want)
        sorted_columns = np.sort(columns)
        want = np.unique(sorted_columns, return_index=True)[1] if size else want
        np.testing.assert_array_equal(_first_per_column(sorted_columns), want)
