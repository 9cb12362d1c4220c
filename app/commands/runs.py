"""`artha runs`: the workspace's saved backtests: list, show, rename, tag, delete, compare.

Every run of `artha backtest` and of the app's wizard is saved in the workspace's store
(engine/data/run_history.py holds the rules and the storage format); this command only reads
arguments, calls it and prints. `record_cli_run` is the one call `artha backtest` makes after
a run to save it. Exit code 2 on bad input (an unknown id, a busy or read-only workspace).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.commands.output import emit_json, fail, inr
from app.commands.workspace_store import CommandError, workspace_store
from engine.backtest import BacktestJob, BacktestReport
from engine.data import run_history as rh
from engine.data.schema import StoreError
from engine.ist import IST


def _run_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a run id is a number (artha runs list), got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a run id is 1 or more, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="the saved backtests: list, show, rename, tag, delete, compare",
        description="Every backtest (artha backtest, the app's wizard) is saved in the "
        "workspace with its parameters, config, data range and strategy source hash.",
    )
    actions = parser.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the saved runs, newest first")
    listing.add_argument("--tag", help="only runs with this tag")
    listing.add_argument("--json", metavar="PATH", help="write the list as JSON ('-': stdout)")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one run: what ran, and its metrics")
    show.add_argument("id", type=_run_id, metavar="ID")
    show.add_argument("--json", metavar="PATH", help="write the run and its saved report as JSON")
    show.set_defaults(func=run_show)
    rename = actions.add_parser("rename", help="give a run a new name")
    rename.add_argument("id", type=_run_id, metavar="ID")
    rename.add_argument("name", metavar="NAME")
    rename.set_defaults(func=run_rename)
    tag = actions.add_parser("tag", help="add tags to a run (or --remove them)")
    tag.add_argument("id", type=_run_id, metavar="ID")
    tag.add_argument("tags", nargs="+", metavar="TAG")
    tag.add_argument("--remove", action="store_true", help="remove these tags instead")
    tag.set_defaults(func=run_tag)
    delete = actions.add_parser("delete", help="remove a run and its saved report for good")
    delete.add_argument("id", type=_run_id, metavar="ID")
    delete.set_defaults(func=run_delete)
    compare = actions.add_parser("compare", help="two runs side by side: what differs")
    compare.add_argument("a", type=_run_id, metavar="A")
    compare.add_argument("b", type=_run_id, metavar="B")
    compare.add_argument("--json", metavar="PATH", help="write the comparison as JSON")
    compare.set_defaults(func=run_compare)


def _failed(exc: Exception) -> int:
    return fail("runs", str(exc))


def _ist(moment: Any) -> str:
    return "" if moment is None else moment.astimezone(IST).strftime("%Y-%m-%d %H:%M")


def _money(value: Any) -> str:
    return "" if value is None else inr(Decimal(str(value)))


def _number(value: Any, places: int = 2) -> str:
    return "" if value is None else f"{float(value):.{places}f}"


def _percent(value: Any) -> str:
    return "" if value is None else f"{float(value) * 100:.2f}%"


def metric_text(key: str, value: Any) -> str:
    """A headline metric as a trader reads it: rupees grouped, ratios as percent."""
    if value is None:
        return "-"
    if key in ("net_pnl", "gross_pnl", "charges", "final_equity", "expectancy"):
        return _money(value)
    if key in ("total_return", "cagr", "max_drawdown", "win_rate", "time_in_market"):
        return _percent(value)
    if key in ("sharpe", "sortino", "profit_factor"):
        return _number(value)
    return str(value)


def run_list(args: argparse.Namespace) -> int:
    try:
        with workspace_store(args) as (_, store):
            runs = rh.list_runs(store, tag=args.tag)
    except (CommandError, StoreError) as exc:
        return _failed(exc)
    if args.json is not None:
        text = json.dumps([rh.info_json(r) for r in runs], indent=2) + "\n"
        return emit_json("runs", args.json, text) or 0
    if not runs:
        tagged = f" tagged {args.tag!r}" if args.tag else ""
        print(f"no saved runs{tagged}: every `artha backtest` is saved here")
        return 0
    rows = [
        (
            str(r.id),
            r.name,
            ", ".join(r.symbols),
            r.timeframe or "",
            r.period,
            metric_text("net_pnl", r.summary.get("net_pnl")),
            _number(r.sharpe),
            r.badge or "",
            _ist(r.created_at),
            " ".join(f"#{t}" for t in r.tags),
        )
        for r in runs
    ]
    header = [
        "ID",
        "Name",
        "Symbols",
        "TF",
        "Period",
        "Net P&L",
        "Sharpe",
        "Badge",
        "Created",
        "Tags",
    ]
    right = {0, 5, 6}
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in pairs]
        return "  ".join(parts).rstrip()

    print(line(header))
    for row in rows:
        print(line(row))
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        with workspace_store(args) as (_, store):
            info = rh.run_info(store, args.id)
            stored: rh.StoredRun | None = None
            problem = ""
            try:
                stored = rh.load_run(store, args.id)
            except rh.RunHistoryError as exc:
                problem = str(exc)
    except (CommandError, StoreError) as exc:
        return _failed(exc)
    if args.json is not None:
        if stored is None:
            return fail("runs", problem)
        document = {"run": rh.info_json(info), "report": stored.report.as_json()}
        return emit_json("runs", args.json, json.dumps(document, indent=2) + "\n") or 0
    print(f"Run {info.id}: {info.name}")
    print(f"  strategy   {info.strategy} ({info.strategy_ref or 'reference unknown'})")
    print(f"  source     sha256 {info.source_hash or 'unknown'}")
    print(f"  symbols    {', '.join(info.symbols)}  timeframe {info.timeframe or 'as stored'}")
    print(f"  data       {_ist(info.data_first)} .. {_ist(info.data_last)} IST")
    print(f"  created    {_ist(info.created_at)} IST")
    if info.tags:
        print(f"  tags       {', '.join(info.tags)}")
    print("  parameters " + (", ".join(f"{k}={v}" for k, v in info.params.items()) or "defaults"))
    config = {k: v for k, v in info.config.items() if v not in (None, [], {})}
    print("  config     " + ", ".join(f"{k}={_flat_value(v)}" for k, v in config.items()))
    print("Metrics")
    for key, label, _ in rh.HEADLINE:
        print(f"  {label:<18} {metric_text(key, info.summary.get(key))}")
    if stored is None:
        print(f"(the saved report cannot be reopened: {problem})")
    else:
        print(f"Trades: {len(stored.trades)} closed; equity curve of {len(stored.curve)} bars")
    return 0


def _flat_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def run_rename(args: argparse.Namespace) -> int:
    try:
        with workspace_store(args) as (_, store):
            info = rh.rename_run(store, args.id, args.name)
    except (CommandError, StoreError, ValueError) as exc:
        return _failed(exc)
    print(f"run {info.id} is now {info.name!r}")
    return 0


def run_tag(args: argparse.Namespace) -> int:
    try:
        with workspace_store(args) as (_, store):
            if args.remove:
                info = rh.tag_run(store, args.id, remove=args.tags)
            else:
                info = rh.tag_run(store, args.id, add=args.tags)
    except (CommandError, StoreError, ValueError) as exc:
        return _failed(exc)
    print(f"run {info.id} tags: {', '.join(info.tags) or 'none'}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    try:
        with workspace_store(args) as (_, store):
            info = rh.delete_run(store, args.id)
    except (CommandError, StoreError) as exc:
        return _failed(exc)
    print(f"deleted run {info.id} ({info.name})")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    try:
        with workspace_store(args) as (_, store):
            compared = rh.compare_runs(store, args.a, args.b)
    except (CommandError, StoreError) as exc:
        return _failed(exc)
    if args.json is not None:
        return emit_json("runs", args.json, json.dumps(compared.as_json(), indent=2) + "\n") or 0
    a, b = compared.a, compared.b
    print(f"A: run {a.id} {a.name}")
    print(f"B: run {b.id} {b.name}")
    for title, items in (
        ("Setup", compared.setup),
        ("Parameters", compared.params),
        ("Config", compared.config),
    ):
        if items:
            print(f"{title} that differ:")
            for d in items:
                print(f"  {d.key:<22} A {_shown(d.a):<24} B {_shown(d.b)}")
    if compared.same_setup:
        print("Same strategy source, parameters, config and data.")
    print(f"{'Metric':<20} {'A':>16} {'B':>16}")
    for m in compared.metrics:
        mark = "  *" if m.differs else ""
        print(f"{m.label:<20} {metric_text(m.key, m.a):>16} {metric_text(m.key, m.b):>16}{mark}")
    return 0


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str) and len(value) == 64:
        return value[:12] + "…"  # a source hash
    return _flat_value(value)


@dataclass(frozen=True)
class Recorded:
    """What `record_cli_run` did: the run's id (None: not saved) and a line to print."""

    run_id: int | None
    message: str


def record_cli_run(
    args: argparse.Namespace,
    job: BacktestJob,
    report: BacktestReport,
    data_files: Sequence[str | Path] = (),
    shown: Mapping[str, Any] | None = None,
) -> Recorded:
    """Save a finished `artha backtest` run in the workspace (`--workspace`/ARTHA_HOME);
    `shown`: the report's as_json(curve=False) when the command built it already.

    Never fails the backtest: a busy, read-only or damaged workspace gives run_id None and a
    message saying the run was not saved and why (print it on stderr)."""
    try:
        with workspace_store(args) as (_, store):
            run_id = rh.record_run(store, job, report, data_files=data_files, shown=shown)
    except (CommandError, StoreError) as exc:
        return Recorded(None, f"the run was not saved in the run history: {exc}")
    return Recorded(run_id, f"saved as run {run_id} (artha runs show {run_id})")
