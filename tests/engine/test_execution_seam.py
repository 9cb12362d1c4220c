"""What crosses the seam to the GUI, the store and brokers: a run's orders as domain `Order`s
and its positions as domain `Position`s, valid by the domain's own checks."""

from __future__ import annotations

from decimal import Decimal

from engine.backtest import BacktestConfig
from engine.backtest.runner import BacktestRun
from engine.domain.orders import ACTIVE_STATUSES, Order, OrderStatus
from tests.engine.synthetic import make_bars, series
from tests.engine.test_execution_contract import IntradayBrackets, RestingOrders


def finished(strategy: type, config: BacktestConfig) -> BacktestRun:
    run = BacktestRun(strategy, None, [series(make_bars(375 * 6, seed=31))], config, {})
    run.loop()
    return run


def test_every_order_of_a_run_is_a_valid_domain_order():
    run = finished(IntradayBrackets, BacktestConfig(costs="none"))
    orders = list(run.host.oms.orders.values())
    domain = [o.to_domain() for o in orders]  # each validated by Order.__post_init__
    assert len(domain) > 100 and all(isinstance(d, Order) for d in domain)
    for record, order in zip(orders, domain, strict=True):
        assert (order.client_id, order.status, order.filled_quantity) == (
            record.order_id,
            record.status,
            record.filled,
        )
        assert order.status not in ACTIVE_STATUSES  # the run ended: nothing still working
        if record.filled:
            assert order.average_price == record.average_price
    kinds = {(o.order_type, o.status) for o in domain}
    assert {("SL-M", OrderStatus.FILLED), ("LIMIT", OrderStatus.FILLED)} <= kinds
    trailing = [d for r, d in zip(orders, domain, strict=True) if r.trail is not None]
    assert trailing and all(d.trigger_price is not None for d in trailing)


def test_open_positions_are_domain_positions_matching_the_report():
    run = finished(RestingOrders, BacktestConfig(costs="none", capital=Decimal("5000000")))
    positions = run.host.portfolio.domain_positions()
    report = run.result(0.0)
    assert {f"{p.symbol}/{p.product}": p.quantity for p in positions} == report.open_positions
    assert positions and all(p.average_price > 0 for p in positions)


class ClosedMarket:
    """A venue of another kind than the backtest's: it refuses every order, as a broker's RMS
    or a closed market does, and knows its last prices from the bars it was given."""

    def __init__(self, host, bars) -> None:
        self.host, self.bars, self.bar = host, bars, 0

    def submit(self, order) -> None:
        self.host.rejected(order, "RMS: market closed for the instrument")

    def cancel(self, order) -> None:
        self.host.cancelled(order, "cancelled")

    def modify(self, order, quantity, limit, trigger) -> None:
        raise AssertionError("nothing to modify: every order was refused")

    def now(self, instrument: int) -> tuple[int, int, int]:
        return self.bar, int(self.bars.ts[self.bar]), int(self.bars.close[self.bar])

    def marks(self) -> dict[str, int]:
        return {self.bars.symbol: int(self.bars.close[self.bar])}

    def arm_squareoff(self, instrument: int, bar: int) -> None:
        raise AssertionError("no position can open")


def test_a_venue_that_refuses_reports_rejections_the_strategy_hears():
    from engine.backtest.slots import default_instrument
    from engine.domain.enums import Exchange, Side
    from engine.execution.checks import InstrumentRules
    from engine.execution.host import ExecutionHost, HostSettings
    from engine.execution.portfolio import Portfolio
    from engine.strategy.base import Strategy
    from engine.strategy.requests import OrderRequest

    heard = []

    class Listener(Strategy):
        def on_order(self, update) -> None:
            heard.append((update.status, update.message))

    bars = series(make_bars(400, seed=2))
    owner = Listener()
    host = ExecutionHost(
        [InstrumentRules.of(default_instrument(bars.symbol, Exchange.NSE))],
        [owner],
        Portfolio(10_000_000, None),
        HostSettings(),
        id_prefix="LV",
    )
    host.connect(ClosedMarket(host, bars))
    order_id = host.submit(OrderRequest(bars.symbol, Side.BUY, 10))
    assert order_id == "LV0000001"
    assert heard == [(OrderStatus.REJECTED, "RMS: market closed for the instrument")]
    assert host.rejections == [
        f"{bars.symbol} bar 0: BUY 10 rejected: RMS: market closed for the instrument"
    ]
    assert host.oms.orders[order_id].to_domain().status is OrderStatus.REJECTED
