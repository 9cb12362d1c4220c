"""A damaged or unwritable store: real corruption written into the file, a real full disk
(a small tmpfs) and a real immutable folder; `check`, `backup` and `restore`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from engine.data import integrity
from engine.data.store import MarketStore, StoreDamaged, StoreError
from tests.engine.store_damage import (
    BARS_EACH,
    SYMBOLS,
    build_store,
    corrupt,
    find_bar_block_offset,
    opens_but_bars_fail,
    small_disk_at,
)
from tests.engine.store_helpers import make_batch


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("clean") / "artha.duckdb"
    return path, build_store(path)


@pytest.fixture(scope="module")
def bar_block_offset(clean_store: tuple[Path, int], tmp_path_factory) -> int:
    """An offset where 4 KB of garbage damages bars, not the catalogue: found by trying."""
    return find_bar_block_offset(clean_store[0], tmp_path_factory.mktemp("trial") / "artha.duckdb")


@pytest.fixture
def damaged_store(tmp_path, clean_store, bar_block_offset) -> Path:
    path = tmp_path / "artha.duckdb"
    shutil.copyfile(clean_store[0], path)
    corrupt(path, bar_block_offset)
    return path


def test_a_clean_store_checks_ok_reading_every_bar(clean_store):
    path, bars = clean_store
    with MarketStore.open(path, read_only=True) as store:
        result = store.check()
    assert result.ok, (result.affected, result.problems)
    assert (result.instruments, result.bars) == (len(SYMBOLS), bars)


def test_a_damaged_block_raises_store_damaged_from_reads_and_then_refuses_writes(damaged_store):
    with MarketStore.open(damaged_store) as store:
        with pytest.raises(StoreDamaged) as caught:
            store.list_series()
        message = str(caught.value)
        assert f"the market store {damaged_store} is damaged" in message
        assert "checksum error in block at location" in message
        assert "artha data check" in message and "artha data restore BACKUP" in message
        assert store.damage is not None
        with pytest.raises(StoreDamaged, match=r"cannot import more\.csv: the market store"):
            store.import_batch(make_batch("more.csv", "NEWSYM", n=10))
        assert store.instruments()["symbol"].tolist().count("NEWSYM") == 0


def test_check_names_the_affected_instruments_and_the_rest_reads(damaged_store):
    with MarketStore.open(damaged_store) as store:
        result = store.check()
        assert not result.ok
        assert result.affected and all(a.startswith("NSE:SYM") for a in result.affected)
        assert "checksum error" in result.affected[0]
        assert 0 < result.bars < len(SYMBOLS) * BARS_EACH
        healthy = next(
            s for s in SYMBOLS if not any(a.startswith(f"NSE:{s} ") for a in result.affected)
        )
        assert len(store.read_bars(healthy)) == BARS_EACH
        # found damaged: writes are refused from then on
        with pytest.raises(StoreDamaged):
            store.write_bars(store.read_bars(healthy))


def test_backup_restore_round_trip_keeps_the_damaged_file(tmp_path, clean_store, damaged_store):
    good = tmp_path / "good" / "artha.duckdb"
    good.parent.mkdir()
    shutil.copyfile(clean_store[0], good)
    with MarketStore.open(good) as store:
        made = store.backup()
        assert made.path.parent == good.parent / "backups"
        assert made.path.name.startswith("artha-") and made.bars == clean_store[1]
        with pytest.raises(StoreError, match="already exists"):
            store.backup(made.path)
    done = integrity.restore(damaged_store, made.path)
    assert done.bars == clean_store[1]
    assert [p.name.split("-")[0] for p in done.moved] == ["artha.duckdb.damaged"]
    assert opens_but_bars_fail(done.moved[0])
    with MarketStore.open(damaged_store) as store:
        assert store.check().ok
        store.import_batch(make_batch("after.csv", "AFTER", n=10))  # writable again


def test_a_backup_of_a_damaged_store_is_refused(tmp_path, damaged_store):
    dest = tmp_path / "copy.duckdb"
    with (
        MarketStore.open(damaged_store) as store,
        pytest.raises(StoreError, match="the store itself is damaged"),
    ):
        store.backup(dest)
    assert not dest.exists() and not list(tmp_path.glob(".copy*"))


def test_restore_refuses_what_is_not_an_artha_store(tmp_path, clean_store):
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()
    target = tmp_path / "ws" / "artha.duckdb"
    target.parent.mkdir()
    shutil.copyfile(clean_store[0], target)
    with pytest.raises(StoreError, match="holds no Artha market store"):
        integrity.restore(target, plain)
    assert sorted(p.name for p in target.parent.iterdir()) == ["artha.duckdb"]


def test_truncated_empty_and_corrupt_wal_files_say_what_to_do(tmp_path, clean_store):
    stub = tmp_path / "stub.duckdb"
    with open(clean_store[0], "rb") as f:
        stub.write_bytes(f.read(20_000))
    with pytest.raises(StoreDamaged, match=r"truncated, 20,000 bytes.*artha data restore BACKUP"):
        MarketStore.open(stub)
    # cut in half, it may still open (the tables it needs first are whole): check finds it
    half = tmp_path / "half.duckdb"
    with open(clean_store[0], "rb") as f:
        half.write_bytes(f.read(clean_store[0].stat().st_size // 2))
    try:
        with MarketStore.open(half, read_only=True) as store:
            result = store.check()
        assert not result.ok and "Could not read enough bytes" in str(result.affected)
    except StoreDamaged as exc:
        assert "truncated" in str(exc)
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    with pytest.raises(StoreDamaged, match=r"is empty \(0 bytes.*artha data restore"):
        MarketStore.open(empty, read_only=True)

    # a WAL left by a process that ended without a checkpoint, then damaged
    wal_store = tmp_path / "wal" / "artha.duckdb"
    code = (
        "import os, sys\n"
        "from engine.data.store import MarketStore\n"
        "from tests.engine.store_helpers import make_batch\n"
        "s = MarketStore.open(sys.argv[1])\n"
        "s.import_batch(make_batch('a.csv', 'A', n=2000))\n"
        "s.import_batch(make_batch('b.csv', 'B', n=2000))\n"
        "os._exit(0)\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-c", code, str(wal_store)],
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    wal = wal_store.with_name("artha.duckdb.wal")
    size = wal.stat().st_size
    assert size > 10_000
    # Garbage that lands on an entry's length reads, to DuckDB, as a torn last write: it drops
    # the tail without a word, so where the damage falls decides whether it is seen. Try the
    # middle first, then other places, each on a fresh copy, until DuckDB reports it.
    pristine = {p: p.read_bytes() for p in (wal_store, wal)}
    messages = []
    for offset in (size // 2, size // 3, 2 * size // 3, size // 4, 3 * size // 4, size // 5):
        for path, data in pristine.items():
            path.write_bytes(data)
        corrupt(wal, offset, 64)
        try:
            MarketStore.open(wal_store).close()
        except StoreDamaged as exc:
            messages.append(str(exc))
            break
    assert messages, "no place in the WAL where DuckDB reports damage"
    caught = messages[0]
    assert f"write-ahead log {wal} is damaged" in caught
    assert "the last imports kept in it, not yet written into the store, are then lost" in caught


def _chattr(flag: str, path: Path) -> bool:
    try:
        done = subprocess.run(["chattr", flag, str(path)], capture_output=True)
    except OSError:
        return False
    return done.returncode == 0


def test_an_immutable_folder_reports_the_wal_it_cannot_write(tmp_path):
    path = tmp_path / "ws" / "artha.duckdb"
    with MarketStore.open(path) as store:
        store.import_batch(make_batch("a.csv", "A", n=100))
    if not _chattr("+i", path.parent):
        pytest.skip("chattr +i is not permitted here")
    try:
        with MarketStore.open(path) as store:
            with pytest.raises(StoreError) as caught:
                store.import_batch(make_batch("b.csv", "B", n=100))
            message = str(caught.value)
            assert "no transaction is active" not in message
            assert (
                f"import b.csv failed, nothing written: cannot write the write-ahead log in "
                f"{path.parent}: Operation not permitted" in message
            )
            assert [s.symbol for s in store.list_series()] == ["A"]
    finally:
        _chattr("-i", path.parent)


@pytest.fixture
def small_disk(tmp_path):
    with small_disk_at(tmp_path / "disk", "20m") as mount:
        yield mount


def test_a_full_disk_reports_no_space_and_keeps_the_store_consistent(small_disk, tmp_path):
    path = small_disk / "artha.duckdb"
    stored: list[str] = []
    error: StoreError | None = None
    with MarketStore.open(path) as store:
        for i in range(100):
            try:
                store.import_batch(make_batch(f"f{i}.csv", f"S{i}A", f"S{i}B", n=40_000))
            except StoreError as exc:
                error = exc
                break
            stored.append(f"f{i}.csv")
    assert error is not None, "the 20 MB disk never filled"
    message = str(error)
    assert "no transaction is active" not in message
    assert f"import f{len(stored)}.csv failed, nothing written: No space left on device" in message
    # the store is as the last successful import left it (copied to a disk with room)
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    for f in small_disk.iterdir():
        shutil.copyfile(f, roomy / f.name)
    with MarketStore.open(roomy / "artha.duckdb", read_only=True) as store:
        assert store.import_log()["source"].tolist() == stored
        result = store.check()
        assert result.ok and result.bars == len(stored) * 80_000


def test_the_first_write_of_a_process_reads_the_store_and_refuses_a_damaged_one(
    damaged_store, caplog
):
    """Row 88: nothing had read the bad block yet (a fresh process), so the import alone
    would have landed in the damaged file."""
    caplog.set_level("ERROR", logger="artha.store")
    size = damaged_store.stat().st_size
    with MarketStore.open(damaged_store) as store:
        assert store.damage is None  # opened fine: the damage is in a bars block
        with pytest.raises(StoreDamaged) as caught:
            store.import_batch(make_batch("more.csv", "NEWSYM", n=10))
        message = str(caught.value)
        assert message.startswith(f"cannot import more.csv: the market store {damaged_store}")
        assert "checksum error in block at location" in message
        assert "artha data check" in message and "artha data restore BACKUP" in message
        assert "NEWSYM" not in store.instruments()["symbol"].tolist()
    assert damaged_store.stat().st_size == size
    damage_records = [r for r in caplog.records if r.name == "artha.store"]
    assert len(damage_records) == 1 and "is damaged" in damage_records[0].getMessage()


def test_a_healthy_store_is_read_once_per_process_before_writes(tmp_path, clean_store):
    path = tmp_path / "artha.duckdb"
    shutil.copyfile(clean_store[0], path)
    with MarketStore.open(path) as store:
        store.import_batch(make_batch("one.csv", "ONE", n=10))
        store.import_batch(make_batch("two.csv", "TWO", n=10))
        assert {"ONE", "TWO"} <= set(store.instruments()["symbol"])


def test_orm_reads_of_a_damaged_store_raise_store_damaged_and_orm_writes_are_refused(
    damaged_store,
):
    import sqlalchemy as sa

    from engine.data.app_state import Setting

    with MarketStore.open(damaged_store) as store:
        with store.session() as s, pytest.raises(StoreDamaged) as caught:
            s.execute(sa.text("SELECT sum(hash(ts, open, close, volume)) FROM bars")).all()
        assert f"the market store {damaged_store} is damaged" in str(caught.value)
        assert "artha data restore BACKUP" in str(caught.value)
        assert store.damage is not None  # marked, as a read through the store's cursor does
        refused = pytest.raises(StoreDamaged, match="cannot write application")
        with store.session() as s, refused, s.begin():
            s.add(Setting(key="theme", value="dark"))
        with store.session() as s:  # reads of healthy tables go on working
            assert s.execute(sa.select(sa.func.count()).select_from(Setting)).scalar_one() == 0
