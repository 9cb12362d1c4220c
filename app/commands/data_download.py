"""`artha data download`: a broker's candles into the workspace's store, and the steps the Data
panel's download dialog shares with it.

The chunking, the resume and the stamping of daily candles are the engine's
(`engine.broker.history.download_history`); what is here is what a person drives: which
account (from `settings/brokers.json`), which instruments (resolved through the broker's own
instruments dump, fetched once per run and exchange), which span, what to print, and how a
Ctrl-C stops (after the request in hand: what was stored stays, and a rerun resumes after it).
Bad input (no account, an unknown symbol, dates the wrong way round) ends with exit code 2 and
a sentence naming it; a broker failure ends with exit code 1, the broker's words and what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import json
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TextIO

from app.commands.output import (
    OutputRefused,
    check_target,
    emit_json,
    fail,
    record_quietly,
    store_files,
)
from app.commands.workspace_store import CommandError, workspace_store
from brokers.accounts import AccountError, BrokerAccount, BrokerAccounts, BrokerKind
from brokers.credentials import CredentialError, CredentialStore
from brokers.hub import BrokerHub, Opener
from engine.broker.errors import BrokerError, RateLimited
from engine.broker.history import (
    Chunk,
    DownloadReport,
    HistoryStore,
    MarketStoreTarget,
    download_history,
)
from engine.broker.protocol import Broker
from engine.bus import EventBus
from engine.calendar import get_calendar
from engine.data.store import StoreError
from engine.domain.enums import Exchange
from engine.domain.instrument import Instrument
from engine.ist import IST, ist_datetime
from engine.timeframes import Timeframe
from engine.workspace import Workspace

COMMAND = "data download"
RATE_LIMIT_WAITS = (1.0, 2.0, 4.0)  # seconds before each retry of a refused (429) request
EXIT_BROKER = 1
EXIT_INTERRUPTED = 130


class DownloadInputError(ValueError):
    """Input a download cannot start with (an unknown symbol, no account, bad dates): the
    message names it and says what to do."""


# -- what to download ---------------------------------------------------------------------------
def download_accounts(book: BrokerAccounts) -> list[BrokerAccount]:
    """The accounts history can come from: a paper account serves the store's own bars."""
    return [a for a in book.accounts.values() if a.kind is not BrokerKind.PAPER]


def pick_account(book: BrokerAccounts, account_id: str | None) -> BrokerAccount:
    """`account_id`'s account, or the workspace's only broker account when none is named."""
    if account_id:
        account = book.get(account_id)  # AccountError (a ValueError) names the known ones
        if account.kind is BrokerKind.PAPER:
            raise DownloadInputError(
                f"{account.account_id} is a paper account: it trades on the store's own bars "
                "and has none to download; pick a Zerodha or Upstox account with --account"
            )
        return account
    usable = download_accounts(book)
    if not usable:
        raise DownloadInputError(
            f"no Zerodha or Upstox account in {book.path} to download from; add one with "
            "`artha broker add zerodha --api-key KEY` (or Settings ▸ Brokers), then "
            "`artha broker login ID`"
        )
    if len(usable) > 1:
        names = ", ".join(a.account_id for a in usable)
        raise DownloadInputError(f"several broker accounts ({names}): pick one with --account")
    return usable[0]


def download_span(start: date, end: date, now: datetime) -> tuple[datetime, datetime]:
    """[start 00:00, end 23:59:59] IST as aware datetimes, the end cut at `now` (a broker has
    nothing later); DownloadInputError for a span that is empty or in the future."""
    today = now.astimezone(IST).date()
    if end < start:
        raise DownloadInputError(
            f"--from {start.isoformat()} is after --to {end.isoformat()}; give the earlier day "
            "first"
        )
    if start > today:
        raise DownloadInputError(
            f"--from {start.isoformat()} is in the future (today is {today.isoformat()} in IST)"
        )
    lo = datetime.combine(start, time(0, 0), IST)
    hi = datetime.combine(end, time(23, 59, 59), IST)
    return lo, min(hi, now.astimezone(IST).replace(microsecond=0))


def check_timeframe(broker: Broker, timeframe: Timeframe) -> timedelta:
    """The longest span one request may ask for; DownloadInputError when the broker has no
    candles of this size."""
    served = []
    for candidate in Timeframe:
        with contextlib.suppress(KeyError, ValueError):
            broker.max_history_span(candidate)
            served.append(candidate.value)
    try:
        return broker.max_history_span(timeframe)
    except (KeyError, ValueError):
        raise DownloadInputError(
            f"--timeframe {timeframe.value}: {broker.name} serves {', '.join(served)} candles"
        ) from None


def split_symbol(text: str, exchange: Exchange) -> tuple[Exchange, str]:
    """ "INFY" on `exchange`, or "BSE:INFY" on its own exchange (any case)."""
    words = text.strip()
    head, sep, tail = words.partition(":")
    if sep:
        try:
            return Exchange(head.strip().upper()), tail.strip().upper()
        except ValueError:
            known = ", ".join(e.value for e in Exchange)
            raise DownloadInputError(
                f"symbol {text!r}: {head!r} is not an exchange ({known})"
            ) from None
    return exchange, words.upper()


@dataclass
class InstrumentBook:
    """The broker's instruments dump, fetched once per exchange per run (tens of thousands of
    rows: asked for again only by a new run, as Kite regenerates it daily)."""

    broker: Broker
    _by_exchange: dict[Exchange, dict[str, Instrument]] = field(default_factory=dict)

    async def listing(self, exchange: Exchange) -> dict[str, Instrument]:
        found = self._by_exchange.get(exchange)
        if found is None:
            rows = await self.broker.instruments(exchange)
            found = {i.symbol.upper(): i for i in rows if i.exchange is exchange}
            self._by_exchange[exchange] = found
        return found

    async def resolve(self, symbols: Sequence[str], exchange: Exchange) -> list[Instrument]:
        """The instruments named, in order (each once); DownloadInputError naming every
        unknown one, with the broker's nearest names."""
        out: dict[str, Instrument] = {}
        unknown: list[str] = []
        for text in symbols:
            if not text.strip():
                continue
            where, symbol = split_symbol(text, exchange)
            listing = await self.listing(where)
            instrument = listing.get(symbol)
            if instrument is None:
                near = difflib.get_close_matches(symbol, list(listing), n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(near)}?)" if near else ""
                unknown.append(f"{where.value}:{symbol}{hint}")
            else:
                out.setdefault(instrument.key, instrument)
        if unknown:
            name = self.broker.name
            raise DownloadInputError(
                f"{name} does not list {'; '.join(unknown)} in its instruments today; check the "
                "spelling (the exchange's trading symbol, e.g. INFY, or BSE:INFY)"
            )
        if not out:
            raise DownloadInputError("no symbol given: name at least one, e.g. INFY")
        return list(out.values())


# -- the download -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DownloadStep:
    """Where a download stands: instrument `index` (0-based) of `count`, request `done` of
    `total` for it, and what is being asked for."""

    index: int
    count: int
    done: int
    total: int
    text: str

    @property
    def fraction(self) -> float:
        part = self.done / self.total if self.total else 0.0
        return (self.index + part) / self.count if self.count else 1.0


@dataclass
class DownloadOutcome:
    """What a run did, instrument by instrument."""

    reports: list[DownloadReport] = field(default_factory=list)
    not_tried: list[str] = field(default_factory=list)  # instrument keys
    failure: BrokerError | None = None
    failed_on: str = ""  # the instrument key the failure came on
    cancelled: bool = False

    @property
    def bars_written(self) -> int:
        return sum(r.bars_written for r in self.reports)

    def lines(self) -> list[str]:
        """The result for people, one line per instrument, then how it ended."""
        return [r.summary() for r in self.reports] + self.ending()

    def ending(self) -> list[str]:
        """What stopped the run and what to do, if it did not finish."""
        out = []
        if self.failure is not None:
            out.append(f"{self.failed_on}: not finished: {self.failure.message}")
        if self.not_tried:
            out.append(f"not tried: {', '.join(self.not_tried)}")
        if self.failure is not None or self.cancelled:
            out.append(
                "What was stored stays (each request is stored whole); run the same download "
                "again to resume after it."
            )
        return out


def _missing_before(
    instrument: Instrument, start: datetime, first: datetime, end: datetime
) -> bool:
    """Whether the span asked for begins before the stored bars: the first stored bar is
    later than the open of the first session from `start` on (the part before it is then
    fetched first; the engine resumes after the last stored bar, which alone would skip it)."""
    if not start < first <= end:
        return False
    calendar = get_calendar(instrument.exchange.cash_exchange.value)
    days = calendar.sessions(start.astimezone(IST).date(), first.astimezone(IST).date())
    opens = [session.open for session in days if session.open >= start]
    return bool(opens) and first > opens[0]


def chunks_back(start: datetime, end: datetime, span: timedelta) -> list[Chunk]:
    """[start, end] in chunks of at most `span`, newest first, the first one ending at `end`."""
    chunks: list[Chunk] = []
    hi = end
    while hi >= start:
        lo = max(hi - span + timedelta(seconds=1), start)
        chunks.append(Chunk(lo, hi))
        hi = lo - timedelta(seconds=1)
    return chunks


class RangeStore(HistoryStore, Protocol):
    """A download target that also says where its stored bars begin."""

    def first_bar(self, instrument: Instrument, timeframe: Timeframe) -> datetime | None: ...


class StoreTarget(MarketStoreTarget):
    """The workspace's store as a download target, with its first stored bar."""

    def first_bar(self, instrument: Instrument, timeframe: Timeframe) -> datetime | None:
        for info in self.store.list_series():
            if (info.exchange, info.symbol, info.timeframe) == (
                instrument.exchange.value,
                instrument.symbol,
                timeframe.value,
            ):
                return ist_datetime(info.first_ts)
        return None


async def _with_retries(fetch: Callable[[], Awaitable[DownloadReport]]) -> DownloadReport:
    """Run one download; a rate-limit refusal waits and runs it again (it resumes after what
    the refused run stored, so nothing is asked twice)."""
    for wait in (*RATE_LIMIT_WAITS, None):
        try:
            return await fetch()
        except RateLimited:
            if wait is None:
                raise
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def _fill_before(
    broker: Broker,
    target: RangeStore,
    instrument: Instrument,
    timeframe: Timeframe,
    start: datetime,
    first: datetime,
    step: Callable[[int, int, str], None],
    cancelled: Callable[[], bool],
) -> DownloadReport:
    """[start, first] when the store holds bars from `first` on only: newest chunk first, so
    what is stored stays one run up to the old bars and a rerun after a cancel fills the rest
    (the engine resumes after the last stored bar, which alone would skip this part)."""
    chunks = chunks_back(start, first, broker.max_history_span(timeframe))
    asked = written = 0
    for n, chunk in enumerate(chunks):
        if cancelled():
            return DownloadReport(instrument.key, timeframe, asked, written, None, cancelled=True)
        step(n, len(chunks), f"{instrument.key} {chunk.start.astimezone(IST):%Y-%m-%d}")
        report = await _with_retries(
            partial(download_history, broker, target, instrument, timeframe, chunk.start, chunk.end)
        )
        asked += report.chunks
        written += report.bars_written
    return DownloadReport(instrument.key, timeframe, asked, written, None)


async def download_instruments(
    broker: Broker,
    target: RangeStore,
    instruments: Sequence[Instrument],
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
    *,
    progress: Callable[[DownloadStep], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_report: Callable[[DownloadReport], None] | None = None,
) -> DownloadOutcome:
    """Each instrument in turn into `target`; a broker failure stops the run there (what was
    stored stays, the rest is named as not tried), a cancel stops after the request in hand.
    An instrument's report counts the requests and bars of both parts when the part before
    the stored bars was fetched too (`_fill_before`)."""
    outcome = DownloadOutcome()
    count = len(instruments)
    stop = cancelled or (lambda: False)
    for index, instrument in enumerate(instruments):
        if stop():
            outcome.cancelled = True
            outcome.not_tried = [i.key for i in instruments[index:]]
            break

        def step(done: int, total: int, text: str, index: int = index) -> None:
            if progress is not None:
                progress(DownloadStep(index, count, done, total, text))

        try:
            head: DownloadReport | None = None
            first = await asyncio.to_thread(target.first_bar, instrument, timeframe)
            if first is not None and _missing_before(instrument, start, first, end):
                head = await _fill_before(
                    broker, target, instrument, timeframe, start, first, step, stop
                )
            if head is not None and head.cancelled:
                report = head
            else:
                report = await _with_retries(
                    partial(
                        download_history,
                        broker,
                        target,
                        instrument,
                        timeframe,
                        start,
                        end,
                        progress=step,
                        cancelled=stop,
                    )
                )
                if head is not None:
                    report = replace(
                        report,
                        chunks=head.chunks + report.chunks,
                        bars_written=head.bars_written + report.bars_written,
                    )
        except BrokerError as error:
            outcome.failure = error
            outcome.failed_on = instrument.key
            outcome.not_tried = [i.key for i in instruments[index + 1 :]]
            break
        outcome.reports.append(report)
        if on_report is not None:
            on_report(report)
        if report.cancelled:
            outcome.cancelled = True
            outcome.not_tried = [i.key for i in instruments[index + 1 :]]
            break
    return outcome


# -- the command --------------------------------------------------------------------------------
def default_opener(ws: Workspace, credentials: CredentialStore) -> Opener:
    """The app's broker for an account (`brokers.registry`, imported when first needed)."""

    def open_account(account: BrokerAccount) -> Broker:
        from brokers.registry import open_broker

        return open_broker(account, credentials=credentials, workspace=ws)

    return open_account


def broker_failure(account: BrokerAccount, error: BrokerError) -> str:
    """A broker's failure in a sentence for the terminal: its words, then what to do."""
    advice = error.advice
    if error.needs_login:
        advice = f"Log in again: artha broker login {account.account_id}"
    return f"{account.account_id}: {error.message}. {advice}".replace("..", ".")


class _Stop:
    """Ctrl-C while downloading: the first asks to stop after the request in hand, a second
    stops at once (the request in hand is then stored whole or not at all)."""

    def __init__(self, out: TextIO) -> None:
        self.requested = False
        self.out = out

    def __call__(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        with contextlib.suppress(OSError, ValueError):
            print(
                "\nStopping after the request in hand (Ctrl-C again to stop at once)…",
                file=self.out,
                flush=True,
            )

    def cancelled(self) -> bool:
        return self.requested


@contextlib.contextmanager
def _sigint(handler: _Stop) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Printer:
    """Progress for the terminal: one rewritten bar on a tty, a line per request otherwise."""

    def __init__(self, out: TextIO, timeframe: Timeframe) -> None:
        self.out = out
        self.tty = out.isatty()
        self.timeframe = timeframe
        self.open_line = False

    def __call__(self, step: DownloadStep) -> None:
        if step.done >= step.total:
            return  # the summary line says it
        where = f"[{step.index + 1}/{step.count}] " if step.count > 1 else ""
        key, _, day = step.text.partition(" ")
        since = f" from {day}" if day else ""
        text = (
            f"{where}{key} {self.timeframe.value}{since}: request {step.done + 1} of {step.total}"
        )
        if self.tty:
            filled = int(step.fraction * 24)
            bar = "#" * filled + "-" * (24 - filled)
            print(f"\r[{bar}] {text}\033[K", end="", file=self.out, flush=True)
            self.open_line = True
        else:
            print(text, file=self.out, flush=True)

    def end_line(self) -> None:
        if self.open_line:
            print("\r\033[K", end="", file=self.out, flush=True)
            self.open_line = False

    def report(self, line: str) -> None:
        self.end_line()
        print(line, file=self.out, flush=True)


def outcome_json(
    account: BrokerAccount,
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
    outcome: DownloadOutcome,
) -> dict[str, Any]:
    """What `--json` writes: the run and each instrument's result, for scripts."""
    failure = outcome.failure
    return {
        "account": account.account_id,
        "broker": account.kind.value,
        "timeframe": timeframe.value,
        "from": start.astimezone(IST).isoformat(),
        "to": end.astimezone(IST).isoformat(),
        "instruments": [
            {
                "instrument": r.symbol,
                "requests": r.chunks,
                "bars_written": r.bars_written,
                "resumed_from": r.resumed_from.astimezone(IST).isoformat()
                if r.resumed_from
                else None,
                "cancelled": r.cancelled,
            }
            for r in outcome.reports
        ],
        "not_tried": outcome.not_tried,
        "cancelled": outcome.cancelled,
        "failure": None
        if failure is None
        else {
            "instrument": outcome.failed_on,
            "kind": failure.kind.value,
            "message": failure.message,
            "advice": failure.advice,
        },
    }


def run_download(args: argparse.Namespace, opener: Opener | None = None) -> int:
    """`artha data download`; `opener` makes the account's broker (default: the registry)."""
    json_target: str | None = getattr(args, "json", None)
    try:
        timeframe = Timeframe(args.timeframe)
        exchange = Exchange(args.exchange)
        start, end = download_span(args.start, args.end, datetime.now(UTC))
        ws = Workspace.resolve(getattr(args, "workspace", None)).ensure()
        account = pick_account(BrokerAccounts.load(ws.settings_dir), args.account)
        if json_target is not None and json_target != "-":
            _check_json_target(Path(json_target), ws)
    except (DownloadInputError, AccountError, OutputRefused) as exc:
        return fail(COMMAND, str(exc))
    credentials = CredentialStore()
    hub = BrokerHub(EventBus(), opener or default_opener(ws, credentials))
    stop = _Stop(sys.stderr)
    # with --json - the JSON alone goes to standard output; what people read, to stderr
    printer = _Printer(sys.stderr if json_target == "-" else sys.stdout, timeframe)

    async def download(target: RangeStore) -> tuple[list[Instrument], DownloadOutcome]:
        try:
            try:
                broker = hub.broker(account)
            except ValueError as exc:  # the registry cannot make this account's broker
                raise DownloadInputError(f"{account.account_id}: {exc}") from None
            check_timeframe(broker, timeframe)
            await hub.connect(account)
            instruments = await InstrumentBook(broker).resolve(args.symbols, exchange)
            span = f"{start:%Y-%m-%d} to {end.astimezone(IST):%Y-%m-%d}"
            names = ", ".join(i.key for i in instruments)
            printer.report(f"Downloading {timeframe.value} candles of {names}, {span}, "
                           f"from {account.title}…")  # fmt: skip
            outcome = await download_instruments(
                broker, target, instruments, timeframe, start, end,
                progress=printer, cancelled=stop.cancelled,
                on_report=lambda report: printer.report(report.summary()),
            )  # fmt: skip
            return instruments, outcome
        finally:
            await hub.close()

    try:
        with _sigint(stop), workspace_store(args) as (_, store):
            instruments, outcome = asyncio.run(download(StoreTarget(store)))
    except (DownloadInputError, CommandError, StoreError) as exc:
        printer.end_line()
        return fail(COMMAND, str(exc))
    except BrokerError as exc:  # before any download: connecting, the instruments dump
        printer.end_line()
        return _broker_fail(broker_failure(account, exc))
    except CredentialError as exc:
        printer.end_line()
        return _broker_fail(f"{account.account_id}: {exc}")
    except KeyboardInterrupt:
        printer.end_line()
        message = (
            f"artha {COMMAND}: interrupted; what was stored stays (each request is stored whole "
            "or not at all): run the same command again to resume"
        )
        print(message, file=sys.stderr)
        record_quietly(30, message)
        return EXIT_INTERRUPTED
    for line in outcome.ending():
        printer.report(line)
    record_quietly(
        20,
        f"artha {COMMAND}: {outcome.bars_written:,} bars of {len(instruments)} instrument(s) "
        f"from {account.account_id}" + (" (stopped)" if outcome.cancelled else ""),
    )
    if json_target is not None:
        text = json.dumps(outcome_json(account, timeframe, start, end, outcome), indent=2)
        failed = emit_json(COMMAND, json_target, text + "\n", store_files(ws.database_path))
        if failed is not None:
            return failed
    if outcome.failure is not None:
        return _broker_fail(broker_failure(account, outcome.failure))
    return EXIT_INTERRUPTED if outcome.cancelled else 0


def _check_json_target(path: Path, ws: Workspace) -> None:
    """Refuse a --json target before downloading, not after (OutputRefused)."""
    if not path.parent.is_dir():
        raise OutputRefused(f"argument --json: folder {path.parent} does not exist")
    try:
        check_target(path, "json", store_files(ws.database_path))
    except OutputRefused as exc:
        raise OutputRefused(f"argument --json: {exc}") from None


def _broker_fail(message: str) -> int:
    print(f"artha {COMMAND}: error: {message}", file=sys.stderr)
    record_quietly(40, f"artha {COMMAND}: error: {message}")
    return EXIT_BROKER
