"""Return-based statistics: CAGR, volatility, Sharpe, Sortino, historical VaR and CVaR.

All inputs are fractions (0.01 = 1%). Anything a short or flat series cannot define is None,
never a NaN, an infinity from a zero division, or a numpy warning.
"""

from __future__ import annotations

import math

import numpy as np

from engine.metrics.inputs import FloatArray

NS_PER_YEAR = 365.25 * 86_400 * 10**9  # calendar year, leap days averaged in
TRADING_DAYS_PER_YEAR = 252  # NSE trades about 248-252 days a year
# A daily standard deviation below this is float noise of a flat curve, not risk: treating it
# as risk would turn a constant curve into a Sharpe of 1e15.
ZERO_VARIANCE = 1e-12
_MAX_EXPONENT = 700.0  # math.exp overflows a float just above 709


def cagr(initial: float, final: float, span_ns: int) -> float | None:
    """Compound annual growth from `initial` to `final` over `span_ns` of calendar time.

    None for a zero span (one sample). -1.0 when the account is wiped out (final <= 0).
    math.inf when compounding a tiny span overflows a float (e.g. +5% in one minute).
    """
    if span_ns <= 0:
        return None
    if final <= 0:
        return -1.0
    exponent = math.log(final / initial) * NS_PER_YEAR / span_ns
    if exponent > _MAX_EXPONENT:
        return math.inf
    return math.expm1(exponent)


def daily_risk_free(annual_rate: float, periods_per_year: int) -> float:
    """The per-period rate that compounds to `annual_rate` over a year of periods."""
    if annual_rate <= -1:
        raise ValueError(f"risk_free_rate must be > -1 (a fraction per year), got {annual_rate}")
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def volatility(returns: FloatArray, periods_per_year: int) -> float | None:
    """Annualised sample standard deviation (ddof=1); None below two returns."""
    if returns.size < 2:
        return None
    return float(np.std(returns, ddof=1)) * math.sqrt(periods_per_year)


def sharpe(returns: FloatArray, risk_free: float, periods_per_year: int) -> float | None:
    """mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year).

    None below two returns or with zero variance (a flat curve has no risk to reward).
    """
    if returns.size < 2:
        return None
    excess = returns - risk_free
    spread = float(np.std(excess, ddof=1))
    if spread <= ZERO_VARIANCE:
        return None
    return float(np.mean(excess)) / spread * math.sqrt(periods_per_year)


def sortino(returns: FloatArray, risk_free: float, periods_per_year: int) -> float | None:
    """mean(r - rf) / downside deviation * sqrt(periods_per_year).

    Downside deviation = sqrt(mean(min(r - rf, 0)^2)) over ALL periods (gains count as
    zero, they are not dropped), the usual target-downside form. None below two returns or
    when no period fell below the risk-free rate (no downside to divide by).
    """
    if returns.size < 2:
        return None
    excess = returns - risk_free
    downside = np.minimum(excess, 0.0)
    deviation = math.sqrt(float(np.mean(downside * downside)))
    if deviation <= ZERO_VARIANCE:
        return None
    return float(np.mean(excess)) / deviation * math.sqrt(periods_per_year)


def var_cvar(returns: FloatArray, level: float = 0.95) -> tuple[float | None, float | None]:
    """Historical value-at-risk and conditional VaR at `level`, as POSITIVE loss fractions.

    VaR = -(the (1 - level) quantile of returns, numpy's linear interpolation); CVaR =
    -(mean of the returns at or below that quantile). 0.02 means "a 2% loss". A negative
    value means even the tail days were gains. (None, None) without returns.
    """
    if returns.size == 0:
        return None, None
    quantile = float(np.percentile(returns, 100.0 * (1.0 - level)))
    tail = returns[returns <= quantile]
    return -quantile, -float(np.mean(tail))
