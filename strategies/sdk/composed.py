"""A strategy written as parts: Signal + RiskSizer + ExecutionModel.

    class Trend(ComposedStrategy):
        signal = MovingAverageCross(fast=10, slow=40)
        sizer = PercentOfEquity(percent=20)
        execution = LimitAtOffset(offset=1)

Each part's parameters become the strategy's own, named `<role>_<name>` (`signal_fast`,
`sizer_percent`, `execution_offset`), with the part's value as the default and its range:
`Strategy.parameters()`, the GUI's form, the optimiser, `--param signal_fast=12` and
`artha strategies list` all see them, and a bad value is refused with the prefixed name.
A part may instead be built in a method from the strategy's own `Param`s
(`build_signal()`, `build_sizer()`, `build_execution()`), for parameters shared by parts.

At the close of every bar (`on_bar`) the strategy reads the signal's strength; when it
changes, the sizer turns it into a target position (signed, whole lots, at the bar's close,
from the account as it stands: `account_of`), and the execution model moves the position
toward that target over the next bars until it is reached (or its order is refused). The
target is not recomputed while the strength stays the same, so equity drifting with the
price does not make the strategy trade, and a position the engine closed (the MIS square-off)
is not reopened until the signal changes.

Class settings: `product` ("MIS" for intraday and equity shorts; None: the run's),
`tag` (put on every order), `cash_reserve` (share of the free equity a sizer leaves unused,
for charges and the move to the fill: 1%), `trading_costs` (the slippage and cost model the
strategy asks to be judged with: `engine/backtest/config.py`). If you override `init()`,
call `super().init()` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import numpy as np

from engine.backtest.config import TradingCosts
from engine.strategy.base import BarView, OrderOptions, Strategy, StrategyError
from engine.strategy.params import Param, declared_params
from engine.strategy.series import Series
from strategies.sdk.components import Component, account_of
from strategies.sdk.execution_models import ExecutionModel, MarketNow
from strategies.sdk.signals import Signal
from strategies.sdk.sizing import RiskSizer

P = TypeVar("P", bound=Component)
_ROLES: dict[str, type[Component]] = {
    "signal": Signal,
    "sizer": RiskSizer,
    "execution": ExecutionModel,
}
_EXAMPLES = {
    "signal": "MovingAverageCross(fast=10, slow=30)",
    "sizer": "PercentOfEquity(percent=10)",
    "execution": "MarketNow()",
}


@dataclass(frozen=True, slots=True)
class Parts:
    """The parts one strategy instance trades with (its own copies, with its values)."""

    signal: Signal
    sizer: RiskSizer
    execution: ExecutionModel


class ComposedStrategy(Strategy):
    """Signal + RiskSizer + ExecutionModel as one strategy; see the module docstring."""

    signal: ClassVar[Signal | None] = None
    sizer: ClassVar[RiskSizer | None] = None
    execution: ClassVar[ExecutionModel | None] = MarketNow()
    product: ClassVar[str | None] = None
    tag: ClassVar[str] = ""
    cash_reserve: ClassVar[Decimal] = Decimal("0.01")
    trading_costs: ClassVar[TradingCosts | None] = None
    # exposed parameter name -> (role, the part's parameter name), filled per class
    part_params: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        exposed = dict(cls.part_params)
        for role, kind in _ROLES.items():
            if role not in cls.__dict__:
                continue
            part = cls.__dict__[role]
            if part is not None and not isinstance(part, kind):
                raise TypeError(
                    f"{cls.__name__}.{role} must be a {kind.__name__}, e.g. "
                    f"{role} = {_EXAMPLES[role]}; got {part!r}"
                )
            for name, (owner, _) in list(exposed.items()):  # a base's part was replaced
                if owner == role:
                    del exposed[name]
                    if name not in cls.__dict__:
                        setattr(cls, name, None)  # hides the base's Param (declared_params)
            if part is None:
                continue
            for name, param in declared_params(type(part)).items():
                full = f"{role}_{name}"
                if isinstance(cls.__dict__.get(full), Param):
                    raise TypeError(
                        f"{cls.__name__} declares {full} itself, but that is the name of "
                        f"its {role}'s parameter {name}: rename the Param"
                    )
                shown: Param[Any] = Param(
                    part.params[name],
                    min=param.minimum,
                    max=param.maximum,
                    step=param.step,
                    choices=param.choices,
                    help=f"{role} ({type(part).__name__}): {param.help}",
                )
                setattr(cls, full, shown)
                shown.__set_name__(cls, full)
                exposed[full] = (role, name)
        cls.part_params = exposed

    def __init__(self, params: Mapping[str, object] | None = None) -> None:
        super().__init__(params)
        self.parts = Parts(self.build_signal(), self.build_sizer(), self.build_execution())
        self.strength: Series | None = None
        self.target = 0  # the position the execution model is working toward
        self._last_strength: float | None = None
        self._working = False

    # -- the parts (override to build them from your own Params) --------------------------
    def build_signal(self) -> Signal:
        return self._from_class("signal", Signal)

    def build_sizer(self) -> RiskSizer:
        return self._from_class("sizer", RiskSizer)

    def build_execution(self) -> ExecutionModel:
        return self._from_class("execution", ExecutionModel)

    def _from_class(self, role: str, kind: type[P]) -> P:
        template = getattr(type(self), role)
        if template is None:
            raise StrategyError(
                f"{self.display_name()} needs a {role}: set `{role} = {_EXAMPLES[role]}` on "
                f"the class or define build_{role}()"
            )
        assert isinstance(template, kind)
        values = {
            name: self.params[full]
            for full, (owner, name) in type(self).part_params.items()
            if owner == role
        }
        return template.with_params(values, prefix=f"{role}_")

    # -- the run --------------------------------------------------------------------------
    def init(self) -> None:
        strength = self.parts.signal.strength(self)
        if not isinstance(strength, Series) or len(strength.full()) != self.data.size:
            raise StrategyError(
                f"{type(self.parts.signal).__name__}.strength() must return a Series with "
                f"one value per bar (made with strategy.I), got {strength!r}"
            )
        self.strength = strength
        self.parts.sizer.setup(self)
        self.parts.execution.setup(self)

    def on_bar(self, bar: BarView) -> None:
        assert self.strength is not None, "ComposedStrategy.init() was not called"
        strength = float(self.strength[-1])
        if not np.isfinite(strength):
            strength = 0.0
        if strength != self._last_strength:
            self._last_strength = strength
            account = account_of(self, reserve=self.cash_reserve)
            target = self.parts.sizer.quantity(strength, bar.close, account)
            if target != self.target or target != self.position.quantity:
                self.target = target
                self._working = True
        if self._working:
            self._working = self.parts.execution.move(self, self.target, bar, self.order_options())

    def order_options(self) -> OrderOptions:
        """The keyword arguments every order of the strategy carries."""
        options: OrderOptions = {}
        if self.product is not None:
            options["product"] = self.product
        if self.tag:
            options["tag"] = self.tag
        return options
