"""The fake Kite server against the REAL kiteconnect client (KiteConnect and KiteTicker).

These prove the fake speaks Kite well enough for the Zerodha adapter's tests to trust it.
KiteTicker runs on Twisted's reactor, which starts once per process (on the first
connect(threaded=True)) and is never stopped here: later tickers join the running reactor.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kiteconnect import KiteConnect, KiteTicker
from kiteconnect import exceptions as kex

from tests.fakes import kite_server
from tests.fakes.kite_server import FakeKite
from tests.fakes.kite_state import FIXTURES
from tests.fakes.kite_ticks import encode_packet

INFY = 408065
SBIN = 779521
NIFTY = 256265

fake_kite = kite_server.fake_kite  # the fixture (assigned, not imported: ruff's F811)


@pytest.fixture
def kite(fake_kite: FakeKite) -> KiteConnect:
    """A logged-in client (the fake's pre-issued access token)."""
    return KiteConnect(fake_kite.api_key, access_token=fake_kite.access_token, root=fake_kite.root)


def place_limit(kite: KiteConnect, qty: int = 5, tag: str | None = "art-1", **kw: Any) -> str:
    args: dict[str, Any] = {"price": 1500.05, "tag": tag, **kw}
    order_id: str = kite.place_order("regular", "NSE", "INFY", "BUY", qty, "CNC", "LIMIT", **args)
    return order_id


# ---- login -----------------------------------------------------------------------------------
def test_generate_session_checks_the_checksum_and_single_use(fake_kite: FakeKite) -> None:
    kite = KiteConnect(fake_kite.api_key, root=fake_kite.root)
    token = fake_kite.issue_request_token()
    with pytest.raises(kex.TokenException, match="Invalid `checksum`"):
        kite.generate_session(token, "wrong-secret")
    session = kite.generate_session(token, fake_kite.api_secret)
    assert isinstance(session["login_time"], datetime)
    assert kite.access_token == session["access_token"]
    assert kite.profile()["user_id"] == fake_kite.user_id
    with pytest.raises(kex.TokenException, match="invalid or has expired") as err:
        kite.generate_session(token, fake_kite.api_secret)  # reused
    assert err.value.code == 403
    with pytest.raises(kex.TokenException):
        kite.generate_session("never-issued", fake_kite.api_secret)


class _Catcher(BaseHTTPRequestHandler):
    """The app's redirect catcher on 127.0.0.1 (as the adapter will run one)."""

    got: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        type(self).got.append(parse_qs(urlsplit(self.path).query))
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"Logged in; you may close this tab.")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def catcher() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Catcher)
    _Catcher.got = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/kite/callback", _Catcher.got
    server.shutdown()
    server.server_close()


def test_login_flow_end_to_end_through_the_redirect(
    fake_kite: FakeKite, catcher: tuple[str, list[dict[str, list[str]]]]
) -> None:
    redirect, got = catcher
    fake_kite.redirect_url = redirect
    page = requests.get(fake_kite.login_url, timeout=5)  # the "browser" follows the 302
    assert page.status_code == 200 and len(got) == 1
    assert got[0]["status"] == ["success"] and got[0]["action"] == ["login"]
    kite = KiteConnect(fake_kite.api_key, root=fake_kite.root)
    kite.generate_session(got[0]["request_token"][0], fake_kite.api_secret)
    assert kite.margins("equity")["enabled"] is True
    # complete_login plays the browser without a login page
    token = fake_kite.complete_login()
    assert got[1]["request_token"] == [token]
    logout = kite.invalidate_access_token()
    assert logout is True
    with pytest.raises(kex.TokenException):
        kite.profile()


def test_profile_margins_holdings_and_recorded_headers(
    fake_kite: FakeKite, kite: KiteConnect
) -> None:
    assert kite.profile()["user_id"] == "AB1234"
    margins = kite.margins()
    assert set(margins) == {"equity", "commodity"}
    assert kite.margins("equity")["available"]["cash"] == 245431.6
    assert kite.holdings()[0]["tradingsymbol"] == "AARON"
    seen = fake_kite.requests_to("GET /user/profile")[0]
    assert seen.headers["X-Kite-Version"] == "3"
    assert seen.headers["Authorization"] == f"token {fake_kite.api_key}:{fake_kite.access_token}"
    with pytest.raises(kex.TokenException, match="Incorrect `api_key` or `access_token`"):
        KiteConnect(fake_kite.api_key, root=fake_kite.root).profile()  # no token at all


# ---- orders ------------------------------------------------------------------------------------
def test_order_lifecycle_with_tag_fills_trades_positions(
    fake_kite: FakeKite, kite: KiteConnect
) -> None:
    order_id = place_limit(kite, qty=5, tag="art-1")
    assert kite.order_history(order_id)[-1]["status"] == "OPEN"
    assert kite.modify_order("regular", order_id, quantity=6, price=1500.10) == order_id
    latest = kite.order_history(order_id)[-1]
    assert (latest["quantity"], latest["price"], latest["tag"]) == (6, 1500.1, "art-1")
    assert isinstance(latest["order_timestamp"], datetime)

    fake_kite.fill(order_id, 2, price="1500.05")
    fake_kite.fill(order_id, 4, price="1500.10")
    done = kite.order_history(order_id)[-1]
    assert done["status"] == "COMPLETE" and done["filled_quantity"] == 6
    assert done["average_price"] == pytest.approx((2 * 1500.05 + 4 * 1500.10) / 6)
    assert [t["quantity"] for t in kite.order_trades(order_id)] == [2, 4]
    assert len(kite.trades()) == 2
    (net,) = kite.positions()["net"]
    assert (net["tradingsymbol"], net["quantity"], net["buy_value"]) == ("INFY", 6, 9000.5)
    with pytest.raises(kex.InputException, match="already complete"):
        kite.cancel_order("regular", order_id)

    other = place_limit(kite, qty=1, tag="art-2")
    assert kite.cancel_order("regular", other) == other
    assert kite.order_history(other)[-1]["status"] == "CANCELLED"
    third = place_limit(kite, qty=1, tag="art-3")
    fake_kite.reject(third, "RMS:Margin Exceeds")
    assert [o["status"] for o in kite.orders()] == ["COMPLETE", "CANCELLED", "REJECTED"]
    assert fake_kite.orders_with_tag("art-3")[0]["status_message"] == "RMS:Margin Exceeds"


def test_market_orders_need_market_protection(fake_kite: FakeKite, kite: KiteConnect) -> None:
    for order_type, extra in (("MARKET", {}), ("SL-M", {"trigger_price": 1400})):
        with pytest.raises(kex.InputException, match="market protection") as err:
            kite.place_order("regular", "NSE", "INFY", "SELL", 1, "MIS", order_type, **extra)
        assert err.value.code == 400
    with pytest.raises(kex.InputException, match="market protection"):
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "MIS", "MARKET", market_protection=0)
    fake_kite.auto_fill = True
    fake_kite.set_ltp("NSE", "INFY", "1573.70")
    order_id = kite.place_order(
        "regular", "NSE", "INFY", "BUY", 3, "MIS", "MARKET", market_protection=-1, tag="mkt"
    )
    filled = kite.order_history(order_id)[-1]
    assert (filled["status"], filled["average_price"], filled["market_protection"]) == (
        "COMPLETE",
        1573.7,
        -1,
    )


def test_order_input_checks(kite: KiteConnect) -> None:
    with pytest.raises(kex.InputException, match="Tick size"):
        place_limit(kite, price=1500.03)
    with pytest.raises(kex.InputException, match="tradingsymbol"):
        kite.place_order("regular", "NSE", "NOPE", "BUY", 1, "CNC", "LIMIT", price=10)
    with pytest.raises(kex.InputException, match="price"):
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT")
    with pytest.raises(kex.InputException, match="order_id"):
        kite.order_history("123")


def test_autoslice_splits_at_the_freeze_quantity_up_to_ten(
    fake_kite: FakeKite, kite: KiteConnect
) -> None:
    fake_kite.set_freeze_quantity("NSE", "SBIN", 100)
    body = kite.place_autoslice_order(
        "regular", "NSE", "SBIN", "BUY", 250, "MIS", "LIMIT", price=820.05, tag="big"
    )
    assert set(body) == {"order_id", "children"} and len(body["children"]) == 3
    quantities = [kite.order_history(c["order_id"])[-1]["quantity"] for c in body["children"]]
    assert quantities == [100, 100, 50]
    assert all(o["tag"] == "big" for o in fake_kite.orders_with_tag("big"))
    fake_kite.fail_autoslice_slices({1: "Insufficient funds. Required margin is 82005.00."})
    body = kite.place_autoslice_order(
        "regular", "NSE", "SBIN", "BUY", 300, "MIS", "LIMIT", price=820.05, tag="big2"
    )
    assert body["children"][1]["error"]["error_type"] == "MarginException"
    assert len(fake_kite.orders_with_tag("big2")) == 2
    with pytest.raises(kex.InputException, match="at most 10 slices"):
        kite.place_autoslice_order("regular", "NSE", "SBIN", "BUY", 1001, "MIS", "LIMIT", price=820)
    plain = kite.place_order("regular", "NSE", "SBIN", "BUY", 101, "MIS", "LIMIT", price=820)
    assert kite.order_history(plain)[-1]["status"] == "REJECTED"


def test_gtt_single_and_two_leg(kite: KiteConnect) -> None:
    leg = {"transaction_type": "SELL", "quantity": 1, "order_type": "LIMIT", "product": "CNC"}
    single = kite.place_gtt("single", "INFY", "NSE", [1400.0], 1573.7, [{**leg, "price": 1399}])
    oco = kite.place_gtt(
        "two-leg",
        "INFY",
        "NSE",
        [1400.0, 1700.0],
        1573.7,
        [{**leg, "price": 1399}, {**leg, "price": 1701}],
    )
    got = kite.get_gtt(oco["trigger_id"])
    assert got["type"] == "two-leg" and got["condition"]["instrument_token"] == INFY
    assert {g["id"] for g in kite.get_gtts()} == {single["trigger_id"], oco["trigger_id"]}
    kite.modify_gtt(
        single["trigger_id"], "single", "INFY", "NSE", [1450.0], 1573.7, [{**leg, "price": 1449}]
    )
    assert kite.get_gtt(single["trigger_id"])["condition"]["trigger_values"] == [1450.0]
    assert kite.delete_gtt(single["trigger_id"]) == {"trigger_id": single["trigger_id"]}
    assert len(kite.get_gtts()) == 1


# ---- faults ------------------------------------------------------------------------------------
def test_expired_tokens_raise_token_exception_and_call_the_hook(
    fake_kite: FakeKite, kite: KiteConnect
) -> None:
    expired: list[bool] = []
    kite.set_session_expiry_hook(lambda: expired.append(True))
    place_limit(kite)
    fake_kite.expire_tokens()
    with pytest.raises(kex.TokenException, match="Incorrect `api_key` or `access_token`") as err:
        kite.orders()
    assert err.value.code == 403 and expired == [True]
    kite.generate_session(fake_kite.issue_request_token(), fake_kite.api_secret)
    assert len(kite.orders()) == 1  # a new login sees the same book


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (429, kex.NetworkException),
        (500, kex.GeneralException),
        (502, kex.NetworkException),
        (503, kex.NetworkException),
        (504, kex.NetworkException),
    ],
)
def test_http_errors_map_to_kite_exceptions(
    fake_kite: FakeKite, kite: KiteConnect, status: int, exc: type[kex.KiteException]
) -> None:
    fake_kite.fail_next("POST /orders", status)
    with pytest.raises(exc) as err:
        place_limit(kite)
    assert err.value.code == status
    assert fake_kite.orders() == []  # refused before booking
    place_limit(kite)  # only the next one failed


def test_fail_after_effect_and_timeouts_leave_the_order_placed(fake_kite: FakeKite) -> None:
    kite = KiteConnect(
        fake_kite.api_key, access_token=fake_kite.access_token, root=fake_kite.root, timeout=0.5
    )
    fake_kite.fail_next("POST /orders", 504, apply=True)
    with pytest.raises(kex.NetworkException):
        place_limit(kite, tag="gw-1")
    fake_kite.delay_next("POST /orders", 1.5)
    with pytest.raises(requests.exceptions.ReadTimeout):  # kiteconnect re-raises requests' own
        place_limit(kite, tag="slow-1")
    assert [o["tag"] for o in kite.orders()] == ["gw-1", "slow-1"]  # reconcile by tag


def test_order_rate_limit_answers_429(fake_kite: FakeKite, kite: KiteConnect) -> None:
    fake_kite.order_rate_limit = 10
    answers = []
    for _ in range(11):
        try:
            answers.append(place_limit(kite, qty=1))
        except kex.NetworkException as err:
            answers.append(err)
    assert isinstance(answers[-1], kex.NetworkException) and answers[-1].code == 429
    assert str(answers[-1]) == "Too many requests"
    assert len(fake_kite.orders()) == 10
    assert fake_kite.max_orders_in_any_second() == 11


def test_max_orders_in_any_second_sees_a_paced_burst(
    fake_kite: FakeKite, kite: KiteConnect
) -> None:
    start = time.monotonic()
    for i in range(12):
        time.sleep(max(0.0, start + i * 0.13 - time.monotonic()))
        place_limit(kite, qty=1)
    assert fake_kite.max_orders_in_any_second() <= 8
    assert len(fake_kite.order_placements()) == 12


@pytest.mark.parametrize(
    ("kind", "exc"),
    [
        ("invalid_json", kex.DataException),
        ("html_502", kex.DataException),
        ("empty_body", kex.DataException),
        ("missing_data", KeyError),  # kiteconnect indexes data["data"] unchecked
        ("no_content_type", KeyError),  # ... and r.headers["content-type"]
    ],
)
def test_malformed_answers(
    fake_kite: FakeKite, kite: KiteConnect, kind: str, exc: type[Exception]
) -> None:
    fake_kite.malformed_next("GET /orders", kind)
    with pytest.raises(exc):
        kite.orders()
    assert kite.orders() == []


def test_ip_not_allowed_only_for_order_calls(fake_kite: FakeKite, kite: KiteConnect) -> None:
    fake_kite.deny_orders_from_ip("2402:3a80::1")
    with pytest.raises(kex.PermissionException, match=r"IP \(2402:3a80::1\) is not allowed") as e:
        place_limit(kite)
    assert e.value.code == 403
    assert kite.orders() == [] and kite.positions() == {"net": [], "day": []}
    fake_kite.set_client_ip(None)
    fake_kite.allow_ips("127.0.0.1")
    assert place_limit(kite)


# ---- market data -------------------------------------------------------------------------------
def test_historical_candles_are_deterministic_and_range_limited(kite: KiteConnect) -> None:
    minute = kite.historical_data(INFY, datetime(2026, 3, 2, 9, 15), datetime(2026, 3, 4, 15, 29),
                                  "minute")  # fmt: skip
    assert len(minute) == 3 * 375
    assert minute[0]["date"].isoformat() == "2026-03-02T09:15:00+05:30"
    again = kite.historical_data(INFY, "2026-03-03 09:15:00", "2026-03-03 09:19:00", "minute")
    assert again == minute[375:380]  # same bar, same values, whatever the range asked
    assert all(c["low"] <= min(c["open"], c["close"]) <= c["high"] for c in minute)
    fives = kite.historical_data(SBIN, "2026-03-02 00:00:00", "2026-03-02 23:59:59", "5minute",
                                 oi=True)  # fmt: skip
    assert len(fives) == 75 and "oi" in fives[0]
    days = kite.historical_data(INFY, date(2026, 1, 1), date(2026, 3, 31), "day")
    weekdays = [d for d in range(90) if (date(2026, 1, 1) + timedelta(days=d)).weekday() < 5]
    assert len(days) == len(weekdays) and all(d["date"].hour == 0 for d in days)
    limits = {"minute": 60, "3minute": 100, "5minute": 100, "10minute": 100, "15minute": 200,
              "30minute": 200, "60minute": 400, "day": 2000}  # fmt: skip
    for interval, max_days in limits.items():
        start = datetime(2020, 1, 1)
        if interval in ("60minute", "day"):  # the longest ranges still answer in full
            kite.historical_data(INFY, start, start + timedelta(days=max_days), interval)
        with pytest.raises(kex.InputException, match=f"interval exceeds max limit: {max_days} d"):
            kite.historical_data(INFY, start, start + timedelta(days=max_days + 1), interval)


def test_instruments_csv_and_quotes(fake_kite: FakeKite, kite: KiteConnect) -> None:
    every = kite.instruments()
    nse = kite.instruments("NSE")
    assert {"NSE", "BSE", "NFO"} <= {i["exchange"] for i in every}
    assert {i["exchange"] for i in nse} == {"NSE"}
    infy = next(i for i in nse if i["tradingsymbol"] == "INFY")
    assert (infy["instrument_token"], infy["tick_size"]) == (INFY, 0.05)
    raw = fake_kite.requests_to("GET /instruments")[0]
    assert raw.status == 200
    answer = requests.get(fake_kite.root + "/instruments/NSE", headers=raw.headers, timeout=5)
    assert answer.headers["Content-Type"] == "text/csv"
    assert kite.ltp("NSE:INFY", "NSE:NOPE") == {
        "NSE:INFY": {"instrument_token": INFY, "last_price": 1573.7}
    }
    assert kite.quote("NSE:SBIN")["NSE:SBIN"]["instrument_token"] == SBIN
    assert kite.ohlc("NSE:INFY")["NSE:INFY"]["ohlc"]["close"] == 1573.7


# ---- the ticker --------------------------------------------------------------------------------
@pytest.fixture
def make_ticker(fake_kite: FakeKite) -> Iterator[Callable[..., KiteTicker]]:
    """KiteTickers on the process's one reactor; each is closed (no retries) afterwards."""
    from twisted.internet import reactor

    made: list[KiteTicker] = []

    def make(token: str | None = None, **kwargs: Any) -> KiteTicker:
        ticker = KiteTicker(
            fake_kite.api_key, token or fake_kite.access_token, root=fake_kite.ws_root, **kwargs
        )
        made.append(ticker)
        return ticker

    yield make
    for ticker in made:
        if getattr(ticker, "factory", None) is not None:
            reactor.callFromThread(ticker.close)
    time.sleep(0.1)


def start(ticker: KiteTicker, tokens: list[int], mode: str) -> None:
    def on_connect(ws: KiteTicker, response: Any) -> None:
        ws.subscribe(tokens)
        ws.set_mode(mode, tokens)

    ticker.on_connect = on_connect
    connect(ticker)


def connect(ticker: KiteTicker) -> None:
    """Start the process's reactor once, then connect INSIDE its thread: a connect made from
    another thread is not seen until the reactor next wakes (it may sleep until a retry
    timer 60 s away, as it did on a busy CI worker)."""
    from twisted.internet import reactor

    from brokers.zerodha.stream import running_reactor

    running_reactor()
    reactor.callFromThread(ticker.connect, threaded=True)  # type: ignore[attr-defined]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_fake_packets_match_the_mock_packets_byte_for_byte() -> None:
    for mode in ("quote", "full"):
        tick = json.loads((FIXTURES / f"ticker_{mode}.json").read_text())
        packet = base64.b64decode((FIXTURES / f"ticker_{mode}.packet").read_text())
        assert encode_packet(tick, mode) == packet


def test_ticker_full_mode_ticks_match_the_fixture(
    fake_kite: FakeKite, make_ticker: Callable[..., KiteTicker]
) -> None:
    got: list[dict[str, Any]] = []
    ticker = make_ticker()
    ticker.on_ticks = lambda ws, ticks: got.extend(ticks)
    start(ticker, [INFY], "full")
    assert fake_kite.wait_for_subscription([INFY], 10, mode="full")
    assert fake_kite.subscriptions() == [{INFY: "full"}]
    want = json.loads((FIXTURES / "ticker_full.json").read_text())
    assert fake_kite.push_ticks([want, {"instrument_token": SBIN, "last_price": 820}]) == 1
    assert wait_until(lambda: len(got) == 1)
    (tick,) = got  # SBIN was not subscribed
    stamp = datetime.fromtimestamp(datetime.fromisoformat(want["timestamp"]).timestamp())
    assert tick["mode"] == "full" and tick["tradable"] is True
    assert tick["last_price"] == want["last_price"]
    assert tick["last_traded_quantity"] == want["last_quantity"]
    assert tick["average_traded_price"] == want["average_price"]
    assert tick["volume_traded"] == want["volume"]
    assert tick["total_buy_quantity"] == want["buy_quantity"]
    assert tick["total_sell_quantity"] == want["sell_quantity"]
    assert tick["ohlc"] == want["ohlc"] and tick["depth"] == want["depth"]
    close = want["ohlc"]["close"]  # the fixture's "change" is absolute; pykiteconnect's percent
    assert tick["change"] == pytest.approx((want["last_price"] - close) * 100 / close)
    assert tick["exchange_timestamp"] == stamp == tick["last_trade_time"]  # naive local time


def test_ticker_modes_indices_and_unsubscribe(
    fake_kite: FakeKite, make_ticker: Callable[..., KiteTicker]
) -> None:
    from twisted.internet import reactor

    got: list[dict[str, Any]] = []
    ticker = make_ticker()
    ticker.on_ticks = lambda ws, ticks: got.extend(ticks)
    start(ticker, [INFY, SBIN, NIFTY], "ltp")
    assert fake_kite.wait_for_subscription([INFY, SBIN, NIFTY], 10, mode="ltp")
    # calls into KiteTicker from other threads go through the reactor
    reactor.callFromThread(ticker.set_mode, "quote", [SBIN, NIFTY])
    assert fake_kite.wait_for_subscription([SBIN, NIFTY], 5, mode="quote")
    ohlc = {"open": 24400, "high": 24600.5, "low": 24350, "close": 24450}
    fake_kite.push_ticks(
        [
            {"instrument_token": INFY, "last_price": 1573.7},
            {"instrument_token": SBIN, "last_price": "820.15", "volume_traded": 10},
            {"instrument_token": NIFTY, "last_price": 24500.25, "ohlc": ohlc},
        ]
    )
    assert wait_until(lambda: len(got) == 3)
    by_token = {t["instrument_token"]: t for t in got}
    assert by_token[INFY] == {"tradable": True, "mode": "ltp", "instrument_token": INFY,
                              "last_price": 1573.7}  # fmt: skip
    assert by_token[SBIN]["mode"] == "quote" and by_token[SBIN]["volume_traded"] == 10
    assert by_token[NIFTY]["tradable"] is False and by_token[NIFTY]["ohlc"]["high"] == 24600.5
    reactor.callFromThread(ticker.unsubscribe, [INFY])
    assert wait_until(lambda: INFY not in fake_kite.subscriptions()[0])


def test_order_updates_reach_on_order_update(
    fake_kite: FakeKite, make_ticker: Callable[..., KiteTicker], kite: KiteConnect
) -> None:
    updates: list[dict[str, Any]] = []
    ticker = make_ticker()
    ticker.on_order_update = lambda ws, data: updates.append(data)
    start(ticker, [INFY], "quote")
    assert fake_kite.wait_for_subscription([INFY], 10)
    order_id = place_limit(kite, qty=4, tag="ws-1")
    fake_kite.fill(order_id, 1)
    fake_kite.fill(order_id)
    assert wait_until(lambda: len(updates) == 3)
    assert [u["status"] for u in updates] == ["OPEN", "UPDATE", "COMPLETE"]
    assert [u["filled_quantity"] for u in updates] == [0, 1, 4]
    assert updates[-1]["tag"] == "ws-1" and updates[-1]["order_id"] == order_id
    assert fake_kite.push_order_update({"order_id": "x", "status": "CANCELLED"}) == 1
    assert wait_until(lambda: len(updates) == 4) and updates[-1]["order_id"] == "x"
    errors: list[tuple[int, str]] = []
    ticker.on_error = lambda ws, code, reason: errors.append((code, reason))
    fake_kite.push_error("Too many subscriptions")
    assert wait_until(lambda: errors == [(0, "Too many subscriptions")])


def test_expired_token_drops_the_ticker_and_refuses_its_retries(
    fake_kite: FakeKite, make_ticker: Callable[..., KiteTicker]
) -> None:
    ticker = make_ticker()
    start(ticker, [INFY], "quote")
    assert fake_kite.wait_for_subscription([INFY], 10)
    before = len(fake_kite.ws_handshakes)
    fake_kite.expire_tokens(drop_websockets=True)
    assert wait_until(lambda: len(fake_kite.ws_handshakes) > before, 5)  # retries ~1 s later
    assert fake_kite.ws_handshakes[-1].accepted is False  # same old token in its URL
    assert fake_kite.connection_count == 0 and not ticker.is_connected()


def test_dropped_socket_reconnects_and_resubscribes_within_5s(
    fake_kite: FakeKite, make_ticker: Callable[..., KiteTicker]
) -> None:
    ticker = make_ticker()
    start(ticker, [INFY, SBIN], "full")
    assert fake_kite.wait_for_subscription([INFY, SBIN], 10, mode="full")
    took = []
    for _ in range(2):
        t0 = time.monotonic()
        assert fake_kite.drop_connections() == 1
        assert fake_kite.wait_for_subscription([INFY, SBIN], 5, mode="full")
        took.append(time.monotonic() - t0)
    assert max(took) < 5
    print(f"KiteTicker resubscribed after drops in {[round(t, 2) for t in took]} s")


def test_silent_feed_stops_heartbeats_and_kiteticker_does_not_notice(
    fake_kite: FakeKite, make_ticker: Callable[..., KiteTicker]
) -> None:
    from twisted.internet import reactor

    beats: list[float] = []
    ticker = make_ticker()
    ticker.on_message = lambda ws, payload, binary: beats.append(time.monotonic())
    start(ticker, [INFY], "ltp")
    assert fake_kite.wait_for_subscription([INFY], 10)
    assert wait_until(lambda: len(beats) >= 2, 3)  # 1-byte heartbeats, one a second
    fake_kite.go_silent()
    time.sleep(0.2)
    quiet_from = len(beats)
    assert fake_kite.push_ticks([{"instrument_token": INFY, "last_price": 1}]) == 0
    time.sleep(2.5)
    assert len(beats) == quiet_from and ticker.is_connected()  # it never notices by itself
    # what an adapter's watchdog can do: abort the link; KiteTicker reconnects + resubscribes
    handshakes = len(fake_kite.ws_handshakes)
    reactor.callFromThread(ticker.ws.dropConnection, abort=True)
    assert wait_until(lambda: len(fake_kite.ws_handshakes) > handshakes, 5)
    fake_kite.resume()
    assert fake_kite.wait_for_subscription([INFY], 5, mode="ltp")
    assert wait_until(lambda: len(beats) > quiet_from, 3)


def test_ticker_handshake_refuses_a_bad_token(
    fake_kite: FakeKite, make_ticker: Callable[..., KiteTicker]
) -> None:
    opened = threading.Event()
    ticker = make_ticker(token="bad-token")
    ticker.on_connect = lambda ws, response: opened.set()
    connect(ticker)
    assert wait_until(lambda: len(fake_kite.ws_handshakes) >= 1)
    assert fake_kite.ws_handshakes[0].accepted is False
    assert fake_kite.ws_handshakes[0].headers.get("X-Kite-Version") == "3"
    assert not opened.wait(0.5) and fake_kite.connection_count == 0
