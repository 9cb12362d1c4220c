"""What the composable SDK parts share: declared parameters, and the account a sizer reads.

A part (a `Signal`, a `RiskSizer`, an `ExecutionModel`) declares `Param`s exactly as a
strategy does, and is given their values when it is made: `MovingAverageCross(fast=12)`.
Values are coerced and range-checked by the same code as a strategy's (`--param` text
included), and read-only afterwards. A `ComposedStrategy` shows each part's parameters as its
own, prefixed with the part's role (`signal_fast`, `sizer_percent`), so forms, the optimiser
and `artha strategies list` see them.

`Account` is what a sizer needs to know about the money: cash, equity and how much a new
position in one instrument may be worth, with the instrument's lot and tick. `account_of`
reads it from the run a strategy is attached to (backtest, replay or live: the one execution
host). All of it is Decimal rupees, worked out from the host's integer paise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Self

from engine.domain.instrument import Instrument
from engine.strategy.base import Strategy, StrategyError
from engine.strategy.params import ParamError, ParamSpec, declared_params, resolve_params


class Component:
    """Base of the SDK parts: `Param`s declared on the class, values given as keywords.

    `role` names the part's kind ("signal", "sizer", "execution"): a ComposedStrategy shows
    the part's parameter `fast` as `signal_fast`. Override `check()` to refuse combinations
    of values that each pass their own range (fast >= slow): raise `self.refuse(...)`.
    """

    role: ClassVar[str] = "part"

    def __init__(self, **params: object) -> None:
        self._configure(params, "")

    def _configure(self, params: Mapping[str, object], prefix: str) -> None:
        self.__dict__["_param_values"] = resolve_params(type(self), params)
        self.__dict__["_prefix"] = prefix
        self.check()
        self.reset()

    @classmethod
    def parameters(cls) -> list[ParamSpec]:
        return [p.spec() for p in declared_params(cls).values()]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.__dict__["_param_values"])

    def with_params(self, values: Mapping[str, object], prefix: str = "") -> Self:
        """A fresh part of this kind with `values` over this one's (a ComposedStrategy makes
        each instance's parts so); `prefix` is how its parameters are named in messages."""
        part = type(self).__new__(type(self))
        part._configure({**self.params, **values}, prefix)
        return part

    def reset(self) -> None:
        """Set up the part's working state (orders, plans); called when it is made."""

    def check(self) -> None:
        """Refuse combinations of parameter values (each already within its range)."""

    def refuse(self, message: str) -> ParamError:
        """A ParamError naming parameters as the user wrote them: `{fast}` in `message`
        becomes `signal_fast=30` in a ComposedStrategy, `fast=30` on its own."""
        values = self.__dict__["_param_values"]
        prefix = self.__dict__["_prefix"]
        named = {k: f"{prefix}{k}={v}" for k, v in values.items()}
        return ParamError(f"{type(self).__name__}: {message.format(**named)}")

    def setup(self, strategy: Strategy) -> None:
        """Called from the strategy's `init()`: compute indicators here with `strategy.I`."""

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({values})"


@dataclass(frozen=True, slots=True)
class Account:
    """The money a sizer may commit, in rupees, and the instrument's trading units.

    `equity` is cash plus the marked value of every open position (a short's value is
    negative: its sale proceeds are in the cash). `buying_power` is what a position in this
    instrument may be worth in full: equity less the margin other instruments' positions
    block (this instrument's own position is released when the target replaces it), less the
    strategy's reserve. Sizers never lever: a target's value at the price is at most
    `buying_power`, whatever the margin a product would allow.
    """

    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.05")

    def __post_init__(self) -> None:
        if self.lot_size < 1:
            raise ValueError(f"lot_size must be >= 1, got {self.lot_size}")
        if self.tick_size <= 0:
            raise ValueError(f"tick_size must be > 0, got {self.tick_size}")


def _instrument_of(strategy: Strategy, symbol: str | None) -> Instrument:
    try:
        return strategy.instrument if symbol is None else strategy.instrument_of(symbol)
    except StrategyError:
        raise StrategyError(
            "the account and the instrument's lot and tick are known only while the strategy "
            "runs (a backtest, a replay or a live session)"
        ) from None


def lot_size(strategy: Strategy, symbol: str | None = None) -> int:
    """The instrument's lot (1 for cash equity) in the run `strategy` is attached to."""
    return _instrument_of(strategy, symbol).lot_size


def tick_size(strategy: Strategy, symbol: str | None = None) -> Decimal:
    """The instrument's tick in rupees (0.05 for most NSE equity)."""
    return _instrument_of(strategy, symbol).tick_size


def account_of(
    strategy: Strategy, symbol: str | None = None, reserve: Decimal = Decimal(0)
) -> Account:
    """The account as it stands for `strategy` trading `symbol` (default: its instrument).

    Positions are marked at each instrument's last close. `reserve` (a fraction: 0.01 is
    1%) of the free equity is kept back from `buying_power`, for charges and for the move
    between the price a sizer sees and the fill. The figures are the host's
    (`Strategy.funds`), the same arithmetic the margin check uses.
    """
    instrument = _instrument_of(strategy, symbol)
    funds = strategy.funds(excluding=instrument.symbol)
    return Account(
        cash=funds.cash,
        equity=funds.equity,
        buying_power=funds.free * (1 - reserve),
        lot_size=instrument.lot_size,
        tick_size=instrument.tick_size,
    )
