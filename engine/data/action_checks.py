"""Is a corporate action plausible for this store? Checked before it is stored, by
`artha data actions` and the Corporate actions dialog alike (one rule, one place).

A stored action is applied silently to every adjusted series, so an action that cannot be
right is refused at entry:
- its instrument has no bars in the store (a typo, or bars not imported yet: there is nothing
  to adjust and nothing to check it against);
- a split/bonus moving prices more than FACTOR_LIMIT-fold (`adjust.share_factor_problem`);
- a dividend per share at or above the stock's price: the last close before the ex-date, or,
  with no bar before it, the close on the ex-date (from the coarsest timeframe stored).
"""

from __future__ import annotations

import datetime

import numpy as np

from engine.data.adjust import CorporateAction, ex_date_ns, rupees, share_factor_problem
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore
from engine.domain.enums import Exchange
from engine.ist import ist_iso
from engine.timeframes import TIMEFRAMES


class ActionChecker:
    """`checker(exchange, symbol, action)` raises ValueError naming what is implausible.

    Reads each instrument's bars once (a CSV of many actions for one symbol stays quick).
    """

    def __init__(self, store: MarketStore) -> None:
        self._store = store
        self._timeframes: dict[tuple[str, str], list[str]] | None = None
        self._series: dict[tuple[str, str], BarSeries] = {}

    def __call__(self, exchange: Exchange | str, symbol: str, action: CorporateAction) -> None:
        venue = str(exchange).upper()
        name = f"{venue}:{symbol}"
        problem = share_factor_problem(action)
        if problem:
            raise ValueError(f"{name}: {problem}")
        series = self._bars(venue, symbol)
        if series is None:
            raise ValueError(
                f"{name} is not in the store (no bars): import its bars first "
                "(artha data import FILE), then its corporate actions"
            )
        if action.amount_paise is not None:
            self._check_dividend(name, action, action.amount_paise, series)

    def _bars(self, venue: str, symbol: str) -> BarSeries | None:
        key = (venue, symbol.strip().upper())
        if self._timeframes is None:
            found: dict[tuple[str, str], list[str]] = {}
            for info in self._store.list_series():
                found.setdefault((info.exchange, info.symbol.upper()), []).append(info.timeframe)
            self._timeframes = found
        timeframes = self._timeframes.get(key)
        if not timeframes:
            return None
        if key not in self._series:
            coarsest = max(timeframes, key=lambda tf: TIMEFRAMES[tf])
            self._series[key] = self._store.read_bars(key[1], coarsest, exchange=venue)
        return self._series[key]

    @staticmethod
    def _check_dividend(name: str, action: CorporateAction, amount: int, series: BarSeries) -> None:
        start = ex_date_ns(action.ex_date)
        before = int(np.searchsorted(series.ts, start, side="left")) - 1
        if before >= 0:
            price = int(series.close[before])
            day = ist_iso(int(series.ts[before]))[:10]
            what = f"the last close before it, {rupees(price)} on {day}"
        else:
            end = ex_date_ns(action.ex_date + datetime.timedelta(days=1))
            on_day = np.flatnonzero((series.ts >= start) & (series.ts < end))
            if not len(on_day):
                return  # no price on or before the ex-date: nothing to compare, nothing adjusted
            price = int(series.close[int(on_day[-1])])
            what = f"its close on the ex-date, {rupees(price)}"
        if amount >= price:
            raise ValueError(
                f"{name}: a dividend of {rupees(amount)} per share on ex-date {action.ex_date} "
                f"is not below the stock's price ({what}); check the amount (rupees per share)"
            )
