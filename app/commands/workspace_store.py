"""Opening the workspace's store from a command: the same one-owner rule as the app."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from engine.data.store import MarketStore, StoreError
from engine.workspace import Workspace, WorkspaceBusyError


class CommandError(Exception):
    """Ends a command with exit code 2 and this message."""


@contextmanager
def workspace_store(args: argparse.Namespace) -> Iterator[tuple[Workspace, MarketStore]]:
    """Lock the workspace (a running Artha owns its DuckDB file) and open its store."""
    ws = Workspace.resolve(getattr(args, "workspace", None)).ensure()
    try:
        lock = ws.lock()
    except WorkspaceBusyError as exc:
        raise CommandError(str(exc)) from None
    try:
        try:
            store = MarketStore.open(ws.database_path)
        except StoreError as exc:
            raise CommandError(str(exc)) from None
        with store:
            yield ws, store
    finally:
        lock.release()
