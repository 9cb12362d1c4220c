"""The user's data folder and the lock that lets exactly one Artha own it.

DuckDB allows one read-write process per file, and the live session writes orders before acting
on them, so two Arthas on one workspace would corrupt each other's view. The lock is an OS file
lock (flock / msvcrt), which the OS drops when the process dies: no stale locks after a crash.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import platformdirs

ENV_HOME = "ARTHA_HOME"
_LOCK_NAME = "artha.lock"
_WIN_LOCK_OFFSET = 4096  # lock a byte past the pid text so others can still read who owns it


class WorkspaceBusyError(RuntimeError):
    """Another live process owns the workspace."""

    def __init__(self, root: Path, owner_pid: int | None) -> None:
        who = f"process {owner_pid}" if owner_pid else "another process"
        super().__init__(
            f"Artha is already running on the workspace {root} ({who}). "
            f"Switch to that window, close it first, or set {ENV_HOME} to use another workspace."
        )
        self.root = root
        self.owner_pid = owner_pid


@dataclass(frozen=True)
class Workspace:
    """Where one user's database, strategies, settings and logs live."""

    root: Path

    @classmethod
    def resolve(cls, override: str | os.PathLike[str] | None = None) -> Workspace:
        """Explicit path, else $ARTHA_HOME, else the platform's per-user data folder."""
        chosen = override or os.environ.get(ENV_HOME)
        if chosen:
            return cls(Path(chosen).expanduser().resolve())
        return cls(Path(platformdirs.user_data_dir("Artha", appauthor=False)))

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
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OSError(f"cannot create workspace folder {folder}: {exc.strerror}") from exc
        return self

    def lock(self) -> WorkspaceLock:
        """Take ownership of the workspace or raise WorkspaceBusyError."""
        lock = WorkspaceLock(self.root / _LOCK_NAME)
        lock.acquire()
        return lock


class WorkspaceLock:
    """An exclusive, non-blocking OS lock on the workspace's lock file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 - kept open while locked
        try:
            _lock_file(handle)
        except OSError:
            handle.close()
            raise WorkspaceBusyError(self.path.parent, _read_pid(self.path)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
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


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


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
