"""Python colours: each kind of token gets its colour, strings and comments win over words
inside them, and a triple-quoted string is carried over lines."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextDocument

from app.gui.editor.colours import DARK, LIGHT, EditorColours
from app.gui.editor.highlighter import PythonHighlighter


def colours_of(text: str, colours: EditorColours = DARK) -> list[dict[str, str]]:
    """Per line: each coloured piece of text -> its colour name."""
    document = QTextDocument()
    highlighter = PythonHighlighter(document, colours)
    document.setPlainText(text.removesuffix("\n"))
    highlighter.rehighlight()
    lines = []
    block = document.firstBlock()
    while block.isValid():
        pieces = {}
        for piece in block.layout().formats():
            word = block.text()[piece.start : piece.start + piece.length]
            pieces[word] = piece.format.foreground().color().name()
        lines.append(pieces)
        block = block.next()
    return lines


@pytest.mark.usefixtures("qapp")
@pytest.mark.parametrize("colours", [DARK, LIGHT])
def test_words_get_their_colours(colours: EditorColours) -> None:
    text = (
        "@staticmethod\n"
        "def helper(self, n=0x1F, rate=2.5e-3):\n"
        "    return sma(self.data.close, len(n)) if n else None  # why\n"
    )
    first, second, third = colours_of(text, colours)
    assert first["@staticmethod"] == colours.decorator
    assert second["def"] == colours.keyword
    assert second["helper"] == colours.definition
    assert second["self"] == colours.self_word
    assert second["0x1F"] == colours.number and second["2.5e-3"] == colours.number
    assert third["sma"] == colours.sdk
    assert third["len"] == colours.builtin
    assert third["None"] == colours.keyword
    assert third["# why"] == colours.comment


@pytest.mark.usefixtures("qapp")
def test_strings_hide_words_and_hashes() -> None:
    (line,) = colours_of("x = f'if # not a comment' + \"it's\"  # real\n")
    assert line["f'if # not a comment'"] == DARK.string
    assert line['"it\'s"'] == DARK.string
    assert line["# real"] == DARK.comment
    assert "if" not in line


@pytest.mark.usefixtures("qapp")
def test_a_triple_quoted_string_spans_lines() -> None:
    lines = colours_of('x = """start\nclass inside # no\nend""" + 1\nclass After:\n')
    assert lines[0]['"""start'] == DARK.string
    assert lines[1] == {"class inside # no": DARK.string}
    assert lines[2]['end"""'] == DARK.string and lines[2]["1"] == DARK.number
    assert lines[3]["class"] == DARK.keyword


@pytest.mark.usefixtures("qapp")
def test_a_keyword_argument_named_like_a_builtin_is_not_the_builtin() -> None:
    (line,) = colours_of("fast = Param(12, min=2, max=200)\n")
    assert "min" not in line and "max" not in line
    assert line["Param"] == DARK.sdk
