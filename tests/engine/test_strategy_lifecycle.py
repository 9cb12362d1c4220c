"""A strategy's lifecycle (issue 11): CREATED -> on_start -> RUNNING -> on_stop -> STOPPED,
the same in a backtest and a replay, with errors in the hooks named like any other."""

from __future__ import annotations

from typing import ClassVar

import pytest

from engine.backtest import StrategyRuntimeError, run_backtest
from engine.replay import Replay, replay_bars
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import StrategyState
from tests.engine.synthetic import NO_COSTS, make_bars, series

DATA = series(make_bars(1_500, seed=4))


class Watched(SmaCrossover):
    """Records its state at each hook and places an order on stop (which cannot fill)."""

    seen: ClassVar[list[tuple[str, StrategyState, int]]] = []

    def on_start(self) -> None:
        self.seen.append(("start", self.state, self.bar_index))

    def enter(self, bar) -> None:
        self.seen.append(("bar", self.state, bar.index))
        super().enter(bar)

    def on_stop(self) -> None:
        self.seen.append(("stop", self.state, self.bar_index))
        self.buy(1)


@pytest.mark.parametrize("run", [run_backtest, replay_bars])
def test_hooks_run_once_around_the_bars_and_the_state_follows(run):
    Watched.seen = []
    result = run(Watched, None, [DATA], NO_COSTS)
    first, *middle, last = Watched.seen
    assert first == ("start", StrategyState.RUNNING, -1)  # before the first bar
    assert middle and all(state is StrategyState.RUNNING for _, state, _ in middle)
    assert last[:2] == ("stop", StrategyState.RUNNING) and last[2] == len(DATA) - 1
    placed_on_stop = result.order_log[-1]
    assert (placed_on_stop.status, placed_on_stop.message) == (
        "CANCELLED",
        "data ended before it filled",
    )


def test_the_state_is_created_before_the_run_and_stopped_after():
    assert SmaCrossover().state is StrategyState.CREATED
    run = Replay(SmaCrossover, None, DATA, NO_COSTS)
    run.run()
    assert run.evaluators[0].strategy.state is StrategyState.STOPPED


class FailsOnStart(SmaCrossover):
    def on_start(self) -> None:
        raise RuntimeError("no broker session")  # the failing hook


def test_an_error_in_on_start_names_the_hook_and_the_line():
    with pytest.raises(StrategyRuntimeError) as caught:
        run_backtest(FailsOnStart, None, [DATA], NO_COSTS)
    text = str(caught.value)
    assert "RuntimeError: no broker session in on_start()" in text and "the failing hook" in text
