"""The capital-and-costs fields a backtest starts from, as one form: the wizard's Capital and
costs page and Settings ▸ Backtest defaults both show it, so a field, its choices, its help
and its checks exist once.

`values()` reads the fields into `BacktestDefaults` and checks them with the engine's own
rules (DefaultsError names the field); `BacktestDefaults.config` turns them into the run's
`BacktestConfig`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QWidget

from app.commands.output import inr
from app.gui.ui_settings import BacktestDefaults, DefaultsError

FIELD_WIDTH = 270  # pixels: fields sized for their content, not stretched across the page
COST_LABELS = (
    ("Zerodha contract-note charges", "zerodha"),
    ("Flat basis points of turnover", "bps"),
    ("No charges", "none"),
)
FILL_LABELS = (("Next bar's open", "next-open"), ("This bar's close", "close"))
PRODUCT_LABELS = (
    ("CNC (delivery)", "CNC"),
    ("MIS (intraday)", "MIS"),
    ("NRML (F&O carry-forward)", "NRML"),
)


def _combo(items: tuple[tuple[str, str], ...], name: str) -> QComboBox:
    box = QComboBox()
    box.setObjectName(name)
    for text, data in items:
        box.addItem(text, data)
    return box


def _select(box: QComboBox, data: str) -> None:
    box.setCurrentIndex(max(box.findData(data), 0))


def _plain(value: Decimal) -> str:
    return format(value, "f")


def capital_text(value: Decimal) -> str:
    """Rupees grouped the Indian way, paise only when there are some: 1,00,00,000."""
    return inr(value, 0 if value == value.to_integral_value() else 2)


def _number(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise DefaultsError(field, f"{text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise DefaultsError(field, "must be a finite number")
    return value


class BacktestConfigForm(QWidget):
    """Capital, product, charges (and their bps), slippage, volume cap and fill; `changed`
    on every edit. `prefix` starts each field's objectName ("wizard", "settings")."""

    changed = Signal()

    def __init__(self, prefix: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.capital = QLineEdit()
        self.capital.setObjectName(f"{prefix}Capital")
        self.capital.setToolTip("Starting cash in rupees (at most 1,000 lakh crore)")
        self.product = _combo(PRODUCT_LABELS, f"{prefix}Product")
        self.product.setToolTip(
            "For orders that do not name one: CNC delivery, MIS intraday (squared off before "
            "the close), NRML carry-forward F&O"
        )
        self.costs = _combo(COST_LABELS, f"{prefix}Costs")
        self.cost_bps = QLineEdit()
        self.cost_bps.setObjectName(f"{prefix}CostBps")
        self.cost_bps.setToolTip("Basis points of each contract note's turnover")
        self.slippage = QLineEdit()
        self.slippage.setObjectName(f"{prefix}Slippage")
        self.slippage.setToolTip("Market and stop fills move this many basis points against you")
        self.participation = QLineEdit()
        self.participation.setObjectName(f"{prefix}Participation")
        self.participation.setPlaceholderText("no cap")
        self.participation.setToolTip(
            "At most this share of a bar's volume per order per bar (0 to 1); the rest fills "
            "on later bars. Empty: no cap"
        )
        self.fill = _combo(FILL_LABELS, f"{prefix}Fill")
        self.fields: dict[str, QWidget] = {  # by the label DefaultsError names
            "Capital": self.capital,
            "Product": self.product,
            "Charges": self.costs,
            "Charges (bps)": self.cost_bps,
            "Slippage (bps)": self.slippage,
            "Volume cap": self.participation,
            "Market orders fill at": self.fill,
        }
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for label, widget in self.fields.items():
            widget.setMinimumWidth(FIELD_WIDTH)
            self.form.addRow("Capital (Rs)" if label == "Capital" else label, widget)
        for edit in (self.capital, self.cost_bps, self.slippage, self.participation):
            edit.textChanged.connect(lambda _t: self._edited())
        for combo in (self.product, self.costs, self.fill):
            combo.currentIndexChanged.connect(lambda _i: self._edited())

    def show_values(self, values: BacktestDefaults) -> None:
        self.capital.setText(capital_text(values.capital))
        _select(self.product, values.product)
        _select(self.costs, values.costs)
        self.cost_bps.setText(_plain(values.cost_bps))
        self.slippage.setText(_plain(values.slippage_bps))
        cap = values.participation
        self.participation.setText("" if cap is None else _plain(cap))
        _select(self.fill, values.fill)
        self._edited()

    def values(self) -> BacktestDefaults:
        """The fields as entered, checked by the engine's rules (DefaultsError names the
        field that is wrong)."""
        cap_text = self.participation.text().strip()
        costs = str(self.costs.currentData())
        try:
            cost_bps = _number(self.cost_bps.text(), "Charges (bps)")
        except DefaultsError:
            if costs == "bps":
                raise
            cost_bps = BacktestDefaults().cost_bps  # unused by these charges: not an error
        return BacktestDefaults(
            capital=_number(self.capital.text().replace(",", ""), "Capital"),
            costs=costs,
            cost_bps=cost_bps,
            slippage_bps=_number(self.slippage.text() or "0", "Slippage (bps)"),
            participation=_number(cap_text, "Volume cap") if cap_text else None,
            fill=str(self.fill.currentData()),
            product=str(self.product.currentData()),
        ).check()

    def _edited(self) -> None:
        self.cost_bps.setEnabled(self.costs.currentData() == "bps")
        self.changed.emit()
