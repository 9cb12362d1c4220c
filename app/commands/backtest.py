"""`artha backtest`: run a strategy over a bar file and print what a trader needs to judge it.

Same engine as the app. Exit code 2 on bad input (file, parameter, strategy error) with a
message naming where, and no JSON file written; `--json` output is identical between runs of
the same input except `run_seconds`.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from decimal import Decimal, InvalidOperation

from app.commands.output import emit_json, fail, inr
from app.strategy_loader import StrategyLoadError, load_strategy
from engine.backtest import (
    BacktestConfig,
    BacktestInputError,
    BacktestResult,
    StrategyRuntimeError,
    run_backtest,
)
from engine.data import BarDataError, BarSeries, load_bars
from engine.strategy.params import ParamError

TRADES_SHOWN = 10


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


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
        choices=("1m", "3m", "5m", "15m", "30m", "60m", "1d"),
        help="store: bar size (resampled on the exchange clock when needed)",
    )
    p.add_argument("--workspace", help="data folder (default: $ARTHA_HOME or per-user)")
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
        type=_decimal,
        default=Decimal("10000000"),
        help="starting cash in rupees (default 1,00,00,000)",
    )
    p.add_argument(
        "--costs",
        choices=("zerodha", "none"),
        default="zerodha",
        help="charges model (default zerodha: exact contract-note charges)",
    )
    p.add_argument(
        "--slippage-bps",
        type=_decimal,
        default=Decimal(0),
        help="market/stop fills move this many basis points against you",
    )
    p.add_argument(
        "--fill",
        choices=("next-open", "close"),
        default="next-open",
        help="market orders fill at the next bar's open (default) or this close",
    )
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON ('-' = stdout)")
    p.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"dates look like 2026-01-31, got {text!r}") from None


def _store_series(args: argparse.Namespace) -> list[BarSeries]:
    """The --symbol series from the workspace's store, resampled to --timeframe if needed."""
    from app.commands.data import TIMEFRAMES, series_for
    from app.commands.workspace_store import workspace_store

    with workspace_store(args) as (_, store):
        stored = store.list_series()
        out = []
        for symbol in args.symbol:
            bare = symbol.split(":")[-1].upper()
            timeframe = args.timeframe or min(
                (s.timeframe for s in stored if s.symbol.upper() == bare),
                key=TIMEFRAMES.index,
                default="1m",
            )
            series = series_for(store, symbol, timeframe, args.start, args.end)
            if not len(series):
                raise BacktestInputError(
                    f"no {timeframe} bars of {symbol} between {args.start or 'the start'} "
                    f"and {args.end or 'the end'}"
                )
            out.append(series)
        return out


def run(args: argparse.Namespace) -> int:
    from app.commands.workspace_store import CommandError
    from engine.data.store import StoreError

    if args.data and args.symbol and (len(args.data) > 1 or len(args.symbol) > 1):
        return fail("backtest", "argument --symbol: with --data, name one file's symbol")
    if not args.data and not args.symbol:
        return fail("backtest", "give bars with --data FILE or --symbol SYMBOL (from the store)")
    if args.data and (args.start or args.end or args.timeframe):
        return fail("backtest", "--from/--to/--timeframe read the store: drop --data")
    try:
        strategy = load_strategy(args.strategy)
        params = dict(args.param)
        if args.data:
            symbol = args.symbol[0] if args.symbol else None
            series = [load_bars(path, symbol=symbol) for path in args.data]
        else:
            series = _store_series(args)
        if args.capital <= 0:
            return fail("backtest", "argument --capital: must be > 0")
        config = BacktestConfig(
            capital=args.capital, costs=args.costs, slippage_bps=args.slippage_bps, fill=args.fill
        )
        result = run_backtest(strategy, params, series, config)
        report = result.as_json()
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
    if args.json is not None:
        failed = emit_json("backtest", args.json, json.dumps(report, indent=2) + "\n")
        if failed is not None:
            return failed
        if args.json == "-":
            return 0
    print(render(result, report))
    return 0


def _symbols(symbols: list[str]) -> str:
    if len(symbols) <= 4:
        return ", ".join(symbols)
    return f"{len(symbols)} instruments ({symbols[0]}, {symbols[1]} ... {symbols[-1]})"


def _pct(value: object) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value * 100:.2f}%"


def _num(value: object) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.2f}"


def render(result: BacktestResult, report: dict[str, object]) -> str:
    """The readable report: run, money, risk, trades and the weekly-target badge."""
    m = result.metrics
    net, trades = m.net, m.net_trades
    start, end = result.curve.timestamps[0], result.curve.timestamps[-1]
    from engine.data.bar_series import ist_iso

    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    gross = sum((t.gross_pnl for t in result.trades), Decimal(0))
    closed_charges = sum((t.charges for t in result.trades), Decimal(0))
    net_pnl = sum((t.net_pnl for t in result.trades), Decimal(0))
    lines = [
        f"Backtest: {result.strategy} ({params})",
        f"Data:     {_symbols(result.symbols)}, {result.bars:,} bars, "
        f"{ist_iso(start)[:16]} to {ist_iso(end)[:16]} IST",
        f"Costs:    {result.config.costs}, slippage {result.config.slippage_bps} bps, "
        f"fills at {result.config.fill}",
        *(f"Warning:  {w}" for w in result.calendar_warnings),
        "",
        f"Capital            Rs {inr(result.config.capital)}",
        f"Final equity       Rs {inr(result.final_equity)}",
        f"Closed trades      {len(result.trades)}  (gross Rs {inr(gross)}, "
        f"charges Rs {inr(closed_charges)}, net Rs {inr(net_pnl)})",
        f"All charges paid   Rs {inr(result.total_charges)}  (incl. positions still open)",
        f"Total return       {_pct(net.total_return)}   CAGR {_pct(net.cagr)}",
        f"Sharpe / Sortino   {_num(net.sharpe)} / {_num(net.sortino)}   Calmar {_num(net.calmar)}",
        f"Max drawdown       {_pct(net.drawdowns.deepest.depth)}   "
        f"VaR95 {_pct(net.var_95)}   CVaR95 {_pct(net.cvar_95)}",
        f"Win rate           {_pct(trades.win_rate)}   profit factor "
        f"{_num(trades.profit_factor)}   expectancy Rs {_num(trades.expectancy)}",
    ]
    if result.open_positions:
        lines.append(f"Open at the end    {result.open_positions} (not counted as trades)")
    if result.rejections:
        lines.append(f"Rejected orders    {len(result.rejections)}, first: {result.rejections[0]}")
    weekly = result.weekly
    lines += ["", f"Weekly target: {weekly.badge}  {weekly.summary}"]
    for criterion in weekly.criteria:
        mark = "pass" if criterion.passed else "FAIL"
        lines.append(
            f"  {mark}  {criterion.label}: {_pct(criterion.actual)} "
            f"(target {'>=' if criterion.kind == 'min' else '<='} "
            f"{_pct(criterion.threshold)})"
        )
    lines += [f"  note: {w}" for w in weekly.warnings]
    if result.trades:
        lines += ["", f"Trades (first {min(TRADES_SHOWN, len(result.trades))}):"]
        for t in result.trades[:TRADES_SHOWN]:
            lines.append(
                f"  {t.side:5} {t.quantity:>6} {t.symbol}  {t.entry_time:%Y-%m-%d %H:%M} "
                f"@ {t.entry_price} -> {t.exit_time:%Y-%m-%d %H:%M} @ {t.exit_price}  "
                f"net Rs {inr(t.net_pnl)}"
            )
        if len(result.trades) > TRADES_SHOWN:
            lines.append(f"  ... {len(result.trades) - TRADES_SHOWN} more (see --json)")
    lines.append(f"\nRun took {result.run_seconds:.3f} s")
    return "\n".join(lines)
