"""The contract-note rules, written once, as notes that grow one executed order at a time.

A note (one scrip, one day; one segment for F&O) is rounded on its aggregates, so a backtest
charges each fill as the increase of its note's total. These classes keep the running
aggregates (buy/sell values, the MIS and CNC parts, CNC quantities, brokerage per order) and
close them with Zerodha's arithmetic, so `add` costs O(1) whatever the note's length. They ARE
the rules: `ZerodhaCostModel.compute`, `equity_day_note` and `BpsCostModel.compute` (what
`artha charges` prints) fold their executions through them, so a note priced whole and a note
grown fill by fill cannot disagree. The charge test vectors (tests/engine/test_costs*.py,
../shared/fixtures) hold them to the paisa.

Nothing here imports the models at run time (they import these): a note reads the rates and
the stamp rounding from the model it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Final

from engine.costs.types import (
    PAISA,
    RUPEE,
    ZERO,
    ZERO_PAISE,
    ChargeBreakdown,
    ChargeSegment,
    round_paisa,
    round_rupee,
)
from engine.domain.enums import Exchange, Product, Side

if TYPE_CHECKING:
    from engine.costs.bps import BpsCostModel
    from engine.costs.model import ZerodhaCostModel

_BUY: Final = Side.BUY
_SELL: Final = Side.SELL
_MIS: Final = Product.MIS
_CNC: Final = Product.CNC


def _quantum_of(round_stamp: Callable[[Decimal], Decimal]) -> Decimal | None:
    """The quantum of the model's stamp-duty rounding when it is one of ours (its result,
    quantized half-up and kept with two decimals, is then computed inline); None otherwise."""
    if round_stamp is round_rupee:
        return RUPEE
    if round_stamp is round_paisa:
        return PAISA
    return None


def _check_quantity(quantity: int) -> None:
    if quantity <= 0:
        raise ValueError(f"execution quantity must be >= 1, got {quantity}")


class EquityDayNote:
    """`equity_day_note` (engine/costs/equity_day.py), one order at a time.

    Brokerage: MIS orders pay intraday brokerage as they come. A CNC (or other non-MIS) order
    pays the delivery flat fee until the day has both CNC buys and CNC sells ("mixed"); from
    then on every such order of the day, earlier ones included, pays intraday brokerage. The
    values of those orders are kept until the day turns mixed, priced once then, and dropped.
    """

    __slots__ = (
        "_bought",
        "_brokerage_mis",
        "_buy",
        "_cap",
        "_cnc_buy",
        "_cnc_sell",
        "_deliv",
        "_flat",
        "_gst",
        "_intra",
        "_mis_buy",
        "_mis_sell",
        "_mixed",
        "_other_count",
        "_other_intraday",
        "_pending",
        "_rate",
        "_round_stamp",
        "_sebi",
        "_sell",
        "_sold",
        "_stamp_quantum",
        "_txn",
    )

    def __init__(
        self,
        model: ZerodhaCostModel,
        exchange: Exchange | str,
        trade_date: date,
        *,
        bse_group: str = "A",
    ) -> None:
        intra = model.rates(ChargeSegment.INTRADAY, exchange, trade_date, bse_group)
        deliv = model.rates(ChargeSegment.DELIVERY, exchange, trade_date, bse_group)
        self._intra = intra
        self._deliv = deliv
        self._rate = intra.brokerage_rate
        self._cap = intra.brokerage_cap
        self._flat = deliv.brokerage_flat
        self._txn = intra.txn
        self._sebi = intra.sebi
        self._gst = intra.gst
        self._round_stamp: Callable[[Decimal], Decimal] = model.round_stamp
        self._stamp_quantum = _quantum_of(model.round_stamp)
        self._buy = self._sell = ZERO  # every order's value, by side
        self._mis_buy = self._mis_sell = ZERO  # MIS orders' values
        self._cnc_buy = self._cnc_sell = ZERO  # CNC orders' values
        self._bought = self._sold = 0  # CNC quantities
        self._mixed = False
        self._brokerage_mis = ZERO
        self._other_count = 0  # non-MIS orders (CNC, anything else)
        self._other_intraday = ZERO  # their intraday brokerage, once the day is mixed
        self._pending: list[Decimal] | None = []  # their values, until the day is mixed

    def _fee(self, value: Decimal) -> Decimal:
        fee = (value * self._rate).quantize(PAISA, ROUND_HALF_UP)
        cap = self._cap
        return cap if cap < fee else fee  # min(fee, cap)

    def add(self, side: Side, quantity: int, price: Decimal, product: Product) -> Decimal:
        _check_quantity(quantity)
        value = price * quantity
        buying = side is _BUY
        if buying:
            self._buy += value
        else:
            self._sell += value
        if product is _MIS:
            if buying:
                self._mis_buy += value
            else:
                self._mis_sell += value
            fee = (value * self._rate).quantize(PAISA, ROUND_HALF_UP)
            cap = self._cap
            self._brokerage_mis += cap if cap < fee else fee
        else:
            if product is _CNC:
                if buying:
                    self._cnc_buy += value
                    self._bought += quantity
                else:
                    self._cnc_sell += value
                    self._sold += quantity
            self._other_count += 1
            pending = self._pending
            if pending is None:
                self._other_intraday += self._fee(value)
            else:
                pending.append(value)
                if self._bought and self._sold:  # the day has just turned mixed
                    self._mixed = True
                    self._pending = None
                    fees = ZERO
                    for earlier in pending:
                        fees += self._fee(earlier)
                    self._other_intraday = fees
        return self._components()[7]

    def _components(self) -> tuple[Decimal, ...]:
        """The closing arithmetic of equity_day_note, on the running aggregates."""
        intra, deliv = self._intra, self._deliv
        bought, sold = self._bought, self._sold
        squared = bought if bought < sold else sold
        intraday_buy, intraday_sell = self._mis_buy, self._mis_sell
        delivery_buy = delivery_sell = ZERO
        if bought:
            average = self._cnc_buy / bought
            intraday_buy += average * squared
            delivery_buy = average * (bought - squared)
        if sold:
            average = self._cnc_sell / sold
            intraday_sell += average * squared
            delivery_sell = average * (sold - squared)

        buy = self._buy + ZERO_PAISE
        sell = self._sell + ZERO_PAISE
        turnover = buy + sell
        stt = (
            intraday_buy * intra.stt_buy + intraday_sell * intra.stt_sell
            + delivery_buy * deliv.stt_buy + delivery_sell * deliv.stt_sell
        ).quantize(RUPEE, ROUND_HALF_UP) + ZERO_PAISE  # round_rupee  # fmt: skip
        stamp = intraday_buy * intra.stamp + delivery_buy * deliv.stamp
        quantum = self._stamp_quantum
        if quantum is None:
            stamp = self._round_stamp(stamp)
        else:
            stamp = stamp.quantize(quantum, ROUND_HALF_UP) + ZERO_PAISE
        txn = (turnover * self._txn).quantize(PAISA, ROUND_HALF_UP)
        sebi = (turnover * self._sebi).quantize(PAISA, ROUND_HALF_UP)
        other = self._other_intraday if self._mixed else self._flat * self._other_count
        brokerage = self._brokerage_mis + other + ZERO_PAISE
        gst = ((brokerage + txn + sebi) * self._gst).quantize(PAISA, ROUND_HALF_UP)
        dp = deliv.dp_on_sell if sold > bought else ZERO_PAISE
        total = brokerage + stt + txn + sebi + stamp + gst + dp
        return (brokerage, stt, txn, sebi, stamp, gst, dp, total, buy, sell, turnover)

    def breakdown(self) -> ChargeBreakdown:
        return ChargeBreakdown(*self._components())


class SegmentNote:
    """`ZerodhaCostModel.compute` (one segment's note: F&O, or a cash segment alone), one
    order at a time. `exercised_value` is fixed for the note, as it is one argument there."""

    __slots__ = (
        "_brokerage",
        "_buy",
        "_cap",
        "_exercise_stt",
        "_flat",
        "_rate",
        "_rates",
        "_round_stamp",
        "_sell",
    )

    def __init__(
        self,
        model: ZerodhaCostModel,
        segment: ChargeSegment | str,
        exchange: Exchange | str,
        trade_date: date,
        *,
        bse_group: str = "A",
        exercised_value: Decimal = ZERO,
    ) -> None:
        r = model.rates(segment, exchange, trade_date, bse_group)
        if exercised_value < 0:
            raise ValueError(f"exercised_value must be >= 0, got {exercised_value}")
        self._rates = r
        self._rate = r.brokerage_rate
        self._cap = r.brokerage_cap
        self._flat = r.brokerage_flat
        self._exercise_stt = exercised_value * r.stt_exercise
        self._round_stamp: Callable[[Decimal], Decimal] = model.round_stamp
        self._buy = self._sell = self._brokerage = ZERO

    def add(self, side: Side, quantity: int, price: Decimal, product: Product) -> Decimal:
        _check_quantity(quantity)
        value = price * quantity
        if side == _BUY:
            self._buy += value
        elif side == _SELL:
            self._sell += value
        else:
            raise ValueError(f"execution side must be BUY or SELL, got {side!r}")
        if self._rate:
            fee = (value * self._rate).quantize(PAISA, ROUND_HALF_UP)
            cap = self._cap
            self._brokerage += fee if fee < cap else cap
        else:
            self._brokerage += self._flat
        return self._components()[7]

    def _components(self) -> tuple[Decimal, ...]:
        """The closing arithmetic of ZerodhaCostModel.compute, on the running sums."""
        r = self._rates
        buy = self._buy + ZERO_PAISE
        sell = self._sell + ZERO_PAISE
        turnover = buy + sell
        stt = round_rupee(buy * r.stt_buy + sell * r.stt_sell + self._exercise_stt)
        stamp = self._round_stamp(buy * r.stamp)
        txn = (turnover * r.txn).quantize(PAISA, ROUND_HALF_UP)
        sebi = (turnover * r.sebi).quantize(PAISA, ROUND_HALF_UP)
        brokerage = self._brokerage + ZERO_PAISE
        gst = ((brokerage + txn + sebi) * r.gst).quantize(PAISA, ROUND_HALF_UP)
        dp = r.dp_on_sell if self._sell else ZERO_PAISE
        total = brokerage + stt + txn + sebi + stamp + gst + dp
        return (brokerage, stt, txn, sebi, stamp, gst, dp, total, buy, sell, turnover)

    def breakdown(self) -> ChargeBreakdown:
        return ChargeBreakdown(*self._components())


class BpsNote:
    """`BpsCostModel.compute` one order at a time (its equity day is the same note)."""

    __slots__ = ("_buy", "_quantum", "_rate", "_sell")

    def __init__(
        self, model: BpsCostModel, segment: ChargeSegment | str, exchange: Exchange | str
    ) -> None:
        ChargeSegment(segment)  # validated as compute validates them
        Exchange(exchange)
        self._rate = model.rate
        self._quantum = model.quantum
        self._buy = self._sell = ZERO

    def add(self, side: Side, quantity: int, price: Decimal, product: Product) -> Decimal:
        _check_quantity(quantity)
        value = price * quantity
        if side == _BUY:
            self._buy += value
        elif side == _SELL:
            self._sell += value
        else:
            raise ValueError(f"execution side must be BUY or SELL, got {side!r}")
        return self._components()[7]

    def _components(self) -> tuple[Decimal, ...]:
        buy = self._buy + ZERO_PAISE
        sell = self._sell + ZERO_PAISE
        turnover = buy + sell
        fee = turnover * self._rate
        if self._quantum is not None:
            fee = fee.quantize(self._quantum, ROUND_HALF_UP)  # positional: a cheaper call
        z = ZERO_PAISE
        return (fee, z, z, z, z, z, z, fee, buy, sell, turnover)

    def breakdown(self) -> ChargeBreakdown:
        return ChargeBreakdown(*self._components())
