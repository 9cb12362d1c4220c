"""The find/replace bar under the editor: Ctrl+F finds, Ctrl+H also replaces.

It works on whichever editor the panel hands it (`set_editor`), marks every match, and
moves between them with Enter / Shift+Enter (or the arrows), wrapping at the ends.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from app.gui.editor.code_editor import CodeEditor

MAX_MARKS = 2000  # beyond this, matches are counted but not all painted


class FindBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editorFindBar")
        self.editor: CodeEditor | None = None
        self.find_box = QLineEdit()
        self.find_box.setPlaceholderText("Find")
        self.find_box.setClearButtonEnabled(True)
        self.replace_box = QLineEdit()
        self.replace_box.setPlaceholderText("Replace with")
        self.case_box = QCheckBox("Match case")
        self.count_label = QLabel()
        self.count_label.setMinimumWidth(90)
        self.previous_button = self._button("▲", "Previous match (Shift+Enter)", self.find_previous)
        self.next_button = self._button("▼", "Next match (Enter)", self.find_next)
        self.replace_button = self._button(
            "Replace", "Replace this match, find the next", self.replace_one
        )
        self.replace_all_button = self._button(
            "Replace all", "Replace every match", self.replace_all
        )
        close = self._button("✕", "Close (Esc)", self.close_bar)

        grid = QGridLayout(self)
        grid.setContentsMargins(6, 3, 6, 3)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(3)
        grid.addWidget(self.find_box, 0, 0)
        grid.addWidget(self.previous_button, 0, 1)
        grid.addWidget(self.next_button, 0, 2)
        grid.addWidget(self.case_box, 0, 3)
        grid.addWidget(self.count_label, 0, 4)
        grid.addWidget(close, 0, 6)
        grid.addWidget(self.replace_box, 1, 0)
        grid.addWidget(self.replace_button, 1, 1, 1, 2)
        grid.addWidget(self.replace_all_button, 1, 3)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(5, 1)
        self._replace_widgets = (self.replace_box, self.replace_button, self.replace_all_button)

        self.find_box.textChanged.connect(self._refresh)
        self.case_box.toggled.connect(self._refresh)
        self.find_box.installEventFilter(self)  # Enter, Shift+Enter and Esc in the fields
        self.replace_box.installEventFilter(self)
        self.hide()

    def _button(self, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def set_editor(self, editor: CodeEditor | None) -> None:
        if self.editor is not None and self.editor is not editor:
            self.editor.set_find_marks([])
        self.editor = editor
        if self.isVisible():
            self._refresh()

    def open_find(self, replace: bool = False) -> None:
        """Show the bar (with the replace row if asked), seeded with the selected word."""
        for widget in self._replace_widgets:
            widget.setVisible(replace)
        if self.editor is not None:
            selected = self.editor.textCursor().selectedText()
            if selected and "\u2029" not in selected:
                self.find_box.setText(selected)
        self.show()
        self.find_box.setFocus()
        self.find_box.selectAll()
        self._refresh()

    @property
    def replacing(self) -> bool:
        return self.replace_box.isVisible()

    def close_bar(self) -> None:
        self.hide()
        if self.editor is not None:
            self.editor.set_find_marks([])
            self.editor.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter finds the next match (replaces, in the replace field), Shift+Enter the
        previous one, Esc closes the bar."""
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return True
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.find_previous()
            elif watched is self.replace_box:
                self.replace_one()
            else:
                self.find_next()
            return True
        return super().eventFilter(watched, event)

    def _flags(self, backward: bool = False) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if self.case_box.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        return flags

    def matches(self) -> list[QTextCursor]:
        """Every match in the document, in order."""
        if self.editor is None or not self.find_box.text():
            return []
        document = self.editor.document()
        found: list[QTextCursor] = []
        cursor = QTextCursor(document)
        needle = self.find_box.text()
        while True:
            cursor = document.find(needle, cursor, self._flags())
            if cursor.isNull():
                return found
            found.append(QTextCursor(cursor))

    def _refresh(self) -> None:
        if self.editor is None:
            return
        found = self.matches()
        self.editor.set_find_marks(found[:MAX_MARKS])
        text = self.find_box.text()
        self.count_label.setText(f"{len(found)} match{'es' * (len(found) != 1)}" if text else "")
        self.find_box.setStyleSheet(
            "" if found or not text else "QLineEdit { border: 1px solid #d1242f; }"
        )

    def find_next(self) -> bool:
        return self._find(backward=False)

    def find_previous(self) -> bool:
        return self._find(backward=True)

    def _find(self, backward: bool) -> bool:
        editor = self.editor
        needle = self.find_box.text()
        if editor is None or not needle:
            return False
        document = editor.document()
        found = document.find(needle, editor.textCursor(), self._flags(backward))
        if found.isNull():  # wrap round
            start = QTextCursor(document)
            if backward:
                start.movePosition(QTextCursor.MoveOperation.End)
            found = document.find(needle, start, self._flags(backward))
        if found.isNull():
            return False
        editor.setTextCursor(found)
        editor.centerCursor()
        return True

    def _selection_matches(self) -> bool:
        assert self.editor is not None
        selected = self.editor.textCursor().selectedText()
        needle = self.find_box.text()
        if self.case_box.isChecked():
            return selected == needle
        return selected.lower() == needle.lower()

    def replace_one(self) -> None:
        """Replace the selected match (if it is one), then move to the next."""
        editor = self.editor
        if editor is None or editor.isReadOnly() or not self.find_box.text():
            return
        if self._selection_matches():
            editor.textCursor().insertText(self.replace_box.text())
        self.find_next()
        self._refresh()

    def replace_all(self) -> int:
        """Replace every match as one undo step; how many were replaced."""
        editor = self.editor
        if editor is None or editor.isReadOnly():
            return 0
        found = self.matches()
        if not found:
            return 0
        edit = QTextCursor(editor.document())
        edit.beginEditBlock()
        for cursor in reversed(found):  # from the end: earlier positions stay valid
            cursor.insertText(self.replace_box.text())
        edit.endEditBlock()
        self._refresh()
        self.count_label.setText(f"{len(found)} replaced")
        return len(found)
