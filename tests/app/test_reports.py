"""Reports of a real backtest: CSV, the self-contained HTML (rendered in headless Chromium),
`artha backtest --report/--trades-csv`, and the per-bar equity curve in the --json report."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from app.reports import ReportError, export_csv, html_report, write_html
from engine.backtest import BacktestResult
from tests.app.backtest_cli_helpers import N_BARS, artha
from tests.app.results.conftest import real_run

IN_CI = bool(os.environ.get("CI") or os.environ.get("ARTHA_TEST_FROZEN"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    return real_run(n=12_000)


def test_trades_csv_has_every_trade_exactly(result, tmp_path):
    trades_path, _ = export_csv(result, tmp_path)
    with trades_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result.trades) > 50
    assert sum(Decimal(r["net_pnl"]) for r in rows) == sum(t.net_pnl for t in result.trades)
    assert sum(Decimal(r["charges"]) for r in rows) == result.closed_charges
    first = result.trades[0]
    assert rows[0]["entry_time_ist"] == first.entry_time.isoformat()
    assert rows[0]["entry_price"] == f"{first.entry_price:f}"


def test_metrics_csv_carries_figures_conventions_and_charges(result, tmp_path):
    _, metrics_path = export_csv(result, tmp_path, stem="run")
    with metrics_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by = {(r["section"], r["metric"]): r for r in rows}
    assert float(by["metrics", "Sharpe"]["net"]) == pytest.approx(result.metrics.net.sharpe)
    assert by["metrics", "Closed-trade P&L"]["net"] == f"{result.metrics.total_net_pnl:f}"
    assert by["conventions", "periods_per_year"]["net"] == "252"
    assert Decimal(by["charges", "Total charges"]["net"]) == result.total_charges
    assert by["weekly", "badge"]["net"] == result.weekly.badge.value
    assert any(r["section"] == "monthly" for r in rows)


def test_refuses_a_missing_folder_a_store_and_other_files(result, tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        write_html(result, tmp_path / "nope" / "r.html")
    with pytest.raises(ReportError, match="DuckDB"):
        write_html(result, tmp_path / "market.duckdb")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    with pytest.raises(ReportError, match="not an HTML report"):
        write_html(result, notes)
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    again = write_html(result, tmp_path / "r.html")
    assert write_html(result, again) == again  # an earlier report may be replaced
    with pytest.raises(ReportError, match="does not exist"):
        export_csv(result, tmp_path / "missing")


def test_html_is_self_contained(result):
    page = html_report(result, "Self contained")
    assert page.startswith("<!DOCTYPE html>")
    for needle in ("<script", "<link", "<img", "@import", "url("):
        assert needle not in page
    external = set(re.findall(r"https?://[^\"' )]+", page))
    assert external <= {"http://www.w3.org/2000/svg"}
    for chart in ("chart equity", "chart drawdown", "heatmap", "weekly", "badge"):
        assert f'class="{chart}"' in page
    assert page.count("<tr><td class=n>") == len(result.trades)


def _render(path: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM Chromium built from the file, and what it logged (console messages too)."""
    out = subprocess.run(
        [
            CHROMIUM or "chromium",
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout, out.stderr


@pytest.mark.skipif(
    CHROMIUM is None and not IN_CI,
    reason="chromium is not installed (apt-get install chromium); CI installs it",
)
def test_html_renders_in_headless_chromium_without_errors(result, tmp_path):
    path = write_html(result, tmp_path / "report.html", "Rendered in Chromium")
    dom, log = _render(path, tmp_path)
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert "Rendered in Chromium" in dom
    assert len(re.findall(r"<svg\b", dom)) >= 5
    for chart in ("chart equity", "chart drawdown", "heatmap", "weekly", "badge"):
        assert f'class="{chart}"' in dom
    assert re.search(r"<path d=\"M[\d.]+,[\d.]+L", dom)  # the curves are drawn
    # the check itself works: a page with a console error is caught
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><script>console.error('boom')</script>", encoding="utf-8")
    _, broken_log = _render(broken, tmp_path)
    assert any("CONSOLE" in line and "boom" in line for line in broken_log.splitlines())


def test_cli_writes_report_and_trades_csv(tmp_path, csv_file):
    report, trades = tmp_path / "run.html", tmp_path / "trades.csv"
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv_file),
        "--report", str(report), "--trades-csv", str(trades),
        home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    rows = trades.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("symbol,side,product,quantity")
    assert "Backtest:" in out.stdout  # the text report still prints


def test_cli_refuses_bad_report_targets_before_running(tmp_path, csv_file):
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv_file),
        "--report", str(tmp_path / "missing" / "run.html"),
        home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 2
    assert "argument --report: folder" in out.stderr and "does not exist" in out.stderr
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv_file),
        "--trades-csv", str(csv_file),
        home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 2
    assert "argument --trades-csv:" in out.stderr and "input" in out.stderr


def test_json_report_has_the_per_bar_equity_curve(default_report):
    curve = default_report["equity_curve"]
    assert (curve["per"], curve["time_unit"], curve["money_unit"]) == ("bar", "s", "paise")
    assert curve["samples"] == N_BARS == len(curve["ts"]) == len(curve["equity"])
    assert len(curve["gross_equity"]) == N_BARS
    assert all(isinstance(v, int) for v in curve["equity"][:50])
    assert np.all(np.diff(curve["ts"]) > 0)
    final = Decimal(curve["equity"][-1]).scaleb(-2)
    assert final == Decimal(default_report["final_equity"])
    assert curve["equity"][0] <= int(Decimal(default_report["config"]["capital"]) * 100)
    assert default_report["trades"] and "metrics" in default_report  # the old keys stay


def test_json_curve_is_one_line_per_column(tmp_path, result):
    from app.commands.backtest_report import json_report

    text = json_report(result)
    lines = [line for line in text.splitlines() if line.startswith('    "equity"')]
    assert len(lines) == 1
    assert json.loads(text)["equity_curve"]["samples"] == len(result.curve)
