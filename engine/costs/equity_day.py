"""One scrip's equity trades of one day, MIS and CNC together, billed as Zerodha bills them.

Zerodha (support: "Why was the brokerage charged on delivery trades?") treats CNC shares bought
and sold in the same session as INTRADAY: every CNC order of such a day pays intraday brokerage
(0.03% or Rs 20, lower, per executed order), whatever the quantities. STT and stamp duty follow
the quantity: the squared-off part (the smaller of the day's CNC buys and sells) at intraday
rates, the rest at delivery rates, each side valued at the day's average price of that side
(../shared/docs/india-domain.md §1.4). A DP charge applies only when the day's CNC sells exceed
its CNC buys, i.e. shares leave the demat. MIS orders are intraday throughout. STT and stamp duty
are rounded once for the note; exchange and SEBI charges are on the whole turnover (the rates
are the same for both parts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from engine.costs.model import ZerodhaCostModel
from engine.costs.types import (
    ZERO,
    ZERO_PAISE,
    ChargeBreakdown,
    ChargeSegment,
    EquityExecution,
    round_paisa,
    round_rupee,
)
from engine.domain.enums import Exchange, Product, Side


def equity_day_note(
    model: ZerodhaCostModel,
    executions: Sequence[EquityExecution],
    exchange: Exchange | str,
    trade_date: date,
    *,
    bse_group: str = "A",
) -> ChargeBreakdown:
    intra = model.rates(ChargeSegment.INTRADAY, exchange, trade_date, bse_group)
    deliv = model.rates(ChargeSegment.DELIVERY, exchange, trade_date, bse_group)
    cnc_buys = [e for e in executions if e.product is Product.CNC and e.side is Side.BUY]
    cnc_sells = [e for e in executions if e.product is Product.CNC and e.side is Side.SELL]
    mixed = bool(cnc_buys) and bool(cnc_sells)  # bought and sold CNC today: intraday orders

    brokerage = ZERO
    buy = sell = ZERO
    intraday_buy = intraday_sell = ZERO
    for e in executions:
        if e.quantity <= 0:
            raise ValueError(f"execution quantity must be >= 1, got {e.quantity}")
        value = e.price * e.quantity
        if e.side is Side.BUY:
            buy += value
        else:
            sell += value
        if e.product is Product.MIS:
            intraday_buy += value if e.side is Side.BUY else ZERO
            intraday_sell += value if e.side is Side.SELL else ZERO
        if e.product is Product.MIS or mixed:
            fee = round_paisa(value * intra.brokerage_rate)
            brokerage += min(fee, intra.brokerage_cap)
        else:
            brokerage += deliv.brokerage_flat

    bought = sum(e.quantity for e in cnc_buys)
    sold = sum(e.quantity for e in cnc_sells)
    squared = min(bought, sold)
    delivery_buy = delivery_sell = ZERO
    if bought:
        average = sum((e.price * e.quantity for e in cnc_buys), ZERO) / bought
        intraday_buy += average * squared
        delivery_buy = average * (bought - squared)
    if sold:
        average = sum((e.price * e.quantity for e in cnc_sells), ZERO) / sold
        intraday_sell += average * squared
        delivery_sell = average * (sold - squared)

    buy += ZERO_PAISE
    sell += ZERO_PAISE
    turnover = buy + sell
    stt = round_rupee(
        intraday_buy * intra.stt_buy + intraday_sell * intra.stt_sell
        + delivery_buy * deliv.stt_buy + delivery_sell * deliv.stt_sell
    )  # fmt: skip
    stamp = model.round_stamp(intraday_buy * intra.stamp + delivery_buy * deliv.stamp)
    txn = round_paisa(turnover * intra.txn)
    sebi = round_paisa(turnover * intra.sebi)
    brokerage += ZERO_PAISE
    gst = round_paisa((brokerage + txn + sebi) * intra.gst)
    dp = deliv.dp_on_sell if sold > bought else ZERO_PAISE
    total = brokerage + stt + txn + sebi + stamp + gst + dp
    return ChargeBreakdown(brokerage, stt, txn, sebi, stamp, gst, dp, total, buy, sell, turnover)
