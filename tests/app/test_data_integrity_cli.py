"""`artha data check | backup | restore` and a damaged store, through the real console script."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.app.test_data_cli import artha
from tests.engine.store_damage import (
    BARS_EACH,
    SYMBOLS,
    build_store,
    corrupt,
    find_bar_block_offset,
    opens_but_bars_fail,
)

ADVICE = "artha data restore BACKUP"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built") / "artha.duckdb"
    build_store(path)
    return path


@pytest.fixture(scope="module")
def offset(built: Path, tmp_path_factory) -> int:
    return find_bar_block_offset(built, tmp_path_factory.mktemp("trial") / "artha.duckdb")


@pytest.fixture
def home(tmp_path: Path, built: Path) -> Path:
    home = tmp_path / "ws"
    home.mkdir()
    shutil.copyfile(built, home / "artha.duckdb")
    return home


def test_check_and_backup_of_a_healthy_store(home):
    out = artha("data", "check", home=home)
    assert out.returncode == 0, out.stderr
    assert f"OK: {len(SYMBOLS)} instruments, {len(SYMBOLS) * BARS_EACH:,} bars verified" in (
        out.stdout
    )
    made = artha("data", "backup", home=home)
    assert made.returncode == 0, made.stderr
    (backup,) = (home / "backups").iterdir()
    assert backup.name.startswith("artha-") and backup.suffix == ".duckdb"
    assert f"{len(SYMBOLS) * BARS_EACH:,} bars" in made.stdout
    again = artha("data", "backup", str(backup), home=home)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_a_damaged_store_gives_guidance_not_tracebacks_and_restore_repairs_it(
    home, tmp_path, offset
):
    backup = tmp_path / "safe.duckdb"
    assert artha("data", "backup", str(backup), home=home).returncode == 0
    corrupt(home / "artha.duckdb", offset)

    listed = artha("data", "list", home=home)
    assert listed.returncode == 2
    assert "Traceback" not in listed.stderr
    assert f"the market store {home / 'artha.duckdb'} is damaged" in listed.stderr
    assert "artha data check" in listed.stderr and ADVICE in listed.stderr

    checked = artha("data", "check", home=home)
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert "DAMAGED" in checked.stdout and "NSE:SYM" in checked.stdout
    assert "checksum error in block at location" in checked.stdout
    assert ADVICE in checked.stderr

    refused = artha("data", "backup", str(tmp_path / "bad.duckdb"), home=home)
    assert refused.returncode == 2 and "the store itself is damaged" in refused.stderr
    assert not (tmp_path / "bad.duckdb").exists()

    restored = artha("data", "restore", str(backup), home=home)
    assert restored.returncode == 0, restored.stderr
    assert "previous file is kept as" in restored.stdout
    (kept,) = home.glob("artha.duckdb.damaged-*")
    assert opens_but_bars_fail(kept)
    assert artha("data", "check", home=home).returncode == 0


def test_restore_refuses_a_file_that_is_not_a_store(home, tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database\n")
    out = artha("data", "restore", str(junk), home=home)
    assert out.returncode == 2 and "does not open as a DuckDB database" in out.stderr
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("artha.duckdb")) == [
        "artha.duckdb"
    ]


def test_an_import_in_a_fresh_process_refuses_a_damaged_store_before_writing(
    home, tmp_path, offset
):
    """Row 88: no command had read the bad block yet; the import's first write reads the
    store first and refuses with the same guidance, leaving the file as it was."""
    corrupt(home / "artha.duckdb", offset)
    before = (home / "artha.duckdb").read_bytes()
    small = tmp_path / "NEWSYM.csv"
    small.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2026-03-02 09:15:00+05:30,10,11,9,10.5,100\n"
        "2026-03-02 09:16:00+05:30,10.5,11,10,10.7,200\n"
    )
    out = artha("data", "import", str(small), home=home)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    assert f"the market store {home / 'artha.duckdb'} is damaged" in out.stderr
    assert "artha data check" in out.stderr and ADVICE in out.stderr
    assert (home / "artha.duckdb").read_bytes() == before
    logged = (home / "logs" / "artha.log").read_text()
    assert logged.count(" ERROR artha.store ") == 1 and "is damaged" in logged
