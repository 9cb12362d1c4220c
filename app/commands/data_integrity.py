"""`artha data check | backup | restore`: verify the store, copy it safely, put a copy back.

`check` reads every bar of every instrument (DuckDB verifies a block's checksum only when a
query reads it) and names the instruments whose bars are damaged: exit 0 when all is well, 2
otherwise. `backup` and `restore` hold the workspace lock, so no other Artha writes meanwhile;
a restore keeps the file it replaces as `artha.duckdb.damaged-TIMESTAMP` (engine/data/integrity.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from app.commands.import_lines import plural
from app.commands.output import fail
from app.commands.workspace_store import CommandError, workspace_store
from engine.data import integrity
from engine.data.store import StoreError
from engine.workspace import Workspace, WorkspaceBusyError


def register_integrity(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chk = commands.add_parser("check", help="read the whole store and report any damage")
    chk.set_defaults(func=run_check)

    bak = commands.add_parser("backup", help="copy the store to a file, checked, safely")
    bak.add_argument(
        "dest",
        nargs="?",
        metavar="DEST",
        help="new file (or a folder) for the copy (default: WORKSPACE/backups/"
        "artha-YYYYmmdd-HHMMSS.duckdb); never overwritten",
    )
    bak.set_defaults(func=run_backup)

    res = commands.add_parser(
        "restore", help="replace the store by a backup (the current file is kept aside)"
    )
    res.add_argument("backup", metavar="BACKUP", help="a file made by `artha data backup`")
    res.set_defaults(func=run_restore)


def _guarded(name: str, body: Callable[[], int]) -> int:
    try:
        return body()
    except (CommandError, StoreError) as exc:
        return fail(name, str(exc))


def run_check(args: argparse.Namespace) -> int:
    def body() -> int:
        with workspace_store(args) as (_, store):
            result = store.check()
        if result.ok:
            print(
                f"OK: {plural(result.instruments, 'instrument')}, {result.bars:,} bars verified "
                f"in {result.path}"
            )
            return 0
        print(f"DAMAGED: {result.path}")
        if result.affected:
            print(f"bars that cannot be read, {plural(len(result.affected), 'instrument')}:")
            for name in result.affected:
                print(f"  {name}")
        for problem in result.problems:
            print(f"  {problem}")
        print(f"{result.bars:,} bars of the other instruments read fine.")
        advice = integrity.advice(result.path).replace(
            "run `artha data check` to see which instruments are affected; ", ""
        )
        return fail("data check", f"the market store is damaged: {advice}")

    return _guarded("data check", body)


def run_backup(args: argparse.Namespace) -> int:
    def body() -> int:
        with workspace_store(args) as (ws, store):
            dest = None if args.dest is None else Path(args.dest).expanduser()
            if dest is not None and dest.is_dir():
                dest = dest / integrity.default_backup_path(ws.database_path).name
            made = store.backup(dest)
        print(
            f"{made.path}: backup of {store.path}, {made.bars:,} bars, {made.size / 1e6:.1f} MB "
            f"(checked: it opens and holds the same bars). Restore it with "
            f"`artha data restore {made.path}`."
        )
        return 0

    return _guarded("data backup", body)


def run_restore(args: argparse.Namespace) -> int:
    def body() -> int:
        ws = Workspace.resolve(getattr(args, "workspace", None)).ensure()
        try:
            lock = ws.lock()
        except WorkspaceBusyError as exc:
            raise CommandError(str(exc)) from None
        try:
            done = integrity.restore(ws.database_path, Path(args.backup))
        finally:
            lock.release()
        print(f"restored {done.database} from {done.backup} ({done.bars:,} bars)")
        for kept in done.moved:
            print(f"the previous file is kept as {kept} (delete it once you no longer need it)")
        if not done.moved:
            print("there was no store in the workspace before")
        return 0

    return _guarded("data restore", body)
