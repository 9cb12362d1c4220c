"""The Data panel's "Download from broker…" dialog: what `artha data download` takes as flags.

It only collects the request (account, symbols, exchange, span, timeframe) and refuses what
the download would refuse (no symbol, dates the wrong way round or in the future), inline
under the fields. While it is open it loads the chosen account's instruments on the loop
(connecting with the stored session, as the download would), so symbols complete from the
broker's own list and a misspelt one is named before anything starts; without a session the
symbols can still be typed and the download says what to do. The dump is kept by the panel
for the day (`InstrumentCache`): the download that follows does not fetch it again.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from PySide6.QtCore import QDate, QModelIndex, QPersistentModelIndex, QStringListModel, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.commands.data_download import (
    DownloadInputError,
    InstrumentBook,
    download_span,
    split_symbol,
)
from brokers.accounts import BrokerAccount
from brokers.hub import BrokerHub
from engine.broker.errors import BrokerError
from engine.broker.models import ConnectionState
from engine.domain.enums import Exchange
from engine.ist import IST
from engine.timeframes import Timeframe

log = logging.getLogger(__name__)

ERROR_STYLE: Final = "color: #e5534b; font-weight: 600;"  # readable on both themes
DEFAULT_DAYS: Final = 30  # the span offered at first: a month back from today
SEPARATORS: Final = ", "


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """What the trader asked for, as `artha data download` would take it."""

    account_id: str
    symbols: tuple[str, ...]
    exchange: Exchange
    timeframe: Timeframe
    start: date
    end: date


@dataclass
class InstrumentCache:
    """Each account's instruments books for the day (Kite regenerates its dump daily)."""

    books: dict[str, tuple[date, InstrumentBook]] = field(default_factory=dict)

    def book(self, hub: BrokerHub, account: BrokerAccount, today: date) -> InstrumentBook:
        kept = self.books.get(account.account_id)
        broker = hub.broker(account)
        if kept is None or kept[0] != today or kept[1].broker is not broker:
            kept = (today, InstrumentBook(broker))
            self.books[account.account_id] = kept
        return kept[1]


def parse_symbols(text: str) -> tuple[str, ...]:
    """The symbols typed, split at commas (a symbol may hold a space: "NIFTY 50")."""
    return tuple(dict.fromkeys(s.strip().upper() for s in text.split(",") if s.strip()))


class SymbolsCompleter(QCompleter):
    """Completes the symbol after the last comma, keeping those before it."""

    def splitPath(self, path: str) -> list[str]:
        return [path.rsplit(",", 1)[-1].strip()]

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        widget = self.widget()
        chosen = str(index.data())
        if not isinstance(widget, QLineEdit):
            return chosen
        before, sep, _ = widget.text().rpartition(",")
        return f"{before}{SEPARATORS}{chosen}" if sep else chosen


class DownloadDialog(QDialog):
    """Account, symbols, exchange, from/to and timeframe; `request()` once accepted."""

    def __init__(
        self,
        accounts: Sequence[BrokerAccount],
        *,
        hub: BrokerHub | None,
        cache: InstrumentCache,
        now: Callable[[], datetime],
        initial_symbols: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.setWindowTitle("Download from broker")
        self.setMinimumWidth(460)
        self._accounts = {a.account_id: a for a in accounts}
        self._hub = hub
        self._cache = cache
        self._now = now
        self.listing: dict[str, list[str]] = {}  # exchange -> the broker's symbols, once loaded
        self.load_task: asyncio.Task[None] | None = None
        self._result: DownloadRequest | None = None
        today = now().astimezone(IST).date()

        self.account_box = QComboBox()
        self.account_box.setObjectName("downloadAccount")
        for account in accounts:
            self.account_box.addItem(account.title, account.account_id)
        self.symbols_edit = QLineEdit(SEPARATORS.join(initial_symbols))
        self.symbols_edit.setObjectName("downloadSymbols")
        self.symbols_edit.setPlaceholderText("INFY, SBIN, NIFTY 50 (comma separated)")
        self.symbol_model = QStringListModel(self)
        completer = SymbolsCompleter(self.symbol_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.symbols_edit.setCompleter(completer)
        self.exchange_box = QComboBox()
        self.exchange_box.setObjectName("downloadExchange")
        self.exchange_box.addItems([e.value for e in Exchange])
        self.timeframe_box = QComboBox()
        self.timeframe_box.setObjectName("downloadTimeframe")
        self.timeframe_box.addItems([t.value for t in Timeframe])
        self.from_edit = self._date_edit("downloadFrom", today - timedelta(days=DEFAULT_DAYS))
        self.to_edit = self._date_edit("downloadTo", today)
        self.list_note = QLabel()
        self.list_note.setObjectName("downloadListNote")
        self.list_note.setWordWrap(True)
        self.list_note.setEnabled(False)  # a hint, in the theme's muted text
        self.error = QLabel()
        self.error.setObjectName("downloadError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setVisible(False)

        form = QFormLayout()
        form.addRow("Account", self.account_box)
        form.addRow("Symbols", self.symbols_edit)
        form.addRow("", self.list_note)
        form.addRow("Exchange", self.exchange_box)
        form.addRow("From", self.from_edit)
        form.addRow("To", self.to_edit)
        form.addRow("Timeframe", self.timeframe_box)
        note = QLabel(
            "Candles come in the broker's chunks (Kite: 60 days of minutes a request), each "
            "stored whole. Downloading the same span again resumes after the last bar stored."
        )
        note.setWordWrap(True)
        note.setEnabled(False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.download_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.download_button.setText("Download")
        self.download_button.setObjectName("startDownload")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        if not accounts:
            self.account_box.setEnabled(False)
            self.download_button.setEnabled(False)
            self._say_error(
                "No Zerodha or Upstox account yet: add one in File ▸ Settings ▸ Brokers (or "
                "`artha broker add zerodha`), log in, then download."
            )
        self.account_box.currentIndexChanged.connect(lambda _: self.load_symbols())
        self.exchange_box.currentIndexChanged.connect(lambda _: self.load_symbols())
        self.finished.connect(self._stop_loading)
        self.load_symbols()

    def _date_edit(self, name: str, day: date) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        return edit

    # -- the broker's list -------------------------------------------------------------------
    @property
    def account(self) -> BrokerAccount | None:
        return self._accounts.get(str(self.account_box.currentData()))

    @property
    def exchange(self) -> Exchange:
        return Exchange(self.exchange_box.currentText())

    def load_symbols(self) -> None:
        """Fetch the account's instruments on the loop, for completion and checking."""
        self._stop_loading()
        account, hub = self.account, self._hub
        self.symbol_model.setStringList([])
        self.listing = {}
        if account is None:
            return
        if hub is None:
            self.list_note.setText("Type the symbols: no broker connection in this window.")
            return
        self.list_note.setText(f"Loading {account.kind.display_name}'s instruments…")
        loop = asyncio.get_event_loop_policy().get_event_loop()
        self.load_task = loop.create_task(self._load(hub, account, self.exchange))

    async def _load(self, hub: BrokerHub, account: BrokerAccount, exchange: Exchange) -> None:
        try:
            book = self._cache.book(hub, account, self._now().astimezone(IST).date())
            if hub.state(account.account_id)[0] is not ConnectionState.CONNECTED:
                await hub.connect(account)
            listing = await book.listing(exchange)
        except BrokerError as error:
            hint = " Log in in File ▸ Settings ▸ Brokers." if error.needs_login else ""
            self.list_note.setText(f"Type the symbols: {error.message}.{hint}")
            return
        except Exception as error:  # the dialog stays usable: symbols can be typed
            log.warning("instruments of %s not loaded: %s", account.account_id, error)
            self.list_note.setText(f"Type the symbols: the instruments were not loaded ({error}).")
            return
        finally:
            if self.load_task is asyncio.current_task():
                self.load_task = None
        symbols = sorted(listing)
        self.listing[exchange.value] = symbols
        self.symbol_model.setStringList(symbols)
        self.list_note.setText(
            f"{len(symbols):,} {exchange.value} instruments from {account.kind.display_name}: "
            "type to pick."
        )

    def _stop_loading(self) -> None:
        if self.load_task is not None:
            self.load_task.cancel()
            self.load_task = None

    # -- the answer ---------------------------------------------------------------------------
    def _say_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def check(self) -> DownloadRequest:
        """The request as typed; DownloadInputError naming what is wrong."""
        account = self.account
        if account is None:
            raise DownloadInputError("choose a broker account")
        symbols = parse_symbols(self.symbols_edit.text())
        if not symbols:
            raise DownloadInputError("type at least one symbol, e.g. INFY")
        start = self.from_edit.date().toPython()
        end = self.to_edit.date().toPython()
        assert isinstance(start, date) and isinstance(end, date)
        download_span(start, end, self._now())  # refuses a span the wrong way or in the future
        unknown = []
        for text in symbols:
            exchange, symbol = split_symbol(text, self.exchange)
            known = self.listing.get(exchange.value)
            if known is not None and symbol not in known:
                near = difflib.get_close_matches(symbol, known, n=3, cutoff=0.6)
                unknown.append(symbol + (f" (did you mean {', '.join(near)}?)" if near else ""))
        if unknown:
            raise DownloadInputError(
                f"{account.kind.display_name} does not list {'; '.join(unknown)}"
            )
        return DownloadRequest(
            account.account_id,
            symbols,
            self.exchange,
            Timeframe(self.timeframe_box.currentText()),
            start,
            end,
        )

    def try_accept(self) -> None:
        try:
            self._result = self.check()
        except DownloadInputError as exc:
            self._say_error(str(exc)[:1].upper() + str(exc)[1:])
            return
        self._say_error("")
        self.accept()

    def request(self) -> DownloadRequest | None:
        return self._result
