"""`artha strategies list|new` and strategies named from the workspace (issue 12, item 4):
the real console script in a subprocess, a real workspace folder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from strategies.reference import REFERENCE_STRATEGIES
from tests.app.backtest_cli_helpers import ARTHA


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run([ARTHA, *args], capture_output=True, text=True, env=env, timeout=180)


def test_new_writes_a_template_that_lists_and_backtests_as_written(tmp_path, csv_file):
    home = tmp_path / "ws"
    made = cli("strategies", "new", "ema_trend", home=home)
    assert made.returncode == 0, made.stderr
    path = home / "strategies" / "ema_trend.py"
    assert made.stdout.splitlines()[0] == f"wrote {path}" and path.is_file()
    listed = json.loads(cli("strategies", "list", "--json", "-", home=home).stdout)
    (mine,) = listed["workspace"]
    assert (mine["name"], mine["class"], mine["path"]) == ("ema_trend", "EmaTrend", str(path))
    assert [p["name"] for p in mine["params"]] == ["fast", "slow", "quantity", "stop"]
    (reference,) = [r for r in listed["reference"] if r["name"] == "sma_crossover"]
    assert reference["params"][0] == {
        "name": "fast",
        "type": "int",
        "default": 10,
        "min": 1,
        "max": 500,
        "choices": None,
        "help": "bars in the fast simple moving average",
    }
    run = cli(
        "backtest", "--strategy", "ema_trend", "--data", str(csv_file), "--json", "-", home=home
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["strategy"] == "EmaTrend" and len(report["trades"]) > 5
    assert report["rejected_orders"] == 0


def test_a_file_that_does_not_load_is_listed_with_its_line_not_a_crash(tmp_path):
    home = tmp_path / "ws"
    (home / "strategies").mkdir(parents=True)
    (home / "strategies" / "broken.py").write_text(
        "from strategies.sdk import Strategy\n\nclass Broken(Strategy)\n    pass\n"
    )
    listed = cli("strategies", "list", home=home)
    assert listed.returncode == 0, listed.stderr
    (line,) = [x for x in listed.stdout.splitlines() if x.strip().startswith("broken")]
    assert "does not load" in line and "broken.py:3: syntax error" in line
    assert "sma_crossover" in listed.stdout and "Traceback" not in listed.stderr


def test_new_refuses_bad_names_reference_names_and_existing_files(tmp_path):
    home = tmp_path / "ws"
    for name, says in (
        ("Ema-Trend", "is not a strategy name"),
        ("class", "is not a strategy name"),
        ("sma_crossover", "is a reference strategy's name"),
    ):
        out = cli("strategies", "new", name, home=home)
        assert out.returncode == 2 and says in out.stderr
    assert cli("strategies", "new", "mine", home=home).returncode == 0
    before = (home / "strategies" / "mine.py").read_text()
    again = cli("strategies", "new", "mine", home=home)
    assert again.returncode == 2 and "exists already: nothing was written" in again.stderr
    assert (home / "strategies" / "mine.py").read_text() == before


def test_an_unknown_name_lists_the_reference_and_the_workspace_ones(tmp_path, csv_file):
    home = tmp_path / "ws"
    cli("strategies", "new", "mine", home=home)
    out = cli("backtest", "--strategy", "nope", "--data", str(csv_file), home=home)
    assert out.returncode == 2
    known = ", ".join(sorted(REFERENCE_STRATEGIES))  # sma_crossover and the others shipped
    assert "sma_crossover" in known
    assert f"unknown strategy 'nope': use a reference name ({known}), one of yours in" in (
        out.stderr
    )
    assert "(mine)" in out.stderr


COSTLY = '''"""SMA crossover that declares its own costs."""
from decimal import Decimal

from strategies.reference.sma_crossover import SmaCrossover
from strategies.sdk import TradingCosts


class Costly(SmaCrossover):
    name = "costly"
    trading_costs = TradingCosts(costs="bps", cost_bps=Decimal(25), slippage_bps=Decimal(10))
'''


def test_a_strategys_declared_costs_apply_unless_the_command_line_names_its_own(tmp_path, csv_file):
    home = tmp_path / "ws"
    (home / "strategies").mkdir(parents=True)
    (home / "strategies" / "costly.py").write_text(COSTLY)

    def run(*extra: str) -> dict:
        done = cli(
            "backtest", "--strategy", "costly", "--data", str(csv_file), "--json", "-", *extra,
            home=home,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    declared = run()
    assert (declared["config"]["costs"], declared["config"]["slippage_bps"]) == ("bps", "10")
    # said on the command line, even at the default value, it is the user's choice
    chosen = run("--costs", "none", "--slippage-bps", "0")
    assert (chosen["config"]["costs"], chosen["config"]["slippage_bps"]) == ("none", "0")
    assert chosen["total_charges"] == "0.00" and declared["total_charges"] != "0.00"
    bps_only = run("--slippage-bps", "0")
    assert (bps_only["config"]["costs"], bps_only["config"]["slippage_bps"]) == ("bps", "0")


def test_the_plain_list_keeps_each_strategys_columns_aligned(tmp_path):
    """Long parameter names (max_position_size_percent) widen the name column instead of
    pushing their own row's type, default and bounds out of line."""
    listed = cli("strategies", "list", home=tmp_path / "ws")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    start = lines.index(next(x for x in lines if x.startswith("  ema_rsi_breakout ")))
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith("      "):
            break
        rows.append(line)
    names = [row.split()[0] for row in rows]
    assert "max_position_size_percent" in names and "rsi_period" in names
    # the type column starts at the same place on every row
    type_at = {
        row.index(" int " if " int " in row else " float " if " float " in row else " str ")
        for row in rows
    }
    assert len(type_at) == 1, rows
