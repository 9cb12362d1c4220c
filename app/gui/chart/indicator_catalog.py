"""The chart's indicator menu: which SDK indicators a trader can put on a chart, where each
goes (over the price, or an oscillator in its own sub-pane), its parameters, and how to compute
it from the chart's arrays.

The values are the SDK's own (strategies.sdk.indicators), called on the arrays the chart
shows, so a line on the chart is exactly what a strategy using that indicator sees. A chart's
choice persists as text, "sma(20)" or "bollinger(20, 2.0)", parsed back by `IndicatorSpec`;
parameters are the SDK's `Param`s, so text is coerced and range-checked by the same rules as
a strategy's parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.strategy.params import Param, ParamError

if TYPE_CHECKING:  # numpy loads where lines are computed, after the station's first paint
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

# The indicators themselves (strategies.sdk.indicators) are imported where a line is
# computed: the SDK package loads the backtester and pandas (~0.3 s), which the chart's
# first picture does not need. Param and ParamError are the SDK's own (re-exported there).

Kind = Literal["overlay", "oscillator"]

_NS_PER_MINUTE = 60 * 10**9


@dataclass(frozen=True)
class BarArrays:
    """The chart's series: int64 UTC ns open times, float64 rupee prices, float64 volumes."""

    ts: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = self.ts.shape[0]
        for name in ("open", "high", "low", "close", "volume"):
            if getattr(self, name).shape != (n,):
                raise ValueError(
                    f"BarArrays: {name} has shape {getattr(self, name).shape}, ts ({n},)"
                )


def bar_minutes(ts: npt.NDArray[np.int64]) -> int:
    """The bars' length in whole minutes: the smallest gap between consecutive opens (gaps
    across nights and holidays are longer, so they never win); 1 for fewer than two bars."""
    if ts.shape[0] < 2:
        return 1
    import numpy as np

    gap = int(np.diff(ts).min())
    return max(1, gap // _NS_PER_MINUTE)


Compute = Callable[[BarArrays, Mapping[str, Any]], "dict[str, FloatArray]"]


def _param(name: str, default: Any, minimum: Any, maximum: Any, help: str) -> Param[Any]:
    """A named SDK Param (the name is normally set by a class body; here there is none)."""
    param: Param[Any] = Param(default, min=minimum, max=maximum, help=help)
    param.__set_name__(IndicatorEntry, name)
    return param


@dataclass(frozen=True)
class IndicatorEntry:
    """One menu item: `compute` returns the named output arrays (each as long as the bars).

    `band` names the (upper, lower) outputs the chart draws as a filled band, if any;
    `reference` gives horizontal guide levels for an oscillator's pane (RSI's 30/70)."""

    key: str
    label: str
    kind: Kind
    params: tuple[Param[Any], ...]
    outputs: tuple[str, ...]
    compute: Compute
    band: tuple[str, str] | None = None
    reference: tuple[float, ...] = ()
    help: str = ""

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param[Any]:
        for p in self.params:
            if p.name == name:
                return p
        valid = ", ".join(p.name for p in self.params) or "none"
        raise ParamError(f"{self.key} has no parameter {name!r} (parameters: {valid})")


def _sma(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"sma": ind.sma(bars.close, p["length"])}


def _ema(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"ema": ind.ema(bars.close, p["length"])}


def _vwap(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"vwap": ind.session_vwap(bars.ts, bars.high, bars.low, bars.close, bars.volume)}


def _bollinger(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    length, width = p["length"], p["width"]
    return {
        "upper": ind.bollinger_upper(bars.close, length, width),
        "middle": ind.bollinger_middle(bars.close, length),
        "lower": ind.bollinger_lower(bars.close, length, width),
    }


def _highest(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"highest": ind.highest(bars.high, p["length"])}


def _lowest(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"lowest": ind.lowest(bars.low, p["length"])}


def _channel(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {
        "upper": ind.highest(bars.high, p["length"]),
        "lower": ind.lowest(bars.low, p["length"]),
    }


def _opening_range(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    minutes, step = p["minutes"], bar_minutes(bars.ts)
    if step > minutes:
        # bars longer than the range (a 60m or daily chart): there is no range to draw
        import numpy as np

        nan = np.full(bars.ts.shape[0], np.nan)
        return {"high": nan, "low": nan.copy()}
    return {
        "high": ind.opening_range_high(bars.ts, bars.high, minutes, step),
        "low": ind.opening_range_low(bars.ts, bars.low, minutes, step),
    }


def _rsi(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"rsi": ind.rsi(bars.close, p["length"])}


def _atr(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"atr": ind.atr(bars.high, bars.low, bars.close, p["length"])}


def _zscore(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"zscore": ind.zscore(bars.close, p["length"])}


def _volume_ratio(bars: BarArrays, p: Mapping[str, Any]) -> dict[str, FloatArray]:
    from strategies.sdk import indicators as ind

    return {"volume_ratio": ind.volume_ratio(bars.volume, p["length"])}


def _length(default: int, minimum: int = 1, help: str = "bars in the window") -> Param[Any]:
    return _param("length", default, minimum, 5000, help)


CATALOG: dict[str, IndicatorEntry] = {
    e.key: e
    for e in (
        IndicatorEntry(
            "sma",
            "SMA",
            "overlay",
            (_length(20),),
            ("sma",),
            _sma,
            help="simple moving average of the close",
        ),
        IndicatorEntry(
            "ema",
            "EMA",
            "overlay",
            (_length(20),),
            ("ema",),
            _ema,
            help="exponential moving average of the close",
        ),
        IndicatorEntry(
            "vwap",
            "Session VWAP",
            "overlay",
            (),
            ("vwap",),
            _vwap,
            help="volume-weighted typical price since the session's open",
        ),
        IndicatorEntry(
            "bollinger",
            "Bollinger bands",
            "overlay",
            (_length(20), _param("width", 2.0, 0.1, 10.0, "standard deviations from the middle")),
            ("upper", "middle", "lower"),
            _bollinger,
            band=("upper", "lower"),
            help="SMA of the close and bands width standard deviations either side",
        ),
        IndicatorEntry(
            "highest",
            "Highest high",
            "overlay",
            (_length(20),),
            ("highest",),
            _highest,
            help="highest high of the last length bars",
        ),
        IndicatorEntry(
            "lowest",
            "Lowest low",
            "overlay",
            (_length(20),),
            ("lowest",),
            _lowest,
            help="lowest low of the last length bars",
        ),
        IndicatorEntry(
            "channel",
            "Price channel",
            "overlay",
            (_length(20),),
            ("upper", "lower"),
            _channel,
            help="highest high and lowest low of the last length bars",
        ),
        IndicatorEntry(
            "opening_range",
            "Opening range",
            "overlay",
            (_param("minutes", 15, 1, 375, "minutes after the open the range covers"),),
            ("high", "low"),
            _opening_range,
            help="high and low of the session's first minutes, once complete",
        ),
        IndicatorEntry(
            "rsi",
            "RSI",
            "oscillator",
            (_length(14),),
            ("rsi",),
            _rsi,
            reference=(30.0, 70.0),
            help="Wilder's relative strength index, 0..100",
        ),
        IndicatorEntry(
            "atr",
            "ATR",
            "oscillator",
            (_length(14),),
            ("atr",),
            _atr,
            help="Wilder's average true range, in rupees",
        ),
        IndicatorEntry(
            "zscore",
            "Z-score",
            "oscillator",
            (_length(20, 2),),
            ("zscore",),
            _zscore,
            reference=(-2.0, 0.0, 2.0),
            help="standard deviations of the close from its rolling mean",
        ),
        IndicatorEntry(
            "volume_ratio",
            "Volume ratio",
            "oscillator",
            (_length(20),),
            ("volume_ratio",),
            _volume_ratio,
            reference=(1.0,),
            help="volume over the average of the length bars before",
        ),
    )
}


_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def entry(key: str) -> IndicatorEntry:
    """The catalog entry for `key`; ValueError naming the known keys otherwise."""
    try:
        return CATALOG[key]
    except KeyError:
        known = ", ".join(CATALOG)
        raise ValueError(f"unknown indicator {key!r} (known: {known})") from None


def _format(value: Any) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator with its parameter values: what a chart persists per overlay.

    Built through `IndicatorSpec.of` or `from_text`, every parameter is present, of its
    type and in range (the SDK Param's own checks)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        item = entry(self.key)
        values = item.defaults()
        for name, raw in self.params.items():
            values[name] = item.param(name).coerce(raw)
        object.__setattr__(self, "params", values)

    def __hash__(self) -> int:
        return hash(self.to_text())

    @classmethod
    def of(cls, key: str, **params: Any) -> IndicatorSpec:
        return cls(key, params)

    @property
    def entry(self) -> IndicatorEntry:
        return entry(self.key)

    def to_text(self) -> str:
        """ "sma(20)", "bollinger(20, 2.0)", "vwap()": parameters in declared order."""
        values = ", ".join(_format(self.params[p.name]) for p in self.entry.params)
        return f"{self.key}({values})"

    @classmethod
    def from_text(cls, text: str) -> IndicatorSpec:
        """Parse `to_text`'s form; also "sma", "sma(length=50)", "bollinger(20, width=2.5)".
        ValueError (ParamError for a parameter) says what is wrong with the text."""
        match = _SPEC.match(text)
        if match is None:
            raise ValueError(f"indicator {text!r}: expected name(value, ...), e.g. 'sma(20)'")
        key, inside = match.group(1), (match.group(2) or "").strip()
        item = entry(key)
        given: dict[str, str] = {}
        parts = [part.strip() for part in inside.split(",")] if inside else []
        keywords = False
        for position, part in enumerate(parts):
            if not part:
                raise ValueError(f"indicator {text!r}: empty parameter at position {position + 1}")
            name, eq, value = part.partition("=")
            if eq:
                name, keywords = name.strip(), True
                item.param(name)
            elif keywords:
                raise ValueError(f"indicator {text!r}: a positional value after a keyword one")
            elif position >= len(item.params):
                raise ValueError(
                    f"indicator {text!r}: {key} takes {len(item.params)} parameter(s), "
                    f"got {len(parts)}"
                )
            else:
                name, value = item.params[position].name, part
            if name in given:
                raise ValueError(f"indicator {text!r}: parameter {name} given twice")
            given[name] = value.strip()
        return cls(key, given)

    def compute(self, bars: BarArrays) -> dict[str, FloatArray]:
        """The indicator's named outputs over the bars (the SDK's values, float64)."""
        return self.entry.compute(bars, self.params)

    def label(self) -> str:
        """Menu/legend text: "SMA 20", "Bollinger bands 20, 2.0"."""
        values = ", ".join(_format(self.params[p.name]) for p in self.entry.params)
        return f"{self.entry.label} {values}".rstrip()
