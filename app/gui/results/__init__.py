"""The Results panel (registered on import) and what it is built from."""

from app.gui.results.panel import ResultsPanel
from app.gui.results.trades_model import TradeFilter, TradesModel

__all__ = ["ResultsPanel", "TradeFilter", "TradesModel"]
