"""The hand-over between file importers and the store: one parsed file, normalised.

Importers only parse and validate (no database); the store writes a whole batch in one
transaction or nothing. Keeping the two apart lets every format be tested without a store
and lets the store's write path be tuned once for all formats.

Conventions (same as BarSeries): prices and money are int64 PAISE, timestamps int64 ns UTC
of the bar's OPEN (a daily bhavcopy bar opens at its session's open, 09:15 IST normally).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from engine.data.closed_days import ClosedDays

# Column order of ImportBatch.instruments. Nullable columns use pandas NA.
INSTRUMENT_COLUMNS: tuple[str, ...] = (
    "exchange",  # NSE, BSE, NFO, BFO (engine.domain.enums.Exchange values)
    "segment",  # EQ, FUT, OPT, INDEX (engine.domain.enums.Segment values)
    "symbol",  # trading symbol, unique per exchange: RELIANCE, NIFTY25JUN24500CE
    "isin",  # str or NA
    "token",  # exchange/broker numeric id or NA (UDiFF FinInstrmId)
    "lot_size",  # int >= 1
    "tick_size",  # int paise (5 = 0.05)
    "freeze_quantity",  # int or NA
    "expiry",  # datetime.date or NA
    "strike",  # int paise or NA
    "option_type",  # CE / PE or NA
    "underlying",  # str or NA (NIFTY for NIFTY options)
    "series",  # exchange series / BSE group: EQ, BE, A, B, ... or NA
    "name",  # str, may be empty
)

# Column order of ImportBatch.bars.
BAR_COLUMNS: tuple[str, ...] = (
    "exchange",
    "symbol",
    "timeframe",  # "1m", ..., "1d"
    "ts",  # int64 ns UTC, bar open
    "open",  # int64 paise
    "high",
    "low",
    "close",
    "volume",  # int64 units traded (shares; F&O: contracts x lot size, see importer notes)
    "oi",  # int64 open interest in units, or NA
)


@dataclass(frozen=True)
class ImportBatch:
    source: str  # the file path as given
    format: str  # one of engine.data.importers.FORMATS
    instruments: pd.DataFrame  # INSTRUMENT_COLUMNS
    bars: pd.DataFrame  # BAR_COLUMNS
    trade_date: date | None = None  # for one-day exchange files
    notes: list[str] = field(default_factory=list)  # skipped rows etc., shown to the user
    # True when the file has prices only (generic CSV/Parquet): its instrument rows (lot 1,
    # tick 0.05) create instruments the store lacks and never overwrite ones it knows.
    placeholder_instruments: bool = False
    # sha256 of the bytes that were parsed (None: no file, e.g. generated bars): the import
    # log's identity of the content, taken while the file was read
    content_sha256: str | None = None
    # bars on days the exchange was closed (engine.data.closed_days), if any
    closed_days: ClosedDays | None = None

    def __post_init__(self) -> None:
        for frame, columns, name in (
            (self.instruments, INSTRUMENT_COLUMNS, "instruments"),
            (self.bars, BAR_COLUMNS, "bars"),
        ):
            if tuple(frame.columns) != columns:
                raise ValueError(
                    f"ImportBatch.{name} columns must be {list(columns)}, got {list(frame.columns)}"
                )
