"""The Data panel's "Download from broker…": the real dialog and panel offscreen, the real
KiteBroker (kiteconnect) against the fake Kite through a real BrokerHub on the app's qasync
loop, the real store in a temp workspace, secrets in the in-memory keychain."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QMessageBox

from app.gui.context import AppContext
from app.gui.download_dialog import DownloadDialog, DownloadRequest, parse_symbols
from app.gui.panels.data_panel import DataPanel
from brokers.hub import BrokerHub
from engine.domain.enums import Exchange
from engine.events import JobProgress
from engine.ist import IST
from engine.timeframes import Timeframe
from tests.app.test_data_download_cli import (
    HISTORY,
    INFY_TOKEN,
    add_kite_account,
    kite_opener,
    kite_span,
    paise,
)
from tests.fakes import kite_server
from tests.fakes import memory_keyring as fake_keyring
from tests.fakes.kite_http import historical_candles
from tests.fakes.kite_server import FakeKite

fake_kite = kite_server.fake_kite  # fixtures, assigned (not imported) for ruff's F811
memory_keyring = fake_keyring.memory_keyring

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=IST)
MINUTES = DownloadRequest(
    "zerodha", ("INFY",), Exchange.NSE, Timeframe.M1, date(2026, 1, 1), date(2026, 3, 4)
)


def run_until(
    loop: asyncio.AbstractEventLoop, done: Callable[[], bool], timeout: float = 60.0
) -> None:
    """Run the app's loop (and so Qt's) until `done()`; the panel's coroutines run meanwhile."""

    async def wait() -> None:
        deadline = loop.time() + timeout
        while not done():
            if loop.time() > deadline:
                raise AssertionError("timed out waiting")
            await asyncio.sleep(0.02)

    loop.run_until_complete(wait())


@pytest.fixture
def ctx(make_ctx, memory_keyring, fake_kite, workspace) -> AppContext:
    made: AppContext = make_ctx(NOW)
    made.brokers = BrokerHub(made.bus, kite_opener(workspace))
    add_kite_account(workspace, fake_kite)
    return made


@pytest.fixture
def panel(ctx, qtbot, aloop) -> Iterator[DataPanel]:
    made = DataPanel(ctx)
    qtbot.addWidget(made)
    made.resize(1100, 420)
    made.show()
    yield made
    if made.busy:
        made.cancel_job()
        run_until(aloop, lambda: not made.busy)
    if ctx.brokers is not None:
        aloop.run_until_complete(ctx.brokers.close())


def progress_seen(ctx: AppContext) -> list[JobProgress]:
    seen: list[JobProgress] = []
    ctx.bus.subscribe(JobProgress, seen.append)
    return seen


def test_the_dialog_lists_the_accounts_completes_symbols_and_refuses_bad_input(
    panel: DataPanel, aloop, fake_kite: FakeKite
):
    dialog = panel.open_download()
    assert isinstance(dialog, DownloadDialog)
    assert dialog.account_box.count() == 1 and dialog.account_box.currentData() == "zerodha"
    run_until(aloop, lambda: "instruments from" in dialog.list_note.text())
    assert "INFY" in dialog.symbol_model.stringList()
    assert dialog.from_edit.date() == QDate(2026, 2, 8) and dialog.to_edit.date() == QDate(
        2026, 3, 10
    )
    completer = dialog.symbols_edit.completer()
    dialog.symbols_edit.setText("SBIN, inf")
    assert completer.splitPath(dialog.symbols_edit.text()) == ["inf"]

    dialog.symbols_edit.setText("INFYY")
    dialog.try_accept()
    assert dialog.isVisible() and dialog.error.isVisible()
    assert "does not list INFYY (did you mean INFY?)" in dialog.error.text()
    dialog.symbols_edit.setText("INFY")
    dialog.from_edit.setDate(QDate(2026, 3, 5))
    dialog.to_edit.setDate(QDate(2026, 3, 1))
    dialog.try_accept()
    assert "--from 2026-03-05 is after --to 2026-03-01" in dialog.error.text()
    dialog.symbols_edit.setText(" ")
    dialog.try_accept()
    assert "at least one symbol" in dialog.error.text()
    assert fake_kite.requests_to(HISTORY) == []


def test_no_broker_account_says_where_to_add_one(make_ctx, memory_keyring, qtbot, aloop):
    ctx = make_ctx(NOW)
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    dialog = panel.open_download()
    assert dialog is not None
    assert not dialog.download_button.isEnabled()
    assert "Settings ▸ Brokers" in dialog.error.text()


def test_a_download_from_the_dialog_runs_as_a_job_with_progress_into_the_store(
    panel: DataPanel, ctx: AppContext, aloop, fake_kite: FakeKite
):
    seen = progress_seen(ctx)
    dialog = panel.open_download()
    assert dialog is not None
    run_until(aloop, lambda: "instruments from" in dialog.list_note.text())
    dumps = len(fake_kite.requests_to("GET /instruments/NSE"))
    dialog.symbols_edit.setText("infy")
    dialog.timeframe_box.setCurrentText("1m")
    dialog.from_edit.setDate(QDate(2026, 1, 1))
    dialog.to_edit.setDate(QDate(2026, 3, 4))
    dialog.download_button.click()
    assert panel.busy and panel.cancel_button.isVisible() and panel.progress.isVisible()
    assert not panel.download_button.isEnabled()
    run_until(aloop, lambda: not panel.busy)

    outcome = panel.last_download
    assert outcome is not None and outcome.failure is None and not outcome.cancelled
    assert [r.path for r in fake_kite.requests_to(HISTORY)] == [
        f"/instruments/historical/{INFY_TOKEN}/minute"
    ] * 2  # 60 days of minutes a request
    assert len(fake_kite.requests_to("GET /instruments/NSE")) == dumps  # the dialog's, kept
    rows = historical_candles(
        INFY_TOKEN, "minute", datetime(2026, 1, 1, tzinfo=IST),
        datetime(2026, 2, 28, tzinfo=IST), False,
    ) + historical_candles(
        INFY_TOKEN, "minute", datetime(2026, 2, 28, tzinfo=IST),
        datetime(2026, 3, 4, 23, 59, 59, tzinfo=IST), False,
    )  # fmt: skip
    assert ctx.store is not None
    series = ctx.store.read_bars("INFY", "1m", exchange="NSE")
    assert series.close.tolist() == [paise(r[4]) for r in rows]
    assert panel.status.text() == f"Downloaded {len(rows):,} bars: NSE:INFY"
    assert "NSE:INFY 1m:" in panel.status.toolTip()
    assert [m.symbol for m in panel.model.rows] == ["INFY"]  # the list shows it
    assert any(event.text == "NSE:INFY 1m, request 2 of 2" for event in seen)


def test_cancel_stops_after_the_request_in_hand_and_downloading_again_resumes(
    panel: DataPanel, ctx: AppContext, aloop, fake_kite: FakeKite
):
    fake_kite.delay_next(HISTORY, 1.0)
    panel.start_download(MINUTES)
    run_until(aloop, lambda: len(fake_kite.requests_to(HISTORY)) == 1)
    assert "request in hand" in panel.cancel_button.toolTip()
    assert panel.cancel_job()
    assert panel.status.text().startswith("Cancelling: stopping after the request in hand")
    run_until(aloop, lambda: not panel.busy)
    outcome = panel.last_download
    assert outcome is not None and outcome.cancelled
    assert len(fake_kite.requests_to(HISTORY)) == 1
    assert "download again to resume" in panel.status.text()
    assert ctx.store is not None
    first = ctx.store.read_bars("INFY", "1m", exchange="NSE")
    last_stored = first.timestamps()[-1].to_pydatetime()
    assert last_stored.date() < date(2026, 3, 2)

    panel.start_download(MINUTES)
    run_until(aloop, lambda: not panel.busy)
    again = fake_kite.requests_to(HISTORY)[1:]
    assert again and all(kite_span(r)[0] >= last_stored for r in again)
    series = ctx.store.read_bars("INFY", "1m", exchange="NSE")
    weekdays = sum(1 for d in range(63) if (date(2026, 1, 1) + timedelta(days=d)).weekday() < 5)
    assert len(series) == weekdays * 375
    assert panel.status.text().startswith("Downloaded ")


def test_an_expired_session_fails_the_job_with_what_to_do(
    panel: DataPanel, aloop, fake_kite: FakeKite, qtbot
):
    fake_kite.expire_tokens()
    finished: list[object] = []
    panel._done.finished.connect(lambda result, error: finished.append(error))
    panel.start_download(MINUTES)
    run_until(aloop, lambda: bool(finished))
    assert "log in again" in str(finished[0])
    box = panel.findChild(QMessageBox, "dataFailed")
    assert box is not None and "Downloading INFY 1m" in box.text()
    assert fake_kite.requests_to(HISTORY) == []


def test_a_broker_failure_mid_way_keeps_what_was_stored_and_says_what_to_do(
    panel: DataPanel, ctx: AppContext, aloop, fake_kite: FakeKite
):
    fake_kite.delay_next(HISTORY, 0.5)
    panel.start_download(MINUTES)
    run_until(aloop, lambda: len(fake_kite.requests_to(HISTORY)) == 1)
    fake_kite.fail_next(HISTORY, 503, times=5)
    run_until(aloop, lambda: not panel.busy)
    outcome = panel.last_download
    assert outcome is not None and outcome.failure is not None
    assert panel.status.text().startswith("Download stopped: history NSE:INFY 1m: ")
    box = panel.download_failed
    assert box is not None and "Check the internet connection" in box.informativeText()
    assert ctx.store is not None
    assert len(ctx.store.read_bars("INFY", "1m", exchange="NSE")) > 0  # the first chunk stays


def test_symbols_are_split_at_commas_only():
    assert parse_symbols("infy, NIFTY 50,,sbin, INFY") == ("INFY", "NIFTY 50", "SBIN")


def test_without_a_session_the_dialog_says_to_log_in_and_symbols_can_still_be_typed(
    panel: DataPanel, aloop, fake_kite: FakeKite
):
    fake_kite.expire_tokens()
    dialog = panel.open_download()
    assert dialog is not None
    run_until(aloop, lambda: dialog.load_task is None and "Type" in dialog.list_note.text())
    assert "Log in in File ▸ Settings ▸ Brokers" in dialog.list_note.text()
    dialog.symbols_edit.setText("WHATEVER")  # not checked against a list it could not load
    dialog.from_edit.setDate(QDate(2026, 3, 2))
    assert dialog.check() == DownloadRequest(
        "zerodha", ("WHATEVER",), Exchange.NSE, Timeframe.M1, date(2026, 3, 2), date(2026, 3, 10)
    )


def test_a_window_without_broker_connections_refuses_with_a_message(
    panel: DataPanel, ctx: AppContext, fake_kite: FakeKite
):
    ctx.brokers = None
    panel.start_download(MINUTES)
    assert not panel.busy
    box = panel.download_failed
    assert box is not None and "artha data download" in box.text()
    assert fake_kite.requests_to(HISTORY) == []
