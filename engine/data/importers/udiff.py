"""UDiFF bhavcopies (NSE CM, NSE F&O, BSE CM: one 34-column schema since July 2024).

Cash market (formats nse_cm_udiff, bse_cm_udiff):
- symbol = TckrSymb (NSE symbol; BSE short name such as RELIANCE), token = FinInstrmId (NSE
  token / BSE scrip code), isin = ISIN, series = SctySrs (NSE series; BSE group A/B/X/T...,
  which decides BSE charges), name = FinInstrmNm. Exchange NSE/BSE, segment EQ, lot 1,
  tick 5 paise.
- NSE keeps the tradable equity series EQ, BE, BZ, SM, ST; every other series (BL block
  deals, GB gold bonds, debt...) is skipped and counted in the notes. BSE keeps every group but
  only FinInstrmTp STK rows (other instrument types are skipped and counted).
- Bars: OpnPric/HghPric/LwPric/ClsPric, volume TtlTradgVol (shares), no open interest.

F&O (format nse_fo_udiff):
- exchange NFO; segment FUT for IDF/STF, OPT for IDO/STO (other types skipped, counted);
  symbol = FinInstrmNm, the exchange's contract name (NIFTY25JUNFUT, weekly
  NIFTY2560525000CE); underlying = TckrSymb; expiry = FininstrmActlXpryDt (the actual expiry
  after holiday shifts) or XpryDt when that is empty; strike = StrkPric in paise; option type
  OptnTp; lot size = NewBrdLotQty; token = FinInstrmId; tick 5 paise.
- VOLUME TRAP: TtlTradgVol counts CONTRACTS while OpnIntrst counts UNITS. The batch's volume
  is in UNITS: volume = TtlTradgVol x NewBrdLotQty. Open interest is kept as published (units).
- Close is ClsPric (the traded close), not SttlmPric.

Every row is checked against the file's own Sgmt and Src (a CM row in an F&O file is an error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data.bar_series import Int64Array, format_paise
from engine.data.batch import ImportBatch
from engine.data.importers.csv_table import CsvTable, ObjectArray, iso_date, read_table
from engine.data.importers.normalise import (
    EQUITY_TICK_PAISE,
    check_expiries,
    constant_text,
    daily_bars,
    instruments_frame,
    int_column,
    last_per_symbol,
    plain_text,
    skip_notes,
    text_column,
)
from engine.data.importers.sources import Source

NSE_EQUITY_SERIES: Final = frozenset({"EQ", "BE", "BZ", "SM", "ST"})
SERIES_MEANINGS: Final = {
    "BL": "block deals",
    "GB": "sovereign gold bonds",
    "GS": "government securities",
    "TB": "treasury bills",
    "SG": "state development loans",
    "RR": "REIT units",
    "IV": "InvIT units",
    "MF": "mutual fund units",
}
FO_SEGMENTS: Final = {"IDF": "FUT", "STF": "FUT", "IDO": "OPT", "STO": "OPT"}
PRICES: Final = ("OPNPRIC", "HGHPRIC", "LWPRIC", "CLSPRIC", "TTLTRADGVOL")
_COMMON: Final = ("TRADDT", "SGMT", "SRC", "FININSTRMTP", "FININSTRMID", "TCKRSYMB", *PRICES)
_TEXT: Final = (
    "TRADDT", "SGMT", "SRC", "FININSTRMTP", "ISIN", "TCKRSYMB", "SCTYSRS", "XPRYDT",
    "FININSTRMACTLXPRYDT", "OPTNTP", "FININSTRMNM", "BIZDT",
)  # fmt: skip
_ISO_EXAMPLE: Final = "2025-06-03"


def _check_origin(table: CsvTable, segment: str, exchange: str) -> None:
    for column, expected in (("SGMT", segment), ("SRC", exchange)):
        if [str(v).strip() for v in pd.unique(table.frame[column])] == [expected]:
            continue  # the usual case, decided on the distinct values
        values = table.text(column)
        wrong = np.flatnonzero(values != expected)
        if len(wrong):
            i = int(wrong[0])
            shown = table.display(column)
            raise table.fail(i, f"{shown} is {values[i]!r} in a {exchange} {segment} file")


def debt_meanings(series: ObjectArray) -> dict[str, str]:
    meanings = dict(SERIES_MEANINGS)
    for value in set(series.tolist()):
        if value[:1] in ("N", "Y", "Z") and value not in meanings:
            meanings[value] = "debt"
    return meanings


def read_cash(source: Source, exchange: str, fmt: str) -> ImportBatch:
    """nse_cm_udiff / bse_cm_udiff -> ImportBatch (see the module docstring)."""
    table = read_table(source, (*_COMMON, "SCTYSRS"), ("ISIN", "FININSTRMNM", "BIZDT"), _TEXT)
    _check_origin(table, "CM", exchange)
    notes: list[str] = []
    if exchange == "NSE":
        series = table.text("SCTYSRS")
        keep = np.isin(series, list(NSE_EQUITY_SERIES))
        notes += skip_notes(series[~keep], "series", debt_meanings(series[~keep]))
    else:
        kinds = table.text("FININSTRMTP")
        keep = kinds == "STK"
        notes += skip_notes(kinds[~keep], "instrument type", {})
    table = table.subset(keep)
    symbols = table.text("TCKRSYMB")
    if (symbols == "").any():
        raise table.fail(int(np.argmax(symbols == "")), "TckrSymb is empty")
    days = table.dates("TRADDT", iso_date, _ISO_EXAMPLE)
    business_date_note(table, notes)
    bars, _ = daily_bars(table, exchange, symbols, days, PRICES, notes)
    last = last_per_symbol(symbols)
    token = table.tokens("FININSTRMID")
    names = table.text("FININSTRMNM") if table.has("FININSTRMNM") else np.full(len(table), "")
    n = int(last.sum())
    instruments = instruments_frame(
        {
            "exchange": constant_text(exchange, n),
            "segment": constant_text("EQ", n),
            "symbol": text_column(symbols[last], n),
            "isin": text_column(table.text("ISIN")[last] if table.has("ISIN") else None, n),
            "token": int_column(token[last] if token is not None else None, n),
            "lot_size": 1,
            "tick_size": EQUITY_TICK_PAISE,
            "series": text_column(table.text("SCTYSRS")[last], n),
            "name": plain_text(names[last]),
        },
        n,
    )
    return make_batch(source, fmt, instruments, bars, days[1], notes)


def option_strikes(table: CsvTable, is_option: npt.NDArray[np.bool_], column: str) -> Int64Array:
    """Strike prices of the option rows in paise (0 for futures); a strike that is not above
    zero is refused here, at its line and as the file writes it, not later by the store."""
    strike = np.zeros(len(table), dtype=np.int64)
    if not is_option.any():
        return strike
    options = table.subset(is_option)
    values = options.paise(column)
    bad = values <= 0
    if bad.any():
        i = int(np.argmax(bad))
        shown = format_paise(values[i])  # rupees, as the file writes them
        raise options.fail(i, f"{options.display(column)} {shown} is not a strike price: an "
                              "option's strike is above zero rupees")  # fmt: skip
    strike[is_option] = values
    return strike


def make_batch(
    source: Source,
    fmt: str,
    instruments: pd.DataFrame,
    bars: pd.DataFrame,
    days: list[date],
    notes: list[str],
) -> ImportBatch:
    """The batch of a one-day exchange file (trade_date set when the file holds one date)."""
    day = days[0] if len(days) == 1 else None
    return ImportBatch(str(source.path), fmt, instruments, bars, day, notes)


def business_date_note(table: CsvTable, notes: list[str]) -> None:
    """BizDt normally equals TradDt; when it does not, say which date the bars carry."""
    if not table.has("BIZDT"):
        return
    trade, business = table.text("TRADDT"), table.text("BIZDT")
    differs = (business != "") & (business != trade)
    if differs.any():
        i = int(np.argmax(differs))
        notes.append(f"BizDt differs from TradDt on {int(differs.sum()):,} row(s) (first: "
                     f"{table.where(i)}, BizDt {business[i]}, TradDt {trade[i]}); the bars are "
                     "dated by TradDt")  # fmt: skip


def read_fo(source: Source) -> ImportBatch:
    """nse_fo_udiff -> ImportBatch; volume in UNITS = contracts x NewBrdLotQty."""
    table = read_table(
        source,
        (*_COMMON, "XPRYDT", "STRKPRIC", "OPTNTP", "FININSTRMNM", "OPNINTRST", "NEWBRDLOTQTY"),
        ("FININSTRMACTLXPRYDT", "BIZDT"),
        _TEXT,
    )
    _check_origin(table, "FO", "NSE")
    notes: list[str] = []
    kinds = table.text("FININSTRMTP")
    keep = np.isin(kinds, list(FO_SEGMENTS))
    notes += skip_notes(kinds[~keep], "instrument type", {})
    table = table.subset(keep)
    segment = pd.Series(table.text("FININSTRMTP")).map(FO_SEGMENTS).to_numpy(dtype=object)
    symbols = table.text("FININSTRMNM")
    if (symbols == "").any():
        raise table.fail(int(np.argmax(symbols == "")), "FinInstrmNm (contract name) is empty")
    expiry_text = table.text("XPRYDT")
    if table.has("FININSTRMACTLXPRYDT"):
        actual = table.text("FININSTRMACTLXPRYDT")
        expiry_text = np.where(actual != "", actual, expiry_text)
    expiry_codes, expiries = table.dates("XPRYDT", iso_date, _ISO_EXAMPLE, raw=expiry_text)
    lot = table.whole("NEWBRDLOTQTY")
    if (lot < 1).any():
        i = int(np.argmax(lot < 1))
        raise table.fail(i, f"NewBrdLotQty {lot[i]} is not a lot size")
    is_option = segment == "OPT"
    strike = option_strikes(table, is_option, "STRKPRIC")
    option_type = table.text("OPTNTP")
    wrong = is_option & ~np.isin(option_type, ["CE", "PE"])
    if wrong.any():
        i = int(np.argmax(wrong))
        raise table.fail(i, f"OptnTp {option_type[i]!r} is not CE or PE")
    days = table.dates("TRADDT", iso_date, _ISO_EXAMPLE)
    business_date_note(table, notes)
    check_expiries(table, symbols, np.asarray(expiries, dtype=object)[expiry_codes], days)
    notes.append("volume is in units: TtlTradgVol (contracts) x NewBrdLotQty")
    bars, _ = daily_bars(table, "NFO", symbols, days, PRICES, notes, lot=lot, oi_column="OPNINTRST")
    contracts = Contracts(
        symbols=symbols,
        segment=segment,
        underlying=table.text("TCKRSYMB"),
        expiry=np.asarray(expiries, dtype=object)[expiry_codes],
        strike=strike,
        is_option=is_option,
        option_type=option_type,
        lot=lot,
        token=table.tokens("FININSTRMID"),
    )
    return make_batch(source, "nse_fo_udiff", contracts.instruments(), bars, days[1], notes)


@dataclass(frozen=True)
class Contracts:
    """Per-row F&O contract attributes -> the one-row-per-contract instruments table."""

    symbols: ObjectArray
    segment: ObjectArray  # FUT / OPT
    underlying: ObjectArray
    expiry: ObjectArray  # datetime.date per row
    strike: Int64Array  # paise; ignored for futures
    is_option: npt.NDArray[np.bool_]
    option_type: ObjectArray  # CE / PE; ignored for futures
    lot: Int64Array
    token: Int64Array | None

    def instruments(self) -> pd.DataFrame:
        last = last_per_symbol(self.symbols)
        n = int(last.sum())
        strike = int_column(self.strike[last], n, missing=~self.is_option[last])
        option_type = np.where(self.is_option, self.option_type, "")[last]
        return instruments_frame(
            {
                "exchange": constant_text("NFO", n),
                "segment": text_column(self.segment[last], n),
                "symbol": text_column(self.symbols[last], n),
                "token": int_column(self.token[last] if self.token is not None else None, n),
                "lot_size": self.lot[last],
                "tick_size": EQUITY_TICK_PAISE,
                "expiry": self.expiry[last],
                "strike": strike,
                "option_type": text_column(option_type, n),
                "underlying": text_column(self.underlying[last], n),
                "name": plain_text(self.underlying[last]),
            },
            n,
        )
