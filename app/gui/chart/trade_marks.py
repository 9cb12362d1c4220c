"""A backtest's (or a live session's) trades as the chart draws them: times and prices,
placed on whatever bars the chart shows.

Trades are kept by time, not bar index, so the same run's trades land on the right bars at
any timeframe: a trade goes on the bar whose open is the last at or before its time (a 09:17
fill sits on the 09:15 bar of a 5-minute chart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.ist import ns_of

if TYPE_CHECKING:  # the backtester (and pandas) load with the first run, not the chart;
    # numpy with the first marks made, after the station's first paint
    import numpy as np
    import numpy.typing as npt

    from engine.backtest.result import Trade

    FloatArray = npt.NDArray[np.float64]
    Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TradeMarks:
    """Round trips by time: entry/exit in UTC ns and rupees, side +1 long / -1 short."""

    entry_ns: Int64Array
    entry_price: FloatArray
    exit_ns: Int64Array
    exit_price: FloatArray
    side: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.entry_ns)

    @classmethod
    def empty(cls) -> TradeMarks:
        import numpy as np

        return cls(
            np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64), np.empty(0),
            np.empty(0, np.int8),
        )  # fmt: skip

    @classmethod
    def from_trades(cls, trades: Sequence[Trade], symbol: str) -> TradeMarks:
        """The round trips of `symbol` (bare symbol, any case) among a run's trades."""
        import numpy as np

        mine = [t for t in trades if t.symbol.upper() == symbol.upper()]
        n = len(mine)
        return cls(
            entry_ns=np.fromiter((ns_of(t.entry_time) for t in mine), np.int64, n),
            entry_price=np.fromiter((float(t.entry_price) for t in mine), np.float64, n),
            exit_ns=np.fromiter((ns_of(t.exit_time) for t in mine), np.int64, n),
            exit_price=np.fromiter((float(t.exit_price) for t in mine), np.float64, n),
            side=np.fromiter((1 if t.side == "long" else -1 for t in mine), np.int8, n),
        )

    def on_bars(self, ts_ns: Int64Array) -> tuple[Int64Array, Int64Array]:
        """(entry index, exit index) of each trade on bars opening at `ts_ns` (sorted): the
        last bar opening at or before the time; -1 for a time before the first bar."""
        import numpy as np

        entry = np.searchsorted(ts_ns, self.entry_ns, side="right").astype(np.int64) - 1
        exit_ = np.searchsorted(ts_ns, self.exit_ns, side="right").astype(np.int64) - 1
        return entry, exit_
