"""The incremental evaluator: keeps a strategy's recorded indicators and conditions current
one bar at a time (see derived.py for how indicators record their recipe; the per-indicator
columns and nodes are in incremental_nodes.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.domain.money import paise_to_rupees
from engine.ist import ns_of
from engine.strategy.base import BarData, Handler, Strategy
from engine.strategy.incremental_nodes import Column, Input, Node, plan
from engine.strategy.series import Series

if TYPE_CHECKING:
    from engine.data.bar_series import BarSeries
    from engine.domain.market_data import Bar
    from engine.strategy.requests import StrategyHost

from engine.strategy.derived import (
    _ATOL,
    _RTOL,
    _SOURCES,
    AnyArray,
    DerivedSeries,
    IncrementalError,
    Mismatch,
    Recipe,
    _key,
    _raw,
    _Recorder,
    _recording,
    keeps_state,
)

StepRow = tuple[float, float, float, float, int, bool]
"""One instrument at one step of a merged timeline: open, high, low, close (rupees), volume,
whether the instrument has a bar of its own there."""

# -- the evaluator ------------------------------------------------------------------------


class IncrementalEvaluator:
    """Runs one strategy instance bar by bar, as live: `start()`, then `push()` each bar.

    history: bars the strategy's `init()` sees before the first pushed bar (live: the warm-up
    fetched from the broker or the store); handlers never fire on them.

    A multi-instrument strategy (`Strategy.multi_instrument`) is run by `universe(...)`: one
    evaluator over every instrument's bars aligned on the merged timeline, advanced one step
    at a time by `push_step`.
    """

    def __init__(
        self,
        strategy: Strategy,
        host: StrategyHost,
        symbol: str,
        history: BarSeries | None = None,
        *,
        capacity: int = 1024,
    ) -> None:
        if history is None:
            empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
            initial: dict[str, AnyArray] = {
                name: empty_i if name in ("ts", "volume") else empty_f for name in _SOURCES
            }
        else:
            initial = {
                "ts": history.ts,
                "open": paise_to_rupees(history.open),
                "high": paise_to_rupees(history.high),
                "low": paise_to_rupees(history.low),
                "close": paise_to_rupees(history.close),
                "volume": history.volume,
            }
        self._set_up(strategy, host, {symbol: initial}, capacity, universe=False)

    @classmethod
    def universe(
        cls,
        strategy: Strategy,
        host: StrategyHost,
        histories: Mapping[str, Mapping[str, AnyArray]],
        *,
        capacity: int = 1024,
    ) -> IncrementalEvaluator:
        """An evaluator for a multi-instrument strategy: `histories` maps each symbol, in the
        run's order, to its warm-up steps on the merged timeline (engine/backtest/universe.py
        `aligned_arrays`: ts, open, high, low, close in rupees, volume, has_bar), all of one
        length (0: no warm-up)."""
        evaluator = cls.__new__(cls)
        evaluator._set_up(strategy, host, histories, capacity, universe=True)
        return evaluator

    def _set_up(
        self,
        strategy: Strategy,
        host: StrategyHost,
        initials: Mapping[str, Mapping[str, AnyArray]],
        capacity: int,
        *,
        universe: bool,
    ) -> None:
        self.strategy = strategy
        self.symbol = next(iter(initials))
        sizes = {int(arrays["ts"].shape[0]) for arrays in initials.values()}
        if len(sizes) != 1:
            raise IncrementalError(f"the instruments' histories differ in length: {sizes}")
        size = sizes.pop()
        capacity = max(capacity, size, 1)
        self._capacity = capacity
        self._history = size
        self._n = size
        sources = (*_SOURCES, "has_bar") if universe else _SOURCES
        self._sources: dict[str, dict[str, Column]] = {
            symbol: {name: Column(np.asarray(arrays[name]), capacity) for name in sources}
            for symbol, arrays in initials.items()
        }
        self.datas: dict[str, BarData] = {}
        self._bindings: list[tuple[Series, Column]] = []
        for symbol, c in self._sources.items():
            data = BarData(
                symbol,
                strategy._clock,
                c["ts"].view(),
                c["open"].view(),
                c["high"].view(),
                c["low"].view(),
                c["close"].view(),
                c["volume"].view(),
            )
            if universe:
                data.has_bar = Series(c["has_bar"].view(), strategy._clock, "has_bar")
            self.datas[symbol] = data
            self._bindings.extend((self._series_of(data, name), c[name]) for name in sources)
        self._columns = self._sources[self.symbol]  # the (first) instrument's bars
        self.data = self.datas[self.symbol]
        self._nodes: list[Node] = []
        self._conditions: list[tuple[Column, Handler]] = []
        self._every_bar: list[Handler] = []
        self._started = False
        if universe:
            strategy._attach_universe(host, self.datas)
        else:
            strategy._attach(host, self.data)

    @staticmethod
    def _series_of(data: BarData, name: str) -> Series:
        series = getattr(data, name)
        assert isinstance(series, Series), name
        return series

    # -- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        """Run `init()` on the history (recording its indicators), then compile them.

        Exceptions from the author's `init()` propagate as they are; IncrementalError means
        the strategy cannot be extended bar by bar as written."""
        with _recording() as recorder:
            self.strategy.init()
        self._compile(recorder)
        self._started = True

    def _compile(self, recorder: _Recorder) -> None:
        self._recorder = recorder
        self._node_of: dict[int, Node] = {}
        self._traced: dict[tuple[Any, ...], Node] = {}
        self._column_of_series: dict[int, Column] = {
            id(series): column for series, column in self._bindings
        }
        self._column_of_key: dict[tuple[Any, ...], Column] = {
            _key(column.view()): column
            for columns in self._sources.values()
            for column in columns.values()
        }
        self._derived_of_key: dict[tuple[Any, ...], DerivedSeries] = {}
        for d in recorder.derived:
            self._derived_of_key.setdefault(_key(d._values), d)
        for d in recorder.derived:  # everything init() made stays current for handlers
            self._node_for(d)
        strategy = self.strategy
        conditions = strategy._conditions
        sources = [c for owner, c in recorder.conditions if owner is strategy]
        if len(sources) != len(conditions):
            raise IncrementalError(
                f"{strategy.display_name()}: {len(conditions)} conditions but "
                f"{len(sources)} recorded; register conditions only with self.on()"
            )
        for source, (_mask, handler) in zip(sources, conditions, strict=True):
            column = self._condition_column(source, handler)
            self._conditions.append((column, handler))
        if strategy._wants_every_bar:
            self._every_bar.append(strategy.on_bar)
        for d in recorder.derived:
            self._bindings.append((d, self._node_of[id(d)].column))
        self._recorder = _Recorder()  # the arrays init() made are no longer needed
        self._rebind()

    def _condition_column(self, source: object, handler: Handler) -> Column:
        what = getattr(handler, "__name__", "handler")
        try:
            column = self._input(source, f"condition for {what}")[0]
        except IncrementalError:
            column = None
        if column is None:
            raise IncrementalError(
                f"the condition for {what} was given to self.on() as a plain array computed "
                "in init(), which cannot be extended bar by bar. Build it from Series: "
                "crossed_above(fast, slow) with the Series self.I returns, comparisons such "
                "as fast > slow, or self.I(fn, ...) around your own function"
            )
        return column

    def _node_for(self, series: DerivedSeries) -> Node:
        node = self._node_of.get(id(series))
        if node is None:
            node = self._build(series.recipe, series._values, series.name)
            self._node_of[id(series)] = node
        return node

    def _build(self, recipe: Recipe, values: AnyArray, name: str) -> Node:
        where = f"indicator {name}"
        values = np.asarray(values)
        if values.shape != (self._history,):
            raise IncrementalError(
                f"{where} has {values.shape} values, not one per history bar ({self._history})"
            )
        args = [self._input(a, f"argument {i + 1} of {where}") for i, a in enumerate(recipe.args)]
        kwargs = {k: self._input(v, f"argument {k} of {where}") for k, v in recipe.kwargs.items()}
        mode, window, update, how = plan(recipe)
        node = Node(
            name,
            _raw(recipe.fn),
            args,
            kwargs,
            mode,
            window,
            update,
            how,
            Column(values, self._capacity),
            stateful=keeps_state(recipe.fn),
        )
        self._nodes.append(node)  # after its inputs: the list is in dependency order
        return node

    def _input(self, value: Any, where: str) -> Input:
        if isinstance(value, DerivedSeries):
            return self._node_for(value).column, None
        if isinstance(value, Series):
            column = self._column_of_series.get(id(value)) or self._array_column(value._values)
            if column is None:
                raise IncrementalError(
                    f"{where} is a Series {value.name!r} the engine did not make; use the "
                    "bar Series (self.data.close, ...) or ones returned by self.I"
                )
            return column, None
        if isinstance(value, np.ndarray) and value.ndim == 1:
            column = self._array_column(value)
            if column is not None:
                return column, None
            if value.shape[0] == self._history:
                raise IncrementalError(
                    f"{where} is an array with one value per bar that was computed by plain "
                    "numpy, so it cannot be extended bar by bar; pass the Series itself "
                    "(self.data.close, an indicator from self.I) or wrap the computation in "
                    "self.I(fn, ...)"
                )
        return None, value  # a constant: a length, a multiplier, a weights array

    def _array_column(self, array: AnyArray) -> Column | None:
        key = _key(array)
        column = self._column_of_key.get(key)
        if column is not None:
            return column
        series = self._derived_of_key.get(key)
        if series is not None:
            return self._node_for(series).column
        node = self._traced.get(key)
        if node is None and key in self._recorder.arrays:
            out, recipe = self._recorder.arrays[key]
            node = self._build(recipe, out, recipe.name)
            self._traced[key] = node
        return None if node is None else node.column

    # -- bars ---------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Bars known: history plus pushed."""
        return self._n

    def push(
        self, ts_ns: int, open: float, high: float, low: float, close: float, volume: int
    ) -> list[Handler]:
        """Append one closed bar (prices in rupees); bring every indicator and condition up to
        it; return the handlers due at it, in registration order (`on_bar` last)."""
        if not self._started:
            raise IncrementalError("call start() before pushing bars")
        c = self._columns
        c["ts"].append(ts_ns)
        c["open"].append(open)
        c["high"].append(high)
        c["low"].append(low)
        c["close"].append(close)
        c["volume"].append(volume)
        return self._advance()

    def push_step(self, ts_ns: int, rows: Sequence[StepRow]) -> list[Handler]:
        """A multi-instrument strategy's next step of the merged timeline: one row per
        instrument, in the run's order (engine/backtest/universe.py `step_row`: its bar, or
        its last bar's prices carried with volume 0 and has_bar False); returns the handlers
        due at the step, as `push`."""
        if not self._started:
            raise IncrementalError("call start() before pushing bars")
        if len(rows) != len(self._sources):
            raise IncrementalError(f"{len(rows)} rows for {len(self._sources)} instruments")
        for c, (open_, high, low, close, volume, has_bar) in zip(
            self._sources.values(), rows, strict=True
        ):
            c["ts"].append(ts_ns)
            c["open"].append(open_)
            c["high"].append(high)
            c["low"].append(low)
            c["close"].append(close)
            c["volume"].append(volume)
            c["has_bar"].append(has_bar)
        return self._advance()

    def _advance(self) -> list[Handler]:
        t = self._n
        for node in self._nodes:
            node.column.append(node.value_at(t))
        self._n = t + 1
        self._rebind()
        self.strategy._clock.index = t
        due = [handler for column, handler in self._conditions if column.buf[t]]
        if self._every_bar:
            due.extend(self._every_bar)
        return due

    def push_bar(self, bar: Bar) -> list[Handler]:
        """`push` for a domain Bar (Decimal rupees, aware open time)."""
        return self.push(
            ns_of(bar.ts),
            float(bar.open),
            float(bar.high),
            float(bar.low),
            float(bar.close),
            bar.volume,
        )

    def fire(self, handlers: Sequence[Handler]) -> None:
        """Call handlers at the newest bar, the clock set to it (as the backtest does)."""
        i = self._n - 1
        clock = self.strategy._clock
        for handler in handlers:
            clock.index = i
            handler(self.data.bar(i))

    def _rebind(self) -> None:
        """Point every Series the strategy holds at its column's bars, and the size."""
        for series, column in self._bindings:
            series._values = column.buf[: column.n]
        for data in self.datas.values():
            data.size = self._n

    # -- checks -------------------------------------------------------------------------------
    def check_history(self, samples: int = 16) -> list[Mismatch]:
        """Recompute sample bars of the history the way `push` would and compare with what
        `init()` computed over the whole array: catches a too-short lookback (or look-ahead)
        before the first live bar. Needs a history longer than the lookbacks to see much."""
        if self._history == 0 or samples < 1:
            return []
        bars = np.unique(np.linspace(0, self._history - 1, samples).astype(np.int64))
        found: list[Mismatch] = []
        for node in self._nodes:
            for t in bars.tolist():
                value = node.value_at(t)
                expected = node.column.buf[t]
                if not _same(np.asarray([value]), np.asarray([expected])):
                    found.append(Mismatch(node.name, t, _plain(value), _plain(expected), node.how))
                    break
        return found

    def audit(self) -> list[Mismatch]:
        """Every value produced bar by bar against the whole-array function over the same
        inputs; one entry per indicator that differs, at its first differing bar."""
        found: list[Mismatch] = []
        n = self._n
        for node in self._nodes:
            mine = node.column.view()
            full = node.call(0, n)
            bad = _first_difference(mine, full)
            if bad is not None:
                found.append(
                    Mismatch(node.name, bad, _plain(mine[bad]), _plain(full[bad]), node.how)
                )
        return found

    def describe(self) -> list[tuple[str, str]]:
        """(indicator, how it is extended) for every recorded indicator, in evaluation order."""
        return [(node.name, node.how) for node in self._nodes]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _same(a: AnyArray, b: AnyArray) -> bool:
    return _first_difference(a, b) is None


def _first_difference(a: AnyArray, b: AnyArray) -> int | None:
    if a.shape != b.shape:
        return 0
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        x, y = a.astype(np.float64), b.astype(np.float64)
        both_nan = np.isnan(x) & np.isnan(y)
        with np.errstate(invalid="ignore"):
            close = np.isclose(x, y, rtol=_RTOL, atol=_ATOL)
        bad = ~(close | both_nan)
    else:
        bad = np.asarray(a != b)
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None
