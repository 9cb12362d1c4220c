"""Indian transaction costs: every published vector to the paisa, and the rules around them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from engine.costs import (
    BEFORE_UNIFORM_STAMP,
    SCHEDULES,
    BpsCostModel,
    ChargeBreakdown,
    ChargeSegment,
    Execution,
    ScheduleCoverageError,
    ZerodhaCostModel,
    compute_charges,
    make_cost_model,
    round_trip,
    schedule_for,
    uncovered_spans,
)
from engine.domain import Exchange, Fill, Product, Segment, Side

VECTORS_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "charges"
    / "zerodha_charges_vectors.json"
)
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
# A trade date inside each schedule the vectors name.
SCHEDULE_DATE = {"A": date(2026, 4, 1), "B": date(2025, 6, 2)}
# vector key -> ChargeBreakdown field
COMPONENTS = {
    "brokerage": "brokerage",
    "stt": "stt",
    "txn": "exchange_txn",
    "sebi": "sebi",
    "stamp": "stamp_duty",
    "gst": "gst",
    "dp": "dp",
    "total": "total",
    "buy_value": "buy_value",
    "sell_value": "sell_value",
    "turnover": "turnover",
}
A_DAY = date(2026, 4, 2)
B_DAY = date(2025, 6, 2)
PAISA_STAMP = ZerodhaCostModel(stamp_rounding="paisa")


def vector_note(v: dict, model: ZerodhaCostModel | None = None) -> ChargeBreakdown:
    kwargs = {} if model is None else {"model": model}
    return round_trip(
        v["segment"],
        v["exchange"],
        v["quantity"],
        v["buy_price"],
        v["sell_price"],
        SCHEDULE_DATE[v["schedule"]],
        **kwargs,
    )


def test_the_fixture_has_the_documented_vectors():
    assert [v["id"] for v in VECTORS] == ["E1", "E3", "E4", "E5", "E6", "E9", "E10"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_matches_to_the_paisa(v):
    assert schedule_for(SCHEDULE_DATE[v["schedule"]]).name == v["schedule"]
    note = vector_note(v)
    for key, name in COMPONENTS.items():
        assert getattr(note, name) == Decimal(v[key]), f"{v['id']} {key}"
    gross = note.sell_value - note.buy_value
    assert gross == Decimal(v["gross_pnl"])
    assert gross - note.total == Decimal(v["net_pnl"])


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_schedule_rates_reproduce_the_unrounded_components(v):
    rates = ZerodhaCostModel().rates(v["segment"], v["exchange"], SCHEDULE_DATE[v["schedule"]])
    buy, sell = Decimal(v["buy_value"]), Decimal(v["sell_value"])
    raw = v["raw"]
    assert buy * rates.stt_buy + sell * rates.stt_sell == Decimal(raw["stt"])
    assert (buy + sell) * rates.txn == Decimal(raw["txn"])
    assert (buy + sell) * rates.sebi == Decimal(raw["sebi"])
    assert buy * rates.stamp == Decimal(raw["stamp"])


@pytest.mark.parametrize(
    ("vid", "total", "stamp"),
    [
        ("E1", "238.86", "15.00"),
        ("E3", "82.72", "3.00"),
        ("E4", "5.08", "0.15"),
        ("E5", "932.60", "31.20"),
        ("E6", "65.41", "0.20"),  # raw 0.195 -> 0.20, half-up
        ("E9", "462.60", "31.20"),
        ("E10", "61.41", "0.20"),
    ],
)
def test_stamp_duty_in_paise_switch(vid, total, stamp):
    v = next(v for v in VECTORS if v["id"] == vid)
    note = vector_note(v, PAISA_STAMP)
    assert (note.total, note.stamp_duty) == (Decimal(total), Decimal(stamp))


def test_stamp_rounds_to_zero_rupees_for_e4_and_e6():
    e4 = round_trip("intraday", "NSE", 10, "500", "502", A_DAY)
    e6 = round_trip("options", "NSE", 65, "100", "120", A_DAY)
    assert e4.stamp_duty == 0  # raw 0.15
    assert e6.stamp_duty == 0  # raw 0.195


def test_exchange_charge_of_x_xx5_rounds_half_up():
    # NSE cash: 0.0000307 x 150,000 = 4.605 exactly; banker's rounding would give 4.60.
    nse = round_trip("intraday", "NSE", 750, "100", "100", A_DAY)
    assert nse.exchange_txn == Decimal("4.61")
    # BSE group A: 0.0000375 x 6,000 = 0.225 -> 0.23 (a float round() gives 0.23 or 0.22).
    bse = round_trip("delivery", "BSE", 30, "100", "100", A_DAY)
    assert bse.exchange_txn == Decimal("0.23")


def test_stt_of_exactly_fifty_paise_rounds_up_and_below_rounds_down():
    # Intraday STT 0.025% of sell value: 10,000 -> 2.50 -> 3; 1,960 -> 0.49 -> 0.
    assert round_trip("intraday", "NSE", 100, "100", "100", A_DAY).stt == 3
    assert round_trip("intraday", "NSE", 1, "1960", "1960", A_DAY).stt == 0
    # 2,000 -> 0.50 -> 1 (round-half-even would give 0).
    assert round_trip("intraday", "NSE", 1, "2000", "2000", A_DAY).stt == 1


def test_amounts_carry_two_decimals_and_json_is_plain_decimal_strings():
    note = round_trip("delivery", "NSE", 100, "1000", "1010", A_DAY)
    data = note.as_json()
    assert list(data)[:8] == [
        "brokerage",
        "stt",
        "exchange_txn",
        "sebi",
        "stamp_duty",
        "gst",
        "dp",
        "total",
    ]
    assert data["stt"] == "201.00" and data["total"] == "238.86"
    assert data["buy_value"] == "100000.00" and data["turnover"] == "201000.00"
    big = round_trip("delivery", "NSE", 1, "1E+3", "1E+3", A_DAY).as_json()
    assert "E" not in "".join(big.values())


@pytest.mark.parametrize(
    ("day", "schedule", "fut_stt", "opt_stt", "opt_txn", "cash_txn"),
    [
        (date(2020, 7, 1), "D", "157", "4", "7.08", "6.47"),
        (date(2023, 3, 31), "D", "157", "4", "7.08", "6.47"),
        (date(2023, 4, 1), "C", "196", "5", "7.08", "6.47"),
        (date(2024, 9, 30), "C", "196", "5", "7.08", "6.47"),
        (date(2024, 10, 1), "B", "313", "8", "5.08", "6.17"),
        (date(2026, 3, 31), "B", "313", "8", "5.08", "6.17"),
        (date(2026, 4, 1), "A", "783", "12", "5.08", "6.17"),
        (date(2031, 1, 1), "A", "783", "12", "5.08", "6.17"),
    ],
)
def test_the_schedule_switches_on_its_effective_date(
    day, schedule, fut_stt, opt_stt, opt_txn, cash_txn
):
    assert schedule_for(day).name == schedule
    futures = round_trip("futures", "NSE", 65, "24000", "24100", day)
    options = round_trip("options", "NSE", 65, "100", "120", day)
    cash = round_trip("intraday", "NSE", 100, "1000", "1010", day)
    assert futures.stt == Decimal(fut_stt)  # 0.01/0.0125/0.02/0.05% of 1,566,500
    assert futures.exchange_txn == Decimal("57.21")  # 0.00183% in every period
    assert options.stt == Decimal(opt_stt)  # 0.05/0.0625/0.1/0.15% of 7,800
    assert options.exchange_txn == Decimal(opt_txn)  # 0.0495% before Oct 2024, 0.03553% after
    assert cash.exchange_txn == Decimal(cash_txn)  # 0.00322% -> 0.00307%
    assert cash.stt == 25  # intraday STT did not change


def test_schedules_are_contiguous_newest_first():
    for newer, older in pairwise(SCHEDULES):
        assert older.valid_to is not None
        assert (newer.valid_from - older.valid_to).days == 1
    assert SCHEDULES[0].valid_to is None
    assert SCHEDULES[-1].valid_from == date(2020, 7, 1)


def test_a_date_before_coverage_is_refused_naming_the_date():
    with pytest.raises(ScheduleCoverageError, match=r"2020-06-30.*2020-07-01"):
        round_trip("delivery", "NSE", 1, "100", "101", date(2020, 6, 30))
    with pytest.raises(ValueError, match="2019-01-01"):
        schedule_for(date(2019, 1, 1))


@pytest.mark.parametrize(
    ("first", "last", "spans"),
    [
        (date(2020, 7, 1), date(2026, 12, 31), []),  # every schedule, open-ended
        (date(2024, 9, 20), date(2024, 10, 10), []),  # across a schedule change
        (date(2019, 6, 3), date(2019, 6, 28), [(date(2019, 6, 3), date(2019, 6, 28))]),
        (date(2020, 6, 22), date(2020, 7, 2), [(date(2020, 6, 22), date(2020, 6, 30))]),
        (date(2020, 6, 30), date(2020, 6, 30), [(date(2020, 6, 30), date(2020, 6, 30))]),
        (date(2020, 7, 1), date(2020, 7, 1), []),
    ],
)
def test_uncovered_spans_are_the_dates_no_schedule_covers(first, last, spans):
    assert uncovered_spans(first, last) == spans
    for day in (first, last):  # the same answer as the lookup a fill makes
        covered = not any(a <= day <= b for a, b in spans)
        try:
            schedule_for(day)
        except ScheduleCoverageError:
            assert not covered
        else:
            assert covered


def test_uncovered_spans_find_gaps_between_and_after_schedules():
    a, b = SCHEDULES[-1], SCHEDULES[-2]  # D (2020-07-01..2023-03-31), C (2023-04-01..)
    assert a.valid_to is not None and b.valid_to is not None
    with_gap = (b, a)  # C, then D: no schedule after C's end
    assert uncovered_spans(date(2023, 3, 1), date(2024, 12, 31), (a,)) == [
        (date(2023, 4, 1), date(2024, 12, 31))
    ]
    assert uncovered_spans(date(2020, 1, 1), date(2025, 1, 1), with_gap) == [
        (date(2020, 1, 1), date(2020, 6, 30)),
        (date(2024, 10, 1), date(2025, 1, 1)),
    ]
    with pytest.raises(ValueError, match="before"):
        uncovered_spans(date(2025, 1, 2), date(2025, 1, 1))


def test_the_refusal_says_why_older_dates_have_no_schedule():
    with pytest.raises(ScheduleCoverageError) as refused:
        schedule_for(date(2019, 6, 3))
    assert BEFORE_UNIFORM_STAMP in str(refused.value)
    assert "2019-06-03" in str(refused.value) and "2020-07-01" in str(refused.value)


@pytest.mark.parametrize(
    ("group", "txn"),
    [
        ("A", "7.54"),  # 0.00375% of 201,000 = 7.5375
        ("B", "7.54"),
        ("T", "7.54"),  # other non-exclusive groups pay the A/B rate
        ("X", "201.00"),  # 0.1%
        ("XT", "201.00"),
        ("Z", "201.00"),
        ("zp", "201.00"),  # group codes are case-insensitive
        ("SS", "2010.00"),  # 1%
        ("ST", "2010.00"),
        ("M", "5.53"),  # Rs 275/crore: 5.5275
        ("MT", "5.53"),
        ("TS", "5.53"),
        ("MS", "5.53"),
    ],
)
def test_bse_cash_charge_depends_on_the_scrip_group(group, txn):
    for segment in ("delivery", "intraday"):
        note = round_trip(segment, "BSE", 100, "1000", "1010", A_DAY, bse_group=group)
        assert note.exchange_txn == Decimal(txn)


def test_bse_default_group_is_a_and_bad_groups_are_refused():
    default = round_trip("delivery", "BSE", 100, "1000", "1010", A_DAY)
    assert default.exchange_txn == Decimal("7.54")
    for bad in ("", "A-1", "ABCD", "Ä"):
        with pytest.raises(ValueError, match="bse_group"):
            round_trip("delivery", "BSE", 1, "1", "1", A_DAY, bse_group=bad)


def test_bse_derivatives():
    futures = round_trip("futures", "BSE", 20, "80000", "80100", A_DAY, bse_group="Z")
    assert futures.exchange_txn == 0  # BSE futures: no transaction charge; group ignored
    options = round_trip("options", "BSE", 65, "100", "120", A_DAY)
    assert options.exchange_txn == Decimal("4.65")  # 0.0325% of 14,300 = 4.6475


def test_derivative_exchanges_map_to_their_venue_and_cash_on_them_is_refused():
    nfo = round_trip("futures", Exchange.NFO, 65, "24000", "24100", A_DAY)
    assert nfo == round_trip("futures", Exchange.NSE, 65, "24000", "24100", A_DAY)
    bfo = round_trip("options", Exchange.BFO, 65, "100", "120", A_DAY)
    assert bfo.exchange_txn == Decimal("4.65")
    with pytest.raises(ValueError, match="NSE or BSE"):
        round_trip("delivery", Exchange.NFO, 1, "1", "1", A_DAY)


def test_a_multi_order_note_charges_brokerage_per_order_and_rounds_stt_once():
    executions = [
        Execution(Side.BUY, 15, Decimal(310)),  # 4,650 x 0.03% = 1.395 -> 1.40
        Execution(Side.SELL, 5, Decimal(310)),  # 1,550 x 0.03% = 0.465 -> 0.47 each
        Execution(Side.SELL, 5, Decimal(310)),
        Execution(Side.SELL, 5, Decimal(310)),
    ]
    note = compute_charges(executions, ChargeSegment.INTRADAY, Exchange.NSE, A_DAY)
    assert note.brokerage == Decimal("2.81")  # not 0.03% x 9,300 = 2.79
    # STT 0.025% x 4,650 = 1.1625 on the note -> 1; per order (0.3875 each) it would be 0.
    assert note.stt == 1
    assert note.exchange_txn == Decimal("0.29")  # 0.0000307 x 9,300 = 0.28551
    assert note.sebi == Decimal("0.01")
    assert note.stamp_duty == 0  # 0.1395
    assert note.gst == Decimal("0.56")  # 18% of 3.11
    assert note.total == Decimal("4.67")


def test_the_brokerage_cap_applies_to_each_order():
    executions = [
        Execution(Side.BUY, 100, Decimal(1000)),  # 30.00 -> 20
        Execution(Side.SELL, 50, Decimal(1010)),  # 15.15
        Execution(Side.SELL, 50, Decimal(1010)),  # 15.15
    ]
    note = compute_charges(executions, "intraday", "NSE", A_DAY)
    assert note.brokerage == Decimal("50.30")
    options = [Execution(Side.BUY, 65, Decimal(100))] * 3 + [Execution(Side.SELL, 195, "120")]
    assert compute_charges(options, "options", "NSE", A_DAY).brokerage == 80  # flat 20 each
    assert compute_charges(executions, "delivery", "NSE", A_DAY).brokerage == 0


def test_dp_only_on_delivery_sells_once_per_note():
    sells = [Execution(Side.SELL, 10, Decimal(500)) for _ in range(3)]
    buys = [Execution(Side.BUY, 10, Decimal(500))]
    assert compute_charges(sells, "delivery", "NSE", A_DAY).dp == Decimal("15.34")
    assert compute_charges(sells[:1], "delivery", "BSE", A_DAY).dp == Decimal("15.34")
    assert compute_charges(buys, "delivery", "NSE", A_DAY).dp == 0
    for segment in ("intraday", "futures", "options"):
        assert compute_charges(sells, segment, "NSE", A_DAY).dp == 0
    older = ZerodhaCostModel(dp_charge="15.93")
    assert compute_charges(sells, "delivery", "NSE", A_DAY, model=older).dp == Decimal("15.93")
    free = ZerodhaCostModel(dp_charge=0)
    assert compute_charges(sells, "delivery", "NSE", A_DAY, model=free).dp == 0


def test_a_sell_only_delivery_note_adds_dp_into_the_total_and_not_into_gst():
    note = compute_charges([Execution(Side.SELL, 100, Decimal(1010))], "delivery", "NSE", A_DAY)
    # STT 101.00, txn 0.0000307 x 101,000 = 3.1007 -> 3.10, SEBI 0.101 -> 0.10, GST 0.576 -> 0.58
    assert (note.stt, note.exchange_txn, note.sebi, note.gst) == (
        Decimal("101.00"),
        Decimal("3.10"),
        Decimal("0.10"),
        Decimal("0.58"),
    )
    assert note.total == Decimal("101.00") + Decimal("3.10") + Decimal("0.10") + Decimal(
        "0.58"
    ) + Decimal("15.34")


def test_domain_fills_can_be_passed_as_executions():
    ts = datetime(2026, 4, 2, 4, 0, tzinfo=UTC)
    fills = [
        Fill("o1", "t1", "NSE:INFY", Side.BUY, 100, Decimal(1000), ts),
        Fill("o2", "t2", "NSE:INFY", Side.SELL, 100, Decimal(1010), ts),
    ]
    note = compute_charges(fills, "intraday", "NSE", date(2026, 4, 1))
    assert note.total == Decimal("82.72")  # vector E3


def test_exercised_options_pay_exercise_stt_on_intrinsic_value():
    # 65 units exercised, intrinsic value 50 each = 3,250.
    b = compute_charges([], "options", "NSE", B_DAY, exercised_value=Decimal(3250))
    assert b.stt == 4  # 0.125% = 4.0625
    a = compute_charges([], "options", "NSE", A_DAY, exercised_value=Decimal(3250))
    assert a.stt == 5  # 0.15% = 4.875
    assert (a.brokerage, a.exchange_txn, a.stamp_duty, a.total) == (0, 0, 0, 5)
    with pytest.raises(ValueError, match="exercised_value"):
        compute_charges([], "options", "NSE", A_DAY, exercised_value=Decimal(-1))


def test_an_empty_note_costs_nothing():
    assert compute_charges([], "delivery", "NSE", A_DAY) == ChargeBreakdown.zero()


def test_breakdowns_add_up_component_by_component():
    e1 = round_trip("delivery", "NSE", 100, "1000", "1010", A_DAY)
    e3 = round_trip("intraday", "NSE", 100, "1000", "1010", A_DAY)
    both = e1 + e3
    assert both.total == Decimal("238.86") + Decimal("82.72")
    assert both.turnover == Decimal(402000)
    assert ChargeBreakdown.zero() + e1 == e1


def test_bad_inputs_are_refused():
    with pytest.raises(TypeError, match="float"):
        round_trip("delivery", "NSE", 1, 100.5, "101", A_DAY)
    with pytest.raises(ValueError, match="quantity"):
        Execution(Side.BUY, 0, Decimal(1))
    with pytest.raises(ValueError, match="price"):
        Execution(Side.BUY, 1, Decimal(0))
    with pytest.raises(ValueError, match="swing"):
        round_trip("swing", "NSE", 1, "1", "1", A_DAY)
    with pytest.raises(ValueError, match="MCX"):
        round_trip("futures", "MCX", 1, "1", "1", A_DAY)
    with pytest.raises(ValueError, match="stamp_rounding"):
        ZerodhaCostModel(stamp_rounding="crore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dp_charge"):
        ZerodhaCostModel(dp_charge=-1)


def test_charge_segment_from_instrument_segment_and_product():
    assert ChargeSegment.of(Segment.EQUITY, Product.CNC) is ChargeSegment.DELIVERY
    assert ChargeSegment.of("EQ", "MIS") is ChargeSegment.INTRADAY
    assert ChargeSegment.of(Segment.FUTURES, Product.NRML) is ChargeSegment.FUTURES
    assert ChargeSegment.of(Segment.OPTIONS, Product.MIS) is ChargeSegment.OPTIONS
    with pytest.raises(ValueError, match="no charge segment"):
        ChargeSegment.of(Segment.EQUITY, Product.NRML)


def test_rates_are_resolved_once_per_kind_of_note():
    model = ZerodhaCostModel()
    first = model.rates("intraday", "NSE", A_DAY)
    assert model.rates(ChargeSegment.INTRADAY, Exchange.NSE, A_DAY) is first
    assert model.describe(A_DAY) == "Zerodha schedule A (2026-04-01 onward)"
    assert model.describe(B_DAY) == "Zerodha schedule B (2024-10-01..2026-03-31)"


def test_bps_model_is_a_flat_exact_fee_on_turnover():
    executions = [Execution(Side.BUY, 100, Decimal(1000)), Execution(Side.SELL, 100, "1010")]
    note = BpsCostModel(10).compute(executions, "intraday", "NSE", A_DAY)
    assert (note.brokerage, note.total) == (Decimal("201.00"), Decimal("201.00"))
    assert (note.stt, note.exchange_txn, note.gst, note.dp) == (0, 0, 0, 0)
    assert (note.buy_value, note.sell_value, note.turnover) == (100000, 101000, 201000)
    small = [Execution(Side.BUY, 10, Decimal(500)), Execution(Side.SELL, 10, Decimal(502))]
    assert BpsCostModel("2.5").compute(small, "intraday", "NSE", A_DAY).total == Decimal("2.51")
    exact = BpsCostModel("2.5", quantum=None).compute(small, "intraday", "NSE", A_DAY)
    assert exact.total == Decimal("2.505")  # 2.5 bps of 10,020, unrounded
    assert BpsCostModel(0).compute(small, "delivery", "BSE", A_DAY).total == 0
    assert BpsCostModel("2.5").describe(A_DAY) == "flat 2.5 bps of turnover"
    with pytest.raises(ValueError, match="bps"):
        BpsCostModel(-1)
    with pytest.raises(TypeError, match="float"):
        BpsCostModel(2.5)


def test_a_backtest_chooses_its_model_by_name():
    zerodha = make_cost_model("zerodha")
    bps = make_cost_model("bps", bps="5")
    executions = [Execution(Side.BUY, 100, Decimal(1000)), Execution(Side.SELL, 100, "1010")]
    assert zerodha.compute(executions, "intraday", "NSE", A_DAY).total == Decimal("82.72")
    assert bps.compute(executions, "intraday", "NSE", A_DAY).total == Decimal("100.50")
    assert (zerodha.name, bps.name) == ("zerodha", "bps")
    paisa = make_cost_model("zerodha", stamp_rounding="paisa")
    e4 = [Execution(Side.BUY, 10, Decimal(500)), Execution(Side.SELL, 10, Decimal(502))]
    assert paisa.compute(e4, "intraday", "NSE", A_DAY).total == Decimal("5.08")
    with pytest.raises(ValueError, match="needs a bps rate"):
        make_cost_model("bps")
    with pytest.raises(ValueError, match="unknown cost model"):
        make_cost_model("upstox")
