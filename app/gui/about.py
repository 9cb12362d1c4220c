"""About dialog: the version and what Artha runs on, for bug reports."""

from __future__ import annotations

import platform
import sys

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.version import __version__
from engine.workspace import Workspace


def about_text(workspace: Workspace) -> str:
    return (
        f"<h2>Artha {__version__}</h2>"
        "<p>Algorithmic trading station for NSE and BSE: research, backtest, paper and live "
        "trading in one app.</p>"
        f"<p>Python {sys.version.split()[0]} · Qt {qVersion()} · PySide6 {PySide6.__version__}"
        f" · {platform.system()} {platform.machine()}</p>"
        f"<p>Workspace: {workspace.root}</p>"
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
