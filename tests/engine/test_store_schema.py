"""MarketStore's file: opening, schema migrations (an old workspace opens in a new Artha),
read-only use, and the SQLAlchemy application-state tables on the same file.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from engine.calendar.model import IST
from engine.data import schema
from engine.data.app_state import APP_TABLES, AppBase, BacktestRun, RunStatus, Setting
from engine.data.bar_series import TIMEFRAMES
from engine.data.store import MarketStore, StoreError
from tests.engine.store_helpers import (
    DAY1,
    dump,
    make_batch,
    session_open_ns,
)


def test_open_creates_a_migrated_store_and_reopens(tmp_path):
    path = tmp_path / "new" / "artha.duckdb"
    with MarketStore.open(path) as store:
        assert store.path == path.resolve()
        assert store.schema_version == schema.LATEST_VERSION == 6
        assert "read-write" in repr(store)
    with MarketStore.open(path) as again:
        assert again.schema_version == 6
    with pytest.raises(StoreError, match="closed"):
        store.list_series()


def test_the_store_never_draws_a_progress_bar_on_stdout(tmp_path):
    """A long migration would draw DuckDB's progress bar into `--json -` output. Checked in a
    fresh interpreter: under pytest DuckDB starts with the bar off anyway."""
    code = (
        "import sys; from engine.data.store import MarketStore\n"
        "with MarketStore.open(sys.argv[1]) as s:\n"
        "    print(s._con.execute(\"SELECT current_setting('enable_progress_bar')\").fetchall())"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.duckdb")], cwd=root,
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "[(False,)]"


def test_a_version_1_workspace_opens_with_its_data_and_gains_the_new_tables(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, path, target=1) == [1]  # what Artha v1 created
    con.execute("INSERT INTO instruments (exchange, segment, symbol, lot_size, tick_size_paise) "
                "VALUES ('NSE', 'EQ', 'OLDCO', 1, 5)")  # fmt: skip
    ts = session_open_ns(DAY1)
    con.execute("INSERT INTO bars VALUES (1, '1m', ?, 100, 110, 90, 105, 7, NULL)", [ts])
    con.execute(
        "INSERT INTO import_log (source, format, rows, first_ts, last_ts, imported_at) "
        "VALUES ('old.csv', 'generic', 1, ?, ?, TIMESTAMP '2024-01-02 10:00:00')",
        [ts, ts],
    )
    con.close()
    with pytest.raises(
        StoreError, match=r"is at schema v1; this Artha needs v6. Open it read-write"
    ):
        MarketStore.open(path, read_only=True)

    with MarketStore.open(path) as store:
        assert store.schema_version == 6
        series = store.read_bars("OLDCO")
        assert (series.ts.tolist(), series.close.tolist(), series.volume.tolist()) == (
            [ts],
            [105],
            [7],
        )
        log = store.import_log()
        assert log.source.tolist() == ["old.csv"] and log.sha256.isna().all()
        assert set(APP_TABLES) <= set(dump(store))
        with store.session() as s, s.begin():
            s.add(Setting(key="theme", value={"dark": True}))
    with MarketStore.open(path, read_only=True) as reader:
        with reader._cursor() as cur:
            versions = cur.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        assert versions == [(1,), (2,), (3,), (4,), (5,), (6,)]
        assert len(reader.read_bars("OLDCO")) == 1
        with reader._cursor() as cur:
            kind = cur.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'bars' "
                               "AND column_name = 'timeframe'").fetchall()  # fmt: skip
        assert kind == [("ENUM('1m', '3m', '5m', '15m', '30m', '60m', '1d')",)]


def test_the_stored_timeframes_are_the_engines():
    """Adding a timeframe to TIMEFRAMES needs a migration that widens bars.timeframe."""
    assert tuple(TIMEFRAMES) == schema.BAR_TIMEFRAMES_V3


def test_a_newer_or_foreign_file_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    with MarketStore.open(path) as store, store._cursor() as cur:
        cur.execute("INSERT INTO schema_version VALUES (99, 'from the future', now()::TIMESTAMP)")
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"schema version 99.*newer Artha"):
            MarketStore.open(path, read_only=read_only)
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 1000)
    with pytest.raises(StoreError, match="is not a DuckDB database file"):
        MarketStore.open(junk)
    with pytest.raises(StoreError, match="no market store there"):
        MarketStore.open(tmp_path / "missing.duckdb", read_only=True)


def test_read_only_store_reads_but_refuses_writes(tmp_path):
    path = tmp_path / "ro.duckdb"
    with MarketStore.open(path) as store:
        store.import_batch(make_batch("mem:a", "AAA"))
    with MarketStore.open(path, read_only=True) as reader:
        assert len(reader.read_bars("AAA")) == 50
        with pytest.raises(StoreError, match="open read-only: cannot import mem:b"):
            reader.import_batch(make_batch("mem:b", "BBB"))


def test_app_state_orm_round_trip_on_the_same_file(tmp_path):
    path = tmp_path / "app.duckdb"
    started = datetime(2024, 5, 6, 15, 30, tzinfo=IST)
    with MarketStore.open(path) as store:
        store.import_batch(make_batch("mem:a", "AAA"))
        with store.session() as s, s.begin():
            run = BacktestRun(
                strategy="sma_crossover", params={"fast": 10, "slow": 30},
                config={"symbols": ["AAA"], "capital": "100000.00"}, created_at=started,
            )  # fmt: skip
            s.add(run)
        with store.session() as s, s.begin():
            loaded = s.scalars(sa.select(BacktestRun)).one()
            loaded.status = RunStatus.DONE
            loaded.summary = {"trades": 4, "net_pnl": "1234.50"}
        assert len(store.read_bars("AAA")) == 50  # bulk side unaffected
    with MarketStore.open(path) as store, store.session() as s:
        run = s.scalars(sa.select(BacktestRun)).one()
        assert (run.id, run.strategy, run.status) == (1, "sma_crossover", "done")
        assert run.params == {"fast": 10, "slow": 30} and run.summary == {
            "trades": 4,
            "net_pnl": "1234.50",
        }
        assert run.created_at == started and run.created_at.tzinfo is UTC
        with store._cursor() as cur:  # stored as naive UTC
            assert cur.execute("SELECT created_at FROM backtest_runs").fetchone() == (
                datetime(2024, 5, 6, 10, 0),
            )


def test_orm_models_match_the_migrated_tables(store):
    # (SQLAlchemy's inspector cannot reflect through duckdb-engine 0.17: no pg_collation)
    with store._cursor() as cur:
        for table in AppBase.metadata.sorted_tables:
            in_db = cur.execute(
                "SELECT column_name, is_nullable FROM duckdb_columns() WHERE table_name = ? "
                "ORDER BY column_index",
                [table.name],
            ).fetchall()
            assert in_db == [(c.name, c.nullable) for c in table.columns], table.name
    with pytest.raises(sa.exc.StatementError, match="no time zone"), store.session() as s:
        s.add(BacktestRun(strategy="x", created_at=datetime(2024, 1, 1)))
        s.flush()


def test_a_missing_folder_is_created_and_paths_are_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with MarketStore.open(Path("deep/er/x.duckdb")) as store:
        assert store.path == tmp_path / "deep" / "er" / "x.duckdb"
