"""The Results panel, a real widget offscreen, showing a real backtest."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from app.gui.results import ResultsPanel, TradeFilter
from app.gui.results.trades_model import COLUMNS, NET_COLUMN
from app.reports import Conventions
from app.reports.analysis import format_value
from engine.ist import ns_of
from engine.metrics import TradeArrays, compute_metrics
from tests.app.results.conftest import real_run

KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def panel(qtbot):
    widget = ResultsPanel()
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    return widget


def show(panel: ResultsPanel, qtbot, result, title: str = "") -> None:
    """Show `result` and wait for the curves, monthly table and trades that follow it."""
    with qtbot.waitSignal(panel.filled, timeout=10_000):
        panel.show_result(result, title)


def _metric(panel: ResultsPanel, label: str) -> tuple[str, str]:
    model = panel.metrics_model
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == label:
            return model.index(row, 1).data(), model.index(row, 2).data()
    raise AssertionError(f"no metric row {label!r}")


def test_empty_panel_says_how_to_get_a_run(panel):
    assert panel.stack.currentIndex() == 0
    assert "artha backtest" in panel.empty.text()
    assert "No backtest" in panel.empty.text()


def test_registered_beside_the_data_panel():
    from app.gui.panels.registry import panel_specs

    spec = next(s for s in panel_specs() if s.panel_id == "results")
    assert (spec.title, spec.tab_with, spec.order, spec.shortcut) == (
        "Results",
        "data",
        35,
        "Ctrl+Shift+R",
    )
    assert spec.area == Qt.DockWidgetArea.RightDockWidgetArea


def test_shows_the_runs_figures(panel, result, qtbot):
    show(panel, qtbot, result, "SMA on SYNTH")
    assert panel.stack.currentIndex() == 1
    assert panel.heading.text() == "SMA on SYNTH"
    m = result.metrics
    assert _metric(panel, "Sharpe") == (
        format_value("ratio", m.gross.sharpe),
        format_value("ratio", m.net.sharpe),
    )
    assert _metric(panel, "Closed trades") == (f"{len(result.trades):,}",) * 2
    net_pnl = result.final_equity - result.config.capital
    assert panel.kpis["Net P&L"].value.text().replace("₹", "").replace(",", "") == f"{net_pnl}"
    assert panel.trades_model.rowCount() == len(result.trades) > 100
    assert panel.badge.text() == result.weekly.badge.value
    assert panel.reason.text() in result.weekly.summary
    years = {t.exit_time.year for t in result.trades}
    assert years <= set(panel.monthly_model.table.years)


def test_monthly_cells_chain_to_the_total_return(panel, result, qtbot):
    """Compounding every month's return gives the run's total net return."""
    show(panel, qtbot, result)
    table = panel.monthly_model.table
    growth = math.prod(1 + v for y in table.years for v in table.cells[y] if v is not None)
    assert growth - 1 == pytest.approx(result.metrics.net.total_return, abs=1e-9)


def test_trades_sort_and_filter(panel, result, qtbot):
    show(panel, qtbot, result)
    model = panel.trades_model
    panel.trades_view.sortByColumn(NET_COLUMN, Qt.SortOrder.DescendingOrder)
    best = max(result.trades, key=lambda t: t.net_pnl)
    assert model.trade_at(0).net_pnl == best.net_pnl
    panel.set_trade_filter(TradeFilter(outcome="winners"))
    winners = [t for t in result.trades if t.net_pnl > 0]
    assert model.rowCount() == len(winners) > 0
    assert all(model.trade_at(r).net_pnl > 0 for r in range(model.rowCount()))
    assert panel.trades_label.text() == f"Trades ({len(winners):,} of {len(result.trades):,})"
    panel.outcome_filter.setCurrentIndex(panel.outcome_filter.findData("losers"))
    assert model.rowCount() == sum(t.net_pnl < 0 for t in result.trades)
    panel.side_filter.setCurrentIndex(panel.side_filter.findData("short"))
    assert model.rowCount() == 0  # the reference strategy is long only
    panel.set_trade_filter(TradeFilter(symbol="SYNTH"))
    assert model.rowCount() == len(result.trades)
    panel.trades_view.sortByColumn(4, Qt.SortOrder.AscendingOrder)  # entry time
    entries = [model.trade_at(r).entry_time for r in range(model.rowCount())]
    assert entries == sorted(t.entry_time for t in result.trades)


def test_cells_show_exact_rupees(panel, result, qtbot):
    show(panel, qtbot, result)
    trade = result.trades[0]
    row = [panel.trades_model.index(0, c).data() for c in range(len(COLUMNS))]
    assert row[1] == trade.symbol and row[10] == f"{trade.net_pnl:,.2f}"
    assert row[4] == trade.entry_time.strftime("%Y-%m-%d %H:%M")


def test_selecting_a_trade_emits_symbol_and_utc_ns(panel, result, qtbot):
    show(panel, qtbot, result)
    panel.trades_view.sortByColumn(NET_COLUMN, Qt.SortOrder.AscendingOrder)
    trade = panel.trades_model.trade_at(3)
    with qtbot.waitSignal(panel.trade_selected) as signal:
        index = panel.trades_model.index(3, 0)
        panel.trades_view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
    symbol, entry_ns, exit_ns = signal.args
    assert symbol == trade.symbol
    assert entry_ns == ns_of(trade.entry_time) and exit_ns == ns_of(trade.exit_time)
    assert datetime.fromtimestamp(entry_ns / 1e9, KOLKATA) == trade.entry_time


def test_conventions_recompute_through_the_engine(panel, result, qtbot):
    # the empty panel's form shows the defaults without loading the reports
    assert panel.sessions.value() == Conventions().periods_per_year
    show(panel, qtbot, result)
    panel.set_conventions(Conventions(periods_per_year=250, risk_free_rate=0.065))
    trades = TradeArrays.from_decimals(
        [t.gross_pnl for t in result.trades],
        [t.charges for t in result.trades],
        [ns_of(t.entry_time) for t in result.trades],
        [ns_of(t.exit_time) for t in result.trades],
    )
    expected = compute_metrics(
        result.curve, trades, result.config.capital, 250, risk_free_rate=0.065
    )
    assert _metric(panel, "Sharpe")[1] == format_value("ratio", expected.net.sharpe)
    assert _metric(panel, "Sortino")[0] == format_value("ratio", expected.gross.sortino)
    assert _metric(panel, "Sharpe")[1] != format_value("ratio", result.metrics.net.sharpe)
    # the form drives the same path (debounced)
    panel.risk_free.setValue(0.0)
    panel.sessions.setValue(252)
    qtbot.waitUntil(lambda: panel.conventions == Conventions(), timeout=2000)
    assert _metric(panel, "Sharpe")[1] == format_value("ratio", result.metrics.net.sharpe)


def test_var_level_against_an_independent_daily_reading(panel, result, qtbot):
    """VaR 99% from the panel equals -1st percentile of daily returns computed here from
    IST dates in plain Python (last equity per date, the first from the capital)."""
    show(panel, qtbot, result)
    panel.set_conventions(Conventions(var_level=0.99))
    closes: dict[object, float] = {}
    for ns, equity in zip(
        result.curve.timestamps.tolist(), result.curve.equity.tolist(), strict=True
    ):
        closes[datetime.fromtimestamp(ns / 1e9, KOLKATA).date()] = equity
    values = [float(result.config.capital), *closes.values()]
    daily = np.array([b / a - 1 for a, b in pairwise(values)])
    var99 = -float(np.percentile(daily, 1))
    assert _metric(panel, "VaR 99%")[1] == format_value("pct", var99)


def test_costs_itemise_to_the_ledger_total(panel, result, qtbot):
    show(panel, qtbot, result)
    assert panel.charges is None  # priced on first view, not on open
    panel.right_tabs.setCurrentIndex(1)
    summary = panel.charges
    assert summary is not None
    rows = panel.costs_model.rows
    labels = [r.label for r in rows]
    assert labels[:7] == [
        "Brokerage",
        "STT",
        "Exchange transaction",
        "SEBI turnover fee",
        "Stamp duty",
        "GST",
        "DP charges",
    ]
    assert rows[-1].label == "Total charges" and rows[-1].amount == result.total_charges
    assert sum((r.amount for r in rows[:-1]), Decimal(0)) == result.total_charges
    assert all(r.amount > 0 for r in rows[:6])  # Zerodha: every statutory charge applies


def test_theme_repaints(panel, result, qtbot):
    show(panel, qtbot, result)
    panel.apply_theme("dark")
    dark_bg = panel.curves.equity_plot.backgroundBrush().color().name()
    dark_cell = panel.monthly_model.index(0, 12).data(Qt.ItemDataRole.BackgroundRole).name()
    panel.apply_theme("light")
    assert panel.curves.equity_plot.backgroundBrush().color().name() != dark_bg
    light_cell = panel.monthly_model.index(0, 12).data(Qt.ItemDataRole.BackgroundRole).name()
    assert light_cell != dark_cell


def test_exports_from_the_panel(panel, result, tmp_path, qtbot):
    show(panel, qtbot, result, "Exported run")
    html = panel.export_html_to(tmp_path / "run.html")
    assert "Exported run" in html.read_text(encoding="utf-8")
    paths = panel.export_csv_to(tmp_path)
    assert [p.name for p in paths] == [
        "sma_crossover_SYNTH_trades.csv",
        "sma_crossover_SYNTH_metrics.csv",
    ]


def test_opening_a_run_sets_the_figures_at_once_and_the_rest_in_later_turns(qtbot, result):
    """The GUI thread is never held for the whole run: the header and figures at once, the
    curves, weekly bars, monthly table and trades one loop turn each, then `filled`."""
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    assert not panel.charts_built()  # empty and hidden: no plots built yet
    panel.show_result(result, "Now")
    assert panel.result is result and panel.heading.text() == "Now"
    assert panel.stack.currentIndex() == 1
    assert panel.kpis["Closed trades"].value.text() == f"{len(result.trades):,}"
    assert not panel.is_filled() and panel.trades_model.rowCount() == 0
    with qtbot.waitSignal(panel.filled, timeout=10_000):
        pass
    assert panel.is_filled() and panel.charts_built()
    assert panel.trades_model.rowCount() == len(result.trades)
    x, y = panel.curves.net_line.getData()  # the points on screen: about two a pixel
    equity = result.curve.equity.astype(float)
    assert 0 < len(x) < len(result.curve.timestamps)
    assert y.min() == equity.min() and y.max() == equity.max()  # every extreme kept
    assert x[0] == result.curve.timestamps[0] / 1e9
    from app.reports.analysis import drawdown_curve

    _, dd = panel.curves.drawdown_line.getData()  # set a loop turn after the equity
    expected = -100.0 * drawdown_curve(result.curve, float(result.config.capital))
    assert dd.min() == expected.min() and dd.max() == expected.max()


def test_a_new_equity_never_shows_beside_the_last_runs_drawdown(qtbot, result):
    """The equity and its drawdown are set a loop turn apart (each plot painted in a turn of
    its own): in between, the drawdown plot is empty, never the older run's."""
    from app.gui.results.charts import CurveCharts
    from app.reports.analysis import drawdown_curve

    charts = CurveCharts()
    qtbot.addWidget(charts)
    with pytest.raises(ValueError, match="set_equity first"):
        charts.set_drawdown(np.zeros(3))
    other = real_run(n=6_000, seed=3)
    charts.set_curve(other.curve, drawdown_curve(other.curve, float(other.config.capital)))
    assert len(charts.drawdown_line.getData()[0]) > 0
    charts.set_equity(result.curve)
    x, _ = charts.drawdown_line.getData()
    assert x is None or len(x) == 0
    assert charts.net_line.getData()[1].max() == result.curve.equity.astype(float).max()


def test_a_newer_run_replaces_what_is_left_of_the_older_one(qtbot, result):
    other = real_run(n=6_000, seed=3)
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.filled, timeout=10_000):
        panel.show_result(result)
    assert panel.curves.isVisible()
    with qtbot.waitSignal(panel.filled, timeout=10_000):
        panel.show_result(other, "Second")
        # the last run's curves are not painted in the new run's first frame (the costliest:
        # the page's layout and paint); they come back filled with this run's, in their step
        assert not panel.curves.isVisible()
    assert panel.result is other and panel.curves.isVisible()
    assert panel.trades_model.rowCount() == len(other.trades) != len(result.trades)
    panel.show_result(other)
    panel.show_result(result)  # while the older is still being filled
    panel.fill_now()  # the rest at once (no loop turn needed)
    assert panel.is_filled() and panel.trades_model.rowCount() == len(result.trades)
    assert panel.curves.isVisible()


def test_plots_are_built_when_the_panel_is_first_shown(qtbot):
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    assert not panel.charts_built()
    panel.show()
    qtbot.waitUntil(panel.charts_built, timeout=5_000)
    panel.apply_theme("light")
    assert panel.curves.equity_plot.backgroundBrush().color().name() == "#ffffff"


def test_the_heatmap_names_the_months_as_the_reports_do():
    """The heatmap keeps its own copy (its header is laid out before app.reports loads)."""
    from app.gui.results import heatmap
    from app.reports import analysis

    assert heatmap.MONTHS == analysis.MONTHS


def test_a_run_opens_showing_all_of_it_at_once(qtbot, result):
    """The curves hold only the points of the range on screen, so the time range is set to
    the whole run, not grown by pyqtgraph's auto-range: that grew it by its padding a step at
    a time, each step a redraw at a finer level of detail (about ten levels built, and as
    many paints, for a million-bar run). A second run replaces the first's range at once."""
    from app.gui.results.charts import CurveCharts
    from app.reports.analysis import drawdown_curve

    charts = CurveCharts()
    qtbot.addWidget(charts)
    charts.resize(900, 500)
    charts.show()
    qtbot.waitExposed(charts)
    for run in (real_run(n=6_000, seed=3), result):
        curve = run.curve
        charts.set_curve(curve, drawdown_curve(curve, float(run.config.capital)))
        for _ in range(20):  # let every range change and redraw it sets off happen
            qtbot.wait(10)
        first, last = curve.timestamps[0] / 1e9, curve.timestamps[-1] / 1e9
        for plot in (charts.equity_plot, charts.drawdown_plot):  # (x-linked, pixel aligned)
            x0, x1 = plot.getPlotItem().getViewBox().viewRange()[0]
            assert x0 < first and x1 > last  # the whole run, a margin either side
            assert first - x0 < 0.05 * (last - first) and x1 - last < 0.05 * (last - first)
        for _line, pyramid in charts.pyramids:
            assert len(pyramid.levels) <= 2, sorted(pyramid.levels)  # no step-by-step growth
