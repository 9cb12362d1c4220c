"""`artha runs`, the real console script on a workspace holding real backtests, saved the way
`artha backtest` saves them (`record_cli_run` with its BacktestJob and the run_job report)."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest

from app.commands.output import inr
from app.commands.runs import record_cli_run
from engine.backtest import BacktestConfig, BacktestJob, BacktestReport, run_job
from engine.data import run_history as rh
from engine.data.demo import generate_demo
from engine.data.store import MarketStore
from engine.strategy.loader import StrategyRef
from engine.workspace import Workspace
from tests.app.test_cli import run

SMA = StrategyRef.of_module("strategies.reference.sma_crossover", "SmaCrossover")


@pytest.fixture(scope="module")
def reports() -> list[tuple[BacktestJob, BacktestReport]]:
    series = generate_demo(count=1, days=5)[0]
    jobs = [
        BacktestJob(SMA, (series.symbol,), {"fast": "10"}, BacktestConfig(), "1m"),
        BacktestJob(
            SMA, (series.symbol,), {"fast": "5"}, BacktestConfig(slippage_bps=Decimal(2)), "1m"
        ),
    ]
    return [(job, run_job(job, [series])) for job in jobs]


@pytest.fixture
def home(tmp_path, reports) -> Path:
    """A workspace with the two runs saved as `artha backtest` saves them."""
    root = tmp_path / "ws"
    args = argparse.Namespace(workspace=str(root), command="backtest")
    ids = [record_cli_run(args, job, report).run_id for job, report in reports]
    assert ids == [1, 2]
    return root


def test_list_show_and_json(home, reports):
    out = run("runs", "list", home=home)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "Name", "Symbols"]
    assert [line.split()[0] for line in lines[1:]] == ["2", "1"]  # newest first
    net = reports[0][1].metrics.total_net_pnl
    assert inr(net) in lines[2]  # the older run's net P&L, grouped the Indian way

    listed = json.loads(run("runs", "list", "--json", "-", home=home).stdout)
    assert [r["id"] for r in listed] == [2, 1]
    first = listed[1]
    assert first["params"] == {"fast": 10, "slow": 30, "quantity": 100}
    assert first["summary"]["net_pnl"] == str(net)  # exact money as a string
    assert first["strategy_ref"] == "strategies.reference.sma_crossover:SmaCrossover"
    assert len(first["source_hash"]) == 64 and first["data_first"].endswith("+00:00")

    shown = run("runs", "show", "1", home=home)
    assert shown.returncode == 0, shown.stderr
    assert "Run 1: sma_crossover" in shown.stdout
    assert "parameters fast=10, slow=30, quantity=100" in shown.stdout
    assert f"Trades: {len(reports[0][1].trades)} closed" in shown.stdout
    document = json.loads(run("runs", "show", "1", "--json", "-", home=home).stdout)
    assert document["report"] == json.loads(json.dumps(reports[0][1].as_json()))
    assert document["run"]["id"] == 1


def test_rename_tag_delete(home):
    assert run("runs", "rename", "1", "baseline run", home=home).stdout.strip() == (
        "run 1 is now 'baseline run'"
    )
    assert "tags: keep, nifty" in run("runs", "tag", "1", "keep", "nifty", home=home).stdout
    assert "tags: nifty" in run("runs", "tag", "1", "keep", "--remove", home=home).stdout
    tagged = json.loads(run("runs", "list", "--tag", "nifty", "--json", "-", home=home).stdout)
    assert [(r["id"], r["name"], r["tags"]) for r in tagged] == [(1, "baseline run", ["nifty"])]
    out = run("runs", "delete", "2", home=home)
    assert out.returncode == 0 and "deleted run 2" in out.stdout
    assert [r["id"] for r in json.loads(run("runs", "list", "--json", "-", home=home).stdout)] == [
        1
    ]


def test_compare_shows_what_differs(home, reports):
    out = run("runs", "compare", "1", "2", home=home)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Parameters that differ:" in text and "fast" in text
    assert "slippage_bps" in text and "Setup that differ" not in text
    net_line = next(line for line in text.splitlines() if line.startswith("Net P&L"))
    assert net_line.endswith("*")
    compared = json.loads(run("runs", "compare", "1", "2", "--json", "-", home=home).stdout)
    assert compared["params"] == [{"key": "fast", "a": 10, "b": 5}]
    assert compared["config"] == [{"key": "slippage_bps", "a": "0", "b": "2"}]
    net = next(m for m in compared["metrics"] if m["key"] == "net_pnl")
    assert (net["a"], net["b"]) == tuple(str(report.metrics.total_net_pnl) for _, report in reports)


def test_bad_input_is_named_with_exit_code_2(home):
    for args, message in (
        (("runs", "show", "99"), "no run 99 in"),
        (("runs", "delete", "99"), "no run 99 in"),
        (("runs", "compare", "1", "99"), "no run 99 in"),
        (("runs", "rename", "1", "  "), "a run's name cannot be empty"),
        (("runs", "show", "x"), "a run id is a number"),
        (("runs", "tag", "1", "y" * 41), "a tag is at most 40 characters"),
    ):
        out = run(*args, home=home)
        assert out.returncode == 2, args
        assert message in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_a_damaged_saved_report_still_shows_its_summary(home):
    with MarketStore.open(Workspace(home).database_path) as store, store._cursor() as cur:
        cur.execute("DELETE FROM run_curves WHERE run_id = 1")  # an old npz that did not read
        cur.execute("UPDATE backtest_runs SET curve = 'junk'::BLOB WHERE id = 1")
    out = run("runs", "show", "1", home=home)
    assert out.returncode == 0, out.stderr
    assert "Net P&L (Rs)" in out.stdout
    assert "the saved report cannot be reopened" in out.stdout
    assert "artha runs delete 1" in out.stdout
    failed = run("runs", "show", "1", "--json", "-", home=home)
    assert failed.returncode == 2 and "cannot be read" in failed.stderr and not failed.stdout


def test_a_busy_workspace_is_named_and_a_backtest_is_not_lost(home, reports):
    ws = Workspace(home)
    with ws.lock():
        out = run("runs", "list", home=home)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert str(home) in out.stderr
        job, report = reports[0]
        args = argparse.Namespace(workspace=str(home), command="backtest")
        recorded = record_cli_run(args, job, report)
    assert recorded.run_id is None
    assert recorded.message.startswith("the run was not saved in the run history:")
    recorded = record_cli_run(args, job, report, data_files=["bars/x.csv"])
    assert recorded.run_id == 3 and recorded.message == "saved as run 3 (artha runs show 3)"
    with MarketStore.open(ws.database_path, read_only=True) as store:
        assert rh.run_info(store, 3).config["data_files"] == [str(Path("bars/x.csv"))]


def test_an_empty_history_says_how_runs_get_there(tmp_path):
    out = run("runs", "list", home=tmp_path / "empty")
    assert out.returncode == 0, out.stderr
    assert "no saved runs: every `artha backtest` is saved here" in out.stdout
