"""The code editor driven by keys: indentation, comments, problem marks, go to line and
completion (the SDK's names at once, jedi's later, typing never waiting)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor

from app.gui.editor.checks import Diagnostic, Severity, quick_check
from app.gui.editor.code_editor import CodeEditor
from app.gui.editor.colours import DARK, LIGHT
from app.gui.editor.completion import JediCompleter

CTRL = Qt.KeyboardModifier.ControlModifier


def make_editor(qtbot, text: str = "") -> CodeEditor:
    editor = CodeEditor("dark")
    qtbot.addWidget(editor)
    editor.resize(800, 500)
    editor.show()
    editor.setPlainText(text)
    editor.setFocus()
    return editor


def test_enter_keeps_the_indent_and_deepens_it_after_a_colon(qtbot) -> None:
    editor = make_editor(qtbot)
    qtbot.keyClicks(editor, "class A(Strategy):  # a comment")
    qtbot.keyPress(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "def init(self) -> None:")
    qtbot.keyPress(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "x = 1")
    qtbot.keyPress(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "return x")
    qtbot.keyPress(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "y = 2")
    assert editor.toPlainText().splitlines() == [
        "class A(Strategy):  # a comment",
        "    def init(self) -> None:",
        "        x = 1",
        "        return x",
        "    y = 2",
    ]


def test_tab_inserts_four_spaces_and_backspace_removes_them(qtbot) -> None:
    editor = make_editor(qtbot)
    qtbot.keyPress(editor, Qt.Key.Key_Tab)
    qtbot.keyClicks(editor, "ab")
    qtbot.keyPress(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "    ab  "
    editor.setPlainText("        x")
    cursor = editor.textCursor()
    cursor.setPosition(8)
    editor.setTextCursor(cursor)
    qtbot.keyPress(editor, Qt.Key.Key_Backspace)
    assert editor.toPlainText() == "    x"


def test_tab_and_shift_tab_indent_and_dedent_a_selection_as_one_undo(qtbot) -> None:
    editor = make_editor(qtbot, "a = 1\n\n  b = 2\nc = 3")
    cursor = editor.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(len("a = 1\n\n  b"), QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    qtbot.keyPress(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "    a = 1\n\n      b = 2\nc = 3"
    qtbot.keyPress(editor, Qt.Key.Key_Backtab)
    qtbot.keyPress(editor, Qt.Key.Key_Backtab)
    assert editor.toPlainText() == "a = 1\n\nb = 2\nc = 3"
    editor.undo()
    assert editor.toPlainText() == "a = 1\n\n  b = 2\nc = 3"


def test_ctrl_slash_comments_and_uncomments_lines(qtbot) -> None:
    editor = make_editor(qtbot, "def f():\n    x = 1\n\n    return x\n")
    editor.selectAll()
    qtbot.keyPress(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText() == "# def f():\n#     x = 1\n\n#     return x\n"
    qtbot.keyPress(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText() == "def f():\n    x = 1\n\n    return x\n"
    editor.go_to_line(2)
    qtbot.keyPress(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText().splitlines()[1] == "    # x = 1"


def test_go_to_line_clamps_to_the_document(qtbot) -> None:
    editor = make_editor(qtbot, "a\nb\nc\n")
    editor.go_to_line(3)
    assert editor.current_line() == 3
    editor.go_to_line(99)
    assert editor.current_line() == 4
    editor.go_to_line(-5)
    assert editor.current_line() == 1


def test_problems_are_underlined_with_their_message_on_hover(qtbot) -> None:
    text = "import os\nx = undefined_name\n"
    editor = make_editor(qtbot, text)
    editor.set_diagnostics(quick_check(text))
    waves = [
        s
        for s in editor.extraSelections()
        if s.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
    ]
    assert {w.cursor.selectedText() for w in waves} == {"import", "undefined_name"}
    colours = {w.cursor.selectedText(): w.format.underlineColor().name() for w in waves}
    assert colours == {"import": DARK.warning, "undefined_name": DARK.error}
    assert "undefined name 'undefined_name'" in editor.problem_text(2)
    assert editor.problem_text(3) == ""
    second_line = editor.cursorRect(QTextCursor(editor.document().findBlockByNumber(1)))
    assert editor.line_at_y(second_line.center().y()) == 2  # where the hover text is looked up


def test_a_diagnostic_past_the_line_end_marks_the_line(qtbot) -> None:
    editor = make_editor(qtbot, "x = (1,\n")
    editor.set_diagnostics([Diagnostic(1, 40, Severity.ERROR, "boom", "syntax")])
    editor.set_diagnostics([Diagnostic(9, 0, Severity.ERROR, "past the end", "syntax")])
    assert editor.problem_text(9) == "error: past the end (syntax)"  # kept, not drawn


def test_theme_switch_repaints(qtbot) -> None:
    editor = make_editor(qtbot, "x = 1\n")
    editor.apply_theme("light")
    assert editor.palette().base().color().name() == LIGHT.background
    assert editor.highlighter is not None
    editor.apply_theme("dark")
    assert editor.palette().base().color().name() == DARK.background


def test_a_dot_after_self_offers_the_sdk_members_at_once(qtbot) -> None:
    editor = make_editor(qtbot, "class A(Strategy):\n    def init(self):\n        ")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(editor.completion_shown, timeout=1000) as shown:
        qtbot.keyClicks(editor, "self.")
    assert {"buy", "sell", "position", "data", "I", "on", "close_position"} <= set(shown.args[0])
    assert editor.completer.popup().isVisible()
    qtbot.keyClicks(editor, "cl")
    assert editor.completer.completionPrefix() == "cl"
    qtbot.keyPress(editor.completer.popup(), Qt.Key.Key_Return)
    assert editor.toPlainText().endswith("self.close_position")


def test_ctrl_space_offers_sdk_names_for_a_prefix(qtbot) -> None:
    editor = make_editor(qtbot, "x = cro")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(editor.completion_shown, timeout=1000) as shown:
        qtbot.keyPress(editor, Qt.Key.Key_Space, CTRL)
    assert "crossed_above" in shown.args[0] and "crossed_below" in shown.args[0]


def test_jedi_answers_in_the_background_and_typing_never_waits(qtbot) -> None:
    jedi = JediCompleter()
    editor = make_editor(qtbot, "import collections\ncollections.Ord")
    editor.set_jedi(jedi)
    editor.moveCursor(QTextCursor.MoveOperation.End)
    started = time.perf_counter()
    qtbot.keyPress(editor, Qt.Key.Key_Space, CTRL)  # jedi may still be warming: no wait
    qtbot.keyClicks(editor, "e")
    qtbot.keyPress(editor, Qt.Key.Key_Backspace)
    assert time.perf_counter() - started < 0.5
    with qtbot.waitSignal(jedi.completed, timeout=60_000) as answer:
        qtbot.keyPress(editor, Qt.Key.Key_Space, CTRL)
    assert "OrderedDict" in answer.args[1]
    qtbot.waitUntil(lambda: "OrderedDict" in editor.completion_model.stringList(), timeout=2000)
    jedi.shutdown()


def test_only_the_newest_jedi_request_is_answered(qtbot) -> None:
    jedi = JediCompleter()
    answered: list[int] = []
    jedi.completed.connect(lambda request_id, _names: answered.append(request_id))
    first = jedi.request("import os\nos.pa", 2, 5, None)
    second = jedi.request("import os\nos.pat", 2, 6, None)
    qtbot.waitUntil(lambda: bool(answered), timeout=60_000)
    assert answered == [second] and first not in answered
    cancelled = jedi.request("import os\nos.", 2, 3, None)
    jedi.cancel()
    qtbot.wait(300)
    assert cancelled not in answered
    jedi.shutdown()


def test_jedi_runs_in_a_worker_process_restarted_if_it_dies_and_stopped_at_shutdown(
    qtbot,
) -> None:
    """jedi never runs in the GUI's process (a thread there held the GIL while keys waited)."""
    jedi = JediCompleter()
    with qtbot.waitSignal(jedi.warmed, timeout=60_000):
        pass  # started at once (warm_after=0), warmed without a request
    first = jedi.worker_pid
    assert first is not None and first != os.getpid()
    with qtbot.waitSignal(jedi.completed, timeout=60_000) as answer:
        jedi.request("import os\nos.pa", 2, 5, None)
    assert "path" in answer.args[1]

    os.kill(first, signal.SIGKILL)  # a worker that dies is started again by the next request
    qtbot.waitUntil(lambda: jedi.worker_pid != first, timeout=5_000)
    answers: list[list[str]] = []
    jedi.completed.connect(lambda _id, names: answers.append(names))
    asked = jedi.request("import os\nos.pa", 2, 5, None)
    qtbot.waitUntil(lambda: any("path" in names for names in answers), timeout=60_000)
    second = jedi.worker_pid
    assert second is not None and second not in (first, os.getpid())
    assert jedi.newest == asked

    jedi.shutdown()
    qtbot.waitUntil(lambda: not _alive(second), timeout=5_000)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie until its parent reaps it: gone as far as jedi is concerned
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


def test_hovering_a_problem_line_shows_its_message(qtbot) -> None:
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    text = "x = 1\ny = undefined_name\n"
    editor = make_editor(qtbot, text)
    editor.set_diagnostics(quick_check(text))
    rect = editor.cursorRect(QTextCursor(editor.document().findBlockByNumber(1)))
    for target, x in ((editor.viewport(), rect.center().x()), (editor.gutter, 5)):
        where = QPoint(x, rect.center().y())
        QApplication.sendEvent(
            target, QHelpEvent(QEvent.Type.ToolTip, where, target.mapToGlobal(where))
        )
        qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
        assert QToolTip.text() == "error: undefined name 'undefined_name' (pyflakes)"
        QToolTip.hideText()
