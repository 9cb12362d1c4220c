"""What a strategy author hands buy()/sell(): numpy numbers, text, wrong words, bracket exits
on the wrong side of the entry, distances (`*_points`), prices under a tick, and slippage
outside 0..10,000 bps. Real strategies through the real runner on 20 sessions of minutes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from engine.backtest import (
    BacktestConfig,
    BacktestInputError,
    BacktestResult,
    StrategyRuntimeError,
    run_backtest,
)
from engine.domain.orders import OrderStatus
from engine.ist import IST_OFFSET_NS
from strategies.sdk import (
    BarView,
    FillReport,
    OrderUpdate,
    Param,
    Strategy,
    crossed_above,
    sma,
)
from tests.engine.synthetic import NO_COSTS, make_bars, series

BARS = series(make_bars(7_500, seed=11))  # 20 NSE sessions of one-minute bars
HINT = (
    "stop_loss and target are prices, not distances: use stop_loss_points=/target_points= "
    "for distances"
)
NS_PER_DAY = 86_400 * 10**9


def rupees(paise: int) -> str:
    return str(Decimal(int(paise)).scaleb(-2))


def close_of(bar: int) -> Decimal:
    return Decimal(int(BARS.close[bar])).scaleb(-2)


class CrossEntries(Strategy):
    """On every close where SMA(fast) crosses above SMA(slow), while flat, calls `entry` with
    the bar's close (a numpy float64, as `self.data.close[-1]` is) and records what happens."""

    fast = Param(10, min=1)
    slow = Param(30, min=2)

    placed: ClassVar[list[tuple[int, str]]]  # (bar, order id) of every entry
    updates: ClassVar[list[OrderUpdate]]
    fills: ClassVar[list[FillReport]]

    def init(self) -> None:
        fast = self.I(sma, self.data.close, self.fast)
        slow = self.I(sma, self.data.close, self.slow)
        self.on(crossed_above(fast.full(), slow.full()), self.enter)

    def enter(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.placed.append((bar.index, self.entry(self.data.close[-1])))

    def entry(self, close: Any) -> str:
        raise NotImplementedError

    def on_order(self, update: OrderUpdate) -> None:
        self.updates.append(update)

    def on_fill(self, fill: FillReport) -> None:
        self.fills.append(fill)


def entering(place: Callable[[Strategy, Any], str], base: type[CrossEntries] = CrossEntries):
    """A fresh CrossEntries (its own records) whose entry is `place(self, close)`."""
    return type(
        "Entries",
        (base,),
        {"entry": lambda self, close: place(self, close), "placed": [], "updates": [], "fills": []},
    )


def run(strategy: type[Strategy], config: BacktestConfig = NO_COSTS) -> BacktestResult:
    return run_backtest(strategy, None, [BARS], config)


def messages(strategy: type[CrossEntries]) -> dict[str, str]:
    """Order id -> the message of its REJECTED update."""
    return {u.order_id: u.message for u in strategy.updates if u.status is OrderStatus.REJECTED}


def rejected_entries(strategy: type[CrossEntries]) -> list[tuple[int, str]]:
    """(bar, message) of every entry, all of which must have been rejected."""
    by_id = messages(strategy)
    assert strategy.placed, "the scenario placed no order"
    assert all(oid in by_id for _, oid in strategy.placed)
    return [(bar, by_id[oid]) for bar, oid in strategy.placed]


def bracket_exits(result: BacktestResult) -> list[tuple[str, str, int]]:
    """(order type, status, filled) of every bracket exit leg."""
    return [
        (o.order_type, o.status, o.filled)
        for o in result.order_log
        if o.order_type in ("SL-M", "LIMIT")
    ]


# -- numpy numbers ------------------------------------------------------------------------------
def test_numpy_float_bracket_prices_trade_exactly_like_the_same_python_floats():
    def numpy_prices(s, close):
        assert type(close) is np.float64
        stop, target = round(close * 0.998, 1), round(close * 1.003, 1)
        assert type(stop) is np.float64
        return s.buy(100, product="MIS", stop_loss=stop, target=target)

    def python_prices(s, close):
        stop, target = round(close * 0.998, 1), round(close * 1.003, 1)
        return s.buy(100, product="MIS", stop_loss=float(stop), target=float(target))

    with_numpy, with_floats = entering(numpy_prices), entering(python_prices)
    result, oracle = run(with_numpy), run(with_floats)
    assert result.rejections == oracle.rejections == []
    assert len(result.trades) == len(with_numpy.placed) > 20
    assert result.trades == oracle.trades
    assert result.final_equity == oracle.final_equity
    exits = {(kind, status) for kind, status, _ in bracket_exits(result)}
    assert {("SL-M", "FILLED"), ("LIMIT", "FILLED")} <= exits  # both kinds of exit traded


def test_a_numpy_float32_price_is_read_as_the_decimal_it_prints_as():
    # float(np.float32(998.95)) is 998.9500122...; the author wrote (and numpy prints) 998.95
    def limit_at_close(s, close):
        price = np.float32(close)
        assert str(price) == str(close)
        return s.buy(100, product="MIS", price=price)

    strategy = entering(limit_at_close)
    result = run(strategy)
    assert result.rejections == []
    bar_of = {oid: bar for bar, oid in strategy.placed}
    entries = [f for f in strategy.fills if f.order_id in bar_of]
    assert len(entries) > 10
    inexact = [b for b in bar_of.values() if Decimal(float(np.float32(close_of(b)))) != close_of(b)]
    assert len(inexact) > 10  # most of these prices are not what the float32 holds
    for fill in entries:  # a buy limit fills at its price, or at a lower open
        limit = close_of(bar_of[fill.order_id])
        assert fill.price == min(limit, Decimal(int(BARS.open[fill.bar_index])).scaleb(-2))


def test_numpy_integer_quantity_is_accepted_like_an_int():
    numpy_quantity = entering(lambda s, close: s.buy(np.int64(100), product="MIS"))
    int_quantity = entering(lambda s, close: s.buy(100, product="MIS"))
    result, oracle = run(numpy_quantity), run(int_quantity)
    assert result.rejections == []
    assert len(result.trades) > 20
    assert {t.quantity for t in result.trades} == {100}
    assert result.trades == oracle.trades


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (1.5, "quantity must be a positive whole number, got 1.5"),
        (
            np.float64(100.0),
            "quantity must be a positive whole number, got np.float64(100.0) "
            "(a float: pass int(...) of it)",
        ),
        (np.int64(-5), "quantity must be a positive whole number, got -5"),
    ],
    ids=["float", "numpy-float", "numpy-negative"],
)
def test_quantities_that_are_not_whole_positive_numbers_are_still_rejected(quantity, message):
    strategy = entering(lambda s, close: s.buy(quantity))
    result = run(strategy)
    assert result.trades == []
    assert {text for _, text in rejected_entries(strategy)} == {message}
    assert result.rejections[0].endswith(f"rejected: {message}")


# -- text that is not a number --------------------------------------------------------------------
@pytest.mark.parametrize(
    "argument",
    ["price", "trigger", "stop_loss", "target", "trail", "stop_loss_points", "target_points"],
)
def test_text_that_is_not_a_number_is_rejected_naming_the_argument(argument):
    strategy = entering(lambda s, close: s.buy(100, **{argument: "x"}))
    result = run(strategy)  # the run goes on: a rejection, as from a broker
    assert result.trades == []
    assert {text for _, text in rejected_entries(strategy)} == {
        f"{argument} must be a number, got 'x'"
    }
    assert len(result.rejections) == min(len(strategy.placed), 20)


def test_numeric_text_is_still_a_price():
    strategy = entering(lambda s, close: s.buy(100, price=str(close_of(s.bar_index) - 1)))
    result = run(strategy)
    assert result.rejections == []
    assert strategy.fills


# -- a wrong word is the author's error, at the author's line ------------------------------------
class BadWord(CrossEntries):
    word: ClassVar[dict[str, str]] = {}

    def entry(self, close: Any) -> str:
        return self.buy(100, **self.word)  # marker: bad-word-line


def _line_of(marker: str) -> int:
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, text in enumerate(lines, 1) if text.endswith(f"# marker: {marker}")]
    return number


@pytest.mark.parametrize(
    ("argument", "value", "valid"),
    [
        ("product", "XYZ", "'CNC', 'MIS', 'NRML'"),
        ("order_type", "STOP", "'MARKET', 'LIMIT', 'SL', 'SL-M'"),
        ("validity", "GTC", "'DAY', 'IOC'"),
        ("product", "mis", "'CNC', 'MIS', 'NRML'"),
    ],
)
def test_a_word_that_is_not_valid_is_reported_at_the_authors_line(argument, value, valid):
    records: dict[str, Any] = {"placed": [], "updates": [], "fills": []}
    strategy = type("BadWord", (BadWord,), {"word": {argument: value}, **records})
    with pytest.raises(StrategyRuntimeError) as caught:
        run(strategy)
    message = str(caught.value)
    assert f"ValueError: {argument}='{value}' is not valid: use one of {valid}" in message
    assert f"{inspect.getfile(BadWord)}:{_line_of('bad-word-line')}" in message
    assert "enum.py" not in message


# -- bracket exits on the wrong side of the entry --------------------------------------------------
def test_distances_given_as_stop_loss_and_target_are_rejected_naming_both_prices():
    """The newcomer's trap (defect 4): `stop_loss=8, target=16` meant as rupee distances used
    to enter and exit every trade on its entry bar at its entry price, gross 0, no warning."""
    strategy = entering(lambda s, close: s.buy(100, product="MIS", stop_loss=8, target=16))
    result = run(strategy)
    assert result.trades == []
    assert result.open_positions == {}
    entries = rejected_entries(strategy)
    assert len(entries) > 20
    for bar, text in entries:
        assert text == (
            f"target 16.00 is below the entry price {close_of(bar)} of a BUY (the last close, "
            f"for a market order); {HINT}"
        )
    first_bar, first_text = entries[0]
    assert result.rejections[0] == f"SYNTH bar {first_bar}: BUY 100 rejected: {first_text}"


D = Decimal


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (
            lambda s, c: s.sell(100, product="MIS", stop_loss=D(str(c)) - 1),
            lambda c: f"stop_loss {c - 1} is below the entry price {c} of a SELL "
            "(the last close, for a market order)",
        ),
        (
            lambda s, c: s.buy(100, stop_loss=D(str(c)) + 1),
            lambda c: f"stop_loss {c + 1} is above the entry price {c} of a BUY "
            "(the last close, for a market order)",
        ),
        (
            lambda s, c: s.buy(100, price=D(str(c)) - D("0.5"), stop_loss=D(str(c))),
            lambda c: f"stop_loss {c} is above the entry price {c - D('0.5')} of a BUY "
            "(its limit price)",
        ),
        (
            lambda s, c: s.buy(100, trigger=D(str(c)) + 1, target=D(str(c)) + 1),
            lambda c: f"target {c + 1} is at the entry price {c + 1} of a BUY (its trigger)",
        ),
        (
            lambda s, c: s.sell(100, product="MIS", price=D(str(c)) + 1, target=D(str(c)) + 2),
            lambda c: f"target {c + 2} is above the entry price {c + 1} of a SELL "
            "(its limit price)",
        ),
    ],
    ids=["short-stop-below", "long-stop-above", "limit-stop-above", "stop-target-at", "short-tgt"],
)
def test_a_bracket_exit_on_the_wrong_side_of_the_entry_is_rejected(place, expected):
    strategy = entering(place)
    result = run(strategy)
    assert result.trades == []
    for bar, text in rejected_entries(strategy):
        assert text == f"{expected(close_of(bar))}; {HINT}"


class Overnight(Strategy):
    """Buys 100 CNC at each session's last close with a stop 2 rupees below that close and a
    far target; flattens at 10:00 the next day. An overnight gap can open below the stop."""

    updates: ClassVar[list[OrderUpdate]]
    placed: ClassVar[list[tuple[int, str]]]

    def init(self) -> None:
        local = self.data.ts.full() + IST_OFFSET_NS
        day = local // NS_PER_DAY
        last_of_session = np.append(day[1:] != day[:-1], False)
        self.on(last_of_session, self.enter)
        self.on(local % NS_PER_DAY == 10 * 3_600 * 10**9, self.leave)  # the 10:00 bar

    def enter(self, bar: BarView) -> None:
        assert self.position.is_flat
        close = Decimal(str(self.data.close[-1]))
        self.placed.append((bar.index, self.buy(100, stop_loss=close - 2, target=close + 50)))

    def leave(self, bar: BarView) -> None:
        self.close_position()

    def on_order(self, update: OrderUpdate) -> None:
        self.updates.append(update)


def test_a_stop_the_fill_gapped_past_is_rejected_not_filled_at_the_entry():
    strategy = type("Overnight", (Overnight,), {"updates": [], "placed": []})
    result = run(strategy)
    # Independently: each entry fills at the next session's open; the stop leg cannot be
    # placed when that open is at or below the stop (a long's stop must be under its fill).
    expected = {}
    for bar, entry_id in strategy.placed:
        stop, fill = int(BARS.close[bar]) - 200, int(BARS.open[bar + 1])
        if fill <= stop:
            where = "at" if fill == stop else "above"
            expected[entry_id] = (
                f"stop_loss {rupees(stop)} is {where} the fill price {rupees(fill)} of a BUY: "
                f"the stop-loss exit of {entry_id} is not placed"
            )
    assert len(strategy.placed) == 19
    assert 0 < len(expected) < 19  # the data has both kinds of night
    rejected = [u for u in strategy.updates if u.status is OrderStatus.REJECTED]
    assert [u.message for u in rejected] == list(expected.values())
    assert [u.side for u in rejected] == ["SELL"] * len(expected)
    assert len(result.rejections) == len(expected)
    assert all(
        text.endswith(f"rejected: {m}")
        for text, m in zip(result.rejections, expected.values(), strict=True)
    )
    # the defect's signature: a trade closed on its entry bar at its entry price
    assert not [
        t for t in result.trades if (t.exit_bar, t.exit_price) == (t.entry_bar, t.entry_price)
    ]
    assert len(result.trades) == 19
    stop_legs = [
        (status, filled) for kind, status, filled in bracket_exits(result) if kind == "SL-M"
    ]
    assert stop_legs.count(("REJECTED", 0)) == len(expected)


# -- distances: stop_loss_points / target_points ---------------------------------------------------
@pytest.mark.parametrize("side", ["buy", "sell"])
def test_points_are_distances_from_the_fill_price(side):
    """With fill="close" the fill price is the close the order was placed at, so distances
    from the fill must trade exactly like prices worked out from that close."""
    sign = 1 if side == "buy" else -1

    def with_points(s, close):
        return getattr(s, side)(100, product="MIS", stop_loss_points=2, target_points=4)

    def with_prices(s, close):
        c = Decimal(str(close))
        return getattr(s, side)(100, product="MIS", stop_loss=c - sign * 2, target=c + sign * 4)

    at_close = BacktestConfig(costs="none", fill="close")
    points, prices = entering(with_points), entering(with_prices)
    result, oracle = run(points, at_close), run(prices, at_close)
    assert result.rejections == oracle.rejections == []
    assert len(result.trades) > 20
    assert result.trades == oracle.trades
    exits = {(kind, status) for kind, status, _ in bracket_exits(result)}
    assert {("SL-M", "FILLED"), ("LIMIT", "FILLED")} <= exits


def test_points_follow_the_actual_fill_at_the_next_open():
    strategy = entering(
        lambda s, close: s.buy(100, product="MIS", stop_loss_points="2.5", target_points=4)
    )
    result = run(strategy)
    assert result.rejections == []
    kinds = {o.order_id: o.order_type for o in result.order_log}
    seen = set()
    entry = None
    for fill in strategy.fills:  # an entry, then its exit, in turn
        opening = int(BARS.open[fill.bar_index])
        price = int(fill.price * 100)
        if entry is None:
            assert kinds[fill.order_id] == "MARKET"
            entry = price
            continue
        kind = "squareoff" if fill.tag == "squareoff" else kinds[fill.order_id]
        if kind == "SL-M":  # sell stop at fill - 2.50, or the open if it gapped under
            assert price == min(opening, entry - 250)
        elif kind == "LIMIT":  # sell limit at fill + 4.00, or the open if it gapped over
            assert price == max(opening, entry + 400)
        seen.add(kind)
        entry = None
    assert seen == {"SL-M", "LIMIT", "squareoff"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"stop_loss": 900, "stop_loss_points": 2},
            "give stop_loss (a price) or stop_loss_points (a distance from the fill price), "
            "not both",
        ),
        (
            {"target": 1100, "target_points": 2},
            "give target (a price) or target_points (a distance from the fill price), not both",
        ),
        ({"order_type": "LIMIT"}, "a LIMIT order needs a price"),
        ({"order_type": "MARKET", "price": 100}, "a MARKET order takes no price"),
        ({"order_type": "SL", "price": 100}, "a SL order needs a trigger"),
        ({"price": 100, "order_type": "SL-M", "trigger": 99}, "a SL-M order takes no price"),
        ({"tag": "x" * 21}, "tag must be text of at most 20 characters"),
    ],
)
def test_arguments_that_cannot_make_an_order_raise_at_the_authors_line(options, message):
    """Issue 11: a call no market could accept is the author's mistake, named at their line
    (a price the market decides about is still a rejection, below)."""
    strategy = entering(lambda s, close: s.buy(100, **options))  # marker: the-call-line
    with pytest.raises(StrategyRuntimeError) as caught:
        run(strategy)
    text = str(caught.value)
    assert f"StrategyError: {message}" in text
    assert f"{__file__}:{_line_of('the-call-line')}" in text


def test_an_unknown_order_argument_raises_naming_the_valid_ones():
    strategy = entering(lambda s, close: s.buy(100, stoploss=99))
    with pytest.raises(StrategyRuntimeError, match="unexpected keyword argument 'stoploss'"):
        run(strategy)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stop_loss_points": -2}, "stop_loss_points must be a positive number, got -2"),
        ({"target_points": 0}, "target_points must be a positive number, got 0"),
    ],
)
def test_points_that_make_no_sense_are_rejected(options, message):
    strategy = entering(lambda s, close: s.buy(100, **options))
    run(strategy)
    assert {text for _, text in rejected_entries(strategy)} == {message}


def test_a_stop_distance_beyond_the_price_is_rejected():
    strategy = entering(lambda s, close: s.buy(100, stop_loss_points=5000))
    run(strategy)
    for bar, text in rejected_entries(strategy):
        c = close_of(bar)
        assert text == (
            f"stop_loss_points 5000.00 from the entry price {c} of a BUY (the last close, for a "
            f"market order) puts the exit at {c - 5000}, not a price"
        )


# -- prices under a tick ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"price": 0.001},
            "price 0.001 rounds to 0.00 on the 0.05 tick: it must be at least one tick (0.05)",
        ),
        (
            {"price": 0.04},
            "price 0.04 rounds to 0.00 on the 0.05 tick: it must be at least one tick (0.05)",
        ),
        ({"price": 0}, "price must be a positive number, got 0"),
        ({"price": -100}, "price must be a positive number, got -100"),
        ({"price": float("nan")}, "price must be a positive number, got NaN"),
        (
            {"trail": 0.02},
            "trail 0.02 rounds to 0.00 on the 0.05 tick: it must be at least one tick (0.05)",
        ),
    ],
)
def test_prices_that_can_never_trade_are_rejected(options, message):
    strategy = entering(lambda s, close: s.buy(100, **options))
    result = run(strategy)
    assert result.trades == []
    assert {text for _, text in rejected_entries(strategy)} == {message}


def test_a_one_tick_limit_is_accepted_and_rests_until_it_expires():
    strategy = entering(lambda s, close: s.buy(100, price=0.05))
    result = run(strategy)
    assert result.rejections == []
    assert {o.status for o in result.order_log} == {"CANCELLED"}
    assert {o.message for o in result.order_log} <= {
        "expired unfilled",
        "data ended before it filled",
    }


# -- slippage --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bps", [1e9, 20_000, Decimal("10000.01"), -1, Decimal("NaN"), "lots"])
def test_slippage_outside_0_to_10000_bps_is_refused_naming_it(bps):
    with pytest.raises(BacktestInputError, match=r"^slippage_bps must be"):
        BacktestConfig(slippage_bps=bps)


def test_slippage_message_says_the_range():
    with pytest.raises(BacktestInputError) as caught:
        BacktestConfig(slippage_bps=Decimal(20_000))
    assert str(caught.value) == (
        "slippage_bps must be between 0 and 10000 basis points (10000 bps = 100% of the price), "
        "got 20000"
    )


@pytest.mark.parametrize("bps", [0, "2.5", 10_000])
def test_slippage_inside_the_range_runs(bps):
    config = BacktestConfig(costs="none", slippage_bps=bps)
    assert config.slippage_bps == Decimal(str(bps))
    strategy = entering(lambda s, close: s.buy(100, product="MIS"))
    result = run(strategy, config)
    assert len(result.trades) > 20
