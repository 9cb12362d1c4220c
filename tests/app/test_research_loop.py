"""The research loop end to end, as a trader does it in the station: write a strategy in the
editor, check it, backtest it through the wizard on demo data, and find in the results panel
the same trades `artha backtest` gives on the same data; the run is kept in the history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from engine.data.demo import demo_batch, generate_demo

ARTHA = str(Path(sys.executable).with_name("artha"))


@pytest.fixture(scope="module")
def demo_series():
    return generate_demo(count=2, days=10)


def test_editor_to_wizard_to_results_matches_the_command_line(
    make_window, demo_series, qtbot, workspace
):
    window = make_window()
    window.ctx.store.import_batch(demo_batch(demo_series))
    window.show()
    editor = window.docks["editor"].widget()
    path = editor.new_strategy("loop_idea")
    code = editor.current_editor()
    text = code.toPlainText().replace("fast = Param(12,", "fast = Param(9,")  # an edit, typed
    cursor = code.textCursor()
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.insertText(text)  # as an edit: undoable, marks the tab unsaved
    assert editor.unsaved()
    with qtbot.waitSignal(editor.checked, timeout=60_000) as checked:
        editor.check()
    assert checked.args[0].ok, checked.args[0]
    opened = window.workbench.wizards
    assert editor.request_backtest()  # saves, then asks for the wizard with this strategy
    assert not editor.unsaved() and path.read_text() == text
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    wizard = opened[0]
    assert wizard.strategy_page.form.values()["fast"] == 9
    symbol = demo_series[0].symbol
    wizard.next()
    wizard.instruments_page.set_checked([symbol])
    for _ in range(3):
        wizard.next()
    assert wizard.currentPage() is wizard.summary_page
    results = window.docks["results"].widget()
    with qtbot.waitSignal(wizard.run_finished, timeout=120_000):
        wizard.accept()
    qtbot.waitUntil(lambda: results.result is not None, timeout=10_000)
    shown = [t.as_json() for t in results.result.trades]
    assert len(shown) > 5
    qtbot.waitUntil(lambda: window.workbench.last_saved is not None, timeout=20_000)
    window.close()
    window.ctx.store.close()  # the command line needs the workspace to itself
    QApplication.processEvents()

    env = {**os.environ, "ARTHA_HOME": str(workspace.root), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [ARTHA, "backtest", "--strategy", "loop_idea", "--symbol", symbol, "--json", "-"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["trades"] == shown
