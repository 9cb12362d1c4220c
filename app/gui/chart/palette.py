"""The chart's colours, one dataclass per theme, so every item paints from the same set.

Colours are '#rrggbb' or '#rrggbbaa' strings (cheap to compare, store and pass to Qt).
The colour-blind-safe variants swap green/red for blue/orange, which stay apart under the
common red-green deficiencies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtGui import QColor


@dataclass(frozen=True, slots=True)
class ChartPalette:
    """Every colour the chart paints with."""

    name: str
    background: str
    grid: str
    axis_line: str
    axis_text: str
    up: str
    down: str
    wick_up: str
    wick_down: str
    volume_up: str
    volume_down: str
    crosshair: str
    session_break: str
    readout_text: str
    readout_label: str

    @staticmethod
    def dark() -> ChartPalette:
        return ChartPalette(
            name="dark",
            background="#131722",
            grid="#222735",
            axis_line="#2a2e39",
            axis_text="#b2b5be",
            up="#26a69a",
            down="#ef5350",
            wick_up="#26a69a",
            wick_down="#ef5350",
            volume_up="#26a69a66",
            volume_down="#ef535066",
            crosshair="#9598a1",
            session_break="#434651",
            readout_text="#d1d4dc",
            readout_label="#787b86",
        )

    @staticmethod
    def light() -> ChartPalette:
        return ChartPalette(
            name="light",
            background="#ffffff",
            grid="#f0f3fa",
            axis_line="#d1d4dc",
            axis_text="#131722",
            up="#089981",
            down="#f23645",
            wick_up="#089981",
            wick_down="#f23645",
            volume_up="#08998166",
            volume_down="#f2364566",
            crosshair="#758696",
            session_break="#b2b5be",
            readout_text="#131722",
            readout_label="#6a6d78",
        )

    def colour_blind(self) -> ChartPalette:
        """Blue up, orange down (Okabe-Ito hues), tuned for this palette's background."""
        if self.name.startswith("dark"):
            up, down = "#3d9df3", "#f5a623"
        else:
            up, down = "#0072b2", "#d55e00"
        return replace(
            self,
            name=f"{self.name}-cb",
            up=up,
            down=down,
            wick_up=up,
            wick_down=down,
            volume_up=f"{up}66",
            volume_down=f"{down}66",
        )


def palette_for(theme: str, colour_blind: bool = False) -> ChartPalette:
    """The palette for the app's theme name ('dark' or 'light')."""
    if theme == "dark":
        base = ChartPalette.dark()
    elif theme == "light":
        base = ChartPalette.light()
    else:
        raise ValueError(f"unknown theme {theme!r}: expected 'dark' or 'light'")
    return base.colour_blind() if colour_blind else base


def qcolor(colour: str) -> QColor:
    """A QColor from '#rrggbb' or '#rrggbbaa' (Qt itself reads 8 digits as #aarrggbb)."""
    if len(colour) == 9 and colour.startswith("#"):
        r, g, b, a = (int(colour[i : i + 2], 16) for i in (1, 3, 5, 7))
        return QColor(r, g, b, a)
    return QColor(colour)


def opaque_over(colour: str, background: str) -> str:
    """A translucent '#rrggbbaa' blended over an opaque background, as '#rrggbb'.

    Opaque fills are several times cheaper to paint than blended ones, and look the same
    on a plain background."""
    if len(colour) != 9:
        return colour
    alpha = int(colour[7:9], 16) / 255.0
    channels = []
    for i in (1, 3, 5):
        fg, bg = int(colour[i : i + 2], 16), int(background[i : i + 2], 16)
        channels.append(round(fg * alpha + bg * (1.0 - alpha)))
    return "#" + "".join(f"{c:02x}" for c in channels)
