"""The status bar's broker state, offscreen: it follows the BrokerStateEvents a real BrokerHub
publishes (a paper account connecting and disconnecting) and those a live feed announces
(reconnecting, login needed), coloured by the worst, with each account in the tooltip, and a
click asks for Settings ▸ Brokers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QPoint, Qt

from app.gui.broker_dialogs import credential_id
from app.gui.broker_status import NOT_CONNECTED, STATE_COLOURS, BrokerStatus
from brokers.accounts import BrokerAccount, BrokerAccounts, BrokerKind
from brokers.hub import BrokerHub
from brokers.paper.broker import PaperBroker
from brokers.zerodha import KiteBroker
from engine.broker.models import ConnectionState
from engine.broker.protocol import Broker
from engine.bus import EventBus
from engine.events import BrokerStateEvent
from tests.app import test_brokers_page

collect_on_the_gui_thread = test_brokers_page.collect_on_the_gui_thread  # autouse fixture
fake_kite = test_brokers_page.fake_kite  # fixtures
memory_keyring = test_brokers_page.memory_keyring

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 09:30 IST
KITE = "Zerodha Kite · Main"


@pytest.fixture
def bus(aloop) -> EventBus:
    return EventBus(aloop)


@pytest.fixture
def status(bus: EventBus, qtbot) -> BrokerStatus:
    widget = BrokerStatus(bus, lambda: NOW)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def colour_of(widget: BrokerStatus) -> str:
    return widget.dot.styleSheet()


def test_nothing_connected_says_so(status: BrokerStatus) -> None:
    assert status.label.text() == NOT_CONNECTED
    assert "Settings ▸ Brokers" in status.toolTip()


def test_a_paper_account_through_the_hub_connects_and_disconnects(
    status: BrokerStatus, bus: EventBus, aloop, tmp_path
) -> None:
    account = BrokerAccount(account_id="paper", kind=BrokerKind.PAPER, label="Night")
    hub = BrokerHub(bus, lambda a: PaperBroker(tmp_path, account=a.account_id))
    aloop.run_until_complete(hub.connect(account))
    assert status.label.text() == "Paper · Night: connected"
    assert STATE_COLOURS[ConnectionState.CONNECTED] in colour_of(status)
    assert "Paper · Night: connected since 09:30:00 IST" in status.toolTip()
    aloop.run_until_complete(hub.disconnect("paper"))
    assert status.label.text() == NOT_CONNECTED


def test_reconnecting_is_amber_and_login_needed_red_with_the_reason(
    status: BrokerStatus, bus: EventBus
) -> None:
    bus.publish(BrokerStateEvent("zerodha-main", KITE, ConnectionState.CONNECTED, "AB1234"))
    bus.publish(
        BrokerStateEvent(
            "zerodha-main", KITE, ConnectionState.RECONNECTING, "the feed went quiet; retrying"
        )
    )
    assert status.label.text() == f"{KITE}: reconnecting…"
    assert STATE_COLOURS[ConnectionState.RECONNECTING] in colour_of(status)
    assert "the feed went quiet; retrying" in status.toolTip()
    bus.publish(BrokerStateEvent("paper", "Paper · Night", ConnectionState.CONNECTED))
    bus.publish(
        BrokerStateEvent(
            "zerodha-main", KITE, ConnectionState.LOGIN_REQUIRED, "the session ended at 06:00"
        )
    )
    assert status.label.text() == "Brokers: 1 login needed, 1 connected"
    assert STATE_COLOURS[ConnectionState.LOGIN_REQUIRED] in colour_of(status)
    tip = status.toolTip()
    assert f"{KITE}: login needed since 09:30:00 IST — the session ended at 06:00" in tip
    assert "press Log in" in tip


def test_a_click_asks_for_the_brokers_settings(status: BrokerStatus, qtbot) -> None:
    with qtbot.waitSignal(status.settings_requested, timeout=1000):
        qtbot.mouseClick(status, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))


def test_the_widget_stops_listening_when_deleted(bus: EventBus, qtbot, caplog) -> None:
    widget = BrokerStatus(bus, lambda: NOW)
    widget.deleteLater()
    qtbot.wait(10)
    with caplog.at_level("ERROR", logger="artha.bus"):
        bus.publish(BrokerStateEvent("paper", "Paper", ConnectionState.CONNECTED))
    assert not caplog.records  # no handler of a deleted widget failed


def test_at_start_saved_accounts_connect_or_show_login_needed(
    make_ctx, qtbot, aloop, tmp_path, fake_kite, memory_keyring
) -> None:
    """The station's start (AppContext.connect_saved_accounts): the paper account connects,
    the Zerodha account whose session ended shows "login needed" in red."""
    ctx = make_ctx()
    kite = BrokerAccount(
        account_id="zerodha-main", kind=BrokerKind.ZERODHA, label="Main", api_root=fake_kite.root
    )
    paper = BrokerAccount(account_id="paper", kind=BrokerKind.PAPER, label="Night")
    accounts = BrokerAccounts(ctx.files_dir / "brokers.json")
    accounts.add(kite)
    accounts.add(paper)
    accounts.save()
    ctx.credentials.save(credential_id(kite), "api_key", fake_kite.api_key)
    ctx.credentials.save(credential_id(kite), "api_secret", fake_kite.api_secret)

    def opener(account: BrokerAccount) -> Broker:
        if account.kind is BrokerKind.PAPER:
            return PaperBroker(tmp_path, account=account.account_id)
        return KiteBroker(account, ctx.credentials)

    ctx.brokers = BrokerHub(ctx.bus, opener)
    widget = BrokerStatus(ctx.bus, lambda: NOW)
    qtbot.addWidget(widget)
    aloop.run_until_complete(ctx.connect_saved_accounts())
    assert widget.text() == "Brokers: 1 login needed, 1 connected"
    assert STATE_COLOURS[ConnectionState.LOGIN_REQUIRED] in colour_of(widget)
