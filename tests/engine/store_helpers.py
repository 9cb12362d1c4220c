"""Shared by the store tests: instruments, minute bars and batches made by hand, and a dump
of every table to check that a failed write left the store exactly as it was."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from engine.calendar.model import IST
from engine.data.batch import BAR_COLUMNS, INSTRUMENT_COLUMNS, ImportBatch
from engine.data.store import MarketStore

MINUTE = 60_000_000_000
DAY1 = date(2024, 1, 2)


def session_open_ns(day: date) -> int:
    return pd.Timestamp(datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST)).value


def instrument_row(symbol: str, exchange: str = "NSE", **extra: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(INSTRUMENT_COLUMNS, pd.NA)
    row.update(exchange=exchange, segment="EQ", symbol=symbol, lot_size=1, tick_size=5, name="")
    row.update(extra)
    return row


def bar_frame(symbol: str, n: int, *, exchange: str = "NSE", day: date = DAY1, seed: int = 0):
    """n one-minute bars from 09:15 IST on `day` (spilling into later days' sessions)."""
    rng = np.random.default_rng(seed)
    ts = np.array(
        [session_open_ns(day + timedelta(days=i // 375)) + (i % 375) * MINUTE for i in range(n)],
        dtype=np.int64,
    )
    close = 100_000 + rng.integers(-50, 51, n).cumsum() * 5
    open_ = np.concatenate([[100_000], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 4, n) * 5
    low = np.minimum(open_, close) - rng.integers(0, 4, n) * 5
    return pd.DataFrame(
        {
            "exchange": exchange,
            "symbol": symbol,
            "timeframe": "1m",
            "ts": ts,
            "open": open_.astype(np.int64),
            "high": high.astype(np.int64),
            "low": low.astype(np.int64),
            "close": close.astype(np.int64),
            "volume": rng.integers(0, 10_000, n).astype(np.int64),
            "oi": pd.array([pd.NA] * n, dtype="Int64"),
        },
        columns=list(BAR_COLUMNS),
    )


def make_batch(source: str, *symbols: str, n: int = 50, instruments: list | None = None):
    rows = instruments if instruments is not None else [instrument_row(s) for s in symbols]
    bars = pd.concat([bar_frame(s, n, seed=i) for i, s in enumerate(symbols)], ignore_index=True)
    return ImportBatch(
        source, "generic", pd.DataFrame(rows, columns=list(INSTRUMENT_COLUMNS)), bars
    )


def dump(store: MarketStore) -> dict[str, list[tuple]]:
    with store._cursor() as cur:
        tables = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
