"""What a backtest returns: exact trades, the equity curve, and metrics computed on demand.

A result crosses process boundaries as it is (a worker runs the backtest, the GUI shows it):
its fields are dataclasses, Decimals and numpy arrays. What is built on first use, so that a
run in this process stays lean (the trades, the order log, metrics, the weekly verdict), is
built when the result is pickled (`materialise`): the process that ran the backtest pays for
it, not the one that shows it, and the lazy sources travel as the built lists (`Built`),
never as the run's live objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Generic, Self, TypeVar

import numpy as np
import numpy.typing as npt

from engine.backtest.config import BacktestConfig
from engine.domain.enums import Product
from engine.execution.portfolio import TradeRecord
from engine.heap import collector_paused
from engine.ist import ist_datetime, ist_datetimes, ns_of
from engine.metrics import (
    EquityCurve,
    Metrics,
    TradeArrays,
    WeeklyReport,
    WeeklyTarget,
    compute_metrics,
    evaluate_weekly,
)

T = TypeVar("T")
Int64Array = npt.NDArray[np.int64]


def _rupees(paise: int) -> Decimal:
    return Decimal(paise).scaleb(-2)  # exact, two decimals: 99040 -> 990.40


NS_PER_SECOND = 1_000_000_000
_new_object = object.__new__


def curve_paise(rupees: npt.NDArray[np.float64]) -> Int64Array:
    """An equity curve's exact paise: the runner sums int64 paise and divides by 100 once, so
    rounding back is exact for any amount below 2**53 paise (Rs 90 lakh crore)."""
    return np.rint(rupees * 100.0).astype(np.int64)


def equity_curve_json(curve: EquityCurve) -> dict[str, Any]:
    """The per-bar equity curve in compact columns: one sample per bar close of the merged
    timeline, exact integer paise (net and before costs), times as UTC epoch seconds (or
    nanoseconds when a bar is not on a whole second). Column arrays, not a record per bar:
    a million bars stay tens of megabytes and load straight into numpy or pandas."""
    ts = curve.timestamps
    whole_seconds = not bool(np.any(ts % NS_PER_SECOND))
    return {
        "samples": len(curve),
        "per": "bar",
        "time_unit": "s" if whole_seconds else "ns",
        "money_unit": "paise",
        "ts": (ts // NS_PER_SECOND if whole_seconds else ts).tolist(),
        "equity": curve_paise(curve.equity).tolist(),
        "gross_equity": curve_paise(curve.gross_equity).tolist(),
    }


@dataclass(frozen=True)
class Trade:
    """One round trip (FIFO-matched): prices and money in exact rupees, times in IST."""

    symbol: str
    side: str  # "long" or "short"
    product: Product
    quantity: int
    entry_bar: int
    entry_time: datetime
    entry_price: Decimal
    exit_bar: int
    exit_time: datetime
    exit_price: Decimal
    gross_pnl: Decimal
    charges: Decimal
    net_pnl: Decimal

    @classmethod
    def from_record(
        cls,
        r: TradeRecord,
        entry_bar: int,
        exit_bar: int,
        entry_time: datetime | None = None,
        exit_time: datetime | None = None,
    ) -> Trade:
        """A portfolio's round trip, with the bars of its instrument it opened and closed on
        (and its times in IST when the caller converted many at once: `ist_datetimes`).

        A run builds one per round trip, so the fields go straight into the new instance's
        __dict__: the frozen dataclass's __init__ sets each through object.__setattr__
        (~2 us a trade); the Trade is the same."""
        gross = r.gross_pnl
        charges = r.charges
        trade = _new_object(cls)
        trade.__dict__.update(
            symbol=r.symbol,
            side="long" if r.long else "short",
            product=r.product,
            quantity=r.quantity,
            entry_bar=entry_bar,
            entry_time=ist_datetime(r.entry_ts) if entry_time is None else entry_time,
            entry_price=Decimal(r.entry_price).scaleb(-2),  # _rupees, without a call
            exit_bar=exit_bar,
            exit_time=ist_datetime(r.exit_ts) if exit_time is None else exit_time,
            exit_price=Decimal(r.exit_price).scaleb(-2),
            gross_pnl=Decimal(gross).scaleb(-2),
            charges=Decimal(charges).scaleb(-2),
            net_pnl=Decimal(gross - charges).scaleb(-2),  # TradeRecord.net_pnl
        )
        return trade

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "side": self.side,
            "product": str(self.product),
            "quantity": self.quantity,
            "entry_time": self.entry_time.isoformat(),
            "entry_price": str(self.entry_price),
            "exit_time": self.exit_time.isoformat(),
            "exit_price": str(self.exit_price),
            "gross_pnl": str(self.gross_pnl),
            "charges": str(self.charges),
            "net_pnl": str(self.net_pnl),
        }


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """Every order the run saw, as it ended: what was asked, when, and what became of it."""

    order_id: str
    symbol: str
    placed_bar: int
    side: str
    quantity: int
    order_type: str
    product: str
    status: str
    filled: int
    message: str
    tag: str


class Built(Generic[T]):
    """A lazy source's list once built: what a trade or order source pickles as."""

    def __init__(self, items: list[T]) -> None:
        self.items = items

    def __call__(self) -> list[T]:
        return self.items


class TradeSource:
    """Builds the run's Trades on first use (the run itself stays lean). Pickled, it becomes
    the built list: another process gets the trades, not the records and bar times.

    Whatever is per trade is done in arrays where it can be: the bars of all of a symbol's
    trades in one search, their IST times in one conversion (`ist_datetimes`), and the
    metrics' inputs straight from the records' paise and nanoseconds (`trade_arrays`)."""

    def __init__(self, records: list[TradeRecord], ts_of: dict[str, Int64Array]) -> None:
        self.records = records
        self.ts_of = ts_of
        self.built: list[Trade] | None = None
        self.times: tuple[Int64Array, Int64Array] | None = None

    def _times(self) -> tuple[Int64Array, Int64Array]:
        """Every trade's entry and exit time (UTC ns); read once, for the trades and the
        metrics alike."""
        if self.times is None:
            records, n = self.records, len(self.records)
            entry_ns = np.fromiter((r.entry_ts for r in records), np.int64, n)
            exit_ns = np.fromiter((r.exit_ts for r in records), np.int64, n)
            entry_ns.flags.writeable = exit_ns.flags.writeable = False  # shared: read only
            self.times = entry_ns, exit_ns
        return self.times

    def __call__(self) -> list[Trade]:
        if self.built is None:
            # tens of thousands of acyclic records (Trades, datetimes, Decimals): the cyclic
            # collector would rescan the run's objects between them (as in the run itself)
            with collector_paused():
                self.built = self._build()
        return self.built

    def _build(self) -> list[Trade]:
        records = self.records
        entry_ns, exit_ns = self._times()
        entry_bars = np.zeros(len(records), np.int64)
        exit_bars = np.zeros(len(records), np.int64)
        rows: dict[str, list[int]] = {}
        for n, r in enumerate(records):
            rows.setdefault(r.symbol, []).append(n)
        for symbol, mine in rows.items():  # each trade's bars, per symbol in one search
            ts = self.ts_of[symbol]
            at = np.array(mine, np.int64)
            entry_bars[at] = np.searchsorted(ts, entry_ns[at])
            exit_bars[at] = np.searchsorted(ts, exit_ns[at])
        return [
            Trade.from_record(r, entry_bar, exit_bar, entry_time, exit_time)
            for r, entry_bar, exit_bar, entry_time, exit_time in zip(
                records,
                entry_bars.tolist(),
                exit_bars.tolist(),
                ist_datetimes(entry_ns),
                ist_datetimes(exit_ns),
                strict=True,
            )
        ]

    def trade_arrays(self) -> TradeArrays:
        """The metrics' view of the trades, from the exact paise and times of the records:
        equal to `TradeArrays.from_decimals` of the built Trades (exact P&L, charges and
        times), without a Decimal or a datetime per trade."""
        records, n = self.records, len(self.records)
        entry_ns, exit_ns = self._times()
        return TradeArrays.from_paise(
            np.fromiter((r.gross_pnl for r in records), np.int64, n),
            np.fromiter((r.charges for r in records), np.int64, n),
            entry_ns,
            exit_ns,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Built, (self(),))


@dataclass(frozen=True, eq=False)
class BacktestResult:
    strategy: str
    params: dict[str, Any]
    config: BacktestConfig
    symbols: list[str]
    trade_source: Callable[[], list[Trade]]  # built on first use: the run itself stays lean
    curve: EquityCurve
    final_equity_paise: int
    total_charges_paise: int
    traded_value_paise: int
    bars: int
    orders: int
    rejections: list[str]  # the first messages only (MAX_REJECTIONS_KEPT); see rejected_orders
    open_positions: dict[str, int]
    run_seconds: float
    order_source: Callable[[], list[OrderRecord]] = list
    unrealized_paise: dict[str, int] = field(default_factory=dict)  # open positions at the end
    rejected_orders: int = 0  # every rejected order, however many messages were kept
    # Charges by where the ledger booked them; closed + open = total_charges_paise exactly.
    # Each fill carries what it added to its contract note (day, scrip: priced and rounded as
    # a whole), split by quantity over the FIFO lots it closes and the lot it opens.
    closed_charges_paise: int = 0  # on closed trades (the sum of Trade.charges)
    open_charges_paise: dict[str, int] = field(default_factory=dict)  # on still-open lots
    timeframes: list[str] = field(default_factory=list)  # bar size of each symbol's series
    weekly_target: WeeklyTarget = field(default_factory=WeeklyTarget)
    # one per exchange whose bars lie on dates no holiday list covers (provisional sessions)
    calendar_warnings: list[str] = field(default_factory=list)

    def materialise(self) -> Self:
        """Build the trades, order log, per-symbol sums, metrics and weekly verdict now (each
        is kept); pickling does this first, so a copy carries them ready to show."""
        for part in ("trades", "order_log", "by_symbol", "metrics", "weekly"):
            getattr(self, part)
        return self

    def __getstate__(self) -> dict[str, Any]:
        return self.materialise().__dict__

    @cached_property
    def trades(self) -> list[Trade]:
        """Closed round trips in the order they closed."""
        return self.trade_source()

    @cached_property
    def by_symbol(self) -> dict[str, dict[str, Any]]:
        """Per instrument: closed trades' gross/charges/net P&L, and the open position's
        unrealized P&L at the last close (gross of the exit charges it would pay) and the
        charges already booked on it."""
        out: dict[str, dict[str, Any]] = {}
        for symbol in self.symbols:
            mine = [t for t in self.trades if t.symbol == symbol]
            out[symbol] = {
                "trades": len(mine),
                "gross_pnl": str(sum((t.gross_pnl for t in mine), Decimal("0.00"))),
                "charges": str(sum((t.charges for t in mine), Decimal("0.00"))),
                "net_pnl": str(sum((t.net_pnl for t in mine), Decimal("0.00"))),
                "open_quantity": sum(
                    q for key, q in self.open_positions.items() if key.split("/")[0] == symbol
                ),
                "unrealized_pnl": str(_rupees(self.unrealized_paise.get(symbol, 0))),
                "open_charges": str(_rupees(self.open_charges_paise.get(symbol, 0))),
            }
        return out

    @cached_property
    def order_log(self) -> list[OrderRecord]:
        """Every order, as it ended (rejected ones included)."""
        return self.order_source()

    @property
    def final_equity(self) -> Decimal:
        return _rupees(self.final_equity_paise)

    @property
    def total_charges(self) -> Decimal:
        """Every rupee of charges the run paid: closed_charges + open_charges."""
        return _rupees(self.total_charges_paise)

    @property
    def closed_charges(self) -> Decimal:
        return _rupees(self.closed_charges_paise)

    @property
    def open_charges(self) -> Decimal:
        """Charges booked on lots still open at the end. Can be negative: a CNC buy on a day
        the same scrip was sold from CNC makes that quantity intraday at Zerodha (lower STT,
        no DP), so the day's contract note shrinks and the buy carries the credit."""
        return _rupees(sum(self.open_charges_paise.values()))

    @cached_property
    def metrics(self) -> Metrics:
        source = self.trade_source
        if isinstance(source, TradeSource):  # this process ran it: the records' paise and ns
            trades = source.trade_arrays()
        else:
            trades = TradeArrays.from_decimals(
                [t.gross_pnl for t in self.trades],
                [t.charges for t in self.trades],
                [ns_of(t.entry_time) for t in self.trades],  # exact: no float seconds
                [ns_of(t.exit_time) for t in self.trades],
            )
        return compute_metrics(
            self.curve,
            trades,
            self.config.capital,
            traded_value=_rupees(self.traded_value_paise),
        )

    @cached_property
    def weekly(self) -> WeeklyReport:
        return evaluate_weekly(self.curve, self.config.capital, self.weekly_target)

    def as_json(self, *, curve: bool = True) -> dict[str, Any]:
        """The documented report; identical for identical input except `run_seconds`.
        `curve=False` leaves out the per-bar equity curve (the run history keeps it as
        arrays; a million bars cost ~0.1 s and tens of MB as lists)."""
        report = {
            "strategy": self.strategy,
            "params": {k: str(v) if isinstance(v, Decimal) else v for k, v in self.params.items()},
            "symbols": self.symbols,
            "config": {
                "capital": str(self.config.capital),
                "costs": self.config.costs,
                "slippage_bps": str(self.config.slippage_bps),
                "fill": str(self.config.fill),
            },
            "trades": [t.as_json() for t in self.trades],
            "metrics": self.metrics.as_json(),
            "weekly": self.weekly.as_json(),
            "final_equity": str(self.final_equity),
            "total_charges": str(self.total_charges),
            "closed_trade_charges": str(self.closed_charges),
            "open_position_charges": str(self.open_charges),
            "open_positions": self.open_positions,
            "by_symbol": self.by_symbol,
            "orders": self.orders,
            "rejected_orders": self.rejected_orders,
            "rejections": self.rejections,
            "bars": self.bars,
            "timeframes": dict(zip(self.symbols, self.timeframes, strict=True)),
            "warnings": self.calendar_warnings,
            "run_seconds": round(self.run_seconds, 6),
        }
        if curve:
            report["equity_curve"] = equity_curve_json(self.curve)
        return report
