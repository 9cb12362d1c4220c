"""View and edit the corporate actions (splits, bonuses, dividends) kept in the store.

A wrong ratio or ex-date silently skews every adjusted backtest, so each row says in words
what it does to prices and volume, and bad input is refused before anything is written (an
unknown symbol, a dividend not below the price, an absurd ratio: engine/data/action_checks.py,
the same check `artha data actions` makes).
Which side of a ratio is which is engine/data/adjust.py's convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.table_model import Column, RowsModel
from engine.data.action_checks import ActionChecker
from engine.data.adjust import (
    KINDS,
    ActionKind,
    CorporateAction,
    dividend_paise,
    load_corporate_actions_csv,
)
from engine.data.store import MarketStore, StoreError
from engine.domain.money import from_paise

EXCHANGES = ("NSE", "BSE")
CSV_FILTER = "Corporate actions (*.csv *.CSV);;All files (*)"
ERROR_STYLE = "color: #e5534b; font-weight: 600;"  # readable on the dark and light themes
_INT_COLUMNS = ("ratio_from", "ratio_to", "amount_paise")
Key = tuple[str, str, date, str]  # the store's primary key: exchange, symbol, ex_date, kind


@dataclass(frozen=True)
class ActionRow:
    """A stored action as listed; not validated, so a bad stored row can still be fixed."""

    exchange: str
    symbol: str
    ex_date: date
    kind: str
    ratio_from: int | None
    ratio_to: int | None
    amount_paise: int | None
    note: str

    @property
    def key(self) -> Key:
        return (self.exchange, self.symbol, self.ex_date, self.kind)

    @property
    def name(self) -> str:
        return f"{self.kind} of {self.exchange}:{self.symbol} on {self.ex_date}"


def rows_of(frame: pd.DataFrame) -> list[ActionRow]:
    rows = []
    for r in frame.to_dict("records"):
        a, b, p = (None if pd.isna(r[c]) else int(r[c]) for c in _INT_COLUMNS)
        day = pd.Timestamp(r["ex_date"]).date()
        rows.append(ActionRow(r["exchange"], r["symbol"], day, r["kind"], a, b, p, r["note"]))
    return rows


def rupees(paise: object) -> str:
    """₹ with 2 decimals, exactly (Decimal, never float); blank for no amount."""
    return "" if paise is None else f"₹{from_paise(int(str(paise))):,.2f}"


def effect_text(row: ActionRow) -> str:
    """What the adjuster does to the bars before the ex-date, in words."""
    kind: ActionKind = row.kind  # type: ignore[assignment]  # checked by CorporateAction
    try:
        action = CorporateAction(row.ex_date, kind, row.ratio_from, row.ratio_to, row.amount_paise)
    except ValueError as exc:
        return f"not applied: {exc}"
    before = f"prices before {row.ex_date}"
    if action.amount_paise is not None:
        amount = f"{from_paise(action.amount_paise):,.2f}"
        return f"{before} × (1 − {amount} / close before ex-date), volume unchanged"
    factor = action.share_factor()
    return f"{before} × {factor}, volume × {1 / factor}"  # Fraction: "1/5", "5"


COLUMNS = (
    Column("Exchange", lambda r: r.exchange),
    Column("Symbol", lambda r: r.symbol),
    Column("Ex-date", lambda r: r.ex_date.isoformat()),
    Column("Kind", lambda r: r.kind),
    Column("Ratio", lambda r: "" if r.kind == "dividend" else f"{r.ratio_from}:{r.ratio_to}"),
    Column("Amount", lambda r: r.amount_paise, rupees, numeric=True),
    Column("Note", lambda r: r.note),
    Column("Effect", effect_text),
)


def parse_amount(text: str) -> int:
    """Rupees typed by the user -> paise: above zero, at most 2 decimals."""
    if not text.strip().removeprefix("₹").strip():
        raise ValueError("enter the dividend per share in rupees, e.g. 12.50")
    return dividend_paise(text)  # the same rule as the CSV loader


def actions_frame(actions: list[tuple[str, str, CorporateAction]]) -> pd.DataFrame:
    """The frame MarketStore.add_corporate_actions takes (as `artha data actions` builds it)."""
    frame = pd.DataFrame(
        [(e, s, a.ex_date, a.kind, a.ratio_from, a.ratio_to, a.amount_paise, a.note)
         for e, s, a in actions],
        columns=["exchange", "symbol", "ex_date", "kind", "ratio_from", "ratio_to",
                 "amount_paise", "note"],
    )  # fmt: skip
    return frame.astype(dict.fromkeys(_INT_COLUMNS, "Int64"))


class CorporateActionsDialog(QDialog):
    """The actions of one instrument (or all); the form edits the selected row or adds one."""

    changed = Signal()  # after any successful save, delete or import

    def __init__(
        self,
        store: MarketStore,
        symbol: str | None,
        exchange: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("corporateActions")
        self._store = store
        self._filter = symbol if symbol is None or exchange is None else f"{exchange}:{symbol}"
        what = self._filter or "all instruments"
        self.setWindowTitle(f"Corporate actions — {what}")
        intro = QLabel(
            f"Corporate actions of {what}. The store keeps raw bars; adjusted series apply "
            "these actions to the bars before each ex-date (the Effect column says how)."
        )
        intro.setWordWrap(True)

        self.model = RowsModel(COLUMNS)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._fill_form)

        self.exchange = QComboBox()
        self.exchange.addItems(EXCHANGES)
        self._set_exchange(exchange or EXCHANGES[0])
        self.symbol = QLineEdit(symbol or "", placeholderText="e.g. RELIANCE")
        self.kind = QComboBox()
        self.kind.addItems(KINDS)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.ex_date = QDateEdit(QDate.currentDate())
        self.ex_date.setCalendarPopup(True)
        self.ex_date.setDisplayFormat("yyyy-MM-dd")
        self.ratio_from, self.ratio_to = QSpinBox(), QSpinBox()
        ratio = QHBoxLayout()
        self.ratio_hint = QLabel()
        for box in (self.ratio_from, QLabel(":"), self.ratio_to, self.ratio_hint):
            ratio.addWidget(box)
            if isinstance(box, QSpinBox):
                box.setRange(1, 1_000_000)
                box.valueChanged.connect(self._kind_changed)
        ratio.addStretch(1)
        self.amount = QLineEdit(placeholderText="rupees per share, e.g. 12.50")
        self.note = QLineEdit(placeholderText="optional, e.g. face value 10 → 2")
        self.form_box = QGroupBox()
        columns = QHBoxLayout(self.form_box)
        left, right = QFormLayout(), QFormLayout()
        left.addRow("Exchange", self.exchange)
        left.addRow("Symbol", self.symbol)
        left.addRow("Kind", self.kind)
        left.addRow("Ex-date", self.ex_date)
        right.addRow("Ratio", ratio)
        right.addRow("Dividend (₹)", self.amount)
        right.addRow("Note", self.note)
        columns.addLayout(left, 2)
        columns.addSpacing(24)
        columns.addLayout(right, 3)

        self.error = QLabel(wordWrap=True)
        self.error.setObjectName("actionsError")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        self.status = QLabel(wordWrap=True)
        self.status.setObjectName("actionsStatus")
        self.import_button = QPushButton("Import CSV…")
        self.import_button.clicked.connect(self._choose_csv)
        new = QPushButton("New")
        new.setToolTip("Clear the selection to add another action")
        new.clicked.connect(self.new_action)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._ask_delete)
        self.save_button = QPushButton("Save", default=True)
        self.save_button.clicked.connect(self.save)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        for button in (new, self.delete_button, self.save_button, close):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        for widget in (self.form_box, self.error, self.status):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.resize(1100, 640)
        self._kind_changed()
        self.refresh()

    # -- showing --------------------------------------------------------------------------
    def refresh(self, select: Key | None = None) -> None:
        """Reload the table; re-select the row with key `select` when it is listed."""
        self.model.set_rows(rows_of(self._store.corporate_actions(self._filter)))
        self.table.resizeColumnsToContents()
        keys = [r.key for r in self.model.rows]
        if select in keys:
            self.table.selectRow(keys.index(select))
        self._fill_form()

    def selected(self) -> ActionRow | None:
        rows = self.table.selectionModel().selectedRows()
        row: ActionRow | None = self.model.rows[rows[0].row()] if rows else None
        return row

    def _set_exchange(self, exchange: str) -> None:
        if self.exchange.findText(exchange) < 0:
            self.exchange.addItem(exchange)
        self.exchange.setCurrentText(exchange)

    def _fill_form(self) -> None:
        row = self.selected()
        self.delete_button.setEnabled(row is not None)
        self._show_error("")
        self.form_box.setTitle(
            f"Editing the {row.name}: Save replaces it" if row
            else "New action (select a row to edit it)"
        )  # fmt: skip
        if row is None:
            return
        self._set_exchange(row.exchange)
        self.symbol.setText(row.symbol)
        self.kind.setCurrentText(row.kind)
        self.ex_date.setDate(QDate(row.ex_date.year, row.ex_date.month, row.ex_date.day))
        self.ratio_from.setValue(row.ratio_from or 1)
        self.ratio_to.setValue(row.ratio_to or 1)
        self.amount.setText("" if row.amount_paise is None else str(from_paise(row.amount_paise)))
        self.note.setText(row.note)

    def new_action(self) -> None:
        """A blank form for the same instrument: nothing of the last row carries over."""
        self.table.clearSelection()
        self.ratio_from.setValue(1)
        self.ratio_to.setValue(1)
        self.amount.clear()
        self.note.clear()

    def _kind_changed(self) -> None:
        kind = self.kind.currentText()
        for widget in (self.ratio_from, self.ratio_to, self.ratio_hint):
            widget.setEnabled(kind != "dividend")
        self.amount.setEnabled(kind == "dividend")
        a, b = self.ratio_from.value(), self.ratio_to.value()
        self.ratio_hint.setText(
            f"{a} old share(s) become {b}" if kind == "split"
            else f"{a} new share(s) for every {b} held" if kind == "bonus"
            else "a dividend has no ratio"
        )  # fmt: skip

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        if text:
            self.status.clear()

    def _done(self, text: str, select: Key | None = None) -> None:
        self.refresh(select)
        if select is not None and self.selected() is None:
            text += f" (not listed: this shows {self._filter} only)"
        self.status.setText(text)
        self.changed.emit()

    # -- editing --------------------------------------------------------------------------
    def form_action(self) -> tuple[str, str, CorporateAction]:
        """(exchange, symbol, action) from the form; ValueError names what is wrong."""
        symbol = self.symbol.text().strip().upper()
        if not symbol:
            raise ValueError("enter the symbol, e.g. RELIANCE")
        kind: ActionKind = KINDS[self.kind.currentIndex()]
        ex_date = self.ex_date.date().toPython()
        assert isinstance(ex_date, date)
        note = self.note.text().strip()
        if kind == "dividend":
            paise = parse_amount(self.amount.text())
            return self.exchange.currentText(), symbol, CorporateAction(
                ex_date, kind, None, None, paise, note
            )  # fmt: skip
        a, b = self.ratio_from.value(), self.ratio_to.value()
        if kind == "split" and a == b:
            raise ValueError(f"a {a}:{b} split changes nothing (1:5 = one share becomes five)")
        return self.exchange.currentText(), symbol, CorporateAction(ex_date, kind, a, b, None, note)

    def save(self) -> bool:
        """Upsert the form; an edited row whose key changed is moved (new row in, old out)."""
        old = self.selected()
        try:
            exchange, symbol, action = self.form_action()
            key = (exchange, symbol, action.ex_date, action.kind)
            stored = rows_of(self._store.corporate_actions(f"{exchange}:{symbol}"))
            if old is not None and old.key != key and any(r.key == key for r in stored):
                raise ValueError(
                    f"there is already a {action.kind} of {exchange}:{symbol} on "
                    f"{action.ex_date}: edit that row, or delete it first"
                )
            ActionChecker(self._store)(exchange, symbol, action)  # the CLI's rule, same words
            moved = old.key if old is not None and old.key != key else None
            frame = actions_frame([(exchange, symbol, action)])
            self._store.add_corporate_actions(frame, replacing=moved)  # one transaction
        except (StoreError, ValueError) as exc:
            self._show_error(f"Not saved: {exc}")
            return False
        self._done(f"Saved the {action.kind} of {exchange}:{symbol} on {action.ex_date}", key)
        return True

    def _ask_delete(self) -> None:  # not clicked -> delete_selected: `checked` is no `confirm`
        self.delete_selected()

    def delete_selected(self, confirm: bool = True) -> bool:
        """Delete the selected row; `confirm=False` skips the question (tests)."""
        row = self.selected()
        if row is None:
            self._show_error("Select the action to delete first")
            return False
        question = f"Delete the {row.name}?\nAdjusted series will no longer apply it."
        yes = QMessageBox.StandardButton.Yes
        if confirm and QMessageBox.question(self, "Delete corporate action", question) != yes:
            return False
        try:
            deleted = self._store.delete_corporate_action(*row.key)
        except StoreError as exc:
            self._show_error(f"Not deleted: {exc}")
            return False
        if not deleted:
            self.refresh()
            self._show_error(f"The {row.name} was no longer in the store")
            return False
        self._done(f"Deleted the {row.name}")
        return True

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import corporate actions", "", CSV_FILTER)
        if path:
            self.import_csv(path)

    def import_csv(self, path: str | Path) -> int | None:
        """Add all rows of an `artha data actions` CSV or none; rows new/changed, None: error."""
        try:
            read = load_corporate_actions_csv(path, ActionChecker(self._store))
            actions = [(str(e), s, a) for e, s, a in read]
            changed = self._store.add_corporate_actions(actions_frame(actions)) if actions else 0
        except (StoreError, ValueError, OSError) as exc:
            self._show_error(f"Nothing imported from {path}: {exc}")
            return None
        self._done(f"{path}: {len(actions)} actions read, {changed} new or changed")
        listed = {r.key for r in self.model.rows}
        hidden = sum((e, s, a.ex_date, a.kind) not in listed for e, s, a in actions)
        if hidden:
            self.status.setText(f"{self.status.text()} ({hidden} of other instruments, not listed)")
        return changed
