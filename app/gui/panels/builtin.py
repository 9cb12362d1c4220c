"""Importing this registers Artha's built-in panels (each module registers itself)."""

from app.gui.panels import home, log_panel

__all__ = ["home", "log_panel"]
