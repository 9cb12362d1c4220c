"""`artha strategies list` / `artha strategies new NAME`: the strategies a run can name.

A run names a strategy three ways: a reference name (shipped, `strategies/reference`), the
name of a file in the workspace's `strategies/` folder, or a path to a .py file. `list` shows
the first two with their parameters; a user file that does not load is listed with its error
at file:line, never stopping the listing. `new` writes a commented, working template there.
"""

from __future__ import annotations

import argparse
import json
import keyword
import logging
import re
from pathlib import Path
from typing import Any

from app.commands.output import emit_json, fail
from engine.strategy.base import Strategy
from engine.strategy.loader import StrategyLoadError, StrategyRef
from engine.workspace import Workspace, WorkspaceError
from strategies.reference import REFERENCE_STRATEGIES
from strategies.template import template

log = logging.getLogger("artha.cli")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "strategies",
        help="list the strategies a run can name, or start a new one",
        description="Reference strategies ship with Artha; your own live as .py files in the "
        "workspace's strategies/ folder and are named by their file name.",
    )
    actions = parser.add_subparsers(dest="strategies_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every strategy with its parameters")
    listing.add_argument("--json", metavar="PATH", help="write the list as JSON ('-': stdout)")
    listing.set_defaults(func=run_list)
    new = actions.add_parser("new", help="write a commented template NAME.py to start from")
    new.add_argument("name", metavar="NAME", help="file and strategy name, e.g. ema_trend")
    new.set_defaults(func=run_new)


def user_strategy_dir(args: argparse.Namespace) -> Path:
    return Workspace.resolve(getattr(args, "workspace", None)).strategies_dir


def run_list(args: argparse.Namespace) -> int:
    try:
        folder = user_strategy_dir(args)
    except WorkspaceError as exc:
        return fail("strategies", str(exc))
    reference = [
        _described(name, StrategyRef.of_module(*target.split(":")))
        for name, target in sorted(REFERENCE_STRATEGIES.items())
    ]
    files = sorted(folder.glob("*.py")) if folder.is_dir() else []
    mine = [_described(path.stem, StrategyRef.of_file(path), path) for path in files]
    log.info("strategies list: %d reference, %d in %s", len(reference), len(mine), folder)
    if args.json is not None:
        text = json.dumps({"reference": reference, "workspace": mine}, indent=2) + "\n"
        return emit_json("strategies", args.json, text) or 0
    print("Reference strategies")
    for entry in reference:
        _print_entry(entry)
    print(f"\nYour strategies ({folder})")
    if not mine:
        print("  none yet: artha strategies new NAME writes a template to start from")
    for entry in mine:
        _print_entry(entry)
    return 0


def run_new(args: argparse.Namespace) -> int:
    name = args.name
    if not _NAME.match(name) or keyword.iskeyword(name):
        return fail(
            "strategies",
            f"argument NAME: {name!r} is not a strategy name: use lower-case letters, digits "
            "and _ (a letter first, at most 40), e.g. ema_trend",
        )
    if name in REFERENCE_STRATEGIES:
        return fail(
            "strategies",
            f"argument NAME: {name!r} is a reference strategy's name, which would hide yours; "
            "choose another",
        )
    try:
        folder = Workspace.resolve(getattr(args, "workspace", None)).ensure().strategies_dir
    except WorkspaceError as exc:
        return fail("strategies", str(exc))
    path = folder / f"{name}.py"
    if path.exists():
        return fail("strategies", f"{path} exists already: nothing was written")
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(template(name))
    except OSError as exc:
        return fail("strategies", f"cannot write {path}: {exc.strerror or exc}")
    log.info("strategies new: wrote %s", path)
    print(f"wrote {path}")
    print(f"edit it, then run it: artha backtest --strategy {name} --symbol SYMBOL")
    return 0


def _described(name: str, ref: StrategyRef, path: Path | None = None) -> dict[str, Any]:
    """A strategy as `list` shows it; a file that does not load carries its error."""
    entry: dict[str, Any] = {"name": name}
    if path is not None:
        entry["path"] = str(path)
    try:
        cls: type[Strategy] = ref.load()
    except StrategyLoadError as exc:
        entry["error"] = str(exc)
        return entry
    doc = (cls.__doc__ or "").strip().splitlines()
    entry.update(
        {
            "class": cls.__name__,
            "summary": doc[0] if doc else "",
            "multi_instrument": cls.multi_instrument,
            "params": [
                {
                    "name": p.name,
                    "type": p.kind.__name__,
                    "default": _plain(p.default),
                    "min": _plain(p.minimum),
                    "max": _plain(p.maximum),
                    "choices": None if p.choices is None else [_plain(c) for c in p.choices],
                    "help": p.help,
                }
                for p in cls.parameters()
            ],
        }
    )
    return entry


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _print_entry(entry: dict[str, Any]) -> None:
    if "error" in entry:
        print(f"  {entry['name']:<20} does not load: {entry['error']}")
        return
    print(f"  {entry['name']:<20} {entry['class']}: {entry['summary']}")
    rows = [
        (p["name"], p["type"], str(p["default"]), _bounds(p), p["help"]) for p in entry["params"]
    ]
    # each column as wide as the strategy's widest value in it: long names stay aligned
    widths = [max(len(row[i]) for row in rows) for i in range(4)] if rows else []
    for row in rows:
        cells = " ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=False))
        print(f"      {cells} {row[4]}")


def _bounds(param: dict[str, Any]) -> str:
    """A parameter's allowed values as the list shows them: choices, or low..high."""
    if param["choices"] is not None:
        return "one of " + ", ".join(str(c) for c in param["choices"])
    if param["min"] is not None or param["max"] is not None:
        low = "" if param["min"] is None else param["min"]
        high = "" if param["max"] is None else param["max"]
        return f"{low}..{high}"
    return ""
