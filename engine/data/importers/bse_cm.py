"""Legacy BSE cash-market bhavcopy (EQDDMMYY_CSV.ZIP, published until 5 July 2024).

Layouts (both accepted as format bse_cm_legacy):
- ``SC_CODE,SC_NAME,SC_GROUP,SC_TYPE,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,NO_TRADES,NO_OF_SHRS,
  NET_TURNOV,TDCLOINDI`` (EQDDMMYY.CSV);
- the ISIN variant (EQ_ISINCODE_DDMMYY.CSV) appends ``ISIN_CODE,TRADING_DATE,FILLER2,FILLER3``
  with TRADING_DATE like ``03-Jan-23``.

Rules:
- exchange BSE, segment EQ, symbol = SC_NAME with its space padding stripped (the legacy file
  has no other short name; it can differ from the UDiFF TckrSymb, so match BSE history across
  the July 2024 switch on the token), token = SC_CODE (scrip code), series = SC_GROUP (the
  BSE group decides BSE charges), name = SC_NAME, isin = ISIN_CODE when present, lot 1,
  tick 5 paise.
- Only SC_TYPE Q (equity) rows are kept; other types are skipped and counted in the notes.
  All groups are kept.
- The trade date comes from TRADING_DATE when the column exists. The plain layout has NO date
  column: the date is then read from the file (or zip member) name, EQDDMMYY / EQ_ISINCODE_
  DDMMYY as BSE names them; a file renamed otherwise is refused with that explanation.
- Bar = OPEN, HIGH, LOW, CLOSE, volume NO_OF_SHRS (shares), stamped at the session open.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

import numpy as np

from engine.data.bar_series import BarDataError
from engine.data.batch import ImportBatch
from engine.data.importers.csv_table import legacy_date, read_table
from engine.data.importers.normalise import (
    EQUITY_TICK_PAISE,
    constant_text,
    daily_bars,
    instruments_frame,
    int_column,
    last_per_symbol,
    plain_text,
    skip_notes,
    text_column,
)
from engine.data.importers.sources import Source
from engine.data.importers.udiff import make_batch

HEADER: Final = ("SC_CODE", "SC_NAME", "SC_GROUP", "SC_TYPE", "OPEN", "HIGH", "LOW", "CLOSE")
BAR: Final = ("OPEN", "HIGH", "LOW", "CLOSE", "NO_OF_SHRS")
_TEXT: Final = ("SC_NAME", "SC_GROUP", "SC_TYPE", "ISIN_CODE", "TRADING_DATE")
_NAME_DATE: Final = re.compile(r"EQ(?:_ISINCODE_)?(\d\d)(\d\d)(\d\d)", re.IGNORECASE)


def read(source: Source) -> ImportBatch:
    table = read_table(source, (*HEADER, "NO_OF_SHRS"), ("ISIN_CODE", "TRADING_DATE"), _TEXT)
    kinds = table.text("SC_TYPE")
    keep = kinds == "Q"
    notes = skip_notes(kinds[~keep], "SC_TYPE", {"": "empty; Q is equity"})
    table = table.subset(keep)
    symbols = table.text("SC_NAME")
    if (symbols == "").any():
        raise table.fail(int(np.argmax(symbols == "")), "SC_NAME is empty")
    if table.has("TRADING_DATE"):
        days = table.dates("TRADING_DATE", legacy_date, "03-Jan-23")
    else:
        day = _date_from_name(source)
        days = (np.zeros(len(table), dtype=np.intp), [day])
    bars, _ = daily_bars(table, "BSE", symbols, days, BAR, notes)
    last = last_per_symbol(symbols)
    n = int(last.sum())
    token = table.tokens("SC_CODE")
    instruments = instruments_frame(
        {
            "exchange": constant_text("BSE", n),
            "segment": constant_text("EQ", n),
            "symbol": text_column(symbols[last], n),
            "isin": text_column(
                table.text("ISIN_CODE")[last] if table.has("ISIN_CODE") else None, n
            ),
            "token": int_column(token[last] if token is not None else None, n),
            "lot_size": 1,
            "tick_size": EQUITY_TICK_PAISE,
            "series": text_column(table.text("SC_GROUP")[last], n),
            "name": plain_text(symbols[last]),
        },
        n,
    )
    return make_batch(source, "bse_cm_legacy", instruments, bars, days[1], notes)


def _date_from_name(source: Source) -> date:
    found = _NAME_DATE.search(source.name) or _NAME_DATE.search(source.path.name)
    if found:
        day, month, year = (int(g) for g in found.groups())
        try:
            return date(2000 + year if year < 90 else 1900 + year, month, day)
        except ValueError:
            pass
    raise BarDataError(
        "this BSE bhavcopy layout has no date column, so the trade date is taken from the "
        "file name as BSE writes it (EQDDMMYY.CSV, e.g. EQ030624.CSV for 3 June 2024); "
        "rename the file that way",
        source.label,
    )
