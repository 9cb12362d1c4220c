"""Files dropped on the Data panel from the file manager, and the import's progress bar: real
QDragEnterEvent / QDropEvent with file URLs of the shared exchange fixtures, a real store."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QMessageBox

from app.gui.panels.data_panel import DataPanel, dropped_paths
from app.gui.panels.import_dialog import ImportDialog
from engine.events import JobProgress
from tests.app.test_import_dialog import click_import

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
NSE_2024 = FIXTURES / "cm03JUN2024bhav.csv"
NSE_2025 = FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv"


def file_mime(*paths: Path | str) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drag_enter(panel: DataPanel, mime: QMimeData) -> bool:
    """Send a drag entering the panel's middle; whether the panel accepted it."""
    from PySide6.QtGui import QDragEnterEvent

    event = QDragEnterEvent(
        panel.rect().center(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(panel, event)
    return event.isAccepted()


def drop(panel: DataPanel, mime: QMimeData) -> bool:
    """A drag entering the panel then dropped on it, as the file manager sends them; whether
    the panel took the drop."""
    from PySide6.QtGui import QDropEvent

    drag_enter(panel, mime)

    event = QDropEvent(
        QPointF(panel.rect().center()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(panel, event)
    return event.isAccepted()


def answer_options(
    seen: list[ImportDialog], then: Callable[[ImportDialog], None] = click_import
) -> QTimer:
    """Answer the options dialog the drop opens (it runs its own event loop, after the
    drop returns): look for it every 20 ms, record it, then `then(dialog)`."""
    timer = QTimer()
    timer.setInterval(20)

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ImportDialog) and dialog not in seen:
            seen.append(dialog)
            then(dialog)

    timer.timeout.connect(look)
    timer.start()
    return timer


def panel_on(make_ctx, qtbot) -> DataPanel:
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    return panel


def symbols(panel: DataPanel) -> list[str]:
    return [panel.model.data(panel.model.index(r, 1)) for r in range(panel.model.rowCount())]


def test_dropped_bhavcopies_are_imported_through_the_options_dialog(make_ctx, qtbot):
    panel = panel_on(make_ctx, qtbot)
    mime = file_mime(NSE_2024, NSE_2025)
    assert drag_enter(panel, mime)
    assert panel.drop_highlight.isVisible()
    assert "import these files" in panel.drop_highlight.text
    seen: list[ImportDialog] = []
    timer = answer_options(seen)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        assert drop(panel, mime)
    timer.stop()
    assert not panel.drop_highlight.isVisible()
    assert [Path(p) for p in seen[0].paths] == [NSE_2024, NSE_2025]  # the button's dialog
    assert "NIFTYBEES" in symbols(panel) and "RELIANCE" in symbols(panel)
    qtbot.waitUntil(lambda: panel.result_dialog is not None, timeout=5_000)
    assert panel.result_dialog.text().startswith("2 files: 2 stored\n")


def test_a_dropped_folder_gives_its_data_files(make_ctx, qtbot, tmp_path):
    folder = tmp_path / "downloads"
    (folder / "june").mkdir(parents=True)
    shutil.copy(NSE_2024, folder / "june" / NSE_2024.name)
    shutil.copy(NSE_2025, folder / NSE_2025.name)
    (folder / "readme.pdf").write_bytes(b"%PDF-1.4")  # not a data file's name: left out
    (folder / ".hidden.csv").write_text("x")
    assert dropped_paths(file_mime(folder)) == [
        str(folder / NSE_2025.name),
        str(folder / "june" / NSE_2024.name),
    ]
    panel = panel_on(make_ctx, qtbot)
    seen: list[ImportDialog] = []
    timer = answer_options(seen)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        assert drop(panel, file_mime(folder))
    timer.stop()
    assert len(seen[0].paths) == 2
    assert len(symbols(panel)) == 6  # five of 2024 and NIFTYBEES of 2025


def test_what_is_not_a_local_file_is_refused(make_ctx, qtbot, tmp_path):
    panel = panel_on(make_ctx, qtbot)
    text = QMimeData()
    text.setText("RELIANCE,2024-06-03,2900")
    assert not drag_enter(panel, text)
    web = QMimeData()
    web.setUrls([QUrl("https://nsearchives.nseindia.com/content/cm/x.csv")])
    assert not drag_enter(panel, web)
    assert not drag_enter(panel, file_mime(tmp_path / "gone.csv"))
    assert not panel.drop_highlight.isVisible()
    assert dropped_paths(text) == [] and dropped_paths(web) == []


def test_a_drop_while_an_import_runs_is_refused(make_ctx, qtbot):
    panel = panel_on(make_ctx, qtbot)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(NSE_2024)])
        assert panel.busy
        assert not drag_enter(panel, file_mime(NSE_2025))


def test_a_dropped_picture_is_named_in_the_dialog_and_in_the_result(make_ctx, qtbot, tmp_path):
    picture = tmp_path / "chart.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    panel = panel_on(make_ctx, qtbot)
    said: list[tuple[str, bool, str]] = []

    def read_then_import(dialog: ImportDialog) -> None:
        said.append((dialog.refusal, dialog.columns.isHidden(), dialog.columns_note.text()))
        click_import(dialog)

    timer = answer_options([], read_then_import)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        assert drop(panel, file_mime(picture, NSE_2024))
    timer.stop()
    ((refusal, no_columns, note),) = said
    assert refusal.startswith("is a binary file")
    assert no_columns  # no columns of garbage to map
    assert note.startswith("chart.png: is a binary file, not CSV text")
    assert "the other files are imported as usual" in note
    qtbot.waitUntil(lambda: panel.result_dialog is not None, timeout=5_000)
    result = panel.result_dialog.text()
    assert result.startswith("2 files: 1 stored, 1 refused\n")
    assert f"REFUSED    {picture}: is a binary file" in result
    assert len(symbols(panel)) == 5


def test_a_folder_without_data_files_says_so(make_ctx, qtbot, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.md").write_text("buy low")
    panel = panel_on(make_ctx, qtbot)
    assert drag_enter(panel, file_mime(tmp_path / "notes"))
    assert drop(panel, file_mime(tmp_path / "notes"))
    box = panel.findChild(QMessageBox, "nothingDropped")
    assert box is not None and box.text() == "No data file in notes."
    assert ".csv" in box.informativeText()
    assert not panel.busy


def test_the_progress_bar_counts_files_and_goes_when_the_import_ends(make_ctx, qtbot, tmp_path):
    from tests.app.test_data_panel import minute_files

    paths = minute_files(tmp_path, 12)
    ctx = make_ctx()
    panel = DataPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.progress.isHidden()
    bars: list[tuple[int, int, str]] = []

    def on_progress(event: JobProgress) -> None:
        if event.job_id == panel.job:
            bars.append((panel.progress.value(), panel.progress.maximum(), panel.progress.text()))

    ctx.bus.subscribe(JobProgress, on_progress)
    with qtbot.waitSignal(panel._done.finished, timeout=60_000):
        panel.import_files(paths)
        assert not panel.progress.isHidden() and not panel.cancel_button.isHidden()
    assert bars and all(maximum == 12 for _, maximum, _ in bars)
    assert bars[-1][2] == "12 of 12 files" and bars[-1][0] == 12
    values = [value for value, _, _ in bars]
    assert values == sorted(values)
    assert panel.progress.isHidden() and panel.cancel_button.isHidden()


def test_one_file_or_the_demo_shows_a_busy_bar(make_ctx, qtbot):
    panel = DataPanel(make_ctx())
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel._done.finished, timeout=20_000):
        panel.import_files([str(NSE_2024)])
        assert not panel.progress.isHidden()
        assert (panel.progress.minimum(), panel.progress.maximum()) == (0, 0)  # busy
    assert panel.progress.isHidden()


def test_the_quality_pane_does_not_take_a_drop_as_text(make_ctx, qtbot):
    panel = panel_on(make_ctx, qtbot)
    assert not panel.quality.acceptDrops()
    assert panel.acceptDrops()


def test_drop_highlight_leaves_with_the_drag(make_ctx, qtbot):
    from PySide6.QtGui import QDragLeaveEvent

    panel = panel_on(make_ctx, qtbot)
    assert drag_enter(panel, file_mime(NSE_2024))
    assert panel.drop_highlight.geometry() == panel.rect()
    QApplication.sendEvent(panel, QDragLeaveEvent())
    assert not panel.drop_highlight.isVisible()
    assert QPoint(0, 0) == panel.drop_highlight.pos()
