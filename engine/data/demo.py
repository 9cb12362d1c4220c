"""A deterministic SYNTHETIC market for the demo workspace: nothing here is real data.

Fifty NIFTY-like stocks, 1-minute bars on the real NSE calendar, built from one market factor
plus sector and stock noise (so moves are correlated), with overnight gaps and the U-shaped
intraday volume Indian cash markets show. Every symbol starts with "SYN" and every name says
SYNTHETIC, so demo data can never be mistaken for market history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.calendar import get_calendar
from engine.data.bar_series import BarSeries
from engine.data.batch import BAR_COLUMNS, INSTRUMENT_COLUMNS, ImportBatch
from engine.data.store import MarketStore
from engine.ist import ns_of

DEMO_COUNT = 50
DEMO_DAYS = 120
DEMO_END = date(2026, 11, 20)  # fixed, so the demo is the same on every machine and day
DEMO_SEED = 2026
DEMO_PREFIX = "SYN"
SECTORS = ("BANK", "IT", "AUTO", "FMCG", "PHARMA", "ENERGY", "METAL", "FIN")
NS = 1_000_000_000


@dataclass(frozen=True)
class DemoInstrument:
    symbol: str
    name: str
    sector: str


def demo_instruments(count: int = 50) -> list[DemoInstrument]:
    return [
        DemoInstrument(
            f"{DEMO_PREFIX}{SECTORS[i % len(SECTORS)]}{i + 1:02d}",
            f"SYNTHETIC {SECTORS[i % len(SECTORS)].title()} stock {i + 1:02d} (demo data)",
            SECTORS[i % len(SECTORS)],
        )
        for i in range(count)
    ]


def _session_minutes(days: int, end: date) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Open times (UTC ns) of every minute of the last `days` regular sessions up to `end`,
    and the index of each session's first minute."""
    calendar = get_calendar("NSE")
    start = date(end.year - 1, end.month, 1)
    sessions = [s for s in calendar.sessions(start, end) if s.kind == "regular"][-days:]
    if len(sessions) < days:
        raise ValueError(f"only {len(sessions)} sessions before {end}, asked for {days}")
    opens = np.array([ns_of(s.open) for s in sessions], dtype=np.int64)
    minutes = np.array(
        [int((s.close - s.open).total_seconds()) // 60 for s in sessions], dtype=np.int64
    )
    firsts = np.concatenate(([0], np.cumsum(minutes)[:-1]))
    offsets = np.arange(int(minutes.sum()), dtype=np.int64) - np.repeat(firsts, minutes)
    ts = np.repeat(opens, minutes) + offsets * 60 * NS
    return ts, firsts


def generate_demo(
    count: int = 50, days: int = 120, end: date = DEMO_END, seed: int = DEMO_SEED
) -> list[BarSeries]:
    """`count` synthetic instruments x `days` sessions of 1-minute bars (deterministic)."""
    rng = np.random.default_rng(seed)
    ts, firsts = _session_minutes(days, end)
    n = len(ts)
    per_day = n // days
    minute_of_day = np.arange(n) - np.repeat(firsts, np.diff(np.append(firsts, n)))
    # volatility and volume are both U-shaped over the day (busy open and close)
    u = (minute_of_day / max(per_day - 1, 1) - 0.5) ** 2 * 4  # 1 at the edges, 0 mid-day
    vol_profile = 0.6 + 0.9 * u
    market = rng.standard_normal(n) * 0.00045 * vol_profile
    sector_moves = rng.standard_normal((len(SECTORS), n)) * 0.00030 * vol_profile
    gap_days = rng.standard_normal(days) * 0.006  # market-wide overnight gap
    series = []
    for i, inst in enumerate(demo_instruments(count)):
        beta = 0.7 + 0.6 * rng.random()
        idio = rng.standard_normal(n) * (0.0004 + 0.0004 * rng.random()) * vol_profile
        returns = beta * market + sector_moves[i % len(SECTORS)] + idio + 0.000002
        gaps = beta * gap_days + rng.standard_normal(days) * 0.004
        returns[firsts] += gaps
        start_price = float(rng.choice([180, 420, 760, 1250, 1900, 2800, 3600]))
        start_price *= 0.8 + 0.4 * rng.random()
        close = start_price * np.exp(np.cumsum(returns))
        open_ = np.empty(n)
        open_[1:] = close[:-1]
        open_[0] = start_price
        open_[firsts[1:]] = close[firsts[1:] - 1] * np.exp(gaps[1:])
        spread = np.abs(rng.standard_normal((2, n))) * 0.0006 * vol_profile
        high = np.maximum(open_, close) * (1 + spread[0])
        low = np.minimum(open_, close) * (1 - spread[1])
        liquidity = 2_000 + 20_000 * rng.random()
        volume = (liquidity * vol_profile * rng.lognormal(0, 0.5, n)).astype(np.int64) + 1

        def paise(rupees: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
            return (np.rint(rupees * 20) * 5).astype(np.int64)  # 0.05 tick in paise

        o, c = paise(open_), paise(close)
        h = np.maximum(paise(high), np.maximum(o, c))
        lo = np.maximum(np.minimum(paise(low), np.minimum(o, c)), 5)
        series.append(
            BarSeries.from_arrays(
                symbol=inst.symbol,
                ts=ts,
                open=o,
                high=h,
                low=lo,
                close=c,
                volume=volume,
                timeframe="1m",
                prices_in_paise=True,
            )
        )
    return series


def is_demo_symbol(symbol: str) -> bool:
    return symbol.startswith(DEMO_PREFIX)


def demo_batch(series: list[BarSeries]) -> ImportBatch:
    """The generated series as one store import: instruments named SYNTHETIC, 1m bars."""
    names = {inst.symbol: inst for inst in demo_instruments(len(series))}
    instruments = pd.DataFrame(
        {
            "exchange": "NSE",
            "segment": "EQ",
            "symbol": [s.symbol for s in series],
            "isin": pd.NA,
            "token": pd.NA,
            "lot_size": 1,
            "tick_size": 5,
            "freeze_quantity": pd.NA,
            "expiry": pd.NA,
            "strike": pd.NA,
            "option_type": pd.NA,
            "underlying": pd.NA,
            "series": "SYN",
            "name": [names[s.symbol].name for s in series],
        },
        columns=list(INSTRUMENT_COLUMNS),
    )
    bars = pd.DataFrame(
        {
            "exchange": "NSE",
            "symbol": np.repeat([s.symbol for s in series], [len(s) for s in series]),
            "timeframe": "1m",
            "ts": np.concatenate([s.ts for s in series]),
            "open": np.concatenate([s.open for s in series]),
            "high": np.concatenate([s.high for s in series]),
            "low": np.concatenate([s.low for s in series]),
            "close": np.concatenate([s.close for s in series]),
            "volume": np.concatenate([s.volume for s in series]),
            "oi": pd.array([pd.NA] * sum(len(s) for s in series), dtype="Int64"),
        },
        columns=list(BAR_COLUMNS),
    )
    return ImportBatch(
        source="artha demo (synthetic)",
        format="synthetic_demo",
        instruments=instruments,
        bars=bars,
        notes=["SYNTHETIC demo data generated by Artha; not market history"],
    )


def demo_present(store: MarketStore) -> bool:
    want = {inst.symbol for inst in demo_instruments(DEMO_COUNT)}
    have = {s.symbol for s in store.list_series() if s.timeframe == "1m"}
    return want <= have


def install_demo(store: MarketStore) -> tuple[bool, float]:
    """Generate and import the demo data unless it is there; (created, seconds)."""
    started = time.perf_counter()
    if demo_present(store):
        return False, time.perf_counter() - started
    store.import_batch(demo_batch(generate_demo(DEMO_COUNT, DEMO_DAYS)))
    return True, time.perf_counter() - started


__all__ = [
    "DEMO_COUNT",
    "DEMO_DAYS",
    "DEMO_END",
    "DemoInstrument",
    "demo_batch",
    "demo_instruments",
    "demo_present",
    "generate_demo",
    "install_demo",
    "is_demo_symbol",
]
