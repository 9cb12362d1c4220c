"""Performance metrics of a backtest, gross and net of costs, from the runner's arrays.

Conventions (shown in the results table, so they are part of the contract):
- Returns, drawdowns, VaR, exposure and cost ratios are fractions: 0.05 means 5%.
- Total return and CAGR start from the initial capital. CAGR compounds over calendar time
  from the first to the last sample (365.25-day years), so a backtest's first bar is not
  annualised over time before it; it is None for a single sample.
- Sharpe, Sortino, volatility, VaR and CVaR use DAILY returns: equity is resampled to its
  last sample on each IST date that has bars (days without bars are skipped, not zero), the
  first day measured from the initial capital. They are annualised with sqrt(252) unless
  `periods_per_year` says otherwise (365 for a market that trades every day). The annual
  risk-free rate (0 by default) is turned into a compounding daily rate.
- Calmar = CAGR / max drawdown; None without a drawdown.
- VaR/CVaR (95%, historical) are positive loss fractions; see `returns.var_cvar`.
- Undefined figures are None (JSON null), never NaN; profit factor is math.inf when there
  are wins but no losses, written to JSON as null with `profit_factor_infinite: true`.
- Money totals (P&L, charges) are exact Decimals taken from `TradeArrays`; they cover closed
  trades only, so they differ from the equity change by any position still open at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from engine.domain.money import to_decimal, to_positive_decimal
from engine.ist import NS_PER_DAY, ist_day_numbers
from engine.metrics.drawdown import Drawdowns, drawdowns
from engine.metrics.inputs import EquityCurve, FloatArray, IntArray, TradeArrays
from engine.metrics.jsonable import Json, instant, money, number
from engine.metrics.periods import chained_returns, last_per_key
from engine.metrics.returns import (
    NS_PER_YEAR,
    TRADING_DAYS_PER_YEAR,
    cagr,
    daily_risk_free,
    sharpe,
    sortino,
    var_cvar,
    volatility,
)
from engine.metrics.trades import TradeMetrics, trade_metrics


@dataclass(frozen=True)
class CurveMetrics:
    """What one equity curve (net or gross) says about return and risk."""

    total_return: float
    cagr: float | None
    volatility: float | None  # annualised standard deviation of daily returns
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    drawdowns: Drawdowns
    var_95: float | None
    cvar_95: float | None

    @property
    def max_drawdown(self) -> float:
        return self.drawdowns.max_drawdown

    def as_json(self) -> dict[str, Json]:
        deepest, longest = self.drawdowns.deepest, self.drawdowns.longest
        return {
            "total_return": number(self.total_return),
            "cagr": number(self.cagr),
            "volatility": number(self.volatility),
            "sharpe": number(self.sharpe),
            "sortino": number(self.sortino),
            "calmar": number(self.calmar),
            "max_drawdown": number(deepest.depth),
            "max_drawdown_bars": deepest.bars,
            "max_drawdown_days": number(deepest.days),
            "max_drawdown_recovered": deepest.recovered,
            "longest_drawdown_depth": number(longest.depth),
            "longest_drawdown_bars": longest.bars,
            "longest_drawdown_days": number(longest.days),
            "longest_drawdown_recovered": longest.recovered,
            "var_95": number(self.var_95),
            "cvar_95": number(self.cvar_95),
        }


def _trades_json(stats: TradeMetrics) -> dict[str, Json]:
    infinite = stats.profit_factor == math.inf
    return {
        "win_rate": number(stats.win_rate),
        "profit_factor": number(stats.profit_factor),
        "profit_factor_infinite": infinite,
        "expectancy": number(stats.expectancy),
        "average_win": number(stats.average_win),
        "average_loss": number(stats.average_loss),
    }


@dataclass(frozen=True)
class Metrics:
    """The metrics table of one backtest; `as_json()` is what `--json` writes."""

    start_ns: int
    end_ns: int
    bars: int
    trading_days: int  # IST dates with at least one sample
    initial_capital: Decimal
    final_equity: float
    net: CurveMetrics
    gross: CurveMetrics
    net_trades: TradeMetrics
    gross_trades: TradeMetrics
    total_gross_pnl: Decimal
    total_net_pnl: Decimal
    total_charges: Decimal
    costs_to_gross_pnl: float | None  # total charges / |total gross P&L|; None if that is 0
    time_in_market: float  # fraction of samples with a position (exposure > 0)
    average_exposure: float  # mean exposure over ALL samples, flat ones included
    turnover: float | None  # traded value / mean equity over the whole run; None if not given
    average_holding_days: float | None
    periods_per_year: int
    risk_free_rate: float  # annual

    @property
    def trades(self) -> int:
        return self.net_trades.trades

    def as_json(self) -> dict[str, Json]:
        return {
            "start": instant(self.start_ns),
            "end": instant(self.end_ns),
            "years": number((self.end_ns - self.start_ns) / NS_PER_YEAR),
            "bars": self.bars,
            "trading_days": self.trading_days,
            "initial_capital": money(self.initial_capital),
            "final_equity": number(self.final_equity),
            "trades": self.trades,
            "net": {**self.net.as_json(), **_trades_json(self.net_trades)},
            "gross": {**self.gross.as_json(), **_trades_json(self.gross_trades)},
            "total_gross_pnl": money(self.total_gross_pnl),
            "total_net_pnl": money(self.total_net_pnl),
            "total_charges": money(self.total_charges),
            "costs_to_gross_pnl": number(self.costs_to_gross_pnl),
            "time_in_market": number(self.time_in_market),
            "average_exposure": number(self.average_exposure),
            "turnover": number(self.turnover),
            "average_holding_days": number(self.average_holding_days),
            "periods_per_year": self.periods_per_year,
            "risk_free_rate": number(self.risk_free_rate),
        }


def _curve_metrics(
    timestamps: IntArray,
    days: IntArray,
    equity: FloatArray,
    capital: float,
    risk_free: float,
    periods_per_year: int,
) -> CurveMetrics:
    _, closes = last_per_key(days, equity)
    daily = chained_returns(closes, capital)
    daily = daily[np.isfinite(daily)]
    growth = cagr(capital, float(equity[-1]), int(timestamps[-1] - timestamps[0]))
    found = drawdowns(timestamps, equity, capital)
    var, cvar = var_cvar(daily)
    calmar = None
    if growth is not None and math.isfinite(growth) and found.max_drawdown > 0:
        calmar = growth / found.max_drawdown
    return CurveMetrics(
        total_return=float(equity[-1]) / capital - 1.0,
        cagr=growth,
        volatility=volatility(daily, periods_per_year),
        sharpe=sharpe(daily, risk_free, periods_per_year),
        sortino=sortino(daily, risk_free, periods_per_year),
        calmar=calmar,
        drawdowns=found,
        var_95=var,
        cvar_95=cvar,
    )


def compute_metrics(
    curve: EquityCurve,
    trades: TradeArrays,
    initial_capital: Decimal | int | str,
    periods_per_year: int | None = None,
    *,
    risk_free_rate: float = 0.0,
    traded_value: Decimal | int | str | None = None,
) -> Metrics:
    """All metrics of one run; see the module docstring for every convention.

    `periods_per_year` annualises the daily statistics (None: 252 NSE trading days).
    `risk_free_rate` is annual (0.065 = 6.5%). `traded_value` is the rupee value of every
    fill, buys and sells, open positions included; without it turnover is None.
    """
    capital_exact = to_positive_decimal(initial_capital, "initial_capital")
    capital = float(capital_exact)
    ppy = TRADING_DAYS_PER_YEAR if periods_per_year is None else periods_per_year
    if ppy <= 0:
        raise ValueError(f"periods_per_year must be > 0, got {ppy}")
    risk_free = daily_risk_free(risk_free_rate, ppy)
    ts = curve.timestamps
    days = ist_day_numbers(ts)
    gross = abs(trades.total_gross_pnl)
    mean_equity = float(np.mean(curve.equity))
    turnover = None
    if traded_value is not None and mean_equity > 0:
        turnover = float(to_decimal(traded_value, "traded_value")) / mean_equity
    holding = (trades.exit_ns - trades.entry_ns) / NS_PER_DAY
    return Metrics(
        start_ns=int(ts[0]),
        end_ns=int(ts[-1]),
        bars=len(curve),
        trading_days=int(np.count_nonzero(np.diff(days)) + 1),
        initial_capital=capital_exact,
        final_equity=float(curve.equity[-1]),
        net=_curve_metrics(ts, days, curve.equity, capital, risk_free, ppy),
        gross=_curve_metrics(ts, days, curve.gross_equity, capital, risk_free, ppy),
        net_trades=trade_metrics(trades.net_pnl),
        gross_trades=trade_metrics(trades.gross_pnl),
        total_gross_pnl=trades.total_gross_pnl,
        total_net_pnl=trades.total_net_pnl,
        total_charges=trades.total_charges,
        costs_to_gross_pnl=float(trades.total_charges / gross) if gross else None,
        time_in_market=float(np.count_nonzero(curve.exposure)) / len(curve),
        average_exposure=float(np.mean(curve.exposure)),
        turnover=turnover,
        average_holding_days=float(np.mean(holding)) if holding.size else None,
        periods_per_year=ppy,
        risk_free_rate=risk_free_rate,
    )
