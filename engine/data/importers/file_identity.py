"""The content identity of an import file, taken so that it names exactly what was parsed.

The import log remembers files by the sha256 of their bytes. A file still being written (a
downloader, Excel re-saving, a sync client) could be parsed half and then hashed whole, and the
complete file would later be skipped as "already imported". So the file's size and change
time are taken before it is hashed and read, and checked again after parsing: any change
refuses the file (nothing is stored) with a message to import it again once complete.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.data.bar_series import BarDataError


@dataclass(frozen=True)
class FileIdentity:
    path: Path
    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def take(cls, path: str | Path) -> FileIdentity:
        """Stat, then hash (the bytes parsed next must be these: confirm_unchanged)."""
        path = Path(path)
        if not path.is_file():
            raise BarDataError("is not a file" if path.exists() else "file not found", path)
        try:
            before = os.stat(path)
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise BarDataError(f"cannot be read: {exc.strerror or exc}", path) from None
        return cls(path, before.st_size, before.st_mtime_ns, digest)

    def confirm_unchanged(self) -> None:
        try:
            now = os.stat(self.path)
        except OSError as exc:
            raise BarDataError(f"disappeared while being read: {exc.strerror}", self.path) from None
        if (now.st_size, now.st_mtime_ns) != (self.size, self.mtime_ns):
            raise BarDataError(
                f"changed while it was being read ({self.size:,} bytes before, "
                f"{now.st_size:,} after): nothing was stored; import it again once it is "
                "complete",
                self.path,
            )
