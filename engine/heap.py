"""Keeping long-lived objects out of the cyclic collector's full passes.

A desktop session builds ~10^6 objects that live until it ends (Qt wrappers, pandas, jedi's
caches, a run's report). Each full (generation 2) collection rescans all of them and holds
the GIL for 100-250 ms, on whichever thread allocates: the GUI freezes mid-keystroke.
`freeze_long_lived` moves what is alive now to the permanent generation, which collections
skip; reference counting still frees those objects. At exit they go back to the collector,
so the interpreter's last collection finalises them (extension modules report objects never
finalised as leaks).
"""

from __future__ import annotations

import atexit
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_UNFREEZE_REGISTERED = False
_PAUSED = 0  # collector_paused blocks running now, on any thread
_PAUSED_LOCK = threading.Lock()


def freeze_long_lived() -> None:
    """gc.freeze() now, and gc.unfreeze() at exit (registered once)."""
    global _UNFREEZE_REGISTERED
    gc.freeze()
    if not _UNFREEZE_REGISTERED:
        _UNFREEZE_REGISTERED = True
        atexit.register(gc.unfreeze)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state as before after it.

    For a start-up, which allocates ~10^6 objects that live for the session (modules, Qt
    wrappers, the window): the collections it would trigger (~3 full passes, 0.2-0.5 s of
    the desktop's start) find almost nothing to free. Freeze what the block built
    (`freeze_long_lived`) before it ends, so later passes skip it too.

    A collector that calls `gc.collect` itself (the desktop's, app.gui.collector) asks
    `collection_paused` first: `gc.disable` stops only the automatic collections."""
    global _PAUSED
    was_enabled = gc.isenabled()
    gc.disable()
    with _PAUSED_LOCK:
        _PAUSED += 1
    try:
        yield
    finally:
        with _PAUSED_LOCK:
            _PAUSED -= 1
        if was_enabled:
            gc.enable()


def collection_paused() -> bool:
    """Whether a `collector_paused` block runs now (on any thread): an explicit collection
    would walk what it is building (a job's result being unpickled: ~10^5 new objects)."""
    return _PAUSED > 0
