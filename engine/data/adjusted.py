"""Reading bars adjusted for the corporate actions kept in the store (raw bars stay raw)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from engine.data.adjust import CorporateAction, adjust
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore


def actions_for(
    store: MarketStore, symbol: str, exchange: str | None = None
) -> list[CorporateAction]:
    instrument = store.instrument(symbol, exchange)
    frame = store.corporate_actions(instrument.symbol)
    frame = frame[frame["exchange"] == str(instrument.exchange)]
    actions = []
    for record in frame.to_dict("records"):
        actions.append(
            CorporateAction(
                _day(record["ex_date"]),
                str(record["kind"]),  # type: ignore[arg-type]  # checked by CorporateAction
                _int_or_none(record["ratio_from"]),
                _int_or_none(record["ratio_to"]),
                _int_or_none(record["amount_paise"]),
                "" if _missing(record.get("note")) else str(record["note"]),
            )
        )
    return actions


def _day(value: object) -> date:
    """A stored ex-date as a plain date. DuckDB's DATE reaches pandas as a Timestamp, which is
    a datetime and therefore also a date: it is converted, never passed on as it is."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()  # type: ignore[arg-type]  # text or numpy datetime64


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _int_or_none(value: object) -> int | None:
    return None if _missing(value) else int(value)  # type: ignore[call-overload]


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
