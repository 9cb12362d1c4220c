"""The bar sizes Artha stores and resamples to, in one place.

A timeframe's label ("15m", "1d") is what the store, files, the CLI and the dialogs write.
Intraday bars are laid on each session's grid from its open; a daily bar is one bar per
session. The nominal length of "1d" is 24 hours: it is the spacing of daily bars on
consecutive days, which is what timeframe inference and gap checks compare against.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

_NS_PER_MINUTE: Final = 60 * 1_000_000_000


class Timeframe(StrEnum):
    """One bar size; its value is its label, so it compares equal to the stored string."""

    M1 = "1m"
    M3 = "3m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    M60 = "60m"
    D1 = "1d"

    @property
    def label(self) -> str:
        return self.value

    @property
    def minutes(self) -> int:
        """Nominal length in minutes (1,440 for a day)."""
        return _MINUTES[self.value]

    @property
    def length_ns(self) -> int:
        """Nominal bar length in nanoseconds."""
        return _MINUTES[self.value] * _NS_PER_MINUTE

    @property
    def intraday(self) -> bool:
        """Bars inside a session on its grid (False: one bar per session)."""
        return self is not Timeframe.D1

    def resamples_to(self, target: Timeframe) -> bool:
        """Whether bars of this size can be aggregated into `target` bars: intraday bars
        make daily bars and any intraday size that is a whole multiple of theirs."""
        if not self.intraday:
            return False
        return not target.intraday or target.minutes % self.minutes == 0

    def makes(self, target: Timeframe) -> bool:
        """Whether stored bars of this size give `target` bars (as they are, or resampled)."""
        return self is target or self.resamples_to(target)


_MINUTES: Final = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "1d": 1440}

TIMEFRAME_NAMES: Final[tuple[str, ...]] = tuple(tf.value for tf in Timeframe)
"""Every label, finest first (argparse choices, pickers, the store's CHECK list)."""

TIMEFRAMES: Final[dict[str, int]] = {tf.value: tf.length_ns for tf in Timeframe}
"""Label -> nominal bar length in nanoseconds, finest first."""
