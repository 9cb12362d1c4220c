"""Legacy NSE F&O bhavcopy (foDDMONYYYYbhav.csv, published until 5 July 2024).

Layout: ``INSTRUMENT,SYMBOL,EXPIRY_DT,STRIKE_PR,OPTION_TYP,OPEN,HIGH,LOW,CLOSE,SETTLE_PR,
CONTRACTS,VAL_INLAKH,OPEN_INT,CHG_IN_OI,TIMESTAMP,`` (trailing comma).

Rules:
- INSTRUMENT FUTIDX/FUTSTK/FUTIVX -> segment FUT, OPTIDX/OPTSTK -> OPT; anything else is
  skipped and counted. Exchange NFO, underlying = SYMBOL, expiry = EXPIRY_DT, strike =
  STRIKE_PR in paise (options only), option type OPTION_TYP; old American-style CA/PA become
  CE/PE (a note counts them). No token in this file; tick 5 paise.
- Symbols are built the way Kite names contracts. Monthly: SYMBOL + YY + MON + ``FUT``, or
  SYMBOL + YY + MON + STRIKE + CE/PE (NIFTY24JUNFUT, RELIANCE24JUN3000CE). WEEKLY: SYMBOL + YY
  + month code (1-9, O, N, D) + DD + STRIKE + CE/PE (NIFTY2460623500CE for 6 June 2024), the
  same scheme as the UDiFF FinInstrmNm. A contract is "monthly" when its expiry is the latest
  expiry of its underlying in that calendar month among all contracts in the file (futures
  always expire monthly, so real files always hold the monthly date); a hand-cut file that
  lacks the month's last expiry would name a weekly as monthly. Strikes are written without
  trailing zeros (23500, 1442.5).
- LOT SIZE: the legacy file has no lot column, so it is derived per (underlying, expiry):
  estimate = sum(VAL_INLAKH x 1e5) / sum(price x CONTRACTS) over the group's traded rows, where
  price = SETTLE_PR (CLOSE if no settlement price) for futures and STRIKE_PR + premium for
  options (VAL_INLAKH is notional turnover). The estimate is then cross-checked against open
  interest, which is always a whole number of lots: the lot is the divisor of
  gcd(OPEN_INT, CHG_IN_OI of the group) nearest the estimate within -20%..+25%; with no open
  interest it is the estimate rounded; if no divisor fits, the rounded estimate is used and a
  note says so. A group with no trades borrows the lot of another expiry of the same
  underlying; if there is none its contracts are left out (counted in the notes). A note lists
  a few derived lots: check them against the exchange's contract master when it matters.
- VOLUME TRAP: CONTRACTS counts contracts while OPEN_INT counts units. The batch's volume is in
  UNITS: volume = CONTRACTS x derived lot size. Open interest is kept as published (units).
- Close is CLOSE (the traded close), not SETTLE_PR. Rows with no trades get no bar.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data.bar_series import Int64Array
from engine.data.batch import ImportBatch
from engine.data.importers.csv_table import (
    CsvTable,
    Float64Array,
    ObjectArray,
    legacy_date,
    read_table,
)
from engine.data.importers.normalise import check_expiries, daily_bars, skip_notes
from engine.data.importers.sources import Source
from engine.data.importers.udiff import Contracts, make_batch, option_strikes
from engine.domain.money import paise_to_rupees

HEADER: Final = (
    "INSTRUMENT", "SYMBOL", "EXPIRY_DT", "STRIKE_PR", "OPTION_TYP", "OPEN", "HIGH", "LOW",
    "CLOSE", "SETTLE_PR", "CONTRACTS", "VAL_INLAKH", "OPEN_INT", "CHG_IN_OI", "TIMESTAMP",
)  # fmt: skip
BAR: Final = ("OPEN", "HIGH", "LOW", "CLOSE", "CONTRACTS")
SEGMENTS: Final = {"FUTIDX": "FUT", "FUTSTK": "FUT", "FUTIVX": "FUT", "OPTIDX": "OPT",
                   "OPTSTK": "OPT"}  # fmt: skip
_AMERICAN: Final = {"CA": "CE", "PA": "PE"}
_MONTH_CODES: Final = "123456789OND"
_WINDOW: Final = (0.8, 1.25)
_EXAMPLES: Final = 5


def read(source: Source) -> ImportBatch:
    text = ("INSTRUMENT", "SYMBOL", "EXPIRY_DT", "OPTION_TYP", "TIMESTAMP")
    table = read_table(source, HEADER, (), text)
    kinds = table.text("INSTRUMENT")
    keep = np.isin(kinds, list(SEGMENTS))
    notes = skip_notes(kinds[~keep], "INSTRUMENT", {})
    table = table.subset(keep)
    segment = pd.Series(table.text("INSTRUMENT")).map(SEGMENTS).to_numpy(dtype=object)
    is_option = np.asarray(segment == "OPT", dtype=np.bool_)
    underlying = table.text("SYMBOL")
    if (underlying == "").any():
        raise table.fail(int(np.argmax(underlying == "")), "SYMBOL is empty")
    option_type = _option_types(table, is_option, notes)
    strike = option_strikes(table, is_option, "STRIKE_PR")
    codes, expiries = table.dates("EXPIRY_DT", legacy_date, "27-Jun-2024")
    symbols = contract_names(underlying, codes, expiries, is_option, strike, option_type, notes)
    lot = derive_lots(table, underlying, codes, is_option, strike, notes)
    known = lot > 0
    if not known.all():
        table, symbols, lot = table.subset(known), symbols[known], lot[known]
        underlying, codes, segment = underlying[known], codes[known], segment[known]
        strike, is_option, option_type = strike[known], is_option[known], option_type[known]
    days = table.dates("TIMESTAMP", legacy_date, "03-JUN-2024")
    check_expiries(table, symbols, np.asarray(expiries, dtype=object)[codes], days)
    notes.append("volume is in units: CONTRACTS x derived lot size")
    bars, _ = daily_bars(table, "NFO", symbols, days, BAR, notes, lot=lot, oi_column="OPEN_INT")
    contracts = Contracts(
        symbols=symbols,
        segment=segment,
        underlying=underlying,
        expiry=np.asarray(expiries, dtype=object)[codes],
        strike=strike,
        is_option=is_option,
        option_type=option_type,
        lot=lot,
        token=None,
    )
    return make_batch(source, "nse_fo_legacy", contracts.instruments(), bars, days[1], notes)


def _option_types(
    table: CsvTable, is_option: npt.NDArray[np.bool_], notes: list[str]
) -> ObjectArray:
    kind = table.text("OPTION_TYP")
    american = is_option & np.isin(kind, list(_AMERICAN))
    if american.any():
        kind = kind.copy()
        kind[american] = pd.Series(kind[american]).map(_AMERICAN).to_numpy(dtype=object)
        notes.append(f"{int(american.sum())} American-style option row(s) (CA/PA) named CE/PE")
    wrong = is_option & ~np.isin(kind, ["CE", "PE"])
    if wrong.any():
        i = int(np.argmax(wrong))
        raise table.fail(i, f"OPTION_TYP {kind[i]!r} is not CE, PE, CA or PA")
    return kind


def strike_text(paise: int) -> str:
    rupees, fraction = divmod(paise, 100)
    return str(rupees) if fraction == 0 else f"{rupees}.{fraction:02d}".rstrip("0")


def contract_names(
    underlying: ObjectArray,
    codes: npt.NDArray[np.intp],
    expiries: list[date],
    is_option: npt.NDArray[np.bool_],
    strike: Int64Array,
    option_type: ObjectArray,
    notes: list[str],
) -> ObjectArray:
    """Kite-style trading symbols (see the module docstring for the monthly/weekly rule)."""
    days = expiries
    ordinal = np.array([d.toordinal() for d in days], dtype=np.int64)[codes]
    month = np.array([d.year * 100 + d.month for d in days], dtype=np.int64)[codes]
    frame = pd.DataFrame({"u": underlying, "m": month, "o": ordinal})
    monthly = (frame.groupby(["u", "m"])["o"].transform("max") == frame["o"]).to_numpy()
    monthly_tag = np.array([f"{d:%y}{d:%b}".upper() for d in days], dtype=object)[codes]
    weekly_tag = np.array([f"{d:%y}{_MONTH_CODES[d.month - 1]}{d:%d}" for d in days], dtype=object)[
        codes
    ]
    if not monthly.all():
        notes.append(
            f"{int((~monthly).sum())} weekly contract(s) named SYMBOL+YY+M+DD+STRIKE+CE/PE "
            "(M = 1-9, O, N, D), as Kite does"
        )
    uniques, inverse = np.unique(strike, return_inverse=True)
    strikes = np.array([strike_text(int(p)) for p in uniques.tolist()], dtype=object)[inverse]
    tail = np.where(is_option, strikes + option_type, "FUT")
    names: ObjectArray = underlying + np.where(monthly, monthly_tag, weekly_tag) + tail
    return names


def derive_lots(
    table: CsvTable,
    underlying: ObjectArray,
    codes: npt.NDArray[np.intp],
    is_option: npt.NDArray[np.bool_],
    strike: Int64Array,
    notes: list[str],
) -> Int64Array:
    """Lot size per row, 0 where it cannot be known (see the module docstring)."""
    contracts = table.floats("CONTRACTS")
    value = table.floats("VAL_INLAKH") * 1e5
    settle, close = table.floats("SETTLE_PR"), table.floats("CLOSE")
    price = np.where(settle > 0, settle, close) + np.where(is_option, paise_to_rupees(strike), 0.0)
    usable = (contracts > 0) & (value > 0) & (price > 0)
    names, owners = pd.factorize(underlying)
    span = int(codes.max()) + 1 if len(codes) else 1
    group, keys = pd.factorize(names.astype(np.int64) * span + codes)
    owner = np.asarray(owners, dtype=object)[keys // span]
    k = len(keys)
    spent = np.bincount(group, weights=np.where(usable, value, 0.0), minlength=k)
    worth = np.bincount(group, weights=np.where(usable, price * contracts, 0.0), minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = spent / worth
    oi_gcd = _group_gcd(group, k, table.whole("OPEN_INT"), table.whole("CHG_IN_OI"))
    lots = np.zeros(k, dtype=np.int64)
    misfits: list[str] = []
    for j in range(k):
        if math.isfinite(estimate[j]) and estimate[j] > 0:
            lots[j] = _snap(float(estimate[j]), int(oi_gcd[j]))
            if oi_gcd[j] and oi_gcd[j] % lots[j]:
                misfits.append(f"{owner[j]} {estimate[j]:.1f}")
    borrowed = _borrow(owner, lots, oi_gcd)
    lot: Int64Array = borrowed[group]
    _lot_notes(owner, lots, lot, misfits, notes, contracts)
    traded_unknown = (lot == 0) & (contracts > 0)
    if traded_unknown.any():
        i = int(np.argmax(traded_unknown))
        raise table.fail(i, "cannot derive the lot size: VAL_INLAKH or the prices are zero")
    return lot


def _group_gcd(group: npt.NDArray[np.intp], k: int, *columns: Int64Array) -> Int64Array:
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    result = np.zeros(k, dtype=np.int64)
    for column in columns:
        result = np.gcd(result, np.gcd.reduceat(np.abs(column[order]), starts))
    return result


def _snap(estimate: float, oi_gcd: int) -> int:
    """The divisor of the open-interest gcd nearest the estimate, else the rounded estimate."""
    if oi_gcd > 0:
        low = max(1, math.floor(estimate * _WINDOW[0]))
        candidates = np.arange(low, math.ceil(estimate * _WINDOW[1]) + 1, dtype=np.int64)
        fits = candidates[oi_gcd % candidates == 0]
        if len(fits):
            return int(fits[np.argmin(np.abs(fits - estimate))])
    return max(1, round(estimate))


def _borrow(owner: ObjectArray, lots: Int64Array, oi_gcd: Int64Array) -> Int64Array:
    """Groups with no trades take the most common lot of their underlying's other expiries."""
    out = lots.copy()
    for j in np.flatnonzero(lots == 0).tolist():
        siblings = lots[(owner == owner[j]) & (lots > 0)]
        if len(siblings):
            candidate = int(np.bincount(siblings).argmax())
            if oi_gcd[j] == 0 or oi_gcd[j] % candidate == 0:
                out[j] = candidate
    return out


def _lot_notes(
    owner: ObjectArray,
    lots: Int64Array,
    lot: Int64Array,
    misfits: list[str],
    notes: list[str],
    contracts: Float64Array,
) -> None:
    derived = pd.Series(lots[lots > 0]).groupby(owner[lots > 0]).first()
    examples = ", ".join(f"{u} {n}" for u, n in list(derived.items())[:_EXAMPLES])
    if len(derived):
        notes.append(
            f"lot sizes derived from turnover and open interest for {len(derived)} "
            f"underlying(s) (legacy files carry none), e.g. {examples}"
        )
    if misfits:
        notes.append(
            "lot estimate matched no divisor of the open interest, rounded instead: "
            + ", ".join(misfits[:_EXAMPLES])
        )
    unknown = int(((lot == 0) & ~(contracts > 0)).sum())
    if unknown:
        notes.append(f"left out {unknown} untraded contract(s) whose lot size cannot be known")
