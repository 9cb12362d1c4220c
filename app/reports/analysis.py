"""What a results page shows of a run, computed once for the panel, the HTML report and CSV.

Every figure comes from the engine's own metrics functions (`compute_metrics`,
`var_cvar`, `drawdown_fractions`, the IST period helpers); this module only chooses the
conventions, lays the figures out as rows and groups returns by calendar month.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from engine.backtest import BacktestResult
from engine.backtest.result import TradeSource
from engine.ist import day_from_number, ist_day_numbers, ns_of
from engine.metrics import CurveMetrics, EquityCurve, Metrics, TradeArrays, compute_metrics
from engine.metrics.drawdown import drawdown_fractions
from engine.metrics.periods import chained_returns, last_per_key
from engine.metrics.returns import TRADING_DAYS_PER_YEAR, var_cvar
from engine.metrics.trades import TradeMetrics

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Conventions:
    """How the risk figures are measured; shown beside them because they change them."""

    periods_per_year: int = TRADING_DAYS_PER_YEAR  # daily returns annualised with sqrt(this)
    risk_free_rate: float = 0.0  # annual fraction (0.065 = 6.5%)
    var_level: float = 0.95  # historical VaR / CVaR confidence

    def __post_init__(self) -> None:
        if self.periods_per_year <= 0:
            raise ValueError(f"sessions per year must be > 0, got {self.periods_per_year}")
        if not -1 < self.risk_free_rate < 1:
            raise ValueError(
                f"risk-free rate must be a fraction in (-1, 1), got {self.risk_free_rate}"
            )
        if not 0.5 <= self.var_level < 1:
            raise ValueError(f"VaR level must be in [0.5, 1), got {self.var_level}")

    def describe(self) -> list[tuple[str, str]]:
        """The conventions as (name, value) lines, as the results page prints them."""
        return [
            ("Returns", "daily (last equity of each IST session)"),
            ("Annualised over", f"{self.periods_per_year} sessions a year"),
            ("Risk-free rate", f"{self.risk_free_rate * 100:.2f}% a year"),
            ("VaR / CVaR", f"historical, {self.var_level * 100:g}% daily"),
        ]


def trade_arrays(result: BacktestResult) -> TradeArrays:
    """The metrics' view of the trades, as `BacktestResult.metrics` builds it."""
    source = result.trade_source
    if isinstance(source, TradeSource):
        return source.trade_arrays()
    trades = result.trades
    return TradeArrays.from_decimals(
        [t.gross_pnl for t in trades],
        [t.charges for t in trades],
        [ns_of(t.entry_time) for t in trades],
        [ns_of(t.exit_time) for t in trades],
    )


def daily_var(
    curve_equity: FloatArray, timestamps: IntArray, capital: float, level: float
) -> tuple[float | None, float | None]:
    """Historical VaR and CVaR of the daily returns at `level` (the engine's `var_cvar`)."""
    _, closes = last_per_key(ist_day_numbers(timestamps), curve_equity)
    daily = chained_returns(closes, capital)
    return var_cvar(daily[np.isfinite(daily)], level)


@dataclass(frozen=True)
class Figures:
    """The run's metrics under one set of conventions, with VaR at the chosen level."""

    metrics: Metrics
    conventions: Conventions
    var_gross: tuple[float | None, float | None]
    var_net: tuple[float | None, float | None]


def figures(
    result: BacktestResult, conventions: Conventions, trades: TradeArrays | None = None
) -> Figures:
    """The metrics of `result` under `conventions`; the defaults reuse the run's own."""
    if conventions == Conventions():
        metrics = result.metrics
    else:
        metrics = compute_metrics(
            result.curve,
            trades if trades is not None else trade_arrays(result),
            result.config.capital,
            conventions.periods_per_year,
            risk_free_rate=conventions.risk_free_rate,
            traded_value=Decimal(result.traded_value_paise).scaleb(-2),
        )
    capital = float(result.config.capital)
    curve = result.curve
    if conventions.var_level == 0.95:
        var_gross = (metrics.gross.var_95, metrics.gross.cvar_95)
        var_net = (metrics.net.var_95, metrics.net.cvar_95)
    else:
        var_gross = daily_var(curve.gross_equity, curve.timestamps, capital, conventions.var_level)
        var_net = daily_var(curve.equity, curve.timestamps, capital, conventions.var_level)
    return Figures(metrics, conventions, var_gross, var_net)


# --- the metrics table ------------------------------------------------------------------

Kind = str  # "pct", "ratio", "rupees", "days", "count"
Value = float | int | Decimal | None  # Decimal: exact rupees


@dataclass(frozen=True)
class MetricRow:
    """One line of the metrics table: the figure before costs and after, and how to read it."""

    label: str
    kind: Kind
    gross: Value
    net: Value
    note: str = ""
    better: str = "high"  # "high", "low" or "" (for colouring the difference)


def _curve_rows(gross: CurveMetrics, net: CurveMetrics, fig: Figures) -> list[MetricRow]:
    level = f"{fig.conventions.var_level * 100:g}%"

    def pair(get: Callable[[CurveMetrics], float | None]) -> tuple[float | None, float | None]:
        return get(gross), get(net)

    return [
        MetricRow(
            "Total return", "pct", *pair(lambda c: c.total_return), "from the initial capital"
        ),
        MetricRow("CAGR", "pct", *pair(lambda c: c.cagr), "365.25-day years"),
        MetricRow("Volatility", "pct", *pair(lambda c: c.volatility), "annualised", "low"),
        MetricRow("Sharpe", "ratio", *pair(lambda c: c.sharpe), "daily, annualised"),
        MetricRow("Sortino", "ratio", *pair(lambda c: c.sortino), "daily, annualised"),
        MetricRow("Calmar", "ratio", *pair(lambda c: c.calmar), "CAGR / max drawdown"),
        MetricRow(
            "Max drawdown", "pct", *pair(lambda c: c.drawdowns.deepest.depth), "of the peak", "low"
        ),
        MetricRow(
            "Max drawdown length",
            "days",
            *pair(lambda c: c.drawdowns.deepest.days),
            "calendar days",
            "low",
        ),
        MetricRow(
            "Longest drawdown",
            "days",
            *pair(lambda c: c.drawdowns.longest.days),
            "calendar days",
            "low",
        ),
        MetricRow(
            f"VaR {level}", "pct", fig.var_gross[0], fig.var_net[0], "daily loss, historical", "low"
        ),
        MetricRow(
            f"CVaR {level}", "pct", fig.var_gross[1], fig.var_net[1], "mean loss beyond VaR", "low"
        ),
    ]


def _trade_rows(gross: TradeMetrics, net: TradeMetrics) -> list[MetricRow]:
    return [
        MetricRow("Closed trades", "count", gross.trades, net.trades, "", ""),
        MetricRow("Win rate", "pct", gross.win_rate, net.win_rate, "winners / trades"),
        MetricRow(
            "Profit factor", "ratio", gross.profit_factor, net.profit_factor, "wins / |losses|"
        ),
        MetricRow("Expectancy", "rupees", gross.expectancy, net.expectancy, "mean P&L a trade"),
        MetricRow("Average win", "rupees", gross.average_win, net.average_win),
        MetricRow("Average loss", "rupees", gross.average_loss, net.average_loss),
    ]


def metric_rows(fig: Figures) -> list[MetricRow]:
    """The gross/net table: return and risk, then trades, then the run's totals."""
    m = fig.metrics
    rows = _curve_rows(m.gross, m.net, fig) + _trade_rows(m.gross_trades, m.net_trades)
    rows += [
        MetricRow(
            "Closed-trade P&L",
            "rupees",
            float(m.total_gross_pnl),
            float(m.total_net_pnl),
            "exact to the paisa",
        ),
        MetricRow("Charges on closed trades", "rupees", None, m.total_charges, "exact", "low"),
        MetricRow("Charges / gross P&L", "pct", None, m.costs_to_gross_pnl, "", "low"),
        MetricRow(
            "Time in market", "pct", m.time_in_market, m.time_in_market, "bars with a position", ""
        ),
        MetricRow(
            "Average exposure",
            "pct",
            m.average_exposure,
            m.average_exposure,
            "position / equity",
            "",
        ),
        MetricRow("Turnover", "ratio", m.turnover, m.turnover, "traded value / mean equity", ""),
        MetricRow(
            "Average holding",
            "days",
            m.average_holding_days,
            m.average_holding_days,
            "calendar days",
            "",
        ),
    ]
    return rows


def format_value(kind: Kind, value: Value) -> str:
    """A figure as the table prints it; undefined figures read as an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, Decimal):
        return rupees_text(value)
    if kind == "pct":
        return f"{value * 100:,.2f}%"
    if kind == "ratio":
        return f"{value:,.2f}"
    if kind == "days":
        if 0 < value < 1:  # intraday holds read better in hours and minutes
            return f"{value * 24:.1f} h" if value >= 1 / 24 else f"{value * 1440:.0f} min"
        return f"{value:,.1f} d"
    if kind == "count":
        return f"{int(value):,}"
    return rupees_text(value)


def rupees_text(value: float | int | Decimal) -> str:
    """Rupees with Indian grouping (1,23,456.78) and a ₹ sign; exact for a Decimal."""
    from app.commands.output import inr

    amount = value if isinstance(value, Decimal) else Decimal(str(round(float(value), 2)))
    return f"₹{inr(amount)}" if amount >= 0 else f"-₹{inr(-amount)}"


# --- curves and calendar returns -------------------------------------------------------


def drawdown_curve(curve: EquityCurve, capital: float) -> FloatArray:
    """Fraction below the running peak at every bar (0 = at a high), net of costs."""
    return drawdown_fractions(curve.equity, capital)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class MonthlyReturns:
    """Net returns by IST calendar month: `cells[year][month - 1]` (None: no bars that month),
    and each year's compounded return over its months with bars."""

    years: tuple[int, ...]
    cells: dict[int, list[float | None]]
    year_total: dict[int, float | None]

    def largest(self) -> float:
        """The largest absolute monthly return (the colour scale's end), at least 0.1%."""
        values = [abs(v) for row in self.cells.values() for v in row if v is not None]
        return max([0.001, *values])


def monthly_returns(curve: EquityCurve, capital: float) -> MonthlyReturns:
    """Each month's last equity over the previous month's (the first from the capital):
    the weekly badge's rule (engine.metrics.periods), by month instead of week."""
    days = ist_day_numbers(curve.timestamps)
    first_days, last_equity = last_per_key(days, curve.equity)  # daily closes first: cheap
    dates = [day_from_number(int(d)) for d in first_days.tolist()]
    keys = np.array([d.year * 12 + d.month - 1 for d in dates], dtype=np.int64)
    months, closes = last_per_key(keys, last_equity)
    returns = chained_returns(closes, capital)
    cells: dict[int, list[float | None]] = {}
    for key, value in zip(months.tolist(), returns.tolist(), strict=True):
        year, month = divmod(int(key), 12)
        row = cells.setdefault(year, [None] * 12)
        row[month] = None if math.isnan(value) else float(value)
    totals: dict[int, float | None] = {}
    for year, row in cells.items():
        growth = 1.0
        for value in row:
            if value is not None:
                growth *= 1.0 + value
        totals[year] = growth - 1.0
    years = tuple(sorted(cells))
    return MonthlyReturns(years, cells, totals)


def ist_date(ns: int) -> date:
    """The IST date of a UTC nanosecond time."""
    return day_from_number(int(ist_day_numbers(np.array([ns], dtype=np.int64))[0]))
