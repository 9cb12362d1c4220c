"""Find and replace: matches counted and marked, next/previous wrap, the case option, replace
one and replace all (one undo)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.gui.editor.code_editor import CodeEditor
from app.gui.editor.find_bar import FindBar

TEXT = "fast = 1\nslow = FAST + fast\nprint(fast)\n"


def make(qtbot) -> tuple[CodeEditor, FindBar]:
    editor = CodeEditor("light")
    bar = FindBar()
    for widget in (editor, bar):
        qtbot.addWidget(widget)
        widget.show()
    editor.setPlainText(TEXT)
    bar.set_editor(editor)
    return editor, bar


def test_typing_counts_and_marks_matches_with_the_case_option(qtbot) -> None:
    _editor, bar = make(qtbot)
    bar.open_find()
    qtbot.keyClicks(bar.find_box, "fast")
    assert bar.count_label.text() == "4 matches"
    assert len(bar.matches()) == 4
    qtbot.mouseClick(bar.case_box, Qt.MouseButton.LeftButton)
    assert bar.count_label.text() == "3 matches"
    qtbot.keyClicks(bar.find_box, "er")
    assert bar.count_label.text() == "0 matches"
    assert "border" in bar.find_box.styleSheet()  # nothing found: the field says so


def test_enter_and_shift_enter_move_between_matches_and_wrap(qtbot) -> None:
    editor, bar = make(qtbot)
    bar.open_find()
    qtbot.keyClicks(bar.find_box, "fast")
    bar.case_box.setChecked(True)
    lines = []
    for _ in range(4):
        qtbot.keyPress(bar.find_box, Qt.Key.Key_Return)
        lines.append(editor.current_line())
    assert lines == [1, 2, 3, 1]  # wraps round to the first
    qtbot.keyPress(bar.find_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert editor.current_line() == 3
    qtbot.keyPress(bar.find_box, Qt.Key.Key_Escape)
    assert not bar.isVisible()


def test_replace_one_then_all_as_one_undo(qtbot) -> None:
    editor, bar = make(qtbot)
    bar.open_find(replace=True)
    assert bar.replacing
    qtbot.keyClicks(bar.find_box, "fast")
    bar.case_box.setChecked(True)
    qtbot.keyClicks(bar.replace_box, "quick")
    bar.find_next()
    bar.replace_one()
    assert editor.toPlainText().startswith("quick = 1")
    assert bar.replace_all() == 2
    assert editor.toPlainText() == "quick = 1\nslow = FAST + quick\nprint(quick)\n"
    editor.undo()
    assert editor.toPlainText() == "quick = 1\nslow = FAST + fast\nprint(fast)\n"


def test_a_read_only_editor_is_not_changed(qtbot) -> None:
    editor, bar = make(qtbot)
    editor.setReadOnly(True)
    bar.open_find(replace=True)
    qtbot.keyClicks(bar.find_box, "fast")
    qtbot.keyClicks(bar.replace_box, "x")
    assert bar.replace_all() == 0
    assert editor.toPlainText() == TEXT
