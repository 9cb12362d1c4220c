"""Per-bar session facts the fill model needs: which IST day a bar is on, where the day
ends, and where the MIS square-off happens. Computed once per instrument, vectorised.

The square-off cut-off of a day is that day's session close from the market calendar minus
`BacktestConfig.squareoff_lead` (15:30 - 10 min = 15:20 on a regular day, 18:50 in an
18:00-19:00 muhurat session). A bar on a day the calendar has no session for (a holiday or
weekend bar in a user's file) gets the regular timetable's cut-off (15:30 minus the lead); a
day no holiday list covers has the calendar's provisional session, which is that timetable.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from engine.calendar import REGULAR_CLOSE, get_calendar
from engine.domain.enums import Exchange
from engine.ist import (
    IST_OFFSET_NS,
    NS_PER_DAY,
    day_from_number,
    day_number,
    ist_day_numbers,
    ns_of,
    ns_of_timedelta,
)

Int64Array = npt.NDArray[np.int64]


def session_cutoffs(
    first_day: int, last_day: int, exchange: Exchange | str, lead: timedelta
) -> tuple[Int64Array, Int64Array]:
    """(IST day numbers that have a session, each one's square-off cut-off in UTC ns), for
    the inclusive range of IST day numbers (days since 1970-01-01), ascending.
    """
    sessions = get_calendar(exchange).sessions(
        day_from_number(first_day), day_from_number(last_day)
    )
    lead_ns = ns_of_timedelta(lead)
    days = [day_number(s.date) for s in sessions]
    cuts = [ns_of(s.close) - lead_ns for s in sessions]
    return np.array(days, dtype=np.int64), np.array(cuts, dtype=np.int64)


class SessionIndex:
    """Session facts for the bars `ts` (UTC ns open times, ascending) of an instrument on
    `exchange`, with MIS square-off `lead` before each session's close."""

    def __init__(self, ts: Int64Array, exchange: Exchange | str, lead: timedelta) -> None:
        n = len(ts)
        self.day: Int64Array = ist_day_numbers(ts)
        change = np.flatnonzero(np.diff(self.day))
        last = np.append(change, n - 1) if n else change
        # the session's last bar for every bar: O(1) lookups on the order path
        sizes = np.diff(np.concatenate(([-1], last)))
        self._end_of: Int64Array = np.repeat(last, sizes)
        # each bar's day cut-off (UTC ns): its calendar session's, else the regular one's
        regular = timedelta(hours=REGULAR_CLOSE.hour, minutes=REGULAR_CLOSE.minute) - lead
        cutoff = self.day * NS_PER_DAY - IST_OFFSET_NS + ns_of_timedelta(regular)
        if n:
            days, cuts = session_cutoffs(int(self.day[0]), int(self.day[-1]), exchange, lead)
            if len(days):
                k = np.minimum(np.searchsorted(days, self.day), len(days) - 1)
                has_session = days[k] == self.day
                cutoff = np.where(has_session, cuts[k], cutoff)
        self.cutoff: Int64Array = cutoff  # each bar's day's square-off cut-off (UTC ns)
        # the first bar at/after the cut-off from every bar on (n where none): bar i's
        # square-off bar is that one when it is still on i's day
        at_cut = np.where(ts >= cutoff, np.arange(n, dtype=np.int64), n)
        self._next_cut: Int64Array = np.minimum.accumulate(at_cut[::-1])[::-1]

    def session_end(self, i: int) -> int:
        """Index of the last bar on bar i's IST day."""
        return int(self._end_of[i])

    def squareoff_index(self, i: int) -> tuple[int, bool]:
        """(bar, at_open): the first bar at/after the cut-off on i's day, else its last bar's
        close (at_open False)."""
        j = int(self._next_cut[i])
        end = int(self._end_of[i])
        return (j, True) if j <= end else (end, False)

    def trade_date(self, i: int) -> date:
        return day_from_number(int(self.day[i]))
