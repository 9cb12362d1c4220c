"""The weekly target: does the strategy make its weekly return without breaking its limits?

Weeks are IST weeks, Monday 00:00 to Sunday 24:00 in Asia/Kolkata. A week's return is its
last equity / the previous week's last equity - 1, the first week measured from the initial
capital; weeks without bars are skipped (a holiday week is not a 0% week).

Criteria (defaults in `WeeklyTarget`): mean weekly return >= 1%, max drawdown <= 10% (of the
bar-by-bar net curve, from the initial capital), 5th-percentile weekly return >= -3% (numpy
percentile, linear interpolation between the sorted weekly returns).

Badge: GREEN when every criterion passes. AMBER when every failing criterion misses by at
most `amber_margin` (default 20%) of its threshold's magnitude: with the defaults, mean weekly
>= 0.8%, max drawdown <= 12%, p5 >= -3.6%. RED otherwise. A threshold of 0 has no amber band.
Comparisons forgive 1e-12 of float noise, so a result that is exactly on a threshold counts.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import asdict, dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

import numpy as np

from engine.domain.money import to_positive_decimal
from engine.ist import day_from_number
from engine.metrics.drawdown import max_drawdown
from engine.metrics.inputs import EquityCurve
from engine.metrics.jsonable import Json, number
from engine.metrics.periods import chained_returns, ist_weeks, last_per_key

_NOISE = 1e-12


class Badge(StrEnum):
    GREEN = "GREEN"
    AMBER = "AMBER"
    RED = "RED"


@dataclass(frozen=True)
class WeeklyTarget:
    """Thresholds are fractions (0.01 = 1%); `amber_margin` is relative to each threshold."""

    min_mean_weekly_return: float = 0.01
    max_drawdown: float = 0.10
    min_percentile_weekly_return: float = -0.03
    percentile: float = 5.0
    amber_margin: float = 0.20
    min_weeks: int = 4  # below this, the report warns that the badge rests on little data

    def __post_init__(self) -> None:
        if not 0 < self.percentile < 100:
            raise ValueError(f"percentile must be in (0, 100), got {self.percentile}")
        if self.amber_margin < 0:
            raise ValueError(f"amber_margin must be >= 0, got {self.amber_margin}")
        if self.max_drawdown < 0:
            raise ValueError(f"max_drawdown must be >= 0, got {self.max_drawdown}")
        if self.min_weeks < 1:
            raise ValueError(f"min_weeks must be >= 1, got {self.min_weeks}")


@dataclass(frozen=True)
class Criterion:
    """One test of the target. `kind` "min": actual must be >= threshold; "max": <=."""

    name: str
    label: str
    kind: Literal["min", "max"]
    actual: float
    threshold: float
    passed: bool
    shortfall: float  # how far the actual misses the threshold (0 when passed), a fraction
    relative_margin: float  # signed headroom / |threshold| (|threshold| 0 -> 1): < 0 fails
    near_miss: bool  # failed, but within the amber band

    def describe(self) -> str:
        gap = abs(self.actual - self.threshold) * 100
        word = "target" if self.kind == "min" else "limit"
        if self.passed:
            return (
                f"{self.label} {_pct(self.actual)} meets the {_pct(self.threshold)} {word} "
                f"with {gap:.2f} pp to spare"
            )
        side = "below" if self.kind == "min" else "above"
        return (
            f"{self.label} {_pct(self.actual)} is {side} the {_pct(self.threshold)} {word} "
            f"by {gap:.2f} pp"
        )


@dataclass(frozen=True)
class WeekReturn:
    week_start: datetime.date  # the IST Monday
    equity: float  # last equity of the week
    weekly_return: float | None  # None when the previous week ended at or below zero


@dataclass(frozen=True)
class WeeklyReport:
    badge: Badge
    decided_by: tuple[str, ...]  # criterion names, worst first; one for GREEN and RED
    criteria: tuple[Criterion, ...]
    weeks: tuple[WeekReturn, ...]
    warnings: tuple[str, ...]
    summary: str
    target: WeeklyTarget

    def criterion(self, name: str) -> Criterion:
        return next(c for c in self.criteria if c.name == name)

    def as_json(self) -> dict[str, Json]:
        return {
            "badge": self.badge.value,
            "summary": self.summary,
            "decided_by": list(self.decided_by),
            "criteria": [
                {
                    "name": c.name,
                    "label": c.label,
                    "kind": c.kind,
                    "actual": number(c.actual),
                    "threshold": number(c.threshold),
                    "passed": c.passed,
                    "shortfall": number(c.shortfall),
                    "relative_margin": number(c.relative_margin),
                    "near_miss": c.near_miss,
                }
                for c in self.criteria
            ],
            "weeks": [
                {
                    "week_start": w.week_start.isoformat(),
                    "return": number(w.weekly_return),
                    "equity": number(w.equity),
                }
                for w in self.weeks
            ],
            "warnings": list(self.warnings),
            "target": {k: number(v) for k, v in asdict(self.target).items()},
        }


def _pct(value: float) -> str:
    return f"{round(value * 100, 2) + 0.0:.2f}%"  # + 0.0: -0.001% reads 0.00%, not -0.00%


def _ordinal(value: float) -> str:
    if value != int(value):
        return f"{value:g}th"
    n = int(value)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _criterion(
    name: str, label: str, kind: Literal["min", "max"], actual: float, threshold: float, band: float
) -> Criterion:
    """Score one criterion; NaN actuals (no defined weekly return) fail outright."""
    headroom = actual - threshold if kind == "min" else threshold - actual
    if math.isnan(headroom):
        headroom = -math.inf
    passed = headroom >= -_NOISE
    scale = abs(threshold) or 1.0
    return Criterion(
        name=name,
        label=label,
        kind=kind,
        actual=actual,
        threshold=threshold,
        passed=passed,
        shortfall=0.0 if passed else -headroom,
        relative_margin=headroom / scale,
        near_miss=not passed and -headroom <= band * abs(threshold) + _NOISE,
    )


def evaluate_weekly(
    curve: EquityCurve,
    initial_capital: Decimal | int | str,
    target: WeeklyTarget | None = None,
) -> WeeklyReport:
    """Weekly returns of the net curve, scored against `target` (defaults if None)."""
    target = target or WeeklyTarget()
    capital = float(to_positive_decimal(initial_capital, "initial_capital"))
    week_keys, closes = last_per_key(ist_weeks(curve.timestamps), curve.equity)
    returns = chained_returns(closes, capital)
    defined = returns[np.isfinite(returns)]
    mean = float(np.mean(defined)) if defined.size else math.nan
    low = float(np.percentile(defined, target.percentile)) if defined.size else math.nan
    band = target.amber_margin
    criteria = (
        _criterion(
            "mean_weekly_return", "mean weekly return", "min",
            mean, target.min_mean_weekly_return, band,
        ),
        _criterion(
            "max_drawdown", "max drawdown", "max",
            max_drawdown(curve.equity, capital), target.max_drawdown, band,
        ),
        _criterion(
            f"p{target.percentile:g}_weekly_return",
            f"{_ordinal(target.percentile)}-percentile weekly return", "min",
            low, target.min_percentile_weekly_return, band,
        ),
    )  # fmt: skip
    failing = sorted((c for c in criteria if not c.passed), key=lambda c: c.relative_margin)
    if not failing:
        badge, deciding = Badge.GREEN, [min(criteria, key=lambda c: c.relative_margin)]
    elif all(c.near_miss for c in failing):
        badge, deciding = Badge.AMBER, failing
    else:
        badge, deciding = Badge.RED, failing[:1]
    if badge is Badge.GREEN:
        summary = f"GREEN: all {len(criteria)} criteria met; closest: {deciding[0].describe()}"
    else:
        summary = f"{badge.value}: " + "; ".join(c.describe() for c in deciding)
    warnings: list[str] = []
    if week_keys.size < target.min_weeks:
        warnings.append(
            f"only {week_keys.size} week{'s' if week_keys.size != 1 else ''} of data "
            f"(fewer than {target.min_weeks}); the badge is indicative"
        )
        summary += f" (only {week_keys.size} week{'s' if week_keys.size != 1 else ''} of data)"
    weeks = tuple(
        WeekReturn(day_from_number(int(k)), float(e), None if math.isnan(r) else float(r))
        for k, e, r in zip(week_keys.tolist(), closes.tolist(), returns.tolist(), strict=True)
    )
    return WeeklyReport(
        badge=badge,
        decided_by=tuple(c.name for c in deciding),
        criteria=criteria,
        weeks=weeks,
        warnings=tuple(warnings),
        summary=summary,
        target=target,
    )
