"""The code editor widget: a QPlainTextEdit with what writing Python needs.

Line numbers and problem markers in a gutter, Python colours, the current line marked,
indentation kept and deepened after ':' (4 spaces; Tab / Shift+Tab indent or dedent a
selection), Ctrl+/ to comment lines in and out, problems underlined with the message on
hover, and completion: the SDK's names at once, jedi's answer merged in when it arrives
(the panel shares one `JediCompleter` among its editors; typing never waits for it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, QStringListModel, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QHelpEvent,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QPlainTextEdit,
    QTextEdit,
    QToolTip,
    QWidget,
)

from app.gui.editor.checks import Diagnostic, Severity
from app.gui.editor.colours import colours_for
from app.gui.editor.completion import JediCompleter, completion_prefix, instant_completions
from app.gui.editor.highlighter import PythonHighlighter

# Keys the editor handles itself (keyPressEvent), for Help > Keyboard shortcuts.
EDITOR_KEYS = (
    ("Complete the name at the cursor", "Ctrl+Space"),
    ("Comment lines in or out", "Ctrl+/"),
    ("Indent the selection", "Tab"),
    ("Dedent the selection", "Shift+Tab"),
)


INDENT = "    "
_OPENERS = ":"


class LineNumberGutter(QWidget):
    """Paints line numbers and a dot per problem line; hovering a dot shows its messages."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.editor.paint_gutter(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.editor.problem_text(self.editor.line_at_y(event.pos().y()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


class CodeEditor(QPlainTextEdit):
    """A Python editor; `diagnostics` are shown with `set_diagnostics`, the find bar's
    matches with `set_find_marks`."""

    completion_shown = Signal(list)  # the names offered (tests and the status bar)

    def __init__(self, theme: str = "dark", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None  # the file this edits (jedi resolves imports from it)
        self.colours = colours_for(theme)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(max(font.pointSize(), 10))
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self.setCursorWidth(2)
        self.diagnostics: list[Diagnostic] = []
        self._find_marks: list[QTextCursor] = []
        self.gutter = LineNumberGutter(self)
        self.highlighter = PythonHighlighter(self.document(), self.colours)
        self.blockCountChanged.connect(self._fit_gutter)
        self.updateRequest.connect(self._scroll_gutter)
        self.cursorPositionChanged.connect(self._refresh_marks)
        self._fit_gutter()

        self.completer = QCompleter(self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setModelSorting(QCompleter.ModelSorting.UnsortedModel)
        self.completer.setMaxVisibleItems(12)
        self._popup().setFont(font)
        self.completion_model = QStringListModel(self)
        self.completer.setModel(self.completion_model)
        self.completer.activated.connect(self._insert_completion)
        self.jedi: JediCompleter | None = None
        self._jedi_request = 0
        self._jedi_position = -1
        self.apply_theme(theme)

    # -- theme -------------------------------------------------------------------------------
    def apply_theme(self, theme: str) -> None:
        """Repaint in the theme's colours (the highlighter's too)."""
        self.colours = colours_for(theme)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Base, QColor(self.colours.background))
        palette.setColor(QPalette.ColorRole.Text, QColor(self.colours.text))
        palette.setColor(QPalette.ColorRole.Highlight, QColor(self.colours.selection))
        palette.setColor(QPalette.ColorRole.HighlightedText, QColor(self.colours.text))
        self.setPalette(palette)
        self.highlighter.set_colours(self.colours)
        self._refresh_marks()
        self.gutter.update()

    # -- gutter ------------------------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = max(len(str(self.blockCount())), 3)
        return 22 + self.fontMetrics().horizontalAdvance("9") * digits

    def _fit_gutter(self) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _scroll_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._fit_gutter()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        area = self.contentsRect()
        self.gutter.setGeometry(QRect(area.left(), area.top(), self.gutter_width(), area.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        colours = self.colours
        painter = QPainter(self.gutter)
        painter.fillRect(event.rect(), QColor(colours.gutter_background))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        worst = self._worst_by_line()
        current = self.textCursor().blockNumber()
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        width = self.gutter.width()
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                line = number + 1
                painter.setPen(
                    QColor(colours.gutter_current if number == current else colours.gutter_text)
                )
                painter.drawText(0, top, width - 8, height, Qt.AlignmentFlag.AlignRight, str(line))
                severity = worst.get(line)
                if severity is not None:
                    colour = colours.error if severity is Severity.ERROR else colours.warning
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(QColor(colour))
                    size = max(height // 2, 6)
                    painter.drawEllipse(4, top + (height - size) // 2, size, size)
            block = block.next()
            top = bottom
            number += 1
        painter.end()

    def line_at_y(self, y: int) -> int:
        """The 1-based line painted at height `y` of the viewport (or the gutter)."""
        return self.cursorForPosition(QPoint(0, y)).blockNumber() + 1

    # -- problems and marks ------------------------------------------------------------------
    def set_diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        self._refresh_marks()
        self.gutter.update()

    def problem_text(self, line: int) -> str:
        """Every problem's message at `line`, one per line (the hover text)."""
        return "\n".join(d.describe() for d in self.diagnostics if d.line == line)

    def _worst_by_line(self) -> dict[int, Severity]:
        worst: dict[int, Severity] = {}
        for d in self.diagnostics:
            if worst.get(d.line) is not Severity.ERROR:
                worst[d.line] = d.severity
        return worst

    def set_find_marks(self, cursors: list[QTextCursor]) -> None:
        self._find_marks = list(cursors)
        self._refresh_marks()

    def _refresh_marks(self) -> None:
        """Current line, find matches and problem underlines, as ExtraSelections."""
        selections: list[QTextEdit.ExtraSelection] = []
        line = QTextEdit.ExtraSelection()
        line.format.setBackground(QColor(self.colours.current_line))
        line.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        line.cursor = self.textCursor()
        line.cursor.clearSelection()
        selections.append(line)
        for found in self._find_marks:
            mark = QTextEdit.ExtraSelection()
            mark.format.setBackground(QColor(self.colours.find_match))
            mark.cursor = found
            selections.append(mark)
        document = self.document()
        for d in self.diagnostics:
            block = document.findBlockByNumber(d.line - 1)
            if not block.isValid():
                continue
            text = block.text()
            start = min(d.column, max(len(text) - 1, 0))
            end = _token_end(text, start)
            if (
                end <= start or not text[start:end].strip()
            ):  # an empty line or a column past the end: mark the line
                start, end = len(text) - len(text.lstrip()), len(text)
            mark = QTextEdit.ExtraSelection()
            mark.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            colour = self.colours.error if d.severity is Severity.ERROR else self.colours.warning
            mark.format.setUnderlineColor(QColor(colour))
            mark.format.setToolTip(d.describe())
            cursor = QTextCursor(block)
            cursor.setPosition(block.position() + start)
            cursor.setPosition(
                block.position() + max(end, start + 1), QTextCursor.MoveMode.KeepAnchor
            )
            mark.cursor = cursor
            selections.append(mark)
        self.setExtraSelections(selections)
        self.gutter.update()

    def viewportEvent(self, event: QEvent) -> bool:
        """Hovering a line with problems shows their messages (tooltips reach the viewport)."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.problem_text(self.line_at_y(event.pos().y()))
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    # -- navigation ----------------------------------------------------------------------------
    def go_to_line(self, line: int, column: int = 0) -> None:
        """Put the cursor at `line` (1-based, clamped to the document) and show it."""
        block = self.document().findBlockByNumber(min(max(line, 1), self.blockCount()) - 1)
        cursor = QTextCursor(block)
        cursor.setPosition(block.position() + min(max(column, 0), len(block.text())))
        self.setTextCursor(cursor)
        self.centerCursor()
        self.setFocus()

    def current_line(self) -> int:
        return self.textCursor().blockNumber() + 1

    # -- editing -----------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        popup = self._popup()
        if popup.isVisible() and key in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab,
            Qt.Key.Key_Escape,
        ):
            if key == Qt.Key.Key_Tab and popup.currentIndex().isValid() is False:
                popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
            event.ignore()  # the completer's popup takes them
            return
        if key == Qt.Key.Key_Space and mods & Qt.KeyboardModifier.ControlModifier:
            self.complete_here()
            return
        if self.isReadOnly():
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not mods & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            self._new_line()
            return
        if key == Qt.Key.Key_Tab and not mods & Qt.KeyboardModifier.ControlModifier:
            if self.textCursor().hasSelection():
                self.indent_selection()
            else:
                self._insert_to_tab_stop()
            return
        if key == Qt.Key.Key_Backtab:
            self.dedent_selection()
            return
        if key == Qt.Key.Key_Backspace and not mods and self._dedent_backspace():
            return
        if key == Qt.Key.Key_Slash and mods & Qt.KeyboardModifier.ControlModifier:
            self.toggle_comment()
            return
        super().keyPressEvent(event)
        typed = event.text()
        if typed == ".":
            self.complete_here()
        elif popup.isVisible():
            self._update_popup()

    def _new_line(self) -> None:
        """Keep the line's indentation; one level deeper after a ':' (a comment aside)."""
        cursor = self.textCursor()
        text = cursor.block().text()
        before = text[: cursor.positionInBlock()]
        indent = before[: len(before) - len(before.lstrip(" \t"))]
        code = _without_comment(before).rstrip()
        if code.endswith(_OPENERS):
            indent += INDENT
        elif code.split() and code.split()[0] in ("return", "pass", "break", "continue", "raise"):
            indent = indent[: max(len(indent) - len(INDENT), 0)]
        cursor.beginEditBlock()
        cursor.insertText("\n" + indent)
        cursor.endEditBlock()
        self.ensureCursorVisible()

    def _insert_to_tab_stop(self) -> None:
        cursor = self.textCursor()
        column = cursor.positionInBlock()
        cursor.insertText(" " * (len(INDENT) - column % len(INDENT)))

    def _dedent_backspace(self) -> bool:
        """Backspace in the leading spaces removes back to the previous tab stop."""
        cursor = self.textCursor()
        if cursor.hasSelection():
            return False
        column = cursor.positionInBlock()
        before = cursor.block().text()[:column]
        if column == 0 or before.strip(" "):
            return False
        remove = column % len(INDENT) or len(INDENT)
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, remove)
        cursor.removeSelectedText()
        return True

    def _selected_blocks(self) -> tuple[int, int]:
        cursor = self.textCursor()
        document = self.document()
        first = document.findBlock(cursor.selectionStart()).blockNumber()
        end_block = document.findBlock(cursor.selectionEnd())
        last = end_block.blockNumber()
        if cursor.hasSelection() and cursor.selectionEnd() == end_block.position() and last > first:
            last -= 1  # a selection ending at a line's start leaves that line alone
        return first, last

    def _edit_lines(self, change: Callable[[str], str]) -> None:
        """Apply `change(text) -> text` to every selected line as one undo step, keeping
        the lines selected."""
        first, last = self._selected_blocks()
        document = self.document()
        cursor = QTextCursor(document)
        cursor.beginEditBlock()
        for number in range(first, last + 1):
            block = document.findBlockByNumber(number)
            old = block.text()
            new = change(old)
            if new != old:
                line = QTextCursor(block)
                line.movePosition(
                    QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor
                )
                line.insertText(new)
        cursor.endEditBlock()
        start = document.findBlockByNumber(first).position()
        end_block = document.findBlockByNumber(last)
        selection = QTextCursor(document)
        selection.setPosition(start)
        selection.setPosition(
            end_block.position() + len(end_block.text()), QTextCursor.MoveMode.KeepAnchor
        )
        self.setTextCursor(selection)

    def indent_selection(self) -> None:
        self._edit_lines(lambda text: INDENT + text if text.strip() else text)

    def dedent_selection(self) -> None:
        def dedent(text: str) -> str:
            spaces = len(text) - len(text.lstrip(" "))
            return text[min(spaces, len(INDENT)) :]

        self._edit_lines(dedent)

    def toggle_comment(self) -> None:
        """Comment the selected lines with '# ' at their common indentation, or uncomment
        them when every non-blank one is a comment already."""
        first, last = self._selected_blocks()
        document = self.document()
        lines = [document.findBlockByNumber(n).text() for n in range(first, last + 1)]
        filled = [t for t in lines if t.strip()]
        if not filled:
            return
        if all(t.lstrip().startswith("#") for t in filled):

            def change(text: str) -> str:
                stripped = text.lstrip()
                if not stripped.startswith("#"):
                    return text
                indent = text[: len(text) - len(stripped)]
                body = stripped[1:]
                return indent + (body[1:] if body.startswith(" ") else body)

        else:
            column = min(len(t) - len(t.lstrip()) for t in filled)

            def change(text: str) -> str:
                return text[:column] + "# " + text[column:] if text.strip() else text

        self._edit_lines(change)

    # -- completion ----------------------------------------------------------------------------
    def _popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # a QCompleter always has one
        return popup

    def set_jedi(self, jedi: JediCompleter | None) -> None:
        if self.jedi is not None:
            self.jedi.completed.disconnect(self._jedi_answered)
        self.jedi = jedi
        if jedi is not None:
            jedi.completed.connect(self._jedi_answered)

    def text_before_cursor(self) -> str:
        cursor = self.textCursor()
        return cursor.block().text()[: cursor.positionInBlock()]

    def complete_here(self) -> None:
        """Offer the SDK's names now, and ask jedi for the rest (merged in when it answers)."""
        before = self.text_before_cursor()
        if before.lstrip().startswith("#"):
            return
        self._show_completions(instant_completions(before))
        if self.jedi is not None:
            cursor = self.textCursor()
            self._jedi_position = cursor.position()
            self._jedi_request = self.jedi.request(
                self.toPlainText(), cursor.blockNumber() + 1, cursor.positionInBlock(), self.path
            )

    def _jedi_answered(self, request_id: int, names: list[str]) -> None:
        if request_id != self._jedi_request or (not self.hasFocus() and not self.isVisible()):
            return
        if self.textCursor().position() < self._jedi_position:
            return  # the cursor went back past where it was asked: the answer is stale
        current = self.completion_model.stringList() if self._popup().isVisible() else []
        merged = list(dict.fromkeys([*current, *names]))
        _, prefix = completion_prefix(self.text_before_cursor())
        wanted = [n for n in merged if n.lower().startswith(prefix.lower())]
        if wanted:
            self._show_completions(merged)

    def _show_completions(self, names: list[str]) -> None:
        if not names:
            return
        self.completion_model.setStringList(names)
        self._update_popup(force=True)
        self.completion_shown.emit(names)

    def _update_popup(self, force: bool = False) -> None:
        _, prefix = completion_prefix(self.text_before_cursor())
        if not force and not self._popup().isVisible():
            return
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0:
            self._popup().hide()
            return
        rect = self.cursorRect()
        popup = self._popup()
        rect.setWidth(
            max(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 16, 220)
        )
        rect.translate(self.viewportMargins().left(), 2)
        self.completer.complete(rect)
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))

    def _insert_completion(self, name: str) -> None:
        _, prefix = completion_prefix(self.text_before_cursor())
        cursor = self.textCursor()
        cursor.movePosition(
            QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix)
        )
        cursor.insertText(name)
        self.setTextCursor(cursor)
        if self.jedi is not None:
            self.jedi.cancel()


def _token_end(text: str, start: int) -> int:
    """The end of the word (or the single character) starting at `start`."""
    end = start
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return end if end > start else min(start + 1, len(text))


def _without_comment(text: str) -> str:
    """The line before a '#' that is not inside a string (good enough for indenting)."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return text[:i]
    return text
