"""What `artha backtest` (and `artha demo`) show of a finished run: the readable text report
and the `--json` report.

Kept apart from running so the wording and layout of a report change in one place, and the
command module only parses, validates and runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.commands.output import inr
from engine.backtest import BacktestConfig, BacktestResult, Trade
from engine.backtest.result import equity_curve_json
from engine.data.bar_series import TIMEFRAMES, ist_iso

CURVE_KEY = "equity_curve"  # BacktestResult.as_json's per-bar curve: compact columns
TRADES_SHOWN = 10
OPEN_SHOWN = 20
_TF_ORDER = list(TIMEFRAMES)


def text_report(
    result: BacktestResult,
    resampled_from: Mapping[str, str] | None = None,
    data_notes: Sequence[str] = (),
) -> str:
    """The readable report: run, money, risk, trades and the weekly-target badge.

    `resampled_from` names, per symbol, the stored bar size its bars were resampled from.
    """
    m = result.metrics
    net, trades = m.net, m.net_trades
    start, end = result.curve.timestamps[0], result.curve.timestamps[-1]

    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    gross = sum((t.gross_pnl for t in result.trades), Decimal(0))
    net_pnl = sum((t.net_pnl for t in result.trades), Decimal(0))
    lines = [
        f"Backtest: {result.strategy} ({params})",
        f"Data:     {_symbols(result.symbols)}, {_bars(result)}, "
        f"{ist_iso(start)[:16]} to {ist_iso(end)[:16]} IST",
        *_resampled(result, resampled_from or {}),
        f"Costs:    {_costs(result.config)}, slippage {result.config.slippage_bps} bps, "
        f"fills at {result.config.fill}",
        *(f"Warning:  {w}" for w in result.calendar_warnings),
        *(f"Note:     {note}" for note in data_notes),
        "",
        f"Capital            {_rs(result.config.capital)}",
        f"Final equity       {_rs(result.final_equity)}",
        f"Closed trades      {len(result.trades)}  (gross {_rs(gross)}, "
        f"charges {_rs(result.closed_charges)}, net {_rs(net_pnl)})",
        *_charges_lines(result),
        f"Total return       {_pct(net.total_return)}   CAGR {_pct(net.cagr)}",
        f"Sharpe / Sortino   {_num(net.sharpe)} / {_num(net.sortino)}   Calmar {_num(net.calmar)}",
        f"Max drawdown       {_pct(net.drawdowns.deepest.depth)}   "
        f"VaR95 {_pct(net.var_95)}   CVaR95 {_pct(net.cvar_95)}",
        f"Win rate           {_pct(trades.win_rate)}   profit factor "
        f"{_num(trades.profit_factor)}   expectancy {_rs(trades.expectancy)}",
    ]
    if result.open_positions:
        lines += _open_lines(result.open_positions)
    if result.rejected_orders:
        kept = len(result.rejections)
        more = f"; --json lists the first {kept}" if result.rejected_orders > kept else ""
        lines.append(
            f"Rejected orders    {result.rejected_orders:,}  (first: {result.rejections[0]}{more})"
        )
    weekly = result.weekly
    reason = weekly.summary.removeprefix(f"{weekly.badge}: ")
    lines += ["", f"Weekly target: {weekly.badge} - {reason}"]
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
        lines += _trade_lines(result.trades[:TRADES_SHOWN])
        if len(result.trades) > TRADES_SHOWN:
            lines.append(f"  ... {len(result.trades) - TRADES_SHOWN} more (see --json)")
    lines.append(f"\nRun took {result.run_seconds:.3f} s")
    return "\n".join(lines)


def json_report(
    result: BacktestResult,
    data_notes: Sequence[str] = (),
    shown: Mapping[str, Any] | None = None,
) -> str:
    """The `--json` report as written: the engine's documented report plus what the importer
    noted, indented, ending in a newline. `shown` is `result.as_json(curve=False)` when the
    caller built it already (the run history stores the same dict)."""
    if shown is None:
        shown = result.as_json(curve=False)
    report = {**shown, "equity_curve": equity_curve_json(result.curve)}
    return indented({**report, "data_notes": list(data_notes)}) + "\n"


def indented(report: Mapping[str, Any]) -> str:
    """JSON indented by two spaces, except that a list of records (the trades) has one record
    per line, and the equity curve (`CURVE_KEY`) one column per line without spaces. Readable
    either way, and fast: json's indenting encoder is pure Python (19,000 trades took over a
    second; a million-bar curve would take minutes), while each record or column on its own
    line goes through the C one."""
    parts = []
    for key, value in report.items():
        name = json.dumps(key)
        if key == CURVE_KEY and isinstance(value, dict):  # one line per column, no spaces
            columns = ",\n".join(
                f"    {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                for k, v in value.items()
            )
            parts.append(f"  {name}: {{\n{columns}\n  }}" if value else f"  {name}: {{}}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows = ",\n".join(f"    {json.dumps(row)}" for row in value)
            parts.append(f"  {name}: [\n{rows}\n  ]")
        else:
            parts.append(f"  {name}: " + json.dumps(value, indent=2).replace("\n", "\n  "))
    return "{\n" + ",\n".join(parts) + "\n}" if parts else "{}"


def _symbols(symbols: list[str]) -> str:
    if len(symbols) <= 4:
        return ", ".join(symbols)
    return f"{len(symbols)} instruments ({symbols[0]}, {symbols[1]} ... {symbols[-1]})"


def _pct(value: object) -> str:
    if not isinstance(value, int | float):
        return "n/a"
    return f"{round(value * 100, 2) + 0.0:.2f}%"  # + 0.0: never "-0.00%"


def _num(value: object) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{round(value, 2) + 0.0:.2f}"


def _money(value: Decimal | float | None) -> str:
    """Rupees with Indian grouping and two decimals, never "-0.00"."""
    if value is None:
        return "n/a"
    amount = Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return inr(amount if amount else Decimal("0.00"))


def _rs(value: Decimal | float | None) -> str:
    return f"Rs {_money(value)}"


def _bars(result: BacktestResult) -> str:
    """'9,000 5m bars' (each size when the series differ)."""
    sizes = sorted(set(result.timeframes), key=_TF_ORDER.index)
    return f"{result.bars:,} {'/'.join(sizes)} bars" if sizes else f"{result.bars:,} bars"


def _resampled(result: BacktestResult, resampled_from: Mapping[str, str]) -> list[str]:
    """Under the Data line: which bars were made from finer stored bars, and from what."""
    if not resampled_from:
        return []
    bases = "/".join(sorted(set(resampled_from.values()), key=_TF_ORDER.index))
    sizes = "/".join(sorted(set(result.timeframes), key=_TF_ORDER.index))
    which = (
        f"bars of {len(resampled_from)} of the {len(result.symbols)} instruments"
        if len(resampled_from) < len(result.symbols)
        else f"{sizes} bars"
    )
    return [f"          ({which} resampled on the exchange clock from the stored {bases} bars)"]


def _charges_lines(result: BacktestResult) -> list[str]:
    """All charges paid = closed trades' + still-open positions', and what each includes."""
    pad = " " * 19
    total, closed, still_open = result.total_charges, result.closed_charges, result.open_charges
    if not result.open_positions and not still_open:
        return [f"All charges paid   {_rs(total)}, all on closed trades"]
    lines = [
        f"All charges paid   {_rs(total)}  = closed trades {_rs(closed)} "
        f"+ still open {_rs(still_open)}",
        f"{pad}(each contract note, one day and scrip, is priced and rounded as a whole; a",
        f"{pad}fill carries what it added to its note, shared by quantity among its trades)",
    ]
    if still_open < 0:
        lines += [
            f"{pad}the open positions' share is a credit: a CNC buy on a day the scrip was also",
            f"{pad}sold from CNC makes that quantity intraday at Zerodha (lower STT, no DP)",
        ]
    return lines


def _open_lines(open_positions: Mapping[str, int]) -> list[str]:
    """Symbol, product, side and quantity of each position open at the end, aligned."""
    count = len(open_positions)
    rows = []
    for key, quantity in list(open_positions.items())[:OPEN_SHOWN]:
        symbol, _, product = key.rpartition("/")
        rows.append((symbol, product, "long" if quantity > 0 else "short", f"{abs(quantity):,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"Open at the end    {count} position{'s' if count != 1 else ''} (not counted as trades)"
    ]
    for symbol, product, side, amount in rows:
        lines.append(
            f"  {symbol:<{widths[0]}}  {product:<{widths[1]}}  {side:<{widths[2]}}  "
            f"{amount:>{widths[3]}}"
        )
    if count > OPEN_SHOWN:
        lines.append(f"  ... {count - OPEN_SHOWN} more (see --json)")
    return lines


def _trade_lines(trades: list[Trade]) -> list[str]:
    """One aligned row per trade: side, quantity, symbol, entry, exit, net."""
    rows = [
        (
            t.side,
            f"{t.quantity:,}",
            t.symbol,
            f"{t.entry_time:%Y-%m-%d %H:%M}",
            inr(t.entry_price),
            f"{t.exit_time:%Y-%m-%d %H:%M}",
            inr(t.exit_price),
            _money(t.net_pnl),
        )
        for t in trades
    ]
    w = [max(len(row[i]) for row in rows) for i in range(8)]
    return [
        f"  {r[0]:<{w[0]}} {r[1]:>{w[1]}} {r[2]:<{w[2]}}  {r[3]} @ {r[4]:>{w[4]}} -> "
        f"{r[5]} @ {r[6]:>{w[6]}}  net Rs {r[7]:>{w[7]}}"
        for r in rows
    ]


def _costs(config: BacktestConfig) -> str:
    if config.costs == "bps":
        return f"flat {format(config.cost_bps, 'f')} bps of turnover"
    if config.costs == "zerodha":
        return "zerodha (contract-note charges)"
    return "none"
