"""A self-contained HTML report of one run: one file, inline CSS and SVG, no script, no network.

A trader can mail it, open it offline, or print it; every chart is SVG drawn here
(app.reports.svg), every figure comes from app.reports.analysis (the engine's metrics).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path

from app.reports import svg
from app.reports.analysis import (
    Conventions,
    Figures,
    MetricRow,
    drawdown_curve,
    figures,
    format_value,
    metric_rows,
    monthly_returns,
    rupees_text,
)
from app.reports.charges import charge_summary
from app.reports.files import checked_target, write_report
from app.version import __version__
from engine.backtest import BacktestResult
from engine.ist import ist_iso

TRADES_IN_REPORT = 20_000  # more rows make a file too heavy to mail; the CSV has them all

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#131722;
  font:14px/1.45 "Segoe UI",Roboto,Helvetica,Arial,sans-serif}
header{background:#131722;color:#e8eaf0;padding:22px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .sub{color:#a3a8b5;font-size:13px}
main{max-width:1040px;margin:0 auto;padding:20px 24px 40px}
section{background:#fff;border:1px solid #e0e3eb;border-radius:8px;padding:16px 20px;
  margin:0 0 16px}
h2{font-size:15px;margin:0 0 12px;font-weight:600}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin-bottom:16px}
.kpi{background:#fff;border:1px solid #e0e3eb;border-radius:8px;padding:12px 14px}
.kpi .k{color:#6a6d78;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .v{font-size:20px;font-weight:600;margin-top:2px;font-variant-numeric:tabular-nums}
.pos{color:#089981}.neg{color:#f23645}
svg{display:block;width:100%;height:auto}
svg.badge{display:inline-block;width:auto;vertical-align:middle}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;border-bottom:1px solid #eef0f4;text-align:left;white-space:nowrap}
th{color:#6a6d78;font-weight:600;font-size:12px;background:#fafbfc}
td.n,th.n{text-align:right}
td.note{color:#6a6d78;font-size:12px;white-space:normal}
.two{display:grid;grid-template-columns:3fr 2fr;gap:16px}
.two>*{min-width:0}
.conv td{border:none;padding:2px 8px 2px 0;white-space:normal}
.verdict{display:flex;gap:12px;align-items:center;margin-bottom:8px}
.muted{color:#6a6d78;font-size:12px}
.trades{max-height:none}
footer{color:#6a6d78;font-size:12px;text-align:center;padding:8px}
@media print{body{background:#fff}section,.kpi{break-inside:avoid}}
"""


def _cls(value: float | Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "pos" if value > 0 else "neg"


def _kpis(result: BacktestResult, fig: Figures) -> str:
    m = fig.metrics
    net_pnl = result.final_equity - result.config.capital
    cards = [
        ("Net P&L", rupees_text(net_pnl), _cls(net_pnl)),
        ("Total return", format_value("pct", m.net.total_return), _cls(m.net.total_return)),
        ("CAGR", format_value("pct", m.net.cagr), _cls(m.net.cagr)),
        ("Sharpe", format_value("ratio", m.net.sharpe), ""),
        (
            "Max drawdown",
            format_value("pct", m.net.max_drawdown),
            "neg" if m.net.max_drawdown else "",
        ),
        ("Win rate", format_value("pct", m.net_trades.win_rate), ""),
        ("Closed trades", f"{len(result.trades):,}", ""),
        ("Charges paid", rupees_text(result.total_charges), ""),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="k">{escape(k)}</div>'
            f'<div class="v {c}">{escape(v)}</div></div>'
            for k, v, c in cards
        )
        + "</div>"
    )


def _metrics_table(rows: list[MetricRow]) -> str:
    body = "".join(
        f"<tr><td>{escape(r.label)}</td>"
        f'<td class="n">{escape(format_value(r.kind, r.gross))}</td>'
        f'<td class="n">{escape(format_value(r.kind, r.net))}</td>'
        f'<td class="note">{escape(r.note)}</td></tr>'
        for r in rows
    )
    head = '<tr><th>Metric</th><th class="n">Gross</th><th class="n">Net</th><th>How</th></tr>'
    return f"<table>{head}{body}</table>"


def _conventions(conventions: Conventions) -> str:
    rows = "".join(
        f'<tr><td class="muted">{escape(k)}</td><td>{escape(v)}</td></tr>'
        for k, v in conventions.describe()
    )
    return f'<h2>Conventions</h2><table class="conv">{rows}</table>'


def _charges(result: BacktestResult) -> str:
    summary = charge_summary(result)
    total = summary.ledger_total
    rows = []
    for label, amount in summary.rows():
        share = f"{amount / total * 100:.1f}%" if total else "—"
        strong = label == "Total charges"
        cell = f"<b>{escape(label)}</b>" if strong else escape(label)
        rows.append(
            f'<tr><td>{cell}</td><td class="n">{escape(rupees_text(amount))}</td>'
            f'<td class="n">{share}</td></tr>'
        )
    head = '<tr><th>Component</th><th class="n">Amount</th><th class="n">Share</th></tr>'
    note = (
        f'<p class="muted">Cost model: {escape(summary.model)}; {summary.notes:,} contract '
        "notes re-priced from the closed trades' fills.</p>"
    )
    return f"<h2>Costs by component</h2><table>{head}{''.join(rows)}</table>{note}"


def _weekly(result: BacktestResult) -> str:
    weekly = result.weekly
    reason = weekly.summary.removeprefix(f"{weekly.badge.value}: ")
    rows = "".join(
        f"<tr><td>{'✔' if c.passed else '✘'} {escape(c.label)}</td>"
        f'<td class="n">{c.actual * 100:.2f}%</td>'
        f'<td class="n">{">=" if c.kind == "min" else "<="} {c.threshold * 100:.2f}%</td></tr>'
        for c in weekly.criteria
    )
    head = '<tr><th>Criterion</th><th class="n">Actual</th><th class="n">Target</th></tr>'
    returns = [w.weekly_return for w in weekly.weeks]
    warnings = "".join(f'<p class="muted">{escape(w)}</p>' for w in weekly.warnings)
    return (
        "<section><h2>Weekly target</h2>"
        f'<div class="verdict">{svg.badge(weekly.badge.value)}<span>{escape(reason)}</span></div>'
        f"<table>{head}{rows}</table>{warnings}{svg.weekly_bars(returns)}</section>"
    )


def _trades(result: BacktestResult) -> str:
    trades = result.trades
    shown = trades[:TRADES_IN_REPORT]
    rows = "".join(
        f"<tr><td class=n>{n}</td><td>{escape(t.symbol)}</td><td>{t.side}</td>"
        f"<td class=n>{t.quantity:,}</td><td>{t.entry_time:%Y-%m-%d %H:%M}</td>"
        f"<td class=n>{t.entry_price:f}</td><td>{t.exit_time:%Y-%m-%d %H:%M}</td>"
        f"<td class=n>{t.exit_price:f}</td><td class=n>{t.gross_pnl:f}</td>"
        f"<td class=n>{t.charges:f}</td><td class='n {_cls(t.net_pnl)}'>{t.net_pnl:f}</td></tr>"
        for n, t in enumerate(shown, start=1)
    )
    head = (
        "<tr><th class=n>#</th><th>Symbol</th><th>Side</th><th class=n>Qty</th>"
        "<th>Entry (IST)</th><th class=n>Entry ₹</th><th>Exit (IST)</th><th class=n>Exit ₹</th>"
        "<th class=n>Gross ₹</th><th class=n>Charges ₹</th><th class=n>Net ₹</th></tr>"
    )
    more = ""
    if len(trades) > len(shown):
        more = (
            f'<p class="muted">The first {len(shown):,} of {len(trades):,} trades; '
            "export the trades CSV for all of them.</p>"
        )
    if not trades:
        return "<section><h2>Trades</h2><p class='muted'>No closed trades.</p></section>"
    return (
        f"<section><h2>Trades ({len(trades):,})</h2>{more}"
        f'<table class="trades">{head}{rows}</table></section>'
    )


def html_report(
    result: BacktestResult, title: str | None = None, conventions: Conventions | None = None
) -> str:
    """The whole report as one HTML document."""
    conventions = conventions or Conventions()
    fig = figures(result, conventions)
    capital = float(result.config.capital)
    curve = result.curve
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    heading = title or f"{result.strategy} on {', '.join(result.symbols)}"
    first, last = (ist_iso(curve.timestamps[k])[:16].replace("T", " ") for k in (0, -1))
    period = f"{first} to {last} IST"
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    config = result.config
    costs = config.costs if config.costs != "bps" else f"{config.cost_bps} bps"
    sub = (
        f"{escape(result.strategy)}({escape(params)}) · {len(result.symbols)} instrument(s) · "
        f"{result.bars:,} bars · {period} · capital {escape(rupees_text(config.capital))} · "
        f"costs {escape(costs)}, slippage {config.slippage_bps} bps, fills at {config.fill}"
    )
    equity = svg.line_chart(
        curve.timestamps,
        [
            svg.Series("Before costs", curve.gross_equity, svg.COLOURS.gross, 1.2),
            svg.Series("Net equity", curve.equity, svg.COLOURS.net, 1.8),
        ],
        title="Equity (₹)",
        y_text=lambda v: rupees_text(v).split(".")[0],
        css_class="chart equity",
    )
    drawdown = svg.line_chart(
        curve.timestamps,
        [svg.Series("Drawdown", -drawdown_curve(curve, capital), svg.COLOURS.down, 1.2, True)],
        title="Drawdown (net, from the running peak)",
        y_text=lambda v: f"{round(v * 100, 1) + 0.0:.1f}%",
        height=170,
        css_class="chart drawdown",
    )
    monthly = svg.monthly_heatmap(monthly_returns(curve, capital))
    warnings = "".join(
        f'<p class="muted">Warning: {escape(w)}</p>' for w in result.calendar_warnings
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(heading)} · Artha backtest report</title>
<style>{_CSS}</style></head>
<body>
<header><h1>{escape(heading)}</h1><div class="sub">{sub}</div></header>
<main>
{_kpis(result, fig)}
{warnings}
<section>{equity}{drawdown}</section>
<div class="two"><section><h2>Metrics, before and after costs</h2>
{_metrics_table(metric_rows(fig))}</section>
<div><section>{_conventions(conventions)}</section><section>{_charges(result)}</section></div></div>
{_weekly(result)}
<section><h2>Monthly returns (net)</h2>{monthly}</section>
{_trades(result)}
</main>
<footer>Artha {escape(__version__)} · generated {made} · exact rupees; times in IST</footer>
</body></html>
"""


def write_html(
    result: BacktestResult,
    path: Path,
    title: str | None = None,
    conventions: Conventions | None = None,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write `html_report` to `path` (refused, ReportError, when the folder is missing or
    the file is a store, an input, or not an earlier HTML report)."""
    target = checked_target(Path(path), "html", inputs)
    write_report(target, html_report(result, title, conventions))
    return target
