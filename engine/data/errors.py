"""The store's errors, in a module of their own without DuckDB: the desktop app catches them
in panels that are built before the window's first paint, while DuckDB (~0.2 s to import)
loads only when the store opens, after it."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A store operation failed; the message names the file, symbol or row and what is wrong."""


class StoreDamaged(StoreError):
    """The store's file is damaged (a checksum error, a truncated file, a corrupt WAL).

    The message says what is wrong and what to do (`artha data check`, `artha data restore`);
    once raised, the store refuses writes for the rest of the process (store.py).
    """
