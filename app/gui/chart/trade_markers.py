"""A backtest's (or the live session's) trades drawn on the price pane: entry and exit markers
and a thin line from entry to exit coloured by the trade's result.

Tens of thousands of trades on a million bars must cost a frame what the screen holds, not
what the run traded. Trades are kept sorted by entry bar with a running maximum of where each
ends, so the trades touching the view (those spanning it included) are found by two binary
searches; when more markers than pixel columns are visible, one marker per column per kind is
drawn, and lines shorter than a pixel are skipped (they would be hidden under their markers).
Markers are a fixed size in pixels, built in device coordinates and filled in one batch per
kind.

x is the bar index, y the price in rupees, as for the candles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6 import QtCore, QtGui, QtWidgets

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MARKER_PX = 9.0  # a marker's width in device pixels (for a legend or hit-testing)
_GAP_PX = 2.0  # an entry triangle's tip sits this far below (buy) / above (sell) its price
THIN_PX = 4.0  # when dense, markers of one kind are kept at least this many pixels apart


@dataclass(frozen=True)
class TradeColours:
    """Marker and line colours; `colour_blind()` swaps red/green for blue/orange."""

    buy: str = "#26a69a"
    sell: str = "#ef5350"
    win: str = "#26a69a"
    loss: str = "#ef5350"

    @classmethod
    def colour_blind(cls) -> TradeColours:
        return cls(buy="#2f7fd8", sell="#f08c1a", win="#2f7fd8", loss="#f08c1a")


@dataclass(frozen=True)
class TradeMark:
    """One trade as the read-out shows it; `at` says whether the bar asked for holds its
    entry or its exit. Prices in rupees; `points` is the move in the trade's favour per unit
    (None while open)."""

    number: int
    side: int
    entry_index: int
    entry_price: float
    exit_index: int | None
    exit_price: float | None
    at: Literal["entry", "exit"]

    @property
    def points(self) -> float | None:
        if self.exit_price is None:
            return None
        return self.side * (self.exit_price - self.entry_price)


def _first_per_column(columns: IntArray) -> npt.NDArray[np.intp]:
    """Indices of the first marker in each pixel column (columns in any order), ordered by
    column: what `np.unique(columns, return_index=True)` gives, without its first call's
    import of numpy.ma (~20-40 ms, which fell inside the chart's first frame)."""
    if columns.shape[0] == 0:
        return np.empty(0, dtype=np.intp)
    order = np.argsort(columns, kind="stable")
    ordered = columns[order]
    first = np.empty(ordered.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return np.asarray(order[first], dtype=np.intp)


_SPRITES = ("buy", "sell", "win", "loss")  # atlas cells, left to right
_CELL = int(MARKER_PX) + 3  # a sprite's cell in the atlas, pixels


def _sprite_atlas(colours: TradeColours, dpr: float) -> QtGui.QPixmap:
    """The four markers drawn once, antialiased, side by side: an up triangle (buy entry),
    a down triangle (sell entry) and diamonds (winning and losing exits). Each paint then
    blits them with one drawPixmapFragments call, ~20x cheaper than filling paths."""
    pixmap = QtGui.QPixmap(round(_CELL * len(_SPRITES) * dpr), round(_CELL * dpr))
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    half, mid = MARKER_PX / 2.0, _CELL / 2.0
    for cell, name in enumerate(_SPRITES):
        colour = QtGui.QColor(getattr(colours, name))
        painter.setBrush(colour)
        painter.setPen(QtGui.QPen(colour.darker(140), 0.8))
        left = cell * _CELL
        if name == "buy":
            points = [(mid, mid - half), (mid + half, mid + half), (mid - half, mid + half)]
        elif name == "sell":
            points = [(mid, mid + half), (mid + half, mid - half), (mid - half, mid - half)]
        else:
            h = half - 0.5
            points = [(mid, mid - h), (mid + h, mid), (mid, mid + h), (mid - h, mid)]
        painter.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(left + x, y) for x, y in points]))
    painter.end()
    return pixmap


class TradeMarkersItem(pg.GraphicsObject):  # type: ignore[misc]  # pyqtgraph is untyped
    """Trades on the price pane. `set_trades` takes a whole run; `add_fill` one live fill."""

    def __init__(self, colours: TradeColours | None = None) -> None:
        super().__init__()
        self.paint_count = 0
        self.last_drawn = {"entries": 0, "exits": 0, "lines": 0}
        self._colours = colours or TradeColours()
        self._n = 0
        self._entry_i: IntArray = np.empty(0, dtype=np.int64)
        self._entry_p: FloatArray = np.empty(0)
        self._exit_i: IntArray = np.empty(0, dtype=np.int64)
        self._exit_p: FloatArray = np.empty(0)
        self._side: npt.NDArray[np.int8] = np.empty(0, dtype=np.int8)
        self._number: IntArray = np.empty(0, dtype=np.int64)  # order given: the trade's number
        self._reach: IntArray = np.empty(0, dtype=np.int64)  # running max of each trade's end
        self._bounds = QtCore.QRectF()
        self._longest = 0  # the longest closed trade, in bars (no line is wider)
        self._marker_cache: dict[tuple[str, int], tuple[FloatArray, FloatArray]] = {}
        self._atlas: QtGui.QPixmap | None = None
        self._fragments = PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        self.set_colours(self._colours)

    # -- data ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def set_colours(self, colours: TradeColours) -> None:
        self._colours = colours
        self._atlas = None  # redrawn in the new colours at the next paint
        self._pens: dict[str, QtGui.QPen] = {}
        for name in ("win", "loss"):
            colour = QtGui.QColor(getattr(colours, name))
            colour.setAlphaF(0.75)
            pen = QtGui.QPen(colour)
            pen.setWidthF(1.0)
            pen.setCosmetic(True)
            self._pens[name] = pen
        self.update()

    def set_trades(
        self,
        entry_index: npt.ArrayLike,
        entry_price: npt.ArrayLike,
        exit_index: npt.ArrayLike,
        exit_price: npt.ArrayLike,
        side: npt.ArrayLike,
    ) -> None:
        """Replace the trades. An open trade has exit index -1 (or NaN) and exit price NaN;
        side is +1 long, -1 short. Trade numbers in `trade_at` follow the order given."""
        entry_i = np.asarray(entry_index)
        n = entry_i.shape[0]
        arrays = {
            "entry_price": np.asarray(entry_price, dtype=np.float64),
            "exit_index": np.asarray(exit_index),
            "exit_price": np.asarray(exit_price, dtype=np.float64),
            "side": np.asarray(side),
        }
        for name, array in arrays.items():
            if array.shape != (n,):
                raise ValueError(f"set_trades: {name} has shape {array.shape}, entry_index ({n},)")
        exit_raw = arrays["exit_index"]
        if exit_raw.dtype.kind == "f":
            exit_raw = np.where(np.isfinite(exit_raw), exit_raw, -1)
        exit_i = exit_raw.astype(np.int64)
        exit_i[exit_i < 0] = -1
        exit_p = arrays["exit_price"].copy()
        exit_p[exit_i < 0] = np.nan
        sides = arrays["side"]
        if not np.isin(sides, (1, -1)).all():
            raise ValueError("set_trades: side must be +1 (long) or -1 (short)")
        if (exit_i >= 0).any() and (exit_i[exit_i >= 0] < entry_i[exit_i >= 0]).any():
            raise ValueError("set_trades: a trade exits before it enters")
        order = np.argsort(entry_i, kind="stable")
        self._entry_i = entry_i.astype(np.int64)[order]
        self._entry_p = arrays["entry_price"][order]
        self._exit_i = exit_i[order]
        self._exit_p = exit_p[order]
        self._side = sides.astype(np.int8)[order]
        self._number = order.astype(np.int64)
        self._reach = np.empty(n, dtype=np.int64)
        self._n = n
        self._reindex(0)

    def add_fill(self, index: int, price: float, side: int, is_entry: bool) -> None:
        """One live fill: an entry opens a trade of `side` (+1 long, -1 short); an exit closes
        the oldest open trade of that side. A few array copies: tens of microseconds with
        20,000 trades; the thinned markers are rebuilt at the next paint (~1 ms)."""
        if side not in (1, -1):
            raise ValueError(f"add_fill: side must be +1 (long) or -1 (short), got {side}")
        if is_entry:
            at = int(np.searchsorted(self._entry_i[: self._n], index, side="right"))
            self._insert(at, (index, price, -1, np.nan, side, self._n, index))
            self._reindex(at, (index, price))
            return
        open_ = np.flatnonzero((self._exit_i[: self._n] < 0) & (self._side[: self._n] == side))
        if open_.shape[0] == 0:
            kind = "long" if side > 0 else "short"
            raise ValueError(f"add_fill: an exit at bar {index} but no open {kind} trade")
        at = int(open_[0])
        if index < self._entry_i[at]:
            raise ValueError(
                f"add_fill: exit at bar {index} before its entry at {self._entry_i[at]}"
            )
        self._exit_i[at] = index
        self._exit_p[at] = price
        self._reindex(at, (index, price))

    def _columns(self) -> list[npt.NDArray[Any]]:
        return [
            self._entry_i,
            self._entry_p,
            self._exit_i,
            self._exit_p,
            self._side,
            self._number,
            self._reach,
        ]

    def _insert(self, at: int, row: tuple[float, ...]) -> None:
        """Insert one trade at position `at` (usually the end: a live entry is the newest),
        into arrays with spare capacity, so a live fill copies nothing but the rows after."""
        n = self._n
        columns = self._columns()
        if n == columns[0].shape[0]:
            capacity = max(64, 2 * n)
            grown = []
            for column in columns:
                bigger = np.empty(capacity, dtype=column.dtype)
                bigger[:n] = column[:n]
                grown.append(bigger)
            (
                self._entry_i,
                self._entry_p,
                self._exit_i,
                self._exit_p,
                self._side,
                self._number,
                self._reach,
            ) = grown
            columns = grown
        for column, value in zip(columns, row, strict=True):
            column[at + 1 : n + 1] = column[at:n]  # numpy copies overlapping slices safely
            column[at] = value
        self._n = n + 1

    def _reindex(self, start: int, fill: tuple[int, float] | None = None) -> None:
        """After trades from position `start` on changed: their running reach and longest
        span, then the bounds (grown by the `fill` (bar, price) a live fill added, else
        recomputed); the thinned markers are dropped, to be rebuilt at the next paint."""
        n = self._n
        self._marker_cache.clear()
        if n:
            entries = self._entry_i[start:n]
            ends = np.maximum(self._exit_i[start:n], entries)
            before = int(self._reach[start - 1]) if start > 0 else int(ends[0])
            reach = ends.copy()
            reach[0] = max(int(reach[0]), before)
            self._reach[start:n] = np.maximum.accumulate(reach)
            longest = int((ends - entries).max())
            self._longest = longest if start == 0 else max(self._longest, longest)
        else:
            self._longest = 0
        if fill is None or self._bounds.isNull():
            self._update_bounds()
        else:
            bar, price = fill
            grown = self._bounds.united(QtCore.QRectF(bar - 0.5, price, 1.0, 0.0))
            grown.setRight(max(grown.right(), float(self._reach[n - 1]) + 0.5))
            if grown != self._bounds:
                self.prepareGeometryChange()
                self._bounds = grown
        self.update()

    def _update_bounds(self) -> None:
        n = self._n
        if n == 0:
            rect = QtCore.QRectF()
        else:
            prices = np.concatenate((self._entry_p[:n], self._exit_p[:n]))
            lo, hi = float(np.nanmin(prices)), float(np.nanmax(prices))
            x0, x1 = float(self._entry_i[0]), float(self._reach[n - 1])
            rect = QtCore.QRectF(x0 - 0.5, lo, x1 - x0 + 1.0, hi - lo)
        if rect != self._bounds:
            self.prepareGeometryChange()
            self._bounds = rect

    def boundingRect(self) -> QtCore.QRectF:
        """The trades' extent plus a marker's size in pixels, so markers at the edge repaint."""
        rect = QtCore.QRectF(self._bounds)
        if rect.isNull():
            return rect
        px, py = self.pixelWidth(), self.pixelHeight()
        pad_x = (px or 0.0) * MARKER_PX
        pad_y = (py or 0.0) * (MARKER_PX + _GAP_PX + 1.0)
        return rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def dataBounds(
        self, ax: int, frac: float = 1.0, orthoRange: tuple[float, float] | None = None
    ) -> tuple[float | None, float | None]:
        """The trades' extent without the pixel padding, for the view's autoscale."""
        if self._bounds.isNull():
            return None, None
        if ax == 0:
            return self._bounds.left(), self._bounds.right()
        return self._bounds.top(), self._bounds.bottom()

    # -- queries ---------------------------------------------------------------------------

    def _mark(self, k: int, at: Literal["entry", "exit"]) -> TradeMark:
        closed = bool(self._exit_i[k] >= 0)
        return TradeMark(
            number=int(self._number[k]),
            side=int(self._side[k]),
            entry_index=int(self._entry_i[k]),
            entry_price=float(self._entry_p[k]),
            exit_index=int(self._exit_i[k]) if closed else None,
            exit_price=float(self._exit_p[k]) if closed else None,
            at=at,
        )

    def trade_at(self, index: int) -> list[TradeMark]:
        """The trades entering or exiting at bar `index` (for the read-out and tooltips),
        entries first, each in the order given to set_trades / add_fill."""
        n = self._n
        a = int(np.searchsorted(self._entry_i[:n], index, side="left"))
        b = int(np.searchsorted(self._entry_i[:n], index, side="right"))
        marks = [self._mark(k, "entry") for k in range(a, b)]
        exits = np.flatnonzero(self._exit_i[:n] == index)
        marks += [self._mark(int(k), "exit") for k in exits]
        return sorted(marks, key=lambda m: (m.at != "entry", m.number))

    def trades_in_view(self, x0: float, x1: float) -> npt.NDArray[np.int64]:
        """Numbers (order given) of the trades with an entry, exit or line in [x0, x1]."""
        return np.sort(self._number[self._positions(x0, x1)])

    def _positions(self, x0: float, x1: float) -> npt.NDArray[np.intp]:
        """Positions (in entry order) of the trades touching [x0, x1]: entries up to x1 by
        one binary search, and, of those, the first whose running reach gets to x0 by
        another; trades spanning the whole view are included."""
        n = self._n
        stop = int(np.searchsorted(self._entry_i[:n], x1, side="right"))
        first = int(np.searchsorted(self._reach[:n], x0, side="left"))
        if stop <= first:
            return np.empty(0, dtype=np.intp)
        span = np.arange(first, stop)
        ends = np.maximum(self._exit_i[first:stop], self._entry_i[first:stop])
        return span[ends >= x0]

    # -- painting --------------------------------------------------------------------------

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        self.paint_count += 1
        self.last_drawn = {"entries": 0, "exits": 0, "lines": 0}
        view = self.viewRect()
        if self._n == 0 or view is None:
            return
        x0, x1 = view.left(), view.right()
        t = painter.deviceTransform()
        sx, sy, dx, dy = t.m11(), t.m22(), t.m31(), t.m32()
        if self._longest * abs(sx) >= 1.0:  # else every line is under a pixel wide
            self._paint_lines(painter, self._positions(x0, x1), abs(sx))
        level = self._marker_level(abs(sx))
        # a buy's tip sits just below its price (on screen), a sell's just above
        offset = _GAP_PX + MARKER_PX / 2.0
        centres: list[tuple[int, FloatArray, FloatArray]] = []
        for cell, (name, shift) in enumerate(
            (("buy", offset), ("sell", -offset), ("win", 0.0), ("loss", 0.0))
        ):
            x, y = self._markers(name, level)
            a = int(np.searchsorted(x, x0 - 1.0, side="left"))
            b = int(np.searchsorted(x, x1 + 1.0, side="right"))
            centres.append((cell, x[a:b] * sx + dx, y[a:b] * sy + dy + shift))
        self.last_drawn["entries"] = centres[0][1].shape[0] + centres[1][1].shape[0]
        self.last_drawn["exits"] = centres[2][1].shape[0] + centres[3][1].shape[0]
        self._blit(painter, widget, centres)

    @staticmethod
    def _marker_level(pixels_per_bar: float) -> int:
        """The thinning level: 0 (every marker) until markers of a kind could come closer
        than THIN_PX pixels, then buckets of 2^level bars at least THIN_PX wide."""
        if pixels_per_bar <= 0:
            return 0
        bars = THIN_PX / pixels_per_bar
        return max(0, math.ceil(math.log2(bars))) if bars > 1.0 else 0

    def _markers(self, name: str, level: int) -> tuple[FloatArray, FloatArray]:
        """One kind's markers (bar index, price) sorted by bar, keeping the first in each
        bucket of 2^level bars; computed once per level and kept until the trades change."""
        key = (name, level)
        found = self._marker_cache.get(key)
        if found is not None:
            return found
        if level == 0:
            n = self._n
            if name in ("buy", "sell"):
                pick = np.flatnonzero(self._side[:n] == (1 if name == "buy" else -1))
                x, y = self._entry_i[:n][pick], self._entry_p[:n][pick]
            else:
                closed = self._exit_i[:n] >= 0
                gain = self._side[:n] * (self._exit_p[:n] - self._entry_p[:n])
                pick = np.flatnonzero(closed & ((gain > 0) == (name == "win")))
                order = np.argsort(self._exit_i[:n][pick], kind="stable")
                x, y = self._exit_i[:n][pick][order], self._exit_p[:n][pick][order]
            made = (x.astype(np.float64), y.astype(np.float64))
        else:
            every_x, every_y = self._markers(name, 0)
            bucket = every_x.astype(np.int64) >> level
            keep = np.ones(every_x.shape[0], dtype=bool)
            keep[1:] = bucket[1:] != bucket[:-1]
            made = (every_x[keep], every_y[keep])
        self._marker_cache[key] = made
        return made

    def _blit(
        self,
        painter: QtGui.QPainter,
        widget: QtWidgets.QWidget | None,
        centres: list[tuple[int, FloatArray, FloatArray]],
    ) -> None:
        """All markers in one drawPixmapFragments call, in device pixels (a fixed size)."""
        total = sum(c[1].shape[0] for c in centres)
        if total == 0:
            return
        dpr = widget.devicePixelRatioF() if widget is not None else 1.0
        if self._atlas is None or self._atlas.devicePixelRatio() != dpr:
            self._atlas = _sprite_atlas(self._colours, dpr)
        self._fragments.resize(total)
        frags = self._fragments.ndarray()
        row = 0
        for cell, px, py in centres:
            m = px.shape[0]
            frags[row : row + m, 0] = px
            frags[row : row + m, 1] = py
            frags[row : row + m, 2] = cell * _CELL * dpr
            row += m
        frags[:, 3] = 0.0
        frags[:, 4:6] = _CELL * dpr  # source width, height (atlas pixels)
        frags[:, 6:10] = (1.0 / dpr, 1.0 / dpr, 0.0, 1.0)  # scale x, y, rotation, opacity
        painter.save()
        painter.resetTransform()
        # PySide's (first fragment, count, pixmap) overload, missing from its type stubs
        painter.drawPixmapFragments(*self._fragments.drawargs(), self._atlas)  # type: ignore[call-arg]
        painter.restore()

    def _paint_lines(
        self, painter: QtGui.QPainter, k: npt.NDArray[np.intp], pixels_per_bar: float
    ) -> None:
        """Entry-to-exit lines of trades `k` in item coordinates (one 'pairs' path per
        colour). A line under a pixel wide is skipped (it would be a tick inside its markers'
        column), and at most one line per colour starts in each pixel column."""
        ei, ep = self._entry_i[k].astype(np.float64), self._entry_p[k]
        xi, xp = self._exit_i[k].astype(np.float64), self._exit_p[k]
        closed = xi >= 0
        win = closed & (self._side[k] * (xp - ep) > 0)
        wide = closed & ((xi - ei) * pixels_per_bar >= 1.0)
        drawn = 0
        for mask, pen in ((wide & win, "win"), (wide & ~win, "loss")):
            pick = np.flatnonzero(mask)
            pick = pick[_first_per_column(np.floor(ei[pick] * pixels_per_bar).astype(np.int64))]
            if pick.shape[0] == 0:
                continue
            xs = np.empty(2 * pick.shape[0])
            ys = np.empty(2 * pick.shape[0])
            xs[0::2], xs[1::2] = ei[pick], xi[pick]
            ys[0::2], ys[1::2] = ep[pick], xp[pick]
            painter.setPen(self._pens[pen])
            painter.drawPath(pg.arrayToQPath(xs, ys, connect="pairs", finiteCheck=False))
            drawn += pick.shape[0]
        self.last_drawn["lines"] = drawn
