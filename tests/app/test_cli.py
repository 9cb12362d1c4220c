"""The real `artha` console script, run as a user would (headless)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from app.version import __version__
from engine.workspace import Workspace

ARTHA = str(Path(sys.executable).with_name("artha"))


def run(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([ARTHA, *args], capture_output=True, text=True, env=env, timeout=timeout)


def distinct_colours(image: QImage, step: int = 7) -> int:
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


def test_version(tmp_path):
    out = run("--version", home=tmp_path)
    assert out.returncode == 0
    assert out.stdout.strip() == f"artha {__version__}"


def test_screenshot_renders_the_main_window(tmp_path):
    target = tmp_path / "shot.png"
    out = run("--screenshot", str(target), "--size", "1280x800", home=tmp_path / "ws")
    assert out.returncode == 0, out.stderr
    assert "saved 1280x800 screenshot" in out.stdout
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1280, 800)
    assert distinct_colours(image) > 20  # text, docks and status bar, not a blank canvas


def small_demo_workspace(root: Path) -> Path:
    from engine.data.demo import demo_batch, generate_demo
    from engine.data.store import MarketStore

    ws = Workspace(root).ensure()
    with MarketStore.open(ws.database_path) as store:
        store.import_batch(demo_batch(generate_demo(count=3, days=6)))
    return ws.root


def test_screenshot_of_the_chart_shows_a_demo_run_and_changes_nothing_saved(tmp_path):
    home = small_demo_workspace(tmp_path / "ws")
    settings = home / "settings"

    def saved() -> dict[str, bytes]:
        return {str(p.relative_to(settings)): p.read_bytes() for p in settings.rglob("*")
                if p.is_file()}  # fmt: skip

    before = saved()
    target = tmp_path / "chart.png"
    out = run("--screenshot", str(target), "--show", "chart", "--size", "1200x700", home=home)
    assert out.returncode == 0, out.stderr
    assert "saved 1200x700 screenshot" in out.stdout
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1200, 700)
    assert distinct_colours(image, step=3) > 40  # candles, two lines, markers, axes
    watch = tmp_path / "watch.png"
    out = run("--screenshot", str(watch), "--show", "watchlist", "--size", "500x600", home=home)
    assert out.returncode == 0, out.stderr
    assert QImage(str(watch)).size().width() == 500
    assert saved() == before  # pictures save nothing: no chart state, no seeded watchlist


def test_show_without_screenshot_is_an_argument_error(tmp_path):
    out = run("--show", "chart", home=tmp_path)
    assert out.returncode == 2 and "only with --screenshot" in out.stderr
    out = run("--screenshot", str(tmp_path / "x.png"), "--show", "log", home=tmp_path)
    assert out.returncode == 2 and "invalid choice: 'log'" in out.stderr


def test_bad_size_is_refused_with_a_clear_message(tmp_path):
    out = run("--screenshot", str(tmp_path / "x.png"), "--size", "huge", home=tmp_path)
    assert out.returncode == 2
    assert "size must look like 1600x1000" in out.stderr


def test_screenshot_into_a_missing_folder_fails_cleanly(tmp_path):
    out = run("--screenshot", str(tmp_path / "nope" / "x.png"), home=tmp_path / "ws")
    assert out.returncode == 2
    assert "does not exist" in out.stderr


def test_second_start_on_the_same_workspace_says_so(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    with ws.lock():
        out = run(home=ws.root, timeout=60)
    assert out.returncode == 1
    assert "already running" in out.stderr
    assert f"process {os.getpid()}" in out.stderr


# --- --workspace before or after any command (issue 9, item 7) ----------------------------


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(argv prefix, parser) of every command and action that runs something."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from leaf_commands(sub, (*prefix, name))


REQUIRED = {  # the fewest arguments each command needs to parse
    ("backtest",): ["--strategy", "sma_crossover"],
    ("calendar", "import"): ["list.csv"],
    ("calendar", "add-session"): [
        *("2026-11-08", "--open", "18:00", "--close", "19:00", "--kind", "muhurat"),
        *("--note", "n"),
    ],
    ("calendar", "add-holiday"): ["2026-11-09", "--note", "n"],
    ("calendar", "remove"): ["2026-11-09"],
    ("data", "restore"): ["backup.duckdb"],
    ("charges",): [
        *("--segment", "intraday", "--exchange", "NSE"),
        *("--quantity", "1", "--buy", "100", "--sell", "101"),
    ],
    ("data", "import"): ["x.csv"],
    ("data", "quality"): ["INFY"],
    ("data", "export"): ["INFY", "--out", "x.csv"],
    ("strategies", "new"): ["my_idea"],
    ("data", "actions"): ["a.csv"],
    ("runs", "show"): ["1"],
    ("runs", "rename"): ["1", "better name"],
    ("runs", "tag"): ["1", "keep"],
    ("runs", "delete"): ["1"],
    ("runs", "compare"): ["1", "2"],
    ("broker", "add"): ["paper"],
    ("broker", "login"): ["zerodha"],
    ("broker", "status"): ["zerodha"],
    ("broker", "logout"): ["zerodha"],
    ("broker", "remove"): ["zerodha"],
    ("broker", "check-ip"): ["zerodha"],
    ("broker", "instruments"): ["zerodha"],
    ("data", "download"): [
        *("INFY", "--from", "2026-01-01", "--to", "2026-02-01", "--timeframe", "1d")
    ],
}


def test_every_command_takes_workspace_before_and_after_it():
    from app.cli import build_parser

    parser = build_parser()
    leaves = dict(leaf_commands(parser))
    assert {("data", "list"), ("calendar", "list"), ("backtest",), ("demo",)} <= set(leaves)
    for command in leaves:
        argv = [*command, *REQUIRED.get(command, [])]
        assert parser.parse_args(["--workspace", "/before", *argv]).workspace == "/before"
        assert parser.parse_args([*argv, "--workspace", "/after"]).workspace == "/after"
        assert parser.parse_args(argv).workspace is None, command


def write_bars(path: Path) -> Path:
    rows = ["timestamp,open,high,low,close,volume"]
    for day in (1, 2, 3, 4, 5):
        for i in range(375):
            hour, minute = divmod(9 * 60 + 15 + i, 60)
            price = 500 + ((i * 11) % 61 - 30) * 0.05 + day
            rows.append(
                f"2026-06-0{day}T{hour:02d}:{minute:02d}:00+05:30,{price:.2f},"
                f"{price + 0.3:.2f},{price - 0.3:.2f},{price + 0.05:.2f},{1_000 + i}"
            )
    path.write_text("\n".join(rows) + "\n")
    return path


def test_workspace_after_the_command_picks_that_workspace(tmp_path):
    chosen, elsewhere = tmp_path / "chosen", tmp_path / "elsewhere"  # ARTHA_HOME: elsewhere
    bars = write_bars(tmp_path / "WSTEST.csv")
    done = run("data", "import", str(bars), "--workspace", str(chosen), home=elsewhere)
    assert done.returncode == 0, done.stderr
    for argv in (
        ["data", "list", "--workspace", str(chosen), "--json", "-"],
        ["--workspace", str(chosen), "data", "list", "--json", "-"],
        ["data", "--workspace", str(chosen), "list", "--json", "-"],
    ):
        out = run(*argv, home=elsewhere)
        assert out.returncode == 0, out.stderr
        assert [r["symbol"] for r in json.loads(out.stdout)] == ["WSTEST"], argv
    assert json.loads(run("data", "list", "--json", "-", home=elsewhere).stdout) == []
    backtest = ["backtest", "--strategy", "sma_crossover", "--symbol", "WSTEST", "--json", "-"]
    before = run("--workspace", str(chosen), *backtest, home=elsewhere)
    assert before.returncode == 0, before.stderr
    after = run(*backtest, "--workspace", str(chosen), home=elsewhere)
    assert after.returncode == 0, after.stderr
    assert json.loads(before.stdout)["bars"] == json.loads(after.stdout)["bars"] == 5 * 375
    holiday = ["calendar", "add-holiday", "2026-06-10", "--note", "test closure"]
    added = run(*holiday, "--workspace", str(chosen), home=elsewhere)
    assert added.returncode == 0, added.stderr
    listed = ["calendar", "list", "--year", "2026", "--json", "-"]
    mine = run(*listed, "--workspace", str(chosen), home=elsewhere)
    assert "test closure" in mine.stdout
    assert "test closure" not in run(*listed, home=elsewhere).stdout
