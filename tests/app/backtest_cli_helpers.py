"""Shared by the `artha backtest` CLI tests: the bar file, the real console script, and
an independent integer-arithmetic reading of sma_crossover's trades."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthetic_bars import check_bars, make_bars

ARTHA = str(Path(sys.executable).with_name("artha"))
REPO = Path(__file__).resolve().parents[2]
N_BARS = 3000
SEED = 11
SYMBOL = "RELIANCE"
BAD_LINE = 1501  # file line (header is line 1) of the row the bad-input cases break
IST_OFFSET = timezone(timedelta(hours=5, minutes=30))
ISO_IST = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30$")
TRADE_KEYS = {
    "symbol",
    "side",
    "quantity",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "gross_pnl",
    "charges",
    "net_pnl",
}

BARS = make_bars(N_BARS, seed=SEED)
check_bars(BARS)


# -- helpers --------------------------------------------------------------------------------
def artha(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run(
        [ARTHA, "backtest", *args], capture_output=True, text=True, env=env, timeout=120
    )


def rupees(paise: int) -> str:
    return f"{paise // 100}.{paise % 100:02d}"


def iso_ist(ts_ns: int) -> str:
    seconds, nanos = divmod(int(ts_ns), 10**9)
    assert nanos == 0
    return datetime.fromtimestamp(seconds, tz=IST_OFFSET).isoformat()


def csv_lines() -> list[str]:
    """Header plus one line per bar, exactly as a broker export would write them."""
    lines = ["timestamp,open,high,low,close,volume"]
    for i in range(N_BARS):
        prices = ",".join(rupees(int(BARS[k][i])) for k in ("open", "high", "low", "close"))
        lines.append(f"{iso_ist(BARS['ts'][i])},{prices},{int(BARS['volume'][i])}")
    return lines


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class RefTrade:
    entry_bar: int
    entry_paise: int
    exit_bar: int
    exit_paise: int
    quantity: int

    def as_expected(self) -> dict[str, object]:
        return {
            "symbol": SYMBOL,
            "side": "long",
            "quantity": self.quantity,
            "entry_time": iso_ist(BARS["ts"][self.entry_bar]),
            "entry_price": Decimal(self.entry_paise) / 100,
            "exit_time": iso_ist(BARS["ts"][self.exit_bar]),
            "exit_price": Decimal(self.exit_paise) / 100,
            "gross_pnl": Decimal((self.exit_paise - self.entry_paise) * self.quantity) / 100,
        }


def crosses(fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Cross up/down of SMA(fast) vs SMA(slow) of close, compared exactly in integers."""
    close = BARS["close"].astype(object)  # Python ints: no overflow, no rounding
    n = len(close)
    csum = np.concatenate(([0], np.cumsum(close)))
    t = np.arange(n)
    valid = t >= slow - 1
    fsum = np.where(t >= fast - 1, csum[t + 1] - csum[np.maximum(t + 1 - fast, 0)], 0)
    ssum = np.where(valid, csum[t + 1] - csum[np.maximum(t + 1 - slow, 0)], 0)
    diff = np.array([int(f) * slow - int(s) * fast for f, s in zip(fsum, ssum, strict=True)])
    above, below = valid & (diff > 0), valid & (diff < 0)
    at_or_below, at_or_above = valid & (diff <= 0), valid & (diff >= 0)
    up = np.zeros(n, dtype=bool)
    down = np.zeros(n, dtype=bool)
    up[1:] = above[1:] & at_or_below[:-1]
    down[1:] = below[1:] & at_or_above[:-1]
    return up, down


def reference_run(
    fast: int = 10, slow: int = 30, quantity: int = 100, fill: str = "next-open"
) -> tuple[list[RefTrade], tuple[int, int] | None]:
    """The sma_crossover rules, simulated bar by bar: (closed trades, open (bar, price))."""
    up, down = crosses(fast, slow)
    opens, closes = BARS["open"], BARS["close"]
    trades: list[RefTrade] = []
    position: tuple[int, int] | None = None  # (entry bar, entry paise)
    pending: str | None = None
    for t in range(N_BARS):
        if pending is not None:  # a market order placed at the last close fills at this open
            if pending == "buy":
                position = (t, int(opens[t]))
            else:
                assert position is not None
                trades.append(RefTrade(*position, t, int(opens[t]), quantity))
                position = None
            pending = None
        action = "buy" if up[t] and position is None else None
        if down[t] and position is not None:
            action = "sell"
        if action is None:
            continue
        if fill == "close":
            if action == "buy":
                position = (t, int(closes[t]))
            else:
                assert position is not None
                trades.append(RefTrade(*position, t, int(closes[t]), quantity))
                position = None
        elif t + 1 < N_BARS:
            pending = action
    return trades, position


def normalised(trades: list[dict[str, object]]) -> list[dict[str, object]]:
    keys = ("symbol", "side", "quantity", "entry_time", "exit_time")
    out = []
    for t in trades:
        row: dict[str, object] = {k: t[k] for k in keys}
        for k in ("entry_price", "exit_price", "gross_pnl"):
            row[k] = Decimal(str(t[k]))
        out.append(row)
    return out


def run_json(tmp_path: Path, csv: Path, *args: str, name: str = "report.json") -> dict:
    target = tmp_path / name
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv), *args, "--json", str(target),
        home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return json.loads(target.read_text(encoding="utf-8"))


# -- fixtures -------------------------------------------------------------------------------
ROUND_TRIP = '''\
"""Buys on one bar and sells on a later one: trades known in advance."""

import numpy as np

from strategies.sdk import BarView, Param, Strategy


class RoundTrip(Strategy):
    name = "round_trip"

    enter_at = Param(100, min=0, help="bar whose close places the buy")
    exit_at = Param(200, min=1, help="bar whose close places the sell")
    size = Param(7, min=1)

    def init(self) -> None:
        bars = np.arange(self.data.size)
        self.on(bars == self.enter_at, self.enter)
        self.on(self.I(lambda n: n == self.exit_at, bars, name="exit_bar"), self.leave)

    def enter(self, bar: BarView) -> None:
        self.buy(self.size)

    def leave(self, bar: BarView) -> None:
        self.close_position()
'''


def write_strategy(path: Path, source: str) -> Path:
    path.write_text(source, encoding="utf-8")
    return path
