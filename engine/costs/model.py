"""Zerodha's charges for one contract note, rounded exactly as the note rounds them.

Rules (india-domain §1.4/§1.6): brokerage per executed order, rounded to 0.01 then capped;
STT on the note's buy/sell values summed, then rounded once to the rupee; stamp duty on the
buy value (rupee by default, paisa as a switch); exchange charge and SEBI fee on the note's
turnover to 0.01; GST 18% on brokerage + exchange + SEBI to 0.01; DP once per scrip per day
on delivery sells. Decimal throughout, ROUND_HALF_UP.

A backtest calls `compute` once per (day, scrip, segment), so the rates for a (schedule,
segment, exchange, BSE group) are resolved once and cached; a call is then plain arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from engine.costs.notes import SegmentNote
from engine.costs.schedules import (
    BSE_GROUPS,
    DEFAULT_DP_CHARGE,
    SCHEDULES,
    ChargeSchedule,
    schedule_for,
)
from engine.costs.types import (
    ZERO,
    ZERO_PAISE,
    ChargeBreakdown,
    ChargeSegment,
    EquityExecution,
    Execution,
    ExecutionLike,
    round_paisa,
    round_rupee,
)
from engine.domain.enums import Exchange, Product, Side
from engine.domain.money import to_decimal

StampRounding = Literal["rupee", "paisa"]

_VENUE: Final = {
    Exchange.NSE: Exchange.NSE,
    Exchange.NFO: Exchange.NSE,
    Exchange.BSE: Exchange.BSE,
    Exchange.BFO: Exchange.BSE,
}
_CASH: Final = frozenset((ChargeSegment.DELIVERY, ChargeSegment.INTRADAY))


_ANY_PRODUCT: Final = Product.NRML  # a segment's note does not look at the product


@dataclass(frozen=True, slots=True)
class NoteRates:
    """Everything one note needs, resolved from a schedule: no lookups inside `compute`."""

    brokerage_rate: Decimal
    brokerage_cap: Decimal
    brokerage_flat: Decimal
    stt_buy: Decimal
    stt_sell: Decimal
    stt_exercise: Decimal
    stamp: Decimal
    txn: Decimal
    sebi: Decimal
    gst: Decimal
    dp_on_sell: Decimal


def normalise_bse_group(group: str) -> str:
    """'a ' -> 'A'; only groups in BSE_GROUPS: an unknown one would silently pay the default."""
    code = group.strip().upper() if isinstance(group, str) else ""
    if code not in BSE_GROUPS:
        raise ValueError(
            f"bse_group {group!r} is not a BSE scrip group; use one of {', '.join(BSE_GROUPS)}"
        )
    return code


class ZerodhaCostModel:
    """Zerodha's published charges, schedule chosen by trade date (see schedules.py)."""

    name = "zerodha"

    def __init__(
        self,
        *,
        schedules: Sequence[ChargeSchedule] = SCHEDULES,
        dp_charge: Decimal | int | str = DEFAULT_DP_CHARGE,
        stamp_rounding: StampRounding = "rupee",
    ) -> None:
        if stamp_rounding not in ("rupee", "paisa"):
            raise ValueError(f"stamp_rounding must be 'rupee' or 'paisa', got {stamp_rounding!r}")
        dp = to_decimal(dp_charge, "dp_charge")
        if dp < 0:
            raise ValueError(f"dp_charge must be >= 0, got {dp}")
        self._schedules = tuple(schedules)
        self._dp = round_paisa(dp)
        self._round_stamp = round_rupee if stamp_rounding == "rupee" else round_paisa
        self.round_stamp = self._round_stamp  # the note's stamp-duty rounding, for equity_day
        self.stamp_rounding: StampRounding = stamp_rounding
        self._by_date: dict[date, ChargeSchedule] = {}
        self._rates: dict[tuple[date, ChargeSegment, Exchange, str], NoteRates] = {}

    def schedule_for(self, trade_date: date) -> ChargeSchedule:
        """The schedule in force on trade_date (cached per date)."""
        found = self._by_date.get(trade_date)
        if found is None:
            found = self._by_date[trade_date] = schedule_for(trade_date, self._schedules)
        return found

    def describe(self, trade_date: date) -> str:
        return f"Zerodha schedule {self.schedule_for(trade_date).label}"

    def rates(
        self,
        segment: ChargeSegment | str,
        exchange: Exchange | str,
        trade_date: date,
        bse_group: str = "A",
    ) -> NoteRates:
        """Resolve (and cache) the Decimal rates for one kind of note."""
        seg = ChargeSegment(segment)
        listed = Exchange(exchange)
        if seg in _CASH and listed not in (Exchange.NSE, Exchange.BSE):
            raise ValueError(f"{seg} trades are on NSE or BSE, not {listed}")
        venue = _VENUE[listed]
        group = normalise_bse_group(bse_group) if venue is Exchange.BSE and seg in _CASH else ""
        key = (trade_date, seg, venue, group)
        cached = self._rates.get(key)
        if cached is not None:
            return cached
        schedule = self.schedule_for(trade_date)
        table = schedule.segments[seg]
        if venue is Exchange.NSE:
            txn = table.txn_nse
        elif table.txn_bse is not None:
            txn = table.txn_bse
        else:
            txn = schedule.bse_cash_groups.get(group, schedule.bse_cash_default)
        resolved = NoteRates(
            brokerage_rate=table.brokerage.rate,
            brokerage_cap=table.brokerage.cap,
            brokerage_flat=table.brokerage.flat,
            stt_buy=table.stt_buy,
            stt_sell=table.stt_sell,
            stt_exercise=table.stt_exercise,
            stamp=table.stamp_buy,
            txn=txn,
            sebi=schedule.sebi,
            gst=schedule.gst,
            dp_on_sell=self._dp if seg is ChargeSegment.DELIVERY else ZERO_PAISE,
        )
        self._rates[key] = resolved
        return resolved

    def compute_equity_day(
        self,
        executions: Sequence[EquityExecution],
        exchange: Exchange | str,
        trade_date: date,
    ) -> ChargeBreakdown:
        """Zerodha bills CNC bought and sold the same day as intraday (equity_day.py)."""
        from engine.costs.equity_day import equity_day_note  # it builds on this model

        return equity_day_note(self, executions, exchange, trade_date)

    def compute(
        self,
        executions: Sequence[ExecutionLike],
        segment: ChargeSegment | str,
        exchange: Exchange | str,
        trade_date: date,
        *,
        bse_group: str = "A",
        exercised_value: Decimal = ZERO,
    ) -> ChargeBreakdown:
        """Charges of one contract note: one scrip, one segment, one trading day.

        `executions` holds one entry per EXECUTED ORDER. `exercised_value` is the intrinsic
        value (units x (settlement - strike)) of long options exercised that day: it bears
        exercise STT only; no brokerage, exchange charge or stamp duty is levied on it here.
        """
        note = SegmentNote(
            self,
            segment,
            exchange,
            trade_date,
            bse_group=bse_group,
            exercised_value=exercised_value,
        )
        for ex in executions:  # the note is the rule (engine/costs/notes.py): fold it
            note.add(ex.side, ex.quantity, ex.price, _ANY_PRODUCT)
        return note.breakdown()


DEFAULT_MODEL: Final = ZerodhaCostModel()


def compute_charges(
    executions: Sequence[ExecutionLike],
    segment: ChargeSegment | str,
    exchange: Exchange | str,
    trade_date: date,
    *,
    bse_group: str = "A",
    exercised_value: Decimal = ZERO,
    model: ZerodhaCostModel = DEFAULT_MODEL,
) -> ChargeBreakdown:
    """Zerodha charges of one contract note with the default settings (see `compute`)."""
    return model.compute(
        executions,
        segment,
        exchange,
        trade_date,
        bse_group=bse_group,
        exercised_value=exercised_value,
    )


def round_trip(
    segment: ChargeSegment | str,
    exchange: Exchange | str,
    quantity: int,
    buy: Decimal | int | str,
    sell: Decimal | int | str,
    trade_date: date,
    *,
    bse_group: str = "A",
    model: ZerodhaCostModel = DEFAULT_MODEL,
) -> ChargeBreakdown:
    """One buy order and one sell order of `quantity` in a single note (the CLI's case)."""
    executions = (
        Execution(Side.BUY, quantity, to_decimal(buy, "buy")),
        Execution(Side.SELL, quantity, to_decimal(sell, "sell")),
    )
    return model.compute(executions, segment, exchange, trade_date, bse_group=bse_group)
