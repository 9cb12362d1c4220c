"""The `artha` console script against bad workspaces, Ctrl-C, runaway strategies and absurd
arguments: one sentence and exit 2 (130 for Ctrl-C), never a traceback (reliability D10,
D16, D19, D20, D23, D26, D27)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARTHA = str(Path(sys.executable).with_name("artha"))
CAPSH = shutil.which("capsh")
DROP = "--drop=cap_dac_override,cap_dac_read_search"

SMALL_CSV = "timestamp,open,high,low,close,volume\n" + "".join(
    f"2025-06-02T{9 + (15 + i) // 60:02d}:{(15 + i) % 60:02d}:00+05:30,100,101,99,100,10\n"
    for i in range(120)
)
LOOP_ON_BAR = """from engine.strategy.base import Strategy


class Loop(Strategy):
    def on_bar(self, bar):
        while True:
            pass
"""
LOOP_IN_INIT = """from engine.strategy.base import Strategy


class Loop(Strategy):
    def init(self):
        while True:
            try:
                pass
            except Exception:
                pass
"""


def artha(*args: str, home: Path | str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTHA_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [ARTHA, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_clear_line(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, done.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.fixture
def bars(tmp_path: Path) -> Path:
    path = tmp_path / "small.csv"
    path.write_text(SMALL_CSV)
    return path


COMMANDS = [
    ("data", "list"),
    ("calendar", "list"),
    ("demo",),
    ("backtest", "--strategy", "sma_crossover", "--symbol", "SYN"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_regular_file_as_the_workspace_is_one_sentence(tmp_path, command):
    home = tmp_path / "plain-file"
    home.write_text("not a folder")
    done = artha(*command, home=home)
    assert_one_clear_line(done, str(home), "not a folder", "ARTHA_HOME")


@pytest.mark.parametrize(
    "home", ["/proc/artha_ws", "/dev/null", "LONG"], ids=["proc", "devnull", "long-name"]
)
def test_impossible_workspace_paths_are_one_sentence(tmp_path, home):
    if home == "LONG":
        home = str(tmp_path / ("a" * 300))
    done = artha("data", "list", home=home)
    assert_one_clear_line(done, "ARTHA_HOME")


def test_the_gui_and_screenshot_refuse_a_file_workspace_too(tmp_path):
    home = tmp_path / "plain-file"
    home.write_text("x")
    done = artha("--screenshot", str(tmp_path / "s.png"), home=home)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert str(home) in done.stderr


def _without_caps(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if CAPSH is None:
        pytest.skip("capsh is not installed")
    if os.geteuid() != 0:
        pytest.skip("the permission experiments run as root with capabilities dropped")
    return subprocess.run(
        [CAPSH, DROP, "--", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def test_a_read_only_workspace_is_one_sentence(tmp_path):
    home = tmp_path / "ro"
    assert artha("data", "list", home=home).returncode == 0
    subprocess.run(["chmod", "-R", "a-w", str(home)], check=True)
    try:
        done = _without_caps(f"ARTHA_HOME={home} {ARTHA} data list", tmp_path)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(home)], check=True)
    assert_one_clear_line(done, str(home / "artha.lock"), "Permission denied", "ARTHA_HOME")


def test_a_read_only_logs_folder_only_costs_the_log_file(tmp_path):
    home = tmp_path / "ws"
    assert artha("data", "list", home=home).returncode == 0
    (home / "logs" / "artha.log").unlink()
    (home / "logs").chmod(0o555)
    try:
        done = _without_caps(f"ARTHA_HOME={home} {ARTHA} data list", tmp_path)
    finally:
        (home / "logs").chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(home / "logs" / "artha.log") in warnings[0]


def test_a_busy_workspace_names_the_command_that_holds_it(tmp_path):
    home = tmp_path / "ws"
    env = {**os.environ, "ARTHA_HOME": str(home)}
    demo = subprocess.Popen(
        [ARTHA, "demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        lock = home / "artha.lock"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "demo" not in (
            lock.read_text() if lock.exists() else ""
        ):
            time.sleep(0.1)
        done = artha("data", "list", home=home)
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)
    assert_one_clear_line(done, "`artha demo`", f"process {demo.pid}")
    assert "Switch to that window" not in done.stderr


def _interrupt(args: list[str], home: Path, after: float) -> tuple[int, str]:
    env = {**os.environ, "ARTHA_HOME": str(home)}
    proc = subprocess.Popen(
        [ARTHA, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("after", [0.3, 4.0], ids=["starting", "importing"])
def test_ctrl_c_during_the_demo_import_is_one_line_and_130(tmp_path, after):
    code, err = _interrupt(["demo"], tmp_path / "ws", after)
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert (
        err.strip().splitlines()[-1].startswith(("artha demo: interrupted", "artha: interrupted"))
    )


def test_ctrl_c_stops_a_runaway_strategy(tmp_path, bars):
    (tmp_path / "loop.py").write_text(LOOP_ON_BAR)
    code, err = _interrupt(
        ["backtest", "--strategy", str(tmp_path / "loop.py"), "--data", str(bars), "--costs",
         "none"], tmp_path / "ws", 4.0)  # fmt: skip
    assert code == 130, err
    assert err.strip() == "artha backtest: interrupted; nothing was stored"


@pytest.mark.parametrize("body", [LOOP_ON_BAR, LOOP_IN_INIT], ids=["on_bar", "init"])
def test_timeout_stops_a_strategy_that_never_returns(tmp_path, bars, body):
    strategy = tmp_path / "loop.py"
    strategy.write_text(body)
    started = time.monotonic()
    done = artha("backtest", "--strategy", str(strategy), "--data", str(bars), "--costs",
                 "none", "--timeout", "1.5", home=tmp_path / "ws")  # fmt: skip
    assert time.monotonic() - started < 60
    where = f"{strategy}:6 (while True:)" if body is LOOP_ON_BAR else f"{strategy}:"
    assert_one_clear_line(done, "--timeout 1.5 s", where)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
        ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    ],
)
def test_a_strategy_file_that_exits_at_import_is_its_fault(tmp_path, bars, text, said):
    strategy = tmp_path / "bad.py"
    strategy.write_text(text)
    done = artha("backtest", "--strategy", str(strategy), "--data", str(bars),
                 home=tmp_path / "ws")  # fmt: skip
    assert_one_clear_line(done, "argument --strategy", f"{strategy}:", said)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "NaN", "Infinity", "1e30"])
def test_demo_capital_is_validated_before_anything_happens(tmp_path, value):
    home = tmp_path / "ws"
    done = artha("demo", f"--capital={value}", home=home, timeout=30)
    assert_one_clear_line(done, "artha demo: error: argument --capital:")
    assert not home.exists()


def test_backtest_capital_above_the_engine_limit_is_an_argument_error(tmp_path, bars):
    done = artha("backtest", "--strategy", "sma_crossover", "--data", str(bars), "--capital",
                 "1e17", home=tmp_path / "ws")  # fmt: skip
    assert_one_clear_line(done, "artha backtest: error: argument --capital: must be at most")


@pytest.mark.parametrize(
    ("extra", "argument"),
    [
        (["--quantity", "100000000000000000000", "--buy", "1e20", "--sell", "1e20"], "--quantity"),
        (["--quantity", "100", "--buy", "100", "--sell", "100", "--dp-charge", "1e30"],
         "--dp-charge"),
    ],
)  # fmt: skip
def test_charges_refuse_absurd_numbers(tmp_path, extra, argument):
    done = artha("charges", "--segment", "delivery", "--exchange", "NSE", *extra,
                 home=tmp_path / "ws")  # fmt: skip
    assert_one_clear_line(done, f"artha charges: error: argument {argument}:")


def test_an_empty_screenshot_path_is_refused(tmp_path):
    done = artha("--screenshot", "", home=tmp_path / "ws", timeout=30)
    assert_one_clear_line(done, "argument --screenshot")


def test_commands_write_the_workspace_log_in_ist(tmp_path, bars):
    home = tmp_path / "ws"
    assert artha("data", "list", home=home).returncode == 0
    done = artha("backtest", "--strategy", "nosuch", "--data", str(bars), home=home)
    assert done.returncode == 2
    log = (home / "logs" / "artha.log").read_text()
    assert "artha data list" in log and "artha backtest --strategy nosuch" in log
    assert "artha backtest: error: argument --strategy: unknown strategy" in log
    assert "ended: exit code 2" in log
    stamps = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+05:30 ", log, re.MULTILINE)
    assert len(stamps) == len(log.splitlines())
    assert done.stderr.count("unknown strategy") == 1  # the log does not echo it on stderr
