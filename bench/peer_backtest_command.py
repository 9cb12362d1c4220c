"""Peer half of bench/backtest_command.py: backtesting.py's whole process on a bar CSV.

Runs ONLY inside bench/.peer-venv (created by backtest_speed.py / backtest_command.py). What a
backtesting.py user runs to get the same answer as `artha backtest --strategy sma_crossover
--data FILE.csv --costs none --json OUT`: read the CSV with pandas, run the SMA crossover
(signals exact in integer paise, as in peer_backtesting_py.py), compute the statistics, write
the trades. Usage:

    bench/.peer-venv/bin/python bench/peer_backtest_command.py BARS.csv OUT.json
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(
            "peer_backtest_command.py is run by bench/backtest_command.py inside "
            "bench/.peer-venv (usage: peer_backtest_command.py BARS.csv OUT.json); skipping"
        )
        return 0
    csv_path, out_path = argv
    import numpy as np
    import pandas as pd
    from backtesting import Backtest, Strategy
    from peer_backtesting_py import FAST, QUANTITY, SLOW, cross_signals

    frame = pd.read_csv(csv_path, parse_dates=["timestamp"], index_col="timestamp")
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    close_paise = np.round(frame["Close"].to_numpy() * 100).astype(np.int64)
    up_signal, down_signal = cross_signals(close_paise, FAST, SLOW)

    class SmaCrossExact(Strategy):
        def init(self) -> None:
            self.up = self.I(lambda: up_signal, name="cross_up", plot=False)
            self.down = self.I(lambda: down_signal, name="cross_down", plot=False)

        def next(self) -> None:
            if self.position:
                if self.down[-1]:
                    self.position.close()
            elif self.up[-1]:
                self.buy(size=QUANTITY)

    bt = Backtest(
        frame,
        SmaCrossExact,
        cash=1e9,
        commission=0.0,
        spread=0.0,
        margin=1.0,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=False,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run()
    trades: list[dict[str, Any]] = [
        {
            "entry_ns": int(pd.Timestamp(row.EntryTime).value),
            "exit_ns": int(pd.Timestamp(row.ExitTime).value),
            "entry_paise": round(float(row.EntryPrice) * 100),
            "exit_paise": round(float(row.ExitPrice) * 100),
            "size": abs(int(row.Size)),
        }
        for row in stats["_trades"].itertuples()
    ]
    summary = {k: str(v) for k, v in stats.items() if not str(k).startswith("_")}
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump({"trades": trades, "stats": summary}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
