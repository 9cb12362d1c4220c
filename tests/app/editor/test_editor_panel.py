"""The editor panel on a real workspace: tabs over its strategy files, new from the
template, atomic save, unsaved marks and the question before losing edits, read-only
reference strategies, checks as you type, "Check" through the real loader on the job
runner, the parameter form and the backtest request."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QSpinBox

from app.gui.editor.checks import Severity
from app.gui.editor.colours import DARK, LIGHT
from app.gui.panels.editor_panel import REFERENCE_DIR, EditorPanel
from app.gui.panels.registry import unregister_panel
from strategies.template import template
from tests.app.editor.conftest import big_strategy, line_of, template_with


def answer_next_question(qtbot, button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click `button` on the next modal question, as the user would."""

    def click(tries: int = 250) -> None:
        shown = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()
        ]
        if not shown:
            if tries:
                QTimer.singleShot(20, lambda: click(tries - 1))
            return
        seen.append(shown[0].text())
        shown[0].button(button).click()

    QTimer.singleShot(20, click)


def checked(panel: EditorPanel, qtbot):
    with qtbot.waitSignal(panel.checked, timeout=60_000) as outcome:
        qtbot.keyPress(panel.current_editor(), Qt.Key.Key_F7)
    return outcome.args[0]


def test_the_panel_is_registered_as_asked() -> None:
    from app.gui.panels import editor_panel

    spec = editor_panel.SPEC
    assert (spec.panel_id, spec.title, spec.tab_with, spec.order, spec.shortcut) == (
        "editor",
        "Strategy editor",
        "data",
        30,
        "Ctrl+Shift+E",
    )
    assert spec.area == Qt.DockWidgetArea.RightDockWidgetArea
    assert spec.factory is EditorPanel
    unregister_panel("nothing-registered")  # the registry is left as it was


def test_it_opens_the_first_workspace_strategy_and_lists_the_files(
    make_ctx, write_strategy, qtbot
) -> None:
    write_strategy("b_idea", template("b_idea"))
    write_strategy("a_idea", template("a_idea"))
    panel = EditorPanel(make_ctx())
    qtbot.addWidget(panel)
    assert panel.tabs.count() == 0  # opened once on screen: after the window's first paint
    panel.show()
    qtbot.waitUntil(lambda: panel.tabs.count() == 1, timeout=2000)
    assert panel.tabs.tabText(0) == "a_idea.py"
    mine = panel.tree.topLevelItem(0)
    assert [mine.child(i).text(0) for i in range(mine.childCount())] == ["a_idea.py", "b_idea.py"]
    shipped = panel.tree.topLevelItem(1)
    assert shipped.childCount() == 5


def test_new_from_template_writes_what_the_command_writes(panel, workspace, qtbot) -> None:
    path = panel.new_strategy("ema_trend")
    assert path == workspace.strategies_dir / "ema_trend.py"
    assert path.read_text(encoding="utf-8") == template("ema_trend")
    assert panel.current_editor().toPlainText() == template("ema_trend")
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "ema_trend.py"
    for bad, why in (
        ("EmaTrend", "not a strategy name"),
        ("class", "not a strategy name"),
        ("sma_crossover", "reference strategy"),
        ("ema_trend", "exists already"),
    ):
        with pytest.raises(ValueError, match=why):
            panel.new_strategy(bad)
    assert panel.tabs.count() == 1


def test_typing_marks_the_tab_and_ctrl_s_saves_atomically(panel, workspace, qtbot) -> None:
    path = panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor, "# tuned later")
    assert panel.tabs.tabText(0) == "ema_trend.py*"
    assert panel.unsaved() == [path]
    qtbot.keyPress(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert panel.tabs.tabText(0) == "ema_trend.py"
    assert path.read_text(encoding="utf-8") == template("ema_trend") + "# tuned later"
    assert [p.name for p in path.parent.iterdir()] == ["ema_trend.py"]  # no temporary left


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_save_that_fails_keeps_the_edits_and_the_file(panel, workspace, qtbot) -> None:
    path = panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    qtbot.keyClicks(editor, "# new")
    path.parent.chmod(0o500)
    try:
        assert panel.save() is False
    finally:
        path.parent.chmod(0o700)
    assert "Could not save" in panel.status.text()
    assert path.read_text(encoding="utf-8") == template("ema_trend")
    assert panel.tabs.tabText(0) == "ema_trend.py*"


def test_a_save_into_a_vanished_folder_is_reported(panel, workspace, qtbot) -> None:
    path = panel.new_strategy("ema_trend")
    qtbot.keyClicks(panel.current_editor(), "# new")
    path.unlink()
    path.parent.rmdir()
    assert panel.save() is False
    assert "Could not save" in panel.status.text()
    assert panel.tabs.tabText(0) == "ema_trend.py*"


def test_closing_an_edited_tab_asks_first(panel, qtbot) -> None:
    panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    qtbot.keyClicks(editor, "# draft")
    seen: list[str] = []
    answer_next_question(qtbot, QMessageBox.StandardButton.Cancel, seen)
    assert panel.close_tab(0) is False
    assert panel.tabs.count() == 1 and seen == ["ema_trend.py has changes that are not saved."]
    answer_next_question(qtbot, QMessageBox.StandardButton.Save, seen)
    assert panel.close_tab(0) is True
    assert panel.tabs.count() == 0
    assert (panel.strategies_dir / "ema_trend.py").read_text().startswith("# draft")


def test_closing_the_panel_asks_about_every_edited_tab(panel, qtbot) -> None:
    panel.new_strategy("one")
    qtbot.keyClicks(panel.current_editor(), "# one")
    panel.new_strategy("two")
    seen: list[str] = []
    answer_next_question(qtbot, QMessageBox.StandardButton.Cancel, seen)
    assert panel.confirm_close() is False
    answer_next_question(qtbot, QMessageBox.StandardButton.Discard, seen)
    assert panel.confirm_close() is True
    assert seen == ["one.py has changes that are not saved."] * 2  # "two" was not edited
    assert not (panel.strategies_dir / "one.py").read_text().startswith("# one")


def test_reference_strategies_are_read_only(panel, qtbot) -> None:
    editor = panel.open_reference("sma_crossover")
    assert editor is not None and editor.isReadOnly()
    before = editor.toPlainText()
    assert before == (REFERENCE_DIR / "sma_crossover.py").read_text(encoding="utf-8")
    qtbot.keyClicks(editor, "oops")
    qtbot.keyPress(editor, Qt.Key.Key_Return)
    assert editor.toPlainText() == before
    assert panel.save() is False and "read-only" in panel.status.text()
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "sma_crossover.py (read-only)"
    assert panel.open_reference("sma_crossover") is editor  # one tab per file


def test_an_unreadable_file_is_reported_not_opened(panel, write_strategy, tmp_path) -> None:
    broken = write_strategy("latin", "x = 1\n")
    broken.write_bytes(b"name = '\xe9t\xe9'\n")  # not UTF-8
    assert panel.open_file(broken) is None
    assert "Cannot open" in panel.status.text()
    assert panel.open_file(tmp_path / "missing.py") is None
    assert panel.tabs.count() == 0


def test_checks_run_after_a_pause_in_typing(panel, qtbot) -> None:
    panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    text = editor.toPlainText()
    editor.go_to_line(line_of(text, "self.close_position()"))
    editor.moveCursor(editor.textCursor().MoveOperation.EndOfBlock)
    qtbot.keyPress(editor, Qt.Key.Key_Return)
    started = time.perf_counter()
    qtbot.keyClicks(editor, "self.buy(quantity)")
    with qtbot.waitSignal(panel.quick_checked, timeout=2000) as done:
        pass
    waited = time.perf_counter() - started
    assert waited >= 0.3 * 0.95  # debounced, not on every key (a coarse timer: +-5%)
    assert done.args[0] < 50
    (problem,) = panel.diagnostics()
    assert problem.message == "undefined name 'quantity'" and problem.severity is Severity.ERROR
    assert problem.line == line_of(editor.toPlainText(), "self.buy(quantity)")
    assert editor.problem_text(problem.line) == "error: undefined name 'quantity' (pyflakes)"
    assert panel.problems.count() == 1 and "quantity" in panel.problems.item(0).text()
    assert "1 error" in panel.problems_title.text()


def test_a_300_line_strategy_is_checked_within_50_ms(panel, write_strategy, qtbot) -> None:
    editor = panel.open_file(write_strategy("big_one", big_strategy(300)))
    assert editor is not None and editor.blockCount() >= 300
    panel.quick_check(editor)
    times = []
    for _ in range(5):
        qtbot.keyClicks(editor, "#")
        panel.quick_check(editor)  # what the debounce timer calls
        times.append(panel.last_check_ms)
    assert sorted(times)[len(times) // 2] < 50, times


def test_check_fills_the_parameter_form(panel, qtbot) -> None:
    panel.new_strategy("ema_trend")
    outcome = checked(panel, qtbot)
    assert outcome.ok, outcome.summary
    assert list(panel.form.fields) == ["fast", "slow", "quantity", "stop"]
    fast = panel.form.fields["fast"]
    assert isinstance(fast, QSpinBox) and (fast.minimum(), fast.maximum()) == (2, 200)
    assert "bars in the fast EMA" in fast.toolTip()
    assert panel.status.text().startswith("OK: ema_trend.py")


LOAD_FAILURES = {
    "syntax": ("    def init(self) -> None:", "    def init(self) -> None", "SyntaxError"),
    "import": (
        "from strategies.sdk import",
        "import not_installed_xyz\nfrom strategies.sdk import",
        "not_installed_xyz",
    ),
    "parameter": ("Param(50, min=1,", "Param(0, min=1,", "quantity=0"),
    "init": (
        'name="slow ema")',
        'name="slow ema")\n        raise RuntimeError("not yet")',
        "not yet",
    ),
}
NEEDLES = {  # the line each failure is expected at
    "syntax": "def init(self) -> None",
    "import": "import not_installed_xyz",
    "parameter": "quantity = Param(0",
    "init": 'raise RuntimeError("not yet")',
}


@pytest.mark.parametrize("kind", list(LOAD_FAILURES))
def test_check_marks_load_failures_at_their_line(panel, qtbot, kind: str) -> None:
    old, new, words = LOAD_FAILURES[kind]
    needle = NEEDLES[kind]
    panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    editor.setPlainText(template_with("ema_trend", old, new))
    outcome = checked(panel, qtbot)
    assert not outcome.ok
    line = line_of(editor.toPlainText(), needle)
    errors = [d for d in panel.diagnostics() if d.severity is Severity.ERROR]
    assert [d.line for d in errors] == [line], errors
    assert words in errors[0].message
    assert editor.current_line() == line  # the cursor is taken to it
    assert panel.status.text().startswith("Problem: ema_trend.py")
    assert panel.form.fields == {}


def test_a_check_of_unsaved_text_leaves_the_file_alone(panel, qtbot) -> None:
    path = panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    editor.setPlainText(template_with("ema_trend", "Param(12,", "Param(15,"))
    outcome = checked(panel, qtbot)
    assert outcome.ok
    assert panel.form.values()["fast"] == 15
    assert path.read_text(encoding="utf-8") == template("ema_trend")


def test_backtest_emits_the_strategy_and_the_form_values(panel, qtbot) -> None:
    path = panel.new_strategy("ema_trend")
    checked(panel, qtbot)
    panel.form.set_value("fast", 15)
    qtbot.keyClicks(panel.current_editor(), "# saved before the run")
    qtbot.keyPress(panel.current_editor(), Qt.Key.Key_Return)
    with qtbot.waitSignal(panel.backtest_requested, timeout=60_000) as asked:
        qtbot.mouseClick(panel.backtest_button, Qt.MouseButton.LeftButton)
    request = asked.args[0]
    assert request["strategy"] == str(path)
    assert request["params"] == {"fast": 15, "slow": 26, "quantity": 50, "stop": 2.0}
    assert path.read_text(encoding="utf-8").startswith("# saved before the run")


def test_backtest_of_a_reference_strategy_names_it(panel, qtbot) -> None:
    panel.open_reference("sma_crossover")
    with qtbot.waitSignal(panel.backtest_requested, timeout=60_000) as asked:
        panel.request_backtest()  # not checked yet: checks first, then asks
    assert asked.args[0]["strategy"] == "sma_crossover"
    assert set(asked.args[0]["params"]) == {"fast", "slow", "quantity"}


def test_backtest_is_refused_for_a_broken_strategy(panel, qtbot) -> None:
    panel.new_strategy("ema_trend")
    panel.current_editor().setPlainText("x = (\n")
    asked: list[object] = []
    panel.backtest_requested.connect(asked.append)
    with qtbot.waitSignal(panel.checked, timeout=60_000):
        panel.request_backtest()
    qtbot.wait(50)
    assert asked == []


def test_theme_switch_repaints_every_editor(panel, qtbot) -> None:
    panel.new_strategy("ema_trend")
    panel.open_reference("sma_crossover")
    panel.apply_theme("light")
    for editor in panel.files:
        assert editor.palette().base().color().name() == LIGHT.background
    panel.apply_theme("dark")
    for editor in panel.files:
        assert editor.palette().base().color().name() == DARK.background


def test_completion_is_shared_and_go_to_line_works(panel, qtbot) -> None:
    panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    assert editor.jedi is panel.jedi
    editor.go_to_line(20)
    assert editor.current_line() == 20 and "Ln 20" in panel.position_label.text()
    assert Path(editor.path).name == "ema_trend.py"


def test_each_tab_keeps_its_own_form_values(panel, qtbot) -> None:
    panel.new_strategy("ema_trend")
    checked(panel, qtbot)
    panel.form.set_value("fast", 40)
    panel.open_reference("sma_crossover")
    checked(panel, qtbot)
    assert panel.form.values()["fast"] == 10
    panel.tabs.setCurrentIndex(0)
    assert panel.form.values()["fast"] == 40
    checked(panel, qtbot)  # a re-check keeps what the user set
    assert panel.form.values()["fast"] == 40


def test_find_replace_and_go_to_line_shortcuts(panel, qtbot) -> None:
    from PySide6.QtWidgets import QInputDialog

    panel.new_strategy("ema_trend")
    editor = panel.current_editor()
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyPress(editor, Qt.Key.Key_F, ctrl)
    assert panel.find_bar.isVisible() and not panel.find_bar.replacing
    qtbot.keyClicks(panel.find_bar.find_box, "self.slow")
    assert panel.find_bar.count_label.text() == "1 match"
    qtbot.keyPress(panel.find_bar.find_box, Qt.Key.Key_Escape)
    qtbot.keyPress(editor, Qt.Key.Key_H, ctrl)
    assert panel.find_bar.replacing

    def answer(tries: int = 250) -> None:
        shown = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QInputDialog) and w.isVisible()
        ]
        if not shown:
            if tries:
                QTimer.singleShot(20, lambda: answer(tries - 1))
            return
        shown[0].setIntValue(17)
        shown[0].accept()

    QTimer.singleShot(20, answer)
    qtbot.keyPress(editor, Qt.Key.Key_G, ctrl)
    assert editor.current_line() == 17


def test_a_click_on_a_problem_goes_to_its_line(panel, write_strategy, qtbot) -> None:
    text = template_with("ema_trend", "            self.close_position()", "            oops()")
    editor = panel.open_file(write_strategy("ema_trend", text))
    assert editor is not None
    editor.go_to_line(1)
    item = panel.problems.item(0)
    assert "undefined name 'oops'" in item.text()
    rect = panel.problems.visualItemRect(item)
    qtbot.mouseClick(panel.problems.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert editor.current_line() == line_of(text, "oops()")


def test_the_main_window_hosts_it_and_tells_it_the_theme(make_window, qtbot) -> None:
    window = make_window()
    dock = window.docks["editor"]
    panel = dock.widget()
    assert isinstance(panel, EditorPanel)
    window.set_theme("light")
    assert panel.theme == "light"
    window.set_theme("dark")
    assert panel.theme == "dark"
