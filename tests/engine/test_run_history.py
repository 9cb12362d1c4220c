"""The run history on a real store with real backtests: a saved run reopens with the same
report (trades, metrics, equity curve), lists, renames, tags, deletes and compares; an old
workspace upgrades; read-only, damaged stores and a damaged saved report say what is wrong."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest

from engine.backtest import BacktestConfig, BacktestJob, BacktestReport, run_job
from engine.data import run_history as rh
from engine.data import schema
from engine.data.bar_series import BarSeries
from engine.data.demo import generate_demo
from engine.data.schema import StoreDamaged, StoreError
from engine.data.store import MarketStore
from engine.strategy.loader import StrategyRef

SMA = StrategyRef.of_module("strategies.reference.sma_crossover", "SmaCrossover")

USER_STRATEGY = """\
from strategies.sdk import BarView, Param, Strategy, crossed_above, crossed_below, sma


class Mine(Strategy):
    name = "mine"
    fast = Param(8, min=1)
    slow = Param(21, min=2)

    def init(self) -> None:
        self.on(crossed_above(sma(self.data.close, self.fast), sma(self.data.close, self.slow)),
                self.enter)
        self.on(crossed_below(sma(self.data.close, self.fast), sma(self.data.close, self.slow)),
                self.leave)

    def enter(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.buy(50)

    def leave(self, bar: BarView) -> None:
        if not self.position.is_flat:
            self.close_position()
"""


@pytest.fixture(scope="module")
def demo() -> list[BarSeries]:
    return generate_demo(count=2, days=6)


@pytest.fixture(scope="module")
def sma_runs(demo: list[BarSeries]) -> list[tuple[BacktestJob, BacktestReport]]:
    """Two real runs of the reference sma_crossover: default, and other parameters and costs."""
    infy = demo[0]
    one = BacktestJob(SMA, (f"NSE:{infy.symbol}",), {"fast": 10}, BacktestConfig(), "1m")
    two = BacktestJob(
        SMA,
        (f"NSE:{infy.symbol}",),
        {"fast": 5, "slow": 30},
        BacktestConfig(costs="bps", cost_bps=Decimal("3"), slippage_bps=Decimal("2.5")),
        "1m",
    )
    return [(job, run_job(job, [infy])) for job in (one, two)]


def sha256_of_module_file(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


def test_a_recorded_run_reopens_with_the_same_report(store, demo, sma_runs):
    job, report = sma_runs[0]
    assert len(report.trades) > 5  # a run with something to show
    run_id = rh.record_run(store, job, report, tags=["baseline"])

    [info] = rh.list_runs(store)
    series = demo[0]
    assert info.id == run_id
    assert info.strategy == "sma_crossover"
    assert info.strategy_ref == "strategies.reference.sma_crossover:SmaCrossover"
    assert info.source_hash == sha256_of_module_file("strategies.reference.sma_crossover")
    assert info.params == {"fast": 10, "slow": 30, "quantity": 100}  # what ran, defaults too
    assert info.symbols == [f"NSE:{series.symbol}"]
    assert info.timeframe == "1m"
    assert info.data_first == datetime.fromtimestamp(int(series.ts[0]) // 10**9, UTC)
    assert info.data_last == datetime.fromtimestamp(int(series.ts[-1]) // 10**9, UTC)
    assert info.data_first.tzinfo is UTC and info.created_at.tzinfo is UTC
    assert info.config["capital"] == "10000000" and info.config["costs"] == "zerodha"
    assert info.config["fill"] == "next-open"
    assert info.tags == ["baseline"] and info.status == "done" and info.has_report
    first, last = info.period.split("..")
    assert info.name == f"sma_crossover NSE:{series.symbol} 1m {first}..{last}"
    # the headline metrics: money exact, as the report has them
    shown = report.as_json()
    assert info.net_pnl == Decimal(shown["metrics"]["total_net_pnl"])
    assert info.summary["net_pnl"] == shown["metrics"]["total_net_pnl"]
    assert info.summary["trades"] == len(report.trades)
    assert info.sharpe == pytest.approx(shown["metrics"]["net"]["sharpe"])
    assert info.badge in ("GREEN", "AMBER", "RED")

    back = rh.load_run(store, run_id)
    assert back.report.as_json() == shown  # trades, metrics, weekly, every sum, the curve
    assert back.trades == report.trades  # exact Decimals, IST times, bars
    for name in rh.CURVE_ARRAYS:
        got, want = getattr(back.curve, name), getattr(report.curve, name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
    assert back.report.metrics == report.metrics
    assert np.array_equal(rh.load_curve(store, run_id).equity, report.curve.equity)
    with store._cursor() as cur:  # the curve is kept once, in the npz, not again as JSON
        [(saved,)] = cur.execute("SELECT report FROM backtest_runs").fetchall()
    assert rh.CURVE_JSON_KEY not in json.loads(saved)["report"]
    assert back.report.order_log == report.order_log
    assert back.report.config == report.config


def test_a_reopened_run_survives_a_new_process_of_the_store(tmp_path, sma_runs):
    path = tmp_path / "ws" / "artha.duckdb"
    job, report = sma_runs[1]
    with MarketStore.open(path) as store:
        run_id = rh.record_run(store, job, report, name="  bps   costs  ")
    with MarketStore.open(path, read_only=True) as reader:
        back = rh.load_run(reader, run_id)
        assert back.info.name == "bps costs"
        assert back.report.as_json() == report.as_json()
        assert back.report.config.cost_bps == Decimal("3")
        assert back.report.config.slippage_bps == Decimal("2.5")


def test_a_user_file_is_hashed_and_an_edit_shows_in_the_comparison(store, demo, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(USER_STRATEGY)
    series = demo[1]
    job = BacktestJob(StrategyRef.of_file(path), (series.symbol,))
    before = rh.record_run(store, job, run_job(job, [series]))
    path.write_text(USER_STRATEGY.replace("self.buy(50)", "self.buy(60)"))
    after = rh.record_run(store, job, run_job(job, [series]))

    a, b = rh.run_info(store, before), rh.run_info(store, after)
    assert a.strategy_ref == str(path) and a.strategy == "mine"
    assert a.source_hash == hashlib.sha256(USER_STRATEGY.encode()).hexdigest()
    assert b.source_hash == hashlib.sha256(path.read_bytes()).hexdigest() != a.source_hash
    compared = rh.compare_runs(store, before, after)
    assert [d.key for d in compared.setup] == ["source_hash"]
    assert compared.params == [] and compared.config == []
    assert not compared.same_setup


def test_compare_names_the_parameter_and_config_differences(store, sma_runs):
    (job_a, rep_a), (job_b, rep_b) = sma_runs
    a = rh.record_run(store, job_a, rep_a)
    b = rh.record_run(store, job_b, rep_b)
    compared = rh.compare_runs(store, a, b)
    assert compared.setup == []  # same strategy file, symbol, bars
    assert {d.key: (d.a, d.b) for d in compared.params} == {"fast": (10, 5)}
    assert {d.key: (d.a, d.b) for d in compared.config} == {
        "costs": ("zerodha", "bps"),
        "cost_bps": (None, "3"),
        "slippage_bps": ("0", "2.5"),
    }
    rows = {m.key: m for m in compared.metrics}
    assert rows["net_pnl"].a == rep_a.as_json()["metrics"]["total_net_pnl"]
    assert rows["net_pnl"].b == rep_b.as_json()["metrics"]["total_net_pnl"]
    assert rows["net_pnl"].differs and not rows["bars"].differs
    assert [m.key for m in compared.metrics] == [key for key, _, _ in rh.HEADLINE]
    assert compared.as_json()["params"][0] == {"key": "fast", "a": 10, "b": 5}
    same = rh.compare_runs(store, a, a)
    assert same.same_setup and not any(m.differs for m in same.metrics)


def test_rename_tag_delete_and_unknown_ids(store, sma_runs):
    job, report = sma_runs[0]
    first = rh.record_run(store, job, report)
    second = rh.record_run(store, job, report, name="second")
    assert [r.id for r in rh.list_runs(store)] == [second, first]  # newest first
    assert rh.rename_run(store, first, "  the   baseline ").name == "the baseline"
    with pytest.raises(ValueError, match="cannot be empty"):
        rh.rename_run(store, first, "   ")
    assert rh.tag_run(store, first, ["keep", "nifty", "keep"]).tags == ["keep", "nifty"]
    assert rh.tag_run(store, first, ["best"], remove=["nifty"]).tags == ["keep", "best"]
    with pytest.raises(ValueError, match="at most 40"):
        rh.tag_run(store, first, ["x" * 41])
    assert [r.id for r in rh.list_runs(store, tag="keep")] == [first]
    assert rh.delete_run(store, second).name == "second"
    assert [r.id for r in rh.list_runs(store)] == [first]
    for call in (
        lambda: rh.load_run(store, 99),
        lambda: rh.rename_run(store, 99, "x"),
        lambda: rh.tag_run(store, 99, ["x"]),
        lambda: rh.delete_run(store, 99),
        lambda: rh.compare_runs(store, first, 99),
    ):
        with pytest.raises(rh.RunHistoryError, match=r"no run 99 in .*artha runs list"):
            call()
    with pytest.raises(ValueError, match="sha256"):
        rh.save_run(store, job, report, source_hash="abc")


def test_a_read_only_or_damaged_store_refuses_writes_with_its_message(tmp_path, sma_runs):
    path = tmp_path / "ro.duckdb"
    job, report = sma_runs[0]
    with MarketStore.open(path) as store:
        run_id = rh.record_run(store, job, report)
    with MarketStore.open(path, read_only=True) as reader:
        assert [r.id for r in rh.list_runs(reader)] == [run_id]
        for write in (
            lambda: rh.record_run(reader, job, report),
            lambda: rh.rename_run(reader, run_id, "new"),
            lambda: rh.tag_run(reader, run_id, ["t"]),
            lambda: rh.delete_run(reader, run_id),
        ):
            with pytest.raises(StoreError, match="is open read-only: cannot write"):
                write()
    with MarketStore.open(path) as store:
        store.mark_damaged(StoreDamaged(f"{path} is damaged: checksum error; restore a backup"))
        try:
            with pytest.raises(StoreDamaged, match=r"cannot write application state.*restore"):
                rh.record_run(store, job, report)
            assert rh.run_info(store, run_id).name  # reads still answer
        finally:
            from engine.data import store as store_module

            store_module._DAMAGED.pop(store.path, None)  # the process-wide mark, for other tests


def test_a_spooled_run_is_stored_exactly_as_one_sent_in_memory(store, sma_runs, tmp_path):
    """The wizard's worker spools the report to a file and the store reads it itself; the
    row must be the one an in-memory insert writes, and the file is consumed."""
    job, report = sma_runs[1]
    prepared = rh.prepare_record(job, report)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    spooled = rh.spool(prepared, spool_dir)
    assert isinstance(spooled.report, rh.SpooledReport) and spooled.columns == prepared.columns
    from_memory = rh.insert_prepared(store, prepared, report.curve)
    from_file = rh.insert_prepared(store, spooled, report.curve)
    assert list(spool_dir.iterdir()) == []
    with store._cursor() as cur:
        reports = cur.execute(
            "SELECT report FROM backtest_runs WHERE id IN (?, ?) ORDER BY id",
            [from_memory, from_file],
        ).fetchall()
    assert reports[0] == reports[1] and len(reports[0][0]) > 1000
    for run_id in (from_memory, from_file):
        assert rh.load_run(store, run_id).report.as_json() == report.as_json()


def test_the_curve_is_kept_as_rows_of_its_own_and_goes_with_its_run(store, sma_runs):
    """Not a BLOB in the run's row (which DuckDB rewrote with every saved curve at each
    checkpoint): one row per bar in run_curves, exact, removed with the run."""
    job, report = sma_runs[0]
    first = rh.record_run(store, job, report)
    second = rh.record_run(store, *sma_runs[1])
    with store._cursor() as cur:
        counts = dict(
            cur.execute("SELECT run_id, count(*) FROM run_curves GROUP BY run_id").fetchall()
        )
        [(blobs,)] = cur.execute(
            "SELECT count(*) FROM backtest_runs WHERE curve IS NOT NULL"
        ).fetchall()
    assert counts == {
        first: len(report.curve.timestamps),
        second: len(sma_runs[1][1].curve.timestamps),
    }
    assert blobs == 0
    back = rh.load_curve(store, first)
    for name in rh.CURVE_ARRAYS:
        got, want = getattr(back, name), getattr(report.curve, name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
    rh.delete_run(store, first)
    with store._cursor() as cur:
        assert cur.execute("SELECT DISTINCT run_id FROM run_curves").fetchall() == [(second,)]
    assert rh.load_run(store, second).report.as_json() == sma_runs[1][1].as_json()


def test_a_spooled_run_that_cannot_be_saved_leaves_nothing_behind(tmp_path, sma_runs):
    path = tmp_path / "ws.duckdb"
    job, report = sma_runs[0]
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    with MarketStore.open(path) as store:
        rh.record_run(store, job, report)
    with MarketStore.open(path, read_only=True) as reader:  # refused: the file still goes
        spooled = rh.spool(rh.prepare_record(job, report), spool_dir)
        with pytest.raises(StoreError, match="is open read-only: cannot write"):
            rh.insert_prepared(reader, spooled, report.curve)
    assert list(spool_dir.iterdir()) == []
    with MarketStore.open(path) as store:  # the file gone before the insert: no row at all
        spooled = rh.spool(rh.prepare_record(job, report), spool_dir)
        assert isinstance(spooled.report, rh.SpooledReport)
        spooled.report.path.unlink()
        with pytest.raises(StoreError, match=r"the run was not saved: its report file .* gone"):
            rh.insert_prepared(store, spooled, report.curve)
        assert len(rh.list_runs(store)) == 1
        with store._cursor() as cur:  # nor any of its curve
            [(rows,)] = cur.execute("SELECT count(*) FROM run_curves").fetchall()
        assert rows == len(report.curve.timestamps)
    assert list(spool_dir.iterdir()) == []


def test_spooled_reports_a_dead_app_left_behind_go_at_the_next_spool(sma_runs, tmp_path):
    job, report = sma_runs[0]
    prepared = rh.prepare_record(job, report)
    old = rh.spool(prepared, tmp_path).report
    recent = rh.spool(prepared, tmp_path).report
    mine = tmp_path / "notes.json"  # not a spooled report: never touched
    mine.write_text("{}")
    assert isinstance(old, rh.SpooledReport) and isinstance(recent, rh.SpooledReport)
    day_ago = time.time() - rh.STALE_SPOOL_SECONDS - 60
    for path in (old.path, mine):
        os.utime(path, (day_ago, day_ago))
    fresh = rh.spool(prepared, tmp_path).report
    assert isinstance(fresh, rh.SpooledReport)
    assert sorted(tmp_path.iterdir()) == sorted([recent.path, fresh.path, mine])


def test_a_run_that_cannot_be_spooled_is_kept_in_memory(sma_runs, tmp_path):
    job, report = sma_runs[0]
    prepared = rh.prepare_record(job, report)
    assert rh.spool(prepared, tmp_path / "missing") is prepared


def test_a_damaged_saved_report_is_named_and_the_run_can_still_go(store, sma_runs):
    job, report = sma_runs[0]
    junk_curve = rh.record_run(store, job, report)
    newer = rh.record_run(store, job, report)
    gutted = rh.record_run(store, job, report)
    with store._cursor() as cur:  # an old npz that did not read, its rows never made
        cur.execute("DELETE FROM run_curves WHERE run_id = ?", [junk_curve])
        cur.execute("UPDATE backtest_runs SET curve = 'not a zip'::BLOB WHERE id = ?", [junk_curve])
        cur.execute(
            "UPDATE backtest_runs SET report = json_object('format', 99) WHERE id = ?", [newer]
        )
        cur.execute(
            "UPDATE backtest_runs SET report = json_object('format', 1, 'report', 1) WHERE id = ?",
            [gutted],
        )
    with pytest.raises(rh.RunHistoryError, match="equity curve cannot be read"):
        rh.load_curve(store, junk_curve)
    for run_id, why in (
        (junk_curve, "equity curve is an npz kept by an older Artha that is not a readable"),
        (newer, "format 99"),
        (gutted, "KeyError: 'extra'"),
    ):
        with pytest.raises(rh.RunHistoryError, match=rf"run {run_id} .*cannot be read.*{why}") as e:
            rh.load_run(store, run_id)
        assert f"artha runs delete {run_id}" in str(e.value)
    assert len(rh.list_runs(store)) == 3  # the list still shows them
    rh.delete_run(store, junk_curve)
    assert len(rh.list_runs(store)) == 2


def test_a_version_4_workspace_upgrades_and_keeps_its_runs(tmp_path, sma_runs):
    path = tmp_path / "v4.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, path, target=4) == [1, 2, 3, 4]
    con.execute(
        "INSERT INTO backtest_runs (strategy, params, config, created_at, status, summary) "
        'VALUES (\'sma_crossover\', \'{"fast": 7}\', \'{"symbols": ["INFY"], '
        "\"capital\": \"100000\"}', TIMESTAMP '2026-10-01 04:00:00', 'done', "
        '\'{"net_pnl": "12.50"}\')'
    )
    con.close()
    with pytest.raises(StoreError, match="is at schema v4; this Artha needs v6"):
        MarketStore.open(path, read_only=True)
    with MarketStore.open(path) as store:
        assert store.schema_version == 6
        [old] = rh.list_runs(store)
        assert (old.id, old.name, old.params, old.symbols) == (
            1,
            "sma_crossover #1",
            {"fast": 7},
            ["INFY"],
        )
        assert old.created_at == datetime(2026, 10, 1, 4, tzinfo=UTC)
        assert old.net_pnl == Decimal("12.50") and not old.has_report and old.tags == []
        with pytest.raises(rh.RunHistoryError, match="saved without its report"):
            rh.load_run(store, 1)
        job, report = sma_runs[0]
        new = rh.record_run(store, job, report)
        assert new == 2  # the id sequence carried on
        assert rh.compare_runs(store, 1, 2).params[0].key == "fast"


def v5_curve_blob(curve) -> bytes:
    """The npz a version-5 Artha kept in backtest_runs.curve (stored, not deflated)."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **{n: getattr(curve, n) for n in rh.CURVE_ARRAYS})
    return buffer.getvalue()


def test_a_version_5_workspace_moves_its_curves_to_rows(tmp_path, sma_runs):
    """v6 moves each saved npz into run_curves (the run reopens exactly as saved); a BLOB
    that was not a readable npz stays and is named as damaged, as it was before."""
    path = tmp_path / "v5.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, path, target=5) == [1, 2, 3, 4, 5]
    saved = []
    buffer = io.BytesIO()
    np.savez(buffer, timestamps=np.arange(3), equity=np.ones(3))  # an npz, not a curve's
    curve_blobs = (None, b"not a zip", buffer.getvalue())
    for (job, report), blob in zip([*sma_runs, sma_runs[0]], curve_blobs, strict=True):
        prepared = rh.prepare_record(job, report)
        columns = prepared.columns
        con.execute(
            "INSERT INTO backtest_runs (name, strategy, strategy_module, strategy_class, "
            "params, symbols, config, tags, created_at, status, summary, report, curve) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, '[]', TIMESTAMP '2026-11-01 04:00:00', 'done', ?, ?, ?)",
            [
                columns["name"],
                columns["strategy"],
                columns["strategy_module"],
                columns["strategy_class"],
                json.dumps(columns["params"]),
                json.dumps(columns["symbols"]),
                json.dumps(columns["config"]),
                json.dumps(columns["summary"]),
                prepared.report,
                v5_curve_blob(report.curve) if blob is None else blob,
            ],
        )
        saved.append(report)
    con.close()
    with MarketStore.open(path) as store:
        assert store.schema_version == 6
        good, junk, partial = sorted(r.id for r in rh.list_runs(store))
        back = rh.load_run(store, good)
        assert back.report.as_json() == saved[0].as_json()
        for name in rh.CURVE_ARRAYS:
            got, want = getattr(back.curve, name), getattr(saved[0].curve, name)
            assert got.dtype == want.dtype and np.array_equal(got, want), name
        for damaged in (junk, partial):
            with pytest.raises(rh.RunHistoryError, match=rf"run {damaged} .*cannot be read.*npz"):
                rh.load_run(store, damaged)
        with store._cursor() as cur:
            blobs = cur.execute("SELECT id FROM backtest_runs WHERE curve IS NOT NULL").fetchall()
        # the moved npz is gone from its row; the damaged ones stay
        assert blobs == [(junk,), (partial,)]


def test_a_run_on_bar_files_keeps_them_in_its_config(store, demo):
    series = demo[1]
    job = BacktestJob(SMA, (series.symbol,), {}, BacktestConfig(), None, date(2026, 1, 1))
    report = run_job(job, [series])
    run_id = rh.record_run(store, job, report, data_files=["bars/syn.csv"])
    info = rh.run_info(store, run_id)
    assert info.params == {"fast": 10, "slow": 30, "quantity": 100}
    assert info.config["data_files"] == [str(Path("bars/syn.csv"))]
    assert info.config["from"] == "2026-01-01" and info.config["to"] is None
    assert info.timeframe == "1m"  # the bars' own, when the job left it open


def test_parameters_given_as_text_are_saved_as_the_strategy_read_them(store, demo):
    """`artha backtest --param fast=12` hands the job the text "12"; the run saves 12."""
    series = demo[0]
    job = BacktestJob(SMA, (series.symbol,), {"fast": "12"}, BacktestConfig())
    run_id = rh.record_run(store, job, run_job(job, [series]))
    assert rh.run_info(store, run_id).params == {"fast": 12, "slow": 30, "quantity": 100}
    other = rh.save_run(store, job, run_job(job, [series]), source_hash=None, name="as given")
    assert rh.run_info(store, other).params == {"fast": "12"}  # save_run keeps what it is given
    differ = [d.key for d in rh.compare_runs(store, run_id, other).params]
    assert differ == ["slow", "quantity"]  # "12" and 12 are one value: fast is not listed
