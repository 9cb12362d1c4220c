"""The editor's tests: a panel on a temp workspace, and strategy texts good and bad."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.gui.panels.editor_panel import EditorPanel
from strategies.template import template


@pytest.fixture
def panel(make_ctx, qtbot) -> Iterator[EditorPanel]:
    made = EditorPanel(make_ctx())
    made.resize(1200, 800)
    made.show()
    yield made
    for editor in made.files:  # closing would ask about unsaved edits: nobody to answer
        editor.document().setModified(False)
    made.close()
    made.deleteLater()


@pytest.fixture
def write_strategy(workspace) -> Callable[[str, str], Path]:
    """Write `text` as the workspace strategy `name`.py."""

    def write(name: str, text: str) -> Path:
        workspace.strategies_dir.mkdir(parents=True, exist_ok=True)
        path = workspace.strategies_dir / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def template_with(name: str, old: str, new: str) -> str:
    """The `artha strategies new` template of `name` with one piece of it replaced."""
    text = template(name)
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


def big_strategy(lines: int = 300) -> str:
    """A realistic strategy of `lines` lines: the template plus helper methods."""
    out = template("big_one")
    i = 0
    while out.count("\n") < lines:
        out += (
            f"\n    def helper_{i}(self, bar: BarView) -> float:\n"
            f'        """Helper {i}: a calculation over the last bar."""\n'
            f"        value = float(self.data.close[-1]) * {i + 1} / (1 + {i})\n"
            f"        if value > {i * 10} and self.position.is_flat:\n"
            f"            return value - {i}\n"
            "        return value\n"
        )
        i += 1
    return "\n".join(out.splitlines()[:lines]) + "\n"
