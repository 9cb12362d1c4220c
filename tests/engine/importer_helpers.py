"""Shared by the importer tests: the fixture files and small readers of an ImportBatch."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

from engine.calendar import IST
from engine.data.batch import ImportBatch

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
NSE_CM_LEGACY = FIXTURES / "cm03JUN2024bhav.csv"


def ist_ns(year: int, month: int, day: int, hour: int = 9, minute: int = 15) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=IST).timestamp()) * 10**9


def instrument(batch: ImportBatch, symbol: str) -> dict[str, object]:
    found = batch.instruments[batch.instruments["symbol"] == symbol]
    assert len(found) == 1, symbol
    return found.iloc[0].to_dict()


NSE_CM_UDIFF = FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv"
NSE_FO_UDIFF = FIXTURES / "BhavCopy_NSE_FO_0_0_0_20250603_F_0000.csv"
BSE_CM_UDIFF = FIXTURES / "BhavCopy_BSE_CM_0_0_0_20250603_F_0000.CSV"
NSE_FO_LEGACY = FIXTURES / "fo03JUN2024bhav.csv"
EXPECTED = {
    NSE_CM_UDIFF.name: ("nse_cm_udiff", date(2025, 6, 3), 5),
    NSE_FO_UDIFF.name: ("nse_fo_udiff", date(2025, 6, 3), 5),
    BSE_CM_UDIFF.name: ("bse_cm_udiff", date(2025, 6, 3), 3),
    NSE_CM_LEGACY.name: ("nse_cm_legacy", date(2024, 6, 3), 5),
    NSE_FO_LEGACY.name: ("nse_fo_legacy", date(2024, 6, 3), 4),
}

BSE_LEGACY_HEADER = (
    "SC_CODE,SC_NAME,SC_GROUP,SC_TYPE,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,NO_TRADES,NO_OF_SHRS,"
    "NET_TURNOV,TDCLOINDI"
)
BSE_LEGACY_ROWS = (
    "500325,RELIANCE INDS.  ,A ,Q,2900.00,2949.00,2890.50,2941.20,2942.00,2871.55,45678,"
    "876543,2571234567.00,",
    "500209,INFOSYS LTD.    ,A ,Q,1417.00,1431.00,1402.50,1409.60,1410.00,1416.10,23456,"
    "345678,487654321.00,",
    "800123,SOME DEBT 2027  ,F ,D,1000.00,1000.00,1000.00,1000.00,1000.00,1000.00,1,10,10000.00,",
    "532540,TCS LTD.        ,A ,Q,3831.00,3877.00,3812.00,3852.10,3850.00,3812.55,12345,"
    "123456,475000000.00,",
)


def zipped(path: Path, tmp_path: Path, member: str | None = None) -> Path:
    target = tmp_path / f"{path.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, member or path.name)
    return target


def row(batch: ImportBatch, symbol: str) -> dict[str, object]:
    bars = batch.bars[batch.bars["symbol"] == symbol]
    assert len(bars) == 1, symbol
    return bars.iloc[0].to_dict()


def rewrite(source: Path, target: Path, line: int, old: str, new: str) -> Path:
    lines = source.read_text().splitlines(keepends=True)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    target.write_text("".join(lines))
    return target
