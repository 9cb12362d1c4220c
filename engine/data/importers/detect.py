"""Which format a file is, from its content: the header row, the first data row, magic bytes.

The file name is never trusted (cm03JUN2024bhav.csv renamed to prices.txt is still a legacy
NSE bhavcopy). Order of checks: Parquet magic; UDiFF (TradDt,BizDt,Sgmt,Src...: the first data
row's Src and Sgmt tell NSE/BSE and CM/FO apart); legacy NSE CM (SYMBOL,SERIES,OPEN,...);
legacy NSE F&O (INSTRUMENT,SYMBOL,EXPIRY_DT,...); legacy BSE CM (SC_CODE,SC_NAME,SC_GROUP,
SC_TYPE...); otherwise an OHLCV CSV if the header (after the mapping) has the needed columns.
HTML error pages, Excel workbooks and bad zips are refused earlier, in sources.open_source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from engine.data.bar_series import BarDataError
from engine.data.importers.generic import resolve_layout
from engine.data.importers.sources import Source

UDIFF: Final = {
    ("NSE", "CM"): "nse_cm_udiff",
    ("NSE", "FO"): "nse_fo_udiff",
    ("BSE", "CM"): "bse_cm_udiff",
}
_SIGNATURES: Final = (
    (("SYMBOL", "SERIES", "OPEN", "HIGH", "LOW", "CLOSE", "LAST", "PREVCLOSE", "TOTTRDQTY"),
     "nse_cm_legacy"),
    (("INSTRUMENT", "SYMBOL", "EXPIRY_DT", "STRIKE_PR", "OPTION_TYP"), "nse_fo_legacy"),
    (("SC_CODE", "SC_NAME", "SC_GROUP", "SC_TYPE"), "bse_cm_legacy"),
)  # fmt: skip


def detect(source: Source, mapping: Mapping[str, str] | None = None) -> str:
    if source.is_parquet:
        return "parquet"
    header = [name.strip().upper() for name in source.header()]
    if header[:4] == ["TRADDT", "BIZDT", "SGMT", "SRC"]:
        return _udiff(source)
    for signature, fmt in _SIGNATURES:
        if tuple(header[: len(signature)]) == signature:
            return fmt
    if header[:3] == ["SYMBOL", "SERIES", "DATE1"]:
        raise BarDataError(
            "is NSE's sec_bhavdata_full file, which is not supported; import the "
            "cmDDMONYYYYbhav.csv or UDiFF BhavCopy_NSE_CM file of that day instead",
            source.label,
            1,
        )
    try:
        resolve_layout(source.header(), mapping, source.label)
    except BarDataError:
        if mapping:
            raise  # the user meant an OHLCV CSV: say what the mapping lacks
        raise BarDataError(
            f"unrecognised file (header: {source.header_line()}); expected an NSE/BSE "
            "bhavcopy (legacy or UDiFF), an OHLCV CSV with timestamp,open,high,low,close,volume "
            "(name other columns with --map 'Their Column=close', one --map per column) or "
            "Parquet",
            source.label,
            1,
        ) from None
    return "ohlcv_csv"


def _udiff(source: Source) -> str:
    row = source.first_row()
    if len(row) < 4:
        raise BarDataError(
            "UDiFF header but no rows: cannot tell NSE from BSE or CM from F&O", source.label, 2
        )
    exchange, segment = row[3].strip().upper(), row[2].strip().upper()
    fmt = UDIFF.get((exchange, segment))
    if fmt is None:
        supported = ", ".join(f"{e} {s}" for e, s in UDIFF)
        raise BarDataError(
            f"UDiFF file for {exchange} {segment} is not supported (supported: {supported})",
            source.label,
            2,
        )
    return fmt
