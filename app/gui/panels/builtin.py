"""Importing this registers Artha's built-in panels (each module registers itself)."""

from app.gui.panels import (
    chart_panel,
    data_panel,
    editor_panel,
    history_panel,
    home,
    log_panel,
    watchlist,
)
from app.gui.results import panel as results_panel

__all__ = [
    "chart_panel",
    "data_panel",
    "editor_panel",
    "history_panel",
    "home",
    "log_panel",
    "results_panel",
    "watchlist",
]
