"""One instrument inside a run: its arrays (paise), its place on the merged timeline, its
session facts, its trading rules and the strategy instance trading it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from engine.backtest.sessions import SessionIndex
from engine.backtest.universe import InstrumentClock
from engine.data.bar_series import BarSeries
from engine.domain.enums import Exchange, Segment
from engine.domain.instrument import Instrument
from engine.domain.money import paise_to_rupees
from engine.execution.checks import InstrumentRules
from engine.strategy.base import BarData, Strategy
from engine.strategy.series import Clock

Int64Array = npt.NDArray[np.int64]


@dataclass(eq=False)
class Slot:
    index: int
    series: BarSeries
    instrument: Instrument
    strategy: Strategy
    sessions: SessionIndex
    gidx: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    squareoff_days: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.symbol = self.series.symbol
        self.rules = InstrumentRules.of(self.instrument)
        self.tick = self.rules.tick
        self.lot = self.rules.lot
        # the instrument's current bar: its strategy's clock (InstrumentClock when one
        # strategy trades several instruments on a merged timeline)
        self.clock: Clock | InstrumentClock = self.strategy._clock
        self.ts = self.series.ts
        self.open = self.series.open
        self.high = self.series.high
        self.low = self.series.low
        self.close = self.series.close
        self.volume = self.series.volume
        self.last = len(self.ts) - 1

    def bar_data(self) -> BarData:
        s = self.series
        return BarData(
            s.symbol,
            self.strategy._clock,
            s.ts,
            paise_to_rupees(s.open),
            paise_to_rupees(s.high),
            paise_to_rupees(s.low),
            paise_to_rupees(s.close),
            s.volume,
        )


def default_instrument(symbol: str, exchange: Exchange) -> Instrument:
    """Bars without instrument data are treated as an equity with tick 0.05 and lot 1."""
    return Instrument(exchange=exchange, segment=Segment.EQUITY, symbol=symbol)
