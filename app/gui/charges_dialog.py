"""Tools ▸ Charges calculator: what one round trip costs at Zerodha, component by component,
as the contract note shows it (the dialog form of `artha charges`).

The inputs are checked and priced by app/reports/contract_note.py, which calls the engine's
cost model, so the dialog and the command line give the same rupees to the paisa. Pricing a
note is plain Decimal arithmetic (well under a millisecond), so it is redone on every edit;
a bad input clears the note and names its field under the form.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from PySide6.QtCore import QDate, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.context import AppContext
from app.gui.table_model import Column, RowsModel
from app.reports.contract_note import (
    CASH_SEGMENTS,
    EARLIEST,
    ContractNote,
    NoteInputError,
    NoteRequest,
    break_even_sell,
    money,
    parse_price,
    parse_quantity,
    price_note,
)
from engine.calendar import IST
from engine.costs import BSE_GROUPS, ChargeSegment, StampRounding
from engine.domain.enums import Exchange

ERROR_STYLE = "color: #e5534b; font-weight: 600;"  # readable on the dark and light themes
FIELD_WIDTH = 250  # pixels: every field one width, the widest choice fits
SEGMENT_LABELS = (
    ("Equity delivery (CNC)", ChargeSegment.DELIVERY),
    ("Equity intraday (MIS)", ChargeSegment.INTRADAY),
    ("F&O futures", ChargeSegment.FUTURES),
    ("F&O options (premium)", ChargeSegment.OPTIONS),
)
STAMP_LABELS = (
    ("To the rupee (Zerodha)", "rupee"),
    ("To the paisa", "paisa"),
)
BOLD_ROWS = frozenset({"Total charges", "Net P&L"})
COLUMNS = (
    Column("Component", lambda row: row[0]),
    Column("Rs", lambda row: row[1], text=lambda value: _rupees(value), numeric=True),
)
Index = QModelIndex | QPersistentModelIndex


class _NoteModel(RowsModel):
    """The note's rows; the totals in bold, as a contract note sets them off."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.FontRole and index.isValid():
            if self.rows[index.row()][0] in BOLD_ROWS:
                font = QFont()
                font.setBold(True)
                return font
            return None
        return super().data(index, role)


def _rupees(value: object) -> str:
    return money(value) if isinstance(value, Decimal) else str(value)


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class ChargesDialog(QDialog):
    """Segment, exchange, quantity, prices and date in; the contract note out."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chargesDialog")
        self.setWindowTitle("Charges calculator")
        self.ctx = ctx
        self.note: ContractNote | None = None  # the note shown; None while an input is bad

        self.segment = QComboBox()
        self.segment.setObjectName("chargesSegment")
        for text, segment in SEGMENT_LABELS:
            self.segment.addItem(text, segment.value)
        self.segment.setCurrentIndex(1)  # intraday: the common question
        self.exchange = QComboBox()
        self.exchange.setObjectName("chargesExchange")
        for exchange in (Exchange.NSE, Exchange.BSE):
            self.exchange.addItem(exchange.value, exchange.value)
        self.bse_group = QComboBox()
        self.bse_group.setObjectName("chargesBseGroup")
        self.bse_group.addItems(list(BSE_GROUPS))
        self.bse_group.setCurrentText("A")
        self.bse_group.setToolTip(
            "BSE scrip group: some groups (X, XT, Z, ZP, SS, ST) pay a higher exchange "
            "charge. Applies to BSE delivery and intraday only"
        )
        self.quantity = QLineEdit("100")
        self.quantity.setObjectName("chargesQuantity")
        self.quantity.setToolTip("Shares, or units for F&O (lots x lot size)")
        self.buy_price = QLineEdit("1000")
        self.buy_price.setObjectName("chargesBuy")
        self.buy_price.setToolTip("Rupees, at most two decimals; the premium for options")
        self.sell_price = QLineEdit("1010")
        self.sell_price.setObjectName("chargesSell")
        self.sell_price.setToolTip("Rupees, at most two decimals; the premium for options")
        self.trade_date = QDateEdit()
        self.trade_date.setObjectName("chargesDate")
        self.trade_date.setCalendarPopup(True)
        self.trade_date.setDisplayFormat("dd MMM yyyy")
        self.trade_date.setMinimumDate(_qdate(EARLIEST))
        self.trade_date.setDate(_qdate(ctx.now().astimezone(IST).date()))
        self.trade_date.setToolTip(
            f"The charges in force on this day are used (schedules cover trades from "
            f"{EARLIEST:%d %b %Y})"
        )
        self.stamp_rounding = QComboBox()
        self.stamp_rounding.setObjectName("chargesStamp")
        for text, data in STAMP_LABELS:
            self.stamp_rounding.addItem(text, data)
        for widget in (
            self.segment,
            self.exchange,
            self.bse_group,
            self.quantity,
            self.buy_price,
            self.sell_price,
            self.trade_date,
            self.stamp_rounding,
        ):
            widget.setMinimumWidth(FIELD_WIDTH)

        inputs = QGroupBox("One buy and one sell, one contract note")
        form = QFormLayout(inputs)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Segment", self.segment)
        form.addRow("Exchange", self.exchange)
        form.addRow("BSE group", self.bse_group)
        form.addRow("Quantity", self.quantity)
        form.addRow("Buy price (Rs)", self.buy_price)
        form.addRow("Sell price (Rs)", self.sell_price)
        form.addRow("Trade date", self.trade_date)
        form.addRow("Stamp duty", self.stamp_rounding)
        self.problem = QLabel(wordWrap=True)
        self.problem.setObjectName("chargesProblem")
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.hide()
        form.addRow(self.problem)

        self.model = _NoteModel(COLUMNS)
        self.table = QTableView()
        self.table.setObjectName("chargesTable")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(self.fontMetrics().horizontalAdvance("00,00,00,000.00") + 24)
        self.table.setMinimumWidth(340)
        self.schedule = QLabel(wordWrap=True)
        self.schedule.setObjectName("chargesSchedule")
        self.break_even = QLabel(wordWrap=True)
        self.break_even.setObjectName("chargesBreakEven")
        result = QVBoxLayout()
        result.addWidget(self.table, 1)
        result.addWidget(self.break_even)
        result.addWidget(self.schedule)

        body = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(inputs)
        left.addStretch(1)
        body.addLayout(left)
        body.addLayout(result, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(buttons)

        for edit in (self.quantity, self.buy_price, self.sell_price):
            edit.textChanged.connect(lambda _t: self.recompute())
        for combo in (self.segment, self.exchange, self.bse_group, self.stamp_rounding):
            combo.currentIndexChanged.connect(lambda _i: self.recompute())
        self.trade_date.dateChanged.connect(lambda _d: self.recompute())
        self.recompute()
        self.resize(820, 520)

    def request(self) -> NoteRequest:
        """The note asked for (NoteInputError naming the field when an input is wrong)."""
        value = self.trade_date.date()
        stamp: StampRounding = "paisa" if self.stamp_rounding.currentData() == "paisa" else "rupee"
        return NoteRequest(
            segment=ChargeSegment(str(self.segment.currentData())),
            exchange=Exchange(str(self.exchange.currentData())),
            quantity=parse_quantity(self.quantity.text()),
            buy=parse_price(self.buy_price.text(), "Buy price"),
            sell=parse_price(self.sell_price.text(), "Sell price"),
            trade_date=date(value.year(), value.month(), value.day()),
            bse_group=self.bse_group.currentText(),
            stamp_rounding=stamp,
        )

    def recompute(self) -> None:
        """Price the note again from the inputs; a bad one clears it and says which."""
        cash = ChargeSegment(str(self.segment.currentData())) in CASH_SEGMENTS
        self.bse_group.setEnabled(cash and self.exchange.currentData() == Exchange.BSE.value)
        try:
            note = price_note(self.request())
        except NoteInputError as exc:
            self.note = None
            self.model.set_rows([])
            self.problem.setText(str(exc))
            self.problem.show()
            self.break_even.setText("")
            self.schedule.setText("")
            return
        self.note = note
        self.problem.hide()
        self.problem.setText("")
        self.model.set_rows(note.rows())
        request = note.request
        where = f"{request.exchange.value}"
        if self.bse_group.isEnabled():
            where += f" group {self.bse_group.currentText()}"
        self.schedule.setText(
            f"Zerodha schedule {note.schedule_label}; {where}, {request.trade_date:%d %b %Y}."
        )
        even = break_even_sell(note)
        if even is None:
            self.break_even.setText("No sell price up to the largest Artha prices breaks even.")
        else:
            points = even - request.buy
            self.break_even.setText(
                f"Break-even sell price: Rs {money(even)} "
                f"({money(points)} points above the buy, charges included)."
            )

    def component(self, label: str) -> Decimal:
        """The amount on the row `label` of the note shown (KeyError when none is shown)."""
        if self.note is None:
            raise KeyError(label)
        return dict(self.note.rows())[label]


def open_charges_dialog(ctx: AppContext, parent: QWidget | None = None) -> ChargesDialog:
    """Build and show the calculator, non-modal: it can stay open beside the chart."""
    dialog = ChargesDialog(ctx, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
