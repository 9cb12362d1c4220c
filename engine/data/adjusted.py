"""Reading bars adjusted for the corporate actions kept in the store (raw bars stay raw)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from engine.data.adjust import CorporateAction, adjust
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore


def actions_for(store: MarketStore, symbol: str, exchange: str | None = None) -> list[
    CorporateAction
]:
    instrument = store.instrument(symbol, exchange)
    frame = store.corporate_actions(instrument.symbol)
    frame = frame[frame["exchange"] == str(instrument.exchange)]
    return [
        CorporateAction(
            row.ex_date if isinstance(row.ex_date, date) else pd.Timestamp(row.ex_date).date(),
            row.kind,
            None if pd.isna(row.ratio_from) else int(row.ratio_from),
            None if pd.isna(row.ratio_to) else int(row.ratio_to),
            None if pd.isna(row.amount_paise) else int(row.amount_paise),
            "" if pd.isna(row.note) else str(row.note),
        )
        for row in frame.itertuples(index=False)
    ]


def read_adjusted(
    store: MarketStore,
    symbol: str,
    timeframe: str = "1m",
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    exchange: str | None = None,
) -> BarSeries:
    """Bars with splits, bonuses and dividends applied backwards from each ex-date.

    Dividend factors use the close before the ex-date, so the whole history is read and
    adjusted first, then cut to [start, end]: a window must not change the factors.
    """
    full = store.read_bars(symbol, timeframe, exchange=exchange)
    actions = actions_for(store, symbol, exchange)
    adjusted = adjust(full, actions) if actions and len(full) else full
    if start is None and end is None:
        return adjusted
    window = store.read_bars(symbol, timeframe, start, end, exchange)
    if not len(window):
        return window
    first = int((adjusted.ts < window.ts[0]).sum())
    return adjusted.slice(first, first + len(window))
