"""Headless subcommands of `artha` (`artha charges`, `artha backtest`, ...).

Each module here exposes `register(subparsers) -> None`, which adds its parser and sets
`func=run` where `run(args: argparse.Namespace) -> int` returns the exit code (2 = bad input).
Commands import Qt never; they print a readable report and write JSON on request.
"""

from __future__ import annotations

import argparse
import importlib

# Module names under app.commands, in the order `artha --help` lists them.
COMMAND_MODULES: tuple[str, ...] = ("backtest", "calendar", "charges", "data", "demo", "strategies")


def register_all(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"app.commands.{name}").register(subparsers)
