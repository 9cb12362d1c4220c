"""Choosing stored bars for a run: the asked timeframe as stored, or made from finer bars.

The CLI (`artha backtest --symbol`, `data export`, `demo`) and the GUI's backtest wizard ask
the same question of the store: "bars of SYMBOL at TIMEFRAME over these days". Which stored
series can answer it (`Timeframe.resamples_to`) and how finer bars are resampled on the exchange
clock is decided here, once. The process that owns the store reads and resamples; a worker
gets the resulting arrays (`ChosenBars.series`), never the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from engine.data.adjusted import read_adjusted
from engine.data.bar_series import BarSeries
from engine.data.resample import resample
from engine.data.schema import StoreError
from engine.data.store import MarketStore
from engine.timeframes import TIMEFRAME_NAMES, Timeframe


class NoBarsError(StoreError):
    """The store holds no bars that answer the question; the message names the symbol and
    what is stored instead."""


@dataclass(frozen=True)
class ChosenBars:
    """Bars for a run, one series per symbol in the order asked, and what each resampled
    one was made from (symbol -> stored timeframe)."""

    series: list[BarSeries]
    resampled_from: dict[str, str] = field(default_factory=dict)


def stored_timeframes(store: MarketStore, symbol: str, exchange: str | None = None) -> list[str]:
    """The timeframes stored for `symbol` (or EXCHANGE:SYMBOL), finest first."""
    venue, _, bare = symbol.rpartition(":")
    venue = (exchange or venue).strip().upper()
    have = {
        s.timeframe
        for s in store.list_series()
        if s.symbol.upper() == bare.upper() and (not venue or s.exchange == venue)
    }
    return sorted(have, key=TIMEFRAME_NAMES.index)


def finest_stored(store: MarketStore, symbol: str, exchange: str | None = None) -> str:
    """The finest timeframe stored for `symbol`; NoBarsError when it has none."""
    have = stored_timeframes(store, symbol, exchange)
    if not have:
        raise no_bars(store, symbol, exchange)
    return have[0]


def no_bars(store: MarketStore, symbol: str, exchange: str | None = None) -> NoBarsError:
    """`symbol` has no bars: not in the store at all (a typo?), or listed without bars."""
    venue, _, bare = symbol.rpartition(":")
    venue = (exchange or venue).strip().upper()
    listed = store.instruments(venue or None)
    if bare.strip().upper() not in {str(name).upper() for name in listed["symbol"]}:
        where = f" on {venue}" if venue else ""
        return NoBarsError(
            f"{bare} is not in the store{where}; `artha data list` shows the symbols it holds"
        )
    return NoBarsError(f"no bars stored for {symbol}")


def series_for(
    store: MarketStore,
    symbol: str,
    timeframe: str,
    start: date | None = None,
    end: date | None = None,
    exchange: str | None = None,
    adjusted: bool = False,
) -> BarSeries:
    """Stored bars of `timeframe`, or finer stored bars resampled on the exchange clock."""
    return _read(store, symbol, timeframe, start, end, exchange, adjusted)[0]


def choose_bars(
    store: MarketStore,
    symbols: list[str] | tuple[str, ...],
    timeframe: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> ChosenBars:
    """Each symbol's bars at `timeframe` (None: its finest stored) between `start` and `end`
    (whole IST days, None: open-ended); NoBarsError when a symbol has none there."""
    series: list[BarSeries] = []
    resampled: dict[str, str] = {}
    for symbol in symbols:
        have = stored_timeframes(store, symbol)
        wanted = timeframe or (have[0] if have else Timeframe.M1.value)
        bars, base = _read(store, symbol, wanted, start, end, None, False)
        if not len(bars):
            raise NoBarsError(
                f"no {wanted} bars of {symbol} between {start or 'the start'} "
                f"and {end or 'the end'}"
            )
        if base != wanted:
            resampled[bars.symbol] = base
        series.append(bars)
    return ChosenBars(series, resampled)


def _read(
    store: MarketStore,
    symbol: str,
    timeframe: str,
    start: date | None,
    end: date | None,
    exchange: str | None,
    adjusted: bool,
) -> tuple[BarSeries, str]:
    """The bars, and the stored timeframe they were read at."""
    have = stored_timeframes(store, symbol, exchange)
    target = Timeframe(timeframe)
    makers = (tf for tf in have if Timeframe(tf).resamples_to(target))
    base = timeframe if timeframe in have else next(makers, None)
    if base is None:
        if not have:
            raise no_bars(store, symbol, exchange)
        known = ", ".join(have)
        raise NoBarsError(f"{symbol} has no bars that make {timeframe} bars (stored: {known})")
    if adjusted:
        series = read_adjusted(store, symbol, base, start, end, exchange)
    else:
        series = store.read_bars(symbol, base, start, end, exchange)
    if base == timeframe or not len(series):
        return series, base
    calendar = store.instrument(symbol, exchange).exchange.cash_exchange
    return resample(series, timeframe, calendar).series, base
