"""Collections happen on the GUI thread, between events, never in another thread."""

from __future__ import annotations

import gc
import threading

from app.gui.collector import GuiThreadCollector


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collections_run_on_the_gui_thread_only(qtbot):
    gc.enable()  # as in the app before the collector takes over (tests run with it off)
    collector = GuiThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()
        seen: list[int] = []

        def note(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                seen.append(threading.get_ident())

        gc.callbacks.append(note)
        try:
            worker = threading.Thread(target=lambda: [Cycle() for _ in range(50_000)])
            worker.start()
            worker.join()
            qtbot.waitUntil(lambda: collector.collections > 0, timeout=3000)
        finally:
            gc.callbacks.remove(note)
        assert seen and set(seen) == {threading.get_ident()}
    finally:
        collector.stop()
    assert gc.isenabled()
