"""Every `artha ...` example in README.md runs as written, on the demo workspace.

The examples come from the first column of the README's command table and from its code
blocks. A row like `artha data list / quality SYMBOL` is several commands (`artha data list`,
`artha data quality SYMBOL`); `[--year 2027]` is run with the option. Placeholders become the
files and values in SUBSTITUTIONS; commands that open the desktop window get
`--screenshot PATH` so they draw it offscreen and exit. Examples run in README order, as a
reader would type them: the backtest of F.csv reads the file the export example wrote.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ARTHA = str(Path(sys.executable).with_name("artha"))
REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
BHAVCOPIES = REPO.parent / "shared" / "fixtures" / "bhavcopy"
HOLIDAY_LIST = REPO / "tests" / "fixtures" / "calendar" / "nse_holidays_2027_cm.csv"
ACTIONS_CSV = (
    "symbol,exchange,ex_date,kind,ratio,amount,note\n"
    "SYNBANK01,NSE,2026-09-01,split,1:2,,README example\n"
)

# README placeholder -> what the test types instead ({tmp}: the module's temp folder).
SUBSTITUTIONS: dict[str, list[str]] = {
    "FILE...": sorted(str(p) for p in BHAVCOPIES.iterdir() if p.name.lower().endswith(".csv")),
    "FILE.csv": ["{tmp}/actions.csv"],  # a corporate-actions file: ACTIONS_CSV
    "FILE": [str(HOLIDAY_LIST)],  # only `calendar import FILE` names a bare FILE
    "SYMBOL": ["SYNIT02"],  # a demo instrument
    "F.csv": ["{tmp}/F.csv"],
    "PATH": ["{tmp}/window.png"],
    "DIR": ["{tmp}/other-workspace"],
    "DATE": ["2026-11-08"],  # a Sunday: a muhurat session, then a holiday, then removed
    "...": ["README example"],  # the text of --note ...
    "DEST": ["{tmp}/backup.duckdb"],  # `data backup DEST`, then `data restore BACKUP` of it
    "BACKUP": ["{tmp}/backup.duckdb"],
    "NAME": ["readme_idea"],  # `strategies new NAME`: a template in the demo workspace
}
OPENS_THE_WINDOW = {("artha",), ("artha", "--workspace", "DIR")}


def _command_cells(text: str) -> list[str]:
    """Code spans starting with `artha` in the first column of the command-line table."""
    section = text.split("### Command line", 1)[1].split("\n#", 1)[0]
    cells = []
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        first = row.split(" | ", 1)[0]
        cells += [span for span in re.findall(r"`([^`]+)`", first) if span.startswith("artha")]
    return cells


def _code_block_commands(text: str) -> list[str]:
    """Lines of ``` blocks whose program is artha (comments dropped)."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            words = line.split("#", 1)[0].split()
            if words and (words[0] == "artha" or words[0].endswith("/artha")):
                commands.append(" ".join(["artha", *words[1:]]))
    return commands


def _expand(cell: str) -> list[str]:
    """`artha calendar list [--year 2027] / remove DATE` -> one command per alternative."""
    parts = [p.strip() for p in cell.split(" / ")]
    prefix = " ".join(parts[0].split()[:2])  # "artha calendar"
    commands = [parts[0]] + [f"{prefix} {p}" for p in parts[1:]]
    return [re.sub(r"\[([^\]]+)\]", r"\1", c) for c in commands]


def readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    out: list[str] = []
    for cell in _command_cells(text):
        out += _expand(cell)
    return out + _code_block_commands(text)


EXAMPLES = readme_examples()


def test_the_readme_has_the_examples_this_module_runs():
    assert len(EXAMPLES) >= 15, EXAMPLES
    assert "artha demo" in EXAMPLES
    assert any(e.startswith("artha backtest") and "--symbol" in e for e in EXAMPLES)
    assert any(e.startswith("artha calendar remove") for e in EXAMPLES)


def argv(example: str, tmp: Path) -> list[str]:
    words = shlex.split(example)
    typed = [ARTHA]
    for word in words[1:]:
        typed += [v.format(tmp=tmp) for v in SUBSTITUTIONS.get(word, [word])]
    if tuple(words) in OPENS_THE_WINDOW:
        typed += ["--screenshot", str(tmp / "window.png")]
    return typed


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A demo workspace made once (`artha demo`, ~15 s) and the files the examples read."""
    tmp = tmp_path_factory.mktemp("readme")
    (tmp / "actions.csv").write_text(ACTIONS_CSV, encoding="utf-8")
    env = {**os.environ, "ARTHA_HOME": str(tmp / "workspace"), "QT_QPA_PLATFORM": "offscreen"}
    made = subprocess.run([ARTHA, "demo"], capture_output=True, text=True, env=env, timeout=300)
    assert made.returncode == 0, made.stderr
    for fast in ("10", "20"):  # runs 1 and 2 for the `artha runs` examples, on any worker
        ran = subprocess.run(
            [ARTHA, "backtest", "--strategy", "sma_crossover", "--symbol", "SYNIT02",
             "--param", f"fast={fast}", "--timeframe", "15m"],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
    return tmp, env


@pytest.mark.parametrize("example", EXAMPLES)
def test_readme_example_runs(example: str, demo: tuple[Path, dict[str, str]]):
    tmp, env = demo
    typed = argv(example, tmp)
    out = subprocess.run(typed, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, f"{example}\n{' '.join(typed)}\n{out.stdout}\n{out.stderr}"
    assert "Traceback" not in out.stderr
