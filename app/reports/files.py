"""Where reports may be written: never over a store, an input, or a file of another kind."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from app.commands.output import OutputRefused, check_target, write_text_safely


class ReportError(Exception):
    """The report cannot be written there; the message says why and what to do."""


_HTML_STARTS = (b"<!doctype html", b"<html")


def checked_target(path: Path, kind: str, inputs: Iterable[str | Path] = ()) -> Path:
    """`path` if a report of `kind` ("html" or "csv") may be written there, else ReportError.

    The folder must exist (a typo is not silently created); a store, a command's input,
    a folder, or an existing file of another kind is refused (app.commands.output)."""
    if not path.parent.is_dir():
        raise ReportError(f"folder {path.parent} does not exist; create it or choose another")
    try:
        check_target(path, "csv", inputs)  # text outputs: refuses stores, binaries, inputs
    except OutputRefused as exc:
        raise ReportError(str(exc)) from None
    if kind == "html" and path.is_file():
        head = path.read_bytes()[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head and not head.startswith(_HTML_STARTS):
            raise ReportError(
                f"{path} already exists and is not an HTML report; choose another file name "
                "(or delete that file yourself)"
            )
    return path


def write_report(path: Path, text: str) -> None:
    """Write through a temp file that replaces `path` in one step."""
    try:
        write_text_safely(path, text)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
