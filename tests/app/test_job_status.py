"""The status bar's job indicator: a job over half a second shows there with its progress and
a Cancel that stops it; a quick one never flickers in; a failure is said in the status bar."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.gui.job_status import SHOW_AFTER_MS


def _work_until(release: threading.Event, half: int = 0):
    def work(control):
        if half:
            control.progress(half, half * 2)
        while not release.is_set():
            if control.cancelled():
                return "stopped"
            release.wait(0.01)
        return "done"

    return work


def test_a_long_job_shows_its_progress_and_cancel_stops_it(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)  # the window's first paint (slow in a cold process) is done
    status = window.job_status
    release = threading.Event()
    submitted = time.monotonic()
    job = window.ctx.jobs.submit(_work_until(release, half=5), "Reading 10 things")
    try:
        _shows_then_cancels(window, qtbot, status, job, submitted)
    finally:
        release.set()  # the worker thread ends whatever happened


def _shows_then_cancels(window, qtbot, status, job: int, submitted: float) -> None:
    qtbot.wait(SHOW_AFTER_MS // 3)
    if (time.monotonic() - submitted) * 1000 < SHOW_AFTER_MS * 0.8:  # (a loaded host's wait
        assert not status.isVisible()  # may outlast it) not yet: a quick job never flickers in
    qtbot.waitUntil(status.isVisible, timeout=3000)
    assert status.label.text() == "Reading 10 things"
    assert (status.bar.maximum(), status.bar.value()) == (1000, 500)  # 5 of 10
    assert status.cancel_button.isVisible()
    qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    assert status.label.text().startswith("Cancelling: ")
    qtbot.waitUntil(lambda: not window.ctx.jobs.running(), timeout=3000)
    qtbot.waitUntil(lambda: not status.isVisible(), timeout=3000)
    assert job not in status.jobs


def test_a_quick_job_never_shows_and_a_failure_is_said(make_window, qtbot):
    window = make_window()
    window.show()
    status = window.job_status
    window.ctx.jobs.submit(lambda control: 1, "Quick read")
    qtbot.waitUntil(lambda: not status.jobs, timeout=3000)
    qtbot.wait(SHOW_AFTER_MS + 100)
    assert not status.isVisible()

    def broken(control):
        raise ValueError("the file ended in the middle of a row")

    window.ctx.jobs.submit(broken, "Import prices.csv")
    qtbot.waitUntil(lambda: "failed" in window.statusBar().currentMessage(), timeout=3000)
    message = window.statusBar().currentMessage()
    assert message.startswith("Import prices.csv failed: ")
    assert "ended in the middle of a row" in message
    QApplication.processEvents()


def test_two_jobs_name_the_oldest_and_count_the_rest(make_window, qtbot):
    window = make_window()
    window.show()
    release = threading.Event()
    window.ctx.jobs.submit(_work_until(release), "First")
    window.ctx.jobs.submit(_work_until(release), "Second", cancellable=False)
    status = window.job_status
    qtbot.waitUntil(status.isVisible, timeout=3000)
    assert status.label.text() == "First  (+1 more)"
    assert status.bar.maximum() == 0  # busy: no progress reported
    release.set()
    qtbot.waitUntil(lambda: not status.isVisible(), timeout=3000)


def test_a_long_job_name_never_widens_the_window(make_window, qtbot):
    """A job's name is cut with "…" when the status bar is short of room: shown whole as the
    bar's minimum, a long name made the window (at its smallest) grow as the job started,
    laying out and repainting all of it."""
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    before = window.minimumSizeHint().width()
    release = threading.Event()
    name = "Backtest EMA + RSI breakout (5/13, RSI 14) on RELIANCE, TCS, INFY, HDFCBANK, ICICIBANK"
    window.ctx.jobs.submit(_work_until(release), name)
    status = window.job_status
    try:
        qtbot.waitUntil(status.isVisible, timeout=3000)
        qtbot.wait(50)
        assert status.label.text() == name  # whole, for the tooltip and the tests
        assert window.minimumSizeHint().width() <= before
        assert status.minimumSizeHint().width() < status.label.fontMetrics().horizontalAdvance(name)
    finally:
        release.set()
    qtbot.waitUntil(lambda: not status.isVisible(), timeout=3000)


def test_the_window_stays_still_as_jobs_start_and_end(make_window, qtbot):
    """The status bar's height never changes with the jobs: a job that cannot be cancelled
    (a run's save) hid the Cancel button and the bar shrank 4 px; the next backtest showed
    it again and the bar grew back, moving every dock and repainting the whole window."""
    from PySide6.QtWidgets import QDockWidget

    window = make_window()
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    status = window.job_status
    assert not status.isVisible()

    def places() -> list[object]:
        docks = [d.geometry() for d in window.findChildren(QDockWidget) if d.isVisible()]
        docks = [g for g in docks if g.x() >= 0 and g.y() >= 0]  # (tabbed away: off-screen)
        return [window.statusBar().geometry(), *docks]

    before = places()
    for name, cancellable in (("Save run", False), ("Backtest sma_crossover on SYNTH", True)):
        release = threading.Event()
        window.ctx.jobs.submit(_work_until(release), name, cancellable=cancellable)
        try:
            qtbot.waitUntil(status.isVisible, timeout=3000)
            qtbot.wait(50)
            assert status.cancel_button.isVisible() is cancellable
            assert places() == before
        finally:
            release.set()
        qtbot.waitUntil(lambda: not status.isVisible(), timeout=3000)
        qtbot.wait(50)
        assert places() == before
