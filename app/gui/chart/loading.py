"""Bars for a chart: read from the store (and resampled on the exchange clock) off the GUI
thread, handed to the chart as float rupees.

The chart shows prices; it never sums money, so float64 rupees are exact enough for display
(every price the store holds is a whole number of paise, far inside a double's precision).
Which stored series answers "SYMBOL at TIMEFRAME" is the engine's rule
(`engine.data.stored_bars.series_for`), the same one backtests use: the chart shows the
bars a backtest of that timeframe would trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.timeframes import TIMEFRAME_NAMES, Timeframe

if TYPE_CHECKING:  # DuckDB and numpy load when the store opens, after the first paint
    import numpy as np
    import numpy.typing as npt

    from engine.data.store import MarketStore

    FloatArray = npt.NDArray[np.float64]
    Int64Array = npt.NDArray[np.int64]

# engine.data.stored_bars is imported where bars are read (on the read's job thread): it
# loads the corporate-action adjuster and with it pandas (~0.3 s), which building the chart
# panel does not need.

CHART_TIMEFRAMES: tuple[str, ...] = TIMEFRAME_NAMES  # 1m 3m 5m 15m 30m 60m 1d


@dataclass(frozen=True)
class ChartBars:
    """One instrument's bars at one timeframe, ready to draw."""

    key: str  # EXCHANGE:SYMBOL
    timeframe: str
    adjusted: bool
    ts_ns: Int64Array  # bar open, UTC
    open: FloatArray  # rupees
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    made_from: str  # the stored timeframe they were read at ("" when stored as asked)

    def __len__(self) -> int:
        return len(self.ts_ns)


def instrument_key(exchange: str, symbol: str) -> str:
    """The key charts, watchlists and drawings use for an instrument: EXCHANGE:SYMBOL."""
    return f"{exchange.upper()}:{symbol.upper()}"


def split_key(key: str) -> tuple[str | None, str]:
    """(exchange or None, symbol) of "NSE:INFY" or "INFY"."""
    exchange, _, symbol = key.strip().rpartition(":")
    return (exchange.upper() or None), symbol.strip().upper()


def possible_timeframes(store: MarketStore, key: str) -> list[str]:
    """The chart timeframes the stored bars of `key` can give (as stored or resampled)."""
    from engine.data.stored_bars import stored_timeframes

    exchange, symbol = split_key(key)
    have = [Timeframe(tf) for tf in stored_timeframes(store, symbol, exchange)]
    return [tf for tf in CHART_TIMEFRAMES if any(h.makes(Timeframe(tf)) for h in have)]


def load_chart_bars(store: MarketStore, key: str, timeframe: str, adjusted: bool) -> ChartBars:
    """Read `key` at `timeframe` (raw or adjusted for corporate actions); StoreError (with
    a message for the trader) when the store cannot give them."""
    import numpy as np

    from engine.data.stored_bars import series_for, stored_timeframes

    exchange, symbol = split_key(key)
    have = stored_timeframes(store, symbol, exchange)
    series = series_for(store, symbol, timeframe, exchange=exchange, adjusted=adjusted)
    made_from = (
        ""
        if timeframe in have
        else next((tf for tf in have if Timeframe(tf).resamples_to(Timeframe(timeframe))), "")
    )
    instrument = store.instrument(symbol, exchange)

    def rupees(paise: Int64Array) -> FloatArray:
        return np.asarray(paise, dtype=np.float64) / 100.0  # exact: whole paise, well in range

    return ChartBars(
        key=instrument.key,
        timeframe=timeframe,
        adjusted=adjusted,
        ts_ns=np.asarray(series.ts, dtype=np.int64).copy(),
        open=rupees(series.open),
        high=rupees(series.high),
        low=rupees(series.low),
        close=rupees(series.close),
        volume=series.volume.astype(np.float64),
        made_from=made_from,
    )
