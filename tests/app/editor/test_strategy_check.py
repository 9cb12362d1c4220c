""" "Check": the real loader, the declared parameters and init() on synthetic bars, every
failure at the author's line and never an exception out of the checker."""

from __future__ import annotations

from pathlib import Path

from app.gui.editor.checks import Severity
from app.gui.editor.strategy_check import CheckRequest, check_strategy
from strategies.template import template
from tests.app.editor.conftest import line_of, template_with


def check(text: str, tmp_path: Path, name: str = "ema_trend"):
    path = tmp_path / f"{name}.py"
    path.write_text("# the saved file differs: the editor's text is what is checked\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return check_strategy(CheckRequest(text, path), scratch)


def only_error(outcome):
    errors = [d for d in outcome.diagnostics if d.severity is Severity.ERROR]
    assert len(errors) == 1, outcome.diagnostics
    return errors[0]


def test_the_template_loads_with_its_parameters(tmp_path) -> None:
    outcome = check(template("ema_trend"), tmp_path)
    assert outcome.ok, outcome.summary
    assert outcome.strategy is not None and outcome.strategy.__name__ == "EmaTrend"
    assert [p.name for p in outcome.params] == ["fast", "slow", "quantity", "stop"]
    assert "EmaTrend loads" in outcome.summary


def test_a_syntax_error_stops_before_loading(tmp_path) -> None:
    text = template_with("ema_trend", "    def init(self) -> None:", "    def init(self) -> None")
    outcome = check(text, tmp_path)
    assert not outcome.ok and outcome.strategy is None
    assert only_error(outcome).line == line_of(text, "def init(self) -> None")


def test_an_import_error_is_at_the_import_line(tmp_path) -> None:
    text = template_with(
        "ema_trend",
        "from strategies.sdk import",
        "import no_such_package_xyz\nfrom strategies.sdk import",
    )
    outcome = check(text, tmp_path)
    error = only_error(outcome)
    assert error.source == "load"
    assert error.line == line_of(text, "import no_such_package_xyz")
    assert "no_such_package_xyz" in error.message
    assert "scratch" not in outcome.summary  # messages name the user's file, not the copy
    assert str(tmp_path / "ema_trend.py") in outcome.summary


def test_a_bad_parameter_declaration_is_at_its_line(tmp_path) -> None:
    text = template_with("ema_trend", "Param(26, min=3,", "Param(1, min=3,")
    outcome = check(text, tmp_path)
    error = only_error(outcome)
    assert error.line == line_of(text, "slow = Param(1, min=3")
    assert "slow" in error.message and ">= 3" in error.message


def test_a_strategy_raising_in_init_is_at_the_raising_line(tmp_path) -> None:
    text = template_with(
        "ema_trend",
        '        slow = self.I(ema, self.data.close, self.slow, name="slow ema")',
        '        slow = self.I(ema, self.data.close, self.slow, name="slow ema")\n'
        '        raise ValueError("no good idea yet")',
    )
    outcome = check(text, tmp_path)
    error = only_error(outcome)
    assert error.source == "init"
    assert error.line == line_of(text, "raise ValueError")
    assert "no good idea yet" in error.message and "in init()" in error.message


def test_a_handler_raising_on_a_bar_is_reported_too(tmp_path) -> None:
    text = template_with(
        "ema_trend",
        "        if self.position.is_flat:",
        "        1 / 0\n        if self.position.is_flat:",
    )
    outcome = check(text, tmp_path)
    error = only_error(outcome)
    assert error.line == line_of(text, "1 / 0")
    assert "ZeroDivisionError" in error.message


def test_a_file_exiting_while_imported_is_caught(tmp_path) -> None:
    text = "import sys\nsys.exit(3)\n"
    outcome = check(text, tmp_path)
    error = only_error(outcome)
    assert error.line == 2 and "sys.exit" in error.message


def test_a_file_without_a_strategy_says_so(tmp_path) -> None:
    outcome = check("x = 1\n", tmp_path)
    assert "exactly one Strategy subclass" in only_error(outcome).message


def test_unsaved_text_and_reference_strategies(tmp_path) -> None:
    unsaved = check_strategy(CheckRequest(template("fresh"), None), tmp_path)
    assert unsaved.ok, unsaved.summary
    shipped = Path(__file__).resolve().parents[3] / "strategies" / "reference" / "pairs_trading.py"
    reference = check_strategy(CheckRequest(shipped.read_text(), shipped, "pairs_trading"))
    assert reference.ok, reference.summary  # multi-instrument: tried on a pair
    assert reference.strategy is not None and reference.strategy.multi_instrument
