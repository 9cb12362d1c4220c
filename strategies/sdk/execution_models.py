"""Execution models: how a strategy's position is moved toward the position it wants.

`move(strategy, target, bar)` is called at a bar's close with the target (a signed whole
number of lots, from a sizer); it places, replaces or cancels the model's own orders and
returns whether it still has work to do. It returns False once the position is at the
target, and also when one of its orders was rejected (insufficient funds, a CNC short): it
then waits for a new target rather than repeat a refused order on every bar. A new target
starts the model afresh (its open orders are cancelled first).

- `MarketNow`: one market order for the whole difference.
- `LimitAtOffset`: a limit order `offset` ticks (or percent) better than the bar's close:
  a buy below it, rounded DOWN to the tick, a sell above it, rounded UP, so the price is
  never on the wrong side of the offset. Re-placed at each close until it fills (and after
  a DAY order expires).
- `SlicedOverBars`: the difference as market orders over `slices` bars, in whole lots: the
  same number of lots a bar, the remainder in the last slice (with fewer lots than slices,
  one lot a bar). The last slice trades whatever is left to the target, so a slice that
  filled only in part is made up there (and after it, what is still missing goes as one
  market order a bar, as `MarketNow`).

Orders carry the `options` given to `move` (`product`, `tag`, `symbol`: `buy`'s keywords).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from engine.domain.enums import Side
from engine.domain.orders import OrderStatus
from engine.strategy.base import BarView, OrderOptions, Strategy
from engine.strategy.params import Param
from engine.strategy.requests import OrderHandle
from strategies.sdk.components import Component, lot_size, tick_size
from strategies.sdk.sizing import as_decimal


class ExecutionModel(Component):
    """Moves the position toward a target; see the module docstring."""

    role = "execution"

    def reset(self) -> None:
        self._orders: list[OrderHandle] = []
        self._target: int | None = None
        self._refused = False

    def move(
        self, strategy: Strategy, target: int, bar: BarView, options: OrderOptions | None = None
    ) -> bool:
        """Work toward `target` at the close of `bar`; True while there is work left.
        `options` are keyword arguments for every order (`{"product": "MIS"}`)."""
        options = {} if options is None else options
        if target != self._target:
            self.cancel(strategy)
            self._target, self._refused = target, False
            self.start(strategy, target, bar, options)
        if self._refused or any(h.status is OrderStatus.REJECTED for h in self._orders):
            self._refused = True
            self.cancel(strategy)
            return False
        if self.step(strategy, target, bar, options):
            return not any(h.status is OrderStatus.REJECTED for h in self._orders)
        return False

    def start(self, strategy: Strategy, target: int, bar: BarView, options: OrderOptions) -> None:
        """A new target: plan (the model's open orders are already cancelled)."""

    def step(self, strategy: Strategy, target: int, bar: BarView, options: OrderOptions) -> bool:
        """Place what this bar needs; True while the target is not reached."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def cancel(self, strategy: Strategy) -> None:
        """Cancel what is left of the model's open orders."""
        for handle in self._orders:
            if handle.is_open:
                handle.cancel()
        self._orders = []

    def open_orders(self) -> list[OrderHandle]:
        return [h for h in self._orders if h.is_open]

    @staticmethod
    def held(strategy: Strategy, options: OrderOptions) -> int:
        symbol = options.get("symbol")
        view = strategy.position if symbol is None else strategy.position_of(symbol)
        return view.quantity

    def _send(
        self,
        strategy: Strategy,
        quantity: int,
        options: OrderOptions,
        price: Decimal | None = None,
    ) -> OrderHandle | None:
        """Buy (quantity > 0) or sell (< 0) `abs(quantity)`; a limit at `price` if given."""
        if quantity == 0:
            return None
        order = strategy.buy if quantity > 0 else strategy.sell
        merged: OrderOptions = {**options, "price": price}
        handle = order(abs(quantity), **merged)
        self._orders.append(handle)
        return handle


class MarketNow(ExecutionModel):
    """One market order for the whole difference (fills at the next bar's open in a
    backtest); what a partial fill leaves is cancelled and sent again at the next close."""

    def step(self, strategy: Strategy, target: int, bar: BarView, options: OrderOptions) -> bool:
        self.cancel(strategy)
        delta = target - self.held(strategy, options)
        self._send(strategy, delta, options)
        return delta != 0


class LimitAtOffset(ExecutionModel):
    """A limit order `offset` away from the close, on the tick, on the better side."""

    offset = Param(2.0, min=0.0, max=100_000.0, help="distance from the close (see unit)")
    unit = Param("ticks", choices=("ticks", "percent"), help="ticks of the instrument or %")

    def reset(self) -> None:
        super().reset()
        self._working: tuple[OrderHandle, int, Decimal] | None = None

    @property
    def working(self) -> tuple[OrderHandle, int, Decimal] | None:
        """The limit order placed last: (its handle, signed quantity, limit price)."""
        return self._working

    def limit_price(self, side: Side, close: float | Decimal, tick: Decimal) -> Decimal:
        """The limit for `side` against a bar closing at `close`: a buy at close - offset
        rounded down to the tick, a sell at close + offset rounded up; at least one tick."""
        reference = as_decimal(close)
        offset = as_decimal(self.offset)
        distance = offset * tick if self.unit == "ticks" else reference * offset / 100
        buy = side is Side.BUY
        raw = reference - distance if buy else reference + distance
        ticks = (raw / tick).to_integral_value(rounding=ROUND_FLOOR if buy else ROUND_CEILING)
        return max(ticks * tick, tick)

    def step(self, strategy: Strategy, target: int, bar: BarView, options: OrderOptions) -> bool:
        delta = target - self.held(strategy, options)
        if delta == 0:
            self.cancel(strategy)
            return False
        side = Side.BUY if delta > 0 else Side.SELL
        price = self.limit_price(side, bar.close, tick_size(strategy, options.get("symbol")))
        working = self._working
        if working is not None and working[0].is_open and working[1:] == (delta, price):
            return True  # the order that is working is still the right one
        self.cancel(strategy)
        handle = self._send(strategy, delta, options, price)
        self._working = None if handle is None else (handle, delta, price)
        return True

    def cancel(self, strategy: Strategy) -> None:
        super().cancel(strategy)
        self._working = None


def plan_slices(total: int, lot_size: int, slices: int) -> list[int]:
    """`total` (signed shares, whole lots) cut into at most `slices` market orders of whole
    lots: the same number of lots each, the remainder in the last; never an empty slice.
    The slices sum to `total`."""
    if total == 0:
        return []
    lots = abs(total) // lot_size
    count = max(1, min(slices, lots))
    each = lots // count
    sizes = [each * lot_size] * (count - 1)
    sizes.append(abs(total) - sum(sizes))
    sign = 1 if total > 0 else -1
    return [sign * size for size in sizes]


class SlicedOverBars(ExecutionModel):
    """The difference as market orders over `slices` bars (see `plan_slices`)."""

    slices = Param(4, min=1, max=1000, help="bars the change is spread over")

    def reset(self) -> None:
        super().reset()
        self._plan: list[int] = []
        self._next = 0

    def start(self, strategy: Strategy, target: int, bar: BarView, options: OrderOptions) -> None:
        lot = _lot_of(strategy, options)
        self._plan = plan_slices(target - self.held(strategy, options), lot, self.slices)
        self._next = 0

    def step(self, strategy: Strategy, target: int, bar: BarView, options: OrderOptions) -> bool:
        self.cancel(strategy)  # what an earlier slice did not fill goes into the last one
        if self._next >= len(self._plan):  # all sent, the last not filled in full: as MarketNow
            delta = target - self.held(strategy, options)
            self._send(strategy, delta, options)
            return delta != 0
        last = self._next == len(self._plan) - 1
        size = target - self.held(strategy, options) if last else self._plan[self._next]
        self._next += 1
        self._send(strategy, size, options)
        return not last or size != 0


def _lot_of(strategy: Strategy, options: OrderOptions) -> int:
    return lot_size(strategy, options.get("symbol"))
