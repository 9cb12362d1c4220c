"""Which sessions each stored series has, for every series in ONE query: the Data panel's
coverage timelines and their tooltips.

Why these rules:
- A session is the bar's IST calendar day (every NSE/BSE session opens and closes on one IST
  day; engine.data.quotes groups the same way), so the query reads distinct days per series
  and never a bar's prices: ~30 ms for the demo's 2.25M one-minute bars on 2 cores.
- Missing sessions are those the exchange calendar expects between a series' first and last
  day that have no bar (as the quality report counts them); the days before its first bar
  are not "missing", the series simply starts later. Days with bars on which the calendar
  has no session (kept on import by the trader's choice) are listed apart.
- The calendar is that of the cash exchange (BSE for BSE and BFO, NSE otherwise), as the
  quality report uses.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from engine.calendar import get_calendar

if TYPE_CHECKING:
    from engine.data.store import MarketStore

_NS_PER_DAY: Final = 86_400_000_000_000
_IST_OFFSET_NS: Final = 19_800_000_000_000  # +05:30, no daylight saving in India
_EPOCH: Final = date(1970, 1, 1)

COVERAGE_SQL: Final = f"""
WITH days AS (
    SELECT instrument_id, timeframe, (ts + {_IST_OFFSET_NS}) // {_NS_PER_DAY} AS day
    FROM bars GROUP BY ALL
)
SELECT i.exchange, i.symbol, d.timeframe::VARCHAR, list(d.day ORDER BY d.day)
FROM days d JOIN instruments i ON i.id = d.instrument_id
GROUP BY ALL ORDER BY 1, 2, 3
"""

SeriesKey = tuple[str, str, str]  # (exchange, symbol, timeframe), as SeriesInfo has them


@dataclass(frozen=True)
class SeriesCoverage:
    """The IST days one series has bars on, and the sessions it lacks between its ends."""

    exchange: str
    symbol: str
    timeframe: str
    days: tuple[date, ...]  # days with at least one bar, ascending (never empty)
    missing: tuple[date, ...]  # sessions between first and last day with no bar, ascending
    off_calendar: tuple[date, ...]  # days with bars on which the calendar has no session

    @property
    def key(self) -> SeriesKey:
        return self.exchange, self.symbol, self.timeframe

    @property
    def first(self) -> date:
        return self.days[0]

    @property
    def last(self) -> date:
        return self.days[-1]

    @property
    def sessions(self) -> int:
        """Days with bars (a day off the calendar counts: it holds bars)."""
        return len(self.days)

    @property
    def expected(self) -> int:
        """Sessions the calendar has from the first to the last day."""
        return self.sessions - len(self.off_calendar) + len(self.missing)


@dataclass(frozen=True)
class StoreCoverage:
    """Every series' coverage, and the span of the whole store (the timelines' common axis)."""

    series: Mapping[SeriesKey, SeriesCoverage]
    # the timelines' axis: every session of the store's span (of each exchange stored) and
    # every day off the calendar that has bars, ascending; a series full of data is one
    # unbroken run on it, weekends and holidays are no holes
    axis: tuple[date, ...] = ()

    @property
    def first(self) -> date | None:
        return self.axis[0] if self.axis else None

    @property
    def last(self) -> date | None:
        return self.axis[-1] if self.axis else None

    def of(self, exchange: str, symbol: str, timeframe: str) -> SeriesCoverage | None:
        return self.series.get((exchange, symbol, timeframe))


def _calendar_exchange(exchange: str) -> str:
    return "BSE" if exchange in ("BSE", "BFO") else "NSE"


def coverage_of_rows(rows: Sequence[Sequence[Any]]) -> StoreCoverage:
    """StoreCoverage from the query's rows (exchange, symbol, timeframe, [epoch days])."""
    spans: dict[str, tuple[date, date]] = {}
    parsed: list[tuple[str, str, str, tuple[date, ...]]] = []
    for exchange, symbol, timeframe, numbers in rows:
        days = tuple(_EPOCH + timedelta(days=int(n)) for n in numbers)
        if not days:
            continue
        parsed.append((str(exchange), str(symbol), str(timeframe), days))
        venue = _calendar_exchange(str(exchange))
        lo, hi = spans.get(venue, (days[0], days[-1]))
        spans[venue] = (min(lo, days[0]), max(hi, days[-1]))
    # one calendar walk per exchange over the whole span, not one per series
    sessions = {
        venue: [s.date for s in get_calendar(venue).sessions(lo, hi)]
        for venue, (lo, hi) in spans.items()
    }
    if spans:  # every exchange's sessions over the store's whole span
        lo = min(lo for lo, _ in spans.values())
        hi = max(hi for _, hi in spans.values())
        axis = {s.date for venue in spans for s in get_calendar(venue).sessions(lo, hi)}
    else:
        axis = set()
    found: dict[SeriesKey, SeriesCoverage] = {}
    for exchange, symbol, timeframe, days in parsed:
        calendar_days = sessions[_calendar_exchange(exchange)]
        start = bisect.bisect_left(calendar_days, days[0])
        wanted = calendar_days[start : bisect.bisect_right(calendar_days, days[-1])]
        present = set(days)
        expected = set(wanted)
        found[(exchange, symbol, timeframe)] = SeriesCoverage(
            exchange,
            symbol,
            timeframe,
            days,
            tuple(d for d in wanted if d not in present),
            tuple(d for d in days if d not in expected),
        )
        axis.update(found[(exchange, symbol, timeframe)].off_calendar)
    return StoreCoverage(found, tuple(sorted(axis)))


def read_coverage(store: MarketStore) -> StoreCoverage:
    """Every stored series' coverage in one query (~30 ms on the demo's 2.25M bars): callers
    on a GUI thread run it as a job. Through `store.read_rows` (DuckDB alone, damage turned
    into StoreDamaged like every read): no SQLAlchemy on the station's first screen."""
    return coverage_of_rows(store.read_rows(COVERAGE_SQL))
