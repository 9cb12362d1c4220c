"""The user's data folder and the lock that lets exactly one Artha own it.

DuckDB allows one read-write process per file, and the live session writes orders before acting
on them, so two Arthas on one workspace would corrupt each other's view. The lock is an OS file
lock (flock / msvcrt), which the OS drops when the process dies: no stale locks after a crash.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import platformdirs

ENV_HOME = "ARTHA_HOME"
CHOICE_FILE = "workspace.json"  # the folder picked in Settings, in the per-user config folder
_LOCK_NAME = "artha.lock"
_WIN_LOCK_OFFSET = 4096  # lock a byte past the pid text so others can still read who owns it


APP_OWNER = "the Artha app"
_FIX = f"set {ENV_HOME} (or --workspace) to a folder you can write, or fix its permissions"


class WorkspaceError(OSError):
    """The workspace folder cannot be used (not a folder, read-only, name too long...).

    The message is one sentence naming the path and the fix; an OSError, as before."""


class WorkspaceBusyError(RuntimeError):
    """Another live process owns the workspace."""

    def __init__(self, root: Path, owner_pid: int | None, owner: str | None = None) -> None:
        who = f"process {owner_pid}" if owner_pid else "another process"
        if owner and owner != APP_OWNER:  # a command: there is no window to switch to
            message = (
                f"the workspace {root} is in use by `{owner}` ({who}). Wait for it to finish "
                f"or stop it, or set {ENV_HOME} to use another workspace."
            )
        else:
            message = (
                f"Artha is already running on the workspace {root} ({who}). Switch to that "
                f"window, close it first, or set {ENV_HOME} to use another workspace."
            )
        super().__init__(message)
        self.root = root
        self.owner_pid = owner_pid
        self.owner = owner


@dataclass(frozen=True)
class Workspace:
    """Where one user's database, strategies, settings and logs live."""

    root: Path

    @classmethod
    def resolve(
        cls, override: str | os.PathLike[str] | None = None, choice_file: Path | None = None
    ) -> Workspace:
        """Explicit path, else $ARTHA_HOME, else the folder chosen in Settings (read from
        `choice_file`, default `default_choice_file()`), else the platform's per-user data
        folder. The app and every command resolve the same way, so a command line run after
        choosing a folder in Settings works on the data the window shows."""
        chosen = override or os.environ.get(ENV_HOME)
        if chosen:
            return cls(Path(chosen).expanduser().resolve())
        picked = read_choice(choice_file if choice_file is not None else default_choice_file())
        if picked is not None:
            return cls(picked)
        return cls(default_root())

    @property
    def database_path(self) -> Path:
        return self.root / "artha.duckdb"

    @property
    def strategies_dir(self) -> Path:
        return self.root / "strategies"

    @property
    def settings_dir(self) -> Path:
        return self.root / "settings"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> Workspace:
        """Create the folders; fails with a message naming the folder if it cannot."""
        for folder in (self.root, self.strategies_dir, self.settings_dir, self.logs_dir):
            try:
                if folder.exists() and not folder.is_dir():
                    raise WorkspaceError(
                        f"cannot use {folder} as a workspace folder: it is not a folder; {_FIX}"
                    )
                folder.mkdir(parents=True, exist_ok=True)
            except WorkspaceError:
                raise
            except OSError as exc:
                raise WorkspaceError(
                    f"cannot create workspace folder {folder}: {_reason(exc)}; {_FIX}",
                ) from exc
            if not folder.is_dir():  # e.g. /proc/self: "exists", yet no folder of ours
                raise WorkspaceError(
                    f"cannot use {folder} as a workspace folder: not a folder; {_FIX}"
                )
        return self

    def lock(self, owner: str = APP_OWNER) -> WorkspaceLock:
        """Take ownership of the workspace or raise WorkspaceBusyError (WorkspaceError when
        the lock file cannot be written). `owner` is recorded for whoever finds it busy."""
        lock = WorkspaceLock(self.root / _LOCK_NAME, owner)
        lock.acquire()
        return lock


def default_root() -> Path:
    """The workspace used when nothing else says which: the platform's per-user data folder."""
    return Path(platformdirs.user_data_dir("Artha", appauthor=False))


def default_choice_file() -> Path:
    """Where the folder chosen in Settings is kept: <user config dir>/Artha/workspace.json
    (outside any workspace, since it says which one to open)."""
    return Path(platformdirs.user_config_dir("Artha", appauthor=False)) / CHOICE_FILE


def read_choice(path: Path) -> Path | None:
    """The folder saved in `path`, or None when nothing (or nothing usable) is saved there:
    a damaged choice file must never stop Artha from starting on its default folder."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = data.get("workspace") if isinstance(data, dict) else None
    if not isinstance(folder, str) or not folder.strip():
        return None
    chosen = Path(folder).expanduser()
    return chosen if chosen.is_absolute() else None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class WorkspaceLock:
    """An exclusive, non-blocking OS lock on the workspace's lock file."""

    def __init__(self, path: Path, owner: str = APP_OWNER) -> None:
        self.path = path
        self.owner = " ".join(owner.split())  # one line
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        if self._file is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while locked
        except OSError as exc:
            raise WorkspaceError(
                f"cannot write the workspace lock {self.path}: {_reason(exc)}; {_FIX}"
            ) from exc
        try:
            _lock_file(handle)
        except OSError:
            handle.close()
            pid, owner = _read_owner(self.path)
            raise WorkspaceBusyError(self.path.parent, pid, owner) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n{self.owner}\n")
            handle.flush()
        except OSError as exc:  # a full disk: the lock is held all the same
            if exc.errno != errno.ENOSPC:
                _unlock_file(handle)
                handle.close()
                raise WorkspaceError(
                    f"cannot write the workspace lock {self.path}: {_reason(exc)}; {_FIX}"
                ) from exc
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        try:
            _unlock_file(self._file)
        finally:
            self._file.close()
            self._file = None

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_owner(path: Path) -> tuple[int | None, str | None]:
    """The pid and the owner's description recorded in a lock file (older files: pid only)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(_WIN_LOCK_OFFSET).splitlines()
    except OSError:
        return None, None
    first = lines[0].strip() if lines else ""
    pid = int(first) if first.isdigit() else None
    owner = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
    return pid, owner


if sys.platform == "win32":
    import msvcrt

    def _lock_file(handle: IO[str]) -> None:
        handle.seek(_WIN_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock_file(handle: IO[str]) -> None:
        handle.seek(_WIN_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_file(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_file(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
