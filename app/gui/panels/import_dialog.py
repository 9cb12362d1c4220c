"""Options for importing files from the Data panel: what `artha data import` takes as flags.

Without them a GUI user could import bhavcopies and files already in the canonical layout
only; a broker or Yahoo export (``Date,Open,...`` with naive times) needs a column mapping and
the zone of its times. The rules are engine.data.importers.generic's; this dialog only collects
them, pre-filled from the first file's header with the engine's own guess
(engine.data.importers.column_names.suggest_mapping, also the CLI's), and refuses what the
engine would refuse.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.data.bar_series import BarDataError
from engine.data.import_files import ImportOptions
from engine.data.importers import FORMATS, detect_format
from engine.data.importers.column_names import CANONICAL, suggest_mapping
from engine.data.importers.generic import REQUIRED
from engine.data.importers.sources import open_source
from engine.timeframes import TIMEFRAME_NAMES

AUTO: Final = "auto (detect from the file)"
EXCHANGES: Final = ("NSE", "BSE", "NFO", "BFO")
ZONES: Final = ("", "Asia/Kolkata", "UTC")
GENERIC: Final = ("ohlcv_csv", "parquet")  # every other format is an exchange file
IGNORE, AS_IS = "(ignore)", "(as is)"
TARGETS: Final = (IGNORE, AS_IS, "timestamp", "time", "open", "high", "low", "close",
                  "volume", "oi", "symbol")  # fmt: skip
ERROR_STYLE: Final = "color: #e5534b; font-weight: 600;"  # readable on both themes
_SHOWN_FILES: Final = 3


def _as_is(name: str) -> str:
    """The canonical name a column is read as without a mapping (if it is one): the rule of
    engine.data.importers.generic.resolve_layout."""
    return name.strip().lower()


_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)


def _naive_time(text: str) -> bool:
    """A timestamp with a time of day and no UTC offset ("2024-01-01 09:15:00")."""
    return ":" in text and not _OFFSET.search(text.strip())


def read_head(path: str | Path) -> tuple[list[str], list[str]] | None:
    """The header and the first row of a plain CSV/TXT (the row shows how times and prices
    are written, which the zone and date format depend on); None for zip, Parquet, gzip."""
    with open(path, "rb") as file:
        head = file.read(64 * 1024)
    if head[:2] == b"PK" or head[:4] == b"PAR1" or head[:2] == b"\x1f\x8b":
        return None
    rows = list(csv.reader(head.decode("utf-8-sig", errors="replace").splitlines()[:2]))
    return (rows[0] if rows else []), (rows[1] if len(rows) > 1 else [])


class ImportDialog(QDialog):
    """Chosen files -> ImportOptions, built as `artha data import` builds them from its flags."""

    def __init__(self, paths: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importOptions")
        self.setWindowTitle("Import market data")
        self.paths = [str(p) for p in paths]
        names = [Path(p).name for p in self.paths]
        more = len(names) - _SHOWN_FILES
        files = QLabel(
            f"{len(names)} file{'s' if len(names) > 1 else ''}: "
            + ", ".join(names[:_SHOWN_FILES])
            + (f" and {more} more" if more > 0 else ""),
            wordWrap=True,
        )
        files.setToolTip("\n".join(self.paths))

        self.format = QComboBox()
        self.format.addItems([AUTO, *FORMATS])
        self.format.currentIndexChanged.connect(self._format_changed)
        self.force = QCheckBox("Re-import even if imported before")
        self.force.setToolTip("Files already imported (same content) are skipped otherwise")
        top = QFormLayout()
        top.addRow("Files", files)
        top.addRow("Format", self.format)
        top.addRow("", self.force)

        self.symbol = QLineEdit(placeholderText="from the file name")
        self.exchange = QComboBox()
        self.exchange.addItems(EXCHANGES)
        self.timeframe = QComboBox()
        self.timeframe.addItems(["auto (from the bar spacing)", *TIMEFRAME_NAMES])
        self.timezone = QComboBox(editable=True)
        self.timezone.addItems(ZONES)
        zone_edit = self.timezone.lineEdit()
        assert zone_edit is not None  # editable
        zone_edit.setPlaceholderText("none: refuse such times")
        self.timezone.setToolTip("Any IANA zone name; times that carry an offset keep it")
        self.date_format = QLineEdit(placeholderText="ISO 8601 if blank, e.g. %d-%m-%Y %H:%M")
        self.date_format.setToolTip("A Python strptime layout of the timestamp column")
        self.generic_note = QLabel(wordWrap=True)
        self.generic = QGroupBox("Generic OHLCV files")
        form = QFormLayout()
        form.addRow("Symbol", self.symbol)
        form.addRow("Exchange", self.exchange)
        form.addRow("Timeframe", self.timeframe)
        form.addRow("Times without an offset are in", self.timezone)
        form.addRow("Date format", self.date_format)
        self.column_combos: list[tuple[str, QComboBox]] = []  # (column as written, its combo)
        self.samples: dict[str, str] = {}  # column as written -> its value in the first row
        self.columns = QTableWidget(0, 3)
        self.columns.setHorizontalHeaderLabels(["Column in the file", "First row", "Use as"])
        self.columns.verticalHeader().setVisible(False)
        self.columns.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.columns.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.columns_note = QLabel(wordWrap=True)
        box = QVBoxLayout(self.generic)
        box.addLayout(form)
        box.addWidget(self.columns_note)
        box.addWidget(self.columns, 1)

        self.error = QLabel(wordWrap=True)
        self.error.setObjectName("importOptionsError")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.generic_note)
        layout.addWidget(self.generic, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.refusal = self._refusal()
        self.detected = self._detect()
        self._fill_columns()
        self._format_changed()

    # -- the first file ---------------------------------------------------------------------
    def _refusal(self) -> str:
        """Why the importer will refuse the first file outright ("" if it may take it): not
        a file, binary, an HTML page, a workbook... in the importer's own words, so a dropped
        picture is named as such instead of previewed as columns of garbage."""
        if not self.paths:
            return ""
        try:
            open_source(self.paths[0])
        except BarDataError as exc:
            return exc.problem
        except OSError as exc:
            return f"cannot be read: {exc.strerror or exc}"
        return ""

    def _detect(self) -> str | None:
        """The first file's format as `auto` would judge it (None: not recognised as is)."""
        try:
            return detect_format(self.paths[0]) if self.paths else None
        except (BarDataError, ValueError, OSError):
            return None

    @property
    def exchange_file(self) -> bool:
        """The first file is a bhavcopy: no mapping applies to it, none is suggested."""
        return self.detected is not None and self.detected not in GENERIC

    def _fill_columns(self) -> None:
        first = Path(self.paths[0]).name if self.paths else ""
        if self.refusal:
            others = " (the other files are imported as usual)" if len(self.paths) > 1 else ""
            self.columns_note.setText(
                f"{first}: {self.refusal}. Nothing of it will be imported{others}; the "
                "result lists every file and what became of it."
            )
            self.columns_note.setStyleSheet(ERROR_STYLE)
            self.columns.hide()
            return
        try:
            head = read_head(self.paths[0]) if self.paths else None
        except OSError as exc:
            head, why = None, f"cannot read {first}: {exc}"
        else:
            why = f"Column mapping: {first} is zipped or Parquet, its header is not previewed"
        if head is None:
            self.columns_note.setText(
                f"{why}. Columns named timestamp, open, high, low, "
                "close, volume (oi, symbol) are read as they are."
            )
            self.columns.hide()
            return
        header, example = head
        suggested = {} if self.exchange_file else suggest_mapping(header)
        self.columns_note.setText(f"Column mapping, from the header of {first}:")
        for k, name in enumerate(header):
            if not name.strip():
                continue
            row = self.columns.rowCount()
            self.columns.insertRow(row)
            sample = example[k].strip() if k < len(example) else ""
            for col, text in ((0, name.strip()), (1, sample)):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.columns.setItem(row, col, item)
            combo = QComboBox()
            combo.addItems(TARGETS)
            own = AS_IS if _as_is(name) in CANONICAL else IGNORE
            combo.setCurrentText(suggested.get(name.strip(), own))
            self.columns.setCellWidget(row, 2, combo)
            self.column_combos.append((name.strip(), combo))
            self.samples[name.strip()] = sample

    def _format_changed(self) -> None:
        fmt = self.format.currentText()
        self.generic.setVisible(self.generic_applies)
        if fmt == AUTO:
            seen = f" The first file looks like {self.detected}." if self.detected else ""
            self.generic_note.setText(
                "The options below apply to generic OHLCV files only; bhavcopies name their "
                f"own symbols, exchange and dates.{seen}"
            )
        elif fmt in GENERIC:
            self.generic_note.setText("")
        else:
            self.generic_note.setText(
                f"{fmt} files name their own symbols, exchange and dates: there is nothing "
                "more to choose (the symbol, time zone and column options are for generic "
                "OHLCV files)."
            )
        self.generic_note.setVisible(bool(self.generic_note.text()))
        if self.generic_applies:
            self.resize(max(self.width(), 620), max(self.height(), 660))
        else:  # no empty half-screen dialog around one sentence
            self.adjustSize()

    @property
    def generic_applies(self) -> bool:
        """The symbol, zone and column options: not for a chosen bhavcopy format."""
        fmt = self.format.currentText()
        return fmt == AUTO or fmt in GENERIC

    # -- the result -------------------------------------------------------------------------
    def choices(self) -> list[tuple[str, str]]:
        """(column as written, choice in its combo) for every previewed column."""
        return [(name, combo.currentText()) for name, combo in self.column_combos]

    def options(self) -> ImportOptions:
        """What `artha data import` builds from the same choices (--map, --timezone, ...)."""
        fmt = "auto" if self.format.currentText() == AUTO else self.format.currentText()
        if not self.generic_applies:
            return ImportOptions(
                fmt, None, None, self.exchange.currentText(), None, self.force.isChecked()
            )
        mapping = {
            name: choice
            for name, choice in self.choices()
            if choice in CANONICAL and choice != _as_is(name)
        }
        if zone := self.timezone.currentText().strip():
            mapping["timezone"] = zone
        if layout := self.date_format.text().strip():
            mapping["date_format"] = layout
        timeframe = self.timeframe.currentText()
        return ImportOptions(
            fmt,
            mapping or None,
            self.symbol.text().strip() or None,
            self.exchange.currentText(),
            timeframe if timeframe in TIMEFRAME_NAMES else None,
            self.force.isChecked(),
        )

    def problem(self) -> str:
        """Why the choices cannot work ("" if they can): said here, not after a failed import."""
        if not self.generic_applies:
            return ""
        zone = self.timezone.currentText().strip()
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                return f"Unknown time zone {zone!r}: use a name such as Asia/Kolkata or UTC."
        given: dict[str, str] = {}
        for name, choice in self.choices():
            target = _as_is(name) if choice == AS_IS else choice
            if target not in CANONICAL:
                continue
            if target in given:
                return (
                    f"Columns {given[target]!r} and {name!r} are both used as {target}: "
                    "set one of them to (ignore)."
                )
            given[target] = name
        ignored = [
            name
            for name, choice in self.choices()
            if choice == IGNORE and _as_is(name) in CANONICAL and _as_is(name) not in given
        ]
        if ignored:
            return (
                f"Column {ignored[0]!r} is always read as {_as_is(ignored[0])}; to ignore "
                "it, use another column as that."
            )
        missing = [c for c in REQUIRED if c not in given]
        if self.choices() and missing and not self.exchange_file:
            return f"No column is used as {', '.join(missing)}: choose one under Use as."
        sample = " ".join(  # a separate time column is joined to the date, as the engine does
            self.samples.get(given.get(c, ""), "") for c in ("timestamp", "time")
        ).strip()
        if not zone and not self.date_format.text().strip() and _naive_time(sample):
            return (
                f"The times ({sample!r} in the first row) carry no UTC offset: choose the zone "
                "they are in (Asia/Kolkata for times printed by Indian brokers and exchanges)."
            )
        return ""

    def accept(self) -> None:
        text = self.problem()
        self.error.setText(text)
        self.error.setVisible(bool(text))
        if not text:
            super().accept()
