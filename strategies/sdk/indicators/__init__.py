"""Indicators over whole arrays (vectorised, causal: value t uses bars <= t only), each also
extended bar by bar the same way live.

`@indicator` (engine/strategy/derived.py) declares how each one's value at a new bar is
computed: from the last few bars (`lookback`: sma, Bollinger bands, z-score, hedge ratio,
highest/lowest, volume ratio, crossings) or by a recursive step that carries its running values
(`update`: ema, rsi, atr, session VWAP, opening range), so the per-bar cost never grows with
the history. Given a Series, each returns a DerivedSeries that keeps its recipe, so
`self.on(...)` conditions can be evaluated bar by bar (engine/strategy/incremental.py); given
arrays, each returns an array.

By family: averages (sma, ema, crossings), wilder (rsi, atr), windows (statistics over the
last N bars), sessions (what restarts at each session open), cointegration (the Engle-Granger
test over many windows at once).
"""

from strategies.sdk.indicators.averages import crossed_above, crossed_below, ema, sma
from strategies.sdk.indicators.cointegration import engle_granger_pvalue, engle_granger_pvalues
from strategies.sdk.indicators.sessions import (
    opening_range_high,
    opening_range_low,
    session_vwap,
)
from strategies.sdk.indicators.wilder import atr, rsi
from strategies.sdk.indicators.windows import (
    bollinger_lower,
    bollinger_middle,
    bollinger_upper,
    hedge_ratio,
    highest,
    lowest,
    volume_ratio,
    zscore,
)

__all__ = [
    "atr",
    "bollinger_lower",
    "bollinger_middle",
    "bollinger_upper",
    "crossed_above",
    "crossed_below",
    "ema",
    "engle_granger_pvalue",
    "engle_granger_pvalues",
    "hedge_ratio",
    "highest",
    "lowest",
    "opening_range_high",
    "opening_range_low",
    "rsi",
    "session_vwap",
    "sma",
    "volume_ratio",
    "zscore",
]
