"""Window layout and look, kept in an INI file inside the workspace (not the OS registry)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

THEMES = ("dark", "light")


class UiSettings:
    """Typed access to the few UI keys; the file lives at <workspace>/settings/ui.ini."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._qs = QSettings(str(path), QSettings.Format.IniFormat)

    @property
    def theme(self) -> str:
        value = self._qs.value("ui/theme", "dark")
        return value if isinstance(value, str) and value in THEMES else "dark"

    @theme.setter
    def theme(self, name: str) -> None:
        if name not in THEMES:
            raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
        self._qs.setValue("ui/theme", name)

    @property
    def demo_offered(self) -> bool:
        return str(self._qs.value("ui/demo_offered", "false")).lower() == "true"

    @demo_offered.setter
    def demo_offered(self, value: bool) -> None:
        self._qs.setValue("ui/demo_offered", "true" if value else "false")

    def window_layout(self, version: int) -> tuple[QByteArray, QByteArray] | None:
        """Saved (geometry, dock state), or None when absent or saved by another layout version."""
        if self._qs.value("window/layout_version") != str(version):
            return None
        geometry = self._qs.value("window/geometry")
        state = self._qs.value("window/state")
        if isinstance(geometry, QByteArray) and isinstance(state, QByteArray):
            return geometry, state
        return None

    def save_window_layout(self, version: int, geometry: QByteArray, state: QByteArray) -> None:
        self._qs.setValue("window/layout_version", str(version))
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)

    def sync(self) -> None:
        self._qs.sync()
