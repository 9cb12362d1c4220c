"""Python syntax highlighting for the editor, with the strategy SDK's names set apart.

Words (keywords, builtins, self, SDK names, numbers, decorators, the names after def and
class) are coloured by regular expressions; strings and comments by a small scanner run
after them, so a '#' inside a string is not a comment and a keyword inside a string is not
coloured. A triple-quoted string left open at a line's end is carried to the next lines by
the block state.
"""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Iterable

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from app.gui.editor.colours import EditorColours
from app.gui.editor.completion import SDK_NAMES

NORMAL, IN_SINGLE_TRIPLE, IN_DOUBLE_TRIPLE = 0, 1, 2
_DELIMITER = {IN_SINGLE_TRIPLE: "'''", IN_DOUBLE_TRIPLE: '"""'}
_STRING_PREFIX = set("rRbBfFuU")


def _words(names: Iterable[str]) -> str:
    return r"\b(?:" + "|".join(sorted(names, key=len, reverse=True)) + r")\b"


_BUILTINS = [n for n in dir(builtins) if not n.startswith("_") and n not in keyword.kwlist]
_NUMBER = (
    r"\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|"
    r"\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?[jJ]?)\b|(?<![\w.])\.\d+(?:[eE][+-]?\d+)?"
)


class PythonHighlighter(QSyntaxHighlighter):
    """Colours a QTextDocument as Python; `set_colours` follows the theme."""

    def __init__(self, document: QTextDocument, colours: EditorColours) -> None:
        super().__init__(document)
        self._rules: list[tuple[QRegularExpression, int, QTextCharFormat]] = []
        self._string = QTextCharFormat()
        self._comment = QTextCharFormat()
        self.set_colours(colours)

    def set_colours(self, colours: EditorColours) -> None:
        def fmt(colour: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
            made = QTextCharFormat()
            made.setForeground(QColor(colour))
            if bold:
                made.setFontWeight(QFont.Weight.Bold)
            made.setFontItalic(italic)
            return made

        self._rules = [
            # a builtin's name used as a keyword argument (min=2) is not the builtin
            (QRegularExpression(_words(_BUILTINS) + r"(?!\s*=(?!=))"), 0, fmt(colours.builtin)),
            (QRegularExpression(_words(SDK_NAMES)), 0, fmt(colours.sdk)),
            (QRegularExpression(_words(keyword.kwlist)), 0, fmt(colours.keyword, bold=True)),
            (QRegularExpression(r"\b(?:self|cls)\b"), 0, fmt(colours.self_word, italic=True)),
            (QRegularExpression(_NUMBER), 0, fmt(colours.number)),
            (QRegularExpression(r"\b(?:def|class)\s+(\w+)"), 1, fmt(colours.definition)),
            (QRegularExpression(r"^\s*(@[\w.]+)"), 1, fmt(colours.decorator)),
        ]
        self._string = fmt(colours.string)
        self._comment = fmt(colours.comment, italic=True)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for pattern, group, form in self._rules:
            found = pattern.globalMatch(text)
            while found.hasNext():
                match = found.next()
                self.setFormat(match.capturedStart(group), match.capturedLength(group), form)
        self.setCurrentBlockState(NORMAL)
        self._strings_and_comments(text)

    def _strings_and_comments(self, text: str) -> None:
        n = len(text)
        i = 0
        state = self.previousBlockState()
        if state in _DELIMITER:
            end = _end_of(text, 0, _DELIMITER[state])
            if end < 0:
                self.setFormat(0, n, self._string)
                self.setCurrentBlockState(state)
                return
            self.setFormat(0, end, self._string)
            i = end
        while i < n:
            ch = text[i]
            if ch == "#":
                self.setFormat(i, n - i, self._comment)
                return
            if ch in "'\"":
                start = i
                while start > 0 and i - start < 2 and text[start - 1] in _STRING_PREFIX:
                    start -= 1
                if (
                    start < i
                    and start > 0
                    and (text[start - 1].isalnum() or text[start - 1] == "_")
                ):
                    start = i  # "self'" is a name then a quote, not a prefix
                if text.startswith(ch * 3, i):
                    delimiter = ch * 3
                    end = _end_of(text, i + 3, delimiter)
                    if end < 0:
                        self.setFormat(start, n - start, self._string)
                        self.setCurrentBlockState(
                            IN_SINGLE_TRIPLE if ch == "'" else IN_DOUBLE_TRIPLE
                        )
                        return
                else:
                    end = _end_of(text, i + 1, ch)
                    end = n if end < 0 else end
                self.setFormat(start, end - start, self._string)
                i = end
                continue
            i += 1


def _end_of(text: str, position: int, delimiter: str) -> int:
    """The index just past `delimiter` from `position` (skipping backslash escapes), or -1."""
    n = len(text)
    k = position
    while k < n:
        if text[k] == "\\":
            k += 2
            continue
        if text.startswith(delimiter, k):
            return k + len(delimiter)
        k += 1
    return -1
