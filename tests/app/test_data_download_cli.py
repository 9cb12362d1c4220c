"""`artha data download`: the real command, the real KiteBroker (kiteconnect) against the fake
Kite on 127.0.0.1, the real store in a temp workspace, secrets in the in-memory keychain.

The command runs through `app.cli.main` in this process (the keychain stand-in lives here),
brokers made by the real registry. Ctrl-C is a real SIGINT to this process.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from brokers.accounts import BrokerAccount, BrokerAccounts, BrokerKind
from brokers.credentials import CredentialStore, make_account_id
from brokers.registry import open_broker
from engine.broker.protocol import Broker
from engine.calendar import get_calendar
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore
from engine.ist import IST
from engine.workspace import Workspace
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_http import historical_candles
from tests.fakes.kite_server import FakeKite

fake_kite = kite_server.fake_kite  # fixtures, assigned (not imported) for ruff's F811
memory_keyring = fake_keyring.memory_keyring

HISTORY = "GET /instruments/historical"
INFY_TOKEN = 408065
SBIN_TOKEN = 779521
ACCOUNT = "zerodha"


def add_kite_account(ws: Workspace, fake: FakeKite, account_id: str = ACCOUNT) -> BrokerAccount:
    """A Zerodha account on the fake: settings in brokers.json, key, secret and a day's
    session token in the keychain (as `artha broker add` and a login leave them)."""
    book = BrokerAccounts.load(ws.settings_dir)
    account = BrokerAccount(
        account_id=account_id,
        kind=BrokerKind.ZERODHA,
        api_root=fake.root,
        stream_root=fake.ws_root,
    )
    book.add(account)
    book.save()
    credentials = CredentialStore()
    cid = make_account_id("zerodha", account_id)
    credentials.save(cid, "api_key", fake.api_key)
    credentials.save(cid, "api_secret", fake.api_secret)
    credentials.save_token(cid, fake.new_access_token(), datetime.now(UTC) + timedelta(hours=8))
    return account


def kite_opener(ws: Workspace) -> Callable[[BrokerAccount], Broker]:
    """The station's opener (the registry's KiteBroker on the account's api_root)."""
    return lambda account: open_broker(account, credentials=CredentialStore(), workspace=ws)


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def download(capsys) -> Callable[..., Ran]:
    """`artha data download WORDS...` as the console script runs it (in this process, where
    the keychain stand-in lives)."""

    def run(*words: str) -> Ran:
        code = main(["data", "download", *words])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture
def kite_ws(workspace, memory_keyring, fake_kite) -> Iterator[tuple[Workspace, FakeKite]]:
    add_kite_account(workspace, fake_kite)
    yield workspace, fake_kite


def stored(ws: Workspace, symbol: str, timeframe: str) -> BarSeries:
    with MarketStore.open(ws.database_path, read_only=True) as store:
        return store.read_bars(symbol, timeframe, exchange="NSE")


def kite_span(request: kite_server.RecordedRequest) -> tuple[datetime, datetime]:
    def when(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)

    return when(request.query["from"][0]), when(request.query["to"][0])


def paise(value: object) -> int:
    return int(Decimal(str(value)) * 100)


def expected_minutes(token: int, first: date, last: date) -> list[list[object]]:
    """What Kite would send for [first, last], asked for in one go (the fake is deterministic)."""
    rows: list[list[object]] = []
    day = datetime(first.year, first.month, first.day, tzinfo=IST)
    end = datetime(last.year, last.month, last.day, 23, 59, 59, tzinfo=IST)
    while day <= end:
        hi = min(day + timedelta(days=50), end)
        rows += historical_candles(token, "minute", day, hi, False)
        day = hi + timedelta(seconds=1)
    return rows


def same_series(a: BarSeries, b: BarSeries) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("ts", "open", "high", "low", "close", "volume")
    )


# -- the straight run ---------------------------------------------------------------------------
def test_months_of_minutes_come_in_60_day_chunks_into_the_store_with_exact_prices(
    kite_ws, download
):
    ws, fake = kite_ws
    ran = download("infy", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m")
    assert ran.code == 0, ran.err
    asked = fake.requests_to(HISTORY)
    assert [r.path for r in asked] == [f"/instruments/historical/{INFY_TOKEN}/minute"] * 2
    spans = [kite_span(r) for r in asked]
    assert all(hi - lo <= timedelta(days=60) for lo, hi in spans)  # Kite's minute limit
    assert spans[0][0] == datetime(2026, 1, 1, tzinfo=IST)
    assert spans[1][0] == spans[0][1] + timedelta(seconds=1)  # no hole between chunks
    assert spans[1][1] == datetime(2026, 3, 6, 23, 59, 59, tzinfo=IST)
    series = stored(ws, "INFY", "1m")
    rows = expected_minutes(INFY_TOKEN, date(2026, 1, 1), date(2026, 3, 6))
    weekdays = sum(1 for d in range(65) if (date(2026, 1, 1) + timedelta(days=d)).weekday() < 5)
    assert len(series) == len(rows) == weekdays * 375
    assert series.open.tolist() == [paise(r[1]) for r in rows]
    assert series.high.tolist() == [paise(r[2]) for r in rows]
    assert series.low.tolist() == [paise(r[3]) for r in rows]
    assert series.close.tolist() == [paise(r[4]) for r in rows]
    assert series.volume.tolist() == [r[5] for r in rows]
    assert [t.isoformat() for t in series.timestamps()[:2]] == [
        "2026-01-01T09:15:00+05:30",
        "2026-01-01T09:16:00+05:30",
    ]
    assert f"NSE:INFY 1m: {len(rows)} bars from 2 request(s)" in ran.out
    assert "request 2 of 2" in ran.out  # progress, a line a request off a terminal


def test_daily_candles_are_stamped_at_the_session_open(kite_ws, download):
    ws, fake = kite_ws
    ran = download("INFY", "NSE:SBIN", "--from", "2025-01-01", "--to", "2026-03-31",
                   "--timeframe", "1d", "--json", "-")  # fmt: skip
    assert ran.code == 0, ran.err
    report = json.loads(ran.out)  # with --json -, the JSON alone on stdout
    assert [(i["instrument"], i["requests"]) for i in report["instruments"]] == [
        ("NSE:INFY", 1),
        ("NSE:SBIN", 1),
    ]
    assert report["failure"] is None and report["timeframe"] == "1d"
    assert "NSE:SBIN 1d:" in ran.err
    assert len(fake.requests_to(HISTORY)) == 2  # 2,000 days a request: one per symbol
    # the instruments dump is asked for once for both symbols
    assert [r.path for r in fake.requests if r.path.startswith("/instruments/N")] == [
        "/instruments/NSE"
    ]
    series = stored(ws, "INFY", "1d")
    stamps = [t.to_pydatetime() for t in series.timestamps()]
    calendar = get_calendar("NSE")
    assert stamps == [calendar.open_at(t.date()) for t in stamps]
    assert sum((t.hour, t.minute) == (9, 15) for t in stamps) == len(stamps) - 1
    assert datetime(2025, 10, 21, 13, 45, tzinfo=IST) in stamps  # Diwali's muhurat session
    rows = historical_candles(
        INFY_TOKEN,
        "day",
        datetime(2025, 1, 1, tzinfo=IST),
        datetime(2026, 3, 31, 23, 59, 59, tzinfo=IST),
        False,
    )
    assert [t.date().isoformat() for t in stamps] == [str(r[0])[:10] for r in rows]
    assert series.close.tolist() == [paise(r[4]) for r in rows]


# -- stopping and resuming ------------------------------------------------------------------------
def when_asked(fake: FakeKite, count: int, then: Callable[[], None]) -> threading.Thread:
    """Call `then` (on a thread) once the fake has seen `count` history requests."""

    def watch() -> None:
        deadline = time.monotonic() + 20
        while len(fake.requests_to(HISTORY)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        then()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def straight_run(tmp_path: Path, fake: FakeKite, download: Callable[..., Ran]) -> BarSeries:
    """The same download in one go, into a fresh workspace."""
    other = Workspace(tmp_path / "straight").ensure()
    add_kite_account(other, fake)
    ran = download("INFY", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m",
                   "--workspace", str(other.root))  # fmt: skip
    assert ran.code == 0, ran.err
    return stored(other, "INFY", "1m")


def test_ctrl_c_stops_after_the_request_in_hand_and_a_rerun_resumes(kite_ws, download, tmp_path):
    ws, fake = kite_ws
    fake.delay_next(HISTORY, 1.0)  # Ctrl-C comes while the first chunk is on its way
    watcher = when_asked(fake, 1, lambda: os.kill(os.getpid(), signal.SIGINT))
    ran = download("INFY", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m")
    watcher.join()
    assert ran.code == 130
    assert "Stopping after the request in hand" in ran.err
    assert "cancelled; run it again to continue" in ran.out
    assert "run the same download again to resume" in ran.out
    assert len(fake.requests_to(HISTORY)) == 1
    first_run = stored(ws, "INFY", "1m")
    assert len(first_run) > 0
    last_stored = first_run.timestamps()[-1].to_pydatetime()
    assert last_stored.date() < date(2026, 3, 2)  # the first chunk only

    seen = len(fake.requests_to(HISTORY))
    again = download("INFY", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m")
    assert again.code == 0, again.err
    resumed = fake.requests_to(HISTORY)[seen:]
    assert resumed and all(kite_span(r)[0] >= last_stored for r in resumed)
    assert "resumed after" in again.out
    assert same_series(stored(ws, "INFY", "1m"), straight_run(tmp_path, fake, download))


def test_a_broker_failure_mid_way_keeps_what_was_stored_and_a_rerun_resumes(
    kite_ws, download, tmp_path
):
    ws, fake = kite_ws
    fake.delay_next(HISTORY, 0.5)
    when_asked(fake, 1, lambda: fake.fail_next(HISTORY, 503, times=20))  # the fake "dies"
    ran = download("INFY", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m")
    assert ran.code == 1
    assert "artha data download: error: zerodha:" in ran.err
    assert "Service unavailable" in ran.err  # the broker's words
    assert "Check the internet connection" in ran.err  # and its advice
    assert "Traceback" not in ran.err
    assert "run the same download again to resume" in ran.out
    last_stored = stored(ws, "INFY", "1m").timestamps()[-1].to_pydatetime()
    assert last_stored.date() < date(2026, 3, 2)

    fake.clear_faults()
    seen = len(fake.requests_to(HISTORY))
    again = download("INFY", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m")
    assert again.code == 0, again.err
    assert all(kite_span(r)[0] >= last_stored for r in fake.requests_to(HISTORY)[seen:])
    assert same_series(stored(ws, "INFY", "1m"), straight_run(tmp_path, fake, download))


def test_asking_for_an_earlier_start_fetches_the_part_before_the_stored_bars(kite_ws, download):
    ws, fake = kite_ws
    ran = download("INFY", "--from", "2026-03-02", "--to", "2026-03-31", "--timeframe", "15m")
    assert ran.code == 0, ran.err
    seen = len(fake.requests_to(HISTORY))
    ran = download("INFY", "--from", "2026-02-02", "--to", "2026-03-31", "--timeframe", "15m")
    assert ran.code == 0, ran.err
    # the part before the stored bars, then a resume after the last one: not all again
    assert [kite_span(r) for r in fake.requests_to(HISTORY)[seen:]] == [
        (datetime(2026, 2, 2, tzinfo=IST), datetime(2026, 3, 2, 9, 15, tzinfo=IST)),
        (datetime(2026, 3, 31, 15, 15, tzinfo=IST), datetime(2026, 3, 31, 23, 59, 59, tzinfo=IST)),
    ]
    series = stored(ws, "INFY", "15m")
    assert series.timestamps()[0].date() == date(2026, 2, 2)
    before = len(historical_candles(
        INFY_TOKEN, "15minute", datetime(2026, 2, 2, tzinfo=IST),
        datetime(2026, 3, 1, 23, 59, 59, tzinfo=IST), False,
    ))  # fmt: skip
    assert f"NSE:INFY 15m: {before} bars from 2 request(s)" in ran.out
    whole = historical_candles(
        INFY_TOKEN,
        "15minute",
        datetime(2026, 2, 2, tzinfo=IST),
        datetime(2026, 3, 31, 23, 59, 59, tzinfo=IST),
        False,
    )
    assert series.close.tolist() == [paise(r[4]) for r in whole]


def test_a_cancelled_fill_before_the_stored_bars_leaves_no_hole_after_a_rerun(
    kite_ws, download, tmp_path
):
    ws, fake = kite_ws
    later = download("INFY", "--from", "2026-03-02", "--to", "2026-03-06", "--timeframe", "1m")
    assert later.code == 0, later.err
    seen = len(fake.requests_to(HISTORY))
    fake.delay_next(HISTORY, 1.0)
    watcher = when_asked(fake, seen + 1, lambda: os.kill(os.getpid(), signal.SIGINT))
    ran = download("INFY", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m")
    watcher.join()
    assert ran.code == 130
    # the part before the stored bars is fetched newest first: what is stored stays one run
    assert kite_span(fake.requests_to(HISTORY)[seen]) == (
        datetime(2026, 1, 1, 9, 15, 1, tzinfo=IST),
        datetime(2026, 3, 2, 9, 15, tzinfo=IST),
    )
    assert len(fake.requests_to(HISTORY)) == seen + 1
    again = download("INFY", "--from", "2026-01-01", "--to", "2026-03-06", "--timeframe", "1m")
    assert again.code == 0, again.err
    assert same_series(stored(ws, "INFY", "1m"), straight_run(tmp_path, fake, download))


def test_a_rate_limit_refusal_waits_and_asks_again(kite_ws, download):
    ws, fake = kite_ws
    fake.fail_next(HISTORY, 429)  # Kite: 3 history requests a second
    ran = download("INFY", "--from", "2026-01-01", "--to", "2026-03-31", "--timeframe", "1d")
    assert ran.code == 0, ran.err
    assert [r.status for r in fake.requests_to(HISTORY)] == [429, 200]
    assert len(stored(ws, "INFY", "1d")) > 0


# -- bad input and broker refusals ----------------------------------------------------------------
def test_an_unknown_symbol_is_named_with_the_nearest_ones_and_nothing_is_fetched(kite_ws, download):
    ws, fake = kite_ws
    ran = download("INFY", "INFYY", "--from", "2026-01-01", "--to", "2026-01-31",
                   "--timeframe", "5m")  # fmt: skip
    assert ran.code == 2
    assert "NSE:INFYY" in ran.err and "did you mean INFY" in ran.err
    assert "Traceback" not in ran.err
    assert fake.requests_to(HISTORY) == []
    with MarketStore.open(ws.database_path, read_only=True) as store:
        assert store.list_series() == []


def test_an_expired_session_says_to_log_in_again(kite_ws, download):
    _, fake = kite_ws
    fake.expire_tokens()
    ran = download("INFY", "--from", "2026-01-01", "--to", "2026-01-31", "--timeframe", "1d")
    assert ran.code == 1
    assert "artha broker login zerodha" in ran.err
    assert "Traceback" not in ran.err


def test_no_account_or_only_a_paper_one_is_bad_input(workspace, memory_keyring, capsys):
    words = ["data", "download", "INFY", "--from", "2026-01-01", "--to", "2026-01-31",
             "--timeframe", "1d"]  # fmt: skip
    assert main(words) == 2
    err = capsys.readouterr().err
    assert "no Zerodha or Upstox account" in err and "artha broker add zerodha" in err
    book = BrokerAccounts.load(workspace.settings_dir)
    book.add(BrokerAccount(account_id="paper", kind=BrokerKind.PAPER))
    book.save()
    assert main(words) == 2
    assert "no Zerodha or Upstox account" in capsys.readouterr().err
    assert main([*words, "--account", "paper"]) == 2
    assert "paper account" in capsys.readouterr().err
    assert main([*words, "--account", "kite"]) == 2
    assert "no broker account 'kite'" in capsys.readouterr().err


def test_a_json_target_that_cannot_be_written_is_refused_before_anything_is_fetched(
    kite_ws, download, tmp_path
):
    _, fake = kite_ws
    ran = download("INFY", "--from", "2026-01-01", "--to", "2026-01-31", "--timeframe", "1d",
                   "--json", str(tmp_path / "nowhere" / "out.json"))  # fmt: skip
    assert ran.code == 2
    assert "argument --json: folder" in ran.err
    assert fake.requests_to(HISTORY) == []


def test_dates_the_wrong_way_round_or_in_the_future_are_refused(workspace, capsys):
    base = ["data", "download", "INFY", "--timeframe", "1m"]
    assert main([*base, "--from", "2026-03-01", "--to", "2026-02-01"]) == 2
    assert "--from 2026-03-01 is after --to 2026-02-01" in capsys.readouterr().err
    future = (datetime.now(IST) + timedelta(days=3)).date().isoformat()
    assert main([*base, "--from", future, "--to", future]) == 2
    assert "is in the future" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--from", "2026-31-01", "--to", "2026-02-01"])
    assert exit_.value.code == 2
    assert "dates look like 2026-01-31" in capsys.readouterr().err
