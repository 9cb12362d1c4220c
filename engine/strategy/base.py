"""The Strategy base class every strategy extends (re-exported by strategies.sdk).

A strategy's whole surface: declare `Param`s, compute indicators in `init()` with `self.I`,
say which bars matter with `self.on(condition, handler)` (or override `on_bar` to see every
bar), and place orders with `buy`/`sell`/`target_position`/`close_position`. The same class
runs in a backtest and live; only the host behind `self._host` differs.

Speed: indicators are computed once over the full arrays, and the engine calls handlers only
on bars where their condition holds, so a backtest costs Python time per signal, not per bar.
Safety: handlers see Series clipped to the current bar (see series.py), so they cannot look
ahead, and `Series.full()` is refused once the run has started; every indicator `self.I`
computes is checked for causality (recomputed on a few prefixes of its inputs, see
`check_causal`), so the conditions built from them in `init()` cannot hide the future either.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, Literal, TypedDict, TypeVar, Unpack, cast

import numpy as np
import numpy.typing as npt

from engine.domain.enums import OrderType, Product, Side, Validity
from engine.domain.instrument import Instrument
from engine.domain.market_data import Tick
from engine.ist import ist_datetime
from engine.strategy.causality import first_look_ahead
from engine.strategy.params import ParamSpec, declared_params, resolve_params
from engine.strategy.requests import (
    FillReport,
    Funds,
    OrderHandle,
    OrderRequest,
    OrderUpdate,
    PriceInput,
    QuantityInput,
    StrategyHost,
)
from engine.strategy.series import Clock, LookAheadError, Series, whole

E = TypeVar("E", bound=StrEnum)


class StrategyState(StrEnum):
    """Where a strategy is in its run: created, running (between on_start and on_stop), stopped."""

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"


class StrategyError(RuntimeError):
    """A strategy used the SDK wrongly (bad condition length, order outside a run, ...)."""


class IndicatorLookAheadError(StrategyError, LookAheadError):
    """An indicator given to `self.I` reads bars after the one it is computed for."""


class OrderOptions(TypedDict, total=False):
    """The keyword arguments of `buy`, `sell`, `target_position` and `close_position`."""

    price: PriceInput | None
    trigger: PriceInput | None
    order_type: OrderType | str | None
    product: Product | str | None
    validity: Validity | str
    stop_loss: PriceInput | None
    target: PriceInput | None
    trail: PriceInput | None
    stop_loss_points: PriceInput | None
    target_points: PriceInput | None
    tag: str
    symbol: str | None  # a multi-instrument strategy's instrument (default: self.data's)


_ORDER_OPTIONS = frozenset(OrderOptions.__annotations__)
# Read on every order: module names, since on Python 3.11 an Enum member read such as
# `Side.BUY` costs ~120 ns (a descriptor on the class) and a global ~10 ns.
_BUY, _SELL, _MARKET = Side.BUY, Side.SELL, OrderType.MARKET
_LIMIT, _SL, _SL_M = OrderType.LIMIT, OrderType.SL, OrderType.SL_M


class BarView:
    """The bar a handler is called on (prices in rupees), read from the arrays on access so
    that calling a handler costs no conversions it does not use. A BarView of a bar after the
    clock's (`self.data.bar(i + 1)`) raises LookAheadError when read."""

    __slots__ = ("_data", "index")

    def __init__(self, data: BarData, index: int) -> None:
        self._data = data
        self.index = index

    @property
    def symbol(self) -> str:
        return self._data.symbol

    @property
    def ts_ns(self) -> int:
        data, i = self._data, self.index
        if not 0 <= i <= data._clock.index:
            raise self._ahead()
        return int(whole(data.ts)[i])

    @property
    def time(self) -> datetime:
        return ist_datetime(self.ts_ns)

    @property
    def open(self) -> float:
        data, i = self._data, self.index
        if not 0 <= i <= data._clock.index:
            raise self._ahead()
        return float(whole(data.open)[i])

    @property
    def high(self) -> float:
        data, i = self._data, self.index
        if not 0 <= i <= data._clock.index:
            raise self._ahead()
        return float(whole(data.high)[i])

    @property
    def low(self) -> float:
        data, i = self._data, self.index
        if not 0 <= i <= data._clock.index:
            raise self._ahead()
        return float(whole(data.low)[i])

    @property
    def close(self) -> float:
        data, i = self._data, self.index
        if not 0 <= i <= data._clock.index:
            raise self._ahead()
        return float(whole(data.close)[i])

    @property
    def volume(self) -> int:
        data, i = self._data, self.index
        if not 0 <= i <= data._clock.index:
            raise self._ahead()
        return int(whole(data.volume)[i])

    def _ahead(self) -> LookAheadError:
        now = self._data._clock.index
        return LookAheadError(
            f"bar {self.index} of {self.symbol} is not one of the bars up to the current bar "
            f"{now} (bars count from 0; a negative number counts from the end of the data): "
            "use the bar a handler is given, or an earlier one"
        )

    def __repr__(self) -> str:
        return (
            f"BarView({self.symbol} #{self.index} {self.time:%Y-%m-%d %H:%M} "
            f"O={self.open} H={self.high} L={self.low} C={self.close} V={self.volume})"
        )


class BarData:
    """One instrument's history as Series: open/high/low/close (rupees), volume, ts (UTC ns)."""

    def __init__(
        self,
        symbol: str,
        clock: Clock,
        ts: npt.NDArray[np.int64],
        open_: npt.NDArray[np.float64],
        high: npt.NDArray[np.float64],
        low: npt.NDArray[np.float64],
        close: npt.NDArray[np.float64],
        volume: npt.NDArray[np.int64],
    ) -> None:
        self.symbol = symbol
        self._clock = clock  # BarView reads refuse bars after it
        self.ts = Series(ts, clock, "ts")
        self.open = Series(open_, clock, "open")
        self.high = Series(high, clock, "high")
        self.low = Series(low, clock, "low")
        self.close = Series(close, clock, "close")
        self.volume = Series(volume, clock, "volume")
        self.size = len(ts)
        # a multi-instrument strategy's data (engine/backtest/universe.py): True where this
        # instrument has a bar of its own at the timeline step (prices are carried otherwise)
        self.has_bar: Series | None = None

    def bar(self, index: int) -> BarView:
        return BarView(self, index)


class PositionView:
    """The strategy's position in its instrument (all products together)."""

    __slots__ = ("_host", "quantity", "symbol")

    def __init__(self, host: StrategyHost, symbol: str) -> None:
        self._host = host
        self.symbol = symbol
        self.quantity = host.position_quantity(symbol)

    @property
    def average_price(self) -> Decimal:
        return self._host.position_average_price(self.symbol)

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def is_short(self) -> bool:
        return self.quantity < 0


Handler = Callable[[BarView], None]


class Strategy:
    """Extend this; see the module docstring for the whole API."""

    name: ClassVar[str] = ""  # shown in reports; defaults to the class name
    # True: one instance trades every instrument of the run together (pairs, baskets):
    # `self.datas[symbol]` on one merged timeline, orders with `symbol=`. False (the default):
    # one instance per instrument, each seeing only `self.data`.
    multi_instrument: ClassVar[bool] = False

    def __init__(self, params: Mapping[str, object] | None = None) -> None:
        self.__dict__["_param_values"] = resolve_params(type(self), params)
        self._clock = Clock()
        self._host: StrategyHost | None = None
        self._conditions: list[tuple[npt.NDArray[np.bool_], Handler]] = []
        self.data: BarData
        self.datas: dict[str, BarData] = {}

    # -- declared parameters --------------------------------------------------------------
    @classmethod
    def parameters(cls) -> list[ParamSpec]:
        return [p.spec() for p in declared_params(cls).values()]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.__dict__["_param_values"])

    @classmethod
    def display_name(cls) -> str:
        return cls.name or cls.__name__

    # -- hooks the author overrides -----------------------------------------------------------
    def init(self) -> None:
        """Compute indicators and register conditions; runs once, before the first bar."""

    def on_bar(self, bar: BarView) -> None:
        """Called on EVERY bar when overridden (slower); prefer `self.on(...)` conditions."""

    def on_tick(self, tick: Tick) -> None:
        """Called on every trade tick when overridden (live, and in tick replay:
        engine/replay/ticks.py), after the venue has tried its waiting orders against it.
        `self.data` then holds the minute bars closed so far, never the one the tick is in;
        an order placed here works from the next tick."""

    def on_fill(self, fill: FillReport) -> None:
        """One of this strategy's orders traded."""

    def on_order(self, update: OrderUpdate) -> None:
        """One of this strategy's orders changed state (open, rejected, cancelled, filled)."""

    def on_start(self) -> None:
        """Called once when the run starts, after `init()` and before the first bar."""

    def on_stop(self) -> None:
        """Called once when the run ends, after the last bar (its open orders are already
        cancelled; orders placed here are not filled): a place to log or save a summary."""

    @property
    def state(self) -> StrategyState:
        state: StrategyState = self.__dict__.get("_state", StrategyState.CREATED)
        return state

    def _enter_state(self, state: StrategyState) -> None:
        """The engine moves the lifecycle: CREATED -> RUNNING -> STOPPED. While RUNNING the
        clock refuses `Series.full()` (its bars after the current one)."""
        self.__dict__["_state"] = state
        self._clock.running = state is StrategyState.RUNNING

    # -- tools for init() -----------------------------------------------------------------
    def I(  # noqa: E743 - the short name strategy authors know from backtesting.py
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "",
        lookback: int | Literal["full"] | None = None,
        **kwargs: Any,
    ) -> Series:
        """Compute an indicator over the whole history once; read it as a clipped Series.

        The Series also remembers how it was made (fn, args, kwargs), so live trading can
        extend it one bar at a time (engine/strategy/incremental.py). `lookback=N` says the
        value at a bar depends on the last N bars of the inputs only (`"full"`: on all of
        them); without it the function's own declaration is used, else one more than its
        largest int argument, else the full history.

        The result is checked for look-ahead (`check_causal`): a value that changes when the
        bars after it are cut off raises IndicatorLookAheadError naming this call's line.
        """
        label = name or getattr(fn, "__name__", "indicator")
        if self._clock.running:
            raise StrategyError(
                f"self.I({label}) is for init(): indicators are computed before the run"
            )
        unwrapped = [whole(a) if isinstance(a, Series) else a for a in args]
        whole_kwargs = {k: whole(v) if isinstance(v, Series) else v for k, v in kwargs.items()}
        values = np.asarray(fn(*unwrapped, **whole_kwargs))
        if values.shape != (self.data.size,):
            raise StrategyError(
                f"indicator {name or getattr(fn, '__name__', '?')} returned shape "
                f"{values.shape}; expected one value per bar ({self.data.size})"
            )
        check_causal(fn, unwrapped, whole_kwargs, values, label)
        return self._with_recipe(values, label, fn, args, kwargs, lookback)

    def on(self, condition: Series | npt.ArrayLike, handler: Handler) -> None:
        """Call `handler(bar)` at the close of every bar where `condition` is true."""
        if self._clock.running:
            raise StrategyError(
                f"self.on(..., {getattr(handler, '__name__', 'handler')}) is for init(): "
                "conditions are registered before the run"
            )
        mask = whole(condition) if isinstance(condition, Series) else np.asarray(condition)
        if mask.shape != (self.data.size,):
            raise StrategyError(
                f"condition for {getattr(handler, '__name__', 'handler')} has shape "
                f"{mask.shape}; expected one value per bar ({self.data.size})"
            )
        self._conditions.append((mask.astype(bool, copy=False), handler))
        self._keep_condition_source(condition)

    def _with_recipe(
        self,
        values: npt.NDArray[Any],
        label: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        lookback: int | Literal["full"] | None,
    ) -> Series:
        """The indicator as a Series that also keeps its recipe (see I())."""
        from engine.strategy.derived import Recipe, make_derived

        return make_derived(values, self._clock, label, Recipe(fn, args, kwargs, lookback, label))

    def _keep_condition_source(self, condition: object) -> None:
        """While an incremental evaluator records init(), tell it what on() was given (a
        DerivedSeries keeps its recipe) so it can evaluate the condition bar by bar; a
        backtest keeps nothing, so indicators used only to build masks are freed."""
        from engine.strategy.derived import note_condition

        note_condition(self, condition)

    # -- state during a run -----------------------------------------------------------------
    @property
    def bar_index(self) -> int:
        return self._clock.index

    @property
    def position(self) -> PositionView:
        host = self._host
        if host is None:
            host = self._require_host()  # raises: not running
        return PositionView(host, self.data.symbol)

    def position_of(self, symbol: str) -> PositionView:
        """The position in one of a multi-instrument strategy's instruments."""
        return PositionView(self._require_host(), self._own_symbol(symbol))

    @property
    def instrument(self) -> Instrument:
        """The contract this strategy trades (its first, for several): lot size, tick size,
        segment, expiry. Orders must be whole lots and prices on the tick."""
        return self._require_host().instrument(self.data.symbol)

    def instrument_of(self, symbol: str) -> Instrument:
        """The contract of one of a multi-instrument strategy's instruments."""
        chosen = symbol if symbol == self.data.symbol else self._own_symbol(symbol)
        return self._require_host().instrument(chosen)

    def funds(self, excluding: str | None = None) -> Funds:
        """The account now, in rupees: cash, equity (positions at their last prices), the
        margin open positions block and what is `free` for a new one. The account is the
        run's (all strategies sharing it); `excluding` a symbol leaves its own positions'
        margin out of `blocked`, for sizing that position anew."""
        host = self._host
        if host is None:
            host = self._require_host()  # raises: not running
        if excluding is not None and excluding != self.data.symbol:
            excluding = self._own_symbol(excluding)
        return host.funds(excluding)

    def open_orders(self, symbol: str | None = None) -> list[str]:
        host = self._require_host()
        chosen = self.data.symbol if symbol is None else self._own_symbol(symbol)
        return host.open_order_ids(chosen)

    def _own_symbol(self, symbol: str) -> str:
        if symbol not in self.datas:
            mine = ", ".join(self.datas) or self.data.symbol
            raise StrategyError(f"{symbol!r} is not one of this strategy's instruments ({mine})")
        return symbol

    # -- orders -------------------------------------------------------------------------------
    def buy(
        self,
        quantity: QuantityInput,
        *,
        price: PriceInput | None = None,
        trigger: PriceInput | None = None,
        order_type: OrderType | str | None = None,
        product: Product | str | None = None,
        validity: Validity | str = Validity.DAY,
        stop_loss: PriceInput | None = None,
        target: PriceInput | None = None,
        trail: PriceInput | None = None,
        stop_loss_points: PriceInput | None = None,
        target_points: PriceInput | None = None,
        tag: str = "",
        symbol: str | None = None,
    ) -> OrderHandle:
        """Buy `quantity` (a whole number of lots). Without `price`/`trigger` a market order;
        `price` alone a limit; `trigger` alone a stop (SL-M); both a stop-limit (SL).
        `stop_loss`/`target` are prices of bracket exits, `stop_loss_points`/`target_points`
        and `trail` distances in rupees from the entry's fill. `symbol` picks the instrument
        of a multi-instrument strategy. Returns the order's handle."""
        return self._place(
            _BUY,
            quantity,
            price,
            trigger,
            order_type,
            product,
            validity,
            stop_loss,
            target,
            trail,
            stop_loss_points,
            target_points,
            tag,
            symbol,
        )

    def sell(
        self,
        quantity: QuantityInput,
        *,
        price: PriceInput | None = None,
        trigger: PriceInput | None = None,
        order_type: OrderType | str | None = None,
        product: Product | str | None = None,
        validity: Validity | str = Validity.DAY,
        stop_loss: PriceInput | None = None,
        target: PriceInput | None = None,
        trail: PriceInput | None = None,
        stop_loss_points: PriceInput | None = None,
        target_points: PriceInput | None = None,
        tag: str = "",
        symbol: str | None = None,
    ) -> OrderHandle:
        """Sell `quantity`; the arguments are `buy`'s (a short's stop_loss is above it)."""
        return self._place(
            _SELL,
            quantity,
            price,
            trigger,
            order_type,
            product,
            validity,
            stop_loss,
            target,
            trail,
            stop_loss_points,
            target_points,
            tag,
            symbol,
        )

    def target_position(
        self, quantity: QuantityInput, **options: Unpack[OrderOptions]
    ) -> OrderHandle | None:
        """Trade whatever moves the position to `quantity` (negative = short); the keyword
        arguments are `buy`'s. None when already there."""
        host = self._host
        if host is None:
            host = self._require_host()  # raises: not running
        symbol = options.get("symbol")
        # the position's quantity, as `self.position` / `self.position_of` would show it
        held = host.position_quantity(
            self.data.symbol if symbol is None else self._own_symbol(symbol)
        )
        delta = quantity - held
        if delta == 0:
            return None
        return self._order(_BUY if delta > 0 else _SELL, abs(delta), options)

    def close_position(self, **options: Unpack[OrderOptions]) -> OrderHandle | None:
        return self.target_position(0, **options)

    def cancel(self, order: OrderHandle | str) -> None:
        self._require_host().cancel(str(order))

    def _order(self, side: Side, quantity: QuantityInput, options: OrderOptions) -> OrderHandle:
        """An order from `target_position`/`close_position`'s keyword arguments."""
        unknown = set(options) - _ORDER_OPTIONS if options else None
        if unknown:
            raise TypeError(
                f"unknown order argument(s) {', '.join(sorted(unknown))}: use "
                f"{', '.join(sorted(_ORDER_OPTIONS))}"
            )
        return self._place(side, quantity, **options)

    def _place(
        self,
        side: Side,
        quantity: QuantityInput,
        price: PriceInput | None = None,
        trigger: PriceInput | None = None,
        order_type: OrderType | str | None = None,
        product: Product | str | None = None,
        validity: Validity | str = Validity.DAY,
        stop_loss: PriceInput | None = None,
        target: PriceInput | None = None,
        trail: PriceInput | None = None,
        stop_loss_points: PriceInput | None = None,
        target_points: PriceInput | None = None,
        tag: str = "",
        symbol: str | None = None,
    ) -> OrderHandle:
        """One order. A call that cannot make an order (a word that is not valid, a LIMIT
        without a price, a stop given both as a price and a distance) raises here, so the
        error names the author's line; a number the market decides about (a target below a
        buy's fill, a price that is not a number) is a rejection the strategy hears through
        `on_order`, as from a broker."""
        host = self._host
        if host is None:
            host = self._require_host()  # raises: not running
        kind = (
            _infer_type(price, trigger)
            if order_type is None
            else _choice(OrderType, order_type, "order_type")
        )
        request = OrderRequest(
            self.data.symbol if symbol is None else self._own_symbol(symbol),
            side,
            int(quantity) if isinstance(quantity, np.integer) else quantity,
            kind,
            None if product is None else _choice(Product, product, "product"),
            validity if type(validity) is Validity else _choice(Validity, validity, "validity"),
            price,
            trigger,
            stop_loss,
            target,
            trail,
            tag,
            stop_loss_points,
            target_points,
        )
        return OrderHandle(host, host.submit(request))

    def _require_host(self) -> StrategyHost:
        if self._host is None:
            raise StrategyError("orders and positions exist only while the strategy runs")
        return self._host

    # -- engine side ------------------------------------------------------------------------
    def _attach_universe(self, host: StrategyHost, datas: dict[str, BarData]) -> None:
        """Bind a multi-instrument strategy: `self.data` is the first instrument's data."""
        self._attach(host, next(iter(datas.values())))
        self.datas = dict(datas)

    def _attach(self, host: StrategyHost, data: BarData) -> None:
        """Bind to a run; `init()` then sees the full history (the clock at the last bar)."""
        self._host = host
        self.data = data
        self._clock.index = data.size - 1
        self._conditions.clear()

    @property
    def _wants_every_bar(self) -> bool:
        return type(self).on_bar is not Strategy.on_bar


def _choice(kind: type[E], value: object, argument: str) -> E:
    """`value` as a member of `kind`, or a ValueError listing the valid values."""
    if type(value) is kind:
        return value
    if isinstance(value, str):
        # what kind(value) finds first, without the ~1 us of EnumType.__call__ (an order
        # names its product as text, e.g. "MIS")
        member = _members_by_value(kind).get(value)
        if member is not None:
            return cast(E, member)
        try:
            return kind(value)
        except ValueError:
            pass
    valid = ", ".join(repr(member.value) for member in kind)
    raise ValueError(f"{argument}={value!r} is not valid: use one of {valid}")


@cache
def _members_by_value(kind: type[StrEnum]) -> dict[str, StrEnum]:
    return {member.value: member for member in kind}


def _infer_type(price: PriceInput | None, trigger: PriceInput | None) -> OrderType:
    if trigger is not None:
        return _SL if price is not None else _SL_M
    return _LIMIT if price is not None else _MARKET


def check_causal(
    fn: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    values: npt.NDArray[Any],
    label: str,
) -> None:
    """Raise IndicatorLookAheadError if `values = fn(*args, **kwargs)` uses later bars
    (engine/strategy/causality.py finds where), naming the author's self.I line."""
    found = first_look_ahead(fn, args, kwargs, values, label)
    if found is None:
        return
    bar, whole_value, prefix_value, cut, n = found
    raise IndicatorLookAheadError(
        f"indicator {label} looks ahead: at bar {bar} it is {whole_value} "
        f"computed over all {n} bars but {prefix_value} over the first {cut} "
        f"(bars 0-{cut - 1}), so it reads bars after the one it is for "
        f"(self.I at {_author_line()}). A value at bar t may use bars up to t only: "
        "the bar before is np.concatenate(([np.nan], x[:-1])) (np.roll wraps the "
        "last bars round to the first), windows must trail, not centre, and no "
        "statistic of the whole array (its mean, its max) may enter a bar's value."
    )


_ENGINE_DIR = Path(__file__).resolve().parents[1]
_SDK_DIR = _ENGINE_DIR.parent / "strategies" / "sdk"


def _author_line() -> str:
    """file:line of the code that called self.I: the first frame outside the engine and the
    SDK (an SDK part may call self.I for the author)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        where = Path(filename).resolve()
        if not (where.is_relative_to(_ENGINE_DIR) or where.is_relative_to(_SDK_DIR)):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"
