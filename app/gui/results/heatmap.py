"""Monthly returns as a years x months grid, each cell coloured by its return in the theme's
up/down colours, blended over the theme's background so it reads in dark and light."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

if TYPE_CHECKING:  # app.reports loads the backtester and pandas: with the first run shown
    from app.reports.analysis import MonthlyReturns

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


# the reports' month names (app.reports.analysis.MONTHS), here too: the empty table's header
# is laid out when the panel is built, and app.reports would load the backtester with it
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def blend(colour: str, background: str, strength: float) -> QColor:
    """`colour` over `background` at `strength` (0..1), opaque."""
    a, b = QColor(colour), QColor(background)
    pairs = ((a.red(), b.red()), (a.green(), b.green()), (a.blue(), b.blue()))
    mix = [round(bg + (fg - bg) * strength) for fg, bg in pairs]
    return QColor(*mix)


def readable_on(fill: QColor) -> QColor:
    luma = 0.299 * fill.red() + 0.587 * fill.green() + 0.114 * fill.blue()
    return QColor("#ffffff") if luma < 140 else QColor("#131722")


class MonthlyModel(QAbstractTableModel):
    """Rows are years, columns Jan..Dec and the year's compounded return."""

    def __init__(self) -> None:
        super().__init__()
        self.table: MonthlyReturns | None = None  # no run shown yet: no rows
        self.up, self.down, self.background = "#26a69a", "#ef5350", "#131722"
        self.bold = QFont()
        self.bold.setBold(True)

    def set_table(self, table: MonthlyReturns) -> None:
        self.beginResetModel()
        self.table = table
        self.endResetModel()

    def set_colours(self, up: str, down: str, background: str) -> None:
        self.beginResetModel()
        self.up, self.down, self.background = up, down, background
        self.endResetModel()

    def value(self, row: int, column: int) -> float | None:
        assert self.table is not None  # rows exist only with a table
        year = self.table.years[row]
        return self.table.year_total[year] if column == 12 else self.table.cells[year][column]

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() or self.table is None else len(self.table.years)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else 13

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        value = self.value(index.row(), index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if value is None else f"{value * 100:+.1f}%"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if value is None:
            return None
        fill = self._fill(value)
        if role == Qt.ItemDataRole.BackgroundRole:
            return fill
        if role == Qt.ItemDataRole.ForegroundRole:
            return readable_on(fill)
        if role == Qt.ItemDataRole.FontRole and index.column() == 12:
            return self.bold
        if role == Qt.ItemDataRole.ToolTipRole and self.table is not None:
            year = self.table.years[index.row()]
            month = "the year" if index.column() == 12 else f"{MONTHS[index.column()]} {year}"
            return f"Net return over {month}: {value * 100:+.2f}%"
        return None

    def _fill(self, value: float) -> QColor:
        largest = self.table.largest() if self.table is not None else 1.0
        strength = min(abs(value) / largest, 1.0) * 0.8 + 0.15
        return blend(self.up if value >= 0 else self.down, self.background, strength)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return "Year" if section == 12 else MONTHS[section]
        return "" if self.table is None else str(self.table.years[section])
