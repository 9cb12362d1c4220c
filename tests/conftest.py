"""Shared fixtures: headless Qt, a temp workspace per test, and a qasync loop (env recipe §4)."""

from __future__ import annotations

import asyncio
import gc
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
def _collections_on_the_main_thread() -> Iterator[None]:
    """As the station does (app/gui/collector.py): no automatic garbage collection while a
    test runs. Its threads (a fake broker's, Twisted's reactor, asyncio.to_thread workers)
    would otherwise start collections that free Qt objects of this or an earlier test (a
    qasync loop's timers, widgets) off the main thread, and Qt crashes later. What is due is
    collected here, on the main thread, by the interpreter's own thresholds."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    young, middle, old = gc.get_count()
    first, second, third = gc.get_threshold()
    if young > first:
        gc.collect(2 if middle > second and old > third else 1 if middle > second else 0)
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _no_leaked_artha_log_handlers() -> Iterator[None]:
    """configure_logging() adds file handlers to the root logger and installs the redacting
    log-record factory (and its filters on every handler) process-wide; undo both before and
    after each test, so every test sees plain records (the factory drops `exc_info`, which
    test_bus asserts on)."""
    from brokers import redaction

    # Plain records in, plain records out, whatever installed redaction (this test, or an
    # earlier one on this worker at any fixture scope): pytest's own capture handlers live the
    # whole session, so the filters on them are taken off too.
    redaction.uninstall_everywhere()
    yield
    redaction.uninstall_everywhere()
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
