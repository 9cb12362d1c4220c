"""A strategy that raises in `on_fill` or `on_order` stops the run the way a handler does:
StrategyRuntimeError naming the strategy, the bar and the author's file:line, in the
backtest and in replay alike, and `artha backtest` exits 2 with that message, no traceback.

Those callbacks run from the simulator's event queue (fills, expiries, square-offs) and from
the end-of-data clean-up, outside the handlers; each of those paths is exercised here. The
bars each error must name are worked out from the data, independently of the engine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path

import numpy as np
import pytest

from engine.backtest import StrategyRuntimeError, run_backtest
from engine.calendar import IST
from engine.data.bar_series import BarSeries
from engine.replay import replay_bars
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import BarView, FillReport, OrderUpdate, Side, Strategy
from tests.app.backtest_cli_helpers import BARS as CLI_BARS
from tests.app.backtest_cli_helpers import artha, csv_lines, write_csv, write_strategy
from tests.engine.synthetic import NO_COSTS, make_bars, series

SESSION = 375  # one-minute bars in a regular NSE session
DATA = series(make_bars(4 * SESSION, seed=3))  # four sessions
LAST = len(DATA) - 1
ENTRY_BAR = 2 * SESSION + 25  # an order placed 25 minutes into the third session


def _line_of(marker: str) -> int:
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, text in enumerate(lines, 1) if text.endswith(f"# marker: {marker}")]
    return number


# -- strategies whose callbacks raise ---------------------------------------------------------
class RetunesOnFill(SmaCrossover):
    """Changes a declared parameter when its first buy fills: parameters are read-only."""

    name = "retunes_on_fill"

    def on_fill(self, fill: FillReport) -> None:
        self.fast = 3  # marker: on-fill-retune


class FailsOnExitFill(SmaCrossover):
    """Raises when it hears that its first sell filled."""

    name = "fails_on_exit_fill"

    def on_order(self, update: OrderUpdate) -> None:
        if update.side is Side.SELL and update.filled_quantity == update.quantity:
            raise ValueError("boom")  # marker: on-order-filled


class FailsOnSquareoff(Strategy):
    """An intraday (MIS) buy left open: the engine squares it off before the close."""

    name = "fails_on_squareoff"

    def on_bar(self, bar: BarView) -> None:
        if bar.index == ENTRY_BAR:
            self.buy(10, product="MIS")

    def on_fill(self, fill: FillReport) -> None:
        if fill.tag == "squareoff":
            raise RuntimeError("did not expect a square-off")  # marker: on-fill-squareoff


class FailsOnExpiry(Strategy):
    """A DAY limit far below the market: it expires unfilled at the end of its session."""

    name = "fails_on_expiry"

    def on_bar(self, bar: BarView) -> None:
        if bar.index == ENTRY_BAR:
            self.buy(10, price=1)

    def on_order(self, update: OrderUpdate) -> None:
        if update.message == "expired unfilled":
            raise ValueError(f"{update.order_id} expired")  # marker: on-order-expired


class FailsWhenDataEnds(Strategy):
    """A limit placed on the last bar: still open when the data ends, then cancelled."""

    name = "fails_when_data_ends"

    def on_bar(self, bar: BarView) -> None:
        if bar.index == LAST:
            self.buy(10, price=1)

    def on_order(self, update: OrderUpdate) -> None:
        if update.message == "data ended before it filled":
            raise KeyError(update.order_id)  # marker: on-order-data-end


# -- the bars each error must name, from the data alone ---------------------------------------
def crosses(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Bars where SMA(fast) crosses above / below SMA(slow), compared exactly in integers."""
    c = np.asarray(close, dtype=np.int64)
    csum = np.concatenate(([0], np.cumsum(c)))
    t = np.arange(c.size)
    valid = t >= slow - 1
    fsum = csum[t + 1] - csum[np.maximum(t + 1 - fast, 0)]
    ssum = csum[t + 1] - csum[np.maximum(t + 1 - slow, 0)]
    diff = np.where(valid, fsum * slow - ssum * fast, 0)
    up = np.zeros(c.size, dtype=bool)
    down = np.zeros(c.size, dtype=bool)
    up[1:] = valid[1:] & (diff[1:] > 0) & valid[:-1] & (diff[:-1] <= 0)
    down[1:] = valid[1:] & (diff[1:] < 0) & valid[:-1] & (diff[:-1] >= 0)
    return up, down


def first_buy_fill(data: BarSeries) -> int:
    """sma_crossover (10/30) buys at the first cross up; it fills at the next bar's open."""
    up, _ = crosses(data.close, 10, 30)
    return int(np.flatnonzero(up)[0]) + 1


def first_sell_fill(data: BarSeries) -> int:
    """...and sells at the first cross down after that, filled at the next open."""
    up, down = crosses(data.close, 10, 30)
    entry = int(np.flatnonzero(up)[0])
    return int(np.flatnonzero(down[entry + 1 :])[0]) + entry + 1 + 1


def ist(data: BarSeries, i: int) -> datetime:
    return datetime.fromtimestamp(int(data.ts[i]) / 1e9, tz=IST)


def squareoff_bar(data: BarSeries) -> int:
    """The MIS cut-off: the first bar opening at or after 15:20 IST on the entry's day."""
    day = ist(data, ENTRY_BAR + 1).date()
    return next(
        i
        for i in range(ENTRY_BAR + 1, len(data))
        if ist(data, i).date() == day and ist(data, i).time() >= time(15, 20)
    )


def session_last_bar(data: BarSeries) -> int:
    """A DAY order placed at ENTRY_BAR is live from the next bar to its session's last bar."""
    day = ist(data, ENTRY_BAR + 1).date()
    return max(i for i in range(len(data)) if ist(data, i).date() == day)


Runner = Callable[[type[Strategy], BarSeries], object]


def backtest(strategy: type[Strategy], data: BarSeries) -> object:
    return run_backtest(strategy, None, [data], NO_COSTS)


def replay(strategy: type[Strategy], data: BarSeries) -> object:
    return replay_bars(strategy, None, data, NO_COSTS)


RUNNERS = [pytest.param(backtest, id="backtest"), pytest.param(replay, id="replay")]

CASES = [
    pytest.param(
        RetunesOnFill,
        "on-fill-retune",
        "AttributeError: fast is a declared parameter (fast=10); parameters are read-only",
        first_buy_fill,
        id="on_fill-assigns-a-parameter",
    ),
    pytest.param(
        FailsOnExitFill, "on-order-filled", "ValueError: boom", first_sell_fill, id="on_order-fill"
    ),
    pytest.param(
        FailsOnSquareoff,
        "on-fill-squareoff",
        "RuntimeError: did not expect a square-off",
        squareoff_bar,
        id="on_fill-mis-squareoff",
    ),
    pytest.param(
        FailsOnExpiry,
        "on-order-expired",
        "ValueError: BT0000001 expired",
        session_last_bar,
        id="on_order-day-expiry",
    ),
    pytest.param(
        FailsWhenDataEnds,
        "on-order-data-end",
        "KeyError: 'BT0000001'",
        lambda data: LAST,
        id="on_order-data-ends",
    ),
]


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize(("strategy", "marker", "raised", "bar_of"), CASES)
def test_a_callback_that_raises_names_the_strategy_the_bar_and_the_authors_line(
    run: Runner,
    strategy: type[Strategy],
    marker: str,
    raised: str,
    bar_of: Callable[[BarSeries], int],
):
    bar = bar_of(DATA)
    assert 0 < bar <= LAST
    with pytest.raises(StrategyRuntimeError) as caught:
        run(strategy, DATA)
    message = str(caught.value)
    assert message.startswith(f"strategy {strategy.name} raised {raised}"), message
    assert f" on SYNTH bar {bar} ({ist(DATA, bar).isoformat()})" in message, message
    assert f" at {inspect.getfile(strategy)}:{_line_of(marker)} (" in message, message
    assert caught.value.__cause__ is not None
    assert raised.startswith(type(caught.value.__cause__).__name__ + ":")


# -- the command line -------------------------------------------------------------------------
RETUNES_ON_FILL = '''\
"""sma_crossover that tries to change its fast length once it is in a trade."""

from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import FillReport


class Retunes(SmaCrossover):
    name = "retunes"

    def on_fill(self, fill: FillReport) -> None:
        self.fast = 5
'''


def test_artha_backtest_reports_a_raising_on_fill_without_a_traceback(tmp_path: Path):
    csv = write_csv(tmp_path / "reliance.csv", csv_lines())
    source = write_strategy(tmp_path / "retunes.py", RETUNES_ON_FILL)
    line = RETUNES_ON_FILL.splitlines().index("        self.fast = 5") + 1
    bars = series(CLI_BARS, symbol="RELIANCE")
    fill_bar = first_buy_fill(bars)

    out = artha("--strategy", str(source), "--data", str(csv), home=tmp_path / "home")

    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    (error,) = [e for e in out.stderr.splitlines() if e.startswith("artha backtest: error: ")]
    assert error.startswith("artha backtest: error: strategy retunes raised AttributeError: ")
    assert "fast is a declared parameter (fast=10)" in error
    assert f" on RELIANCE bar {fill_bar} ({ist(bars, fill_bar).isoformat()})" in error
    assert error.endswith(f" at {source}:{line} (self.fast = 5)")
