"""The parameter form: a field per declared Param, of its type, bounded by its range, with
its help as the tooltip; values the parameter refuses are refused in the form."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from app.gui.editor.param_form import ParamForm
from engine.strategy.base import Strategy
from engine.strategy.params import Param


class EveryKind(Strategy):
    length = Param(20, min=2, max=200, help="bars in the average")
    width = Param(2.5, min=0.5, max=4.0, step=0.25, help="band width in deviations")
    average = Param("sma", choices=("sma", "ema"), help="which average")
    long_only = Param(True, help="never go short")
    risk = Param(Decimal("1.5"), min=Decimal("0.1"), max=Decimal("5"), help="rupees at risk")
    label = Param("base", help="a tag for the orders")


def make(qtbot) -> ParamForm:
    form = ParamForm()
    qtbot.addWidget(form)
    form.show()
    form.set_strategy(EveryKind)
    return form


def test_each_type_gets_its_field_with_the_help_as_tooltip(qtbot) -> None:
    form = make(qtbot)
    kinds = {name: type(field) for name, field in form.fields.items()}
    assert kinds == {
        "length": QSpinBox,
        "width": QDoubleSpinBox,
        "average": QComboBox,
        "long_only": QCheckBox,
        "risk": QLineEdit,
        "label": QLineEdit,
    }
    assert "bars in the average" in form.fields["length"].toolTip()
    assert "range: 2 .. 200" in form.fields["length"].toolTip()
    assert form.values() == {
        "length": 20,
        "width": 2.5,
        "average": "sma",
        "long_only": True,
        "risk": "1.5",
        "label": "base",
    }
    assert form.changed_values() == {}


def test_a_spin_box_refuses_values_out_of_range(qtbot) -> None:
    form = make(qtbot)
    spin = form.fields["length"]
    assert isinstance(spin, QSpinBox)
    spin.selectAll()
    qtbot.keyClicks(spin, "999")
    assert spin.value() <= 200
    spin.selectAll()
    qtbot.keyClicks(spin, "35")
    assert form.values()["length"] == 35
    assert form.changed_values() == {"length": 35}
    width = form.fields["width"]
    assert isinstance(width, QDoubleSpinBox)
    assert (width.minimum(), width.maximum(), width.singleStep()) == (0.5, 4.0, 0.25)


def test_text_fields_go_through_the_parameter_own_checks(qtbot) -> None:
    form = make(qtbot)
    risk = form.fields["risk"]
    assert isinstance(risk, QLineEdit)
    risk.selectAll()
    qtbot.keyClicks(risk, "9")
    assert "risk" in form.errors() and "must be <= 5" in form.errors()["risk"]
    assert "risk" not in form.values()
    assert "border" in risk.styleSheet() and "must be <= 5" in risk.toolTip()
    risk.selectAll()
    qtbot.keyClicks(risk, "abc")
    assert "not a valid Decimal" in form.errors()["risk"]
    risk.selectAll()
    qtbot.keyClicks(risk, "2.25")
    assert form.errors() == {} and form.values()["risk"] == "2.25"


def test_choices_and_bools_and_reset(qtbot) -> None:
    form = make(qtbot)
    combo = form.fields["average"]
    box = form.fields["long_only"]
    assert isinstance(combo, QComboBox) and isinstance(box, QCheckBox)
    combo.setCurrentIndex(1)
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert form.changed_values() == {"average": "ema", "long_only": False}
    form.reset()
    assert form.changed_values() == {}


def test_no_strategy_and_no_parameters(qtbot) -> None:
    form = make(qtbot)
    form.set_strategy(None)
    assert form.fields == {} and form.values() == {}

    class Bare(Strategy):
        pass

    form.set_strategy(Bare)
    assert form.fields == {} and "declares no parameters" in form.empty.text()


def test_values_given_are_kept_where_the_declarations_accept_them(qtbot) -> None:
    form = make(qtbot)
    form.set_strategy(EveryKind, {"length": 50, "width": 99.0, "label": "mine", "gone": 1})
    assert form.changed_values() == {"length": 50, "label": "mine"}  # 99 is out of range
    assert form.raw_values()["average"] == "sma"
