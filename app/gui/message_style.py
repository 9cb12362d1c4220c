"""Status-line colours and message limits shared by the Data panel and its import dialogs.

Kept apart from app.gui.panels.import_result, whose import results come from the engine's
importers (pandas, ~0.3 s): the Data panel's first picture needs only these.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtGui import QFont, QFontDatabase

MAX_MESSAGE: Final = 3_000  # characters of one message shown: a 50 MB field stays out
WARNING_STYLE: Final = "color: #d99a1e; font-weight: 600;"  # readable on both themes
ERROR_STYLE: Final = "color: #e5534b; font-weight: 600;"


def bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text`, cut to `limit` characters with "…" and how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


def fixed_font() -> QFont:
    """The system's fixed-pitch font: report columns line up as in a terminal."""
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
