"""The Engle-Granger cointegration test, many windows at once.

statsmodels' `coint(y, x, trend="c", maxlag=lags, autolag=None)` answers in about a
millisecond, almost all of it building model objects around two tiny least-squares fits;
a pairs strategy re-testing once a session over ten years asks ~2,700 times (1.3 s of a
run). Here the same two fits are done for a block of windows together in numpy, with the
same pseudo-inverse statsmodels uses, and the p-value from statsmodels' own MacKinnon (1994)
tables. tests/strategies/test_cointegration.py holds the p-values equal
to `coint`'s on random, trending, collinear and degenerate windows.

The steps, for one window of y and x:

1. Cointegrating regression y = a + b x by least squares; residuals e.
   If its R^2 is at least 1 - 100 sqrt(eps) (y and x collinear), the statistic is -inf
   and the p-value 0, as `coint` does (it warns there). Both regressions are solved through
   the singular value decomposition, as statsmodels' OLS (`pinv_extended`) solves them.
2. ADF regression without a constant on e: de_t = rho e_{t-1} + sum_j g_j de_{t-j} (j = 1
   ..lags), over the rows where every lag exists; the statistic is rho's t-value.
3. p = MacKinnon's approximate p-value of that statistic for 2 series with a constant:
   `mackinnonp(stat, "c", N=2)`, evaluated here on a whole block from the same published
   tables (`statsmodels.tsa.adfvalues`: tau_max_c, tau_min_c, tau_star_c and the small-p
   and large-p polynomials), ~100 us a call saved.

A window holding a NaN or an infinity, a constant residual, or too few values for `lags`
(lags > window // 2 - 1, where `adfuller` refuses) gives NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_COLLINEAR_R2 = 1 - 100 * np.sqrt(np.finfo(float).eps)  # statsmodels' SQRTEPS rule
_PINV_RCOND = 1e-15  # statsmodels' pinv_extended cut-off for small singular values
_BLOCK = 256  # windows per numpy block: bounds the memory of the design matrices


def engle_granger_pvalue(y: npt.ArrayLike, x: npt.ArrayLike, lags: int) -> float:
    """The test's p-value for one window (y on x, constant, `lags` ADF lags)."""
    ys = np.asarray(y, dtype=np.float64).reshape(1, -1)
    xs = np.asarray(x, dtype=np.float64).reshape(1, -1)
    return float(engle_granger_pvalues(ys, xs, lags)[0])


def engle_granger_pvalues(y: npt.ArrayLike, x: npt.ArrayLike, lags: int) -> FloatArray:
    """The test's p-value for each row of `y` and `x` (2-D, one window per row, same shape).

    Each row's value is computed alone (no statistic is shared between rows), so a window
    gets the same bits whether it is tested on its own or inside a block."""
    ys = np.ascontiguousarray(y, dtype=np.float64)
    xs = np.ascontiguousarray(x, dtype=np.float64)
    if ys.ndim != 2 or ys.shape != xs.shape:
        raise ValueError(f"y and x must be 2-D and alike, got {ys.shape} and {xs.shape}")
    rows, width = ys.shape
    out = np.full(rows, np.nan)
    if lags < 0 or lags > width // 2 - 1:
        return out  # adfuller refuses so many lags for this window
    for start in range(0, rows, _BLOCK):
        stop = min(start + _BLOCK, rows)
        out[start:stop] = _block_pvalues(ys[start:stop], xs[start:stop], lags)
    return out


def _block_pvalues(ys: FloatArray, xs: FloatArray, lags: int) -> FloatArray:
    finite = np.isfinite(ys).all(axis=1) & np.isfinite(xs).all(axis=1)
    ys, xs = ys[finite], xs[finite]
    stats = np.full(finite.shape[0], np.nan)
    if ys.shape[0] == 0:
        return stats
    resid, collinear = _cointegrating_residuals(ys, xs)
    tvalues = np.full(ys.shape[0], -np.inf)  # collinear windows: -inf, p-value 0
    fit = ~collinear
    if fit.any():
        level = resid[fit]
        flat = level.max(axis=1) == level.min(axis=1)
        t = _adf_tvalues(level, lags)
        t[flat] = np.nan  # adfuller refuses a constant series
        tvalues[fit] = t
    stats[finite] = tvalues
    return mackinnon_pvalues(stats)


def mackinnon_pvalues(stats: FloatArray) -> FloatArray:
    """statsmodels' `mackinnonp(stat, regression="c", N=2)` of each statistic (NaN stays
    NaN): 1 above the table's range, 0 below it, else the normal CDF of MacKinnon's
    polynomial for small or large p-values."""
    # imported here: statsmodels' tables bring scipy.stats (~0.7 s), paid only by a test
    from scipy.special import ndtr
    from statsmodels.tsa import adfvalues

    k = 1  # N = 2 series
    with np.errstate(invalid="ignore", over="ignore"):  # infinite statistics: decided below
        small = np.polyval(adfvalues.tau_c_smallp[k][::-1], stats)
        large = np.polyval(adfvalues.tau_c_largep[k][::-1], stats)
        p = ndtr(np.where(stats <= adfvalues.tau_star_c[k], small, large))
        p = np.where(stats > adfvalues.tau_max_c[k], 1.0, p)
        p = np.where(stats < adfvalues.tau_min_c[k], 0.0, p)
    return np.asarray(p, dtype=np.float64)


def _cointegrating_residuals(
    ys: FloatArray, xs: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Residuals of y = a + b x per row (through the pseudo-inverse of [x, 1], as
    statsmodels' OLS fits), and which rows are collinear by `coint`'s R^2 rule."""
    design = np.stack((xs, np.ones_like(xs)), axis=2)  # (rows, n, 2): x, then the constant
    pinv, _ = _pinv_and_rank(design)
    params = pinv @ ys[:, :, None]
    resid = ys - (design @ params)[:, :, 0]
    ssr = np.einsum("ij,ij->i", resid, resid)
    centred = ys - ys.mean(axis=1, keepdims=True)
    tss = np.einsum("ij,ij->i", centred, centred)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1 - ssr / tss
    return resid, ~(r2 < _COLLINEAR_R2)  # a NaN R^2 (y constant) counts as collinear


def _adf_tvalues(level: FloatArray, lags: int) -> FloatArray:
    """rho's t-value in de_t = rho e_{t-1} + sum_j g_j de_{t-j}, per row (no constant)."""
    diff = np.diff(level, axis=1)
    n = diff.shape[1] - lags  # rows of the regression
    columns = [level[:, lags : lags + n]]  # e_{t-1}
    columns += [diff[:, lags - j : lags - j + n] for j in range(1, lags + 1)]
    design = np.stack(columns, axis=2)  # (rows, n, lags + 1)
    target = diff[:, lags:]
    pinv, rank = _pinv_and_rank(design)  # (rows, lags + 1, n)
    params = (pinv @ target[:, :, None])[:, :, 0]
    resid = target - (design @ params[:, :, None])[:, :, 0]
    ssr = np.einsum("ij,ij->i", resid, resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = ssr / (n - rank)
    variance = np.einsum("ij,ij->i", pinv[:, 0, :], pinv[:, 0, :]) * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(params[:, 0] / np.sqrt(variance), dtype=np.float64)


def _pinv_and_rank(design: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Each matrix's pseudo-inverse and rank, as statsmodels' `pinv_extended` and OLS take
    them: singular values under 1e-15 x the largest are dropped from the inverse; the rank
    counts those above largest x columns x eps (`matrix_rank` of their diagonal)."""
    u, s, vt = np.linalg.svd(design, full_matrices=False)
    largest = s.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        inverse = np.where(s > _PINV_RCOND * largest, 1.0 / s, 0.0)
    pinv = np.swapaxes(vt, 1, 2) @ (inverse[:, :, None] * np.swapaxes(u, 1, 2))
    rank = (s > largest * design.shape[2] * np.finfo(float).eps).sum(axis=1)
    return pinv, rank
