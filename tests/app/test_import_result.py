"""The Data panel's import result: every file's line and notes in one dialog, and the
question about files held for bars on days the exchange was closed (keep, leave out, skip).

Real files (a day of 375 one-minute bars, a year of weekday daily bars that include NSE
holidays, the bhavcopy fixtures), a real store in a temp workspace, real widgets offscreen.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QLabel, QMessageBox

from app.gui.panels.data_panel import DataPanel
from app.gui.panels.import_result import (
    MAX_MESSAGE,
    HeldFilesDialog,
    ImportResultDialog,
    bounded,
    log_outcome,
    merged,
    stopped,
    summary,
)
from engine.calendar import IST
from engine.data.bar_series import ist_iso
from engine.data.import_files import FileResult, FileStatus, ImportOutcome

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
BHAVCOPY = FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv"
# NSE's weekday holidays of 2025 (2025-02-26 Mahashivratri ... 2025-04-18 Good Friday ...)
HOLIDAYS_2025 = (
    "2025-02-26",
    "2025-03-14",
    "2025-03-31",
    "2025-04-10",
    "2025-04-14",
    "2025-04-18",
    "2025-05-01",
    "2025-08-15",
    "2025-08-27",
    "2025-10-02",
    "2025-10-22",
    "2025-11-05",
    "2025-12-25",
)


def minute_day(path: Path, day: date, bad_line: int | None = None) -> Path:
    """A broker-style day of 375 one-minute bars (09:15..15:29 IST, with offsets); on
    `bad_line` (the header is line 1) the high is below the low."""
    rng = np.random.default_rng(11)
    lines = ["timestamp,open,high,low,close,volume"]
    start = datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST)
    price = 152_000  # paise
    for minute in range(375):
        close = max(price + int(rng.integers(-30, 31)) * 5, 1_000)
        high, low = max(price, close) + 10, min(price, close) - 10
        if len(lines) + 1 == bad_line:
            high, low = low - 3_000, high  # the high 30 rupees below the low
        at = (start + timedelta(minutes=minute)).isoformat()
        lines.append(
            f"{at},{price / 100:.2f},{high / 100:.2f},{low / 100:.2f},"
            f"{close / 100:.2f},{int(rng.integers(100, 9000))}"
        )
        price = close
    path.write_text("\n".join(lines) + "\n")
    return path


def yahoo_year(path: Path, year: int = 2025) -> Path:
    """Yahoo's daily download: every weekday of the year, NSE holidays included (261 rows)."""
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    day, price = date(year, 1, 1), 1_500.0
    while day.year == year:
        if day.weekday() < 5:
            close, volume = price + 2, 120_000 + day.toordinal() % 977
            lines.append(
                f"{day},{price:.2f},{price + 12:.2f},{price - 9:.2f},"
                f"{close:.2f},{close:.2f},{volume}"
            )
            price += 1.5
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")
    return path


def result_after(qtbot, panel: DataPanel) -> ImportResultDialog:
    qtbot.waitUntil(
        lambda: not panel.busy
        and panel.result_dialog is not None
        and panel.result_dialog.isVisible(),
        timeout=30_000,
    )
    assert panel.import_button.isEnabled()
    assert panel.result_dialog is not None
    return panel.result_dialog


def question_after(qtbot, panel: DataPanel) -> HeldFilesDialog:
    qtbot.waitUntil(
        lambda: panel.held_question is not None and panel.held_question.isVisible(),
        timeout=30_000,
    )
    assert panel.held_question is not None
    return panel.held_question


def days_stored(store, symbol: str, timeframe: str) -> set[str]:
    series = store.read_bars(symbol, timeframe, exchange="NSE")
    return {ist_iso(ts)[:10] for ts in series.ts}


def make_panel(make_ctx, qtbot) -> DataPanel:
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    return panel


# -- a mixed import --------------------------------------------------------------------------


def test_a_mixed_import_says_which_files_were_stored_and_which_not(
    make_ctx, qtbot, tmp_path, caplog
):
    good = minute_day(tmp_path / "GOODSTOCK.csv", date(2025, 6, 2))
    bad = minute_day(tmp_path / "BADSTOCK.csv", date(2025, 6, 2), bad_line=8)
    panel = make_panel(make_ctx, qtbot)
    caplog.set_level(logging.INFO)
    panel.import_files([str(good), str(bad), str(BHAVCOPY)])
    dialog = result_after(qtbot, panel)

    assert dialog.objectName() == "importResult" and dialog.isVisible()  # open(), not exec()
    assert dialog.summary.text() == "3 files: 2 stored, 1 refused"
    text = dialog.text()
    assert (
        f"STORED     {good}: ohlcv_csv, 375 bars written, 0 unchanged, 1 new instrument, "
        "2025-06-02..2025-06-02"
    ) in text
    assert f"REFUSED    {bad}:8: BADSTOCK: high " in text and " is below low " in text
    assert (
        f"STORED     {BHAVCOPY}: nse_cm_udiff, 5 bars written, 0 unchanged, 5 new instruments"
        in text
    )
    assert "note: skipped 1 row of series BL (block deals)" in text  # the bhavcopy's note
    assert text.count("nothing from this file was stored") == 1  # the refused one only
    assert dialog.what.text() == (
        "Stored: GOODSTOCK.csv, BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv. "
        "Nothing stored from BADSTOCK.csv."
    )
    assert dialog.warning.isHidden()
    assert QFontInfo(dialog.body.font()).fixedPitch()
    assert panel.findChild(QMessageBox) is None  # no "Nothing from that file was stored" box

    store = panel._store
    assert {(s.symbol, s.timeframe, s.bars) for s in store.list_series()} == {
        ("GOODSTOCK", "1m", 375),
        ("HDFCBANK", "1d", 1),
        ("INFY", "1d", 1),
        ("NIFTYBEES", "1d", 1),
        ("RELIANCE", "1d", 1),
        ("SBIN", "1d", 1),
    }
    assert panel.model.rowCount() == 6
    logged = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.INFO, "import: 3 files: 2 stored, 1 refused") in logged
    assert any(
        level == logging.ERROR and m.startswith(f"{bad}:8: BADSTOCK: high") for level, m in logged
    )
    assert any(m.startswith(f"{good}: ohlcv_csv, 375 bars written") for _, m in logged)


def test_importing_the_same_files_again_says_already_imported(make_ctx, qtbot, tmp_path):
    good = minute_day(tmp_path / "GOODSTOCK.csv", date(2025, 6, 2))
    panel = make_panel(make_ctx, qtbot)
    panel.import_files([str(good), str(BHAVCOPY)])
    first = result_after(qtbot, panel)
    assert first.summary.text() == "2 files: 2 stored"
    first.raise_()  # left open: the next result replaces it
    panel.import_files([str(good), str(BHAVCOPY)])
    again = result_after(qtbot, panel)
    assert again.summary.text() == "2 files: 2 already imported"
    assert f"ALREADY    {good}: already imported, nothing changed" in again.text()
    assert "Re-import even if imported before" in again.text()
    assert "identical content was imported from" in again.text()  # the store's note
    qtbot.waitUntil(lambda: panel.findChildren(ImportResultDialog) == [again])  # old one gone


def test_a_50_mb_style_field_is_bounded_in_the_dialog_and_the_log(
    make_ctx, qtbot, tmp_path, caplog
):
    huge = tmp_path / "HUGE.csv"
    huge.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"2025-06-02T09:15:00+05:30,{'9' * 400_000}x,1520,1490,1500,10\n"
    )
    panel = make_panel(make_ctx, qtbot)
    caplog.set_level(logging.INFO)
    panel.import_files([str(huge)])
    dialog = result_after(qtbot, panel)
    assert dialog.summary.text() == "1 file: 1 refused"
    assert len(dialog.outcome.files[0].problem) < 300 + len(str(huge))  # the engine cuts it
    assert "… (400,001 characters) is not a number" in dialog.body.toPlainText()
    assert len(dialog.body.toPlainText()) < MAX_MESSAGE + 200
    assert max(len(r.getMessage()) for r in caplog.records) < MAX_MESSAGE + 100


def test_bounded_cuts_only_what_is_too_long():
    assert bounded("short") == "short"
    assert bounded("x" * MAX_MESSAGE) == "x" * MAX_MESSAGE
    cut = bounded("y" * 50_000_000)
    assert cut.startswith("y" * MAX_MESSAGE + "… (49,997,000 more characters")
    assert len(cut) < MAX_MESSAGE + 50


# -- files held for bars on closed days ------------------------------------------------------


def test_held_file_kept_as_it_is(make_ctx, qtbot, tmp_path):
    good = minute_day(tmp_path / "GOODSTOCK.csv", date(2025, 6, 2))
    year = yahoo_year(tmp_path / "MYSTOCK.csv")
    panel = make_panel(make_ctx, qtbot)
    panel.import_files([str(good), str(year)])
    question = question_after(qtbot, panel)

    assert question.objectName() == "heldFiles"
    problems = question.problems.toPlainText()
    assert problems.startswith(f"{year}: 13 bars on 13 days NSE was closed (2025-02-26 Wed, ")
    assert "Tools ▸ Market calendar" in question.findChild(QLabel, "heldHint").text()
    assert [b.text() for b in question.buttons.values()] == [
        "Keep those bars",
        "Leave those bars out",
        "Skip these files",
    ]
    store = panel._store
    assert [s.symbol for s in store.list_series()] == ["GOODSTOCK"]  # stored; the year waits
    assert panel.busy and not panel.import_button.isEnabled()  # until the trader says
    assert panel.result_dialog is None

    panel.resolve_held("keep")
    dialog = result_after(qtbot, panel)
    assert panel.held_question is None and not panel.findChildren(HeldFilesDialog)
    assert dialog.summary.text() == "2 files: 2 stored"
    text = dialog.text()
    assert f"STORED     {good}: ohlcv_csv, 375 bars written" in text  # the first run's
    assert (
        f"STORED     {year}: ohlcv_csv, 261 bars written, 0 unchanged, 1 new instrument, "
        "2025-01-01..2025-12-31"
    ) in text
    assert "note: kept as asked: 13 bars on 13 days NSE was closed (2025-02-26 Wed" in text
    days = days_stored(store, "MYSTOCK", "1d")
    assert len(days) == 261 and set(HOLIDAYS_2025) <= days  # Good Friday 2025-04-18 too


def test_held_file_with_those_bars_left_out(make_ctx, qtbot, tmp_path):
    year = yahoo_year(tmp_path / "MYSTOCK.csv")
    panel = make_panel(make_ctx, qtbot)
    panel.import_files([str(year)])
    question = question_after(qtbot, panel)
    qtbot.mouseClick(question.buttons["drop"], Qt.MouseButton.LeftButton)  # as a trader does

    dialog = result_after(qtbot, panel)
    assert dialog.summary.text() == "1 file: 1 stored"
    assert f"{year}: ohlcv_csv, 248 bars written, 0 unchanged, 1 new instrument" in dialog.text()
    assert "note: left out as asked: 13 bars on 13 days NSE was closed" in dialog.text()
    days = days_stored(panel._store, "MYSTOCK", "1d")
    assert len(days) == 248 and not set(HOLIDAYS_2025) & days
    assert {"2025-04-17", "2025-04-21"} <= days  # around Good Friday


def test_held_files_skipped_store_nothing_of_them(make_ctx, qtbot, tmp_path, caplog):
    good = minute_day(tmp_path / "GOODSTOCK.csv", date(2025, 6, 2))
    year = yahoo_year(tmp_path / "MYSTOCK.csv")
    also = yahoo_year(tmp_path / "OTHER.csv", 2024)
    panel = make_panel(make_ctx, qtbot)
    caplog.set_level(logging.INFO)
    panel.import_files([str(year), str(good), str(also)])
    question = question_after(qtbot, panel)
    assert (
        question.problems.toPlainText()
        .splitlines()[1]
        .startswith(f"{also}: 16 bars on 16 days NSE was closed")
    )
    panel.resolve_held("skip")

    dialog = result_after(qtbot, panel)
    assert dialog.summary.text() == "3 files: 1 stored, 2 held"
    text = dialog.text()
    assert f"HELD       {year}: 13 bars on 13 days NSE was closed" in text
    assert text.count("nothing from this file was stored: skipped") == 2
    assert (
        dialog.what.text() == "Stored: GOODSTOCK.csv. Nothing stored from MYSTOCK.csv, OTHER.csv."
    )
    assert [s.symbol for s in panel._store.list_series()] == ["GOODSTOCK"]
    assert panel.status.text() == "1 series, 375 bars" and panel.import_button.isEnabled()
    assert any(
        r.levelno == logging.WARNING and r.getMessage().startswith(f"{year}: 13 bars")
        for r in caplog.records
    )


def test_closing_the_question_skips(make_ctx, qtbot, tmp_path):
    year = yahoo_year(tmp_path / "MYSTOCK.csv")
    panel = make_panel(make_ctx, qtbot)
    panel.import_files([str(year)])
    question = question_after(qtbot, panel)
    qtbot.keyClick(question, Qt.Key.Key_Escape)
    dialog = result_after(qtbot, panel)
    assert dialog.summary.text() == "1 file: 1 held"
    assert panel._store.list_series() == []


# -- merging and stopping, on the engine's own records ---------------------------------------


def _held(path: str) -> FileResult:
    return FileResult(path, FileStatus.HELD, problem=f"{path}: 1 bar on 1 day NSE was closed")


def test_merged_puts_the_second_run_in_the_held_files_places():
    refused = FileResult("b.csv", FileStatus.REFUSED, problem="b.csv:8: high below low")
    first = ImportOutcome([_held("a.csv"), refused, _held("a.csv")], "")
    again = ImportOutcome(
        [
            FileResult("a.csv", FileStatus.STORED, notes=("kept",)),
            FileResult("a.csv", FileStatus.REFUSED, problem="a.csv: store said no"),
        ],
        "NSE holiday list for 2027 not loaded",
    )
    both = merged(first, again)
    assert [f.status for f in both.files] == [
        FileStatus.STORED,
        FileStatus.REFUSED,
        FileStatus.REFUSED,
    ]
    assert both.files[1] is refused and both.warning == "NSE holiday list for 2027 not loaded"
    assert summary(both) == "3 files: 1 stored, 2 refused"


def test_an_import_that_stopped_keeps_what_it_reported():
    done = FileResult("b.csv", FileStatus.REFUSED, problem="b.csv:3: bad")
    outcome = stopped(["a.csv", "b.csv", "c.csv"], [done], "disk I/O error")
    assert outcome.files[1] is done
    assert [f.status for f in outcome.files] == [
        FileStatus.NOT_TRIED,
        FileStatus.REFUSED,
        FileStatus.NOT_TRIED,
    ]
    assert outcome.files[2].problem == "c.csv: not finished, the import stopped: disk I/O error"


def test_any_message_is_cut_for_the_dialog():
    from app.gui.panels.import_result import bounded

    assert bounded("x" * 5_000) == "x" * MAX_MESSAGE + "… (2,000 more characters not shown)"
    assert bounded("short") == "short"


def test_a_cancelled_300_file_import_is_one_log_line_not_hundreds(caplog):
    """Row 79 re-run: a cancel left 220 files not tried and the log got two ERROR records per
    file; now one WARNING names the count and the first few."""
    refused = [
        FileResult(f"f{n:03}.csv", FileStatus.REFUSED, problem=f"f{n:03}.csv:2: bad")
        for n in range(80)
    ]
    untried = [FileResult(f"f{n:03}.csv", FileStatus.NOT_TRIED) for n in range(80, 300)]
    log = logging.getLogger("test.import")
    with caplog.at_level(logging.INFO, logger="test.import"):
        log_outcome(log, ImportOutcome(refused + untried, ""))
    lines = [r for r in caplog.records if "not tried, nothing" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert lines[0].getMessage() == (
        "220 file(s) not tried, nothing of them stored: "
        + ", ".join(f"f{n:03}.csv" for n in range(80, 300))
    )
    assert sum(r.levelno == logging.ERROR for r in caplog.records) == 80 * 2  # refusals stay
