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

_UNFREEZE_REGISTERED = False


def freeze_long_lived() -> None:
    """gc.freeze() now, and gc.unfreeze() at exit (registered once)."""
    global _UNFREEZE_REGISTERED
    gc.freeze()
    if not _UNFREEZE_REGISTERED:
        _UNFREEZE_REGISTERED = True
        atexit.register(gc.unfreeze)
