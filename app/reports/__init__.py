"""Reports of a backtest for people and spreadsheets: CSV and one self-contained HTML file.

No Qt here: the results panel and `artha backtest --report` call the same functions.
"""

from app.reports.analysis import Conventions, Figures, MetricRow, figures, metric_rows
from app.reports.charges import ChargeSummary, charge_summary
from app.reports.csv_export import export_csv, metrics_csv, trades_csv
from app.reports.files import ReportError
from app.reports.html import html_report, write_html

__all__ = [
    "ChargeSummary",
    "Conventions",
    "Figures",
    "MetricRow",
    "ReportError",
    "charge_summary",
    "export_csv",
    "figures",
    "html_report",
    "metric_rows",
    "metrics_csv",
    "trades_csv",
    "write_html",
]
