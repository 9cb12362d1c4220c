"""`artha charges`: what a round trip costs at Zerodha, as a contract note would show it.

One buy order and one sell order of the same quantity, in one contract note, priced with the
schedule in force on --date. Bad input is reported against the argument it came from, exit
code 2, and no JSON file is left behind (the file is written to a temp name, then renamed).
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.commands.output import emit_json, fail, inr
from app.reports.contract_note import (
    EARLIEST,
    MAX_VALUE,
    NoteInputError,
    parse_price,
    parse_quantity,
)
from engine.calendar import IST
from engine.costs import (
    DEFAULT_DP_CHARGE,
    ChargeBreakdown,
    ChargeSegment,
    ScheduleCoverageError,
    ZerodhaCostModel,
    normalise_bse_group,
    round_trip,
)

PROG_ERROR = "artha charges: error:"


def _quantity(text: str) -> int:
    """The charges calculator's rule (contract_note.parse_quantity), as an argparse type."""
    try:
        return parse_quantity(text)
    except NoteInputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _price(text: str) -> Decimal:
    """The charges calculator's rule (contract_note.parse_price), as an argparse type."""
    try:
        return parse_price(text, "price")
    except NoteInputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _amount(text: str) -> Decimal:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


MAX_DP_CHARGE = Decimal(100_000)


def _dp_charge(text: str) -> Decimal:
    value = _amount(text)
    if value > MAX_DP_CHARGE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_DP_CHARGE} rupees, got {text!r}")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {text!r}") from None


def _group(text: str) -> str:
    try:
        return normalise_bse_group(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("bse_group ")) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "charges",
        help="Zerodha charges of a round trip (contract-note breakdown)",
        description="Charges of one buy and one sell of QUANTITY in one contract note, "
        "with the Zerodha schedule in force on --date: brokerage, STT, exchange transaction "
        "charge, SEBI fee, stamp duty, GST and DP charge, each rounded as a contract note "
        f"rounds it. Schedules cover trade dates from {EARLIEST.isoformat()}.",
    )
    parser.add_argument("--segment", required=True, choices=[s.value for s in ChargeSegment])
    parser.add_argument("--exchange", required=True, type=str.upper, choices=["NSE", "BSE"])
    parser.add_argument(
        "--quantity", required=True, type=_quantity, help="shares, or units (lots x lot size)"
    )
    parser.add_argument(
        "--buy", required=True, type=_price, metavar="PRICE", help="buy price (premium)"
    )
    parser.add_argument(
        "--sell", required=True, type=_price, metavar="PRICE", help="sell price (premium)"
    )
    parser.add_argument(
        "--date", type=_date, metavar="YYYY-MM-DD", help="trade date (default: today, IST)"
    )
    parser.add_argument(
        "--bse-group", type=_group, metavar="GROUP", help="BSE scrip group for BSE cash trades"
    )
    parser.add_argument(
        "--stamp-rounding",
        choices=["rupee", "paisa"],
        default="rupee",
        help="round stamp duty to the rupee (Zerodha calculator, default) or the paisa",
    )
    parser.add_argument(
        "--dp-charge",
        type=_dp_charge,
        default=DEFAULT_DP_CHARGE,
        metavar="RUPEES",
        help=f"DP charge per scrip per day on delivery sells (default {DEFAULT_DP_CHARGE})",
    )
    parser.add_argument(
        "--json",
        metavar="PATH",
        help="also write the breakdown as JSON to PATH; '-' prints only the JSON to stdout",
    )
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    return fail("charges", message)


def _money(value: Decimal) -> str:
    """Indian grouping, two decimals unless the exact amount needs more."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < -2 else 2
    return inr(value, places)


def _payload(args: argparse.Namespace, note: ChargeBreakdown, label: str) -> dict[str, Any]:
    gross = note.sell_value - note.buy_value
    data: dict[str, Any] = {
        key: format(getattr(note, key), "f")
        for key in ("brokerage", "stt", "exchange_txn", "sebi", "stamp_duty", "gst", "dp")
    }
    data["total"] = format(note.total, "f")
    data.update(
        buy_value=format(note.buy_value, "f"),
        sell_value=format(note.sell_value, "f"),
        turnover=format(note.turnover, "f"),
        gross_pnl=format(gross, "f"),
        net_pnl=format(gross - note.total, "f"),
        schedule=label.split(" ", 1)[0],
        schedule_label=label,
        segment=args.segment,
        exchange=args.exchange,
        date=args.date.isoformat(),
        quantity=args.quantity,
        buy_price=format(args.buy, "f"),
        sell_price=format(args.sell, "f"),
        stamp_rounding=args.stamp_rounding,
    )
    return data


def _table(args: argparse.Namespace, note: ChargeBreakdown, label: str) -> str:
    gross = note.sell_value - note.buy_value
    group = f" group {args.bse_group}" if args.bse_group else ""
    rows: list[tuple[str, str] | None] = [
        ("Quantity", f"{args.quantity:,}"),
        ("Buy price", _money(args.buy)),
        ("Sell price", _money(args.sell)),
        None,
        ("Buy value", _money(note.buy_value)),
        ("Sell value", _money(note.sell_value)),
        ("Turnover", _money(note.turnover)),
        None,
        ("Brokerage", _money(note.brokerage)),
        ("STT", _money(note.stt)),
        ("Exchange txn charge", _money(note.exchange_txn)),
        ("SEBI fee", _money(note.sebi)),
        (f"Stamp duty (to the {args.stamp_rounding})", _money(note.stamp_duty)),
        ("GST", _money(note.gst)),
        ("DP charge", _money(note.dp)),
        None,
        ("Total charges", _money(note.total)),
        ("Gross P&L", _money(gross)),
        ("Net P&L", _money(gross - note.total)),
    ]
    cells = [row for row in rows if row is not None]
    left = max(len(name) for name, _ in cells)
    right = max(len(value) for _, value in cells)
    rule = "-" * (left + 2 + right)
    lines = [
        f"Contract note: {args.exchange}{group} {args.segment}, {args.date.isoformat()}",
        rule,
    ]
    for row in rows:
        lines.append(rule if row is None else f"{row[0]:<{left}}  {row[1]:>{right}}")
    lines += [rule, f"Schedule: Zerodha {label}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.date is None:
        args.date = datetime.now(IST).date()
    cash = args.segment in (ChargeSegment.DELIVERY, ChargeSegment.INTRADAY)
    if args.bse_group and not (args.exchange == "BSE" and cash):
        return _fail("argument --bse-group: applies only to BSE delivery/intraday trades")
    model = ZerodhaCostModel(stamp_rounding=args.stamp_rounding, dp_charge=args.dp_charge)
    try:
        schedule = model.schedule_for(args.date)
    except ScheduleCoverageError as exc:
        return _fail(f"argument --date: {exc}")
    largest = args.quantity * max(args.buy, args.sell)
    if largest > MAX_VALUE:
        return _fail(
            f"argument --quantity: quantity x price is {largest:.3g} rupees, above the "
            "largest trade value Artha prices (10^24 rupees)"
        )
    try:
        note = round_trip(
            args.segment,
            args.exchange,
            args.quantity,
            args.buy,
            args.sell,
            args.date,
            bse_group=args.bse_group or "A",
            model=model,
        )
    except InvalidOperation:  # past Decimal's 28 digits
        return _fail("argument --quantity: quantity x price is too large to price exactly")
    if args.json is not None:
        text = json.dumps(_payload(args, note, schedule.label), indent=2) + "\n"
        failed = emit_json("charges", args.json, text)
        if failed is not None:
            return failed
        if args.json == "-":
            return 0
    print(_table(args, note, schedule.label))
    return 0
