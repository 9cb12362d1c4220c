"""2027 before and after its holiday list: imports, quality, backtests and `artha calendar`,
through the real console script on a temp workspace (NSE had not published 2027 when these
were written; the list in tests/fixtures/calendar is invented in NSE's format)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engine.calendar import IST

ARTHA = str(Path(sys.executable).with_name("artha"))
REPO = Path(__file__).resolve().parents[2]
LISTS = REPO / "tests" / "fixtures" / "calendar"
NSE_CSV = LISTS / "nse_holidays_2027_cm.csv"
BHAVCOPY = (
    REPO.parent / "shared" / "fixtures" / "bhavcopy" / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv"
)
SYMBOL = "Y2027"
REPUBLIC_DAY = date(2027, 1, 26)
NOT_LOADED = "NSE holiday list for 2027 not loaded"


def artha(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run(
        [ARTHA, *args], capture_output=True, text=True, env=env, timeout=180, input=stdin
    )


def ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    return out.stdout


def minute_csv(path: Path, first: date, last: date) -> int:
    """Every weekday's 375 one-minute bars (09:15..15:29 IST), a seeded random walk."""
    rng = np.random.default_rng(7)
    lines = ["timestamp,open,high,low,close,volume"]
    price = 100_000  # paise
    day = first
    while day <= last:
        if day.weekday() < 5:
            start = datetime.combine(day, datetime.min.time(), IST) + timedelta(hours=9, minutes=15)
            for minute in range(375):
                step = int(rng.integers(-40, 41)) * 5
                open_, close = price, max(price + step, 1_000)
                high, low = max(open_, close) + 5, min(open_, close) - 5
                at = (start + timedelta(minutes=minute)).isoformat()
                lines.append(
                    f"{at},{open_ / 100:.2f},{high / 100:.2f},{low / 100:.2f},{close / 100:.2f},"
                    f"{int(rng.integers(100, 5000))}"
                )
                price = close
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def bhavcopy_on(day: date, folder: Path) -> Path:
    """The UDiFF NSE CM fixture with its trade date moved to ``day``."""
    text = BHAVCOPY.read_text().replace("2025-06-03", day.isoformat())
    target = folder / f"BhavCopy_NSE_CM_0_0_0_{day:%Y%m%d}_F_0000.csv"
    target.write_text(text)
    return target


@pytest.fixture
def january_2027(tmp_path: Path) -> Path:
    path = tmp_path / f"{SYMBOL}.csv"
    assert minute_csv(path, date(2027, 1, 4), date(2027, 1, 29)) == 20 * 375
    return path


def test_2027_without_its_list_imports_checks_and_backtests_with_one_warning(
    tmp_path, january_2027
):
    home = tmp_path / "ws"
    out = ok(artha("data", "import", str(bhavcopy_on(date(2027, 1, 4), tmp_path)), home=home))
    assert out.count(NOT_LOADED) == 1 and "nse_cm_udiff, 5 bars written" in out
    out = ok(artha("data", "import", str(january_2027), "--symbol", SYMBOL, home=home))
    assert out.count(NOT_LOADED) == 1 and "7,500 bars written" in out

    quality = ok(artha("data", "quality", SYMBOL, "--timeframe", "1m", home=home))
    assert "sessions           20 of 20 expected" in quality and NOT_LOADED in quality
    report = json.loads(
        ok(artha("data", "quality", SYMBOL, "--timeframe", "1m", "--json", "-", home=home))
    )
    assert NOT_LOADED in report["calendar_warning"] and report["sessions_expected"] == 20

    backtest = ("backtest", "--strategy", "sma_crossover", "--symbol", SYMBOL, "--timeframe", "15m")
    text = ok(artha(*backtest, home=home))
    assert text.count(NOT_LOADED) == 1 and "Weekly target" in text
    result = json.loads(ok(artha(*backtest, "--json", "-", home=home)))
    assert result["bars"] == 20 * 25
    assert len(result["warnings"]) == 1 and NOT_LOADED in result["warnings"][0]


def test_after_the_2027_list_dates_are_exact_and_its_holidays_closed_everywhere(
    tmp_path, january_2027
):
    home = tmp_path / "ws"
    # no terminal: the change is shown and applied
    out = ok(artha("calendar", "import", str(NSE_CSV), home=home))
    assert "16 holidays for 2027 (equity segment, NSE and BSE)" in out
    assert (
        "Tue 26 Jan 2027 NSE/BSE/NFO/BFO: 09:15-15:30, provisional -> holiday - Republic Day" in out
    )
    assert "2027: sessions stop being provisional" in out and out.rstrip().endswith("applied")
    listed = json.loads(ok(artha("calendar", "list", "--year", "2027", "--json", "-", home=home)))
    assert listed["warnings"] == []
    republic = next(d for d in listed["days"] if d["date"] == REPUBLIC_DAY.isoformat())
    assert republic["what"] == "holiday" and republic["source"] == "imported"
    assert republic["note"] == "Republic Day" and "NSE" in republic["exchanges"]

    # the holiday is now known: its bars are held until the trader says keep or drop
    held = artha("data", "import", str(january_2027), "--symbol", SYMBOL, home=home)
    assert held.returncode == 2
    assert "held, nothing stored: 375 bars on 1 day NSE was closed (2027-01-26 Tue)" in held.stdout
    out = ok(artha("data", "import", str(january_2027), "--symbol", SYMBOL,
                   "--closed-days", "keep", home=home))  # fmt: skip
    assert "warning" not in out and "kept as asked: 375 bars on 1 day" in out
    holiday_bhavcopy = bhavcopy_on(REPUBLIC_DAY, tmp_path)
    held = artha("data", "import", str(holiday_bhavcopy), home=home)
    assert held.returncode == 2 and "NSE was closed (2027-01-26 Tue)" in held.stdout

    report = json.loads(
        ok(artha("data", "quality", SYMBOL, "--timeframe", "1m", "--json", "-", home=home))
    )
    assert report["calendar_warning"] == ""
    assert report["sessions_expected"] == 19 and report["outside_session_bars"] == 375
    exported = tmp_path / "15m.csv"
    ok(artha("data", "export", SYMBOL, "--timeframe", "15m", "--out", str(exported), home=home))
    rows = exported.read_text().splitlines()[1:]
    assert len(rows) == 19 * 25 and not any(r.startswith("2027-01-26") for r in rows)
    result = json.loads(ok(artha("backtest", "--strategy", "sma_crossover", "--symbol", SYMBOL,
                                 "--timeframe", "15m", "--json", "-", home=home)))  # fmt: skip
    assert result["warnings"] == [] and result["bars"] == 19 * 25

    again = ok(artha("calendar", "import", str(NSE_CSV), home=home))
    assert "nothing to change: this list is already loaded" in again


def test_import_asks_on_a_terminal_and_writes_nothing_when_refused(tmp_path):
    if shutil.which("script") is None:
        pytest.skip("util-linux `script` (a pseudo-terminal) is not installed")
    home = tmp_path / "ws"
    env = {**os.environ, "ARTHA_HOME": str(home)}
    command = f"{ARTHA} calendar import {NSE_CSV}"
    refused = subprocess.run(["script", "-qec", command, "/dev/null"], input="n\n",
                             capture_output=True, text=True, env=env, timeout=180)  # fmt: skip
    assert "Apply these changes? [y/N]" in refused.stdout and "not applied" in refused.stdout
    listed = json.loads(ok(artha("calendar", "list", "--year", "2027", "--json", "-", home=home)))
    assert listed["lists"] == [] and listed["days"] == []
    accepted = subprocess.run(["script", "-qec", command, "/dev/null"], input="y\n",
                              capture_output=True, text=True, env=env, timeout=180)  # fmt: skip
    assert "applied" in accepted.stdout
    listed = json.loads(ok(artha("calendar", "list", "--year", "2027", "--json", "-", home=home)))
    assert [item["year"] for item in listed["lists"]] == [2027]


def test_the_2026_muhurat_session_in_one_command_and_removed_again(tmp_path):
    home = tmp_path / "ws"
    day = "2026-11-08"
    out = ok(artha("calendar", "add-session", day, "--open", "18:00", "--close", "19:00",
                   "--pre-open", "17:45", "--kind", "muhurat", "--note", "Diwali muhurat",
                   home=home))  # fmt: skip
    assert "Sun 08 Nov 2026 NSE/BSE/NFO/BFO: closed -> 18:00-19:00 (muhurat: Diwali muhurat)" in out
    listed = json.loads(ok(artha("calendar", "list", "--year", "2026", "--json", "-", home=home)))
    muhurat = next(d for d in listed["days"] if d["date"] == day)
    assert muhurat["what"] == "muhurat 18:00-19:00" and muhurat["source"] == "user"
    budget = next(d for d in listed["days"] if d["date"] == "2026-02-01")
    assert budget["what"] == "budget 09:15-15:30" and budget["source"] == "shipped"

    out = ok(
        artha(
            "calendar",
            "add-holiday",
            "2026-12-24",
            "--exchange",
            "BSE",
            "--note",
            "test",
            home=home,
        )
    )
    assert "Thu 24 Dec 2026 BSE/BFO: 09:15-15:30 -> holiday - test" in out
    ok(artha("calendar", "remove", day, home=home))
    listed = json.loads(ok(artha("calendar", "list", "--year", "2026", "--json", "-", home=home)))
    assert day not in [d["date"] for d in listed["days"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add-session", "2026-11-08", "--open", "19:00", "--close", "18:00", "--kind", "muhurat",
          "--note", "x"), "entry for 2026-11-08: open 19:00 is not before close"),
        (("add-session", "2026-11-08", "--open", "18:00", "--close", "19:00", "--pre-open", "18:30",
          "--kind", "muhurat", "--note", "x"), "pre-open 18:30 is after open 18:00"),
        (("add-holiday", "2026-13-01", "--note", "x"), "dates look like 2027-01-26"),
        (("add-session", "2026-11-08", "--open", "6pm", "--close", "19:00", "--kind", "muhurat",
          "--note", "x"), "times look like 18:15"),
        (("remove", "2026-11-09"), "the workspace has no calendar entry on 2026-11-09"),
        (("import", "/no/such/file.csv"), "/no/such/file.csv: no such file"),
        (("import", str(NSE_CSV), "--year", "2028"), "has no holidays in 2028 (its years: 2027)"),
    ],
)  # fmt: skip
def test_bad_calendar_input_is_one_clear_message(tmp_path, args, message):
    out = artha("calendar", *args, home=tmp_path / "ws")
    assert out.returncode == 2 and message in out.stderr
    assert "Traceback" not in out.stderr


def test_a_bad_holiday_list_names_its_line_and_changes_nothing(tmp_path):
    home = tmp_path / "ws"
    bad = tmp_path / "holidays.csv"
    bad.write_text(NSE_CSV.read_text(encoding="utf-8-sig").replace("26-Mar-2027", "31-Feb-2027"))
    out = artha("calendar", "import", str(bad), home=home)
    assert out.returncode == 2 and "holidays.csv:" in out.stderr and "31-Feb-2027" in out.stderr
    bars = tmp_path / "bars.csv"
    minute_csv(bars, date(2027, 1, 4), date(2027, 1, 4))
    out = artha("calendar", "import", str(bars), home=home)
    assert out.returncode == 2 and "bars.csv" in out.stderr and "Traceback" not in out.stderr
    listed = json.loads(ok(artha("calendar", "list", "--year", "2027", "--json", "-", home=home)))
    assert listed["lists"] == [] and listed["warnings"]
