"""Equity cash notes of one scrip-day as Zerodha bills them: CNC bought and sold the same day is
intraday. Expected values are worked by hand from ../shared/docs/india-domain.md §1.1."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from engine.costs import DEFAULT_MODEL, ChargeSegment, Execution, round_trip
from engine.costs.equity_day import EquityExecution, equity_day_note
from engine.domain.enums import Exchange, Product, Side

DAY = date(2026, 5, 4)  # schedule A


def note(*executions: tuple[str, int, str, str]):
    return equity_day_note(
        DEFAULT_MODEL,
        [EquityExecution(Side(s), q, D(p), Product(prod)) for s, q, p, prod in executions],
        Exchange.NSE,
        DAY,
    )


def test_cnc_bought_and_sold_the_same_day_is_billed_as_intraday():
    same_day = note(("BUY", 100, "1000", "CNC"), ("SELL", 100, "1010", "CNC"))
    intraday = round_trip(ChargeSegment.INTRADAY, Exchange.NSE, 100, D(1000), D(1010), DAY)
    assert same_day == intraday  # the E3 vector: 82.72
    assert same_day.total == D("82.72") and same_day.dp == 0


def test_a_cnc_buy_alone_is_delivery():
    alone = note(("BUY", 100, "1000", "CNC"))
    delivery = DEFAULT_MODEL.compute(
        [Execution(Side.BUY, 100, D(1000))], ChargeSegment.DELIVERY, Exchange.NSE, DAY
    )
    assert alone == delivery
    assert (alone.brokerage, alone.stt, alone.stamp_duty) == (D("0.00"), D(100), D(15))


def test_partly_squared_off_cnc_splits_stt_and_stamp_and_charges_both_orders():
    got = note(("BUY", 100, "1000", "CNC"), ("SELL", 40, "1010", "CNC"))
    # brokerage, intraday on both orders: min(30.00, 20) + min(12.12, 20) = 32.12
    assert got.brokerage == D("32.12")
    # STT: 40 squared off at intraday, sell side 40 x 1010 x 0.025% = 10.10;
    #      60 kept, delivery buy side 60 x 1000 x 0.1% = 60.00; 70.10 -> 70
    assert got.stt == D(70)
    # stamp: 40 x 1000 x 0.003% = 1.20 + 60 x 1000 x 0.015% = 9.00 -> 10.20 -> 10
    assert got.stamp_duty == D(10)
    # exchange 140,400 x 0.00307% = 4.310 -> 4.31; SEBI 0.1404 -> 0.14
    assert (got.exchange_txn, got.sebi) == (D("4.31"), D("0.14"))
    # GST 18% x (32.12 + 4.31 + 0.14) = 6.5826 -> 6.58; no DP (nothing left the demat)
    assert (got.gst, got.dp) == (D("6.58"), D("0.00"))
    assert got.total == D("123.15")


def test_selling_more_than_bought_today_takes_shares_from_the_demat_and_pays_dp():
    got = note(("SELL", 100, "1010", "CNC"), ("BUY", 30, "1000", "CNC"))
    assert got.dp == D("15.34")
    # STT: 30 intraday sell x 1010 x 0.025% = 7.575; 70 delivery sell x 1010 x 0.1% = 70.70
    # buy side intraday: 0; total 78.275 -> 78
    assert got.stt == D(78)


def test_mis_orders_are_intraday_beside_a_delivery_buy():
    got = note(("BUY", 10, "500", "MIS"), ("SELL", 10, "502", "MIS"), ("BUY", 5, "500", "CNC"))
    # brokerage: MIS 1.50 + 1.51, the lone CNC buy 0 -> 3.01
    assert got.brokerage == D("3.01")
    # STT: MIS sell 5020 x 0.025% = 1.255; CNC buy 2500 x 0.1% = 2.50; 3.755 -> 4
    assert got.stt == D(4)
