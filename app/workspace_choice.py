"""The workspace folder the user picked in Settings, remembered outside any workspace.

The choice cannot live inside a workspace (it says which one to open), so it is a small JSON
file in the platform's per-user config folder. It takes effect at the next start (the app and
every command read it in `Workspace.resolve`): --workspace and $ARTHA_HOME still win.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from engine.workspace import default_choice_file, read_choice


def folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be a workspace, in words for the user; None when it can.

    A missing folder is fine when its nearest existing parent is a writable folder (it is
    created at the next start). Writability is tried, not guessed from permission bits."""
    if not folder.is_absolute():
        return f"{folder} is not a full path; choose a folder with the Browse button"
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder"
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return f"no part of {folder} exists"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, so {folder} cannot be created"
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        return f"cannot write in {probe}: {exc.strerror or exc}"
    return None


class WorkspaceChoice:
    """Read and write the remembered workspace folder (`path` is the JSON file)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_choice_file()

    def read(self) -> Path | None:
        """The chosen folder, or None when nothing (or nothing readable) was saved."""
        return read_choice(self.path)

    def save(self, folder: Path) -> None:
        """Remember `folder` (ValueError naming the problem when it cannot be a workspace);
        written to a temp file then renamed, so a crash never leaves half a file."""
        folder = folder.expanduser()
        problem = folder_problem(folder)
        if problem is not None:
            raise ValueError(problem)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"workspace": str(folder)}, indent=2) + "\n"
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".workspace-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        """Forget the choice: the next start uses $ARTHA_HOME or the platform default."""
        self.path.unlink(missing_ok=True)
