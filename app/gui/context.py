"""What every panel gets handed: the workspace, the event bus, UI settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.gui.ui_settings import UiSettings
from engine.bus import EventBus
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
