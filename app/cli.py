"""`artha` command line: no arguments opens the desktop app; subcommands work headless."""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from app.commands import register_all
from app.commands.output import INTERRUPTED, fail, record_quietly
from app.logging_setup import attach_workspace_log, configure_command_logging, file_log_path
from app.version import __version__
from engine.heap import collector_paused
from engine.workspace import Workspace, WorkspaceError


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1600x1000, not {text!r}") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise argparse.ArgumentTypeError(f"size {text} is outside 200x200..8000x8000")
    return width, height


# --show: the views pictured alone (app.gui.screenshot_views.VIEWS; named here so that
# `artha --help` and the headless commands never import Qt)
SCREENSHOT_VIEWS = (
    "chart", "watchlist", "editor", "wizard", "results", "history", "settings", "charges", "data",
    "brokers", "live",
)  # fmt: skip
SCREENSHOT_THEMES = ("dark", "light")
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


class _NotOptionsOnly(Exception):
    """The command line holds more than the top-level options, or asks for help."""


class _OptionsOnlyParser(argparse.ArgumentParser):
    """The parser without its commands, refusing (not exiting) what it cannot take alone."""

    def error(self, message: str) -> NoReturn:
        raise _NotOptionsOnly(message)

    def print_help(self, file: object = None) -> None:
        raise _NotOptionsOnly("help")  # the full parser's help lists the commands


def build_parser(
    words: Sequence[str] = (),
    commands: bool = True,
    parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """The parser; with the command line's `words`, only the commands it names are loaded;
    commands=False loads none (the desktop app's start)."""
    parser = parser_class(
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
    parser.add_argument(
        "--show",
        choices=SCREENSHOT_VIEWS,
        help="with --screenshot: picture one view alone instead of the main window, staged "
        "as after using the demo workspace (chart and results with a demo backtest's run, the "
        "wizard at its summary, the editor on a strategy, the data panel with its coverage)",
    )
    parser.add_argument(
        "--theme",
        choices=SCREENSHOT_THEMES,
        help="with --screenshot: this theme for the picture (the workspace keeps its own)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    if commands:
        register_all(subparsers, words)
        accept_workspace_everywhere(parser)
    return parser


def _parse(
    words: Sequence[str], argv: Sequence[str] | None
) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The parser and the parsed command line. Top-level options alone (the desktop app, a
    screenshot) are parsed without loading any command: with none named, every command module
    would be imported (pandas, SQLAlchemy, the backtester: ~1 s the window's start waited
    for). Anything more, an error or --help goes to the full parser, which answers as always."""
    try:
        args = build_parser(commands=False, parser_class=_OptionsOnlyParser).parse_args(argv)
    except _NotOptionsOnly:
        parser = build_parser(words)  # imports only the command(s) named
        return parser, parser.parse_args(argv)
    return build_parser(commands=False), args


# What a Ctrl-C leaves behind, for the commands that change the store.
_INTERRUPTED_NOTES = {
    "data import": "each file is stored whole or not at all; files reported as imported are kept",
    "data actions": "the actions are stored whole or not at all",
    "calendar import": "the change is stored whole or not at all",
    "calendar add-session": "the change is stored whole or not at all",
    "calendar add-holiday": "the change is stored whole or not at all",
    "calendar remove": "the change is stored whole or not at all",
    "demo": "the demo data is stored whole or not at all",
    "data backup": "a copy still being made is not kept; the store itself is unchanged",
    "data restore": "the store is the old one or the backup, whole; see the workspace folder",
}
_SECRET_WORDS = re.compile(r"key|secret|token|passw|pin\b|totp|otp|auth", re.IGNORECASE)
log = logging.getLogger("artha.cli")


def _loggable(argv: Sequence[str]) -> str:
    """The command line for the log, with the value of any secret-looking option hidden."""
    words: list[str] = []
    hide_next = False
    for word in argv:
        if hide_next:
            words.append("***")
            hide_next = False
            continue
        if word.startswith("--") and _SECRET_WORDS.search(word.split("=", 1)[0]):
            if "=" in word:
                word = word.split("=", 1)[0] + "=***"
            else:
                hide_next = True
        words.append(shlex.quote(word))
    return " ".join(words)


def _on_sigint(signum: int, frame: object) -> None:
    INTERRUPTED.set()
    raise KeyboardInterrupt


def _interrupted(name: str) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
    note = _INTERRUPTED_NOTES.get(name, "nothing was stored")
    message = f"artha {name}: interrupted; {note}" if name else "artha: interrupted"
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr)
    record_quietly(logging.WARNING, message)
    return 130


def _run_command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from app.commands.workspace_store import command_line

    name = command_line(args).removeprefix("artha ")
    configure_command_logging()
    log.info("%s", _loggable(["artha", *argv]))
    started = time.monotonic()
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # `artha data list | head`: the reader left, that's fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except KeyboardInterrupt:
        code = _interrupted(name)
    except WorkspaceError as exc:
        code = fail(name, str(exc))
    except RuntimeError:  # DuckDB's "Query interrupted" after a Ctrl-C
        if not INTERRUPTED.is_set():
            raise
        code = _interrupted(name)
    if INTERRUPTED.is_set() and code != 130:  # caught on the way and reported otherwise
        code = _interrupted(name)
    if file_log_path() is None:  # a command that needed no workspace: log there if it exists
        with contextlib.suppress(OSError):
            ws = Workspace.resolve(getattr(args, "workspace", None))
            if ws.logs_dir.is_dir():
                attach_workspace_log(ws)
    log.info("artha %s ended: exit code %d (%.1f s)", name, code, time.monotonic() - started)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    multiprocessing.freeze_support()
    words = list(sys.argv[1:] if argv is None else argv)
    INTERRUPTED.clear()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_sigint) if in_main_thread else None
    try:
        try:
            parser, args = _parse(words, argv)
        except KeyboardInterrupt:
            return _interrupted("")
        if args.command is not None:
            return _run_command(args, words)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if args.screenshot is not None and not args.screenshot.strip():
        parser.error("argument --screenshot: give the path of the PNG to write, not an empty one")
    if args.show and not args.screenshot:
        parser.error("argument --show: only with --screenshot PATH")
    if args.theme and not args.screenshot:
        parser.error("argument --theme: only with --screenshot PATH")
    if args.screenshot and not Path(args.screenshot).parent.is_dir():
        folder = Path(args.screenshot).parent
        parser.error(f"argument --screenshot: folder {folder} does not exist")
    # Imported late so `artha --version` and headless subcommands never load Qt. Without
    # collections meanwhile: the modules live for the session (engine.heap.collector_paused)
    with collector_paused():
        from app.gui.launch import run_gui, take_screenshot

    try:
        if args.screenshot:
            return take_screenshot(
                args.screenshot,
                size=args.size,
                workspace=args.workspace,
                show=args.show,
                theme=args.theme,
            )
        return run_gui(workspace=args.workspace)
    except WorkspaceError as exc:
        print(f"artha: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
