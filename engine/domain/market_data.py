"""Bars and ticks: what strategies, charts and the store exchange about prices.

Timestamps are timezone-aware because the exchange runs on IST while laptops, brokers and
files use anything; a naive datetime is ambiguous and is refused at the door.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from engine.domain.money import optional_int, optional_positive_decimal, to_int, to_positive_decimal


def require_aware(value: object, field: str) -> datetime:
    """Refuse naive datetimes: the same wall-clock reading means different instants."""
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{field} must be timezone-aware, got naive {value.isoformat()}; "
            "attach a zone, e.g. ZoneInfo('Asia/Kolkata')"
        )
    return value


def require_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle; `ts` is the bar's OPEN time so a 09:15 1m bar covers 09:15-09:16."""

    symbol: str  # instrument key, e.g. "NSE:RELIANCE"
    timeframe: str  # "1m", "5m", "1d", ...
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int | None = None

    def __post_init__(self) -> None:
        require_text(self.symbol, "symbol")
        require_text(self.timeframe, "timeframe")
        require_aware(self.ts, "ts")
        for name in ("open", "high", "low", "close"):
            object.__setattr__(self, name, to_positive_decimal(getattr(self, name), name))
        to_int(self.volume, "volume", minimum=0)
        optional_int(self.oi, "oi", minimum=0)
        where = f"bar {self.symbol} {self.timeframe} at {self.ts.isoformat()}"
        if self.high < self.low:
            raise ValueError(f"{where}: high {self.high} is below low {self.low}")
        if self.high < max(self.open, self.close):
            raise ValueError(
                f"{where}: high {self.high} is below open {self.open} or close {self.close}"
            )
        if self.low > min(self.open, self.close):
            raise ValueError(
                f"{where}: low {self.low} is above open {self.open} or close {self.close}"
            )


@dataclass(frozen=True, slots=True)
class Tick:
    """A quote/trade update from a live feed; `volume` is the cumulative day volume."""

    symbol: str
    ts: datetime
    ltp: Decimal
    volume: int = 0
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_qty: int | None = None
    ask_qty: int | None = None
    oi: int | None = None

    def __post_init__(self) -> None:
        require_text(self.symbol, "symbol")
        require_aware(self.ts, "ts")
        object.__setattr__(self, "ltp", to_positive_decimal(self.ltp, "ltp"))
        object.__setattr__(self, "bid", optional_positive_decimal(self.bid, "bid"))
        object.__setattr__(self, "ask", optional_positive_decimal(self.ask, "ask"))
        to_int(self.volume, "volume", minimum=0)
        optional_int(self.bid_qty, "bid_qty", minimum=0)
        optional_int(self.ask_qty, "ask_qty", minimum=0)
        optional_int(self.oi, "oi", minimum=0)
