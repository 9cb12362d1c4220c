"""The "Check" button: load the strategy through the real loader and run its `init` on a few
synthetic sessions, turning every failure into a `Diagnostic` at the author's line.

This executes the user's code, so the panel runs it on the job runner (a worker thread),
never on the GUI thread. Unsaved text is checked from a scratch copy of the file; messages
name the real file, not the copy.
"""

from __future__ import annotations

import functools
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.gui.editor.checks import Diagnostic, Severity, quick_check
from engine.backtest.config import BacktestConfig
from engine.backtest.runner import StrategyRuntimeError, run_backtest
from engine.data.bar_series import BarSeries
from engine.data.demo import generate_demo
from engine.strategy.base import Strategy
from engine.strategy.loader import StrategyLoadError, StrategyRef
from engine.strategy.params import ParamError, ParamSpec
from strategies.reference import REFERENCE_STRATEGIES

TRIAL_SESSIONS = 3  # synthetic 1-minute sessions init() and the handlers are tried on


@dataclass(frozen=True)
class CheckRequest:
    """What to check: the editor's text, the file it belongs to (None: not saved yet) and,
    for a shipped strategy, its reference name (loaded as its module)."""

    text: str
    path: Path | None
    reference: str = ""


@dataclass
class CheckOutcome:
    """What a check found: problems at their lines, and the class when it loaded."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    strategy: type[Strategy] | None = None
    params: list[ParamSpec] = field(default_factory=list)
    summary: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.strategy is not None and not any(
            d.severity is Severity.ERROR for d in self.diagnostics
        )


def check_strategy(request: CheckRequest, scratch: Path | None = None) -> CheckOutcome:
    """Syntax and pyflakes, then load, then declare parameters, then `init` on synthetic
    bars. Never raises for the strategy's faults: they are the outcome."""
    started = time.perf_counter()
    shown = str(request.path) if request.path is not None else "<unsaved>"
    outcome = CheckOutcome(diagnostics=quick_check(request.text, shown))
    if any(d.source == "syntax" for d in outcome.diagnostics):
        outcome.summary = "syntax error: fix it before the strategy can load"
    else:
        _load_and_try(request, scratch, outcome)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _load_and_try(request: CheckRequest, scratch: Path | None, outcome: CheckOutcome) -> None:
    if request.reference:
        module, class_name = REFERENCE_STRATEGIES[request.reference].split(":")
        ref = StrategyRef.of_module(module, class_name)
        copy: Path | None = None
    else:
        folder = scratch or Path(tempfile.mkdtemp(prefix="artha-editor-"))
        name = request.path.name if request.path is not None else "unsaved_strategy.py"
        copy = (folder / name).resolve()
        copy.write_text(request.text, encoding="utf-8")
        ref = StrategyRef.of_file(copy)
    real = str(request.path) if request.path is not None else "<unsaved>"

    def plain(message: str) -> str:
        return message.replace(str(copy), real) if copy is not None else message

    try:
        cls = ref.load()
    except StrategyLoadError as exc:
        line = _line_of(str(exc), copy) or _first_class_line(request.text)
        if "ParamError" in str(exc):  # raised by the class statement: point at the Param
            line = _declaration_line(request.text, str(exc)) or line
        message = plain(str(exc))
        outcome.diagnostics.append(_error(line, _after_location(message), "load"))
        outcome.summary = f"does not load: {message}"
        return
    except Exception as exc:  # the loader's contract is StrategyLoadError; be safe anyway
        outcome.diagnostics.append(_error(1, f"{type(exc).__name__}: {exc}", "load"))
        outcome.summary = f"does not load: {exc}"
        return
    try:
        outcome.params = cls.parameters()
        cls(None)  # every default through the declared ranges
    except ParamError as exc:
        line = _declaration_line(request.text, str(exc)) or _first_class_line(request.text)
        outcome.diagnostics.append(_error(line, str(exc), "parameters"))
        outcome.summary = f"parameters: {exc}"
        return
    problem = _try_run(cls, copy)
    if problem is not None:
        line, message = problem
        if line:  # the editor marks the line: the message need not name it again
            message = re.sub(r" at \S+:\d+ \(.*\)$", "", message, flags=re.S)
        outcome.diagnostics.append(
            _error(line or _first_class_line(request.text), plain(message), "init")
        )
        outcome.summary = plain(message)
        return
    outcome.strategy = cls
    count = len(outcome.params)
    outcome.summary = (
        f"{cls.__name__} loads, declares {count} parameter{'s' * (count != 1)} and runs "
        f"init() and its handlers on {TRIAL_SESSIONS} synthetic sessions"
    )


def _try_run(cls: type[Strategy], copy: Path | None) -> tuple[int, str] | None:
    """init() and the handlers on synthetic bars: (line, message) of a failure, or None."""
    series = _trial_bars()[: 2 if cls.multi_instrument else 1]
    try:
        run_backtest(cls, None, series, BacktestConfig(costs="none"))
    except StrategyRuntimeError as exc:
        return _line_of(str(exc), copy, " at ") or 0, str(exc)
    except Exception as exc:  # an engine refusal (bad order arguments...): say it plainly
        return 0, f"the trial run stopped: {type(exc).__name__}: {exc}"
    return None


@functools.cache
def _trial_bars() -> tuple[BarSeries, ...]:
    """Two synthetic instruments (a pair for multi-instrument strategies); made once."""
    return tuple(generate_demo(count=2, days=TRIAL_SESSIONS))


def _line_of(message: str, path: Path | None, before: str = "") -> int | None:
    """The line a message names in `path` (`path:12`)."""
    if path is None:
        return None
    found = re.search(re.escape(before + str(path)) + r":(\d+)", message)
    return int(found.group(1)) if found else None


def _after_location(message: str) -> str:
    """ "/x/y.py:12: importing ... raised" -> "importing ... raised": the gutter has the line."""
    found = re.match(r"^.*?\.py:\d+: (.*)$", message, re.S)
    return found.group(1) if found else message


def _declaration_line(text: str, message: str) -> int | None:
    """Where `name = Param(` is written, for a message "parameter name..."."""
    found = re.search(r"parameter (\w+)", message)
    if not found:
        return None
    pattern = re.compile(rf"^\s*{re.escape(found.group(1))}\s*=\s*Param\b")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _first_class_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("class "):
            return number
    return 1


def _error(line: int, message: str, source: str) -> Diagnostic:
    return Diagnostic(max(line, 1), 0, Severity.ERROR, message, source)
