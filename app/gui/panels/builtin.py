"""Importing this registers Artha's built-in panels (each module registers itself)."""

from app.gui.panels import data_panel, home, log_panel

__all__ = ["data_panel", "home", "log_panel"]
