"""Tools ▸ Charges calculator, offscreen: the note it shows for each of the shared Zerodha
vectors, the same rupees `artha charges` prints, and bad inputs named under the form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt

from app.gui.charges_dialog import ChargesDialog, open_charges_dialog
from app.reports.contract_note import money
from engine.costs import round_trip
from tests.app.conftest import ist

VECTORS_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "charges"
    / "zerodha_charges_vectors.json"
)
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
SCHEDULE_DATE = {"A": date(2026, 4, 1), "B": date(2025, 6, 2)}
ROWS = {  # the vectors' keys -> the note's rows
    "brokerage": "Brokerage",
    "stt": "STT",
    "txn": "Exchange txn charge",
    "sebi": "SEBI fee",
    "stamp": "Stamp duty (to the rupee)",
    "gst": "GST",
    "dp": "DP charge",
    "total": "Total charges",
    "gross_pnl": "Gross P&L",
    "net_pnl": "Net P&L",
    "buy_value": "Buy value",
    "sell_value": "Sell value",
    "turnover": "Turnover",
}
CLI_KEYS = {"txn": "exchange_txn", "stamp": "stamp_duty"}
ARTHA = str(Path(sys.executable).with_name("artha"))


@pytest.fixture
def dialog(make_ctx, qtbot) -> ChargesDialog:
    made = ChargesDialog(make_ctx(ist(2026, 6, 1, 10, 0)))
    qtbot.addWidget(made)
    made.show()
    return made


def enter(dialog: ChargesDialog, v: dict, day: date) -> None:
    dialog.segment.setCurrentIndex(dialog.segment.findData(v["segment"]))
    dialog.exchange.setCurrentIndex(dialog.exchange.findData(v["exchange"]))
    dialog.quantity.setText(str(v["quantity"]))
    dialog.buy_price.setText(v["buy_price"])
    dialog.sell_price.setText(v["sell_price"])
    dialog.trade_date.setDate(QDate(day.year, day.month, day.day))


def shown(dialog: ChargesDialog) -> dict[str, str]:
    """The table as the user reads it: row label -> the text in the Rs column."""
    model = dialog.model
    return {
        model.data(model.index(r, 0)): model.data(model.index(r, 1))
        for r in range(model.rowCount())
    }


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_every_vector_component_by_component(dialog, v):
    enter(dialog, v, SCHEDULE_DATE[v["schedule"]])
    assert dialog.note is not None, dialog.problem.text()
    assert dialog.note.schedule_label.startswith(v["schedule"])
    for key, label in ROWS.items():
        assert dialog.component(label) == Decimal(v[key]), key
    assert not dialog.problem.isVisible()


@pytest.mark.parametrize("vid", ["E1", "E6", "E9"])
def test_same_rupees_as_the_command_line(dialog, vid, tmp_path):
    v = next(v for v in VECTORS if v["id"] == vid)
    day = SCHEDULE_DATE[v["schedule"]]
    enter(dialog, v, day)
    args = (
        *("--segment", v["segment"], "--exchange", v["exchange"], "--quantity", str(v["quantity"])),
        *("--buy", v["buy_price"], "--sell", v["sell_price"], "--date", day.isoformat()),
    )
    out = subprocess.run(
        [ARTHA, "charges", *args, "--json", "-"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARTHA_HOME": str(tmp_path)},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    for key, label in ROWS.items():
        assert dialog.component(label) == Decimal(cli[CLI_KEYS.get(key, key)]), key
    assert shown(dialog)["Total charges"] == money(Decimal(cli["total"]))
    assert cli["schedule_label"] in dialog.schedule.text()


def test_table_text_is_exact_to_the_paisa_with_indian_grouping(dialog):
    e3 = next(v for v in VECTORS if v["id"] == "E3")
    enter(dialog, e3, SCHEDULE_DATE["A"])
    table = shown(dialog)
    assert table["Turnover"] == "2,01,000.00"
    assert table["Total charges"] == "82.72"
    assert table["Net P&L"] == "917.28"
    assert list(table)[-3:] == ["Total charges", "Gross P&L", "Net P&L"]
    font = dialog.model.data(dialog.model.index(len(table) - 1, 0), Qt.ItemDataRole.FontRole)
    assert font is not None and font.bold()


@pytest.mark.parametrize(
    ("field", "text", "said"),
    [
        ("quantity", "abc", "Quantity: must be a whole number"),
        ("quantity", "0", "Quantity: must be at least 1"),
        ("quantity", "1.5", "Quantity: must be a whole number"),
        ("quantity", "", "Quantity: must be a whole number"),
        ("buy_price", "-5", "Buy price: must be a price more than 0"),
        ("sell_price", "101.005", "Sell price: has more than 2 decimals"),
        ("sell_price", "1e40", "Sell price:"),
        ("quantity", "10" + "0" * 22, "Quantity: quantity x price"),
    ],
)
def test_bad_input_is_named_inline_and_clears_the_note(dialog, field, text, said):
    assert dialog.note is not None
    getattr(dialog, field).setText(text)
    assert dialog.note is None
    assert dialog.problem.isVisible()
    assert dialog.problem.text().startswith(said), dialog.problem.text()
    assert dialog.model.rowCount() == 0  # no stale rupees next to a wrong input
    assert dialog.break_even.text() == ""
    getattr(dialog, field).setText({"quantity": "100"}.get(field, "1000"))
    assert dialog.note is not None and not dialog.problem.isVisible()


def test_bse_group_applies_to_bse_cash_only(dialog):
    dialog.segment.setCurrentIndex(dialog.segment.findData("delivery"))
    assert not dialog.bse_group.isEnabled()  # NSE
    dialog.exchange.setCurrentIndex(dialog.exchange.findData("BSE"))
    assert dialog.bse_group.isEnabled()
    dialog.quantity.setText("100")
    dialog.buy_price.setText("1000")
    dialog.sell_price.setText("1010")
    dialog.trade_date.setDate(QDate(2026, 4, 1))
    dialog.bse_group.setCurrentText("Z")
    assert dialog.component("Exchange txn charge") == Decimal("201.00")  # as the CLI's test
    assert "group Z" in dialog.schedule.text()
    dialog.segment.setCurrentIndex(dialog.segment.findData("futures"))
    assert not dialog.bse_group.isEnabled()


def test_stamp_to_the_paisa(dialog):
    e4 = next(v for v in VECTORS if v["id"] == "E4")
    enter(dialog, e4, SCHEDULE_DATE["A"])
    dialog.stamp_rounding.setCurrentIndex(dialog.stamp_rounding.findData("paisa"))
    assert dialog.component("Total charges") == Decimal("5.08")  # the CLI's --stamp-rounding
    assert "Stamp duty (to the paisa)" in shown(dialog)


@pytest.mark.parametrize("vid", ["E1", "E3", "E6"])
def test_break_even_is_where_the_engine_net_turns_positive(dialog, vid):
    v = next(v for v in VECTORS if v["id"] == vid)
    day = SCHEDULE_DATE[v["schedule"]]
    enter(dialog, v, day)
    text = dialog.break_even.text()
    price = Decimal(text.split("Rs ", 1)[1].split(" ", 1)[0].replace(",", ""))
    buy, quantity = Decimal(v["buy_price"]), v["quantity"]

    def net(sell: Decimal) -> Decimal:
        note = round_trip(v["segment"], v["exchange"], quantity, buy, sell, day)
        return note.sell_value - note.buy_value - note.total

    assert net(price) >= 0 > net(price - Decimal("0.01"))


def test_opens_non_modal_on_today(make_ctx, qtbot):
    made = open_charges_dialog(make_ctx(ist(2026, 6, 1, 10, 0)))
    qtbot.addWidget(made)
    assert made.isVisible() and not made.isModal()
    assert made.trade_date.date() == QDate(2026, 6, 1)
    assert made.note is not None  # the example trade is priced from the start
