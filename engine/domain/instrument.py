"""What can be traded, and the exchange rules (tick, lot) every order must respect."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from engine.domain.enums import Exchange, OptionType, Segment
from engine.domain.market_data import require_text
from engine.domain.money import (
    RoundingMode,
    is_on_tick,
    optional_int,
    optional_positive_decimal,
    round_to_tick,
    to_decimal,
    to_int,
    to_positive_decimal,
)


@dataclass(frozen=True, slots=True)
class Instrument:
    """An exchange-listed contract; `key` ("NSE:RELIANCE") is its id across the engine."""

    exchange: Exchange
    segment: Segment
    symbol: str  # the exchange trading symbol, e.g. "RELIANCE", "NIFTY24JUN23000CE"
    token: int | None = None  # broker's numeric instrument token, when known
    isin: str | None = None
    tick_size: Decimal = Decimal("0.05")
    lot_size: int = 1
    freeze_quantity: int | None = None  # largest single order the exchange accepts
    expiry: date | None = None
    strike: Decimal | None = None
    option_type: OptionType | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "exchange", Exchange(self.exchange))
        object.__setattr__(self, "segment", Segment(self.segment))
        require_text(self.symbol, "symbol")
        optional_int(self.token, "token", minimum=0)
        if self.isin is not None:
            require_text(self.isin, "isin")
        object.__setattr__(self, "tick_size", to_positive_decimal(self.tick_size, "tick_size"))
        to_int(self.lot_size, "lot_size", minimum=1)
        optional_int(self.freeze_quantity, "freeze_quantity", minimum=1)
        object.__setattr__(self, "strike", optional_positive_decimal(self.strike, "strike"))
        if self.option_type is not None:
            object.__setattr__(self, "option_type", OptionType(self.option_type))
        self._check_derivative_fields()

    def _check_derivative_fields(self) -> None:
        """Contracts without their expiry/strike cannot be priced, margined or reconciled."""
        if self.expiry is not None and (
            not isinstance(self.expiry, date) or isinstance(self.expiry, datetime)
        ):
            raise TypeError(f"{self.key}: expiry must be a date, got {self.expiry!r}")
        if self.segment is Segment.OPTIONS:
            missing = [
                name
                for name, value in (
                    ("expiry", self.expiry),
                    ("strike", self.strike),
                    ("option_type", self.option_type),
                )
                if value is None
            ]
            if missing:
                raise ValueError(f"option {self.key} needs {', '.join(missing)}")
            return
        if self.segment is Segment.FUTURES and self.expiry is None:
            raise ValueError(f"future {self.key} needs expiry")
        if self.strike is not None or self.option_type is not None:
            raise ValueError(
                f"{self.key} is {self.segment.name.lower()}, not an option: "
                f"strike={self.strike} and option_type={self.option_type} must be None"
            )

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.symbol}"

    def round_to_tick(self, price: Decimal | int | str, mode: RoundingMode = "nearest") -> Decimal:
        """The exchange rejects off-tick prices, so computed prices are snapped before use."""
        return round_to_tick(price, self.tick_size, mode)

    def is_valid_price(self, price: Decimal | int | str) -> bool:
        value = to_decimal(price, "price")
        return value > 0 and is_on_tick(value, self.tick_size)

    def check_quantity(self, quantity: int) -> None:
        """Raise unless `quantity` is a positive whole number of lots."""
        to_int(quantity, "quantity", minimum=1)
        if quantity % self.lot_size:
            raise ValueError(
                f"{self.key}: quantity {quantity} is not a multiple of the lot size {self.lot_size}"
            )
