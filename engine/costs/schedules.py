"""Zerodha's charge schedules as data, each with the dates it was in force.

Rates change by budget and by exchange circular, so they live here as one table per period
(not as constants scattered through code) and are looked up by the trade date. Source:
../shared/docs/india-domain.md §1 (Zerodha's charges page and its mirrors, NSE/BSE circulars
of 27 Sep 2024, Finance Acts 2023 and 2026). Rates are written as PERCENT strings exactly as
the broker publishes them and turned into exact Decimal fractions once, at import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from engine.costs.types import ZERO, ChargeSegment, ScheduleCoverageError


def pct(percent: str) -> Decimal:
    """'0.00307' (percent, as published) -> Decimal('0.0000307'), exactly."""
    return Decimal(percent).scaleb(-2)


def per_crore(rupees: str) -> Decimal:
    """'275' (rupees per crore of turnover) -> Decimal('0.0000275'), exactly."""
    return Decimal(rupees).scaleb(-7)


@dataclass(frozen=True, slots=True)
class Brokerage:
    """Per executed order: min(rate x order value rounded to 0.01, cap), or a flat fee."""

    rate: Decimal = ZERO
    cap: Decimal = ZERO
    flat: Decimal = ZERO


FREE: Final = Brokerage()
PCT_OR_20: Final = Brokerage(rate=pct("0.03"), cap=Decimal(20))
FLAT_20: Final = Brokerage(flat=Decimal(20))


@dataclass(frozen=True, slots=True)
class SegmentRates:
    """One column of the broker's table. Exchange charges for NSE include the IPFT levy.

    `txn_bse=None` means "depends on the scrip's BSE group" (cash segments).
    """

    brokerage: Brokerage
    stt_buy: Decimal
    stt_sell: Decimal
    stamp_buy: Decimal
    txn_nse: Decimal
    txn_bse: Decimal | None
    stt_exercise: Decimal = ZERO  # options: on intrinsic value of a long option exercised


# BSE cash transaction charge by scrip group (Zerodha "charges explained"); any group not
# listed (A, B, T, ... "other non-exclusive") pays the default.
BSE_CASH_GROUPS: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        **dict.fromkeys(("X", "XT", "Z", "ZP"), per_crore("10000")),  # 0.1%
        **dict.fromkeys(("SS", "ST"), per_crore("100000")),  # 1%
        **dict.fromkeys(("M", "MT", "TS", "MS"), per_crore("275")),
    }
)
BSE_CASH_DEFAULT: Final = pct("0.00375")  # groups A/B and other non-exclusive scrips
# Every group BSE's bhavcopy writes in SC_GROUP/SctySrs that Artha knows: the ones above and
# those paying the default. Anything else is refused, so a typo never pays group A's rate.
BSE_GROUPS: Final[tuple[str, ...]] = tuple(
    sorted({"A", "B", "E", "F", "G", "IF", "IT", "P", "R", "T", "W", "ZY", *BSE_CASH_GROUPS})
)

SEBI_FEE: Final = per_crore("10")
GST_RATE: Final = pct("18")
# Rs 13 + 18% GST per scrip per day of delivery selling (Zerodha support, BTST DP article);
# older pages say Rs 15.93, hence a model setting rather than part of the schedule.
DEFAULT_DP_CHARGE: Final = Decimal("15.34")


@dataclass(frozen=True, slots=True, eq=False)
class ChargeSchedule:
    """All rates in force from `valid_from` to `valid_to` (inclusive; None = until changed)."""

    name: str
    valid_from: date
    valid_to: date | None
    segments: Mapping[ChargeSegment, SegmentRates]
    note: str
    bse_cash_groups: Mapping[str, Decimal] = field(default_factory=lambda: BSE_CASH_GROUPS)
    bse_cash_default: Decimal = BSE_CASH_DEFAULT
    sebi: Decimal = SEBI_FEE
    gst: Decimal = GST_RATE

    def covers(self, trade_date: date) -> bool:
        return self.valid_from <= trade_date and (
            self.valid_to is None or trade_date <= self.valid_to
        )

    @property
    def label(self) -> str:
        """'A (2026-04-01 onward)' / 'B (2024-10-01..2026-03-31)', for reports."""
        end = "onward" if self.valid_to is None else f"..{self.valid_to.isoformat()}"
        sep = " " if self.valid_to is None else ""
        return f"{self.name} ({self.valid_from.isoformat()}{sep}{end})"


def _table(
    *,
    fut_stt: str,
    opt_stt: str,
    exercise_stt: str,
    cash_txn: str,
    fut_txn: str,
    opt_txn: str,
    bse_opt_txn: str,
) -> Mapping[ChargeSegment, SegmentRates]:
    """The four columns; only STT on derivatives and exchange charges moved between periods."""
    return MappingProxyType(
        {
            ChargeSegment.DELIVERY: SegmentRates(
                FREE, pct("0.1"), pct("0.1"), pct("0.015"), pct(cash_txn), None
            ),
            ChargeSegment.INTRADAY: SegmentRates(
                PCT_OR_20, ZERO, pct("0.025"), pct("0.003"), pct(cash_txn), None
            ),
            ChargeSegment.FUTURES: SegmentRates(
                PCT_OR_20, ZERO, pct(fut_stt), pct("0.002"), pct(fut_txn), ZERO
            ),
            ChargeSegment.OPTIONS: SegmentRates(
                FLAT_20,
                ZERO,
                pct(opt_stt),
                pct("0.003"),
                pct(opt_txn),
                pct(bse_opt_txn),
                stt_exercise=pct(exercise_stt),
            ),
        }
    )


# Since 1 Oct 2024 (SEBI "true to label"): NSE cash 0.00297% + IPFT 0.0001% = 0.00307%,
# futures 0.00173% + 0.0001%, options 0.03503% + 0.0005% of premium; BSE SENSEX/BANKEX options
# 0.0325% (BSE stock options and SENSEX 50 options, 0.005%, are not modelled separately).
_TRUE_TO_LABEL: Final = {
    "cash_txn": "0.00307",
    "fut_txn": "0.00183",
    "opt_txn": "0.03553",
    "bse_opt_txn": "0.0325",
}
# Before 1 Oct 2024 exchanges charged volume slabs; these flat rates are what third-party
# calculators used for Zerodha (NSE cash 0.00322%, futures 0.00183%, options 0.0495%; BSE
# options ~0.0495% derived). Approximate, like every slab-era rate, and taken as all-in.
_SLAB_ERA: Final = {
    "cash_txn": "0.00322",
    "fut_txn": "0.00183",
    "opt_txn": "0.0495",
    "bse_opt_txn": "0.0495",
}

SCHEDULE_A: Final = ChargeSchedule(
    "A",
    date(2026, 4, 1),
    None,
    _table(fut_stt="0.05", opt_stt="0.15", exercise_stt="0.15", **_TRUE_TO_LABEL),
    "Union Budget 2026: STT futures 0.05%, options 0.15%, exercised 0.15%",
)
SCHEDULE_B: Final = ChargeSchedule(
    "B",
    date(2024, 10, 1),
    date(2026, 3, 31),
    _table(fut_stt="0.02", opt_stt="0.1", exercise_stt="0.125", **_TRUE_TO_LABEL),
    "uniform exchange charges (SEBI true-to-label); STT futures 0.02%, options 0.1%",
)
SCHEDULE_C: Final = ChargeSchedule(
    "C",
    date(2023, 4, 1),
    date(2024, 9, 30),
    _table(fut_stt="0.0125", opt_stt="0.0625", exercise_stt="0.125", **_SLAB_ERA),
    "Finance Act 2023 STT (futures 0.0125%, options 0.0625%); slab-era exchange charges",
)
# Finance Act 2023 raised derivative STT from 1 Apr 2023 (futures 0.01% -> 0.0125%, options
# 0.05% -> 0.0625%: Finance Ministry clarification of 24 Mar 2023). Exchange charges before
# then are the same approximations as schedule C.
SCHEDULE_D: Final = ChargeSchedule(
    "D",
    date(2020, 7, 1),
    date(2023, 3, 31),
    _table(fut_stt="0.01", opt_stt="0.05", exercise_stt="0.125", **_SLAB_ERA),
    "uniform stamp duty (from 2020-07-01); STT futures 0.01%, options 0.05%",
)

# Nothing older is modelled. Before 2020-07-01 stamp duty was levied by each state at its own
# rates (the Finance Act 2019 amendment of the Indian Stamp Act made it national from that
# day), so no one table is right for every trader; the slab-era exchange charges and the
# SEBI fee of those years are known only approximately. Older backtests use a flat bps model
# or none (the CLI says so: app/commands/backtest.py).
# Newest first: backtests mostly ask about recent dates.
SCHEDULES: Final[Sequence[ChargeSchedule]] = (SCHEDULE_A, SCHEDULE_B, SCHEDULE_C, SCHEDULE_D)


def schedule_for(
    trade_date: date, schedules: Sequence[ChargeSchedule] = SCHEDULES
) -> ChargeSchedule:
    """The schedule in force on trade_date; ScheduleCoverageError outside all of them."""
    for schedule in schedules:
        if schedule.covers(trade_date):
            return schedule
    raise ScheduleCoverageError(trade_date, min(s.valid_from for s in schedules))


def uncovered_spans(
    first: date, last: date, schedules: Sequence[ChargeSchedule] = SCHEDULES
) -> list[tuple[date, date]]:
    """The parts of first..last (inclusive) that no schedule covers, oldest first.

    A backtest asks this before it runs, so a trader hears which dates have no charges
    (and what to do) instead of a failure at the first fill on such a date.
    """
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    spans: list[tuple[date, date]] = []
    day = first
    for schedule in sorted(schedules, key=lambda s: s.valid_from):
        if schedule.valid_to is not None and schedule.valid_to < day:
            continue
        if schedule.valid_from > last:
            break
        if schedule.valid_from > day:
            spans.append((day, schedule.valid_from - timedelta(days=1)))
        if schedule.valid_to is None:
            return spans
        day = schedule.valid_to + timedelta(days=1)
        if day > last:
            return spans
    spans.append((day, last))
    return spans
