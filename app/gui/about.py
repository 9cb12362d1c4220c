"""About dialog: the version, what Artha does today, and what it runs on, for bug reports.

What it says Artha does comes from the lists below; a feature that lands moves its line from
NOT_YET into IN_THE_WINDOW (or ON_THE_COMMAND_LINE), so About and the first-start welcome never
promise more than there is.
"""

from __future__ import annotations

import html
import platform
import sys

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.version import __version__
from engine.workspace import Workspace

# What the window does today.
IN_THE_WINDOW = (
    "import market data (bhavcopies, CSV, Parquet, by drag and drop too) and check its "
    "quality: coverage, gaps, bad bars",
    "corporate actions: splits, bonuses, dividends",
    "the NSE/BSE market calendar: sessions, holidays, whether the market is open",
    "charts from 1 minute to 1 day with indicators, drawings and a run's trades; watchlists",
    "a strategy editor with checks as you type, and backtests through a wizard with Indian "
    "costs and the weekly target",
    "results (metrics, curves, weekly and monthly returns, trades), run history and "
    "side-by-side comparison, CSV and HTML reports",
    "a charges calculator: the contract note, component by component",
    "SYNTHETIC demo data to try it all on",
)
# What only the command line does today (`artha --help` lists every command).
ON_THE_COMMAND_LINE = (
    "the same backtests scripted, with JSON output: artha backtest",
    "data export and quality reports: artha data",
)
# Planned, not built: said as such, never as a feature.
NOT_YET = ("broker connections (Zerodha Kite, Upstox)", "paper and live trading")


def _items(lines: tuple[str, ...]) -> str:
    return "".join(f"<li>{html.escape(line)}</li>" for line in lines)


def about_text(workspace: Workspace) -> str:
    return (
        f"<h2>Artha {__version__}</h2>"
        "<p>Algorithmic trading station for NSE and BSE, being built. Today it does:</p>"
        f"<ul>{_items(IN_THE_WINDOW)}</ul>"
        f"<p>From the command line:</p><ul>{_items(ON_THE_COMMAND_LINE)}</ul>"
        f"<p>Not yet: {html.escape(', '.join(NOT_YET))}.</p>"
        f"<p>Python {sys.version.split()[0]} · Qt {qVersion()} · PySide6 {PySide6.__version__}"
        f" · {platform.system()} {platform.machine()}</p>"
        f"<p>Workspace: {html.escape(str(workspace.root))}</p>"
        "<p style='color:#888'>Trading involves risk of loss. Backtest results are not a "
        "promise of future returns.</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Artha")
        self.text_label = QLabel(about_text(workspace))
        self.text_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)
