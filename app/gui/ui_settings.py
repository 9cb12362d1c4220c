"""Window layout, look and the backtest defaults, kept in an INI file inside the workspace
(not the OS registry)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

from app.gui.chart.chart_state import ChartState

if TYPE_CHECKING:
    from engine.backtest import BacktestConfig

THEMES = ("dark", "light")
COST_CHOICES = ("zerodha", "bps", "none")
FILL_CHOICES = ("next-open", "close")
PRODUCT_CHOICES = ("CNC", "MIS", "NRML")
# The CLI's --capital limit (app/commands/backtest.py MAX_CAPITAL): money is int64 paise.
MAX_CAPITAL = Decimal(10) ** 15


_DEFAULT_FIELDS = (
    "capital",
    "costs",
    "cost_bps",
    "slippage_bps",
    "participation",
    "fill",
    "product",
)
_DECIMAL_FIELDS = frozenset(("capital", "cost_bps", "slippage_bps", "participation"))


class DefaultsError(ValueError):
    """A backtest default is out of range; `field` names it as the Settings dialog shows it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class BacktestDefaults:
    """What the backtest wizard starts from; the initial values are `artha backtest`'s own.

    `cost_bps` is kept even when `costs` is not "bps", so switching back finds the last rate.
    """

    capital: Decimal = Decimal("10000000")
    costs: str = "zerodha"
    cost_bps: Decimal = Decimal("5")
    slippage_bps: Decimal = Decimal("0")
    participation: Decimal | None = None  # share of a bar's volume per order; None: no cap
    fill: str = "next-open"
    product: str = "CNC"

    def check(self) -> BacktestDefaults:
        """Self when the engine would run with these values, else DefaultsError naming the
        field. The engine's own validators decide (BacktestConfig, the bps cost model)."""
        from engine.backtest import BacktestConfig, BacktestInputError  # loaded on first use
        from engine.costs import BpsCostModel

        if not self.capital.is_finite() or not 0 < self.capital <= MAX_CAPITAL:
            raise DefaultsError(
                "Capital", "must be more than 0 and at most Rs 1,000 lakh crore (10^15)"
            )
        if self.costs not in COST_CHOICES:
            raise DefaultsError("Charges", f"must be one of {', '.join(COST_CHOICES)}")
        try:
            BpsCostModel(self.cost_bps)
        except (ValueError, InvalidOperation) as exc:
            raise DefaultsError("Charges (bps)", str(exc).removeprefix("bps ")) from None
        checks = (
            ("Slippage (bps)", {"slippage_bps": self.slippage_bps}),
            (
                "Volume cap",
                {
                    "participation": None
                    if self.participation is None
                    else float(self.participation)
                },
            ),
            ("Market orders fill at", {"fill": self.fill}),
            ("Product", {"product": self.product}),
        )
        for label, values in checks:
            try:
                BacktestConfig(**values)  # the engine checks each field
            except BacktestInputError as exc:
                raise DefaultsError(label, str(exc)) from None
        return self

    def config(self, *, stop_first: bool = True) -> BacktestConfig:
        """The run's config, as the command line builds it: a choice left at the command
        line's default lets a strategy's declared TradingCosts apply; a changed one is
        explicit and wins."""
        from engine.backtest import BacktestConfig as Config  # pandas: loaded on first use

        self.check()
        explicit = set()
        if self.costs != "zerodha":
            explicit.add("costs")
        if self.slippage_bps != 0:
            explicit.add("slippage_bps")
        if self.participation is not None:
            explicit.add("participation")
        return Config(
            capital=self.capital,
            costs=self.costs,
            cost_bps=self.cost_bps if self.costs == "bps" else None,
            slippage_bps=self.slippage_bps,
            participation=None if self.participation is None else float(self.participation),
            fill=self.fill,  # type: ignore[arg-type]  # checked by check()
            product=self.product,  # type: ignore[arg-type]
            stop_first=stop_first,
            explicit=frozenset(explicit),
        )


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

    @property
    def store_had_data(self) -> bool:
        """Whether the market store held bars when last opened: the window picks its front tab
        (chart or Data panel) from it before the store opens, after the first paint."""
        return str(self._qs.value("ui/store_had_data", "false")).lower() == "true"

    @store_had_data.setter
    def store_had_data(self, value: bool) -> None:
        self._qs.setValue("ui/store_had_data", "true" if value else "false")

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

    @property
    def backtest_defaults(self) -> BacktestDefaults:
        """The saved defaults; a missing or junk value (edited by hand) falls back to its
        initial value alone, so one bad key never loses the others."""
        result = BacktestDefaults()
        for name in _DEFAULT_FIELDS:
            raw = self._qs.value(f"backtest/{name}")
            if not isinstance(raw, str):
                continue
            value: object = raw
            if name in _DECIMAL_FIELDS:
                value = _decimal_or_none(raw)
                if value is None and not (name == "participation" and raw == ""):
                    continue
            # a value of the wrong kind is refused by check() just below
            candidate = replace(result, **{name: value})  # type: ignore[arg-type]
            try:
                result = candidate.check()
            except DefaultsError:
                continue
        return result

    @backtest_defaults.setter
    def backtest_defaults(self, defaults: BacktestDefaults) -> None:
        defaults.check()
        participation = defaults.participation
        values = {
            "capital": format(defaults.capital, "f"),
            "costs": defaults.costs,
            "cost_bps": format(defaults.cost_bps, "f"),
            "slippage_bps": format(defaults.slippage_bps, "f"),
            "participation": "" if participation is None else format(participation, "f"),
            "fill": defaults.fill,
            "product": defaults.product,
        }
        for name, value in values.items():
            self._qs.setValue(f"backtest/{name}", value)

    def sync(self) -> None:
        self._qs.sync()


def _decimal_or_none(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
