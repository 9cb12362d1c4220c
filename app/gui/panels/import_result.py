"""What a Data panel import did, file by file: the result dialog and the held-files question.

Every file of an import gets one line, worded as `artha data import` prints it
(app/commands/data.py), with its notes under it and the calendar warning at the top, so the
GUI and the CLI tell a trader the same thing; the panel writes the same lines to the log.
A file whose bars fall on days the exchange was closed is held by the engine
(engine.data.import_files): HeldFilesDialog asks the trader whether to keep those bars,
leave them out or skip the files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QTextBlockFormat,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.gui.message_style import ERROR_STYLE, WARNING_STYLE, bounded, fixed_font
from app.gui.message_style import MAX_MESSAGE as MAX_MESSAGE  # where its tests look for it
from engine.data.bar_series import ist_iso
from engine.data.import_files import FileResult, FileStatus, ImportOutcome

_COLOURS: Final = {logging.INFO: "#2e9d5b", logging.WARNING: "#d99a1e", logging.ERROR: "#e5534b"}
_TAG_WIDTH: Final = 11  # "NOT TRIED" and a gap: the file lines start in one column
UNTRIED_LINE: Final = 20_000  # characters of the log's one "not tried" line (~300 paths)
_LEVELS: Final = {
    FileStatus.STORED: logging.INFO,
    FileStatus.ALREADY: logging.INFO,
    FileStatus.REFUSED: logging.ERROR,
    FileStatus.HELD: logging.WARNING,
    FileStatus.NOT_TRIED: logging.ERROR,
}


class HeldChoice(StrEnum):
    """The trader's word on held files; KEEP and DROP are ImportOptions.closed_days values."""

    KEEP = "keep"
    DROP = "drop"
    SKIP = "skip"


def summary(outcome: ImportOutcome) -> str:
    """The line at the top of a result, e.g. "3 files: 2 stored, 1 refused"."""
    n = len(outcome.files)
    counts = [f"{outcome.count(s)} {s.value}" for s in FileStatus if outcome.count(s)]
    return f"{n} file{'s' * (n != 1)}: {', '.join(counts)}" if counts else "no files"


@dataclass(frozen=True)
class FileLines:
    """One file as the dialog and the log say it: its line and the lines under it."""

    result: FileResult
    level: int  # logging level: how the log writes it, and its colour in the dialog
    line: str
    details: tuple[str, ...]

    @property
    def tag(self) -> str:
        return self.result.status.value.upper().replace("ALREADY IMPORTED", "ALREADY")


def describe(result: FileResult, skipped: bool = False) -> FileLines:
    """A file's line as `artha data import` prints it, and its notes; `skipped`: a held file
    the trader chose not to import."""
    path, report, status = result.path, result.report, result.status
    notes = [f"note: {n}" for n in result.notes]
    if status is FileStatus.STORED and report is not None:
        span = ""
        if report.first_ts is not None and report.last_ts is not None:
            span = f", {ist_iso(report.first_ts)[:10]}..{ist_iso(report.last_ts)[:10]}"
        new = report.instruments_added
        line = (
            f"{path}: {report.format}, {report.bars_written:,} bars written, "
            f"{report.bars_unchanged:,} unchanged, {new} new instrument{'s' * (new != 1)}{span}"
        )
    elif status is FileStatus.ALREADY:
        line = f"{path}: already imported, nothing changed"
        notes.append("tick “Re-import even if imported before” to import it again")
    elif status is FileStatus.HELD:
        line = result.problem or f"{path}: held"
        notes.insert(0, "nothing from this file was stored" + (": skipped" * skipped))
    else:  # REFUSED, NOT_TRIED
        line = result.problem or f"{path}: {status.value}"
        notes.insert(0, "nothing from this file was stored")
    return FileLines(result, _LEVELS[status], line, tuple(notes))


def log_outcome(log: logging.Logger, outcome: ImportOutcome, skipped: bool = False) -> None:
    """The dialog's lines, in the log too (bounded: a 50 MB field is no log record)."""
    log.info("import: %s", summary(outcome))
    untried = [f.path for f in outcome.files if f.status is FileStatus.NOT_TRIED]
    for file in (
        describe(f, skipped) for f in outcome.files if f.status is not FileStatus.NOT_TRIED
    ):
        log.log(file.level, "%s", bounded(file.line))
        for detail in file.details:
            log.log(file.level, "%s: %s", file.result.path, bounded(detail))
    if untried:  # one record, not two per file: a cancelled 300-file import is one fact
        names = ", ".join(str(p) for p in untried)
        log.warning(
            "%d file(s) not tried, nothing of them stored: %s",
            len(untried),
            bounded(names, UNTRIED_LINE),
        )
    if outcome.warning:
        log.warning("warning: %s", bounded(outcome.warning))


def merged(first: ImportOutcome, again: ImportOutcome) -> ImportOutcome:
    """`first` with its held files' results replaced by those of their import `again`
    (given the held paths, in order)."""
    later = iter(again.files)
    files = []
    for result in first.files:
        if result.status is FileStatus.HELD:
            result = next(later, result)
        files.append(result)
    warnings = dict.fromkeys(w for w in (first.warning, again.warning) if w)
    return ImportOutcome(files, "\n".join(warnings))


def stopped(
    paths: Sequence[str | Path], settled: Sequence[FileResult], error: str
) -> ImportOutcome:
    """The outcome of an import that raised half-way: the files it reported keep their
    results (stored ones are committed), the others are not tried."""
    waiting: dict[str, list[FileResult]] = {}
    for result in settled:
        waiting.setdefault(result.path, []).append(result)
    files = []
    for path in map(str, paths):
        got = waiting.get(path)
        files.append(
            got.pop(0)
            if got
            else FileResult(
                path,
                FileStatus.NOT_TRIED,
                problem=f"{path}: not finished, the import stopped: {error}",
            )
        )
    return ImportOutcome(files)


def _text_area(parent: QWidget) -> QPlainTextEdit:
    area = QPlainTextEdit(parent, readOnly=True)
    area.setFont(fixed_font())
    area.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    return area


class ImportResultDialog(QDialog):
    """Every file of one import: stored (bars, instruments, dates), already imported,
    refused and why, held and why, not tried; their notes; the calendar warning."""

    def __init__(
        self, outcome: ImportOutcome, skipped: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("importResult")
        self.setWindowTitle("Import cancelled" if outcome.cancelled else "Import result")
        self.outcome = outcome
        self.files = [describe(f, skipped) for f in outcome.files]
        failed = any(f.level >= logging.ERROR for f in self.files)
        self.summary = QLabel(summary(outcome))
        self.summary.setObjectName("importSummary")
        font = self.summary.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.summary.setFont(font)
        if failed:
            self.summary.setStyleSheet(ERROR_STYLE)
        self.warning = QLabel(wordWrap=True)
        self.warning.setObjectName("importWarning")
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.setText(f"⚠ {bounded(outcome.warning)}" if outcome.warning else "")
        self.warning.setVisible(bool(outcome.warning))
        stored = [f for f in outcome.files if f.status is FileStatus.STORED]
        not_stored = [
            f for f in outcome.files if f.status not in (FileStatus.STORED, FileStatus.ALREADY)
        ]
        self.what = QLabel(wordWrap=True)
        what = self._what_was_stored(stored, not_stored)
        self.what.setText(f"Cancelled. {what}" if outcome.cancelled else what)
        self.body = QTextEdit(self, readOnly=True)
        self.body.setFont(fixed_font())
        self.body.setAcceptRichText(False)
        self.body.setObjectName("importResultText")
        self._fill()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setAutoDefault(False)
        copy.setToolTip("Copy the whole result, e.g. to report a problem with a file")
        copy.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.warning)
        layout.addWidget(self.what)
        layout.addWidget(self.body, 1)
        layout.addWidget(buttons)
        self.resize(820, 440)

    @staticmethod
    def _what_was_stored(stored: list[FileResult], not_stored: list[FileResult]) -> str:
        def names(files: list[FileResult]) -> str:
            shown = ", ".join(Path(f.path).name for f in files[:4])
            return shown + (f" and {len(files) - 4} more" if len(files) > 4 else "")

        parts = []
        if stored:
            parts.append(f"Stored: {names(stored)}.")
        if not_stored:
            parts.append(f"Nothing stored from {names(not_stored)}.")
        return " ".join(parts)

    def _fill(self) -> None:
        """A line per file after its status, its notes under it; a long line wraps to the
        column where the path starts (a hanging indent), not under the status."""
        hang = QTextBlockFormat()
        width = self.body.fontMetrics().horizontalAdvance(" " * _TAG_WIDTH)
        hang.setLeftMargin(width)
        hang.setTextIndent(-width)
        hang.setBottomMargin(0)
        plain, tag_format = QTextCharFormat(), QTextCharFormat()
        tag_format.setFontWeight(QFont.Weight.Bold)
        indent = " " * _TAG_WIDTH
        first_line = QTextBlockFormat(hang)
        first_line.setTopMargin(self.body.fontMetrics().height() // 3)  # files apart
        cursor = self.body.textCursor()
        cursor.setBlockFormat(hang)
        for k, file in enumerate(self.files):
            tag_format.setForeground(QColor(_COLOURS[file.level]))
            if k:
                cursor.insertBlock(first_line)
            cursor.insertText(file.tag.ljust(_TAG_WIDTH), tag_format)
            cursor.insertText(bounded(file.line), plain)
            for detail in file.details:
                cursor.insertBlock(hang)
                cursor.insertText(indent + bounded(detail), plain)
        self.body.moveCursor(cursor.MoveOperation.Start)

    def text(self) -> str:
        """Everything the dialog says, as plain text."""
        warning = f"warning: {bounded(self.outcome.warning)}\n" if self.outcome.warning else ""
        return f"{self.summary.text()}\n{warning}{self.body.toPlainText()}\n"

    def copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(self.text())


class HeldFilesDialog(QDialog):
    """Files held for bars on days the exchange was closed: keep those bars, leave them out,
    or skip the files. `chosen` carries the HeldChoice; closing the dialog skips."""

    chosen = Signal(str)

    def __init__(self, held: Sequence[FileResult], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heldFiles")
        self.setWindowTitle("Bars on days the exchange was closed")
        self.answered = False
        n = len(held)
        these = "these files" if n > 1 else "this file"
        head = QLabel(
            f"{n} file{'s' * (n != 1)} {'have' if n > 1 else 'has'} bars on days the exchange "
            f"was closed. Nothing from {these} is stored yet.",
            wordWrap=True,
        )
        font = head.font()
        font.setBold(True)
        head.setFont(font)
        self.problems = _text_area(self)
        self.problems.setObjectName("heldProblems")
        self.problems.setPlainText("\n".join(bounded(f.problem) for f in held))
        hint = QLabel(
            "Such a bar is usually a wrong date in the file, and a backtest would trade on it. "
            "If the exchange did hold a special session that day (a muhurat or budget-day "
            "session), add it in Tools ▸ Market calendar, then import the file again: "
            "skip it for now.",
            wordWrap=True,
        )
        hint.setObjectName("heldHint")
        self.buttons: dict[HeldChoice, QPushButton] = {}
        row = QHBoxLayout()
        row.addStretch(1)
        for choice, text, tip in (
            (HeldChoice.KEEP, "Keep those bars", "Store the files as they are; a note says so"),
            (
                HeldChoice.DROP,
                "Leave those bars out",
                "Store the files without their bars on closed days; a note says so",
            ),
            (HeldChoice.SKIP, "Skip these files", "Store nothing from these files"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setAutoDefault(False)
            button.setProperty("choice", choice.value)
            button.clicked.connect(self._clicked)  # a bound method: no lambda holding self
            self.buttons[choice] = button
            row.addWidget(button)
        skip = self.buttons[HeldChoice.SKIP]
        skip.setDefault(True)  # Enter stores nothing
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.problems, 1)
        layout.addWidget(hint)
        layout.addLayout(row)
        self.resize(760, 320)

    def _clicked(self) -> None:
        button = self.sender()
        if isinstance(button, QPushButton):
            self.choose(HeldChoice(button.property("choice")))

    def choose(self, choice: HeldChoice) -> None:
        if not self.answered:
            self.answered = True
            self.chosen.emit(choice.value)
        skipped = choice is HeldChoice.SKIP
        self.done(QDialog.DialogCode.Rejected if skipped else QDialog.DialogCode.Accepted)

    def reject(self) -> None:  # Esc or the window's close button
        self.choose(HeldChoice.SKIP)
