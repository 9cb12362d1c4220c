"""Typed messages on the engine's bus: a handler's signature says what it receives.

`topic` is what topic subscriptions match against; for market and trading events it is the
instrument key ("NSE:RELIANCE"), so a chart can listen to one symbol only.
"""

from dataclasses import dataclass
from typing import Final, Literal, get_args

from engine.broker.models import BrokerOrder, ConnectionState, Quote
from engine.domain import Bar, Fill, Order, Tick


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every bus message; subscribing to it receives everything."""

    @property
    def topic(self) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class BarEvent(Event):
    bar: Bar

    @property
    def topic(self) -> str | None:
        return self.bar.symbol


@dataclass(frozen=True, slots=True)
class TickEvent(Event):
    tick: Tick

    @property
    def topic(self) -> str | None:
        return self.tick.symbol


@dataclass(frozen=True, slots=True)
class OrderEvent(Event):
    """An order changed (placed, acknowledged, filled, cancelled, ...); carries its new state."""

    order: Order

    @property
    def topic(self) -> str | None:
        return self.order.symbol


@dataclass(frozen=True, slots=True)
class FillEvent(Event):
    fill: Fill

    @property
    def topic(self) -> str | None:
        return self.fill.symbol


@dataclass(frozen=True, slots=True)
class FormingBarEvent(Event):
    """The live bar in progress changed (a tick arrived); its final form comes as a BarEvent
    when the next minute's first tick closes it."""

    bar: Bar

    @property
    def topic(self) -> str | None:
        return self.bar.symbol


@dataclass(frozen=True, slots=True)
class QuoteEvent(Event):
    """A connected broker streamed a quote (last trade, and depth in full mode)."""

    account_id: str
    quote: Quote

    @property
    def topic(self) -> str | None:
        return self.quote.symbol


@dataclass(frozen=True, slots=True)
class BrokerOrderEvent(Event):
    """A broker reported an order's new state (ours or one placed on its web terminal)."""

    account_id: str
    update: BrokerOrder

    @property
    def topic(self) -> str | None:
        return self.update.order.symbol


@dataclass(frozen=True, slots=True)
class BrokerStateEvent(Event):
    """A broker connection changed state; `detail` says why and what next, for people."""

    account_id: str
    title: str  # "Zerodha Kite · Main"
    state: ConnectionState
    detail: str = ""


NoticeLevel = Literal["info", "warning", "error"]
NOTICE_LEVELS: Final = frozenset(get_args(NoticeLevel))


@dataclass(frozen=True, slots=True)
class Notice(Event):
    """A message meant for the user (status bar, toast, log panel), not for other components.

    `source` names who speaks ("risk", "zerodha", a strategy id) so the UI can say it.
    """

    level: NoticeLevel
    message: str
    source: str

    def __post_init__(self) -> None:
        if self.level not in NOTICE_LEVELS:
            raise ValueError(f"level must be one of {sorted(NOTICE_LEVELS)}, got {self.level!r}")


@dataclass(frozen=True, slots=True)
class MarketDataChanged(Event):
    """Bars or instruments in the workspace's store changed (an import, the demo data), so
    views of what is stored refresh instead of waiting for their timer."""

    source: str  # what changed it: "import", "demo", ...


@dataclass(frozen=True, slots=True)
class CalendarChanged(Event):
    """The workspace's market calendar changed (a list imported, a day added or removed):
    clocks, session lists and anything holding sessions should ask the calendar again."""

    source: str  # what changed it: "calendar dialog", ...


# -- long work: the job runner (engine.jobs) -------------------------------------------------
@dataclass(frozen=True, slots=True)
class JobEvent(Event):
    """Something happened to a job of the runner (engine.jobs); `job_id` is what submit gave.

    The topic is "job:<id>", so a view can listen to its own job only."""

    job_id: int
    name: str  # what the job does, for people: "Importing 300 file(s)"

    @property
    def topic(self) -> str | None:
        return f"job:{self.job_id}"


@dataclass(frozen=True, slots=True)
class JobStarted(JobEvent):
    cancellable: bool = True


@dataclass(frozen=True, slots=True)
class JobProgress(JobEvent):
    done: int = 0
    total: int = 0  # 0: not known
    text: str = ""


@dataclass(frozen=True, slots=True)
class JobFinished(JobEvent):
    """The job returned `result`."""

    result: object = None


@dataclass(frozen=True, slots=True)
class JobFailed(JobEvent):
    """The job raised; `message` says what, in words (the traceback is in the log)."""

    message: str = ""


@dataclass(frozen=True, slots=True)
class JobCancelled(JobEvent):
    """The job stopped after a cancel; `result` is what it returned when it stopped (an
    import's outcome: which files were stored before the cancel and which not), or None."""

    result: object = None
