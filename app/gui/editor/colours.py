"""The editor's colours in each theme: syntax, gutter, current line and problem marks.

Dark follows One Dark, light follows GitHub's light scheme: both keep text at a readable
contrast on their background, and errors (red) and warnings (amber) tell apart in each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EditorColours:
    background: str
    text: str
    gutter_background: str
    gutter_text: str
    gutter_current: str
    current_line: str
    selection: str
    keyword: str
    builtin: str
    self_word: str
    sdk: str
    string: str
    comment: str
    number: str
    decorator: str
    definition: str
    error: str
    warning: str
    find_match: str


DARK = EditorColours(
    background="#1b1d23",
    text="#d7dae0",
    gutter_background="#1b1d23",
    gutter_text="#5c6370",
    gutter_current="#c8ccd4",
    current_line="#262a33",
    selection="#3a4a66",
    keyword="#c678dd",
    builtin="#56b6c2",
    self_word="#e06c75",
    sdk="#e5c07b",
    string="#98c379",
    comment="#7f8896",
    number="#d19a66",
    decorator="#61afef",
    definition="#61afef",
    error="#ff5f56",
    warning="#e5a50a",
    find_match="#5c4d1a",
)

LIGHT = EditorColours(
    background="#ffffff",
    text="#1f2328",
    gutter_background="#f6f8fa",
    gutter_text="#8c959f",
    gutter_current="#1f2328",
    current_line="#f2f6fc",
    selection="#b6d3fb",
    keyword="#cf222e",
    builtin="#0550ae",
    self_word="#953800",
    sdk="#8250df",
    string="#0a3069",
    comment="#6e7781",
    number="#0550ae",
    decorator="#6639ba",
    definition="#6639ba",
    error="#d1242f",
    warning="#b35900",
    find_match="#fff3a3",
)


def colours_for(theme: str) -> EditorColours:
    """The colours of 'dark' or 'light' (anything else: light, as the app defaults)."""
    return DARK if theme == "dark" else LIGHT
