"""The backtest wizard on a real store, driven page by page offscreen: it lists reference
and workspace strategies with a parameter form from their Params (bad values refused),
instruments and their coverage from the store, dates limited to what is stored; the run goes
through the job runner into a worker process, shows the engine's progress, and its report
has the same trades as run_backtest in this process. A strategy that raises or a bad
parameter ends in a message naming what; Cancel stops a running backtest within a second."""

from __future__ import annotations

import json
import time
from datetime import date

import numpy as np
import pytest
from PySide6.QtWidgets import QLineEdit

from app.gui.wizard import BacktestWizard, open_backtest_wizard
from engine.backtest import BacktestConfig, run_backtest
from engine.data.demo import demo_batch, generate_demo
from engine.data.run_history import SpooledReport
from engine.data.stored_bars import choose_bars
from engine.ist import ist_iso
from strategies.reference.sma_crossover import SmaCrossover

SESSIONS = 12

RAISES = """\
from strategies.sdk import BarView, Param, Strategy


class Raises(Strategy):
    name = "raises"
    when = Param(200, min=1, help="the bar it fails on")

    def on_bar(self, bar: BarView) -> None:
        if bar.index == self.when:
            raise KeyError("no such level")
"""

SLOW = """\
import time

from strategies.sdk import BarView, Strategy


class Slow(Strategy):
    name = "slow"

    def on_bar(self, bar: BarView) -> None:
        time.sleep(0.002)
"""


@pytest.fixture(scope="module")
def demo_series():
    return generate_demo(count=3, days=SESSIONS)  # 3 x 12 sessions of 375 one-minute bars


@pytest.fixture
def ctx(make_ctx, demo_series):
    made = make_ctx()
    assert made.store is not None
    made.store.import_batch(demo_batch(demo_series))
    made.workspace.strategies_dir.mkdir(parents=True, exist_ok=True)
    (made.workspace.strategies_dir / "raises.py").write_text(RAISES)
    (made.workspace.strategies_dir / "slow.py").write_text(SLOW)
    return made


def wizard_on(ctx, qtbot, prefill=None) -> BacktestWizard:
    wizard = BacktestWizard(ctx, prefill)
    qtbot.addWidget(wizard)
    wizard.resize(900, 650)
    wizard.show()
    return wizard


def to_summary(wizard: BacktestWizard, symbols: list[str]) -> None:
    wizard.next()
    wizard.instruments_page.set_checked(symbols)
    assert wizard.instruments_page.isComplete()
    for _ in range(3):
        wizard.next()
    assert wizard.currentPage() is wizard.summary_page


def field(wizard: BacktestWizard, name: str) -> QLineEdit:
    widget = wizard.strategy_page.form.fields[name]
    assert isinstance(widget, QLineEdit)
    return widget


def test_the_strategy_page_lists_both_kinds_and_builds_the_form(ctx, qtbot):
    wizard = wizard_on(ctx, qtbot, {"strategy": "sma_crossover", "params": {"fast": 12}})
    labels = [c.label for c in wizard.strategy_page.choices]
    assert "sma_crossover  (reference)" in labels and "raises  (yours)" in labels
    assert field(wizard, "fast").text() == "12" and field(wizard, "slow").text() == "30"
    assert "fast simple moving average" in field(wizard, "fast").toolTip()
    assert wizard.strategy_page.isComplete()
    field(wizard, "fast").setText("0")  # below min=1
    assert not wizard.strategy_page.isComplete()
    assert "parameter fast=0: must be >= 1" in wizard.strategy_page.errors.text()
    field(wizard, "fast").setText("seven")
    assert "'seven' is not a valid int" in wizard.strategy_page.errors.text()
    field(wizard, "fast").setText("7")
    assert wizard.strategy_page.isComplete() and wizard.strategy_page.form.values()["fast"] == 7


def test_a_workspace_strategy_is_prefilled_by_name(ctx, qtbot):
    wizard = wizard_on(ctx, qtbot, {"strategy": "raises", "params": {"when": "5"}})
    assert wizard.strategy_page.cls is not None and wizard.strategy_page.cls.name == "raises"
    assert field(wizard, "when").text() == "5"


def test_instruments_and_dates_come_from_the_store(ctx, qtbot, demo_series):
    wizard = wizard_on(ctx, qtbot, {"strategy": "sma_crossover"})
    wizard.next()
    page = wizard.instruments_page
    keys = sorted(page.coverage)
    assert keys == sorted(f"NSE:{s.symbol}" for s in demo_series)
    assert not page.isComplete()  # nothing ticked yet
    page.set_checked([demo_series[0].symbol])
    wizard.next()
    period = wizard.period_page
    timeframes = [period.timeframe.itemData(i) for i in range(period.timeframe.count())]
    assert timeframes == ["1m", "3m", "5m", "15m", "30m", "60m", "1d"]  # made from 1m
    first = date.fromisoformat(ist_iso(demo_series[0].ts[0])[:10])
    last = date.fromisoformat(ist_iso(demo_series[0].ts[-1])[:10])
    assert period.span() == (first, last)
    assert period.start.minimumDate().toPython() == first
    assert period.end.maximumDate().toPython() == last
    assert "4,500 bars" in period.coverage.text()


def test_a_run_reports_progress_and_trades_as_run_backtest(ctx, qtbot, demo_series):
    wizard = wizard_on(ctx, qtbot, {"strategy": "sma_crossover", "params": {"fast": 5}})
    symbols = [s.symbol for s in demo_series[:2]]
    to_summary(wizard, symbols)
    wizard.period_page.timeframe.setCurrentIndex(wizard.period_page.timeframe.findData("5m"))
    wizard.config_page.costs.setCurrentIndex(wizard.config_page.costs.findData("none"))
    wizard.summary_page.initializePage()
    with qtbot.waitSignal(wizard.run_finished, timeout=90_000) as finished:
        wizard.accept()
        assert wizard.running and not wizard.button(wizard.WizardButton.FinishButton).isEnabled()
    report, job, prepared = finished.args
    assert job.timeframe == "5m" and job.params == {"fast": 5, "slow": 30, "quantity": 100}
    # the worker sent the run's history record with it, encoded there
    assert prepared.columns["params"] == {"fast": 5, "slow": 30, "quantity": 100}
    assert prepared.columns["source_hash"] == wizard.source_hash is not None
    # ... and spooled it to a file, for the store to read without the GIL
    spooled = prepared.report
    assert isinstance(spooled, SpooledReport)
    assert json.loads(spooled.path.read_text())["report"]["trades"] == [
        t.as_json() for t in report.trades
    ]
    prepared.discard()
    assert not spooled.path.exists()
    assert job.config.costs == "none"
    chosen = choose_bars(ctx.store, list(job.symbols), "5m", job.start, job.end)
    here = run_backtest(
        SmaCrossover, {"fast": 5}, chosen.series, BacktestConfig(costs="none"), job.instruments
    )
    assert len(here.trades) > 5
    assert [t.as_json() for t in report.trades] == [t.as_json() for t in here.trades]
    total = len(np.unique(np.concatenate([s.ts for s in chosen.series])))  # the timeline
    assert total == 900 and wizard.last_progress == (total, total)  # the engine's, to the end
    assert not wizard.isVisible()  # done: the wizard closed


def test_a_strategy_that_raises_is_named_in_an_error_message(ctx, qtbot, demo_series):
    wizard = wizard_on(ctx, qtbot, {"strategy": "raises", "params": {"when": "150"}})
    to_summary(wizard, [demo_series[0].symbol])
    with qtbot.waitSignal(wizard.run_failed, timeout=90_000) as failed:
        wizard.accept()
    message = failed.args[0]
    path = ctx.workspace.strategies_dir / "raises.py"
    assert "strategy raises raised KeyError: 'no such level'" in message
    assert f"{path.resolve()}:10" in message and "bar 150" in message
    assert wizard.error_box is not None and wizard.error_box.isVisible()
    assert message in wizard.error_box.informativeText()
    assert wizard.isVisible() and not wizard.running  # stays, to fix and run again
    assert wizard.button(wizard.WizardButton.FinishButton).isEnabled()


def test_a_bad_parameter_the_form_cannot_see_fails_with_its_message(ctx, qtbot, demo_series):
    """fast >= slow is refused by the strategy's init(), in the worker."""
    wizard = wizard_on(ctx, qtbot, {"strategy": "sma_crossover", "params": {"fast": 40}})
    to_summary(wizard, [demo_series[0].symbol])
    with qtbot.waitSignal(wizard.run_failed, timeout=90_000) as failed:
        wizard.accept()
    assert "fast (40) must be shorter than slow (30)" in failed.args[0]


def test_cancel_stops_a_running_backtest_within_a_second(ctx, qtbot, demo_series):
    wizard = open_backtest_wizard(ctx, None, {"strategy": "slow"})
    qtbot.addWidget(wizard)
    to_summary(wizard, [demo_series[0].symbol])
    wizard.accept()
    qtbot.waitUntil(lambda: wizard.last_progress[0] > 0, timeout=90_000)
    assert wizard.summary_page.bar.maximum() == wizard.last_progress[1] == 4_500
    asked = time.monotonic()
    with qtbot.waitSignal(wizard.run_cancelled, timeout=5_000):
        wizard.reject()  # Cancel while running cancels the run, not the wizard
    assert time.monotonic() - asked < 1.0
    assert wizard.isVisible() and not wizard.running
    assert "Cancelled" in wizard.summary_page.status.text()
    assert ctx.jobs.running() == []
