"""Shared fixtures: headless Qt, a temp workspace per test, and a qasync loop (env recipe §4)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTEST_QT_API", "pyside6")

import pytest

from engine.workspace import ENV_HOME, Workspace


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Workspace:
    """A fresh workspace; ARTHA_HOME points at it so nothing touches the user's real data."""
    ws = Workspace(tmp_path / "workspace").ensure()
    monkeypatch.setenv(ENV_HOME, str(ws.root))
    return ws


@pytest.fixture
def aloop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=2))
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def _no_leaked_artha_log_handlers() -> Iterator[None]:
    """configure_logging() adds file handlers to the root logger; drop them after each test."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_artha_handler", False)]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture(autouse=True)
def _process_calendar_starts_empty() -> Iterator[None]:
    """Opening a workspace makes its calendar the process's (as in the app, one workspace per
    process); tests open many, so each starts and ends with no workspace calendar."""
    from engine.calendar import CalendarLayer, use_workspace_calendar

    use_workspace_calendar(CalendarLayer())
    yield
    use_workspace_calendar(CalendarLayer())
