"""Named watchlists kept in the workspace (app/gui/watchlists.py): every change survives a
reload, names follow clear rules, and a damaged file is kept aside, never overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.gui.watchlists import DEFAULT_NAME, FILE_NAME, SEED_COUNT, WatchlistError, Watchlists

KEYS = [f"NSE:SYM{i:02d}" for i in range(30)]


def test_first_use_is_one_empty_list_seeded_once_from_the_store(tmp_path: Path):
    lists = Watchlists.load(tmp_path)
    assert (lists.names(), lists.current, lists.keys(), lists.seeded) == (
        [DEFAULT_NAME], DEFAULT_NAME, [], False
    )  # fmt: skip
    assert not (tmp_path / FILE_NAME).exists()  # nothing written until something changes
    assert lists.seed([]) is False and not lists.seeded  # an empty store: seed later
    assert lists.seed(KEYS) is True
    assert lists.keys() == KEYS[:SEED_COUNT]
    lists.remove(KEYS[0])
    again = Watchlists.load(tmp_path)
    assert again.seed(KEYS) is False  # removed instruments do not come back
    assert again.keys() == KEYS[1:SEED_COUNT]
    assert again.problem == ""


def test_every_change_is_saved_and_reloaded(tmp_path: Path):
    lists = Watchlists.load(tmp_path)
    lists.seed(KEYS[:3])
    assert lists.create("  Banks   and  NBFCs ") == "Banks and NBFCs"
    assert lists.current == "Banks and NBFCs"
    assert lists.add(" NSE:HDFCBANK ") and lists.add("NSE:SBIN")
    assert not lists.add("NSE:SBIN") and not lists.add("  ")  # no duplicates, no blanks
    lists.set_order(["NSE:SBIN", "NSE:HDFCBANK"])
    lists.rename("Banks and NBFCs", "Banks")
    lists.select(DEFAULT_NAME)
    lists.set_order(list(reversed(KEYS[:3])))
    again = Watchlists.load(tmp_path)
    assert again.names() == [DEFAULT_NAME, "Banks"]
    assert again.current == DEFAULT_NAME
    assert again.keys("Banks") == ["NSE:SBIN", "NSE:HDFCBANK"]
    assert again.keys() == list(reversed(KEYS[:3]))
    again.delete(DEFAULT_NAME)
    assert (again.names(), again.current) == (["Banks"], "Banks")
    again.delete("Banks")  # the last one: an empty default list takes its place
    assert (again.names(), again.keys()) == ([DEFAULT_NAME], [])
    assert Watchlists.load(tmp_path).names() == [DEFAULT_NAME]
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temp files left


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 41, "at most 40"),
        ("watchlist", "named 'Watchlist' exists already"),
    ],
)
def test_bad_names_are_refused_in_words(tmp_path: Path, name: str, message: str):
    lists = Watchlists.load(tmp_path)
    with pytest.raises(WatchlistError, match=message):
        lists.create(name)
    with pytest.raises(WatchlistError, match="no watchlist named 'Nope'"):
        lists.rename("Nope", "Other")
    assert lists.rename(DEFAULT_NAME, "WATCHLIST") == "WATCHLIST"  # its own name, other case


def test_a_new_order_must_hold_the_same_instruments(tmp_path: Path):
    lists = Watchlists.load(tmp_path)
    lists.seed(KEYS[:3])
    with pytest.raises(WatchlistError, match="exactly the list's instruments"):
        lists.set_order(KEYS[:2])
    assert lists.keys() == KEYS[:3]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "Expecting property name"),
        ('{"version": 1, "lists": "x"}', '"lists" array'),
        ('{"version": 99, "lists": []}', "format version 99"),
        ('{"version": 1, "lists": []}', "holds no list"),
        ('{"version": 1, "lists": [{"name": "A", "symbols": [1]}]}', "array of strings"),
        ('{"version": 1, "lists": [{"name": "A"}, {"name": "a", "symbols": []}]}', "strings"),
        ('{"version": 1, "lists": [{"name": "A", "symbols": []}, {"name": "a", "symbols": []}]}',
         "two lists are named 'a'"),
        ('{"version": 1, "lists": [3]}', "list 1 is not an object"),
        (b"\xff\xfe\x00bad", "cannot be read"),
    ],
)  # fmt: skip
def test_a_damaged_file_is_kept_aside_and_new_lists_start(
    tmp_path: Path, text: str | bytes, why: str
):
    path = tmp_path / FILE_NAME
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    lists = Watchlists.load(tmp_path)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(f"{FILE_NAME}.corrupt-")]
    assert len(kept) == 1
    assert kept[0].read_bytes() == (text if isinstance(text, bytes) else text.encode())
    assert str(path) in lists.problem and why in lists.problem
    assert f"kept as {kept[0].name}" in lists.problem
    assert lists.names() == [DEFAULT_NAME] and not lists.seeded
    lists.seed(KEYS)  # the new file is written where the old one was
    assert json.loads(path.read_text())["lists"][0]["symbols"] == KEYS[:SEED_COUNT]
    assert Watchlists.load(tmp_path).problem == ""


def test_a_file_that_cannot_be_written_says_where_and_why(tmp_path: Path):
    blocker = tmp_path / "settings"
    blocker.write_text("a file where the settings folder should be")
    lists = Watchlists.load(blocker)
    with pytest.raises(WatchlistError, match=f"cannot save the watchlists to {blocker}"):
        lists.create("Banks")
