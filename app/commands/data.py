"""`artha data`: import exchange and bar files, download a broker's candles
(`app/commands/data_download.py`), list what is stored, check its quality, export.

Each file is imported in one transaction: a bad row aborts that file with `file:line: what`
and leaves the store exactly as before; files already imported are skipped (same content).
Exports carry a `symbol` column after the documented six, so they import back under the same
name; `--json`/`--out` never write over the store or another input (app/commands/output.py).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from app.commands.data_integrity import register_integrity
from app.commands.import_lines import plural, print_result, print_summary
from app.commands.output import (
    OutputRefused,
    check_target,
    emit_json,
    fail,
    record_quietly,
    replacing,
    store_files,
)
from app.commands.workspace_store import CommandError, workspace_store
from engine.data.action_checks import ActionChecker
from engine.data.adjust import load_corporate_actions_csv
from engine.data.bar_series import BarDataError, BarSeries, ist_iso
from engine.data.import_files import ImportOptions, import_files
from engine.data.importers import FORMATS
from engine.data.importers.column_names import CANONICAL as MAP_FIELDS
from engine.data.quality import quality_report, render_text
from engine.data.store import MarketStore, StoreError
from engine.data.stored_bars import finest_stored, series_for
from engine.domain.enums import Exchange
from engine.timeframes import TIMEFRAME_NAMES

EXCHANGES = tuple(e.value for e in Exchange)


def done(message: str) -> None:
    """One line in the workspace log saying what a command did (the terminal has its own)."""
    record_quietly(logging.INFO, message)


def _exchange(text: str) -> str:
    code = text.strip().upper()
    if code not in EXCHANGES:
        raise argparse.ArgumentTypeError(
            f"unknown exchange {text!r}; use one of {', '.join(EXCHANGES)}"
        )
    return code


def _mapping_items(text: str) -> list[tuple[str, str]]:
    """'Their Column=field', or several at once: 'Date=timestamp,Close Price=close'.

    A comma splits only when every piece has its '=' (a column may have a comma in its name).
    """
    parts = text.split(",")
    if not all("=" in part for part in parts):
        parts = [text]
    items = []
    for part in parts:
        source, sep, target = (piece.strip() for piece in part.partition("="))
        if not sep or not source or not target:
            raise argparse.ArgumentTypeError(
                f"mappings look like 'Their Column=close' (or several: "
                f"'Date=timestamp,Qty=volume'), got {text!r}"
            )
        if target.lower() not in MAP_FIELDS:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r}: {target!r} is not a field; map a column to one of "
                f"{', '.join(MAP_FIELDS)}"
            )
        items.append((source, target.lower()))
    return items


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = subparsers.add_parser("data", help="market data in the workspace's store")
    commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    imp = commands.add_parser("import", help="import bhavcopy, OHLCV CSV or Parquet files")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="files, plain or .zip")
    imp.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    imp.add_argument("--symbol", help="symbol for a generic OHLCV file (default: file name)")
    imp.add_argument("--exchange", default="NSE", help="exchange for a generic file")
    imp.add_argument("--timeframe", choices=TIMEFRAME_NAMES, help="bar size of a generic file")
    imp.add_argument(
        "--map",
        dest="mapping",
        action="extend",
        type=_mapping_items,
        default=[],
        metavar="COLUMN=FIELD",
        help="rename a generic file's column, e.g. --map 'Close Price=close'; repeat it, or "
        "separate several with commas: --map 'Date=timestamp,Qty=volume'",
    )
    imp.add_argument("--timezone", help="zone of offset-less timestamps, e.g. Asia/Kolkata")
    imp.add_argument(
        "--date-format",
        help="strptime layout of a generic file's timestamps, e.g. '%%d-%%m-%%Y %%H:%%M'",
    )
    imp.add_argument("--force", action="store_true", help="re-import files seen before")
    imp.add_argument(
        "--closed-days",
        choices=("keep", "drop"),
        help="bars on days the exchange was closed: keep them, or drop them and store the "
        "rest (default: hold the file, store nothing of it)",
    )
    imp.set_defaults(func=run_import)

    lst = commands.add_parser("list", help="instruments with their bars")
    lst.add_argument("--json", metavar="PATH", help="write the list as JSON ('-' = stdout)")
    lst.set_defaults(func=run_list)

    qual = commands.add_parser("quality", help="coverage, gaps and bad bars of one symbol")
    qual.add_argument("symbol")
    qual.add_argument("--timeframe", default=None, choices=TIMEFRAME_NAMES)
    qual.add_argument("--exchange", type=_exchange, help=f"one of {', '.join(EXCHANGES)}")
    qual.add_argument("--json", metavar="PATH")
    qual.set_defaults(func=run_quality)

    exp = commands.add_parser("export", help="write one symbol's bars to CSV or Parquet")
    exp.add_argument("symbol")
    exp.add_argument(
        "--timeframe", choices=TIMEFRAME_NAMES, help="bar size (default: the finest one stored)"
    )
    exp.add_argument(
        "--out",
        required=True,
        help="FILE.csv or FILE.parquet: timestamp,open,high,low,close,volume,symbol",
    )
    exp.add_argument("--from", dest="start", type=_date, help="first day (YYYY-MM-DD)")
    exp.add_argument("--to", dest="end", type=_date, help="last day (YYYY-MM-DD)")
    exp.add_argument("--exchange", type=_exchange, help=f"one of {', '.join(EXCHANGES)}")
    exp.add_argument(
        "--adjusted", action="store_true", help="apply stored splits, bonuses and dividends"
    )
    exp.set_defaults(func=run_export)

    act = commands.add_parser("actions", help="import corporate actions from a CSV")
    act.add_argument("path", help="CSV: symbol,exchange,ex_date,kind,ratio,amount,note")
    act.set_defaults(func=run_actions)
    register_integrity(commands)
    _register_download(commands)


def _register_download(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `download` action of `artha data`."""
    down = commands.add_parser(
        "download",
        help="fetch candles from a connected broker into the store (chunked, resumable)",
        description="Fetch candles from a broker account (see `artha broker`) into the store, "
        "in the broker's chunks, each stored whole. Running it again resumes after the last "
        "bar stored; Ctrl-C stops after the request in hand.",
    )
    down.add_argument("symbols", nargs="+", metavar="SYMBOL", help="e.g. INFY, or BSE:INFY")
    down.add_argument(
        "--from", dest="start", type=_date, required=True, help="first day (YYYY-MM-DD)"
    )
    down.add_argument("--to", dest="end", type=_date, required=True, help="last day (YYYY-MM-DD)")
    down.add_argument("--timeframe", required=True, choices=TIMEFRAME_NAMES, help="candle size")
    down.add_argument(
        "--account", help="broker account id (default: the workspace's only Zerodha/Upstox one)"
    )
    down.add_argument(
        "--exchange",
        default="NSE",
        type=str.upper,
        choices=EXCHANGES,
        help="exchange of symbols given without one (default NSE)",
    )
    down.add_argument("--json", metavar="PATH", help="also write the result as JSON ('-' = stdout)")
    down.set_defaults(func=run_download)


def run_download(args: argparse.Namespace) -> int:
    """`artha data download` (its module, with the broker layer, loaded only for it)."""
    from app.commands.data_download import run_download as download

    return download(args)


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
    mapping: dict[str, str] = {}
    for column, target in args.mapping:
        if column in mapping:
            twice = f"to {mapping[column]} and to {target}"
            message = f"argument --map: column {column!r} is mapped twice ({twice})"
            return fail("data import", f"{message}; map each column once")
        mapping[column] = target
    if args.timezone:
        mapping["timezone"] = args.timezone
    if args.date_format:
        mapping["date_format"] = args.date_format
    options = ImportOptions(args.format, mapping or None, args.symbol, args.exchange,
                            args.timeframe, args.force, args.closed_days or "hold")  # fmt: skip

    def body() -> int:
        with workspace_store(args) as (_, store):
            outcome = import_files(store, args.paths, options, print_result)
        return print_summary(outcome)

    return _guarded("data import", body)


def run_list(args: argparse.Namespace) -> int:
    def body() -> int:
        with workspace_store(args) as (ws, store):
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
        done(f"artha data list: {len(rows):,} series listed")
        if args.json is not None:
            text = json.dumps(rows, indent=2) + "\n"
            failed = emit_json("data list", args.json, text, store_files(ws.database_path))
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


def _stored_timeframe(
    store: MarketStore, symbol: str, wanted: str | None, exchange: str | None = None
) -> str:
    return wanted or finest_stored(store, symbol, exchange)


def run_quality(args: argparse.Namespace) -> int:
    def body() -> int:
        with workspace_store(args) as (ws, store):
            timeframe = _stored_timeframe(store, args.symbol, args.timeframe, args.exchange)
            series = store.read_bars(args.symbol, timeframe, exchange=args.exchange)
            instrument = store.instrument(args.symbol, args.exchange)
        report = quality_report(series, instrument.exchange.cash_exchange)
        if args.json is not None:
            text = json.dumps(report.as_json(), indent=2) + "\n"
            failed = emit_json("data quality", args.json, text, store_files(ws.database_path))
            if failed is not None or args.json == "-":
                return failed or 0
        print(render_text(report))
        done(f"artha data quality: reported on {instrument.exchange}:{instrument.symbol} "
             f"{timeframe} ({len(series):,} bars)")  # fmt: skip
        return 0

    return _guarded("data quality", body)


def run_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        return fail("data export", "argument --out: use a .csv or .parquet file name")
    if not out.parent.is_dir():
        return fail("data export", f"argument --out: folder {out.parent} does not exist")

    def body() -> int:
        with workspace_store(args) as (ws, store):
            try:
                check_target(out, _kind(out), store_files(ws.database_path))
            except OutputRefused as exc:
                raise CommandError(f"argument --out: {exc}") from None
            timeframe = _stored_timeframe(store, args.symbol, args.timeframe, args.exchange)
            series = series_for(
                store, args.symbol, timeframe, args.start, args.end, args.exchange, args.adjusted
            )
        write_series(series, out)
        chosen = "" if args.timeframe else " (the finest stored; --timeframe picks another)"
        print(f"{out}: {len(series):,} {series.timeframe} bars of {series.symbol}{chosen}")
        adjusted = " adjusted" if args.adjusted else ""
        done(f"artha data export: wrote {len(series):,}{adjusted} {series.timeframe} bars of "
             f"{series.symbol} to {out}")  # fmt: skip
        return 0

    return _guarded("data export", body)


def _kind(out: Path) -> Literal["csv", "parquet"]:
    return "parquet" if out.suffix.lower() == ".parquet" else "csv"


def write_series(series: BarSeries, out: Path) -> None:
    """CSV with ISO IST timestamps and rupee prices (the format `artha backtest` reads), or
    Parquet with the same columns, then the symbol: `artha data import` takes it back under the
    same name. Written through a temp file that replaces `out` in one step."""
    import duckdb
    import pandas as pd

    frame = pd.DataFrame(
        {
            "timestamp": series.timestamps(),
            "open": series.open / 100,
            "high": series.high / 100,
            "low": series.low / 100,
            "close": series.close / 100,
            "volume": series.volume,
            "symbol": series.symbol,
        }
    )
    try:
        with replacing(out) as temp:
            if _kind(out) == "csv":
                frame["timestamp"] = [t.isoformat() for t in frame["timestamp"]]
                frame.to_csv(temp, index=False, float_format="%.2f")
            else:
                quoted = temp.as_posix().replace("'", "''")
                with duckdb.connect() as con:
                    con.register("frame", frame)
                    con.execute(f"COPY frame TO '{quoted}' (FORMAT PARQUET)")
    except (OSError, duckdb.Error) as exc:
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left" in str(exc):
            raise CommandError(f"disk full writing {out}; nothing was written") from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CommandError(f"argument --out: cannot write {out}: {reason}") from None


def run_actions(args: argparse.Namespace) -> int:
    import pandas as pd

    def body() -> int:
        with workspace_store(args) as (_, store):
            # every row is checked against the store (known symbol, dividend below the price,
            # sane ratio) before any is written: the file goes in whole or not at all
            actions = load_corporate_actions_csv(args.path, ActionChecker(store))
            frame = pd.DataFrame([
                {"exchange": str(ex), "symbol": sym, "ex_date": a.ex_date, "kind": a.kind,
                 "ratio_from": a.ratio_from, "ratio_to": a.ratio_to,
                 "amount_paise": a.amount_paise, "note": a.note}
                for ex, sym, a in actions
            ])  # fmt: skip
            changed = store.add_corporate_actions(frame) if len(frame) else 0
        summary = (
            f"{args.path}: {plural(len(actions), 'corporate action')}, {changed} new or changed"
        )
        print(summary)
        done(f"artha data actions: {summary}")
        return 0

    return _guarded("data actions", body)
