"""How a backtest fills orders and charges for them; every choice is written down here.

Bar fill model (the documented contract):
- MARKET orders fill at the next bar's open (`fill="next-open"`, default) or at the close of
  the bar they were placed on (`fill="close"`).
- LIMIT/SL/SL-M orders trigger when the bar's high-low range reaches them. A bar that OPENS
  beyond the price (a gap) fills at the open: better than the limit for limits, worse than
  the trigger for stops. Otherwise limits fill at their price and stops at their trigger.
- SL (stop-limit): once triggered it fills at max(trigger, open) for buys (min for sells) if
  that is within the limit; otherwise it rests as a limit from the next bar.
- A bracket's `stop_loss`/`target` are prices; `stop_loss_points`/`target_points` (and
  `trail`) are rupee distances from the entry's fill. An exit must lie beyond the entry on
  its own side (a long's stop below, its target above): the order is rejected when it does
  not against the entry's limit price, trigger, or (market orders) the last close, and an
  exit the actual fill went past (a gap) is rejected when the legs are placed.
- When a bracket's stop and target are both inside one bar, the stop is assumed to have
  traded first (`stop_first=True`), the pessimistic reading; set False for the target.
- Slippage: none, `slippage_bps` (0 to 10,000; market and stop fills move against you,
  rounded to the tick), and/or `participation` (at most that fraction of a bar's volume
  per order per bar; the rest fills on later bars or expires with the order: partial fills).
- DAY orders expire at the end of the session they first become active in; IOC orders get
  one bar. Bracket exits and trailing stops stay until they fill or the position is closed.
- MIS positions are squared off at the open of the first bar at or after the day's cut-off
  (at the day's last close if no such bar exists, e.g. daily bars). The cut-off is that day's
  session close from the market calendar minus `squareoff_lead` (default 10 minutes: 15:20
  IST on a regular day, 18:50 in an 18:00-19:00 muhurat session); a bar on a day with no
  session in the calendar gets the regular close, 15:30 minus the lead. A position opened at
  or after the cut-off is squared off at its bar's close. Equity shorts are MIS only.
- A strategy may declare the costs and slippage it should be judged with:
  `trading_costs = TradingCosts(costs="bps", cost_bps=3, slippage_bps=2)` on its class. A
  run takes each of those the config leaves at its default (costs "zerodha" with no
  cost_bps, slippage 0, no participation cap); a value the config sets wins, and
  `strategy_costs=False` runs the config exactly as it is. The report shows what was used.
- Margin (simple, documented rule): an order is rejected when the cash left after blocking
  margin for open positions cannot cover it. Margin = notional x rate: CNC 100%, equity MIS
  20% (5x), futures 15%, long options 100% of premium, short options 15% of strike x qty.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from engine.domain.enums import Exchange, Product
from engine.execution.checks import MarginRates as MarginRates

MAX_SQUAREOFF_LEAD = timedelta(hours=3)
MAX_SLIPPAGE_BPS = Decimal(10_000)  # 100% of the price: beyond it a fill price turns negative
E = TypeVar("E", bound=StrEnum)


class BacktestInputError(ValueError):
    """The run cannot start: no bars, duplicate symbols, bad parameters or settings."""


class FillTiming(StrEnum):
    NEXT_OPEN = "next-open"
    CLOSE = "close"


@dataclass(frozen=True)
class BacktestConfig:
    capital: Decimal = Decimal("10000000")
    costs: str = "zerodha"  # "zerodha", "bps" or "none"
    cost_bps: Decimal | None = None  # for costs="bps"
    slippage_bps: Decimal = Decimal("0")
    participation: float | None = None  # max share of a bar's volume per order per bar
    fill: FillTiming = FillTiming.NEXT_OPEN
    stop_first: bool = True
    product: Product = Product.CNC  # for orders that do not name one
    exchange: Exchange = Exchange.NSE  # for symbols without instrument data
    squareoff_lead: timedelta = timedelta(minutes=10)  # MIS square-off before the close
    margin: MarginRates = field(default_factory=MarginRates)
    check_margin: bool = True
    strategy_costs: bool = True  # a strategy's TradingCosts fill the fields left at default
    # fields the user set on purpose (`--costs zerodha` is not "left at default"): a
    # strategy's TradingCosts never replaces them; names as in TradingCosts
    explicit: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "capital", _decimal(self.capital, "capital"))
        object.__setattr__(self, "slippage_bps", _decimal(self.slippage_bps, "slippage_bps"))
        object.__setattr__(self, "fill", _member(FillTiming, self.fill, "fill"))
        object.__setattr__(self, "product", _member(Product, self.product, "product"))
        if self.capital <= 0:
            raise BacktestInputError(f"capital must be > 0, got {self.capital}")
        if self.costs not in ("zerodha", "bps", "none"):
            raise BacktestInputError(f"costs must be zerodha, bps or none, got {self.costs!r}")
        if self.costs == "bps" and self.cost_bps is None:
            raise BacktestInputError("costs='bps' needs cost_bps")
        if not 0 <= self.slippage_bps <= MAX_SLIPPAGE_BPS:
            raise BacktestInputError(
                f"slippage_bps must be between 0 and {MAX_SLIPPAGE_BPS} basis points "
                f"({MAX_SLIPPAGE_BPS} bps = 100% of the price), got {self.slippage_bps:f}"
            )
        if self.participation is not None and not 0 < self.participation <= 1:
            raise BacktestInputError(f"participation must be in (0, 1], got {self.participation}")
        lead = self.squareoff_lead
        if not isinstance(lead, timedelta):
            raise BacktestInputError(
                f"squareoff_lead must be a datetime.timedelta (e.g. timedelta(minutes=10)), "
                f"got {type(lead).__name__} {lead!r}"
            )
        if not timedelta(0) <= lead < MAX_SQUAREOFF_LEAD:
            raise BacktestInputError(
                f"squareoff_lead must be >= 0 and < {MAX_SQUAREOFF_LEAD} before the session "
                f"close, got {lead}"
            )

    def for_strategy(self, preferred: object) -> BacktestConfig:
        """This config with the strategy's declared `TradingCosts` (its `trading_costs`
        class attribute; None for none) in the fields left at their defaults: the cost
        model (costs and cost_bps together), slippage_bps and participation."""
        if preferred is None or not self.strategy_costs:
            return self
        if not isinstance(preferred, TradingCosts):
            raise BacktestInputError(
                "a strategy's trading_costs must be a TradingCosts(costs=..., cost_bps=..., "
                f"slippage_bps=..., participation=...), got {preferred!r}"
            )
        changes: dict[str, object] = {}
        mine = self.explicit
        if (
            preferred.costs is not None
            and self.costs == "zerodha"
            and self.cost_bps is None
            and "costs" not in mine
        ):
            changes["costs"] = preferred.costs
            changes["cost_bps"] = preferred.cost_bps
        if (
            preferred.slippage_bps is not None
            and self.slippage_bps == 0
            and "slippage_bps" not in mine
        ):
            changes["slippage_bps"] = preferred.slippage_bps
        if (
            preferred.participation is not None
            and self.participation is None
            and "participation" not in mine
        ):
            changes["participation"] = preferred.participation
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]


@dataclass(frozen=True)
class TradingCosts:
    """The cost and slippage model a strategy asks to be run with (`trading_costs = ...` on
    its class); None leaves the run's value. The same meanings and limits as
    BacktestConfig's fields, checked when the class is made."""

    costs: str | None = None  # "zerodha", "bps" (with cost_bps) or "none"
    cost_bps: Decimal | None = None
    slippage_bps: Decimal | None = None
    participation: float | None = None

    def __post_init__(self) -> None:
        if self.cost_bps is not None:
            object.__setattr__(self, "cost_bps", _decimal(self.cost_bps, "cost_bps"))
            if self.costs != "bps":
                raise BacktestInputError("TradingCosts: cost_bps goes with costs='bps'")
        given = {
            name: value
            for name, value in (
                ("costs", self.costs),
                ("cost_bps", self.cost_bps),
                ("slippage_bps", self.slippage_bps),
                ("participation", self.participation),
            )
            if value is not None
        }
        checked = BacktestConfig(**given)  # type: ignore[arg-type]  # the same checks
        if self.slippage_bps is not None:
            object.__setattr__(self, "slippage_bps", checked.slippage_bps)


def _decimal(value: object, name: str) -> Decimal:
    """A finite Decimal; floats are read as the decimal they print as (0.1 is 0.1)."""
    try:
        if isinstance(value, float):
            number = Decimal(str(value))
        elif isinstance(value, Decimal | int | str):
            number = Decimal(value)
        else:
            raise TypeError(name)
    except (InvalidOperation, TypeError, ValueError):
        raise BacktestInputError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise BacktestInputError(f"{name} must be a finite number, got {value!r}")
    return number


def _member(kind: type[E], value: object, name: str) -> E:
    if isinstance(value, kind):
        return value
    for member in kind:
        if value == member.value:
            return member
    valid = ", ".join(member.value for member in kind)
    raise BacktestInputError(f"{name} must be one of {valid}, got {value!r}")
