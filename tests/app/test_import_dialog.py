"""The Data panel's import options: suggestions from real headers, the CLI's options, refusals."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog

from app.cli import build_parser
from app.gui.panels.data_panel import DataPanel
from app.gui.panels.import_dialog import ImportDialog, suggest_mapping
from engine.calendar import IST
from engine.data.import_files import ImportOptions

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
KITE_ROWS = (
    "2024-01-01 09:15:00,100,101,99,100.5,10\n"
    "2024-01-01 09:16:00,100.5,102,100,101,20\n"
    "2024-01-01 09:17:00,101,101.5,100.5,101,5\n"
)


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def kite_file(tmp_path: Path, name: str = "infy.csv") -> str:
    return write(tmp_path / name, "date,open,high,low,close,volume\n" + KITE_ROWS)


def cli_options(*argv: str) -> ImportOptions:
    """The options `artha data import ARGV` builds: its real parser, run_import's own steps."""
    args = build_parser().parse_args(["data", "import", "file.csv", *argv])
    mapping = dict(args.mapping)
    if args.timezone:
        mapping["timezone"] = args.timezone
    return ImportOptions(args.format, mapping or None, args.symbol, args.exchange,
                         args.timeframe, args.force)  # fmt: skip


def open_dialog(qtbot, *paths: str) -> ImportDialog:
    dialog = ImportDialog(list(paths))
    qtbot.addWidget(dialog)
    return dialog


def use_as(dialog: ImportDialog, column: str, choice: str) -> None:
    combo = dict(dialog.column_combos)[column]
    combo.setCurrentText(choice)
    assert combo.currentText() == choice


def click_import(dialog: ImportDialog) -> None:
    buttons = dialog.findChild(QDialogButtonBox)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.text() == "Import"
    ok.click()


def error_text(dialog: ImportDialog) -> str:
    return "" if dialog.error.isHidden() else dialog.error.text()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("date,open,high,low,close,volume", {"date": "timestamp"}),  # Kite historical
        ("Date,Open,High,Low,Close,Adj Close,Volume", {"Date": "timestamp"}),  # Yahoo
        ("Date,Time,Open,High,Low,Close,Vol", {"Date": "timestamp", "Vol": "volume"}),
        ("timestamp,open,high,low,close,volume,oi", {}),  # canonical already
        ("Date Time,Ticker,Price,Qty,Open Interest",
         {"Date Time": "timestamp", "Ticker": "symbol", "Price": "close", "Qty": "volume",
          "Open Interest": "oi"}),
        ("Symbol,Date,Open Price,High Price,Low Price,Close Price,Total Traded Quantity",
         {"Date": "timestamp", "Open Price": "open", "High Price": "high",
          "Low Price": "low", "Close Price": "close", "Total Traded Quantity": "volume"}),
        ("time,open,high,low,close,Volume", {"time": "timestamp"}),  # time alone is the stamp
        ("timestamp,date,close,price,open,high,low,volume", {}),  # nothing to rename
    ],
)  # fmt: skip
def test_suggest_mapping_on_common_exports(header, expected):
    assert suggest_mapping(header.split(",")) == expected


def test_the_dialog_fills_in_a_kite_header_and_builds_the_clis_options(qtbot, tmp_path):
    path = kite_file(tmp_path)
    dialog = open_dialog(qtbot, path)
    assert dialog.objectName() == "importOptions"
    assert dialog.choices() == [("date", "timestamp"), ("open", "(as is)"),
                                ("high", "(as is)"), ("low", "(as is)"),
                                ("close", "(as is)"), ("volume", "(as is)")]  # fmt: skip
    first_row = [dialog.columns.item(r, 1).text() for r in range(dialog.columns.rowCount())]
    assert first_row == ["2024-01-01 09:15:00", "100", "101", "99", "100.5", "10"]
    assert "generic OHLCV files only" in dialog.generic_note.text()
    assert not dialog.generic.isHidden()

    dialog.timezone.setCurrentText("Asia/Kolkata")
    dialog.symbol.setText("INFY")
    dialog.exchange.setCurrentText("BSE")
    dialog.timeframe.setCurrentText("1m")
    dialog.force.setChecked(True)
    assert dialog.options() == cli_options(
        "--map", "date=timestamp", "--timezone", "Asia/Kolkata", "--symbol", "INFY",
        "--exchange", "BSE", "--timeframe", "1m", "--force",
    )  # fmt: skip

    dialog.date_format.setText("%Y-%m-%d %H:%M:%S")  # the GUI's extra: date_format
    assert dialog.options().mapping == {
        "date": "timestamp", "timezone": "Asia/Kolkata", "date_format": "%Y-%m-%d %H:%M:%S",
    }  # fmt: skip


def test_untouched_on_a_canonical_file_or_a_bhavcopy_it_imports_as_before(qtbot, tmp_path):
    canonical = write(tmp_path / "x.csv", "timestamp,open,high,low,close,volume\n")
    assert open_dialog(qtbot, canonical).options() == ImportOptions() == cli_options()

    bhav = open_dialog(qtbot, str(FIXTURES / "cm03JUN2024bhav.csv"))
    assert "looks like nse_cm_legacy" in bhav.generic_note.text()
    assert all(choice in ("(as is)", "(ignore)") for _, choice in bhav.choices())
    assert bhav.options() == ImportOptions()


def test_a_bhavcopy_format_hides_the_generic_fields(qtbot, tmp_path):
    dialog = open_dialog(qtbot, kite_file(tmp_path))
    dialog.timezone.setCurrentText("Asia/Kolkata")
    dialog.symbol.setText("INFY")
    dialog.format.setCurrentText("nse_cm_udiff")
    assert dialog.generic.isHidden()
    assert "nse_cm_udiff files name their own symbols" in dialog.generic_note.text()
    assert (
        dialog.options() == ImportOptions("nse_cm_udiff") == cli_options("--format", "nse_cm_udiff")
    )
    dialog.format.setCurrentText("ohlcv_csv")
    assert not dialog.generic.isHidden() and dialog.options().symbol == "INFY"


def test_yahoo_adjusted_close_replaces_close_only_when_close_is_ignored(qtbot, tmp_path):
    path = write(tmp_path / "RELIANCE.NS.csv",
                 "Date,Open,High,Low,Close,Adj Close,Volume\n"
                 "2024-01-02,2600,2620,2590,2610,2580.5,100\n")  # fmt: skip
    dialog = open_dialog(qtbot, path)
    assert dict(dialog.choices())["Adj Close"] == "(ignore)"
    dialog.show()
    use_as(dialog, "Adj Close", "close")
    click_import(dialog)
    assert dialog.isVisible()
    assert error_text(dialog) == (
        "Columns 'Close' and 'Adj Close' are both used as close: set one of them to (ignore)."
    )
    use_as(dialog, "Close", "(ignore)")
    click_import(dialog)
    assert not dialog.isVisible() and dialog.result() == ImportDialog.DialogCode.Accepted
    assert dialog.options().mapping == {"Date": "timestamp", "Adj Close": "close"}


def test_times_without_an_offset_need_a_zone_before_importing(qtbot, tmp_path):
    dialog = open_dialog(qtbot, kite_file(tmp_path))
    assert "'2024-01-01 09:15:00' in the first row) carry no UTC offset" in dialog.problem()
    dialog.timezone.setCurrentText("Asia/Kolkata")
    assert dialog.problem() == ""
    split = write(tmp_path / "split.csv", "Date,Time,Open,High,Low,Close,Vol\n"
                  "2024-01-01,09:15,100,101,99,100.5,10\n")  # fmt: skip
    assert "'2024-01-01 09:15'" in open_dialog(qtbot, split).problem()
    offset = write(tmp_path / "offset.csv", "date,open,high,low,close,volume\n"
                   "2024-01-01T09:15:00+05:30,100,101,99,100.5,10\n")  # fmt: skip
    assert open_dialog(qtbot, offset).problem() == ""


def test_an_unknown_time_zone_keeps_the_dialog_open(qtbot, tmp_path):
    dialog = open_dialog(qtbot, kite_file(tmp_path))
    dialog.show()
    dialog.timezone.setCurrentText("Asia/Mumbai")
    click_import(dialog)
    assert dialog.isVisible() and dialog.result() != ImportDialog.DialogCode.Accepted
    assert error_text(dialog) == (
        "Unknown time zone 'Asia/Mumbai': use a name such as Asia/Kolkata or UTC."
    )
    assert dialog.error.objectName() == "importOptionsError"
    dialog.timezone.setCurrentText("Asia/Kolkata")
    click_import(dialog)
    assert not dialog.isVisible() and dialog.result() == ImportDialog.DialogCode.Accepted


def test_duplicates_ignored_canonical_columns_and_missing_fields_are_refused(qtbot, tmp_path):
    path = write(tmp_path / "n.csv", "Date,Time,Open,High,Low,Close,Vol\n")
    dialog = open_dialog(qtbot, path)
    assert dialog.problem() == ""
    use_as(dialog, "Time", "timestamp")
    assert "'Date' and 'Time' are both used as timestamp" in dialog.problem()
    use_as(dialog, "Time", "(as is)")
    use_as(dialog, "Open", "(ignore)")
    assert dialog.problem() == (
        "Column 'Open' is always read as open; to ignore it, use another column as that."
    )
    use_as(dialog, "Open", "(as is)")
    use_as(dialog, "Vol", "(ignore)")
    assert dialog.problem() == "No column is used as volume: choose one under Use as."


def test_zipped_files_get_no_header_preview(qtbot, tmp_path):
    archive = tmp_path / "bars.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bars.csv", "date,open,high,low,close,volume\n" + KITE_ROWS)
    more = [kite_file(tmp_path, f"s{i}.csv") for i in range(4)]
    dialog = open_dialog(qtbot, str(archive), *more)
    assert dialog.choices() == [] and dialog.columns.isHidden()
    assert "bars.zip is zipped or Parquet, its header is not previewed" in (
        dialog.columns_note.text()
    )
    labels = [w.text() for w in dialog.findChildren(type(dialog.error))]
    assert "5 files: bars.zip, s0.csv, s1.csv and 2 more" in labels
    dialog.timezone.setCurrentText("UTC")
    assert dialog.options().mapping == {"timezone": "UTC"}


def test_a_kite_file_imports_through_the_panel_with_the_dialogs_options(make_ctx, qtbot, tmp_path):
    ctx = make_ctx()
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    path = kite_file(tmp_path)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([path])  # the defaults: no zone for the offset-less times
    qtbot.waitUntil(lambda: panel.result_dialog is not None)
    result = panel.result_dialog.text()
    assert result.startswith("1 file: 1 refused\n")
    assert f"{path}:2: timestamp 2024-01-01 09:15:00 has no UTC offset" in result
    assert "Times without an offset are in" in result  # where to say it in this dialog
    assert panel.model.rowCount() == 0

    dialog = open_dialog(qtbot, path)
    dialog.timezone.setCurrentText("Asia/Kolkata")
    assert dialog.problem() == ""
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([path], dialog.options())
    qtbot.waitUntil(lambda: not panel.busy, timeout=5_000)
    assert panel.model.rowCount() == 1
    assert [panel.model.data(panel.model.index(0, c)) for c in range(3)] == ["NSE", "INFY", "1m"]
    bars = ctx.store.read_bars("INFY", "1m")
    assert len(bars.ts) == 3
    first = datetime.fromtimestamp(int(bars.ts[0]) / 1e9, IST)
    assert first == datetime(2024, 1, 1, 9, 15, tzinfo=IST)


def test_choose_files_asks_for_the_options_before_importing(make_ctx, qtbot, tmp_path, monkeypatch):
    ctx = make_ctx()
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    path = kite_file(tmp_path, "tcs.csv")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([path], ""))

    def answer() -> None:  # runs inside the dialog's exec()
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ImportDialog) and dialog.paths == [path]
        dialog.timezone.setCurrentText("Asia/Kolkata")
        click_import(dialog)

    QTimer.singleShot(0, answer)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=5_000)
    assert ctx.store.read_bars("TCS", "1m").close.tolist() == [10050, 10100, 10100]


def test_the_dialog_guesses_columns_with_the_engines_own_rule():
    """One rule, one place: `artha data import` maps a Yahoo header by the same function."""
    from engine.data.importers import column_names

    assert suggest_mapping is column_names.suggest_mapping
