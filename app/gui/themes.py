"""Dark and light themes: Fusion style with a palette, so every widget follows without QSS.

No application style sheet: one, however short, makes Qt style every widget through its
style-sheet engine (~80 ms to polish the main window at start, and slower paints after).
The cards' frames carry a sheet of their own (`make_card`); the dock titles keep Fusion's
compact margin (a Python proxy style widening it would be called thousands of times a
layout)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QFrame

_DARK = {
    QPalette.ColorRole.Window: "#1e2127",
    QPalette.ColorRole.WindowText: "#d7dae0",
    QPalette.ColorRole.Base: "#16181d",
    QPalette.ColorRole.AlternateBase: "#22262e",
    QPalette.ColorRole.ToolTipBase: "#2b2f38",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.Text: "#d7dae0",
    QPalette.ColorRole.Button: "#2a2e36",
    QPalette.ColorRole.ButtonText: "#d7dae0",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#3d7bd9",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6aa7ff",
    QPalette.ColorRole.PlaceholderText: "#7d8490",
}
_DARK_DISABLED = "#6b7280"
_DARK_DISABLED_FIELD = "#1e2127"  # a disabled field sinks into the window instead of Base

CARD_STYLE = "QFrame#card { border: 1px solid palette(mid); border-radius: 6px; }"


def make_card(frame: QFrame) -> None:
    """A framed card with rounded corners in the theme's mid colour (Home, the results'
    figures): a style sheet on the frame only, whose palette colour `apply_theme` renews."""
    frame.setObjectName("card")
    frame.setStyleSheet(CARD_STYLE)


@contextmanager
def no_garbage_collection() -> Iterator[None]:
    """No automatic cyclic garbage collection while Qt walks every widget of the application.

    QApplication.setStyle, setPalette and setStyleSheet take a list of raw pointers to all
    widgets, then polish each and send it events (StyleChange, PaletteChange...). Python runs
    inside that walk (item models' headerData, event filters, event overrides: ~10,000 calls
    for the main window), and an allocation there can start the cyclic collector. If it frees
    a Python-owned widget whose wrapper waits in a reference cycle (a panel or dialog built
    without a parent, a pyqtgraph plot's parentless ctrlMenu, a PlotWidget not yet laid out),
    Qt deletes it, and its children, in the middle of the walk, then polishes the freed memory
    further down the list: a segfault in setStyle or setStyleSheet. Reference counting still
    frees what it frees; the collector simply runs after the walk."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def use_fusion(app: QApplication) -> None:
    """Fusion, once per process: best before the first widget is built."""
    if not app.property("arthaFusion"):
        with no_garbage_collection():
            app.setStyle("Fusion")
        app.setProperty("arthaFusion", True)


def apply_theme(app: QApplication, name: str) -> None:
    """Switch the whole application to 'dark' or 'light'.

    The style is set once per process (use_fusion; launch does it before any widget
    exists): setting it again replaces the QStyle under every live widget, which crashed
    a process holding many widgets (seen in the test suite, and in a script opening a second
    main window). The palette reaches every widget; a widget with a style sheet of its own
    has it set again, so colours it names from the palette (`palette(mid)`) are the new
    theme's. Both walk every widget with the cyclic garbage collector off
    (no_garbage_collection)."""
    use_fusion(app)
    if name == "dark":
        palette = QPalette()
        for role, colour in _DARK.items():
            palette.setColor(role, QColor(colour))
        for role in (
            QPalette.ColorRole.WindowText,
            QPalette.ColorRole.Text,
            QPalette.ColorRole.ButtonText,
            QPalette.ColorRole.PlaceholderText,  # else a disabled hint outshines real text
        ):
            palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(_DARK_DISABLED))
        palette.setColor(
            QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, QColor(_DARK_DISABLED_FIELD)
        )
    elif name == "light":
        palette = app.style().standardPalette()
    else:
        raise ValueError(f"unknown theme {name!r}")
    with no_garbage_collection():  # each call walks every widget (no_garbage_collection)
        app.setPalette(palette)
        # Qt posts the change to each window: deliver it now, so whatever paints or grabs
        # next (a test, a screenshot) has the new theme.
        app.sendPostedEvents(None, QEvent.Type.ApplicationPaletteChange)
        for widget in app.allWidgets():
            sheet = widget.styleSheet()
            if sheet:
                widget.setStyleSheet(sheet)
    app.setProperty("arthaTheme", name)


def current_theme(app: QApplication) -> str:
    value = app.property("arthaTheme")
    return value if isinstance(value, str) else "light"
