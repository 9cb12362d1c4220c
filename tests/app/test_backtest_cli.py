"""`artha backtest`, run as the real console script: readable report, JSON, determinism,
options that change the run, user strategy files, and bad input (exit 2, message naming the
place, no JSON written).

Expected trades are recomputed here from the bar arrays with integer arithmetic (SMA
comparisons by cross-multiplied paise window sums), independently of the engine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthetic_bars import check_bars, make_bars

ARTHA = str(Path(sys.executable).with_name("artha"))
REPO = Path(__file__).resolve().parents[2]
N_BARS = 3000
SEED = 11
SYMBOL = "RELIANCE"
BAD_LINE = 1501  # file line (header is line 1) of the row the bad-input cases break
IST_OFFSET = timezone(timedelta(hours=5, minutes=30))
ISO_IST = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30$")
TRADE_KEYS = {
    "symbol",
    "side",
    "quantity",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "gross_pnl",
    "charges",
    "net_pnl",
}

BARS = make_bars(N_BARS, seed=SEED)
check_bars(BARS)


# -- helpers --------------------------------------------------------------------------------
def artha(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run(
        [ARTHA, "backtest", *args], capture_output=True, text=True, env=env, timeout=120
    )


def rupees(paise: int) -> str:
    return f"{paise // 100}.{paise % 100:02d}"


def iso_ist(ts_ns: int) -> str:
    seconds, nanos = divmod(int(ts_ns), 10**9)
    assert nanos == 0
    return datetime.fromtimestamp(seconds, tz=IST_OFFSET).isoformat()


def csv_lines() -> list[str]:
    """Header plus one line per bar, exactly as a broker export would write them."""
    lines = ["timestamp,open,high,low,close,volume"]
    for i in range(N_BARS):
        prices = ",".join(rupees(int(BARS[k][i])) for k in ("open", "high", "low", "close"))
        lines.append(f"{iso_ist(BARS['ts'][i])},{prices},{int(BARS['volume'][i])}")
    return lines


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class RefTrade:
    entry_bar: int
    entry_paise: int
    exit_bar: int
    exit_paise: int
    quantity: int

    def as_expected(self) -> dict[str, object]:
        return {
            "symbol": SYMBOL,
            "side": "long",
            "quantity": self.quantity,
            "entry_time": iso_ist(BARS["ts"][self.entry_bar]),
            "entry_price": Decimal(self.entry_paise) / 100,
            "exit_time": iso_ist(BARS["ts"][self.exit_bar]),
            "exit_price": Decimal(self.exit_paise) / 100,
            "gross_pnl": Decimal((self.exit_paise - self.entry_paise) * self.quantity) / 100,
        }


def crosses(fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Cross up/down of SMA(fast) vs SMA(slow) of close, compared exactly in integers."""
    close = BARS["close"].astype(object)  # Python ints: no overflow, no rounding
    n = len(close)
    csum = np.concatenate(([0], np.cumsum(close)))
    t = np.arange(n)
    valid = t >= slow - 1
    fsum = np.where(t >= fast - 1, csum[t + 1] - csum[np.maximum(t + 1 - fast, 0)], 0)
    ssum = np.where(valid, csum[t + 1] - csum[np.maximum(t + 1 - slow, 0)], 0)
    diff = np.array([int(f) * slow - int(s) * fast for f, s in zip(fsum, ssum, strict=True)])
    above, below = valid & (diff > 0), valid & (diff < 0)
    at_or_below, at_or_above = valid & (diff <= 0), valid & (diff >= 0)
    up = np.zeros(n, dtype=bool)
    down = np.zeros(n, dtype=bool)
    up[1:] = above[1:] & at_or_below[:-1]
    down[1:] = below[1:] & at_or_above[:-1]
    return up, down


def reference_run(
    fast: int = 10, slow: int = 30, quantity: int = 100, fill: str = "next-open"
) -> tuple[list[RefTrade], tuple[int, int] | None]:
    """The sma_crossover rules, simulated bar by bar: (closed trades, open (bar, price))."""
    up, down = crosses(fast, slow)
    opens, closes = BARS["open"], BARS["close"]
    trades: list[RefTrade] = []
    position: tuple[int, int] | None = None  # (entry bar, entry paise)
    pending: str | None = None
    for t in range(N_BARS):
        if pending is not None:  # a market order placed at the last close fills at this open
            if pending == "buy":
                position = (t, int(opens[t]))
            else:
                assert position is not None
                trades.append(RefTrade(*position, t, int(opens[t]), quantity))
                position = None
            pending = None
        action = "buy" if up[t] and position is None else None
        if down[t] and position is not None:
            action = "sell"
        if action is None:
            continue
        if fill == "close":
            if action == "buy":
                position = (t, int(closes[t]))
            else:
                assert position is not None
                trades.append(RefTrade(*position, t, int(closes[t]), quantity))
                position = None
        elif t + 1 < N_BARS:
            pending = action
    return trades, position


def normalised(trades: list[dict[str, object]]) -> list[dict[str, object]]:
    keys = ("symbol", "side", "quantity", "entry_time", "exit_time")
    out = []
    for t in trades:
        row: dict[str, object] = {k: t[k] for k in keys}
        for k in ("entry_price", "exit_price", "gross_pnl"):
            row[k] = Decimal(str(t[k]))
        out.append(row)
    return out


def run_json(tmp_path: Path, csv: Path, *args: str, name: str = "report.json") -> dict:
    target = tmp_path / name
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv), *args, "--json", str(target),
        home=tmp_path / "home",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return json.loads(target.read_text(encoding="utf-8"))


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bars")


@pytest.fixture(scope="module")
def csv_file(data_dir: Path) -> Path:
    return write_csv(data_dir / f"{SYMBOL.lower()}.csv", csv_lines())


@pytest.fixture(scope="module")
def default_report(data_dir: Path, csv_file: Path) -> dict:
    return run_json(data_dir, csv_file, name="default.json")


@pytest.fixture(scope="module")
def no_cost_report(data_dir: Path, csv_file: Path) -> dict:
    return run_json(data_dir, csv_file, "--costs", "none", name="no_cost.json")


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
ROUND_TRIP = '''\
"""Buys on one bar and sells on a later one: trades known in advance."""

import numpy as np

from strategies.sdk import BarView, Param, Strategy


class RoundTrip(Strategy):
    name = "round_trip"

    enter_at = Param(100, min=0, help="bar whose close places the buy")
    exit_at = Param(200, min=1, help="bar whose close places the sell")
    size = Param(7, min=1)

    def init(self) -> None:
        bars = np.arange(self.data.size)
        self.on(bars == self.enter_at, self.enter)
        self.on(self.I(lambda n: n == self.exit_at, bars, name="exit_bar"), self.leave)

    def enter(self, bar: BarView) -> None:
        self.buy(self.size)

    def leave(self, bar: BarView) -> None:
        self.close_position()
'''

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


def write_strategy(path: Path, source: str) -> Path:
    path.write_text(source, encoding="utf-8")
    return path


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


def case_unsorted(tmp_path: Path, good: Path):
    csv = broken_csv(tmp_path, "unsorted.csv", swap_rows)
    return ["--data", str(csv)], [f"unsorted.csv:{BAD_LINE + 1}", "sorted"]


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
    return ["--data", str(csv)], [f"dup.csv:{BAD_LINE + 1}", "duplicate", f"line {BAD_LINE}"]


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
    case_unsorted,
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
