"""No way to see the future (issue 12, item 5).

Two routes used to leak bars after the current one silently: `Series.full()` read inside a
handler, and a non-causal function given to `self.I` (a left shift, a centred window). Both
are tried here as a new user would write them and must now stop the run with a message that
names the author's line. Then the property the whole engine promises: replacing every bar
after t with arbitrary valid bars never changes the orders placed up to t.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest import StrategyRuntimeError, run_backtest
from engine.replay import replay_bars
from engine.strategy.base import IndicatorLookAheadError, check_causal
from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import BarView, LookAheadError, Param, Strategy, StrategyError, ema, sma
from tests.engine.synthetic import NO_COSTS, make_bars, series

HERE = __file__


def line_of(cls: type, marker: str) -> int:
    """The line in this file holding `marker` inside `cls` (the author's line)."""
    source, first = inspect.getsourcelines(cls)
    hits = [first + i for i, text in enumerate(source) if marker in text]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def failure(run: Callable[[], object]) -> StrategyRuntimeError:
    with pytest.raises(StrategyRuntimeError) as caught:
        run()
    return caught.value


# -- route (a): full() inside a handler ------------------------------------------------------


class PeeksThroughFull(Strategy):
    """A new user's 'strategy': buy when tomorrow's close is higher (found through full())."""

    def on_bar(self, bar: BarView) -> None:
        closes = self.data.close.full()  # peek
        if bar.index + 1 < len(closes) and closes[bar.index + 1] > bar.close:
            if self.position.is_flat:
                self.buy(10)
        elif self.position.is_long:
            self.close_position()


@pytest.mark.parametrize("path", ["backtest", "replay"])
def test_full_in_a_handler_is_refused_at_the_authors_line(path):
    data = series(make_bars(300, seed=3))
    runs = {
        "backtest": lambda: run_backtest(PeeksThroughFull, None, [data], NO_COSTS),
        "replay": lambda: replay_bars(PeeksThroughFull, None, data, NO_COSTS),
    }
    error = failure(runs[path])
    assert isinstance(error.__cause__, LookAheadError)
    message = str(error)
    assert "close.full() holds bars after the current bar 0: it is for init()" in message
    assert "use close.values (the history up to now)" in message
    assert f"{HERE}:{line_of(PeeksThroughFull, '# peek')}" in message
    assert "on SYNTH bar 0" in message


class ReadsEverything(Strategy):
    """Every way a handler can read history; each must end at the current bar."""

    seen: list[dict[str, Any]]

    def init(self) -> None:
        self.fast = self.I(sma, self.data.close, 3)
        self.on(np.arange(self.data.size) % 7 == 3, self.look)  # a plain mask from init()

    def look(self, bar: BarView) -> None:
        close = self.data.close
        attempts: dict[str, Any] = {}
        for name, read in (
            ("full", close.full),
            ("indicator full", self.fast.full),
            ("bar after", lambda: self.data.bar(bar.index + 1).close),
            ("last bar of the data", lambda: self.data.bar(-1).close),
            ("index after", lambda: close[bar.index + 1]),
        ):
            try:
                read()
                attempts[name] = "returned"
            except LookAheadError:
                attempts[name] = "refused"
        self.seen.append(
            {
                "index": bar.index,
                "values": len(close.values),
                "asarray": len(np.asarray(close)),
                "slice": len(close[:]),
                "iterated": len(list(close)),
                "indicator": len(self.fast.values),
                "max is history": float(np.max(close)) == close.values.max(),
                "attempts": attempts,
            }
        )


def test_every_read_in_a_handler_ends_at_the_current_bar():
    ReadsEverything.seen = []
    run_backtest(ReadsEverything, None, [series(make_bars(200, seed=2))], NO_COSTS)
    assert len(ReadsEverything.seen) == len(range(3, 200, 7))
    for seen in ReadsEverything.seen:
        now = seen["index"] + 1
        assert seen["values"] == seen["asarray"] == seen["slice"] == seen["iterated"] == now
        assert seen["indicator"] == now and seen["max is history"]
        assert set(seen["attempts"].values()) == {"refused"}, seen


def test_full_is_refused_in_on_start_and_on_stop_and_allowed_in_init_and_after_the_run():
    events: list[str] = []

    class Lifecycle(Strategy):
        def init(self) -> None:
            events.append(f"init {len(self.data.close.full())}")

        def on_start(self) -> None:
            try:
                self.data.close.full()
            except LookAheadError:
                events.append("on_start refused")

        def on_stop(self) -> None:
            try:
                self.data.close.full()
            except LookAheadError:
                events.append(f"on_stop refused, values {len(self.data.close.values)}")

    strategies: list[Lifecycle] = []

    class Kept(Lifecycle):
        def __init__(self, params: Any = None) -> None:
            super().__init__(params)
            strategies.append(self)

    run_backtest(Kept, None, [series(make_bars(50, seed=1))], NO_COSTS)
    assert events == ["init 50", "on_start refused", "on_stop refused, values 50"]
    assert len(strategies[0].data.close.full()) == 50  # the run is over: reports read it


def test_indicators_and_conditions_are_made_in_init_only():
    class Late(Strategy):
        def on_bar(self, bar: BarView) -> None:
            self.I(sma, self.data.close, 3)

    error = failure(lambda: run_backtest(Late, None, [series(make_bars(50, seed=1))], NO_COSTS))
    assert isinstance(error.__cause__, StrategyError)
    assert "self.I(sma) is for init()" in str(error)

    class LateCondition(Strategy):
        def on_start(self) -> None:
            self.on(np.ones(self.data.size, dtype=bool), self.never)

        def never(self, bar: BarView) -> None:
            raise AssertionError("a condition registered after init() is not followed")

    error = failure(
        lambda: run_backtest(LateCondition, None, [series(make_bars(50, seed=1))], NO_COSTS)
    )
    assert "self.on(..., never) is for init()" in str(error)
    assert "in on_start()" in str(error)


class PairPeeks(Strategy):
    multi_instrument = True

    def init(self) -> None:
        first, second = self.datas.values()
        ratio = first.close.full() / second.close.full()  # whole arrays: fine in init()
        self.mean = self.I(_trailing_mean, ratio, 5, name="mean ratio")
        self.on(np.isfinite(self.mean.full()), self.step)
        self.steps: list[tuple[int, int, int]] = []

    def step(self, bar: BarView) -> None:
        a, b = self.datas.values()
        self.steps.append((bar.index, len(a.has_bar.values), len(b.close.values)))
        if bar.index == 40:
            a.has_bar.full()  # peek at the pair


def _trailing_mean(values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    sums = np.cumsum(values)
    out[n - 1 :] = (sums[n - 1 :] - np.concatenate(([0.0], sums[:-n]))) / n
    return out


def test_a_multi_instrument_strategy_sees_its_legs_up_to_now_and_has_bar_cannot_peek():
    a, b = make_bars(120, seed=4), make_bars(120, seed=5)
    gaps = np.arange(120) % 3 != 2  # BBB misses every third minute
    legs = [series(a, "AAA"), series({k: v[gaps] for k, v in b.items()}, "BBB")]
    error = failure(lambda: run_backtest(PairPeeks, None, legs, NO_COSTS))
    assert isinstance(error.__cause__, LookAheadError)
    assert "has_bar.full() holds bars after the current bar 40" in str(error)
    assert f"{HERE}:{line_of(PairPeeks, '# peek at the pair')}" in str(error)
    assert "at step 40 of the merged timeline" in str(error)


# -- route (b): a non-causal function given to self.I -----------------------------------------


class RollsTomorrowIn(Strategy):
    """A new user's 'strategy': tomorrow's close from np.roll, compared with today's."""

    def init(self) -> None:
        tomorrow = self.I(lambda c: np.roll(c, -1), self.data.close, name="tomorrow")  # here
        today = self.I(sma, self.data.close, 1)
        self.on(tomorrow > today, self.enter)
        self.on(tomorrow < today, self.exit)

    def enter(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.buy(10)

    def exit(self, bar: BarView) -> None:
        if self.position.is_long:
            self.close_position()


@pytest.mark.parametrize("path", ["backtest", "replay"])
def test_np_roll_left_in_self_i_is_refused_naming_the_indicator_and_line(path):
    data = series(make_bars(500, seed=9))
    runs = {
        "backtest": lambda: run_backtest(RollsTomorrowIn, None, [data], NO_COSTS),
        "replay": lambda: replay_bars(RollsTomorrowIn, None, data, NO_COSTS, warmup=100),
    }
    error = failure(runs[path])
    cause = error.__cause__
    assert isinstance(cause, IndicatorLookAheadError)
    assert isinstance(cause, StrategyError) and isinstance(cause, LookAheadError)
    message = str(cause)
    assert message.startswith("indicator tomorrow looks ahead: at bar ")
    assert f"(self.I at {HERE}:{line_of(RollsTomorrowIn, '# here')})" in message
    assert "the bar before is np.concatenate(([np.nan], x[:-1]))" in message
    assert "in init()" in str(error)


def _shift_left(c: np.ndarray) -> np.ndarray:
    return np.concatenate([c[1:], [np.nan]])


def _centred_mean(c: np.ndarray) -> np.ndarray:
    return np.convolve(c, np.ones(5) / 5, mode="same")


def _zscore_of_all(c: np.ndarray) -> np.ndarray:
    return (c - c.mean()) / c.std()


def _next_high_within_3(c: np.ndarray) -> np.ndarray:
    ahead = np.full(len(c), np.nan)
    ahead[:-3] = np.maximum.reduce([c[1:-2], c[2:-1], c[3:]])
    return ahead


def _centred_rolling_max(c: np.ndarray) -> np.ndarray:
    window = 21
    out = np.full(len(c), np.nan)
    view = np.lib.stride_tricks.sliding_window_view(c, window).max(axis=1)
    out[window // 2 : window // 2 + len(view)] = view
    return out


@pytest.mark.parametrize(
    "fn",
    [
        lambda c: np.roll(c, -1),
        lambda c: c - np.roll(c, 1),  # "the change": wraps the last bar into bar 0
        _shift_left,
        _centred_mean,
        np.gradient,
        _zscore_of_all,
        _next_high_within_3,
        _centred_rolling_max,
    ],
    ids=[
        "roll-1",
        "roll+1 wraps",
        "shift left",
        "centred mean",
        "gradient",
        "zscore of all",
        "max ahead",
        "centred max",
    ],
)
def test_non_causal_indicators_are_caught(fn):
    close = np.asarray(make_bars(20_000, seed=11)["close"] / 100.0)
    values = np.asarray(fn(close))
    with pytest.raises(IndicatorLookAheadError, match=r"^indicator probe looks ahead: at bar \d+"):
        check_causal(fn, [close], {}, values, "probe")


def _ema(c: np.ndarray) -> np.ndarray:
    return np.asarray(ema(c, 20))


@pytest.mark.parametrize(
    "fn",
    [
        lambda c: np.asarray(sma(c, 30)),
        _ema,
        lambda c: c - np.concatenate(([np.nan], c[:-1])),  # the change since the bar before
        lambda c: np.convolve(c, np.ones(5) / 5)[: len(c)],  # a trailing window
        np.maximum.accumulate,
        np.cumsum,
        lambda c: c > np.concatenate(([np.inf], c[:-1])),
        lambda c: np.asarray(sma(c, 3000)),  # a warm-up longer than the cut span's start
    ],
    ids=["sma", "ema", "change", "trailing mean", "running max", "cumsum", "bool", "long sma"],
)
def test_causal_indicators_pass(fn):
    close = np.asarray(make_bars(20_000, seed=11)["close"] / 100.0)
    check_causal(fn, [close], {}, np.asarray(fn(close)), "probe")


def test_sma_on_prefixes_of_prices_is_exact_and_off_grid_tails_are_within_tolerance():
    """The tolerance exists for one reason: sma sums exact paise only when every value is on
    the paisa grid, so a prefix can take the exact path where the whole array cannot."""
    close = np.asarray(make_bars(10_000, seed=12)["close"] / 100.0)
    whole = np.asarray(sma(close, 30))
    for cut in (31, 777, 5000):
        assert np.array_equal(np.asarray(sma(close[:cut], 30)), whole[:cut], equal_nan=True)
    off_grid = close.copy()
    off_grid[8000:] += 0.001
    whole = np.asarray(sma(off_grid, 30))
    prefix = np.asarray(sma(off_grid[:5000], 30))
    assert not np.array_equal(prefix, whole[:5000], equal_nan=True)  # different arithmetic
    check_causal(lambda c: sma(c, 30), [off_grid], {}, whole, "sma30")  # but not look-ahead


def test_the_check_recomputes_short_prefixes_only_and_the_same_ones_every_time():
    n = 1_000_000
    close = np.asarray(make_bars(n, seed=13)["close"] / 100.0)
    lengths: list[int] = []

    def recorded(c: np.ndarray, length: int) -> np.ndarray:
        lengths.append(len(c))
        return np.asarray(sma(c, length))

    values = recorded(close, 2000)
    lengths.clear()
    check_causal(recorded, [close, 2000], {}, values, "sma2000")
    first = list(lengths)
    check_causal(recorded, [close, 2000], {}, values, "sma2000")
    assert lengths == first + first  # seeded by name and length: a run is repeatable
    assert 2 <= len(first) <= 6
    assert min(first) == 2000  # just after the warm-up (1999 NaNs): where a centred window shows
    assert max(first) <= 1999 + 4096


def test_kwargs_and_series_inputs_are_cut_too_and_uncheckable_closures_pass():
    close = np.asarray(make_bars(5_000, seed=14)["close"] / 100.0)
    with pytest.raises(IndicatorLookAheadError, match="indicator kw"):
        check_causal(lambda *, x: np.roll(x, -1), [], {"x": close}, np.roll(close, -1), "kw")
    # a closure over the whole array: its result ignores the cut inputs, so it cannot be
    # checked here (documented); it must not be reported as look-ahead by mistake
    check_causal(lambda c: close * 1.0, [close], {}, close * 1.0, "closure")
    # no per-bar input at all
    check_causal(lambda: close * 2, [], {}, close * 2, "nothing per bar")


def test_conditions_built_in_init_keep_working():
    data = series(make_bars(3_000, seed=15))
    result = run_backtest(SmaCrossover, {"fast": 5, "slow": 20, "quantity": 10}, [data], NO_COSTS)
    assert result.trades

    class MaskConditions(Strategy):
        def init(self) -> None:
            fast = self.I(sma, self.data.close, 5)
            slow = self.I(sma, self.data.close, 20)
            up = fast.full() > slow.full()
            self.on(up & ~np.roll(up, 1), self.enter)  # a plain mask, built from full()
            self.on(~up & np.roll(up, 1), self.exit)

        def enter(self, bar: BarView) -> None:
            if self.position.is_flat:
                self.buy(10)

        def exit(self, bar: BarView) -> None:
            if self.position.is_long:
                self.close_position()

    assert run_backtest(MaskConditions, None, [data], NO_COSTS).trades


# -- the property: bars after t never change the orders up to t -------------------------------


class Breakout(Strategy):
    """An on_bar strategy reading history several ways: buy a stop above the last 20 bars'
    high when the EMA rises, a limit below the close otherwise, exit below the 10-bar low."""

    quantity = Param(10, min=1)

    def init(self) -> None:
        self.trend = self.I(ema, self.data.close, 8)

    def on_bar(self, bar: BarView) -> None:
        if len(self.data.high) < 21:
            return
        high = float(np.max(self.data.high.values[-21:-1]))
        low = float(self.data.low[-11:-1].min())
        rising = self.trend[-1] > self.trend[-2]
        if self.position.is_flat and not self.open_orders():
            if rising:
                self.buy(self.quantity, trigger=high + 0.05)
            elif bar.close > low:
                self.buy(self.quantity, price=bar.close - 0.5)
        elif self.position.is_long and bar.close < low:
            self.close_position()


def _replace_after(bars: dict[str, np.ndarray], t: int, seed: int, level: int, spread: int):
    """`bars` with every bar after t replaced by arbitrary valid ones (same times): any price
    level in whole ticks, any range, any volume."""
    rng = np.random.default_rng(seed)
    n = len(bars["ts"]) - t - 1
    changed = {k: v.copy() for k, v in bars.items()}
    if n <= 0:
        return changed
    close = np.maximum(level + rng.integers(-spread, spread + 1, n).cumsum(), 1) * 5
    open_ = np.maximum(close + rng.integers(-spread, spread + 1, n) * 5, 5)
    high = np.maximum(open_, close) + rng.integers(0, spread + 1, n) * 5
    low = np.maximum(np.minimum(open_, close) - rng.integers(0, spread + 1, n) * 5, 5)
    changed["open"][t + 1 :] = open_
    changed["high"][t + 1 :] = high
    changed["low"][t + 1 :] = low
    changed["close"][t + 1 :] = close
    changed["volume"][t + 1 :] = rng.integers(1, 10**7, n)
    return changed


tails = st.tuples(
    st.integers(0, 2**32 - 1),  # seed
    st.integers(1, 400_000),  # price level in ticks (5 paise to 20,000 rupees)
    st.integers(0, 400),  # how far a bar moves, in ticks
)


@pytest.mark.parametrize(
    ("strategy", "params"),
    [(SmaCrossover, {"fast": 3, "slow": 8, "quantity": 10}), (Breakout, None)],
    ids=["sma_crossover", "on_bar breakout"],
)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.floats(0.05, 0.95), tail=tails)
def test_backtest_orders_up_to_t_never_depend_on_bars_after_t(strategy, params, seed, cut, tail):
    bars = make_bars(400, seed=seed)
    t = int(400 * cut)
    changed = _replace_after(bars, t, *tail)
    before = run_backtest(strategy, params, [series(bars)], NO_COSTS)
    after = run_backtest(strategy, params, [series(changed)], NO_COSTS)
    assert asked(before, t) == asked(after, t)


def asked(result: Any, t: int) -> list[tuple[Any, ...]]:
    """What the strategy asked for up to bar t (not what became of it: that is the market's)."""
    return [
        (o.placed_bar, o.side, o.quantity, o.order_type, o.product, o.tag)
        for o in result.order_log
        if o.placed_bar <= t
    ]


def test_the_property_has_orders_to_compare():
    """The property above says nothing about a strategy that never trades: both do here."""
    bars = make_bars(400, seed=1)
    for strategy, params in (
        (SmaCrossover, {"fast": 3, "slow": 8, "quantity": 10}),
        (Breakout, None),
    ):
        assert len(asked(run_backtest(strategy, params, [series(bars)], NO_COSTS), 399)) > 5
