"""Edit ▸ Settings, offscreen on a temp workspace with the real INI file: OK and Apply save
(read back by a fresh UiSettings), Cancel saves nothing, a wrong field is refused by name,
the wizard starts from the saved defaults, and a new workspace folder is remembered for the
next start without ever touching the user's real config folder."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
)

from app.gui.settings_dialog import SettingsDialog
from app.gui.ui_settings import BacktestDefaults, UiSettings
from app.gui.wizard import BacktestWizard
from app.workspace_choice import WorkspaceChoice, folder_problem
from engine.backtest import BacktestConfig
from engine.workspace import ENV_HOME, Workspace
from tests.app.conftest import ist

CHOSEN = BacktestDefaults(
    capital=Decimal("2500000.50"),
    costs="bps",
    cost_bps=Decimal("3.5"),
    slippage_bps=Decimal("2"),
    participation=Decimal("0.1"),
    fill="close",
    product="MIS",
)


@pytest.fixture
def ctx(make_ctx):
    return make_ctx(ist(2026, 6, 1, 10, 0))


@pytest.fixture
def choice(tmp_path) -> WorkspaceChoice:
    return WorkspaceChoice(tmp_path / "config" / "workspace.json")


@pytest.fixture
def dialog(ctx, choice, qtbot) -> SettingsDialog:
    made = SettingsDialog(ctx, choice=choice)
    qtbot.addWidget(made)
    made.show()
    return made


def pick(box: QComboBox, data: str) -> None:
    index = box.findData(data)
    assert index >= 0, data
    box.setCurrentIndex(index)


def fill_in(dialog: SettingsDialog, defaults: BacktestDefaults = CHOSEN) -> None:
    dialog.capital.setText("25,00,000.50")
    pick(dialog.costs, defaults.costs)
    dialog.cost_bps.setText(format(defaults.cost_bps, "f"))
    dialog.slippage.setText(format(defaults.slippage_bps, "f"))
    cap = defaults.participation
    dialog.participation.setText("" if cap is None else format(cap, "f"))
    pick(dialog.fill, defaults.fill)
    pick(dialog.product, defaults.product)


def reread(ctx) -> UiSettings:
    return UiSettings(ctx.settings.path)  # a new reader of the same file


def test_initial_defaults_are_the_engines(dialog):
    engine = BacktestConfig()
    mine = BacktestDefaults()
    assert (mine.capital, mine.costs, mine.slippage_bps) == (
        engine.capital,
        engine.costs,
        engine.slippage_bps,
    )
    assert (mine.participation, mine.fill, mine.product) == (
        engine.participation,
        engine.fill.value,
        engine.product.value,
    )
    assert dialog.capital.text() == "1,00,00,000"
    assert not dialog.cost_bps.isEnabled()  # only with flat bps charges


def test_ok_saves_every_page_and_emits_the_look(dialog, ctx, qtbot):
    themes: list[str] = []
    colour: list[bool] = []
    dialog.theme_changed.connect(themes.append)
    dialog.colour_blind_changed.connect(colour.append)
    fill_in(dialog)
    pick(dialog.theme, "light")
    dialog.colour_blind.setChecked(True)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible()
    saved = reread(ctx)
    assert saved.backtest_defaults == CHOSEN
    assert (saved.theme, saved.colour_blind) == ("light", True)
    assert (themes, colour) == (["light"], [True])


def test_cancel_saves_nothing(dialog, ctx, choice, tmp_path):
    themes: list[str] = []
    dialog.theme_changed.connect(themes.append)
    fill_in(dialog)
    pick(dialog.theme, "light")
    dialog.workspace_edit.setText(str(tmp_path / "elsewhere"))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    saved = reread(ctx)
    assert saved.backtest_defaults == BacktestDefaults()
    assert saved.theme == "dark"
    assert themes == []
    assert not choice.path.exists()


def test_apply_keeps_the_dialog_open_and_emits_only_changes(dialog, ctx):
    themes: list[str] = []
    dialog.theme_changed.connect(themes.append)
    pick(dialog.theme, "light")
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Apply) is not None
    dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()
    assert dialog.isVisible()
    assert reread(ctx).theme == "light"
    dialog.apply()  # nothing changed since
    assert themes == ["light"]


@pytest.mark.parametrize(
    ("field", "text", "named"),
    [
        ("capital", "abc", "Capital: 'abc' is not a number"),
        ("capital", "0", "Capital: must be more than 0"),
        ("capital", "-5", "Capital: must be more than 0"),
        ("capital", "1e16", "Capital: must be more than 0 and at most"),
        ("capital", "", "Capital:"),
        ("slippage", "20000", "Slippage (bps):"),
        ("participation", "2", "Volume cap:"),
        ("participation", "x", "Volume cap: 'x' is not a number"),
        ("cost_bps", "-1", "Charges (bps): must be >= 0"),
    ],
)
def test_a_wrong_field_is_refused_by_name_and_nothing_is_saved(dialog, ctx, field, text, named):
    pick(dialog.costs, "bps")
    pick(dialog.theme, "light")  # valid, yet not saved while another field is wrong
    pick(dialog.product, "NRML")
    dialog.pages.setCurrentRow(0)
    getattr(dialog, field).setText(text)
    assert dialog.defaults_problem.text().startswith(named)  # said as the user types
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible()  # OK refused
    assert dialog.problem.text() == f"Not saved. {dialog.defaults_problem.text()}"
    assert dialog.stack.currentWidget() is dialog.defaults_page  # shown where it is
    saved = reread(ctx)
    assert saved.backtest_defaults == BacktestDefaults()
    assert saved.theme == "dark"


def test_junk_in_the_ini_falls_back_one_field_at_a_time(ctx):
    path: Path = ctx.settings.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[backtest]\ncapital=lots\ncosts=bps\ncost_bps=-3\nslippage_bps=7.5\n"
        "participation=1.5\nfill=sometime\nproduct=MIS\n",
        encoding="utf-8",
    )
    defaults = UiSettings(path).backtest_defaults
    assert defaults == BacktestDefaults(costs="bps", slippage_bps=Decimal("7.5"), product="MIS")


def test_the_wizard_starts_from_the_saved_defaults(dialog, ctx, qtbot):
    fill_in(dialog)
    assert dialog.apply()
    wizard = BacktestWizard(ctx)
    qtbot.addWidget(wizard)
    page = wizard.config_page
    assert page.capital.text().replace(",", "") == "2500000.50"
    assert (page.costs.currentData(), page.cost_bps.text()) == ("bps", "3.5")
    assert (page.slippage.text(), page.participation.text()) == ("2", "0.1")
    assert (page.fill.currentData(), page.product.currentData()) == ("close", "MIS")
    config = page.config()
    assert config is not None
    assert (config.capital, config.cost_bps, config.slippage_bps) == (
        Decimal("2500000.50"),
        Decimal("3.5"),
        Decimal("2"),
    )
    assert (config.participation, config.fill.value, config.product.value) == (
        0.1,
        "close",
        "MIS",
    )


def test_a_new_workspace_folder_is_for_the_next_start(dialog, ctx, choice, tmp_path, monkeypatch):
    assert dialog.workspace_edit.text() == str(ctx.workspace.root)
    assert "after Artha restarts" in dialog.workspace_note.text()
    target = tmp_path / "trading" / "artha"  # does not exist yet: created at the next start
    dialog.workspace_edit.setText(str(target))
    assert dialog.apply()
    assert choice.read() == target
    assert not target.exists()
    monkeypatch.delenv(ENV_HOME)
    assert Workspace.resolve(choice_file=choice.path).root == target
    assert (
        Workspace.resolve(str(tmp_path / "flag"), choice_file=choice.path).root == tmp_path / "flag"
    )
    monkeypatch.setenv(ENV_HOME, str(ctx.workspace.root))  # $ARTHA_HOME still wins
    assert Workspace.resolve(choice_file=choice.path).root == ctx.workspace.root


def test_a_file_is_not_a_workspace_folder(dialog, choice, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    dialog.workspace_edit.setText(str(a_file))
    assert not dialog.apply()
    assert dialog.problem.text() == f"Not saved. Workspace folder: {a_file} is a file, not a folder"
    assert dialog.stack.currentWidget() is dialog.general_page
    assert not choice.path.exists()
    assert folder_problem(a_file / "below") is not None
    assert folder_problem(Path("relative/folder")) is not None


def test_an_unwritable_folder_is_refused(dialog, choice, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if folder_problem(locked) is None:
            pytest.skip("running as a user who can write anywhere (root)")
        dialog.workspace_edit.setText(str(locked / "ws"))
        assert not dialog.apply()
        assert f"cannot write in {locked}" in dialog.problem.text()
        assert not choice.path.exists()
    finally:
        locked.chmod(0o700)


def test_junk_in_the_choice_file_means_no_choice(choice):
    choice.path.parent.mkdir(parents=True)
    for junk in ("{", "[]", '{"workspace": 3}', '{"workspace": "relative"}'):
        choice.path.write_text(junk, encoding="utf-8")
        assert choice.read() is None


def test_the_calendar_is_a_page_that_escape_and_close_cannot_hide(dialog, qtbot):
    dialog.pages.setCurrentRow(2)
    calendar = dialog.calendar
    assert calendar.isVisible() and calendar.model.rowCount() > 0  # the year's holidays
    closes = [b for b in calendar.findChildren(QPushButton) if b.text() == "Close"]
    assert closes and not any(b.isVisible() for b in closes)
    assert not calendar.isWindow()
    calendar.done(0)  # what its Close button and Escape would do on their own
    assert calendar.isVisible() and dialog.isVisible()
    qtbot.keyClick(calendar.table, Qt.Key.Key_Escape)
    assert not dialog.isVisible()  # Escape is the Settings dialog's Cancel
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_the_brokers_page_lists_accounts_and_their_actions(dialog):
    page = dialog.brokers_page
    buttons = {button.text() for button in page.findChildren(QPushButton)}
    assert {"Add…", "Edit…", "Remove", "Log in", "Test connection", "Check IP"} <= buttons
    assert "keychain" in page.findChild(QLabel, "brokersIntro").text()
    assert page.model.rowCount() == 0  # a new workspace has no accounts
