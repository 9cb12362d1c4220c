"""Per-bar session facts the fill model needs: which IST day a bar is on, where the day
ends, and where the MIS square-off happens. Computed once per instrument, vectorised."""

from __future__ import annotations

from datetime import date, time

import numpy as np
import numpy.typing as npt

NS_PER_DAY = 86_400 * 1_000_000_000
IST_OFFSET_NS = 19_800 * 1_000_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class SessionIndex:
    def __init__(self, ts: npt.NDArray[np.int64], squareoff: time) -> None:
        local = ts + IST_OFFSET_NS
        self.day = local // NS_PER_DAY
        time_of_day = local - self.day * NS_PER_DAY
        cutoff = (squareoff.hour * 3600 + squareoff.minute * 60) * 1_000_000_000
        self._cut = np.flatnonzero(time_of_day >= cutoff)
        change = np.flatnonzero(np.diff(self.day)) if len(ts) else np.array([], np.int64)
        self._last = np.append(change, len(ts) - 1) if len(ts) else change
        # the session's last bar for every bar: O(1) lookups on the order path
        sizes = np.diff(np.concatenate(([-1], self._last)))
        self._end_of = np.repeat(self._last, sizes)

    def session_end(self, i: int) -> int:
        """Index of the last bar on bar i's IST day."""
        return int(self._end_of[i])

    def squareoff_index(self, i: int) -> tuple[int, bool]:
        """(bar, at_open): the first bar at/after the cut-off on i's day, else its last bar's
        close (at_open False)."""
        k = int(np.searchsorted(self._cut, i))
        if k < len(self._cut):
            j = int(self._cut[k])
            if self.day[j] == self.day[i]:
                return j, True
        return self.session_end(i), False

    def trade_date(self, i: int) -> date:
        return date.fromordinal(_EPOCH_ORDINAL + int(self.day[i]))
