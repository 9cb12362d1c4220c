"""`artha` command line: no arguments opens the desktop app; subcommands work headless."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from collections.abc import Sequence

from app.commands import register_all
from app.version import __version__


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1600x1000, not {text!r}") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise argparse.ArgumentTypeError(f"size {text} is outside 200x200..8000x8000")
    return width, height


WORKSPACE_HELP = "data folder to use (default: $ARTHA_HOME, else the per-user data folder)"


def accept_workspace_everywhere(parser: argparse.ArgumentParser) -> None:
    """`--workspace DIR` is accepted after every command and action as well as before them.

    Added where a command does not declare it; where one does, its default is made
    SUPPRESS too: a sub-parser's default would otherwise overwrite the DIR given before the
    command (argparse copies every sub-parser default into the result)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
            own = sub._option_string_actions.get("--workspace")
            if own is None:
                sub.add_argument(
                    "--workspace", metavar="DIR", default=argparse.SUPPRESS, help=WORKSPACE_HELP
                )
            else:
                own.default = argparse.SUPPRESS
            accept_workspace_everywhere(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artha",
        description="Artha: algorithmic trading station for NSE/BSE. "
        "Run without arguments to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"artha {__version__}")
    parser.add_argument("--workspace", metavar="DIR", help=WORKSPACE_HELP)
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        help="build the main window offscreen, save it as a PNG at PATH and exit",
    )
    parser.add_argument(
        "--size",
        type=_size,
        default=(1600, 1000),
        metavar="WxH",
        help="window size for --screenshot (default 1600x1000)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_all(subparsers)
    accept_workspace_everywhere(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    multiprocessing.freeze_support()
    args = build_parser().parse_args(argv)
    if args.command is not None:
        try:
            code: int = args.func(args)
        except BrokenPipeError:  # `artha data list | head`: the reader left, that's fine
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return code
    # Imported late so `artha --version` and headless subcommands never load Qt.
    from app.gui.launch import run_gui, take_screenshot

    if args.screenshot:
        return take_screenshot(args.screenshot, size=args.size, workspace=args.workspace)
    return run_gui(workspace=args.workspace)


if __name__ == "__main__":
    sys.exit(main())
