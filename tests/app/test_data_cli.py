"""`artha data` and `artha demo` through the real console script, on a temp workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine.data import load_bars
from engine.workspace import Workspace

ARTHA = str(Path(sys.executable).with_name("artha"))
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"


def artha(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run([ARTHA, *args], capture_output=True, text=True, env=env, timeout=timeout)


def listing(home: Path) -> list[dict[str, object]]:
    out = artha("data", "list", "--json", "-", home=home)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_fixture_imports_once_and_reimport_changes_nothing(tmp_path):
    home = tmp_path / "ws"
    files = sorted(str(p) for p in FIXTURES.iterdir() if p.suffix.lower() == ".csv")
    assert len(files) == 5
    first = artha("data", "import", *files, home=home)
    assert first.returncode == 0, first.stderr
    assert "nse_fo_udiff" in first.stdout and "skipped 1 row of series BL" in first.stdout
    before = listing(home)
    assert {"exchange": "NFO", "symbol": "NIFTY25JUNFUT"} in [
        {"exchange": r["exchange"], "symbol": r["symbol"]} for r in before
    ]
    again = artha("data", "import", *files, home=home)
    assert again.returncode == 0
    assert again.stdout.count("already imported, nothing changed") == 5
    assert listing(home) == before


def test_a_zipped_bhavcopy_imports_like_the_plain_file(tmp_path):
    archive = tmp_path / "cm.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURES / "cm03JUN2024bhav.csv", "cm03JUN2024bhav.csv")
    out = artha("data", "import", str(archive), home=tmp_path / "ws")
    assert out.returncode == 0, out.stderr
    assert "nse_cm_legacy, 5 bars written" in out.stdout


def test_a_bad_row_rejects_the_file_names_the_line_and_leaves_the_store_as_it_was(tmp_path):
    home = tmp_path / "ws"
    assert artha("data", "import", str(FIXTURES / "cm03JUN2024bhav.csv"), home=home).returncode == 0
    before = listing(home)
    lines = (FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv").read_text().splitlines()
    fields = lines[4].split(",")
    fields[14] = "14x2.00"  # OpnPric of RELIANCE EQ, file line 5
    lines[4] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    out = artha("data", "import", str(bad), home=home)
    assert out.returncode == 2
    assert f"{bad}:5:" in out.stderr and "14x2.00" in out.stderr
    assert listing(home) == before


def test_a_generic_file_with_its_own_columns_zone_and_date_layout(tmp_path):
    path = tmp_path / "tcs.csv"
    path.write_text(
        "Trade Date,Open,High,Low,Close Price,Qty\n"
        "03-06-2025 09:15,3400,3410,3395,3405.5,1200\n"
        "03-06-2025 09:16,3405.5,3412,3401,3410,900\n"
    )
    home = tmp_path / "ws"
    done = artha("data", "import", str(path), "--map", "Trade Date=timestamp", "--map",
                 "Close Price=close", "--map", "Qty=volume", "--timezone", "Asia/Kolkata",
                 "--date-format", "%d-%m-%Y %H:%M", home=home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = artha("data", "list", "--json", "-", home=home)
    (row,) = json.loads(listed.stdout)
    assert (row["symbol"], row["timeframe"], row["bars"]) == ("TCS", "1m", 2)
    assert row["first"].startswith("2025-06-03T09:15")


def test_export_writes_a_file_the_backtester_reads(tmp_path):
    home = tmp_path / "ws"
    csv = tmp_path / "in.csv"
    rows = ["timestamp,open,high,low,close,volume"]
    for minute in range(30):
        price = 100 + minute * 0.05
        rows.append(
            f"2026-01-05T09:{15 + minute:02d}:00+05:30,{price:.2f},{price + 0.1:.2f},"
            f"{price - 0.1:.2f},{price:.2f},{100 + minute}"
        )
    csv.write_text("\n".join(rows) + "\n")
    assert artha("data", "import", str(csv), "--symbol", "TEST", home=home).returncode == 0
    out_file = tmp_path / "test_5m.csv"
    out = artha("data", "export", "TEST", "--timeframe", "5m", "--out", str(out_file), home=home)
    assert out.returncode == 0, out.stderr
    series = load_bars(out_file)
    assert len(series) == 6  # 30 minutes from 09:15 in 5-minute bins
    assert series.open[0] == 10000 and series.close[0] == 10020  # first and fifth minute
    assert int(series.volume[0]) == sum(100 + m for m in range(5))
    assert series.high[5] == 10000 + 29 * 5 + 10


def test_quality_of_an_imported_symbol(tmp_path):
    home = tmp_path / "ws"
    assert artha("data", "import", str(FIXTURES / "cm03JUN2024bhav.csv"), home=home).returncode == 0
    out = artha("data", "quality", "RELIANCE", home=home)
    assert out.returncode == 0, out.stderr
    assert "Data quality: RELIANCE 1d" in out.stdout


def test_unknown_symbol_and_busy_workspace_are_clear_errors(tmp_path):
    home = tmp_path / "ws"
    out = artha("data", "quality", "NOPE", home=home)
    assert out.returncode == 2 and "NOPE" in out.stderr
    ws = Workspace(home).ensure()
    with ws.lock():
        out = artha("data", "list", home=home)
    assert out.returncode == 2 and "already running" in out.stderr


@pytest.mark.timeout(300)
def test_demo_builds_a_synthetic_workspace_and_reports_the_weekly_target(tmp_path):
    home = tmp_path / "ws"
    out = artha("demo", home=home, timeout=280)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("SYNTHETIC DATA")
    assert "Demo data created" in out.stdout and "Weekly target:" in out.stdout
    rows = listing(home)
    assert len(rows) == 50 and all(str(r["symbol"]).startswith("SYN") for r in rows)
    assert {r["bars"] for r in rows} == {45_000}
    again = artha("demo", home=home, timeout=280)
    assert "Demo data already present" in again.stdout
    backtest = artha(
        "backtest",
        "--strategy",
        "sma_crossover",
        "--symbol",
        "SYNIT02",
        "--timeframe",
        "15m",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--json",
        "-",
        home=home,
    )
    assert backtest.returncode == 0, backtest.stderr
    # October 2026: 22 weekdays less 2 Oct and 20 Oct (holidays) = 20 sessions of 25 bars
    assert json.loads(backtest.stdout)["bars"] == 20 * 25
