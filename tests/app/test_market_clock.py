"""Market clock and home panel against the real NSE calendar, at pinned instants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.gui.market_clock import MarketClock
from app.gui.panels.home import HomePanel
from tests.app.conftest import ist


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
        (ist(2026, 12, 31, 18, 0), "CLOSED", "next open beyond calendar data — update Artha"),
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


def test_clock_past_calendar_data_says_so_instead_of_guessing(qtbot, caplog):
    clock = MarketClock(lambda: ist(2027, 1, 5, 10, 0))
    qtbot.addWidget(clock)
    assert clock.phase_label.text() == "UNKNOWN"
    assert "update Artha" in clock.detail_label.text()
    assert "2027-01-05" in clock.toolTip()
    clock.refresh()
    assert caplog.text.count("2027-01-05") == 1  # warned once, not every second


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
