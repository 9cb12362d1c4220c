"""The one place panels plug into the main window: a new panel is one module and one spec.

The main window turns every registered spec into a dock widget, a View-menu toggle and a place in
the default layout; saved layouts find docks again by their panel id (the dock's objectName).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.gui.context import AppContext

PanelFactory = Callable[[AppContext], QWidget]
InstanceFactory = Callable[[AppContext, str], QWidget]  # (context, the new panel's id)


@dataclass(frozen=True)
class PanelSpec:
    panel_id: str
    title: str
    factory: PanelFactory
    area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    visible: bool = True
    tab_with: str | None = None  # id of an earlier panel to share a tab group with
    shortcut: str | None = None
    order: int = 100  # smaller first: decides default placement order and View-menu order
    default_size: int | None = None  # px across the dock area (height for top/bottom docks)
    # Panels the trader can open several of (charts): builds one more, given its id
    # ("chart-2"); the main window offers "New <title>" and reopens them at the next start.
    instance_factory: InstanceFactory | None = None


_REGISTRY: dict[str, PanelSpec] = {}


def register_panel(spec: PanelSpec) -> PanelSpec:
    if spec.panel_id in _REGISTRY:
        raise ValueError(f"a panel with id {spec.panel_id!r} is already registered")
    _REGISTRY[spec.panel_id] = spec
    return spec


def unregister_panel(panel_id: str) -> None:
    """Remove a panel (plugins unloading; tests registering throw-away panels)."""
    _REGISTRY.pop(panel_id, None)


def panel_specs() -> list[PanelSpec]:
    """Every registered panel, built-ins included, in default-layout order."""
    import app.gui.panels.builtin  # noqa: F401 - registers the built-in panels

    return sorted(_REGISTRY.values(), key=lambda spec: (spec.order, spec.panel_id))
