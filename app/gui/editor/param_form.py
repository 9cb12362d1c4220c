"""The parameter form: one field per declared `Param` of the checked strategy.

No UI code per strategy: the field follows the parameter's type (a spin box for int and
float, a check box for bool, a list for `choices`, a text field for str and Decimal), its
range bounds the field, its help is the tooltip. Every value still goes through the
parameter's own `coerce` (one rule, one place): a value it refuses is marked in the form,
named in `errors()`, and left out of `values()`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from engine.strategy.params import Param, ParamError, declared_params

if TYPE_CHECKING:  # the strategy base (numpy) loads with the first strategy checked
    from engine.strategy.base import Strategy

INT_LIMIT = 2**31 - 1  # what a QSpinBox can hold
FLOAT_LIMIT = 1e15
_INVALID = "border: 1px solid #d1242f;"


class ParamForm(QWidget):
    """Fields for a strategy's parameters; `changed` fires on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editorParamForm")
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(8, 6, 8, 6)
        self.layout_.setVerticalSpacing(6)
        self.strategy: type[Strategy] | None = None
        self.params: dict[str, Param[Any]] = {}
        self.fields: dict[str, QWidget] = {}
        self._errors: dict[str, str] = {}
        self.empty = QLabel("Check a strategy (F7) to edit its parameters here.")
        self.empty.setWordWrap(True)
        self.layout_.addRow(self.empty)

    def set_strategy(
        self, strategy: type[Strategy] | None, values: Mapping[str, object] | None = None
    ) -> None:
        """Build the fields for `strategy` (None: the form is empty), filled with `values`
        where the declarations accept them (what the user set before a re-check), else
        with the defaults."""
        kept = dict(values or {})
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.fields.clear()
        self._errors.clear()
        self.strategy = strategy
        self.params = declared_params(strategy) if strategy is not None else {}
        if strategy is None or not self.params:
            self.empty = QLabel(
                "Check a strategy (F7) to edit its parameters here."
                if strategy is None
                else f"{strategy.__name__} declares no parameters."
            )
            self.empty.setWordWrap(True)
            self.layout_.addRow(self.empty)
            return
        for name, param in self.params.items():
            field = self._field(param)
            tip = _tooltip(param)
            field.setToolTip(tip)
            label = QLabel(name)
            label.setToolTip(tip)
            field.setObjectName(f"param.{name}")
            self.layout_.addRow(label, field)
            self.fields[name] = field
        for name, value in kept.items():
            declared = self.params.get(name)
            if declared is None:
                continue
            try:
                declared.coerce(value)
            except ParamError:
                continue  # the new range refuses it: the declared default stands
            self.set_value(name, value)

    def _field(self, param: Param[Any]) -> QWidget:
        kind = param.kind
        if param.choices is not None:
            combo = QComboBox()
            for choice in param.choices:
                combo.addItem(str(choice), choice)
            combo.setCurrentIndex(list(param.choices).index(param.default))
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
            return combo
        if kind is bool:
            box = QCheckBox()
            box.setChecked(bool(param.default))
            box.toggled.connect(lambda _b: self.changed.emit())
            return box
        if kind is int:
            spin = QSpinBox()
            spin.setRange(
                _bound(param.minimum, -INT_LIMIT, INT_LIMIT),
                _bound(param.maximum, INT_LIMIT, INT_LIMIT),
            )
            spin.setSingleStep(int(param.step) if param.step else 1)
            spin.setValue(int(param.default))
            spin.setAccelerated(True)
            spin.valueChanged.connect(lambda _v: self.changed.emit())
            return spin
        if kind is float:
            spin_f = QDoubleSpinBox()
            spin_f.setDecimals(_decimals(param))
            spin_f.setRange(
                float(param.minimum) if param.minimum is not None else -FLOAT_LIMIT,
                float(param.maximum) if param.maximum is not None else FLOAT_LIMIT,
            )
            spin_f.setSingleStep(float(param.step) if param.step else _float_step(param))
            spin_f.setValue(float(param.default))
            spin_f.valueChanged.connect(lambda _v: self.changed.emit())
            return spin_f
        line = QLineEdit(str(param.default))
        line.textChanged.connect(lambda text, p=param, w=line: self._validate_text(p, w, text))
        return line

    def _validate_text(self, param: Param[Any], field: QLineEdit, text: str) -> None:
        try:
            param.coerce(text)
        except ParamError as exc:
            self._errors[param.name] = str(exc)
            field.setStyleSheet(f"QLineEdit {{ {_INVALID} }}")
            field.setToolTip(f"{exc}\n\n{_tooltip(param)}")
        else:
            self._errors.pop(param.name, None)
            field.setStyleSheet("")
            field.setToolTip(_tooltip(param))
        self.changed.emit()

    def raw_values(self) -> dict[str, object]:
        """Every field's value as it stands, accepted or not (to restore the form later)."""
        return {name: self.raw_value(name) for name in self.fields}

    def raw_value(self, name: str) -> object:
        field = self.fields[name]
        if isinstance(field, QComboBox):
            return field.currentData()
        if isinstance(field, QCheckBox):
            return field.isChecked()
        if isinstance(field, QSpinBox | QDoubleSpinBox):
            return field.value()
        assert isinstance(field, QLineEdit)
        return field.text()

    def set_value(self, name: str, value: object) -> None:
        """Put a value in a field as a user would (text fields are then checked)."""
        field = self.fields[name]
        if isinstance(field, QComboBox):
            field.setCurrentIndex(max(field.findData(value), 0))
        elif isinstance(field, QCheckBox):
            field.setChecked(bool(value))
        elif isinstance(field, QSpinBox):
            field.setValue(int(value))  # type: ignore[call-overload]
        elif isinstance(field, QDoubleSpinBox):
            field.setValue(float(value))  # type: ignore[arg-type]
        elif isinstance(field, QLineEdit):
            field.setText(str(value))

    def errors(self) -> dict[str, str]:
        """Each refused field's message, by parameter name."""
        found = dict(self._errors)
        for name, param in self.params.items():
            if name in found:
                continue
            try:
                param.coerce(self.raw_value(name))
            except ParamError as exc:
                found[name] = str(exc)
        return found

    def values(self) -> dict[str, Any]:
        """The accepted values, as plain data (a Decimal as its text), by name."""
        result: dict[str, Any] = {}
        for name, param in self.params.items():
            try:
                value = param.coerce(self.raw_value(name))
            except ParamError:
                continue
            result[name] = str(value) if isinstance(value, Decimal) else value
        return result

    def changed_values(self) -> dict[str, Any]:
        """Only the values that differ from the defaults (what a run needs to be told)."""
        values = self.values()
        return {n: v for n, v in values.items() if v != _plain(self.params[n].default)}

    def reset(self) -> None:
        for name, param in self.params.items():
            self.set_value(name, param.default)


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def _bound(value: object, missing: int, limit: int) -> int:
    if value is None:
        return missing
    number: int = int(value)  # type: ignore[call-overload]
    return max(min(number, limit), -limit)


def _decimals(param: Param[Any]) -> int:
    """Enough decimals for the default, the bounds and the step (2 at least, 6 at most)."""
    places = 2
    for value in (param.default, param.minimum, param.maximum, param.step):
        if isinstance(value, float) and math.isfinite(value):
            text = repr(value)
            if "." in text and "e" not in text:
                places = max(places, len(text.split(".")[1]))
    return min(places, 6)


def _float_step(param: Param[Any]) -> float:
    magnitude = abs(float(param.default)) or 1.0
    return 10 ** math.floor(math.log10(magnitude)) / 10 if magnitude >= 1 else 0.01


def _tooltip(param: Param[Any]) -> str:
    parts = [param.help or param.name, f"type: {param.kind.__name__}, default {param.default}"]
    if param.choices is not None:
        parts.append("one of: " + ", ".join(map(str, param.choices)))
    elif param.minimum is not None or param.maximum is not None:
        low = "" if param.minimum is None else param.minimum
        high = "" if param.maximum is None else param.maximum
        parts.append(f"range: {low} .. {high}")
    return "\n".join(parts)
