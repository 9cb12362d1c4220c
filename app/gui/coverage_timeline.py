"""Each stored series' coverage as a small timeline in a table cell (the Data panel's list).

The axis is the store's whole span counted in sessions (engine.data.coverage.StoreCoverage
.axis), so every row shares it and a complete series is one unbroken bar: weekends and
holidays are no holes, a missing session is a red tick, the time before a series' first bar
is empty track. Colours come from the cell's palette (the theme's highlight for what is
stored, its text colour faintly for the track), so both themes and a selected row keep them
readable; the one fixed colour is the red of a missing session, readable on both themes.
The tooltip says first and last day, sessions with bars, and which are missing.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.gui.table_model import Column, Index, RowsModel
from engine.data.coverage import SeriesCoverage, StoreCoverage

if TYPE_CHECKING:  # numpy: with the first coverage read, after the station's first paint
    import numpy as np
    import numpy.typing as npt

COVERAGE_ROLE: Final = int(Qt.ItemDataRole.UserRole) + 1  # a row's TimelineMarks (or None)
MISSING_COLOUR: Final = "#e5534b"  # the red of errors elsewhere: readable on both themes
LISTED_DATES: Final = 8  # dates named in a tooltip before "and N more"
TIMELINE_WIDTH: Final = 220  # pixels the column asks for
_MARGIN_X: Final = 6


@dataclass(frozen=True)
class TimelineMarks:
    """One series on the shared axis: positions (session indices) with bars and missing."""

    length: int  # sessions on the axis
    present: npt.NDArray[np.int64]
    missing: npt.NDArray[np.int64]

    def runs(self) -> list[tuple[int, int]]:
        """(first, last) index of each unbroken run of sessions with bars."""
        if not len(self.present):
            return []
        import numpy as np

        breaks = np.flatnonzero(np.diff(self.present) != 1)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [len(self.present) - 1]))
        return [
            (int(self.present[a]), int(self.present[b])) for a, b in zip(starts, ends, strict=True)
        ]


def marks_of(coverage: SeriesCoverage, axis: Sequence[date]) -> TimelineMarks:
    """Where `coverage`'s days and missing sessions sit on `axis` (a day not on it is
    placed at the axis day before it)."""
    import numpy as np

    def where(days: Sequence[date]) -> npt.NDArray[np.int64]:
        spots = [max(0, bisect.bisect_right(axis, d) - 1) for d in days]
        return np.unique(np.array(spots, dtype=np.int64))

    return TimelineMarks(len(axis), where(coverage.days), where(coverage.missing))


def _dates(days: Sequence[date]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:LISTED_DATES])
    more = len(days) - LISTED_DATES
    return shown + (f" and {more} more" if more > 0 else "")


def describe(coverage: SeriesCoverage) -> str:
    """The tooltip: span, sessions with bars, the missing ones (and days off the calendar)."""
    n = coverage.sessions
    lines = [
        f"{coverage.exchange}:{coverage.symbol} {coverage.timeframe}",
        f"{coverage.first.isoformat()} to {coverage.last.isoformat()}: "
        f"bars on {n:,} session{'s' * (n != 1)}",
    ]
    if coverage.missing:
        k = len(coverage.missing)
        lines.append(
            f"{k:,} of {coverage.expected:,} session{'s' * (coverage.expected != 1)} in that "
            f"span missing (red): {_dates(coverage.missing)}"
        )
    else:
        lines.append("No session missing between the first and the last day")
    if coverage.off_calendar:
        k = len(coverage.off_calendar)
        lines.append(
            f"Bars on {k} day{'s' * (k != 1)} the exchange was closed: "
            f"{_dates(coverage.off_calendar)}"
        )
    return "\n".join(lines)


def summary(coverage: object) -> str:
    """The cell's text (what a screen reader or a copy gets; the delegate paints instead)."""
    if not isinstance(coverage, SeriesCoverage):
        return ""
    missing = f", {len(coverage.missing):,} missing" if coverage.missing else ""
    return f"{coverage.sessions:,} sessions{missing}"


class CoverageRowsModel(RowsModel):
    """RowsModel of series (rows with exchange, symbol and timeframe) with a column for their
    coverage, inserted at `at` (the end by default); `set_coverage` fills it when the
    coverage job ends."""

    def __init__(self, columns: Sequence[Column], at: int | None = None) -> None:
        at = len(columns) if at is None else at
        coverage = Column("Coverage", self.coverage_of, summary)
        super().__init__([*columns[:at], coverage, *columns[at:]])
        self.coverage_column = at
        self.coverage: StoreCoverage | None = None
        self._marks: dict[tuple[str, str, str], TimelineMarks] = {}

    def coverage_of(self, row: Any) -> SeriesCoverage | None:
        if self.coverage is None:
            return None
        return self.coverage.of(row.exchange, row.symbol, row.timeframe)

    def set_coverage(self, coverage: StoreCoverage | None) -> None:
        """New coverage for the rows (None: not known); only the coverage column changes."""
        self.coverage = coverage
        self._marks.clear()
        column = self.coverage_column
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, column, column)
        if self.rows:
            self.dataChanged.emit(
                self.index(0, column),
                self.index(len(self.rows) - 1, column),
                [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, COVERAGE_ROLE],
            )

    def marks(self, row: int) -> TimelineMarks | None:
        coverage = self.coverage_of(self.rows[row]) if 0 <= row < len(self.rows) else None
        if coverage is None or self.coverage is None:
            return None
        found = self._marks.get(coverage.key)
        if found is None:
            found = self._marks[coverage.key] = marks_of(coverage, self.coverage.axis)
        return found

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if index.isValid() and index.column() == self.coverage_column:
            if role == COVERAGE_ROLE:
                return self.marks(index.row())
            if role == Qt.ItemDataRole.ToolTipRole:
                coverage = self.coverage_of(self.rows[index.row()])
                return None if coverage is None else describe(coverage)
        return super().data(index, role)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            section == self.coverage_column
            and orientation == Qt.Orientation.Horizontal
            and self.coverage is not None
            and self.coverage.first is not None
            and self.coverage.last is not None
        ):
            first, last = self.coverage.first.isoformat(), self.coverage.last.isoformat()
            if role == Qt.ItemDataRole.DisplayRole:
                return f"Coverage {first} → {last}"
            if role == Qt.ItemDataRole.ToolTipRole:
                n = len(self.coverage.axis)
                return (
                    f"Every series against the store's whole span, {n:,} sessions from {first} "
                    "to last; filled: sessions with bars, red: sessions missing between a "
                    "series' first and last bar. Hover a row for its dates."
                )
        return super().headerData(section, orientation, role)


class CoverageDelegate(QStyledItemDelegate):
    """Paints a cell's TimelineMarks (COVERAGE_ROLE) as a bar on the shared axis."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(TIMELINE_WIDTH, super().sizeHint(option, index).height())

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        marks = index.data(COVERAGE_ROLE)
        if not isinstance(marks, TimelineMarks) or marks.length == 0:
            super().paint(painter, option, index)  # not known yet: the plain text (none)
            return
        self.initStyleOption(option, index)
        option.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:  # the row's background and selection, as every other cell
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = option.palette
        rect: QRectF = QRectF(option.rect)
        paint_timeline(painter, rect, marks, palette, selected)


def paint_timeline(
    painter: QPainter,
    cell: QRectF,
    marks: TimelineMarks,
    palette: QPalette,
    selected: bool = False,
) -> None:
    """The track, a filled run per stretch of sessions with bars, a red tick per missing
    session (at least 2 px wide, so one missing day among years still shows)."""
    text = palette.color(
        QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
    )
    filled = text if selected else palette.color(QPalette.ColorRole.Highlight)
    track = QColor(text)
    track.setAlphaF(0.14)
    h = cell.height()
    bar_h = max(4.0, round(h * 0.36))
    left, width = cell.left() + _MARGIN_X, max(1.0, cell.width() - 2 * _MARGIN_X)
    top = cell.top() + (h - bar_h) / 2
    step = width / marks.length
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setBrush(track)
    painter.drawRect(QRectF(left, top, width, bar_h))
    painter.setBrush(filled)
    for first, last in marks.runs():
        x = left + first * step
        painter.drawRect(QRectF(x, top, max(2.0, (last + 1 - first) * step), bar_h))
    if len(marks.missing):
        painter.setBrush(QColor(MISSING_COLOUR))
        tick_top, tick_h = cell.top() + h * 0.18, h * 0.64
        for position in marks.missing.tolist():
            x = left + position * step
            painter.drawRect(QRectF(x, tick_top, max(2.0, step), tick_h))
    painter.restore()
