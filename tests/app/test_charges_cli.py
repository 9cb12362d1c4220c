"""`artha charges` through the real console script, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.commands import COMMAND_MODULES
from engine.calendar import IST
from engine.costs import BEFORE_UNIFORM_STAMP

ARTHA = str(Path(sys.executable).with_name("artha"))
VECTORS_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "charges"
    / "zerodha_charges_vectors.json"
)
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
SCHEDULE_DATE = {"A": "2026-04-01", "B": "2025-06-02"}
E3 = ("--segment", "intraday", "--exchange", "NSE", "--quantity", "100")
E3_PRICES = ("--buy", "1000", "--sell", "1010", "--date", "2026-04-01")
COMPONENTS = ("brokerage", "stt", "exchange_txn", "sebi", "stamp_duty", "gst", "dp", "total")


def artha(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run(
        [ARTHA, "charges", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_charges_is_a_registered_command():
    assert "charges" in COMMAND_MODULES


def test_prints_an_aligned_contract_note(tmp_path):
    out = artha(*E3, *E3_PRICES, home=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Contract note: NSE intraday, 2026-04-01"
    rows = {}
    for line in lines[1:-1]:
        if set(line) == {"-"}:
            continue
        name, value = line.rsplit("  ", 1)
        rows[name.strip()] = value.strip()
    assert rows["Buy value"] == "1,00,000.00"  # Indian grouping, as contract notes print
    assert rows["Sell value"] == "1,01,000.00"
    assert rows["Turnover"] == "2,01,000.00"
    assert rows["Brokerage"] == "40.00"
    assert rows["STT"] == "25.00"
    assert rows["Exchange txn charge"] == "6.17"
    assert rows["SEBI fee"] == "0.20"
    assert rows["Stamp duty (to the rupee)"] == "3.00"
    assert rows["GST"] == "8.35"
    assert rows["DP charge"] == "0.00"
    assert rows["Total charges"] == "82.72"
    assert rows["Gross P&L"] == "1,000.00"
    assert rows["Net P&L"] == "917.28"
    assert lines[-1] == "Schedule: Zerodha A (2026-04-01 onward)"
    widths = {len(line) for line in lines[1:-1]}
    assert len(widths) == 1, "table rows and rules share one width"


def test_writes_json_to_a_file_and_still_prints_the_table(tmp_path):
    target = tmp_path / "e5.json"
    args = ("--segment", "futures", "--exchange", "NSE", "--quantity", "65")
    prices = ("--buy", "24000", "--sell", "24100", "--date", "2026-04-01")
    out = artha(*args, *prices, "--json", str(target), home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Total charges" in out.stdout
    data = json.loads(target.read_text(encoding="utf-8"))
    assert {k: data[k] for k in COMPONENTS} == {
        "brokerage": "40.00",
        "stt": "783.00",
        "exchange_txn": "57.21",
        "sebi": "3.13",
        "stamp_duty": "31.00",
        "gst": "18.06",
        "dp": "0.00",
        "total": "932.40",
    }
    assert (data["gross_pnl"], data["net_pnl"]) == ("6500.00", "5567.60")
    assert (data["turnover"], data["schedule"]) == ("3126500.00", "A")
    assert [p.name for p in tmp_path.iterdir()] == ["e5.json"]  # no temp file left


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_json_on_stdout_matches_every_vector(v, tmp_path):
    out = artha(
        *("--segment", v["segment"], "--exchange", v["exchange"]),
        *("--quantity", str(v["quantity"]), "--buy", v["buy_price"], "--sell", v["sell_price"]),
        *("--date", SCHEDULE_DATE[v["schedule"]], "--json", "-"),
        home=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)  # stdout is pure JSON with '-'
    names = {"txn": "exchange_txn", "stamp": "stamp_duty"}
    for key in ("brokerage", "stt", "txn", "sebi", "stamp", "gst", "dp", "total", "net_pnl"):
        assert Decimal(data[names.get(key, key)]) == Decimal(v[key]), key
    assert data["schedule"] == v["schedule"]


def test_stamp_in_paise_and_bse_group_options(tmp_path):
    e4 = ("--segment", "intraday", "--exchange", "NSE", "--quantity", "10")
    out = artha(
        *e4,
        "--buy",
        "500",
        "--sell",
        "502",
        "--stamp-rounding",
        "paisa",
        "--json",
        "-",
        home=tmp_path,
    )
    assert json.loads(out.stdout)["total"] == "5.08"
    bse = ("--segment", "delivery", "--exchange", "bse", "--quantity", "100")
    out = artha(
        *bse, "--buy", "1000", "--sell", "1010", "--bse-group", "z", "--json", "-", home=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["exchange_txn"] == "201.00"


def test_date_defaults_to_today_in_ist(tmp_path):
    out = artha(*E3, "--buy", "1000", "--sell", "1010", "--json", "-", home=tmp_path)
    assert out.returncode == 0, out.stderr
    today = datetime.now(IST).date()
    assert json.loads(out.stdout)["date"] in {
        (today - timedelta(days=1)).isoformat(),  # the test may straddle midnight
        today.isoformat(),
    }


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((*E3[:-1], "0", *E3_PRICES), "argument --quantity"),
        ((*E3[:-1], "-5", *E3_PRICES), "argument --quantity"),
        ((*E3[:-1], "1.5", *E3_PRICES), "argument --quantity"),
        ((*E3, "--buy", "abc", "--sell", "1010"), "argument --buy"),
        ((*E3, "--buy", "1000", "--sell", "NaN"), "argument --sell"),
        ((*E3, "--buy", "-1", "--sell", "1010"), "argument --buy"),
        (("--segment", "swing", *E3[2:], *E3_PRICES), "argument --segment"),
        (("--segment", "intraday", "--exchange", "MCX", *E3[4:], *E3_PRICES), "--exchange"),
        ((*E3, "--buy", "1000", "--sell", "1010", "--date", "2019-01-01"), "argument --date"),
        ((*E3, "--buy", "1000", "--sell", "1010", "--date", "2026-13-01"), "argument --date"),
        ((*E3, *E3_PRICES, "--bse-group", "A"), "argument --bse-group"),
        ((*E3[:2], "--exchange", "BSE", *E3[4:], *E3_PRICES, "--bse-group", "A-1"), "--bse-group"),
    ],
)
def test_bad_input_names_the_argument_exits_2_and_writes_no_file(args, named, tmp_path):
    target = tmp_path / "out" / "charges.json"
    target.parent.mkdir()
    out = artha(*args, "--json", str(target), home=tmp_path / "home")
    assert out.returncode == 2, out.stdout
    assert named in out.stderr
    assert out.stdout == ""
    assert list(target.parent.iterdir()) == []


def test_a_date_before_coverage_says_which_dates_are_covered(tmp_path):
    out = artha(*E3, "--buy", "1000", "--sell", "1010", "--date", "2020-06-30", home=tmp_path)
    assert out.returncode == 2
    assert "2020-06-30" in out.stderr and "2020-07-01" in out.stderr


def test_a_date_before_coverage_says_why_in_the_words_backtest_uses(tmp_path):
    out = artha(*E3, "--buy", "1000", "--sell", "1010", "--date", "2019-01-01", home=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("artha charges: error: argument --date: ")
    assert "2019-01-01" in out.stderr and BEFORE_UNIFORM_STAMP in out.stderr


def test_help_explains_itself_without_internal_documents(tmp_path):
    out = artha("--help", home=tmp_path)
    assert out.returncode == 0
    text = " ".join(out.stdout.split())  # argparse wraps lines
    assert "india-domain" not in text and "§" not in text
    for part in ("brokerage", "STT", "stamp duty", "GST", "DP charge", "2020-07-01"):
        assert part in text, part


def test_a_failed_run_leaves_an_existing_json_untouched(tmp_path):
    target = tmp_path / "charges.json"
    target.write_text("old\n", encoding="utf-8")
    out = artha(
        *E3,
        "--buy",
        "1000",
        "--sell",
        "1010",
        "--date",
        "2019-01-01",
        "--json",
        str(target),
        home=tmp_path / "home",
    )
    assert out.returncode == 2
    assert target.read_text(encoding="utf-8") == "old\n"


def test_json_into_a_missing_folder_fails_cleanly(tmp_path):
    target = tmp_path / "nope" / "charges.json"
    out = artha(*E3, *E3_PRICES, "--json", str(target), home=tmp_path / "home")
    assert out.returncode == 2
    assert "argument --json" in out.stderr and "does not exist" in out.stderr
    assert not target.parent.exists()


def test_a_price_with_a_fraction_of_a_paisa_is_refused(tmp_path):
    """Reliability row 118d: --buy 1000.001 printed a contract note for Rs 1,000.001."""
    out = artha("--segment", "delivery", "--exchange", "NSE", "--quantity", "10",
                "--buy", "1000.001", "--sell", "1001", home=tmp_path)  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "argument --buy: has more than 2 decimals (paise), got '1000.001'" in out.stderr
