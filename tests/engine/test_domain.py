"""Domain types: validation, tick rules, the order lifecycle and exact position P&L."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain import (
    ORDER_TRANSITIONS,
    Bar,
    Exchange,
    Fill,
    Instrument,
    InvalidOrderTransition,
    OptionType,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Segment,
    Side,
    Tick,
    Validity,
    from_paise,
    to_paise,
)

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2024, 6, 3, 9, 15, tzinfo=IST)
D = Decimal
S = OrderStatus


RELIANCE = {"exchange": Exchange.NSE, "segment": Segment.EQUITY, "symbol": "RELIANCE"}
ORDER = {
    "client_id": "c1",
    "symbol": "NSE:RELIANCE",
    "side": Side.BUY,
    "order_type": OrderType.LIMIT,
    "product": Product.CNC,
    "validity": Validity.DAY,
    "quantity": 15,
    "price": D("100.05"),
    "created_at": T0,
}
BAR = {
    "symbol": "NSE:RELIANCE",
    "timeframe": "1m",
    "ts": T0,
    "open": D("100"),
    "high": D("101"),
    "low": D("99"),
    "close": D("100.5"),
    "volume": 1000,
}


def reliance(**overrides: object) -> Instrument:
    return Instrument(**{**RELIANCE, **overrides})  # type: ignore[arg-type]


def order(**overrides: object) -> Order:
    return Order(**{**ORDER, **overrides})  # type: ignore[arg-type]


def bar(**overrides: object) -> Bar:
    return Bar(**{**BAR, **overrides})  # type: ignore[arg-type]


def fill(side: Side, quantity: int, price: str, trade_id: str = "t") -> Fill:
    return Fill("c1", trade_id, "NSE:RELIANCE", side, quantity, D(price), T0)


# --- validation ---------------------------------------------------------------------------


def test_float_price_is_rejected_with_advice() -> None:
    with pytest.raises(TypeError, match=r"open must not be a float.*Decimal"):
        bar(open=100.0)
    with pytest.raises(TypeError, match="price must not be a float"):
        order(price=100.05)


def test_str_and_int_prices_become_decimal() -> None:
    b = bar(open="100.25", high=101, low="99.5", close=D("100"))
    assert b.open == D("100.25") and isinstance(b.high, Decimal)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="ts must be timezone-aware"):
        bar(ts=datetime(2024, 6, 3, 9, 15))
    with pytest.raises(ValueError, match="created_at must be timezone-aware"):
        order(created_at=datetime(2024, 6, 3, 9, 15))
    assert bar(ts=datetime(2024, 6, 3, 3, 45, tzinfo=UTC)).ts == T0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"high": D("98"), "low": D("99")}, "high 98 is below low 99"),
        ({"high": D("100.2")}, "high 100.2 is below open 100 or close 100.5"),
        ({"low": D("100.1")}, "low 100.1 is above open 100 or close 100.5"),
        ({"open": D("0")}, "open must be > 0"),
        ({"volume": -1}, "volume must be >= 0"),
        ({"timeframe": ""}, "timeframe must be a non-empty string"),
    ],
)
def test_bad_bars_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bar(**overrides)


def test_tick_validates_quotes() -> None:
    ask: Any = "2900.5"  # str is accepted at runtime, though typed Decimal
    tick = Tick("NSE:RELIANCE", T0, D("2900.5"), 1200, D("2900.45"), ask, 10)
    assert tick.ask == D("2900.5") and tick.oi is None
    with pytest.raises(ValueError, match="ltp must be > 0"):
        Tick("NSE:RELIANCE", T0, D("0"))
    with pytest.raises(TypeError, match="bid must not be a float"):
        Tick("NSE:RELIANCE", T0, D("1"), bid=1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"order_type": OrderType.LIMIT, "price": None}, "price is required for LIMIT"),
        ({"order_type": OrderType.MARKET}, "price must be None for MARKET"),
        ({"order_type": OrderType.SL}, "trigger_price is required for SL"),
        ({"order_type": OrderType.SL_M, "price": None}, "trigger_price is required for SL-M"),
        ({"order_type": OrderType.SL_M, "trigger_price": D("99")}, "price must be None for SL-M"),
        ({"trigger_price": D("99")}, "trigger_price must be None for LIMIT"),
        ({"quantity": 0}, "quantity must be >= 1"),
        ({"tag": "x" * 21}, "at most 20 chars"),
        ({"filled_quantity": 16, "average_price": D("100")}, "exceeds quantity 15"),
        ({"filled_quantity": 5}, "average_price None must be set exactly when"),
        ({"side": "HOLD"}, "'HOLD' is not a valid Side"),
    ],
)
def test_bad_orders_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        order(**overrides)


def test_order_types_with_their_prices_are_accepted() -> None:
    assert order(order_type=OrderType.MARKET, price=None).price is None
    sl = order(order_type=OrderType.SL, price="99.9", trigger_price="100")
    assert sl.trigger_price == D("100")
    assert order(order_type=OrderType.SL_M, price=None, trigger_price=D("98")).price is None
    assert order(side="SELL").side is Side.SELL  # strings from JSON/brokers are coerced


def test_order_properties() -> None:
    o = order(side=Side.SELL)
    assert not o.is_buy and not o.is_terminal and o.remaining_quantity == 15
    assert order().is_buy


# --- instruments ---------------------------------------------------------------------------


def test_instrument_key_and_defaults() -> None:
    inst = reliance(token=738561, isin="INE002A01018")
    assert inst.key == "NSE:RELIANCE"
    assert inst.tick_size == D("0.05") and inst.lot_size == 1


@pytest.mark.parametrize(
    ("price", "mode", "expected"),
    [
        ("100.03", "nearest", "100.05"),
        ("100.03", "down", "100.00"),
        ("100.03", "up", "100.05"),
        ("100.02", "nearest", "100.00"),
        ("100.025", "nearest", "100.05"),  # half a tick rounds up
        ("100.05", "down", "100.05"),
        ("100.05", "up", "100.05"),
        (100, "nearest", "100.00"),
    ],
)
def test_round_to_tick(price: str | int, mode: str, expected: str) -> None:
    result = reliance().round_to_tick(price, mode)  # type: ignore[arg-type]
    assert result == D(expected) and str(result) == expected


def test_round_to_tick_other_tick_and_bad_mode() -> None:
    assert reliance(tick_size=D("0.10")).round_to_tick(D("100.04")) == D("100.0")
    assert reliance(tick_size=D("1")).round_to_tick(D("2599.5"), "down") == D("2599")
    with pytest.raises(ValueError, match="mode must be"):
        reliance().round_to_tick(D("1"), "sideways")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must not be a float"):
        reliance().round_to_tick(100.03)  # type: ignore[arg-type]


def test_is_valid_price() -> None:
    inst = reliance()
    assert inst.is_valid_price(D("100.05")) and inst.is_valid_price(100)
    assert not inst.is_valid_price(D("100.03"))
    assert not inst.is_valid_price(D("0")) and not inst.is_valid_price(D("-0.05"))


def test_lot_size_checks() -> None:
    nifty = Instrument(
        Exchange.NFO,
        Segment.FUTURES,
        "NIFTY24JUNFUT",
        lot_size=25,
        freeze_quantity=1800,
        expiry=date(2024, 6, 27),
    )
    nifty.check_quantity(25)
    nifty.check_quantity(1800)
    for bad in (0, -25, 30):
        with pytest.raises(ValueError, match=f"{bad}"):
            nifty.check_quantity(bad)
    with pytest.raises(TypeError):
        nifty.check_quantity(25.0)  # type: ignore[arg-type]


def test_derivatives_need_their_contract_fields() -> None:
    option = Instrument(
        Exchange.NFO,
        Segment.OPTIONS,
        "NIFTY24JUN23000CE",
        lot_size=25,
        expiry=date(2024, 6, 27),
        strike=D("23000"),
        option_type=OptionType.CALL,
    )
    assert option.key == "NFO:NIFTY24JUN23000CE"
    with pytest.raises(ValueError, match="option NFO:X needs strike, option_type"):
        Instrument(Exchange.NFO, Segment.OPTIONS, "X", expiry=date(2024, 6, 27))
    with pytest.raises(ValueError, match="future NFO:X needs expiry"):
        Instrument(Exchange.NFO, Segment.FUTURES, "X")
    with pytest.raises(ValueError, match="not an option"):
        reliance(strike=D("100"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tick_size": D("0")}, "tick_size must be > 0"),
        ({"lot_size": 0}, "lot_size must be >= 1"),
        ({"symbol": " "}, "symbol must be a non-empty string"),
        ({"segment": "BOND"}, "'BOND' is not a valid Segment"),
    ],
)
def test_bad_instruments_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reliance(**overrides)


def test_paise_round_trip() -> None:
    assert to_paise(D("100.05")) == 10005 and from_paise(10005) == D("100.05")
    with pytest.raises(ValueError, match="not a whole number of paise"):
        to_paise(D("100.005"))


# --- order lifecycle -------------------------------------------------------------------------

ALLOWED = {
    S.NEW: {S.OPEN, S.REJECTED, S.CANCELLED, S.FILLED, S.PARTIALLY_FILLED},
    S.OPEN: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED},
    S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED},
    S.FILLED: set(),
    S.CANCELLED: set(),
    S.REJECTED: set(),
}


def test_transition_table_is_exactly_the_specified_one() -> None:
    assert {k: set(v) for k, v in ORDER_TRANSITIONS.items()} == ALLOWED


@pytest.mark.parametrize(
    ("source", "target"),
    [(source, target) for source in S for target in S],
    ids=lambda s: str(s),
)
def test_every_transition_is_allowed_or_refused(source: S, target: S) -> None:
    o = order(status=source)
    if target in ALLOWED[source]:
        moved = o.transition(target, "because")
        assert moved.status is target and moved.status_message == "because"
        assert o.status is source  # the original is untouched
    else:
        with pytest.raises(InvalidOrderTransition) as info:
            o.transition(target)
        assert info.value.client_id == "c1"
        assert info.value.source is source and info.value.target is target
        assert f"order 'c1' cannot go from {source} to {target}" in str(info.value)


@pytest.mark.parametrize("status", [S.FILLED, S.CANCELLED, S.REJECTED])
def test_terminal_states(status: S) -> None:
    o = order(status=status)
    assert o.is_terminal
    with pytest.raises(InvalidOrderTransition, match="nothing \\(terminal\\)"):
        o.transition(S.OPEN)
    with pytest.raises(InvalidOrderTransition):
        o.with_fill(1, D("100"))


def test_with_fill_keeps_an_exact_average_price() -> None:
    o = order().transition(S.OPEN)
    partly = o.with_fill(10, D("100.05"))
    assert partly.status is S.PARTIALLY_FILLED and partly.average_price == D("100.05")
    full = partly.with_fill(5, "100.10")
    # (10 * 100.05 + 5 * 100.10) / 15 = 100.0666..., quantized half-up to 0.0001
    assert full.average_price == D("100.0667")
    assert full.status is S.FILLED and full.remaining_quantity == 0 and full.is_terminal


def test_market_order_can_fill_before_it_is_acknowledged() -> None:
    o = order(order_type=OrderType.MARKET, price=None)
    assert o.with_fill(15, D("101")).status is S.FILLED
    assert o.with_fill(1, D("101")).status is S.PARTIALLY_FILLED


def test_overfill_is_rejected() -> None:
    o = order().with_fill(10, D("100"))
    with pytest.raises(ValueError, match="fill of 6 exceeds the remaining 5 of 15"):
        o.with_fill(6, D("100"))
    with pytest.raises(ValueError, match="fill quantity must be >= 1"):
        o.with_fill(0, D("100"))


def test_with_broker_id() -> None:
    o = order().with_broker_id("240603000123")
    assert o.broker_id == "240603000123"
    assert o.with_broker_id("240603000123") == o
    with pytest.raises(ValueError, match="already has broker_id"):
        o.with_broker_id("999")


# --- positions ---------------------------------------------------------------------------


def apply_all(*fills: Fill) -> Position:
    position = Position("NSE:RELIANCE", Product.MIS)
    for f in fills:
        position = position.apply(f)
    return position


def test_open_add_and_partial_close_long() -> None:
    p = apply_all(fill(Side.BUY, 10, "100"), fill(Side.BUY, 10, "110"))
    assert (p.quantity, p.average_price, p.realized_pnl) == (20, D("105"), D("0"))
    p = p.apply(fill(Side.SELL, 5, "120"))
    assert (p.quantity, p.average_price, p.realized_pnl) == (15, D("105"), D("75"))
    assert p.unrealized_pnl(D("100")) == D("-75")


def test_full_close_resets_average() -> None:
    p = apply_all(fill(Side.BUY, 10, "100.05"), fill(Side.SELL, 10, "100.10"))
    assert p.is_flat and p.average_price == 0 and p.realized_pnl == D("0.50")
    assert p.unrealized_pnl(D("500")) == 0


def test_short_position_profits_when_price_falls() -> None:
    p = apply_all(fill(Side.SELL, 10, "200"), fill(Side.SELL, 10, "210"))
    assert (p.quantity, p.average_price) == (-20, D("205"))
    assert p.unrealized_pnl(D("200")) == D("100")
    p = p.apply(fill(Side.BUY, 5, "190"))
    assert (p.quantity, p.average_price, p.realized_pnl) == (-15, D("205"), D("75"))


def test_flip_through_zero() -> None:
    p = apply_all(fill(Side.BUY, 10, "100"), fill(Side.SELL, 15, "110"))
    assert (p.quantity, p.average_price, p.realized_pnl) == (-5, D("110"), D("100"))
    p = p.apply(fill(Side.BUY, 8, "105"))  # short flips back to long
    assert (p.quantity, p.average_price, p.realized_pnl) == (3, D("105"), D("125"))


def test_position_rejects_inconsistent_state_and_foreign_fills() -> None:
    with pytest.raises(ValueError, match="flat but average_price is 5"):
        Position("NSE:RELIANCE", Product.CNC, 0, D("5"))
    with pytest.raises(ValueError, match="needs average_price > 0"):
        Position("NSE:RELIANCE", Product.CNC, 3)
    other = Fill("c1", "t", "NSE:TCS", Side.BUY, 1, D("1"), T0)
    with pytest.raises(ValueError, match="fill for NSE:TCS applied to position in NSE:RELIANCE"):
        Position("NSE:RELIANCE", Product.CNC).apply(other)


prices = st.integers(min_value=1, max_value=400_000).map(lambda ticks: ticks * D("0.05"))
fills_strategy = st.lists(
    st.tuples(st.sampled_from(Side), st.integers(min_value=1, max_value=5_000), prices),
    max_size=30,
)


@given(fills_strategy, prices)
def test_realized_plus_unrealized_equals_cash_flow_pnl(
    trades: list[tuple[Side, int, Decimal]], mark: Decimal
) -> None:
    position = Position("NSE:RELIANCE", Product.NRML)
    cash = D(0)
    held = 0
    for i, (side, quantity, price) in enumerate(trades):
        position = position.apply(Fill("c", str(i), "NSE:RELIANCE", side, quantity, price, T0))
        sign = 1 if side is Side.BUY else -1
        cash -= sign * quantity * price
        held += sign * quantity
    assert position.quantity == held
    expected = cash + held * mark
    actual = position.realized_pnl + position.unrealized_pnl(mark)
    # Exact except for the weighted-average division (28 significant digits): far below 1e-9.
    assert abs(actual - expected) < D("1e-9"), (actual, expected)
