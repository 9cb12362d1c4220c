"""Chart panel: one instrument's candles at a timeframe, with indicators, trades and drawings.

The panel is the chart's owner in the station: it reads bars through the job runner (a
million minutes take a moment to read and resample: never on the GUI thread), keeps what the
trader chose (instrument, timeframe, indicators, raw or adjusted) across restarts, and saves
drawings per instrument. Several can be open at once (View > New chart); each remembers its
own state under its panel id. The drawing itself is app.gui.chart.view.ChartView, which a
benchmark or a test can drive from plain arrays without any of this.

Live: the broker hub's minute bars of the shown instrument (`FormingBarEvent`, `BarEvent`)
extend the last candle or add one, at the chart's timeframe by the resampler's rules
(app.gui.chart.live_candles); they are coalesced and drawn at most ten times a second, each
time one candle changed in place (`ChartView.update_last_bar` / `append_bar`), never the whole
series again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.after_paint import after_first_paint
from app.gui.chart.chart_state import ChartState
from app.gui.chart.drawing_store import DrawingStore
from app.gui.chart.indicator_catalog import CATALOG, BarArrays, IndicatorSpec
from app.gui.chart.loading import (
    CHART_TIMEFRAMES,
    ChartBars,
    load_chart_bars,
    possible_timeframes,
    split_key,
)
from app.gui.chart.palette import ChartPalette, palette_for
from app.gui.context import AppContext
from app.gui.elided_label import ElidedLabel
from app.gui.panels.registry import PanelSpec, register_panel
from app.gui.themes import current_theme
from engine.broker.models import ConnectionState
from engine.data.errors import StoreError
from engine.domain.enums import Exchange
from engine.domain.market_data import Bar
from engine.domain.money import to_paise
from engine.events import (
    BarEvent,
    BrokerStateEvent,
    FormingBarEvent,
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    MarketDataChanged,
)
from engine.ist import ns_of
from engine.timeframes import Timeframe

if TYPE_CHECKING:
    # The drawing (pyqtgraph: ~0.2 s to import, and the view's build) is made once the
    # station has painted, while the first bars are read: the first picture shows the
    # chart's toolbar and "Loading…", never waits for it. numpy comes with the store, the
    # live candles and trade marks when bars or trades first arrive.
    import pyqtgraph as pg

    from app.gui.chart.drawings import DrawingLayer
    from app.gui.chart.live_candles import LiveCandles, Minute
    from app.gui.chart.trade_markers import TradeColours, TradeMarkersItem
    from app.gui.chart.trade_marks import TradeMarks
    from app.gui.chart.view import ChartView
    from engine.data.store import MarketStore  # DuckDB: loaded when the store opens

log = logging.getLogger(__name__)

TIMEFRAME_LABELS = {"1d": "1D"}  # what traders call the daily chart
# Line colours for indicators, in the order they are added: distinct on dark and light.
LINE_COLOURS = ("#f5a623", "#2f8cff", "#c44dff", "#00b8d4", "#ff6d00", "#8bc34a")
LIVE_REPAINT_MS = 100  # live candles reach the screen at most ten times a second


@dataclass
class ShownIndicator:
    """An indicator on the chart: its spec and the items drawing it (one per output line)."""

    spec: IndicatorSpec
    colour: str
    pane: str  # "" for the price pane, else the sub-pane's key
    items: list[pg.GraphicsObject] = field(default_factory=list)
    readouts: list[str] = field(default_factory=list)


class _Signals(QObject):
    loaded = Signal(str)  # "KEY timeframe" once its bars are on screen (tests wait on it)
    failed = Signal(str)  # the message shown to the trader


class ChartPanel(QWidget):
    """A chart with its toolbar; `open_symbol`, `set_timeframe`, `add_indicator`,
    `show_trades` are what the station (watchlist, backtest results, live window) calls."""

    used = Signal()  # the trader worked in this chart: "open chart" requests come here

    def __init__(self, ctx: AppContext, panel_id: str = "chart") -> None:
        super().__init__()
        self.ctx = ctx
        self.panel_id = panel_id
        self.setObjectName(f"panel.{panel_id}")
        self.done = _Signals(self)  # owned by the panel, never by the collector (any thread)
        self.state = ctx.settings.chart_state(panel_id)
        self.bars: ChartBars | None = None
        self.indicators: list[ShownIndicator] = []
        self.trades: TradeMarks | None = None  # the last run's trades on this chart
        self.trade_item: TradeMarkersItem | None = None
        self._job: int | None = None
        self._pending: ChartState | None = None  # asked while a read runs: read next
        self._focus: tuple[int, int] | None = None  # a span to show once the bars are in
        self.drawing_store = DrawingStore(ctx.files_dir / "drawings")
        self.live: LiveCandles | None = None  # the last candle as live minutes arrive
        self._live_pending: dict[int, Minute] = {}  # minutes not yet drawn, by open time
        self.live_repaints = 0  # live redraws so far (each one or two candles changed)
        self._info_text = ""  # the info line without the live note
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_REPAINT_MS)
        self._live_timer.timeout.connect(self.flush_live)

        self.view_palette = self._palette()
        self._view: ChartView | None = None  # built by `view` (after the first paint)
        self._drawings: DrawingLayer | None = None
        self._build_toolbar()
        self.message = QLabel()
        self.message.setObjectName("chartMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedLayout()
        self._blank: QWidget | None = QWidget()  # where the view goes once built
        self.stack.addWidget(self._blank)
        self.stack.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self.bar_row)
        layout.addLayout(self.stack)

        for text in self.state.indicators:  # drawn once the bars are read
            try:
                spec = IndicatorSpec.from_text(text)
            except ValueError as exc:  # a hand-edited settings file: skip it, say so
                log.warning("chart %s: saved indicator %r skipped: %s", panel_id, text, exc)
                continue
            colour = LINE_COLOURS[len(self.indicators) % len(LINE_COLOURS)]
            self.indicators.append(ShownIndicator(spec, colour, ""))

        subscriptions = (
            ctx.bus.subscribe(JobEvent, self._on_job_event),
            ctx.bus.subscribe(MarketDataChanged, self._on_market_data),
            ctx.bus.subscribe(FormingBarEvent, self._on_live_bar),
            ctx.bus.subscribe(BarEvent, self._on_live_bar),
            ctx.bus.subscribe(BrokerStateEvent, self._on_broker_state),
        )

        def unsubscribe(*_: object) -> None:
            for subscription in subscriptions:
                subscription.cancel()

        self.destroyed.connect(unsubscribe)
        # the first read once the window has painted: its job thread (the read, resampling,
        # the adjuster's modules) would otherwise take the GIL from the station's first paint
        after_first_paint(self, self._first_read)

    # -- building ---------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        row = self.bar_row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 2)
        row.setSpacing(4)
        self.symbol_box = QLineEdit()
        self.symbol_box.setObjectName("chartSymbol")
        self.symbol_box.setPlaceholderText("Symbol…")
        self.symbol_box.setMaximumWidth(180)
        self.symbol_box.setToolTip("Type a symbol (INFY or NSE:INFY) and press Enter")
        self.symbol_model = QStringListModel(self._store_keys())
        completer = QCompleter(self.symbol_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.symbol_box.setCompleter(completer)
        self.symbol_box.returnPressed.connect(self._symbol_entered)
        completer.activated.connect(lambda text: self.open_symbol(text))
        row.addWidget(self.symbol_box)

        self.timeframe_box = QComboBox()
        self.timeframe_box.setObjectName("chartTimeframe")
        for tf in CHART_TIMEFRAMES:
            self.timeframe_box.addItem(TIMEFRAME_LABELS.get(tf, tf), tf)
        self.timeframe_box.setCurrentIndex(CHART_TIMEFRAMES.index(self.state.timeframe))
        self.timeframe_box.activated.connect(
            lambda index: self.set_timeframe(str(self.timeframe_box.itemData(index)))
        )
        row.addWidget(self.timeframe_box)

        self.adjusted_button = QToolButton()
        self.adjusted_button.setText("Adj")
        self.adjusted_button.setCheckable(True)
        self.adjusted_button.setChecked(self.state.adjusted)
        self.adjusted_button.setToolTip(
            "Prices adjusted for splits, bonuses and dividends (off: as traded)"
        )
        self.adjusted_button.toggled.connect(self.set_adjusted)
        row.addWidget(self.adjusted_button)

        self.indicator_button = QToolButton()
        self.indicator_button.setText("Indicators")
        self.indicator_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.indicator_menu = QMenu(self.indicator_button)
        self.indicator_menu.aboutToShow.connect(self._fill_indicator_menu)
        self.indicator_button.setMenu(self.indicator_menu)
        row.addWidget(self.indicator_button)

        self.tool_buttons: dict[str, QToolButton] = {}
        for kind, text, tip in (
            ("horizontal_line", "H-line", "Horizontal line: click a price"),
            ("trend_line", "Trend", "Trend line: press, drag, release"),
            ("rectangle", "Rect", "Rectangle: press, drag, release"),
            ("text_note", "Note", "Text note: click, then type"),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(f"{tip} (Esc cancels; Delete removes the selected drawing)")
            button.clicked.connect(lambda _c=False, k=kind: self.drawings.start_tool(k))
            row.addWidget(button)
            self.tool_buttons[kind] = button

        fit = QToolButton()
        fit.setText("Fit")
        fit.setToolTip("Show the whole series")
        fit.clicked.connect(lambda _c=False: self.view.show_all())
        row.addWidget(fit)
        row.addStretch(1)
        # cut with … to the room the buttons leave: a long line ("1,000,000 bars, 1m …")
        # must not widen the panel, and with it the main window
        self.info = ElidedLabel()
        self.info.setObjectName("chartInfo")
        row.addWidget(self.info)

        delete = QAction("Delete drawing", self)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        delete.triggered.connect(lambda _c=False: self.drawings.delete_selected())
        self.addAction(delete)

    @property
    def view(self) -> ChartView:
        """The drawing of candles, volume, indicators and trades (built on first use)."""
        if self._view is None:
            from app.gui.chart.drawings import DrawingLayer
            from app.gui.chart.view import ChartView

            view = ChartView(palette=self.view_palette)
            self._drawings = DrawingLayer(view.price_plot, self._x_of_time, self._time_of_x)
            self._drawings.changed.connect(self._save_drawings)
            self._drawings.set_theme(self._theme_name())
            self._view = view
            saying = self.stack.currentWidget() is self.message
            self.stack.insertWidget(0, view)
            self.stack.setCurrentWidget(self.message if saying else view)
            if self._blank is not None:
                self.stack.removeWidget(self._blank)
                self._blank.deleteLater()
                self._blank = None
        return self._view

    @property
    def drawings(self) -> DrawingLayer:
        """The trader's lines, rectangles and notes on the price pane (built with `view`)."""
        self.view  # noqa: B018 - builds both
        assert self._drawings is not None
        return self._drawings

    def _theme_name(self) -> str:
        app = QApplication.instance()
        return current_theme(app) if isinstance(app, QApplication) else self.ctx.settings.theme

    def _palette(self) -> ChartPalette:
        app = QApplication.instance()
        theme = current_theme(app) if isinstance(app, QApplication) else self.ctx.settings.theme
        return palette_for(theme, self.ctx.settings.colour_blind)

    def apply_theme(self, theme: str) -> None:
        """The station switched theme (or the colour-blind option): repaint in its colours."""
        self.view_palette = palette_for(theme, self.ctx.settings.colour_blind)
        if self._view is None:  # built later, in these colours
            return
        self.view.set_palette(self.view_palette)
        self.drawings.set_theme(theme)
        if self.trade_item is not None:
            self.trade_item.set_colours(self._trade_colours())

    # -- what the station asks ---------------------------------------------------------------
    def open_symbol(self, key: str) -> None:
        """Show `key` (INFY or NSE:INFY) at this chart's timeframe."""
        self.used.emit()
        text = key.strip()
        if not text:
            return
        self._request(replace(self.state, key=text.upper()))

    def set_timeframe(self, timeframe: str) -> None:
        if timeframe not in CHART_TIMEFRAMES:
            raise ValueError(f"unknown timeframe {timeframe!r}")
        self.used.emit()
        self._request(replace(self.state, timeframe=timeframe))

    def set_adjusted(self, adjusted: bool) -> None:
        self.used.emit()
        self._request(replace(self.state, adjusted=adjusted))

    def add_indicator(self, text: str) -> None:
        """Add an indicator by its spec text ("sma(20)"); ValueError names what is wrong."""
        spec = IndicatorSpec.from_text(text)
        if any(shown.spec == spec for shown in self.indicators):
            return
        shown = ShownIndicator(spec, LINE_COLOURS[len(self.indicators) % len(LINE_COLOURS)], "")
        self.indicators.append(shown)
        if self.bars is not None:
            self._draw_indicator(shown, self.bars)
        self._remember()

    def remove_indicator(self, text: str) -> None:
        spec = IndicatorSpec.from_text(text)
        for shown in list(self.indicators):
            if shown.spec == spec:
                self._undraw_indicator(shown)
                self.indicators.remove(shown)
        self._remember()

    def show_trades(self, trades: TradeMarks) -> None:
        """Entry/exit markers for a run's trades of this instrument (by time: any timeframe)."""
        self.trades = trades
        self._place_trades()

    def show_span(self, key: str, start_ns: int, end_ns: int) -> None:
        """Move the chart to [start_ns, end_ns] of `key` with some room around it (a trade
        clicked in the results); switches instrument first when needed."""
        self._focus = (start_ns, end_ns)
        if self.bars is not None and split_key(key)[1] == split_key(self.bars.key)[1]:
            self._apply_focus()
        else:
            self.open_symbol(key)

    def _apply_focus(self) -> None:
        if self._focus is None or self.bars is None or not len(self.bars):
            return
        start_ns, end_ns = self._focus
        self._focus = None
        first = self.view.index_at_time(start_ns)
        last = max(self.view.index_at_time(end_ns), first)
        room = max(30, (last - first) // 2)
        self.view.set_x_range(first - room - 0.5, last + room + 0.5)

    def live_fill(self, ts_ns: int, price: float, side: int, is_entry: bool) -> None:
        """One fill as it happens (the live and paper windows): a marker on the bar holding
        its time, drawn at once; an exit closes the oldest open trade of its side."""
        if self.bars is None:
            return
        if self.trade_item is None:
            from app.gui.chart.trade_markers import TradeMarkersItem

            self.trade_item = TradeMarkersItem(self._trade_colours())
            self.view.price_plot.addItem(self.trade_item)
        import numpy as np

        index = int(np.searchsorted(self.view.ts_ns, ts_ns, side="right")) - 1
        self.trade_item.add_fill(max(index, 0), price, side, is_entry)

    # -- reading bars --------------------------------------------------------------------------
    def _first_read(self) -> None:
        """The chart has painted once: read what it shows, unless something (a run shown, a
        trade clicked) has asked for bars meanwhile; the view is built while they are read."""
        if self.bars is None and self._job is None:
            self._first_show()
        if self._job is not None:
            self.view  # noqa: B018 - builds it

    def _first_show(self) -> None:
        if self.ctx.store is None:
            self._say(f"No market data: {self.ctx.store_problem or 'the store is not open'}.")
            return
        if self.state.key:
            self._request(self.state, force=True)
            return
        keys = self._store_keys()
        if not keys:
            self._say("No market data yet: import files or create the demo data in the Data panel.")
            return
        self._request(replace(self.state, key=keys[0]), force=True)

    def _on_market_data(self, _event: MarketDataChanged) -> None:
        """An import or the demo data changed the store: the symbol box offers what is there
        now; an empty chart opens the first instrument; the shown one is read again (an
        import may have added its bars, a corporate action changed the adjusted prices)."""
        self.symbol_model.setStringList(self._store_keys())
        if self.bars is None:
            self._first_show()
        else:
            self._request(self.state, force=True)

    def _request(self, wanted: ChartState, force: bool = False) -> None:
        if wanted == self.state and self.bars is not None and not force:
            return
        store = self.ctx.store
        if store is None:
            self._say(f"No market data: {self.ctx.store_problem or 'the store is not open'}.")
            return
        if self._job is not None:
            self._pending = wanted  # read once the running one ends: the newest wins
            return
        self._pending = None
        self.info.setText(f"Loading {wanted.key} {self._tf_label(wanted.timeframe)}…")
        self._job = self.ctx.jobs.submit(
            _reading(store, wanted),
            f"Chart {wanted.key} {self._tf_label(wanted.timeframe)}",
            cancellable=False,
            ask_before_close=False,
        )

    def _on_job_event(self, event: JobEvent) -> None:
        if event.job_id != self._job or not isinstance(
            event, JobFinished | JobCancelled | JobFailed
        ):
            return
        self._job = None
        if isinstance(event, JobFinished) and isinstance(event.result, Loaded):
            self._show(event.result.bars, event.result.asked, event.result.note)
        elif isinstance(event, JobFinished) and isinstance(event.result, str):
            self._fail(event.result)
        elif isinstance(event, JobFailed):
            self._fail(f"The chart could not read its bars: {event.message}")
        if self._pending is not None:
            wanted, self._pending = self._pending, None
            self._request(wanted)

    def _show(self, bars: ChartBars, asked: str, note: str = "") -> None:
        """Put read bars on screen; the state keeps the timeframe the trader asked for, so
        a daily-only instrument shown at 1D does not turn the next one daily too."""
        self.bars = bars
        self.state = ChartState(bars.key, asked, self.state.indicators, bars.adjusted)
        self.view.set_bars(bars.ts_ns, bars.open, bars.high, bars.low, bars.close, bars.volume)
        self.stack.setCurrentWidget(self.view)
        self.symbol_box.setText(bars.key)
        self.timeframe_box.setCurrentIndex(CHART_TIMEFRAMES.index(bars.timeframe))
        self.adjusted_button.blockSignals(True)
        self.adjusted_button.setChecked(bars.adjusted)
        self.adjusted_button.blockSignals(False)
        self._enable_timeframes(bars.key)
        for shown in self.indicators:
            self._undraw_indicator(shown)
            self._draw_indicator(shown, bars)
        skipped = self.drawings.load_records(self.drawing_store.load(bars.key))
        for problem in [*self.drawing_store.problems, *skipped]:
            log.warning("drawings of %s: %s", bars.key, problem)
        self.drawing_store.problems.clear()
        self._place_trades()
        made = f" (from {bars.made_from})" if bars.made_from else ""
        kind = "adjusted" if bars.adjusted else "as traded"
        self._info_text = f"{note}; " * bool(note) + f"{len(bars):,} bars{made}, {kind}"
        self.info.setText(self._info_text)
        self._start_live(bars)
        self._remember()
        self._apply_focus()
        self.done.loaded.emit(f"{bars.key} {bars.timeframe}")

    # -- live candles --------------------------------------------------------------------------
    def _start_live(self, bars: ChartBars) -> None:
        """New bars on screen: live minutes now extend their last candle; ask the connected
        broker to stream the instrument."""
        from app.gui.chart.live_candles import Candle, LiveCandles  # (numpy: after the paint)

        last = None
        if len(bars):
            i = len(bars) - 1
            last = Candle(
                int(bars.ts_ns[i]),
                float(bars.open[i]),
                float(bars.high[i]),
                float(bars.low[i]),
                float(bars.close[i]),
                float(bars.volume[i]),
            )
        exchange, _ = split_key(bars.key)
        try:
            cash = Exchange(exchange or "NSE").cash_exchange.value
        except ValueError:
            cash = exchange or "NSE"
        self.live = LiveCandles(bars.key, bars.timeframe, cash, last)
        self._live_pending.clear()
        self.ctx.watch_live([bars.key])

    def _on_broker_state(self, event: BrokerStateEvent) -> None:
        if event.state == ConnectionState.CONNECTED and self.bars is not None:
            self.ctx.watch_live([self.bars.key])

    def _on_live_bar(self, event: FormingBarEvent | BarEvent) -> None:
        """A live minute of some instrument: kept if it is this chart's, drawn with the next
        coalesced redraw (a later reading of the same minute replaces an earlier one)."""
        bar: Bar = event.bar
        if self.live is None or bar.symbol != self.live.symbol:
            return
        from app.gui.chart.live_candles import Minute

        ts = ns_of(bar.ts)
        self._live_pending[ts] = Minute(
            ts,
            to_paise(bar.open),
            to_paise(bar.high),
            to_paise(bar.low),
            to_paise(bar.close),
            bar.volume,
        )
        if not self._live_timer.isActive():
            self._live_timer.start()

    def flush_live(self) -> None:
        """Draw the live minutes received since the last redraw (the timer does it)."""
        self._live_timer.stop()
        live, pending = self.live, self._live_pending
        if live is None or not pending:
            return
        self._live_pending = {}
        changed = False
        for ts in sorted(pending):
            done = live.add(pending[ts])
            if done is None:
                continue
            action, c = done
            if action == "append":
                self.view.append_bar(c.ts, c.open, c.high, c.low, c.close, c.volume)
            else:
                self.view.update_last_bar(c.open, c.high, c.low, c.close, c.volume)
            changed = True
        if changed:
            self.live_repaints += 1
            self.info.setText(f"{self._info_text} · live")

    def _fail(self, message: str) -> None:
        log.warning("chart %s: %s", self.panel_id, message)
        self.info.setText("")
        if self.bars is None:
            self._say(message)
        else:  # keep what is on screen: the trader asked for something it cannot show
            self.info.setText(message)
            self.symbol_box.setText(self.state.key)
            self.timeframe_box.setCurrentIndex(CHART_TIMEFRAMES.index(self.state.timeframe))
        self.done.failed.emit(message)

    def _say(self, message: str) -> None:
        self.message.setText(message)
        self.stack.setCurrentWidget(self.message)

    # -- indicators ---------------------------------------------------------------------------
    def _fill_indicator_menu(self) -> None:
        menu = self.indicator_menu
        menu.clear()
        for kind, title in (("overlay", "On the price"), ("oscillator", "In a pane below")):
            menu.addSection(title)
            for item in CATALOG.values():
                if item.kind != kind:
                    continue
                spec = IndicatorSpec(item.key)
                text = spec.to_text()
                action = menu.addAction(spec.label())
                action.setToolTip(item.help)
                action.triggered.connect(lambda _c=False, t=text: self._add_safely(t))
        menu.addSeparator()
        menu.addAction("Other parameters…").triggered.connect(self._ask_indicator)
        if self.indicators:
            remove = menu.addMenu("Remove")
            for shown in self.indicators:
                text = shown.spec.to_text()
                remove.addAction(shown.spec.label()).triggered.connect(
                    lambda _c=False, t=text: self.remove_indicator(t)
                )

    def _ask_indicator(self) -> None:
        text, ok = QInputDialog.getText(
            self, "Add indicator", "Indicator with its parameters, e.g. sma(50) or rsi(14):"
        )
        if ok and text.strip():
            self._add_safely(text)

    def _add_safely(self, text: str) -> None:
        try:
            self.add_indicator(text)
        except ValueError as exc:
            self.info.setText(f"Indicator {text.strip()!r} refused: {exc}")
            log.warning("indicator %r refused: %s", text, exc)

    def _draw_indicator(self, shown: ShownIndicator, bars: ChartBars) -> None:
        arrays = BarArrays(bars.ts_ns, bars.open, bars.high, bars.low, bars.close, bars.volume)
        lines = shown.spec.compute(arrays)
        entry = shown.spec.entry
        if entry.kind == "oscillator":
            shown.pane = shown.spec.to_text()
            plot = self.view.add_subpane(shown.pane, shown.spec.label())
            import pyqtgraph as pg  # loaded with the view

            for level in entry.reference:
                guide = pg.InfiniteLine(
                    level,
                    angle=0,
                    pen=pg.mkPen(self.view_palette.session_break, style=Qt.PenStyle.DashLine),
                )
                plot.addItem(guide)
        else:
            shown.pane = ""
            plot = self.view.price_plot
        from app.gui.chart.overlay_item import LodBandItem, LodLineItem

        banded = set(entry.band or ())
        if entry.band is not None:
            upper, lower = entry.band
            band = LodBandItem(lines[upper], lines[lower], shown.colour, name=shown.spec.label())
            plot.addItem(band)
            band.setZValue(-1)  # under the candles and the other lines
            shown.items.append(band)
            self._readout(shown, f"{shown.spec.label()} {upper}", band.upper_at)
            self._readout(shown, f"{shown.spec.label()} {lower}", band.lower_at)
        for name, values in lines.items():
            if name in banded:
                continue
            item = LodLineItem(values, shown.colour, name=name)
            plot.addItem(item)
            shown.items.append(item)
            label = shown.spec.label() if len(lines) == 1 else f"{shown.spec.label()} {name}"
            self._readout(shown, label, item.value_at)

    def _readout(
        self, shown: ShownIndicator, label: str, value_at: Callable[[int], float | None]
    ) -> None:
        self.view.add_readout(label, value_at, shown.colour)
        shown.readouts.append(label)

    def _undraw_indicator(self, shown: ShownIndicator) -> None:
        for label in shown.readouts:
            self.view.remove_readout(label)
        if shown.pane:
            self.view.remove_subpane(shown.pane)
        else:
            for item in shown.items:
                self.view.price_plot.removeItem(item)
        shown.items.clear()
        shown.readouts.clear()

    # -- trades and drawings ---------------------------------------------------------------
    def _place_trades(self) -> None:
        if self.trade_item is not None:
            self.view.price_plot.removeItem(self.trade_item)
            self.trade_item = None
        if self.bars is None or self.trades is None or not len(self.trades):
            return
        from app.gui.chart.trade_markers import TradeMarkersItem

        entry, exit_ = self.trades.on_bars(self.bars.ts_ns)
        item = TradeMarkersItem(self._trade_colours())
        item.set_trades(entry, self.trades.entry_price, exit_, self.trades.exit_price,
                        self.trades.side)  # fmt: skip
        self.view.price_plot.addItem(item)
        self.trade_item = item

    def _trade_colours(self) -> TradeColours:
        from app.gui.chart.trade_markers import TradeColours

        up, down = self.view_palette.up, self.view_palette.down
        return TradeColours(buy=up, sell=down, win=up, loss=down)

    def _x_of_time(self, ts_ns: int) -> float:
        """A time as a bar position, fractional within its bar (drawings are kept by time
        and price, so a line drawn at 09:17 on 1m bars sits 2/5 into the 09:15 bar at 5m)."""
        if self.bars is None or not len(self.bars):
            return 0.0
        index = self.view.index_at_time(ts_ns)
        into = (ts_ns - self.view.time_at_index(index)) / self._bar_ns()
        return float(index) + min(max(into, 0.0), 0.999)

    def _time_of_x(self, x: float) -> int:
        if self.bars is None or not len(self.bars):
            return 0
        index = math.floor(x)
        return self.view.time_at_index(index) + round((x - index) * self._bar_ns())

    def _bar_ns(self) -> int:
        return Timeframe(self.state.timeframe).length_ns

    def _save_drawings(self) -> None:
        if self.bars is None:
            return
        problem = self.drawing_store.save(self.bars.key, self.drawings.to_records())
        if problem:
            self.info.setText(problem)

    # -- small helpers ------------------------------------------------------------------------
    def _remember(self) -> None:
        texts = tuple(shown.spec.to_text() for shown in self.indicators)
        self.state = replace(self.state, indicators=texts)
        self.ctx.settings.save_chart_state(self.panel_id, self.state)

    def _symbol_entered(self) -> None:
        self.open_symbol(self.symbol_box.text())

    def _store_keys(self) -> list[str]:
        store = self.ctx.store
        if store is None:
            return []
        try:
            series = store.list_series()
        except StoreError:
            return []
        return sorted({f"{s.exchange}:{s.symbol}" for s in series})

    def _enable_timeframes(self, key: str) -> None:
        store = self.ctx.store
        able = set(possible_timeframes(store, key)) if store is not None else set()
        model = self.timeframe_box.model()
        for row, tf in enumerate(CHART_TIMEFRAMES):
            item = model.item(row)  # type: ignore[attr-defined]
            if item is not None:
                item.setEnabled(tf in able)
                item.setToolTip("" if tf in able else f"{key} has no bars that make {tf} bars")

    @staticmethod
    def _tf_label(timeframe: str) -> str:
        return _label(timeframe)


@dataclass(frozen=True)
class Loaded:
    """A read's outcome: the bars, and a note when they are not quite what was asked."""

    bars: ChartBars
    asked: str  # the timeframe asked for: kept as the chart's choice after a fallback
    note: str = ""


def _reading(store: MarketStore, wanted: ChartState) -> Callable[[Any], Loaded | str]:
    """The job: the bars, or the trader-facing reason there are none. A timeframe the
    instrument's stored bars cannot give (1m of a bhavcopy-only symbol) falls back to the
    finest one they can, and says so, rather than showing nothing."""

    def work(_control: Any) -> Loaded | str:
        try:
            able = possible_timeframes(store, wanted.key)
            timeframe = able[0] if able and wanted.timeframe not in able else wanted.timeframe
            bars = load_chart_bars(store, wanted.key, timeframe, wanted.adjusted)
            note = (
                f"{bars.key} has no bars that make {_label(wanted.timeframe)} bars: "
                f"showing {_label(timeframe)}"
                if timeframe != wanted.timeframe
                else ""
            )
        except StoreError as exc:
            return str(exc)
        if not len(bars):
            return f"No {_label(timeframe)} bars of {wanted.key} in the store."
        return Loaded(bars, wanted.timeframe, note)

    return work


def _label(timeframe: str) -> str:
    return TIMEFRAME_LABELS.get(timeframe, timeframe)


def _dimmer(colour: str) -> str:
    return f"{colour}99" if len(colour) == 7 else colour


SPEC = register_panel(
    PanelSpec(
        "chart",
        "Chart",
        lambda ctx: ChartPanel(ctx, "chart"),
        area=Qt.DockWidgetArea.RightDockWidgetArea,
        tab_with="data",  # the big area: the chart in front once there is data
        order=25,
        shortcut="Ctrl+Shift+C",
        default_size=960,  # most of the width: the chart is where a trader looks
        instance_factory=lambda ctx, panel_id: ChartPanel(ctx, panel_id),
    )
)
