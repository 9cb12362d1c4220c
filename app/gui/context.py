"""What every panel gets handed: workspace, store, event bus, job runner, UI settings and the
clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.gui.ui_settings import UiSettings
from engine.bus import EventBus
from engine.data.store import MarketStore
from engine.jobs import JobRunner
from engine.workspace import Workspace


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    """Passed to panel factories so panels never reach for globals (and tests can fake time)."""

    workspace: Workspace
    bus: EventBus
    settings: UiSettings
    now: Callable[[], datetime] = field(default=utc_now)
    # The workspace's market store, opened by the process that owns the workspace; None when
    # it could not be opened (a screenshot while the app runs): panels must say so.
    store: MarketStore | None = None
    store_problem: str = ""  # why `store` is None, in words for the user
    # Where panels keep their files (watchlists, chart drawings): the workspace's settings
    # folder, or a scratch copy of it for a screenshot, which must not change what is saved.
    settings_dir: Path | None = None
    # The one runner for long work (imports, demo data): built on `bus`, one per context.
    jobs: JobRunner = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = JobRunner(self.bus)
        if self.settings_dir is None:
            self.settings_dir = self.workspace.settings_dir

    @property
    def files_dir(self) -> Path:
        """`settings_dir`, typed (always set after construction)."""
        assert self.settings_dir is not None
        return self.settings_dir
