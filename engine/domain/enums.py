"""Closed vocabularies shared by the domain types, the calendar and the brokers.

StrEnum values are the strings Kite/Upstox and our JSON use, so they round-trip without maps.
"""

from enum import StrEnum


class Exchange(StrEnum):
    NSE = "NSE"
    BSE = "BSE"
    NFO = "NFO"  # NSE futures & options
    BFO = "BFO"  # BSE futures & options


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
