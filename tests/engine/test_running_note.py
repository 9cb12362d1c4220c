"""Running contract notes (engine/costs/notes.py, opened by running_note.py): after EVERY
executed order a note grown fill by fill must be exactly (value and digits) what the models'
full functions (`equity_day_note`, `ZerodhaCostModel.compute`, `BpsCostModel.compute`, which
fold the same notes from scratch) return over all its executions so far: the path-dependent
state (a day turning mixed, pending CNC orders) must not depend on when it is asked. These
tests were first run against the former closed-form functions, which the notes replaced; the
charge vectors (test_costs.py, test_equity_day.py) hold the arithmetic itself to the paisa."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.costs import (
    BSE_GROUPS,
    DEFAULT_MODEL,
    BpsCostModel,
    ChargeBreakdown,
    ChargeSegment,
    CostModel,
    EquityExecution,
    Execution,
    ExecutionLike,
    ScheduleCoverageError,
    ZerodhaCostModel,
)
from engine.costs.equity_day import equity_day_note
from engine.costs.running_note import (
    BpsNote,
    EquityDayNote,
    RecomputingNote,
    RunningNote,
    SegmentNote,
    open_equity_day_note,
    open_note,
)
from engine.domain.enums import Exchange, Product, Side
from engine.execution.portfolio import Portfolio

MODELS = (
    DEFAULT_MODEL,
    ZerodhaCostModel(stamp_rounding="paisa"),
    ZerodhaCostModel(dp_charge="15.93"),
)
FIRST, LAST = date(2020, 7, 1), date(2027, 12, 31)
# The days each schedule starts and ends (A/B/C/D in engine/costs/schedules.py) and any day.
EDGES = (
    date(2020, 7, 1),
    date(2023, 3, 31),
    date(2023, 4, 1),
    date(2024, 9, 30),
    date(2024, 10, 1),
    date(2026, 3, 31),
    date(2026, 4, 1),
)
days = st.one_of(
    st.sampled_from(EDGES),
    st.integers(0, (LAST - FIRST).days).map(lambda n: FIRST + timedelta(days=n)),
)
# Prices on a tick (0.01, 0.05 or 0.10 rupee): pennies (brokerage under its cap, STT near
# 0.5-rupee boundaries) to large prices (brokerage capped).
prices = st.builds(
    lambda tick, n: D(tick) * n,
    st.sampled_from(("0.01", "0.05", "0.10")),
    st.one_of(st.integers(1, 400), st.integers(1, 300_000)),
)
quantities = st.one_of(st.integers(1, 20), st.integers(1, 5_000))
sides = st.sampled_from((Side.BUY, Side.SELL))
# Mostly CNC, so days turn mixed late and early; NRML appears on no equity note in a
# backtest, but equity_day_note bills it (neither MIS nor CNC), so it is mirrored too.
products = st.sampled_from((Product.CNC, Product.CNC, Product.MIS, Product.NRML))
equity_orders = st.lists(st.tuples(sides, quantities, prices, products), min_size=1, max_size=25)
orders = st.lists(st.tuples(sides, quantities, prices), min_size=1, max_size=25)


def same(running: ChargeBreakdown, reference: ChargeBreakdown) -> None:
    """Equal values AND equal digits (as_json writes each amount as the note shows it)."""
    assert running == reference
    assert running.as_json() == reference.as_json()


def check_running(
    note: RunningNote,
    executions: Sequence[tuple[Side, int, D, Product]],
    price_of: Callable[[Sequence[tuple[Side, int, D, Product]]], ChargeBreakdown],
) -> None:
    """Feed `executions` one at a time; after each, compare with `price_of(prefix)`."""
    same(note.breakdown(), price_of([]))
    for k, (side, quantity, price, product) in enumerate(executions, 1):
        total = note.add(side, quantity, price, product)
        expected = price_of(executions[:k])
        assert total == expected.total and str(total) == str(expected.total)
        same(note.breakdown(), expected)


@settings(max_examples=400, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    exchange=st.sampled_from((Exchange.NSE, Exchange.BSE)),
    group=st.sampled_from(BSE_GROUPS),
    day=days,
    executions=equity_orders,
)
def test_equity_day_note_matches_equity_day_note_after_every_order(
    model: ZerodhaCostModel,
    exchange: Exchange,
    group: str,
    day: date,
    executions: list[tuple[Side, int, D, Product]],
) -> None:
    def reference(prefix: Sequence[tuple[Side, int, D, Product]]) -> ChargeBreakdown:
        return equity_day_note(
            model,
            [EquityExecution(s, q, p, prod) for s, q, p, prod in prefix],
            exchange,
            day,
            bse_group=group,
        )

    check_running(EquityDayNote(model, exchange, day, bse_group=group), executions, reference)


@settings(max_examples=400, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    segment=st.sampled_from(tuple(ChargeSegment)),
    exchange=st.sampled_from(tuple(Exchange)),
    group=st.sampled_from(BSE_GROUPS),
    day=days,
    exercised=st.one_of(st.just(D(0)), prices.map(lambda p: p * 75)),
    executions=orders,
)
def test_segment_note_matches_compute_after_every_order(
    model: ZerodhaCostModel,
    segment: ChargeSegment,
    exchange: Exchange,
    group: str,
    day: date,
    exercised: D,
    executions: list[tuple[Side, int, D]],
) -> None:
    cash = segment in (ChargeSegment.DELIVERY, ChargeSegment.INTRADAY)
    if cash and exchange not in (Exchange.NSE, Exchange.BSE):
        with pytest.raises(ValueError, match="trades are on NSE or BSE"):
            SegmentNote(model, segment, exchange, day)
        return

    def reference(prefix: Sequence[tuple[Side, int, D, Product]]) -> ChargeBreakdown:
        return model.compute(
            [Execution(s, q, p) for s, q, p, _ in prefix],
            segment,
            exchange,
            day,
            bse_group=group,
            exercised_value=exercised,
        )

    note = SegmentNote(model, segment, exchange, day, bse_group=group, exercised_value=exercised)
    check_running(note, [(s, q, p, Product.NRML) for s, q, p in executions], reference)


@settings(max_examples=150, deadline=None)
@given(
    bps=st.sampled_from(("0", "2.5", "5", "10", "33.3")),
    quantum=st.sampled_from((D("0.01"), D(1), None)),
    segment=st.sampled_from(tuple(ChargeSegment)),
    day=days,
    executions=equity_orders,
)
def test_bps_notes_match_the_bps_model(
    bps: str,
    quantum: D | None,
    segment: ChargeSegment,
    day: date,
    executions: list[tuple[Side, int, D, Product]],
) -> None:
    model = BpsCostModel(bps, quantum=quantum)

    def day_reference(prefix: Sequence[tuple[Side, int, D, Product]]) -> ChargeBreakdown:
        equity = [EquityExecution(s, q, p, prod) for s, q, p, prod in prefix]
        return model.compute_equity_day(equity, Exchange.NSE, day)

    def note_reference(prefix: Sequence[tuple[Side, int, D, Product]]) -> ChargeBreakdown:
        plain: list[ExecutionLike] = [Execution(s, q, p) for s, q, p, _ in prefix]
        return model.compute(plain, segment, Exchange.NFO, day)

    day_note = open_equity_day_note(model, Exchange.NSE, day)
    assert isinstance(day_note, BpsNote)
    check_running(day_note, executions, day_reference)
    check_running(open_note(model, segment, Exchange.NFO, day), executions, note_reference)


class _Repriced(ZerodhaCostModel):
    """A model whose pricing differs from Zerodha's: its notes must be priced by it."""

    def compute_equity_day(
        self, executions: Sequence[EquityExecution], exchange: Exchange | str, trade_date: date
    ) -> ChargeBreakdown:
        note = super().compute_equity_day(executions, exchange, trade_date)
        return note + ChargeBreakdown(*([D("0.00")] * 7 + [D(len(executions))] + [D(0)] * 3))


@settings(max_examples=60, deadline=None)
@given(day=days, executions=equity_orders)
def test_any_other_model_is_priced_by_its_own_functions(
    day: date, executions: list[tuple[Side, int, D, Product]]
) -> None:
    model = _Repriced()
    note = open_equity_day_note(model, Exchange.NSE, day)
    assert isinstance(note, RecomputingNote)

    def reference(prefix: Sequence[tuple[Side, int, D, Product]]) -> ChargeBreakdown:
        equity = [EquityExecution(s, q, p, prod) for s, q, p, prod in prefix]
        return model.compute_equity_day(equity, Exchange.NSE, day)

    check_running(note, executions, reference)
    # compute is Zerodha's own: its running note is the incremental one
    assert isinstance(open_note(model, ChargeSegment.FUTURES, Exchange.NFO, day), SegmentNote)


def test_the_day_turning_mixed_reprices_the_earlier_cnc_orders_once() -> None:
    day = date(2026, 5, 4)
    note = EquityDayNote(DEFAULT_MODEL, Exchange.NSE, day)
    note.add(Side.BUY, 100, D(1000), Product.CNC)
    note.add(Side.BUY, 10, D(1000), Product.CNC)
    assert note.breakdown().brokerage == D("0.00")  # delivery: free
    note.add(Side.SELL, 40, D(1010), Product.CNC)
    # all three CNC orders now pay intraday brokerage: 20 (capped) + 3.00 + 12.12
    assert note.breakdown().brokerage == D("35.12")
    note.add(Side.SELL, 1, D(1010), Product.CNC)
    assert note.breakdown().brokerage == D("35.42")


def test_a_non_terminating_average_is_carried_exactly_as_the_reference_carries_it() -> None:
    day = date(2025, 1, 6)
    legs = [
        (Side.BUY, 1, D("100.00"), Product.CNC),
        (Side.BUY, 2, D("100.05"), Product.CNC),  # average 100.0333...
        (Side.SELL, 7, D("99.95"), Product.CNC),
        (Side.SELL, 2, D("99.90"), Product.CNC),  # sells exceed buys: DP
        (Side.BUY, 3, D("100.10"), Product.MIS),
    ]

    def reference(prefix: Sequence[tuple[Side, int, D, Product]]) -> ChargeBreakdown:
        equity = [EquityExecution(s, q, p, prod) for s, q, p, prod in prefix]
        return equity_day_note(DEFAULT_MODEL, equity, Exchange.NSE, day)

    check_running(EquityDayNote(DEFAULT_MODEL, Exchange.NSE, day), legs, reference)
    assert EquityDayNote(DEFAULT_MODEL, Exchange.NSE, day).breakdown().dp == D("0.00")


def test_refusals_are_the_reference_refusals() -> None:
    with pytest.raises(ScheduleCoverageError):
        EquityDayNote(DEFAULT_MODEL, Exchange.NSE, date(2020, 6, 30))
    with pytest.raises(ValueError, match="not a BSE scrip group"):
        EquityDayNote(DEFAULT_MODEL, Exchange.BSE, date(2025, 1, 6), bse_group="Q")
    with pytest.raises(ValueError, match="exercised_value must be >= 0"):
        SegmentNote(DEFAULT_MODEL, "options", "NFO", date(2025, 1, 6), exercised_value=D("-1"))
    day = EquityDayNote(DEFAULT_MODEL, Exchange.NSE, date(2025, 1, 6))
    fno = SegmentNote(DEFAULT_MODEL, "futures", "NFO", date(2025, 1, 6))
    for note in (day, fno, open_note(BpsCostModel(5), "futures", "NFO", date(2025, 1, 6))):
        with pytest.raises(ValueError, match="quantity must be >= 1"):
            note.add(Side.BUY, 0, D(100), Product.MIS)
        assert note.breakdown().total == D("0.00")  # a refused order leaves no trace
    with pytest.raises(ValueError, match="side must be BUY or SELL"):
        fno.add("HOLD", 1, D(100), Product.NRML)  # type: ignore[arg-type]


fills = st.lists(
    st.tuples(
        st.sampled_from(("AAA", "BBB")),
        st.sampled_from((ChargeSegment.DELIVERY, ChargeSegment.INTRADAY, ChargeSegment.FUTURES)),
        st.integers(0, 3),  # day offset
        sides,
        quantities,
        st.integers(1, 400_000).map(lambda n: n * 5),  # paise on the 0.05 tick
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(model=st.sampled_from((*MODELS, BpsCostModel("3"))), start=days, fills=fills)
def test_portfolio_charges_add_up_to_each_notes_full_price(
    model: CostModel,
    start: date,
    fills: list[tuple[str, ChargeSegment, int, Side, int, int]],
) -> None:
    """Portfolio.charge books per fill the note's new total minus its old; summed per note
    that is the full function's total over the note's executions, to the paisa."""
    portfolio = Portfolio(10**12, model)
    charged: dict[tuple[date, str, str], int] = defaultdict(int)
    equity: dict[tuple[date, str, str], list[EquityExecution]] = defaultdict(list)
    other: dict[tuple[date, str, str], list[ExecutionLike]] = defaultdict(list)
    ordered = sorted(fills, key=lambda f: f[2])  # a backtest's days only move forward
    for symbol, segment, offset, side, quantity, paise in ordered:
        day = start + timedelta(days=offset)
        product = Product.CNC if segment is ChargeSegment.DELIVERY else Product.MIS
        exchange = Exchange.NFO if segment is ChargeSegment.FUTURES else Exchange.NSE
        delta = portfolio.charge(symbol, segment, exchange, day, side, quantity, paise, product)
        price = D(paise) / 100
        if segment is ChargeSegment.FUTURES:
            key = (day, symbol, str(segment))
            other[key].append(Execution(side, quantity, price))
            total = model.compute(other[key], segment, exchange, day).total
        else:
            key = (day, symbol, "EQUITY")
            equity[key].append(EquityExecution(side, quantity, price, product))
            total = model.compute_equity_day(equity[key], exchange, day).total
        assert delta == int(total * 100) - charged[key]
        charged[key] = int(total * 100)
    assert portfolio.total_charges == 0  # charge() prices; fill() books
