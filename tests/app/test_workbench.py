"""The research panels work together in the main window: a saved run reopened from the
history shows in the results and its trades on the chart; a trade picked in the results moves
the chart to it; a finished run is saved and listed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from engine.backtest import BacktestConfig
from engine.backtest.job import BacktestJob, run_job
from engine.data import run_history
from engine.data.demo import demo_batch, generate_demo
from engine.strategy.loader import StrategyRef


@pytest.fixture(scope="module")
def demo_series():
    return generate_demo(count=2, days=8)


@pytest.fixture
def window(make_window, demo_series, qtbot):
    made = make_window()
    made.ctx.store.import_batch(demo_batch(demo_series))
    made.show()
    return made


def a_run(series):
    job = BacktestJob(
        StrategyRef(module="strategies.reference.sma_crossover", class_name="SmaCrossover"),
        (series.symbol,),
        config=BacktestConfig(costs="bps", cost_bps=Decimal(3)),
    )
    return job, run_job(job, [series])


def test_a_saved_run_reopens_in_the_results_with_its_trades_on_the_chart(
    window, demo_series, qtbot
):
    series = max(demo_series, key=lambda s: s.symbol)
    job, report = a_run(series)
    run_id = run_history.record_run(window.ctx.store, job, report)
    results = window.docks["results"].widget()
    chart = window.docks["chart"].widget()
    history = window.docks["history"].widget()
    history.refresh()
    qtbot.waitUntil(lambda: chart.bars is not None, timeout=20_000)  # the first instrument
    with qtbot.waitSignal(chart.done.loaded, timeout=20_000):
        history.open_run_requested.emit(run_id)
    qtbot.waitUntil(lambda: results.result is not None, timeout=20_000)
    assert [t.entry_price for t in results.result.trades] == [t.entry_price for t in report.trades]
    assert chart.bars.key == f"NSE:{series.symbol}"
    qtbot.waitUntil(  # placed by a job, off the GUI thread
        lambda: chart.trade_item is not None
        and len(chart.trade_item.trades_in_view(-1, chart.view.bar_count)) == len(report.trades),
        timeout=10_000,
    )

    trade = report.trades[5]
    entry_ns, exit_ns = (int(series.ts[trade.entry_bar]), int(series.ts[trade.exit_bar]))
    results.trade_selected.emit(series.symbol, entry_ns, exit_ns)  # a click in the list
    left, right = chart.view.x_range()
    assert left < trade.entry_bar and trade.exit_bar < right
    assert right - left < 500  # zoomed to the trade, not the whole series


def test_a_finished_run_is_shown_and_saved_in_the_history(window, demo_series, qtbot):
    series = min(demo_series, key=lambda s: s.symbol)
    job, report = a_run(series)
    bench = window.workbench
    bench.run_finished(report, job)
    assert window.docks["results"].widget().result is report
    qtbot.waitUntil(lambda: bench.last_saved is not None, timeout=20_000)
    saved = run_history.load_run(window.ctx.store, bench.last_saved)
    assert saved.report.as_json(curve=False)["trades"] == report.as_json(curve=False)["trades"]
    history = window.docks["history"].widget()
    qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=10_000)


@pytest.mark.parametrize("spooled", [False, True], ids=["in-memory", "spooled"])
def test_a_run_prepared_by_the_worker_is_stored_as_record_run_stores_it(
    window, demo_series, qtbot, tmp_path, spooled
):
    """The wizard's worker encodes the history record (run_and_prepare) and spools it to a
    file; the app only inserts it (the store reading the file itself). What is stored must
    be what the app would have encoded itself, whichever way it came, and the file goes."""
    series = min(demo_series, key=lambda s: s.symbol)
    job, report = a_run(series)
    prepared = run_history.prepare_record(job, report)
    assert isinstance(prepared.report, str) and json.loads(prepared.report)["report"]
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    if spooled:
        prepared = run_history.spool(prepared, spool_dir)
        assert [p.suffix for p in spool_dir.iterdir()] == [".json"]
    bench = window.workbench
    bench.run_finished(report, job, prepared)
    qtbot.waitUntil(lambda: bench.last_saved is not None, timeout=20_000)
    by_worker = run_history.load_run(window.ctx.store, bench.last_saved)
    by_app = run_history.load_run(
        window.ctx.store, run_history.record_run(window.ctx.store, job, report)
    )
    assert by_worker.report.as_json() == by_app.report.as_json() == report.as_json()
    assert by_worker.info.params == by_app.info.params
    assert by_worker.info.source_hash == by_app.info.source_hash is not None
    assert list(spool_dir.iterdir()) == []  # the spooled file was consumed


def test_closing_the_window_as_a_run_is_shown_still_saves_it(window, demo_series, qtbot):
    """The save waits for the results to be on screen; a close in between submits it first."""
    series = min(demo_series, key=lambda s: s.symbol)
    job, report = a_run(series)
    bench = window.workbench
    bench.run_finished(report, job)
    assert bench.pending == 2  # marks and save: held back until the results have painted
    window.close()
    assert bench.pending == 0
    names = [j.name for j in window.ctx.jobs.running()]
    assert bench.last_saved is not None or any(n.startswith("Save run") for n in names)
    if window.close_question is not None:
        window.answer_close("after")
    qtbot.waitUntil(lambda: bench.last_saved is not None, timeout=20_000)
    assert run_history.load_run(window.ctx.store, bench.last_saved).report.as_json() == (
        report.as_json()
    )
