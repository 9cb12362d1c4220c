"""Column names as brokers, Yahoo and NSE's own pages write them -> the canonical names.

One place for the guess, so `artha data import` and the Data panel's import dialog read a
``Date,Open,High,Low,Close,Adj Close,Volume`` file the same way without a mapping. A column
the trader maps explicitly always wins; these only fill in what no mapping names.
"""

from __future__ import annotations

from typing import Final

CANONICAL: Final = ("timestamp", "time", "open", "high", "low", "close", "volume", "oi", "symbol")

# folded column name -> canonical name (folded: lower case, "_" and runs of spaces -> " ")
_DATES: Final = ("date", "datetime", "date time", "date/time", "time stamp")
_SYNONYMS: Final = {
    "open price": "open", "high price": "high", "low price": "low", "close price": "close",
    "vol": "volume", "vol.": "volume", "qty": "volume", "total traded quantity": "volume",
    "open interest": "oi", "ticker": "symbol", "tradingsymbol": "symbol",
    "trading symbol": "symbol",
}  # fmt: skip


def _fold(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def suggest_mapping(header: list[str]) -> dict[str, str]:
    """{their column: canonical name} for common exports; canonical names need no entry."""
    folded = [_fold(h) for h in header]
    taken = {f for f in folded if f in CANONICAL}  # the engine reads these as they are
    mapping: dict[str, str] = {}

    def claim(name: str, target: str) -> None:
        if target not in taken:
            mapping[name.strip()] = target
            taken.add(target)

    for name, key in zip(header, folded, strict=True):
        if key in _DATES:
            claim(name, "timestamp")
        elif key in _SYNONYMS:
            claim(name, _SYNONYMS[key])
    if "timestamp" not in taken and "time" in folded:  # a time column alone is the timestamp
        claim(header[folded.index("time")], "timestamp")
    if "price" in folded:  # a one-price file (ticks, closes): only when nothing is the close
        claim(header[folded.index("price")], "close")
    return mapping
