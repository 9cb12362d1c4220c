"""`artha backtest`: run a strategy over a bar file and print what a trader needs to judge it.

This module reads the arguments, loads bars and strategy, and runs; the report's wording and
layout (text and `--json`) are app.commands.backtest_report's. Same engine as the app. Exit
code 2 on bad input (file, parameter, strategy error) with a message naming where, and no JSON
file written; `--json` output is identical between runs of the same input except
`run_seconds`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands.backtest_report import json_report, text_report
from app.commands.output import emit_json, fail, inr
from app.strategy_loader import StrategyLoadError, load_strategy, strategy_ref
from engine.backtest import (
    BacktestConfig,
    BacktestInputError,
    BacktestJob,
    BacktestResult,
    StrategyRuntimeError,
    run_job,
)
from engine.costs import BEFORE_UNIFORM_STAMP, SCHEDULES, ScheduleCoverageError, uncovered_spans
from engine.data import BarDataError, BarSeries
from engine.data.bar_files import read_bar_file
from engine.data.bar_series import ist_iso
from engine.domain.enums import Segment
from engine.domain.instrument import Instrument
from engine.strategy.params import ParamError
from engine.timeframes import TIMEFRAME_NAMES
from engine.workspace import Workspace, WorkspaceError

if TYPE_CHECKING:  # the run history (SQLAlchemy) loads only when a run is saved
    from app.commands.runs import Recorded

EARLIEST_SCHEDULE = min(s.valid_from for s in SCHEDULES)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


MAX_CAPITAL = Decimal(10) ** 15  # Rs 1,000 lakh crore; the engine holds money as int64 paise


def capital(text: str) -> Decimal:
    """--capital: rupees, > 0 and at most MAX_CAPITAL (`artha demo` uses it too)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    if value > MAX_CAPITAL:
        raise argparse.ArgumentTypeError(
            f"must be at most Rs {inr(MAX_CAPITAL)} (1,000 lakh crore), got {text!r}"
        )
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (0 < value <= 1e6):  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be seconds > 0 (at most 1000000), got {text!r}")
    return value


class BacktestTimeout(BaseException):
    """Raised in whatever code runs when --timeout expires; a BaseException, so a strategy's
    `except Exception` cannot swallow it."""


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """SIGALRM raises BacktestTimeout in the main thread, inside the strategy's own code when
    that is what runs (again every second, should it be caught)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds is None or not usable:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise BacktestTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _stopped_where(exc: BaseException, strategy_file: str | None) -> str:
    """` at FILE:LINE (code)`: the strategy's line that was running, else the deepest frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if strategy_file and f.filename == strategy_file]
    where = own[-1] if own else (frames[-1] if frames else None)
    if where is None:
        return ""
    code = (where.line or "").strip()
    return f" at {where.filename}:{where.lineno}" + (f" ({code})" if code else "")


def _strategy_file(spec: str, user_dir: Path | None) -> str | None:
    try:
        return strategy_ref(spec, user_dir).file
    except StrategyLoadError:
        return None


def _user_dir(args: argparse.Namespace) -> Path | None:
    """The workspace's strategies folder, where `--strategy NAME` also looks."""
    try:
        return Workspace.resolve(getattr(args, "workspace", None)).strategies_dir
    except WorkspaceError:
        return None


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"parameters look like name=value, got {text!r}")
    return name.strip(), value.strip()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "backtest",
        help="run a strategy over a bar file",
        description="Backtest a strategy on CSV/Parquet bars "
        "(columns timestamp,open,high,low,close,volume; ISO timestamps with offset).",
    )
    p.add_argument(
        "--strategy", required=True, help="reference name (sma_crossover) or FILE.py[:ClassName]"
    )
    p.add_argument(
        "--data",
        action="append",
        metavar="FILE",
        help="bar file (.csv or .parquet); repeat for several instruments",
    )
    p.add_argument(
        "--symbol",
        action="append",
        metavar="SYMBOL",
        help="with --data: the file's symbol (default: file name); without: read this "
        "symbol from the workspace's store (repeatable)",
    )
    p.add_argument("--from", dest="start", type=_day, help="store: first day (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", type=_day, help="store: last day (YYYY-MM-DD)")
    p.add_argument(
        "--timeframe",
        choices=TIMEFRAME_NAMES,
        help="store: bar size (resampled on the exchange clock when needed)",
    )
    p.add_argument(
        "--param",
        action="append",
        type=_param,
        default=[],
        metavar="NAME=VALUE",
        help="strategy parameter; repeatable",
    )
    p.add_argument(
        "--capital",
        type=capital,
        default=Decimal("10000000"),
        help="starting cash in rupees (default 1,00,00,000)",
    )
    p.add_argument(
        "--costs",
        choices=("zerodha", "bps", "none"),
        help="charges model (default zerodha, or what the strategy declares: exact "
        f"contract-note charges, trade dates from {EARLIEST_SCHEDULE}; bps: a flat fee on "
        "turnover, with --cost-bps; none); given, it overrides the strategy's",
    )
    p.add_argument(
        "--cost-bps",
        type=_decimal,
        metavar="BPS",
        help="with --costs bps: basis points of each contract note's turnover (e.g. 5)",
    )
    p.add_argument(
        "--slippage-bps",
        type=_decimal,
        help="market/stop fills move this many basis points against you (default 0, or what "
        "the strategy declares; given, it overrides the strategy's)",
    )
    p.add_argument(
        "--fill",
        choices=("next-open", "close"),
        default="next-open",
        help="market orders fill at the next bar's open (default) or this close",
    )
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON ('-' = stdout)")
    p.add_argument(
        "--report",
        metavar="OUT.html",
        help="also write a self-contained HTML report (charts, metrics, trades; one file to mail)",
    )
    p.add_argument(
        "--trades-csv",
        metavar="OUT.csv",
        help="also write the closed trades as CSV (exact rupees, IST times)",
    )
    p.add_argument(
        "--no-save",
        action="store_true",
        help="do not keep this run in the workspace's run history (artha runs list)",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="stop a strategy still running after this many seconds (a loop that never "
        "returns), naming the line it was on",
    )
    p.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"dates look like 2026-01-31, got {text!r}") from None


def _store_series(
    args: argparse.Namespace,
) -> tuple[list[BarSeries], dict[str, str], dict[str, Instrument]]:
    """The --symbol series from the workspace's store, resampled to --timeframe if needed;
    for each resampled symbol the stored bar size its bars were made from; and what the store
    knows of each tradable instrument (exchange, lot, tick, freeze, strike), so lots, margin
    and charges are the contract's, not a default NSE share's. An index is not tradable: its
    bars run as a share of that name, as they always have."""
    from app.commands.workspace_store import workspace_store
    from engine.data.stored_bars import choose_bars

    with workspace_store(args) as (_, store):
        chosen = choose_bars(store, args.symbol, args.timeframe, args.start, args.end)
        known = {bars.symbol: store.instrument(bars.symbol) for bars in chosen.series}
    tradable = {s: i for s, i in known.items() if i.segment is not Segment.INDEX}
    return chosen.series, chosen.resampled_from, tradable


def _uncovered_charges(series: list[BarSeries], store: bool) -> str | None:
    """What to tell a trader whose bars lie on dates no Zerodha schedule covers, or None."""
    found: list[str] = []
    for bars in series:
        first, last = (date.fromisoformat(ist_iso(bars.ts[i])[:10]) for i in (0, -1))
        spans = uncovered_spans(first, last)
        found += [f"{bars.symbol} {a.isoformat()}..{b.isoformat()}" for a, b in spans]
    if not found:
        return None
    shown = "; ".join(found[:3]) + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
    keep = f"--from {EARLIEST_SCHEDULE.isoformat()}" if store else "a file without those rows"
    return (
        f"no charge schedule covers the bars of {shown}: Artha's Zerodha charges start "
        f"{EARLIEST_SCHEDULE.isoformat()} ({BEFORE_UNIFORM_STAMP}). Backtest those dates "
        f"with --costs bps --cost-bps BPS (a flat fee on turnover, e.g. 5) or --costs none, "
        f"or keep to covered dates ({keep})"
    )


def run(args: argparse.Namespace) -> int:
    if args.data and args.symbol and (len(args.data) > 1 or len(args.symbol) > 1):
        return fail("backtest", "argument --symbol: with --data, name one file's symbol")
    if not args.data and not args.symbol:
        return fail("backtest", "give bars with --data FILE or --symbol SYMBOL (from the store)")
    if args.data and (args.start or args.end or args.timeframe):
        return fail("backtest", "--from/--to/--timeframe read the store: drop --data")
    if args.costs == "bps" and args.cost_bps is None:
        return fail("backtest", "argument --costs: bps needs --cost-bps BPS (e.g. 5)")
    if args.cost_bps is not None and args.costs is None:
        return fail("backtest", "argument --cost-bps: goes with --costs bps")
    if args.cost_bps is not None and args.costs != "bps":
        return fail("backtest", "argument --cost-bps: goes with --costs bps")
    refused = _report_targets(args)  # before the run: a typo should not cost a long backtest
    if refused is not None:
        return refused
    try:
        with _time_limit(getattr(args, "timeout", None)):
            return _run(args)
    except BacktestTimeout as exc:
        where = _stopped_where(exc, _strategy_file(args.strategy, _user_dir(args)))
        return fail(
            "backtest",
            f"strategy {args.strategy} was still running after --timeout {args.timeout:g} s; "
            f"stopped{where}",
        )


_REPORTS = (("report", "--report", "html"), ("trades_csv", "--trades-csv", "csv"))


def _report_targets(args: argparse.Namespace) -> int | None:
    """Exit code 2 when --report / --trades-csv may not be written (a missing folder, a
    store, an input, a file of another kind); None when both are fine or not asked for."""
    from app.reports import ReportError
    from app.reports.files import checked_target

    for attr, option, kind in _REPORTS:
        target = getattr(args, attr, None)
        if target is None:
            continue
        try:
            checked_target(Path(target), kind, args.data or ())
        except ReportError as exc:
            return fail("backtest", f"argument {option}: {exc}")
    return None


def _write_reports(args: argparse.Namespace, result: BacktestResult) -> int | None:
    """Write the --report and --trades-csv files; an exit code on failure."""
    from app.reports import ReportError, trades_csv, write_html
    from app.reports.files import checked_target, write_report

    try:
        if getattr(args, "report", None):
            write_html(result, Path(args.report), inputs=args.data or ())
    except ReportError as exc:
        return fail("backtest", f"argument --report: {exc}")
    try:
        if getattr(args, "trades_csv", None):
            path = checked_target(Path(args.trades_csv), "csv", args.data or ())
            write_report(path, trades_csv(result))
    except ReportError as exc:
        return fail("backtest", f"argument --trades-csv: {exc}")
    return None


def _run(args: argparse.Namespace) -> int:
    from app.commands.workspace_store import CommandError
    from engine.data.store import StoreError

    resampled: dict[str, str] = {}
    instruments: dict[str, Instrument] = {}
    data_notes: list[str] = []
    try:
        user_dir = _user_dir(args)
        # first: a bad strategy is named before bad bars
        strategy = load_strategy(args.strategy, user_dir)
        if args.data:
            symbol = args.symbol[0] if args.symbol else None
            loaded = [read_bar_file(path, symbol=symbol) for path in args.data]
            series = [bars.series for bars in loaded]
            data_notes = [  # what the importer noted; closed days come as the run's warning
                f"{path}: {note}"
                for path, bars in zip(args.data, loaded, strict=True)
                for note in bars.notes[: len(bars.notes) - bool(bars.closed_days)]
            ]
        else:
            series, resampled, instruments = _store_series(args)
        if args.capital <= 0 or args.capital > MAX_CAPITAL:  # not through the parser
            return fail("backtest", f"argument --capital: must be > 0 and at most {MAX_CAPITAL}")
        given = {"costs": args.costs, "slippage_bps": args.slippage_bps}
        config = BacktestConfig(
            capital=args.capital,
            costs=args.costs or "zerodha",
            cost_bps=args.cost_bps,
            slippage_bps=args.slippage_bps or Decimal(0),
            fill=args.fill,
            explicit=frozenset(name for name, value in given.items() if value is not None),
        )
        effective = config.for_strategy(getattr(strategy, "trading_costs", None))
        if effective.costs == "zerodha":
            uncovered = _uncovered_charges(series, store=not args.data)
            if uncovered is not None:
                return fail("backtest", uncovered)
        job = BacktestJob(
            strategy_ref(args.strategy, user_dir),
            tuple(bars.symbol for bars in series) if args.data else tuple(args.symbol),
            dict(args.param),
            config,
            args.timeframe,
            args.start,
            args.end,
            instruments,
        )
        result = run_job(job, series)
        shown = result.as_json(curve=False)  # built once: the --json report and the history
        saving = None if args.no_save else _record_meanwhile(args, job, result, shown)
        json_text = None if args.json is None else json_report(result, data_notes, shown)
    except ScheduleCoverageError as exc:  # a date the check above did not foresee
        return fail(
            "backtest", f"{exc}; use --costs bps --cost-bps BPS or --costs none for such dates"
        )
    except StrategyLoadError as exc:
        return fail("backtest", f"argument --strategy: {exc}")
    except ParamError as exc:
        return fail("backtest", f"argument --param: {exc}")
    except (
        BarDataError,
        BacktestInputError,
        StrategyRuntimeError,
        CommandError,
        StoreError,
    ) as exc:
        return fail("backtest", str(exc))
    failed_report = _write_reports(args, result)
    saved = None if saving is None else saving.result()
    if failed_report is not None:
        return failed_report
    if json_text is not None:
        failed = emit_json("backtest", args.json, json_text, inputs=args.data or ())
        if failed is not None:
            return failed
        if args.json == "-":
            # stdout is one JSON document and stderr stays quiet for scripts: a run that
            # could not be saved says so; a saved one is listed by `artha runs list`
            if saved is not None and saved.run_id is None:
                print(f"artha backtest: {saved.message}", file=sys.stderr)
            return 0
    print(text_report(result, resampled_from=resampled, data_notes=data_notes))
    if saved is not None:
        print(f"\nRun history: {saved.message}")
    return 0


def _record_meanwhile(
    args: argparse.Namespace, job: BacktestJob, result: BacktestResult, shown: dict[str, Any]
) -> Future[Recorded]:
    """Start keeping the run in the workspace's run history, on a thread of its own, while
    this one encodes and writes the reports: DuckDB's insert and checkpoint of a long run's
    curve (~0.5 s for a million bars) run outside the GIL, so the two overlap on a second
    core. Never fails the backtest: a busy or read-only workspace gives a Recorded saying
    the run was not saved, and why. The thread is not a daemon: the process ends only once
    the run is stored."""
    from app.commands.runs import record_cli_run  # the store and SQLAlchemy: only when saving

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-history")
    try:
        return pool.submit(
            record_cli_run, args, job, result, data_files=args.data or (), shown=shown
        )
    finally:
        pool.shutdown(wait=False)  # the submitted save still runs to its end
