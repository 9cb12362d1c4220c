"""A strategy's parameter form, generated from its declared `Param`s.

No UI code per strategy: each parameter becomes a field by its type (a check box for bools,
a list for choices, a text field otherwise), its help and range become the tooltip, and
every value is checked by the parameter's own `coerce` (the rule the CLI's `--param` and the
engine apply), so what the form accepts is exactly what a run accepts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from engine.strategy.params import Param, ParamError, declared_params

INVALID_STYLE = "QLineEdit { border: 1px solid #e5534b; }"


class ParamForm(QWidget):
    """Fields for one strategy class's parameters; `values()` gives the checked values,
    `errors()` what is wrong (empty when every field holds a valid value)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.params: dict[str, Param[Any]] = {}
        self.fields: dict[str, QWidget] = {}
        self._errors: dict[str, str] = {}
        self.empty = QLabel("This strategy declares no parameters.")

    def set_strategy(self, cls: type | None, values: dict[str, Any] | None = None) -> None:
        """Rebuild the fields for `cls` (None: no strategy), filled with `values` where given
        and the declared defaults elsewhere."""
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.params = declared_params(cls) if cls is not None else {}
        self.fields = {}
        self._errors = {}
        self.empty = QLabel("This strategy declares no parameters.")
        if cls is not None and not self.params:
            self.layout_.addRow(self.empty)
        for name, param in self.params.items():
            field = self._field(param)
            self.fields[name] = field
            label = QLabel(name.replace("_", " "))
            label.setToolTip(field.toolTip())
            self.layout_.addRow(label, field)
        for name, value in (values or {}).items():
            if name in self.fields:
                self._show(name, value)
            else:
                self._errors[name] = (
                    f"{cls.__name__ if cls else 'the strategy'} has no parameter {name!r}"
                )
        self._check_all()

    def _field(self, param: Param[Any]) -> QWidget:
        tip = _tooltip(param)
        widget: QWidget
        if param.kind is bool:
            box = QCheckBox()
            box.setChecked(bool(param.default))
            box.toggled.connect(lambda _on, n=param.name: self._check(n))
            widget = box
        elif param.choices is not None:
            combo = QComboBox()
            for choice in param.choices:
                combo.addItem(str(choice), choice)
            combo.setCurrentIndex(list(param.choices).index(param.default))
            combo.currentIndexChanged.connect(lambda _i, n=param.name: self._check(n))
            widget = combo
        else:
            edit = QLineEdit(_text(param.default))
            edit.setPlaceholderText(_text(param.default))
            edit.textChanged.connect(lambda _t, n=param.name: self._check(n))
            widget = edit
        widget.setObjectName(f"param.{param.name}")
        widget.setMinimumWidth(220)
        widget.setToolTip(tip)
        return widget

    def _show(self, name: str, value: Any) -> None:
        field = self.fields[name]
        if isinstance(field, QCheckBox):
            field.setChecked(str(value).strip().lower() in ("1", "true", "yes", "on"))
        elif isinstance(field, QComboBox):
            index = field.findText(_text(value))
            if index >= 0:
                field.setCurrentIndex(index)
        elif isinstance(field, QLineEdit):
            field.setText(_text(value))

    def _raw(self, name: str) -> object:
        field = self.fields[name]
        if isinstance(field, QCheckBox):
            return field.isChecked()
        if isinstance(field, QComboBox):
            return field.currentData()
        assert isinstance(field, QLineEdit)
        return field.text()

    def _check(self, name: str) -> None:
        param = self.params[name]
        try:
            param.coerce(self._raw(name))
        except ParamError as exc:
            self._errors[name] = str(exc)
        else:
            self._errors.pop(name, None)
        field = self.fields[name]
        if isinstance(field, QLineEdit):
            field.setStyleSheet(INVALID_STYLE if name in self._errors else "")
            field.setToolTip(self._errors.get(name) or _tooltip(param))
        self.changed.emit()

    def _check_all(self) -> None:
        for name in self.fields:
            self._check(name)
        self.changed.emit()

    def errors(self) -> list[str]:
        return list(self._errors.values())

    def values(self) -> dict[str, Any]:
        """The checked values (parameters whose field is invalid are left out)."""
        result: dict[str, Any] = {}
        for name, param in self.params.items():
            if name in self._errors:
                continue
            result[name] = param.coerce(self._raw(name))
        return result

    def set_text(self, name: str, text: str) -> None:
        """Type `text` into a parameter's field (the editor's pre-fill, tests)."""
        self._show(name, text)


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _tooltip(param: Param[Any]) -> str:
    parts = [param.help] if param.help else []
    kind = param.kind.__name__
    if param.choices is not None:
        parts.append(f"{kind}, one of {', '.join(map(_text, param.choices))}")
    elif param.minimum is not None or param.maximum is not None:
        low = "" if param.minimum is None else _text(param.minimum)
        high = "" if param.maximum is None else _text(param.maximum)
        parts.append(f"{kind}, {low}..{high}")
    else:
        parts.append(kind)
    parts.append(f"default {_text(param.default)}")
    return "\n".join(parts)
