"""Bars on days the exchange was closed: found once for every file format, kept only on the
trader's word.

A bar dated a Sunday or a holiday is usually a file's mistake (a wrong date column, a
holiday's row copied from the day before) and a backtest would trade it. Every parsed file
is checked against the market calendar here (engine.data.importers.read_file does it for
all formats), and engine.data.import_files holds such a file until the trader says keep
them or drop them. Days of years no holiday list covers count weekdays as sessions (the
calendar's provisional rule), so only their weekends are flagged.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from engine.calendar import get_calendar
from engine.ist import day_from_number, day_number, ist_day_numbers

if TYPE_CHECKING:
    from engine.data.batch import ImportBatch

_SHOWN: Final = 5


@dataclass(frozen=True)
class ClosedDays:
    """Per exchange, the closed days that have bars and how many bars each has."""

    days: tuple[tuple[str, datetime.date, int], ...]  # (exchange, day, bars), sorted

    def __bool__(self) -> bool:
        return bool(self.days)

    @property
    def bars(self) -> int:
        return sum(n for _, _, n in self.days)

    def describe(self) -> str:
        """ "13 bars on 13 days NSE was closed (2025-02-26 Wed, ...)"."""
        exchanges = "/".join(sorted({e for e, _, _ in self.days}))
        shown = ", ".join(f"{d.isoformat()} {d:%a}" for _, d, _ in self.days[:_SHOWN])
        more = f" and {len(self.days) - _SHOWN} more" if len(self.days) > _SHOWN else ""
        bars = f"{self.bars:,} bar{'s' * (self.bars != 1)}"
        days = f"{len(self.days)} day{'s' * (len(self.days) != 1)}"
        return f"{bars} on {days} {exchanges} was closed ({shown}{more})"

    def kept(self) -> str:
        return f"kept as asked: {self.describe()}"

    def dropped(self) -> str:
        return f"left out as asked: {self.describe()}"


def closed_days_of(ts: np.ndarray, exchange: str) -> ClosedDays | None:
    """The closed days among one exchange's bar times (int64 UTC ns), or None."""
    days, counts = np.unique(ist_day_numbers(np.asarray(ts, dtype=np.int64)), return_counts=True)
    calendar = get_calendar(exchange)
    found = [
        (exchange, when, int(count))
        for day, count in zip(days.tolist(), counts.tolist(), strict=True)
        if calendar.session(when := day_from_number(day)) is None
    ]
    return ClosedDays(tuple(found)) if found else None


def find_closed_days(bars: pd.DataFrame) -> ClosedDays | None:
    """The closed days among a batch's bars (ImportBatch.bars columns), or None."""
    if bars.empty:
        return None
    found: list[tuple[str, datetime.date, int]] = []
    codes, exchanges = pd.factorize(bars["exchange"])
    ts = bars["ts"].to_numpy(dtype=np.int64)
    for k, exchange in enumerate(exchanges):
        closed = closed_days_of(ts if len(exchanges) == 1 else ts[codes == k], str(exchange))
        if closed:
            found.extend(closed.days)
    return ClosedDays(tuple(sorted(found, key=lambda f: (f[1], f[0])))) if found else None


def drop_closed_days(batch: ImportBatch) -> ImportBatch:
    """The batch without its bars on closed days (instruments kept), with a note."""
    closed = batch.closed_days
    if not closed:
        return batch
    bars = batch.bars
    days = ist_day_numbers(bars["ts"].to_numpy(dtype=np.int64))
    exchanges = bars["exchange"].astype(str).to_numpy()
    drop = np.zeros(len(bars), dtype=bool)
    for exchange in {e for e, _, _ in closed.days}:
        closed_on = [day_number(d) for e, d, _ in closed.days if e == exchange]
        drop |= (exchanges == exchange) & np.isin(days, closed_on)
    kept = bars.loc[~drop].reset_index(drop=True)
    # another content than the file's: importing it whole later is not a repeat
    digest = batch.content_sha256
    if digest is not None:
        digest = hashlib.sha256(f"{digest}\0without closed days".encode()).hexdigest()
    return replace(batch, bars=kept, closed_days=None, content_sha256=digest,
                   notes=[*batch.notes, closed.dropped()])  # fmt: skip
