"""Tools ▸ Market calendar: a year's holidays and special sessions, and the edits
`artha calendar` makes (import the exchange's holiday list, add a session or a holiday,
remove the workspace's own entries).

Every edit is planned first (engine/calendar/changes.py) and shown day by day, as every
exchange calendar will answer after it; Apply writes it in one transaction, Cancel writes
nothing. The operations take milliseconds, so they run on the GUI thread.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.gui.context import AppContext
from app.gui.table_model import Column, RowsModel
from engine.calendar import (
    IMPORT_HINT,
    IST,
    CalendarEntry,
    CalendarLayer,
    CalendarSegment,
    EntryKind,
    EntrySource,
    get_calendar,
    year_ranges,
)
from engine.calendar.changes import CalendarPlan, plan_entry, plan_holiday_list, plan_removal
from engine.calendar.holiday_lists import HolidayListError, ParsedHolidayList, read_holiday_list
from engine.calendar.listing import (
    SOURCE_LABELS,
    ListedDay,
    calendar_days,
    entry_venues,
    known_lists,
    venue_label,
)
from engine.data.store import StoreError
from engine.domain.enums import Exchange
from engine.events import CalendarChanged

FIRST_YEAR, LAST_YEAR = 1997, 2100
LIST_FILTER = "Holiday lists (*.csv *.CSV *.json *.JSON);;All files (*)"
ERROR_STYLE = "color: #e5534b; font-weight: 600;"  # readable on the dark and light themes
# Fixed colours (not the palette) so the banner reads the same on both themes.
WARNING_STYLE = (
    "background: #4a3a10; color: #ffe7a8; border: 1px solid #d99a1e; border-radius: 4px;"
    " padding: 6px 8px;"
)
SESSION_KINDS = (EntryKind.MUHURAT, EntryKind.BUDGET, EntryKind.SPECIAL)
SEGMENTS = (("equity", "equity"), ("F&O", "fo"), ("currency", "currency"))
SCOPES = (("NSE and BSE", "both"), ("NSE", "NSE"), ("BSE", "BSE"))  # (shown, as the CLI says)
SCOPE_TEXT = {data: text for text, data in SCOPES}
ALL_YEARS = "all years in the file"
EDITABLE_SOURCES = (EntrySource.IMPORTED, EntrySource.USER)


def _what(day: ListedDay) -> str:
    return f"{day.what} (provisional)" if day.provisional else day.what


COLUMNS = (
    Column("Date", lambda d: f"{d.date:%a %d %b %Y}"),
    Column("Exchanges", lambda d: venue_label(d.venues)),
    Column("What", _what),
    Column("Note", lambda d: d.note),
    Column("Source", lambda d: SOURCE_LABELS[d.source]),
)
_NOTE_COLUMN = 3


def _combo(items: tuple[tuple[str, str], ...]) -> QComboBox:
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    return box


def _qdate(day: datetime.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(value: QDate) -> datetime.date:
    return datetime.date(value.year(), value.month(), value.day())


def _pytime(value: QTime) -> datetime.time:
    return datetime.time(value.hour(), value.minute())


class CalendarDialog(QDialog):
    """The market calendar of one year; import, add and remove go through a preview page."""

    applied = Signal(str)  # after a change is written: the plan's summary

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("marketCalendar")
        self.setWindowTitle("Market calendar")
        self.ctx = ctx
        self.plan: CalendarPlan | None = None  # the change on the preview page
        self.error_box: QMessageBox | None = None  # the last "not imported" message
        self._list_path: Path | None = None  # the holiday list being previewed
        self._parsed: ParsedHolidayList | None = None
        self._back_to: QWidget | None = None  # where Cancel returns from the preview

        self.stack = QStackedWidget()
        self.calendar_page = self._build_calendar_page()
        self.form = self._build_form_page()
        self.preview = self._build_preview_page()
        for page in (self.calendar_page, self.form, self.preview):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        self.resize(960, 640)

        now_year = ctx.now().astimezone(IST).year
        self.year_box.setValue(min(max(now_year, FIRST_YEAR), LAST_YEAR))
        self.year_box.valueChanged.connect(self.refresh)
        self.date_edit.setDate(_qdate(ctx.now().astimezone(IST).date()))
        if ctx.store is None:
            for button in (
                self.import_button,
                self.add_session_button,
                self.add_holiday_button,
            ):
                button.setEnabled(False)
            problem = ctx.store_problem or "the workspace's market store is not open"
            self._set_status(f"Read only: {problem}", error=True)
        self.refresh()

    # -- pages ------------------------------------------------------------------------------
    def _build_calendar_page(self) -> QWidget:
        page = QWidget()
        self.year_box = QSpinBox()
        self.year_box.setRange(FIRST_YEAR, LAST_YEAR)
        self.year_box.setObjectName("calendarYear")
        year_row = QHBoxLayout()
        year_row.addWidget(QLabel("Year"))
        year_row.addWidget(self.year_box)
        year_row.addStretch(1)

        self.warning_label = QLabel(wordWrap=True)
        self.warning_label.setObjectName("calendarWarning")
        self.warning_label.setStyleSheet(WARNING_STYLE)
        self.warning_label.hide()
        self.lists_label = QLabel(wordWrap=True)
        self.lists_label.setObjectName("calendarLists")
        self.lists_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model = RowsModel(COLUMNS)
        self.table = QTableView()
        self.table.setObjectName("calendarTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(self.fontMetrics().horizontalAdvance("Exchanges") + 24)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_NOTE_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("calendarEmpty")

        self.status_label = QLabel(wordWrap=True)
        self.status_label.setObjectName("calendarStatus")
        self.import_button = QPushButton("Import holiday list…")
        self.import_button.setToolTip(
            "Load the exchange's trading-holiday list: NSE's CSV or JSON download, "
            "or a CSV of date,description"
        )
        self.import_button.clicked.connect(self.choose_list_file)
        self.add_session_button = QPushButton("Add session…")
        self.add_session_button.setToolTip("A muhurat, budget-day or other special session")
        self.add_session_button.clicked.connect(lambda: self.show_entry_form(holiday=False))
        self.add_holiday_button = QPushButton("Add holiday…")
        self.add_holiday_button.clicked.connect(lambda: self.show_entry_form(holiday=True))
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip(
            "Remove the workspace's own entries on the selected day (imported or yours); "
            "days from the package or Artha's table cannot be removed"
        )
        self.remove_button.clicked.connect(self.remove_selected)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for button in (self.import_button, self.add_session_button, self.add_holiday_button):
            buttons.addWidget(button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(year_row)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.lists_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        return page

    def _build_form_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("calendarForm")
        self.form_title = QLabel()
        self.form_title.setObjectName("calendarFormTitle")
        font = self.form_title.font()
        font.setBold(True)
        self.form_title.setFont(font)
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setDateRange(QDate(FIRST_YEAR, 1, 1), QDate(LAST_YEAR, 12, 31))
        self.weekday_label = QLabel()
        self.date_edit.dateChanged.connect(self._date_changed)
        date_row = QHBoxLayout()
        date_row.addWidget(self.date_edit)
        date_row.addWidget(self.weekday_label)
        date_row.addStretch(1)
        self.kind_box = _combo(tuple((str(k), str(k)) for k in SESSION_KINDS))
        self.open_edit = self._time_edit(18, 0)
        self.close_edit = self._time_edit(19, 0)
        self.pre_open_check = QCheckBox("at")
        self.pre_open_edit = self._time_edit(17, 45)
        self.pre_open_edit.setEnabled(False)
        self.pre_open_check.toggled.connect(self.pre_open_edit.setEnabled)
        pre_open_row = QHBoxLayout()
        pre_open_row.addWidget(self.pre_open_check)
        pre_open_row.addWidget(self.pre_open_edit)
        pre_open_row.addWidget(QLabel("(unticked: 15 minutes before open)"))
        pre_open_row.addStretch(1)
        hours_row = QHBoxLayout()
        hours_row.addWidget(self.open_edit)
        hours_row.addWidget(QLabel("to"))
        hours_row.addWidget(self.close_edit)
        hours_row.addWidget(QLabel("IST"))
        hours_row.addStretch(1)
        self.note_edit = QLineEdit(placeholderText="required, e.g. NSE circular 2026/123")
        self.note_edit.setMinimumWidth(440)
        self.form_exchange_box = _combo(SCOPES)
        self.form_segment_box = _combo(SEGMENTS)
        self.entry_form = QFormLayout()
        self.entry_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.entry_form.addRow("Date", date_row)
        self.entry_form.addRow("Kind", self.kind_box)
        self.entry_form.addRow("Hours", hours_row)
        self.entry_form.addRow("Pre-open", pre_open_row)
        self.entry_form.addRow("Note", self.note_edit)
        self.entry_form.addRow("Exchanges", self.form_exchange_box)
        self.entry_form.addRow("Segment", self.form_segment_box)
        self.form_error = QLabel(wordWrap=True)
        self.form_error.setObjectName("calendarFormError")
        self.form_error.setStyleSheet(ERROR_STYLE)
        self.form_error.hide()
        self.form_preview_button = QPushButton("Preview…")
        self.form_preview_button.clicked.connect(self.preview_entry)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.show_calendar_page)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.form_preview_button)
        buttons.addWidget(cancel)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form_title)
        layout.addLayout(self.entry_form)
        layout.addWidget(self.form_error)
        hint = QLabel(
            "Times are IST. Preview shows what every exchange calendar will answer on that day; "
            "nothing is written before Apply. A day you add overrides what the package and "
            "Artha's own table say about it."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self._holiday_form = False
        return page

    def _build_preview_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("calendarPreview")
        self.preview_title = QLabel(wordWrap=True)
        self.preview_title.setObjectName("calendarPreviewTitle")
        self.preview_title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.preview_title.font()
        font.setBold(True)
        self.preview_title.setFont(font)

        self.list_options = QWidget()
        self.list_file_label = QLabel(wordWrap=True)
        self.segment_box = _combo(SEGMENTS)
        self.segment_box.setToolTip("Which segment's list this is (for NSE's JSON: which list)")
        self.exchange_box = _combo(SCOPES)
        self.exchange_box.setToolTip("Which exchange's calendar the list is for")
        self.list_year_box = QComboBox()
        self.list_year_box.setToolTip("Load every year of the file, or only one")
        options = QHBoxLayout()
        options.setContentsMargins(0, 0, 0, 0)
        for label, box in (
            ("Segment", self.segment_box),
            ("Exchanges", self.exchange_box),
            ("Years", self.list_year_box),
        ):
            options.addWidget(QLabel(label))
            options.addWidget(box)
            options.addSpacing(12)
        options.addStretch(1)
        options_layout = QVBoxLayout(self.list_options)
        options_layout.setContentsMargins(0, 0, 0, 0)
        options_layout.addWidget(self.list_file_label)
        options_layout.addLayout(options)
        self.segment_box.currentIndexChanged.connect(self._segment_changed)
        self.exchange_box.currentIndexChanged.connect(self._replan_list)
        self.list_year_box.currentIndexChanged.connect(self._replan_list)

        self.preview_known = QLabel(wordWrap=True)
        self.preview_known.setObjectName("calendarPreviewKnown")
        self.preview_changes = QListWidget()
        self.preview_changes.setObjectName("calendarPreviewChanges")
        self.preview_notes = QLabel(wordWrap=True)
        self.preview_notes.setObjectName("calendarPreviewNotes")
        self.preview_error = QLabel(wordWrap=True)
        self.preview_error.setObjectName("calendarPreviewError")
        self.preview_error.setStyleSheet(ERROR_STYLE)
        self.preview_error.hide()
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply_plan)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_preview)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview_title)
        layout.addWidget(self.list_options)
        layout.addWidget(self.preview_known)
        layout.addWidget(QLabel("Days whose answer changes:"))
        layout.addWidget(self.preview_changes, 1)
        layout.addWidget(self.preview_notes)
        layout.addWidget(self.preview_error)
        layout.addLayout(buttons)
        return page

    @staticmethod
    def _time_edit(hour: int, minute: int) -> QTimeEdit:
        edit = QTimeEdit(QTime(hour, minute))
        edit.setDisplayFormat("HH:mm")
        return edit

    # -- the calendar page ------------------------------------------------------------------
    @property
    def year(self) -> int:
        return self.year_box.value()

    def set_year(self, year: int) -> None:
        self.year_box.setValue(year)  # refreshes

    def refresh(self) -> None:
        """Re-read the year's banner, loaded lists and days from the process calendar."""
        start, end = datetime.date(self.year, 1, 1), datetime.date(self.year, 12, 31)
        self.warning_label.setText(self._warning(start, end))
        self.warning_label.setVisible(bool(self.warning_label.text()))
        self.lists_label.setText(self._lists_text())
        self.model.set_rows(calendar_days(start, end))
        empty = self.model.rowCount() == 0
        self.empty_label.setText(f"No holidays or special sessions in {self.year}.")
        self.empty_label.setVisible(empty)
        self._selection_changed()

    def _warning(self, start: datetime.date, end: datetime.date) -> str:
        nse, bse = (get_calendar(v).provisional_warning(start, end) for v in ("NSE", "BSE"))
        if nse and bse and nse.replace("NSE", "BSE", 1) == bse:
            text = nse.replace("NSE holiday", "NSE and BSE holiday", 1)
        else:
            text = "\n".join(w for w in (nse, bse) if w)
        hint = "Import the exchange's list with “Import holiday list…” below."
        return text.replace(f"{IMPORT_HINT}.", hint)

    def _lists_text(self) -> str:
        calendar = get_calendar(Exchange.NSE)
        first, last = calendar.package_span
        package = f"Package: {calendar.source} ({first:%Y}–{last:%Y})."
        layer = self._layer_or_none()
        if layer is None:
            return package
        lists = [
            f"{item['segment']} for {SCOPE_TEXT[str(item['exchange'])]} "
            f"({item['source']} from {item['origin'] or 'unknown file'})"
            for item in known_lists(layer)
            if item["year"] == self.year
        ]
        loaded = (
            f"Holiday lists loaded for {self.year}: {'; '.join(lists)}."
            if lists
            else f"No holiday list imported for {self.year}."
        )
        return f"{loaded} {package}"

    def _layer_or_none(self) -> CalendarLayer | None:
        if self.ctx.store is None:
            return None
        try:
            return self.ctx.store.calendar_layer()
        except StoreError as exc:
            self._set_status(f"Cannot read the workspace's calendar: {exc}", error=True)
            return None

    def selected_day(self) -> ListedDay | None:
        rows = self.table.selectionModel().selectedRows()
        day: ListedDay | None = self.model.rows[rows[0].row()] if rows else None
        return day

    def _selection_changed(self) -> None:
        day = self.selected_day()
        editable = day is not None and day.source in EDITABLE_SOURCES
        self.remove_button.setEnabled(self.ctx.store is not None and editable)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")

    def show_calendar_page(self) -> None:
        self.stack.setCurrentWidget(self.calendar_page)

    # -- import a holiday list --------------------------------------------------------------
    def choose_list_file(self) -> None:
        """Ask for a holiday-list file, then preview it (load_list_file)."""
        if self.ctx.store is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import holiday list", "", LIST_FILTER)
        if path:
            self.load_list_file(path)

    def load_list_file(self, path: str) -> bool:
        """Read a holiday list and show what importing it changes; False (and a message box
        naming file:line) when it cannot be read. Nothing is written before Apply."""
        self.segment_box.blockSignals(True)
        self.exchange_box.blockSignals(True)
        self.segment_box.setCurrentIndex(0)
        self.exchange_box.setCurrentIndex(0)
        self.segment_box.blockSignals(False)
        self.exchange_box.blockSignals(False)
        try:
            parsed = read_holiday_list(path, self._segment(self.segment_box))
            self._list_path = Path(path)
            self._parsed = parsed
            self._fill_years(parsed)
            plan = self._plan_list()
        except (HolidayListError, StoreError, ValueError) as exc:
            self._list_path = self._parsed = None
            self._show_error_box(f"Nothing imported from {Path(path).name}.\n\n{exc}")
            return False
        self._show_preview(plan, list_options=True, back_to=self.calendar_page)
        return True

    def _show_error_box(self, text: str) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Holiday list not imported",
            text,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("calendarError")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if self.error_box is not None:
            self.error_box.deleteLater()  # one at a time; kept until the next for tests
        self.error_box = box
        box.open()

    @staticmethod
    def _segment(box: QComboBox) -> CalendarSegment:
        return CalendarSegment(box.currentData())

    @staticmethod
    def _scope(box: QComboBox) -> Exchange | None:
        data = str(box.currentData())  # Qt hands enum members back as plain str
        return None if data == "both" else Exchange(data)

    def _fill_years(self, parsed: ParsedHolidayList) -> None:
        keep = self.list_year_box.currentData()
        self.list_year_box.blockSignals(True)
        self.list_year_box.clear()
        self.list_year_box.addItem(
            f"{ALL_YEARS} ({year_ranges(parsed.years)})" if parsed.years else ALL_YEARS, None
        )
        for year in parsed.years:
            self.list_year_box.addItem(str(year), year)
        found = self.list_year_box.findData(keep) if keep is not None else -1
        self.list_year_box.setCurrentIndex(max(found, 0))
        self.list_year_box.blockSignals(False)

    def _plan_list(self) -> CalendarPlan:
        assert self._parsed is not None and self._list_path is not None
        if self.ctx.store is None:
            raise StoreError(self.ctx.store_problem or "the market store is not open")
        year = self.list_year_box.currentData()
        return plan_holiday_list(
            self.ctx.store.calendar_layer(),
            self._parsed,
            self._list_path.name,
            self._scope(self.exchange_box),
            year if isinstance(year, int) else None,
        )

    def _segment_changed(self) -> None:
        if self._list_path is None:
            return
        try:  # NSE's JSON holds one list per segment: read the file again
            self._parsed = read_holiday_list(self._list_path, self._segment(self.segment_box))
            self._fill_years(self._parsed)
        except HolidayListError as exc:
            self._preview_failed(str(exc))
            return
        self._replan_list()

    def _replan_list(self) -> None:
        if self._list_path is None or self._parsed is None:
            return
        try:
            plan = self._plan_list()
        except (StoreError, ValueError) as exc:
            self._preview_failed(str(exc))
            return
        self._show_preview(plan, list_options=True, back_to=self._back_to)

    def _preview_failed(self, text: str) -> None:
        self.plan = None
        self.preview_title.setText("Nothing to apply")
        self.preview_known.clear()
        self.preview_changes.clear()
        self.preview_notes.clear()
        self.preview_error.setText(text)
        self.preview_error.show()
        self.apply_button.setEnabled(False)

    # -- add a session or a holiday ---------------------------------------------------------
    def show_entry_form(self, holiday: bool = False) -> None:
        """The form for one special session (holiday=False) or closed day."""
        if self.ctx.store is None:
            return
        self._holiday_form = holiday
        self.form_title.setText(
            "Add a day the exchange is closed" if holiday
            else "Add a special session (muhurat, budget day, …)"
        )  # fmt: skip
        for row in (1, 2, 3):  # kind, hours, pre-open
            self.entry_form.setRowVisible(row, not holiday)
        day = self.selected_day()
        if day is not None:
            self.date_edit.setDate(_qdate(day.date))
        self._form_error("")
        self.stack.setCurrentWidget(self.form)
        self.form_preview_button.setDefault(True)
        self.note_edit.setFocus()

    def _date_changed(self) -> None:
        self.weekday_label.setText(f"{_pydate(self.date_edit.date()):%A}")

    def _form_error(self, text: str) -> None:
        self.form_error.setText(text)
        self.form_error.setVisible(bool(text))

    def form_entry(self) -> CalendarEntry:
        """The entry the form describes; ValueError says what is wrong."""
        note = self.note_edit.text().strip()
        if not note:
            raise ValueError("enter a note: what the day is, e.g. the exchange circular")
        session = not self._holiday_form
        kind = EntryKind(self.kind_box.currentData()) if session else EntryKind.HOLIDAY
        pre_open = self.pre_open_check.isChecked() and session
        return CalendarEntry(
            exchange=self._scope(self.form_exchange_box),
            date=_pydate(self.date_edit.date()),
            open=_pytime(self.open_edit.time()) if session else None,
            close=_pytime(self.close_edit.time()) if session else None,
            pre_open=_pytime(self.pre_open_edit.time()) if pre_open else None,
            kind=kind,
            note=note,
            segment=self._segment(self.form_segment_box),
            source=EntrySource.USER,
        )

    def preview_entry(self) -> bool:
        """Plan the form's entry and show the preview; False (red message) if refused."""
        if self.ctx.store is None:
            return False
        try:
            plan = plan_entry(self.ctx.store.calendar_layer(), self.form_entry())
        except (StoreError, ValueError) as exc:
            self._form_error(f"Not added: {exc}")
            return False
        self._form_error("")
        self._show_preview(plan, list_options=False, back_to=self.form)
        return True

    # -- remove -----------------------------------------------------------------------------
    def remove_selected(self) -> bool:
        """Preview removing the workspace's entries behind the selected row."""
        day = self.selected_day()
        if self.ctx.store is None or day is None or day.source not in EDITABLE_SOURCES:
            self._set_status("Select an imported day or one of yours to remove it", error=True)
            return False
        try:
            layer = self.ctx.store.calendar_layer()
            behind = [
                e
                for e in layer.entries
                if e.date == day.date
                and e.source is day.source
                and entry_venues(e) & set(day.venues)
            ]
            scopes = {e.scope for e in behind}
            segments = {e.segment for e in behind}
            plan = plan_removal(
                layer,
                day.date,
                scopes.pop() if len(scopes) == 1 else None,
                segments.pop() if len(segments) == 1 else None,
            )
        except (StoreError, ValueError) as exc:
            self._set_status(f"Not removed: {exc}", error=True)
            return False
        self._show_preview(plan, list_options=False, back_to=self.calendar_page)
        return True

    # -- preview and apply ------------------------------------------------------------------
    def _show_preview(
        self, plan: CalendarPlan, *, list_options: bool, back_to: QWidget | None
    ) -> None:
        self.plan = plan
        self._back_to = back_to
        if not list_options:
            self._list_path = self._parsed = None
        self.list_options.setVisible(list_options)
        if list_options and self._parsed is not None and self._list_path is not None:
            self.list_file_label.setText(
                f"{self._list_path.name}: {self._parsed.format}, {len(self._parsed.rows)} rows"
            )
        self.preview_title.setText(plan.summary)
        known = list(plan.now_known)
        if known:
            years = "1 year stops" if len(known) == 1 else f"{len(known)} years stop"
            self.preview_known.setText(
                f"{years} being provisional ({year_ranges(known)}): the list is the exchange's "
                "word from now on."
            )
        else:
            self.preview_known.clear()
        self.preview_known.setVisible(bool(known))
        self.preview_changes.clear()
        self.preview_changes.addItems([str(change) for change in plan.changes])
        if not plan.changes:
            self.preview_changes.addItem("no day changes")
        self.preview_notes.setText("\n".join(f"Note: {n}" for n in plan.notes))
        self.preview_notes.setVisible(bool(plan.notes))
        if plan.empty:
            self.preview_error.setText("Nothing to change: this is already the calendar.")
        else:
            self.preview_error.clear()
        self.preview_error.setVisible(plan.empty)
        self.apply_button.setEnabled(not plan.empty)
        self.stack.setCurrentWidget(self.preview)
        self.apply_button.setDefault(True)

    def preview_lines(self) -> list[str]:
        """The day-change lines the preview shows."""
        return [self.preview_changes.item(i).text() for i in range(self.preview_changes.count())]

    def apply_plan(self) -> bool:
        """Write the previewed change; on success back to the (refreshed) calendar."""
        plan, store = self.plan, self.ctx.store
        if plan is None or plan.empty or store is None:
            return False
        try:
            store.apply_calendar(plan)
        except StoreError as exc:
            self.preview_error.setText(f"Not applied: {exc}")
            self.preview_error.show()
            return False
        self.plan = None
        self._list_path = self._parsed = None
        self.ctx.bus.publish(CalendarChanged("calendar dialog"))
        self.show_calendar_page()
        self.refresh()
        self._set_status(f"Applied: {plan.summary}")
        self.applied.emit(plan.summary)
        return True

    def cancel_preview(self) -> None:
        """Leave the preview without writing anything."""
        back_to = self._back_to or self.calendar_page
        self.plan = None
        self._list_path = self._parsed = None
        self.stack.setCurrentWidget(back_to)
        if back_to is self.calendar_page:
            self._set_status("Not applied: nothing was written")
