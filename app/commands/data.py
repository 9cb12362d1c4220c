"""`artha data`: import exchange and bar files, list what is stored, check its quality, export.

Each file is imported in one transaction: a bad row aborts that file with `file:line: what`
and leaves the store exactly as before; files already imported are skipped (same content).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from app.commands.output import emit_json, fail
from app.commands.workspace_store import CommandError, workspace_store
from engine.data.adjust import load_corporate_actions_csv
from engine.data.adjusted import read_adjusted
from engine.data.bar_series import BarDataError, BarSeries, ist_iso
from engine.data.import_files import ImportOptions, import_files
from engine.data.importers import FORMATS
from engine.data.quality import quality_report, render_text
from engine.data.resample import resample
from engine.data.store import ImportReport, MarketStore, StoreError

TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "60m", "1d")


def _mapping_item(text: str) -> tuple[str, str]:
    source, sep, target = text.partition("=")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"mappings look like 'Their Column=close', got {text!r}")
    return source, target


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = subparsers.add_parser("data", help="market data in the workspace's store")
    commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    imp = commands.add_parser("import", help="import bhavcopy, OHLCV CSV or Parquet files")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="files, plain or .zip")
    imp.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    imp.add_argument("--symbol", help="symbol for a generic OHLCV file (default: file name)")
    imp.add_argument("--exchange", default="NSE", help="exchange for a generic file")
    imp.add_argument("--timeframe", choices=TIMEFRAMES, help="bar size of a generic file")
    imp.add_argument(
        "--map",
        dest="mapping",
        action="append",
        type=_mapping_item,
        default=[],
        metavar="COLUMN=FIELD",
        help="rename a generic file's column, e.g. --map 'Close Price=close'",
    )
    imp.add_argument("--timezone", help="zone of offset-less timestamps, e.g. Asia/Kolkata")
    imp.add_argument(
        "--date-format",
        help="strptime layout of a generic file's timestamps, e.g. '%%d-%%m-%%Y %%H:%%M'",
    )
    imp.add_argument("--force", action="store_true", help="re-import files seen before")
    imp.set_defaults(func=run_import)

    lst = commands.add_parser("list", help="instruments with their bars")
    lst.add_argument("--json", metavar="PATH", help="write the list as JSON ('-' = stdout)")
    lst.set_defaults(func=run_list)

    qual = commands.add_parser("quality", help="coverage, gaps and bad bars of one symbol")
    qual.add_argument("symbol")
    qual.add_argument("--timeframe", default=None, choices=TIMEFRAMES)
    qual.add_argument("--exchange")
    qual.add_argument("--json", metavar="PATH")
    qual.set_defaults(func=run_quality)

    exp = commands.add_parser("export", help="write one symbol's bars to CSV or Parquet")
    exp.add_argument("symbol")
    exp.add_argument("--timeframe", default="1m", choices=TIMEFRAMES)
    exp.add_argument("--out", required=True, help="FILE.csv or FILE.parquet")
    exp.add_argument("--from", dest="start", type=_date, help="first day (YYYY-MM-DD)")
    exp.add_argument("--to", dest="end", type=_date, help="last day (YYYY-MM-DD)")
    exp.add_argument("--exchange")
    exp.add_argument(
        "--adjusted", action="store_true", help="apply stored splits, bonuses and dividends"
    )
    exp.set_defaults(func=run_export)

    act = commands.add_parser("actions", help="import corporate actions from a CSV")
    act.add_argument("path", help="CSV: symbol,exchange,ex_date,kind,ratio,amount,note")
    act.set_defaults(func=run_actions)


def _date(text: str) -> object:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"dates look like 2026-01-31, got {text!r}") from None


def _guarded(name: str, body: Callable[[], int]) -> int:
    """Run a command body; expected failures become `artha NAME: error: ...`, exit 2."""
    try:
        return body()
    except CommandError as exc:
        return fail(name, str(exc))
    except (BarDataError, StoreError, ValueError) as exc:
        return fail(name, str(exc))


def run_import(args: argparse.Namespace) -> int:
    mapping = dict(args.mapping)
    if args.timezone:
        mapping["timezone"] = args.timezone
    if args.date_format:
        mapping["date_format"] = args.date_format
    options = ImportOptions(args.format, mapping or None, args.symbol, args.exchange,
                            args.timeframe, args.force)  # fmt: skip

    def report_line(path: str, report: ImportReport) -> None:
        if report.already_imported:
            print(f"{path}: already imported, nothing changed (--force re-imports)")
            return
        span = ""
        if report.first_ts is not None and report.last_ts is not None:
            span = f", {ist_iso(report.first_ts)[:10]}..{ist_iso(report.last_ts)[:10]}"
        print(f"{path}: {report.format}, {report.bars_written:,} bars written, "
              f"{report.bars_unchanged:,} unchanged, "
              f"{report.instruments_added} new instruments{span}")  # fmt: skip
        for note in report.notes:
            print(f"  note: {note}")

    def error_line(message: str) -> None:
        print(f"artha data import: error: {message}", file=sys.stderr)

    def body() -> int:
        with workspace_store(args) as (_, store):
            outcome = import_files(store, args.paths, options, report_line, error_line)
        if outcome.warning:
            print(f"warning: {outcome.warning}")
        if outcome.errors:
            print(
                f"{len(outcome.errors)} file(s) not imported: nothing from them was stored",
                file=sys.stderr,
            )
            return 2
        return 0

    return _guarded("data import", body)


def run_list(args: argparse.Namespace) -> int:
    def body() -> int:
        with workspace_store(args) as (_, store):
            rows = [
                {
                    "exchange": s.exchange,
                    "symbol": s.symbol,
                    "timeframe": s.timeframe,
                    "first": ist_iso(s.first_ts),
                    "last": ist_iso(s.last_ts),
                    "bars": s.bars,
                }
                for s in store.list_series()
            ]
        if args.json is not None:
            failed = emit_json("data list", args.json, json.dumps(rows, indent=2) + "\n")
            if failed is not None or args.json == "-":
                return failed or 0
        if not rows:
            print("The store holds no bars yet: `artha data import FILE` or `artha demo`.")
            return 0
        print(
            f"{'exchange':8} {'symbol':24} {'tf':>4} {'first bar':16} {'last bar':16} {'bars':>10}"
        )
        for r in rows:
            print(
                f"{r['exchange']:8} {r['symbol']:24} {r['timeframe']:>4} "
                f"{str(r['first'])[:16]:16} {str(r['last'])[:16]:16} {r['bars']:>10,}"
            )
        return 0

    return _guarded("data list", body)


def _stored_timeframe(store: MarketStore, symbol: str, wanted: str | None) -> str:
    have = [
        s.timeframe
        for s in store.list_series()
        if s.symbol.upper() == symbol.split(":")[-1].upper()
    ]
    if wanted:
        return wanted
    if not have:
        raise CommandError(f"no bars stored for {symbol}")
    return min(have, key=TIMEFRAMES.index)


def run_quality(args: argparse.Namespace) -> int:
    def body() -> int:
        with workspace_store(args) as (_, store):
            timeframe = _stored_timeframe(store, args.symbol, args.timeframe)
            series = store.read_bars(args.symbol, timeframe, exchange=args.exchange)
            instrument = store.instrument(args.symbol, args.exchange)
        calendar_exchange = "BSE" if str(instrument.exchange) in ("BSE", "BFO") else "NSE"
        report = quality_report(series, calendar_exchange)
        if args.json is not None:
            text = json.dumps(report.as_json(), indent=2) + "\n"
            failed = emit_json("data quality", args.json, text)
            if failed is not None or args.json == "-":
                return failed or 0
        print(render_text(report))
        return 0

    return _guarded("data quality", body)


def series_for(
    store: MarketStore,
    symbol: str,
    timeframe: str,
    start: object = None,
    end: object = None,
    exchange: str | None = None,
    adjusted: bool = False,
) -> BarSeries:
    """Stored bars of `timeframe`, or finer stored bars resampled on the exchange clock."""
    have = {
        s.timeframe
        for s in store.list_series()
        if s.symbol.upper() == symbol.split(":")[-1].upper()
    }
    base = (
        timeframe
        if timeframe in have
        else next((tf for tf in TIMEFRAMES if tf in have and _divides(tf, timeframe)), None)
    )
    if base is None:
        known = ", ".join(sorted(have, key=TIMEFRAMES.index)) or "none"
        raise CommandError(f"{symbol} has no bars that make {timeframe} bars (stored: {known})")
    read = read_adjusted if adjusted else MarketStore.read_bars
    series = read(store, symbol, base, start, end, exchange)  # type: ignore[arg-type]
    if base == timeframe or not len(series):
        return series
    instrument = store.instrument(symbol, exchange)
    calendar_exchange = "BSE" if str(instrument.exchange) in ("BSE", "BFO") else "NSE"
    return resample(series, timeframe, calendar_exchange).series


def _minutes(tf: str) -> int:
    return 375 * 100 if tf == "1d" else int(tf[:-1])


def _divides(base: str, target: str) -> bool:
    if target == "1d":
        return True
    return base != "1d" and _minutes(target) % _minutes(base) == 0


def run_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        return fail("data export", "argument --out: use a .csv or .parquet file name")
    if not out.parent.is_dir():
        return fail("data export", f"argument --out: folder {out.parent} does not exist")

    def body() -> int:
        with workspace_store(args) as (_, store):
            series = series_for(
                store,
                args.symbol,
                args.timeframe,
                args.start,
                args.end,
                args.exchange,
                args.adjusted,
            )
        write_series(series, out)
        print(f"{out}: {len(series):,} {series.timeframe} bars of {series.symbol}")
        return 0

    return _guarded("data export", body)


def write_series(series: BarSeries, out: Path) -> None:
    """CSV with ISO IST timestamps and rupee prices (the format `artha backtest` reads), or
    Parquet with the same columns; written to a temp name first, then renamed."""
    import duckdb
    import pandas as pd

    frame = pd.DataFrame({
        "timestamp": series.timestamps(),
        "open": series.open / 100, "high": series.high / 100,
        "low": series.low / 100, "close": series.close / 100, "volume": series.volume,
    })  # fmt: skip
    temp = out.with_name(f".{out.name}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            frame["timestamp"] = [t.isoformat() for t in frame["timestamp"]]
            frame.to_csv(temp, index=False, float_format="%.2f")
        else:
            con = duckdb.connect()
            con.register("frame", frame)
            con.execute(f"COPY frame TO '{temp.as_posix()}' (FORMAT PARQUET)")
            con.close()
        temp.replace(out)
    finally:
        temp.unlink(missing_ok=True)


def run_actions(args: argparse.Namespace) -> int:
    import pandas as pd

    def body() -> int:
        actions = load_corporate_actions_csv(args.path)
        frame = pd.DataFrame([
            {"exchange": str(ex), "symbol": sym, "ex_date": a.ex_date, "kind": a.kind,
             "ratio_from": a.ratio_from, "ratio_to": a.ratio_to,
             "amount_paise": a.amount_paise, "note": a.note}
            for ex, sym, a in actions
        ])  # fmt: skip
        with workspace_store(args) as (_, store):
            changed = store.add_corporate_actions(frame) if len(frame) else 0
        print(f"{args.path}: {len(actions)} corporate actions, {changed} new or changed")
        return 0

    return _guarded("data actions", body)
