"""Peer half of bench/backtest_speed.py: the SMA crossover in backtesting.py.

Runs ONLY inside the bench's own venv (bench/.peer-venv), which backtest_speed.py creates;
backtesting.py is never a dependency of Artha. Usage:

    bench/.peer-venv/bin/python bench/peer_backtesting_py.py DATA.npz OUT.json

DATA.npz holds the int64 arrays of bench/synthetic_bars.py (prices in paise). OUT.json gets
{"seconds", "runs", "bars", "version", "trades": [{"entry_bar", "exit_bar", "entry_price",
"exit_price", "size"}]} with prices in rupees as backtesting.py reports them.

The signals are precomputed exactly in integer paise (see cross_signals) and handed to the
strategy through self.I, as a backtesting.py user would, so next() sees bar t and nothing later.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

FAST = 10
SLOW = 30
QUANTITY = 100
CASH = 1e9  # never the limit: 100 shares of a ~1000-rupee stock
RUNS = 3


def cross_signals(
    close_paise: npt.NDArray[np.int64], fast: int, slow: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Cross-up / cross-down of SMA(fast) vs SMA(slow) of close, compared exactly.

    avg_f > avg_s  <=>  sum_f * slow > sum_s * fast, all in int64 paise, so no float ties.
    The first possible signal is at t = slow (both averages must exist at t - 1).
    """
    n = len(close_paise)
    up = np.zeros(n, dtype=bool)
    down = np.zeros(n, dtype=bool)
    if n <= slow:
        return up, down
    cs = np.concatenate(([0], np.cumsum(close_paise, dtype=np.int64)))
    t = np.arange(slow - 1, n)  # bars where both sums exist
    sum_f = cs[t + 1] - cs[t + 1 - fast]
    sum_s = cs[t + 1] - cs[t + 1 - slow]
    lhs = sum_f * slow
    rhs = sum_s * fast
    above = lhs > rhs
    below = lhs < rhs
    # index k of above/below is bar slow - 1 + k; a cross at bar t needs bar t - 1 too
    up[slow:] = above[1:] & ~above[:-1]
    down[slow:] = below[1:] & ~below[:-1]
    return up, down


def _identity(values: Any) -> Any:
    """Hand a precomputed array to self.I unchanged (self.I needs a callable)."""
    return values


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        # `make bench` runs every bench/*.py with Artha's python: nothing to do alone.
        print(
            "peer_backtesting_py.py is run by bench/backtest_speed.py inside "
            "bench/.peer-venv (usage: peer_backtesting_py.py DATA.npz OUT.json); skipping"
        )
        return 0
    data_path, out_path = argv

    import backtesting
    import pandas as pd
    from backtesting import Backtest, Strategy

    with np.load(data_path) as npz:
        bars = {k: npz[k] for k in npz.files}
    close_paise = bars["close"].astype(np.int64)
    up_signal, down_signal = cross_signals(close_paise, FAST, SLOW)

    index = pd.DatetimeIndex(pd.to_datetime(bars["ts"], unit="ns", utc=True))
    frame = pd.DataFrame(
        {
            "Open": bars["open"] / 100.0,
            "High": bars["high"] / 100.0,
            "Low": bars["low"] / 100.0,
            "Close": close_paise / 100.0,
            "Volume": bars["volume"].astype(np.int64),
        },
        index=index,
    )

    class SmaCrossExact(Strategy):
        """Long-only SMA crossover; market orders fill at the next bar's open."""

        def init(self) -> None:
            self.up = self.I(_identity, up_signal, name="cross_up", plot=False)
            self.down = self.I(_identity, down_signal, name="cross_down", plot=False)

        def next(self) -> None:
            if self.position:
                if self.down[-1]:
                    self.position.close()
            elif self.up[-1]:
                self.buy(size=QUANTITY)

    kwargs: dict[str, Any] = {
        "cash": CASH,
        "commission": 0.0,
        "margin": 1.0,
        "trade_on_close": False,
        "hedging": False,
        "exclusive_orders": False,
    }
    import inspect

    if "finalize_trades" in inspect.signature(Backtest.__init__).parameters:
        kwargs["finalize_trades"] = False  # an open position at the end is not a round trip
    if "spread" in inspect.signature(Backtest.__init__).parameters:
        kwargs["spread"] = 0.0
    bt = Backtest(frame, SmaCrossExact, **kwargs)

    runs: list[float] = []
    stats = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open at the end"
        for _ in range(RUNS):
            t0 = time.perf_counter()
            stats = bt.run()
            runs.append(time.perf_counter() - t0)
    assert stats is not None
    trades_df = stats["_trades"]
    trades = [
        {
            "entry_bar": int(row.EntryBar),
            "exit_bar": int(row.ExitBar),
            "entry_price": float(row.EntryPrice),
            "exit_price": float(row.ExitPrice),
            "size": int(row.Size),
        }
        for row in trades_df.itertuples(index=False)
    ]
    if kwargs.get("finalize_trades", True) and trades:
        # Versions without finalize_trades close the open position at the end: a trade
        # whose exit no cross-down caused is not a round trip.
        last = trades[-1]["exit_bar"]
        if not down_signal[last - 1]:
            trades.pop()
    out = {
        "seconds": min(runs),
        "runs": runs,
        "bars": len(frame),
        "version": backtesting.__version__,
        "python": sys.version.split()[0],
        "trades": trades,
    }
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
