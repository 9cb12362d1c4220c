"""The run history: every backtest saved in the workspace's store, to list, reopen and compare.

A run is one row of `backtest_runs` (app_state.BacktestRun): what ran (the strategy's
reference and the sha256 of its source file, parameters, symbols, timeframe, the first and
last bar in UTC, the config), its name and tags, the headline metrics (`summary`, for lists)
and the saved report that reopens it.

The saved report (REPORT_FORMAT 1) is two parts, neither of them a pickle:
- `report` (JSON): `{"format": 1, "report": BacktestResult.as_json(), "extra": {...}}`. The
  documented `--json` report (less its `equity_curve`, which run_curves holds exactly), readable
  by any later Artha or by hand, plus what as_json leaves out and a rebuild needs: exact
  paise sums, the full config, each trade's entry/exit bar, the order log, the weekly target.
  Money stays Decimal strings, times ISO with offsets.
- the per-bar equity curve: rows of `run_curves` (run_id, ts BIGINT ns UTC, equity,
  gross_equity, exposure DOUBLE), exact. DuckDB compresses them (~9 MB for a 1M-bar run)
  and each run appends row groups of its own, so a save costs the same however many runs
  are kept (an npz BLOB in the run's row, before schema v6, was rewritten with every other
  saved curve at each checkpoint; see schema.py). Written from the curve's arrays and read
  back a chunk at a time, neither holding the GIL for long.
A pickle would tie a stored run to the classes of the Artha that wrote it (a renamed field or
module and every old run is lost) and can run code when read; JSON and plain columns are data.
`load_run` rebuilds a `BacktestResult` from them: trades, metrics (recomputed from the exact
trades and the curve: the same numbers) and the weekly verdict, so a reopened run shows in
whatever shows a fresh one. A report that cannot be read (damaged, or a newer format) raises
RunHistoryError naming the run; its row still lists and can be deleted.

Writes go through the store's ORM session, so a read-only or damaged store refuses them with
the store's own message (StoreError / StoreDamaged), never a traceback.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.backtest.config import BacktestConfig, MarginRates
from engine.backtest.job import BacktestJob, BacktestReport, run_job_controlled
from engine.backtest.result import BacktestResult, Built, OrderRecord, Trade
from engine.data.app_state import BacktestRun, RunStatus
from engine.data.bar_series import BarSeries
from engine.data.schema import StoreError
from engine.data.store import MarketStore
from engine.domain.enums import Product
from engine.ist import IST
from engine.jobs import JobControl
from engine.metrics import EquityCurve, WeeklyTarget
from engine.strategy.loader import StrategyLoadError, StrategyRef
from engine.strategy.params import ParamError, resolve_params

REPORT_FORMAT = 1
CURVE_ARRAYS = ("timestamps", "equity", "gross_equity", "exposure")
CURVE_JSON_KEY = "equity_curve"  # as_json's copy of the curve: not kept in `report` (rows are)
# run_curves' columns, in CURVE_ARRAYS' order, with the dtypes EquityCurve holds
CURVE_COLUMNS: dict[str, np.dtype[Any]] = {
    "ts": np.dtype(np.int64),
    "equity": np.dtype(np.float64),
    "gross_equity": np.dtype(np.float64),
    "exposure": np.dtype(np.float64),
}
MAX_TAG_LENGTH = 40

# The headline metrics kept in `summary` (lists and comparisons read only these), as
# (key, label, where in as_json: a path of keys). Money as exact strings, ratios as numbers.
HEADLINE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("net_pnl", "Net P&L (Rs)", ("metrics", "total_net_pnl")),
    ("gross_pnl", "Gross P&L (Rs)", ("metrics", "total_gross_pnl")),
    ("charges", "Charges (Rs)", ("total_charges",)),
    ("final_equity", "Final equity (Rs)", ("final_equity",)),
    ("total_return", "Total return", ("metrics", "net", "total_return")),
    ("cagr", "CAGR", ("metrics", "net", "cagr")),
    ("sharpe", "Sharpe", ("metrics", "net", "sharpe")),
    ("sortino", "Sortino", ("metrics", "net", "sortino")),
    ("max_drawdown", "Max drawdown", ("metrics", "net", "max_drawdown")),
    ("trades", "Trades", ("metrics", "trades")),
    ("win_rate", "Win rate", ("metrics", "net", "win_rate")),
    ("profit_factor", "Profit factor", ("metrics", "net", "profit_factor")),
    ("expectancy", "Expectancy (Rs)", ("metrics", "net", "expectancy")),
    ("time_in_market", "Time in market", ("metrics", "time_in_market")),
    ("badge", "Weekly badge", ("weekly", "badge")),
    ("bars", "Bars", ("bars",)),
)
HEADLINE_LABELS: dict[str, str] = {key: label for key, label, _ in HEADLINE}


class RunHistoryError(StoreError):
    """A run cannot be found or its saved report cannot be read; the message names the run."""


@dataclass(frozen=True)
class RunDescription:
    """What ran, for a run not started from a BacktestJob (the same fields a job carries).

    `data_files`: the bar files a CLI run read instead of the store (kept in the config)."""

    strategy: StrategyRef
    symbols: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    timeframe: str | None = None
    start: date | None = None
    end: date | None = None
    data_files: tuple[str, ...] = ()

    @classmethod
    def of_job(cls, job: BacktestJob, data_files: Sequence[str | Path] = ()) -> RunDescription:
        return cls(
            job.strategy,
            tuple(job.symbols),
            dict(job.params),
            job.timeframe,
            job.start,
            job.end,
            tuple(str(Path(f)) for f in data_files),
        )


@dataclass(frozen=True)
class RunInfo:
    """One saved run as listed: everything but the report (cheap to read by the hundred)."""

    id: int
    name: str
    strategy: str
    strategy_ref: str  # "module:Class" or "path/to/file.py:Class"; "" for runs from before v5
    source_hash: str | None
    params: dict[str, Any]
    symbols: list[str]
    timeframe: str | None
    data_first: datetime | None  # first bar's open, UTC
    data_last: datetime | None
    config: dict[str, Any]
    tags: list[str]
    created_at: datetime
    status: str
    summary: dict[str, Any]
    has_report: bool

    @property
    def net_pnl(self) -> Decimal | None:
        value = self.summary.get("net_pnl")
        return None if value is None else Decimal(str(value))

    @property
    def sharpe(self) -> float | None:
        value = self.summary.get("sharpe")
        return None if value is None else float(value)

    @property
    def badge(self) -> str | None:
        value = self.summary.get("badge")
        return None if value is None else str(value)

    @property
    def period(self) -> str:
        """The data's first..last day on the exchange's clock (IST), as traders name them."""
        if self.data_first is None or self.data_last is None:
            return ""
        first, last = (
            d.astimezone(IST).date().isoformat() for d in (self.data_first, self.data_last)
        )
        return first if first == last else f"{first}..{last}"


@dataclass(frozen=True)
class StoredRun:
    """A reopened run: its listing and the rebuilt report (trades, metrics, equity curve)."""

    info: RunInfo
    report: BacktestResult  # `report.as_json()` is the run's `--json` report, as it was

    @property
    def trades(self) -> list[Trade]:
        return self.report.trades

    @property
    def curve(self) -> EquityCurve:
        return self.report.curve


@dataclass(frozen=True)
class Difference:
    """One key whose value differs between two runs (None: the run has no such key)."""

    key: str
    a: Any
    b: Any


@dataclass(frozen=True)
class MetricRow:
    key: str
    label: str
    a: Any
    b: Any

    @property
    def differs(self) -> bool:
        return bool(_comparable(self.a) != _comparable(self.b))


@dataclass(frozen=True)
class RunComparison:
    """Two runs side by side: what differs in the setup (strategy, source, symbols, data),
    parameters and config, and both sets of headline metrics."""

    a: RunInfo
    b: RunInfo
    setup: list[Difference]
    params: list[Difference]
    config: list[Difference]
    metrics: list[MetricRow]

    @property
    def same_setup(self) -> bool:
        return not (self.setup or self.params or self.config)

    def as_json(self) -> dict[str, Any]:
        def diffs(items: list[Difference]) -> list[dict[str, Any]]:
            return [{"key": d.key, "a": d.a, "b": d.b} for d in items]

        return {
            "a": info_json(self.a),
            "b": info_json(self.b),
            "setup": diffs(self.setup),
            "params": diffs(self.params),
            "config": diffs(self.config),
            "metrics": [
                {"key": m.key, "label": m.label, "a": m.a, "b": m.b, "differs": m.differs}
                for m in self.metrics
            ],
        }


# --- what ran --------------------------------------------------------------------------------


def source_hash_of(ref: StrategyRef) -> str:
    """sha256 of the strategy's source file (a reference strategy: its module's file).

    Tells "same parameters, edited code" apart in a comparison. The GUI hashes when it
    submits a run (the file may be edited while it runs); the CLI just after (record_run)."""
    if ref.path is not None:
        path = ref.path
    else:
        assert ref.module is not None
        try:
            spec = importlib.util.find_spec(ref.module)
        except (ImportError, ValueError) as exc:
            raise RunHistoryError(f"cannot find strategy module {ref.module}: {exc}") from None
        if spec is None or spec.origin is None or not Path(spec.origin).is_file():
            raise RunHistoryError(f"strategy module {ref.module} has no source file to hash")
        path = Path(spec.origin)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise RunHistoryError(f"cannot read strategy source {path}: {exc.strerror}") from None


def config_json(config: BacktestConfig) -> dict[str, Any]:
    """Every config field as JSON (Decimals as exact strings, the square-off lead in seconds)."""
    lead = config.squareoff_lead.total_seconds()
    return {
        "capital": str(config.capital),
        "costs": config.costs,
        "cost_bps": None if config.cost_bps is None else str(config.cost_bps),
        "slippage_bps": str(config.slippage_bps),
        "participation": config.participation,
        "fill": str(config.fill),
        "stop_first": config.stop_first,
        "product": str(config.product),
        "exchange": str(config.exchange),
        "squareoff_lead_seconds": int(lead) if lead == int(lead) else lead,
        "margin": {name: str(value) for name, value in asdict(config.margin).items()},
        "check_margin": config.check_margin,
        "strategy_costs": config.strategy_costs,
        "explicit": sorted(config.explicit),
    }


def config_from_json(data: Mapping[str, Any]) -> BacktestConfig:
    """The BacktestConfig `config_json` wrote (keys it does not know are ignored)."""
    cost_bps = data.get("cost_bps")
    return BacktestConfig(
        capital=Decimal(data["capital"]),
        costs=data["costs"],
        cost_bps=None if cost_bps is None else Decimal(cost_bps),
        slippage_bps=Decimal(data["slippage_bps"]),
        participation=data.get("participation"),
        fill=data["fill"],
        stop_first=bool(data.get("stop_first", True)),
        product=data.get("product", "CNC"),
        exchange=data.get("exchange", "NSE"),
        squareoff_lead=timedelta(seconds=data.get("squareoff_lead_seconds", 600)),
        margin=MarginRates(**{k: Decimal(v) for k, v in data.get("margin", {}).items()}),
        check_margin=bool(data.get("check_margin", True)),
        strategy_costs=bool(data.get("strategy_costs", True)),
        explicit=frozenset(data.get("explicit", ())),
    )


def _param_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def default_name(
    strategy: str,
    symbols: Sequence[str],
    timeframe: str | None,
    first: datetime | None,
    last: datetime | None,
) -> str:
    """`sma_crossover NSE:INFY 1m 2026-11-04..2026-11-20`: what a trader would call it."""
    shown = ", ".join(symbols[:3]) + (f" +{len(symbols) - 3}" if len(symbols) > 3 else "")
    words = [strategy, shown]
    if timeframe:
        words.append(timeframe)
    if first is not None and last is not None:
        a, b = (d.astimezone(IST).date().isoformat() for d in (first, last))
        words.append(a if a == b else f"{a}..{b}")
    return " ".join(w for w in words if w)


def _utc(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _dig(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def headline(report_json: Mapping[str, Any]) -> dict[str, Any]:
    """The summary kept with a run: HEADLINE's values out of its as_json report."""
    return {key: _dig(report_json, path) for key, _, path in HEADLINE}


# --- the saved report ----------------------------------------------------------------------


def _report_document(
    report: BacktestReport, shown: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What `report` column holds: the as_json report and what a rebuild needs beyond it.
    `shown` is `report.as_json(curve=False)` when the caller has built it already (the CLI
    writes it as --json too: a million-bar run's takes ~0.3 s)."""
    # the curve is saved exactly as rows; as JSON it would be tens of MB more per long run
    if shown is None:
        shown = report.as_json(curve=False)
    trades = report.trades
    return {
        "format": REPORT_FORMAT,
        "report": shown,
        "extra": {
            "config": config_json(report.config),
            "params": {k: _param_json(v) for k, v in report.params.items()},
            "decimal_params": sorted(k for k, v in report.params.items() if isinstance(v, Decimal)),
            "final_equity_paise": report.final_equity_paise,
            "total_charges_paise": report.total_charges_paise,
            "traded_value_paise": report.traded_value_paise,
            "closed_charges_paise": report.closed_charges_paise,
            "unrealized_paise": dict(report.unrealized_paise),
            "open_charges_paise": dict(report.open_charges_paise),
            "run_seconds": report.run_seconds,
            "weekly_target": asdict(report.weekly_target),
            "trade_bars": [[t.entry_bar, t.exit_bar] for t in trades],
            "order_fields": list(OrderRecord.__dataclass_fields__),
            "orders": [
                [getattr(o, name) for name in OrderRecord.__dataclass_fields__]
                for o in report.order_log
            ],
        },
    }


def _trade(row: Mapping[str, Any], bars: Sequence[int]) -> Trade:
    return Trade(
        symbol=row["symbol"],
        side=row["side"],
        product=Product(row["product"]),
        quantity=int(row["quantity"]),
        entry_bar=int(bars[0]),
        entry_time=datetime.fromisoformat(row["entry_time"]).astimezone(IST),
        entry_price=Decimal(row["entry_price"]),
        exit_bar=int(bars[1]),
        exit_time=datetime.fromisoformat(row["exit_time"]).astimezone(IST),
        exit_price=Decimal(row["exit_price"]),
        gross_pnl=Decimal(row["gross_pnl"]),
        charges=Decimal(row["charges"]),
        net_pnl=Decimal(row["net_pnl"]),
    )


def rebuild_report(document: Mapping[str, Any], curve: EquityCurve) -> BacktestResult:
    """A BacktestResult from a saved report and its curve; KeyError/ValueError/TypeError when
    it is not one. Its as_json() equals the saved run's."""
    if document.get("format") != REPORT_FORMAT:
        raise ValueError(
            f"report format {document.get('format')!r}, this Artha reads {REPORT_FORMAT}"
        )
    shown, extra = document["report"], document["extra"]
    trades = [
        _trade(row, bars) for row, bars in zip(shown["trades"], extra["trade_bars"], strict=True)
    ]
    fields = extra["order_fields"]
    orders = [OrderRecord(**dict(zip(fields, row, strict=True))) for row in extra["orders"]]
    params = dict(extra["params"])
    for name in extra.get("decimal_params", ()):
        params[name] = Decimal(params[name])
    symbols = list(shown["symbols"])
    return BacktestResult(
        strategy=shown["strategy"],
        params=params,
        config=config_from_json(extra["config"]),
        symbols=symbols,
        trade_source=Built(trades),
        curve=curve,
        final_equity_paise=int(extra["final_equity_paise"]),
        total_charges_paise=int(extra["total_charges_paise"]),
        traded_value_paise=int(extra["traded_value_paise"]),
        bars=int(shown["bars"]),
        orders=int(shown["orders"]),
        rejections=list(shown["rejections"]),
        open_positions={k: int(v) for k, v in shown["open_positions"].items()},
        run_seconds=float(extra["run_seconds"]),
        order_source=Built(orders),
        unrealized_paise={k: int(v) for k, v in extra["unrealized_paise"].items()},
        rejected_orders=int(shown["rejected_orders"]),
        closed_charges_paise=int(extra["closed_charges_paise"]),
        open_charges_paise={k: int(v) for k, v in extra["open_charges_paise"].items()},
        timeframes=[shown["timeframes"][s] for s in symbols],
        weekly_target=WeeklyTarget(**extra["weekly_target"]),
        calendar_warnings=list(shown["warnings"]),
    )


# --- the store -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpooledReport:
    """A run's report written to a file by the process that encoded it (the wizard's
    worker), for the store to read itself. DuckDB reads a file with the GIL released, where
    binding megabytes as a query parameter holds it (a 9 MB report: 20-30 ms, a pause of the
    app's GUI thread; bench/history_save.py), and the pipe from the worker no longer carries it.
    The insert consumes the file, saved or not; `discard` drops it when the run is not saved
    at all."""

    path: Path  # the `report` column's JSON document, UTF-8 (ASCII) text

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class PreparedRun:
    """A finished run made ready to store: every column's value, and the report already JSON
    text. Encoding it is the slow part of saving (hundreds of ms of JSON for a long run, one
    C call that holds the GIL); the backtest wizard's worker process does it beside the
    report, so the app's process only inserts. The curve's rows are written at the insert
    from the report's own arrays: sending them too would double what crosses."""

    columns: dict[str, Any]  # the small columns, as BacktestRun takes them
    report: str | SpooledReport  # the `report` column's JSON document, encoded or spooled

    def discard(self) -> None:
        """The run will not be saved: drop its spooled file, if any."""
        if isinstance(self.report, SpooledReport):
            self.report.discard()


@dataclass(frozen=True)
class FinishedRun:
    """What the wizard's worker sends back: the report to show and its history record."""

    report: BacktestReport
    prepared: PreparedRun


def prepare_run(
    job_or_description: BacktestJob | RunDescription,
    report: BacktestReport,
    *,
    source_hash: str | None,
    name: str | None = None,
    tags: Iterable[str] = (),
    shown: Mapping[str, Any] | None = None,
) -> PreparedRun:
    """Everything `save_run` stores, computed without a store (see PreparedRun); `shown` as
    in `_report_document`."""
    what = (
        RunDescription.of_job(job_or_description)
        if isinstance(job_or_description, BacktestJob)
        else job_or_description
    )
    if source_hash is not None and (len(source_hash) != 64 or not _is_hex(source_hash)):
        raise ValueError(f"source_hash must be a sha256 hex digest, got {source_hash!r}")
    ts = report.curve.timestamps
    first, last = _utc(int(ts[0])), _utc(int(ts[-1]))
    timeframe = what.timeframe or (
        report.timeframes[0] if len(set(report.timeframes)) == 1 else None
    )
    document = _report_document(report, shown)
    config = config_json(report.config)
    config["from"] = None if what.start is None else what.start.isoformat()
    config["to"] = None if what.end is None else what.end.isoformat()
    if what.data_files:
        config["data_files"] = list(what.data_files)
    ref = what.strategy
    columns = {
        "name": _clean_name(name)
        if name is not None
        else default_name(report.strategy, list(what.symbols), timeframe, first, last),
        "strategy": report.strategy,
        "strategy_module": ref.module,
        "strategy_path": None if ref.path is None else str(ref.path),
        "strategy_class": ref.class_name,
        "source_hash": source_hash,
        "params": {k: _param_json(v) for k, v in what.params.items()},
        "symbols": list(what.symbols),
        "timeframe": timeframe,
        "data_first": first,
        "data_last": last,
        "config": config,
        "tags": _clean_tags(tags),
        "status": RunStatus.DONE.value,
        "summary": headline(document["report"]),
    }
    return PreparedRun(columns, json.dumps(document))


def insert_prepared(store: MarketStore, prepared: PreparedRun, curve: EquityCurve) -> int:
    """Store a prepared run with its equity `curve` (the report's), in one transaction; its
    id. The report goes in as the text it already is (no JSON encoding here), or is read by
    the store from its spooled file (consumed either way). Refused on a read-only or damaged
    store (StoreError)."""
    spooled = prepared.report if isinstance(prepared.report, SpooledReport) else None
    try:
        with store.session() as session, session.begin():
            row = BacktestRun(**prepared.columns)
            if spooled is None:
                encoded: Any = sa.type_coerce(prepared.report, sa.String)  # the text it is
                row.report = encoded
            session.add(row)
            session.flush()
            run_id = int(row.id)
            if spooled is not None:
                _read_spooled(session, run_id, spooled)
            _insert_curve(session, run_id, curve)
            return run_id
    finally:
        if spooled is not None:
            spooled.discard()


# a file that is gone matches no row (DuckDB reads a path as a pattern): nothing is updated
_READ_SPOOLED = sa.text(
    "UPDATE backtest_runs SET report = r.content FROM read_text(:path) AS r "
    "WHERE id = :id RETURNING id"
)


def _read_spooled(session: Session, run_id: int, spooled: SpooledReport) -> None:
    updated = session.execute(_READ_SPOOLED, {"path": str(spooled.path), "id": run_id}).all()
    if not updated:  # raised inside the transaction: the row goes too
        raise StoreError(
            f"the run was not saved: its report file {spooled.path} is gone (a cleaner of "
            "temporary files?); run it again"
        )


def _insert_curve(session: Session, run_id: int, curve: EquityCurve) -> None:
    """The curve's rows, scanned by DuckDB from the arrays (no copy through Python objects)
    on the session's own cursor, in its transaction."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            column: np.asarray(getattr(curve, name), dtype=dtype)
            for (column, dtype), name in zip(CURVE_COLUMNS.items(), CURVE_ARRAYS, strict=True)
        }
    )
    cursor = session.connection().connection.dbapi_connection
    assert cursor is not None  # a live session's connection
    name = f"artha_curve_{run_id}"
    cursor.register(name, frame)
    try:
        session.execute(
            sa.text(f"INSERT INTO run_curves SELECT :id, {', '.join(CURVE_COLUMNS)} FROM {name}"),
            {"id": run_id},
        )
    finally:
        cursor.unregister(name)


SPOOL_PREFIX = "artha-run-"
STALE_SPOOL_SECONDS = 24 * 3600  # a spooled report this old was never inserted: the app died


def spool(prepared: PreparedRun, folder: Path | None = None) -> PreparedRun:
    """`prepared` with its report written to a file in `folder` (the system's temporary
    folder by default), for `insert_prepared` to hand to the store (see SpooledReport).
    Where it cannot be written (a full disk), `prepared` as it was: the run is still saved,
    from memory. Spooled reports left there a day ago or more (an app that died between a
    run and its save) are removed first."""
    if isinstance(prepared.report, SpooledReport):
        return prepared
    remove_stale_spools(Path(folder or tempfile.gettempdir()))
    path: Path | None = None
    try:
        handle, name = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=".json", dir=folder)
        os.close(handle)
        path = Path(name)
        path.write_bytes(prepared.report.encode("ascii"))  # json.dumps' own ASCII
    except (OSError, ValueError):
        if path is not None:
            path.unlink(missing_ok=True)
        return prepared
    return replace(prepared, report=SpooledReport(path))


def remove_stale_spools(folder: Path, older_than: float = STALE_SPOOL_SECONDS) -> int:
    """Delete spooled reports in `folder` last written `older_than` seconds ago or more;
    how many. A file another process is still writing or inserting is minutes old at most."""
    cutoff = time.time() - older_than
    removed = 0
    for path in folder.glob(f"{SPOOL_PREFIX}*.json"):
        try:
            if path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove
    return removed


def save_run(
    store: MarketStore,
    job_or_description: BacktestJob | RunDescription,
    report: BacktestReport,
    *,
    source_hash: str | None,
    name: str | None = None,
    tags: Iterable[str] = (),
) -> int:
    """Store a finished run with its report; its id. Refused on a read-only or damaged store
    (StoreError with the store's message)."""
    prepared = prepare_run(
        job_or_description, report, source_hash=source_hash, name=name, tags=tags
    )
    return insert_prepared(store, prepared, report.curve)


def record_run(
    store: MarketStore,
    job: BacktestJob,
    report: BacktestReport,
    *,
    name: str | None = None,
    tags: Iterable[str] = (),
    data_files: Sequence[str | Path] = (),
    source_hash: str | None = None,
    shown: Mapping[str, Any] | None = None,
) -> int:
    """The one call after a run (CLI `artha backtest`, the GUI wizard): hash the strategy's
    source (unless the caller hashed it when the run started), resolve the parameters it ran
    with, and save the run; its id.

    A source that cannot be read any more is saved without a hash rather than losing the run."""
    prepared = prepare_record(
        job, report, data_files=data_files, source_hash=source_hash, shown=shown
    )
    if name is not None or tags:
        columns = dict(prepared.columns)
        if name is not None:
            columns["name"] = _clean_name(name)
        columns["tags"] = _clean_tags(tags)
        prepared = replace(prepared, columns=columns)
    return insert_prepared(store, prepared, report.curve)


def prepare_record(
    job: BacktestJob,
    report: BacktestReport,
    *,
    data_files: Sequence[str | Path] = (),
    source_hash: str | None = None,
    shown: Mapping[str, Any] | None = None,
) -> PreparedRun:
    """record_run's record, without a store: the source hashed (unless given), the
    parameters the run used resolved, the report encoded (`shown`: its as_json(curve=False)
    when already built)."""
    if source_hash is None:
        try:
            source_hash = source_hash_of(job.strategy)
        except RunHistoryError:
            source_hash = None
    description = replace(RunDescription.of_job(job, data_files), params=effective_params(job))
    return prepare_run(description, report, source_hash=source_hash, shown=shown)


def run_and_prepare(
    control: JobControl, job: BacktestJob, data: Sequence[BarSeries], source_hash: str | None
) -> FinishedRun:
    """The backtest wizard's worker (`JobRunner.submit_process`): run the job, then build its
    history record here, in the worker, where encoding tens of MB of JSON stalls nobody, and
    spool it to a file for the store to read (`spool`).
    `source_hash` is taken when the run is submitted (the file may be edited meanwhile)."""
    report = run_job_controlled(control, job, data)
    prepared = prepare_record(job, report, source_hash=source_hash)
    return FinishedRun(report, spool(prepared))


def effective_params(job: BacktestJob) -> dict[str, Any]:
    """Every parameter the run used: the strategy's declared defaults overlaid with the
    job's (`--param fast=5` arrives as the text "5"; this is the int 5). A comparison then
    shows `slow 30 vs 60`, not "(none) vs 60". The job's own values if the class is gone."""
    try:
        return resolve_params(job.strategy.load(), job.params)
    except (StrategyLoadError, ParamError):
        return dict(job.params)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("a run's name cannot be empty")
    return cleaned


def _clean_tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        cleaned = " ".join(str(tag).split())
        if not cleaned:
            raise ValueError("a tag cannot be empty")
        if len(cleaned) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag is at most {MAX_TAG_LENGTH} characters, got {cleaned!r}")
        if cleaned not in out:
            out.append(cleaned)
    return out


_LISTED = (
    BacktestRun.id,
    BacktestRun.name,
    BacktestRun.strategy,
    BacktestRun.strategy_module,
    BacktestRun.strategy_path,
    BacktestRun.strategy_class,
    BacktestRun.source_hash,
    BacktestRun.params,
    BacktestRun.symbols,
    BacktestRun.timeframe,
    BacktestRun.data_first,
    BacktestRun.data_last,
    BacktestRun.config,
    BacktestRun.tags,
    BacktestRun.created_at,
    BacktestRun.status,
    BacktestRun.summary,
    BacktestRun.report.is_not(None).label("has_report"),
)


def _info(row: sa.Row[Any]) -> RunInfo:
    module, path, class_name = row.strategy_module, row.strategy_path, row.strategy_class
    where = module or path or ""
    ref = f"{where}:{class_name}" if where and class_name else where
    return RunInfo(
        id=int(row.id),
        name=row.name,
        strategy=row.strategy,
        strategy_ref=ref,
        source_hash=row.source_hash,
        params=dict(row.params or {}),
        symbols=[str(s) for s in row.symbols or []],
        timeframe=row.timeframe,
        data_first=row.data_first,
        data_last=row.data_last,
        config=dict(row.config or {}),
        tags=[str(t) for t in row.tags or []],
        created_at=row.created_at,
        status=row.status,
        summary=dict(row.summary or {}),
        has_report=bool(row.has_report),
    )


def list_runs(
    store: MarketStore, *, tag: str | None = None, strategy: str | None = None
) -> list[RunInfo]:
    """Every saved run, newest first (without the reports: cheap for long histories)."""
    query = sa.select(*_LISTED).order_by(BacktestRun.created_at.desc(), BacktestRun.id.desc())
    if strategy is not None:
        query = query.where(BacktestRun.strategy == strategy)
    with store.session() as session:
        runs = [_info(row) for row in session.execute(query)]
    return [r for r in runs if tag is None or tag in r.tags]


def run_info(store: MarketStore, run_id: int) -> RunInfo:
    """One run's listing; RunHistoryError when there is no such run."""
    with store.session() as session:
        row = session.execute(sa.select(*_LISTED).where(BacktestRun.id == run_id)).one_or_none()
    if row is None:
        raise _unknown(store, run_id)
    return _info(row)


def load_run(store: MarketStore, run_id: int) -> StoredRun:
    """A saved run reopened: its listing and the report rebuilt (trades, metrics, curve)."""
    info = run_info(store, run_id)
    with store.session() as session:
        row = session.execute(
            sa.select(BacktestRun.report, BacktestRun.curve.is_not(None).label("old_curve")).where(
                BacktestRun.id == run_id
            )
        ).one()
    if row.report is None:
        raise RunHistoryError(
            f"run {run_id} ({info.name}) was saved without its report (by an Artha before run "
            "history): its parameters and summary are listed, but it cannot be reopened"
        )
    try:
        curve = _stored_curve(store, run_id)
        if curve is None:
            raise ValueError(f"its equity curve {_missing_curve(row.old_curve)}")
        report = rebuild_report(row.report, curve)
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise RunHistoryError(
            f"run {run_id} ({info.name}): its saved report cannot be read "
            f"({type(exc).__name__}: {exc}); it is damaged or from a newer Artha. Its summary "
            f"is still listed; remove it with `artha runs delete {run_id}`"
        ) from None
    return StoredRun(info, report)


def load_curve(store: MarketStore, run_id: int) -> EquityCurve:
    """Only a run's equity curve (a comparison's overlay: no trades rebuilt)."""
    with store.session() as session:
        row = session.execute(
            sa.select(BacktestRun.name, BacktestRun.curve.is_not(None).label("old_curve")).where(
                BacktestRun.id == run_id
            )
        ).one_or_none()
    if row is None:
        raise _unknown(store, run_id)
    try:
        curve = _stored_curve(store, run_id)
    except ValueError as exc:
        raise RunHistoryError(
            f"run {run_id} ({row.name}): its saved equity curve cannot be read ({exc})"
        ) from None
    if curve is None:
        if row.old_curve:
            raise RunHistoryError(
                f"run {run_id} ({row.name}): its saved equity curve cannot be read (it "
                f"{_missing_curve(True)})"
            )
        raise RunHistoryError(f"run {run_id} ({row.name}) was saved without its equity curve")
    return curve


def _stored_curve(store: MarketStore, run_id: int) -> EquityCurve | None:
    """The run's curve from its rows; None when it has none; ValueError when they do not
    make a curve (damaged)."""
    arrays = store.read_columns(
        f"SELECT {', '.join(CURVE_COLUMNS)} FROM run_curves WHERE run_id = ? ORDER BY ts",
        [run_id],
        CURVE_COLUMNS,
    )
    if not len(arrays["ts"]):
        return None
    return EquityCurve(*(arrays[column] for column in CURVE_COLUMNS))


def _missing_curve(old_curve: bool) -> str:
    """Why a run has no curve rows: an npz kept before schema v6 that could not be moved to
    rows (it did not read then either), or none at all."""
    if old_curve:
        return "is an npz kept by an older Artha that is not a readable .npz archive (damaged)"
    return "is missing"


def _unknown(store: MarketStore, run_id: int) -> RunHistoryError:
    return RunHistoryError(f"no run {run_id} in {store.path} (`artha runs list` shows the runs)")


def _update(store: MarketStore, run_id: int, values: Mapping[str, Any]) -> None:
    with store.session() as session, session.begin():
        session.execute(sa.update(BacktestRun).where(BacktestRun.id == run_id).values(**values))


def rename_run(store: MarketStore, run_id: int, name: str) -> RunInfo:
    """Give a run a new name (spaces squeezed; an empty name is refused)."""
    cleaned = _clean_name(name)
    run_info(store, run_id)
    _update(store, run_id, {"name": cleaned})
    return run_info(store, run_id)


def tag_run(
    store: MarketStore, run_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> RunInfo:
    """Add and remove tags (each kept once, in the order first given); the run after."""
    info = run_info(store, run_id)
    gone = set(_clean_tags(remove))
    tags = [t for t in _clean_tags([*info.tags, *_clean_tags(add)]) if t not in gone]
    _update(store, run_id, {"tags": tags})
    return run_info(store, run_id)


def delete_run(store: MarketStore, run_id: int) -> RunInfo:
    """Remove a run and its report for good; the listing it had."""
    info = run_info(store, run_id)
    with store.session() as session, session.begin():
        session.execute(sa.text("DELETE FROM run_curves WHERE run_id = :id"), {"id": run_id})
        session.execute(sa.delete(BacktestRun).where(BacktestRun.id == run_id))
    return info


def info_json(info: RunInfo) -> dict[str, Any]:
    """A run's listing as JSON (`artha runs list --json`)."""
    return {
        "id": info.id,
        "name": info.name,
        "strategy": info.strategy,
        "strategy_ref": info.strategy_ref,
        "source_hash": info.source_hash,
        "params": info.params,
        "symbols": info.symbols,
        "timeframe": info.timeframe,
        "data_first": None if info.data_first is None else info.data_first.isoformat(),
        "data_last": None if info.data_last is None else info.data_last.isoformat(),
        "config": info.config,
        "tags": info.tags,
        "created_at": info.created_at.isoformat(),
        "status": info.status,
        "summary": info.summary,
        "has_report": info.has_report,
    }


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _comparable(value: Any) -> Any:
    """ "10" and 10, "1.50" and "1.5" are the same value; a list compares as a list."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Difference]:
    fa, fb = _flat(a), _flat(b)
    keys = [*fa, *(k for k in fb if k not in fa)]
    return [
        Difference(k, fa.get(k), fb.get(k))
        for k in keys
        if _comparable(fa.get(k)) != _comparable(fb.get(k))
    ]


def _setup(info: RunInfo) -> dict[str, Any]:
    return {
        "strategy": info.strategy,
        "strategy_ref": info.strategy_ref,
        "source_hash": info.source_hash,
        "symbols": info.symbols,
        "timeframe": info.timeframe,
        "data_first": None if info.data_first is None else info.data_first.isoformat(),
        "data_last": None if info.data_last is None else info.data_last.isoformat(),
    }


def compare_runs(store: MarketStore, a: int, b: int) -> RunComparison:
    """What differs between runs `a` and `b` (setup, parameters, config) and both metric sets."""
    first, second = run_info(store, a), run_info(store, b)
    metrics = [
        MetricRow(key, label, first.summary.get(key), second.summary.get(key))
        for key, label, _ in HEADLINE
    ]
    return RunComparison(
        first,
        second,
        _differences(_setup(first), _setup(second)),
        _differences(first.params, second.params),
        _differences(first.config, second.config),
        metrics,
    )
