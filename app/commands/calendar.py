"""`artha calendar`: the workspace's market calendar: import the exchange's holiday list, list
holidays and special sessions, add or remove a day.

Every change is shown before it is written (day by day, as every exchange calendar will answer
after it) and written in one transaction. `import` asks on a terminal; `--yes`, or no
terminal, applies.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from app.commands.output import emit_json, fail, record_quietly, store_files
from app.commands.workspace_store import CommandError, workspace_store
from engine.calendar import (
    IST,
    CalendarEntry,
    CalendarSegment,
    EntryKind,
    EntrySource,
    get_calendar,
    year_ranges,
)
from engine.calendar.changes import (
    CalendarPlan,
    plan_entry,
    plan_holiday_list,
    plan_removal,
)
from engine.calendar.holiday_lists import HolidayListError, read_holiday_list
from engine.calendar.listing import calendar_days, known_lists
from engine.data.store import MarketStore, StoreError
from engine.domain.enums import Exchange

SEGMENTS = tuple(s.value for s in CalendarSegment)
SESSION_KINDS = ("muhurat", "budget", "special")
SCOPES = ("both", "NSE", "BSE")
CHANGES_SHOWN = 40


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"dates look like 2027-01-26, got {text!r}") from None


def _clock(text: str) -> datetime.time:
    try:
        return datetime.datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise argparse.ArgumentTypeError(f"times look like 18:15 (IST), got {text!r}") from None


def _scope(text: str) -> Exchange | None:
    return None if text == "both" else Exchange(text)


def _add_scope(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--exchange", choices=SCOPES, default="both", help=f"{what} (default: both NSE and BSE)"
    )
    parser.add_argument(
        "--segment", choices=SEGMENTS, default="equity", help="equity (default), fo or currency"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cal = subparsers.add_parser("calendar", help="the market calendar: holidays, special sessions")
    commands = cal.add_subparsers(dest="calendar_command", metavar="ACTION", required=True)

    imp = commands.add_parser(
        "import",
        help="load the exchange's trading-holiday list (NSE CSV or JSON, date,description)",
    )
    imp.add_argument("path", metavar="FILE")
    imp.add_argument("--year", type=int, help="load only this year of the file")
    _add_scope(imp, "which exchange's calendar the list is for")
    imp.add_argument("--yes", action="store_true", help="apply without asking")
    imp.set_defaults(func=run_import)

    lst = commands.add_parser("list", help="holidays and special sessions of a year")
    lst.add_argument("--year", type=int, help="default: this year and the next")
    lst.add_argument("--json", metavar="PATH", help="write the list as JSON ('-' = stdout)")
    lst.set_defaults(func=run_list)

    ses = commands.add_parser("add-session", help="a muhurat, budget-day or other special session")
    ses.add_argument("date", type=_day, metavar="DATE")
    ses.add_argument("--open", type=_clock, required=True, metavar="HH:MM", help="IST")
    ses.add_argument("--close", type=_clock, required=True, metavar="HH:MM", help="IST")
    ses.add_argument("--pre-open", type=_clock, metavar="HH:MM", help="default: 15 min before")
    ses.add_argument("--kind", choices=SESSION_KINDS, required=True)
    ses.add_argument("--note", required=True, help="e.g. the exchange circular")
    _add_scope(ses, "where the session is held")
    ses.set_defaults(func=run_add_session)

    hol = commands.add_parser("add-holiday", help="a day the exchange is closed")
    hol.add_argument("date", type=_day, metavar="DATE")
    hol.add_argument("--note", required=True, help="e.g. the exchange circular")
    _add_scope(hol, "which exchange closes")
    hol.set_defaults(func=run_add_holiday)

    rem = commands.add_parser("remove", help="remove the workspace's own entries on a day")
    rem.add_argument("date", type=_day, metavar="DATE")
    rem.add_argument("--exchange", choices=SCOPES, help="only this scope's entry")
    rem.add_argument("--segment", choices=SEGMENTS, help="only this segment's entry")
    rem.set_defaults(func=run_remove)


def _guarded(name: str, body: Callable[[], int]) -> int:
    try:
        return body()
    except (CommandError, HolidayListError, StoreError, ValueError) as exc:
        return fail(name, str(exc))


def show_plan(plan: CalendarPlan) -> None:
    print(plan.summary)
    for year in plan.now_known:
        print(f"  {year}: sessions stop being provisional (the list is the exchange's word)")
    for change in plan.changes[:CHANGES_SHOWN]:
        print(f"  {change}")
    if len(plan.changes) > CHANGES_SHOWN:
        print(f"  ... {len(plan.changes) - CHANGES_SHOWN} more days")
    if not plan.changes and not plan.now_known:
        print("  no day changes")
    for note in plan.notes:
        print(f"  note: {note}")


def _confirm(assume_yes: bool) -> bool:
    if assume_yes or not sys.stdin.isatty():
        return True
    answer = input("Apply these changes? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def done(message: str) -> None:
    """One line in the workspace log saying what a command did (the terminal has its own)."""
    record_quietly(logging.INFO, message)


def _apply(store: MarketStore, plan: CalendarPlan, name: str) -> None:
    store.apply_calendar(plan)
    print("applied")
    done(f"artha {name}: applied: {plan.summary} ({len(plan.changes)} days change)")


def run_import(args: argparse.Namespace) -> int:
    def body() -> int:
        parsed = read_holiday_list(args.path, CalendarSegment(args.segment))
        with workspace_store(args) as (_, store):
            origin = Path(args.path).name
            plan = plan_holiday_list(
                store.calendar_layer(), parsed, origin, _scope(args.exchange), args.year
            )
            print(f"{args.path}: {parsed.format}, {len(parsed.rows)} rows")
            show_plan(plan)
            if plan.empty:
                print("nothing to change: this list is already loaded")
                done(f"artha calendar import: {args.path}: already loaded, nothing changed")
                return 0
            if not _confirm(args.yes):
                print("not applied")
                done(f"artha calendar import: {args.path}: not applied (not confirmed)")
                return 1
            _apply(store, plan, "calendar import")
        return 0

    return _guarded("calendar import", body)


def _entry(args: argparse.Namespace, kind: EntryKind) -> CalendarEntry:
    session = kind is not EntryKind.HOLIDAY
    return CalendarEntry(
        exchange=_scope(args.exchange),
        date=args.date,
        open=args.open if session else None,
        close=args.close if session else None,
        pre_open=args.pre_open if session else None,
        kind=kind,
        note=args.note.strip(),
        segment=CalendarSegment(args.segment),
        source=EntrySource.USER,
    )


def _add(name: str, args: argparse.Namespace, kind: EntryKind) -> int:
    def body() -> int:
        entry = _entry(args, kind)
        with workspace_store(args) as (_, store):
            plan = plan_entry(store.calendar_layer(), entry)
            show_plan(plan)
            _apply(store, plan, name)
        return 0

    return _guarded(name, body)


def run_add_session(args: argparse.Namespace) -> int:
    return _add("calendar add-session", args, EntryKind(args.kind))


def run_add_holiday(args: argparse.Namespace) -> int:
    return _add("calendar add-holiday", args, EntryKind.HOLIDAY)


def run_remove(args: argparse.Namespace) -> int:
    def body() -> int:
        segment = CalendarSegment(args.segment) if args.segment else None
        with workspace_store(args) as (_, store):
            plan = plan_removal(store.calendar_layer(), args.date, args.exchange, segment)
            show_plan(plan)
            _apply(store, plan, "calendar remove")
        return 0

    return _guarded("calendar remove", body)


def run_list(args: argparse.Namespace) -> int:
    def body() -> int:
        today = datetime.datetime.now(IST).date()
        years = [args.year] if args.year else [today.year, today.year + 1]
        start, end = datetime.date(years[0], 1, 1), datetime.date(years[-1], 12, 31)
        with workspace_store(args) as (ws, store):  # its calendar is in use while it is open
            layer = store.calendar_layer()
            days = calendar_days(start, end)
            warnings = [get_calendar(v).provisional_warning(start, end) for v in SCOPES[1:]]
        report = {
            "years": years,
            "package": get_calendar(Exchange.NSE).source,
            "lists": known_lists(layer),
            "warnings": [w for w in warnings if w],
            "days": [d.as_json() for d in days],
        }
        if args.json is not None:
            text = json.dumps(report, indent=2) + "\n"
            failed = emit_json("calendar list", args.json, text, store_files(ws.database_path))
            if failed is not None or args.json == "-":
                return failed or 0
        print(f"Market calendar {year_ranges(years)} (package: {report['package']})")
        for item in report["lists"]:
            print(f"  list loaded: {item['text']}")
        for warning in report["warnings"]:
            print(f"  warning: {warning}")
        for day in days:
            print(f"  {day}")
        if not days:
            print("  no holidays or special sessions")
        done(f"artha calendar list: {year_ranges(years)}, {len(days)} days listed")
        return 0

    return _guarded("calendar list", body)
