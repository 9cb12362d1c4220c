"""Checks as you type: compile() and pyflakes, at their lines, fast enough to run per pause."""

from __future__ import annotations

import statistics
import time

from app.gui.editor.checks import Severity, quick_check
from strategies.template import template
from tests.app.editor.conftest import big_strategy, line_of, template_with


def test_the_template_is_clean() -> None:
    assert quick_check(template("ema_trend")) == []


def test_a_syntax_error_is_one_error_at_its_line() -> None:
    text = template_with(
        "ema_trend", "def leave(self, bar: BarView) -> None:", "def leave(self, bar:"
    )
    found = quick_check(text)
    assert len(found) == 1
    assert found[0].severity is Severity.ERROR
    assert found[0].source == "syntax"
    assert found[0].line == line_of(text, "def leave(self, bar:")


def test_a_bad_indentation_is_named() -> None:
    found = quick_check("def f():\nreturn 1\n")
    assert found[0].line == 2 and "IndentationError" in found[0].message


def test_an_error_compile_finds_but_the_parser_does_not() -> None:
    found = quick_check("x = 1\nreturn x\n")  # 'return' outside function: compile's check
    assert found and found[0].line == 2 and found[0].severity is Severity.ERROR


def test_pyflakes_findings_are_errors_or_warnings_at_their_lines() -> None:
    text = template_with(
        "ema_trend", "            self.close_position()", "            self.close_position(reason)"
    ).replace("from strategies.sdk import", "import os\nfrom strategies.sdk import")
    found = quick_check(text)
    by_message = {d.message: d for d in found}
    undefined = by_message["undefined name 'reason'"]
    assert undefined.severity is Severity.ERROR
    assert undefined.line == line_of(text, "close_position(reason)")
    assert undefined.column == text.splitlines()[undefined.line - 1].index("reason")
    unused = by_message["'os' imported but unused"]
    assert unused.severity is Severity.WARNING and unused.line == line_of(text, "import os")


def test_a_null_byte_is_an_error_not_a_crash() -> None:
    found = quick_check("x = 1\x00\n")
    assert found and found[0].severity is Severity.ERROR


def test_a_300_line_strategy_checks_within_50_ms() -> None:
    text = big_strategy(300)
    assert text.count("\n") == 300
    quick_check(text)  # the first run imports pyflakes' parts
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        quick_check(text)
        runs.append(time.perf_counter() - started)
    assert statistics.median(runs) < 0.050, runs
