"""From a broker account to the Broker that trades it: the one place that knows the adapters.

The app and the commands call `open_broker`; nothing else imports an adapter, so a new broker
is one new package and one line here. Adapters are imported only when an account of theirs is
opened (kiteconnect pulls in Twisted; the Upstox feed, protobuf).
"""

from __future__ import annotations

from brokers.accounts import BrokerAccount, BrokerKind
from brokers.credentials import CredentialStore
from engine.backtest.config import BacktestConfig
from engine.broker.protocol import Broker
from engine.data.store import MarketStore
from engine.workspace import Workspace


def open_broker(
    account: BrokerAccount,
    *,
    credentials: CredentialStore,
    workspace: Workspace,
    store: MarketStore | None = None,
) -> Broker:
    """The account's broker, not yet connected (call `connect`, or log in first)."""
    if account.kind is BrokerKind.ZERODHA:
        from brokers.zerodha.broker import KiteBroker

        return KiteBroker(account, credentials, live_stream=True)
    if account.kind is BrokerKind.UPSTOX:
        from brokers.upstox.broker import UpstoxBroker

        return UpstoxBroker.from_account(account, credentials)
    from brokers.paper.broker import PaperBroker

    return PaperBroker(
        workspace,
        account=account.account_id,
        config=BacktestConfig(capital=account.paper_capital),
        store=store,
    )
