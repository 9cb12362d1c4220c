"""Bad input through the real `artha` console script: one clear sentence naming what and
where, in rupees and the file's own words, never a traceback; and what each command did or
refused is in the workspace log (reliability rows 42, 60, 118d, 118e and the wording list)."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.store_damage import small_disk_at

ARTHA = str(Path(sys.executable).with_name("artha"))
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
NSE_FO = FIXTURES / "BhavCopy_NSE_FO_0_0_0_20250603_F_0000.csv"
NSE_CM = FIXTURES / "cm03JUN2024bhav.csv"
BSE_CM = FIXTURES / "BhavCopy_BSE_CM_0_0_0_20250603_F_0000.CSV"
ACTIONS_HEADER = "symbol,exchange,ex_date,kind,ratio,amount,note\n"
BARS_HEADER = "timestamp,open,high,low,close,volume\n"


def artha(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [ARTHA, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def one_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The single `error:` line of a refused command (exit 2, no traceback)."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if "error: " in line]
    assert len(errors) == 1, done.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def log_text(home: Path) -> str:
    return (home / "logs" / "artha.log").read_text(encoding="utf-8")


def daily_csv(path: Path, closes: list[float], first: dt.date = dt.date(2025, 6, 2)) -> Path:
    """Daily bars on consecutive weekdays from `first`."""
    rows, day = [], first
    for close in closes:
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        rows.append(f"{day}T09:15:00+05:30,{close},{close},{close},{close},10\n")
        day += dt.timedelta(days=1)
    path.write_text(BARS_HEADER + "".join(rows))
    return path


@pytest.fixture
def home_with_infy(tmp_path: Path) -> Path:
    home = tmp_path / "ws"
    bars = daily_csv(tmp_path / "INFY.csv", [100, 101, 102, 103, 104])  # 2-6 June 2025
    done = artha("data", "import", str(bars), "--timeframe", "1d", home=home)
    assert done.returncode == 0, done.stderr
    return home


def actions_csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "actions.csv"
    path.write_text(ACTIONS_HEADER + "".join(f"{r}\n" for r in rows))
    return path


def stored_actions(home: Path) -> list[str]:
    import duckdb

    with duckdb.connect(str(home / "artha.duckdb"), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT symbol FROM corporate_actions").fetchall()]


# -- row 60: corporate actions --------------------------------------------------------------


def test_an_action_for_a_symbol_not_in_the_store_is_refused(home_with_infy, tmp_path):
    path = actions_csv(
        tmp_path, "INFY,NSE,2025-06-04,split,1:5,,", "NOPE,NSE,2025-06-05,split,1:2,,"
    )
    done = artha("data", "actions", str(path), home=home_with_infy)
    one_error(done, f"{path}:3: NSE:NOPE is not in the store", "import its bars first")
    assert stored_actions(home_with_infy) == []  # the file goes in whole or not at all


def test_a_dividend_not_below_the_price_is_refused_in_rupees(home_with_infy, tmp_path):
    path = actions_csv(
        tmp_path, "INFY,NSE,2025-06-05,dividend,1500,,".replace(",1500,,", ",,1500,")
    )
    done = artha("data", "actions", str(path), home=home_with_infy)
    one_error(
        done,
        f"{path}:2: NSE:INFY: a dividend of ₹1,500.00 per share on ex-date 2025-06-05",
        "the last close before it, ₹102.00 on 2025-06-04",
    )
    assert stored_actions(home_with_infy) == []


def test_an_absurd_split_ratio_is_refused(home_with_infy, tmp_path):
    path = actions_csv(tmp_path, "INFY,NSE,2025-06-04,split,1:2000000000,,")
    done = artha("data", "actions", str(path), home=home_with_infy)
    one_error(done, f"{path}:2: split ratio 1:2000000000", "at most 1,000-fold")
    assert stored_actions(home_with_infy) == []


def test_plausible_actions_are_stored_and_logged(home_with_infy, tmp_path):
    path = actions_csv(
        tmp_path, "INFY,NSE,2025-06-04,split,1:5,,", "INFY,NSE,2025-06-05,dividend,,20.50,"
    )
    done = artha("data", "actions", str(path), home=home_with_infy)
    assert done.returncode == 0, done.stderr
    assert stored_actions(home_with_infy) == ["INFY", "INFY"]
    assert f"artha data actions: {path}: 2 corporate actions, 2 new or changed" in log_text(
        home_with_infy
    )


def test_an_adjusted_export_names_the_stored_action_that_zeroes_prices(home_with_infy, tmp_path):
    """A 1:2,000,000,000 split stored before the entry check existed."""
    import duckdb

    with duckdb.connect(str(home_with_infy / "artha.duckdb")) as con:
        con.execute(
            "INSERT INTO corporate_actions (exchange, symbol, ex_date, kind, ratio_from, "
            "ratio_to, amount_paise, note) VALUES ('NSE', 'INFY', DATE '2025-06-04', 'split', "
            "1, 2000000000, NULL, '')"
        )
    out = tmp_path / "adjusted.csv"
    done = artha("data", "export", "INFY", "--adjusted", "--out", str(out), home=home_with_infy)
    one_error(
        done,
        "adjusting INFY for the split 1:2000000000 on ex-date 2025-06-04 rounds the open "
        "₹100.00 of the bar at 2025-06-02T09:15:00+05:30 to zero paise",
    )
    assert not out.exists()


# -- row 42: F&O negative strike ------------------------------------------------------------


def test_a_negative_strike_is_refused_at_its_line_in_rupees(tmp_path):
    negative = tmp_path / "fo_negstrike.csv"
    lines = NSE_FO.read_text().splitlines()
    assert ",25000.00,CE," in lines[2]
    lines[2] = lines[2].replace(",25000.00,CE,", ",-25000.00,CE,")
    negative.write_text("\n".join(lines) + "\n")
    home = tmp_path / "ws"
    done = artha("data", "import", str(NSE_CM), str(negative), str(BSE_CM), home=home)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error: " in line]
    assert errors == [
        f"artha data import: error: {negative}:3: StrkPric -25000.00 is not a strike price: an "
        "option's strike is above zero rupees"
    ]
    assert "paise" not in done.stderr
    assert str(negative) not in done.stdout  # nothing of the refused file on stdout
    assert f"{NSE_CM}: nse_cm_legacy" in done.stdout and f"{BSE_CM}: bse_cm_udiff" in done.stdout
    assert "3 files: 2 stored, 1 refused" in done.stderr
    log = log_text(home)
    assert f"artha data import: refused: {negative}:3: StrkPric -25000.00" in log
    assert f"artha data import: stored: {NSE_CM}: nse_cm_legacy" in log
    assert "artha data import: 3 files: 2 stored, 1 refused" in log


# -- row 118d: unknown BSE group ------------------------------------------------------------


def test_an_unknown_bse_group_is_refused_listing_the_groups(tmp_path):
    trade = ["--segment", "delivery", "--exchange", "BSE", "--quantity", "10", "--buy", "100",
             "--sell", "101"]  # fmt: skip
    done = artha("charges", *trade, "--bse-group", "ZZZ", home=tmp_path / "ws")
    one_error(
        done, "argument --bse-group: 'ZZZ' is not a BSE scrip group; use one of A, B,", "XT, Z"
    )
    known = artha("charges", *trade, "--bse-group", "xt", home=tmp_path / "ws")
    assert known.returncode == 0 and "BSE group XT delivery" in known.stdout


# -- wording -----------------------------------------------------------------------------------


def test_a_timestamp_before_1970_is_shown_as_the_file_writes_it(tmp_path):
    path = tmp_path / "OLD.csv"
    path.write_text(BARS_HEADER + "1900-01-01T09:15:00+05:30,100,101,99,100,10\n")
    done = artha("data", "import", str(path), home=tmp_path / "ws")
    one_error(done, f"{path}:2: timestamp 1900-01-01 09:15 is before 1970")
    assert "09:06" not in done.stderr  # not Kolkata's local mean time


def test_exporting_an_unknown_symbol_says_it_is_not_in_the_store(home_with_infy, tmp_path):
    out = tmp_path / "x.csv"
    for extra in (["--timeframe", "1m"], []):
        done = artha("data", "export", "UNKNOWNSYM", *extra, "--out", str(out), home=home_with_infy)
        one_error(done, "UNKNOWNSYM is not in the store; `artha data list` shows the symbols")
    done = artha("data", "export", "INFY", "--timeframe", "1m", "--out", str(out),
                 home=home_with_infy)  # fmt: skip
    one_error(done, "INFY has no bars that make 1m bars (stored: 1d)")


def test_timeframe_messages_write_durations_like_timeframes(tmp_path):
    path = tmp_path / "MIN.csv"
    rows = [f"2025-06-02T09:{15 + i:02d}:00+05:30,100,101,99,100,10\n" for i in range(30)]
    path.write_text(BARS_HEADER + "".join(rows))
    done = artha("data", "import", str(path), "--timeframe", "5m", home=tmp_path / "ws")
    one_error(done, "timeframe '5m' was given but the bars are only 1m apart")
    assert "days" not in done.stderr


def test_an_unknown_exchange_is_named_with_the_valid_ones(home_with_infy):
    done = artha("data", "quality", "INFY", "--exchange", "XYZ", home=home_with_infy)
    one_error(done, "argument --exchange: unknown exchange 'XYZ'; use one of NSE, BSE, NFO, BFO")


def test_a_missing_screenshot_folder_is_an_argument_error(tmp_path):
    done = subprocess.run(
        [ARTHA, "--screenshot", "/nonexistent/x.png"],
        env={**os.environ, "ARTHA_HOME": str(tmp_path / "ws"), "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    one_error(done, "artha: error: argument --screenshot: folder /nonexistent does not exist")


# -- a full disk --------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    with small_disk_at(tmp_path / "disk", "3m") as mount:
        yield mount


def minute_csv(path: Path, days: int) -> Path:
    """375 one-minute bars a session, prices random enough not to compress to nothing."""
    from engine.calendar import get_calendar

    rng = random.Random(path.name)
    start = dt.date(2025, 6, 2)
    rows = []
    for session in get_calendar("NSE").sessions(start, start + dt.timedelta(days=days * 2))[:days]:
        for m in range(375):
            p = 500 + rng.randrange(10_000) / 100
            when = (session.open + dt.timedelta(minutes=m)).isoformat()
            rows.append(f"{when},{p:.2f},{p + 0.5:.2f},{p - 0.5:.2f},{p:.2f},{m}\n")
    path.write_text(BARS_HEADER + "".join(rows))
    return path


def test_the_file_that_meets_a_full_disk_is_refused_disk_full(small_disk, tmp_path):
    files = [minute_csv(tmp_path / f"F{k}.csv", 10) for k in range(16)]
    home = small_disk / "ws"
    done = artha("data", "import", *map(str, files), home=home)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error: " in line]
    assert errors, done.stdout
    first = errors[0].removeprefix("artha data import: error: ")
    assert first.endswith(
        f": disk full, nothing of it written; free some space on the disk that holds {home}"
    )
    refused = first.split(": ")[0]
    later = [str(f) for f in files[files.index(Path(refused)) + 1 :]]
    assert errors[1:] == [f"artha data import: error: {f}: not tried: disk full" for f in later]
    stored = files.index(Path(refused))
    assert stored > 0 and later, "the 3 MB disk should fill in the middle of the import"
    assert f"{len(files)} files: {stored} stored, 1 refused, {len(later)} not tried" in done.stderr


def test_an_export_onto_a_full_disk_says_disk_full(home_with_infy, small_disk):
    filler = small_disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    for name in ("x.parquet", "x.csv"):
        out = small_disk / name
        done = artha("data", "export", "INFY", "--out", str(out), home=home_with_infy)
        one_error(done, f"artha data export: error: disk full writing {out}; nothing was written")
        assert not out.exists()
        assert not [p for p in small_disk.iterdir() if p.name.endswith(".tmp")]


# -- row 118e: the workspace log -------------------------------------------------------------


def test_commands_log_what_they_did_and_refused(home_with_infy, tmp_path):
    artha("data", "quality", "INFY", home=home_with_infy)
    artha("data", "list", home=home_with_infy)
    refused = artha("data", "quality", "NOPE", home=home_with_infy)
    message = one_error(refused)
    calendar = artha("calendar", "add-holiday", "2031-01-02", "--note", "test", home=home_with_infy)
    assert calendar.returncode == 0, calendar.stderr
    log = log_text(home_with_infy)
    assert f"artha data import: stored: {tmp_path / 'INFY.csv'}: ohlcv_csv, 5 bars written" in log
    assert "artha data quality: reported on NSE:INFY 1d (5 bars)" in log
    assert "artha data list: 1 series listed" in log
    assert message in log  # the refusal's own text
    assert "artha calendar add-holiday: applied: holiday on Thu 02 Jan 2031" in log
