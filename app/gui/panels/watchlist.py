"""Watchlist: the trader's named lists of instruments with last price, change, volume and a
30-session sparkline; double-click or Enter asks for the instrument's chart.

The figures come from the store in one query (engine.data.quotes, ~0.1 s for 50 instruments
of minute bars) run as a job of the context's runner, so the GUI thread only paints; the
newest request wins over a late older one. The lists live in the workspace
(app.gui.watchlists). Live prices arrive as the broker hub's `QuoteEvent`s on the bus (or
through `update_price`): each changes its row in place, and repaints are coalesced to at most
ten a second however many ticks come. The status line says whether the figures are live (and
from which account) or the store's last closes; when a broker connects, the panel asks it to
stream the list's instruments (`AppContext.watch_live`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QSize,
    QSortFilterProxyModel,
    QStringListModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.context import STORE_OPENING, AppContext
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.watchlists import WatchlistError, Watchlists
from engine.broker.models import ConnectionState
from engine.calendar import IST
from engine.data.errors import StoreError
from engine.data.quotes import Quote, read_quotes
from engine.domain.money import to_paise
from engine.events import (
    BrokerStateEvent,
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    MarketDataChanged,
    QuoteEvent,
)

if TYPE_CHECKING:
    from engine.data.store import MarketStore  # DuckDB: loaded when the store opens

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the raw value a column sorts by
CLOSES_ROLE = Qt.ItemDataRole.UserRole + 2  # the sparkline's closes (paise, oldest first)
KEY_ROLE = Qt.ItemDataRole.UserRole + 3  # "EXCHANGE:SYMBOL"
HEADERS = ("Symbol", "Last", "Chg", "Chg %", "Volume", "30 sessions")
SYMBOL, LAST, CHANGE, CHANGE_PCT, VOLUME, TREND = range(len(HEADERS))
REPAINT_MS = 100  # live updates reach the screen at most ten times a second
NO_FIGURE = "—"
SPARK_WIDTH = 92  # px of the sparkline column
# the widest text each figure column makes room for before any arrives
FIGURE_TEMPLATES = {LAST: "9,999.99", CHANGE: "+99.99", CHANGE_PCT: "+9.99%", VOLUME: "99.99 L"}
CELL_PADDING = 12  # px beside a figure's text


# -- colours and text ---------------------------------------------------------------------------
def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def direction_colours(palette: QPalette, colour_blind: bool = False) -> tuple[QColor, QColor]:
    """(up, down) readable on this palette's base: brighter on dark, deeper on light; blue
    and orange (the chart's colour-blind-safe pair) when the trader asked for them."""
    if colour_blind:
        pair = ("#3d9df3", "#f5a623") if is_dark(palette) else ("#0072b2", "#d55e00")
        return QColor(pair[0]), QColor(pair[1])
    if is_dark(palette):
        return QColor("#3fb950"), QColor("#f85149")
    return QColor("#1a7f37"), QColor("#cf222e")


LIVE_COLOUR = "#2f8cff"  # the live mark: a blue dot, apart from the up/down colours
_LIVE_MARK: list[QIcon] = []


def live_mark() -> QIcon:
    """The dot beside a symbol whose figures are live (made once, after the app exists)."""
    if not _LIVE_MARK:
        pixmap = QPixmap(10, 10)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(LIVE_COLOUR))
        painter.drawEllipse(QPointF(5, 5), 3.5, 3.5)
        painter.end()
        _LIVE_MARK.append(QIcon(pixmap))
    return _LIVE_MARK[0]


def indian_digits(value: int) -> str:
    """12345678 -> '1,23,45,678' (lakh and crore grouping, as Indian traders read)."""
    sign, text = ("-", str(-value)) if value < 0 else ("", str(value))
    if len(text) <= 3:
        return sign + text
    head, tail = text[:-3], text[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return sign + ",".join([head, *groups, tail]) if head else sign + ",".join([*groups, tail])


def price_text(paise: int | None) -> str:
    if paise is None:
        return NO_FIGURE
    rupees, rest = divmod(abs(paise), 100)
    return f"{'-' if paise < 0 else ''}{indian_digits(rupees)}.{rest:02d}"


def change_text(paise: int | None) -> str:
    if paise is None:
        return NO_FIGURE
    return ("+" if paise > 0 else "") + price_text(paise)


def percent_text(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value:+.2f}%"


def volume_text(volume: int | None) -> str:
    """Compact, in lakh (L) and crore (Cr) past a lakh: the column stays narrow."""
    if volume is None:
        return NO_FIGURE
    if volume >= 10_000_000:
        return f"{volume / 10_000_000:.2f} Cr"
    if volume >= 100_000:
        return f"{volume / 100_000:.2f} L"
    return indian_digits(volume)


# -- the model ----------------------------------------------------------------------------------
@dataclass
class WatchRow:
    """One instrument's figures as shown; prices in paise."""

    key: str
    name: str = ""
    last: int | None = None
    prev_close: int | None = None
    volume: int | None = None
    session: date | None = None
    closes: tuple[int, ...] = field(default=())
    live: bool = False  # `last` came from a live price, not the store

    @property
    def symbol(self) -> str:
        return self.key.partition(":")[2] or self.key

    @property
    def change(self) -> int | None:
        if self.last is None or self.prev_close is None:
            return None
        return self.last - self.prev_close

    @property
    def change_pct(self) -> float | None:
        change = self.change
        return None if change is None or not self.prev_close else change * 100 / self.prev_close

    @property
    def trend_pct(self) -> float | None:
        if len(self.closes) < 2 or not self.closes[0]:
            return None
        return (self.closes[-1] - self.closes[0]) * 100 / self.closes[0]


class WatchlistModel(QAbstractTableModel):
    """Rows keyed by "EXCHANGE:SYMBOL" in the list's order; figures change in place."""

    # live rows were repainted (how many): the panel's status line follows at the same pace
    flushed = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[WatchRow] = []
        self.colour_blind = False  # blue/orange for up/down (View > Theme)
        self.repaints = 0  # live repaints so far (each one dataChanged per changed row)
        self._where: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._flush)

    # reading
    def keys(self) -> list[str]:
        return [row.key for row in self.rows]

    def row_of(self, key: str) -> WatchRow | None:
        at = self._where.get(key)
        return None if at is None else self.rows[at]

    # changing
    def set_keys(self, keys: Sequence[str], names: dict[str, str]) -> None:
        """Show these instruments in this order, keeping the figures of those already shown."""
        if list(keys) == self.keys():
            return
        old = {row.key: row for row in self.rows}
        self.beginResetModel()
        self.rows = [old.get(k) or WatchRow(k, names.get(k, "")) for k in keys]
        self._reindex()
        self.endResetModel()

    def set_quotes(self, quotes: dict[str, Quote]) -> None:
        """The store's figures; a row showing a live price keeps it (it is newer)."""
        for at, row in enumerate(self.rows):
            quote = quotes.get(row.key)
            if quote is None:
                continue
            last = row.last if row.live else quote.last
            volume = row.volume if row.live else quote.volume
            live_close = row.live and row.prev_close is not None
            self.rows[at] = replace(
                row,
                last=last,
                prev_close=row.prev_close if live_close else quote.prev_close,
                volume=volume,
                session=quote.session,
                closes=quote.closes,
            )
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, TREND))

    def update_price(
        self,
        key: str,
        last: int,
        volume: int | None = None,
        prev_close: int | None = None,
        day: date | None = None,
    ) -> bool:
        """A live last price (paise), day volume and the broker's previous close (paise) of
        `key`, traded on `day`; False when it is not shown. Without the broker's previous
        close, the first live price of a session after the store's last one changes against
        that session's close (the store's last price)."""
        at = self._where.get(key)
        if at is None:
            return False
        row = self.rows[at]
        if prev_close is None and not row.live and day and row.session and day > row.session:
            prev_close = row.last
        self.rows[at] = replace(
            row,
            last=last,
            volume=row.volume if volume is None else volume,
            prev_close=row.prev_close if prev_close is None else prev_close,
            live=True,
        )
        self._dirty.add(key)
        if not self._repaint.isActive():
            self._repaint.start()
        return True

    def flush(self) -> None:
        """Repaint the rows changed by live prices now (the timer does it otherwise)."""
        self._repaint.stop()
        self._flush()

    def _flush(self) -> None:
        if not self._dirty:
            return
        self.repaints += 1
        count = len(self._dirty)
        for key in self._dirty:
            at = self._where.get(key)
            if at is not None:
                self.dataChanged.emit(self.index(at, LAST), self.index(at, TREND))
        self._dirty.clear()
        self.flushed.emit(count)

    def remove_rows(self, keys: Sequence[str]) -> None:
        for key in keys:
            at = self._where.get(key)
            if at is None:
                continue
            self.beginRemoveRows(_ROOT, at, at)
            del self.rows[at]
            self._reindex()
            self.endRemoveRows()

    def move_row(self, at: int, to: int) -> bool:
        if not (0 <= at < len(self.rows) and 0 <= to < len(self.rows)) or at == to:
            return False
        # beginMoveRows takes the destination as "before this row" in the old numbering
        if not self.beginMoveRows(_ROOT, at, at, _ROOT, to + 1 if to > at else to):
            return False
        self.rows.insert(to, self.rows.pop(at))
        self._reindex()
        self.endMoveRows()
        return True

    def _reindex(self) -> None:
        self._where = {row.key: at for at, row in enumerate(self.rows)}

    # Qt's side
    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == SORT_ROLE:
            return _sort_value(row, column)
        if role == Qt.ItemDataRole.ForegroundRole and column in (LAST, CHANGE, CHANGE_PCT):
            change = row.change
            if not change:
                return None
            up, down = direction_colours(QApplication.palette(), self.colour_blind)
            return up if change > 0 else down
        if role == Qt.ItemDataRole.TextAlignmentRole and column != SYMBOL:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == CLOSES_ROLE:
            return row.closes
        if role == KEY_ROLE:
            return row.key
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row)
        if role == Qt.ItemDataRole.DecorationRole and column == SYMBOL and row.live:
            return live_mark()
        if role == Qt.ItemDataRole.FontRole and column == SYMBOL:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignLeft if section == SYMBOL else Qt.AlignmentFlag.AlignRight
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        return None


def _display(row: WatchRow, column: int) -> str:
    if column == SYMBOL:
        return row.symbol
    if column == LAST:
        return price_text(row.last)
    if column == CHANGE:
        return change_text(row.change)
    if column == CHANGE_PCT:
        return percent_text(row.change_pct)
    if column == VOLUME:
        return volume_text(row.volume)
    return ""


def _sort_value(row: WatchRow, column: int) -> object:
    if column == SYMBOL:
        return row.symbol
    return {
        LAST: row.last,
        CHANGE: row.change,
        CHANGE_PCT: row.change_pct,
        VOLUME: row.volume,
        TREND: row.trend_pct,
    }[column]


def _tooltip(row: WatchRow) -> str:
    lines = [row.key + (f" — {row.name}" if row.name else "")]
    if row.last is None:
        lines.append("No bars in the store")
        return "\n".join(lines)
    when = "live" if row.live else f"last close, {row.session:%a %d %b %Y}" if row.session else ""
    lines.append(f"Last {price_text(row.last)} ({when})")
    lines.append(f"Previous close {price_text(row.prev_close)}")
    if row.volume is not None:
        lines.append(f"Volume {indian_digits(row.volume)}")
    if row.trend_pct is not None:
        lines.append(f"{len(row.closes)} sessions {percent_text(row.trend_pct)}")
    return "\n".join(lines)


class _Sorted(QSortFilterProxyModel):
    """Sorts by the raw values; rows without a figure go last whichever way."""

    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a is None or b is None:
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return (a is not None) == ascending if (a is None) != (b is None) else False
        if isinstance(a, str) and isinstance(b, str):
            return a.casefold() < b.casefold()
        return bool(a < b)


class SparklineDelegate(QStyledItemDelegate):
    """A tiny line of the closes in the cell, green when the span rose, red when it fell."""

    colour_blind = False  # blue/orange instead (set per delegate by the panel)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        view = QStyleOptionViewItem(option)
        self.initStyleOption(view, index)
        view.text = ""
        widget = view.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, view, painter, widget)
        closes = index.data(CLOSES_ROLE)
        if not closes or len(closes) < 2:
            return
        box = option.rect.adjusted(6, 5, -6, -5)
        if box.width() < 4 or box.height() < 4:
            return
        low, high = min(closes), max(closes)
        span = (high - low) or 1
        step = box.width() / (len(closes) - 1)
        points = [
            QPointF(box.left() + i * step, box.bottom() - (c - low) * box.height() / span)
            for i, c in enumerate(closes)
        ]
        up, down = direction_colours(option.palette, self.colour_blind)
        colour = up if closes[-1] >= closes[0] else down
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        baseline = QColor(colour)
        baseline.setAlpha(70)
        pen = QPen(baseline, 1, Qt.PenStyle.DotLine)
        painter.setPen(pen)
        painter.drawLine(QPointF(box.left(), points[0].y()), QPointF(box.right(), points[0].y()))
        painter.setPen(QPen(colour, 1.4))
        painter.drawPolyline(QPolygonF(points))
        painter.setBrush(colour)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(points[-1], 2.0, 2.0)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(SPARK_WIDTH, super().sizeHint(option, index).height())


class _Table(QTableView):
    """The list's table: Enter opens the chart, Delete removes, Alt+Up/Down moves."""

    open_requested = Signal()
    remove_requested = Signal()
    move_requested = Signal(int)
    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_requested.emit()
        elif mods & Qt.KeyboardModifier.AltModifier and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.move_requested.emit(-1 if key == Qt.Key.Key_Up else 1)
        else:
            super().keyPressEvent(event)


# -- the panel ----------------------------------------------------------------------------------
class WatchlistPanel(QWidget):
    """Named lists of instruments and their figures; `open_chart_requested` carries
    "EXCHANGE:SYMBOL" when the trader double-clicks a row or presses Enter on it."""

    open_chart_requested = Signal(str)
    # the figures of the shown list arrived from the store (tests and the app wait on it)
    quotes_shown = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.setObjectName("watchlistPanel")
        self._ctx = ctx
        self._ctx_settings = ctx.settings
        self._jobs = ctx.jobs
        self._job: int | None = None  # the newest quotes job: an older one's result is dropped
        self._again = False  # a refresh was asked while a job ran
        # how many times quotes_shown was emitted: who starts watching after a read has ended
        # (a small store answers before the screenshot's stage connects) sees it happened
        self.quotes_shown_count = 0
        self._names: dict[str, str] = {}  # key -> instrument name
        self._sort_column = -1  # -1: the trader's own order
        self._sort_order = Qt.SortOrder.AscendingOrder
        self.lists = Watchlists.load(ctx.files_dir)
        self.name_dialog: QInputDialog | None = None
        # live prices: the account they come from, its title and state, the last tick's time
        self._live_account: str | None = None
        self._live_at: datetime | None = None
        self._accounts: dict[str, tuple[str, ConnectionState]] = {}
        subscriptions = [
            ctx.bus.subscribe(JobEvent, self._on_job_event),
            ctx.bus.subscribe(MarketDataChanged, self._on_market_data),
            ctx.bus.subscribe(QuoteEvent, self._on_quote),
            ctx.bus.subscribe(BrokerStateEvent, self._on_broker_state),
        ]

        def unsubscribe() -> None:  # the bus outlives panels
            for subscription in subscriptions:
                subscription.cancel()

        self.destroyed.connect(unsubscribe)

        self.list_box = QComboBox()
        self.list_box.setObjectName("watchlistSelector")
        self.list_box.setToolTip("Which watchlist to show")
        self.list_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.list_box.currentTextChanged.connect(self._list_chosen)
        self.new_action = QAction("New list…", self)
        self.new_action.triggered.connect(self._ask_new)
        self.rename_action = QAction("Rename list…", self)
        self.rename_action.triggered.connect(self._ask_rename)
        self.delete_action = QAction("Delete list…", self)
        self.delete_action.triggered.connect(self._ask_delete)
        menu = QMenu(self)
        menu.addActions([self.new_action, self.rename_action, self.delete_action])
        self.lists_button = QToolButton()
        self.lists_button.setObjectName("watchlistMenu")
        self.lists_button.setText("Lists")
        self.lists_button.setToolTip("New, rename or delete a watchlist")
        self.lists_button.setMenu(menu)
        self.lists_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.search = QLineEdit()
        self.search.setObjectName("watchlistSearch")
        self.search.setPlaceholderText("Add symbol…")
        self.search.setToolTip("Type a symbol (or EXCHANGE:SYMBOL) and press Enter to add it")
        self.search.setClearButtonEnabled(True)
        self._completions = QStringListModel(self)
        self.completer = QCompleter(self._completions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setMaxVisibleItems(12)
        self.completer.activated.connect(self.add_symbol)
        self.search.setCompleter(self.completer)
        self.search.returnPressed.connect(self._search_entered)
        top = QHBoxLayout()
        top.addWidget(self.list_box, 1)
        top.addWidget(self.lists_button)
        top.addWidget(self.search, 2)

        self.model = WatchlistModel()
        self.model.setParent(self)  # its repaint timer ends with the panel
        self.model.flushed.connect(self._live_flushed)
        self.proxy = _Sorted(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setDynamicSortFilter(False)  # a live tick must not make rows jump
        self.table = _Table()
        self.table.setObjectName("watchlistTable")
        self.table.setModel(self.proxy)
        self.sparklines = SparklineDelegate(self.table)
        self.table.setItemDelegateForColumn(TREND, self.sparklines)
        self.apply_theme(ctx.settings.theme)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(False)
        header.setHighlightSections(False)
        # the symbol takes the room the dock gives; figures fit their text; the sparkline is
        # a fixed strip at the right edge, as in a terminal's watchlist
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        header.resizeSection(TREND, SPARK_WIDTH)
        header.sectionClicked.connect(self._header_clicked)
        self.model.dataChanged.connect(self._widen)
        self.table.resized.connect(self._fit_symbol)
        self.table.doubleClicked.connect(self._open_index)
        self.table.open_requested.connect(self.open_current)
        self.table.remove_requested.connect(self.remove_selected)
        self.table.move_requested.connect(self.move_current)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for text, shortcut, slot in (
            ("Open chart", "Return", self.open_current),
            ("Move up", "Alt+Up", lambda: self.move_current(-1)),
            ("Move down", "Alt+Down", lambda: self.move_current(1)),
            ("Remove from list", "Delete", self.remove_selected),
        ):
            action = QAction(text, self.table)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # keys: _Table
            action.triggered.connect(slot)
            self.table.addAction(action)

        self.message = QLabel()
        self.message.setObjectName("watchlistMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMargin(16)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.message)
        self.status = QLabel()
        self.status.setObjectName("watchlistStatus")
        self.status.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.status)
        self._fill_list_box()
        self.refresh()

    # -- reading the store ---------------------------------------------------------------------
    def apply_theme(self, _theme: str) -> None:
        """The station's theme or colour-blind option changed: recolour up/down."""
        colour_blind = self._ctx_settings.colour_blind
        self.model.colour_blind = self.sparklines.colour_blind = colour_blind
        self.table.viewport().update()

    def refresh(self) -> None:
        """Read the store's instruments (completion, seeding) and the shown list's figures."""
        if self._ctx.store_opening:
            self._show_message(STORE_OPENING.capitalize())  # for a moment at the start
            return
        if self._store is None:
            self._show_message(
                "The market store is not open, so there are no prices to show.\n"
                + (self._ctx.store_problem or "")
            )
            return
        try:
            instruments = self._store.instrument_names()
        except StoreError as exc:
            self._show_message(f"The market store cannot be read: {exc}")
            return
        keys = [f"{e}:{s}" for e, s, _ in instruments]
        self._names = {f"{e}:{s}": name for e, s, name in instruments}
        self._completions.setStringList(keys)
        if not keys:
            self._show_message(
                "No instruments in the market store yet.\nImport files or create the demo "
                "data in the Data panel; the first 20 instruments then appear here."
            )
            return
        self._save(lambda: self.lists.seed(keys))
        self._show_list()

    def _show_list(self) -> None:
        self.pages.setCurrentWidget(self.table)
        self.model.set_keys(self.lists.keys(), self._names)
        self._apply_sort()
        self._fit_columns()
        if self.lists.problem:
            self._say(self.lists.problem, error=True)
        self._read_quotes()
        self._watch()

    def _read_quotes(self) -> None:
        store, keys = self._store, self.model.keys()
        if store is None:
            return
        if not keys:
            self._say("This list is empty: type a symbol above to add one.")
            return
        if self._job is not None:
            self._again = True  # one more read once this one ends: the list changed
            return
        self._again = False
        self._say("Reading prices…")

        def read(_control: object) -> dict[str, Quote] | str:
            try:
                return read_quotes(store, keys)
            except StoreError as exc:  # damaged or closed: said once by the store's own log
                return str(exc)

        self._job = self._jobs.submit(
            read,
            "Watchlist prices",
            cancellable=False,
            ask_before_close=False,
        )

    def _on_job_event(self, event: JobEvent) -> None:
        if event.job_id != self._job or not isinstance(
            event, JobFinished | JobFailed | JobCancelled
        ):
            return
        self._job = None
        if self._again:
            self._read_quotes()
            return
        if isinstance(event, JobFailed):
            log.error("watchlist prices could not be read: %s", event.message)
            self._say(f"Prices could not be read: {event.message}", error=True)
            return
        if isinstance(event.result, str):
            self._say(f"Prices could not be read: {event.result}", error=True)
            return
        quotes = event.result if isinstance(event.result, dict) else {}
        self.model.set_quotes(quotes)
        if self._sort_column >= 0:
            self._apply_sort()
        self._fit_columns()
        self._say_as_of()
        self.quotes_shown_count += 1
        self.quotes_shown.emit()

    @property
    def _store(self) -> MarketStore | None:
        """None until the store opens (after the first paint) or if it could not be."""
        return self._ctx.store

    def _on_market_data(self, _event: MarketDataChanged) -> None:
        self.refresh()

    # -- live prices ---------------------------------------------------------------------------
    def _on_quote(self, event: QuoteEvent) -> None:
        """A streamed quote: its row changes in place (repainted with the next coalesced
        refresh); quotes of instruments not in the list cost one dict lookup."""
        quote = event.quote
        tick = quote.tick
        prev_close = to_paise(quote.close) if quote.close else None
        last, day = to_paise(tick.ltp), tick.ts.astimezone(IST).date()
        if self.model.update_price(quote.symbol, last, tick.volume or None, prev_close, day):
            self._live_account = event.account_id
            self._live_at = tick.ts

    def _live_flushed(self, _rows: int) -> None:
        self._say_live()  # the status line follows the coalesced repaints

    def _on_broker_state(self, event: BrokerStateEvent) -> None:
        self._accounts[event.account_id] = (event.title, event.state)
        if event.state == ConnectionState.CONNECTED:
            self._watch()
        if event.account_id == self._live_account:
            self._say_live()

    def _watch(self) -> None:
        """Ask the connected broker to stream this list's instruments."""
        keys = self.model.keys()
        if keys:
            self._ctx.watch_live(keys)

    def is_live(self) -> bool:
        """Some figures shown are live prices (else all are the store's last closes)."""
        return any(row.live for row in self.model.rows)

    def _say_live(self) -> None:
        """The status line while live prices show: from where, as of when, or why paused."""
        if self._live_account is None or not self.is_live():
            return
        title, state = self._accounts.get(
            self._live_account, (self._live_account, ConnectionState.CONNECTED)
        )
        count = len(self.model.rows)
        live = sum(1 for row in self.model.rows if row.live)
        at = f" · last tick {self._live_at.astimezone(IST):%H:%M:%S} IST" if self._live_at else ""
        if state == ConnectionState.CONNECTED:
            text = f"{count} instrument(s) · live from {title}{at}"
        else:
            words = state.value.replace("_", " ")
            text = f"{count} instrument(s) · live prices paused: {title} {words}{at}"
        if live < count:
            text += f" · {count - live} at last close"
        self._say(text)

    # -- lists ---------------------------------------------------------------------------------
    def _fill_list_box(self) -> None:
        self.list_box.blockSignals(True)
        self.list_box.clear()
        self.list_box.addItems(self.lists.names())
        self.list_box.setCurrentText(self.lists.current)
        self.list_box.blockSignals(False)
        self.delete_action.setEnabled(True)

    def _list_chosen(self, name: str) -> None:
        if name and name != self.lists.current:
            self._save(lambda: self.lists.select(name))
            self._show_list_or_message()

    def _show_list_or_message(self) -> None:
        if self._store is not None and self._completions.stringList():
            self._show_list()
        else:
            self.refresh()

    def select_list(self, name: str) -> None:
        self.list_box.setCurrentText(name)

    def new_list(self, name: str) -> bool:
        if not self._save(lambda: self.lists.create(name)):
            return False
        self._fill_list_box()
        self._show_list_or_message()
        return True

    def rename_list(self, name: str) -> bool:
        if not self._save(lambda: self.lists.rename(self.lists.current, name)):
            return False
        self._fill_list_box()
        self._say(f"Renamed to {self.lists.current}")
        return True

    def delete_list(self) -> None:
        self._save(lambda: self.lists.delete(self.lists.current))
        self._fill_list_box()
        self._show_list_or_message()

    def _ask_new(self) -> None:
        self._ask_name("New watchlist", "Name of the new list:", "", self.new_list)

    def _ask_rename(self) -> None:
        self._ask_name("Rename watchlist", "New name:", self.lists.current, self.rename_list)

    def _ask_name(self, title: str, label: str, text: str, then: Callable[[str], object]) -> None:
        dialog = QInputDialog(self)
        dialog.setObjectName("watchlistName")
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setTextValue(text)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(then)
        dialog.finished.connect(self._name_dialog_closed)
        self.name_dialog = dialog
        dialog.open()

    def _name_dialog_closed(self) -> None:
        self.name_dialog = None

    def _ask_delete(self) -> None:
        count = len(self.lists.keys())
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete watchlist",
            f"Delete the list {self.lists.current!r} ({count} instrument(s))?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(self.delete_list)
        box.open()

    # -- instruments in the list ------------------------------------------------------------
    def _search_entered(self) -> None:
        text = self.search.text().strip()
        if text:
            self.add_symbol(text)

    def resolve(self, text: str) -> str | None:
        """The store's key for what was typed: EXCHANGE:SYMBOL or a symbol, any case; None
        (with the reason in the status line) when unknown or on several exchanges."""
        wanted = text.strip().upper()
        keys = self._completions.stringList()
        exact = [k for k in keys if k.upper() == wanted]
        if exact:
            return exact[0]
        by_symbol = [k for k in keys if k.partition(":")[2].upper() == wanted]
        if len(by_symbol) == 1:
            return by_symbol[0]
        if by_symbol:
            self._say(f"{text} is on {', '.join(by_symbol)}: choose one", error=True)
            return None
        near = [k for k in keys if wanted in k.upper()]
        if len(near) == 1:
            return near[0]
        self._say(
            f"No instrument {text!r} in the store"
            + (f"; did you mean {', '.join(near[:3])}?" if near else ""),
            error=True,
        )
        return None

    def add_symbol(self, text: str) -> bool:
        """Add the instrument named by `text` to the shown list (from search or completion)."""
        key = self.resolve(text)
        QTimer.singleShot(0, self.search.clear)  # after the completer has set the text
        if key is None:
            return False
        added = self._save(lambda: self.lists.add(key))
        if not added:
            self._say(f"{key} is in this list already")
            self._select_key(key)
            return False
        self._show_list()
        self._select_key(key)
        return True

    def remove_selected(self) -> list[str]:
        keys = self.selected_keys()
        removed = [key for key in keys if self._save(partial(self.lists.remove, key))]
        self.model.remove_rows(removed)
        if removed:
            shown = ", ".join(removed) if len(removed) < 4 else f"{len(removed)} instruments"
            self._say(f"Removed {shown}")
        return removed

    def move_current(self, step: int) -> bool:
        """Move the current row up (-1) or down (+1) in the list's own order; a sorted view
        first goes back to that order, so the trader sees where the row goes."""
        key = self.current_key()
        if key is None:
            return False
        if self._sort_column >= 0:
            self.sort_by(-1)
        at = self.model.keys().index(key)
        if not self.model.move_row(at, at + step):
            return False
        self._save(lambda: self.lists.set_order(self.model.keys()))
        self._select_key(key)
        return True

    def update_price(self, key: str, last: Decimal | int, volume: int | None = None) -> bool:
        """A live price for `key` (rupees as Decimal, like engine Tick.ltp, or int paise) and
        the day's cumulative volume; the row changes in place. False: not in the list."""
        paise = last if isinstance(last, int) else to_paise(last)
        return self.model.update_price(key, paise, volume)

    # -- selection, opening --------------------------------------------------------------------
    def current_key(self) -> str | None:
        index = self.table.currentIndex()
        return str(index.data(KEY_ROLE)) if index.isValid() else None

    def selected_keys(self) -> list[str]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        if not rows and self.table.currentIndex().isValid():
            rows = {self.table.currentIndex().row()}
        return [str(self.proxy.index(r, 0).data(KEY_ROLE)) for r in sorted(rows)]

    def _select_key(self, key: str) -> None:
        at = self.model.keys().index(key) if self.model.row_of(key) else -1
        if at < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(at, 0))
        self.table.setCurrentIndex(index)
        self.table.selectRow(index.row())
        self.table.scrollTo(index)

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_chart_requested.emit(str(index.data(KEY_ROLE)))

    def open_current(self) -> None:
        self._open_index(self.table.currentIndex())

    # -- sorting -------------------------------------------------------------------------------
    def _header_clicked(self, column: int) -> None:
        """Ascending, descending, then the trader's own order again."""
        if column != self._sort_column:
            self.sort_by(column, Qt.SortOrder.AscendingOrder)
        elif self._sort_order == Qt.SortOrder.AscendingOrder:
            self.sort_by(column, Qt.SortOrder.DescendingOrder)
        else:
            self.sort_by(-1)

    def sort_by(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the view by `column` (-1: the list's own order); the list is not changed."""
        self._sort_column, self._sort_order = column, order
        self._apply_sort()

    def _apply_sort(self) -> None:
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(self._sort_column >= 0)
        if self._sort_column >= 0:
            header.setSortIndicator(self._sort_column, self._sort_order)
        self.proxy.sort(self._sort_column, self._sort_order)

    # -- words ---------------------------------------------------------------------------------
    def _fit_columns(self) -> None:
        metrics = self.table.fontMetrics()
        for column, widest in FIGURE_TEMPLATES.items():
            self.table.resizeColumnToContents(column)
            # room for typical moves at once, so live prices rarely widen a column
            room = metrics.horizontalAdvance(widest) + CELL_PADDING
            self.table.setColumnWidth(column, max(room, self.table.columnWidth(column)))
        self._fit_symbol()

    def _fit_symbol(self) -> None:
        """The symbol column takes the room the dock leaves, never less than its text (the
        view scrolls sideways instead): the sparkline stays a strip at the right edge."""
        others = sum(self.table.columnWidth(c) for c in range(1, len(HEADERS)))
        text = max(self.table.sizeHintForColumn(SYMBOL), 60)
        self.table.setColumnWidth(SYMBOL, max(text, self.table.viewport().width() - others))

    def _widen(self, top: QModelIndex, bottom: QModelIndex) -> None:
        """A live price wider than its column widens it (never narrows: rows must not jump)."""
        if bottom.row() - top.row() > 8:
            return  # a whole refresh: _fit_columns follows
        metrics = self.table.fontMetrics()
        for row in range(top.row(), bottom.row() + 1):
            for column in (LAST, CHANGE, CHANGE_PCT, VOLUME):
                text = _display(self.model.rows[row], column)
                need = metrics.horizontalAdvance(text) + CELL_PADDING
                if need > self.table.columnWidth(column):
                    self.table.setColumnWidth(column, need)
                    self._fit_symbol()

    def _show_message(self, text: str) -> None:
        self.message.setText(text.strip())
        self.pages.setCurrentWidget(self.message)
        self._say("")

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet("color: #e0524d;" if error else "")

    def _say_as_of(self) -> None:
        if self.is_live():
            self._say_live()
            return
        sessions = {row.session for row in self.model.rows if row.session is not None}
        count = len(self.model.rows)
        if not sessions:
            self._say(f"{count} instrument(s); no bars for them in the store")
            return
        newest = max(sessions)
        text = f"{count} instrument(s) · last close, {newest:%a %d %b %Y} (IST)"
        stale = sum(1 for row in self.model.rows if row.session != newest)
        self._say(text + (f" · {stale} older or without bars" if stale else ""))

    def _save(self, change: Callable[[], object]) -> bool:
        """Run a change of the lists; its WatchlistError goes to the status line."""
        try:
            result = change()
        except WatchlistError as exc:
            self._say(str(exc), error=True)
            return False
        return result is not False


register_panel(
    PanelSpec(
        panel_id="watchlist",
        title="Watchlist",
        factory=WatchlistPanel,
        area=Qt.DockWidgetArea.LeftDockWidgetArea,
        shortcut="Ctrl+Shift+W",
        order=15,
    )
)
