"""Drawings saved per instrument in the workspace: any symbol gets a safe file of its own,
writes are atomic, and a bad file is kept aside with one clear message while the chart goes on
with no drawings."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from app.gui.chart.drawing_store import (
    SCHEMA_VERSION,
    DrawingKind,
    DrawingRecord,
    DrawingStore,
    file_name,
)
from engine.workspace import Workspace

T0 = 1_764_561_300_000_000_000  # 2025-12-01 09:15 IST in UTC ns

RECORDS = [
    {
        "id": "a1",
        "kind": "trend_line",
        "points": [[T0, 24_010.5], [T0 + 3_600_000_000_000, 24_120.25]],
        "text": "",
        "colour": "#2962ff",
    },
    {
        "id": "b2",
        "kind": "horizontal_line",
        "points": [[T0, 24_000.0]],
        "text": "",
        "colour": "#ef6c00",
    },
    {
        "id": "c3",
        "kind": "rectangle",
        "points": [[T0, 23_900.0], [T0 + 60_000_000_000, 24_000.0]],
        "text": "",
        "colour": "#089981",
    },
    {
        "id": "d4",
        "kind": "text_note",
        "points": [[T0, 24_050.0]],
        "text": "गैप ₹ fill\nline 2",
        "colour": "#e91e63",
    },
]

KEYS = [
    "NSE:M&M",
    "NSE:BAJAJ-AUTO",
    "NSE:NIFTY 50",
    "NSE:NIFTY BANK",
    "BSE:500325",
    "NSE:CON",
    "NSE:a/b\\c:d*?<>|",
    "NSE:m&m",
]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws").ensure()


def test_round_trip_per_instrument_under_the_workspace(workspace):
    store = DrawingStore(workspace)
    for n, key in enumerate(KEYS):
        assert store.save(key, RECORDS[: n % 4 + 1]) is None
    fresh = DrawingStore(workspace)
    for n, key in enumerate(KEYS):
        assert fresh.load(key) == RECORDS[: n % 4 + 1], key
    assert fresh.problems == []
    files = sorted(p.name for p in (workspace.settings_dir / "drawings").iterdir())
    assert len(files) == len(KEYS)  # M&M and m&m apart even on a case-insensitive disk
    assert len({f.lower() for f in files}) == len(KEYS)
    for name in files:
        assert all(c.isalnum() or c in "-_.%" for c in name), name
    assert DrawingStore(workspace).load("NSE:NEVER-DRAWN") == []


def test_file_names_are_safe_readable_and_bounded():
    assert file_name("NSE:M&M").startswith("NSE%3AM%26M.")
    assert file_name("NSE:NIFTY 50").startswith("NSE%3ANIFTY%2050.")
    assert len(file_name("NSE:" + "X" * 500)) < 120


def test_the_file_has_a_schema_version_and_the_key(workspace):
    store = DrawingStore(workspace)
    store.save("NSE:M&M", RECORDS)
    document = json.loads(store.path_for("NSE:M&M").read_text(encoding="utf-8"))
    assert document["schema"] == SCHEMA_VERSION
    assert document["key"] == "NSE:M&M"
    assert document["drawings"] == RECORDS


def test_saving_nothing_removes_the_file(workspace):
    store = DrawingStore(workspace)
    store.save("NSE:M&M", RECORDS)
    assert store.save("NSE:M&M", []) is None
    assert not store.path_for("NSE:M&M").exists()
    assert store.load("NSE:M&M") == []


def test_writes_are_atomic_and_leave_no_temp_files(workspace, monkeypatch):
    store = DrawingStore(workspace)
    store.save("NSE:M&M", RECORDS)
    good = store.path_for("NSE:M&M").read_bytes()

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)  # the OS refusing, not our code
    message = store.save("NSE:M&M", RECORDS[:1])
    monkeypatch.undo()
    assert message is not None and "not saved" in message and "No space left" in message
    assert store.problems == [message]
    assert store.path_for("NSE:M&M").read_bytes() == good  # the old file is intact
    assert [p.name for p in store.folder.iterdir()] == [store.path_for("NSE:M&M").name]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "is not valid JSON"),
        (b"", "is not valid JSON"),
        (b"\xff\xfe\x00garbage", "cannot be read"),
        (b"[1, 2, 3]", "is not an Artha drawings file"),
        (b'{"drawings": []}', "has no schema version"),
        (b'{"schema": 99, "drawings": []}', "newer Artha"),
    ],
)
def test_a_corrupt_file_is_kept_aside_with_a_clear_message(workspace, caplog, content, reason):
    store = DrawingStore(workspace)
    path = store.path_for("NSE:M&M")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert store.load("NSE:M&M") == []
    assert len(store.problems) == 1
    message = store.problems[0]
    assert reason in message and "NSE:M&M" in message
    assert f"kept as {path.name}.corrupt-1" in message
    assert "opens without those drawings" in message
    assert message in caplog.text
    assert not path.exists()
    assert (path.parent / f"{path.name}.corrupt-1").read_bytes() == content
    # drawing again works, and a second bad file does not overwrite the first one kept aside
    assert store.save("NSE:M&M", RECORDS) is None
    assert store.load("NSE:M&M") == RECORDS
    path.write_bytes(b"{")
    assert store.load("NSE:M&M") == []
    assert (path.parent / f"{path.name}.corrupt-2").read_bytes() == b"{"


def test_bad_drawings_in_a_good_file_are_dropped_and_the_rest_shown(workspace):
    store = DrawingStore(workspace)
    path = store.path_for("NSE:NIFTY 50")
    path.parent.mkdir(parents=True, exist_ok=True)
    bad = [
        {"id": "x", "kind": "spiral", "points": []},
        {"id": "y", "kind": "horizontal_line", "points": [[1.5, 24_000.0]]},
        {"id": "z", "kind": "horizontal_line", "points": [[T0, "24000"]]},
        {"id": "w", "kind": "text_note", "points": [[T0, 1.0]], "colour": "red"},
    ]
    document = {"schema": 1, "key": "NSE:NIFTY 50", "drawings": [RECORDS[0], *bad, RECORDS[3]]}
    path.write_text(json.dumps(document), encoding="utf-8")
    assert store.load("NSE:NIFTY 50") == [RECORDS[0], RECORDS[3]]
    (message,) = store.problems
    assert "4 unreadable drawing(s)" in message and "unknown kind 'spiral'" in message
    assert "the other 2 are shown" in message
    assert (path.parent / f"{path.name}.corrupt-1").exists()  # the original, untouched


def test_an_unreadable_path_is_reported_not_raised(workspace):
    store = DrawingStore(workspace)
    store.path_for("NSE:M&M").mkdir(parents=True)  # a folder where the file should be
    assert store.load("NSE:M&M") == []
    assert "cannot be read" in store.problems[0]
    # and saving there fails with a message, not a traceback
    (workspace.settings_dir / "drawings" / "x").mkdir()
    blocked = DrawingStore(workspace.settings_dir / "drawings" / "x" / "file-not-folder")
    (workspace.settings_dir / "drawings" / "x" / "file-not-folder").write_text("")
    message = blocked.save("NSE:M&M", RECORDS)
    assert message is not None and "were not saved" in message


def test_save_refuses_invalid_records_with_a_message(workspace):
    store = DrawingStore(workspace)
    message = store.save("NSE:M&M", [{"id": "q", "kind": "trend_line", "points": [[T0, 1.0]]}])
    assert message is not None and "needs 2 point(s)" in message
    assert not store.path_for("NSE:M&M").exists()


def test_record_rules():
    record = DrawingRecord.from_dict(RECORDS[0])
    assert record.kind is DrawingKind.TREND_LINE
    assert record.points[0] == (T0, 24_010.5)
    assert DrawingRecord.from_dict(record.to_dict()) == record
    with pytest.raises(ValueError, match="not integer UTC nanoseconds"):
        DrawingRecord.from_dict({**RECORDS[1], "points": [[True, 1.0]]})
    with pytest.raises(ValueError, match="not a finite number"):
        DrawingRecord.from_dict({**RECORDS[1], "points": [[T0, float("inf")]]})
    with pytest.raises(ValueError, match="outside int64"):
        DrawingRecord.from_dict({**RECORDS[1], "points": [[2**63, 1.0]]})
    with pytest.raises(ValueError, match="no id"):
        DrawingRecord.from_dict({**RECORDS[1], "id": ""})
