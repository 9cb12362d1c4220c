"""The status bar's job indicator: whatever runs longer than half a second shows there.

Panels show their own progress (the Data panel's import bar, the wizard's run bar), but a
panel may be hidden, and a short read never deserves a flicker. This one widget listens to
every job of the runner: after SHOW_AFTER_MS it names the oldest running job, with its
progress when the job reports one (bars done of bars total, files done of files) and a Cancel
button when it can be cancelled; "+N more" when others run beside it. When a job fails, the
status bar says so (the panel that started it shows the details).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QStatusBar, QToolButton, QWidget

from app.gui.context import AppContext
from app.gui.elided_label import ElidedLabel
from engine.events import JobCancelled, JobEvent, JobFailed, JobFinished, JobProgress, JobStarted

SHOW_AFTER_MS = 500  # the "progress for anything over half a second"
FAILED_MESSAGE_MS = 10_000


@dataclass
class _Running:
    name: str
    cancellable: bool
    started: float
    done: int = 0
    total: int = 0


class JobStatus(QWidget):
    """A label, a small progress bar and Cancel, for the status bar's right side."""

    def __init__(self, ctx: AppContext, status_bar: QStatusBar) -> None:
        super().__init__()
        self.setObjectName("jobStatus")
        self.ctx = ctx
        self.status_bar = status_bar
        self.jobs: dict[int, _Running] = {}
        self.cancelling: set[int] = set()
        # cut with "…" when the bar is short of room: a whole job name as the status bar's
        # minimum widened a window at its smallest (repainting all of it) as a job started
        self.label = ElidedLabel()
        self.label.setObjectName("jobStatusText")
        self.bar = QProgressBar()
        self.bar.setObjectName("jobStatusBar")
        self.bar.setFixedWidth(120)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop this job (work already done is kept)")
        self.cancel_button.clicked.connect(self.cancel_shown)
        # hidden for a job that cannot stop, its room kept: the status bar's height follows
        # the tallest item, and growing it 4 px moved every dock (the window repainted whole)
        keep_room = self.cancel_button.sizePolicy()
        keep_room.setRetainSizeWhenHidden(True)
        self.cancel_button.setSizePolicy(keep_room)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._refresh)
        self.hide()
        subscription = ctx.bus.subscribe(JobEvent, self._on_job_event)
        self.destroyed.connect(lambda *_: subscription.cancel())

    @property
    def shown_job(self) -> int | None:
        """The job the indicator names: the oldest still running."""
        return min(self.jobs) if self.jobs else None

    def cancel_shown(self) -> None:
        job_id = self.shown_job
        if job_id is not None:
            self.cancelling.add(job_id)
            self.ctx.jobs.cancel(job_id)
            self._refresh()

    def _on_job_event(self, event: JobEvent) -> None:
        if isinstance(event, JobStarted):
            self.jobs[event.job_id] = _Running(event.name, event.cancellable, time.monotonic())
            self.timer.start(SHOW_AFTER_MS)
            return
        running = self.jobs.get(event.job_id)
        if running is None:
            return
        if isinstance(event, JobProgress):
            running.done, running.total = event.done, event.total
        elif isinstance(event, JobFinished | JobCancelled | JobFailed):
            del self.jobs[event.job_id]
            self.cancelling.discard(event.job_id)
            if isinstance(event, JobFailed):
                first_line = (event.message or "see the log").splitlines()[0]
                self.status_bar.showMessage(f"{event.name} failed: {first_line}", FAILED_MESSAGE_MS)
        self._refresh()

    def _refresh(self) -> None:
        job_id = self.shown_job
        if job_id is None:
            self.hide()
            return
        running = self.jobs[job_id]
        age_ms = (time.monotonic() - running.started) * 1000
        if age_ms < SHOW_AFTER_MS:
            self.timer.start(int(SHOW_AFTER_MS - age_ms) + 1)
            return
        more = len(self.jobs) - 1
        stopping = job_id in self.cancelling
        self.label.setText(
            ("Cancelling: " if stopping else "")
            + running.name
            + (f"  (+{more} more)" if more else "")
        )
        self.cancel_button.setEnabled(not stopping)
        if running.total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(running.done, running.total) / running.total))
            self.bar.setToolTip(f"{running.done:,} of {running.total:,}")
        else:
            self.bar.setRange(0, 0)  # busy: the job does not say how far it is
            self.bar.setToolTip("")
        self.cancel_button.setVisible(running.cancellable)
        self.show()
