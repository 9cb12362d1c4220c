"""Checks as you type: `compile()` then pyflakes over the editor's text, as `Diagnostic`s.

Both run on the GUI thread after a pause in typing, so they must stay cheap (a few ms on a
300-line strategy): the text is parsed once into an AST that both compile and pyflakes use.
Nothing here imports or runs the user's code; that is `strategy_check`'s job.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import StrEnum

from pyflakes import checker, messages


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem at a line (1-based) and column (0-based) of the text; `source` says which
    check found it (syntax, pyflakes, load, init)."""

    line: int
    column: int
    severity: Severity
    message: str
    source: str

    def describe(self) -> str:
        return f"{self.severity.value}: {self.message} ({self.source})"


# pyflakes findings that fail at run time: shown as errors, the rest as warnings
_ERRORS: tuple[type[messages.Message], ...] = (
    messages.UndefinedName,
    messages.UndefinedLocal,
    messages.UndefinedExport,
    messages.DuplicateArgument,
    messages.ReturnOutsideFunction,
    messages.YieldOutsideFunction,
    messages.ContinueOutsideLoop,
    messages.BreakOutsideLoop,
    messages.DefaultExceptNotLast,
    messages.TwoStarredExpressions,
    messages.TooManyExpressionsInStarredAssignment,
    messages.ForwardAnnotationSyntaxError,
    messages.PercentFormatInvalidFormat,
    messages.StringDotFormatInvalidFormat,
)


def quick_check(text: str, filename: str = "<strategy>") -> list[Diagnostic]:
    """Syntax errors (from the parser and from compile) or, when the text compiles,
    pyflakes' findings; sorted by line."""
    try:
        tree = ast.parse(text, filename)
        compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return [syntax_diagnostic(exc)]
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        return [Diagnostic(1, 0, Severity.ERROR, str(exc), "syntax")]
    found = checker.Checker(tree, filename=filename)
    result = [
        Diagnostic(
            max(int(m.lineno), 1),
            max(int(getattr(m, "col", 0) or 0), 0),
            Severity.ERROR if isinstance(m, _ERRORS) else Severity.WARNING,
            m.message % m.message_args,
            "pyflakes",
        )
        for m in found.messages
    ]
    return sorted(result, key=lambda d: (d.line, d.column))


def syntax_diagnostic(exc: SyntaxError, source: str = "syntax") -> Diagnostic:
    """A SyntaxError at its line; its offset is 1-based (and may be missing)."""
    line = max(int(exc.lineno or 1), 1)
    column = max(int(exc.offset or 1) - 1, 0)
    name = type(exc).__name__  # IndentationError / TabError say more than "SyntaxError"
    return Diagnostic(line, column, Severity.ERROR, f"{name}: {exc.msg}", source)
