"""`artha backtest` on bad input: exit 2, a message naming the file:line, parameter or the
author's line, nothing on stdout, and no JSON file left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from tests.app.backtest_cli_helpers import (
    ARTHA,
    BAD_LINE,
    REPO,
    ROUND_TRIP,
    artha,
    csv_lines,
    rupees,
    write_csv,
    write_strategy,
)


# -- bad input ------------------------------------------------------------------------------
def broken_csv(tmp_path: Path, name: str, change) -> Path:
    lines = csv_lines()
    change(lines)
    return write_csv(tmp_path / name, lines)


def set_field(lines: list[str], line_no: int, column: int, value: str) -> None:
    fields = lines[line_no - 1].split(",")
    fields[column] = value
    lines[line_no - 1] = ",".join(fields)


def high_below_low(lines: list[str]) -> None:
    low = lines[BAD_LINE - 1].split(",")[3]
    set_field(lines, BAD_LINE, 2, rupees(int(Decimal(low) * 100) - 5))


def swap_rows(lines: list[str]) -> None:
    i = BAD_LINE - 1
    lines[i], lines[i + 1] = lines[i + 1], lines[i]


def repeat_time(lines: list[str]) -> None:
    set_field(lines, BAD_LINE + 1, 0, lines[BAD_LINE - 1].split(",")[0])


HANDLER_RAISES = """\
import numpy as np

from strategies.sdk import BarView, Strategy


class Boom(Strategy):
    def init(self) -> None:
        self.on(np.arange(self.data.size) == 50, self.go)

    def go(self, bar: BarView) -> None:
        prices = self.data.close.values
        raise RuntimeError(f"kaboom after {len(prices)} bars")
"""
HANDLER_LINE = 12

SYNTAX_ERROR = """\
from strategies.sdk import Strategy


class Broken(Strategy)
    pass
"""
SYNTAX_LINE = 4

BAD_DEFAULT = """\
from strategies.sdk import Param, Strategy


class BadDefault(Strategy):
    lookback = Param(0, min=1)
"""


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def case_high_below_low(tmp_path: Path, good: Path):
    csv = broken_csv(tmp_path, "hl.csv", high_below_low)
    return ["--data", str(csv)], [f"hl.csv:{BAD_LINE}", "high", "below low"]


def case_nan_price(tmp_path: Path, good: Path):
    csv = broken_csv(tmp_path, "nan.csv", lambda lines: set_field(lines, BAD_LINE, 4, "NaN"))
    return ["--data", str(csv)], [f"nan.csv:{BAD_LINE}", "close", "NaN"]


def case_zero_price(tmp_path: Path, good: Path):
    csv = broken_csv(tmp_path, "zero.csv", lambda lines: set_field(lines, BAD_LINE, 1, "0"))
    return ["--data", str(csv)], [f"zero.csv:{BAD_LINE}", "open", "not above zero"]


def case_negative_price(tmp_path: Path, good: Path):
    csv = broken_csv(tmp_path, "neg.csv", lambda lines: set_field(lines, BAD_LINE, 3, "-5"))
    return ["--data", str(csv)], [f"neg.csv:{BAD_LINE}", "low", "not above zero"]


def case_duplicate_time(tmp_path: Path, good: Path):
    csv = broken_csv(tmp_path, "dup.csv", repeat_time)
    return ["--data", str(csv)], [f"dup.csv:{BAD_LINE + 1}", "appears twice", f"line {BAD_LINE}"]


def case_missing_data(tmp_path: Path, good: Path):
    return ["--data", str(tmp_path / "absent.csv")], ["absent.csv", "not found"]


def case_unknown_strategy(tmp_path: Path, good: Path):
    return ["--strategy", "nope", "--data", str(good)], [
        "argument --strategy",
        "'nope'",
        "sma_crossover",
    ]


def case_unknown_param(tmp_path: Path, good: Path):
    return ["--data", str(good), "--param", "fats=5"], [
        "argument --param",
        "'fats'",
        "fast, slow, quantity",
    ]


def case_bad_param_value(tmp_path: Path, good: Path):
    return ["--data", str(good), "--param", "fast=abc"], ["argument --param", "fast", "'abc'"]


def case_param_out_of_range(tmp_path: Path, good: Path):
    return ["--data", str(good), "--param", "fast=0"], ["argument --param", "fast=0", ">= 1"]


def case_param_without_value(tmp_path: Path, good: Path):
    return ["--data", str(good), "--param", "fast"], ["argument --param", "name=value"]


def case_fast_not_below_slow(tmp_path: Path, good: Path):
    source = REPO / "strategies" / "reference" / "sma_crossover.py"
    line = line_of(source, "must be shorter than slow")
    return ["--data", str(good), "--param", "fast=40"], [
        "sma_crossover",
        f"sma_crossover.py:{line}",
        "must be shorter",
    ]


def case_handler_raises(tmp_path: Path, good: Path):
    source = write_strategy(tmp_path / "boom.py", HANDLER_RAISES)
    assert "raise RuntimeError" in source.read_text().splitlines()[HANDLER_LINE - 1]
    return ["--strategy", str(source), "--data", str(good)], [
        f"boom.py:{HANDLER_LINE}",
        "kaboom after 51 bars",  # the handler saw bars 0..50 and nothing later
        "bar 50",
    ]


def case_syntax_error(tmp_path: Path, good: Path):
    source = write_strategy(tmp_path / "broken.py", SYNTAX_ERROR)
    return ["--strategy", str(source), "--data", str(good)], [
        "argument --strategy",
        f"broken.py:{SYNTAX_LINE}",
        "syntax error",
    ]


def case_bad_default(tmp_path: Path, good: Path):
    source = write_strategy(tmp_path / "bad_default.py", BAD_DEFAULT)
    return ["--strategy", str(source), "--data", str(good)], [
        "argument --strategy",
        "bad_default.py",
        "lookback",
    ]


def case_missing_strategy_file(tmp_path: Path, good: Path):
    return ["--strategy", str(tmp_path / "gone.py"), "--data", str(good)], [
        "argument --strategy",
        "gone.py",
        "does not exist",
    ]


def case_unknown_class(tmp_path: Path, good: Path):
    source = write_strategy(tmp_path / "rt.py", ROUND_TRIP)
    return ["--strategy", f"{source}:Nope", "--data", str(good)], ["rt.py", "'Nope'"]


BAD_CASES = [
    case_high_below_low,
    case_nan_price,
    case_zero_price,
    case_negative_price,
    case_duplicate_time,
    case_missing_data,
    case_unknown_strategy,
    case_unknown_param,
    case_bad_param_value,
    case_param_out_of_range,
    case_param_without_value,
    case_fast_not_below_slow,
    case_handler_raises,
    case_syntax_error,
    case_bad_default,
    case_missing_strategy_file,
    case_unknown_class,
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.__name__[5:] for c in BAD_CASES])
def test_bad_input_exits_2_names_the_place_and_writes_no_json(case, tmp_path, csv_file):
    args, fragments = case(tmp_path, csv_file)
    if "--strategy" not in args:
        args = ["--strategy", "sma_crossover", *args]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "report.json"
    out = artha(*args, "--json", str(target), home=tmp_path / "home")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    assert out.stderr.startswith("artha backtest: error: ") or "usage:" in out.stderr
    assert "Traceback" not in out.stderr
    for fragment in fragments:
        assert fragment in out.stderr, (fragment, out.stderr)
    assert not target.exists()
    assert list(out_dir.iterdir()) == []  # no temp file left behind either


def test_bad_input_with_json_on_stdout_prints_nothing(tmp_path, csv_file):
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv_file), "--param", "slow=abc",
        "--json", "-", home=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stdout == ""
    assert "slow" in out.stderr


def test_a_failed_run_leaves_an_existing_json_untouched(tmp_path):
    csv = broken_csv(tmp_path, "nan.csv", lambda lines: set_field(lines, BAD_LINE, 4, "nan"))
    target = tmp_path / "report.json"
    target.write_text("old\n", encoding="utf-8")
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv), "--json", str(target),
        home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 2
    assert f"nan.csv:{BAD_LINE}" in out.stderr
    assert target.read_text(encoding="utf-8") == "old\n"


def test_bad_default_in_a_strategy_file_says_why(tmp_path, csv_file):
    source = write_strategy(tmp_path / "bad_default.py", BAD_DEFAULT)
    out = artha("--strategy", str(source), "--data", str(csv_file), home=tmp_path / "home")
    assert out.returncode == 2
    assert "lookback=0" in out.stderr and ">= 1" in out.stderr


# -- dates before the charge schedules ------------------------------------------------------
def moved_csv(tmp_path: Path, name: str, monday: date) -> Path:
    """The bar file with its eight sessions moved whole weeks back to start on `monday`."""
    shift = FIRST_MONDAY - monday
    assert shift.days % 7 == 0 and monday.weekday() == 0
    lines = csv_lines()
    for i in range(1, len(lines)):
        day, rest = lines[i][:10], lines[i][10:]
        lines[i] = (date.fromisoformat(day) - shift).isoformat() + rest
    return write_csv(tmp_path / name, lines)


FIRST_MONDAY = date(2026, 12, 21)  # the bar file's first session


def test_data_before_the_charge_schedules_says_which_dates_and_what_to_do(tmp_path):
    old = moved_csv(tmp_path, "old.csv", date(2019, 7, 1))  # 2019-07-01 .. 2019-07-11
    target = tmp_path / "out.json"
    out = artha(
        "--strategy",
        "sma_crossover",
        "--data",
        str(old),
        "--json",
        str(target),
        home=tmp_path / "home",
    )
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    message = out.stderr
    assert message.startswith("artha backtest: error: ")
    assert "OLD 2019-07-01..2019-07-11" in message  # the dates no schedule covers
    assert "2020-07-01" in message and "stamp duty" in message  # where charges start, why
    assert "--costs bps --cost-bps" in message and "--costs none" in message  # what to do
    assert not target.exists()


def test_data_spanning_into_the_uncovered_period_names_only_the_uncovered_dates(tmp_path):
    # sessions 2020-06-22..25 and 2020-06-29..07-02: the first six lie before 2020-07-01
    spanning = moved_csv(tmp_path, "span.csv", date(2020, 6, 22))
    out = artha("--strategy", "sma_crossover", "--data", str(spanning), home=tmp_path / "h")
    assert out.returncode == 2, out.stdout
    assert "Traceback" not in out.stderr
    assert "SPAN 2020-06-22..2020-06-30" in out.stderr
    assert "2020-07-02" not in out.stderr


def test_old_data_runs_with_a_flat_bps_fee_or_without_costs(tmp_path):
    old = moved_csv(tmp_path, "old.csv", date(2019, 7, 1))
    source = write_strategy(tmp_path / "round_trip.py", ROUND_TRIP)
    bps = tmp_path / "bps.json"
    out = artha(
        "--strategy",
        str(source),
        "--data",
        str(old),
        "--param",
        "exit_at=500",
        "--param",
        "size=70",
        "--costs",
        "bps",
        "--cost-bps",
        "5",
        "--json",
        str(bps),
        home=tmp_path / "home",
    )
    assert out.returncode == 0, out.stderr
    assert "Costs:    flat 5 bps of turnover" in out.stdout
    report = json.loads(bps.read_text(encoding="utf-8"))
    assert report["config"]["costs"] == "bps"
    (trade,) = report["trades"]
    assert trade["entry_time"][:10] == "2019-07-01" and trade["exit_time"][:10] == "2019-07-02"
    # one contract note a day, each 5 / 10,000 of its value, rounded to the paisa
    fee = sum(
        (Decimal(trade[k]) * 70 * 5 / 10_000).quantize(Decimal("0.01"), ROUND_HALF_UP)
        for k in ("entry_price", "exit_price")
    )
    assert Decimal(trade["charges"]) == fee == Decimal(report["total_charges"])
    out = artha("--strategy", "sma_crossover", "--data", str(old), "--costs", "none", home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Costs:    none" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--costs", "bps"), "argument --costs: bps needs --cost-bps"),
        (("--cost-bps", "5"), "argument --cost-bps: goes with --costs bps"),
        (("--costs", "bps", "--cost-bps", "x"), "argument --cost-bps"),
    ],
)
def test_bps_costs_need_their_rate(args, message, tmp_path, csv_file):
    out = artha("--strategy", "sma_crossover", "--data", str(csv_file), *args, home=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_stored_bars_before_the_schedules_point_to_from(tmp_path):
    """From the store the way out is --from: the same bars from 2020-07-01 run with costs."""
    home = tmp_path / "ws"
    spanning = moved_csv(tmp_path, "span.csv", date(2020, 6, 22))
    env = {**os.environ, "ARTHA_HOME": str(home)}
    imported = subprocess.run(
        [ARTHA, "data", "import", str(spanning)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert imported.returncode == 0, imported.stderr
    out = artha("--strategy", "sma_crossover", "--symbol", "SPAN", home=home)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SPAN 2020-06-22..2020-06-30" in out.stderr and "--from 2020-07-01" in out.stderr
    out = artha(
        "--strategy",
        "sma_crossover",
        "--symbol",
        "SPAN",
        "--from",
        "2020-07-01",
        "--param",
        "fast=5",
        "--param",
        "slow=20",
        home=home,
    )
    assert out.returncode == 0, out.stderr
    assert "Data:     SPAN, 750 1m bars, 2020-07-01T09:15 to 2020-07-02T15:29 IST" in out.stdout
