"""Strategy editor panel: write, check and parameterise a strategy, then ask for a backtest.

The panel owns the tabs over the workspace's strategy files (and the shipped reference
strategies, read-only), the checks, completion and the parameter form. Checks as you type
(compile + pyflakes) run on the GUI thread 300 ms after the last key (a few ms); "Check"
runs the user's code (import, parameters, `init` on synthetic bars) on the job runner, and
jedi runs in a worker process of its own: typing never waits on either. "Backtest" emits
`backtest_requested({"strategy": ..., "params": {...}})` for the wizard to open pre-filled.
"""

from __future__ import annotations

import keyword
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.after_paint import after_first_paint
from app.gui.context import AppContext
from app.gui.editor.checks import Diagnostic, Severity, quick_check
from app.gui.editor.param_form import ParamForm
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.themes import current_theme
from engine.events import JobCancelled, JobEvent, JobFailed, JobFinished
from engine.heap import freeze_long_lived
from strategies.reference import REFERENCE_STRATEGIES
from strategies.template import template

if TYPE_CHECKING:
    # The code editor, its find bar and completion, and the strategy check load when the
    # panel first opens a file (after the station's first paint): completion reads the
    # SDK's names, and the SDK and the check load the backtester and pandas (~0.3 s).
    from app.gui.editor.code_editor import CodeEditor
    from app.gui.editor.completion import JediCompleter
    from app.gui.editor.find_bar import FindBar
    from app.gui.editor.strategy_check import CheckOutcome

log = logging.getLogger(__name__)
JEDI_WARM_AFTER_SECONDS = 2.0  # the jedi process starts after the window's start-up work
# after the window's first paint, the panel loads its editor (the code editor, completion and
# the SDK: ~0.5 s on the GUI thread) this much later, unless painted (seen) before: the
# chart's first bars come first
START_AFTER_PAINT_MS = 1_000

CHECK_DELAY_MS = 300  # after the last key, the quick checks run
REFERENCE_DIR = Path(__file__).resolve().parents[3] / "strategies" / "reference"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # what `artha strategies new` accepts


@dataclass
class OpenFile:
    """What a tab edits: a workspace file, or a reference strategy (read-only)."""

    path: Path
    reference: str = ""  # the reference name of a shipped strategy
    outcome: CheckOutcome | None = None  # the last "Check" of this tab's text
    checked_text: str = ""  # the text that check saw
    quick: tuple[Diagnostic, ...] = ()
    form_values: dict[str, object] = field(default_factory=dict)  # what the user set

    @property
    def read_only(self) -> bool:
        return bool(self.reference)


class EditorPanel(QWidget):
    """Tabs of strategy files with checks, completion and the parameter form."""

    backtest_requested = Signal(object)  # {"strategy": path or reference name, "params": {}}
    checked = Signal(object)  # the CheckOutcome of a "Check"
    quick_checked = Signal(float)  # ms the checks-as-you-type took

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("panel.editor")
        self.files: dict[CodeEditor, OpenFile] = {}
        self.last_check_ms = 0.0
        self._check_job: int | None = None
        self._check_editor: CodeEditor | None = None
        self._check_again = False
        self._backtest_after_check = False
        self._scratch = Path(tempfile.mkdtemp(prefix="artha-editor-"))
        self._jedi: JediCompleter | None = None  # made by `jedi`, at the latest after paint
        self._find_bar: FindBar | None = None  # made by `find_bar`
        self._started = False  # _start_up has run
        app = QApplication.instance()
        self.theme = current_theme(app) if isinstance(app, QApplication) else ctx.settings.theme

        self._build()
        self._actions()
        subscription = ctx.bus.subscribe(JobEvent, self._on_job_event)

        def stop(*_: object) -> None:
            subscription.cancel()
            if self._jedi is not None:
                self._jedi.shutdown()

        self.destroyed.connect(stop)
        self.refresh_files()
        # docked by then: the window's first paint (this panel's own when it stands alone)
        QTimer.singleShot(0, self, lambda: after_first_paint(self, self._start_soon))

    def _start_soon(self) -> None:
        QTimer.singleShot(START_AFTER_PAINT_MS, self, self._start_up)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        # painted: the trader sees the panel (a dock tabbed behind another is shown but
        # never painted), so its editor loads next, not a second later
        if not self._started:
            QTimer.singleShot(0, self, self._start_up)

    def _start_up(self) -> None:
        """Start jedi's warm-up clock and open the first strategy (once)."""
        if self._started:
            return
        self._started = True
        self.jedi  # noqa: B018 - makes it
        self._open_first()

    @property
    def jedi(self) -> JediCompleter:
        """Completion (its worker process starts JEDI_WARM_AFTER_SECONDS after this is made,
        or at the first request)."""
        if self._jedi is None:
            from app.gui.editor.completion import JediCompleter

            self._jedi = JediCompleter(self, warm_after=JEDI_WARM_AFTER_SECONDS)
            self._jedi.warmed.connect(self._completion_ready)
        return self._jedi

    @property
    def find_bar(self) -> FindBar:
        """Find and replace under the tabs (made when first used: a tab shown, Ctrl+F)."""
        if self._find_bar is None:
            from app.gui.editor.find_bar import FindBar

            self._find_bar = FindBar()
            self._centre_layout.addWidget(self._find_bar)
        return self._find_bar

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.setSpacing(4)

        def button(text: str, tip: str, slot: object) -> QToolButton:
            made = QToolButton()
            made.setText(text)
            made.setToolTip(tip)
            made.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            made.clicked.connect(slot)
            bar.addWidget(made)
            return made

        self.new_button = button("New", "New strategy from the template (Ctrl+N)", self.ask_new)
        self.save_button = button("Save", "Save the file (Ctrl+S)", lambda: self.save())
        self.check_button = button(
            "Check", "Load the strategy and run init() on synthetic bars (F7)", self.check
        )
        button("Find", "Find (Ctrl+F), replace (Ctrl+H)", lambda: self.find_bar.open_find())
        button("Go to line", "Go to line (Ctrl+G)", self.ask_line)
        bar.addStretch(1)
        self.backtest_button = QPushButton("Backtest…")
        self.backtest_button.setToolTip(
            "Open the backtest wizard with this strategy and the parameters on the right"
        )
        self.backtest_button.clicked.connect(self.request_backtest)
        bar.addWidget(self.backtest_button)

        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setObjectName("editorFiles")
        self.tree.itemActivated.connect(self._tree_open)
        self.tree.itemDoubleClicked.connect(self._tree_open)
        self.tree.setMinimumWidth(150)

        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(lambda index: self.close_tab(index))
        self.tabs.currentChanged.connect(self._tab_changed)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(0)
        centre_layout.addWidget(self.tabs, 1)
        self._centre_layout = centre_layout  # the find bar goes under the tabs

        self.form = ParamForm()
        self.form.changed.connect(self._form_changed)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        self.form_title = QLabel("<b>Parameters</b>")
        self.defaults_button = QToolButton()
        self.defaults_button.setText("Defaults")
        self.defaults_button.setToolTip("Put every parameter back to its declared default")
        self.defaults_button.clicked.connect(self.form.reset)
        form_head = QHBoxLayout()
        form_head.addWidget(self.form_title, 1)
        form_head.addWidget(self.defaults_button)
        self.problems = QListWidget()
        self.problems.setObjectName("editorProblems")
        self.problems.setWordWrap(True)
        self.problems.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.problems.itemActivated.connect(self._problem_open)
        self.problems.itemClicked.connect(self._problem_open)
        self.problems_title = QLabel("<b>Problems</b>")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(6, 0, 6, 0)
        side_layout.addLayout(form_head)
        side_layout.addWidget(scroll, 3)
        side_layout.addWidget(self.problems_title)
        side_layout.addWidget(self.problems, 2)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([190, 800, 320])

        self.status = QLabel()
        self.status.setObjectName("editorStatus")
        self.status.setContentsMargins(8, 2, 8, 2)
        self.position_label = QLabel()
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.position_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(bottom)

    def _actions(self) -> None:
        def action(text: str, keys: str | QKeySequence, slot: object) -> None:
            made = QAction(text, self)  # the text names it in Help > Keyboard shortcuts
            made.setShortcut(QKeySequence(keys))
            made.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            made.triggered.connect(slot)
            self.addAction(made)

        action("Save", "Ctrl+S", lambda: self.save())
        action("New strategy from the template", "Ctrl+N", self.ask_new)
        action("Check (compile, lint, load)", "F7", self.check)
        action("Find", "Ctrl+F", lambda: self.find_bar.open_find())
        action("Replace", "Ctrl+H", lambda: self.find_bar.open_find(replace=True))
        action("Go to line", "Ctrl+G", self.ask_line)
        action("Find next", "F3", lambda: self.find_bar.find_next())
        action("Find previous", "Shift+F3", lambda: self.find_bar.find_previous())

    def _completion_ready(self, seconds: float) -> None:
        """jedi's caches live in its own process now; what the station's first seconds made
        (the first reads, their results) joins the start-up heap that `gc.freeze` keeps out of
        full collections, which otherwise rescan it and hold the GUI mid-keystroke."""
        freeze_long_lived()
        self.say(f"Completion ready ({seconds:.1f} s warm-up)")

    def handled_keys(self) -> tuple[tuple[str, str], ...]:
        """Keys the code editor reads itself (no QAction), for Help > Keyboard shortcuts."""
        from app.gui.editor.code_editor import EDITOR_KEYS

        return EDITOR_KEYS

    # -- files ---------------------------------------------------------------------------------
    @property
    def strategies_dir(self) -> Path:
        return self.ctx.workspace.strategies_dir

    def refresh_files(self) -> None:
        """The file list: the workspace's strategies, then the reference ones."""
        self.tree.clear()
        mine = QTreeWidgetItem(["My strategies"])
        folder = self.strategies_dir
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            item = QTreeWidgetItem([path.name])
            item.setData(0, Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(0, str(path))
            mine.addChild(item)
        shipped = QTreeWidgetItem(["Reference (read-only)"])
        for name in sorted(REFERENCE_STRATEGIES):
            item = QTreeWidgetItem([f"{name}.py"])
            item.setData(0, Qt.ItemDataRole.UserRole, str(REFERENCE_DIR / f"{name}.py"))
            shipped.addChild(item)
        self.tree.addTopLevelItems([mine, shipped])
        mine.setExpanded(True)
        shipped.setExpanded(True)

    def _tree_open(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        path = item.data(0, Qt.ItemDataRole.UserRole)
        if path:
            self.open_file(Path(path))

    def _open_first(self) -> None:
        if self.tabs.count():
            return
        folder = self.strategies_dir
        files = sorted(folder.glob("*.py")) if folder.is_dir() else []
        if files:
            self.open_file(files[0])

    def open_file(self, path: Path) -> CodeEditor | None:
        """Open `path` in a tab (or show its tab); a reference strategy opens read-only.
        A file that cannot be read is reported in the status line: None."""
        path = Path(path)
        for editor, info in self.files.items():
            if info.path.resolve() == path.resolve():
                self.tabs.setCurrentWidget(editor)
                return editor
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.say(f"Cannot open {path}: {reason}", error=True)
            return None
        reference = _reference_name(path)
        from app.gui.editor.code_editor import CodeEditor

        editor = CodeEditor(self.theme)
        editor.setObjectName(f"editor.{path.stem}")
        editor.path = path
        editor.setPlainText(text)
        editor.document().setModified(False)
        editor.setReadOnly(bool(reference))
        editor.set_jedi(self.jedi)
        info = OpenFile(path, reference)
        self.files[editor] = info
        timer = QTimer(editor)
        timer.setSingleShot(True)
        timer.setInterval(CHECK_DELAY_MS)
        timer.timeout.connect(lambda e=editor: self.quick_check(e))
        editor.textChanged.connect(timer.start)
        editor.document().modificationChanged.connect(lambda _m, e=editor: self._mark(e))
        editor.cursorPositionChanged.connect(self._show_position)
        index = self.tabs.addTab(editor, "")
        self.tabs.setTabToolTip(
            index, str(path) + ("  (reference: read-only)" if reference else "")
        )
        self._mark(editor)
        self.tabs.setCurrentIndex(index)
        self.quick_check(editor)
        self.say(f"Opened {path}" + (" (reference strategy: read-only)" if reference else ""))
        return editor

    def open_reference(self, name: str) -> CodeEditor | None:
        return self.open_file(REFERENCE_DIR / f"{name}.py")

    def new_strategy(self, name: str) -> Path:
        """Write the template `artha strategies new NAME` writes, and open it. ValueError
        says why a name is refused (as the command does)."""
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise ValueError(
                f"{name!r} is not a strategy name: use lower-case letters, digits and _ "
                "(a letter first, at most 40), e.g. ema_trend"
            )
        if name in REFERENCE_STRATEGIES:
            raise ValueError(f"{name!r} is a reference strategy's name, which would hide yours")
        folder = self.strategies_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.py"
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(template(name))
        except FileExistsError:
            raise ValueError(f"{path} exists already: open it instead") from None
        except OSError as exc:
            raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.refresh_files()
        self.open_file(path)
        return path

    def ask_new(self) -> None:
        name, ok = QInputDialog.getText(
            self, "New strategy", "File and strategy name (lower case, e.g. ema_trend):"
        )
        if not ok or not name.strip():
            return
        try:
            self.new_strategy(name.strip())
        except ValueError as exc:
            self.say(str(exc), error=True)
            QMessageBox.warning(self, "New strategy", f"{exc}.")

    def save(self, editor: CodeEditor | None = None) -> bool:
        """Write the tab's text to its file atomically (a temporary file then a rename, so
        a failed save never leaves half a strategy); False (and why, in the status line)
        if it could not."""
        editor = editor or self.current_editor()
        if editor is None:
            return False
        info = self.files[editor]
        if info.read_only:
            self.say("Reference strategies are read-only: New makes a file of your own", error=True)
            return False
        path = info.path
        try:
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                    out.write(editor.toPlainText())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.say(f"Could not save {path}: {exc.strerror or exc}", error=True)
            return False
        editor.document().setModified(False)
        self.say(f"Saved {path}")
        return True

    # -- tabs and closing ----------------------------------------------------------------------
    def current_editor(self) -> CodeEditor | None:
        widget = self.tabs.currentWidget()
        if widget is None:
            return None
        from app.gui.editor.code_editor import CodeEditor  # loaded: a tab is open

        return widget if isinstance(widget, CodeEditor) else None

    def _mark(self, editor: CodeEditor) -> None:
        info = self.files.get(editor)
        index = self.tabs.indexOf(editor)
        if info is None or index < 0:
            return
        mark = "*" if editor.document().isModified() else ""
        lock = " (read-only)" if info.read_only else ""
        self.tabs.setTabText(index, f"{info.path.name}{mark}{lock}")

    def close_tab(self, index: int) -> bool:
        """Close a tab, asking first when it has unsaved edits; False if the user kept it."""
        from app.gui.editor.code_editor import CodeEditor

        editor = self.tabs.widget(index)
        if not isinstance(editor, CodeEditor):
            return False
        if not self._may_lose(editor):
            return False
        self.tabs.removeTab(index)
        self.files.pop(editor, None)
        editor.set_jedi(None)
        editor.deleteLater()
        return True

    def _may_lose(self, editor: CodeEditor) -> bool:
        """Save, discard or keep unsaved edits: True when the tab may go."""
        if not editor.document().isModified():
            return True
        name = self.files[editor].path.name
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"{name} has changes that are not saved.",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText("Save them before closing?")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        self.tabs.setCurrentWidget(editor)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return self.save(editor)
        return answer == QMessageBox.StandardButton.Discard

    def unsaved(self) -> list[Path]:
        return [info.path for e, info in self.files.items() if e.document().isModified()]

    def confirm_close(self) -> bool:
        """Ask about every tab with unsaved edits (the main window calls this before it
        quits); False when the user chose to keep one open."""
        return all(self._may_lose(editor) for editor in list(self.files))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.confirm_close():
            if self._jedi is not None:
                self._jedi.cancel()
            super().closeEvent(event)
        else:
            event.ignore()

    def _tab_changed(self, _index: int) -> None:
        editor = self.current_editor()
        self.find_bar.set_editor(editor)
        info = self.files.get(editor) if editor is not None else None
        outcome = info.outcome if info is not None else None
        self.form.set_strategy(
            outcome.strategy if outcome is not None else None,
            info.form_values if info is not None else None,
        )
        self.form_title.setText(
            f"<b>Parameters</b> of {outcome.strategy.__name__}"
            if outcome is not None and outcome.strategy is not None
            else "<b>Parameters</b>"
        )
        self._show_problems()
        self._show_position()

    # -- checks --------------------------------------------------------------------------------
    def quick_check(self, editor: CodeEditor | None = None) -> list[Diagnostic]:
        """compile + pyflakes over the tab's text, marked in it; what was found."""
        editor = editor or self.current_editor()
        if editor is None or editor not in self.files:
            return []
        info = self.files[editor]
        started = time.perf_counter()
        info.quick = tuple(quick_check(editor.toPlainText(), str(info.path)))
        self._mark_problems(editor)
        self.last_check_ms = (time.perf_counter() - started) * 1000
        stale = info.outcome is not None and info.checked_text != editor.toPlainText()
        if stale and editor is self.current_editor() and self.status.text().startswith("OK:"):
            self.say("Edited since the last Check: F7 checks it again")
        self.quick_checked.emit(self.last_check_ms)
        return list(info.quick)

    def diagnostics(self, editor: CodeEditor | None = None) -> list[Diagnostic]:
        """Everything marked in the tab: the quick checks, and the last Check's findings
        while the text is what it checked."""
        editor = editor or self.current_editor()
        if editor is None or editor not in self.files:
            return []
        info = self.files[editor]
        found = list(info.quick)
        if info.outcome is not None and info.checked_text == editor.toPlainText():
            seen = {(d.line, d.message) for d in found}
            found += [d for d in info.outcome.diagnostics if (d.line, d.message) not in seen]
        return sorted(found, key=lambda d: (d.line, d.column))

    def _mark_problems(self, editor: CodeEditor) -> None:
        editor.set_diagnostics(self.diagnostics(editor))
        if editor is self.current_editor():
            self._show_problems()

    def _show_problems(self) -> None:
        self.problems.clear()
        editor = self.current_editor()
        found = self.diagnostics(editor) if editor is not None else []
        errors = sum(d.severity is Severity.ERROR for d in found)
        self.problems_title.setText(
            f"<b>Problems</b> ({errors} error{'s' * (errors != 1)}, "
            f"{len(found) - errors} warning{'s' * (len(found) - errors != 1)})"
        )
        for d in found:
            icon = "●" if d.severity is Severity.ERROR else "▲"
            item = QListWidgetItem(f"{icon} {d.line}: {d.message}")
            item.setData(Qt.ItemDataRole.UserRole, (d.line, d.column))
            item.setToolTip(d.describe())
            colour = (
                editor.colours.error
                if editor and d.severity is Severity.ERROR
                else (editor.colours.warning if editor else "")
            )
            if colour:
                item.setForeground(_colour(colour))
            self.problems.addItem(item)

    def _problem_open(self, item: QListWidgetItem) -> None:
        editor = self.current_editor()
        where = item.data(Qt.ItemDataRole.UserRole)
        if editor is not None and where:
            editor.go_to_line(int(where[0]), int(where[1]))

    def check(self) -> int | None:
        """Load the current tab's strategy through the real loader and try its init(), on
        the job runner; the outcome arrives as `checked`. The job id (None: nothing to
        check; a check already running runs again once it ends)."""
        editor = self.current_editor()
        if editor is None:
            self.say("Open a strategy to check it", error=True)
            return None
        if self._check_job is not None:
            self._check_again = True
            return self._check_job
        info = self.files[editor]
        text = editor.toPlainText()
        from app.gui.editor.strategy_check import CheckRequest, check_strategy

        request = CheckRequest(text, info.path, info.reference)
        scratch = self._scratch
        self._check_editor = editor
        info.checked_text = text
        self.check_button.setEnabled(False)
        self.say(f"Checking {info.path.name}…")
        self._check_job = self.ctx.jobs.submit(
            lambda _control: check_strategy(request, scratch),
            f"Check {info.path.name}",
            cancellable=False,
            ask_before_close=False,
        )
        return self._check_job

    def _on_job_event(self, event: JobEvent) -> None:
        if event.job_id != self._check_job or not isinstance(
            event, JobFinished | JobFailed | JobCancelled
        ):
            return
        self._check_job = None
        self.check_button.setEnabled(True)
        editor = self._check_editor
        self._check_editor = None
        if editor is None or editor not in self.files:
            return
        info = self.files[editor]
        from app.gui.editor.strategy_check import CheckOutcome  # loaded: it ran the check

        if isinstance(event, JobFinished) and isinstance(event.result, CheckOutcome):
            outcome = event.result
        else:  # the checker itself failed: say so, never take the panel down
            message = event.message if isinstance(event, JobFailed) else "the check stopped"
            outcome = CheckOutcome(summary=f"could not check: {message}")
        info.outcome = outcome
        self._mark_problems(editor)
        if editor is self.current_editor():
            self._tab_changed(self.tabs.currentIndex())
        verdict = "OK" if outcome.ok else "Problem"
        took = f"({outcome.seconds:.2f} s)"
        self.say(f"{verdict}: {info.path.name}: {outcome.summary} {took}", error=not outcome.ok)
        if not outcome.ok:
            first = next((d for d in outcome.diagnostics if d.severity is Severity.ERROR), None)
            if first is not None and editor is self.current_editor():
                editor.go_to_line(first.line, first.column)
        self.checked.emit(outcome)
        if self._check_again:
            self._check_again = False
            self._backtest_after_check = False
            self.check()
        elif self._backtest_after_check:
            self._backtest_after_check = False
            if outcome.ok:
                self.request_backtest()

    # -- parameters and backtest -------------------------------------------------------------
    def _form_changed(self) -> None:
        editor = self.current_editor()
        if editor is not None and editor in self.files:
            self.files[editor].form_values = self.form.raw_values()
        errors = self.form.errors()
        self.backtest_button.setEnabled(not errors)
        if errors:
            self.say("; ".join(errors.values()), error=True)

    def backtest_request(self) -> dict[str, object] | None:
        """What "Backtest" sends, if the current tab's strategy checked clean and the form
        holds valid values."""
        editor = self.current_editor()
        if editor is None:
            return None
        info = self.files[editor]
        outcome = info.outcome
        if outcome is None or not outcome.ok or info.checked_text != editor.toPlainText():
            return None
        if self.form.errors():
            return None
        strategy = info.reference or str(info.path)
        return {"strategy": strategy, "params": self.form.values()}

    def request_backtest(self) -> bool:
        """Emit backtest_requested for the current tab: saved first (the run reads the
        file), checked first if its text changed since the last Check."""
        editor = self.current_editor()
        if editor is None:
            self.say("Open a strategy to backtest it", error=True)
            return False
        info = self.files[editor]
        if editor.document().isModified() and not info.read_only and not self.save(editor):
            return False
        errors = self.form.errors()
        if errors:
            self.say("Fix the parameters first: " + "; ".join(errors.values()), error=True)
            return False
        request = self.backtest_request()
        if request is None:
            self._backtest_after_check = True
            self.check()
            return False
        self.backtest_requested.emit(request)
        self.say(f"Backtest asked for {Path(str(request['strategy'])).name}")
        return True

    # -- small helpers -------------------------------------------------------------------------
    def ask_line(self) -> None:
        editor = self.current_editor()
        if editor is None:
            return
        last = editor.blockCount()
        line, ok = QInputDialog.getInt(
            self, "Go to line", f"Line (1-{last}):", editor.current_line(), 1, last
        )
        if ok:
            editor.go_to_line(line)

    def _show_position(self) -> None:
        editor = self.current_editor()
        if editor is None:
            self.position_label.setText("")
            return
        cursor = editor.textCursor()
        self.position_label.setText(
            f"Ln {cursor.blockNumber() + 1}, Col {cursor.positionInBlock() + 1}   "
        )

    def say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #e5534b;" if error else "")
        if text.startswith("OK:"):
            self.status.setStyleSheet("color: #3fb950;")
        (log.warning if error else log.info)("editor: %s", text)

    def apply_theme(self, theme: str) -> None:
        """The station switched theme: every editor repaints in its colours."""
        self.theme = theme
        for editor in self.files:
            editor.apply_theme(theme)
        self._show_problems()


def _reference_name(path: Path) -> str:
    try:
        inside = path.resolve().parent == REFERENCE_DIR
    except OSError:
        return ""
    return path.stem if inside and path.stem in REFERENCE_STRATEGIES else ""


def _colour(text: str) -> QColor:
    return QColor(text)


SPEC = register_panel(
    PanelSpec(
        "editor",
        "Strategy editor",
        EditorPanel,
        area=Qt.DockWidgetArea.RightDockWidgetArea,
        tab_with="data",
        order=30,
        shortcut="Ctrl+Shift+E",
    )
)
