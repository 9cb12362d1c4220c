"""Legacy NSE cash-market bhavcopy (cmDDMONYYYYbhav.csv, published until 5 July 2024).

Layout: ``SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,
TOTALTRADES,ISIN,`` with a trailing comma on every line (an empty 14th column). Older files
have no ISIN column; it is optional here.

Rules:
- exchange NSE, segment EQ, symbol = SYMBOL, series = SERIES, isin = ISIN when present,
  token unknown (NA), lot 1, tick 5 paise, name empty (the file has none).
- Tradable equity series only: EQ, BE, BZ, SM, ST. Every other series (BL block deals, GB
  gold bonds, N*/Y*/Z* debt...) is skipped and counted in the notes; the same ISIN often
  appears under EQ and BL, and only the EQ row is a bar.
- Trade date from TIMESTAMP (``03-JUN-2024``; a few files write ``13-Jul-20``); bar = OPEN,
  HIGH, LOW, CLOSE (the official close; LAST is the last trade) and volume TOTTRDQTY (shares),
  stamped at the session open (engine.data.importers.normalise).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from engine.data.batch import ImportBatch
from engine.data.importers.csv_table import legacy_date, read_table
from engine.data.importers.normalise import (
    EQUITY_TICK_PAISE,
    constant_text,
    daily_bars,
    instruments_frame,
    last_per_symbol,
    skip_notes,
    text_column,
)
from engine.data.importers.sources import Source
from engine.data.importers.udiff import NSE_EQUITY_SERIES, debt_meanings, make_batch

HEADER: Final = ("SYMBOL", "SERIES", "OPEN", "HIGH", "LOW", "CLOSE", "TOTTRDQTY", "TIMESTAMP")
BAR: Final = ("OPEN", "HIGH", "LOW", "CLOSE", "TOTTRDQTY")


def read(source: Source) -> ImportBatch:
    table = read_table(source, HEADER, ("ISIN",), ("SYMBOL", "SERIES", "TIMESTAMP", "ISIN"))
    series = table.text("SERIES")
    keep = np.isin(series, list(NSE_EQUITY_SERIES))
    notes = skip_notes(series[~keep], "series", debt_meanings(series[~keep]))
    table = table.subset(keep)
    symbols = table.text("SYMBOL")
    if (symbols == "").any():
        raise table.fail(int(np.argmax(symbols == "")), "SYMBOL is empty")
    days = table.dates("TIMESTAMP", legacy_date, "03-JUN-2024")
    bars, _ = daily_bars(table, "NSE", symbols, days, BAR, notes)
    last = last_per_symbol(symbols)
    n = int(last.sum())
    instruments = instruments_frame(
        {
            "exchange": constant_text("NSE", n),
            "segment": constant_text("EQ", n),
            "symbol": text_column(symbols[last], n),
            "isin": text_column(table.text("ISIN")[last] if table.has("ISIN") else None, n),
            "lot_size": 1,
            "tick_size": EQUITY_TICK_PAISE,
            "series": text_column(table.text("SERIES")[last], n),
        },
        n,
    )
    return make_batch(source, "nse_cm_legacy", instruments, bars, days[1], notes)
