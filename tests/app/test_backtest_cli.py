"""`artha backtest`, run as the real console script: readable report, JSON, determinism,
options that change the run, and user strategy files. Expected trades are recomputed
independently (backtest_cli_helpers.reference_run)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from tests.app.backtest_cli_helpers import (
    ARTHA,
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
    assert lines[1] == f"Data:     {SYMBOL}, 3,000 1m bars, {first} to {last} IST"
    assert lines[2].startswith("Costs:")  # a file's bars are used as they are: no resampling
    assert "Capital            Rs 1,00,00,000.00" in lines

    badges = [line for line in lines if line.startswith("Weekly target:")]
    assert len(badges) == 1
    badge = re.match(r"^Weekly target: (GREEN|AMBER|RED) - (\S.*)$", badges[0])
    assert badge is not None, badges[0]
    assert not badge.group(2).startswith(badge.group(1)), badges[0]  # said once

    expected, _ = reference_run()
    assert len(expected) > 10
    closed = next(line for line in lines if line.startswith("Closed trades"))
    assert re.match(rf"^Closed trades\s+{len(expected)}\s+\(", closed), closed
    start = lines.index("Trades (first 10):")
    shown = lines[start + 1 : start + 11]
    for line, trade in zip(shown, expected[:10], strict=True):
        entry = iso_ist(BARS["ts"][trade.entry_bar])[:16].replace("T", " ")
        exit_ = iso_ist(BARS["ts"][trade.exit_bar])[:16].replace("T", " ")
        found = re.match(
            rf"^  long\s+100 {SYMBOL}\s+{entry} @\s+([\d,.]+) -> "
            rf"{exit_} @\s+([\d,.]+)  net Rs\s+-?[\d,]+\.\d\d$",
            line,
        )
        assert found is not None, line
        prices = [Decimal(p.replace(",", "")) for p in found.groups()]
        assert prices == [Decimal(rupees(trade.entry_paise)), Decimal(rupees(trade.exit_paise))]
    assert lines[start + 11] == f"  ... {len(expected) - 10} more (see --json)"
    assert re.match(r"^Run took \d+\.\d{3} s$", lines[-3])
    assert lines[-1] == "Run history: saved as run 1 (artha runs show 1)"  # in the workspace


def test_trade_lines_are_column_aligned(tmp_path, csv_file):
    """Every column starts at the same place on every line (prices and P&L right-aligned)."""
    out = artha("--strategy", "sma_crossover", "--data", str(csv_file), home=tmp_path)
    lines = out.stdout.splitlines()
    start = lines.index("Trades (first 10):")
    shown = lines[start + 1 : start + 11]
    nets = [re.search(r"net Rs\s+(-?[\d,]+\.\d\d)$", line) for line in shown]
    assert all(nets) and len({n.group(1) for n in nets if n}) > 1  # amounts of different widths
    assert len({len(line) for line in shown}) == 1, shown
    for marker in (" @ ", " -> ", " net Rs "):
        assert len({line.index(marker) for line in shown}) == 1, (marker, shown)


def test_expectancy_has_indian_digit_grouping(tmp_path, csv_file):
    report = run_json(tmp_path, csv_file, "--param", "quantity=5000")
    value = Decimal(str(report["metrics"]["net"]["expectancy"]))
    value = value.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert abs(value) >= 1000, "the case needs an amount that takes a separator"
    out = artha(
        "--strategy",
        "sma_crossover",
        "--data",
        str(csv_file),
        "--param",
        "quantity=5000",
        home=tmp_path / "home",
    )
    expectancy = re.search(r"expectancy Rs (-?[\d,]+\.\d\d)$", out.stdout, re.MULTILINE)
    assert expectancy is not None, out.stdout
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    assert abs(value) < 100_000  # below a lakh Indian grouping reads like 12,345
    assert expectancy.group(1) == f"{sign}{int(whole):,}.{cents}"


def test_tiny_losses_never_print_negative_zero(tmp_path, csv_file):
    """One share on a crore of capital: weekly returns round to 0.00%, never -0.00%."""
    report = run_json(tmp_path, csv_file, "--param", "quantity=1")
    mean = report["weekly"]["criteria"][0]
    assert mean["name"] == "mean_weekly_return" and -0.00005 < mean["actual"] < 0
    out = artha(
        "--strategy",
        "sma_crossover",
        "--data",
        str(csv_file),
        "--param",
        "quantity=1",
        home=tmp_path / "home",
    )
    assert out.returncode == 0, out.stderr
    assert "-0.00%" not in out.stdout and "Rs -0.00" not in out.stdout
    assert "  FAIL  mean weekly return: 0.00% (target >= 1.00%)" in out.stdout.splitlines()
    assert "mean weekly return 0.00% is below the 1.00% target" in out.stdout


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


def test_the_run_is_saved_beside_the_report_and_a_busy_workspace_loses_neither(
    tmp_path, csv_file, default_report
):
    """The history is written on a thread while the report is encoded: both must be whole
    when the command exits, and a workspace held by another Artha costs the save only."""
    from engine.data import run_history as rh
    from engine.data.store import MarketStore
    from engine.workspace import Workspace

    home = tmp_path / "home"
    target = tmp_path / "r.json"
    out = artha(
        "--strategy", "sma_crossover", "--data", str(csv_file), "--json", str(target), home=home
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Run history: saved as run 1" in out.stdout
    written = json.loads(target.read_text(encoding="utf-8"))
    with MarketStore.open(Workspace(home).database_path, read_only=True) as store:
        saved = rh.load_run(store, 1).report.as_json()
    for report in (written, saved):
        report.pop("run_seconds")
    expected = {k: v for k, v in default_report.items() if k != "run_seconds"}
    assert written == expected
    assert saved == {k: v for k, v in expected.items() if k != "data_notes"}

    with Workspace(home).lock():
        busy = artha(
            "--strategy", "sma_crossover", "--data", str(csv_file), "--json", "-", home=home
        )  # fmt: skip
    assert busy.returncode == 0 and "Traceback" not in busy.stderr
    assert busy.stderr.startswith("artha backtest: the run was not saved in the run history:")
    report = json.loads(busy.stdout)
    report.pop("run_seconds")
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


# -- charges and rejections that add up -------------------------------------------------------
LADDER = '''\
"""Builds a position in steps over days, trims it in bigger steps (FIFO partial closes of
several lots), then on the last day sells everything and buys back the same afternoon."""

import numpy as np

from strategies.sdk import BarView, Param, Strategy


class Ladder(Strategy):
    name = "ladder"

    add = Param(100, min=1, help="shares bought every add_every bars")
    add_every = Param(47, min=1)
    trim = Param(120, min=1, help="shares sold every trim_every bars, when held")
    trim_every = Param(71, min=1)
    stop_at = Param(2625, min=1, help="no adding or trimming from this bar (the last day)")
    flip_out = Param(2700, min=1, help="bar whose close sells the whole position")
    flip_in = Param(2800, min=1, help="bar whose close buys back_in shares the same day")
    back_in = Param(600, min=1)

    def init(self) -> None:
        bars = np.arange(self.data.size)
        early = bars < self.stop_at
        self.on(early & (bars % self.add_every == 5), self.step_in)
        self.on(early & (bars % self.trim_every == 9), self.step_out)
        self.on(bars == self.flip_out, self.sell_all)
        self.on(bars == self.flip_in, self.buy_back)

    def step_in(self, bar: BarView) -> None:
        self.buy(self.add)

    def step_out(self, bar: BarView) -> None:
        if self.position.quantity >= self.trim:
            self.sell(self.trim)

    def sell_all(self, bar: BarView) -> None:
        self.close_position()

    def buy_back(self, bar: BarView) -> None:
        self.buy(self.back_in)
'''

GREEDY = '''\
"""Asks every third bar for far more shares than the capital buys: every order is rejected."""

import numpy as np

from strategies.sdk import BarView, Param, Strategy


class Greedy(Strategy):
    name = "greedy"

    every = Param(3, min=1)

    def init(self) -> None:
        self.on(np.arange(self.data.size) % self.every == 0, self.grab)

    def grab(self, bar: BarView) -> None:
        self.buy(1_000_000)
'''


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_charges_paid_are_closed_trades_plus_open_positions_exactly(tmp_path, csv_file):
    """Eight sessions of Zerodha contract notes: partial closes of FIFO lots, several notes a
    day, and a same-day sell-and-buy-back whose credit sits on the position left open."""
    source = write_strategy(tmp_path / "ladder.py", LADDER)
    target = tmp_path / "ladder.json"
    out = artha(
        "--strategy",
        str(source),
        "--data",
        str(csv_file),
        "--json",
        str(target),
        home=tmp_path / "home",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(target.read_text(encoding="utf-8"))
    trades = report["trades"]
    assert len(trades) > 30 and len({t["quantity"] for t in trades}) > 1  # split lots
    assert len({t["entry_time"][:10] for t in trades}) >= 7  # a multi-day run
    assert report["open_positions"] == {f"{SYMBOL}/CNC": 600}

    total = Decimal(report["total_charges"])
    closed = Decimal(report["closed_trade_charges"])
    still_open = Decimal(report["open_position_charges"])
    assert closed == sum(Decimal(t["charges"]) for t in trades)
    assert closed + still_open == total  # to the paisa
    assert still_open == Decimal(report["by_symbol"][SYMBOL]["open_charges"])
    # The newcomer's case: the buy-back made the day's notes intraday (lower STT), so the
    # open position carries a credit and everything paid is LESS than the closed trades' part.
    assert still_open < 0 and total < closed
    # Independently of how charges are split: cash says what was paid.
    gross = sum(Decimal(t["gross_pnl"]) for t in trades)
    unrealized = Decimal(report["by_symbol"][SYMBOL]["unrealized_pnl"])
    assert Decimal(report["final_equity"]) == Decimal(10_000_000) + gross + unrealized - total

    found = re.search(
        r"^All charges paid   Rs (\S+)  = closed trades Rs (\S+) \+ still open Rs (\S+)$",
        out.stdout,
        re.MULTILINE,
    )
    assert found is not None, out.stdout
    shown = [money(g) for g in found.groups()]
    assert shown == [total, closed, still_open]
    line = next(x for x in out.stdout.splitlines() if x.startswith("Closed trades"))
    assert f"charges Rs {found.group(2)}," in line  # the same closed-trades figure
    assert "priced and rounded as a whole" in out.stdout  # what each figure includes
    assert "credit" in out.stdout and "intraday" in out.stdout  # why the open part is < 0


def test_without_open_positions_all_charges_are_the_closed_trades(tmp_path, csv_file):
    source = write_strategy(tmp_path / "ladder.py", LADDER)
    target = tmp_path / "flat.json"
    out = artha(
        "--strategy",
        str(source),
        "--data",
        str(csv_file),
        "--param",
        "back_in=1",
        "--param",
        "flip_in=2999",
        "--json",
        str(target),
        home=tmp_path / "home",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["open_positions"] == {}  # the last bar's buy never fills
    assert Decimal(report["open_position_charges"]) == 0
    assert Decimal(report["closed_trade_charges"]) == Decimal(report["total_charges"])
    assert f"All charges paid   Rs {inr_text(report['total_charges'])}, all on closed trades" in (
        out.stdout.splitlines()
    )


def inr_text(amount: str) -> str:
    """12,34,567.89: the report's Indian grouping, written out independently."""
    whole, cents = amount.lstrip("-").split(".")
    head, tail = whole[:-3], whole[-3:]
    groups = [head[max(i - 2, 0) : i] for i in range(len(head), 0, -2)][::-1]
    return ("-" if amount.startswith("-") else "") + ",".join([*groups, tail]) + "." + cents


def test_every_rejected_order_is_counted_and_the_first_are_kept(tmp_path, csv_file):
    source = write_strategy(tmp_path / "greedy.py", GREEDY)
    target = tmp_path / "greedy.json"
    out = artha(
        "--strategy",
        str(source),
        "--data",
        str(csv_file),
        "--json",
        str(target),
        home=tmp_path / "home",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(target.read_text(encoding="utf-8"))
    asked = len(range(0, N_BARS, 3))
    assert asked == 1000
    assert report["orders"] == asked and report["trades"] == []
    assert report["rejected_orders"] == asked
    kept = report["rejections"]
    assert len(kept) == 20  # the first messages only
    assert kept[0].startswith(f"{SYMBOL} bar 0: BUY 1000000 rejected: ")
    assert kept[-1].startswith(f"{SYMBOL} bar 57: ")
    line = next(x for x in out.stdout.splitlines() if x.startswith("Rejected orders"))
    assert line.startswith(f"Rejected orders    1,000  (first: {kept[0]}")
    assert line.endswith("; --json lists the first 20)")


# -- what the report says about the data and open positions --------------------------------
def test_open_positions_read_as_symbol_product_side_quantity(tmp_path, csv_file):
    out = artha("--strategy", "sma_crossover", "--data", str(csv_file), home=tmp_path)
    lines = out.stdout.splitlines()
    at = lines.index("Open at the end    1 position (not counted as trades)")
    assert lines[at + 1] == f"  {SYMBOL}  CNC  long  100"
    assert "{" not in out.stdout and "/CNC" not in out.stdout  # no raw dict, no key syntax


def store_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    return subprocess.run([ARTHA, *args], capture_output=True, text=True, env=env, timeout=180)


def test_store_bars_say_their_size_and_that_they_were_resampled(tmp_path, csv_file):
    home = tmp_path / "ws"
    imported = store_cli("data", "import", str(csv_file), "--symbol", SYMBOL, home=home)
    assert imported.returncode == 0, imported.stderr
    out = artha("--strategy", "sma_crossover", "--symbol", SYMBOL, "--timeframe", "15m", home=home)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    first = iso_ist(BARS["ts"][0])[:16]
    assert lines[1].startswith(f"Data:     {SYMBOL}, {N_BARS // 15:,} 15m bars, {first} to ")
    assert (
        lines[2] == "          (15m bars resampled on the exchange clock from the stored 1m bars)"
    )
    out = artha("--strategy", "sma_crossover", "--symbol", SYMBOL, home=home)  # as stored
    lines = out.stdout.splitlines()
    assert lines[1].startswith(f"Data:     {SYMBOL}, 3,000 1m bars, ")
    assert lines[2].startswith("Costs:")


def test_bars_on_closed_days_are_said_in_the_report(tmp_path):
    """The newcomer's backtest filled trades on Good Friday 2025 without a word."""
    import datetime as dt

    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    day, price = dt.date(2025, 1, 1), 1000.0
    while day <= dt.date(2025, 12, 31):
        if day.weekday() < 5:
            close = price * (1.01 if day.toordinal() % 3 else 0.985)
            high, low = max(price, close) + 1, min(price, close) - 1
            lines.append(f"{day},{price:.2f},{high:.2f},{low:.2f},{close:.2f},{close:.2f},5000")
            price = close
        day += dt.timedelta(days=1)
    data = tmp_path / "MYSTOCK.csv"
    data.write_text("\n".join(lines) + "\n")
    run = artha("--strategy", "sma_crossover", "--data", str(data),
                "--param", "fast=5", "--param", "slow=20", home=tmp_path / "ws")  # fmt: skip
    assert run.returncode == 0, run.stderr
    (warning,) = [line for line in run.stdout.splitlines() if "NSE was closed" in line]
    assert "MYSTOCK: 13 bars on 13 days NSE was closed (2025-02-26 Wed" in warning
    assert "treated them as sessions" in warning


def test_a_stored_future_trades_in_its_lots_at_its_exchange(tmp_path):
    """Issue 11 review: store-backed runs used a default NSE share (lot 1) for every symbol,
    so a future's lot size and freeze limit were never checked."""
    from datetime import date

    import pandas as pd

    from engine.data.batch import INSTRUMENT_COLUMNS, ImportBatch
    from engine.data.store import MarketStore
    from tests.engine.store_helpers import bar_frame, instrument_row

    home = tmp_path / "ws"
    home.mkdir()
    future = instrument_row(
        "NIFTYFUT", exchange="NFO", segment="FUT", lot_size=75, expiry=date(2024, 12, 26)
    )
    bars = bar_frame("NIFTYFUT", 375 * 4, exchange="NFO")
    with MarketStore.open(home / "artha.duckdb") as store:
        store.import_batch(
            ImportBatch(
                "fut.csv", "generic", pd.DataFrame([future], columns=INSTRUMENT_COLUMNS), bars
            )
        )
    odd = artha(
        "--strategy",
        "sma_crossover",
        "--symbol",
        "NIFTYFUT",
        "--param",
        "quantity=100",
        "--costs",
        "none",
        "--json",
        "-",
        home=home,
    )
    assert odd.returncode == 0, odd.stderr
    report = json.loads(odd.stdout)
    assert report["trades"] == [] and report["rejected_orders"] > 10
    assert report["rejections"][0].endswith(
        "rejected: quantity 100 is not a multiple of the lot size 75"
    )
    whole = artha(
        "--strategy",
        "sma_crossover",
        "--symbol",
        "NIFTYFUT",
        "--param",
        "quantity=150",
        "--json",
        "-",
        home=home,
    )
    assert whole.returncode == 0, whole.stderr
    report = json.loads(whole.stdout)
    assert report["rejected_orders"] == 0 and len(report["trades"]) > 10
    assert float(report["total_charges"]) > 0  # futures charges, NSE's (NFO) table
