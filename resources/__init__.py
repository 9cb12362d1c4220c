"""Icons and other files shipped with Artha, found the same way installed, editable or frozen."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    path = _HERE / name
    if not path.exists():
        raise FileNotFoundError(f"Artha resource {name!r} is missing from {_HERE}")
    return path
