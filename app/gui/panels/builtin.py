"""Importing this registers Artha's built-in panels (each module registers itself)."""

from app.gui.panels import chart_panel, data_panel, home, log_panel, watchlist

__all__ = ["chart_panel", "data_panel", "home", "log_panel", "watchlist"]
