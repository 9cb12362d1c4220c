"""KiteBroker's GTT modify (and the checks it shares with place): the REAL kiteconnect client
against the fake Kite on 127.0.0.1, which keeps its GTTs and answers PUT /gtt/triggers/{id}.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from brokers.zerodha import GttLeg, KiteBroker
from engine.broker.errors import InvalidRequest, IpNotAllowed
from engine.domain import Exchange, Instrument, OrderType, Segment, Side
from tests.brokers.test_kite_broker import INFY, make_broker, run
from tests.brokers.test_kite_gateway import RecordingProxy
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_server import FakeKite
from tests.fakes.memory_keyring import MemoryKeyring

fake_kite = kite_server.fake_kite  # fixtures, assigned (not imported) for ruff's F811
memory_keyring = fake_keyring.memory_keyring

LAST = Decimal("1573.70")
BUY = GttLeg(side=Side.BUY, quantity=2, price=Decimal("1400.05"))
STOP = (Decimal("1500.00"), GttLeg(side=Side.SELL, quantity=2, price=Decimal("1499.95")))
TARGET = (Decimal("1700.00"), GttLeg(side=Side.SELL, quantity=2, price=Decimal("1700.05")))


@pytest.fixture
def broker(fake_kite: FakeKite, memory_keyring: MemoryKeyring) -> Iterator[KiteBroker]:
    made = make_broker(fake_kite)
    yield made
    run(made.close())


def _sent(fake: FakeKite, route: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The condition and orders of the last request to `route`, as Kite received them."""
    request = fake.requests_to(route)[-1]
    return json.loads(request.form["condition"][0]), json.loads(request.form["orders"][0])


def test_modify_a_single_gtts_trigger_and_limit_price(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    trigger_id = run(broker.place_gtt(INFY, Decimal("1400.00"), LAST, BUY))
    new_leg = GttLeg(side=Side.BUY, quantity=2, price=Decimal("1380.15"))
    answer = run(broker.modify_gtt(trigger_id, INFY, [Decimal("1379.85")], LAST, [new_leg]))
    assert answer == trigger_id
    condition, orders = _sent(fake_kite, f"PUT /gtt/triggers/{trigger_id}")
    # The exact text of each Decimal reached Kite (no binary-float noise).
    assert condition["trigger_values"] == [1379.85] and orders[0]["price"] == 1380.15
    assert fake_kite.requests_to(f"PUT /gtt/triggers/{trigger_id}")[-1].form["type"] == ["single"]
    (gtt,) = run(broker.gtts())
    assert gtt.trigger_id == trigger_id and gtt.kind == "single" and gtt.status == "active"
    assert gtt.trigger_values == (Decimal("1379.85"),)
    assert gtt.legs == (new_leg,)


def test_modify_an_oco_gtts_legs(fake_kite: FakeKite, broker: KiteBroker) -> None:
    trigger_id = run(broker.place_gtt_oco(INFY, STOP, TARGET, LAST))
    stop_leg = GttLeg(side=Side.SELL, quantity=4, price=Decimal("1519.90"))
    target_leg = GttLeg(side=Side.SELL, quantity=4, price=Decimal("1750.10"))
    run(
        broker.modify_gtt(
            trigger_id,
            INFY,
            [Decimal("1520.00"), Decimal("1750.00")],
            Decimal("1580.00"),
            [stop_leg, target_leg],
        )
    )
    request = fake_kite.requests_to(f"PUT /gtt/triggers/{trigger_id}")[-1]
    assert request.form["type"] == ["two-leg"]
    (gtt,) = run(broker.gtts())
    assert gtt.kind == "two-leg" and gtt.trigger_values == (Decimal("1520"), Decimal("1750"))
    assert gtt.legs == (stop_leg, target_leg) and gtt.last_price == Decimal("1580")


@pytest.mark.parametrize(
    ("triggers", "legs", "message"),
    [
        ([Decimal("1400.03")], [BUY], r"price 1400\.03 is not a positive multiple of the tick"),
        (
            [Decimal("1400.00")],
            [GttLeg(side=Side.BUY, quantity=2, price=Decimal("1400.07"))],
            r"price 1400\.07 is not a positive multiple of the tick size 0\.05",
        ),
        ([Decimal("1400.00")], [BUY, BUY], r"a single GTT takes 1 trigger value\(s\) and 1 leg"),
        ([STOP[0], TARGET[0]], [STOP[1]], r"a GTT OCO takes 2 trigger value\(s\) and 2 leg"),
        (
            [Decimal(1), Decimal(2), Decimal(3)],
            [BUY],
            r"a GTT has one trigger value \(single\) or two",
        ),
        ([], [], r"a GTT has .*, not 0"),
        ([TARGET[0], STOP[0]], [TARGET[1], STOP[1]], r"the stop trigger 1700\.00 must be below"),
        ([Decimal("1570.00")], [BUY], r"the trigger 1570\.00 is too close to the last price"),
        (
            [Decimal("1400.00")],
            [GttLeg(side=Side.BUY, quantity=2, price=Decimal("1400.05"), order_type=OrderType.SL)],
            r"leg 1 is SL; Kite's GTT legs are LIMIT orders",
        ),
        ([1400.0], [BUY], r"prices must be Decimals \(exact money\), got 1400\.0"),
    ],
)
def test_a_bad_modify_is_refused_before_it_is_sent(
    fake_kite: FakeKite,
    broker: KiteBroker,
    triggers: list[Decimal],
    legs: list[GttLeg],
    message: str,
) -> None:
    trigger_id = run(broker.place_gtt(INFY, Decimal("1400.00"), LAST, BUY))
    start = rf"^Zerodha: modify GTT {trigger_id} on NSE:INFY: "
    with pytest.raises(InvalidRequest, match=start + message):
        run(broker.modify_gtt(trigger_id, INFY, triggers, LAST, legs))
    assert fake_kite.requests_to("PUT /gtt/triggers") == []
    (gtt,) = run(broker.gtts())
    assert gtt.trigger_values == (Decimal("1400"),) and gtt.legs == (BUY,)


def test_gtt_legs_must_be_whole_lots(fake_kite: FakeKite, broker: KiteBroker) -> None:
    future = Instrument(
        Exchange.NFO,
        Segment.FUTURES,
        "NIFTY26DECFUT",
        tick_size=Decimal("0.05"),
        lot_size=75,
        expiry=date(2026, 12, 29),
    )
    leg = GttLeg(side=Side.BUY, quantity=100, price=Decimal("24000.00"))
    with pytest.raises(InvalidRequest, match=r"leg 1: .*quantity 100 is not a multiple of the lot"):
        run(broker.place_gtt(future, Decimal("24000.00"), Decimal("25000.00"), leg))
    with pytest.raises(InvalidRequest, match=r"^Zerodha: modify GTT 7 on .*leg 1: .*lot size 75"):
        run(broker.modify_gtt(7, future, [Decimal("24000.00")], Decimal("25000.00"), [leg]))
    assert fake_kite.requests_to("/gtt/triggers") == []


def test_a_trigger_below_rs_50_needs_nine_paise(fake_kite: FakeKite, broker: KiteBroker) -> None:
    penny = Instrument(Exchange.NSE, Segment.EQUITY, "IDEA", tick_size=Decimal("0.01"))
    leg = GttLeg(side=Side.BUY, quantity=1, price=Decimal("9.92"))
    with pytest.raises(InvalidRequest, match=r"Kite wants at least 0\.09 between them"):
        run(broker.place_gtt(penny, Decimal("9.92"), Decimal("10.00"), leg))


def test_a_deleted_gtt_cannot_be_modified(fake_kite: FakeKite, broker: KiteBroker) -> None:
    trigger_id = run(broker.place_gtt(INFY, Decimal("1400.00"), LAST, BUY))
    run(broker.delete_gtt(trigger_id))
    refused = rf"^Zerodha: modify GTT {trigger_id} on NSE:INFY: Invalid trigger ID"
    with pytest.raises(InvalidRequest, match=refused):
        run(broker.modify_gtt(trigger_id, INFY, [Decimal("1390.00")], LAST, [BUY]))
    (put,) = fake_kite.requests_to(f"PUT /gtt/triggers/{trigger_id}")
    assert put.status == 400
    assert run(broker.gtts()) == []


def test_gtt_place_modify_delete_go_through_the_order_proxy(
    fake_kite: FakeKite, memory_keyring: MemoryKeyring
) -> None:
    """GTT calls are order calls under the static-IP rule; the GTT list is a read."""
    proxy = RecordingProxy()
    try:
        broker = make_broker(fake_kite, account={"order_proxy": proxy.url})
        single = run(broker.place_gtt(INFY, Decimal("1400.00"), LAST, BUY))
        oco = run(broker.place_gtt_oco(INFY, STOP, TARGET, LAST))
        run(broker.modify_gtt(single, INFY, [Decimal("1390.00")], LAST, [BUY]))
        run(broker.modify_gtt(oco, INFY, [STOP[0], Decimal("1710.00")], LAST, [STOP[1], BUY]))
        run(broker.gtts())
        run(broker.delete_gtt(single))
        run(broker.close())
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.seen == [
        "POST /gtt/triggers",
        "POST /gtt/triggers",
        f"PUT /gtt/triggers/{single}",
        f"PUT /gtt/triggers/{oco}",
        f"DELETE /gtt/triggers/{single}",
    ]
    assert fake_kite.requests_to("GET /gtt/triggers")


def test_a_refused_ip_on_modify_is_the_static_ip_error(
    fake_kite: FakeKite, broker: KiteBroker
) -> None:
    trigger_id = run(broker.place_gtt(INFY, Decimal("1400.00"), LAST, BUY))
    fake_kite.deny_orders_from_ip()
    with pytest.raises(IpNotAllowed, match=r"^Zerodha: modify GTT .* refused the order call"):
        run(broker.modify_gtt(trigger_id, INFY, [Decimal("1390.00")], LAST, [BUY]))
