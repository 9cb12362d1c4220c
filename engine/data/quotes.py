"""Watchlist figures for many instruments in ONE query: the last session's close and volume,
the change against the previous session's close, and a sparkline of recent session closes.

Why these rules:
- A session is the bar's IST calendar day. Every NSE/BSE (and MCX) session, special ones
  included, opens and closes on one IST day, so grouping by it is grouping by the calendar's
  sessions without asking the calendar for each bar.
- Per day a stored daily bar wins over intraday ones: it is the exchange's official close
  (NSE's is the volume-weighted price of the last 30 minutes, not the last trade) and the whole
  day's volume; without one, the finest intraday timeframe stored that day gives them.
- The sparkline is the last SPARK_SESSIONS session closes, oldest first: it works the same for
  bhavcopy-only (daily) and minute data, and shows the trend the day's change sits in (the
  day's own path is the chart's job). Only bars from LOOKBACK_DAYS before an instrument's
  newest bar are read, so years of minute history cost no more than the last weeks.

Prices stay int paise; change % is a ratio, so a float. Unknown keys and instruments with no
bars come back as quotes with no figures, never as an error: a watchlist shows them as "—".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from engine.timeframes import Timeframe

if TYPE_CHECKING:
    from engine.data.store import MarketStore

SPARK_SESSIONS = 30
LOOKBACK_DAYS = 60  # calendar days: ~40 sessions, room for holidays around 30 of them
_NS_PER_DAY = 86_400_000_000_000
_IST_OFFSET_NS = 19_800_000_000_000  # +05:30, no daylight saving in India
_EPOCH = date(1970, 1, 1)
# per-day preference: the official daily bar first, then intraday from the finest
_INTRADAY = sorted((t for t in Timeframe if t is not Timeframe.D1), key=lambda t: t.minutes)
_PREFERENCE = [Timeframe.D1.value, *(t.value for t in _INTRADAY)]

QUOTES_SQL = f"""
WITH wanted AS (
    SELECT i.id, k.key
    FROM (SELECT unnest(?::VARCHAR[]) AS key) k
    JOIN instruments i ON i.exchange || ':' || i.symbol = k.key
),
since AS (
    SELECT b.instrument_id AS id, max(b.ts) - {LOOKBACK_DAYS} * {_NS_PER_DAY} AS since_ts
    FROM bars b SEMI JOIN wanted w ON b.instrument_id = w.id
    GROUP BY 1
),
per_day AS (
    SELECT b.instrument_id AS id, b.timeframe,
           (b.ts + {_IST_OFFSET_NS}) // {_NS_PER_DAY} AS day,
           arg_max(b.close, b.ts) AS close, sum(b.volume) AS volume, max(b.ts) AS last_ts
    FROM bars b JOIN since s ON b.instrument_id = s.id AND b.ts >= s.since_ts
    GROUP BY ALL
),
chosen AS (
    SELECT id, day, close, volume, last_ts
    FROM per_day
    QUALIFY row_number() OVER (
        PARTITION BY id, day ORDER BY list_position(?::VARCHAR[], timeframe::VARCHAR)
    ) = 1
),
sessions AS (
    SELECT *, row_number() OVER (PARTITION BY id ORDER BY day DESC) AS back FROM chosen
)
SELECT w.key,
       max(s.close) FILTER (s.back = 1) AS last_close,
       max(s.close) FILTER (s.back = 2) AS prev_close,
       max(s.volume) FILTER (s.back = 1) AS volume,
       max(s.day) FILTER (s.back = 1) AS day,
       max(s.last_ts) FILTER (s.back = 1) AS last_ts,
       list(s.close ORDER BY s.day) FILTER (s.back <= ?) AS closes
FROM wanted w LEFT JOIN sessions s ON s.id = w.id
GROUP BY w.key
"""


@dataclass(frozen=True)
class Quote:
    """One instrument's figures; every figure is None when the store has no bars for it."""

    key: str  # EXCHANGE:SYMBOL
    last: int | None = None  # paise: the last session's close
    prev_close: int | None = None  # paise: the session before's close
    volume: int | None = None  # the last session's volume
    session: date | None = None  # IST date of the last session
    last_ts: int | None = None  # int64 ns UTC: open of the newest bar read
    closes: tuple[int, ...] = ()  # paise, oldest first: the sparkline

    @property
    def change(self) -> int | None:
        """Paise against the previous session's close."""
        if self.last is None or self.prev_close is None:
            return None
        return self.last - self.prev_close

    @property
    def change_pct(self) -> float | None:
        change = self.change
        if change is None or not self.prev_close:
            return None
        return change * 100 / self.prev_close


def quote_rows(rows: Sequence[Sequence[Any]], keys: Sequence[str]) -> dict[str, Quote]:
    """The query's rows as Quotes, in the order of `keys`; keys not in the store: empty."""
    found = {
        str(key): Quote(
            str(key),
            None if last is None else int(last),
            None if prev is None else int(prev),
            None if volume is None else int(volume),
            None if day is None else _EPOCH + timedelta(days=int(day)),
            None if last_ts is None else int(last_ts),
            tuple(int(c) for c in closes or ()),
        )
        for key, last, prev, volume, day, last_ts, closes in rows
    }
    return {key: found.get(key) or Quote(key) for key in keys}


def read_quotes(
    store: MarketStore, keys: Sequence[str], spark_sessions: int = SPARK_SESSIONS
) -> dict[str, Quote]:
    """Quotes of `keys` ("EXCHANGE:SYMBOL", as stored) in one query, in the order given.

    ~0.1 s for 50 instruments of 120 sessions of minute bars on a 2-core machine: callers on
    a GUI thread run it as a job. Through `store.read_rows` (DuckDB alone, damage turned into
    StoreDamaged like every read): no SQLAlchemy on the station's first screen.
    """
    if spark_sessions < 2:
        raise ValueError(f"a sparkline needs at least 2 sessions, not {spark_sessions}")
    wanted = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
    if not wanted:
        return {}
    rows = store.read_rows(QUOTES_SQL, (wanted, _PREFERENCE, spark_sessions))
    return quote_rows(rows, wanted)
