"""Corporate actions as backward adjustment factors: splits, bonuses and dividends.

Bars before an action's ex-date (an IST calendar date: a bar is "before" when its IST date is
earlier) are scaled so that they compare with bars from the ex-date on; bars from the
ex-date on are never touched, and the raw series is never modified (`adjust` returns a new
BarSeries, the store keeps raw bars). Conventions:

- split, ratio_from:ratio_to ("1:5" = one old share becomes five): prices x from/to (1/5),
  volume x to/from (x5).
- bonus, ratio_from:ratio_to written as the exchanges announce it: "Bonus 3:2" = 3 NEW
  shares for every 2 held ("1:1" doubles the share count): prices x to/(from+to), volume x
  (from+to)/to. A trader can copy the ratio from the NSE/BSE announcement unchanged.
- dividend of D paise per share: prices x (1 - D / C), C = the raw close of the last bar
  BEFORE the ex-date in the series being adjusted (the multiplicative "ratio" method used by
  CRSP and Yahoo). D is per share as of the ex-date, so it is compared with the raw close of
  that time, not a split-adjusted one. Volume is unchanged. A dividend with no bar before its
  ex-date affects nothing (factor 1); one of at least C is refused.

A split or bonus that moves prices more than FACTOR_LIMIT-fold is refused at entry (the CSV
loader here; engine/data/action_checks.py for the store-aware checks the CLI and the dialog
share); one already stored that rounds prices to zero is named when an adjusted read fails.

Factors multiply: a bar's factor is the product over all actions with a later ex-date. The
arithmetic is exact (fractions of integers), and adjusted prices and volumes are rounded
half-up to the paisa / share, then validated again as a BarSeries.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from engine.data.bar_series import (
    PRICE_FIELDS,
    BarDataError,
    BarSeries,
    Int64Array,
    format_paise,
    ist_iso,
)
from engine.data.importers.sources import open_source
from engine.domain.enums import Exchange
from engine.domain.money import from_paise, to_paise
from engine.ist import ist_midnight_ns

ActionKind = Literal["split", "bonus", "dividend"]
KINDS: Final[tuple[ActionKind, ...]] = ("split", "bonus", "dividend")
CSV_COLUMNS: Final = ("symbol", "exchange", "ex_date", "kind", "ratio", "amount", "note")
_INT64_SAFE: Final = 2**62
_RATIO_MAX: Final = 2**31 - 1  # the store keeps ratios as INTEGER
_PAISE_MAX: Final = 2**63 - 1  # and dividends as BIGINT paise
FACTOR_LIMIT: Final = 1000  # a split/bonus moves prices at most 1000-fold either way


@dataclass(frozen=True)
class CorporateAction:
    """One action; split/bonus use the ratio, a dividend uses amount_paise (per share)."""

    ex_date: datetime.date
    kind: ActionKind
    ratio_from: int | None
    ratio_to: int | None
    amount_paise: int | None
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.ex_date, datetime.datetime) or not isinstance(
            self.ex_date, datetime.date
        ):
            raise ValueError(f"ex_date must be a date, got {self.ex_date!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "dividend":
            if self.ratio_from is not None or self.ratio_to is not None:
                raise ValueError("a dividend has an amount, not a ratio")
            if not _positive_int(self.amount_paise):
                raise ValueError(f"dividend amount must be > 0 paise, got {self.amount_paise!r}")
        else:
            if self.amount_paise is not None:
                raise ValueError(f"a {self.kind} has a ratio, not an amount")
            if not (_positive_int(self.ratio_from) and _positive_int(self.ratio_to)):
                raise ValueError(
                    f"{self.kind} ratio must be two whole numbers > 0, "
                    f"got {self.ratio_from!r}:{self.ratio_to!r}"
                )

    def describe(self) -> str:
        """'split 1:5', 'bonus 3:2', 'dividend of ₹12.50' (for messages)."""
        if self.amount_paise is not None:
            return f"dividend of {rupees(self.amount_paise)}"
        return f"{self.kind} {self.ratio_from}:{self.ratio_to}"

    def share_factor(self) -> Fraction:
        """Price factor of a split/bonus (1 for a dividend): old shares per new share."""
        if self.kind == "dividend":
            return Fraction(1)
        assert self.ratio_from is not None and self.ratio_to is not None
        if self.kind == "split":
            return Fraction(self.ratio_from, self.ratio_to)
        return Fraction(self.ratio_to, self.ratio_from + self.ratio_to)  # held / after bonus


def rupees(paise: int) -> str:
    return f"₹{from_paise(paise):,.2f}"


def share_factor_problem(action: CorporateAction) -> str:
    """Why a split/bonus ratio is implausible, or "": its price factor must lie within
    [1/FACTOR_LIMIT, FACTOR_LIMIT]. No real split or bonus moves prices 1,000-fold, while a
    typo like 1:2000000000 would round every earlier price to zero paise."""
    if action.kind == "dividend":
        return ""
    factor = action.share_factor()
    if Fraction(1, FACTOR_LIMIT) <= factor <= FACTOR_LIMIT:
        return ""
    return (
        f"{action.kind} ratio {action.ratio_from}:{action.ratio_to} would change prices "
        f"{round(max(factor, 1 / factor)):,}-fold; a {action.kind} changes the share count at most "
        f"{FACTOR_LIMIT:,}-fold (check the ratio: 1:5 = one share becomes five)"
    )


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def ex_date_ns(day: datetime.date) -> int:
    """00:00 IST of the ex-date as UTC ns: bars with ts below it are before the ex-date."""
    return ist_midnight_ns(day)


def _segments(
    ts_ns: Int64Array, actions: Sequence[CorporateAction], close: Int64Array | None
) -> tuple[Int64Array, list[Fraction], list[Fraction]]:
    """(segment of each bar, price factor per segment, volume factor per segment).

    Segment j holds the bars before the ex-dates of actions j.. (sorted by ex-date) and on or
    after those of actions ..j-1, so its factor is the product over actions j and later.
    """
    ordered = sorted(actions, key=lambda a: a.ex_date)
    bounds = np.array([ex_date_ns(a.ex_date) for a in ordered], dtype=np.int64)
    segment = np.searchsorted(bounds, ts_ns, side="right").astype(np.int64)
    price = [Fraction(1)] * (len(ordered) + 1)
    volume = [Fraction(1)] * (len(ordered) + 1)
    for j in range(len(ordered) - 1, -1, -1):
        action = ordered[j]
        factor = action.share_factor()
        volume[j] = volume[j + 1] / factor
        if action.kind == "dividend":
            factor = _dividend_factor(action, ts_ns, close, int(bounds[j]))
        price[j] = price[j + 1] * factor
    return segment, price, volume


def _dividend_factor(
    action: CorporateAction, ts_ns: Int64Array, close: Int64Array | None, bound: int
) -> Fraction:
    if close is None:
        raise ValueError("dividend factors need the close prices (pass close=)")
    before = int(np.searchsorted(ts_ns, bound, side="left")) - 1
    if before < 0:
        return Fraction(1)  # no bar before the ex-date: nothing to adjust
    last_close = int(close[before])
    assert action.amount_paise is not None
    if action.amount_paise >= last_close:
        raise BarDataError(
            f"dividend of {format_paise(action.amount_paise)} on ex-date {action.ex_date} is "
            f"not below the previous close {format_paise(last_close)}"
        )
    return Fraction(last_close - action.amount_paise, last_close)


def adjustment_factors(
    ts_ns: npt.ArrayLike,
    actions: Sequence[CorporateAction],
    close: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Cumulative price factor per bar (1.0 on and after the last ex-date).

    `ts_ns` are sorted UTC ns bar times; `close` (int paise, same length) is needed only
    when there are dividends. Volume factors are `volume_factors`.
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    closes = None if close is None else np.asarray(close, dtype=np.int64)
    segment, price, _ = _segments(ts, actions, closes)
    return np.array([float(f) for f in price], dtype=np.float64)[segment]


def volume_factors(
    ts_ns: npt.ArrayLike, actions: Sequence[CorporateAction]
) -> npt.NDArray[np.float64]:
    """Cumulative volume factor per bar: the inverse of the split/bonus price factors."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    segment, _, volume = _segments(ts, [a for a in actions if a.kind != "dividend"], None)
    return np.array([float(f) for f in volume], dtype=np.float64)[segment]


def scale(values: Int64Array, segment: Int64Array, factors: Sequence[Fraction]) -> Int64Array:
    """values x the factor of their segment (non-decreasing), exactly, rounded half-up.

    Small fractions use exact int64 arithmetic. Long dividend histories make numerators and
    denominators huge: then a float product is rounded and every value within a hair of a
    half is recomputed with Python ints, so the result is still exact.
    """
    out = np.array(values, dtype=np.int64, copy=True)
    top = int(values.max()) if len(values) else 0
    edges = np.searchsorted(segment, np.arange(len(factors) + 1), side="left")
    for j, factor in enumerate(factors):
        part = values[edges[j] : edges[j + 1]]
        if factor == 1 or not len(part):
            continue
        num, den = factor.numerator, factor.denominator
        if 2 * top * num + den < _INT64_SAFE:
            rounded = (2 * part * num + den) // (2 * den)
        else:
            x = part * float(factor)
            rounded = np.floor(x + 0.5).astype(np.int64)
            for k in np.flatnonzero(np.abs(x - np.floor(x) - 0.5) <= 1e-9 * (1 + x)):
                rounded[k] = (2 * int(part[k]) * num + den) // (2 * den)
        out[edges[j] : edges[j + 1]] = rounded
    return out


def adjust(series: BarSeries, actions: Sequence[CorporateAction]) -> BarSeries:
    """A new, adjusted BarSeries; `series` itself stays raw."""
    ts = series.ts
    segment, price, _ = _segments(ts, actions, series.close)
    shares = [a for a in actions if a.kind != "dividend"]
    vol_segment, _, volume = _segments(ts, shares, None)
    prices = {name: scale(getattr(series, name), segment, price) for name in PRICE_FIELDS}
    for name, values in prices.items():
        zero = values <= 0
        if zero.any():
            i = int(np.argmax(zero))
            raise _rounds_to_zero(series, actions, name, i, int(segment[i]))
    return BarSeries(
        series.symbol,
        series.timeframe,
        np.array(ts, copy=True),
        prices["open"],
        prices["high"],
        prices["low"],
        prices["close"],
        scale(series.volume, vol_segment, volume),
    )


def _rounds_to_zero(
    series: BarSeries, actions: Sequence[CorporateAction], name: str, i: int, j: int
) -> BarDataError:
    """Name the action (of those applied to bar i, segment j) that shrinks prices most."""
    ordered = sorted(actions, key=lambda a: a.ex_date)[j:]

    def factor(action: CorporateAction) -> Fraction:
        if action.kind != "dividend":
            return action.share_factor()
        return _dividend_factor(action, series.ts, series.close, ex_date_ns(action.ex_date))

    worst = min(ordered, key=factor)
    raw = int(getattr(series, name)[i])
    return BarDataError(
        f"adjusting {series.symbol} for the {worst.describe()} on ex-date {worst.ex_date} "
        f"rounds the {name} {rupees(raw)} of the bar at {ist_iso(int(series.ts[i]))} to zero "
        "paise: that action is implausible; correct or delete it (Data panel: Corporate "
        "actions), or export without --adjusted"
    )


ActionCheck = Callable[[Exchange, str, CorporateAction], None]
"""Raises ValueError when an action is implausible for the store it is going to."""


def load_corporate_actions_csv(
    path: str | Path, check: ActionCheck | None = None
) -> list[tuple[Exchange, str, CorporateAction]]:
    """Read `symbol,exchange,ex_date,kind,ratio,amount,note` rows (columns in any order).

    ex_date is YYYY-MM-DD (or NSE's 21-Oct-2025); ratio "1:5" for split/bonus (see the
    module doc for the bonus order); amount in rupees ("12.50") for a dividend. The first bad
    row raises BarDataError "file:line: what is wrong"; duplicates are refused. The file is
    opened like an import file (a missing file, UTF-16, binary or HTML is refused saying so;
    CR-only line ends are fine; a zip holding one CSV is read). `check` (see
    engine/data/action_checks.py) refuses an implausible row at its line too.
    """
    source = open_source(path)
    label = source.label  # the file, or archive.zip[member.csv]
    try:
        text = source.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BarDataError(
            f"is not UTF-8 text (byte {err.start}); save it as CSV UTF-8 (comma delimited)", label
        ) from None
    out: list[tuple[Exchange, str, CorporateAction]] = []
    seen: dict[tuple[Exchange, str, datetime.date, str], int] = {}
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        names = [n.strip().lower() for n in reader.fieldnames or ()]
        if sorted(names) != sorted(CSV_COLUMNS):
            raise BarDataError(
                f"header is {','.join(names) or 'missing'}; expected the columns "
                f"{','.join(CSV_COLUMNS)} (in any order)",
                label,
                1,
            )
        for row in reader:
            line = reader.line_num  # blank lines are skipped but still counted
            try:
                exchange, symbol, action = _parse_row(row)
                key = (exchange, symbol, action.ex_date, action.kind)
                if key in seen:
                    raise ValueError(
                        f"duplicate {action.kind} for {exchange.value}:{symbol} on "
                        f"{action.ex_date} (line {seen[key]} has it too)"
                    )
                if check is not None:
                    check(exchange, symbol, action)
            except ValueError as err:
                raise BarDataError(str(err), label, line) from None
            seen[key] = line
            out.append((exchange, symbol, action))
    return out


def _parse_row(raw: dict[str | None, Any]) -> tuple[Exchange, str, CorporateAction]:
    if None in raw:
        raise ValueError("the row has more fields than the header")
    row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items()}
    symbol = row["symbol"]
    if not symbol:
        raise ValueError("symbol is empty")
    try:
        exchange = Exchange(row["exchange"].upper())
    except ValueError:
        valid = ", ".join(e.value for e in Exchange)
        raise ValueError(f"exchange {row['exchange']!r} is not one of {valid}") from None
    kinds: dict[str, ActionKind] = {k: k for k in KINDS}
    kind = kinds.get(row["kind"].lower())
    if kind is None:
        raise ValueError(f"kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    ex_date = _parse_date(row["ex_date"])
    ratio, amount = row["ratio"], row["amount"]
    if kind == "dividend":
        if ratio:
            raise ValueError(f"a dividend has no ratio, got {ratio!r}")
        action = CorporateAction(
            ex_date, "dividend", None, None, dividend_paise(amount), row["note"]
        )
    else:
        if amount:
            raise ValueError(f"a {kind} has no amount, got {amount!r}")
        ratio_from, ratio_to = _ratio(ratio, kind)
        action = CorporateAction(ex_date, kind, ratio_from, ratio_to, None, row["note"])
        problem = share_factor_problem(action)
        if problem:
            raise ValueError(problem)
    return exchange, symbol, action


def _parse_date(text: str) -> datetime.date:
    for fmt in ("%Y-%m-%d", "%d-%b-%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"ex_date {text!r} is not a date like 2025-10-21 or 21-Oct-2025")


def _ratio(text: str, kind: str) -> tuple[int, int]:
    parts = text.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"{kind} ratio {text!r} is not like 1:5")
    a, b = (int(p) for p in parts)
    if a <= 0 or b <= 0:
        raise ValueError(f"{kind} ratio {text!r} must have both sides above zero")
    if max(a, b) > _RATIO_MAX:
        raise ValueError(f"{kind} ratio {text!r} is too large (each side at most {_RATIO_MAX:,})")
    return a, b


def dividend_paise(text: str) -> int:
    """A dividend per share written in rupees ("12.50", "₹12.50") -> exact paise."""
    cleaned = text.strip().removeprefix("₹").strip()
    try:
        rupees = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"dividend {text!r} is not an amount in rupees like 12.50") from None
    if not rupees.is_finite() or rupees <= 0:
        raise ValueError(f"dividend {text!r} must be above zero")
    try:
        paise = to_paise(rupees)
    except ValueError:
        raise ValueError(
            f"dividend {text!r} has more than 2 decimals (a fraction of a paisa)"
        ) from None
    if paise > _PAISE_MAX:
        raise ValueError(f"dividend {text!r} is too large")
    return paise
