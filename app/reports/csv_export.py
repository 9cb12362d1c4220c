"""Trades and metrics as CSV, for a spreadsheet: exact rupee strings, fractions as numbers."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from app.reports.analysis import (
    Conventions,
    Figures,
    Value,
    figures,
    metric_rows,
    monthly_returns,
)
from app.reports.charges import charge_summary
from app.reports.files import checked_target, write_report
from engine.backtest import BacktestResult

TRADE_HEADER = (
    "symbol",
    "side",
    "product",
    "quantity",
    "entry_time_ist",
    "entry_price",
    "exit_time_ist",
    "exit_price",
    "gross_pnl",
    "charges",
    "net_pnl",
)


def trades_csv(result: BacktestResult) -> str:
    """One row per closed trade, money as exact rupee strings, times ISO 8601 in IST."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRADE_HEADER)
    writer.writerows(
        (
            t.symbol,
            t.side,
            str(t.product),
            t.quantity,
            t.entry_time.isoformat(),
            f"{t.entry_price:f}",
            t.exit_time.isoformat(),
            f"{t.exit_price:f}",
            f"{t.gross_pnl:f}",
            f"{t.charges:f}",
            f"{t.net_pnl:f}",
        )
        for t in result.trades
    )
    return out.getvalue()


def _number(value: Value) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    return "" if value is None else repr(value)


def metrics_csv(result: BacktestResult, fig: Figures | None = None) -> str:
    """section,metric,gross,net,unit,note: the metrics table with its conventions, the
    charges by component, the weekly verdict and the monthly returns, machine-readable
    (percentages as fractions, rupees exact)."""
    fig = fig or figures(result, Conventions())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "metric", "gross", "net", "unit", "note"))
    units = {"pct": "fraction", "ratio": "ratio", "rupees": "INR", "days": "days", "count": "count"}
    for row in metric_rows(fig):
        writer.writerow(
            ("metrics", row.label, _number(row.gross), _number(row.net), units[row.kind], row.note)
        )
    writer.writerow(("metrics", "Final equity", "", f"{result.final_equity:f}", "INR", ""))
    c = fig.conventions
    writer.writerow(("conventions", "periods_per_year", "", c.periods_per_year, "sessions", ""))
    writer.writerow(("conventions", "risk_free_rate", "", repr(c.risk_free_rate), "fraction", ""))
    writer.writerow(("conventions", "var_level", "", repr(c.var_level), "fraction", "historical"))
    summary = charge_summary(result)
    for label, amount in summary.rows():
        writer.writerow(("charges", label, "", f"{amount:f}", "INR", summary.model))
    weekly = result.weekly
    writer.writerow(("weekly", "badge", "", weekly.badge.value, "", weekly.summary))
    for crit in weekly.criteria:
        note = f"{crit.kind} {crit.threshold!r}; {'pass' if crit.passed else 'fail'}"
        writer.writerow(("weekly", crit.label, "", repr(crit.actual), "fraction", note))
    table = monthly_returns(result.curve, float(result.config.capital))
    for year in table.years:
        for month, value in enumerate(table.cells[year], start=1):
            if value is not None:
                writer.writerow(("monthly", f"{year}-{month:02d}", "", repr(value), "fraction", ""))
    return out.getvalue()


def default_stem(result: BacktestResult) -> str:
    """A file-name stem naming the strategy and instruments: sma_crossover_INFY_TCS."""
    words = [result.strategy, *result.symbols[:3]]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "_".join(words)).strip("_") or "backtest"


def export_csv(
    result: BacktestResult,
    folder: Path,
    stem: str | None = None,
    conventions: Conventions | None = None,
    inputs: Iterable[str | Path] = (),
) -> list[Path]:
    """Write STEM_trades.csv and STEM_metrics.csv into `folder`; return their paths.
    Refuses (ReportError) a missing folder or a target that is not an earlier CSV."""
    stem = stem or default_stem(result)
    folder = Path(folder)
    trades_path = checked_target(folder / f"{stem}_trades.csv", "csv", inputs)
    metrics_path = checked_target(folder / f"{stem}_metrics.csv", "csv", inputs)
    fig = figures(result, conventions or Conventions())
    write_report(trades_path, trades_csv(result))
    write_report(metrics_path, metrics_csv(result, fig))
    return [trades_path, metrics_path]
