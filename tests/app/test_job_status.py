"""The status bar's job indicator: a job over half a second shows there with its progress and
a Cancel that stops it; a quick one never flickers in; a failure is said in the status bar."""

from __future__ import annotations

import threading

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
    status = window.job_status
    release = threading.Event()
    job = window.ctx.jobs.submit(_work_until(release, half=5), "Reading 10 things")
    qtbot.wait(SHOW_AFTER_MS // 3)
    assert not status.isVisible()  # not yet: a quick job never flickers in
    qtbot.waitUntil(status.isVisible, timeout=3000)
    assert status.label.text() == "Reading 10 things"
    assert (status.bar.maximum(), status.bar.value()) == (1000, 500)  # 5 of 10
    assert status.cancel_button.isVisible()
    qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    assert status.label.text().startswith("Cancelling: ")
    qtbot.waitUntil(lambda: not window.ctx.jobs.running(), timeout=3000)
    qtbot.waitUntil(lambda: not status.isVisible(), timeout=3000)
    assert job not in status.jobs
    release.set()


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
