"""Shared by the importer tests: the fixture files and small readers of an ImportBatch."""

from __future__ import annotations

from datetime import datetime
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
