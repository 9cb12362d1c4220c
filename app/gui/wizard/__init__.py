"""The backtest wizard and its parameter form (see backtest_wizard.py)."""

from app.gui.wizard.backtest_wizard import BacktestWizard, open_backtest_wizard

__all__ = ["BacktestWizard", "open_backtest_wizard"]
