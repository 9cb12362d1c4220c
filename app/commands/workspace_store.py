"""Opening the workspace's store from a command: the same one-owner rule as the app."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from app.logging_setup import attach_workspace_log
from engine.data.store import MarketStore, StoreError
from engine.workspace import Workspace, WorkspaceBusyError, WorkspaceError


class CommandError(Exception):
    """Ends a command with exit code 2 and this message."""


def command_line(args: argparse.Namespace) -> str:
    """`artha data import`: what a busy workspace tells the next comer holds it."""
    words = ["artha", str(getattr(args, "command", "") or "")]
    for name in ("data_command", "calendar_command"):
        if getattr(args, name, None):
            words.append(str(getattr(args, name)))
    return " ".join(w for w in words if w)


@contextmanager
def workspace_store(args: argparse.Namespace) -> Iterator[tuple[Workspace, MarketStore]]:
    """Lock the workspace (a running Artha owns its DuckDB file) and open its store.

    An unusable workspace (a file, read-only, a name too long) or one held by another
    process ends the command with CommandError: one sentence naming the path and the fix."""
    try:
        ws = Workspace.resolve(getattr(args, "workspace", None)).ensure()
        lock = ws.lock(owner=command_line(args))
    except (WorkspaceBusyError, WorkspaceError) as exc:
        raise CommandError(str(exc)) from None
    attach_workspace_log(ws)
    try:
        try:
            store = MarketStore.open(ws.database_path)
        except StoreError as exc:
            raise CommandError(str(exc)) from None
        with store:
            yield ws, store
    finally:
        lock.release()
