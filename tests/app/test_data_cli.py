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


# --- adjusted exports, export defaults, round trips and --map (issue 9, items 3 and 7) -----

SESSIONS = ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05"]


def write_minutes(path: Path, days: list[str], level: dict[str, float] | None = None) -> Path:
    """375 one-minute bars a session in the documented layout (ISO times with +05:30)."""
    rows = ["timestamp,open,high,low,close,volume"]
    for n, day in enumerate(days):
        base = (level or {}).get(day, 1_500.0 + n)
        for i in range(375):
            hour, minute = divmod(9 * 60 + 15 + i, 60)
            price = base + ((i * 7) % 23 - 11) * 0.05
            rows.append(
                f"{day}T{hour:02d}:{minute:02d}:00+05:30,{price:.2f},{price + 0.45:.2f},"
                f"{price - 0.30:.2f},{price + 0.15:.2f},{100 + (i * 13) % 900}"
            )
    path.write_text("\n".join(rows) + "\n")
    return path


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def paise(text: str) -> int:
    from decimal import Decimal

    return int(Decimal(text) * 100)


def test_export_adjusted_applies_the_stored_split_and_dividend(tmp_path):
    from fractions import Fraction

    home = tmp_path / "ws"
    # the raw prices fall to a fifth on the split's ex-date (4 June), as exchange data does
    levels = {day: (1_500.0 if day < "2026-06-04" else 300.0) for day in SESSIONS}
    bars = write_minutes(tmp_path / "SPLITCO.csv", SESSIONS, levels)
    assert artha("data", "import", str(bars), home=home).returncode == 0
    actions = tmp_path / "actions.csv"
    actions.write_text(
        "symbol,exchange,ex_date,kind,ratio,amount,note\n"
        "SPLITCO,NSE,2026-06-04,split,1:5,,\n"
        "SPLITCO,NSE,2026-06-05,dividend,,5.00,final dividend\n"
    )
    done = artha("data", "actions", str(actions), home=home)
    assert done.returncode == 0, done.stderr
    raw_file, adjusted_file = tmp_path / "raw.csv", tmp_path / "adjusted.csv"
    daily = ("data", "export", "SPLITCO", "--timeframe", "1d")
    raw_out = artha(*daily, "--out", str(raw_file), home=home)
    assert raw_out.returncode == 0, raw_out.stderr
    out = artha(*daily, "--adjusted", "--out", str(adjusted_file), home=home)
    assert out.returncode == 0, out.stderr
    raw, adjusted = read_csv_rows(raw_file), read_csv_rows(adjusted_file)
    assert [r["timestamp"][:10] for r in adjusted] == SESSIONS
    close_before_dividend = paise(raw[3]["close"])  # the last raw close before 5 June
    dividend = Fraction(close_before_dividend - 500, close_before_dividend)
    for day, r, a in zip(SESSIONS, raw, adjusted, strict=True):
        price = (dividend if day < "2026-06-05" else 1) * (
            Fraction(1, 5) if day < "2026-06-04" else 1
        )
        for field in ("open", "high", "low", "close"):
            want = int(paise(r[field]) * price + Fraction(1, 2))  # half-up to the paisa
            assert paise(a[field]) == want, (day, field)
        volume = int(r["volume"]) * (5 if day < "2026-06-04" else 1)
        assert int(a["volume"]) == volume, day
        assert a["symbol"] == "SPLITCO"
    # the 1-minute export is adjusted too: 5 sessions of 375 bars, none of them raw
    minutes = tmp_path / "adjusted_1m.csv"
    done = artha("data", "export", "SPLITCO", "--adjusted", "--out", str(minutes), home=home)
    assert done.returncode == 0, done.stderr
    rows = read_csv_rows(minutes)
    assert len(rows) == 5 * 375 and paise(rows[0]["open"]) < 32_000  # Rs 1,500 / 5 less 5 paise


def test_export_defaults_to_the_finest_stored_timeframe(tmp_path):
    home = tmp_path / "ws"
    daily = tmp_path / "MYSTOCK.csv"
    daily.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        + "".join(
            f"2025-06-{d:02d},{100 + d}.00,{102 + d}.00,{99 + d}.00,{101 + d}.00,{101 + d}.00,"
            f"{1000 * d}\n"
            for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)
        )
    )
    mapping = ("--map", "Date=timestamp", "--map", "Adj Close=oi")
    done = artha("data", "import", str(daily), *mapping, home=home)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "out.csv"
    out = artha("data", "export", "MYSTOCK", "--out", str(target), home=home)
    assert out.returncode == 0, out.stderr
    assert "10 1d bars of MYSTOCK (the finest stored; --timeframe picks another)" in out.stdout
    assert len(read_csv_rows(target)) == 10
    minutes = write_minutes(tmp_path / "MYSTOCK_1m.csv", SESSIONS[:1])
    assert artha("data", "import", str(minutes), "--symbol", "MYSTOCK", home=home).returncode == 0
    out = artha("data", "export", "MYSTOCK", "--out", str(target), home=home)
    assert "375 1m bars of MYSTOCK" in out.stdout


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_export_imports_back_under_the_same_symbol(tmp_path, suffix):
    home, other = tmp_path / "ws", tmp_path / "other"
    minutes = write_minutes(tmp_path / "minutes.csv", SESSIONS[:3])
    done = artha("data", "import", str(minutes), "--symbol", "SYNIT02", home=home)
    assert done.returncode == 0, done.stderr
    exported = tmp_path / f"SYNIT02_15m{suffix}"
    export = ("data", "export", "SYNIT02", "--timeframe", "15m", "--out", str(exported))
    out = artha(*export, home=home)
    assert out.returncode == 0, out.stderr
    if suffix == ".csv":
        header = exported.read_text().splitlines()[0]
        assert header == "timestamp,open,high,low,close,volume,symbol"
    back = artha("data", "import", str(exported), home=other)
    assert back.returncode == 0, back.stderr
    (row,) = listing(other)
    assert (row["symbol"], row["timeframe"], row["bars"]) == ("SYNIT02", "15m", 3 * 25)
    again = tmp_path / f"again{suffix}"
    assert artha("data", "export", "SYNIT02", "--out", str(again), home=other).returncode == 0
    before = load_bars(exported)
    after = load_bars(again)
    assert after.close.tolist() == before.close.tolist()
    assert after.volume.tolist() == before.volume.tolist()


def test_map_takes_one_column_per_flag_or_several_separated_by_commas(tmp_path):
    path = tmp_path / "tcs.csv"
    rows = ["Trade Date,Open,High,Low,Close Price,Qty"]
    for i in range(375):
        hour, minute = divmod(9 * 60 + 15 + i, 60)
        rows.append(f"03-06-2025 {hour:02d}:{minute:02d},3400,3410,3395,3405.5,{900 + i}")
    path.write_text("\n".join(rows) + "\n")
    home = tmp_path / "ws"
    mapping = ("--map", "Trade Date=timestamp,Close Price=close", "--map", "Qty=volume")
    times = ("--timezone", "Asia/Kolkata", "--date-format", "%d-%m-%Y %H:%M")
    done = artha("data", "import", str(path), *mapping, *times, home=home)
    assert done.returncode == 0, done.stderr
    (row,) = listing(home)
    assert (row["symbol"], row["timeframe"], row["bars"]) == ("TCS", "1m", 375)
    bad = artha("data", "import", str(path), "--map", "Trade Date=stamp", home=home)
    assert bad.returncode == 2
    assert "'Trade Date=stamp': 'stamp' is not a field; map a column to one of timestamp" in (
        bad.stderr
    )
    twice = artha(
        "data", "import", str(path), "--map", "Qty=volume", "--map", "Qty=close", home=home
    )
    assert twice.returncode == 2
    assert "column 'Qty' is mapped twice (to volume and to close)" in twice.stderr


def test_files_people_have_import_or_are_refused_saying_what_they_are(tmp_path):
    home = tmp_path / "ws"
    text = write_minutes(tmp_path / "lf.csv", SESSIONS[:2]).read_text()
    mac = tmp_path / "MAC.csv"
    mac.write_bytes(text.replace("\n", "\r").encode())
    done = artha("data", "import", str(mac), home=home)
    assert done.returncode == 0, done.stderr
    assert [(r["symbol"], r["bars"]) for r in listing(home)] == [("MAC", 750)]
    before = listing(home)
    unicode_text = tmp_path / "u16.csv"
    unicode_text.write_bytes(text.encode("utf-16"))
    junk = tmp_path / "junk.csv"
    junk.write_bytes(os.urandom(4096))
    out = artha("data", "import", str(unicode_text), str(junk), home=home)
    assert out.returncode == 2
    assert f"{unicode_text}: is UTF-16 text" in out.stderr
    assert f"{junk}: is a binary file, not CSV text" in out.stderr
    assert all(line.isprintable() for line in out.stderr.splitlines())
    assert listing(home) == before
