"""Closed vocabularies shared by the domain types, the calendar and the brokers.

StrEnum values are the strings Kite/Upstox and our JSON use, so they round-trip without maps.
"""

from __future__ import annotations

from enum import StrEnum


class Exchange(StrEnum):
    NSE = "NSE"
    BSE = "BSE"
    NFO = "NFO"  # NSE futures & options
    BFO = "BFO"  # BSE futures & options

    @property
    def cash_exchange(self) -> Exchange:
        """The cash exchange behind this one, whose charge table and trading days apply
        (NFO trades are NSE's, BFO trades BSE's)."""
        return Exchange.BSE if self in (Exchange.BSE, Exchange.BFO) else Exchange.NSE


class Segment(StrEnum):
    EQUITY = "EQ"
    FUTURES = "FUT"
    OPTIONS = "OPT"
    INDEX = "INDEX"


class OptionType(StrEnum):
    CALL = "CE"
    PUT = "PE"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SL_M = "SL-M"


class Product(StrEnum):
    CNC = "CNC"
    MIS = "MIS"
    NRML = "NRML"


class Validity(StrEnum):
    DAY = "DAY"
    IOC = "IOC"
