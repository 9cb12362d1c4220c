"""Window layout and look, kept in an INI file inside the workspace (not the OS registry)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from app.gui.chart.chart_state import ChartState

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

    def chart_state(self, panel_id: str) -> ChartState:
        """What chart panel `panel_id` showed when last closed (defaults when never saved)."""
        self._qs.beginGroup(f"chart.{panel_id}")
        try:
            values = {name: self._qs.value(name) for name in self._qs.childKeys()}
        finally:
            self._qs.endGroup()
        return ChartState.from_values(values)

    def save_chart_state(self, panel_id: str, state: ChartState) -> None:
        for name, value in state.as_values().items():
            self._qs.setValue(f"chart.{panel_id}/{name}", value)

    @property
    def extra_charts(self) -> list[str]:
        """Ids of the chart panels opened beyond the first ("chart-2", ...), oldest first."""
        value = self._qs.value("ui/extra_charts", "")
        names = value if isinstance(value, str) else ""
        return [name for name in names.split(",") if name.startswith("chart-")]

    @extra_charts.setter
    def extra_charts(self, ids: list[str]) -> None:
        self._qs.setValue("ui/extra_charts", ",".join(ids))

    @property
    def colour_blind(self) -> bool:
        """Blue/orange for up/down instead of green/red (charts, watchlist)."""
        return str(self._qs.value("ui/colour_blind", "false")).lower() == "true"

    @colour_blind.setter
    def colour_blind(self, value: bool) -> None:
        self._qs.setValue("ui/colour_blind", "true" if value else "false")

    def sync(self) -> None:
        self._qs.sync()
