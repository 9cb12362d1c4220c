"""What a chart panel remembers across restarts: its instrument, timeframe, indicators and
whether it shows prices adjusted for corporate actions."""

from __future__ import annotations

from dataclasses import dataclass

from engine.timeframes import TIMEFRAME_NAMES

INDICATOR_SEPARATOR = ";"  # indicator specs hold commas ("bollinger(20, 2)")


@dataclass(frozen=True)
class ChartState:
    key: str = ""  # EXCHANGE:SYMBOL; "" until the panel has shown one
    timeframe: str = "1m"
    indicators: tuple[str, ...] = ()  # IndicatorSpec texts, in the order added
    adjusted: bool = False

    def as_values(self) -> dict[str, str]:
        """Flat strings for an INI file."""
        return {
            "key": self.key,
            "timeframe": self.timeframe,
            "indicators": INDICATOR_SEPARATOR.join(self.indicators),
            "adjusted": "true" if self.adjusted else "false",
        }

    @classmethod
    def from_values(cls, values: dict[str, object]) -> ChartState:
        """Back from `as_values`; anything missing or unknown falls back to the default (a
        hand-edited file never stops the panel from opening)."""
        key = values.get("key")
        timeframe = values.get("timeframe")
        indicators = values.get("indicators")
        return cls(
            key=key.strip().upper() if isinstance(key, str) else "",
            timeframe=timeframe if timeframe in TIMEFRAME_NAMES else "1m",  # type: ignore[arg-type]
            indicators=tuple(
                text.strip()
                for text in (indicators if isinstance(indicators, str) else "").split(
                    INDICATOR_SEPARATOR
                )
                if text.strip()
            ),
            adjusted=str(values.get("adjusted", "false")).lower() == "true",
        )
