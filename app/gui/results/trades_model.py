"""The trade list's model: columns held as arrays, so sorting and filtering 20,000 trades is
one numpy call each, and a cell's text is made only when the view paints it.

Sorting and filtering live in the model (a view order over the trades) rather than in a
QSortFilterProxyModel: a proxy sorts by calling `data()` once per comparison, which for
20,000 rows costs about a second of Python calls; an argsort costs a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from engine.ist import ns_of

if TYPE_CHECKING:  # the backtester (and pandas) load with the first run, not the panel;
    # numpy when trades are first set (a run shown, after the station's first paint)
    import numpy as np
    import numpy.typing as npt

    from engine.backtest import Trade

    IntArray = npt.NDArray[np.int64]

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def _paise(value: Decimal) -> int:
    return int(value * 100)


@dataclass(frozen=True)
class TradeColumn:
    header: str
    text: Callable[[Trade, int], str]  # (trade, its number from 1)
    numeric: bool = False


def _rupees(value: Decimal) -> str:
    return f"{value:,.2f}"


COLUMNS: tuple[TradeColumn, ...] = (
    TradeColumn("#", lambda t, n: f"{n:,}", True),
    TradeColumn("Symbol", lambda t, n: t.symbol),
    TradeColumn("Side", lambda t, n: t.side),
    TradeColumn("Qty", lambda t, n: f"{t.quantity:,}", True),
    TradeColumn("Entry (IST)", lambda t, n: f"{t.entry_time:%Y-%m-%d %H:%M}"),
    TradeColumn("Entry ₹", lambda t, n: _rupees(t.entry_price), True),
    TradeColumn("Exit (IST)", lambda t, n: f"{t.exit_time:%Y-%m-%d %H:%M}"),
    TradeColumn("Exit ₹", lambda t, n: _rupees(t.exit_price), True),
    TradeColumn("Gross ₹", lambda t, n: _rupees(t.gross_pnl), True),
    TradeColumn("Charges ₹", lambda t, n: _rupees(t.charges), True),
    TradeColumn("Net ₹", lambda t, n: _rupees(t.net_pnl), True),
)
NET_COLUMN = len(COLUMNS) - 1
# each column's sort key: exact integers (paise, UTC ns), text for symbol and side
_KEYS: tuple[Callable[[Trade], object], ...] = (
    lambda t: 0,
    lambda t: t.symbol,
    lambda t: t.side,
    lambda t: t.quantity,
    lambda t: ns_of(t.entry_time),
    lambda t: _paise(t.entry_price),
    lambda t: ns_of(t.exit_time),
    lambda t: _paise(t.exit_price),
    lambda t: _paise(t.gross_pnl),
    lambda t: _paise(t.charges),
    lambda t: _paise(t.net_pnl),
)
_TEXT_KEYS = (1, 2)


@dataclass(frozen=True)
class TradeFilter:
    side: str = ""  # "", "long" or "short"
    symbol: str = ""  # "" for all
    outcome: str = ""  # "", "winners" or "losers" (by net P&L)


class TradesModel(QAbstractTableModel):
    """Closed trades, sortable by any column and filterable by side, symbol and outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.trades: list[Trade] = []
        self._keys: dict[int, npt.NDArray[Any]] = {}
        # shown rows -> trade index; None until trades are set (no numpy before the station's
        # first paint: the panel and this model are built before it)
        self._order: IntArray | None = None
        self._sort: tuple[int, Qt.SortOrder] = (0, Qt.SortOrder.AscendingOrder)
        self._filter = TradeFilter()
        self.up = QColor("#26a69a")
        self.down = QColor("#ef5350")

    # --- data in ------------------------------------------------------------------------

    def set_trades(self, trades: Sequence[Trade]) -> None:
        self.beginResetModel()
        self.trades = list(trades)
        self._keys = {}  # built per column when a sort or filter first needs it
        self._order = self._rows()
        self.endResetModel()

    def _key(self, column: int) -> npt.NDArray[Any]:
        """Column `column`'s sort key for every trade: exact integers (paise, UTC ns)."""
        found = self._keys.get(column)
        if found is None:
            import numpy as np

            trades, n = self.trades, len(self.trades)
            make = _KEYS[column]
            if column in _TEXT_KEYS:
                found = np.array([make(t) for t in trades], dtype=object)
            else:
                found = np.fromiter((make(t) for t in trades), np.int64, n)
            self._keys[column] = found
        return found

    def set_colours(self, up: str, down: str) -> None:
        self.up, self.down = QColor(up), QColor(down)
        if self.rowCount():
            last = self.index(self.rowCount() - 1, NET_COLUMN)
            self.dataChanged.emit(self.index(0, NET_COLUMN), last, [Qt.ItemDataRole.ForegroundRole])

    def set_filter(self, wanted: TradeFilter) -> None:
        self.beginResetModel()
        self._filter = wanted
        self._order = self._rows()
        self.endResetModel()

    @property
    def filter(self) -> TradeFilter:
        return self._filter

    def symbols(self) -> list[str]:
        return sorted({t.symbol for t in self.trades})

    def trade_at(self, row: int) -> Trade:
        """The trade shown on `row` (after sorting and filtering)."""
        if self._order is None:
            raise IndexError(f"no trade on row {row}: no trades are set")
        return self.trades[int(self._order[row])]

    def entry_exit_ns(self, row: int) -> tuple[int, int]:
        """The shown trade's entry and exit times, UTC nanoseconds."""
        trade = self.trade_at(row)
        return ns_of(trade.entry_time), ns_of(trade.exit_time)

    def _rows(self) -> IntArray:
        """The trades that pass the filter, in the current sort order."""
        import numpy as np

        n = len(self.trades)
        column, order = self._sort
        if column == 0:  # the trades' own order: nothing to sort
            ranked = np.arange(n, dtype=np.int64)
        else:
            ranked = np.argsort(self._key(column), kind="stable").astype(np.int64)
        if order == Qt.SortOrder.DescendingOrder:
            ranked = ranked[::-1]
        f = self._filter
        if not n or not (f.side or f.symbol or f.outcome):
            return ranked
        keep = np.ones(n, dtype=bool)
        if f.side:
            keep &= self._key(2) == f.side
        if f.symbol:
            keep &= self._key(1) == f.symbol
        if f.outcome == "winners":
            keep &= self._key(NET_COLUMN) > 0
        elif f.outcome == "losers":
            keep &= self._key(NET_COLUMN) < 0
        return ranked[keep[ranked]]

    # --- Qt's side ----------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        if self._order is None:  # no trades yet: they come in this order
            self._sort = (column, order)
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._order = self._rows()
        self.layoutChanged.emit()

    def rowCount(self, parent: Index = _ROOT) -> int:
        if parent.isValid() or self._order is None:
            return 0
        return int(self._order.size)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or self._order is None:
            return None
        column = COLUMNS[index.column()]
        k = int(self._order[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(self.trades[k], k + 1)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (
                Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            )
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == NET_COLUMN:
            net = self.trades[k].net_pnl
            return self.up if net > 0 else (self.down if net < 0 else None)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section].header
        if role == Qt.ItemDataRole.TextAlignmentRole and orientation == Qt.Orientation.Horizontal:
            numeric = COLUMNS[section].numeric
            return int(Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft)
        return None
