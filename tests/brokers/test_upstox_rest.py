"""Our Upstox REST client and OAuth helpers against the fake Upstox (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
import socket
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from brokers.login_listener import catch_redirect
from brokers.upstox.errors import (
    UpstoxAuthError,
    UpstoxBrokerDown,
    UpstoxInputError,
    UpstoxIpNotAllowed,
    UpstoxMalformedResponse,
    UpstoxNetworkError,
    UpstoxOrderRejected,
    UpstoxRateLimited,
    UpstoxTokenExpired,
)
from brokers.upstox.models import MARKET_PROTECTION_AUTO, OrderChange, OrderRequest
from brokers.upstox.oauth import authorization_url, code_from_redirect, new_state
from brokers.upstox.rest import UpstoxConfig, UpstoxRest
from engine.ist import IST
from tests.fakes.upstox_server import FakeUpstox

RELIANCE = "NSE_EQ|INE002A01018"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[FakeUpstox]:
    with FakeUpstox() as f:
        yield f


def client(fake: FakeUpstox, **config: object) -> UpstoxRest:
    cfg = UpstoxConfig(api_host=fake.api_url, order_host=fake.order_url, **config)  # type: ignore[arg-type]
    return UpstoxRest(cfg, access_token=fake.issue_token())


def limit(qty: int = 5, price: str = "2450.05", tag: str | None = "artha-c1") -> OrderRequest:
    return OrderRequest(RELIANCE, "BUY", qty, "LIMIT", "I", price=Decimal(price), tag=tag)


# ---- login ---------------------------------------------------------------------------------


def test_oauth_code_flow_end_to_end_through_the_login_listener(caplog):
    caplog.set_level(logging.DEBUG)
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/artha/login"
    with FakeUpstox(redirect_uri=redirect) as fake:
        state = new_state()
        url = authorization_url(fake.client_id, redirect, state, api_host=fake.api_url)
        assert url.startswith(f"{fake.api_url}/v2/login/authorization/dialog?")
        assert "response_type=code" in url and f"state={state}" in url

        def browser(open_url: str) -> bool:
            # The trader logs in; Upstox redirects the browser to our listener.
            with urllib.request.urlopen(open_url, timeout=5) as page:
                assert page.status == 200
            return True

        params = asyncio.run(
            catch_redirect(
                port=port, path="/artha/login", expected_state=state, timeout=10,
                open_url=url, open_browser=browser, require=("code",),
            )
        )  # fmt: skip
        code = code_from_redirect(params, state)
        rest = UpstoxRest(UpstoxConfig(api_host=fake.api_url, order_host=fake.order_url))
        assert not rest.logged_in
        session = rest.exchange_code(
            code=code, client_id=fake.client_id, client_secret=fake.client_secret,
            redirect_uri=redirect,
        )  # fmt: skip
        assert session.user_id == "AB1234"
        assert session.access_token not in repr(session)
        assert rest.profile().user_name == "Test Trader"
        form = fake.requests_to("/v2/login/authorization/token")[0].form()
        assert form["redirect_uri"] == redirect
        assert form["grant_type"] == "authorization_code"
        # the code is single-use
        with pytest.raises(UpstoxAuthError, match=r"refused the login: Invalid Auth code \("):
            rest.exchange_code(
                code=code, client_id=fake.client_id, client_secret=fake.client_secret,
                redirect_uri=redirect,
            )  # fmt: skip
        for secret in (session.access_token, fake.client_secret, code):
            assert secret not in caplog.text


def test_state_mismatch_and_missing_code_are_refused():
    state = new_state()
    assert new_state() != state
    with pytest.raises(UpstoxAuthError, match="different 'state'"):
        code_from_redirect({"code": "abc123", "state": "someone-else"}, state)
    with pytest.raises(UpstoxAuthError, match="no 'code'"):
        code_from_redirect({"state": state}, state)
    with pytest.raises(UpstoxAuthError, match="redirect_uri is empty"):
        authorization_url("id", "", state)


def test_token_exchange_refusals_name_the_problem_and_never_the_secret(fake):
    rest = UpstoxRest(UpstoxConfig(api_host=fake.api_url, order_host=fake.order_url))
    code = fake.issue_code()
    with pytest.raises(UpstoxAuthError, match="redirect_uri") as wrong_uri:
        rest.exchange_code(
            code=code, client_id=fake.client_id, client_secret=fake.client_secret,
            redirect_uri=fake.redirect_uri + "/",  # exact match: a trailing slash differs
        )  # fmt: skip
    assert wrong_uri.value.code == "UDAPI100068"
    with pytest.raises(UpstoxAuthError, match="client_secret") as wrong_secret:
        rest.exchange_code(
            code=code, client_id=fake.client_id, client_secret="not-the-secret-at-all",
            redirect_uri=fake.redirect_uri,
        )  # fmt: skip
    assert not isinstance(wrong_secret.value, UpstoxTokenExpired)
    for exc in (wrong_uri.value, wrong_secret.value):
        assert fake.client_secret not in str(exc) and "not-the-secret-at-all" not in str(exc)
        assert code not in str(exc)


# ---- account -------------------------------------------------------------------------------


def test_profile_funds_holdings_and_positions_are_typed_and_exact(fake):
    fake.holdings.append(
        {"isin": "INE002A01018", "cnc_used_quantity": 0, "collateral_type": "WC",
         "company_name": "RELIANCE INDUSTRIES LTD", "haircut": 0.2, "product": "D",
         "quantity": 10, "tradingsymbol": "RELIANCE", "trading_symbol": "RELIANCE",
         "last_price": 2501.1, "close_price": 2490.35, "pnl": 105.5, "day_change": 0,
         "day_change_percentage": 0, "instrument_token": RELIANCE, "average_price": 2490.55,
         "collateral_quantity": 0, "collateral_update_quantity": 0, "t1_quantity": 2,
         "exchange": "NSE"}
    )  # fmt: skip
    rest = client(fake)
    funds = rest.funds()
    assert funds["equity"].available_margin == Decimal("98749.5")
    assert funds["equity"].used_margin == Decimal("1250.5")
    (holding,) = rest.holdings()
    assert holding.average_price == Decimal("2490.55")
    assert holding.last_price == Decimal("2501.1")
    assert (holding.quantity, holding.t1_quantity, holding.isin) == (10, 2, "INE002A01018")
    assert rest.positions() == []
    placed = rest.place_order(limit(qty=3, price="1234.95"))
    fake.fill_order(placed.order_ids[0])
    (position,) = rest.positions()
    assert (position.instrument_key, position.quantity) == (RELIANCE, 3)
    assert position.average_price == Decimal("1234.95")
    (trade,) = rest.trades()
    assert trade.average_price == Decimal("1234.95") and trade.quantity == 3
    assert trade.traded_at is not None and trade.traded_at.tzinfo is not None


# ---- orders --------------------------------------------------------------------------------


def test_order_lifecycle_place_modify_cancel_list_with_tag(fake):
    rest = client(fake, algo_name="Artha SMA")
    placed = rest.place_order(limit(tag="artha-0001"))
    (order_id,) = placed.order_ids
    assert placed.latency_ms == 11
    body = fake.requests_to("/v3/order/place")[0].json()
    assert body["instrument_token"] == RELIANCE
    assert body["price"] == 2450.05 and body["tag"] == "artha-0001"
    assert "market_protection" not in body

    (listed,) = rest.orders()
    assert listed.order_id == order_id and listed.tag == "artha-0001"
    assert listed.price == Decimal("2450.05") and listed.status == "open"
    assert listed.placed_at is not None and listed.placed_at.tzinfo is not None

    assert rest.modify_order(OrderChange(order_id, 5, "LIMIT", price=Decimal("2449.9"))) == (
        order_id
    )
    assert rest.order_details(order_id).price == Decimal("2449.9")

    assert rest.cancel_order(order_id) == order_id
    assert rest.order_details(order_id).status == "cancelled"
    with pytest.raises(UpstoxOrderRejected, match="already cancelled"):
        rest.cancel_order(order_id)
    with pytest.raises(UpstoxInputError, match="Order not found"):
        rest.order_details("999")

    # order calls went to the order host, with the algo name; the rest to the api host without
    for r in fake.requests:
        is_order = r.path in ("/v3/order/place", "/v3/order/modify", "/v3/order/cancel")
        assert r.server == ("order" if is_order else "api"), r.path
        assert r.headers.get("x-algo-name") == ("Artha SMA" if is_order else None), r.path
        assert r.headers["authorization"].startswith("Bearer ")


def test_x_algo_name_is_absent_when_not_set(fake):
    rest = client(fake)
    rest.place_order(limit())
    assert "x-algo-name" not in fake.requests_to("/v3/order/place")[0].headers


def test_market_and_sl_m_orders_need_market_protection(fake):
    rest = client(fake)
    market = OrderRequest(RELIANCE, "SELL", 1, "MARKET", "I")
    with pytest.raises(UpstoxInputError, match="non-zero market_protection"):
        rest.place_order(market)
    sl_m = OrderRequest(RELIANCE, "SELL", 1, "SL-M", "I", trigger_price=Decimal("2400"))
    with pytest.raises(UpstoxInputError, match="SL-M order needs a non-zero market_protection"):
        rest.place_order(sl_m)
    assert fake.requests_to("/v3/order/place") == []  # refused before sending

    fake.last_price[RELIANCE] = 2450.05
    auto = OrderRequest(
        RELIANCE, "SELL", 1, "MARKET", "I", market_protection=MARKET_PROTECTION_AUTO
    )
    (order_id,) = rest.place_order(auto).order_ids
    assert fake.requests_to("/v3/order/place")[0].json()["market_protection"] == -1
    assert rest.order_details(order_id).status == "complete"
    with pytest.raises(UpstoxInputError, match="percentage"):
        rest.place_order(OrderRequest(RELIANCE, "SELL", 1, "MARKET", "I",
                                      market_protection=Decimal(150)))  # fmt: skip

    # and the fake enforces the rule for anyone who skips our check
    raw = requests.post(
        f"{fake.order_url}/v3/order/place",
        json={"quantity": 1, "product": "I", "validity": "DAY", "price": 0,
              "instrument_token": RELIANCE, "order_type": "MARKET", "transaction_type": "BUY",
              "disclosed_quantity": 0, "trigger_price": 0, "is_amo": False},
        headers={"Authorization": f"Bearer {fake.issue_token()}"},
        timeout=5,
    )  # fmt: skip
    assert raw.status_code == 400
    assert raw.json()["errors"][0]["errorCode"] == "UDAPI1163"


def test_the_broker_refusing_market_protection_is_an_order_rejection(fake):
    fake.fail_next("/v3/order/place", 400, "UDAPI1163", "Market protection is mandatory")
    with pytest.raises(UpstoxOrderRejected, match="Market protection is mandatory"):
        client(fake).place_order(limit())


def test_auto_slicing_above_the_freeze_quantity(fake):
    fake.freeze_quantity[RELIANCE] = 1800
    rest = client(fake)
    order = OrderRequest(RELIANCE, "BUY", 4000, "LIMIT", "D", price=Decimal("2450"), slice=True,
                         tag="big-1")  # fmt: skip
    placed = rest.place_order(order)
    assert len(placed.order_ids) == 3
    assert sorted(o.quantity for o in rest.orders()) == [400, 1800, 1800]
    assert {o.tag for o in rest.orders()} == {"big-1"}
    with pytest.raises(UpstoxOrderRejected, match="10 slices"):
        rest.place_order(OrderRequest(RELIANCE, "BUY", 1800 * 10 + 1, "LIMIT", "D",
                                      price=Decimal("2450"), slice=True))  # fmt: skip


def test_bad_orders_are_refused_before_sending_with_the_field_named(fake):
    rest = client(fake)
    with pytest.raises(UpstoxInputError, match="quantity must be a positive whole number"):
        rest.place_order(limit(qty=0))
    with pytest.raises(UpstoxInputError, match="LIMIT order needs a price"):
        rest.place_order(OrderRequest(RELIANCE, "BUY", 1, "LIMIT", "I"))
    with pytest.raises(UpstoxInputError, match="instrument_key must be a non-empty string"):
        rest.place_order(OrderRequest("", "BUY", 1, "LIMIT", "I", price=Decimal(1)))
    with pytest.raises(UpstoxInputError, match=r"tag must be 1..40"):
        rest.place_order(limit(tag="x" * 41))
    assert fake.requests_to("/v3/order/place") == []


def test_a_field_error_from_upstox_is_an_input_error(fake):
    # a propertyPath makes it the request's fault, not a broker refusal
    fake.fail_next("/v3/order/place", 400, "UDAPI1026", "quantity is required", prop="quantity")
    with pytest.raises(UpstoxInputError, match="quantity is required"):
        client(fake).place_order(limit())


# ---- failures ------------------------------------------------------------------------------


def test_token_expiry_mid_session_is_a_typed_auth_error(fake):
    rest = client(fake)
    assert rest.profile().user_id == "AB1234"
    token = fake.requests[-1].headers["authorization"].removeprefix("Bearer ")
    fake.expire_tokens()
    with pytest.raises(UpstoxTokenExpired, match="log in again") as caught:
        rest.positions()
    assert caught.value.code == "UDAPI100050" and caught.value.status == 401
    assert token not in str(caught.value)
    with pytest.raises(UpstoxTokenExpired):
        rest.place_order(limit())
    with pytest.raises(UpstoxTokenExpired, match="Not logged in"):
        UpstoxRest(UpstoxConfig(api_host=fake.api_url)).profile()


def test_429_is_rate_limited_without_retry_after_and_the_next_call_passes(fake):
    rest = client(fake)
    fake.rate_limit_next("/v3/order/place")
    with pytest.raises(UpstoxRateLimited, match="rate limit") as caught:
        rest.place_order(limit())
    assert (caught.value.code, caught.value.status, caught.value.retry_after) == (
        "UDAPI10005", 429, None,
    )  # fmt: skip
    assert len(rest.place_order(limit()).order_ids) == 1
    assert len(fake.requests_to("/v3/order/place")) == 2  # the client never retried on its own


def test_5xx_is_broker_down_even_with_an_html_body(fake):
    rest = client(fake)
    fake.fail_next("/v2/user/profile", 503, "UDAPI100500", "Service Unavailable")
    with pytest.raises(UpstoxBrokerDown, match="Service Unavailable"):
        rest.profile()
    fake.fail_next("/v2/portfolio/short-term-positions", 502)
    with pytest.raises(UpstoxBrokerDown, match="HTTP 502"):
        rest.positions()
    assert rest.profile().user_id == "AB1234"


def test_403_for_the_source_ip_is_ip_not_allowed(fake):
    fake.fail_next("/v3/order/place", 403, "UDAPI1154", "Request not allowed from this IP")
    with pytest.raises(UpstoxIpNotAllowed, match="this IP"):
        client(fake).place_order(limit())


def test_malformed_answers_are_reported_not_crashed_on(fake):
    rest = client(fake)
    fake.malformed_next("/v2/portfolio/short-term-positions")
    with pytest.raises(UpstoxMalformedResponse, match="not JSON"):
        rest.positions()
    fake.malformed_next("/v2/user/profile", b'{"status": "success", "data": "oops"}')
    with pytest.raises(UpstoxMalformedResponse, match="not an object"):
        rest.profile()
    fake.malformed_next("/v2/order/retrieve-all", b'{"status": "success", "data": [{"x": 1}]}')
    with pytest.raises(UpstoxMalformedResponse, match=r"order book.*'order_id'"):
        rest.orders()
    fake.malformed_next("/v3/order/place", b'{"status": "success", "data": {}}')
    with pytest.raises(UpstoxMalformedResponse, match="no order_ids"):
        rest.place_order(limit())
    fake.malformed_next("/v2/user/get-funds-and-margin", b'{"status": "weird"}')
    with pytest.raises(UpstoxMalformedResponse, match="without status 'success'"):
        rest.funds()


def test_timeouts_and_refused_connections_are_network_errors(fake):
    rest = client(fake, timeout=0.3)
    fake.delay_next("/v2/user/profile", 1.0)
    with pytest.raises(UpstoxNetworkError, match=r"did not answer profile within 0.3 s"):
        rest.profile()
    fake.delay_next("/v3/order/place", 1.0)
    with pytest.raises(UpstoxNetworkError, match="check the order book"):
        rest.place_order(limit())
    dead = UpstoxRest(UpstoxConfig(api_host=f"http://127.0.0.1:{free_port()}"), access_token="t")
    with pytest.raises(UpstoxNetworkError, match="Could not reach Upstox for profile"):
        dead.profile()


def test_order_calls_go_through_the_order_proxy_and_nothing_else_does(fake):
    rest = client(fake, order_proxies={"http": fake.proxy_url})
    (order_id,) = rest.place_order(limit()).order_ids
    rest.cancel_order(order_id)
    rest.profile()
    proxied = [r.path for r in fake.requests if r.server == "proxy"]
    assert proxied == ["/v3/order/place", "/v3/order/cancel"]
    assert [r.path for r in fake.requests if r.server == "order"] == proxied
    assert "proxy" not in repr(rest.config)  # the proxy URL may hold credentials


# ---- history -------------------------------------------------------------------------------


def test_historical_candles_are_chunked_to_upstox_limits_and_exact(fake):
    start, end = date(2026, 1, 1), date(2026, 3, 6)  # 65 days of 5-minute bars: 3 requests
    rows = []
    day = start
    while day <= end:
        stamp = datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST).isoformat()
        rows.append([stamp, 2450.05, 2460.0, 2440.1, 2455.35, 12000, 0])
        day += timedelta(days=1)
    fake.set_candles(RELIANCE, "minutes", 5, rows)
    candles = client(fake).historical_candles(RELIANCE, "minutes", 5, start, end)
    assert len(candles) == 65
    assert candles == sorted(candles, key=lambda c: c.time)
    assert candles[0].time == datetime(2026, 1, 1, 9, 15, tzinfo=IST)
    assert (candles[0].open, candles[0].close) == (Decimal("2450.05"), Decimal("2455.35"))
    paths = [r.path for r in fake.requests if r.path.startswith("/v3/historical-candle/")]
    assert len(paths) == 3
    assert paths[0] == "/v3/historical-candle/NSE_EQ%7CINE002A01018/minutes/5/2026-03-06/2026-02-05"


def test_historical_candle_arguments_are_checked(fake):
    rest = client(fake)
    with pytest.raises(UpstoxInputError, match="unit must be one of"):
        rest.historical_candles(RELIANCE, "seconds", 1, date(2026, 1, 1), date(2026, 1, 2))
    with pytest.raises(UpstoxInputError, match=r"interval for hours must be 1..5"):
        rest.historical_candles(RELIANCE, "hours", 6, date(2026, 1, 1), date(2026, 1, 2))
    with pytest.raises(UpstoxInputError, match="before start"):
        rest.historical_candles(RELIANCE, "days", 1, date(2026, 1, 2), date(2026, 1, 1))
    fake.malformed_next(
        "/v3/historical-candle/",
        b'{"status":"success","data":{"candles":[["yesterday",1,2,3,4,5,0]]}}',
    )
    with pytest.raises(UpstoxMalformedResponse, match="bad timestamp 'yesterday'"):
        rest.historical_candles(RELIANCE, "days", 1, date(2026, 1, 1), date(2026, 1, 2))
