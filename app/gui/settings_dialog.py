"""Edit ▸ Settings: the workspace folder, the look, the backtest defaults, the market calendar
and the broker accounts, one page each.

OK and Apply check every field first and save nothing unless all are valid (the message names
the field); Cancel saves nothing. The theme and the colour-blind option are not applied here:
the dialog emits `theme_changed` / `colour_blind_changed` and the main window applies them, so
this module never imports the window. A new workspace folder is remembered outside the
workspace (app/workspace_choice.py) and takes effect at the next start. The calendar and
Brokers pages save their own changes when they are made (app/gui/brokers_page.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.backtest_config_form import FIELD_WIDTH, BacktestConfigForm
from app.gui.brokers_page import BrokersPage
from app.gui.calendar_dialog import CalendarDialog
from app.gui.context import AppContext
from app.gui.ui_settings import BacktestDefaults, DefaultsError
from app.workspace_choice import WorkspaceChoice, folder_problem
from engine.workspace import ENV_HOME, default_root

ERROR_STYLE = "color: #e5534b; font-weight: 600;"  # readable on the dark and light themes
THEME_LABELS = (("Dark", "dark"), ("Light", "light"))
PAGES = ("General", "Backtest defaults", "Calendar", "Brokers")


def _combo(items: tuple[tuple[str, str], ...], name: str) -> QComboBox:
    box = QComboBox()
    box.setObjectName(name)
    for text, data in items:
        box.addItem(text, data)
    return box


def _select(box: QComboBox, data: str) -> None:
    index = box.findData(data)
    box.setCurrentIndex(max(index, 0))


class _EmbeddedCalendar(CalendarDialog):
    """The market calendar as a page: its Close button and Escape belong to the Settings
    dialog, so neither can hide the page inside it."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setWindowFlags(Qt.WindowType.Widget)
        for button in self.findChildren(QPushButton):
            if button.text() == "Close":
                button.hide()

    def done(self, result: int) -> None:
        """Never close the page; the Settings dialog's buttons close the window."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            event.ignore()  # up to the Settings dialog: Escape is its Cancel
            return
        super().keyPressEvent(event)


class SettingsDialog(QDialog):
    """Settings in pages; see the module doc for what OK, Apply and Cancel do."""

    theme_changed = Signal(str)  # "dark" or "light", after it is saved
    colour_blind_changed = Signal(bool)  # after it is saved
    applied = Signal()  # after every field was saved

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        choice: WorkspaceChoice | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.ctx = ctx
        self.choice = choice if choice is not None else WorkspaceChoice()

        self.pages = QListWidget()
        self.pages.setObjectName("settingsPages")
        self.pages.addItems(list(PAGES))
        width = max(self.fontMetrics().horizontalAdvance(name) for name in PAGES)
        self.pages.setFixedWidth(width + 48)
        self.pages.setStyleSheet("QListWidget::item { padding: 5px 6px; }")
        self.stack = QStackedWidget()
        self.general_page = self._build_general_page()
        self.defaults_page = self._build_defaults_page()
        self.calendar_page = self._build_calendar_page()
        self.brokers_page = self._build_brokers_page()
        for page in (self.general_page, self.defaults_page, self.calendar_page, self.brokers_page):
            self.stack.addWidget(page)
        self.pages.currentRowChanged.connect(self.stack.setCurrentIndex)

        self.problem = QLabel(wordWrap=True)
        self.problem.setObjectName("settingsProblem")
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.clicked.connect(self._clicked)

        body = QHBoxLayout()
        body.addWidget(self.pages)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.load()
        self.pages.setCurrentRow(0)
        self.resize(980, 640)

    # -- pages ------------------------------------------------------------------------------
    def _build_general_page(self) -> QWidget:
        page = QWidget()
        current = QLabel(str(self.ctx.workspace.root))
        current.setObjectName("settingsCurrentWorkspace")
        current.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        current.setWordWrap(True)
        self.workspace_edit = QLineEdit()
        self.workspace_edit.setObjectName("settingsWorkspace")
        self.workspace_edit.setToolTip(
            "The folder Artha opens at the next start: its market data, strategies, settings "
            "and logs. A folder that does not exist yet is created then."
        )
        self.workspace_edit.editingFinished.connect(self._check_workspace)
        self.workspace_edit.textEdited.connect(lambda _t: self.problem.hide())
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse_workspace)
        default = QPushButton("Use default")
        default.setToolTip(str(default_root()))
        default.clicked.connect(lambda: self.workspace_edit.setText(str(default_root())))
        row = QHBoxLayout()
        row.addWidget(self.workspace_edit, 1)
        row.addWidget(browse)
        row.addWidget(default)
        note = (
            "A new folder applies after Artha restarts; this session keeps the current one. "
            "The folder's own data is used as it is: nothing is copied or moved."
        )
        if os.environ.get(ENV_HOME):
            note += (
                f" ${ENV_HOME} is set ({os.environ[ENV_HOME]}): while it is, it wins over "
                "this choice."
            )
        self.workspace_note = QLabel(note, wordWrap=True)
        self.workspace_note.setObjectName("settingsWorkspaceNote")
        self.workspace_problem = QLabel(wordWrap=True)
        self.workspace_problem.setObjectName("settingsWorkspaceProblem")
        self.workspace_problem.setStyleSheet(ERROR_STYLE)
        self.workspace_problem.hide()
        folder_box = QGroupBox("Workspace folder")
        folder_form = QFormLayout(folder_box)
        folder_form.addRow("In use now", current)
        folder_form.addRow("At next start", row)
        folder_form.addRow(self.workspace_note)
        folder_form.addRow(self.workspace_problem)

        self.theme = _combo(THEME_LABELS, "settingsTheme")
        self.theme.setMinimumWidth(FIELD_WIDTH // 2)
        self.colour_blind = QCheckBox("Blue and orange for up and down (colour-blind safe)")
        self.colour_blind.setObjectName("settingsColourBlind")
        self.colour_blind.setToolTip("Instead of green and red, in charts and the watchlist")
        look_box = QGroupBox("Appearance")
        look_form = QFormLayout(look_box)
        look_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        look_form.addRow("Theme", self.theme)
        look_form.addRow("", self.colour_blind)

        layout = QVBoxLayout(page)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(folder_box)
        layout.addWidget(look_box)
        layout.addStretch(1)
        return page

    def _build_defaults_page(self) -> QWidget:
        page = QWidget()
        self.defaults_form = BacktestConfigForm("settings")
        form = self.defaults_form
        # the fields, by the names the dialog's checks and tests use
        self.capital, self.product, self.costs = form.capital, form.product, form.costs
        self.cost_bps, self.slippage = form.cost_bps, form.slippage
        self.participation, self.fill = form.participation, form.fill
        intro = QLabel(
            "What a new backtest starts with in the Backtest wizard; each run can still "
            "change them. A strategy that declares its own costs gets them where these are "
            "left at the command line's values (Zerodha charges, 0 slippage, no volume cap).",
            wordWrap=True,
        )
        self.defaults_problem = QLabel(wordWrap=True)
        self.defaults_problem.setObjectName("settingsDefaultsProblem")
        self.defaults_problem.setStyleSheet(ERROR_STYLE)
        reset = QPushButton("Restore the command line's defaults")
        reset.clicked.connect(lambda: self._show_defaults(BacktestDefaults()))
        reset_row = QHBoxLayout()
        reset_row.addWidget(reset)
        reset_row.addStretch(1)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(form)
        layout.addWidget(self.defaults_problem)
        layout.addLayout(reset_row)
        layout.addStretch(1)
        form.changed.connect(self._defaults_changed)
        return page

    def _build_calendar_page(self) -> QWidget:
        page = QWidget()
        note = QLabel(
            "Changes to the calendar are written when you press Apply on their preview; "
            "OK and Cancel below neither save nor undo them.",
            wordWrap=True,
        )
        note.setObjectName("settingsCalendarNote")
        self.calendar = _EmbeddedCalendar(self.ctx, page)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(note)
        layout.addWidget(self.calendar, 1)
        return page

    def _build_brokers_page(self) -> BrokersPage:
        return BrokersPage(self.ctx, self)

    def show_page(self, name: str) -> None:
        """Turn to the page called `name` (one of PAGES), e.g. "Brokers" from the status bar."""
        self.pages.setCurrentRow(PAGES.index(name))

    # -- values -----------------------------------------------------------------------------
    def load(self) -> None:
        """Show what is saved (also after Apply, so the form is what the file holds)."""
        settings = self.ctx.settings
        chosen = self.choice.read()
        self._workspace_saved = str(chosen or self.ctx.workspace.root)
        self.workspace_edit.setText(self._workspace_saved)
        self.workspace_problem.hide()
        _select(self.theme, settings.theme)
        self.colour_blind.setChecked(settings.colour_blind)
        self._show_defaults(settings.backtest_defaults)

    def _show_defaults(self, defaults: BacktestDefaults) -> None:
        self.defaults_form.show_values(defaults)

    def backtest_defaults(self) -> BacktestDefaults:
        """The defaults as entered, checked by the engine's rules (DefaultsError names the
        field that is wrong)."""
        return self.defaults_form.values()

    def _defaults_changed(self) -> None:
        self.problem.hide()  # the last refusal is out of date once a field changes
        try:
            self.backtest_defaults()
        except DefaultsError as exc:
            self.defaults_problem.setText(str(exc))
            self.defaults_problem.show()
            return
        self.defaults_problem.setText("")
        self.defaults_problem.hide()

    def chosen_folder(self) -> Path:
        return Path(self.workspace_edit.text().strip()).expanduser()

    def _check_workspace(self) -> str | None:
        """The folder's problem (also shown under it), or None."""
        if self.workspace_edit.text().strip() == self._workspace_saved:
            problem = None  # unchanged: nothing will be written
        elif not self.workspace_edit.text().strip():
            problem = "choose a folder, or press Use default"
        else:
            problem = folder_problem(self.chosen_folder())
        self.workspace_problem.setText(f"Workspace folder: {problem}" if problem else "")
        self.workspace_problem.setVisible(problem is not None)
        return problem

    def browse_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Workspace folder", self.workspace_edit.text().strip() or str(Path.home())
        )
        if folder:
            self.workspace_edit.setText(folder)
            self._check_workspace()

    # -- OK, Apply, Cancel ------------------------------------------------------------------
    def _clicked(self, button: QAbstractButton) -> None:
        if self.buttons.buttonRole(button) == QDialogButtonBox.ButtonRole.ApplyRole:
            self.apply()

    def _refuse(self, page: QWidget, field: QWidget, message: str) -> bool:
        self.problem.setText(f"Not saved. {message}")
        self.problem.show()
        self.pages.setCurrentRow(self.stack.indexOf(page))
        field.setFocus()
        return False

    def apply(self) -> bool:
        """Save every page, or nothing when a field is wrong (the message names it)."""
        try:
            defaults = self.backtest_defaults()
        except DefaultsError as exc:
            field = self.defaults_form.fields.get(exc.field, self.capital)
            return self._refuse(self.defaults_page, field, str(exc))
        workspace_problem = self._check_workspace()
        if workspace_problem is not None:
            return self._refuse(
                self.general_page, self.workspace_edit, f"Workspace folder: {workspace_problem}"
            )
        try:
            self._save_workspace()
        except (OSError, ValueError) as exc:
            return self._refuse(
                self.general_page,
                self.workspace_edit,
                f"Workspace folder: could not remember the choice in {self.choice.path}: {exc}",
            )
        settings = self.ctx.settings
        settings.backtest_defaults = defaults
        theme = str(self.theme.currentData())
        colour_blind = self.colour_blind.isChecked()
        theme_moved = theme != settings.theme
        colour_moved = colour_blind != settings.colour_blind
        settings.theme = theme
        settings.colour_blind = colour_blind
        settings.sync()
        self.problem.hide()
        if theme_moved:
            self.theme_changed.emit(theme)
        if colour_moved:
            self.colour_blind_changed.emit(colour_blind)
        self.load()
        self.applied.emit()
        return True

    def _save_workspace(self) -> None:
        text = self.workspace_edit.text().strip()
        if text == self._workspace_saved:
            return
        folder = self.chosen_folder()
        if folder == default_root():
            self.choice.clear()
        else:
            self.choice.save(folder)

    def accept(self) -> None:
        if self.apply():
            super().accept()


def open_settings_dialog(
    ctx: AppContext, parent: QWidget | None = None, page: str | None = None
) -> SettingsDialog:
    """Build and show the dialog (window-modal over `parent`), at `page` when given; connect
    `theme_changed` and `colour_blind_changed` to the window's `set_theme` /
    `set_colour_blind`."""
    dialog = SettingsDialog(ctx, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if page is not None:
        dialog.show_page(page)
    dialog.open()
    return dialog
