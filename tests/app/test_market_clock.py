"""Market clock and home panel against the real NSE calendar, at pinned instants."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.gui.market_clock import MarketClock
from app.gui.panels.home import HomePanel
from tests.app.conftest import ist

LIST_2027 = (
    Path(__file__).resolve().parents[1] / "fixtures" / "calendar" / "nse_holidays_2027_cm.csv"
)


@pytest.mark.parametrize(
    ("now", "phase", "detail"),
    [
        (ist(2026, 1, 16, 9, 5), "PRE-OPEN", "opens 09:15"),
        (ist(2026, 1, 16, 15, 29, 59), "OPEN", "closes 15:30"),
        (ist(2026, 1, 16, 15, 30), "CLOSED", "next open Mon 19 Jan 09:15"),
        (ist(2026, 1, 15, 11, 0), "HOLIDAY", "next open tomorrow 09:15"),
        (ist(2026, 1, 17, 11, 0), "CLOSED", "next open Mon 19 Jan 09:15"),
        (ist(2026, 1, 23, 16, 0), "CLOSED", "next open Tue 27 Jan 09:15"),
        (ist(2026, 1, 16, 8, 0), "CLOSED", "next open 09:15"),
        (ist(2025, 10, 21, 14, 0), "OPEN", "closes 14:45"),
        (ist(2026, 12, 31, 18, 0), "CLOSED", "next open tomorrow 09:15"),
        (ist(2027, 1, 4, 10, 0), "OPEN (provisional)", "closes 15:30"),
        (ist(2025, 2, 1, 11, 0), "OPEN", "closes 15:30"),  # Budget day, a Saturday
    ],
)
def test_clock_phase_and_next_event(qtbot, now, phase, detail):
    clock = MarketClock(lambda: now)
    qtbot.addWidget(clock)
    assert (clock.phase_label.text(), clock.detail_label.text()) == (phase, detail)


def test_clock_shows_ist_even_when_given_utc(qtbot):
    clock = MarketClock(lambda: datetime(2026, 1, 16, 4, 0, tzinfo=UTC))
    qtbot.addWidget(clock)
    assert clock.time_label.text() == "09:30:00 IST"
    assert clock.phase_label.text() == "OPEN"


def test_clock_in_an_unlisted_year_is_provisional_and_says_why(qtbot, caplog):
    clock = MarketClock(lambda: ist(2027, 1, 4, 10, 0))
    qtbot.addWidget(clock)
    assert clock.phase_label.text() == "OPEN (provisional)"
    assert clock.status is not None and clock.status.provisional
    assert "NSE holiday list for 2027 not loaded" in clock.toolTip()
    clock.refresh()
    assert caplog.text.count("holiday list for 2027 not loaded") == 1  # once, not every second


def test_clock_follows_the_workspace_calendar(qtbot, tmp_path):
    from engine.calendar import CalendarSegment
    from engine.calendar.changes import plan_holiday_list
    from engine.calendar.holiday_lists import read_holiday_list
    from engine.data.store import MarketStore

    clock = MarketClock(lambda: ist(2027, 1, 26, 10, 0))
    qtbot.addWidget(clock)
    assert clock.phase_label.text() == "OPEN (provisional)"
    with MarketStore.open(tmp_path / "a.duckdb") as store:
        parsed = read_holiday_list(LIST_2027, CalendarSegment.EQUITY)
        store.apply_calendar(plan_holiday_list(store.calendar_layer(), parsed, LIST_2027.name))
    clock.refresh()
    assert clock.phase_label.text() == "HOLIDAY"
    assert clock.detail_label.text() == "next open tomorrow 09:15"
    assert "Holiday lists known until 31 Dec 2027" in clock.toolTip()


def test_clock_ticks_every_second(qtbot):
    moments = iter([ist(2026, 1, 16, 10, 0, s) for s in range(60)])
    clock = MarketClock(lambda: next(moments))
    qtbot.addWidget(clock)
    qtbot.waitUntil(lambda: clock.time_label.text() == "10:00:01 IST", timeout=3000)


def test_home_panel_lists_markets_sessions_holidays_and_workspace(make_ctx, qtbot, workspace):
    panel = HomePanel(make_ctx(now=ist(2026, 1, 15, 11, 0)))
    qtbot.addWidget(panel)
    markets = panel.markets_label.text()
    assert "NSE" in markets and "BSE" in markets and markets.count("HOLIDAY") == 2
    sessions = panel.sessions_label.text()
    assert "Fri 16 Jan 2026" in sessions and "Thu 15 Jan 2026" not in sessions
    assert "Mon 26 Jan 2026" not in sessions  # Republic Day
    assert "Mon 26 Jan 2026" in panel.holidays_label.text()
    assert str(workspace.root) in panel.workspace_label.text()
    assert "empty: import files or create the demo data" in panel.workspace_label.text()


def test_home_panel_in_an_unlisted_year_warns_and_offers_the_import(make_ctx, qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from engine.calendar import get_calendar

    panel = HomePanel(make_ctx(now=ist(2027, 1, 4, 10, 0)))
    qtbot.addWidget(panel)
    panel.show()
    assert panel.calendar_banner.isVisible()
    assert panel.calendar_warning.text().startswith("2027 holiday list not loaded")
    assert panel.markets_label.text().count("OPEN (provisional)") == 2
    assert "provisional" in panel.sessions_label.text()
    assert "no holiday list for 2027" in panel.holidays_label.text()
    # the banner's button opens the calendar dialog on the file chooser
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(LIST_2027), ""))
    dialog = panel.import_holiday_list()
    qtbot.addWidget(dialog)
    assert dialog.preview_lines(), "the chosen list is previewed before anything is written"
    assert get_calendar("NSE").session(datetime(2027, 1, 26).date()) is not None  # not yet


def test_home_panel_after_the_list_is_loaded(make_ctx, qtbot):
    from engine.calendar import CalendarSegment
    from engine.calendar.changes import plan_holiday_list
    from engine.calendar.holiday_lists import read_holiday_list
    from engine.events import CalendarChanged

    ctx = make_ctx(now=ist(2027, 1, 25, 16, 0))
    panel = HomePanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.calendar_banner.isVisible()
    assert ctx.store is not None
    parsed = read_holiday_list(LIST_2027, CalendarSegment.EQUITY)
    ctx.store.apply_calendar(plan_holiday_list(ctx.store.calendar_layer(), parsed, LIST_2027.name))
    ctx.bus.publish(CalendarChanged("test"))
    qtbot.waitUntil(lambda: not panel.calendar_banner.isVisible(), timeout=3000)
    assert "provisional" not in panel.markets_label.text()
    assert "Tue 26 Jan 2027" in panel.holidays_label.text()
    assert "Tue 26 Jan 2027" not in panel.sessions_label.text()
    assert "holiday lists known until 31 Dec 2027" in panel.holidays_label.text()


def test_the_ticking_clock_lays_out_nothing_but_itself(qtbot):
    """Each second's new time stays inside its fixed-size label: no layout request reaches
    the window (the main window would lay out every dock again, each second), and the
    phase's style sheet is set again only when the phase changes."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QMainWindow

    moments = iter([ist(2026, 1, 16, 9, 14, 50 + s) for s in range(10)] + [ist(2026, 1, 16, 9, 15)])
    now = [next(moments)]
    window = QMainWindow()
    qtbot.addWidget(window)
    clock = MarketClock(lambda: now[0])
    window.statusBar().addPermanentWidget(clock)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    sheet = clock.phase_label.styleSheet()
    polished: list[int] = []

    class Requests(QObject):
        count = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if watched is window and event.type() == QEvent.Type.LayoutRequest:
                Requests.count += 1
            if watched is clock.phase_label and event.type() == QEvent.Type.StyleChange:
                polished.append(1)
            return False

    requests = Requests()
    window.installEventFilter(requests)
    clock.phase_label.installEventFilter(requests)
    widths = {clock.time_label.width()}
    for moment in moments:  # 09:14:51 ... 09:14:59 pre-open, then 09:15:00 open
        now[0] = moment
        clock.refresh()
        qtbot.wait(5)
        widths.add(clock.time_label.width())
        if moment.minute == 14:
            assert Requests.count == 0 and not polished
            assert clock.phase_label.styleSheet() == sheet
    assert clock.time_label.text() == "09:15:00 IST" and clock.phase_label.text() == "OPEN"
    assert clock.phase_label.styleSheet() != sheet and polished  # the phase changed: new colour
    assert len(widths) == 1  # the time never resizes its label
    assert clock.time_label.fontMetrics().horizontalAdvance("88:88:88 IST") <= min(widths)
