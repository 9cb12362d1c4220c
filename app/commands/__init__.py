"""Headless subcommands of `artha` (`artha charges`, `artha backtest`, ...).

Each module here exposes `register(subparsers) -> None`, which adds its parser and sets
`func=run` where `run(args: argparse.Namespace) -> int` returns the exit code (2 = bad input).
Commands import Qt never; they print a readable report and write JSON on request.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# Module names under app.commands, in the order `artha --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "backtest",
    "broker",
    "calendar",
    "charges",
    "data",
    "demo",
    "runs",
    "strategies",
)


def register_all(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    words: Sequence[str] = (),
) -> None:
    """Add the commands' parsers. Only the commands named among `words` (the command line)
    are imported when it names any: each module imports what its command needs (pandas,
    DuckDB, the strategies), and a command should not wait for the others' imports. With
    none named (`artha --help`, a mistyped command) every command is there to list."""
    named = [name for name in COMMAND_MODULES if name in words]
    for name in named or COMMAND_MODULES:
        importlib.import_module(f"app.commands.{name}").register(subparsers)
