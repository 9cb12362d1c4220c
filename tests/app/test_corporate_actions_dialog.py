"""The corporate actions dialog on a real store: add, edit, delete, import, refuse bad input."""

from __future__ import annotations

import dataclasses
from datetime import date

import pandas as pd
import pytest
from PySide6.QtCore import QDate, Qt

from app.gui.panels.corporate_actions import CorporateActionsDialog, actions_frame
from app.gui.panels.data_panel import DataPanel
from engine.data.adjust import CorporateAction
from engine.data.bar_series import BarSeries
from engine.data.store import MarketStore
from engine.events import MarketDataChanged
from tests.app.conftest import ist

CSV_HEADER = "symbol,exchange,ex_date,kind,ratio,amount,note\n"


@pytest.fixture
def store(make_ctx) -> MarketStore:
    """A store holding bars of the symbols these tests give actions to (an action for a
    symbol without bars is refused)."""
    store = make_ctx().store
    assert store is not None
    for symbol in ("RELIANCE", "INFY", "TCS"):
        store.write_bars(daily_bars(symbol))
    return store


def open_dialog(qtbot, store, symbol="RELIANCE", exchange="NSE") -> CorporateActionsDialog:
    dialog = CorporateActionsDialog(store, symbol, exchange)
    qtbot.addWidget(dialog)
    return dialog


def table(dialog) -> list[dict[str, str]]:
    model = dialog.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return [
        {h: model.data(model.index(r, c)) for c, h in enumerate(headers)}
        for r in range(model.rowCount())
    ]


def add(store, symbol, ex_date, kind, ratio=(None, None), paise=None, exchange="NSE"):
    action = CorporateAction(ex_date, kind, *ratio, paise, "")
    store.add_corporate_actions(actions_frame([(exchange, symbol, action)]))


def stored(store, symbol=None) -> list[tuple]:
    frame = store.corporate_actions(symbol)
    ints = [
        [None if pd.isna(v) else int(v) for v in (r.ratio_from, r.ratio_to, r.amount_paise)]
        for r in frame.itertuples()
    ]
    return [(r.exchange, r.symbol, r.ex_date.date(), r.kind, *n)
            for r, n in zip(frame.itertuples(), ints, strict=True)]  # fmt: skip


def fill(dialog, kind, day, ratio=(1, 1), amount="", symbol=None):
    dialog.kind.setCurrentText(kind)
    dialog.ex_date.setDate(QDate(day.year, day.month, day.day))
    dialog.ratio_from.setValue(ratio[0])
    dialog.ratio_to.setValue(ratio[1])
    dialog.amount.setText(amount)
    if symbol is not None:
        dialog.symbol.setText(symbol)


def error_text(dialog) -> str:
    return "" if dialog.error.isHidden() else dialog.error.text()


def test_a_split_added_through_the_form_is_listed_and_stored(qtbot, store):
    dialog = open_dialog(qtbot, store)
    assert dialog.objectName() == "corporateActions"
    assert dialog.symbol.text() == "RELIANCE" and dialog.exchange.currentText() == "NSE"
    assert dialog.model.rowCount() == 0
    fill(dialog, "split", date(2024, 6, 10), (1, 5))
    assert not dialog.amount.isEnabled() and dialog.ratio_from.isEnabled()
    assert dialog.ratio_hint.text() == "1 old share(s) become 5"
    dialog.note.setText("face value 10 -> 2")
    with qtbot.waitSignal(dialog.changed, timeout=1_000):
        dialog.save_button.click()
    assert error_text(dialog) == ""
    assert stored(store) == [("NSE", "RELIANCE", date(2024, 6, 10), "split", 1, 5, None)]
    assert table(dialog) == [
        {
            "Exchange": "NSE",
            "Symbol": "RELIANCE",
            "Ex-date": "2024-06-10",
            "Kind": "split",
            "Ratio": "1:5",
            "Amount": "",
            "Note": "face value 10 -> 2",
            "Effect": "prices before 2024-06-10 × 1/5, volume × 5",
        }
    ]
    assert dialog.selected() is not None  # the saved row stays selected for further edits
    assert "Saved the split of NSE:RELIANCE on 2024-06-10" in dialog.status.text()


def test_bonus_and_dividend_effects_are_spelled_out(qtbot, store):
    dialog = open_dialog(qtbot, store, "INFY")
    fill(dialog, "bonus", date(2018, 9, 4), (3, 2))
    assert dialog.ratio_hint.text() == "3 new share(s) for every 2 held"
    assert dialog.save()
    fill(dialog, "dividend", date(2024, 8, 19), amount="₹12.50")
    dialog.table.clearSelection()  # a new action, not an edit of the bonus
    assert dialog.ratio_hint.text() == "a dividend has no ratio" and dialog.amount.isEnabled()
    assert dialog.save()
    rows = table(dialog)
    assert [(r["Ratio"], r["Amount"], r["Effect"]) for r in rows] == [
        ("3:2", "", "prices before 2018-09-04 × 2/5, volume × 5/2"),
        (
            "",
            "₹12.50",
            "prices before 2024-08-19 × (1 − 12.50 / close before ex-date), volume unchanged",
        ),
    ]
    assert stored(store)[1][-1] == 1250


def test_editing_the_ex_date_replaces_the_action(qtbot, store):
    add(store, "RELIANCE", date(2024, 6, 10), "split", (1, 5))
    add(store, "RELIANCE", date(2024, 9, 2), "split", (1, 2))
    dialog = open_dialog(qtbot, store)
    dialog.table.selectRow(0)
    assert dialog.ex_date.date() == QDate(2024, 6, 10)
    assert (dialog.ratio_from.value(), dialog.ratio_to.value()) == (1, 5)
    assert dialog.form_box.title().startswith("Editing the split of NSE:RELIANCE on 2024-06-10")
    dialog.ex_date.setDate(QDate(2024, 6, 11))
    with qtbot.waitSignal(dialog.changed, timeout=1_000):
        assert dialog.save()
    assert stored(store) == [
        ("NSE", "RELIANCE", date(2024, 6, 11), "split", 1, 5, None),
        ("NSE", "RELIANCE", date(2024, 9, 2), "split", 1, 2, None),
    ]
    assert [r["Ex-date"] for r in table(dialog)] == ["2024-06-11", "2024-09-02"]
    # moving it onto the other split's key would silently overwrite that one: refused
    dialog.ex_date.setDate(QDate(2024, 9, 2))
    assert not dialog.save()
    assert "already a split of NSE:RELIANCE on 2024-09-02" in error_text(dialog)
    assert len(stored(store)) == 2


def test_new_starts_a_blank_action_for_the_same_instrument(qtbot, store):
    add(store, "RELIANCE", date(2024, 6, 10), "split", (1, 5))
    dialog = open_dialog(qtbot, store)
    dialog.table.selectRow(0)
    dialog.note.setText("face value 10 -> 2")
    dialog.new_action()
    assert dialog.selected() is None and dialog.symbol.text() == "RELIANCE"
    assert (dialog.ratio_from.value(), dialog.ratio_to.value(), dialog.note.text()) == (1, 1, "")
    assert dialog.form_box.title().startswith("New action")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.505", "has more than 2 decimals"),
        ("-5", "must be above zero"),
        ("0", "must be above zero"),
        ("12,50", "is not an amount in rupees"),
        ("", "enter the dividend per share"),
    ],
)
def test_a_bad_dividend_amount_is_refused_and_nothing_written(qtbot, store, amount, message):
    dialog = open_dialog(qtbot, store)
    fill(dialog, "dividend", date(2024, 8, 19), amount=amount)
    with qtbot.assertNotEmitted(dialog.changed):
        assert not dialog.save()
    assert message in error_text(dialog) and error_text(dialog).startswith("Not saved: ")
    assert "color" in dialog.error.styleSheet()
    assert dialog.findChild(type(dialog.error), "actionsError") is dialog.error
    assert stored(store) == [] and dialog.model.rowCount() == 0


def test_an_empty_symbol_and_a_no_op_split_are_refused(qtbot, store):
    dialog = open_dialog(qtbot, store, None, None)
    fill(dialog, "split", date(2024, 6, 10), (1, 5))
    assert not dialog.save() and "enter the symbol" in error_text(dialog)
    fill(dialog, "split", date(2024, 6, 10), (2, 2), symbol="tcs")
    assert not dialog.save() and "changes nothing" in error_text(dialog)
    fill(dialog, "split", date(2024, 6, 10), (1, 2), symbol="tcs")
    assert dialog.save() and error_text(dialog) == ""
    assert stored(store)[0][:2] == ("NSE", "TCS")  # symbols are stored upper-case


def test_the_form_makes_the_same_plausibility_check_as_the_cli(qtbot, store):
    dialog = open_dialog(qtbot, store, "NOPE")
    fill(dialog, "split", date(2024, 6, 10), (1, 5))
    with qtbot.assertNotEmitted(dialog.changed):
        assert not dialog.save()
    assert "NSE:NOPE is not in the store (no bars): import its bars first" in error_text(dialog)
    fill(dialog, "dividend", date(2024, 8, 19), amount="25", symbol="RELIANCE")
    assert not dialog.save()
    assert "dividend of ₹25.00 per share" in error_text(dialog)
    assert "last close before it, ₹20.00 on 2024-06-10" in error_text(dialog)
    fill(dialog, "split", date(2024, 6, 10), (1, 1001))
    assert not dialog.save() and "at most 1,000-fold" in error_text(dialog)
    assert stored(store) == []


def test_delete_removes_the_selected_action(qtbot, store):
    add(store, "RELIANCE", date(2024, 6, 10), "split", (1, 5))
    add(store, "RELIANCE", date(2024, 8, 19), "dividend", paise=1000)
    dialog = open_dialog(qtbot, store)
    assert not dialog.delete_button.isEnabled()
    assert not dialog.delete_selected(confirm=False)
    assert "Select the action to delete" in error_text(dialog)
    dialog.table.selectRow(1)
    assert dialog.delete_button.isEnabled()
    with qtbot.waitSignal(dialog.changed, timeout=1_000):
        assert dialog.delete_selected(confirm=False)
    assert stored(store) == [("NSE", "RELIANCE", date(2024, 6, 10), "split", 1, 5, None)]
    assert dialog.model.rowCount() == 1 and not dialog.delete_button.isEnabled()
    assert "Deleted the dividend of NSE:RELIANCE on 2024-08-19" in dialog.status.text()


def test_the_store_deletes_by_key_only(store):
    add(store, "RELIANCE", date(2024, 6, 10), "split", (1, 5))
    assert store.delete_corporate_action("NSE", "RELIANCE", date(2024, 6, 10), "bonus") == 0
    assert store.delete_corporate_action("BSE", "RELIANCE", date(2024, 6, 10), "split") == 0
    assert store.delete_corporate_action("nse", "RELIANCE", date(2024, 6, 10), "split") == 1
    assert stored(store) == []


def test_import_csv_adds_rows_and_a_bad_row_adds_nothing(qtbot, store, tmp_path):
    good = tmp_path / "actions.csv"
    good.write_text(
        CSV_HEADER + "RELIANCE,NSE,2024-06-10,split,1:5,,face value\n"
        "RELIANCE,NSE,19-Aug-2024,dividend,,10.00,\n"
        "INFY,NSE,2018-09-04,bonus,3:2,,\n"
    )
    dialog = open_dialog(qtbot, store)
    with qtbot.waitSignal(dialog.changed, timeout=1_000):
        assert dialog.import_csv(good) == 3
    assert len(stored(store)) == 3
    assert [r["Kind"] for r in table(dialog)] == ["split", "dividend"]  # RELIANCE only
    assert "3 actions read, 3 new or changed (1 of other instruments" in dialog.status.text()

    bad = tmp_path / "bad.csv"
    bad.write_text(CSV_HEADER + "TCS,NSE,2024-06-10,split,1:5,,\nTCS,NSE,2024-07-01,bonus,1-1,,\n")
    with qtbot.assertNotEmitted(dialog.changed):
        assert dialog.import_csv(bad) is None
    assert f"Nothing imported from {bad}" in error_text(dialog)
    assert f"{bad}:3" in error_text(dialog) and "bonus ratio '1-1' is not like 1:5" in error_text(
        dialog
    )
    assert len(stored(store)) == 3 and stored(store, "TCS") == []
    assert dialog.import_csv(tmp_path / "missing.csv") is None
    assert "Nothing imported" in error_text(dialog)


def daily_bars(symbol: str) -> BarSeries:
    days = [ist(2024, 6, d, 9, 15) for d in (6, 7, 10)]
    return BarSeries.from_arrays(
        symbol, days, [100, 101, 20], [102, 103, 21], [99, 100, 19], [101, 102, 20],
        [1000, 1200, 6000], "1d",
    )  # fmt: skip


def test_the_data_panel_opens_the_dialog_for_the_selected_series(make_ctx, qtbot):
    ctx = make_ctx()
    store = ctx.store
    store.write_bars(daily_bars("INFY"))
    store.write_bars(daily_bars("RELIANCE"))
    add(store, "RELIANCE", date(2024, 6, 10), "split", (1, 5))
    add(store, "INFY", date(2018, 9, 4), "bonus", (3, 2))
    heard = []
    ctx.bus.subscribe(MarketDataChanged, heard.append)
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    button = panel.findChild(type(panel.import_button), "actionsButton")
    assert button is panel.actions_button and button.isEnabled()

    button.click()  # nothing selected: every action
    dialog = panel.findChild(CorporateActionsDialog, "corporateActions")
    assert dialog is not None and dialog.isVisible()
    assert [r["Symbol"] for r in table(dialog)] == ["INFY", "RELIANCE"]
    assert dialog.symbol.text() == ""
    dialog.close()
    qtbot.waitUntil(lambda: panel.findChild(CorporateActionsDialog) is None, timeout=2_000)

    panel.table.selectRow(1)
    button.click()
    dialog = panel.findChild(CorporateActionsDialog, "corporateActions")
    assert dialog.windowTitle() == "Corporate actions — NSE:RELIANCE"
    assert dialog.symbol.text() == "RELIANCE" and dialog.exchange.currentText() == "NSE"
    assert [r["Symbol"] for r in table(dialog)] == ["RELIANCE"]
    dialog.table.selectRow(0)
    assert dialog.delete_selected(confirm=False)
    assert heard == [MarketDataChanged("corporate actions")]
    assert stored(store, "RELIANCE") == []
    dialog.close()


def test_the_button_is_off_without_a_store(make_ctx, qtbot):
    panel = DataPanel(dataclasses.replace(make_ctx(), store=None))
    qtbot.addWidget(panel)
    assert not panel.actions_button.isEnabled()
