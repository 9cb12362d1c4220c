"""`artha backtest`, run as the real console script: readable report, JSON, determinism,
options that change the run, and user strategy files. Expected trades are recomputed
independently (backtest_cli_helpers.reference_run)."""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from tests.app.backtest_cli_helpers import (
    BARS,
    ISO_IST,
    N_BARS,
    ROUND_TRIP,
    SYMBOL,
    TRADE_KEYS,
    RefTrade,
    artha,
    iso_ist,
    normalised,
    reference_run,
    run_json,
    rupees,
    write_strategy,
)


# -- the readable report --------------------------------------------------------------------
def test_backtest_is_a_registered_command():
    from app.commands import COMMAND_MODULES

    assert "backtest" in COMMAND_MODULES


def test_readable_report_names_the_run_badge_and_trades(tmp_path, csv_file):
    out = artha("--strategy", "sma_crossover", "--data", str(csv_file), home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0] == "Backtest: sma_crossover (fast=10, slow=30, quantity=100)"
    first, last = iso_ist(BARS["ts"][0])[:16], iso_ist(BARS["ts"][-1])[:16]
    assert lines[1] == f"Data:     {SYMBOL}, 3,000 bars, {first} to {last} IST"
    assert "Capital            Rs 1,00,00,000.00" in lines

    badges = [line for line in lines if line.startswith("Weekly target:")]
    assert len(badges) == 1
    assert re.match(r"^Weekly target: (GREEN|AMBER|RED)  \S", badges[0]), badges[0]

    expected, _ = reference_run()
    assert len(expected) > 10
    closed = next(line for line in lines if line.startswith("Closed trades"))
    assert re.match(rf"^Closed trades\s+{len(expected)}\s+\(", closed), closed
    start = lines.index("Trades (first 10):")
    shown = lines[start + 1 : start + 11]
    for line, trade in zip(shown, expected[:10], strict=True):
        entry = iso_ist(BARS["ts"][trade.entry_bar])[:16].replace("T", " ")
        exit_ = iso_ist(BARS["ts"][trade.exit_bar])[:16].replace("T", " ")
        assert re.match(
            rf"^  long\s+100 {SYMBOL}  {entry} @ {rupees(trade.entry_paise)} -> "
            rf"{exit_} @ {rupees(trade.exit_paise)}  net Rs -?[\d,]+\.\d\d$",
            line,
        ), line
    assert lines[start + 11] == f"  ... {len(expected) - 10} more (see --json)"
    assert re.match(r"^Run took \d+\.\d{3} s$", lines[-1])


def test_report_badge_matches_the_json_badge(tmp_path, csv_file, default_report):
    out = artha("--strategy", "sma_crossover", "--data", str(csv_file), home=tmp_path)
    badge = re.search(r"^Weekly target: (\w+)", out.stdout, re.MULTILINE)
    assert badge is not None
    assert badge.group(1) == default_report["weekly"]["badge"]
    assert default_report["weekly"]["badge"] in {"GREEN", "AMBER", "RED"}


def test_closed_trades_line_adds_up(tmp_path, csv_file, default_report):
    assert default_report["open_positions"], "the case needs a position open at the end"
    out = artha("--strategy", "sma_crossover", "--data", str(csv_file), home=tmp_path)
    found = re.search(
        r"Closed trades\s+\d+\s+\(gross Rs (\S+), charges Rs (\S+), net Rs (\S+)\)", out.stdout
    )
    assert found is not None
    gross, charges, net = (Decimal(g.replace(",", "")) for g in found.groups())
    assert gross - charges == net
    assert charges == sum(Decimal(t["charges"]) for t in default_report["trades"])


# -- JSON -----------------------------------------------------------------------------------
def test_json_has_the_documented_keys_and_trades(default_report):
    report = default_report
    for key in ("trades", "metrics", "weekly", "bars", "run_seconds"):
        assert key in report, key
    assert report["bars"] == N_BARS
    assert isinstance(report["run_seconds"], float) and report["run_seconds"] >= 0
    assert isinstance(report["metrics"], dict) and report["metrics"]
    assert isinstance(report["weekly"], dict) and report["weekly"]["badge"] in {
        "GREEN",
        "AMBER",
        "RED",
    }
    assert report["strategy"] == "sma_crossover"
    assert report["params"] == {"fast": 10, "slow": 30, "quantity": 100}
    assert report["symbols"] == [SYMBOL]
    assert report["config"]["costs"] == "zerodha"
    assert report["config"]["fill"] == "next-open"
    trades = report["trades"]
    assert trades
    for t in trades:
        assert set(t) >= TRADE_KEYS, TRADE_KEYS - set(t)
        assert ISO_IST.match(t["entry_time"]), t["entry_time"]
        assert ISO_IST.match(t["exit_time"]), t["exit_time"]
        charges, gross, net = (Decimal(t[k]) for k in ("charges", "gross_pnl", "net_pnl"))
        assert charges > 0  # Zerodha delivery: STT, exchange, stamp, GST ...
        assert net == gross - charges
    assert report["metrics"]["trades"] == len(trades)


def test_json_trades_match_an_independent_simulation(default_report):
    expected, still_open = reference_run()
    got = normalised(default_report["trades"])
    assert got == [t.as_expected() for t in expected]
    assert still_open is not None
    assert default_report["open_positions"] == {f"{SYMBOL}/CNC": 100}


def test_two_runs_give_identical_json_except_run_seconds(tmp_path, csv_file):
    texts = []
    for name in ("a.json", "b.json"):
        out = artha(
            "--strategy", "sma_crossover", "--data", str(csv_file), "--json",
            str(tmp_path / name), home=tmp_path / "home",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        texts.append((tmp_path / name).read_text(encoding="utf-8"))
    a, b = (json.loads(t) for t in texts)
    a.pop("run_seconds")
    b.pop("run_seconds")
    assert a == b

    def without_seconds(text: str) -> list[str]:
        return [line for line in text.splitlines() if '"run_seconds"' not in line]

    assert without_seconds(texts[0]) == without_seconds(texts[1])  # same bytes, same order
    assert sorted(p.name for p in tmp_path.glob("*.json*")) == ["a.json", "b.json"]


def test_json_to_stdout_prints_only_json(tmp_path, csv_file, default_report):
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv_file), "--json", "-", home=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    report = json.loads(out.stdout)  # the whole of stdout is one JSON document
    assert "Backtest:" not in out.stdout
    report.pop("run_seconds")
    expected = dict(default_report)
    expected.pop("run_seconds")
    assert report == expected


def test_json_to_a_file_still_prints_the_report(tmp_path, csv_file):
    target = tmp_path / "r.json"
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv_file), "--json", str(target),
        home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Backtest: sma_crossover")
    assert json.loads(target.read_text(encoding="utf-8"))["bars"] == N_BARS


# -- options that change the run ------------------------------------------------------------
def test_params_change_the_trades(tmp_path, csv_file, default_report):
    report = run_json(tmp_path, csv_file, "--param", "fast=5", "--param", "slow=20")
    assert report["params"] == {"fast": 5, "slow": 20, "quantity": 100}
    expected, _ = reference_run(fast=5, slow=20)
    assert normalised(report["trades"]) == [t.as_expected() for t in expected]
    assert normalised(report["trades"]) != normalised(default_report["trades"])


def test_quantity_param_scales_the_trades(tmp_path, csv_file, no_cost_report):
    report = run_json(tmp_path, csv_file, "--costs", "none", "--param", "quantity=7")
    assert [t["quantity"] for t in report["trades"]] == [7] * len(no_cost_report["trades"])
    for small, big in zip(report["trades"], no_cost_report["trades"], strict=True):
        assert Decimal(small["gross_pnl"]) * 100 == Decimal(big["gross_pnl"]) * 7


def test_costs_none_gives_zero_charges_and_exact_equity(no_cost_report):
    report = no_cost_report
    assert report["config"]["costs"] == "none"
    assert report["trades"]
    for t in report["trades"]:
        assert Decimal(t["charges"]) == 0
        assert Decimal(t["net_pnl"]) == Decimal(t["gross_pnl"])
    assert Decimal(report["total_charges"]) == 0
    expected, still_open = reference_run()
    assert normalised(report["trades"]) == [t.as_expected() for t in expected]
    # equity = capital + closed P&L + the open position marked at the last close
    assert still_open is not None
    closed = sum((t.exit_paise - t.entry_paise) * t.quantity for t in expected)
    marked = (int(BARS["close"][-1]) - still_open[1]) * 100
    assert Decimal(report["final_equity"]) == Decimal(10_000_000) + Decimal(closed + marked) / 100


def test_fill_at_close_differs_from_next_open(tmp_path, csv_file, default_report):
    report = run_json(tmp_path, csv_file, "--fill", "close")
    assert report["config"]["fill"] == "close"
    expected, _ = reference_run(fill="close")
    assert normalised(report["trades"]) == [t.as_expected() for t in expected]
    assert normalised(report["trades"]) != normalised(default_report["trades"])
    closes = {rupees(int(c)) for c in BARS["close"]}
    assert all(t["entry_price"] in closes for t in report["trades"])


# -- strategies from files ------------------------------------------------------------------


SECOND_CLASS = '''

class Idle(Strategy):
    """Never trades."""
'''


def expected_round_trip(enter_at: int, exit_at: int, size: int) -> list[dict[str, object]]:
    trade = RefTrade(
        enter_at + 1, int(BARS["open"][enter_at + 1]), exit_at + 1,
        int(BARS["open"][exit_at + 1]), size,
    )  # fmt: skip
    return [trade.as_expected()]


def test_strategy_from_a_file(tmp_path, csv_file):
    source = write_strategy(tmp_path / "round_trip.py", ROUND_TRIP)
    target = tmp_path / "rt.json"
    out = artha(
        "--strategy", str(source), "--data", str(csv_file), "--costs", "none",
        "--param", "exit_at=321", "--json", str(target), home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Backtest: round_trip (enter_at=100, exit_at=321, size=7)")
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["strategy"] == "round_trip"
    assert normalised(report["trades"]) == expected_round_trip(100, 321, 7)
    assert report["open_positions"] == {}


def test_strategy_file_with_a_class_name(tmp_path, csv_file):
    source = write_strategy(tmp_path / "two.py", ROUND_TRIP + SECOND_CLASS)
    out = artha(
        "--strategy", f"{source}:RoundTrip", "--data", str(csv_file), "--costs", "none",
        "--json", "-", home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert normalised(json.loads(out.stdout)["trades"]) == expected_round_trip(100, 200, 7)
    out = artha("--strategy", str(source), "--data", str(csv_file), home=tmp_path / "home")
    assert out.returncode == 2
    assert "exactly one Strategy subclass" in out.stderr and "Idle, RoundTrip" in out.stderr
