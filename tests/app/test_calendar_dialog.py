"""Tools ▸ Market calendar, offscreen against a real store in a temp workspace.

The process calendar is global: every store these tests open is closed (make_ctx closes its
own; the others use `with`), and tests/conftest.py empties the process calendar around each
test (a closed store's calendar stays in use, as in a command that closes its workspace).
"""

from __future__ import annotations

import dataclasses
from datetime import date, time
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt, QTime
from PySide6.QtWidgets import QFileDialog

from app.gui.calendar_dialog import CalendarDialog
from engine.calendar import (
    IST,
    CalendarEntry,
    CalendarLayer,
    EntryKind,
    EntrySource,
    get_calendar,
    use_workspace_calendar,
)
from engine.calendar.changes import plan_entry
from engine.data.store import MarketStore
from engine.domain.enums import Exchange
from engine.events import CalendarChanged
from tests.app.conftest import ist

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calendar"
NSE_CSV = FIXTURES / "nse_holidays_2027_cm.csv"
NSE_JSON = FIXTURES / "nse_holidays_2027.json"
PLAIN_CSV = FIXTURES / "holidays_2027_plain.csv"
REPUBLIC_DAY, NOT_A_HOLIDAY = date(2027, 1, 26), date(2027, 1, 4)
DIWALI = date(2026, 11, 8)


@pytest.fixture
def ctx(make_ctx):
    return make_ctx(ist(2027, 1, 4, 10, 0))  # the dialog opens on 2027


def open_dialog(qtbot, ctx) -> CalendarDialog:
    dialog = CalendarDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def table(dialog) -> list[dict[str, str]]:
    model = dialog.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return [
        {h: model.data(model.index(r, c)) for c, h in enumerate(headers)}
        for r in range(model.rowCount())
    ]


def row_of(dialog, day: date) -> int:
    return next(i for i, d in enumerate(dialog.model.rows) if d.date == day)


def on_preview(dialog) -> bool:
    return dialog.stack.currentWidget() is dialog.preview


def fill_session(dialog, day, open_=(18, 0), close=(19, 0), note="Diwali muhurat", pre_open=None):
    dialog.show_entry_form(holiday=False)
    dialog.date_edit.setDate(QDate(day.year, day.month, day.day))
    dialog.kind_box.setCurrentIndex(dialog.kind_box.findData(EntryKind.MUHURAT))
    dialog.open_edit.setTime(QTime(*open_))
    dialog.close_edit.setTime(QTime(*close))
    dialog.pre_open_check.setChecked(pre_open is not None)
    if pre_open is not None:
        dialog.pre_open_edit.setTime(QTime(*pre_open))
    dialog.note_edit.setText(note)


def test_a_year_without_a_holiday_list_shows_the_provisional_warning(qtbot, ctx):
    dialog = open_dialog(qtbot, ctx)
    assert dialog.windowTitle() == "Market calendar"
    assert dialog.year_box.value() == 2027  # the IST year of ctx.now()
    assert (dialog.year_box.minimum(), dialog.year_box.maximum()) == (1997, 2100)
    warning = dialog.findChild(type(dialog.warning_label), "calendarWarning")
    assert warning is dialog.warning_label and warning.isVisible()
    assert warning.text().startswith("NSE and BSE holiday list for 2027 not loaded")
    assert "provisional" in warning.text() and "Import holiday list…" in warning.text()
    assert "No holiday list imported for 2027" in dialog.lists_label.text()
    assert "Package: exchange-calendars" in dialog.lists_label.text()
    assert table(dialog) == [] and dialog.empty_label.isVisible()

    dialog.year_box.setValue(2026)  # the package covers it
    assert not dialog.warning_label.isVisible()
    rows = table(dialog)
    assert {"Date": "Mon 26 Jan 2026", "Exchanges": "NSE/BSE", "What": "holiday",
            "Note": "", "Source": "package"} in rows  # fmt: skip
    assert any(r["Source"] == "Artha" and r["What"].startswith("budget") for r in rows)
    dialog.table.selectRow(row_of(dialog, date(2026, 1, 26)))
    assert not dialog.remove_button.isEnabled()  # the package's days cannot be removed
    assert not dialog.remove_selected()
    assert "Select an imported day" in dialog.status_label.text()


def test_importing_the_nse_csv_previews_then_applies_and_stays(qtbot, ctx, workspace):
    heard = []
    ctx.bus.subscribe(CalendarChanged, heard.append)
    dialog = open_dialog(qtbot, ctx)
    assert dialog.load_list_file(str(NSE_CSV))
    assert on_preview(dialog) and dialog.preview.objectName() == "calendarPreview"
    assert dialog.preview_title.text() == (
        "16 holidays for 2027 (equity segment, NSE and BSE) from nse_holidays_2027_cm.csv"
    )
    assert "nse-csv, 16 rows" in dialog.list_file_label.text()
    assert dialog.preview_known.text().startswith("1 year stops being provisional (2027)")
    lines = dialog.preview_lines()
    assert len(lines) == 11  # the 16 holidays less the five on a weekend
    assert lines[0] == (
        "Tue 26 Jan 2027 NSE/BSE/NFO/BFO: 09:15-15:30, provisional -> holiday - Republic Day"
    )
    assert "fall on a Saturday or Sunday" in dialog.preview_notes.text()
    assert dialog.apply_button.isEnabled()
    assert ctx.store.calendar_layer() == CalendarLayer() and heard == []  # nothing written yet

    assert dialog.apply_plan()
    assert heard == [CalendarChanged("calendar dialog")]
    assert dialog.stack.currentWidget() is dialog.calendar_page
    assert "Applied: 16 holidays for 2027" in dialog.status_label.text()
    assert not dialog.warning_label.isVisible()
    assert "loaded for 2027: equity for NSE and BSE (imported from nse_holidays_2027_cm.csv)" in (
        dialog.lists_label.text()
    )
    assert table(dialog)[0] == {
        "Date": "Tue 26 Jan 2027",
        "Exchanges": "NSE/BSE",
        "What": "holiday",
        "Note": "Republic Day",
        "Source": "imported",
    }
    assert len(table(dialog)) == 11
    assert get_calendar("NSE").session(REPUBLIC_DAY) is None
    assert get_calendar("BFO").session(REPUBLIC_DAY) is None
    monday = get_calendar("NSE").session(NOT_A_HOLIDAY)
    assert monday is not None and not monday.provisional

    assert dialog.load_list_file(str(NSE_CSV))  # the same list again: nothing to apply
    assert on_preview(dialog) and not dialog.apply_button.isEnabled()
    assert "Nothing to change" in dialog.preview_error.text()
    dialog.cancel_preview()

    ctx.store.close()
    use_workspace_calendar(CalendarLayer())  # as a new process starts: 2027 is provisional
    assert get_calendar("NSE").session(REPUBLIC_DAY).provisional
    with MarketStore.open(workspace.database_path) as store:
        assert get_calendar("NSE").session(REPUBLIC_DAY) is None
        entries = store.calendar_layer().entries
        assert len(entries) == 16 and all(e.source is EntrySource.IMPORTED for e in entries)
        assert (entries[0].date, entries[0].note) == (REPUBLIC_DAY, "Republic Day")
        again = open_dialog(qtbot, dataclasses.replace(ctx, store=store))
        assert not again.warning_label.isVisible() and len(table(again)) == 11
        again.close()


def test_the_preview_replans_for_another_segment_exchange_or_year(qtbot, ctx):
    dialog = open_dialog(qtbot, ctx)
    assert dialog.load_list_file(str(NSE_JSON))
    assert "nse-json" in dialog.list_file_label.text()
    assert [dialog.list_year_box.itemText(i) for i in range(dialog.list_year_box.count())] == [
        "all years in the file (2027)",
        "2027",
    ]
    dialog.segment_box.setCurrentIndex(dialog.segment_box.findText("currency"))
    assert dialog.preview_title.text().startswith("18 holidays for 2027 (currency segment")
    dialog.segment_box.setCurrentIndex(dialog.segment_box.findText("equity"))
    dialog.exchange_box.setCurrentIndex(dialog.exchange_box.findText("NSE"))
    dialog.list_year_box.setCurrentIndex(1)
    assert dialog.preview_title.text() == (
        "16 holidays for 2027 (equity segment, NSE) from nse_holidays_2027.json"
    )
    assert dialog.preview_lines()[0].startswith("Tue 26 Jan 2027 NSE/NFO: ")
    assert dialog.apply_plan()
    assert get_calendar("NSE").session(REPUBLIC_DAY) is None
    assert get_calendar("BSE").session(REPUBLIC_DAY).provisional  # BSE's list is still missing
    warning = dialog.warning_label
    assert warning.isVisible() and warning.text().startswith("BSE holiday list for 2027")


def test_cancel_in_the_preview_writes_nothing(qtbot, ctx):
    heard = []
    ctx.bus.subscribe(CalendarChanged, heard.append)
    dialog = open_dialog(qtbot, ctx)
    assert dialog.load_list_file(str(PLAIN_CSV))
    assert "plain-csv" in dialog.list_file_label.text()
    dialog.cancel_button.click()
    assert dialog.stack.currentWidget() is dialog.calendar_page
    assert "nothing was written" in dialog.status_label.text()
    assert ctx.store.calendar_layer() == CalendarLayer() and heard == []
    assert get_calendar("NSE").session(REPUBLIC_DAY).provisional
    assert dialog.warning_label.isVisible() and dialog.plan is None


@pytest.mark.parametrize(
    ("name", "text", "where", "why"),
    [
        ("bars.csv", "date,open,high,low,close,volume\n2024-06-03 09:15,100,101,99,100,1000\n",
         "bars.csv:1", "no description column"),
        ("bad_date.csv", "date,description\n2027-01-26,Republic Day\n2027-02-30,Nope\n",
         "bad_date.csv:3", "date '2027-02-30' is not a date"),
    ],
)  # fmt: skip
def test_a_bad_file_shows_the_error_and_writes_nothing(
    qtbot, ctx, tmp_path, name, text, where, why
):
    path = tmp_path / name
    path.write_text(text)
    dialog = open_dialog(qtbot, ctx)
    assert not dialog.load_list_file(str(path))
    box = dialog.findChild(type(dialog.error_box), "calendarError")
    assert box is dialog.error_box and box.isVisible()
    assert f"Nothing imported from {name}" in box.text()
    assert where in box.text() and why in box.text() and "Traceback" not in box.text()
    assert not on_preview(dialog) and dialog.plan is None
    assert ctx.store.calendar_layer() == CalendarLayer()
    box.accept()


def test_the_diwali_muhurat_session_is_added_through_the_form(qtbot, ctx):
    heard = []
    ctx.bus.subscribe(CalendarChanged, heard.append)
    dialog = open_dialog(qtbot, ctx)
    dialog.set_year(2026)
    dialog.add_session_button.click()
    assert dialog.stack.currentWidget() is dialog.form and dialog.kind_box.isVisible()
    fill_session(dialog, DIWALI, note="Diwali Laxmi Pujan muhurat (NSE circular)")
    assert dialog.weekday_label.text() == "Sunday"
    dialog.form_preview_button.click()
    assert on_preview(dialog) and not dialog.list_options.isVisible()
    assert dialog.preview_title.text() == "muhurat on Sun 08 Nov 2026 (both)"
    assert dialog.preview_lines() == [
        "Sun 08 Nov 2026 NSE/BSE/NFO/BFO: closed -> 18:00-19:00 "
        "(muhurat: Diwali Laxmi Pujan muhurat (NSE circular)) - "
        "Diwali Laxmi Pujan muhurat (NSE circular)"
    ]
    dialog.apply_button.click()
    assert heard == [CalendarChanged("calendar dialog")]
    session = get_calendar("NSE").session(DIWALI)
    assert session is not None and session.kind == "muhurat"
    assert (session.open.astimezone(IST).time(), session.close.astimezone(IST).time()) == (
        time(18, 0),
        time(19, 0),
    )
    assert session.pre_open.astimezone(IST).time() == time(17, 45)  # 15 minutes before
    row = table(dialog)[row_of(dialog, DIWALI)]
    assert row["What"] == "muhurat 18:00-19:00" and row["Source"] == "you"
    [entry] = ctx.store.calendar_layer().entries
    assert entry.source is EntrySource.USER and entry.exchange is None


def test_a_holiday_for_one_exchange_through_the_form(qtbot, ctx):
    dialog = open_dialog(qtbot, ctx)
    dialog.set_year(2026)
    dialog.add_holiday_button.click()
    assert not dialog.kind_box.isVisible() and not dialog.open_edit.isVisible()
    dialog.date_edit.setDate(QDate(2026, 12, 1))
    dialog.note_edit.setText("NSE system upgrade (circular 2026/99)")
    dialog.form_exchange_box.setCurrentIndex(dialog.form_exchange_box.findText("NSE"))
    assert dialog.preview_entry()
    assert dialog.preview_lines() == [
        "Tue 01 Dec 2026 NSE/NFO: 09:15-15:30 -> holiday - NSE system upgrade (circular 2026/99)"
    ]
    assert dialog.apply_plan()
    assert get_calendar("NSE").session(date(2026, 12, 1)) is None
    assert get_calendar("BSE").session(date(2026, 12, 1)) is not None
    row = table(dialog)[row_of(dialog, date(2026, 12, 1))]
    assert (row["Exchanges"], row["What"], row["Source"]) == ("NSE", "holiday", "you")


@pytest.mark.parametrize(
    ("hours", "note", "message"),
    [
        ({"open_": (19, 0), "close": (18, 0)}, "muhurat", "open 19:00 is not before close"),
        ({"pre_open": (18, 30)}, "muhurat", "pre-open 18:30 is after open 18:00"),
        ({}, "   ", "enter a note"),
    ],
)
def test_an_invalid_session_is_refused_in_red(qtbot, ctx, hours, note, message):
    dialog = open_dialog(qtbot, ctx)
    fill_session(dialog, DIWALI, note=note, **hours)
    assert not dialog.preview_entry()
    assert dialog.stack.currentWidget() is dialog.form
    error = dialog.findChild(type(dialog.form_error), "calendarFormError")
    assert error is dialog.form_error and error.isVisible()
    assert error.text().startswith("Not added: ") and message in error.text()
    assert "color" in error.styleSheet()
    assert ctx.store.calendar_layer() == CalendarLayer()
    fill_session(dialog, DIWALI)  # fixed: the message goes once it previews
    assert dialog.preview_entry() and not error.isVisible()


def test_remove_takes_out_the_selected_entry(qtbot, ctx):
    entry = CalendarEntry(None, DIWALI, time(18), time(19), None, EntryKind.MUHURAT, "Diwali",
                          source=EntrySource.USER)  # fmt: skip
    ctx.store.apply_calendar(plan_entry(ctx.store.calendar_layer(), entry))
    dialog = open_dialog(qtbot, ctx)
    dialog.set_year(2026)
    assert not dialog.remove_button.isEnabled()  # nothing selected
    dialog.table.selectRow(row_of(dialog, DIWALI))
    assert dialog.remove_button.isEnabled()
    dialog.remove_button.click()
    assert on_preview(dialog) and dialog.preview_title.text() == "remove 1 entry on Sun 08 Nov 2026"
    assert dialog.preview_lines() == [
        "Sun 08 Nov 2026 NSE/BSE/NFO/BFO: 18:00-19:00 (muhurat: Diwali) -> closed"
    ]
    assert dialog.apply_plan()
    assert get_calendar("NSE").session(DIWALI) is None
    assert all(d.date != DIWALI for d in dialog.model.rows)
    assert ctx.store.calendar_layer().entries == ()

    dialog.set_year(2027)  # an imported day can go too; the list stays loaded
    assert dialog.load_list_file(str(PLAIN_CSV)) and dialog.apply_plan()
    dialog.table.selectRow(row_of(dialog, REPUBLIC_DAY))
    assert dialog.remove_selected() and dialog.apply_plan()
    session = get_calendar("NSE").session(REPUBLIC_DAY)
    assert session is not None and not session.provisional
    assert not dialog.warning_label.isVisible()


def test_without_a_store_the_calendar_is_read_only(qtbot, make_ctx):
    ctx = dataclasses.replace(
        make_ctx(ist(2026, 6, 1, 10, 0)), store=None, store_problem="the store is locked"
    )
    dialog = open_dialog(qtbot, ctx)
    assert "Read only: the store is locked" in dialog.status_label.text()
    for button in (dialog.import_button, dialog.add_session_button, dialog.add_holiday_button):
        assert not button.isEnabled()
    assert dialog.model.rowCount() > 0  # the package's 2026 still shows
    dialog.table.selectRow(0)
    assert not dialog.remove_button.isEnabled()


def test_the_tools_menu_opens_the_calendar(make_window, qtbot, monkeypatch):
    window = make_window(ist(2027, 1, 4, 10, 0))
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Research", "&Tools", "&Help"]
    assert window.calendar_action in window.tools_menu.actions()
    assert window.calendar_action.text() == "Market &calendar…"
    window.calendar_action.trigger()
    dialog = window.calendar_dialog
    assert isinstance(dialog, CalendarDialog) and dialog.isVisible()
    assert dialog.year_box.value() == 2027
    assert window.show_calendar() is dialog  # one at a time

    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(NSE_CSV), ""))
    )
    assert window.show_calendar(start_import=True) is dialog
    assert on_preview(dialog) and dialog.preview_title.text().startswith("16 holidays for 2027")
    dialog.cancel_preview()
    dialog.accept()
    qtbot.waitUntil(lambda: window.calendar_dialog is None, timeout=1_000)
    assert get_calendar(Exchange.NSE).session(REPUBLIC_DAY).provisional
